//! The report's account section: per hour of the synced day, the quota tokens the whole
//! account settled (CloudWatch) next to this machine's own, and the difference, which is
//! other machines'. Shown only for the day the account data belongs to.

use std::fmt::Write as _;

use chrono::Duration;

use super::file::AccountFile;
use crate::terminal::pretty_tokens;

/// The section for the report of the TPD day starting at `day_start`; empty when the
/// account data is of another day or has no use in it.
pub fn render(file: &AccountFile, day_start: chrono::DateTime<chrono::Utc>) -> String {
    if file.day_start != Some(day_start) || file.buckets.is_empty() {
        return String::new();
    }
    let hours = file
        .buckets
        .iter()
        .map(|b| b.hourly.len())
        .max()
        .unwrap_or(0);
    let mut rows = Vec::new();
    for h in 0..hours {
        let sum = |f: fn(&super::file::Bucket) -> &Vec<u64>| -> u64 {
            file.buckets
                .iter()
                .map(|b| f(b).get(h).copied().unwrap_or(0))
                .sum()
        };
        let account = sum(|b| &b.hourly);
        let own = sum(|b| &b.own_hourly);
        if account > 0 || own > 0 {
            rows.push((h, account, own));
        }
    }
    if rows.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let region = file
        .region
        .as_deref()
        .map(|r| format!(", {}", crate::terminal::clean(r)))
        .unwrap_or_default();
    let until = file
        .watermark
        .map(|w| format!(" up to {}", w.format("%H:%M UTC")))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "Account vs this machine (CloudWatch{region}{until}), settled quota tokens per hour:"
    );
    let _ = writeln!(
        out,
        "  {:<6} {:>9} {:>13} {:>9}",
        "UTC", "account", "this machine", "others"
    );
    for (h, account, own) in rows {
        let at = day_start + Duration::hours(h as i64);
        let _ = writeln!(
            out,
            "  {:<6} {:>9} {:>13} {:>9}",
            at.format("%H:%M"),
            pretty_tokens(account),
            pretty_tokens(own),
            pretty_tokens(account.saturating_sub(own))
        );
    }
    out
}
