//! A ledger as bedrock-hook's hooks would have left it after `days` days of use: day files
//! with their dedupe index (written through the library's own `Ledger::append`, so the
//! format is the real one) and the live state the hooks keep beside them.

use std::path::Path;
use std::time::Duration as StdDuration;

use anyhow::{Context, Result};
use bedrock_hook::config::Config;
use bedrock_hook::ledger::record::SCHEMA_VERSION;
use bedrock_hook::ledger::{
    Entry, Kind, Ledger, LedgerLock, LiveState, MaxTokensSource, Outcome, Record, ThrottleInfo,
};
use bedrock_hook::paths::Paths;
use bedrock_hook::quota::{self, Usage};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};

use super::rng::Rng;
use super::transcript::{MODELS, SIDE_MODEL};

/// How many requests a day of work makes: `per_day` on an average weekday, less at
/// weekends, with day-to-day spread.
fn requests_on(day: NaiveDate, per_day: u64, rng: &mut Rng) -> u64 {
    let base = per_day as f64 * (0.5 + rng.f64());
    let factor = match day.weekday() {
        Weekday::Sat | Weekday::Sun => 0.2,
        _ => 1.0,
    };
    (base * factor) as u64
}

pub struct Written {
    pub records: u64,
    pub days: u64,
    pub bytes: u64,
}

/// Write `days` days of records ending with the day of `now` (whose records all lie
/// before `now`), then the live state as of `now`.
pub fn write_ledger(
    data_dir: &Path,
    days: u64,
    per_day: u64,
    now: DateTime<Utc>,
    rng: &mut Rng,
) -> Result<Written> {
    let paths = Paths::at(data_dir);
    let config = Config::default();
    let mut ledger = Ledger::new(&paths);
    let lock = LedgerLock::acquire(&paths, StdDuration::from_secs(5))
        .context("locking the ledger")?
        .context("ledger busy")?;
    let today = now.date_naive();
    let mut written = Written {
        records: 0,
        days: 0,
        bytes: 0,
    };
    for back in (0..days).rev() {
        let day = today - Duration::days(back as i64);
        let start = day.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
        let end = if day == today {
            now - Duration::seconds(1)
        } else {
            start + Duration::days(1)
        };
        let count = requests_on(day, per_day, rng);
        let records = day_records(&config, start, end, count, rng);
        let entries = records.into_iter().map(Entry::new).collect();
        written.records += ledger
            .append(&lock, entries)
            .context("appending records")?
            .len() as u64;
        ledger.flush().context("writing records")?;
        written.days += 1;
        written.bytes += std::fs::metadata(ledger.day_file(day))
            .map(|m| m.len())
            .unwrap_or(0);
    }
    let state = LiveState::rebuild(&ledger, config.day_boundary, now);
    state
        .save(&paths.state_file())
        .context("saving the live state")?;
    Ok(written)
}

/// One day's records: sessions of consecutive requests, some by subagents, a few side
/// totals, failed attempts and throttles, in time order within `start..end`.
fn day_records(
    config: &Config,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    count: u64,
    rng: &mut Rng,
) -> Vec<Record> {
    let span_ms = (end - start).num_milliseconds().max(1) as u64;
    let mut stamps: Vec<u64> = (0..count).map(|_| rng.range(0, span_ms)).collect();
    stamps.sort_unstable();
    let mut records = Vec::with_capacity(count as usize + count as usize / 20);
    let mut session = rng.uuid();
    let mut agent: Option<String> = None;
    let mut model = MODELS[0];
    let project = format!(
        "/home/dev/{}",
        rng.pick(&["api", "web", "infra", "ml", "docs"])
    );
    let mut context = 12_000u64;
    let mut side_count = 0;
    for (n, offset) in stamps.into_iter().enumerate() {
        if n % 60 == 0 {
            session = rng.uuid();
            model = *rng.pick(MODELS);
            context = rng.range(9_000, 16_000);
        }
        if rng.chance(0.08) {
            agent = if agent.is_none() {
                Some(rng.hex(17))
            } else {
                None
            };
        }
        let ts = start + Duration::milliseconds(offset as i64);
        let usage = Usage {
            input: rng.range(1, 40),
            cache_write: rng.log_uniform(200, 25_000),
            cache_read: context,
            output: rng.log_uniform(20, 6_000),
        };
        context = (context + usage.cache_write + usage.output).min(180_000);
        let throttled = rng.chance(0.002);
        let failed = throttled || rng.chance(0.005);
        let mut record = request(config, model, &session, agent.as_deref(), ts, usage, rng);
        record.project = Some(project.clone());
        if failed {
            record.outcome = Outcome::NoResponse;
            record.id = rng.uuid();
            record.end_ts = None;
            (
                record.input,
                record.cache_write,
                record.cache_read,
                record.output,
            ) = (0, 0, 0, 0);
            (record.reserved, record.settled) = (0, 0);
        }
        if throttled {
            let mut throttle = record.clone();
            throttle.kind = Kind::Throttle;
            throttle.throttle = Some(ThrottleInfo {
                limit: Some(bedrock_hook::quota::Limit::TokensPerMinute),
                day_used: rng.range(1_000_000, 50_000_000),
                minute_used: rng.range(100_000, 2_000_000),
                minute_requests: rng.range(1, 40),
                ..ThrottleInfo::default()
            });
            records.push(throttle);
        }
        records.push(record);
        if n % 60 == 59 || rng.chance(0.01) {
            side_count += 1;
            records.push(side(config, &session, ts, side_count, rng));
        }
    }
    records
}

fn request(
    config: &Config,
    model: (&str, u64),
    session: &str,
    agent: Option<&str>,
    ts: DateTime<Utc>,
    usage: Usage,
    rng: &mut Rng,
) -> Record {
    let name = quota::normalize(model.0, &config.profiles);
    let burndown = quota::burndown_for(&name, &config.burndown);
    Record {
        v: SCHEMA_VERSION,
        kind: Kind::Request,
        id: format!("req_bdrk_{}", rng.hex(24)),
        ts,
        end_ts: Some(ts + Duration::milliseconds(rng.range(800, 60_000) as i64)),
        session: session.to_string(),
        agent: agent.map(str::to_string),
        model: model.0.to_string(),
        model_norm: name.canonical,
        burndown: burndown.rate,
        burndown_assumed: burndown.assumed,
        input: usage.input,
        cache_write: usage.cache_write,
        cache_read: usage.cache_read,
        output: usage.output,
        max_tokens: Some(model.1),
        max_tokens_source: MaxTokensSource::ApiRequest,
        reserved: quota::reservation(&usage, model.1, burndown.rate, &config.reservation),
        settled: quota::settled(&usage, burndown.rate),
        outcome: Outcome::Ok,
        query_source: Some(
            if agent.is_some() {
                "agent:builtin:general-purpose"
            } else {
                "repl_main_thread"
            }
            .into(),
        ),
        project: None,
        throttle: None,
    }
}

fn side(config: &Config, session: &str, ts: DateTime<Utc>, n: u64, rng: &mut Rng) -> Record {
    let name = quota::normalize(SIDE_MODEL, &config.profiles);
    let burndown = quota::burndown_for(&name, &config.burndown);
    let usage = Usage {
        input: rng.range(200, 4_000),
        output: rng.range(5, 200),
        ..Usage::default()
    };
    let settled = quota::settled(&usage, burndown.rate);
    Record {
        v: SCHEMA_VERSION,
        kind: Kind::Side,
        id: format!("{session}:{}:{n}", name.canonical),
        ts,
        end_ts: None,
        session: session.to_string(),
        agent: None,
        model: SIDE_MODEL.to_string(),
        model_norm: name.canonical,
        burndown: burndown.rate,
        burndown_assumed: burndown.assumed,
        input: usage.input,
        cache_write: 0,
        cache_read: 0,
        output: usage.output,
        max_tokens: None,
        max_tokens_source: MaxTokensSource::Unknown,
        reserved: settled,
        settled,
        outcome: Outcome::Ok,
        query_source: None,
        project: None,
        throttle: None,
    }
}
