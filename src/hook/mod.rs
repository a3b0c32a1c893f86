//! `bedrock-hook hook`: Claude Code runs this on every hook event. It records what the
//! transcripts gained since the last event, tracks which requests are in flight, and
//! exits 0 quickly. Whatever goes wrong on our side becomes one line on stderr, never a
//! failing hook: Claude Code must not notice us unless we have something to say.

pub mod catch_up;
pub mod wire;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};

use crate::budget;
use crate::config::Config;
use crate::ingest::{HOOK_READ, Origin, Writer};
use crate::ledger::live::InFlight;
use crate::paths::Paths;
use crate::quota::inflight::{Transition, stream_key, transition_for};
use crate::transcript::subagent_transcript;
pub use wire::HookInput;

/// Hook input larger than this is not a hook event we can use (tool output is inside).
const MAX_INPUT: u64 = 256 << 20;
/// How long a hook waits for another writer before giving up (nothing is lost: the next
/// event reads the same bytes).
const LOCK_WAIT: Duration = Duration::from_secs(3);

/// Run the hook; always exits 0. Prints a JSON decision only when there is one.
pub fn run(stdin: &mut dyn Read) -> ExitCode {
    match handle(stdin) {
        Ok(Some(output)) => println!("{output}"),
        Ok(None) => {}
        Err(e) => eprintln!("bedrock-hook: {}", one_line(&format!("{e:#}"))),
    }
    ExitCode::SUCCESS
}

fn handle(stdin: &mut dyn Read) -> Result<Option<String>> {
    let mut bytes = Vec::new();
    stdin
        .take(MAX_INPUT)
        .read_to_end(&mut bytes)
        .context("reading hook input")?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        bail!("empty hook input, nothing recorded");
    }
    let input = HookInput::parse(&bytes).context("hook input is not the JSON Claude Code sends")?;
    drop(bytes);
    let paths = Paths::from_env()?;
    let config = Config::load(paths.config_file.as_deref());
    let now = Utc::now();
    let Some(mut writer) = Writer::begin(&paths, &config, now, LOCK_WAIT)
        .with_context(|| format!("cannot open the ledger in {}", paths.data_dir.display()))?
    else {
        bail!(
            "ledger busy for {}s; the next event will catch up",
            LOCK_WAIT.as_secs()
        );
    };
    let mut problems: Vec<String> = config
        .problems
        .iter()
        .map(|p| format!("config: {p}"))
        .collect();
    if let Err(e) = record_transcripts(&mut writer, &input) {
        problems.push(format!("{e:#}"));
    }
    track_inflight(&mut writer, &input, now);
    let decision = None;
    writer.finish().context("saving the live state")?;
    if catch_up::needed_after(input.event()) {
        catch_up::spawn(&input, now)?;
    }
    if let Some(first) = problems.first() {
        bail!("{first}");
    }
    Ok(decision)
}

/// Ingest the subagent's transcript (if the event comes from one) and the session's.
fn record_transcripts(writer: &mut Writer<'_>, input: &HookInput) -> Result<()> {
    let Some(main) = input.transcript_path.as_deref().filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let main = PathBuf::from(main);
    let agent = input.agent_id.as_deref().filter(|a| !a.is_empty());
    if let Some(agent) = agent {
        let path = input
            .agent_transcript_path
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| subagent_transcript(&main, agent));
        let origin = Origin {
            session: input.session_id.clone(),
            agent: Some(agent.to_string()),
            project: input.cwd.clone(),
        };
        writer
            .ingest(&path, &origin, HOOK_READ)
            .with_context(|| format!("reading {}", path.display()))?;
    }
    let origin = Origin {
        session: input.session_id.clone(),
        agent: None,
        project: input.cwd.clone(),
    };
    writer
        .ingest(&main, &origin, HOOK_READ)
        .with_context(|| format!("reading {}", main.display()))?;
    Ok(())
}

/// Open or close the in-flight entry of the stream this event belongs to.
fn track_inflight(writer: &mut Writer<'_>, input: &HookInput, now: DateTime<Utc>) {
    let Some(transition) = transition_for(input.event()) else {
        return;
    };
    let Some(session) = input.session_id.as_deref() else {
        return;
    };
    let agent = input.agent_id.as_deref().filter(|a| !a.is_empty());
    let key = stream_key(session, agent);
    match transition {
        Transition::Started => {
            let hint = agent
                .and_then(|_| std::env::var("CLAUDE_CODE_SUBAGENT_MODEL").ok())
                .or_else(|| input.model_id());
            let next = budget::next_request(
                &writer.state,
                writer.config,
                Some(session),
                agent,
                hint.as_deref(),
            );
            writer.state.inflight.insert(
                key,
                InFlight {
                    since_ms: now.timestamp_millis(),
                    model: next.model_norm,
                    reservation: next.reservation,
                },
            );
        }
        Transition::Finished => {
            writer.state.inflight.remove(&key);
            if input.event() == "SessionEnd" {
                let prefix = format!("{session}/");
                writer.state.inflight.retain(|k, _| !k.starts_with(&prefix));
            }
        }
    }
    writer.touch();
}

/// Claude Code shows hook stderr as one line: keep ours to one.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Load config the way every hot path does (exposed for the guards and tests).
pub fn load_config(paths: &Paths) -> Config {
    Config::load(paths.config_file.as_deref())
}
