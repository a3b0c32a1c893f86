//! Wire types for the transcript lines that matter, exactly as Claude Code writes them
//! (protocol README section 3). Everything is optional and unknown fields are ignored:
//! the format changes often. Message content is never deserialized into memory we keep.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::quota::Usage;

/// `{"type":"api-request", ...}`: what the client sent (2.1.x clients).
#[derive(Debug, Deserialize)]
pub struct ApiRequestLine {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The client's id for this request; assistant entries point back with `requestRef`.
    pub id: Option<String>,
    pub timestamp: Option<String>,
    #[serde(rename = "sessionId")]
    pub session_id: Option<String>,
    #[serde(rename = "agentId")]
    pub agent_id: Option<String>,
    #[serde(rename = "querySource")]
    pub query_source: Option<String>,
    pub params: Option<ApiParams>,
}

#[derive(Debug, Deserialize)]
pub struct ApiParams {
    pub model: Option<String>,
    pub max_tokens: Option<u64>,
}

/// `{"type":"assistant", ...}`: one (part of a) response.
#[derive(Debug, Deserialize)]
pub struct AssistantLine {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    #[serde(rename = "requestId")]
    pub request_id: Option<String>,
    #[serde(rename = "requestRef")]
    pub request_ref: Option<String>,
    pub timestamp: Option<String>,
    #[serde(rename = "sessionId")]
    pub session_id: Option<String>,
    #[serde(rename = "agentId")]
    pub agent_id: Option<String>,
    #[serde(rename = "isApiErrorMessage")]
    pub is_api_error_message: Option<bool>,
    pub cwd: Option<String>,
    pub message: Option<AssistantMessage>,
}

#[derive(Debug, Deserialize)]
pub struct AssistantMessage {
    pub id: Option<String>,
    pub model: Option<String>,
    pub usage: Option<WireUsage>,
}

#[derive(Debug, Default, Deserialize)]
pub struct WireUsage {
    pub input_tokens: Option<u64>,
    pub cache_creation_input_tokens: Option<u64>,
    pub cache_read_input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
}

impl WireUsage {
    pub fn to_usage(&self) -> Usage {
        Usage {
            input: self.input_tokens.unwrap_or(0),
            cache_write: self.cache_creation_input_tokens.unwrap_or(0),
            cache_read: self.cache_read_input_tokens.unwrap_or(0),
            output: self.output_tokens.unwrap_or(0),
        }
    }
}

/// `{"type":"cost-state", ...}`: the session's per-model totals, side requests included.
#[derive(Debug, Deserialize)]
pub struct CostStateLine {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    #[serde(rename = "sessionId")]
    pub session_id: Option<String>,
    #[serde(rename = "modelUsage", default)]
    pub model_usage: BTreeMap<String, ModelUsage>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ModelUsage {
    #[serde(rename = "inputTokens")]
    pub input_tokens: Option<u64>,
    #[serde(rename = "outputTokens")]
    pub output_tokens: Option<u64>,
    #[serde(rename = "cacheReadInputTokens")]
    pub cache_read_input_tokens: Option<u64>,
    #[serde(rename = "cacheCreationInputTokens")]
    pub cache_creation_input_tokens: Option<u64>,
}

impl ModelUsage {
    pub fn to_usage(&self) -> Usage {
        Usage {
            input: self.input_tokens.unwrap_or(0),
            cache_write: self.cache_creation_input_tokens.unwrap_or(0),
            cache_read: self.cache_read_input_tokens.unwrap_or(0),
            output: self.output_tokens.unwrap_or(0),
        }
    }
}

/// A transcript line reduced to what the assembler needs.
#[derive(Debug)]
pub enum Entry {
    ApiRequest(ApiRequestLine),
    Assistant(AssistantLine),
    CostState(CostStateLine),
    /// A user turn or tool result: whatever response came before is complete.
    UserTurn,
    /// Anything else (attachments, metadata, garbage).
    Other,
}

/// Classify one line, parsing only the kinds we use. Cheap substring checks first, so a
/// multi-megabyte tool result is never parsed.
///
/// Any line can hold another kind's name as a string value (a tool call such as
/// `Grep {"pattern":"api-request"}`), so a check whose parse finds another `type` falls
/// through to the next one instead of giving up on the line.
pub fn classify(line: &[u8]) -> Entry {
    use memchr::memmem;
    if memmem::find(line, b"\"api-request\"").is_some()
        && let Ok(parsed) = serde_json::from_slice::<ApiRequestLine>(line)
        && parsed.kind.as_deref() == Some("api-request")
    {
        return Entry::ApiRequest(parsed);
    }
    if memmem::find(line, b"\"assistant\"").is_some()
        && let Ok(parsed) = serde_json::from_slice::<AssistantLine>(line)
        && parsed.kind.as_deref() == Some("assistant")
    {
        return Entry::Assistant(parsed);
    }
    if memmem::find(line, b"\"cost-state\"").is_some()
        && let Ok(parsed) = serde_json::from_slice::<CostStateLine>(line)
        && parsed.kind.as_deref() == Some("cost-state")
    {
        return Entry::CostState(parsed);
    }
    if memmem::find(line, b"\"type\":\"user\"").is_some() {
        return Entry::UserTurn;
    }
    Entry::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_sample_lines() {
        let samples = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/samples/transcript-main.jsonl"
        );
        let text = std::fs::read_to_string(samples).unwrap();
        let mut counts = [0usize; 5];
        for line in text.lines() {
            let slot = match classify(line.as_bytes()) {
                Entry::ApiRequest(_) => 0,
                Entry::Assistant(_) => 1,
                Entry::CostState(_) => 2,
                Entry::UserTurn => 3,
                Entry::Other => 4,
            };
            counts[slot] += 1;
        }
        assert_eq!(counts[0], 4, "api-request lines");
        assert_eq!(counts[1], 4, "assistant lines");
        assert_eq!(counts[2], 1, "cost-state lines");
    }

    #[test]
    fn api_request_blob_is_not_an_api_request() {
        let line =
            br#"{"type":"api-request-blob","sessionId":"s","hash":"h","message":"[omitted]"}"#;
        assert!(matches!(classify(line), Entry::Other));
    }

    #[test]
    fn user_line_mentioning_assistant_is_a_user_turn() {
        let line = br#"{"type":"user","message":{"role":"user","content":"the \"assistant\" said"},"x":"assistant"}"#;
        assert!(matches!(classify(line), Entry::UserTurn));
    }

    #[test]
    fn response_whose_tool_input_names_a_line_type_is_still_a_response() {
        // Regression: a Grep for "api-request" made the response line look like an
        // api-request entry; the request was then recorded as never answered.
        for value in ["api-request", "cost-state"] {
            let line = format!(
                r#"{{"type":"assistant","requestId":"req-1","message":{{"id":"m","content":[{{"type":"tool_use","name":"Grep","input":{{"pattern":"{value}"}}}}],"usage":{{"input_tokens":100,"output_tokens":20}}}}}}"#
            );
            let Entry::Assistant(parsed) = classify(line.as_bytes()) else {
                panic!("{value}: {:?}", classify(line.as_bytes()))
            };
            assert_eq!(parsed.request_id.as_deref(), Some("req-1"));
        }
        let user = br#"{"type":"user","message":{"content":[{"type":"tool_result","content":"x"}]},"kind":"api-request"}"#;
        assert!(matches!(classify(user), Entry::UserTurn));
    }

    #[test]
    fn garbage_is_other() {
        for line in [
            &b""[..],
            b"{",
            b"\xff\xfe",
            b"{\"type\":\"assistant\",\"message\":7}",
            b"null",
        ] {
            let _ = classify(line);
        }
        assert!(matches!(classify(b"{\"type\":\"assistant\""), Entry::Other));
    }
}
