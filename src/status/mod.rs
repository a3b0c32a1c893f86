//! `bedrock-hook statusline`: Claude Code runs this every few hundred milliseconds. It
//! reads the live state (a small file, never the ledger), optionally picks up what the
//! transcript gained since the last hook, and prints exactly one line. It always prints a
//! line and exits 0.

pub mod chain;
pub mod render;
pub mod wire;

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;

use crate::budget;
use crate::config::Config;
use crate::context::Context;
use crate::ingest::{Origin, STATUSLINE_READ, Writer};
use crate::ledger::{Ledger, LiveState};
use crate::paths::Paths;
use crate::terminal::{Style, outln};
use wire::StatusInput;

/// `bedrock-hook statusline`'s arguments, for `--help`: the hot path reads `--chain` by
/// hand (`lib.rs`), before any parser is built.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also run this status line command with the same input and show its line first.
    #[arg(long, value_name = "COMMAND")]
    pub chain: Option<String>,
}

/// Status line input is a few KiB; anything past this is not ours to read.
const MAX_INPUT: u64 = 4 << 20;

/// Print the status line; always exits 0. The context (paths, config, now) is read once
/// the input parses, after the chained status line has started.
pub fn run(stdin: &mut dyn Read, chain: Option<&str>) -> ExitCode {
    let mut bytes = Vec::new();
    let _ = stdin.take(MAX_INPUT).read_to_end(&mut bytes);
    let chained = chain.and_then(|command| chain::start(command, &bytes));
    let (ours, config) = line(&bytes);
    let theirs = chained.and_then(|c| {
        let timeout = config.as_ref().map_or(250, |c| c.chain_timeout_ms);
        c.finish(Duration::from_millis(timeout))
    });
    match theirs {
        Some(theirs) => outln!("{theirs} │ {ours}"),
        None => outln!("{ours}"),
    }
    // Claude Code closing the pipe is not trouble; any other write error is one line.
    if let Err(e) = crate::terminal::finish() {
        eprintln!("bedrock-hook: writing the status line: {e}");
    }
    ExitCode::SUCCESS
}

fn line(bytes: &[u8]) -> (String, Option<Config>) {
    let input: StatusInput = match serde_json::from_slice(bytes) {
        Ok(input) => input,
        Err(_) if bytes.iter().all(u8::is_ascii_whitespace) => StatusInput::default(),
        Err(_) => return (render::fallback("bad input"), None),
    };
    let Ok(Context { paths, config, now }) = Context::from_env() else {
        return (render::fallback("no data dir"), None);
    };
    if crate::files::unsafe_dir(&paths.data_dir).is_some() {
        // What others could have planted there is not shown either; `doctor` says why.
        return (
            render::fallback("unsafe data dir, see doctor"),
            Some(config),
        );
    }
    let state = fresh_state(&paths, &config, &input, now).unwrap_or_default();
    remember_model(&paths, &config, &input, &state, now);
    let mut budget = budget::compute_with(
        &state,
        &config,
        now,
        input.session_id.as_deref(),
        None,
        input.model_id(),
        &crate::claude::ClientEnv::from_process(),
    );
    let account = crate::account::share::for_budget(&paths.data_dir, &config, &mut budget, now);
    let mut line = render::render_with_account(
        &budget,
        &config,
        &Style::for_status_line(),
        account.as_ref(),
    );
    if let Some(throttle) = crate::guard::notice::status_segment(&state, now) {
        line.push_str(" · ");
        line.push_str(&throttle);
    }
    (line, Some(config))
}

/// Pick up new transcript bytes if nobody else is writing, then return the live state.
fn fresh_state(
    paths: &Paths,
    config: &Config,
    input: &StatusInput,
    now: chrono::DateTime<Utc>,
) -> Option<LiveState> {
    let transcript = input.transcript_path.as_deref().filter(|p| !p.is_empty());
    if config.statusline_ingest
        && let Some(transcript) = transcript
        && transcript_grew(paths, Path::new(transcript))
        && let Ok(Some(mut writer)) = Writer::begin(paths, config, now, Duration::ZERO)
    {
        let origin = Origin {
            session: input.session_id.clone(),
            agent: None,
            project: input.cwd.clone(),
        };
        let _ = writer.ingest(&PathBuf::from(transcript), &origin, STATUSLINE_READ);
        let state = writer.state.clone();
        let _ = writer.finish();
        return Some(state);
    }
    let mut state = LiveState::read(&paths.state_file())?;
    // What a killed writer appended but did not count: a few stats, a small read at most.
    state.catch_up_view(&Ledger::new(paths), config.day_boundary, now);
    Some(state)
}

/// Remember the session's model for the guards (hook inputs carry none). Only when it is
/// new or changed, and only if the lock is free right now: a later render tries again.
fn remember_model(
    paths: &Paths,
    config: &Config,
    input: &StatusInput,
    state: &LiveState,
    now: chrono::DateTime<Utc>,
) {
    let (Some(session), Some(model)) = (
        input.session_id.as_deref().filter(|s| !s.is_empty()),
        input.model_id().filter(|m| !m.is_empty()),
    ) else {
        return;
    };
    if state.session_model(session) == Some(model) {
        return;
    }
    if let Ok(Some(mut writer)) = Writer::begin(paths, config, now, Duration::ZERO) {
        if writer
            .state
            .remember_model(session, model, now.timestamp_millis())
        {
            writer.touch();
        }
        let _ = writer.finish();
    }
}

/// Whether the transcript has bytes its cursor has not consumed (or is another file now).
/// Checked without the lock: most renders find nothing new and should not contend with
/// the hooks for it.
fn transcript_grew(paths: &Paths, transcript: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(transcript) else {
        return false;
    };
    if !meta.is_file() {
        return false;
    }
    let cursor = crate::transcript::Cursor::load(paths, transcript);
    (meta.dev(), meta.ino()) != (cursor.dev, cursor.ino) || meta.len() != cursor.offset
}
