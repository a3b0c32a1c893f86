//! Wire types for the transcript lines that matter, exactly as Claude Code writes them
//! (docs/protocol.md §6.2), and [`classify`], which reads a line into them. Everything is
//! optional and unknown fields are ignored: the format changes often. Message content is
//! never deserialized into memory we keep; the byte-level walking is in [`super::scan`].

use std::collections::BTreeMap;

use serde::Deserialize;

use super::scan::{
    Field, opt_null, opt_string, opt_u64, skip_value, skip_ws, string_if_any, walk_fields,
    walk_object,
};
use crate::quota::Usage;

/// `{"type":"api-request", ...}`: what the client sent (2.1.x clients).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiRequestLine {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The client's id for this request; assistant entries point back with `requestRef`.
    pub id: Option<String>,
    pub timestamp: Option<String>,
    pub session_id: Option<String>,
    pub agent_id: Option<String>,
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
#[serde(rename_all = "camelCase")]
pub struct AssistantLine {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub request_id: Option<String>,
    pub request_ref: Option<String>,
    pub timestamp: Option<String>,
    pub session_id: Option<String>,
    pub agent_id: Option<String>,
    pub is_api_error_message: Option<bool>,
    /// On the client's own error message: the HTTP status it gave up on (429: throttled).
    pub api_error_status: Option<u64>,
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
        usage_of(
            self.input_tokens,
            self.cache_creation_input_tokens,
            self.cache_read_input_tokens,
            self.output_tokens,
        )
    }
}

/// The four counts, spelled either way, as a `Usage`; a count not given is 0.
fn usage_of(
    input: Option<u64>,
    cache_write: Option<u64>,
    cache_read: Option<u64>,
    output: Option<u64>,
) -> Usage {
    Usage {
        input: input.unwrap_or(0),
        cache_write: cache_write.unwrap_or(0),
        cache_read: cache_read.unwrap_or(0),
        output: output.unwrap_or(0),
    }
}

/// `{"type":"cost-state", ...}`: the session's per-model totals, side requests included.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CostStateLine {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub session_id: Option<String>,
    #[serde(default)]
    pub model_usage: BTreeMap<String, ModelUsage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelUsage {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cache_read_input_tokens: Option<u64>,
    pub cache_creation_input_tokens: Option<u64>,
}

impl ModelUsage {
    pub fn to_usage(&self) -> Usage {
        usage_of(
            self.input_tokens,
            self.cache_creation_input_tokens,
            self.cache_read_input_tokens,
            self.output_tokens,
        )
    }
}

/// `{"type":"system", ...}` lines of the subtypes we read:
/// - `compact_boundary`: a compaction (`/compact` or auto-compaction) just ended. Its
///   requests write no `api-request` or `assistant` entry; this line is the only trace of
///   them, with when the compaction ended and how long it took.
/// - `api_error`: an attempt failed and the client retries it (`source: request_retry`);
///   `error.status` 429 is a throttle. The attempt that is not retried gets the synthetic
///   error message instead (and the `StopFailure` hook).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemLine {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub subtype: Option<String>,
    pub uuid: Option<String>,
    pub timestamp: Option<String>,
    pub session_id: Option<String>,
    pub agent_id: Option<String>,
    #[serde(rename = "compactMetadata")]
    pub metadata: Option<CompactMetadata>,
    /// `api_error`: the error; only its HTTP `status` is read (see [`SystemLine::status`]).
    pub error: Option<serde_json::Value>,
}

impl SystemLine {
    /// The HTTP status of an `api_error` line's error, if it names one.
    pub fn status(&self) -> Option<u64> {
        self.error.as_ref()?.get("status")?.as_u64()
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompactMetadata {
    /// `manual` (`/compact`) or `auto`.
    pub trigger: Option<String>,
    pub duration_ms: Option<u64>,
}

/// A transcript line reduced to what the assembler needs.
#[derive(Debug)]
pub enum Entry {
    ApiRequest(ApiRequestLine),
    Assistant(AssistantLine),
    CostState(CostStateLine),
    CompactBoundary(SystemLine),
    /// A failed attempt the client retries (`api_error`).
    ApiError(SystemLine),
    /// A user turn or tool result: whatever response came before is complete.
    UserTurn,
    /// Anything else (attachments, metadata, lines of kinds we do not read).
    Other,
    /// Not a JSON object, or a line of a kind we read that does not parse (torn,
    /// corrupted, not UTF-8).
    Malformed,
}

/// Classify one line, parsing only the kinds we use. The line's top-level keys are
/// walked and their values skipped without being decoded: a user line's `type` comes
/// before its (possibly multi-megabyte) content, so tool results are never scanned past
/// it; an assistant line yields its ids, model and usage without its content being
/// decoded. An `api-request` line yields its ids, model and max_tokens the same way; the
/// small `cost-state` lines are parsed whole.
pub fn classify(line: &[u8]) -> Entry {
    let start = skip_ws(line, 0);
    if line.get(start) != Some(&b'{') {
        return Entry::Malformed;
    }
    let mut kind: Option<&[u8]> = None;
    let mut fields = AssistantFields::default();
    let walked = walk_fields(line, start, &mut |key, value_start| {
        let raw = |end| &line[value_start..end];
        match key {
            b"type" => {
                let end = skip_value(line, value_start)?;
                kind = Some(raw(end));
                // Only an assistant line needs the keys that follow its type.
                return Some(if raw(end) == b"\"assistant\"" {
                    Field::Next(end)
                } else {
                    Field::Stop(end)
                });
            }
            // Read while it is skipped: its content is scanned once, not twice.
            b"message" if line.get(value_start) == Some(&b'{') => {
                let mut message = MessageFields::default();
                let walked = walk_object(line, value_start, &mut |key, value| {
                    match key {
                        b"id" => message.id = Some(value),
                        b"model" => message.model = Some(value),
                        b"usage" => message.usage = Some(value),
                        _ => {}
                    }
                    true
                });
                fields.message = Some(walked.map(|_| message));
                let end = match walked {
                    Some(end) => end,
                    None => skip_value(line, value_start)?,
                };
                return Some(Field::Next(end));
            }
            _ => {}
        }
        let slot = match key {
            b"requestId" => Some(&mut fields.request_id),
            b"requestRef" => Some(&mut fields.request_ref),
            b"timestamp" => Some(&mut fields.timestamp),
            b"sessionId" => Some(&mut fields.session_id),
            b"agentId" => Some(&mut fields.agent_id),
            b"isApiErrorMessage" => Some(&mut fields.is_api_error_message),
            b"apiErrorStatus" => Some(&mut fields.api_error_status),
            b"cwd" => Some(&mut fields.cwd),
            _ => None,
        };
        keep_value(line, value_start, slot, |raw| Some(Some(raw)))
    });
    match kind.map(|k| k.strip_prefix(b"\"").and_then(|k| k.strip_suffix(b"\""))) {
        Some(Some(b"user")) => Entry::UserTurn,
        Some(Some(b"assistant")) if walked.is_some() => match fields.line() {
            Some(parsed) => Entry::Assistant(parsed),
            None => Entry::Malformed,
        },
        Some(Some(b"api-request")) => match api_request(line, start) {
            Some(parsed) if parsed.kind.as_deref() == Some("api-request") => {
                Entry::ApiRequest(parsed)
            }
            _ => Entry::Malformed,
        },
        Some(Some(b"cost-state")) => match serde_json::from_slice::<CostStateLine>(line) {
            Ok(parsed) if parsed.kind.as_deref() == Some("cost-state") => Entry::CostState(parsed),
            _ => Entry::Malformed,
        },
        // System lines are small and mostly of other subtypes: parsed only when one we
        // read is there at all.
        Some(Some(b"system"))
            if memchr::memmem::find(line, b"\"compact_boundary\"").is_some()
                || memchr::memmem::find(line, b"\"api_error\"").is_some() =>
        {
            match serde_json::from_slice::<SystemLine>(line) {
                Ok(parsed) if parsed.kind.as_deref() != Some("system") => Entry::Other,
                Ok(parsed) => match parsed.subtype.as_deref() {
                    Some("compact_boundary") => Entry::CompactBoundary(parsed),
                    Some("api_error") => Entry::ApiError(parsed),
                    _ => Entry::Other,
                },
                Err(_) => Entry::Malformed,
            }
        }
        Some(Some(b"assistant")) | None if walked.is_none() => Entry::Malformed,
        // No top-level string `type`, or one we do not read: merely foreign.
        _ => Entry::Other,
    }
}

/// The fields of the `api-request` line whose `{` is at `start`, walked like an assistant
/// line's instead of parsed whole (its hashes and cache paths are skipped, not decoded).
/// `None` where a full parse into [`ApiRequestLine`] would fail: a malformed line, a
/// field of the wrong type, a string that does not decode.
fn api_request(line: &[u8], start: usize) -> Option<ApiRequestLine> {
    let mut out = ApiRequestLine {
        kind: None,
        id: None,
        timestamp: None,
        session_id: None,
        agent_id: None,
        query_source: None,
        params: None,
    };
    walk_fields(line, start, &mut |key, at| {
        if key == b"params" {
            let (params, end) = match line.get(at) {
                Some(b'{') => {
                    let mut params = ApiParams {
                        model: None,
                        max_tokens: None,
                    };
                    let mut bad = false;
                    let end = walk_object(line, at, &mut |key, value| {
                        let ok = match key {
                            b"model" => opt_string(value).map(|v| params.model = v),
                            b"max_tokens" => opt_u64(value).map(|v| params.max_tokens = v),
                            _ => Some(()),
                        };
                        bad |= ok.is_none();
                        !bad
                    })?;
                    (!bad).then_some((Some(params), end))?
                }
                _ => {
                    let end = skip_value(line, at)?;
                    (opt_null(&line[at..end])?, end)
                }
            };
            out.params = params;
            return Some(Field::Next(end));
        }
        let slot = match key {
            b"type" => Some(&mut out.kind),
            b"id" => Some(&mut out.id),
            b"timestamp" => Some(&mut out.timestamp),
            b"sessionId" => Some(&mut out.session_id),
            b"agentId" => Some(&mut out.agent_id),
            b"querySource" => Some(&mut out.query_source),
            _ => None,
        };
        keep_value(line, at, slot, opt_string)
    })?;
    Some(out)
}

/// Skip the value at `at` and, where `slot` is a field the caller keeps, store it through
/// `keep` (which may refuse it: the line is then malformed).
fn keep_value<'a, T>(
    line: &'a [u8],
    at: usize,
    slot: Option<&mut T>,
    keep: impl FnOnce(&'a [u8]) -> Option<T>,
) -> Option<Field> {
    let end = skip_value(line, at)?;
    if let Some(slot) = slot {
        *slot = keep(&line[at..end])?;
    }
    Some(Field::Next(end))
}

/// Where an assistant line's fields are (raw JSON values).
#[derive(Default)]
struct AssistantFields<'a> {
    /// `None` inside if the message object is malformed.
    message: Option<Option<MessageFields<'a>>>,
    request_id: Option<&'a [u8]>,
    request_ref: Option<&'a [u8]>,
    timestamp: Option<&'a [u8]>,
    session_id: Option<&'a [u8]>,
    agent_id: Option<&'a [u8]>,
    is_api_error_message: Option<&'a [u8]>,
    api_error_status: Option<&'a [u8]>,
    cwd: Option<&'a [u8]>,
}

impl AssistantFields<'_> {
    /// The line's fields decoded; `None` if one of them is a string that does not decode
    /// (bad UTF-8, bad escape) or the message is not a well-formed object.
    fn line(&self) -> Option<AssistantLine> {
        let message = match &self.message {
            Some(Some(raw)) => Some(raw.decode()?),
            Some(None) => return None,
            None => None,
        };
        Some(AssistantLine {
            kind: Some("assistant".to_string()),
            request_id: string_if_any(self.request_id)?,
            request_ref: string_if_any(self.request_ref)?,
            timestamp: string_if_any(self.timestamp)?,
            session_id: string_if_any(self.session_id)?,
            agent_id: string_if_any(self.agent_id)?,
            is_api_error_message: match self.is_api_error_message {
                Some(b"true") => Some(true),
                Some(b"false") => Some(false),
                _ => None,
            },
            api_error_status: self
                .api_error_status
                .and_then(|raw| std::str::from_utf8(raw).ok()?.parse().ok()),
            cwd: string_if_any(self.cwd)?,
            message,
        })
    }
}

/// Where `message.id`, `message.model` and `message.usage` are (raw JSON values).
#[derive(Default)]
struct MessageFields<'a> {
    id: Option<&'a [u8]>,
    model: Option<&'a [u8]>,
    usage: Option<&'a [u8]>,
}

impl MessageFields<'_> {
    /// `None` if the id or model is a string that does not decode.
    fn decode(&self) -> Option<AssistantMessage> {
        Some(AssistantMessage {
            id: string_if_any(self.id)?,
            model: string_if_any(self.model)?,
            usage: self
                .usage
                .and_then(|raw| serde_json::from_slice::<WireUsage>(raw).ok()),
        })
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
        let mut counts = [0usize; 8];
        for line in text.lines() {
            let slot = match classify(line.as_bytes()) {
                Entry::ApiRequest(_) => 0,
                Entry::Assistant(_) => 1,
                Entry::CostState(_) => 2,
                Entry::UserTurn => 3,
                Entry::Other => 4,
                Entry::Malformed => 5,
                Entry::CompactBoundary(_) => 6,
                Entry::ApiError(_) => 7,
            };
            counts[slot] += 1;
        }
        assert_eq!(counts[0], 4, "api-request lines");
        assert_eq!(counts[1], 4, "assistant lines");
        assert_eq!(counts[2], 1, "cost-state lines");
        assert_eq!(counts[5], 0, "malformed lines");
    }

    #[test]
    fn compact_boundary_is_read_and_other_system_lines_are_not() {
        // As the 2.1.328 client writes it after `/compact`.
        let line = br#"{"parentUuid":null,"logicalParentUuid":"p","isSidechain":false,"type":"system","subtype":"compact_boundary","content":"Conversation compacted","isMeta":false,"timestamp":"2026-12-02T13:08:29.147Z","uuid":"57099add","level":"info","compactMetadata":{"trigger":"manual","preTokens":5507,"preCompactOrganizationsCoverStart":false,"durationMs":323,"postTokens":2542,"cumulativeDroppedTokens":2965},"sessionId":"s","version":"2.1.328"}"#;
        let Entry::CompactBoundary(b) = classify(line) else {
            panic!("not a compact boundary");
        };
        assert_eq!(b.uuid.as_deref(), Some("57099add"));
        assert_eq!(b.timestamp.as_deref(), Some("2026-12-02T13:08:29.147Z"));
        let meta = b.metadata.unwrap();
        assert_eq!(
            (meta.trigger.as_deref(), meta.duration_ms),
            (Some("manual"), Some(323))
        );
        let summary = br#"{"type":"system","subtype":"stop_hook_summary","hookCount":2,"content":"compact_boundary"}"#;
        assert!(matches!(classify(summary), Entry::Other));
        let quoted =
            br#"{"type":"system","subtype":"stop_hook_summary","note":"\"compact_boundary\""}"#;
        assert!(matches!(classify(quoted), Entry::Other));
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

    /// The real client's lines of one type, from the sample transcripts.
    fn sample_lines(kind: &str) -> Vec<String> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/samples/");
        let needle = format!("\"type\":\"{kind}\"");
        let mut lines = Vec::new();
        for file in [
            "transcript-main.jsonl",
            "transcript-subagent-agent-aa784e05b3e2adbb4.jsonl",
        ] {
            let text = std::fs::read_to_string(format!("{dir}{file}")).unwrap();
            lines.extend(
                text.lines()
                    .filter(|l| l.contains(&needle))
                    .map(str::to_string),
            );
        }
        lines
    }

    #[test]
    fn assistant_fields_match_a_full_parse() {
        let mut lines = sample_lines("assistant");
        lines.push(
            r#"{"message":{"content":[{"type":"text","text":"say \"}\" {"}],"id":"m\u00e9","model":null,"usage":{"input_tokens":3}},"requestId":"r\"1","isApiErrorMessage":true,"type":"assistant","agentId":null,"cwd":"/p\\q"}"#
                .to_string(),
        );
        lines.push(r#"{"type":"assistant","message":null,"timestamp":"t"}"#.to_string());
        assert!(lines.len() >= 8);
        for line in &lines {
            let full: AssistantLine = serde_json::from_str(line).unwrap();
            let Entry::Assistant(fast) = classify(line.as_bytes()) else {
                panic!("not an assistant line: {line}");
            };
            assert_eq!(format!("{fast:?}"), format!("{full:?}"), "{line}");
        }
    }

    #[test]
    fn api_request_fields_match_a_full_parse() {
        let mut lines = sample_lines("api-request");
        lines.push(
            r#"{"type":"api-request","id":"r\"1","params":{"tools":[{"name":"}"}],"max_tokens":64000,"model":"us.anthropic.claude-opus-5-5"},"agentId":null,"querySource":"sdk\u00e9"}"#
                .to_string(),
        );
        lines.push(r#"{"type":"api-request","params":null,"timestamp":"t"}"#.to_string());
        lines.push(r#"{"type":"api-request","params":{"max_tokens":null}}"#.to_string());
        assert!(lines.len() >= 7);
        for line in &lines {
            let full: ApiRequestLine = serde_json::from_str(line).unwrap();
            let Entry::ApiRequest(fast) = classify(line.as_bytes()) else {
                panic!("not an api-request line: {line}");
            };
            assert_eq!(format!("{fast:?}"), format!("{full:?}"), "{line}");
        }
        // Where the full parse fails, so does the walk.
        for bad in [
            r#"{"type":"api-request","id":7}"#,
            r#"{"type":"api-request","params":{"max_tokens":-1}}"#,
            r#"{"type":"api-request","params":{"max_tokens":1.5}}"#,
            r#"{"type":"api-request","params":{"model":["x"]}}"#,
            r#"{"type":"api-request","params":"x"}"#,
            r#"{"type":"api-request","id":"torn"#,
        ] {
            assert!(
                serde_json::from_str::<ApiRequestLine>(bad).is_err(),
                "{bad}"
            );
            assert!(
                matches!(classify(bad.as_bytes()), Entry::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn nested_user_type_is_not_a_user_turn() {
        let line = br#"{"type":"attachment","attachment":{"type":"user"}}"#;
        assert!(matches!(classify(line), Entry::Other));
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
