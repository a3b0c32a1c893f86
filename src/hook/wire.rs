//! The hook input exactly as Claude Code sends it (docs/protocol.md §3). Only the
//! fields bedrock-hook uses are read; everything is optional, unknown fields are ignored,
//! and tool input/output is never kept.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub struct HookInput {
    pub session_id: Option<String>,
    pub transcript_path: Option<String>,
    pub cwd: Option<String>,
    pub hook_event_name: Option<String>,
    /// Present on hooks fired inside a subagent, and on SubagentStart/SubagentStop.
    pub agent_id: Option<String>,
    pub agent_type: Option<String>,
    /// Tool events: the tool's name (`Agent`/`Task` spawn subagents).
    pub tool_name: Option<String>,
    /// Tool events: the id pairing a PreToolUse with its PostToolUse.
    pub tool_use_id: Option<String>,
    /// The turn the event belongs to (names throttle records).
    pub prompt_id: Option<String>,
    /// SubagentStop: the subagent's own transcript.
    pub agent_transcript_path: Option<String>,
    /// StopFailure: the error kind (`rate_limit` on a 429).
    pub error: Option<String>,
    /// StopFailure: the error text shown to the user. Read to classify, never stored.
    pub last_assistant_message: Option<String>,
    /// SessionStart: `startup`, `resume`, `clear`, `compact`.
    pub source: Option<String>,
    /// SessionStart on some clients: the model in use.
    pub model: Option<serde_json::Value>,
}

impl HookInput {
    pub fn parse(bytes: &[u8]) -> Result<HookInput, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    pub fn event(&self) -> &str {
        self.hook_event_name.as_deref().unwrap_or("")
    }

    /// The model named in the input, if any (string or `{"id": ...}`).
    pub fn model_id(&self) -> Option<String> {
        match self.model.as_ref()? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Object(o) => {
                o.get("id").and_then(|v| v.as_str()).map(str::to_string)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_sample() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/samples");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if !name.starts_with("hook-") {
                continue;
            }
            let input = HookInput::parse(&std::fs::read(&path).unwrap()).unwrap();
            assert!(input.session_id.is_some(), "{name}");
            assert!(name.contains(input.event()), "{name}");
        }
    }

    #[test]
    fn subagent_fields() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/samples");
        let input = HookInput::parse(
            &std::fs::read(format!("{dir}/hook-PreToolUse-subagent.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(input.agent_id.as_deref(), Some("aa784e05b3e2adbb4"));
        assert_eq!(input.tool_name.as_deref(), Some("Bash"));
    }

    #[test]
    fn lenient_about_types_it_does_not_read() {
        let input =
            HookInput::parse(br#"{"session_id":"s","tool_input":{"x":[1,2]},"new_field":null}"#)
                .unwrap();
        assert_eq!(input.event(), "");
    }
}
