//! Guards: act before a request would blow the Bedrock budget, in plain words.
//!
//! Each decision point is a pure function from what it sees of the event ([`Seen`]: the hook
//! input, the live state, the config, the time and the client's environment) to an optional
//! [`Concern`]; [`decide`] turns a concern into what Claude Code receives according to the
//! mode (`off`: nothing, `warn`: a `systemMessage`, `block`: the event's own decision
//! output) and rate-limits warnings per session and reason. The hook applies the result
//! while it holds the ledger lock.
//!
//! Decision points: `session_start` (one request's reservation against the quotas),
//! `preflight` (UserPromptSubmit), `subagent` (PreToolUse of `Agent`/`Task`), `post_tool`
//! (PostToolUse), `throttle` (StopFailure with `rate_limit`: records what was estimated).

pub mod assess;
pub mod message;
pub mod notice;
pub mod output;
pub mod post_tool;
pub mod preflight;
pub mod session_start;
pub mod subagent;
pub mod throttle;

use chrono::{DateTime, Utc};

use crate::budget::{self, Budget, NextRequest};
use crate::claude::ClientEnv;
use crate::config::{Config, Mode};
use crate::event::EventKind;
use crate::event::HookInput;
use crate::ledger::{LiveState, Record, ThrottleInfo};
use crate::quota::Limit;
pub use assess::{Frees, MaxTokensFix, Shortfall};
pub use output::Output;

/// Where a request is about to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// UserPromptSubmit: the prompt's first request.
    Prompt,
    /// PostToolUse: the loop's next request.
    AfterTool,
    /// PreToolUse of the subagent tool: the subagent's first request.
    Spawn,
}

/// Something worth telling the user.
#[derive(Debug, Clone, PartialEq)]
pub enum Concern {
    /// What is about to start does not fit what is left.
    WontFit(WontFit),
    /// One request's reservation is out of proportion to the quotas.
    Oversized(Oversized),
    /// The configured concurrency times one reservation exceeds the TPM.
    Concurrency(Concurrency),
    /// Bedrock throttled a request: what bedrock-hook estimated at that moment.
    Throttled(Throttled),
}

#[derive(Debug, Clone, PartialEq)]
pub struct WontFit {
    pub point: Point,
    /// The windows' numbers; `budget.next` is the request about to start (for a spawn,
    /// the subagent's first request).
    pub budget: Budget,
    /// For a spawn: the spawning loop's own next request, when it counts against the
    /// same quota (it continues while the subagent runs).
    pub main_next: Option<NextRequest>,
    pub shortfall: Shortfall,
    pub fix: Option<MaxTokensFix>,
}

/// How out of proportion one request is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Severity {
    /// It alone exceeds this whole quota: every request will be throttled.
    EveryRequest(Limit),
    /// Fewer than two fit in the TPM: parallel requests will be throttled.
    OneAtATime,
    /// It holds this share (percent) of the TPD while it runs.
    LargeShareOfDay(u64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Oversized {
    /// `budget.next` is one request at the effective `max_tokens`.
    pub budget: Budget,
    pub severity: Severity,
    pub fix: Option<MaxTokensFix>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Concurrency {
    /// `budget.next` is one subagent request.
    pub budget: Budget,
    pub tpm: u64,
    pub subagents: u64,
    pub tools: u64,
    pub fix: Option<MaxTokensFix>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Throttled {
    /// The windows without the throttled request; `budget.next` is that request.
    pub budget: Budget,
    pub limit: Option<Limit>,
    pub info: ThrottleInfo,
    pub fix: Option<MaxTokensFix>,
}

impl Concern {
    /// The rate-limit key: the same reason is not repeated within `warn_repeat_secs`.
    pub fn reason(&self) -> String {
        match self {
            Concern::WontFit(w) if w.shortfall.all_models => "over:tpd_all_models".to_string(),
            Concern::WontFit(w) => format!("over:{}", w.shortfall.limit.as_str()),
            Concern::Oversized(o) => match o.severity {
                Severity::EveryRequest(limit) => format!("oversized:{}", limit.as_str()),
                Severity::OneAtATime => "oversized:one-at-a-time".to_string(),
                Severity::LargeShareOfDay(_) => "oversized:share-of-day".to_string(),
            },
            Concern::Concurrency(_) => "concurrency".to_string(),
            Concern::Throttled(t) => format!(
                "throttled:{}",
                t.limit.map_or("unknown", |limit| limit.as_str())
            ),
        }
    }

    /// Whether block mode stops the request for this concern. Only a request that does
    /// not fit is stopped; advice never blocks.
    pub fn can_block(&self) -> bool {
        matches!(self, Concern::WontFit(_))
    }
}

/// What the hook does with one event.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Guarded {
    /// JSON for Claude Code's stdout.
    pub output: Option<Output>,
    /// Stamp this `warned` key with the current time.
    pub remember: Option<String>,
    /// A throttle record to append (written in every mode).
    pub throttle: Option<Record>,
    /// The request the event announces will not be sent: do not mark it in flight.
    pub stops_request: bool,
    /// A throttle explanation to keep for later, or one given now (see `notice`).
    pub note: Option<notice::NoteChange>,
}

/// What a guard sees of one event: the event itself, the live state, the config, the time
/// and the client's environment. [`decide`] builds it once; every decision point reads it.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    pub input: &'a HookInput,
    pub state: &'a LiveState,
    pub config: &'a Config,
    pub now: DateTime<Utc>,
    pub env: &'a ClientEnv,
}

impl<'a> Seen<'a> {
    pub fn new(
        input: &'a HookInput,
        state: &'a LiveState,
        config: &'a Config,
        now: DateTime<Utc>,
        env: &'a ClientEnv,
    ) -> Seen<'a> {
        Seen {
            input,
            state,
            config,
            now,
            env,
        }
    }

    /// The event's stream: its subagent, if any.
    pub fn agent(&self) -> Option<&'a str> {
        agent_of(self.input)
    }

    /// The windows with `session`'s stream's next request, on the model the event or the
    /// environment names for it ([`model_hint`]).
    pub fn budget(&self, session: &str) -> Budget {
        budget::compute_with(
            self.state,
            self.config,
            self.now,
            Some(session),
            self.agent(),
            model_hint(self.input, self.env).as_deref(),
            self.env,
        )
    }
}

/// The guard for one hook event. `may_block` is false when the hook hit trouble of its
/// own (bad config, unreadable transcript): guards fail open and at most warn.
pub fn decide(
    input: &HookInput,
    state: &LiveState,
    config: &Config,
    now: DateTime<Utc>,
    env: &ClientEnv,
    may_block: bool,
) -> Guarded {
    let mut guarded = decide_concern(&Seen::new(input, state, config, now, env), may_block);
    if config.mode != Mode::Off {
        notice::deliver(input, state, now, &mut guarded);
        notice::config_problems(input, config, &mut guarded);
    }
    // Model ids in the messages come from transcripts: the client shows them to the user.
    if let Some(output) = guarded.output.as_mut() {
        output.clean();
    }
    guarded
}

fn decide_concern(seen: &Seen<'_>, may_block: bool) -> Guarded {
    let input = seen.input;
    let mut guarded = Guarded::default();
    // Off: no messages, no blocking; throttles are still recorded.
    if seen.config.mode == Mode::Off && input.kind() != EventKind::StopFailure {
        return guarded;
    }
    let concern = match input.kind() {
        EventKind::SessionStart => session_start::check(seen),
        EventKind::UserPromptSubmit => preflight::check(seen),
        EventKind::PreToolUse if subagent::is_spawn(input.tool_name.as_deref()) => {
            subagent::check(seen)
        }
        EventKind::PostToolUse | EventKind::PostToolUseFailure => post_tool::check(seen),
        EventKind::StopFailure => throttle::check(seen).map(|(record, c)| {
            guarded.throttle = Some(record);
            c
        }),
        _ => None,
    };
    let Some(concern) = concern else {
        return guarded;
    };
    if seen.config.mode == Mode::Off {
        return guarded;
    }
    if let Concern::Throttled(t) = &concern {
        guarded.note = notice::hold(input, t, seen.config, seen.now);
    }
    // A forecast from a model nothing names (another session's, or the client default)
    // is a guess: say so and warn instead of blocking.
    let unknown_model = matches!(concern, Concern::WontFit(_))
        && crate::budget::known_model(
            seen.state,
            input.session_id.as_deref().unwrap_or_default(),
            agent_of(input),
            model_hint(input, seen.env).as_deref(),
            seen.env,
        )
        .is_none();
    let note = account_note(&concern, seen.config, seen.now);
    let with_note = |text: String| match &note {
        Some(note) => format!("{text} {note}"),
        None => text,
    };
    if seen.config.mode == Mode::Block
        && may_block
        && !unknown_model
        && concern.can_block()
        && let Some(output) = output::block(
            input.event(),
            with_note(message::text(&concern, true, seen.config, seen.now)),
        )
    {
        guarded.output = Some(output);
        guarded.stops_request = true;
        return guarded;
    }
    let key = format!(
        "{}|{}",
        input.session_id.as_deref().unwrap_or_default(),
        concern.reason()
    );
    let repeat_ms = (seen.config.warn_repeat_secs as i64).saturating_mul(1000);
    let now_ms = seen.now.timestamp_millis();
    if seen
        .state
        .warned
        .get(&key)
        .is_some_and(|at| now_ms - at < repeat_ms && *at <= now_ms)
    {
        return guarded;
    }
    let mut text = message::text(&concern, false, seen.config, seen.now);
    if unknown_model && let Concern::WontFit(w) = &concern {
        text = format!(
            "bedrock-hook does not know this session's model yet (no status line, no request, no ANTHROPIC_MODEL); the forecast assumes {}, so it warns instead of blocking. {text}",
            w.budget.next.model_norm
        );
    }
    guarded.output = Some(Output::SystemMessage(with_note(text)));
    guarded.remember = Some(key);
    guarded
}

/// Account mode: a throttle's verdict (a, b or c), or whose numbers a forecast used.
fn account_note(concern: &Concern, config: &Config, now: DateTime<Utc>) -> Option<String> {
    if !crate::account::enabled(config) {
        return None;
    }
    match concern {
        Concern::Throttled(t) => crate::account::verdict::of(&t.info).map(|v| v.explain()),
        Concern::WontFit(w) => {
            let mut budget = w.budget.clone();
            let (view, _) = crate::account::share::for_guard(config, &mut budget, now)?;
            Some(crate::account::share::guard_note(&view))
        }
        _ => None,
    }
}

/// The stream an event belongs to: its subagent, if any.
pub(crate) fn agent_of(input: &HookInput) -> Option<&str> {
    input.agent_id.as_deref().filter(|a| !a.is_empty())
}

/// The model a stream's next request will use, when the event or the environment says:
/// a subagent's from what it sent last (its `Agent` call may have named one), else
/// `CLAUDE_CODE_SUBAGENT_MODEL`; else the event's own model field, else what the stream
/// sent last.
pub(crate) fn model_hint(input: &HookInput, env: &ClientEnv) -> Option<String> {
    agent_of(input)
        .and_then(|_| input.sent_model.clone().or_else(|| env.subagent_model()))
        .or_else(|| input.model_id())
}

#[cfg(test)]
mod tests {
    use super::assess::tests::{config, now, state};
    use super::*;

    fn input(json: &str) -> HookInput {
        HookInput::parse(json.as_bytes()).unwrap()
    }

    const PROMPT: &str = r#"{"session_id":"s","hook_event_name":"UserPromptSubmit"}"#;

    #[test]
    fn off_says_nothing_warn_warns_once_block_blocks_every_time() {
        let s = state();
        let mut c = config(Some(1_500_000), None, None);
        let env = ClientEnv::default();
        c.mode = Mode::Off;
        assert_eq!(
            decide(&input(PROMPT), &s, &c, now(), &env, true),
            Guarded::default()
        );

        c.mode = Mode::Warn;
        let warned = decide(&input(PROMPT), &s, &c, now(), &env, true);
        assert!(matches!(warned.output, Some(Output::SystemMessage(_))));
        assert_eq!(warned.remember.as_deref(), Some("s|over:tokens-per-day"));
        assert!(!warned.stops_request);
        let mut later = s.clone();
        later.warned.insert(
            "s|over:tokens-per-day".into(),
            now().timestamp_millis() - 299_000,
        );
        assert_eq!(
            decide(&input(PROMPT), &later, &c, now(), &env, true),
            Guarded::default()
        );
        later.warned.insert(
            "s|over:tokens-per-day".into(),
            now().timestamp_millis() - 300_000,
        );
        assert!(
            decide(&input(PROMPT), &later, &c, now(), &env, true)
                .output
                .is_some()
        );

        c.mode = Mode::Block;
        let blocked = decide(&input(PROMPT), &later, &c, now(), &env, true);
        assert!(matches!(blocked.output, Some(Output::BlockPrompt(_))));
        assert!(blocked.stops_request);
        assert_eq!(blocked.remember, None);
    }

    #[test]
    fn trouble_of_our_own_never_blocks() {
        let s = state();
        let mut c = config(Some(1_500_000), None, None);
        c.mode = Mode::Block;
        let g = decide(&input(PROMPT), &s, &c, now(), &ClientEnv::default(), false);
        assert!(matches!(g.output, Some(Output::SystemMessage(_))));
        assert!(!g.stops_request);
    }

    #[test]
    fn fitting_requests_and_unknown_events_pass_silently() {
        let s = state();
        let c = config(Some(100_000_000), Some(10_000_000), Some(100));
        let env = ClientEnv::default();
        assert_eq!(
            decide(&input(PROMPT), &s, &c, now(), &env, true),
            Guarded::default()
        );
        let other = input(r#"{"session_id":"s","hook_event_name":"Notification"}"#);
        let tight = config(Some(1), Some(1), Some(1));
        assert_eq!(
            decide(&other, &s, &tight, now(), &env, true),
            Guarded::default()
        );
        let bash = input(r#"{"session_id":"s","hook_event_name":"PreToolUse","tool_name":"Bash"}"#);
        assert_eq!(
            decide(&bash, &s, &tight, now(), &env, true),
            Guarded::default()
        );
    }
}
