//! `bedrock-hook import [PATH...]`: backfill the ledger from the transcripts Claude Code
//! already wrote, so a new user sees their history on day one.
//!
//! Every transcript goes through the same [`Writer`] as the hooks, so a request is
//! accounted identically whoever reads it first, and importing twice (or importing what
//! the hooks already recorded) adds nothing: per-transcript cursors skip what was read,
//! and the ledger's dedupe index drops anything seen through another path.
//!
//! Worker threads (`worker`) read and assemble transcripts without the lock; this thread
//! records them in discovery order (`discover` hands a session's subagents over first).
//! Memory stays flat: at most 16 transcripts per worker in flight, each holding at most
//! a couple of thousand requests (`ingest::prepare`), one directory listing at a time. The
//! ledger lock is released every 200 ms so running hooks (which wait up to 3 s) are
//! never held up for long.

pub mod discover;
pub mod progress;
pub mod summary;
pub mod worker;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow};

use crate::config::Config;
use crate::context::Context;
use crate::ingest::{RecordMaker, Writer};
use crate::paths::Paths;
use crate::terminal::{clean, count};
use crate::terminal::{out, outln};
use discover::Found;
use progress::Progress;
use summary::Report;
pub use summary::Summary;
use worker::{Job, Outcome, Parsed, parse};

/// `bedrock-hook import`'s arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Transcript files or folders. Default: `projects/` under CLAUDE_CONFIG_DIR (and each
    /// entry of it if comma-separated), else ~/.claude and $XDG_CONFIG_HOME/claude.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// No progress bar, even on a terminal.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Longest time one batch of transcripts holds the ledger lock before letting others in.
const BATCH: Duration = Duration::from_millis(200);
/// Longest time a batch may run on to keep a session together (hooks wait up to 3 s).
const MAX_BATCH: Duration = Duration::from_millis(1000);
/// Largest read buffer a worker keeps between transcripts.
const KEEP_BUFFER: usize = 8 << 20;
/// How long import waits for the ledger lock (hooks hold it for milliseconds).
const LOCK_WAIT: Duration = Duration::from_secs(30);

pub fn run(args: &Args, context: &Context) -> Result<ExitCode> {
    let Context { paths, config, .. } = context;
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
    // A path the user named that is not there is a mistake to report, not an empty import.
    let missing: Vec<String> = roots
        .iter()
        .filter(|root| explicit && std::fs::symlink_metadata(root).is_err())
        .map(|root| clean(&root.display().to_string()))
        .collect();
    if !missing.is_empty() && missing.len() == roots.len() {
        anyhow::bail!(
            "{}: no such file or folder; nothing was imported",
            missing.join(", ")
        );
    }
    let mut progress = Progress::new(args.quiet);
    if progress.enabled() {
        let (files, bytes) = measure(&roots);
        progress.set_totals(files, bytes);
    }
    let started = Instant::now();
    let result = import(paths, config, &roots, explicit, &mut progress);
    progress.finish();
    let summary = result?;
    if summary.files == 0 && summary.unreadable == 0 {
        let looked: Vec<String> = roots
            .iter()
            .map(|r| clean(&r.display().to_string()))
            .collect();
        outln!("No transcripts found in {}.", looked.join(", "));
        return Ok(ExitCode::SUCCESS);
    }
    let nothing_skipped = summary.unreadable == 0
        && summary.garbage_lines == 0
        && summary.non_utf8_lines == 0
        && summary.truncated_files == 0;
    if summary.appended == 0 && nothing_skipped && summary.unchanged_files == summary.files {
        outln!(
            "Up to date: nothing new in {} {}.",
            count(summary.files, "transcript", "transcripts"),
            summary::since_last_read(summary.files)
        );
    } else if summary.appended == 0 && nothing_skipped {
        outln!(
            "Up to date: {} read, {} found, all already in the ledger; nothing new.",
            count(summary.files, "transcript", "transcripts"),
            count(summary.records, "record", "records")
        );
    } else {
        out!("{}", Report(&summary, started.elapsed()));
    }
    if !missing.is_empty() {
        eprintln!(
            "bedrock-hook: {}: no such file or folder",
            missing.join(", ")
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Import every transcript under `roots` into the ledger of `paths`. Roots given
/// `explicit`ly must exist (a missing one counts as unreadable); default ones may not.
///
/// Worker threads read and assemble transcripts without the lock ([`prepare`]); this
/// thread records them in discovery order ([`Writer::apply`]), so a session's subagents
/// are still recorded before the session itself. Enough transcripts are in flight that
/// the workers never wait for this thread to hand out the next one.
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
    let window = workers * 16;
    let mut importer = Importer {
        paths,
        config,
        writer: None,
        batch_started: Instant::now(),
        summary: Summary::default(),
        seen_bytes: 0,
        fatal: None,
    };
    let maker = &RecordMaker::new(config, crate::clock::now());
    let (job_tx, job_rx) = mpsc::sync_channel::<Job>(window);
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = mpsc::channel::<Parsed>();
    std::thread::scope(|scope| -> Result<()> {
        for n in 0..workers {
            let done_tx = done_tx.clone();
            let job_rx = &job_rx;
            let worker = move || {
                let mut buf = Vec::new();
                loop {
                    let job = match job_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok(job) = job else { return };
                    if done_tx
                        .send(parse(paths, config, maker, job, &mut buf))
                        .is_err()
                    {
                        return;
                    }
                    // Grown for one very long line: give it back.
                    if buf.capacity() > KEEP_BUFFER {
                        buf = Vec::new();
                    }
                }
            };
            std::thread::Builder::new()
                .name(format!("import-{n}"))
                .spawn_scoped(scope, worker)
                .map_err(|e| anyhow!("cannot start a reader thread: {e}"))?;
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
        Ok(())
    })?;
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
        // A batch ends between sessions: a session's subagents and its own transcript
        // are recorded under one lock, with the cursors of finished subagents, which
        // are kept in memory only (`ReadOpts::finished`), at hand.
        let may_end_batch = !parsed.subagent;
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
            Ok(prepared) => prepared,
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
        let held = self.batch_started.elapsed();
        if (may_end_batch && held >= BATCH) || held >= MAX_BATCH {
            self.end_batch();
        }
    }

    /// The writer of the current batch, taking the ledger lock if needed.
    fn writer(&mut self) -> Option<&mut Writer<'a>> {
        if self.writer.is_none() {
            match Writer::begin(self.paths, self.config, crate::clock::now(), LOCK_WAIT) {
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
