//! Where a throttle's explanation reaches the user. Claude Code 2.1.328 neither shows nor
//! records a `systemMessage` returned at `StopFailure` (docs/protocol.md §4), while
//! it shows one returned at `SessionStart` and `UserPromptSubmit`. So at a throttle the
//! explanation is kept in the live state ([`crate::ledger::notes`]) and given once, in
//! front of whatever else the guard says, at that session's next prompt or start; the
//! status line shows its short form for [`STATUS_WINDOW_MS`].

use chrono::{DateTime, Utc};

use super::{Guarded, Output, Throttled, message};
use crate::config::Config;
use crate::event::HookInput;
use crate::ledger::LiveState;
use crate::ledger::notes::LastThrottle;

/// How long after a throttle the status line shows it.
pub const STATUS_WINDOW_MS: i64 = 10 * 60 * 1000;

/// A change to the kept explanations, applied by the hook under the ledger lock.
#[derive(Debug, Clone, PartialEq)]
pub enum NoteChange {
    /// Keep this session's explanation for later.
    Hold {
        session: String,
        at_ms: i64,
        text: String,
        last: LastThrottle,
    },
    /// This session's explanation was given: forget it.
    Given(String),
}

/// What to keep after a throttle of `input`'s session.
pub fn hold(
    input: &HookInput,
    t: &Throttled,
    config: &Config,
    now: DateTime<Utc>,
) -> Option<NoteChange> {
    let session = input.session_id.as_deref().filter(|s| !s.is_empty())?;
    let (limit, estimate, fix) = message::throttled_short(t);
    Some(NoteChange::Hold {
        session: session.to_string(),
        at_ms: now.timestamp_millis(),
        text: message::throttled_later(t, config, now),
        last: LastThrottle {
            at_ms: now.timestamp_millis(),
            limit,
            estimate,
            fix,
        },
    })
}

/// At a prompt or a session start: give the session's kept explanation, in front of what
/// the guard already says (or alone).
pub fn deliver(input: &HookInput, state: &LiveState, now: DateTime<Utc>, guarded: &mut Guarded) {
    if !matches!(input.event(), "UserPromptSubmit" | "SessionStart") {
        return;
    }
    let Some(session) = input.session_id.as_deref().filter(|s| !s.is_empty()) else {
        return;
    };
    let Some((_, text)) = state
        .throttle_notes
        .waiting(session, now.timestamp_millis())
    else {
        return;
    };
    prepend(guarded, text.clone());
    guarded.note = Some(NoteChange::Given(session.to_string()));
}

/// Config problems listed in one notice at most.
const CONFIG_PROBLEMS_SHOWN: usize = 3;

/// At a session's start (not at `/clear` or a compaction): a bad config value only ever
/// reached stderr, which the client hides. Say it once, where the user looks.
pub fn config_problems(input: &HookInput, config: &Config, guarded: &mut Guarded) {
    if input.event() != "SessionStart"
        || config.problems.is_empty()
        || matches!(input.source.as_deref(), Some("clear" | "compact"))
    {
        return;
    }
    let mut listed = config
        .problems
        .iter()
        .take(CONFIG_PROBLEMS_SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("; ");
    if config.problems.len() > CONFIG_PROBLEMS_SHOWN {
        listed.push_str(&format!(
            "; and {} more",
            config.problems.len() - CONFIG_PROBLEMS_SHOWN
        ));
    }
    let text = crate::terminal::clean(&format!(
        "bedrock-hook: config error: {listed}. Until it is fixed bedrock-hook uses the default \
         instead and never blocks; `bedrock-hook config` shows every value and where it came \
         from."
    ));
    prepend(guarded, text);
}

/// Put `text` in front of what the guard says at a prompt or a start (or say it alone).
fn prepend(guarded: &mut Guarded, text: String) {
    guarded.output = Some(match guarded.output.take() {
        None => Output::SystemMessage(text),
        Some(Output::SystemMessage(own)) => Output::SystemMessage(format!("{text}\n{own}")),
        Some(Output::BlockPrompt(own)) => Output::BlockPrompt(format!("{text}\n{own}")),
        Some(other) => other,
    });
}

impl Guarded {
    /// Apply the note change to the live state; whether it changed.
    pub fn apply_note(&self, state: &mut LiveState) -> bool {
        match &self.note {
            Some(NoteChange::Hold {
                session,
                at_ms,
                text,
                last,
            }) => {
                state
                    .throttle_notes
                    .hold(session, *at_ms, text, last.clone());
                true
            }
            Some(NoteChange::Given(session)) => state.throttle_notes.take(session),
            None => false,
        }
    }
}

/// The status line's segment for a recent throttle:
/// `429 TPD 3m ago: est. 1.69M of 10M · fix CLAUDE_CODE_MAX_OUTPUT_TOKENS=5120`.
pub fn status_segment(state: &LiveState, now: DateTime<Utc>) -> Option<String> {
    let now_ms = now.timestamp_millis();
    let last = state.throttle_notes.recent(now_ms, STATUS_WINDOW_MS)?;
    let ago = message::span(((now_ms - last.at_ms) / 1000).max(0));
    let text = format!(
        "429 {} {ago} ago: {} · fix {}",
        last.limit, last.estimate, last.fix
    );
    // From the data dir: never printed raw.
    Some(crate::terminal::clean(&text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claude::ClientEnv;
    use crate::config::Mode;
    use crate::guard::assess::tests::{config, now, state};
    use crate::guard::decide;

    fn input(json: &str) -> HookInput {
        HookInput::parse(json.as_bytes()).unwrap()
    }

    const FAILURE: &str = r#"{"session_id":"s","prompt_id":"p1","hook_event_name":"StopFailure","error":"rate_limit","last_assistant_message":"API Error: Request rejected (429) · Too many tokens per day, please wait before trying again."}"#;
    const PROMPT: &str = r#"{"session_id":"s","hook_event_name":"UserPromptSubmit"}"#;

    #[test]
    fn a_throttle_is_explained_once_at_the_next_prompt() {
        let mut s = state();
        let c = config(Some(10_000_000), Some(4_000_000), None);
        let env = ClientEnv::default();
        let failed = decide(&input(FAILURE), &s, &c, now(), &env, true);
        assert!(matches!(failed.note, Some(NoteChange::Hold { .. })));
        assert!(failed.apply_note(&mut s));
        assert_eq!(
            status_segment(&s, now() + chrono::Duration::seconds(185)).as_deref(),
            Some("429 TPD 3m 5s ago: est. 1.69M of 10M · fix CLAUDE_CODE_MAX_OUTPUT_TOKENS=5120")
        );
        assert_eq!(
            status_segment(&s, now() + chrono::Duration::minutes(10)),
            None
        );

        let later = now() + chrono::Duration::minutes(2);
        let prompt = decide(&input(PROMPT), &s, &c, later, &env, true);
        let Some(Output::SystemMessage(text)) = &prompt.output else {
            panic!("nothing said: {prompt:?}");
        };
        assert!(
            text.starts_with(
                "bedrock-hook: Bedrock throttled this session's last turn at 12:00 UTC (429: \
                 too many tokens per day). At that moment bedrock-hook estimated 1.69M of the \
                 10M TPD used (17%)"
            ),
            "{text}"
        );
        assert!(text.contains("The TPD resets at 00:00 UTC. Fix:"), "{text}");
        assert!(prompt.apply_note(&mut s));
        let again = decide(&input(PROMPT), &s, &c, later, &env, true);
        assert_eq!(again.output, None);
        // Another session is not told about this one's turn.
        let mut s2 = state();
        failed.apply_note(&mut s2);
        let other = input(r#"{"session_id":"t","hook_event_name":"SessionStart"}"#);
        let g = decide(&other, &s2, &c, later, &env, true);
        assert!(g.note.is_none(), "{g:?}");
    }

    #[test]
    fn a_bad_config_value_is_said_at_the_session_start() {
        let c = Config::load_with(None, |name| {
            (name == "BEDROCK_HOOK_TPD").then(|| "abc".to_string())
        });
        let s = state();
        let env = ClientEnv::default();
        let start =
            input(r#"{"session_id":"s","hook_event_name":"SessionStart","source":"startup"}"#);
        let g = decide(&start, &s, &c, now(), &env, false);
        assert_eq!(
            g.output,
            Some(Output::SystemMessage(
                "bedrock-hook: config error: BEDROCK_HOOK_TPD: expected a token count like \
                 400000, 400k or 2M, got `abc`. Until it is fixed bedrock-hook uses the default \
                 instead and never blocks; `bedrock-hook config` shows every value and where it \
                 came from."
                    .into()
            ))
        );
        let compact =
            input(r#"{"session_id":"s","hook_event_name":"SessionStart","source":"compact"}"#);
        assert_eq!(decide(&compact, &s, &c, now(), &env, false).output, None);
        assert_eq!(
            decide(&input(PROMPT), &s, &c, now(), &env, false).output,
            None
        );
    }

    #[test]
    fn off_keeps_nothing_to_say() {
        let s = state();
        let mut c = config(Some(10_000_000), None, None);
        c.mode = Mode::Off;
        let g = decide(&input(FAILURE), &s, &c, now(), &ClientEnv::default(), true);
        assert!(g.throttle.is_some());
        assert!(g.note.is_none());
    }
}
