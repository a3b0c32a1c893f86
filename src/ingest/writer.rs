//! The one writer: holds the ledger lock for a command, appends records once, saves each
//! transcript's cursor after its records are on disk, and keeps the live state counted from
//! the ledger.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::ledger::{Entry, Ledger, LedgerLock, LiveState, Record};
use crate::paths::Paths;
use crate::quota::Usage;
use crate::transcript::Cursor;

use super::read::read_pass;
use super::side::subagent_files;
use super::{Ingested, Item, Origin, Prepared, ReadOpts, RecordMaker};

/// Holds the ledger lock for the duration of one command's writes.
pub struct Writer<'a> {
    pub paths: &'a Paths,
    pub config: &'a Config,
    pub now: DateTime<Utc>,
    pub state: LiveState,
    pub ledger: Ledger,
    pub(super) lock: LedgerLock,
    /// Cursors read or written under this lock (nobody else writes them meanwhile):
    /// `import` looks at each subagent's cursor again when its session is recorded.
    pub(super) cursors: BTreeMap<PathBuf, Cursor>,
    /// `finished` transcripts read to their end under this lock: nothing more to read.
    pub(super) read_to_end: BTreeSet<PathBuf>,
    /// Whether the live state changed and must be saved.
    pub(super) dirty: bool,
    pub(super) maker: RecordMaker<'a>,
}

impl<'a> Writer<'a> {
    /// Take the ledger lock (waiting up to `wait`) and load the live state.
    pub fn begin(
        paths: &'a Paths,
        config: &'a Config,
        now: DateTime<Utc>,
        wait: Duration,
    ) -> io::Result<Option<Writer<'a>>> {
        let Some(lock) = LedgerLock::acquire(paths, wait)? else {
            return Ok(None);
        };
        let ledger = Ledger::new(paths);
        let (state, dirty) =
            LiveState::load_for_update(&paths.state_file(), &ledger, config.day_boundary, now);
        Ok(Some(Writer {
            paths,
            config,
            now,
            state,
            ledger,
            lock,
            cursors: BTreeMap::new(),
            read_to_end: BTreeSet::new(),
            dirty,
            maker: RecordMaker::new(config, now),
        }))
    }

    /// Read what `transcript` gained and record it. A missing transcript is not an error.
    pub fn ingest(
        &mut self,
        transcript: &Path,
        origin: &Origin,
        opts: ReadOpts,
    ) -> io::Result<Ingested> {
        let mut cursor = self.cursor(transcript).clone();
        let mut total = Ingested::default();
        loop {
            let unchanged = cursor.clone();
            let Some((assembled, last_pass)) =
                read_pass(transcript, &mut cursor, opts, &mut total)?
            else {
                return Ok(total);
            };
            let read_to_end = opts.drain && last_pass;
            let items = self.maker.items(assembled, origin);
            self.record_pass(
                transcript,
                origin,
                &mut cursor,
                items,
                &unchanged,
                &mut total,
                opts.finished && read_to_end,
            )?;
            if last_pass {
                return Ok(total);
            }
        }
    }

    /// Record what [`prepare`] read without the lock. If the transcript's cursor moved
    /// since (a hook read it meanwhile), the preparation is dropped and the transcript
    /// read again under the lock; dedupe makes either way count each request once.
    pub fn apply(
        &mut self,
        transcript: &Path,
        origin: &Origin,
        opts: ReadOpts,
        prepared: Prepared,
    ) -> io::Result<Ingested> {
        if *self.cursor(transcript) != prepared.start {
            return self.ingest(transcript, origin, opts);
        }
        let mut total = prepared.counts;
        let mut cursor = prepared.end;
        self.record_pass(
            transcript,
            origin,
            &mut cursor,
            prepared.items,
            &prepared.start,
            &mut total,
            opts.finished && prepared.complete,
        )?;
        if !prepared.complete {
            let rest = self.ingest(transcript, origin, opts)?;
            total.add(&rest);
        }
        Ok(total)
    }

    /// Turn one pass's assembled items into records, append them, save the cursor (in
    /// memory only if the pass read a `finished` transcript to its end).
    #[allow(clippy::too_many_arguments)]
    fn record_pass(
        &mut self,
        transcript: &Path,
        origin: &Origin,
        cursor: &mut Cursor,
        items: Vec<Item>,
        unchanged: &Cursor,
        total: &mut Ingested,
        finished_and_read: bool,
    ) -> io::Result<()> {
        let mut entries = Vec::with_capacity(items.len());
        // What this transcript's subagents recorded, read at the first cost-state of the
        // pass and reused for the others (a pass reads one snapshot of the files).
        let mut subagent_usage: Option<BTreeMap<String, Usage>> = None;
        for item in items {
            match item {
                Item::Answered(entry) => {
                    let record = &entry.record;
                    cursor
                        .emitted
                        .entry(record.model_norm.clone())
                        .or_default()
                        .add(&record.usage());
                    entries.push(entry);
                }
                Item::Unanswered(entry) | Item::Throttle(entry) => entries.push(entry),
                Item::CostState {
                    session,
                    by_model,
                    compactions,
                } => {
                    // Subagent requests must be in before the difference is taken.
                    let session = session
                        .or_else(|| origin.session.clone())
                        .unwrap_or_default();
                    let subagents = match subagent_usage.take() {
                        Some(usage) => usage,
                        None => {
                            let files = subagent_files(transcript);
                            self.ingest_subagents(&files, &session, origin)?;
                            self.subagent_usage(&files)
                        }
                    };
                    let side = self.side_records(
                        cursor,
                        &session,
                        &by_model,
                        &subagents,
                        origin,
                        compactions,
                    );
                    entries.extend(side.into_iter().map(Entry::new));
                    subagent_usage = Some(subagents);
                }
            }
        }
        total.records += entries.len();
        total.appended += self.append_entries(entries)?;
        if finished_and_read {
            self.read_to_end.insert(transcript.to_path_buf());
        }
        if cursor != unchanged {
            if !finished_and_read {
                // Saved only once the records are on disk: a crash in between re-reads,
                // and dedupe holds.
                self.ledger.flush().map_err(|e| self.ledger_error(e))?;
                cursor
                    .save(self.paths, transcript)
                    .map_err(|e| self.ledger_error(e))?;
            }
            self.cursors
                .insert(transcript.to_path_buf(), cursor.clone());
        }
        Ok(())
    }

    /// The model of the last request `transcript` says was sent, as far as it was read.
    pub fn last_sent_model(&mut self, transcript: &Path) -> Option<String> {
        self.cursor(transcript)
            .assembler
            .last_sent_model()
            .map(str::to_string)
    }

    /// A failed write of our own (a day file, its index, a cursor), told apart from a
    /// transcript that cannot be read: see [`is_ledger_write`].
    fn ledger_error(&self, e: io::Error) -> io::Error {
        let kind = e.kind();
        io::Error::new(
            kind,
            LedgerWrite(format!(
                "writing the ledger in {}: {e}",
                self.paths.data_dir.display()
            )),
        )
    }

    /// The saved cursor of `transcript`.
    pub(super) fn cursor(&mut self, transcript: &Path) -> &Cursor {
        self.cursors
            .entry(transcript.to_path_buf())
            .or_insert_with(|| Cursor::load(self.paths, transcript))
    }

    /// Append records, count the new ones in the live state; returns how many were new.
    pub fn append(&mut self, records: &[Record]) -> io::Result<usize> {
        self.append_entries(records.iter().cloned().map(Entry::new).collect())
    }

    /// Records of the day files the live state counts reach it through those files (so
    /// that it always equals what they hold, see `ledger::converge`); older ones, which
    /// only tell it about streams, directly.
    pub(super) fn append_entries(&mut self, entries: Vec<Entry>) -> io::Result<usize> {
        let appended = self
            .ledger
            .append(&self.lock, entries)
            .map_err(|e| self.ledger_error(e))?;
        if appended.is_empty() {
            return Ok(0);
        }
        self.dirty = true;
        let boundary = self.config.day_boundary;
        let counted_days = LiveState::counted_days(boundary, self.now);
        let mut in_counted_days = Vec::new();
        for entry in &appended {
            if counted_days.contains(&entry.record.ts.date_naive()) {
                in_counted_days.push(entry);
            } else {
                self.state.add_record(&entry.record, boundary, self.now);
            }
        }
        if !in_counted_days.is_empty() {
            self.ledger.flush().map_err(|e| self.ledger_error(e))?;
            if !self
                .state
                .count_own_appends(&self.ledger, &in_counted_days, boundary, self.now)
            {
                self.state.catch_up(&self.ledger, boundary, self.now);
            }
        }
        Ok(appended.len())
    }

    /// Mark the live state as changed by the caller (in-flight, warnings).
    pub fn touch(&mut self) {
        self.dirty = true;
    }

    /// Expire aged entries and save the live state if it changed; releases the lock.
    pub fn finish(mut self) -> io::Result<()> {
        self.ledger.flush()?;
        let expired = self.state.expire(self.now, self.config.inflight_stale_secs);
        if !(self.dirty || expired) {
            return Ok(());
        }
        self.state.v = crate::ledger::live::STATE_VERSION;
        self.state.save(&self.paths.state_file())
    }
}

/// The error of a write into the data dir while recording a transcript.
#[derive(Debug)]
struct LedgerWrite(String);

impl std::fmt::Display for LedgerWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LedgerWrite {}

/// Whether an error of [`Writer::ingest`] is ours (writing the ledger) rather than the
/// transcript's: the message then names the data dir, not the transcript.
pub fn is_ledger_write(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<LedgerWrite>())
}
