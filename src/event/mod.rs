//! A hook event as bedrock-hook reasons about it: which event (a closed set, with an
//! `Other` arm for the many it ignores), whose request stream it belongs to, and which tool
//! calls it is about. The raw input (`event::wire::HookInput`) is reduced to this once, so
//! event names are spelled in one place and the in-flight rules (`quota::inflight`) need
//! nothing of the wire format.

pub mod wire;

pub use wire::HookInput;

/// The events bedrock-hook acts on, and `Other` for every other (or future) one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    SessionStart,
    UserPromptSubmit,
    PreToolUse,
    PostToolUse,
    PostToolUseFailure,
    PostToolBatch,
    PermissionDenied,
    SubagentStart,
    SubagentStop,
    PreCompact,
    PostCompact,
    Stop,
    StopFailure,
    SessionEnd,
    Other,
}

impl EventKind {
    /// Every event an install registers the hook for.
    pub const REGISTERED: [EventKind; 14] = [
        EventKind::SessionStart,
        EventKind::UserPromptSubmit,
        EventKind::PreToolUse,
        EventKind::PostToolUse,
        EventKind::PostToolUseFailure,
        EventKind::PostToolBatch,
        EventKind::PermissionDenied,
        EventKind::SubagentStart,
        EventKind::SubagentStop,
        EventKind::PreCompact,
        EventKind::PostCompact,
        EventKind::Stop,
        EventKind::StopFailure,
        EventKind::SessionEnd,
    ];

    /// The `hook_event_name` Claude Code sends (`""` for `Other`).
    pub const fn name(self) -> &'static str {
        match self {
            EventKind::SessionStart => "SessionStart",
            EventKind::UserPromptSubmit => "UserPromptSubmit",
            EventKind::PreToolUse => "PreToolUse",
            EventKind::PostToolUse => "PostToolUse",
            EventKind::PostToolUseFailure => "PostToolUseFailure",
            EventKind::PostToolBatch => "PostToolBatch",
            EventKind::PermissionDenied => "PermissionDenied",
            EventKind::SubagentStart => "SubagentStart",
            EventKind::SubagentStop => "SubagentStop",
            EventKind::PreCompact => "PreCompact",
            EventKind::PostCompact => "PostCompact",
            EventKind::Stop => "Stop",
            EventKind::StopFailure => "StopFailure",
            EventKind::SessionEnd => "SessionEnd",
            EventKind::Other => "",
        }
    }

    pub fn from_name(name: &str) -> EventKind {
        EventKind::REGISTERED
            .into_iter()
            .find(|kind| kind.name() == name)
            .unwrap_or(EventKind::Other)
    }

    /// Tool events.
    pub fn is_tool(self) -> bool {
        matches!(
            self,
            EventKind::PreToolUse
                | EventKind::PostToolUse
                | EventKind::PostToolUseFailure
                | EventKind::PermissionDenied
        )
    }
}

/// The names of [`EventKind::REGISTERED`], in order.
pub const REGISTERED_NAMES: [&str; 14] = {
    let mut names = [""; 14];
    let mut i = 0;
    while i < names.len() {
        names[i] = EventKind::REGISTERED[i].name();
        i += 1;
    }
    names
};

/// One tool call an event is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolCall {
    pub name: Option<String>,
    pub use_id: Option<String>,
}

impl ToolCall {
    /// Whether the tool spawns a subagent (`Agent`; `Task` on older clients).
    pub fn is_spawn(&self) -> bool {
        is_spawn(self.name.as_deref())
    }
}

/// Whether a tool spawns a subagent.
pub fn is_spawn(tool_name: Option<&str>) -> bool {
    matches!(tool_name, Some("Agent" | "Task"))
}

/// A hook event reduced to what bedrock-hook's rules need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    /// The session, if the input names one.
    pub session: Option<String>,
    /// The subagent the event comes from (not empty).
    pub agent: Option<String>,
    /// The tool a tool event is about.
    pub tool: Option<ToolCall>,
    /// PostToolBatch: every call of the batch, refused ones included.
    pub batch: Vec<ToolCall>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_events_are_other() {
        for kind in EventKind::REGISTERED {
            assert_eq!(EventKind::from_name(kind.name()), kind);
        }
        assert_eq!(EventKind::from_name("Notification"), EventKind::Other);
        assert_eq!(EventKind::from_name(""), EventKind::Other);
        assert_eq!(REGISTERED_NAMES[0], "SessionStart");
        assert_eq!(REGISTERED_NAMES[13], "SessionEnd");
    }
}
