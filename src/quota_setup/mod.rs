//! `bedrock-hook quota`: getting the quotas right. `import` takes them from AWS Service
//! Quotas listings, `show` prints what is configured per bucket with today's use, and
//! `calibrate` adopts what real throttles say the effective quotas are.

pub mod aws;
pub mod history;
pub mod import;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::config::edit::{self, QuotaChange, QuotaValue};
use crate::config::{Config, Source, pretty_tokens};
use crate::ledger::LiveState;
use crate::paths::Paths;
use crate::quota::Limit;
use crate::quota::evidence;
pub use aws::Endpoint;

fn config_path(paths: &Paths) -> Result<PathBuf> {
    paths
        .config_file
        .clone()
        .context("no config file location: set BEDROCK_HOOK_CONFIG")
}

/// Print the changes and, unless `dry_run`, say where they were written.
fn report_changes(out: &mut String, path: &Path, changes: &[QuotaChange], dry_run: bool) {
    if changes.is_empty() {
        let _ = writeln!(
            out,
            "\n{} already says so: nothing to change.",
            path.display()
        );
        return;
    }
    let _ = writeln!(out, "\nChanges to {}:", path.display());
    for change in changes {
        let _ = writeln!(out, "  {}", change.describe());
    }
    if dry_run {
        let _ = writeln!(out, "Dry run: nothing written.");
    } else {
        let _ = writeln!(out, "Wrote {}.", path.display());
    }
}

/// Environment variables that override what the file says.
fn env_overrides(config: &Config, keys: &[&str]) -> Vec<&'static str> {
    keys.iter()
        .filter_map(|key| match config.source_of(key) {
            Source::Env(name) => Some(name),
            _ => None,
        })
        .collect()
}

fn note_overrides(out: &mut String, config: &Config, keys: &[&str]) {
    for name in env_overrides(config, keys) {
        let _ = writeln!(
            out,
            "Note: {name} is set in the environment and wins over the file."
        );
    }
}

/// `quota import FILE...`
pub fn import(files: &[PathBuf], endpoint: Endpoint, dry_run: bool) -> Result<ExitCode> {
    let paths = Paths::from_env()?;
    let path = config_path(&paths)?;
    let (plan, mut out) = import::read_and_plan(files, endpoint)?;
    let values = plan.values();
    if !values.is_empty() {
        let changes = edit::write_quotas(&path, &values, dry_run)?;
        report_changes(&mut out, &path, &changes, dry_run);
        let config = Config::load(Some(&path));
        note_overrides(&mut out, &config, &["models"]);
    }
    print!("{out}");
    Ok(if values.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `quota show`
pub fn show() -> Result<ExitCode> {
    let paths = Paths::from_env()?;
    let config = Config::load(paths.config_file.as_deref());
    let now = crate::clock::now();
    let state = LiveState::read(&paths.state_file());
    print!("{}", describe(&config, state.as_ref(), now));
    Ok(if config.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The configured quotas per bucket and what today used of them.
pub fn describe(
    config: &Config,
    state: Option<&LiveState>,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let mut out = String::new();
    let file = config
        .path
        .as_ref()
        .map_or_else(|| "(none)".to_string(), |p| p.display().to_string());
    let present = config.path.as_ref().is_some_and(|p| p.exists());
    let _ = writeln!(
        out,
        "config: {file}{}   mode: {}",
        if present { "" } else { " (not present)" },
        config.mode.as_str()
    );
    let today = config.day_boundary.day_of(now);
    let mut used: BTreeMap<String, u64> = BTreeMap::new();
    if let Some(state) = state.filter(|s| s.day == Some(today)) {
        for (model, totals) in &state.today {
            *used.entry(config.bucket_for(model)).or_default() += totals.settled;
        }
    }
    let _ = writeln!(
        out,
        "{:<22} {:>9} {:>9} {:>7}  {:<22} set by",
        "bucket", "TPD", "TPM", "RPM", "used today"
    );
    let mut buckets: Vec<String> = vec![String::new()];
    buckets.extend(config.models.keys().cloned());
    let mut inherited_any = false;
    for bucket in &buckets {
        let own = if bucket.is_empty() {
            config.quotas
        } else {
            config.models[bucket]
        };
        let effective = if bucket.is_empty() {
            config.quotas
        } else {
            config.quotas_for(bucket)
        };
        let mut cell = |limit: Limit| match (limit.of(&own), limit.of(&effective)) {
            (Some(n), _) if limit.counts_tokens() => pretty_tokens(n),
            (Some(n), _) => n.to_string(),
            (None, Some(n)) => {
                inherited_any = true;
                if limit.counts_tokens() {
                    format!("{}*", pretty_tokens(n))
                } else {
                    format!("{n}*")
                }
            }
            (None, None) => "-".to_string(),
        };
        let tpd = cell(Limit::TokensPerDay);
        let tpm = cell(Limit::TokensPerMinute);
        let rpm = cell(Limit::RequestsPerMinute);
        let today_used = used.get(bucket).copied().unwrap_or(0);
        let used_text = match effective.tpd {
            Some(tpd) => format!(
                "{} ({:.0}% of TPD)",
                pretty_tokens(today_used),
                today_used as f64 * 100.0 / tpd as f64
            ),
            None => pretty_tokens(today_used),
        };
        let set_by = if bucket.is_empty() {
            let mut sources: Vec<String> = ["tpd", "tpm", "rpm"]
                .iter()
                .map(|k| source_label(config.source_of(k)))
                .collect();
            sources.dedup();
            sources.join(", ")
        } else {
            source_label(config.source_of("models"))
        };
        let name = if bucket.is_empty() {
            "(all other models)"
        } else {
            bucket
        };
        let _ = writeln!(
            out,
            "{name:<22} {tpd:>9} {tpm:>9} {rpm:>7}  {used_text:<22} {set_by}"
        );
    }
    if inherited_any {
        let _ = writeln!(
            out,
            "* not set for the model: the default bucket's value applies"
        );
    }
    if config.quotas == Default::default() && config.models.is_empty() {
        let _ = writeln!(
            out,
            "No quota configured: run `bedrock-hook quota import FILE` with the output of `aws \
             service-quotas list-service-quotas --service-code bedrock --output json`, or set \
             BEDROCK_HOOK_TPD / BEDROCK_HOOK_TPM."
        );
    }
    for problem in &config.problems {
        let _ = writeln!(out, "problem: {problem}");
    }
    out
}

fn source_label(source: Source) -> String {
    match source {
        Source::Default => "default".to_string(),
        Source::File => "file".to_string(),
        Source::Env(name) => format!("env {name}"),
    }
}

/// `quota calibrate`
pub fn calibrate(days: u32, dry_run: bool) -> Result<ExitCode> {
    let paths = Paths::from_env()?;
    let path = config_path(&paths)?;
    let config = Config::load(Some(&path));
    let now = crate::clock::now();
    let history = history::read(&paths, days, now)
        .with_context(|| format!("reading the ledger in {}", paths.ledger_dir().display()))?;
    let throttles = evidence::throttles(&history.throttles, &config);
    let mut out = String::new();
    if throttles.is_empty() {
        let _ = writeln!(
            out,
            "No throttles recorded in the last {days} days: nothing to calibrate."
        );
        print!("{out}");
        return Ok(ExitCode::SUCCESS);
    }
    let _ = writeln!(out, "Throttles in the last {days} days:");
    for t in &throttles {
        let limit = t.limit.map_or("unknown", |l| l.as_str());
        let configured = t
            .configured_then
            .map(|q| {
                format!(
                    " of {} ({:.0}%)",
                    pretty_tokens(q),
                    t.estimate as f64 * 100.0 / q.max(1) as f64
                )
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {}  {:<20} {:<20} estimate {}{configured}",
            t.at.format("%Y-%m-%d %H:%M:%S"),
            t.model,
            limit,
            if t.limit == Some(Limit::RequestsPerMinute) {
                format!("{} requests", t.estimate)
            } else {
                pretty_tokens(t.estimate)
            }
        );
    }
    let found = evidence::evidence(&throttles, &config);
    let _ = writeln!(out, "\nWhat they say:");
    let mut values = Vec::new();
    for e in &found {
        let _ = writeln!(out, "  {}", e.explain());
        if let Some(value) = e.suggestion() {
            values.push(QuotaValue {
                bucket: e.bucket.clone(),
                limit: e.limit,
                value,
            });
        }
    }
    if found.is_empty() {
        let _ = writeln!(
            out,
            "  The throttle messages did not say which limit ran out: nothing to adopt."
        );
    }
    if !values.is_empty() {
        let changes = edit::write_quotas(&path, &values, dry_run)?;
        report_changes(&mut out, &path, &changes, dry_run);
        note_overrides(&mut out, &config, &["tpd", "tpm", "rpm", "models"]);
    } else if !found.is_empty() {
        let _ = writeln!(
            out,
            "\nThe configured quotas already agree: nothing to change."
        );
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}
