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
    /// Anything else (attachments, metadata, lines of kinds we do not read).
    Other,
    /// Not a JSON object, or a line of a kind we read that does not parse (torn,
    /// corrupted, not UTF-8).
    Malformed,
}

/// Classify one line, parsing only the kinds we use. The top-level `type` is found by
/// walking the object's keys and skipping values without decoding them; a user line's
/// `type` comes before its (possibly multi-megabyte) content, so tool results are never
/// scanned, let alone parsed.
pub fn classify(line: &[u8]) -> Entry {
    match top_level_type(line) {
        Some(b"api-request") => match serde_json::from_slice::<ApiRequestLine>(line) {
            Ok(parsed) if parsed.kind.as_deref() == Some("api-request") => {
                Entry::ApiRequest(parsed)
            }
            _ => Entry::Malformed,
        },
        Some(b"assistant") => match serde_json::from_slice::<AssistantLine>(line) {
            Ok(parsed) if parsed.kind.as_deref() == Some("assistant") => Entry::Assistant(parsed),
            _ => Entry::Malformed,
        },
        Some(b"cost-state") => match serde_json::from_slice::<CostStateLine>(line) {
            Ok(parsed) if parsed.kind.as_deref() == Some("cost-state") => Entry::CostState(parsed),
            _ => Entry::Malformed,
        },
        Some(b"user") => Entry::UserTurn,
        Some(_) => Entry::Other,
        None => {
            // No top-level string `type`: a JSON object without one is merely foreign.
            let trimmed = line.trim_ascii();
            if trimmed.first() == Some(&b'{') && trimmed.last() == Some(&b'}') {
                Entry::Other
            } else {
                Entry::Malformed
            }
        }
    }
}

/// The raw value of the top-level `"type"` key of a JSON object line, if it is a string
/// without escapes. Values before it are skipped, not decoded. `None` for anything that
/// is not an object with such a key (garbage, a torn line).
pub fn top_level_type(line: &[u8]) -> Option<&[u8]> {
    let mut at = skip_ws(line, 0);
    if line.get(at) != Some(&b'{') {
        return None;
    }
    at += 1;
    loop {
        at = skip_ws(line, at);
        if line.get(at) != Some(&b'"') {
            return None;
        }
        let key_end = string_end(line, at + 1)?;
        let key = &line[at + 1..key_end];
        at = skip_ws(line, key_end + 1);
        if line.get(at) != Some(&b':') {
            return None;
        }
        at = skip_ws(line, at + 1);
        if key == b"type" {
            if line.get(at) != Some(&b'"') {
                return None;
            }
            let end = string_end(line, at + 1)?;
            let value = &line[at + 1..end];
            return (!value.contains(&b'\\')).then_some(value);
        }
        at = skip_value(line, at)?;
        at = skip_ws(line, at);
        match line.get(at) {
            Some(b',') => at += 1,
            _ => return None,
        }
    }
}

fn skip_ws(line: &[u8], mut at: usize) -> usize {
    while matches!(line.get(at), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        at += 1;
    }
    at
}

/// Index of the quote closing the string whose body starts at `from`.
fn string_end(line: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let found = from + memchr::memchr2(b'"', b'\\', line.get(from..)?)?;
        if line[found] == b'"' {
            return Some(found);
        }
        from = found + 2;
    }
}

/// Index just past the JSON value starting at `at`.
fn skip_value(line: &[u8], at: usize) -> Option<usize> {
    match *line.get(at)? {
        b'"' => string_end(line, at + 1).map(|end| end + 1),
        b'{' => skip_nested(line, at, b'{', b'}'),
        b'[' => skip_nested(line, at, b'[', b']'),
        _ => {
            // A number, true, false or null: up to the next delimiter.
            let rest = line.get(at..)?;
            let len = rest
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n'))
                .unwrap_or(rest.len());
            (len > 0).then_some(at + len)
        }
    }
}

/// Past the object or array at `at`: only its own kind of bracket changes the depth
/// (the other kind is balanced inside it), and brackets inside strings do not count.
fn skip_nested(line: &[u8], at: usize, open: u8, close: u8) -> Option<usize> {
    let mut depth = 0usize;
    let mut from = at;
    loop {
        let found = from + memchr::memchr3(b'"', open, close, line.get(from..)?)?;
        match line[found] {
            b'"' => from = string_end(line, found + 1)? + 1,
            b if b == open => {
                depth += 1;
                from = found + 1;
            }
            _ => {
                depth -= 1;
                from = found + 1;
                if depth == 0 {
                    return Some(from);
                }
            }
        }
    }
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
        let mut counts = [0usize; 6];
        for line in text.lines() {
            let slot = match classify(line.as_bytes()) {
                Entry::ApiRequest(_) => 0,
                Entry::Assistant(_) => 1,
                Entry::CostState(_) => 2,
                Entry::UserTurn => 3,
                Entry::Other => 4,
                Entry::Malformed => 5,
            };
            counts[slot] += 1;
        }
        assert_eq!(counts[0], 4, "api-request lines");
        assert_eq!(counts[1], 4, "assistant lines");
        assert_eq!(counts[2], 1, "cost-state lines");
        assert_eq!(counts[5], 0, "malformed lines");
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
    fn finds_the_top_level_type_past_other_values() {
        let line = br#"{"parentUuid":null,"n":-1.5e3,"ok":true,"message":{"type":"message","content":[{"type":"text","text":"a \"}{[ b"}],"x":{}},"arr":[[1],{"a":"]"}],"type":"assistant"}"#;
        assert_eq!(top_level_type(line), Some(&b"assistant"[..]));
        assert_eq!(
            top_level_type(b" { \"type\" : \"user\" } "),
            Some(&b"user"[..])
        );
        assert_eq!(
            top_level_type(br#"{"a":"x\\","type":"user"}"#),
            Some(&b"user"[..])
        );
        for bad in [
            &b""[..],
            b"[]",
            b"{",
            b"{\"type\"",
            b"{\"type\":1}",
            b"{\"a\":{\"type\":\"user\"}}",
            b"{\"a\":\"unterminated",
            b"{\"a\" 1}",
            b"{\"type\":\"us\\u0065r\"}",
        ] {
            assert_eq!(
                top_level_type(bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn nested_user_type_is_not_a_user_turn() {
        let line = br#"{"type":"attachment","attachment":{"type":"user"}}"#;
        assert!(matches!(classify(line), Entry::Other));
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
        assert!(matches!(
            classify(b"{\"type\":\"assistant\""),
            Entry::Malformed
        ));
        assert!(matches!(classify(b"\xff\xfe"), Entry::Malformed));
        assert!(matches!(classify(b"{\"no_type\":1}"), Entry::Other));
        assert!(matches!(
            classify(b"{\"type\":\"assistant\",\"requestId\":\"\xff\"}"),
            Entry::Malformed
        ));
    }
}
