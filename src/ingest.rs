//! The write path every command shares: under the ledger lock, read each transcript's new
//! lines, turn them into ledger records, append the ones not yet recorded, and keep the
//! live state in step. The hook, the status line and `import` all go through here, so a
//! request is accounted the same way whoever sees it first.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::ledger::record::SCHEMA_VERSION;
use crate::ledger::{Entry, Kind, Ledger, LedgerLock, LiveState, MaxTokensSource, Outcome, Record};
use crate::paths::Paths;
use crate::quota::{self, Usage};
use crate::transcript::{self, Assembled, Compaction, Cursor, Limits, Response, SentRequest};

/// How much of a transcript one call may read.
#[derive(Debug, Clone, Copy)]
pub struct ReadOpts {
    pub limits: Limits,
    /// The turn ended at this instant: requests sent up to then that still have no
    /// response never will (see `Assembler::flush_unanswered`).
    pub unanswered_before: Option<DateTime<Utc>>,
    /// Keep reading until the file is consumed (import), instead of one budget's worth.
    pub drain: bool,
    /// The transcript will not grow (import of a session whose last write is older than
    /// the in-flight expiry). Once it is read to its end its cursor stays in memory: a
    /// file nobody appends to is not read again, and if it is after all (a resumed
    /// session), reading it from the start adds nothing the dedupe index has not seen.
    /// Saves creating one file per transcript.
    pub finished: bool,
}

/// Hook: up to 64 MiB per transcript per call; lines over 64 MiB are tool output.
pub const HOOK_READ: ReadOpts = ReadOpts {
    limits: Limits {
        budget: 64 << 20,
        max_line: 64 << 20,
    },
    unanswered_before: None,
    drain: false,
    finished: false,
};

/// Status line: a small budget so a burst of new bytes never slows a render.
pub const STATUSLINE_READ: ReadOpts = ReadOpts {
    limits: Limits {
        budget: 2 << 20,
        max_line: 64 << 20,
    },
    unanswered_before: None,
    drain: false,
    finished: false,
};

/// What one transcript contributed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Ingested {
    pub records: usize,
    pub appended: usize,
    pub bytes: u64,
    /// Lines that are not a JSON object, or request/response/totals lines that do not
    /// parse (torn writes, corruption).
    pub garbage_lines: usize,
    /// Malformed lines holding bytes that are not UTF-8 (not in `garbage_lines`).
    pub non_utf8_lines: usize,
}

impl Ingested {
    pub fn add(&mut self, other: &Ingested) {
        self.records += other.records;
        self.appended += other.appended;
        self.bytes += other.bytes;
        self.garbage_lines += other.garbage_lines;
        self.non_utf8_lines += other.non_utf8_lines;
    }
}

/// Most assembled items [`prepare`] holds before handing over (bounds its memory on a
/// huge transcript; the rest is read under the lock).
const PREPARE_MAX_ITEMS: usize = 2_000;

/// A transcript read and assembled without the ledger lock, for [`Writer::apply`]: lets
/// `import` parse transcripts on several threads while one thread records.
#[derive(Debug)]
pub struct Prepared {
    /// The cursor it started from (compared again under the lock).
    start: Cursor,
    end: Cursor,
    items: Vec<Item>,
    counts: Ingested,
    /// Whether the whole transcript was read.
    complete: bool,
}

/// Read the already opened `transcript` from its saved cursor to its end and make its
/// records, without recording them, streaming it through `buf` (the caller's, reused
/// across transcripts). Stops early, with `complete` false, once [`PREPARE_MAX_ITEMS`]
/// items are assembled.
pub fn prepare(
    paths: &Paths,
    maker: &RecordMaker<'_>,
    transcript: &Path,
    origin: &Origin,
    file: &File,
    opts: ReadOpts,
    buf: &mut Vec<u8>,
) -> io::Result<Prepared> {
    let start = Cursor::load(paths, transcript);
    let mut cursor = start.clone();
    let mut counts = Ingested::default();
    let mut assembled = Vec::new();
    let streamed = transcript::stream_new(
        file,
        &mut cursor,
        opts.limits.max_line,
        buf,
        &mut |block, cursor| {
            consume_lines(block, cursor, &mut counts, &mut assembled);
            if assembled.len() >= PREPARE_MAX_ITEMS {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )?;
    counts.bytes = streamed.bytes;
    let stopped = streamed.stopped;
    if !stopped {
        close_unanswered(opts, &mut cursor, &mut assembled);
    }
    Ok(Prepared {
        start,
        end: cursor,
        items: maker.items(assembled, origin),
        counts,
        complete: !stopped,
    })
}

/// One read of what `transcript` gained: its lines classified and assembled, flushed as
/// `opts` says on the last pass. `None` if the file does not exist; the flag says whether
/// this was the last pass.
fn read_pass(
    transcript: &Path,
    cursor: &mut Cursor,
    opts: ReadOpts,
    total: &mut Ingested,
) -> io::Result<Option<(Vec<Assembled>, bool)>> {
    let before = cursor.offset;
    let new = match transcript::read_new(transcript, cursor, opts.limits) {
        Ok(new) => new,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    total.bytes += cursor.offset.saturating_sub(before);
    let mut assembled = Vec::new();
    consume_lines(&new.bytes, cursor, total, &mut assembled);
    let last_pass = !(opts.drain && new.more);
    if last_pass {
        close_unanswered(opts, cursor, &mut assembled);
    }
    Ok(Some((assembled, last_pass)))
}

/// After the last read of a call: requests sent before `opts.unanswered_before` that
/// still have no response never will (see `Assembler::flush_unanswered`).
fn close_unanswered(opts: ReadOpts, cursor: &mut Cursor, assembled: &mut Vec<Assembled>) {
    if let Some(cutoff) = opts.unanswered_before {
        cursor.assembler.flush_unanswered(cutoff, assembled);
    }
}

/// Classify whole lines and feed them to the cursor's assembler.
fn consume_lines(
    bytes: &[u8],
    cursor: &mut Cursor,
    total: &mut Ingested,
    assembled: &mut Vec<Assembled>,
) {
    let mut rest = bytes;
    while !rest.is_empty() {
        let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let line = &rest[..end];
        rest = rest.get(end + 1..).unwrap_or_default();
        if line.is_empty() {
            continue;
        }
        let entry = transcript::wire::classify(line);
        if matches!(entry, transcript::wire::Entry::Malformed) {
            // Told apart only for lines that matter: UTF-8 is never checked on the
            // megabytes of tool output the classifier skips.
            if std::str::from_utf8(line).is_err() {
                total.non_utf8_lines += 1;
            } else {
                total.garbage_lines += 1;
            }
        }
        cursor.assembler.feed(entry, assembled);
    }
}

/// Facts about the transcript being read that its lines may not carry.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub session: Option<String>,
    pub agent: Option<String>,
    pub project: Option<String>,
}

/// Holds the ledger lock for the duration of one command's writes.
pub struct Writer<'a> {
    pub paths: &'a Paths,
    pub config: &'a Config,
    pub now: DateTime<Utc>,
    pub state: LiveState,
    pub ledger: Ledger,
    lock: LedgerLock,
    /// Cursors read or written under this lock (nobody else writes them meanwhile):
    /// `import` looks at each subagent's cursor again when its session is recorded.
    cursors: HashMap<PathBuf, Cursor>,
    /// `finished` transcripts read to their end under this lock: nothing more to read.
    read_to_end: HashSet<PathBuf>,
    /// Whether the live state changed and must be saved.
    dirty: bool,
    maker: RecordMaker<'a>,
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
            cursors: HashMap::new(),
            read_to_end: HashSet::new(),
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
                self.ledger.flush()?;
                cursor.save(self.paths, transcript)?;
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

    /// The saved cursor of `transcript`.
    fn cursor(&mut self, transcript: &Path) -> &Cursor {
        self.cursors
            .entry(transcript.to_path_buf())
            .or_insert_with(|| Cursor::load(self.paths, transcript))
    }

    /// Append records, count the new ones in the live state; returns how many were new.
    pub fn append(&mut self, records: &[Record]) -> io::Result<usize> {
        self.append_entries(records.iter().cloned().map(Entry::new).collect())
    }

    fn append_entries(&mut self, entries: Vec<Entry>) -> io::Result<usize> {
        let appended = self.ledger.append(&self.lock, entries)?;
        self.dirty |= !appended.is_empty();
        for entry in &appended {
            self.state
                .add_record(&entry.record, self.config.day_boundary, self.now);
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

    fn ingest_subagents(
        &mut self,
        files: &[PathBuf],
        session: &str,
        origin: &Origin,
    ) -> io::Result<()> {
        for path in files {
            if self.read_to_end.contains(path) {
                continue;
            }
            let agent = path
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.strip_prefix("agent-"))
                .map(str::to_string);
            let sub_origin = Origin {
                session: Some(session.to_string()),
                agent,
                project: origin.project.clone(),
            };
            let opts = ReadOpts {
                drain: true,
                ..HOOK_READ
            };
            self.ingest(path, &sub_origin, opts)?;
        }
        Ok(())
    }

    /// Usage of the requests recorded from a session's subagent transcripts, by model.
    fn subagent_usage(&mut self, files: &[PathBuf]) -> BTreeMap<String, Usage> {
        let mut recorded: BTreeMap<String, Usage> = BTreeMap::new();
        for path in files {
            for (model, usage) in &self.cursor(path).emitted {
                recorded.entry(model.clone()).or_default().add(usage);
            }
        }
        recorded
    }

    /// Side requests: what `cost-state` says the session used beyond its request records
    /// (those of the main transcript, in `cursor`, and of its subagents). The compactions
    /// since the last totals take their model's part first, as request records.
    fn side_records(
        &self,
        cursor: &mut Cursor,
        session: &str,
        cost_state: &BTreeMap<String, Usage>,
        subagents: &BTreeMap<String, Usage>,
        origin: &Origin,
        compactions: Vec<Compaction>,
    ) -> Vec<Record> {
        let mut recorded = cursor.emitted.clone();
        for (model, usage) in subagents {
            recorded.entry(model.clone()).or_default().add(usage);
        }
        let ts = cursor
            .assembler
            .last_ts
            .as_deref()
            .and_then(parse_ts)
            .unwrap_or(self.now);
        let mut sides: Vec<(&String, quota::ModelName, Usage)> = cost_state
            .iter()
            .map(|(model, total)| {
                let name = quota::normalize(model, &self.config.profiles);
                let accounted = recorded.get(&name.canonical).copied().unwrap_or_default();
                let already = cursor
                    .side_emitted
                    .get(&name.canonical)
                    .copied()
                    .unwrap_or_default();
                let side = total.saturating_sub(&accounted).saturating_sub(&already);
                (model, name, side)
            })
            .collect();
        let mut records = self.compaction_records(cursor, session, &mut sides, compactions, origin);
        for (model, name, side) in sides {
            if side.is_zero() {
                continue;
            }
            cursor
                .side_emitted
                .entry(name.canonical.clone())
                .or_default()
                .add(&side);
            cursor.side_count += 1;
            let burndown = quota::burndown_for(&name, &self.config.burndown);
            let settled = quota::settled(&side, burndown.rate);
            records.push(Record {
                v: SCHEMA_VERSION,
                kind: Kind::Side,
                id: format!("{session}:{}:{}", name.canonical, cursor.side_count),
                ts,
                end_ts: None,
                session: session.to_string(),
                agent: None,
                model: model.clone(),
                model_norm: name.canonical,
                burndown: burndown.rate,
                burndown_assumed: burndown.assumed,
                input: side.input,
                cache_write: side.cache_write,
                cache_read: side.cache_read,
                output: side.output,
                max_tokens: None,
                max_tokens_source: MaxTokensSource::Unknown,
                // Their max_tokens is unknown: held at what they settled for.
                reserved: settled,
                settled,
                outcome: Outcome::Ok,
                query_source: None,
                project: origin.project.clone(),
                throttle: None,
            });
        }
        records
    }

    /// One request record per compaction, with its model's part of what the totals hold
    /// beyond the records (`sides`, taken out of it: not a side request too). Compactions of
    /// one model between two totals share it evenly.
    fn compaction_records(
        &self,
        cursor: &mut Cursor,
        session: &str,
        sides: &mut [(&String, quota::ModelName, Usage)],
        compactions: Vec<Compaction>,
        origin: &Origin,
    ) -> Vec<Record> {
        let mut by_model: BTreeMap<String, (String, Vec<Compaction>)> = BTreeMap::new();
        for compaction in compactions {
            // Without an api-request seen: the model the totals grew most on.
            let model = compaction.model.clone().or_else(|| {
                sides
                    .iter()
                    .max_by_key(|(_, _, side)| side.input + side.cache_write + side.output)
                    .filter(|(_, _, side)| !side.is_zero())
                    .map(|(model, _, _)| (*model).clone())
            });
            let model = model.unwrap_or_else(|| "unknown".to_string());
            let name = quota::normalize(&model, &self.config.profiles);
            by_model
                .entry(name.canonical)
                .or_insert_with(|| (model, Vec::new()))
                .1
                .push(compaction);
        }
        let mut records = Vec::new();
        for (canonical, (model, group)) in by_model {
            let share = sides
                .iter_mut()
                .find(|(_, name, _)| name.canonical == canonical)
                .map(|(_, _, side)| std::mem::take(side))
                .unwrap_or_default();
            cursor.emitted.entry(canonical).or_default().add(&share);
            let n = group.len() as u64;
            for (i, compaction) in group.into_iter().enumerate() {
                let part = share_of(&share, n, i as u64);
                records.push(
                    self.maker
                        .compaction(&compaction, &model, &part, session, origin),
                );
            }
        }
        records
    }
}

/// The `i`-th of `n` even parts of `usage` (the last takes what does not divide).
fn share_of(usage: &Usage, n: u64, i: u64) -> Usage {
    let part = |total: u64| {
        let each = total / n.max(1);
        if i + 1 == n {
            total - each * (n - 1)
        } else {
            each
        }
    };
    Usage {
        input: part(usage.input),
        cache_write: part(usage.cache_write),
        cache_read: part(usage.cache_read),
        output: part(usage.output),
    }
}

/// Turns what the assembler found into ledger records: the one place where a request's
/// model, max_tokens, reservation and settled cost are decided, for every command.
pub struct RecordMaker<'a> {
    config: &'a Config,
    /// Stands in for a timestamp a line does not carry.
    now: DateTime<Utc>,
    /// `CLAUDE_CODE_MAX_OUTPUT_TOKENS` as the client saw it (hooks inherit its env).
    env_max_tokens: Option<u64>,
}

/// An assembled item with its record made.
#[derive(Debug)]
pub enum Item {
    Answered(Entry),
    Unanswered(Entry),
    /// A 429 the client retried.
    Throttle(Entry),
    /// Session totals: their side records need the lock (see `Writer::side_records`).
    CostState {
        session: Option<String>,
        by_model: BTreeMap<String, Usage>,
        compactions: Vec<Compaction>,
    },
}

impl<'a> RecordMaker<'a> {
    pub fn new(config: &'a Config, now: DateTime<Utc>) -> RecordMaker<'a> {
        RecordMaker {
            config,
            now,
            env_max_tokens: crate::claude::ClientEnv::from_process().max_output_tokens(),
        }
    }

    /// Make the records of `assembled`, read from a transcript of `origin`.
    pub fn items(&self, assembled: Vec<Assembled>, origin: &Origin) -> Vec<Item> {
        assembled
            .into_iter()
            .map(|item| match item {
                Assembled::Answered { sent, response } => {
                    Item::Answered(Entry::new(self.request(sent.as_ref(), &response, origin)))
                }
                Assembled::Unanswered(sent) => {
                    Item::Unanswered(Entry::new(self.unanswered(&sent, origin)))
                }
                Assembled::Throttled(attempt) => {
                    Item::Throttle(Entry::new(self.throttled(&attempt, origin)))
                }
                Assembled::CostState {
                    session,
                    by_model,
                    compactions,
                } => Item::CostState {
                    session,
                    by_model,
                    compactions,
                },
            })
            .collect()
    }

    fn request(&self, sent: Option<&SentRequest>, response: &Response, origin: &Origin) -> Record {
        let model = sent
            .and_then(|s| s.model.clone())
            .or_else(|| response.model.clone())
            .unwrap_or_else(|| "unknown".to_string());
        let name = quota::normalize(&model, &self.config.profiles);
        let burndown = quota::burndown_for(&name, &self.config.burndown);
        let (max_tokens, source) = self.max_tokens(sent, &name);
        let usage = response.usage;
        let ts = sent
            .and_then(|s| s.ts.as_deref())
            .or(response.ts.as_deref())
            .and_then(parse_ts)
            .unwrap_or(self.now);
        Record {
            v: SCHEMA_VERSION,
            kind: Kind::Request,
            id: response
                .request_id
                .clone()
                .unwrap_or_else(|| response.key.clone()),
            ts,
            end_ts: response.ts.as_deref().and_then(parse_ts),
            session: response
                .session
                .clone()
                .or_else(|| sent.and_then(|s| s.session.clone()))
                .or_else(|| origin.session.clone())
                .unwrap_or_default(),
            agent: response
                .agent
                .clone()
                .or_else(|| sent.and_then(|s| s.agent.clone()))
                .or_else(|| origin.agent.clone()),
            model,
            model_norm: name.canonical,
            burndown: burndown.rate,
            burndown_assumed: burndown.assumed,
            input: usage.input,
            cache_write: usage.cache_write,
            cache_read: usage.cache_read,
            output: usage.output,
            max_tokens: Some(max_tokens),
            max_tokens_source: source,
            reserved: quota::reservation(
                &usage,
                max_tokens,
                burndown.rate,
                &self.config.reservation,
            ),
            settled: quota::settled(&usage, burndown.rate),
            outcome: Outcome::Ok,
            query_source: sent.and_then(|s| s.query_source.clone()),
            project: response.cwd.clone().or_else(|| origin.project.clone()),
            throttle: None,
        }
    }

    /// A compaction request: sent with the session's last model and max_tokens (what its
    /// `api-request` said), at the boundary's time less its duration; `usage` is its part
    /// of the session's totals.
    pub fn compaction(
        &self,
        compaction: &Compaction,
        model: &str,
        usage: &Usage,
        session: &str,
        origin: &Origin,
    ) -> Record {
        let name = quota::normalize(model, &self.config.profiles);
        let burndown = quota::burndown_for(&name, &self.config.burndown);
        let sent = compaction.max_tokens.map(|n| SentRequest {
            id: compaction.id.clone(),
            ts: None,
            model: None,
            max_tokens: Some(n),
            query_source: None,
            session: None,
            agent: None,
        });
        let (max_tokens, source) = self.max_tokens(sent.as_ref(), &name);
        let end = compaction.ts.as_deref().and_then(parse_ts);
        let took = chrono::Duration::milliseconds(compaction.duration_ms.unwrap_or(0) as i64);
        let session = compaction
            .session
            .clone()
            .unwrap_or_else(|| session.to_string());
        Record {
            v: SCHEMA_VERSION,
            kind: Kind::Request,
            id: format!("{session}:compact:{}", compaction.id),
            ts: end.map_or(self.now, |end| end - took),
            end_ts: end,
            session,
            agent: None,
            model: model.to_string(),
            model_norm: name.canonical,
            burndown: burndown.rate,
            burndown_assumed: burndown.assumed,
            input: usage.input,
            cache_write: usage.cache_write,
            cache_read: usage.cache_read,
            output: usage.output,
            max_tokens: Some(max_tokens),
            max_tokens_source: source,
            reserved: quota::reservation(
                usage,
                max_tokens,
                burndown.rate,
                &self.config.reservation,
            ),
            settled: quota::settled(usage, burndown.rate),
            outcome: Outcome::Ok,
            query_source: Some("compact".to_string()),
            project: origin.project.clone(),
            throttle: None,
        }
    }

    /// A 429 the client received and retried, as the transcript's error entry tells it:
    /// a throttle record with the refused attempt's reservation before input. Estimates of
    /// the window at that moment are left out (only the `StopFailure` hook, at the moment,
    /// makes them).
    fn throttled(&self, attempt: &SentRequest, origin: &Origin) -> Record {
        let mut record = self.unanswered(attempt, origin);
        let session = record.session.clone();
        record.kind = Kind::Throttle;
        record.id = match &record.agent {
            Some(agent) => format!("{session}/{agent}:429:{}", attempt.id),
            None => format!("{session}:429:{}", attempt.id),
        };
        record.reserved = quota::reservation(
            &Usage::default(),
            record.max_tokens.unwrap_or(0),
            record.burndown,
            &self.config.reservation,
        );
        record
    }

    fn unanswered(&self, sent: &SentRequest, origin: &Origin) -> Record {
        let model = sent.model.clone().unwrap_or_else(|| "unknown".to_string());
        let name = quota::normalize(&model, &self.config.profiles);
        let burndown = quota::burndown_for(&name, &self.config.burndown);
        let (max_tokens, source) = self.max_tokens(Some(sent), &name);
        Record {
            v: SCHEMA_VERSION,
            kind: Kind::Request,
            id: sent.id.clone(),
            ts: sent.ts.as_deref().and_then(parse_ts).unwrap_or(self.now),
            end_ts: None,
            session: sent
                .session
                .clone()
                .or_else(|| origin.session.clone())
                .unwrap_or_default(),
            agent: sent.agent.clone().or_else(|| origin.agent.clone()),
            model,
            model_norm: name.canonical,
            burndown: burndown.rate,
            burndown_assumed: burndown.assumed,
            input: 0,
            cache_write: 0,
            cache_read: 0,
            output: 0,
            max_tokens: Some(max_tokens),
            max_tokens_source: source,
            // Rejected or failed: nothing stays charged, and nothing is known to be held.
            reserved: 0,
            settled: 0,
            outcome: Outcome::NoResponse,
            query_source: sent.query_source.clone(),
            project: origin.project.clone(),
            throttle: None,
        }
    }

    fn max_tokens(
        &self,
        sent: Option<&SentRequest>,
        name: &quota::ModelName,
    ) -> (u64, MaxTokensSource) {
        if let Some(n) = sent.and_then(|s| s.max_tokens) {
            return (n, MaxTokensSource::ApiRequest);
        }
        if let Some(n) = self.env_max_tokens {
            return (n, MaxTokensSource::Env);
        }
        (
            quota::default_max_tokens(name, &self.config.default_max_tokens),
            MaxTokensSource::ModelDefault,
        )
    }
}

fn subagent_files(main: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(transcript::subagents_dir(main)) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    files
}

pub fn parse_ts(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, Paths, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::at(&dir.path().join("data"));
        let main = dir.path().join("s.jsonl");
        std::fs::copy(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/samples/transcript-main.jsonl"
            ),
            &main,
        )
        .unwrap();
        (dir, paths, main)
    }

    const IMPORT: ReadOpts = ReadOpts {
        unanswered_before: Some(DateTime::<Utc>::MAX_UTC),
        drain: true,
        ..HOOK_READ
    };

    /// [`prepare`] as an import worker calls it.
    fn prepare_file(paths: &Paths, transcript: &Path, opts: ReadOpts) -> Prepared {
        let file = transcript::open_transcript(transcript).unwrap();
        let config = Config::default();
        let maker = RecordMaker::new(&config, crate::clock::now());
        let origin = Origin::default();
        prepare(
            paths,
            &maker,
            transcript,
            &origin,
            &file,
            opts,
            &mut Vec::new(),
        )
        .unwrap()
    }

    fn writer<'a>(paths: &'a Paths, config: &'a Config) -> Writer<'a> {
        Writer::begin(paths, config, crate::clock::now(), Duration::from_secs(5))
            .unwrap()
            .unwrap()
    }

    #[test]
    fn prepared_then_applied_equals_ingested() {
        let (_dir, paths, main) = setup();
        let config = Config::default();
        let prepared = prepare_file(&paths, &main, IMPORT);
        let mut w = writer(&paths, &config);
        let done = w
            .apply(&main, &Origin::default(), IMPORT, prepared)
            .unwrap();
        w.finish().unwrap();
        // Four requests, and the subagent's usage as a side record (no subagent here).
        assert_eq!((done.records, done.appended), (5, 5));
        let mut w = writer(&paths, &config);
        let again = w.ingest(&main, &Origin::default(), IMPORT).unwrap();
        assert_eq!((again.records, again.bytes), (0, 0));
    }

    #[test]
    fn stale_preparation_is_read_again_and_counted_once() {
        let (_dir, paths, main) = setup();
        let config = Config::default();
        // Prepared without the lock, then a hook reads the transcript first.
        let prepared = prepare_file(&paths, &main, IMPORT);
        let mut hook = writer(&paths, &config);
        let by_hook = hook.ingest(&main, &Origin::default(), IMPORT).unwrap();
        hook.finish().unwrap();
        assert_eq!(by_hook.appended, 5);
        let mut w = writer(&paths, &config);
        let late = w
            .apply(&main, &Origin::default(), IMPORT, prepared)
            .unwrap();
        assert_eq!((late.records, late.appended), (0, 0));
        let ledger = Ledger::new(&paths);
        let day = "2026-11-22".parse().unwrap();
        assert_eq!(ledger.read_day(day).unwrap().0.len(), 5);
    }

    #[test]
    fn huge_transcripts_are_prepared_in_bounded_pieces() {
        let (_dir, paths, main) = setup();
        let config = Config::default();
        // Many small requests: more than one preparation's worth.
        let mut text = String::new();
        for i in 0..(2 * PREPARE_MAX_ITEMS) {
            text.push_str(&format!(
                "{{\"type\":\"assistant\",\"requestId\":\"r{i}\",\"timestamp\":\"2026-11-22T01:00:00Z\",\"message\":{{\"id\":\"m{i}\",\"model\":\"claude-sonnet-4-5\",\"usage\":{{\"input_tokens\":1,\"output_tokens\":1}}}}}}\n"
            ));
        }
        std::fs::write(&main, text).unwrap();
        let small = ReadOpts {
            limits: Limits {
                budget: 64 << 10,
                max_line: 1 << 20,
            },
            ..IMPORT
        };
        let prepared = prepare_file(&paths, &main, small);
        assert!(!prepared.complete, "{} items", prepared.items.len());
        // Stopped after the block that reached the bound.
        assert!(prepared.items.len() < 2 * PREPARE_MAX_ITEMS);
        let mut w = writer(&paths, &config);
        let done = w.apply(&main, &Origin::default(), small, prepared).unwrap();
        assert_eq!(done.appended, 2 * PREPARE_MAX_ITEMS);
    }
}
