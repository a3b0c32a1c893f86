//! Turning assembled items into ledger records.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::ledger::record::ChargedModel;
use crate::ledger::{Entry, Kind, MaxTokensSource, Outcome, Record};
use crate::quota::{self, Usage};
use crate::transcript::{Assembled, Compaction, Response, SentRequest};

use super::Origin;

/// Turns what the assembler found into ledger records: the one place where a request's
/// model, max_tokens, reservation and settled cost are decided, for every command.
pub struct RecordMaker<'a> {
    config: &'a Config,
    /// Stands in for a timestamp a line does not carry.
    now: DateTime<Utc>,
    /// `CLAUDE_CODE_MAX_OUTPUT_TOKENS` as the client saw it (hooks inherit its env).
    env_max_tokens: Option<u64>,
}

/// An assembled item with its record made.
#[derive(Debug)]
pub enum Item {
    Answered(Entry),
    Unanswered(Entry),
    /// A 429 the client retried.
    Throttle(Entry),
    /// Session totals: their side records need the lock (see `Writer::side_records`).
    CostState {
        session: Option<String>,
        by_model: BTreeMap<String, Usage>,
        compactions: Vec<Compaction>,
    },
}

impl<'a> RecordMaker<'a> {
    pub fn new(config: &'a Config, now: DateTime<Utc>) -> RecordMaker<'a> {
        RecordMaker {
            config,
            now,
            env_max_tokens: crate::claude::ClientEnv::from_process().max_output_tokens(),
        }
    }

    /// Make the records of `assembled`, read from a transcript of `origin`.
    pub fn items(&self, assembled: Vec<Assembled>, origin: &Origin) -> Vec<Item> {
        // A request with no readable time of its own takes its neighbour's (the one
        // before it, else after it), so that it lands on the same day however the
        // transcript is read; "now" only when nothing around it has a time either.
        let own: Vec<Option<DateTime<Utc>>> = assembled.iter().map(own_ts).collect();
        let mut before = None;
        let fallbacks: Vec<DateTime<Utc>> = own
            .iter()
            .enumerate()
            .map(|(at, ts)| {
                before = ts.or(before);
                before
                    .or_else(|| own[at..].iter().flatten().next().copied())
                    .unwrap_or(self.now)
            })
            .collect();
        assembled
            .into_iter()
            .zip(fallbacks)
            .map(|(item, fallback)| match item {
                Assembled::Answered { sent, response } => Item::Answered(Entry::new(self.request(
                    sent.as_ref(),
                    &response,
                    origin,
                    fallback,
                ))),
                Assembled::Unanswered(sent) => {
                    Item::Unanswered(Entry::new(self.unanswered(&sent, origin, fallback)))
                }
                Assembled::Throttled(attempt) => {
                    Item::Throttle(Entry::new(self.throttled(&attempt, origin, fallback)))
                }
                Assembled::GaveUp(attempt) => {
                    Item::Throttle(Entry::new(self.throttled(&attempt, origin, fallback)))
                }
                Assembled::CostState {
                    session,
                    by_model,
                    compactions,
                } => Item::CostState {
                    session,
                    by_model,
                    compactions,
                },
            })
            .collect()
    }

    fn request(
        &self,
        sent: Option<&SentRequest>,
        response: &Response,
        origin: &Origin,
        fallback: DateTime<Utc>,
    ) -> Record {
        let model = sent
            .and_then(|s| s.model.clone())
            .or_else(|| response.model.clone())
            .unwrap_or_else(|| "unknown".to_string());
        // When it was sent, else when its answer came.
        let ts = sent
            .and_then(|s| s.ts.as_deref())
            .and_then(parse_ts)
            .or_else(|| response.ts.as_deref().and_then(parse_ts))
            .unwrap_or(fallback);
        let id = response
            .request_id
            .clone()
            .unwrap_or_else(|| response.key.clone());
        let session = response
            .session
            .clone()
            .or_else(|| sent.and_then(|s| s.session.clone()))
            .or_else(|| origin.session.clone())
            .unwrap_or_default();
        Record {
            end_ts: response.ts.as_deref().and_then(parse_ts),
            agent: response
                .agent
                .clone()
                .or_else(|| sent.and_then(|s| s.agent.clone()))
                .or_else(|| origin.agent.clone()),
            query_source: sent.and_then(|s| s.query_source.clone()),
            project: response.cwd.clone().or_else(|| origin.project.clone()),
            ..self.priced(id, ts, session, model, sent, &response.usage)
        }
    }

    /// A request of `model` that used `usage`, priced: its model's canonical name and
    /// burndown, the max_tokens it was sent with (or what stands in for it), what it
    /// reserved when it started and what it settled for.
    fn priced(
        &self,
        id: String,
        ts: DateTime<Utc>,
        session: String,
        model: String,
        sent: Option<&SentRequest>,
        usage: &Usage,
    ) -> Record {
        let name = quota::normalize(&model, &self.config.profiles);
        let burndown = quota::burndown_for(&name, &self.config.burndown);
        let (max_tokens, source) = self.max_tokens(sent, &name);
        let charged = ChargedModel {
            model,
            model_norm: name.canonical,
            burndown: burndown.rate,
            burndown_assumed: burndown.assumed,
        };
        Record {
            max_tokens: Some(max_tokens),
            max_tokens_source: source,
            reserved: quota::reservation(
                usage,
                max_tokens,
                burndown.rate,
                &self.config.reservation,
            ),
            settled: quota::settled(usage, burndown.rate),
            ..Record::new(Kind::Request, id, ts, session, charged).with_usage(usage)
        }
    }

    /// A compaction request: sent with the session's last model and max_tokens (what its
    /// `api-request` said), at the boundary's time less its duration; `usage` is its part
    /// of the session's totals.
    pub fn compaction(
        &self,
        compaction: &Compaction,
        model: &str,
        usage: &Usage,
        session: &str,
        origin: &Origin,
    ) -> Record {
        let sent = compaction.max_tokens.map(|n| SentRequest {
            id: compaction.id.clone(),
            ts: None,
            model: None,
            max_tokens: Some(n),
            query_source: None,
            session: None,
            agent: None,
        });
        let end = compaction.ts.as_deref().and_then(parse_ts);
        let took = chrono::Duration::milliseconds(compaction.duration_ms.unwrap_or(0) as i64);
        let session = compaction
            .session
            .clone()
            .unwrap_or_else(|| session.to_string());
        let id = format!("{session}:compact:{}", compaction.id);
        let ts = end.map_or(self.now, |end| end - took);
        Record {
            end_ts: end,
            query_source: Some("compact".to_string()),
            project: origin.project.clone(),
            ..self.priced(id, ts, session, model.to_string(), sent.as_ref(), usage)
        }
    }

    /// A 429 the client received and retried, as the transcript's error entry tells it:
    /// a throttle record with the refused attempt's reservation before input. Estimates of
    /// the window at that moment are left out (only the `StopFailure` hook, at the moment,
    /// makes them).
    fn throttled(&self, attempt: &SentRequest, origin: &Origin, fallback: DateTime<Utc>) -> Record {
        let mut record = self.unanswered(attempt, origin, fallback);
        let session = record.session.clone();
        record.kind = Kind::Throttle;
        record.id = match &record.agent {
            Some(agent) => format!("{session}/{agent}:429:{}", attempt.id),
            None => format!("{session}:429:{}", attempt.id),
        };
        record.reserved = quota::reservation(
            &Usage::default(),
            record.max_tokens.unwrap_or(0),
            record.burndown,
            &self.config.reservation,
        );
        record
    }

    fn unanswered(&self, sent: &SentRequest, origin: &Origin, fallback: DateTime<Utc>) -> Record {
        let model = sent.model.clone().unwrap_or_else(|| "unknown".to_string());
        let ts = sent.ts.as_deref().and_then(parse_ts).unwrap_or(fallback);
        let session = sent
            .session
            .clone()
            .or_else(|| origin.session.clone())
            .unwrap_or_default();
        Record {
            agent: sent.agent.clone().or_else(|| origin.agent.clone()),
            // Rejected or failed: nothing stays charged, and nothing is known to be held.
            reserved: 0,
            settled: 0,
            outcome: Outcome::NoResponse,
            query_source: sent.query_source.clone(),
            project: origin.project.clone(),
            ..self.priced(
                sent.id.clone(),
                ts,
                session,
                model,
                Some(sent),
                &Usage::default(),
            )
        }
    }

    fn max_tokens(
        &self,
        sent: Option<&SentRequest>,
        name: &quota::ModelName,
    ) -> (u64, MaxTokensSource) {
        if let Some(n) = sent.and_then(|s| s.max_tokens) {
            return (n, MaxTokensSource::ApiRequest);
        }
        if let Some(n) = self.env_max_tokens {
            return (n, MaxTokensSource::Env);
        }
        (
            quota::default_max_tokens(name, &self.config.default_max_tokens),
            MaxTokensSource::ModelDefault,
        )
    }
}

/// The best time an assembled request has of its own.
fn own_ts(item: &Assembled) -> Option<DateTime<Utc>> {
    let parsed = |ts: &Option<String>| ts.as_deref().and_then(parse_ts);
    match item {
        Assembled::Answered { sent, response } => sent
            .as_ref()
            .and_then(|s| parsed(&s.ts))
            .or_else(|| parsed(&response.ts)),
        Assembled::Unanswered(sent) | Assembled::Throttled(sent) | Assembled::GaveUp(sent) => {
            parsed(&sent.ts)
        }
        Assembled::CostState { .. } => None,
    }
}

pub fn parse_ts(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
