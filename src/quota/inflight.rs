//! Which requests are on their way, inferred from the hook event sequence.
//!
//! Claude Code fires no hook when it sends a request, but the events around one tell:
//! after a prompt is submitted, a tool finished, a tool batch is done (`PostToolBatch`
//! fires for refused tools too, which get no `PostToolUse`), or a subagent started, the
//! next request of that session (or subagent) is on its way; once a tool is about to run,
//! the turn stops, or a subagent stops, it has come back. Entries that are never closed
//! expire.

/// What an event says about the request stream of one session or subagent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// A request of this session/agent is now on its way.
    Started,
    /// The request of this session/agent has come back.
    Finished,
}

/// The transition a hook event implies, if any.
pub fn transition_for(event_name: &str) -> Option<Transition> {
    match event_name {
        "UserPromptSubmit" | "PostToolUse" | "PostToolUseFailure" | "PostToolBatch"
        | "SubagentStart" => Some(Transition::Started),
        "PreToolUse" | "Stop" | "StopFailure" | "SubagentStop" | "SessionEnd" => {
            Some(Transition::Finished)
        }
        _ => None,
    }
}

/// Key of one request stream: the session's main loop, or one of its subagents.
pub fn stream_key(session: &str, agent: Option<&str>) -> String {
    match agent {
        Some(agent) if !agent.is_empty() => format!("{session}/{agent}"),
        _ => session.to_string(),
    }
}

/// Key of a session's compaction (`/compact`, auto-compaction) while it runs: from
/// `PreCompact` to `PostCompact`, beside whatever its main loop has in flight.
pub fn compaction_key(session: &str) -> String {
    format!("{session}/compact")
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
