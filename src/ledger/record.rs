//! One ledger line. The schema is documented in the README ("Ledger schema"); fields are
//! only ever added, so old lines stay readable.
//!
//! A record holds counts and identifiers only: never prompt text, tool input or output.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::quota::{Limit, Usage};

/// Schema version written in every line.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// One API request seen in a transcript.
    Request,
    /// Requests that only show up in `cost-state` totals (title generation, classifiers,
    /// probes): the per-session, per-model difference not covered by request records.
    Side,
    /// A request rejected with a 429 throttle.
    Throttle,
}

/// Where a record's `max_tokens` came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MaxTokensSource {
    /// The `api-request` transcript entry: the value actually sent.
    ApiRequest,
    /// `CLAUDE_CODE_MAX_OUTPUT_TOKENS` (assumed: the transcript did not say).
    Env,
    /// The model's default (assumed).
    ModelDefault,
    /// Not applicable (side totals).
    Unknown,
}

impl MaxTokensSource {
    pub fn is_assumed(&self) -> bool {
        !matches!(self, MaxTokensSource::ApiRequest)
    }
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// A response with usage was recorded.
    Ok,
    /// The request was sent but no response was ever written (error, throttle, abort).
    NoResponse,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Schema version.
    pub v: u32,
    pub kind: Kind,
    /// Request id (the API's request id, else the client's `api-request` id); unique per
    /// kind, and what the ledger dedupes on.
    pub id: String,
    /// When the request started (UTC).
    pub ts: DateTime<Utc>,
    /// When its response was complete, if it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ts: Option<DateTime<Utc>>,
    pub session: String,
    /// Subagent id, for requests made by a subagent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Model id as sent.
    pub model: String,
    /// Canonical model name (see `quota::model_id`).
    pub model_norm: String,
    /// Output burndown rate applied.
    pub burndown: f64,
    /// True when the model was unknown and the fallback rate was used.
    #[serde(default, skip_serializing_if = "is_false")]
    pub burndown_assumed: bool,
    pub input: u64,
    pub cache_write: u64,
    pub cache_read: u64,
    pub output: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    pub max_tokens_source: MaxTokensSource,
    /// Quota tokens reserved when the request started.
    pub reserved: u64,
    /// Quota tokens charged once it ended.
    pub settled: u64,
    pub outcome: Outcome,
    /// The client's `querySource` (`sdk`, `agent:builtin:general-purpose`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_source: Option<String>,
    /// Working directory of the session, for per-project reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Throttle records: the error text category and the estimate at that moment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<ThrottleInfo>,
}

/// What bedrock-hook believed when a throttle hit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ThrottleInfo {
    /// Which window ran out, when the error said (`tokens-per-day`, `tokens-per-minute`,
    /// `requests-per-minute` in the ledger; `unknown` when it did not).
    #[serde(with = "limit_name")]
    pub limit: Option<Limit>,
    /// Estimated quota tokens in the TPD window as Bedrock saw it: settled + in flight +
    /// the refused request's own reservation (`reserved` of the record).
    pub day_used: u64,
    /// The same for the last minute (TPM).
    pub minute_used: u64,
    /// Requests settled in the last minute plus those in flight, the refused one not
    /// included.
    pub minute_requests: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpd: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u64>,
    /// Account mode with fresh CloudWatch data: the whole account's use of the TPD window
    /// (CloudWatch up to its watermark + this machine after it + in flight + the refused
    /// request's reservation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_day_used: Option<u64>,
    /// Of `account_day_used`, other machines' settled use (CloudWatch minus own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub others_day_used: Option<u64>,
    /// Account mode: this machine's reservations at that moment (in flight + refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_then: Option<u64>,
    /// The `x-amzn-requestid` of the throttled call, when the error showed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// A throttle's limit as the ledger writes it; a name it does not know reads as unknown.
mod limit_name {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::quota::Limit;

    pub fn serialize<S: Serializer>(limit: &Option<Limit>, out: S) -> Result<S::Ok, S::Error> {
        out.serialize_str(limit.map_or("unknown", |l| l.as_str()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(input: D) -> Result<Option<Limit>, D::Error> {
        let name = std::borrow::Cow::<str>::deserialize(input)?;
        Ok(Limit::parse(&name))
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Record {
    pub fn usage(&self) -> Usage {
        Usage {
            input: self.input,
            cache_write: self.cache_write,
            cache_read: self.cache_read,
            output: self.output,
        }
    }

    /// Key the ledger dedupes on.
    pub fn dedupe_key(&self) -> String {
        let kind = match self.kind {
            Kind::Request => "request",
            Kind::Side => "side",
            Kind::Throttle => "throttle",
        };
        format!("{kind}:{}", self.id)
    }

    /// The instant the record weighs on per-minute windows: when it settled.
    pub fn settled_at(&self) -> DateTime<Utc> {
        self.end_ts.unwrap_or(self.ts)
    }

    pub fn to_line(&self) -> String {
        let mut out = Vec::new();
        self.write_line(&mut out);
        String::from_utf8(out).expect("JSON is UTF-8")
    }

    /// Append the record's ledger line (with its newline) to `out`.
    pub fn write_line(&self, out: &mut Vec<u8>) {
        serde_json::to_writer(&mut *out, self).expect("records always serialize");
        out.push(b'\n');
    }
}

/// Requests of the main loop and its subagents, by `querySource`: the ones whose
/// `max_tokens` follows the model default and `CLAUDE_CODE_MAX_OUTPUT_TOKENS`.
const MAIN_QUERY_SOURCES: &[&str] = &["sdk", "compact", "hook_agent"];

/// The model a record is charged to: as called, canonical, and its output burndown.
#[derive(Debug, Clone, PartialEq)]
pub struct ChargedModel {
    pub model: String,
    pub model_norm: String,
    pub burndown: f64,
    pub burndown_assumed: bool,
}

impl Record {
    /// The start of every record the product makes: its kind, identity, time and model,
    /// every count zero and nothing optional known. Callers add what they know with struct
    /// update syntax (`Record { settled, ..Record::new(..) }`).
    pub fn new(
        kind: Kind,
        id: String,
        ts: DateTime<Utc>,
        session: String,
        model: ChargedModel,
    ) -> Record {
        Record {
            v: SCHEMA_VERSION,
            kind,
            id,
            ts,
            end_ts: None,
            session,
            agent: None,
            model: model.model,
            model_norm: model.model_norm,
            burndown: model.burndown,
            burndown_assumed: model.burndown_assumed,
            input: 0,
            cache_write: 0,
            cache_read: 0,
            output: 0,
            max_tokens: None,
            max_tokens_source: MaxTokensSource::Unknown,
            reserved: 0,
            settled: 0,
            outcome: Outcome::Ok,
            query_source: None,
            project: None,
            throttle: None,
        }
    }

    /// The same record with these token counts.
    pub fn with_usage(self, usage: &Usage) -> Record {
        Record {
            input: usage.input,
            cache_write: usage.cache_write,
            cache_read: usage.cache_read,
            output: usage.output,
            ..self
        }
    }
}

impl Record {
    /// A request the client makes beside the conversation (the auto-mode classifier at
    /// max_tokens 64 or 8192, title generation, summaries, start-up probes at max_tokens 1),
    /// or a session's `side` totals. Their model and `max_tokens` say nothing about what
    /// the main loop sends.
    pub fn is_side_request(&self) -> bool {
        match self.kind {
            Kind::Side => true,
            Kind::Throttle => false,
            Kind::Request => {
                let by_source = self.query_source.as_deref().is_some_and(|q| {
                    !(MAIN_QUERY_SOURCES.contains(&q)
                        || q.starts_with("repl_main_thread")
                        || q.starts_with("agent:"))
                });
                // Below any max_tokens a user would set: probes and classifiers.
                by_source || self.max_tokens.is_some_and(|m| m < 1024)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throttles_limit_is_written_by_name_and_unknown_names_read_as_unknown() {
        for (limit, name) in [
            (Some(Limit::TokensPerDay), "tokens-per-day"),
            (Some(Limit::RequestsPerMinute), "requests-per-minute"),
            (None, "unknown"),
        ] {
            let info = ThrottleInfo {
                limit,
                ..ThrottleInfo::default()
            };
            let json = serde_json::to_value(&info).unwrap();
            assert_eq!(json["limit"], name);
            let back: ThrottleInfo = serde_json::from_value(json).unwrap();
            assert_eq!(back.limit, limit);
        }
        let later: ThrottleInfo = serde_json::from_str(
            r#"{"limit":"tokens-per-week","day_used":1,"minute_used":0,"minute_requests":0}"#,
        )
        .unwrap();
        assert_eq!(later.limit, None);
    }

    #[test]
    fn round_trips_and_omits_empty_fields() {
        let record = Record {
            v: SCHEMA_VERSION,
            kind: Kind::Request,
            id: "req-0".into(),
            ts: "2026-11-22T01:39:20.827Z".parse().unwrap(),
            end_ts: None,
            session: "s".into(),
            agent: None,
            model: "us.anthropic.claude-opus-5-5".into(),
            model_norm: "claude-opus-5-5".into(),
            burndown: 10.0,
            burndown_assumed: false,
            input: 12306,
            cache_write: 0,
            cache_read: 0,
            output: 37,
            max_tokens: Some(128000),
            max_tokens_source: MaxTokensSource::ApiRequest,
            reserved: 1_292_306,
            settled: 12_676,
            outcome: Outcome::Ok,
            query_source: None,
            project: None,
            throttle: None,
        };
        let line = record.to_line();
        assert!(line.ends_with('\n'));
        assert!(!line.contains("agent"));
        assert!(line.contains("\"max_tokens_source\":\"api-request\""));
        let back: Record = serde_json::from_str(&line).unwrap();
        assert_eq!(back, record);
    }
}
