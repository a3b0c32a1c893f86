//! From ledger records to the numbers of a report: pure, no I/O and no clock, so every
//! figure is unit-tested against hand-computed values.
//!
//! Conventions (documented with the JSON schema in the README):
//! - `requests` counts request records (answered or not); side records add tokens but are
//!   not single requests; throttle records only count as throttles.
//! - `quota_tokens` is the settled cost (input + cache write + output x burndown);
//!   `reserved_tokens` the reservations at request start.
//! - Percentiles use the nearest-rank method: p50 of 1, 2, 3, 4 is 2.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ledger::{Kind, Outcome, Record};
use crate::quota::Quotas;
use crate::quota::{self, ReservationRule, Usage};

/// What the aggregation needs besides the records.
#[derive(Debug, Clone)]
pub struct Params {
    /// Start of the first timeline bucket.
    pub timeline_start: DateTime<Utc>,
    /// End of the last timeline bucket (exclusive).
    pub timeline_end: DateTime<Utc>,
    /// Width of one timeline bucket (3600 for per hour).
    pub bucket_secs: i64,
    /// Sessions listed.
    pub top: usize,
    /// Quotas the pace line is drawn against (the account default).
    pub quotas: Quotas,
    /// The reservation rule, for the counterfactual.
    pub rule: ReservationRule,
    /// Headroom above the largest output for the suggested max_tokens.
    pub headroom_percent: u64,
}

/// The JSON `totals` object: exactly these keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub requests: u64,
    pub input_tokens: u64,
    pub cache_write_tokens: u64,
    pub cache_read_tokens: u64,
    pub output_tokens: u64,
    /// Settled: input + cache write + output x burndown.
    pub quota_tokens: u64,
    /// Sum of reservations at request start.
    pub reserved_tokens: u64,
    pub throttles: u64,
}

impl Totals {
    pub fn add(&mut self, record: &Record) {
        match record.kind {
            Kind::Throttle => {
                self.throttles += 1;
                return;
            }
            Kind::Request => self.requests += 1,
            Kind::Side => {}
        }
        self.input_tokens += record.input;
        self.cache_write_tokens += record.cache_write;
        self.cache_read_tokens += record.cache_read;
        self.output_tokens += record.output;
        self.quota_tokens += record.settled;
        self.reserved_tokens += record.reserved;
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelRow {
    /// Canonical model name.
    pub model: String,
    /// Every model id seen for it, as sent.
    pub ids: Vec<String>,
    pub burndown: f64,
    /// The model was unknown and the fallback burndown rate was used.
    pub burndown_assumed: bool,
    #[serde(flatten)]
    pub totals: Totals,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionRow {
    pub session: String,
    /// Working directory of the session, when known.
    pub project: Option<String>,
    /// Distinct subagents that made requests.
    pub agents: u64,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    #[serde(flatten)]
    pub totals: Totals,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sessions {
    /// Sessions in the range (the list holds the top ones).
    pub count: u64,
    /// By quota tokens, largest first.
    pub top: Vec<SessionRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bucket {
    pub start: DateTime<Utc>,
    pub requests: u64,
    pub reserved_tokens: u64,
    pub quota_tokens: u64,
    pub throttles: u64,
    /// Quota tokens from the start of the range through this bucket.
    pub cumulative_quota_tokens: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeline {
    pub bucket_seconds: i64,
    /// Quota tokens one bucket may use to spend TPD evenly over the day.
    pub tpd_pace_per_bucket: Option<u64>,
    pub buckets: Vec<Bucket>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeakMinute {
    pub start: DateTime<Utc>,
    /// Quota tokens settled in that minute (side records excluded: their time is unknown).
    pub quota_tokens: u64,
    pub requests: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeakInFlight {
    pub at: DateTime<Utc>,
    pub requests: u64,
    /// Reservations held at that moment.
    pub reserved_tokens: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Peaks {
    pub tpm_minute: Option<PeakMinute>,
    /// Most requests open at once (from each request's start to its last response entry).
    pub in_flight: Option<PeakInFlight>,
    /// Most reservation held at once.
    pub reserved_in_flight: Option<PeakInFlight>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThrottleRow {
    pub ts: DateTime<Utc>,
    pub session: String,
    pub agent: Option<String>,
    pub model: String,
    /// `tokens-per-day`, `tokens-per-minute`, `requests-per-minute` or `unknown`.
    pub limit: String,
    /// bedrock-hook's estimate when the throttle hit.
    pub day_used: Option<u64>,
    pub minute_used: Option<u64>,
    pub minute_requests: Option<u64>,
    pub tpd: Option<u64>,
    pub tpm: Option<u64>,
    pub rpm: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SideModel {
    pub model: String,
    pub records: u64,
    pub input_tokens: u64,
    pub cache_write_tokens: u64,
    pub cache_read_tokens: u64,
    pub output_tokens: u64,
    pub quota_tokens: u64,
}

/// Requests only visible in the session totals (title generation, classifiers, probes).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Side {
    pub records: u64,
    pub quota_tokens: u64,
    pub models: Vec<SideModel>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Spread {
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelOutput {
    pub model: String,
    pub requests: u64,
    pub output_tokens: Spread,
    pub max_tokens: Spread,
    pub suggested_max_tokens: u64,
}

/// Output tokens produced vs `max_tokens` requested, and what a smaller setting saves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputAdvice {
    /// Answered requests with a known `max_tokens`.
    pub requests: u64,
    pub output_tokens: Spread,
    pub max_tokens: Spread,
    /// Requests whose `max_tokens` was assumed (the transcript did not say).
    pub assumed_max_tokens: u64,
    /// Requests whose output reached their `max_tokens` (cut short: real need unknown).
    pub at_limit: u64,
    pub headroom_percent: u64,
    /// Largest output plus headroom, rounded up to 1024, at least the reservation floor.
    pub suggested_max_tokens: Option<u64>,
    /// `totals.reserved_tokens` had every request asked for at most the suggestion.
    pub counterfactual_reserved_tokens: u64,
    pub reserved_savings_tokens: u64,
    pub models: Vec<ModelOutput>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub totals: Totals,
    /// Request records that never got a response.
    pub unanswered: u64,
    pub models: Vec<ModelRow>,
    pub sessions: Sessions,
    pub timeline: Timeline,
    pub peaks: Peaks,
    pub throttles: Vec<ThrottleRow>,
    pub side: Side,
    pub output: OutputAdvice,
}

/// The report of no records over `selection`, per hour, with the default quotas and
/// rule: the fixture of the JSON and HTML shape tests.
#[cfg(test)]
pub(super) fn empty(selection: &super::range::Selection) -> Report {
    let params = Params {
        timeline_start: selection.start,
        timeline_end: selection.end,
        bucket_secs: 3600,
        top: 10,
        quotas: Quotas::default(),
        rule: ReservationRule::default(),
        headroom_percent: 25,
    };
    aggregate(&[], &params)
}

/// Aggregate `records` (any order) into a report.
pub fn aggregate(records: &[Record], params: &Params) -> Report {
    let mut totals = Totals::default();
    let mut unanswered = 0;
    for record in records {
        totals.add(record);
        if record.kind == Kind::Request && record.outcome == Outcome::NoResponse {
            unanswered += 1;
        }
    }
    let output = output_advice(records, params, totals.reserved_tokens);
    Report {
        unanswered,
        models: by_model(records),
        sessions: by_session(records, params.top),
        timeline: timeline(records, params),
        peaks: Peaks {
            tpm_minute: peak_minute(records),
            in_flight: peak_in_flight(records, |p| (p.requests, p.reserved_tokens)),
            reserved_in_flight: peak_in_flight(records, |p| (p.reserved_tokens, p.requests)),
        },
        throttles: throttles(records),
        side: side(records),
        output,
        totals,
    }
}

fn by_model(records: &[Record]) -> Vec<ModelRow> {
    let mut rows: BTreeMap<&str, (ModelRow, BTreeSet<&str>)> = BTreeMap::new();
    for record in records {
        let (row, ids) = rows.entry(&record.model_norm).or_insert_with(|| {
            (
                ModelRow {
                    model: record.model_norm.clone(),
                    ids: Vec::new(),
                    burndown: record.burndown,
                    burndown_assumed: false,
                    totals: Totals::default(),
                },
                BTreeSet::new(),
            )
        });
        row.totals.add(record);
        if record.kind != Kind::Throttle {
            row.burndown = record.burndown;
            row.burndown_assumed |= record.burndown_assumed;
        }
        ids.insert(&record.model);
    }
    let mut rows: Vec<ModelRow> = rows
        .into_values()
        .map(|(mut row, ids)| {
            row.ids = ids.into_iter().map(str::to_string).collect();
            row
        })
        .collect();
    rows.sort_by(|a, b| {
        b.totals
            .quota_tokens
            .cmp(&a.totals.quota_tokens)
            .then_with(|| a.model.cmp(&b.model))
    });
    rows
}

fn by_session(records: &[Record], top: usize) -> Sessions {
    let mut rows: HashMap<&str, (SessionRow, BTreeSet<&str>)> = HashMap::new();
    for record in records {
        let (row, agents) = rows.entry(&record.session).or_insert_with(|| {
            (
                SessionRow {
                    session: record.session.clone(),
                    project: None,
                    agents: 0,
                    first: record.ts,
                    last: record.ts,
                    totals: Totals::default(),
                },
                BTreeSet::new(),
            )
        });
        row.totals.add(record);
        row.first = row.first.min(record.ts);
        row.last = row.last.max(record.settled_at());
        if row.project.is_none() {
            row.project = record.project.clone().filter(|p| !p.is_empty());
        }
        if let Some(agent) = record.agent.as_deref().filter(|a| !a.is_empty())
            && record.kind == Kind::Request
        {
            agents.insert(agent);
        }
    }
    let count = rows.len() as u64;
    let mut rows: Vec<SessionRow> = rows
        .into_values()
        .map(|(mut row, agents)| {
            row.agents = agents.len() as u64;
            row
        })
        .collect();
    rows.sort_by(|a, b| {
        b.totals
            .quota_tokens
            .cmp(&a.totals.quota_tokens)
            .then_with(|| b.totals.reserved_tokens.cmp(&a.totals.reserved_tokens))
            .then_with(|| a.session.cmp(&b.session))
    });
    rows.truncate(top);
    Sessions { count, top: rows }
}

fn timeline(records: &[Record], params: &Params) -> Timeline {
    let width = params.bucket_secs.max(1);
    let span = (params.timeline_end - params.timeline_start).num_seconds();
    let count = if span <= 0 {
        0
    } else {
        ((span + width - 1) / width) as usize
    };
    let mut buckets: Vec<Bucket> = (0..count)
        .map(|i| Bucket {
            start: params.timeline_start + chrono::Duration::seconds(i as i64 * width),
            requests: 0,
            reserved_tokens: 0,
            quota_tokens: 0,
            throttles: 0,
            cumulative_quota_tokens: 0,
        })
        .collect();
    if count > 0 {
        for record in records {
            let offset = (record.ts - params.timeline_start).num_seconds();
            let index = (offset.max(0) / width).min(count as i64 - 1) as usize;
            let bucket = &mut buckets[index];
            match record.kind {
                Kind::Throttle => bucket.throttles += 1,
                kind => {
                    bucket.requests += u64::from(kind == Kind::Request);
                    bucket.reserved_tokens += record.reserved;
                    bucket.quota_tokens += record.settled;
                }
            }
        }
    }
    let mut running = 0;
    for bucket in &mut buckets {
        running += bucket.quota_tokens;
        bucket.cumulative_quota_tokens = running;
    }
    Timeline {
        bucket_seconds: width,
        tpd_pace_per_bucket: params
            .quotas
            .tpd
            .map(|tpd| (tpd as u128 * width as u128 / 86_400) as u64),
        buckets,
    }
}

fn peak_minute(records: &[Record]) -> Option<PeakMinute> {
    let mut minutes: HashMap<i64, (u64, u64)> = HashMap::new();
    for record in records.iter().filter(|r| r.kind == Kind::Request) {
        let minute = record.settled_at().timestamp().div_euclid(60);
        let slot = minutes.entry(minute).or_default();
        slot.0 += record.settled;
        slot.1 += 1;
    }
    minutes
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
        .and_then(|(minute, (quota_tokens, requests))| {
            Some(PeakMinute {
                start: DateTime::from_timestamp(minute * 60, 0)?,
                quota_tokens,
                requests,
            })
        })
}

/// Sweep over request start/end instants; `rank` says what "most" means. A request that
/// ends exactly when another starts does not overlap it.
fn peak_in_flight(
    records: &[Record],
    rank: impl Fn(&PeakInFlight) -> (u64, u64),
) -> Option<PeakInFlight> {
    let mut events: Vec<(i64, i8, u64)> = Vec::new();
    for record in records.iter().filter(|r| r.kind == Kind::Request) {
        let Some(end) = record.end_ts.filter(|end| *end > record.ts) else {
            continue;
        };
        events.push((record.ts.timestamp_millis(), 1, record.reserved));
        events.push((end.timestamp_millis(), -1, record.reserved));
    }
    events.sort_by_key(|(at, delta, _)| (*at, *delta));
    let mut open = PeakInFlight {
        at: DateTime::<Utc>::MIN_UTC,
        requests: 0,
        reserved_tokens: 0,
    };
    let mut best: Option<PeakInFlight> = None;
    for (at, delta, reserved) in events {
        if delta > 0 {
            open.requests += 1;
            open.reserved_tokens += reserved;
            open.at = DateTime::from_timestamp_millis(at).unwrap_or(open.at);
            if best.as_ref().is_none_or(|b| rank(&open) > rank(b)) {
                best = Some(open.clone());
            }
        } else {
            open.requests -= 1;
            open.reserved_tokens -= reserved;
        }
    }
    best
}

fn throttles(records: &[Record]) -> Vec<ThrottleRow> {
    records
        .iter()
        .filter(|r| r.kind == Kind::Throttle)
        .map(|r| {
            let info = r.throttle.as_ref();
            ThrottleRow {
                ts: r.ts,
                session: r.session.clone(),
                agent: r.agent.clone(),
                model: r.model_norm.clone(),
                limit: info.map_or_else(
                    || "unknown".to_string(),
                    |t| t.limit.map_or("unknown", |l| l.as_str()).to_string(),
                ),
                day_used: info.map(|t| t.day_used),
                minute_used: info.map(|t| t.minute_used),
                minute_requests: info.map(|t| t.minute_requests),
                tpd: info.and_then(|t| t.tpd),
                tpm: info.and_then(|t| t.tpm),
                rpm: info.and_then(|t| t.rpm),
            }
        })
        .collect()
}

fn side(records: &[Record]) -> Side {
    // Per model: its records, and their tokens summed as every other total is.
    let mut models: BTreeMap<&str, (u64, Totals)> = BTreeMap::new();
    let mut side = Side::default();
    for record in records.iter().filter(|r| r.kind == Kind::Side) {
        side.records += 1;
        side.quota_tokens += record.settled;
        let (count, totals) = models.entry(&record.model_norm).or_default();
        *count += 1;
        totals.add(record);
    }
    side.models = models
        .into_iter()
        .map(|(model, (records, t))| SideModel {
            model: model.to_string(),
            records,
            input_tokens: t.input_tokens,
            cache_write_tokens: t.cache_write_tokens,
            cache_read_tokens: t.cache_read_tokens,
            output_tokens: t.output_tokens,
            quota_tokens: t.quota_tokens,
        })
        .collect();
    side
}

/// Nearest-rank percentile of sorted values: the smallest value with at least `p`% of
/// the values at or below it.
pub fn percentile(sorted: &[u64], p: u64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p.min(100) as usize * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn spread(values: &mut [u64]) -> Spread {
    values.sort_unstable();
    Spread {
        p50: percentile(values, 50),
        p99: percentile(values, 99),
        max: values.last().copied().unwrap_or(0),
    }
}

/// The smallest "round" max_tokens (a multiple of 1024, at least the reservation floor)
/// that covers `largest_output` plus `headroom_percent`.
pub fn suggest_max_tokens(largest_output: u64, headroom_percent: u64, floor: u64) -> u64 {
    quota::advice::with_headroom(largest_output, headroom_percent).max(floor)
}

/// How much less a request would have reserved asking for `suggested` instead of what it
/// asked for. Only the max_tokens part of the reservation changes.
pub fn reservation_saved(record: &Record, suggested: u64, rule: &ReservationRule) -> u64 {
    let Some(asked) = record.max_tokens else {
        return 0;
    };
    if record.kind != Kind::Request || record.outcome != Outcome::Ok || suggested >= asked {
        return 0;
    }
    let none = Usage::default();
    let held = quota::reservation(&none, asked, record.burndown, rule);
    let would = quota::reservation(&none, suggested, record.burndown, rule);
    held.saturating_sub(would).min(record.reserved)
}

fn output_advice(records: &[Record], params: &Params, reserved_total: u64) -> OutputAdvice {
    let answered = || {
        records.iter().filter(|r| {
            r.kind == Kind::Request && r.outcome == Outcome::Ok && r.max_tokens.is_some()
        })
    };
    let mut outputs: Vec<u64> = answered().map(|r| r.output).collect();
    let mut asked: Vec<u64> = answered().filter_map(|r| r.max_tokens).collect();
    let floor = params.rule.floor;
    let headroom = params.headroom_percent;
    let output_tokens = spread(&mut outputs);
    let suggested =
        (!outputs.is_empty()).then(|| suggest_max_tokens(output_tokens.max, headroom, floor));
    let saved: u64 = suggested.map_or(0, |s| {
        records
            .iter()
            .map(|r| reservation_saved(r, s, &params.rule))
            .sum()
    });
    let mut per_model: BTreeMap<&str, (Vec<u64>, Vec<u64>)> = BTreeMap::new();
    for record in answered() {
        let slot = per_model.entry(&record.model_norm).or_default();
        slot.0.push(record.output);
        slot.1.extend(record.max_tokens);
    }
    let models = per_model
        .into_iter()
        .map(|(model, (mut out, mut max))| {
            let output_tokens = spread(&mut out);
            ModelOutput {
                model: model.to_string(),
                requests: out.len() as u64,
                output_tokens,
                max_tokens: spread(&mut max),
                suggested_max_tokens: suggest_max_tokens(output_tokens.max, headroom, floor),
            }
        })
        .collect();
    OutputAdvice {
        requests: outputs.len() as u64,
        max_tokens: spread(&mut asked),
        output_tokens,
        assumed_max_tokens: answered()
            .filter(|r| r.max_tokens_source.is_assumed())
            .count() as u64,
        at_limit: answered()
            .filter(|r| r.max_tokens.is_some_and(|m| m > 0 && r.output >= m))
            .count() as u64,
        headroom_percent: headroom,
        suggested_max_tokens: suggested,
        counterfactual_reserved_tokens: reserved_total - saved,
        reserved_savings_tokens: saved,
        models,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::record::{MaxTokensSource, SCHEMA_VERSION, ThrottleInfo};

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    /// An answered Opus 5.5 request (burndown 10) reserving under the default rule.
    fn request(id: &str, ts: &str, end: &str, input: u64, output: u64, max: u64) -> Record {
        let usage = Usage {
            input,
            cache_write: 0,
            cache_read: 0,
            output,
        };
        Record {
            v: SCHEMA_VERSION,
            kind: Kind::Request,
            id: id.into(),
            ts: at(ts),
            end_ts: Some(at(end)),
            session: "s1".into(),
            agent: None,
            model: "us.anthropic.claude-opus-5-5".into(),
            model_norm: "claude-opus-5-5".into(),
            burndown: 10.0,
            burndown_assumed: false,
            input,
            cache_write: 0,
            cache_read: 0,
            output,
            max_tokens: Some(max),
            max_tokens_source: MaxTokensSource::ApiRequest,
            reserved: quota::reservation(&usage, max, 10.0, &ReservationRule::default()),
            settled: quota::settled(&usage, 10.0),
            outcome: Outcome::Ok,
            query_source: None,
            project: Some("/p".into()),
            throttle: None,
        }
    }

    fn params() -> Params {
        Params {
            timeline_start: at("2026-11-22T00:00:00Z"),
            timeline_end: at("2026-11-23T00:00:00Z"),
            bucket_secs: 3600,
            top: 10,
            quotas: Quotas {
                tpd: Some(2_400_000),
                tpm: None,
                rpm: None,
            },
            rule: ReservationRule::default(),
            headroom_percent: 25,
        }
    }

    fn fixture() -> Vec<Record> {
        let a = request(
            "a",
            "2026-11-22T09:00:00Z",
            "2026-11-22T09:00:30Z",
            1000,
            100,
            128_000,
        );
        let b = request(
            "b",
            "2026-11-22T09:00:10Z",
            "2026-11-22T09:00:20Z",
            2000,
            300,
            128_000,
        );
        let mut c = request(
            "c",
            "2026-11-22T10:30:00Z",
            "2026-11-22T10:30:05Z",
            500,
            40,
            4096,
        );
        c.session = "s2".into();
        c.agent = Some("ag".into());
        c.model = "us.anthropic.claude-sonnet-4-5".into();
        c.model_norm = "claude-sonnet-4-5".into();
        c.burndown = 5.0;
        c.settled = 500 + 200;
        c.reserved = 500 + 4096 * 5;
        let mut unanswered = request(
            "d",
            "2026-11-22T10:31:00Z",
            "2026-11-22T10:31:00Z",
            0,
            0,
            128_000,
        );
        unanswered.end_ts = None;
        unanswered.outcome = Outcome::NoResponse;
        unanswered.reserved = 0;
        unanswered.settled = 0;
        let mut side = request(
            "s1:claude-haiku-4-5:1",
            "2026-11-22T09:05:00Z",
            "2026-11-22T09:05:00Z",
            70,
            10,
            0,
        );
        side.kind = Kind::Side;
        side.end_ts = None;
        side.model_norm = "claude-haiku-4-5".into();
        side.model = "claude-haiku-4-5".into();
        side.burndown = 5.0;
        side.max_tokens = None;
        side.max_tokens_source = MaxTokensSource::Unknown;
        side.settled = 120;
        side.reserved = 120;
        let mut throttle = request(
            "t",
            "2026-11-22T10:45:00Z",
            "2026-11-22T10:45:00Z",
            0,
            0,
            128_000,
        );
        throttle.kind = Kind::Throttle;
        throttle.end_ts = None;
        throttle.throttle = Some(ThrottleInfo {
            limit: Some(crate::quota::Limit::TokensPerDay),
            day_used: 2_000_000,
            minute_used: 5,
            minute_requests: 1,
            tpd: Some(2_400_000),
            tpm: None,
            rpm: None,
            ..ThrottleInfo::default()
        });
        vec![a, b, c, unanswered, side, throttle]
    }

    #[test]
    fn totals_by_hand() {
        let report = aggregate(&fixture(), &params());
        // a: settled 1000 + 100x10 = 2000, reserved 1000 + 128000x10 = 1_281_000
        // b: settled 2000 + 3000 = 5000, reserved 1_282_000
        // c: settled 700, reserved 20_980; side: 120 / 120; d: 0 / 0
        assert_eq!(
            report.totals,
            Totals {
                requests: 4,
                input_tokens: 1000 + 2000 + 500 + 70,
                cache_write_tokens: 0,
                cache_read_tokens: 0,
                output_tokens: 100 + 300 + 40 + 10,
                quota_tokens: 2000 + 5000 + 700 + 120,
                reserved_tokens: 1_281_000 + 1_282_000 + 20_980 + 120,
                throttles: 1,
            }
        );
        assert_eq!(report.unanswered, 1);
        assert_eq!(report.side.records, 1);
        assert_eq!(report.side.quota_tokens, 120);
        assert_eq!(report.side.models[0].model, "claude-haiku-4-5");
    }

    #[test]
    fn models_and_sessions() {
        let report = aggregate(&fixture(), &params());
        let names: Vec<&str> = report.models.iter().map(|m| m.model.as_str()).collect();
        assert_eq!(
            names,
            ["claude-opus-5-5", "claude-sonnet-4-5", "claude-haiku-4-5"]
        );
        let opus = &report.models[0];
        assert_eq!(opus.totals.requests, 3);
        assert_eq!(opus.totals.quota_tokens, 7000);
        assert_eq!(opus.totals.throttles, 1);
        assert_eq!(opus.ids, ["us.anthropic.claude-opus-5-5"]);
        assert_eq!(report.sessions.count, 2);
        let first = &report.sessions.top[0];
        assert_eq!(first.session, "s1");
        assert_eq!(first.totals.quota_tokens, 7120);
        assert_eq!(first.first, at("2026-11-22T09:00:00Z"));
        assert_eq!(first.last, at("2026-11-22T10:45:00Z"));
        assert_eq!(report.sessions.top[1].agents, 1);
        let mut one = params();
        one.top = 1;
        let cut = aggregate(&fixture(), &one);
        assert_eq!(cut.sessions.top.len(), 1);
        assert_eq!(cut.sessions.count, 2);
    }

    #[test]
    fn hourly_timeline_and_pace() {
        let report = aggregate(&fixture(), &params());
        let t = &report.timeline;
        assert_eq!(t.buckets.len(), 24);
        assert_eq!(t.tpd_pace_per_bucket, Some(100_000));
        let nine = &t.buckets[9];
        assert_eq!(nine.start, at("2026-11-22T09:00:00Z"));
        assert_eq!(nine.requests, 2);
        assert_eq!(nine.quota_tokens, 2000 + 5000 + 120);
        assert_eq!(nine.reserved_tokens, 1_281_000 + 1_282_000 + 120);
        let ten = &t.buckets[10];
        assert_eq!((ten.requests, ten.quota_tokens, ten.throttles), (2, 700, 1));
        assert_eq!(t.buckets[23].cumulative_quota_tokens, 7820);
    }

    #[test]
    fn peaks() {
        let report = aggregate(&fixture(), &params());
        let minute = report.peaks.tpm_minute.unwrap();
        assert_eq!(minute.start, at("2026-11-22T09:00:00Z"));
        assert_eq!((minute.quota_tokens, minute.requests), (7000, 2));
        let flight = report.peaks.in_flight.unwrap();
        assert_eq!(flight.requests, 2);
        assert_eq!(flight.at, at("2026-11-22T09:00:10Z"));
        assert_eq!(flight.reserved_tokens, 1_281_000 + 1_282_000);
    }

    #[test]
    fn back_to_back_requests_do_not_overlap() {
        let a = request(
            "a",
            "2026-11-22T09:00:00Z",
            "2026-11-22T09:00:10Z",
            1,
            1,
            4096,
        );
        let b = request(
            "b",
            "2026-11-22T09:00:10Z",
            "2026-11-22T09:00:20Z",
            1,
            1,
            4096,
        );
        let report = aggregate(&[b, a], &params());
        assert_eq!(report.peaks.in_flight.unwrap().requests, 1);
    }

    #[test]
    fn throttle_rows_carry_the_estimate() {
        let report = aggregate(&fixture(), &params());
        assert_eq!(report.throttles.len(), 1);
        let t = &report.throttles[0];
        assert_eq!(t.limit, "tokens-per-day");
        assert_eq!(t.day_used, Some(2_000_000));
        assert_eq!(t.tpd, Some(2_400_000));
    }

    #[test]
    fn percentiles_nearest_rank() {
        assert_eq!(percentile(&[], 50), 0);
        assert_eq!(percentile(&[7], 99), 7);
        assert_eq!(percentile(&[1, 2, 3, 4], 50), 2);
        let hundred: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&hundred, 50), 50);
        assert_eq!(percentile(&hundred, 99), 99);
        assert_eq!(percentile(&hundred, 100), 100);
        let two_hundred: Vec<u64> = (1..=200).collect();
        assert_eq!(percentile(&two_hundred, 99), 198);
    }

    #[test]
    fn suggestion_rounds_up_with_headroom_and_floor() {
        assert_eq!(suggest_max_tokens(300, 25, 4096), 4096);
        assert_eq!(suggest_max_tokens(10_000, 25, 4096), 13_312);
        assert_eq!(suggest_max_tokens(8192, 0, 0), 8192);
        assert_eq!(suggest_max_tokens(0, 25, 0), 1024);
    }

    #[test]
    fn output_advice_and_counterfactual() {
        let report = aggregate(&fixture(), &params());
        let o = &report.output;
        // answered with max_tokens: a (100), b (300), c (40).
        assert_eq!(o.requests, 3);
        assert_eq!(
            o.output_tokens,
            Spread {
                p50: 100,
                p99: 300,
                max: 300
            }
        );
        assert_eq!(
            o.max_tokens,
            Spread {
                p50: 128_000,
                p99: 128_000,
                max: 128_000
            }
        );
        assert_eq!(o.suggested_max_tokens, Some(4096));
        // a and b would reserve 4096 x 10 instead of 128000 x 10; c already asked 4096.
        let saved = 2 * (128_000 - 4096) * 10;
        assert_eq!(o.reserved_savings_tokens, saved);
        assert_eq!(
            o.counterfactual_reserved_tokens,
            report.totals.reserved_tokens - saved
        );
        assert_eq!(o.models.len(), 2);
        assert_eq!(o.at_limit, 0);
    }

    #[test]
    fn empty_ledger_is_an_empty_report() {
        let report = aggregate(&[], &params());
        assert_eq!(report.totals, Totals::default());
        assert!(report.peaks.tpm_minute.is_none());
        assert!(report.peaks.in_flight.is_none());
        assert_eq!(report.output.suggested_max_tokens, None);
        assert_eq!(report.timeline.buckets.len(), 24);
    }
}
