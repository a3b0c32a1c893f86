//! `bedrock-hook quota calibrate`: show the throttles of the last days and what they say
//! about the real quotas (`quota_setup::evidence`), then write the quotas they point to.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::{Context as _, Result};

use super::{config_path, note_overrides, report_changes};
use crate::config::edit::{self, QuotaValue};
use crate::context::Context;
use crate::ledger::history;
use crate::quota::Limit;
use crate::quota_setup::evidence;
use crate::terminal::out;
use crate::terminal::pretty_tokens;

/// `quota calibrate`
pub fn calibrate(days: u32, dry_run: bool, context: &Context) -> Result<ExitCode> {
    let Context { paths, config, now } = context;
    let path = config_path(paths)?;
    let history = history::read(paths, days, *now)
        .with_context(|| format!("reading the ledger in {}", paths.ledger_dir().display()))?;
    let throttles = evidence::throttles(&history.throttles, config);
    let account = if crate::account::enabled(config) {
        crate::account::explain::calibrate_section(&history.throttles, &paths.data_dir)
    } else {
        String::new()
    };
    let mut out = String::new();
    if throttles.is_empty() {
        let _ = writeln!(
            out,
            "No throttles recorded in the last {days} days: nothing to calibrate."
        );
        out.push_str(&account);
        out!("{out}");
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
    out.push_str(&account);
    let found = evidence::evidence(&throttles, config);
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
        note_overrides(&mut out, config, &["tpd", "tpm", "rpm", "models"]);
    } else if !found.is_empty() {
        let _ = writeln!(
            out,
            "\nThe configured quotas already agree: nothing to change."
        );
    }
    out!("{out}");
    Ok(ExitCode::SUCCESS)
}
