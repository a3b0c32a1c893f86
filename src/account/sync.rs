//! `bedrock-hook team sync`: one `GetMetricData` call for today's minutes of the models in
//! use, reduced to [`AccountFile`] next to this machine's own use up to the same minute.
//! Run by hand (it prints what it fetched) or detached by the hook (it prints nothing and
//! leaves any failure in the file for the status line and `doctor`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use anyhow::{Result, anyhow};
use chrono::{DateTime, Duration, DurationRound, Utc};

use super::bucket::{EndpointType, region_from};
use super::file::{self, AccountFile, Bucket, LastError, Minute};
use super::metrics::{self, Counts};
use super::query;
use super::runner::{AwsCli, AwsError};
use crate::config::Config;
use crate::context::Context;
use crate::ledger::{Kind, Ledger, LiveState, Record};
use crate::paths::Paths;
use crate::quota::{burndown, model_id};
use crate::terminal::outln;
use crate::terminal::pretty_tokens;

/// Minutes CloudWatch may still be filling: the watermark stays this far behind now.
pub const LAG_MINUTES: i64 = 1;
/// How long the list of models CloudWatch has is reused before it is asked again.
const DISCOVER_SECS: i64 = 3600;
/// Pages of one answer followed at most (a day of a few models is one page).
const MAX_PAGES: usize = 10;
pub const ACTION: &str = "cloudwatch:GetMetricData";

/// Fetch, write the file, and return it. On failure the file keeps its last numbers and
/// records the error, and the error names CloudWatch and the cause.
pub fn run(paths: &Paths, config: &Config, now: DateTime<Utc>) -> Result<AccountFile> {
    crate::files::ensure_private_dir(&paths.data_dir)?;
    let _ = file::mark_started(&paths.data_dir, now);
    let region = region_from(|k| std::env::var(k).ok());
    match fetch(paths, config, now, region.clone()) {
        Ok(fetched) => {
            fetched.save(&paths.data_dir)?;
            Ok(fetched)
        }
        Err(e) => {
            let message = format!("CloudWatch: {e}");
            let mut kept = AccountFile::read(&paths.data_dir).unwrap_or(AccountFile {
                v: file::VERSION,
                region,
                ..AccountFile::default()
            });
            kept.last_error = Some(LastError {
                at: now,
                message: message.clone(),
            });
            let _ = kept.save(&paths.data_dir);
            Err(anyhow!(message))
        }
    }
}

/// `bedrock-hook team sync`: works whether or not account mode is on (to try it first).
pub fn command(background: bool, context: &Context) -> Result<std::process::ExitCode> {
    let fetched = run(&context.paths, &context.config, context.now)?;
    if !background {
        outln!("{}", describe(&fetched));
        if !super::enabled(&context.config) {
            outln!("account mode is off: set team = \"cloudwatch\" in the config to use it");
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// The watermark for `now`: the end of the last minute CloudWatch is taken to have whole.
pub fn watermark(now: DateTime<Utc>) -> DateTime<Utc> {
    let minute = now.duration_trunc(Duration::minutes(1)).unwrap_or(now);
    minute - Duration::minutes(LAG_MINUTES)
}

fn fetch(
    paths: &Paths,
    config: &Config,
    now: DateTime<Utc>,
    region: Option<String>,
) -> Result<AccountFile, AwsError> {
    let boundary = config.day_boundary;
    let day = boundary.day_of(now);
    let day_start = boundary.day_start(day);
    let watermark = watermark(now).max(day_start);
    let own = own_records(paths, config, now);
    let cli = AwsCli::new(&config.aws_cli);
    let (discovered, discovered_at) = discover(&cli, &paths.data_dir, region.as_deref(), now)?;
    let models = models_in_use(paths, &own, &discovered);
    let mut minutes: BTreeMap<(usize, DateTime<Utc>), Counts> = BTreeMap::new();
    if watermark > day_start {
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let input = query::build(&models, day_start, watermark, token.as_deref());
            let input = input.to_string();
            let out = cli.call(
                &[
                    "cloudwatch",
                    "get-metric-data",
                    "--cli-input-json",
                    input.as_str(),
                ],
                ACTION,
            )?;
            let page = metrics::parse(&out)
                .map_err(|e| AwsError::Other(format!("unexpected GetMetricData answer: {e:#}")))?;
            for (key, counts) in page.minutes {
                minutes.entry(key).or_default().add(&counts);
            }
            token = page.next_token;
            if token.is_none() {
                break;
            }
        }
    }
    let hours = ((watermark - day_start).num_minutes() as usize).div_ceil(60);
    let hour_of = |at: DateTime<Utc>| ((at - day_start).num_minutes().max(0) as usize) / 60;
    let mut buckets = Vec::new();
    let mut recent = Vec::new();
    let first_recent = watermark - Duration::minutes(file::LAST_MINUTES as i64);
    for (mi, model) in models.iter().enumerate() {
        let name = model_id::normalize(model, &config.profiles);
        let rate = burndown::burndown_for(&name, &config.burndown).rate;
        let mut bucket = Bucket {
            region: region.clone(),
            endpoint: EndpointType::of(model),
            model: model.clone(),
            model_norm: name.canonical.clone(),
            burndown: rate,
            account: Counts::default(),
            settled: 0,
            own_settled: 0,
            hourly: vec![0; hours],
            own_hourly: vec![0; hours],
        };
        for ((_, at), counts) in minutes.range((mi, day_start)..(mi, watermark)) {
            bucket.account.add(counts);
            let settled = counts.settled(rate);
            bucket.settled += settled;
            if let Some(h) = bucket.hourly.get_mut(hour_of(*at)) {
                *h += settled;
            }
            if *at >= first_recent {
                recent.push(Minute {
                    at: *at,
                    model: model.clone(),
                    settled,
                    throttles: counts.throttles,
                });
            }
        }
        for record in own.iter().filter(|r| r.model == *model) {
            let done = record.end_ts.unwrap_or(record.ts);
            if done >= day_start && done < watermark {
                bucket.own_settled += record.settled;
                if let Some(h) = bucket.own_hourly.get_mut(hour_of(done)) {
                    *h += record.settled;
                }
            }
        }
        buckets.push(bucket);
    }
    Ok(AccountFile {
        v: file::VERSION,
        fetched_at: Some(now),
        day: Some(day),
        boundary: boundary.describe(),
        day_start: Some(day_start),
        watermark: Some(watermark),
        region,
        buckets,
        minutes: recent,
        last_error: None,
        discovered,
        discovered_at,
    })
}

/// `ListMetrics` for Bedrock's input tokens: one metric per model id (and dimension set)
/// with data in this region. What `discover` reads the model ids from, and what `doctor`
/// asks to see that the credentials may read the metrics. An answer that is not JSON is
/// `Null`.
pub fn list_metrics(cli: &AwsCli) -> Result<serde_json::Value, AwsError> {
    let out = cli.call(
        &[
            "cloudwatch",
            "list-metrics",
            "--namespace",
            "AWS/Bedrock",
            "--metric-name",
            "InputTokenCount",
        ],
        "cloudwatch:ListMetrics",
    )?;
    Ok(serde_json::from_slice(&out).unwrap_or_default())
}

/// The Claude model ids CloudWatch lists for this region, from the last file when that
/// list is less than [`DISCOVER_SECS`] old, else from `ListMetrics`. Without permission
/// for it the models in use are all that is asked for; a failure that would fail the
/// metrics call too (no CLI, no credentials, no network) fails the sync at once.
fn discover(
    cli: &AwsCli,
    data_dir: &std::path::Path,
    region: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(Vec<String>, Option<DateTime<Utc>>), AwsError> {
    if let Some(old) = AccountFile::read(data_dir)
        && old.region.as_deref() == region
        && let Some(at) = old.discovered_at
        && (0..DISCOVER_SECS).contains(&(now - at).num_seconds())
    {
        return Ok((old.discovered, Some(at)));
    }
    let listed = match list_metrics(cli) {
        Ok(listed) => listed,
        Err(AwsError::AccessDenied(_) | AwsError::Other(_)) => return Ok((Vec::new(), None)),
        Err(fatal) => return Err(fatal),
    };
    let mut models: BTreeSet<String> = BTreeSet::new();
    for metric in listed
        .get("Metrics")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
    {
        for dim in metric
            .get("Dimensions")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
        {
            if dim.get("Name").and_then(serde_json::Value::as_str) == Some("ModelId")
                && let Some(id) = dim.get("Value").and_then(serde_json::Value::as_str)
                && id.contains("anthropic.")
                && plausible_model_id(id)
            {
                models.insert(id.to_string());
            }
        }
    }
    Ok((models.into_iter().collect(), Some(now)))
}

/// This machine's settled records of today's TPD day (throttles carry no tokens).
fn own_records(paths: &Paths, config: &Config, now: DateTime<Utc>) -> Vec<Record> {
    let boundary = config.day_boundary;
    let day = boundary.day_of(now);
    let ledger = Ledger::new(paths);
    let mut out = Vec::new();
    for utc_day in boundary.utc_days_covering(day) {
        if let Ok((records, _)) = ledger.read_day(utc_day) {
            out.extend(
                records
                    .into_iter()
                    .filter(|r| r.kind != Kind::Throttle && boundary.day_of(r.ts) == day),
            );
        }
    }
    out
}

/// Model ids as called: today's ledger, the live state's sessions, the Claude models
/// CloudWatch lists; the client's default when there is none.
fn models_in_use(paths: &Paths, own: &[Record], discovered: &[String]) -> Vec<String> {
    let mut models: BTreeSet<String> = own.iter().map(|r| r.model.clone()).collect();
    models.extend(discovered.iter().cloned());
    if let Some(state) = LiveState::read(&paths.state_file()) {
        models.extend(state.streams.values().map(|s| s.model.clone()));
        models.extend(state.session_models.values().map(|(_, m)| m.clone()));
    }
    let mut models: Vec<String> = models
        .into_iter()
        .filter(|m| plausible_model_id(m))
        .collect();
    if models.is_empty() {
        models.push(crate::budget::CLIENT_DEFAULT_MODEL.to_string());
    }
    models.truncate(query::max_models());
    models
}

/// What can be a Bedrock `ModelId` dimension value (not a display name or an alias).
fn plausible_model_id(model: &str) -> bool {
    !model.is_empty()
        && model.len() <= 256
        && model.contains('.')
        && model
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._:/".contains(c))
}

/// What `team sync` prints.
pub fn describe(file: &AccountFile) -> String {
    let mut out = String::new();
    let region = file.region.as_deref().unwrap_or("(default region)");
    let span = match (file.day_start, file.watermark) {
        (Some(start), Some(mark)) => format!(
            "{} to {}",
            start.format("%Y-%m-%d %H:%M"),
            mark.format("%H:%M UTC")
        ),
        _ => "nothing".to_string(),
    };
    let _ = writeln!(
        out,
        "CloudWatch {region}: {} model{}, {span}",
        file.buckets.len(),
        if file.buckets.len() == 1 { "" } else { "s" }
    );
    for b in &file.buckets {
        let c = &b.account;
        let others = b.settled.saturating_sub(b.own_settled);
        let _ = writeln!(
            out,
            "  {} ({}): account {} settled, this machine {}, others {} · {} requests, {} throttled",
            crate::terminal::clean(&b.model),
            b.endpoint.as_str(),
            pretty_tokens(b.settled),
            pretty_tokens(b.own_settled),
            pretty_tokens(others),
            c.invocations,
            c.throttles,
        );
        let _ = writeln!(
            out,
            "    input {}, cache write {}, cache read {}, output {} (x{})",
            pretty_tokens(c.input),
            pretty_tokens(c.cache_write),
            pretty_tokens(c.cache_read),
            pretty_tokens(c.output),
            b.burndown
        );
    }
    let _ = write!(out, "written to {}", crate::account::file::FILE_NAME);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watermark_is_a_whole_minute_behind() {
        let now: DateTime<Utc> = "2026-12-02T11:00:42Z".parse().unwrap();
        assert_eq!(
            watermark(now),
            "2026-12-02T10:59:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn model_ids_only() {
        assert!(plausible_model_id("us.anthropic.claude-opus-5-5"));
        assert!(plausible_model_id(
            "global.anthropic.claude-haiku-4-5-20251001-v1:0"
        ));
        assert!(!plausible_model_id("Opus 5.5"));
        assert!(!plausible_model_id("opus"));
    }
}
