//! Turns transcript entries, in file order, into whole requests.
//!
//! An `api-request` entry says what was sent (model, the real `max_tokens`); the
//! `assistant` entries that follow carry the response and point back with `requestRef`.
//! One response can be split over several assistant entries (one per content block) with
//! the same request id. The client writes them together once the stream has ended, each
//! with the full final usage, so the first one completes the request and the rest are
//! skipped (the ledger dedupes by request id as a second line of defence).
//!
//! Compaction requests (`/compact`, auto-compaction) write neither: the client writes a
//! `compact_boundary` entry once the compaction is done. They are sent with the session's
//! model and max_tokens (observed on 2.1.328: the same as its main-loop requests, with
//! `CLAUDE_CODE_MAX_OUTPUT_TOKENS` and `--model` alike), so the last `api-request` seen
//! stands in for what they sent; their usage is only in the next `cost-state` totals, so a
//! boundary waits for them and comes out with them.
//!
//! An assistant entry without `requestRef` (a client that does not write the link) answers
//! the last request its stream sent. A 429 the client retries leaves an `api_error` entry:
//! a throttle of the attempt sent before it.
//!
//! A request the client sent but that never got a response (a throttle, an API error, a
//! retried attempt) is reported as unanswered: as soon as a later request of the same
//! transcript is answered or the client writes its synthetic error message, or when the
//! caller says the turn that sent it is over. The state is saved in the cursor.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::wire::{ApiRequestLine, AssistantLine, CostStateLine, Entry, SystemLine};
use crate::quota::Usage;

/// Pending `api-request` entries kept at most; older ones are reported unanswered.
const MAX_PENDING: usize = 64;
/// Compactions kept at most while no `cost-state` follows; older ones are dropped.
const MAX_COMPACTIONS: usize = 64;

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

/// A response as its first assistant entry describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// Request id, else message id: what groups split entries.
    pub key: String,
    #[serde(default)]
    pub request_id: Option<String>,
    #[serde(default)]
    pub request_ref: Option<String>,
    #[serde(default)]
    pub ts: Option<String>,
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

/// A compaction the transcript's `compact_boundary` entry tells of: one request the client
/// sent with the session's model and max_tokens, whose usage the next `cost-state` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Compaction {
    /// The boundary entry's uuid (else its timestamp): names the request record.
    pub id: String,
    /// When it ended (the boundary's timestamp).
    #[serde(default)]
    pub ts: Option<String>,
    /// How long it took: it started this long before `ts`.
    #[serde(default)]
    pub duration_ms: Option<u64>,
    /// The model and max_tokens of the session's last `api-request`, if any was seen.
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub max_tokens: Option<u64>,
    #[serde(default)]
    pub session: Option<String>,
    /// `manual` or `auto`.
    #[serde(default)]
    pub trigger: Option<String>,
}

/// One thing the transcript told us.
#[derive(Debug, Clone, PartialEq)]
pub enum Assembled {
    /// A complete request: what was sent (when the transcript says) and its response.
    Answered {
        sent: Option<SentRequest>,
        response: Box<Response>,
    },
    /// Sent but never answered (an API error, a throttle, a retried attempt).
    Unanswered(SentRequest),
    /// A 429 the client received and retried (`api_error`): named by the error entry,
    /// with the model and max_tokens of the attempt it refused.
    Throttled(SentRequest),
    /// The client gave up on a request after a 429 (its own error message, no `api_error`
    /// entry for this last attempt): named by the refused call's `x-amzn-requestid`, which
    /// the `StopFailure` hook names its record by too, so the two count once.
    GaveUp(SentRequest),
    /// The session's cumulative per-model totals (side requests included), and the
    /// compactions since the last totals (their usage is in these).
    CostState {
        session: Option<String>,
        by_model: BTreeMap<String, Usage>,
        compactions: Vec<Compaction>,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Assembler {
    #[serde(default)]
    pending: Vec<SentRequest>,
    /// Key of the last response seen, to skip the rest of its split entries.
    #[serde(default)]
    last_key: Option<String>,
    /// Latest timestamp seen, for entries that carry none (cost-state).
    #[serde(default)]
    pub last_ts: Option<String>,
    /// Model and max_tokens of the last `api-request`: what a compaction sends.
    #[serde(default)]
    last_sent: Option<(Option<String>, Option<u64>)>,
    /// Compactions waiting for the `cost-state` that holds their usage.
    #[serde(default)]
    compactions: Vec<Compaction>,
}

impl Assembler {
    /// The model of the last `api-request` read: the model in use while its response is
    /// still being streamed (the `assistant` entries are written once it has ended).
    pub fn last_sent_model(&self) -> Option<&str> {
        self.last_sent.as_ref()?.0.as_deref()
    }

    pub fn feed(&mut self, entry: Entry, out: &mut Vec<Assembled>) {
        match entry {
            Entry::ApiRequest(line) => self.sent(line, out),
            Entry::Assistant(line) => self.assistant(line, out),
            Entry::CostState(line) => {
                let compactions = std::mem::take(&mut self.compactions);
                out.push(cost_state(line, compactions));
            }
            Entry::CompactBoundary(line) => self.compaction(line),
            Entry::ApiError(line) => self.api_error(line, out),
            Entry::UserTurn | Entry::Other | Entry::Malformed => {}
        }
    }

    /// The turn that sent them is over: requests sent at or before `cutoff` that still
    /// have no response never will.
    pub fn flush_unanswered(&mut self, cutoff: DateTime<Utc>, out: &mut Vec<Assembled>) {
        let (done, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|s| {
                s.ts.as_deref()
                    .and_then(parse_ts)
                    .is_none_or(|ts| ts <= cutoff)
            });
        self.pending = waiting;
        out.extend(done.into_iter().map(Assembled::Unanswered));
    }

    fn sent(&mut self, line: ApiRequestLine, out: &mut Vec<Assembled>) {
        let Some(id) = line.id.filter(|id| !id.is_empty()) else {
            return;
        };
        if line.timestamp.is_some() {
            self.last_ts.clone_from(&line.timestamp);
        }
        let params = line.params;
        if let Some(p) = &params {
            self.last_sent = Some((p.model.clone(), p.max_tokens));
        }
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

    fn compaction(&mut self, line: SystemLine) {
        if line.timestamp.is_some() {
            self.last_ts.clone_from(&line.timestamp);
        }
        let named = |id: Option<String>| id.filter(|id| !id.is_empty());
        let Some(id) = named(line.uuid).or(named(line.timestamp.clone())) else {
            return;
        };
        let (model, max_tokens) = self.last_sent.clone().unwrap_or_default();
        let metadata = line.metadata;
        self.compactions.push(Compaction {
            id,
            ts: line.timestamp,
            duration_ms: metadata.as_ref().and_then(|m| m.duration_ms),
            model,
            max_tokens,
            session: line.session_id,
            trigger: metadata.and_then(|m| m.trigger),
        });
        if self.compactions.len() > MAX_COMPACTIONS {
            self.compactions.remove(0);
        }
    }

    /// The request a response without `requestRef` answers: the last one pending of the
    /// same stream (subagent id, where both say), the stream's earlier ones unanswered.
    fn answered_in_order(
        &mut self,
        agent: Option<&str>,
        out: &mut Vec<Assembled>,
    ) -> Option<SentRequest> {
        let same_stream = |s: &SentRequest| match (s.agent.as_deref(), agent) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        let at = self.pending.iter().rposition(same_stream)?;
        let sent = self.pending.remove(at);
        let (earlier, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .enumerate()
            .partition(|(i, s)| *i < at && same_stream(s));
        self.pending = rest.into_iter().map(|(_, s)| s).collect();
        out.extend(earlier.into_iter().map(|(_, s)| Assembled::Unanswered(s)));
        Some(sent)
    }

    /// A failed attempt the client retries: a 429 is a throttle of the request last sent
    /// (which itself stays pending until a later one is answered).
    fn api_error(&mut self, line: SystemLine, out: &mut Vec<Assembled>) {
        if line.timestamp.is_some() {
            self.last_ts.clone_from(&line.timestamp);
        }
        if line.status() != Some(429) {
            return;
        }
        let named = |id: Option<String>| id.filter(|id| !id.is_empty());
        let Some(id) = named(line.uuid).or(named(line.timestamp.clone())) else {
            return;
        };
        let attempt = self.pending.last();
        let (model, max_tokens) = match attempt {
            Some(sent) => (sent.model.clone(), sent.max_tokens),
            None => self.last_sent.clone().unwrap_or_default(),
        };
        out.push(Assembled::Throttled(SentRequest {
            id,
            ts: line.timestamp,
            model,
            max_tokens,
            query_source: attempt.and_then(|s| s.query_source.clone()),
            session: line.session_id,
            agent: line.agent_id,
        }));
    }

    fn assistant(&mut self, line: AssistantLine, out: &mut Vec<Assembled>) {
        if line.timestamp.is_some() {
            self.last_ts.clone_from(&line.timestamp);
        }
        let message = line.message;
        let model = message.as_ref().and_then(|m| m.model.clone());
        if line.is_api_error_message == Some(true) || model.as_deref() == Some("<synthetic>") {
            // The client gave up: its own error text stands in for a response.
            if line.api_error_status == Some(429) {
                let attempt = self.pending.last();
                let (model, max_tokens) = match attempt {
                    Some(sent) => (sent.model.clone(), sent.max_tokens),
                    None => self.last_sent.clone().unwrap_or_default(),
                };
                let id = line
                    .request_id
                    .clone()
                    .filter(|id| !id.is_empty())
                    .or_else(|| line.timestamp.clone());
                if let Some(id) = id {
                    out.push(Assembled::GaveUp(SentRequest {
                        id,
                        ts: line.timestamp.clone(),
                        model,
                        max_tokens,
                        query_source: attempt.and_then(|s| s.query_source.clone()),
                        session: line.session_id.clone(),
                        agent: line.agent_id.clone(),
                    }));
                }
            }
            out.extend(self.pending.drain(..).map(Assembled::Unanswered));
            self.last_key = None;
            return;
        }
        let message_id = message.as_ref().and_then(|m| m.id.clone());
        let named = |id: Option<String>| id.filter(|id| !id.is_empty());
        let Some(key) = named(line.request_id.clone())
            .or(named(message_id))
            .or(named(line.request_ref.clone()))
        else {
            return;
        };
        if self.last_key.as_ref() == Some(&key) {
            return;
        }
        self.last_key = Some(key.clone());
        let sent = match line.request_ref.as_ref() {
            Some(reference) => self
                .pending
                .iter()
                .position(|s| &s.id == reference)
                .map(|at| {
                    // Requests sent before this one and still unanswered were attempts that
                    // failed.
                    let earlier: Vec<SentRequest> = self.pending.drain(..at).collect();
                    out.extend(earlier.into_iter().map(Assembled::Unanswered));
                    self.pending.remove(0)
                }),
            // No link (a client that does not write it): a stream sends one request at a
            // time, so this answers the last one its stream sent; the stream's earlier ones
            // were attempts that failed.
            None => self.answered_in_order(line.agent_id.as_deref(), out),
        };
        let usage = message
            .and_then(|m| m.usage)
            .map(|u| u.to_usage())
            .unwrap_or_default();
        out.push(Assembled::Answered {
            sent,
            response: Box::new(Response {
                key,
                request_id: line.request_id,
                request_ref: line.request_ref,
                ts: line.timestamp,
                model,
                usage,
                session: line.session_id,
                agent: line.agent_id,
                cwd: line.cwd,
            }),
        });
    }
}

fn parse_ts(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn cost_state(line: CostStateLine, compactions: Vec<Compaction>) -> Assembled {
    Assembled::CostState {
        session: line.session_id,
        by_model: line
            .model_usage
            .iter()
            .map(|(model, u)| (model.clone(), u.to_usage()))
            .collect(),
        compactions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::wire::classify;

    fn run(lines: &[&str], cutoff: Option<&str>) -> Vec<Assembled> {
        let mut assembler = Assembler::default();
        let mut out = Vec::new();
        for line in lines {
            assembler.feed(classify(line.as_bytes()), &mut out);
        }
        if let Some(cutoff) = cutoff {
            assembler.flush_unanswered(cutoff.parse().unwrap(), &mut out);
        }
        out
    }

    fn api(id: &str, ts: &str) -> String {
        format!(
            r#"{{"type":"api-request","sessionId":"s","id":"{id}","timestamp":"{ts}","querySource":"sdk","params":{{"model":"us.anthropic.claude-opus-5-5","max_tokens":128000}}}}"#
        )
    }

    fn assistant(request_id: &str, reference: &str, output: u64) -> String {
        format!(
            r#"{{"type":"assistant","requestId":"{request_id}","requestRef":"{reference}","sessionId":"s","timestamp":"2026-11-22T01:00:01.000Z","message":{{"id":"msg_{request_id}","model":"us.anthropic.claude-opus-5-5","content":[{{"type":"text","text":"secret"}}],"usage":{{"input_tokens":100,"cache_creation_input_tokens":10,"cache_read_input_tokens":5,"output_tokens":{output}}}}}}}"#
        )
    }

    const T0: &str = "2026-11-22T01:00:00.000Z";
    const T1: &str = "2026-11-22T01:00:05.000Z";

    #[test]
    fn request_and_response_pair_by_reference() {
        let out = run(&[&api("r1", T0), &assistant("req-1", "r1", 37)], None);
        assert_eq!(out.len(), 1);
        let Assembled::Answered { sent, response } = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(sent.as_ref().unwrap().max_tokens, Some(128000));
        assert_eq!(response.usage.output, 37);
        assert_eq!(response.request_id.as_deref(), Some("req-1"));
    }

    #[test]
    fn split_response_is_one_request() {
        let first = assistant("req-1", "r1", 91);
        let out = run(
            &[
                &api("r1", T0),
                &first,
                r#"{"type":"tools-used"}"#,
                &first,
                &first,
            ],
            None,
        );
        assert_eq!(out.len(), 1, "{out:?}");
    }

    #[test]
    fn retried_attempts_are_unanswered_once_a_later_one_is_answered() {
        let out = run(
            &[
                &api("r1", T0),
                &api("r2", T0),
                &api("r3", T0),
                &assistant("req-3", "r3", 5),
            ],
            None,
        );
        let ids: Vec<String> = out
            .iter()
            .map(|a| match a {
                Assembled::Unanswered(s) => format!("x:{}", s.id),
                Assembled::Throttled(s) => format!("429:{}", s.id),
                Assembled::GaveUp(s) => format!("gave-up:{}", s.id),
                Assembled::Answered { sent, .. } => format!("ok:{}", sent.as_ref().unwrap().id),
                Assembled::CostState { .. } => "cost".into(),
            })
            .collect();
        assert_eq!(ids, vec!["x:r1", "x:r2", "ok:r3"]);
    }

    #[test]
    fn turn_end_reports_only_requests_sent_before_it() {
        let out = run(
            &[&api("r1", T0), &api("r2", T1)],
            Some("2026-11-22T01:00:01.000Z"),
        );
        assert_eq!(out.len(), 1);
        assert!(matches!(&out[0], Assembled::Unanswered(s) if s.id == "r1"));
    }

    #[test]
    fn synthetic_error_message_ends_the_pending_requests() {
        let error = r#"{"type":"assistant","isApiErrorMessage":true,"requestId":"amzn-1","message":{"id":"x","model":"<synthetic>","usage":{"input_tokens":0,"output_tokens":0}}}"#;
        let out = run(&[&api("r1", T0), error], None);
        assert_eq!(out.len(), 1);
        assert!(matches!(&out[0], Assembled::Unanswered(s) if s.id == "r1"));
    }

    #[test]
    fn giving_up_on_a_429_is_a_throttle_named_by_its_request_id() {
        // The last attempt leaves no `api_error` entry: only the client's own message says
        // it was throttled (2.1.328).
        let error = r#"{"type":"assistant","timestamp":"2026-11-22T01:00:02.000Z","isApiErrorMessage":true,"apiErrorStatus":429,"error":"rate_limit","requestId":"amzn-9","sessionId":"s","message":{"id":"x","model":"<synthetic>","usage":{"input_tokens":0,"output_tokens":0}}}"#;
        let out = run(&[&api("r1", T0), error], None);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(
            matches!(&out[0], Assembled::GaveUp(s) if s.id == "amzn-9" && s.max_tokens.is_some()),
            "{out:?}"
        );
        assert!(matches!(&out[1], Assembled::Unanswered(s) if s.id == "r1"));
    }

    #[test]
    fn empty_ids_do_not_name_a_response() {
        // Regression (found by the property tests): `"id":""` made an empty group key.
        let a = r#"{"type":"assistant","requestId":"","requestRef":"r1","message":{"id":"","usage":{"input_tokens":1}}}"#;
        let out = run(&[a], None);
        let Assembled::Answered { response, .. } = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(response.key, "r1");
        let nameless = r#"{"type":"assistant","requestId":"","message":{"id":""}}"#;
        assert!(run(&[nameless], None).is_empty());
    }

    #[test]
    fn compaction_waits_for_the_totals_with_the_sessions_model_and_max_tokens() {
        let boundary = r#"{"type":"system","subtype":"compact_boundary","uuid":"b1","timestamp":"2026-11-22T01:00:09.000Z","sessionId":"s","compactMetadata":{"trigger":"manual","durationMs":2000}}"#;
        let totals = r#"{"type":"cost-state","sessionId":"s","modelUsage":{"us.anthropic.claude-opus-5-5":{"inputTokens":3000,"outputTokens":20}}}"#;
        let out = run(
            &[&api("r1", T0), &assistant("req-1", "r1", 5), boundary],
            None,
        );
        assert_eq!(out.len(), 1, "the boundary alone says nothing yet: {out:?}");
        let out = run(
            &[
                &api("r1", T0),
                &assistant("req-1", "r1", 5),
                boundary,
                totals,
                totals,
            ],
            None,
        );
        let Assembled::CostState { compactions, .. } = &out[1] else {
            panic!("{out:?}")
        };
        assert_eq!(compactions.len(), 1);
        let c = &compactions[0];
        assert_eq!(c.id, "b1");
        assert_eq!(c.model.as_deref(), Some("us.anthropic.claude-opus-5-5"));
        assert_eq!((c.max_tokens, c.duration_ms), (Some(128000), Some(2000)));
        assert_eq!(c.trigger.as_deref(), Some("manual"));
        // Taken by the first totals after it, not again.
        let Assembled::CostState { compactions, .. } = &out[2] else {
            panic!("{out:?}")
        };
        assert!(compactions.is_empty());
    }

    /// The sample transcripts with every `requestRef` taken out.
    fn without_request_refs(file: &str) -> Vec<String> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/samples/");
        let text = std::fs::read_to_string(format!("{dir}{file}")).unwrap();
        text.lines()
            .map(|line| {
                let Some(at) = line.find(r#""requestRef":""#) else {
                    return line.to_string();
                };
                let value = at + r#""requestRef":""#.len();
                let end = value + line[value..].find('"').unwrap();
                let comma = usize::from(line[end + 1..].starts_with(','));
                format!("{}{}", &line[..at], &line[end + 1 + comma..])
            })
            .collect()
    }

    #[test]
    fn responses_without_request_ref_pair_by_order_and_count_once() {
        for (file, want) in [
            ("transcript-main.jsonl", 4),
            ("transcript-subagent-agent-aa784e05b3e2adbb4.jsonl", 3),
        ] {
            let lines = without_request_refs(file);
            assert!(lines.iter().all(|l| !l.contains("requestRef")), "{file}");
            let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
            let out = run(&lines, Some("2026-11-23T00:00:00Z"));
            let answered: Vec<_> = out
                .iter()
                .filter_map(|a| match a {
                    Assembled::Answered { sent, .. } => Some(sent.clone()),
                    _ => None,
                })
                .collect();
            assert_eq!(answered.len(), want, "{file}: {out:#?}");
            assert!(
                answered
                    .iter()
                    .all(|s| s.as_ref().and_then(|s| s.max_tokens) == Some(128000)),
                "{file}: the real max_tokens, not the model default"
            );
            assert!(
                out.iter().all(|a| !matches!(a, Assembled::Unanswered(_))),
                "{file}: a paired request is not also unanswered: {out:#?}"
            );
        }
    }

    #[test]
    fn without_request_ref_earlier_attempts_are_unanswered() {
        let unlinked = r#"{"type":"assistant","requestId":"req-3","sessionId":"s","timestamp":"2026-11-22T01:00:06.000Z","message":{"id":"m3","model":"us.anthropic.claude-opus-5-5","usage":{"input_tokens":1,"output_tokens":2}}}"#;
        let out = run(&[&api("r1", T0), &api("r2", T1), unlinked], None);
        let ids: Vec<String> = out
            .iter()
            .map(|a| match a {
                Assembled::Unanswered(s) => format!("x:{}", s.id),
                Assembled::Answered { sent, .. } => format!("ok:{}", sent.as_ref().unwrap().id),
                _ => "other".into(),
            })
            .collect();
        assert_eq!(ids, vec!["x:r1", "ok:r2"]);
    }

    #[test]
    fn retried_429_is_a_throttle_of_the_attempt_it_refused() {
        let error = r#"{"type":"system","subtype":"api_error","level":"error","error":{"message":"429 Too many tokens per day, please wait before trying again.","status":429},"retryAttempt":1,"source":"request_retry","timestamp":"2026-11-22T01:00:00.500Z","uuid":"e1","sessionId":"s"}"#;
        let other = r#"{"type":"system","subtype":"api_error","error":{"status":500},"timestamp":"2026-11-22T01:00:00.600Z","uuid":"e2","sessionId":"s"}"#;
        let out = run(
            &[
                &api("r1", T0),
                error,
                other,
                &api("r2", T1),
                &assistant("req-2", "r2", 5),
            ],
            None,
        );
        let Assembled::Throttled(t) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(t.id, "e1");
        assert_eq!(t.max_tokens, Some(128000));
        assert_eq!(t.ts.as_deref(), Some("2026-11-22T01:00:00.500Z"));
        assert_eq!(out.len(), 3, "the throttle, r1 unanswered, r2: {out:?}");
    }

    #[test]
    fn old_clients_without_api_request() {
        let a = r#"{"type":"assistant","requestId":"req-9","message":{"id":"m","model":"claude-sonnet-4-5","usage":{"input_tokens":1,"output_tokens":2}}}"#;
        let out = run(&[a], None);
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
            let out = run(&lines, Some("2026-11-23T00:00:00Z"));
            let answered: Vec<_> = out
                .iter()
                .filter_map(|a| match a {
                    Assembled::Answered { sent, .. } => sent.clone(),
                    _ => None,
                })
                .collect();
            assert_eq!(answered.len(), want, "{file}");
            assert!(answered.iter().all(|s| s.max_tokens == Some(128000)));
            assert!(
                out.iter().all(|a| !matches!(a, Assembled::Unanswered(_))),
                "{file}"
            );
        }
    }
}
