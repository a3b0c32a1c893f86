//! The append-only ledger: one JSONL file per UTC day (`ledger/YYYY-MM-DD.jsonl`), so a
//! one-day report reads one or two small files however long the history is.
//!
//! Beside each day file sits an index (`YYYY-MM-DD.idx`): 16 bytes per line, the hash of
//! the record's dedupe key and the day file's length after that line, with a check that
//! ties the two (an index damaged anywhere is rebuilt from its day file, never trusted). Appends happen only
//! under the ledger lock ([`LedgerLock`]) and check the index first, so the same request
//! read twice (a replaced transcript, a resumed session, an import of what the hooks
//! already saw, a writer killed between append and cursor save) is recorded once.
//!
//! A writer killed mid-append leaves a torn last line. The next writer ends it with a
//! newline (readers skip the fragment as garbage) and indexes any whole lines the index
//! missed. Existing lines are never rewritten.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::hash::BuildHasherDefault;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDate;

use super::record::Record;
use crate::files::mapped::{self, Chunk, Holds};
use crate::files::{self, LockGuard};
use crate::paths::Paths;

/// Proof that the caller holds the exclusive ledger lock.
pub struct LedgerLock {
    _guard: LockGuard,
}

impl LedgerLock {
    /// Take the ledger lock, waiting up to `wait`; `Ok(None)` if it stayed busy.
    /// A data dir that is not the user's own, or that others can write to, is refused.
    pub fn acquire(paths: &Paths, wait: Duration) -> io::Result<Option<LedgerLock>> {
        files::ensure_safe_data_dir(&paths.data_dir)?;
        Ok(files::lock_exclusive(&paths.lock_file(), wait)?.map(|g| LedgerLock { _guard: g }))
    }
}

pub struct Ledger {
    dir: PathBuf,
    /// Day files opened for appending by this holder of the lock, with their indexes
    /// (a hook appends several times per event, `import` thousands of times).
    open_days: BTreeMap<NaiveDate, DayIndex>,
}

/// A record with its ledger line and dedupe hash, made before the lock is taken (by
/// `import`'s workers) so that appending is a lookup and a copy.
#[derive(Debug)]
pub struct Entry {
    pub record: Record,
    hash: u64,
    line: Vec<u8>,
}

impl Entry {
    /// Bytes of its ledger line, newline included.
    pub fn line_len(&self) -> usize {
        self.line.len()
    }

    pub fn new(record: Record) -> Entry {
        let hash = key_hash(&record.dedupe_key());
        let mut line = Vec::with_capacity(512);
        record.write_line(&mut line);
        Entry { record, hash, line }
    }
}

/// Most day files kept open at once (two descriptors each).
const MAX_OPEN_DAYS: usize = 16;
/// Held-back lines of one day written once they reach this size.
const FLUSH_AT: usize = 1 << 20;

impl Drop for Ledger {
    /// A safety net: writers flush explicitly, and see the errors.
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

const INDEX_ENTRY: usize = 16;
/// Index hash for a line that holds no record (garbage, a repaired torn tail).
const NO_RECORD: u64 = 0;

/// FNV-1a, 64 bit: stable across versions and platforms (unlike std's hasher).
pub fn key_hash(key: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    if hash == NO_RECORD { 1 } else { hash }
}

impl Ledger {
    pub fn new(paths: &Paths) -> Ledger {
        Ledger {
            dir: paths.ledger_dir(),
            open_days: BTreeMap::new(),
        }
    }

    pub fn day_file(&self, day: NaiveDate) -> PathBuf {
        self.dir.join(format!("{day}.jsonl"))
    }

    fn index_file(&self, day: NaiveDate) -> PathBuf {
        self.dir.join(format!("{day}.idx"))
    }

    /// Write what [`Ledger::append`] holds back. Call before anything that says the
    /// records are recorded (a cursor saved, the live state saved).
    pub fn flush(&mut self) -> io::Result<()> {
        let days: Vec<NaiveDate> = self.open_days.keys().copied().collect();
        for day in days {
            self.flush_day(day)?;
        }
        Ok(())
    }

    fn flush_day(&mut self, day: NaiveDate) -> io::Result<()> {
        let Some(index) = self.open_days.get_mut(&day) else {
            return Ok(());
        };
        if index.pending.is_empty() {
            return Ok(());
        }
        // One write for the whole batch: whole lines or, if killed, one torn tail; their
        // index entries only once the lines are written.
        let written = index
            .data
            .write_all(&index.pending)
            .and_then(|()| write_index(&mut index.index, &index.pending_entries));
        index.pending.clear();
        index.pending_entries.clear();
        if written.is_err() {
            // What is on disk is unknown now: the next append opens and repairs it.
            self.open_days.remove(&day);
        }
        written
    }

    /// Append the entries whose dedupe key is not in the ledger yet; return those appended.
    /// They are held in memory until [`Ledger::flush`] (or a megabyte has gathered).
    pub fn append(&mut self, _lock: &LedgerLock, entries: Vec<Entry>) -> io::Result<Vec<Entry>> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let mut by_day: BTreeMap<NaiveDate, Vec<Entry>> = BTreeMap::new();
        for entry in entries {
            by_day
                .entry(entry.record.ts.date_naive())
                .or_default()
                .push(entry);
        }
        let mut appended = Vec::new();
        for (day, day_entries) in by_day {
            if !self.open_days.contains_key(&day) {
                if self.open_days.len() >= MAX_OPEN_DAYS {
                    self.flush()?;
                    self.open_days.clear();
                }
                files::ensure_data_subdir(&self.dir)?;
                let opened = DayIndex::open(&self.day_file(day), &self.index_file(day))?;
                self.open_days.insert(day, opened);
            }
            let index = self.open_days.get_mut(&day).expect("opened above");
            for entry in day_entries {
                if !index.seen.insert_new(entry.hash) {
                    continue;
                }
                index.pending.extend_from_slice(&entry.line);
                index.data_len += entry.line.len() as u64;
                index.pending_entries.push((entry.hash, index.data_len));
                appended.push(entry);
            }
            if index.pending.len() >= FLUSH_AT {
                self.flush_day(day)?;
            }
        }
        Ok(appended)
    }

    /// Every readable record of one UTC day file; garbage and torn lines are skipped and
    /// counted.
    pub fn read_day(&self, day: NaiveDate) -> io::Result<(Vec<Record>, usize)> {
        read_records(&self.day_file(day))
    }

    /// The UTC days that have a ledger file, oldest first.
    pub fn days(&self) -> io::Result<Vec<NaiveDate>> {
        let mut days = Vec::new();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(days),
            Err(e) => return Err(e),
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if let Some(stem) = name.strip_suffix(".jsonl")
                && let Ok(day) = stem.parse::<NaiveDate>()
            {
                days.push(day);
            }
        }
        days.sort();
        Ok(days)
    }
}

/// Where one day file stands: which file it is and how long. The live state keeps one per
/// day file it has counted, so it can tell a file that grew (count the rest) from one that
/// was replaced or cut short (count it again).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileMark {
    pub dev: u64,
    pub ino: u64,
    pub len: u64,
}

impl FileMark {
    /// Whether `now` is the same file as this mark, grown or not: nothing counted yet
    /// matches any file.
    pub fn same_file(&self, now: &FileMark) -> bool {
        self.len == 0 || (self.dev, self.ino) == (now.dev, now.ino)
    }
}

impl Ledger {
    /// Where a day file this holder of the lock has open stands once everything appended
    /// to it is written: no system call, for counting one's own appends
    /// ([`LiveState::count_own_appends`](super::live::LiveState)). `None` if it is not open
    /// or has lines not written yet.
    pub fn written_mark(&self, day: NaiveDate) -> Option<FileMark> {
        let index = self.open_days.get(&day)?;
        index.pending.is_empty().then_some(FileMark {
            dev: index.file_id.0,
            ino: index.file_id.1,
            len: index.data_len,
        })
    }

    /// The day file's mark without reading it; `None` if there is no such file. A link or
    /// a non-regular file in its place is an error.
    pub fn day_mark(&self, day: NaiveDate) -> io::Result<Option<FileMark>> {
        use std::os::unix::fs::MetadataExt;
        let path = self.day_file(day);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_file() => Ok(Some(FileMark {
                dev: meta.dev(),
                ino: meta.ino(),
                len: meta.len(),
            })),
            Ok(_) => Err(io::Error::other(format!(
                "{} is not a regular file",
                path.display()
            ))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The records on the whole lines after byte `from` of a day file, and the mark up to
    /// the end of the last whole line (a torn tail is left for when it is whole or
    /// repaired). `from` must be the end of a line.
    pub fn read_day_from(&self, day: NaiveDate, from: u64) -> io::Result<(Vec<Record>, FileMark)> {
        use std::os::unix::fs::MetadataExt;
        let mut file = files::open_read(&self.day_file(day))?;
        let meta = file.metadata()?;
        let mut mark = FileMark {
            dev: meta.dev(),
            ino: meta.ino(),
            len: from,
        };
        let mut records = Vec::new();
        if meta.len() <= from {
            return Ok((records, mark));
        }
        file.seek(SeekFrom::Start(from))?;
        let mut reader = BufReader::with_capacity(1 << 16, file);
        let mut line = Vec::new();
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 || line.last() != Some(&b'\n') {
                break;
            }
            mark.len += line.len() as u64;
            if let Ok(record) = serde_json::from_slice::<Record>(&line) {
                records.push(record);
            }
        }
        Ok((records, mark))
    }
}

/// Read one ledger file, tolerating garbage and a torn tail.
pub fn read_records(path: &Path) -> io::Result<(Vec<Record>, usize)> {
    let file = match files::open_read(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e),
    };
    let mut records = Vec::new();
    let mut skipped = 0;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        match serde_json::from_slice::<Record>(&line) {
            Ok(record) => records.push(record),
            Err(_) if line.iter().all(u8::is_ascii_whitespace) => {}
            Err(_) => skipped += 1,
        }
    }
    Ok((records, skipped))
}

/// A day file opened for appending with its dedupe index loaded and repaired.
struct DayIndex {
    data: File,
    index: File,
    /// The day file's device and inode, as opened.
    file_id: (u64, u64),
    /// Length of the day file once `pending` is written.
    data_len: u64,
    seen: Seen,
    /// Lines appended but not written yet, and their index entries.
    pending: Vec<u8>,
    pending_entries: Vec<(u64, u64)>,
}

impl DayIndex {
    fn open(data_path: &Path, index_path: &Path) -> io::Result<DayIndex> {
        let (data, data_meta) = files::open_append(data_path)?;
        let (index, len) = files::open_rw_with_len(index_path)?;
        let whole = len - len % INDEX_ENTRY as u64;
        if whole != len {
            // A torn index entry: drop it, the repair below re-indexes its line.
            index.set_len(whole)?;
        }
        // Scanned where it lies when long (a busy day's index is then not copied).
        let mut indexed = mapped::read(&index, 0, whole, Holds::LedgerIndex)?;
        indexed.truncate(indexed.len() - indexed.len() % INDEX_ENTRY);
        let mut seen = Seen::new(indexed);
        let checked = checked_end(&seen.indexed);
        let intact = checked.is_some();
        let mut indexed_len = checked.unwrap_or(0);
        let file_id = {
            use std::os::unix::fs::MetadataExt;
            (data_meta.dev(), data_meta.ino())
        };
        let mut data_len = data_meta.len();
        if !intact || data_len < indexed_len {
            // Damaged, from an older version, or longer than its day file: rebuild the
            // index from the day file (its mapping let go first).
            seen.clear();
            index.set_len(0)?;
            indexed_len = 0;
        }
        let mut day = DayIndex {
            data,
            index,
            file_id,
            data_len,
            seen,
            pending: Vec::new(),
            pending_entries: Vec::new(),
        };
        if data_len > indexed_len {
            let repaired = day.index_tail(data_path, indexed_len)?;
            data_len = repaired;
            day.data_len = data_len;
        }
        day.index.seek(SeekFrom::End(0))?;
        Ok(day)
    }

    /// Index the lines after `from` that the index does not cover; end a torn tail with a
    /// newline. Returns the day file's length afterwards.
    fn index_tail(&mut self, data_path: &Path, from: u64) -> io::Result<u64> {
        let mut reader = files::open_read(data_path)?;
        reader.seek(SeekFrom::Start(from))?;
        let mut tail = Vec::new();
        reader.read_to_end(&mut tail)?;
        let mut entries = Vec::new();
        let mut offset = from;
        let mut rest = &tail[..];
        while let Some(at) = memchr::memchr(b'\n', rest) {
            let line = &rest[..=at];
            offset += line.len() as u64;
            let hash = serde_json::from_slice::<Record>(line)
                .map(|r| key_hash(&r.dedupe_key()))
                .unwrap_or(NO_RECORD);
            if hash != NO_RECORD {
                self.seen.insert_new(hash);
            }
            entries.push((hash, offset));
            rest = &rest[at + 1..];
        }
        if !rest.is_empty() {
            // Torn tail from a killed writer: close it so it stays one garbage line, or,
            // if only its newline was lost, one whole record that dedupe must know about
            // (every reader counts it once it ends with a newline).
            self.data.write_all(b"\n")?;
            offset += rest.len() as u64 + 1;
            let hash = serde_json::from_slice::<Record>(rest)
                .map(|r| key_hash(&r.dedupe_key()))
                .unwrap_or(NO_RECORD);
            if hash != NO_RECORD {
                self.seen.insert_new(hash);
            }
            entries.push((hash, offset));
        }
        self.index.seek(SeekFrom::End(0))?;
        write_index(&mut self.index, &entries)?;
        Ok(offset)
    }
}

/// An index entry's second half: the end of its line in the low 48 bits, a check of
/// hash and end in the high 16.
const END_BITS: u32 = 48;
const END_MASK: u64 = (1 << END_BITS) - 1;

/// Never 0, so an index without checks (an older version's) reads as damaged and is rebuilt.
fn entry_check(hash: u64, end: u64) -> u64 {
    ((hash ^ end.rotate_left(17)).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> END_BITS) | 1
}

/// The end of the last line `bytes` (whole index entries) index, if every entry's check
/// holds and the ends increase; `None` if any does not. Every entry is looked at on every
/// open (a busy day's index holds thousands): without a branch per entry, the loop runs
/// several entries per step.
fn checked_end(bytes: &[u8]) -> Option<u64> {
    let mut intact = true;
    let mut last = 0u64;
    for entry in bytes.chunks_exact(INDEX_ENTRY) {
        let (hash, tagged) = entry_words(entry);
        let end = tagged & END_MASK;
        intact &= (tagged >> END_BITS == entry_check(hash, end)) & (end > last);
        last = end;
    }
    intact.then_some(last)
}

/// Whether `hash` is among the index entries `bytes`: every entry compared, without a
/// branch per entry (a hook asks once or twice per event of an index of thousands).
fn indexes(bytes: &[u8], hash: u64) -> bool {
    bytes
        .chunks_exact(INDEX_ENTRY)
        .fold(false, |found, entry| found | (entry_words(entry).0 == hash))
}

/// An index entry's hash and tagged end.
fn entry_words(entry: &[u8]) -> (u64, u64) {
    let (hash, tagged) = entry.split_at(8);
    (
        u64::from_le_bytes(hash.try_into().expect("8 bytes")),
        u64::from_le_bytes(tagged[..8].try_into().expect("8 bytes")),
    )
}

/// The (hash, tagged end) pairs of index bytes.
fn entries(bytes: &[u8]) -> impl Iterator<Item = (u64, u64)> + '_ {
    bytes.chunks_exact(INDEX_ENTRY).map(entry_words)
}

/// The dedupe hashes of one day file: the index's entries as found when the day was
/// opened (scanned where they lie) and the hashes added since. A hook asks about one to
/// three records per event, so its questions are answered by scanning (microseconds for a
/// busy day); a hash set is built only for a writer that asks many times (`import`).
/// Building one on every event was a third of a hook's instructions.
struct Seen {
    /// Index entries read at open (valid once `DayIndex::open` kept them).
    indexed: Chunk,
    /// Hashes added since, or all of them once the index was rebuilt.
    hashes: Vec<u64>,
    set: Option<HashSet<u64, BuildHasherDefault<PreHashed>>>,
    scans: usize,
}

/// Scans answered before a hash set pays off.
const SCANS_BEFORE_SET: usize = 64;

impl Seen {
    fn new(indexed: Chunk) -> Seen {
        Seen {
            indexed,
            hashes: Vec::new(),
            set: None,
            scans: 0,
        }
    }

    /// Add `hash` while repairing the index, or ask: whether it was not there yet.
    fn insert_new(&mut self, hash: u64) -> bool {
        if self.set.is_none() && self.scans >= SCANS_BEFORE_SET {
            let indexed = entries(&self.indexed)
                .map(|(h, _)| h)
                .filter(|h| *h != NO_RECORD);
            self.set = Some(indexed.chain(self.hashes.iter().copied()).collect());
        }
        let new = match &mut self.set {
            Some(set) => set.insert(hash),
            None => {
                self.scans += 1;
                !(self.hashes.contains(&hash)
                    || (hash != NO_RECORD && indexes(&self.indexed, hash)))
            }
        };
        if new {
            self.hashes.push(hash);
        }
        new
    }

    fn clear(&mut self) {
        self.indexed = Chunk::default();
        self.hashes.clear();
        self.set = None;
    }
}

/// The dedupe hashes are FNV-1a already: used as their own hash.
#[derive(Default)]
struct PreHashed(u64);

impl std::hash::Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// Append index entries: (dedupe hash, end of the line in the day file).
fn write_index(index: &mut File, entries: &[(u64, u64)]) -> io::Result<()> {
    let mut bytes = Vec::with_capacity(entries.len() * INDEX_ENTRY);
    for &(hash, end) in entries {
        bytes.extend_from_slice(&hash.to_le_bytes());
        bytes.extend_from_slice(&(end | entry_check(hash, end) << END_BITS).to_le_bytes());
    }
    index.write_all(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::record::{Kind, MaxTokensSource, Outcome, SCHEMA_VERSION};

    pub(crate) fn record(id: &str, ts: &str) -> Record {
        Record {
            v: SCHEMA_VERSION,
            kind: Kind::Request,
            id: id.into(),
            ts: ts.parse().unwrap(),
            end_ts: None,
            session: "s".into(),
            agent: None,
            model: "m".into(),
            model_norm: "m".into(),
            burndown: 5.0,
            burndown_assumed: false,
            input: 1,
            cache_write: 0,
            cache_read: 0,
            output: 1,
            max_tokens: Some(4096),
            max_tokens_source: MaxTokensSource::ApiRequest,
            reserved: 20481,
            settled: 6,
            outcome: Outcome::Ok,
            query_source: None,
            project: None,
            throttle: None,
        }
    }

    fn setup() -> (tempfile::TempDir, Paths, Ledger) {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::at(dir.path());
        let ledger = Ledger::new(&paths);
        (dir, paths, ledger)
    }

    /// Append as one command does: a fresh holder of the lock, flushed at the end.
    /// Returns the ids appended.
    fn append_once(paths: &Paths, lock: &LedgerLock, records: &[Record]) -> Vec<String> {
        let mut ledger = Ledger::new(paths);
        let entries = records.iter().cloned().map(Entry::new).collect();
        let ids = ledger
            .append(lock, entries)
            .unwrap()
            .iter()
            .map(|e| e.record.id.clone())
            .collect();
        ledger.flush().unwrap();
        ids
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn appends_once_per_key_across_calls_and_days() {
        let (_dir, paths, ledger) = setup();
        let lock = LedgerLock::acquire(&paths, Duration::ZERO)
            .unwrap()
            .unwrap();
        let batch = vec![
            record("a", "2026-11-22T01:00:00Z"),
            record("b", "2026-11-22T02:00:00Z"),
            record("a", "2026-11-22T01:00:00Z"),
            record("c", "2026-11-21T23:59:59Z"),
        ];
        let appended = append_once(&paths, &lock, &batch);
        assert_eq!(appended.len(), 3);
        let again = append_once(&paths, &lock, &batch);
        assert!(again.is_empty());
        assert_eq!(ledger.read_day(day("2026-11-22")).unwrap().0.len(), 2);
        assert_eq!(ledger.read_day(day("2026-11-21")).unwrap().0.len(), 1);
        assert_eq!(
            ledger.days().unwrap(),
            vec![day("2026-11-21"), day("2026-11-22")]
        );
    }

    #[test]
    fn one_holder_dedupes_what_it_holds_back_and_writes_consistent_indexes() {
        let (_dir, paths, _) = setup();
        let lock = LedgerLock::acquire(&paths, Duration::ZERO)
            .unwrap()
            .unwrap();
        // More days than stay open at once, appended twice by one holder: the second
        // time is found among the lines not yet written.
        let batch: Vec<Record> = (1..=MAX_OPEN_DAYS + 4)
            .map(|d| record(&format!("r{d}"), &format!("2026-10-{d:02}T01:00:00Z")))
            .collect();
        let mut ledger = Ledger::new(&paths);
        let first = ledger
            .append(&lock, batch.iter().cloned().map(Entry::new).collect())
            .unwrap();
        assert_eq!(first.len(), batch.len());
        let again = ledger
            .append(&lock, batch.iter().cloned().map(Entry::new).collect())
            .unwrap();
        assert!(again.is_empty());
        let more = [record("x", "2026-10-20T02:00:00Z")];
        assert_eq!(
            ledger
                .append(&lock, more.iter().cloned().map(Entry::new).collect())
                .unwrap()
                .len(),
            1
        );
        ledger.flush().unwrap();
        drop(ledger);
        // Each index ends where its day file ends: nothing to repair for the next holder.
        for d in 1..=MAX_OPEN_DAYS + 4 {
            let day = day(&format!("2026-10-{d:02}"));
            let reader = Ledger::new(&paths);
            let data_len = std::fs::metadata(reader.day_file(day)).unwrap().len();
            let index = std::fs::read(reader.index_file(day)).unwrap();
            let last = &index[index.len() - INDEX_ENTRY..];
            assert_eq!(
                u64::from_le_bytes(last[8..].try_into().unwrap()) & END_MASK,
                data_len
            );
            let expected = if d == 20 { 2 } else { 1 };
            assert_eq!(reader.read_day(day).unwrap().0.len(), expected);
        }
        assert!(append_once(&paths, &lock, &batch).is_empty());
    }

    #[test]
    fn torn_tail_is_closed_and_its_record_rewritten_once() {
        let (_dir, paths, ledger) = setup();
        let lock = LedgerLock::acquire(&paths, Duration::ZERO)
            .unwrap()
            .unwrap();
        append_once(&paths, &lock, &[record("a", "2026-11-22T01:00:00Z")]);
        // Simulate a writer killed halfway through the line for "b".
        let line_b = record("b", "2026-11-22T01:00:01Z").to_line();
        let (mut f, _) = files::open_append(&ledger.day_file(day("2026-11-22"))).unwrap();
        f.write_all(&line_b.as_bytes()[..20]).unwrap();
        drop(f);
        let batch = [
            record("a", "2026-11-22T01:00:00Z"),
            record("b", "2026-11-22T01:00:01Z"),
        ];
        let appended = append_once(&paths, &lock, &batch);
        assert_eq!(appended.len(), 1);
        let (records, skipped) = ledger.read_day(day("2026-11-22")).unwrap();
        assert_eq!(
            records.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            vec!["a", "b"]
        );
        assert_eq!(skipped, 1);
    }

    #[test]
    fn whole_line_without_index_entry_is_not_duplicated() {
        // A writer killed after its line but before its index entry.
        let (_dir, paths, ledger) = setup();
        let lock = LedgerLock::acquire(&paths, Duration::ZERO)
            .unwrap()
            .unwrap();
        append_once(&paths, &lock, &[record("a", "2026-11-22T01:00:00Z")]);
        let (mut f, _) = files::open_append(&ledger.day_file(day("2026-11-22"))).unwrap();
        f.write_all(record("b", "2026-11-22T01:00:01Z").to_line().as_bytes())
            .unwrap();
        drop(f);
        let batch = [record("b", "2026-11-22T01:00:01Z")];
        assert!(append_once(&paths, &lock, &batch).is_empty());
        assert_eq!(ledger.read_day(day("2026-11-22")).unwrap().0.len(), 2);
    }

    #[test]
    fn lost_or_torn_index_is_rebuilt() {
        let (_dir, paths, ledger) = setup();
        let lock = LedgerLock::acquire(&paths, Duration::ZERO)
            .unwrap()
            .unwrap();
        append_once(
            &paths,
            &lock,
            &[
                record("a", "2026-11-22T01:00:00Z"),
                record("b", "2026-11-22T01:00:00Z"),
            ],
        );
        let idx = ledger.index_file(day("2026-11-22"));
        let len = std::fs::metadata(&idx).unwrap().len();
        File::options()
            .write(true)
            .open(&idx)
            .unwrap()
            .set_len(len - 5)
            .unwrap();
        assert!(append_once(&paths, &lock, &[record("b", "2026-11-22T01:00:00Z")]).is_empty());
        std::fs::remove_file(&idx).unwrap();
        assert!(append_once(&paths, &lock, &[record("a", "2026-11-22T01:00:00Z")]).is_empty());
        assert_eq!(
            append_once(&paths, &lock, &[record("c", "2026-11-22T01:00:00Z")]).len(),
            1
        );
        assert_eq!(ledger.read_day(day("2026-11-22")).unwrap().0.len(), 3);
    }

    #[test]
    fn busy_day_index_long_enough_to_be_mapped_dedupes_and_is_repaired_alike() {
        // 1,200 records: an index of 19,200 bytes, past MAP_FROM, read where it lies.
        let (_dir, paths, ledger) = setup();
        let lock = LedgerLock::acquire(&paths, Duration::ZERO)
            .unwrap()
            .unwrap();
        let batch: Vec<Record> = (0..1200)
            .map(|n| record(&format!("r{n}"), "2026-11-22T01:00:00Z"))
            .collect();
        assert_eq!(append_once(&paths, &lock, &batch).len(), 1200);
        let idx = ledger.index_file(day("2026-11-22"));
        assert!(std::fs::metadata(&idx).unwrap().len() >= mapped::MAP_FROM);
        // Every old key is found (first, middle, last), a new one is not; asked more
        // often than a hook does, the answers come from the hash set, the same.
        let asked: Vec<Record> = [0, 599, 1199]
            .iter()
            .map(|n| record(&format!("r{n}"), "2026-11-22T01:00:00Z"))
            .chain([record("new", "2026-11-22T02:00:00Z")])
            .collect();
        assert_eq!(append_once(&paths, &lock, &asked), vec!["new"]);
        assert!(append_once(&paths, &lock, &batch).is_empty());
        // A torn last entry, then a body overwritten: each time rebuilt, nothing twice.
        let mut bytes = std::fs::read(&idx).unwrap();
        bytes.truncate(bytes.len() - 5);
        std::fs::write(&idx, &bytes).unwrap();
        assert!(append_once(&paths, &lock, &asked).is_empty());
        let mut bytes = std::fs::read(&idx).unwrap();
        for byte in &mut bytes[64..8000] {
            *byte ^= 0x5a;
        }
        std::fs::write(&idx, &bytes).unwrap();
        assert!(append_once(&paths, &lock, &batch).is_empty());
        assert_eq!(ledger.read_day(day("2026-11-22")).unwrap().0.len(), 1201);
        assert_eq!(
            std::fs::metadata(&idx).unwrap().len(),
            1201 * INDEX_ENTRY as u64
        );
    }

    #[test]
    fn index_damaged_inside_but_whole_at_its_end_is_rebuilt() {
        // Seven requests; the index's body is overwritten, its last entry left intact:
        // re-reading the same requests must not append them again.
        let (_dir, paths, ledger) = setup();
        let lock = LedgerLock::acquire(&paths, Duration::ZERO)
            .unwrap()
            .unwrap();
        let batch: Vec<Record> = (0..7)
            .map(|n| record(&format!("r{n}"), "2026-11-22T01:00:00Z"))
            .collect();
        assert_eq!(append_once(&paths, &lock, &batch).len(), 7);
        let idx = ledger.index_file(day("2026-11-22"));
        let mut bytes = std::fs::read(&idx).unwrap();
        let body = bytes.len() - INDEX_ENTRY;
        for (n, byte) in bytes[..body].iter_mut().enumerate() {
            *byte = (n as u8).wrapping_mul(31);
        }
        std::fs::write(&idx, &bytes).unwrap();
        assert!(append_once(&paths, &lock, &batch).is_empty());
        assert_eq!(ledger.read_day(day("2026-11-22")).unwrap().0.len(), 7);
    }

    #[test]
    fn index_of_an_older_version_is_rebuilt_with_checks() {
        let (_dir, paths, ledger) = setup();
        let lock = LedgerLock::acquire(&paths, Duration::ZERO)
            .unwrap()
            .unwrap();
        let batch = [
            record("a", "2026-11-22T01:00:00Z"),
            record("b", "2026-11-22T01:00:00Z"),
        ];
        append_once(&paths, &lock, &batch);
        // Strip the checks: what an index without them looks like.
        let idx = ledger.index_file(day("2026-11-22"));
        let mut bytes = std::fs::read(&idx).unwrap();
        for entry in bytes.chunks_exact_mut(INDEX_ENTRY) {
            let end = u64::from_le_bytes(entry[8..].try_into().unwrap()) & END_MASK;
            entry[8..].copy_from_slice(&end.to_le_bytes());
        }
        std::fs::write(&idx, &bytes).unwrap();
        assert!(append_once(&paths, &lock, &batch).is_empty());
        let rebuilt = std::fs::read(&idx).unwrap();
        assert_eq!(rebuilt.len(), 2 * INDEX_ENTRY);
        assert_ne!(rebuilt, bytes, "rebuilt with checks");
    }

    #[test]
    fn one_writer_asking_many_times_gets_the_same_answers_from_its_set() {
        let (_dir, paths, ledger) = setup();
        let lock = LedgerLock::acquire(&paths, Duration::ZERO)
            .unwrap()
            .unwrap();
        let first: Vec<Record> = (0..100)
            .map(|n| record(&format!("r{n}"), "2026-11-22T01:00:00Z"))
            .collect();
        assert_eq!(append_once(&paths, &lock, &first).len(), 100);
        // One holder asking 300 times (past the scans, into the set), half of them known.
        let mut holder = Ledger::new(&paths);
        let mixed: Vec<Entry> = (50..350)
            .map(|n| Entry::new(record(&format!("r{n}"), "2026-11-22T01:00:00Z")))
            .collect();
        let appended = holder.append(&lock, mixed).unwrap();
        assert_eq!(appended.len(), 250);
        let again: Vec<Entry> = (0..350)
            .map(|n| Entry::new(record(&format!("r{n}"), "2026-11-22T01:00:00Z")))
            .collect();
        assert!(holder.append(&lock, again).unwrap().is_empty());
        holder.flush().unwrap();
        assert_eq!(ledger.read_day(day("2026-11-22")).unwrap().0.len(), 350);
    }

    #[test]
    fn key_hash_is_stable() {
        assert_eq!(key_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(key_hash("request:req-0"), key_hash("request:req-0"));
        assert_ne!(key_hash("request:a"), key_hash("side:a"));
    }
}
