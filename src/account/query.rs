//! The one `GetMetricData` request a sync makes: for each model in use, the Bedrock
//! metrics that count against the quotas, per minute (Period 60, Sum), from the start of
//! the TPD day to the watermark. A whole day of a few models fits one call (500 queries,
//! 100,800 points).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// One metric a sync reads, and the field of [`super::metrics::Counts`] it fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Input,
    Output,
    CacheWrite,
    CacheRead,
    Invocations,
    Throttles,
    Estimated,
}

/// CloudWatch names, in query order.
pub const METRICS: &[(Metric, &str)] = &[
    (Metric::Input, "InputTokenCount"),
    (Metric::Output, "OutputTokenCount"),
    (Metric::CacheWrite, "CacheWriteInputTokenCount"),
    (Metric::CacheRead, "CacheReadInputTokenCount"),
    (Metric::Invocations, "Invocations"),
    (Metric::Throttles, "InvocationThrottles"),
    (Metric::Estimated, "EstimatedTPMQuotaUsage"),
];

/// Most queries one call may hold.
pub const MAX_QUERIES: usize = 500;

/// The query id of `(model index, metric index)`: ids must start with a lower-case letter.
pub fn query_id(model: usize, metric: usize) -> String {
    format!("m{model}_{metric}")
}

/// The inverse of [`query_id`].
pub fn parse_id(id: &str) -> Option<(usize, usize)> {
    let (model, metric) = id.strip_prefix('m')?.split_once('_')?;
    Some((model.parse().ok()?, metric.parse().ok()?))
}

/// The `--cli-input-json` of `aws cloudwatch get-metric-data` for these model ids.
pub fn build(
    models: &[String],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    next_token: Option<&str>,
) -> Value {
    let mut queries = Vec::new();
    for (mi, model) in models.iter().enumerate() {
        for (ki, (_, name)) in METRICS.iter().enumerate() {
            queries.push(json!({
                "Id": query_id(mi, ki),
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/Bedrock",
                        "MetricName": name,
                        "Dimensions": [{"Name": "ModelId", "Value": model}],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
                "ReturnData": true,
            }));
        }
    }
    let mut input = json!({
        "MetricDataQueries": queries,
        "StartTime": start.to_rfc3339_opts(SecondsFormat::Secs, true),
        "EndTime": end.to_rfc3339_opts(SecondsFormat::Secs, true),
        "ScanBy": "TimestampAscending",
    });
    if let Some(token) = next_token {
        input["NextToken"] = Value::String(token.to_string());
    }
    input
}

/// How many models one call can ask about.
pub fn max_models() -> usize {
    MAX_QUERIES / METRICS.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_query_per_model_and_metric() {
        let start: DateTime<Utc> = "2026-12-02T00:00:00Z".parse().unwrap();
        let end: DateTime<Utc> = "2026-12-02T10:59:00Z".parse().unwrap();
        let q = build(
            &["us.anthropic.claude-opus-5-5".to_string()],
            start,
            end,
            None,
        );
        let queries = q["MetricDataQueries"].as_array().unwrap();
        assert_eq!(queries.len(), METRICS.len());
        assert_eq!(queries[0]["Id"], "m0_0");
        assert_eq!(
            queries[0]["MetricStat"]["Metric"]["Dimensions"][0]["Value"],
            "us.anthropic.claude-opus-5-5"
        );
        assert_eq!(queries[0]["MetricStat"]["Period"], 60);
        assert_eq!(q["StartTime"], "2026-12-02T00:00:00Z");
        assert_eq!(q["EndTime"], "2026-12-02T10:59:00Z");
        assert_eq!(parse_id("m3_6"), Some((3, 6)));
        assert_eq!(parse_id("x"), None);
        assert_eq!(max_models(), 71);
    }
}
