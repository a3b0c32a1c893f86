//! Which requests are on their way, inferred from the hook event sequence: every in-flight
//! rule is here, keyed by a typed stream key.
//!
//! Claude Code fires no hook when it sends a request, but the events around one tell:
//! after a prompt is submitted, a tool finished, a tool batch is done (`PostToolBatch`
//! fires for refused tools too, which get no `PostToolUse`), or a subagent started, the
//! next request of that session (or subagent) is on its way; once a tool is about to run,
//! the turn stops, or a subagent stops, it has come back. A compaction is in flight from
//! `PreCompact` to `PostCompact`; a subagent about to be spawned holds its first request
//! until it starts, or until its call is refused or its batch is over. Entries that are
//! never closed expire.

use std::collections::BTreeMap;
use std::fmt;

use crate::event::{Event, EventKind, is_spawn};

/// What an event says about the request stream of one session or subagent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// A request of this session/agent is now on its way.
    Started,
    /// The request of this session/agent has come back.
    Finished,
}

/// The transition an event implies for its own stream, if any.
pub fn transition(kind: EventKind) -> Option<Transition> {
    match kind {
        EventKind::UserPromptSubmit
        | EventKind::PostToolUse
        | EventKind::PostToolUseFailure
        | EventKind::PostToolBatch
        | EventKind::SubagentStart => Some(Transition::Started),
        EventKind::PreToolUse
        | EventKind::Stop
        | EventKind::StopFailure
        | EventKind::SubagentStop
        | EventKind::SessionEnd => Some(Transition::Finished),
        _ => None,
    }
}

/// The transition a hook event implies, by its name.
pub fn transition_for(event_name: &str) -> Option<Transition> {
    transition(EventKind::from_name(event_name))
}

/// One request stream: a session's main loop, or one of its subagents.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamKey {
    pub session: String,
    pub agent: Option<String>,
}

impl StreamKey {
    pub fn new(session: &str, agent: Option<&str>) -> StreamKey {
        StreamKey {
            session: session.to_string(),
            agent: agent.filter(|a| !a.is_empty()).map(str::to_string),
        }
    }

    /// The stream an event belongs to.
    pub fn of(event: &Event) -> Option<StreamKey> {
        Some(StreamKey::new(
            event.session.as_deref()?,
            event.agent.as_deref(),
        ))
    }

    /// The in-flight entry of this stream's next request.
    pub fn key(&self) -> String {
        self.to_string()
    }

    /// The entry a subagent spawned by tool call `tool_use` of this stream holds until it
    /// starts.
    pub fn spawn(&self, tool_use: &str) -> String {
        format!("{self}/spawn:{tool_use}")
    }

    /// The entry of the session's compaction while it runs, beside whatever its main loop
    /// has in flight.
    pub fn compaction(&self) -> String {
        compaction_key(&self.session)
    }

    /// Prefix of every entry of the session but its main loop's own.
    fn session_prefix(&self) -> String {
        format!("{}/", self.session)
    }
}

impl fmt::Display for StreamKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.agent {
            Some(agent) => write!(f, "{}/{agent}", self.session),
            None => f.write_str(&self.session),
        }
    }
}

/// Key of one request stream (see [`StreamKey`]), as the live state stores it.
pub fn stream_key(session: &str, agent: Option<&str>) -> String {
    StreamKey::new(session, agent).key()
}

/// Key of a session's compaction (`/compact`, auto-compaction) while it runs.
pub fn compaction_key(session: &str) -> String {
    format!("{session}/compact")
}

/// Before the guard looks: what the event says has come back (or is being replaced by
/// what it announces). `since` gives an entry's start. Returns whether the live state
/// changed (a transition of the event's stream always counts as one).
pub fn close<V>(
    inflight: &mut BTreeMap<String, V>,
    event: &Event,
    since: impl Fn(&V) -> i64,
) -> bool {
    let Some(stream) = StreamKey::of(event) else {
        return false;
    };
    let before = inflight.len();
    let transition = transition(event.kind);
    if transition.is_some() {
        inflight.remove(&stream.key());
    }
    let prefix = stream.session_prefix();
    let spawn_of =
        |tool_use: Option<&str>| tool_use.filter(|t| !t.is_empty()).map(|t| stream.spawn(t));
    match event.kind {
        EventKind::SessionEnd => inflight.retain(|k, _| !k.starts_with(&prefix)),
        EventKind::PreCompact | EventKind::PostCompact => {
            inflight.remove(&stream.compaction());
        }
        // The subagent's own entry replaces the oldest spawn of its session.
        EventKind::SubagentStart => {
            let oldest = inflight
                .iter()
                .filter(|(k, _)| k.starts_with(&prefix) && k.contains("/spawn:"))
                .min_by_key(|(_, f)| since(f))
                .map(|(k, _)| k.clone());
            if let Some(key) = oldest {
                inflight.remove(&key);
            }
        }
        // A spawn refused (by a rule, auto mode, another hook) never starts its subagent.
        EventKind::PostToolUse | EventKind::PostToolUseFailure | EventKind::PermissionDenied => {
            if let Some(tool) = event.tool.as_ref().filter(|t| t.is_spawn())
                && let Some(key) = spawn_of(tool.use_id.as_deref())
            {
                inflight.remove(&key);
            }
        }
        // Whatever the batch spawned has started or never will.
        EventKind::PostToolBatch => {
            for call in event.batch.iter().filter(|c| c.is_spawn()) {
                if let Some(key) = spawn_of(call.use_id.as_deref()) {
                    inflight.remove(&key);
                }
            }
        }
        _ => {}
    }
    transition.is_some() || inflight.len() != before
}

/// A request an event puts on its way, once the guard let it through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opening {
    /// The stream's next request.
    Next(String),
    /// The session's compaction request, at the session's model and max_tokens.
    Compaction(String),
    /// The first request of a subagent about to be spawned.
    Spawn(String),
}

/// What an event puts in flight (after the guard let it through).
pub fn opens(event: &Event) -> Vec<Opening> {
    let Some(stream) = StreamKey::of(event) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if event.kind == EventKind::PreCompact {
        out.push(Opening::Compaction(stream.compaction()));
    }
    if transition(event.kind) == Some(Transition::Started) {
        out.push(Opening::Next(stream.key()));
    }
    if event.kind == EventKind::PreToolUse
        && let Some(tool) = &event.tool
        && is_spawn(tool.name.as_deref())
        && let Some(tool_use) = tool.use_id.as_deref().filter(|t| !t.is_empty())
    {
        out.push(Opening::Spawn(stream.spawn(tool_use)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::ToolCall;

    #[test]
    fn events_open_and_close_streams() {
        assert_eq!(
            transition_for("UserPromptSubmit"),
            Some(Transition::Started)
        );
        assert_eq!(transition_for("PostToolUse"), Some(Transition::Started));
        assert_eq!(transition_for("PostToolBatch"), Some(Transition::Started));
        assert_eq!(transition_for("PermissionDenied"), None);
        assert_eq!(transition_for("SubagentStart"), Some(Transition::Started));
        assert_eq!(transition_for("PreToolUse"), Some(Transition::Finished));
        assert_eq!(transition_for("Stop"), Some(Transition::Finished));
        assert_eq!(transition_for("StopFailure"), Some(Transition::Finished));
        assert_eq!(transition_for("SubagentStop"), Some(Transition::Finished));
        assert_eq!(transition_for("Notification"), None);
        assert_eq!(transition_for("SomethingNew"), None);
    }

    #[test]
    fn keys_separate_subagents() {
        assert_eq!(stream_key("s", None), "s");
        assert_eq!(stream_key("s", Some("")), "s");
        assert_eq!(stream_key("s", Some("a1")), "s/a1");
        let main = StreamKey::new("s", None);
        assert_eq!(main.spawn("toolu_1"), "s/spawn:toolu_1");
        assert_eq!(main.compaction(), "s/compact");
    }

    fn event(kind: EventKind, tool: Option<(&str, &str)>) -> Event {
        Event {
            kind,
            session: Some("s".into()),
            agent: None,
            tool: tool.map(|(name, id)| ToolCall {
                name: Some(name.into()),
                use_id: Some(id.into()),
            }),
            batch: Vec::new(),
        }
    }

    #[test]
    fn a_spawn_holds_until_its_batch_is_over() {
        let pre = event(EventKind::PreToolUse, Some(("Agent", "t1")));
        assert_eq!(
            opens(&pre),
            vec![Opening::Spawn("s/spawn:t1".into())],
            "the loop's own request came back; the spawn's is on its way"
        );
        let mut inflight: BTreeMap<String, i64> = BTreeMap::new();
        inflight.insert("s/spawn:t1".into(), 1);
        let mut batch = event(EventKind::PostToolBatch, None);
        batch.batch = vec![ToolCall {
            name: Some("Agent".into()),
            use_id: Some("t1".into()),
        }];
        assert!(close(&mut inflight, &batch, |v| *v));
        assert!(inflight.is_empty());
        assert_eq!(opens(&batch), vec![Opening::Next("s".into())]);
        assert_eq!(
            opens(&event(EventKind::PreCompact, None)),
            vec![Opening::Compaction("s/compact".into())]
        );
        assert!(opens(&event(EventKind::Other, None)).is_empty());
    }
}
