//! The `--json` document: a stable schema for scripts and dashboards. Keys are only ever
//! added (never renamed or removed) within one `schema` version; `docs/report-json.md`
//! documents every key. `totals` has exactly the keys of `aggregate::Totals`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::aggregate::Report;
use super::range::Selection;
use crate::quota::Quotas;

/// Bumped only on an incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub struct Document<'a> {
    pub schema: u32,
    pub range: RangeInfo,
    /// The account-default quotas the report compares with (from the config).
    pub quotas: QuotaInfo,
    /// Ledger lines that could not be read (torn or foreign lines).
    pub ledger_lines_skipped: usize,
    #[serde(flatten)]
    pub report: &'a Report,
}

#[derive(Debug, Serialize)]
pub struct RangeInfo {
    /// First instant covered; null for a whole-history session report.
    pub start: Option<DateTime<Utc>>,
    /// First instant not covered; null for a whole-history session report.
    pub end: Option<DateTime<Utc>>,
    pub label: String,
    /// The TPD day boundary: `utc`, `local` or an offset like `+09:00`.
    pub day_boundary: String,
    pub session: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct QuotaInfo {
    pub tpd: Option<u64>,
    pub tpm: Option<u64>,
    pub rpm: Option<u64>,
}

pub fn document<'a>(
    report: &'a Report,
    selection: &Selection,
    day_boundary: String,
    quotas: Quotas,
    skipped: usize,
) -> Document<'a> {
    Document {
        schema: SCHEMA_VERSION,
        range: RangeInfo {
            start: (!selection.whole_history).then_some(selection.start),
            end: (!selection.whole_history).then_some(selection.end),
            label: selection.label.clone(),
            day_boundary,
            session: selection.session.clone(),
        },
        quotas: QuotaInfo {
            tpd: quotas.tpd,
            tpm: quotas.tpm,
            rpm: quotas.rpm,
        },
        ledger_lines_skipped: skipped,
        report,
    }
}

pub fn to_string(document: &Document<'_>) -> String {
    serde_json::to_string_pretty(document).expect("reports always serialize")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::quota::DayBoundary;

    /// The report's keys stand at the top level beside the document's own four, none
    /// shadowed. The key lists themselves are checked end to end in `tests/report.rs`.
    #[test]
    fn report_keys_beside_the_documents_own() {
        let selection = Selection::day("2026-11-22".parse().unwrap(), DayBoundary::Utc, None);
        let report = crate::report::aggregate::empty(&selection);
        let doc = document(&report, &selection, "utc".into(), Quotas::default(), 0);
        let value: serde_json::Value = serde_json::from_str(&to_string(&doc)).unwrap();
        let keys = |v: &serde_json::Value| -> BTreeSet<String> {
            v.as_object().unwrap().keys().cloned().collect()
        };
        let mut expected = keys(&serde_json::to_value(&report).unwrap());
        for own in ["schema", "range", "quotas", "ledger_lines_skipped"] {
            assert!(
                expected.insert(own.to_string()),
                "{own} shadows a report key"
            );
        }
        assert_eq!(keys(&value), expected);
        assert_eq!(value["range"]["start"], "2026-11-22T00:00:00Z");
    }
}
