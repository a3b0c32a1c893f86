//! `bedrock-hook import [PATH...]`: backfill the ledger from the transcripts Claude Code
//! already wrote, so a new user sees their history on day one.
//!
//! Every transcript goes through the same [`Writer`] as the hooks, so a request is
//! accounted identically whoever reads it first, and importing twice (or importing what
//! the hooks already recorded) adds nothing: per-transcript cursors skip what was read,
//! and the ledger's dedupe index drops anything seen through another path. Memory stays
//! flat: one transcript chunk and one directory listing at a time. The ledger lock is
//! released every few dozen milliseconds so running hooks are never held up for long.

pub mod discover;
pub mod progress;

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, anyhow};
use chrono::Utc;

use crate::cli::ImportArgs;
use crate::config::Config;
use crate::ingest::{Flush, HOOK_READ, Origin, Prepared, ReadOpts, Writer, prepare};
use crate::paths::Paths;
use crate::report::term::{count, thousands};
use discover::{Found, Role, Transcript};
use progress::{Progress, human_bytes};

/// Longest time one batch of transcripts holds the ledger lock before letting others in.
const BATCH: Duration = Duration::from_millis(50);
/// How long import waits for the ledger lock (hooks hold it for milliseconds).
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Transcripts looked at.
    pub files: u64,
    /// Of those, with nothing new since the last import or hook.
    pub unchanged_files: u64,
    /// Transcript bytes read this time.
    pub bytes: u64,
    /// Records the transcripts produced (requests, side totals).
    pub records: u64,
    /// Of those, new to the ledger.
    pub appended: u64,
    pub garbage_lines: u64,
    pub non_utf8_lines: u64,
    /// Files or folders that could not be read.
    pub unreadable: u64,
    /// Finished transcripts whose last line was cut off.
    pub truncated_files: u64,
    /// The first read error, to show.
    pub first_error: Option<String>,
}

impl Summary {
    /// Records already in the ledger (read through another path, or by the hooks).
    pub fn duplicates(&self) -> u64 {
        self.records - self.appended
    }
}

pub fn run(args: &ImportArgs) -> Result<ExitCode> {
    let paths = Paths::from_env()?;
    let config = Config::load(paths.config_file.as_deref());
    for problem in &config.problems {
        eprintln!("bedrock-hook: config: {problem}");
    }
    let explicit = !args.paths.is_empty();
    let roots = if explicit {
        args.paths
            .iter()
            .map(|p| discover::root_for_argument(p))
            .collect()
    } else {
        discover::default_roots(|name| std::env::var(name).ok())
    };
    let roots = discover::distinct_roots(roots);
    let mut progress = Progress::new(args.quiet);
    if progress.enabled() {
        let (files, bytes) = measure(&roots);
        progress.set_totals(files, bytes);
    }
    let started = Instant::now();
    let result = import(&paths, &config, &roots, explicit, &mut progress);
    progress.finish();
    let summary = result?;
    if summary.files == 0 && summary.unreadable == 0 {
        let looked: Vec<String> = roots.iter().map(|r| r.display().to_string()).collect();
        println!("No transcripts found in {}.", looked.join(", "));
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", Report(&summary, started.elapsed()));
    Ok(ExitCode::SUCCESS)
}

/// Import every transcript under `roots` into the ledger of `paths`. Roots given
/// `explicit`ly must exist (a missing one counts as unreadable); default ones may not.
///
/// Worker threads read and assemble transcripts without the lock ([`prepare`]); this
/// thread records them in discovery order ([`Writer::apply`]), so a session's subagents
/// are still recorded before the session itself. At most a few transcripts are in flight.
pub fn import(
    paths: &Paths,
    config: &Config,
    roots: &[PathBuf],
    explicit: bool,
    progress: &mut Progress,
) -> Result<Summary> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4);
    let window = workers * 4;
    let mut importer = Importer {
        paths,
        config,
        writer: None,
        batch_started: Instant::now(),
        summary: Summary::default(),
        seen_bytes: 0,
        fatal: None,
    };
    let (job_tx, job_rx) = mpsc::sync_channel::<Job>(window);
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = mpsc::channel::<Parsed>();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let done_tx = done_tx.clone();
            let job_rx = &job_rx;
            scope.spawn(move || {
                loop {
                    let job = match job_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok(job) = job else { return };
                    if done_tx.send(parse(paths, config, job)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        let mut queue = Queue {
            next_seq: 0,
            next_apply: 0,
            ready: BTreeMap::new(),
        };
        let mut on_ready = |importer: &mut Importer<'_>, parsed: Parsed| {
            importer.apply(parsed);
            progress.update(
                importer.summary.files,
                importer.seen_bytes,
                importer.summary.appended,
            );
        };
        for root in roots {
            if explicit && std::fs::symlink_metadata(root).is_err() {
                importer.unreadable(root, &"no such file or folder");
                continue;
            }
            discover::walk(root, &mut |found| match found {
                Found::Unreadable(path, e) => importer.unreadable(&path, &e),
                Found::Transcript(transcript) => {
                    if importer.fatal.is_some() {
                        return;
                    }
                    let seq = queue.next_seq;
                    queue.next_seq += 1;
                    if job_tx.send(Job { seq, transcript }).is_err() {
                        return;
                    }
                    while queue.in_flight() >= window as u64 {
                        let Ok(parsed) = done_rx.recv() else { return };
                        queue.accept(parsed, &mut |p| on_ready(&mut importer, p));
                    }
                }
            });
        }
        drop(job_tx);
        while queue.in_flight() > 0 {
            let Ok(parsed) = done_rx.recv() else { break };
            queue.accept(parsed, &mut |p| on_ready(&mut importer, p));
        }
    });
    importer.end_batch();
    match importer.fatal {
        Some(e) => Err(e),
        None => Ok(importer.summary),
    }
}

/// Files and bytes under `roots`, for the progress bar (metadata only).
fn measure(roots: &[PathBuf]) -> (u64, u64) {
    let (mut files, mut bytes) = (0, 0);
    for root in roots {
        discover::walk(root, &mut |found| {
            if let Found::Transcript(t) = found {
                files += 1;
                bytes += std::fs::metadata(&t.path).map(|m| m.len()).unwrap_or(0);
            }
        });
    }
    (files, bytes)
}

/// One transcript for a worker, numbered in discovery order.
struct Job {
    seq: u64,
    transcript: Transcript,
}

/// What a worker found out about one transcript.
struct Parsed {
    seq: u64,
    path: PathBuf,
    outcome: Outcome,
}

enum Outcome {
    Unreadable(String),
    Read {
        origin: Origin,
        opts: ReadOpts,
        len: u64,
        /// A finished transcript whose last line was cut off.
        truncated: bool,
        prepared: std::io::Result<Option<Box<Prepared>>>,
    },
}

/// Results put back in discovery order.
struct Queue {
    next_seq: u64,
    next_apply: u64,
    ready: BTreeMap<u64, Parsed>,
}

impl Queue {
    fn in_flight(&self) -> u64 {
        self.next_seq - self.next_apply
    }

    fn accept(&mut self, parsed: Parsed, apply: &mut dyn FnMut(Parsed)) {
        self.ready.insert(parsed.seq, parsed);
        while let Some(next) = self.ready.remove(&self.next_apply) {
            self.next_apply += 1;
            apply(next);
        }
    }
}

/// The worker's part: open, look, and read the transcript without the ledger lock.
fn parse(paths: &Paths, config: &Config, job: Job) -> Parsed {
    let Job { seq, transcript: t } = job;
    let opened = File::open(&t.path).and_then(|f| {
        let meta = f.metadata()?;
        Ok((f, meta))
    });
    let outcome = match opened {
        Err(e) => Outcome::Unreadable(e.to_string()),
        Ok((_, meta)) if !meta.is_file() => Outcome::Unreadable("not a regular file".into()),
        Ok((file, meta)) => {
            let stale = Duration::from_secs(config.inflight_stale_secs);
            let finished = meta
                .modified()
                .ok()
                .and_then(|m| SystemTime::now().duration_since(m).ok())
                .is_some_and(|age| age >= stale);
            let (session, agent) = match &t.role {
                Role::Main { session } => (session.clone(), None),
                Role::Subagent { session, agent } => (session.clone(), Some(agent.clone())),
            };
            let origin = Origin {
                session: Some(session),
                agent,
                project: first_cwd(&file),
            };
            // A live session's open request must not be closed early. Transcripts are
            // only ever appended to, so mapping them is safe (see `transcript::tail`).
            let opts = ReadOpts {
                drain: true,
                flush: if finished { Flush::All } else { Flush::No },
                map: true,
                ..HOOK_READ
            };
            Outcome::Read {
                truncated: finished && meta.len() > 0 && !ends_with_newline(&file, meta.len()),
                prepared: prepare(paths, &t.path, opts).map(|p| p.map(Box::new)),
                origin,
                opts,
                len: meta.len(),
            }
        }
    };
    Parsed {
        seq,
        path: t.path,
        outcome,
    }
}

struct Importer<'a> {
    paths: &'a Paths,
    config: &'a Config,
    writer: Option<Writer<'a>>,
    batch_started: Instant,
    summary: Summary,
    /// Size of the files handled so far (progress).
    seen_bytes: u64,
    /// A ledger that cannot be written ends the import.
    fatal: Option<anyhow::Error>,
}

impl<'a> Importer<'a> {
    fn unreadable(&mut self, path: &Path, e: &dyn fmt::Display) {
        self.summary.unreadable += 1;
        if self.summary.first_error.is_none() {
            self.summary.first_error = Some(format!("{}: {e}", path.display()));
        }
    }

    /// Record one parsed transcript (under the lock, in discovery order).
    fn apply(&mut self, parsed: Parsed) {
        if self.fatal.is_some() {
            return;
        }
        self.summary.files += 1;
        let Outcome::Read {
            origin,
            opts,
            len,
            truncated,
            prepared,
        } = parsed.outcome
        else {
            if let Outcome::Unreadable(why) = parsed.outcome {
                self.unreadable(&parsed.path, &why);
            }
            return;
        };
        self.seen_bytes += len;
        let prepared = match prepared {
            Ok(Some(prepared)) => prepared,
            // Gone since it was found: nothing to read.
            Ok(None) => return,
            Err(e) => return self.unreadable(&parsed.path, &e),
        };
        let Some(writer) = self.writer() else { return };
        match writer.apply(&parsed.path, &origin, opts, *prepared) {
            Ok(done) => {
                let s = &mut self.summary;
                s.bytes += done.bytes;
                s.records += done.records as u64;
                s.appended += done.appended as u64;
                s.garbage_lines += done.garbage_lines as u64;
                s.non_utf8_lines += done.non_utf8_lines as u64;
                s.unchanged_files += u64::from(done.bytes == 0);
            }
            Err(e) => self.unreadable(&parsed.path, &e),
        }
        self.summary.truncated_files += u64::from(truncated);
        if self.batch_started.elapsed() >= BATCH {
            self.end_batch();
        }
    }

    /// The writer of the current batch, taking the ledger lock if needed.
    fn writer(&mut self) -> Option<&mut Writer<'a>> {
        if self.writer.is_none() {
            match Writer::begin(self.paths, self.config, Utc::now(), LOCK_WAIT) {
                Ok(Some(writer)) => {
                    self.writer = Some(writer);
                    self.batch_started = Instant::now();
                }
                Ok(None) => {
                    self.fatal = Some(anyhow!(
                        "the ledger stayed locked for {}s; try again",
                        LOCK_WAIT.as_secs()
                    ));
                }
                Err(e) => {
                    self.fatal = Some(anyhow::Error::new(e).context(format!(
                        "cannot open the ledger in {}",
                        self.paths.data_dir.display()
                    )));
                }
            }
        }
        self.writer.as_mut()
    }

    /// Save the live state and release the lock.
    fn end_batch(&mut self) {
        if let Some(writer) = self.writer.take()
            && let Err(e) = writer.finish().context("saving the live state")
        {
            self.fatal.get_or_insert(e);
        }
    }
}

fn ends_with_newline(file: &File, len: u64) -> bool {
    let mut last = [0u8; 1];
    file.read_exact_at(&mut last, len - 1).is_ok() && last[0] == b'\n'
}

/// The working directory the transcript's first entries name (`"cwd":"..."`), read from
/// the first few KiB only; it labels records whose own lines carry none.
fn first_cwd(file: &File) -> Option<String> {
    const NEEDLE: &[u8] = b"\"cwd\":\"";
    let mut buf = Vec::new();
    for limit in [16 << 10, 256 << 10] {
        buf.clear();
        file.take(limit).read_to_end(&mut buf).ok()?;
        // `take` on a shared handle reads from the current position: rewind for the retry.
        let mut rewind = file;
        let _ = std::io::Seek::rewind(&mut rewind);
        if let Some(at) = memchr::memmem::find(&buf, NEEDLE) {
            let start = at + NEEDLE.len() - 1;
            let end = string_end(&buf[start + 1..])? + start + 1;
            return serde_json::from_slice::<String>(&buf[start..=end])
                .ok()
                .filter(|cwd| !cwd.is_empty());
        }
        if (buf.len() as u64) < limit {
            return None;
        }
    }
    None
}

/// Index of the quote closing a JSON string whose body starts at `body[0]`.
fn string_end(body: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The summary printed at the end.
struct Report<'s>(&'s Summary, Duration);

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Report(s, elapsed) = self;
        writeln!(
            f,
            "Imported {} ({} read) in {:.2}s: {} found, {} new in the ledger.",
            count(s.files, "transcript", "transcripts"),
            human_bytes(s.bytes),
            elapsed.as_secs_f64(),
            count(s.records, "record", "records"),
            thousands(s.appended)
        )?;
        if s.unchanged_files > 0 {
            writeln!(
                f,
                "{} nothing new since {} last read.",
                count(s.unchanged_files, "transcript had", "transcripts had"),
                if s.unchanged_files == 1 {
                    "it was"
                } else {
                    "they were"
                }
            )?;
        }
        let mut skipped = Vec::new();
        let mut skip = |n: u64, one: &str, many: &str| {
            if n > 0 {
                skipped.push(count(n, one, many));
            }
        };
        skip(s.garbage_lines, "garbage line", "garbage lines");
        skip(
            s.non_utf8_lines,
            "line with non-UTF-8 bytes",
            "lines with non-UTF-8 bytes",
        );
        skip(s.unreadable, "unreadable file", "unreadable files");
        skip(
            s.truncated_files,
            "file with a cut-off last line",
            "files with a cut-off last line",
        );
        skip(
            s.duplicates(),
            "duplicate record (already in the ledger)",
            "duplicate records (already in the ledger)",
        );
        if skipped.is_empty() {
            writeln!(f, "Skipped: nothing.")?;
        } else {
            writeln!(f, "Skipped: {}.", skipped.join(", "))?;
        }
        if let Some(error) = &s.first_error {
            writeln!(f, "First unreadable: {}", crate::report::term::clean(error))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(bytes: &[u8]) -> (tempfile::NamedTempFile, File) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        let handle = File::open(f.path()).unwrap();
        (f, handle)
    }

    #[test]
    fn first_cwd_decodes_the_json_string() {
        let (_f, file) = file_with(
            b"{\"type\":\"queue-operation\"}\n{\"type\":\"user\",\"cwd\":\"/home/dev/my \\\"proj\\\"\"}\n",
        );
        assert_eq!(first_cwd(&file).as_deref(), Some("/home/dev/my \"proj\""));
        let (_g, none) = file_with(b"{\"type\":\"user\"}\n");
        assert_eq!(first_cwd(&none), None);
    }

    #[test]
    fn first_cwd_looks_past_a_large_first_line() {
        let mut text = format!("{{\"x\":\"{}\"}}\n", "a".repeat(40 << 10)).into_bytes();
        text.extend_from_slice(b"{\"cwd\":\"/p\"}\n");
        let (_f, file) = file_with(&text);
        assert_eq!(first_cwd(&file).as_deref(), Some("/p"));
    }

    #[test]
    fn summary_names_every_skip() {
        let s = Summary {
            files: 3,
            records: 10,
            appended: 7,
            garbage_lines: 2,
            non_utf8_lines: 1,
            unreadable: 1,
            truncated_files: 1,
            ..Summary::default()
        };
        let text = Report(&s, Duration::from_millis(1500)).to_string();
        assert!(text.contains("10 records found, 7 new"), "{text}");
        assert!(text.contains("Imported 3 transcripts"), "{text}");
        assert!(
            text.contains(
                "Skipped: 2 garbage lines, 1 line with non-UTF-8 bytes, 1 unreadable file, \
                 1 file with a cut-off last line, 3 duplicate records (already in the ledger)."
            ),
            "{text}"
        );
    }
}
