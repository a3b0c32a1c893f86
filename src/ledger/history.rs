//! The recent past from the ledger, for the commands that look back: the throttles of the
//! last days, and the largest output actually produced (for `max_tokens` advice).

use chrono::{DateTime, Duration, Utc};

use crate::ledger::{Kind, Ledger, Record};
use crate::paths::Paths;

/// Throttle and request records of the last `days` UTC days (today included).
#[derive(Debug, Default)]
pub struct History {
    pub throttles: Vec<Record>,
    /// Largest output of any request, overall and by canonical model.
    pub largest_output: u64,
    pub largest_by_model: std::collections::BTreeMap<String, u64>,
    /// Models seen in the main loop's or a subagent's requests.
    pub main_models: std::collections::BTreeSet<String>,
    /// Models seen in side requests (see [`Record::is_side_request`]): the largest `max_tokens`
    /// such a request was sent with (0 when the record does not say).
    pub side_max_tokens: std::collections::BTreeMap<String, u64>,
    pub days_read: usize,
    /// Unreadable lines skipped.
    pub skipped: usize,
}

pub fn read(paths: &Paths, days: u32, now: DateTime<Utc>) -> std::io::Result<History> {
    let ledger = Ledger::new(paths);
    let first = (now - Duration::days(i64::from(days.max(1)) - 1)).date_naive();
    let mut history = History::default();
    for day in ledger.days()?.into_iter().filter(|d| *d >= first) {
        let (records, skipped) = ledger.read_day(day)?;
        history.days_read += 1;
        history.skipped += skipped;
        for record in records {
            match record.kind {
                Kind::Throttle => history.throttles.push(record),
                _ if record.is_side_request() => {
                    let entry = history
                        .side_max_tokens
                        .entry(record.model_norm.clone())
                        .or_default();
                    *entry = (*entry).max(record.max_tokens.unwrap_or(0));
                }
                Kind::Request => {
                    history.main_models.insert(record.model_norm.clone());
                    history.largest_output = history.largest_output.max(record.output);
                    let entry = history
                        .largest_by_model
                        .entry(record.model_norm.clone())
                        .or_default();
                    *entry = (*entry).max(record.output);
                }
                Kind::Side => {}
            }
        }
    }
    history.throttles.sort_by_key(|r| r.ts);
    Ok(history)
}
