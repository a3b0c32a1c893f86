//! Generates the data the benchmarks run on, deterministically from a seed:
//!
//! - `transcripts`: a Claude config dir (`projects/<project>/<session>.jsonl` and subagent
//!   transcripts) of a target total size, sessions spread over days;
//! - `ledger`: a bedrock-hook data dir holding `days` days of ledger and the live state;
//! - `append`: one or more new requests appended to an existing transcript, now (once,
//!   or every N ms while a benchmark runs);
//! - `input`: the status line or hook JSON Claude Code would send for a transcript.
//!
//! `cargo run --release --example gen_corpus -- transcripts --out DIR --size 1G`

mod ledger;
mod rng;
mod text;
mod transcript;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Duration, Utc};
use clap::{Parser, Subcommand};

use rng::Rng;
use text::TextPool;
use transcript::{MODELS, SessionPlan, Stream};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a corpus of session transcripts under DIR/projects.
    Transcripts {
        /// Claude config dir to create (its `projects/` must not exist yet).
        #[arg(long)]
        out: PathBuf,
        /// Total size, e.g. `1G`, `200M`.
        #[arg(long, value_parser = parse_size)]
        size: u64,
        /// Number of sessions (default: one per 3 MiB).
        #[arg(long)]
        sessions: Option<u64>,
        /// Days the sessions are spread over, ending at `--end`.
        #[arg(long, default_value_t = 30)]
        days: u64,
        /// End of the period (RFC 3339; default: now). Part of what the output depends on.
        #[arg(long)]
        end: Option<DateTime<Utc>>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Write a ledger of `days` days ending today into a bedrock-hook data dir.
    Ledger {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        days: u64,
        /// Requests on an average weekday.
        #[arg(long, default_value_t = 800)]
        per_day: u64,
        /// "Now" (RFC 3339; default: now). Today's records all lie before it.
        #[arg(long)]
        now: Option<DateTime<Utc>>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Append new requests (api-request, assistant entries, tool result) to a transcript.
    Append {
        #[arg(long)]
        transcript: PathBuf,
        /// Requests per burst.
        #[arg(long, default_value_t = 1)]
        requests: u64,
        /// Repeat a burst every N ms (0: once).
        #[arg(long, default_value_t = 0)]
        every_ms: u64,
        /// Stop repeating after this many seconds.
        #[arg(long, default_value_t = 600)]
        for_secs: u64,
        /// Largest tool result, e.g. `64K` (default: the corpus distribution, up to 2.5 MB).
        #[arg(long, value_parser = parse_size)]
        max_result: Option<u64>,
        /// Every tool result exactly this size instead of drawn from the distribution.
        #[arg(long, value_parser = parse_size)]
        result_bytes: Option<u64>,
        /// Seed (default: from the clock, so every call writes new request ids).
        #[arg(long)]
        seed: Option<u64>,
        /// Spread each burst over at most the last N seconds (default: up to 20 s a
        /// request), e.g. to keep a busy day's requests all after midnight.
        #[arg(long)]
        within_secs: Option<u64>,
    },
    /// Print the JSON Claude Code sends a status line (`statusline`) or a hook (an event
    /// name such as `PostToolUse`) for a session transcript.
    Input {
        kind: String,
        #[arg(long)]
        transcript: PathBuf,
        #[arg(long, default_value = "/home/dev/proj")]
        cwd: String,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Transcripts {
            out,
            size,
            sessions,
            days,
            end,
            seed,
        } => transcripts(
            &out,
            size,
            sessions,
            days,
            end.unwrap_or_else(Utc::now),
            seed,
        ),
        Command::Ledger {
            data_dir,
            days,
            per_day,
            now,
            seed,
        } => {
            let began = Instant::now();
            let now = now.unwrap_or_else(Utc::now);
            let written = ledger::write_ledger(&data_dir, days, per_day, now, &mut Rng::new(seed))?;
            eprintln!(
                "ledger: {} records over {} days, {} bytes, in {:.1}s",
                written.records,
                written.days,
                written.bytes,
                began.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Append {
            transcript,
            requests,
            every_ms,
            for_secs,
            max_result,
            result_bytes,
            seed,
            within_secs,
        } => {
            let sizes = match result_bytes {
                Some(n) => ResultSizes::Exactly(n as usize),
                None => ResultSizes::UpTo(max_result.unwrap_or(4 << 20) as usize),
            };
            let burst = Burst {
                requests,
                within_secs,
            };
            append(&transcript, burst, every_ms, for_secs, sizes, seed)
        }
        Command::Input {
            kind,
            transcript,
            cwd,
        } => {
            println!("{}", input(&kind, &transcript, &cwd)?);
            Ok(())
        }
    }
}

fn transcripts(
    out: &Path,
    size: u64,
    sessions: Option<u64>,
    days: u64,
    end: DateTime<Utc>,
    seed: u64,
) -> Result<()> {
    let began = Instant::now();
    if out.join("projects").exists() {
        bail!("{} already exists", out.join("projects").display());
    }
    let mut rng = Rng::new(seed);
    let pool = TextPool::new(&mut rng, 8 << 20);
    let count = sessions.unwrap_or((size / (3 << 20)).max(1)).max(1);
    // Session sizes: a few long ones, many short ones.
    let weights: Vec<f64> = (0..count)
        .map(|_| rng.log_uniform(100, 5_000) as f64)
        .collect();
    let total: f64 = weights.iter().sum();
    let projects: Vec<String> = (0..count.clamp(1, 24))
        .map(|n| format!("/home/dev/project-{n}"))
        .collect();
    let mut plans: Vec<SessionPlan> = weights
        .iter()
        .map(|w| {
            let target_bytes = ((size as f64) * w / total) as u64;
            // About 50 KB and a minute per request: start early enough to end before `end`.
            let minutes = (target_bytes / 50_000 + 10) as i64;
            let latest = end - Duration::minutes(minutes * 2);
            let earliest = (end - Duration::days(days as i64)).min(latest);
            let span = (latest - earliest).num_seconds().max(1) as u64;
            SessionPlan {
                id: rng.uuid(),
                cwd: rng.pick(&projects).clone(),
                start: earliest + Duration::seconds(rng.range(0, span) as i64),
                target_bytes,
                model: *rng.pick(MODELS),
            }
        })
        .collect();
    plans.sort_by_key(|p| p.start);
    // The latest session ends near `end`: the one a status line benchmark looks at.
    let mut written = transcript::Written::default();
    let mut planned = 0u64;
    for plan in &mut plans {
        // Carry each session's overshoot into the next one, so the total lands on `size`.
        planned += plan.target_bytes;
        plan.target_bytes = planned.saturating_sub(written.bytes).max(1);
        let mut session_rng = rng.fork();
        let w = transcript::write_session(out, plan, &pool, &mut session_rng)?;
        written.requests += w.requests;
        written.subagents += w.subagents;
        written.bytes += w.bytes;
    }
    let last = plans.last().expect("at least one session");
    eprintln!(
        "transcripts: {} sessions, {} subagents, {} requests, {} bytes, in {:.1}s",
        plans.len(),
        written.subagents,
        written.requests,
        written.bytes,
        began.elapsed().as_secs_f64()
    );
    println!(
        "{}",
        transcript::session_path(out, &last.cwd, &last.id).display()
    );
    Ok(())
}

/// How big the tool results of appended requests are.
#[derive(Clone, Copy)]
enum ResultSizes {
    Exactly(usize),
    /// Drawn from the corpus distribution, capped.
    UpTo(usize),
}

/// How many requests one append writes, and over how long before now.
struct Burst {
    requests: u64,
    within_secs: Option<u64>,
}

fn append(
    path: &Path,
    burst: Burst,
    every_ms: u64,
    for_secs: u64,
    sizes: ResultSizes,
    seed: Option<u64>,
) -> Result<()> {
    let seed = seed.unwrap_or_else(|| {
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default() as u64;
        nanos ^ (u64::from(std::process::id()) << 32)
    });
    let mut rng = Rng::new(seed);
    let pool = TextPool::new(&mut rng, 1 << 20);
    let session = path
        .file_stem()
        .and_then(|s| s.to_str())
        .context("transcript file name")?
        .to_string();
    let cap = match sizes {
        ResultSizes::Exactly(n) | ResultSizes::UpTo(n) => n,
    };
    let Burst {
        requests,
        within_secs,
    } = burst;
    // Each request advances the clock up to 20 s; slower within a shorter span.
    let natural_secs = 20 * requests + 1;
    let span_secs = within_secs.map_or(natural_secs, |w| w.clamp(1, natural_secs));
    let pace = span_secs as f64 / natural_secs as f64;
    let began = Instant::now();
    loop {
        let mut stream = Stream::open(
            path,
            &session,
            None,
            "/home/dev/proj",
            // Keep them in the past.
            Utc::now() - Duration::seconds(span_secs as i64),
            MODELS[0],
            &pool,
            &mut rng,
        )?;
        stream.result_cap = cap;
        stream.pace = pace;
        for _ in 0..requests {
            let len = match sizes {
                ResultSizes::Exactly(n) => n,
                ResultSizes::UpTo(cap) => transcript::tool_result_len(&mut rng, cap),
            };
            stream.request(&mut rng, Some("Bash"), Some(len))?;
        }
        stream.flush()?;
        if every_ms == 0 || began.elapsed().as_secs() >= for_secs {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(every_ms));
    }
}

fn input(kind: &str, transcript: &Path, cwd: &str) -> Result<String> {
    let session = transcript
        .file_stem()
        .and_then(|s| s.to_str())
        .context("transcript file name")?;
    let path = transcript.display().to_string();
    let value = if kind == "statusline" {
        serde_json::json!({
            "session_id": session, "transcript_path": path, "cwd": cwd,
            "model": {"id": MODELS[0].0, "display_name": "Opus 5.5"},
            "workspace": {"current_dir": cwd, "project_dir": cwd, "added_dirs": []},
            "version": transcript::VERSION, "output_style": {"name": "default"},
            "cost": {"total_cost_usd": 1.25, "total_duration_ms": 600_000,
                     "total_api_duration_ms": 120_000, "total_lines_added": 10,
                     "total_lines_removed": 2},
            "context_window": {"total_input_tokens": 13893, "total_output_tokens": 5,
                               "context_window_size": 1_000_000, "used_percentage": 1,
                               "remaining_percentage": 99},
            "exceeds_200k_tokens": false, "thinking": {"enabled": true}
        })
    } else {
        serde_json::json!({
            "session_id": session, "transcript_path": path, "cwd": cwd,
            "permission_mode": "default", "hook_event_name": kind,
            "tool_name": "Bash",
            "tool_input": {"command": "cargo test", "description": "run the tests"},
            "tool_response": {"stdout": "test result: ok", "stderr": "", "interrupted": false},
            "tool_use_id": "toolu_bdrk_0", "duration_ms": 1200
        })
    };
    Ok(value.to_string())
}

/// `1G`, `200M`, `64K` or a byte count.
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((at, _)) => (&t[..at], t[at..].to_ascii_uppercase()),
        None => (t, String::new()),
    };
    let number: f64 = digits.parse().map_err(|_| format!("not a size: {text}"))?;
    let scale = match unit.trim_end_matches(['B', 'I']) {
        "" => 1u64,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        _ => return Err(format!("unknown unit in {text}")),
    };
    Ok((number * scale as f64) as u64)
}
