//! The client writes a turn's last request and response to the transcript about 100 ms
//! after it fires Stop (and `cost-state` only as it exits), so a hook at the end of a turn
//! cannot see them yet. At those events the hook starts one detached `catch-up` process
//! that reads the transcripts again a moment later, once the writes have landed, and
//! reports requests of the ended turn that never got a response. The hook itself does not
//! wait for it.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::context::Context;
use crate::event::EventKind;
use crate::event::HookInput;
use crate::ingest::{HOOK_READ, Origin, ReadOpts, Writer};
use crate::paths::Paths;
use crate::transcript::subagent_transcript;

/// First look, after the client's write buffer has been flushed.
const FIRST_PASS: Duration = Duration::from_millis(1_000);
/// Last look, after which requests of the ended turn with no response are final.
const FINAL_PASS: Duration = Duration::from_millis(2_000);

/// Events after which the transcript still lacks the turn's last entries.
pub fn needed_after(event: EventKind) -> bool {
    matches!(
        event,
        EventKind::Stop | EventKind::StopFailure | EventKind::SubagentStop | EventKind::SessionEnd
    )
}

/// What a catch-up run reads.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[arg(long)]
    pub transcript: Option<PathBuf>,
    #[arg(long)]
    pub agent_transcript: Option<PathBuf>,
    #[arg(long)]
    pub session: Option<String>,
    #[arg(long)]
    pub agent: Option<String>,
    #[arg(long)]
    pub cwd: Option<String>,
    /// When the turn ended (RFC 3339).
    #[arg(long)]
    pub turn_end: String,
}

/// Start the detached catch-up for this event (see `detach`).
pub fn spawn(input: &HookInput, turn_end: DateTime<Utc>) -> Result<()> {
    crate::detach::start_own(arguments(input, turn_end)).context("starting the catch-up reader")
}

/// The catch-up's command line. Every value goes as `--flag=value`: a session id, an
/// agent id or a path may start with `-`, which would read as a flag of its own.
fn arguments(input: &HookInput, turn_end: DateTime<Utc>) -> Vec<OsString> {
    let flag = |name: &str, value: &OsStr| {
        let mut arg = OsString::from(format!("--{name}="));
        arg.push(value);
        arg
    };
    let mut args = vec![
        OsString::from("catch-up"),
        flag("turn-end", turn_end.to_rfc3339().as_ref()),
    ];
    let agent = input.agent_id.as_deref().filter(|a| !a.is_empty());
    if let Some(main) = input.transcript_path.as_deref().filter(|p| !p.is_empty()) {
        args.push(flag("transcript", main.as_ref()));
        if let Some(agent) = agent {
            let path = input
                .agent_transcript_path
                .clone()
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| subagent_transcript(&PathBuf::from(main), agent));
            args.push(flag("agent-transcript", path.as_os_str()));
            args.push(flag("agent", agent.as_ref()));
        }
    }
    if let Some(session) = &input.session_id {
        args.push(flag("session", session.as_ref()));
    }
    if let Some(cwd) = &input.cwd {
        args.push(flag("cwd", cwd.as_ref()));
    }
    args
}

/// The catch-up process itself.
pub fn run(args: &Args, context: &Context) -> Result<()> {
    let Ok(turn_end) = DateTime::parse_from_rfc3339(&args.turn_end) else {
        bail!("--turn-end is not an RFC 3339 time: {}", args.turn_end);
    };
    let turn_end = turn_end.with_timezone(&Utc);
    let Context { paths, config, .. } = context;
    std::thread::sleep(FIRST_PASS);
    read_all(paths, config, args, None)?;
    std::thread::sleep(FINAL_PASS);
    read_all(paths, config, args, Some(turn_end))
}

fn read_all(
    paths: &Paths,
    config: &Config,
    args: &Args,
    cutoff: Option<DateTime<Utc>>,
) -> Result<()> {
    let Some(mut writer) =
        Writer::begin(paths, config, crate::clock::now(), Duration::from_secs(10))?
    else {
        bail!("ledger busy");
    };
    let opts = ReadOpts {
        unanswered_before: cutoff,
        drain: true,
        ..HOOK_READ
    };
    if let Some(path) = &args.agent_transcript {
        let origin = Origin {
            session: args.session.clone(),
            agent: args.agent.clone(),
            project: args.cwd.clone(),
        };
        writer.ingest(path, &origin, opts)?;
    }
    if let Some(path) = &args.transcript {
        let origin = Origin {
            session: args.session.clone(),
            agent: None,
            project: args.cwd.clone(),
        };
        // A subagent's turn ending says nothing about the main loop's requests.
        let main_opts = if args.agent.is_some() {
            ReadOpts {
                unanswered_before: None,
                ..opts
            }
        } else {
            opts
        };
        writer.ingest(path, &origin, main_opts)?;
    }
    writer.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn ids_and_paths_starting_with_a_dash_reach_the_catch_up_as_values() {
        let input = HookInput::parse(
            br#"{"hook_event_name":"Stop","session_id":"-x1","transcript_path":"-t.jsonl",
                 "agent_id":"-a","cwd":"--help"}"#,
        )
        .unwrap();
        let turn_end: DateTime<Utc> = "2026-11-22T01:40:00Z".parse().unwrap();
        let mut argv = vec![OsString::from("bedrock-hook")];
        argv.extend(arguments(&input, turn_end));
        let cli = crate::cli::Cli::try_parse_from(argv).expect("the catch-up parses its args");
        let crate::cli::Command::CatchUp(args) = cli.command else {
            panic!("not a catch-up: {cli:?}");
        };
        assert_eq!(args.session.as_deref(), Some("-x1"));
        assert_eq!(args.agent.as_deref(), Some("-a"));
        assert_eq!(args.cwd.as_deref(), Some("--help"));
        assert_eq!(args.transcript, Some(PathBuf::from("-t.jsonl")));
        assert_eq!(args.turn_end, turn_end.to_rfc3339());
    }
}
