//! What `GetMetricData` returned, reduced to per-model, per-minute counts. The CLI prints
//! timestamps as epoch seconds or as ISO 8601 text depending on the version and the
//! server: both are read.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::query::{METRICS, Metric, parse_id};

/// Token and request counts of one model over some span.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    #[serde(default)]
    pub input: u64,
    #[serde(default)]
    pub output: u64,
    #[serde(default)]
    pub cache_write: u64,
    #[serde(default)]
    pub cache_read: u64,
    #[serde(default)]
    pub invocations: u64,
    #[serde(default)]
    pub throttles: u64,
    /// `EstimatedTPMQuotaUsage` summed; `None` where CloudWatch has no such metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated: Option<u64>,
}

impl Counts {
    pub fn add(&mut self, other: &Counts) {
        self.input += other.input;
        self.output += other.output;
        self.cache_write += other.cache_write;
        self.cache_read += other.cache_read;
        self.invocations += other.invocations;
        self.throttles += other.throttles;
        if let Some(e) = other.estimated {
            self.estimated = Some(self.estimated.unwrap_or(0) + e);
        }
    }

    fn set(&mut self, metric: Metric, value: u64) {
        match metric {
            Metric::Input => self.input += value,
            Metric::Output => self.output += value,
            Metric::CacheWrite => self.cache_write += value,
            Metric::CacheRead => self.cache_read += value,
            Metric::Invocations => self.invocations += value,
            Metric::Throttles => self.throttles += value,
            Metric::Estimated => self.estimated = Some(self.estimated.unwrap_or(0) + value),
        }
    }

    /// Quota tokens settled: input + cache writes + output x burndown.
    pub fn settled(&self, burndown: f64) -> u64 {
        crate::quota::formula::settled(
            &crate::quota::Usage {
                input: self.input,
                cache_write: self.cache_write,
                cache_read: self.cache_read,
                output: self.output,
            },
            burndown,
        )
    }

    /// The burndown rate CloudWatch's estimate implies: (estimate - input - cache
    /// writes) / output. `None` without an estimate or output.
    pub fn implied_burndown(&self) -> Option<f64> {
        let estimated = self.estimated?;
        if self.output == 0 {
            return None;
        }
        let billed_input = self.input + self.cache_write;
        Some(estimated.saturating_sub(billed_input) as f64 / self.output as f64)
    }
}

/// One page of a `get-metric-data` answer: counts per model index and minute.
#[derive(Debug, Default)]
pub struct Page {
    pub minutes: BTreeMap<(usize, DateTime<Utc>), Counts>,
    pub next_token: Option<String>,
    /// Queries CloudWatch reported as not complete (`PartialData`, `InternalError`...).
    pub incomplete: usize,
}

/// Parse the CLI's JSON output.
pub fn parse(bytes: &[u8]) -> Result<Page> {
    let value: Value = serde_json::from_slice(bytes).context("the answer is not JSON")?;
    let results = value
        .get("MetricDataResults")
        .and_then(Value::as_array)
        .context("the answer has no MetricDataResults")?;
    let mut page = Page {
        next_token: value
            .get("NextToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string),
        ..Page::default()
    };
    for result in results {
        let Some((model, metric)) = result.get("Id").and_then(Value::as_str).and_then(parse_id)
        else {
            continue;
        };
        let Some((metric, _)) = METRICS.get(metric) else {
            continue;
        };
        if result
            .get("StatusCode")
            .and_then(Value::as_str)
            .is_some_and(|s| s != "Complete")
        {
            page.incomplete += 1;
        }
        let empty = Vec::new();
        let times = result
            .get("Timestamps")
            .and_then(Value::as_array)
            .unwrap_or(&empty);
        let values = result
            .get("Values")
            .and_then(Value::as_array)
            .unwrap_or(&empty);
        for (t, v) in times.iter().zip(values) {
            let (Some(at), Some(v)) = (timestamp(t), v.as_f64()) else {
                continue;
            };
            if !(v.is_finite() && v >= 0.0) {
                continue;
            }
            page.minutes
                .entry((model, at))
                .or_default()
                .set(*metric, v.round() as u64);
        }
    }
    Ok(page)
}

fn timestamp(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::Number(n) => DateTime::from_timestamp(n.as_f64()? as i64, 0),
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_iso_timestamps() {
        let page = parse(
            br#"{"MetricDataResults":[
              {"Id":"m0_0","Timestamps":[1780384200],"Values":[10500.0],"StatusCode":"Complete"},
              {"Id":"m0_1","Timestamps":["2026-06-02T07:10:00+00:00"],"Values":[100.0],"StatusCode":"Complete"},
              {"Id":"m0_6","Timestamps":["2026-06-02T07:10:00Z"],"Values":[11600.0],"StatusCode":"PartialData"},
              {"Id":"junk","Timestamps":[1],"Values":[1]}
            ],"NextToken":"abc"}"#,
        )
        .unwrap();
        let at: DateTime<Utc> = "2026-06-02T07:10:00Z".parse().unwrap();
        let counts = page.minutes[&(0, at)];
        assert_eq!(counts.input, 10_500);
        assert_eq!(counts.output, 100);
        assert_eq!(counts.estimated, Some(11_600));
        assert_eq!(counts.settled(10.0), 11_500);
        assert_eq!(counts.implied_burndown(), Some(11.0));
        assert_eq!(page.next_token.as_deref(), Some("abc"));
        assert_eq!(page.incomplete, 1);
        assert!(parse(b"nope").is_err());
    }
}
