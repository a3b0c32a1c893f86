//! What real throttles say about the real quota.
//!
//! Each throttle record carries bedrock-hook's estimate of the window at the moment
//! Bedrock said no, the throttled request's own reservation included. Bedrock refused,
//! so its real quota was below that estimate: if the estimate is well under the
//! configured quota, either the effective quota is nearer the estimate (new accounts get
//! far less than the defaults) or something else on the same account and region used the
//! difference (a teammate, another machine, CI). `doctor`, `report` and `quota calibrate`
//! all read throttles through here, so they tell the same story.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::ledger::{Kind, Record};
use crate::quota::limit::{Buckets, Limit};
use crate::terminal::pretty_tokens;

/// One throttle, reduced to what calibration needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Throttle {
    pub at: DateTime<Utc>,
    pub model: String,
    pub bucket: String,
    /// `None` when the error text did not say which window.
    pub limit: Option<Limit>,
    /// The estimate of that window when the throttle hit.
    pub estimate: u64,
    /// The quota configured at that time.
    pub configured_then: Option<u64>,
}

/// Throttles of one bucket on one window, summed up.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// Config bucket (`""` is the default bucket).
    pub bucket: String,
    pub limit: Limit,
    pub count: usize,
    /// The lowest estimate at any of them: the tightest upper bound on the real quota.
    pub lowest: u64,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    /// The quota configured now.
    pub configured: Option<u64>,
}

/// The throttle records among `records`, reduced; `buckets` are the configured quotas
/// (`&Config` will do).
pub fn throttles<'a>(records: &[Record], buckets: impl Into<Buckets<'a>>) -> Vec<Throttle> {
    let buckets = buckets.into();
    records
        .iter()
        .filter(|r| r.kind == Kind::Throttle)
        .filter_map(|r| {
            let info = r.throttle.as_ref()?;
            let limit = info.limit;
            let (estimate, configured_then) = match limit {
                // Account mode: the whole account's window, not this machine's.
                Some(Limit::TokensPerDay) | None => {
                    (info.account_day_used.unwrap_or(info.day_used), info.tpd)
                }
                Some(Limit::TokensPerMinute) => (info.minute_used, info.tpm),
                Some(Limit::RequestsPerMinute) => (info.minute_requests.max(1), info.rpm),
            };
            Some(Throttle {
                at: r.ts,
                model: r.model_norm.clone(),
                bucket: buckets.bucket_for(&r.model_norm),
                limit,
                estimate,
                configured_then,
            })
        })
        .collect()
}

/// Group throttles by bucket and window; throttles of an unknown window are left out.
pub fn evidence<'a>(throttles: &[Throttle], buckets: impl Into<Buckets<'a>>) -> Vec<Evidence> {
    let buckets = buckets.into();
    let mut groups: BTreeMap<(String, Limit), Evidence> = BTreeMap::new();
    for t in throttles {
        let Some(limit) = t.limit else { continue };
        let configured = limit.of(&buckets.quotas_for(&t.model));
        groups
            .entry((t.bucket.clone(), limit))
            .and_modify(|e| {
                e.count += 1;
                e.lowest = e.lowest.min(t.estimate);
                e.first = e.first.min(t.at);
                e.last = e.last.max(t.at);
            })
            .or_insert(Evidence {
                bucket: t.bucket.clone(),
                limit,
                count: 1,
                lowest: t.estimate,
                first: t.at,
                last: t.at,
                configured,
            });
    }
    groups.into_values().collect()
}

impl Evidence {
    /// The quota the evidence points to, when it is lower than what is configured (or
    /// nothing is): token quotas rounded down to a thousand.
    pub fn suggestion(&self) -> Option<u64> {
        let value = if self.limit.counts_tokens() {
            (self.lowest / 1000 * 1000).max(1000)
        } else {
            self.lowest.max(1)
        };
        match self.configured {
            Some(configured) if value >= configured => None,
            _ => Some(value),
        }
    }

    /// The estimate as a share of the configured quota, in percent.
    pub fn share_percent(&self) -> Option<f64> {
        self.configured
            .map(|c| self.lowest as f64 * 100.0 / c.max(1) as f64)
    }

    pub fn bucket_label(&self) -> &str {
        if self.bucket.is_empty() {
            "all models"
        } else {
            &self.bucket
        }
    }

    /// One or two sentences saying what the throttles mean.
    pub fn explain(&self) -> String {
        let amount = |n: u64| {
            if self.limit.counts_tokens() {
                pretty_tokens(n)
            } else {
                format!("{n} requests")
            }
        };
        let times = if self.count == 1 {
            "once".to_string()
        } else {
            format!("{} times", self.count)
        };
        let short = self.limit.short();
        let head = format!(
            "{}: throttled {times} on {} ({short})",
            self.bucket_label(),
            self.limit.as_str().replace('-', " ")
        );
        match (self.configured, self.share_percent()) {
            (Some(configured), Some(share)) if self.lowest < configured => {
                let who = match self.limit {
                    Limit::TokensPerDay => "today",
                    _ => "in that minute",
                };
                format!(
                    "{head} at an estimated {} used, {share:.0}% of the configured {}: the \
                     effective {short} is nearer {}, or something else on the same account \
                     and region (a teammate, another machine, CI) used about {} {who}.",
                    amount(self.lowest),
                    amount(configured),
                    amount(self.lowest),
                    amount(configured - self.lowest)
                )
            }
            (Some(configured), _) => format!(
                "{head} at an estimated {}, at or over the configured {}: the configured \
                 {short} agrees with Bedrock.",
                amount(self.lowest),
                amount(configured)
            ),
            (None, _) => format!(
                "{head} at an estimated {} with no {short} configured: the effective {short} \
                 is at most about {}.",
                amount(self.lowest),
                amount(self.lowest)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::ThrottleInfo;
    use crate::quota::Quotas;

    fn throttle(ts: &str, model: &str, limit: &str, day_used: u64, minute_used: u64) -> Record {
        let mut r: Record = serde_json::from_str(&format!(
            r#"{{"v":1,"kind":"throttle","id":"{ts}","ts":"{ts}","session":"s","model":"us.anthropic.{model}","model_norm":"{model}","burndown":10.0,"input":0,"cache_write":0,"cache_read":0,"output":0,"max_tokens_source":"api-request","reserved":1292306,"settled":0,"outcome":"no-response"}}"#
        ))
        .unwrap();
        r.throttle = Some(ThrottleInfo {
            limit: Limit::parse(limit),
            day_used,
            minute_used,
            minute_requests: 3,
            tpd: Some(10_000_000),
            tpm: Some(2_000_000),
            rpm: None,
            ..ThrottleInfo::default()
        });
        r
    }

    /// The default bucket at 10M TPD and 2M TPM, and the models with their own.
    struct Configured {
        quotas: Quotas,
        models: BTreeMap<String, Quotas>,
    }

    impl<'a> From<&'a Configured> for Buckets<'a> {
        fn from(config: &'a Configured) -> Buckets<'a> {
            Buckets {
                default: &config.quotas,
                models: &config.models,
            }
        }
    }

    fn config() -> Configured {
        Configured {
            quotas: Quotas {
                tpd: Some(10_000_000),
                tpm: Some(2_000_000),
                rpm: None,
            },
            models: BTreeMap::new(),
        }
    }

    #[test]
    fn lowest_estimate_per_bucket_and_window() {
        let records = vec![
            throttle(
                "2026-11-22T14:00:00Z",
                "claude-opus-5-5",
                "tokens-per-day",
                4_123_456,
                0,
            ),
            throttle(
                "2026-11-22T14:05:00Z",
                "claude-opus-5-5",
                "tokens-per-day",
                4_500_000,
                0,
            ),
            throttle(
                "2026-11-22T09:00:00Z",
                "claude-opus-5-5",
                "tokens-per-minute",
                0,
                1_500_000,
            ),
            throttle("2026-11-22T09:01:00Z", "claude-opus-5-5", "unknown", 1, 1),
        ];
        let config = config();
        let found = evidence(&throttles(&records, &config), &config);
        assert_eq!(found.len(), 2);
        let day = &found[0];
        assert_eq!(day.limit, Limit::TokensPerDay);
        assert_eq!(day.count, 2);
        assert_eq!(day.lowest, 4_123_456);
        assert_eq!(day.suggestion(), Some(4_123_000));
        assert_eq!(day.share_percent().unwrap().round(), 41.0);
        assert_eq!(
            day.explain(),
            "all models: throttled 2 times on tokens per day (TPD) at an estimated 4.12M used, \
             41% of the configured 10M: the effective TPD is nearer 4.12M, or something else \
             on the same account and region (a teammate, another machine, CI) used about \
             5.88M today."
        );
        let minute = &found[1];
        assert_eq!(minute.limit, Limit::TokensPerMinute);
        assert_eq!(minute.suggestion(), Some(1_500_000));
    }

    #[test]
    fn no_suggestion_when_bedrock_agrees_and_a_hint_when_unconfigured() {
        let records = vec![throttle(
            "2026-11-22T14:00:00Z",
            "claude-opus-5-5",
            "tokens-per-day",
            10_200_000,
            0,
        )];
        let config = config();
        let found = evidence(&throttles(&records, &config), &config);
        assert_eq!(found[0].suggestion(), None);
        assert!(found[0].explain().contains("agrees with Bedrock"));
        let bare = Configured {
            quotas: Quotas::default(),
            models: BTreeMap::new(),
        };
        let found = evidence(&throttles(&records, &bare), &bare);
        assert_eq!(found[0].suggestion(), Some(10_200_000));
        assert!(
            found[0].explain().contains("with no TPD configured"),
            "{}",
            found[0].explain()
        );
    }

    #[test]
    fn per_model_buckets_are_kept_apart() {
        let mut config = config();
        config.models.insert(
            "claude-haiku-4-5".into(),
            Quotas {
                tpd: Some(1_000_000),
                ..Quotas::default()
            },
        );
        let records = vec![
            throttle(
                "2026-11-22T14:00:00Z",
                "claude-opus-5-5",
                "tokens-per-day",
                4_000_000,
                0,
            ),
            throttle(
                "2026-11-22T14:00:00Z",
                "claude-haiku-4-5",
                "tokens-per-day",
                600_000,
                0,
            ),
        ];
        let found = evidence(&throttles(&records, &config), &config);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].bucket, "");
        assert_eq!(found[1].bucket, "claude-haiku-4-5");
        assert_eq!(found[1].configured, Some(1_000_000));
        assert_eq!(found[1].suggestion(), Some(600_000));
    }
}
