//! `bedrock-hook quota show`: the configured quotas per bucket, where each came from,
//! and what today used of them (from the live state, no ledger scan), with the cap on all
//! models together (`tpd_all_models`) when one is set.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Result;

use crate::config::{Config, Source};
use crate::context::Context;
use crate::ledger::LiveState;
use crate::quota::Limit;
use crate::terminal::out;
use crate::terminal::pretty_tokens;

/// `quota show`
pub fn show(context: &Context) -> Result<ExitCode> {
    let Context { paths, config, now } = context;
    let state = LiveState::read(&paths.state_file());
    out!("{}", describe(config, state.as_ref(), *now));
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
    if let Some(tpd) = config.tpd_all_models {
        let all: u64 = used.values().sum();
        let used_text = format!(
            "{} ({:.0}% of TPD)",
            pretty_tokens(all),
            all as f64 * 100.0 / tpd as f64
        );
        let set_by = source_label(config.source_of("tpd_all_models"));
        let _ = writeln!(
            out,
            "{:<22} {:>9} {:>9} {:>7}  {used_text:<22} {set_by}",
            "(all models together)",
            pretty_tokens(tpd),
            "-",
            "-"
        );
    }
    if inherited_any {
        let _ = writeln!(
            out,
            "* not set for the model: the default bucket's value applies"
        );
    }
    if config.quotas == Default::default()
        && config.models.is_empty()
        && config.tpd_all_models.is_none()
    {
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
        Source::Settings(name, origin) => format!("{name} in {origin}"),
    }
}
