//! The hook input exactly as Claude Code sends it (docs/protocol.md §3). Only the
//! fields bedrock-hook uses are read; everything is optional, unknown fields are ignored,
//! and tool input/output is never kept.

use std::fmt;

use serde::Deserialize;

use super::{Event, EventKind};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

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
    /// PostToolBatch: every tool call of the batch, refused ones included. Only the name
    /// and id are read; their input and output are skipped.
    pub tool_calls: Option<Vec<ToolCall>>,
    /// Tool events: of the tool's input only `model` (the `Agent` tool's choice of model
    /// for its subagent) is read; the rest is skipped, whatever its shape.
    #[serde(default, deserialize_with = "tool_input_model")]
    pub tool_input: ToolInput,
    /// Not on the wire: the model of the request this event's stream last sent, from its
    /// transcript's `api-request` entry (the hook fills it in once it has read it).
    #[serde(skip)]
    pub sent_model: Option<String>,
}

/// What bedrock-hook reads of a tool's input.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ToolInput {
    /// A string `model` field (`sonnet`, `haiku`, `opus`, `inherit`, or a model id).
    pub model: Option<String>,
}

/// Read `model` from a tool input object without decoding anything else; any other shape
/// (or a `model` that is not a string) reads as nothing.
fn tool_input_model<'de, D: Deserializer<'de>>(deserializer: D) -> Result<ToolInput, D::Error> {
    struct ModelOnly;
    impl<'de> Visitor<'de> for ModelOnly {
        type Value = ToolInput;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a tool input")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ToolInput, A::Error> {
            let mut input = ToolInput::default();
            while let Some(key) = map.next_key::<KeyName>()? {
                match key {
                    KeyName::Model => {
                        if let Model::Named(name) = map.next_value::<Model>()? {
                            input.model = Some(name);
                        }
                    }
                    KeyName::Other => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(input)
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<ToolInput, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(ToolInput::default())
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<ToolInput, E> {
            Ok(ToolInput::default())
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<ToolInput, E> {
            Ok(ToolInput::default())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<ToolInput, E> {
            Ok(ToolInput::default())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<ToolInput, E> {
            Ok(ToolInput::default())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<ToolInput, E> {
            Ok(ToolInput::default())
        }
        fn visit_unit<E: de::Error>(self) -> Result<ToolInput, E> {
            Ok(ToolInput::default())
        }
    }
    deserializer.deserialize_any(ModelOnly)
}

/// A key of a tool input: `model` or anything else (not kept).
enum KeyName {
    Model,
    Other,
}

impl<'de> Deserialize<'de> for KeyName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<KeyName, D::Error> {
        struct Key;
        impl Visitor<'_> for Key {
            type Value = KeyName;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<KeyName, E> {
                Ok(if key == "model" {
                    KeyName::Model
                } else {
                    KeyName::Other
                })
            }
        }
        deserializer.deserialize_str(Key)
    }
}

/// A `model` value: a string, or anything else (skipped).
enum Model {
    Named(String),
    Other,
}

impl<'de> Deserialize<'de> for Model {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Model, D::Error> {
        struct Value;
        impl<'de> Visitor<'de> for Value {
            type Value = Model;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a model")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Model, E> {
                Ok(Model::Named(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Model, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Model::Other)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Model, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Model::Other)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Model, E> {
                Ok(Model::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Model, E> {
                Ok(Model::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Model, E> {
                Ok(Model::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Model, E> {
                Ok(Model::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Model, E> {
                Ok(Model::Other)
            }
        }
        deserializer.deserialize_any(Value)
    }
}

/// One tool call of a `PostToolBatch`.
#[derive(Debug, Default, Deserialize)]
pub struct ToolCall {
    pub tool_name: Option<String>,
    pub tool_use_id: Option<String>,
}

impl HookInput {
    pub fn parse(bytes: &[u8]) -> Result<HookInput, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    pub fn event(&self) -> &str {
        self.hook_event_name.as_deref().unwrap_or("")
    }

    pub fn kind(&self) -> EventKind {
        EventKind::from_name(self.event())
    }

    /// The input reduced to the domain event the in-flight rules read.
    pub fn to_event(&self) -> Event {
        let named = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
        let kind = self.kind();
        Event {
            kind,
            session: named(&self.session_id),
            agent: named(&self.agent_id),
            tool: kind.is_tool().then(|| crate::event::ToolCall {
                name: self.tool_name.clone(),
                use_id: self.tool_use_id.clone(),
            }),
            batch: self
                .tool_calls
                .iter()
                .flatten()
                .map(|c| crate::event::ToolCall {
                    name: c.tool_name.clone(),
                    use_id: c.tool_use_id.clone(),
                })
                .collect(),
        }
    }

    /// A compaction request's end: the client runs each as an unnamed subagent and fires
    /// `SubagentStop` with an empty `agent_type` and a transcript path it never writes.
    pub fn is_compaction_stop(&self) -> bool {
        self.kind() == EventKind::SubagentStop
            && self.agent_type.as_deref() == Some("")
            && self
                .agent_transcript_path
                .as_deref()
                .is_none_or(|p| p.is_empty() || !std::path::Path::new(p).exists())
    }

    /// The model named in the input, if any (string or `{"id": ...}`), else the one its
    /// stream last sent ([`HookInput::sent_model`]).
    pub fn model_id(&self) -> Option<String> {
        let named = match self.model.as_ref() {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Object(o)) => {
                o.get("id").and_then(|v| v.as_str()).map(str::to_string)
            }
            _ => None,
        };
        named.or_else(|| self.sent_model.clone())
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
    fn tool_batch_names_its_calls_without_their_input_or_output() {
        // As 2.1.328 sends it after a tool refused by a permission rule.
        let input = HookInput::parse(br#"{"session_id":"s","hook_event_name":"PostToolBatch","tool_calls":[{"tool_name":"Bash","tool_input":{"command":"echo x"},"tool_use_id":"toolu_1","tool_response":"Permission to use Bash with command echo x has been denied."}]}"#).unwrap();
        let calls = input.tool_calls.unwrap();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].tool_name.as_deref(), Some("Bash"));
        assert_eq!(calls[0].tool_use_id.as_deref(), Some("toolu_1"));
    }

    #[test]
    fn of_a_tool_input_only_a_string_model_is_read() {
        let agent = HookInput::parse(br#"{"session_id":"s","hook_event_name":"PreToolUse","tool_name":"Agent","tool_input":{"description":"d","prompt":"secret","subagent_type":"general-purpose","model":"haiku"}}"#).unwrap();
        assert_eq!(agent.tool_input.model.as_deref(), Some("haiku"));
        for odd in [
            r#""tool_input":{"model":{"id":"x"},"n":[1,{"model":"y"}]}"#,
            r#""tool_input":"text""#,
            r#""tool_input":[1,2]"#,
            r#""tool_input":null"#,
            r#""tool_input":{"model":7}"#,
        ] {
            let input = HookInput::parse(format!(r#"{{"session_id":"s",{odd}}}"#).as_bytes())
                .unwrap_or_else(|e| panic!("{odd}: {e}"));
            assert_eq!(input.tool_input.model, None, "{odd}");
        }
    }

    #[test]
    fn lenient_about_types_it_does_not_read() {
        let input =
            HookInput::parse(br#"{"session_id":"s","tool_input":{"x":[1,2]},"new_field":null}"#)
                .unwrap();
        assert_eq!(input.event(), "");
    }
}
