//! The exact JSON Claude Code accepts from a hook on stdout (docs/protocol.md §4):
//!
//! - any event: `{"systemMessage": "..."}` shows a notice to the user;
//! - UserPromptSubmit: `{"decision": "block", "reason": "..."}` stops the prompt;
//! - PreToolUse: `{"hookSpecificOutput": {"hookEventName": "PreToolUse",
//!   "permissionDecision": "deny", "permissionDecisionReason": "..."}}` stops the tool;
//! - any event: `{"continue": false, "stopReason": "..."}` halts the agent loop.
//!
//! Always with exit status 0: exit 2 and JSON are never mixed.

use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    SystemMessage(String),
    BlockPrompt(String),
    DenyTool(String),
    StopLoop(String),
}

/// The blocking output of an event, if it has one.
pub fn block(event: &str, reason: String) -> Option<Output> {
    match event {
        "UserPromptSubmit" => Some(Output::BlockPrompt(reason)),
        "PreToolUse" => Some(Output::DenyTool(reason)),
        "PostToolUse" | "PostToolUseFailure" => Some(Output::StopLoop(reason)),
        _ => None,
    }
}

impl Output {
    /// One line of JSON, keys in the order the protocol documents them.
    pub fn to_json(&self) -> String {
        let value = match self {
            Output::SystemMessage(text) => json!({ "systemMessage": text }),
            Output::BlockPrompt(reason) => json!({ "decision": "block", "reason": reason }),
            Output::DenyTool(reason) => json!({
                "hookSpecificOutput": {
                    "hookEventName": "PreToolUse",
                    "permissionDecision": "deny",
                    "permissionDecisionReason": reason,
                }
            }),
            Output::StopLoop(reason) => json!({ "continue": false, "stopReason": reason }),
        };
        value.to_string()
    }

    /// Drop what must not reach a terminal from the text (line breaks between notices
    /// are kept): see `terminal::clean`.
    pub fn clean(&mut self) {
        let (Output::SystemMessage(t)
        | Output::BlockPrompt(t)
        | Output::DenyTool(t)
        | Output::StopLoop(t)) = self;
        *t = t
            .split('\n')
            .map(crate::terminal::clean)
            .collect::<Vec<_>>()
            .join("\n");
    }

    pub fn text(&self) -> &str {
        match self {
            Output::SystemMessage(t)
            | Output::BlockPrompt(t)
            | Output::DenyTool(t)
            | Output::StopLoop(t) => t,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_never_reach_the_client() {
        let mut out = Output::SystemMessage("a\u{1b}]0;pwned\u{7} b\nc\u{202e}d".into());
        out.clean();
        assert_eq!(out.text(), "a]0;pwned b\ncd");
    }

    #[test]
    fn exact_shapes() {
        assert_eq!(
            Output::SystemMessage("a \"b\"".into()).to_json(),
            r#"{"systemMessage":"a \"b\""}"#
        );
        assert_eq!(
            block("UserPromptSubmit", "r".into()).unwrap().to_json(),
            r#"{"decision":"block","reason":"r"}"#
        );
        assert_eq!(
            block("PreToolUse", "r".into()).unwrap().to_json(),
            r#"{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny","permissionDecisionReason":"r"}}"#
        );
        assert_eq!(
            block("PostToolUse", "r".into()).unwrap().to_json(),
            r#"{"continue":false,"stopReason":"r"}"#
        );
        assert_eq!(block("SessionStart", "r".into()), None);
        assert_eq!(block("StopFailure", "r".into()), None);
    }
}
