//! `bedrock-hook hook`: Claude Code runs this on every hook event. It records what the
//! transcripts gained since the last event, tracks which requests are in flight, asks the
//! guards whether what is about to start fits the quotas (printing their JSON decision),
//! and exits 0 quickly. Whatever goes wrong on our side becomes one line on stderr, never a
//! failing hook: Claude Code must not notice us unless we have something to say.

pub mod catch_up;
pub mod client;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, Utc};

use crate::budget;
use crate::claude::{ClientEnv, settings};
use crate::context::Context;
use crate::event::EventKind;
pub use crate::event::HookInput;
use crate::guard::{self, subagent};
use crate::ingest::{HOOK_READ, Origin, Writer};
use crate::ledger::live::InFlight;
use crate::quota::inflight::{self, Opening};
use crate::transcript::subagent_transcript;

/// The events bedrock-hook acts on: in-flight tracking (every transition), the guards'
/// decision points, throttles. An install registers the hook for all of them.
pub const EVENTS: &[&str] = &crate::event::REGISTERED_NAMES;

/// Hook input larger than this is not a hook event we can use (tool output is inside).
const MAX_INPUT: u64 = 256 << 20;
/// How long a hook waits for another writer before giving up (nothing is lost: the next
/// event reads the same bytes).
const LOCK_WAIT: Duration = Duration::from_secs(3);

/// Run the hook; always exits 0. Prints a JSON decision only when there is one. The
/// context (paths, config, now) is read only for an event that is one to record.
pub fn run(stdin: &mut dyn Read) -> ExitCode {
    match handle(stdin) {
        Ok(handled) => {
            if let Some(output) = handled.output {
                println!("{output}");
            }
            if let Some(problem) = handled.problem {
                eprintln!("bedrock-hook: {}", one_line(&problem));
            }
        }
        Err(e) => eprintln!("bedrock-hook: {}", one_line(&format!("{e:#}"))),
    }
    ExitCode::SUCCESS
}

/// What one event produced: the guard's JSON, and the first trouble of our own (shown
/// as one stderr line; it also keeps the guards from blocking).
struct Handled {
    output: Option<String>,
    problem: Option<String>,
}

fn handle(stdin: &mut dyn Read) -> Result<Handled> {
    let mut bytes = Vec::new();
    stdin
        .take(MAX_INPUT)
        .read_to_end(&mut bytes)
        .context("reading hook input")?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        bail!("empty hook input, nothing recorded");
    }
    let mut input =
        HookInput::parse(&bytes).context("hook input is not the JSON Claude Code sends")?;
    drop(bytes);
    if input.is_compaction_stop() {
        // One compaction request came back: PostCompact closes the compaction, and the
        // transcript it names does not exist. Nothing to read, nothing to record.
        return Ok(Handled {
            output: None,
            problem: None,
        });
    }
    let Context { paths, config, now } = Context::from_env()?;
    let env = client_env(&input);
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
    // Before the guard looks: the request this event's stream had in flight has come back.
    close_stream(&mut writer, &input);
    // A failed turn is guarded before the transcript is read: its throttle record goes in
    // first, with what was estimated at this moment. The transcript's own record of the same
    // throttle (the client's error message) is named alike and then counts once; and were
    // this hook killed once it has read the transcript, the next reader still records the
    // throttle from there. A StopFailure never blocks, so our own trouble cannot matter.
    let failed_turn = (input.kind() == EventKind::StopFailure)
        .then(|| guard_event(&mut writer, &input, now, &env, &mut problems));
    match record_transcripts(&mut writer, &input) {
        // Within a turn the request just sent names the model in use; at a prompt the
        // status line knows better (the user may have switched since the last turn).
        Ok(Some(stream)) if input.kind() != EventKind::UserPromptSubmit => {
            input.sent_model = writer.last_sent_model(&stream);
        }
        Ok(_) => {}
        Err(e) => problems.push(format!("{e:#}")),
    }
    if input.kind() == EventKind::SessionStart {
        remember_start_model(&mut writer, &mut input, &env, now);
    }
    let guarded = match failed_turn {
        Some(guarded) => guarded,
        None => guard_event(&mut writer, &input, now, &env, &mut problems),
    };
    if !guarded.stops_request {
        open_stream(&mut writer, &input, now, &env);
    }
    writer.finish().context("saving the live state")?;
    problems.extend(crate::account::spawn::if_due(&paths, &config, now));
    if catch_up::needed_after(input.kind())
        && let Err(e) = catch_up::spawn(&input, now)
    {
        problems.push(format!("{e:#}"));
    }
    Ok(Handled {
        output: guarded.output.map(|o| o.to_json()),
        problem: problems.into_iter().next(),
    })
}

/// The client's environment as the hook inherited it. At SessionStart (rare) the
/// settings files are read too, for the `model` key hooks do not inherit.
fn client_env(input: &HookInput) -> ClientEnv {
    let mut env = ClientEnv::from_process();
    if input.kind() == EventKind::SessionStart {
        let lookup = |key: &str| std::env::var(key).ok();
        let project = input
            .cwd
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(Path::new);
        env.model_setting = settings::model_setting(&settings::files_for(&lookup, project));
    }
    env
}

/// At SessionStart, the model the session starts with, as the client chose it: the
/// event's own, else `--model` from the client's command line, else `ANTHROPIC_MODEL` or
/// the settings' `model`, else the client's default (only when the command line was read
/// and names none). Remembered for the session like the status line's model (which later
/// replaces it), so that the guards know it before any request is in the transcript. A
/// cleared or compacted session keeps what the status line said since.
fn remember_start_model(
    writer: &mut Writer<'_>,
    input: &mut HookInput,
    env: &ClientEnv,
    now: DateTime<Utc>,
) {
    let Some(session) = input.session_id.clone() else {
        return;
    };
    let fresh = matches!(input.source.as_deref(), Some("startup" | "resume") | None);
    if !fresh && writer.state.session_model(&session).is_some() {
        return;
    }
    let model = input.model_id().or_else(|| match client::model_arg()? {
        client::ModelArg::Named(model) => subagent::resolve_alias(&model, env),
        client::ModelArg::NotGiven => env
            .main_model()
            .or_else(|| Some(budget::CLIENT_DEFAULT_MODEL.to_string())),
    });
    let Some(model) = model else {
        return;
    };
    if input.model.is_none() {
        input.model = Some(serde_json::Value::String(model.clone()));
    }
    if writer
        .state
        .remember_model(&session, &model, now.timestamp_millis())
    {
        writer.touch();
    }
}

/// Ingest the subagent's transcript (if the event comes from one) and the session's;
/// returns the transcript of the event's own stream.
fn record_transcripts(writer: &mut Writer<'_>, input: &HookInput) -> Result<Option<PathBuf>> {
    let Some(main) = input.transcript_path.as_deref().filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let main = PathBuf::from(main);
    let agent = input.agent_id.as_deref().filter(|a| !a.is_empty());
    let mut stream = main.clone();
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
            .map_err(|e| blame(e, &path))?;
        stream = path;
    }
    let origin = Origin {
        session: input.session_id.clone(),
        agent: None,
        project: input.cwd.clone(),
    };
    writer
        .ingest(&main, &origin, HOOK_READ)
        .map_err(|e| blame(e, &main))?;
    Ok(Some(stream))
}

/// An ingest error, named after what failed: the ledger's own writes say so themselves,
/// anything else is the transcript's.
fn blame(e: std::io::Error, transcript: &Path) -> anyhow::Error {
    if crate::ingest::is_ledger_write(&e) {
        anyhow::Error::new(e)
    } else {
        anyhow::Error::new(e).context(format!("reading {}", transcript.display()))
    }
}

/// Ask the guards about this event and keep what they decided: the throttle record, the
/// explanation for the session's next prompt, the warning given. They see the windows without
/// the request this event announces; trouble of our own so far means they may warn but never
/// block.
fn guard_event(
    writer: &mut Writer<'_>,
    input: &HookInput,
    now: DateTime<Utc>,
    env: &ClientEnv,
    problems: &mut Vec<String>,
) -> guard::Guarded {
    let guarded = guard::decide(
        input,
        &writer.state,
        writer.config,
        now,
        env,
        problems.is_empty(),
    );
    if let Some(record) = &guarded.throttle
        && let Err(e) = writer.append(std::slice::from_ref(record))
    {
        problems.push(format!("recording the throttle: {e}"));
    }
    if guarded.apply_note(&mut writer.state) {
        writer.touch();
    }
    if let Some(key) = &guarded.remember {
        writer
            .state
            .warned
            .insert(key.clone(), now.timestamp_millis());
        writer.touch();
    }
    guarded
}

/// Before the guard looks: the request this event's stream had in flight has come back
/// (or is being replaced by the one the event announces), so it no longer counts.
fn close_stream(writer: &mut Writer<'_>, input: &HookInput) {
    if inflight::close(&mut writer.state.inflight, &input.to_event(), |f| {
        f.since_ms
    }) {
        writer.touch();
    }
}

/// After the guard let it through: the request the event announces is on its way (a
/// compaction holds the session's next request's reservation, and a subagent about to be
/// spawned its first request's).
fn open_stream(writer: &mut Writer<'_>, input: &HookInput, now: DateTime<Utc>, env: &ClientEnv) {
    let Some(session) = input.session_id.as_deref() else {
        return;
    };
    let agent = input.agent_id.as_deref().filter(|a| !a.is_empty());
    let since_ms = now.timestamp_millis();
    for opening in inflight::opens(&input.to_event()) {
        let (key, next) = match opening {
            // The compaction sends the session's context at its model and max_tokens.
            Opening::Compaction(key) => (
                key,
                budget::next_request_with(
                    &writer.state,
                    writer.config,
                    Some(session),
                    None,
                    guard::model_hint(input, env).as_deref(),
                    env,
                ),
            ),
            Opening::Next(key) => (
                key,
                budget::next_request_with(
                    &writer.state,
                    writer.config,
                    Some(session),
                    agent,
                    guard::model_hint(input, env).as_deref(),
                    env,
                ),
            ),
            Opening::Spawn(key) => (
                key,
                subagent::first_request(input, &writer.state, writer.config, env),
            ),
        };
        writer.state.inflight.insert(
            key,
            InFlight {
                since_ms,
                model: next.model_norm,
                reservation: next.reservation,
            },
        );
        writer.touch();
    }
}

/// Claude Code shows hook stderr as one line: keep ours to one.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
