//! Turns transcript entries, in file order, into whole requests.
//!
//! An `api-request` entry says what was sent (model, the real `max_tokens`); the
//! `assistant` entries that follow carry the response and point back with `requestRef`.
//! One response can be split over several assistant entries (one per content block) with
//! the same request id: they are merged (field-wise maximum of usage) and the request is
//! complete once anything else follows, or when the caller flushes at the end of a turn.
//! The assembler's state is saved in the transcript's cursor between runs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::wire::{ApiRequestLine, AssistantLine, CostStateLine, Entry};
use crate::quota::Usage;

/// Pending `api-request` entries kept at most; older ones are reported unanswered.
const MAX_PENDING: usize = 64;

/// What the client said it sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentRequest {
    pub id: String,
    #[serde(default)]
    pub ts: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub max_tokens: Option<u64>,
    #[serde(default)]
    pub query_source: Option<String>,
    #[serde(default)]
    pub session: Option<String>,
    #[serde(default)]
    pub agent: Option<String>,
}

/// A response, possibly still being written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// Request id, else message id: what groups split entries.
    pub key: String,
    #[serde(default)]
    pub request_id: Option<String>,
    #[serde(default)]
    pub request_ref: Option<String>,
    #[serde(default)]
    pub first_ts: Option<String>,
    #[serde(default)]
    pub last_ts: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    pub usage: Usage,
    #[serde(default)]
    pub session: Option<String>,
    #[serde(default)]
    pub agent: Option<String>,
    #[serde(default)]
    pub cwd: Option<String>,
}

/// One thing the transcript told us.
#[derive(Debug, Clone, PartialEq)]
pub enum Assembled {
    /// A complete request: what was sent (when the transcript says) and its response.
    Answered {
        sent: Option<SentRequest>,
        response: Box<Response>,
    },
    /// Sent but never answered (an API error, a throttle, an abort).
    Unanswered(SentRequest),
    /// The session's cumulative per-model totals (side requests included).
    CostState {
        session: Option<String>,
        by_model: BTreeMap<String, Usage>,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Assembler {
    #[serde(default)]
    pending: Vec<SentRequest>,
    #[serde(default)]
    open: Option<Response>,
    /// Latest timestamp seen, for entries that carry none (cost-state).
    #[serde(default)]
    pub last_ts: Option<String>,
}

impl Assembler {
    pub fn feed(&mut self, entry: Entry, out: &mut Vec<Assembled>) {
        match entry {
            Entry::ApiRequest(line) => {
                self.close_open(out);
                self.sent(line, out);
            }
            Entry::Assistant(line) => self.assistant(line, out),
            Entry::CostState(line) => {
                self.close_open(out);
                out.push(cost_state(line));
            }
            Entry::UserTurn => self.close_open(out),
            Entry::Other | Entry::Malformed => {}
        }
    }

    /// The turn ended: the open response is complete; with `unanswered`, requests that
    /// never got a response are reported as such.
    pub fn flush(&mut self, unanswered: bool, out: &mut Vec<Assembled>) {
        self.close_open(out);
        if unanswered {
            out.extend(self.pending.drain(..).map(Assembled::Unanswered));
        }
    }

    fn sent(&mut self, line: ApiRequestLine, out: &mut Vec<Assembled>) {
        let Some(id) = line.id.filter(|id| !id.is_empty()) else {
            return;
        };
        if line.timestamp.is_some() {
            self.last_ts.clone_from(&line.timestamp);
        }
        let params = line.params;
        self.pending.push(SentRequest {
            id,
            ts: line.timestamp,
            model: params.as_ref().and_then(|p| p.model.clone()),
            max_tokens: params.as_ref().and_then(|p| p.max_tokens),
            query_source: line.query_source,
            session: line.session_id,
            agent: line.agent_id,
        });
        if self.pending.len() > MAX_PENDING {
            out.push(Assembled::Unanswered(self.pending.remove(0)));
        }
    }

    fn assistant(&mut self, line: AssistantLine, out: &mut Vec<Assembled>) {
        if line.timestamp.is_some() {
            self.last_ts.clone_from(&line.timestamp);
        }
        let message = line.message;
        let model = message.as_ref().and_then(|m| m.model.clone());
        if line.is_api_error_message == Some(true) || model.as_deref() == Some("<synthetic>") {
            // The client's own error text, not an API response.
            self.close_open(out);
            return;
        }
        let message_id = message.as_ref().and_then(|m| m.id.clone());
        let Some(key) = line
            .request_id
            .clone()
            .or(message_id)
            .or(line.request_ref.clone())
        else {
            return;
        };
        let usage = message
            .and_then(|m| m.usage)
            .map(|u| u.to_usage())
            .unwrap_or_default();
        if let Some(open) = self.open.as_mut()
            && open.key == key
        {
            open.usage = open.usage.max(usage);
            if line.timestamp.is_some() {
                open.last_ts = line.timestamp;
            }
            return;
        }
        self.close_open(out);
        self.open = Some(Response {
            key,
            request_id: line.request_id,
            request_ref: line.request_ref,
            first_ts: line.timestamp.clone(),
            last_ts: line.timestamp,
            model,
            usage,
            session: line.session_id,
            agent: line.agent_id,
            cwd: line.cwd,
        });
    }

    fn close_open(&mut self, out: &mut Vec<Assembled>) {
        let Some(response) = self.open.take() else {
            return;
        };
        let sent = match &response.request_ref {
            Some(reference) => self
                .pending
                .iter()
                .position(|s| &s.id == reference)
                .map(|at| self.pending.remove(at)),
            // Clients without `requestRef` write the request right before its response.
            None => None,
        };
        out.push(Assembled::Answered {
            sent,
            response: Box::new(response),
        });
    }
}

fn cost_state(line: CostStateLine) -> Assembled {
    Assembled::CostState {
        session: line.session_id,
        by_model: line
            .model_usage
            .iter()
            .map(|(model, u)| (model.clone(), u.to_usage()))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::wire::classify;

    fn run(lines: &[&str], flush: bool) -> Vec<Assembled> {
        let mut assembler = Assembler::default();
        let mut out = Vec::new();
        for line in lines {
            assembler.feed(classify(line.as_bytes()), &mut out);
        }
        if flush {
            assembler.flush(true, &mut out);
        }
        out
    }

    const API: &str = r#"{"type":"api-request","sessionId":"s","id":"r1","timestamp":"2026-11-22T01:00:00.000Z","querySource":"sdk","params":{"model":"us.anthropic.claude-opus-5-5","max_tokens":128000}}"#;

    fn assistant(request_id: &str, reference: &str, output: u64) -> String {
        format!(
            r#"{{"type":"assistant","requestId":"{request_id}","requestRef":"{reference}","sessionId":"s","timestamp":"2026-11-22T01:00:01.000Z","message":{{"id":"msg_{request_id}","model":"us.anthropic.claude-opus-5-5","content":[{{"type":"text","text":"secret"}}],"usage":{{"input_tokens":100,"cache_creation_input_tokens":10,"cache_read_input_tokens":5,"output_tokens":{output}}}}}}}"#
        )
    }

    const USER: &str = r#"{"type":"user","message":{"role":"user","content":"next"}}"#;

    #[test]
    fn request_and_response_pair_by_reference() {
        let a = assistant("req-1", "r1", 37);
        let out = run(&[API, &a, USER], false);
        assert_eq!(out.len(), 1);
        let Assembled::Answered { sent, response } = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(sent.as_ref().unwrap().max_tokens, Some(128000));
        assert_eq!(response.usage.output, 37);
        assert_eq!(response.request_id.as_deref(), Some("req-1"));
    }

    #[test]
    fn split_response_is_one_request_with_the_largest_usage() {
        let first = assistant("req-1", "r1", 3);
        let second = assistant("req-1", "r1", 250);
        let out = run(
            &[API, &first, r#"{"type":"tools-used"}"#, &second, USER],
            false,
        );
        assert_eq!(out.len(), 1, "{out:?}");
        let Assembled::Answered { response, .. } = &out[0] else {
            panic!()
        };
        assert_eq!(response.usage.output, 250);
    }

    #[test]
    fn open_response_waits_for_more_or_a_flush() {
        let a = assistant("req-1", "r1", 37);
        assert!(run(&[API, &a], false).is_empty());
        assert_eq!(run(&[API, &a], true).len(), 1);
    }

    #[test]
    fn unanswered_requests_surface_on_flush() {
        let out = run(&[API], true);
        assert!(matches!(&out[0], Assembled::Unanswered(s) if s.id == "r1"));
    }

    #[test]
    fn synthetic_error_messages_are_not_responses() {
        let error = r#"{"type":"assistant","isApiErrorMessage":true,"message":{"id":"x","model":"<synthetic>","usage":{"input_tokens":0,"output_tokens":0}}}"#;
        let out = run(&[API, error], true);
        assert_eq!(out.len(), 1);
        assert!(matches!(&out[0], Assembled::Unanswered(_)));
    }

    #[test]
    fn old_clients_without_api_request() {
        let a = r#"{"type":"assistant","requestId":"req-9","message":{"id":"m","model":"claude-sonnet-4-5","usage":{"input_tokens":1,"output_tokens":2}}}"#;
        let out = run(&[a, USER], false);
        let Assembled::Answered { sent, response } = &out[0] else {
            panic!()
        };
        assert!(sent.is_none());
        assert_eq!(response.usage.output, 2);
    }

    #[test]
    fn sample_transcripts_give_one_request_per_api_request() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/samples/");
        for (file, want) in [
            ("transcript-main.jsonl", 4),
            ("transcript-subagent-agent-aa784e05b3e2adbb4.jsonl", 3),
        ] {
            let text = std::fs::read_to_string(format!("{dir}{file}")).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            let out = run(&lines, true);
            let answered: Vec<_> = out
                .iter()
                .filter_map(|a| match a {
                    Assembled::Answered { sent, response } => {
                        Some((sent.clone(), response.clone()))
                    }
                    _ => None,
                })
                .collect();
            assert_eq!(answered.len(), want, "{file}");
            assert!(
                answered
                    .iter()
                    .all(|(s, _)| s.as_ref().unwrap().max_tokens == Some(128000))
            );
        }
    }
}
