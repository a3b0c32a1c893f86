//! What the account file means for one quota bucket right now, and how it changes the
//! local budget: the account's settled use up to the watermark (everyone, this machine
//! included) plus this machine's settled use after the watermark plus its reservations
//! in flight. This machine's requests up to the watermark are already in CloudWatch's
//! numbers and are never added a second time.

use chrono::{DateTime, Utc};

use super::bucket::EndpointType;
use super::file::AccountFile;
use crate::budget::Budget;
use crate::config::Config;

/// Account data older than this is stale: the local estimate is used and the line says so.
pub const FRESH_SECS: i64 = 300;

/// The account's side of one bucket.
#[derive(Debug, Clone, PartialEq)]
pub enum AccountView {
    /// Fresh numbers: the bucket's account-wide settled use up to the watermark and the
    /// part of it that was this machine's.
    /// `all_account` and `all_own_to_watermark` are the same over every model in the
    /// region (every endpoint type), for the cross-model cap (`tpd_all_models`).
    Fresh {
        account: u64,
        own_to_watermark: u64,
        all_account: u64,
        all_own_to_watermark: u64,
    },
    /// Numbers too old to use (or of another day), `age_secs` old; `failing` when the
    /// last sync failed.
    Stale { age_secs: i64, failing: bool },
    /// No numbers yet.
    Missing { failing: bool },
}

impl AccountView {
    /// The view of the bucket `budget` is for, in `region` (the hook's AWS region).
    pub fn of(
        file: Option<&AccountFile>,
        config: &Config,
        budget: &Budget,
        region: Option<&str>,
        now: DateTime<Utc>,
    ) -> AccountView {
        let Some(file) = file else {
            return AccountView::Missing { failing: false };
        };
        let failing = file
            .last_error
            .as_ref()
            .is_some_and(|e| file.fetched_at.is_none_or(|f| e.at >= f));
        let Some(age_secs) = file.age_secs(now) else {
            return AccountView::Missing { failing };
        };
        let today = config.day_boundary.day_of(now);
        if age_secs >= FRESH_SECS
            || file.day != Some(today)
            || file.boundary != config.day_boundary.describe()
        {
            return AccountView::Stale { age_secs, failing };
        }
        let quota_bucket = config.bucket_for(&budget.next.model_norm);
        let endpoint = EndpointType::of(&budget.next.model);
        let mut account = 0;
        let mut own_same_endpoint = 0;
        let mut own_to_watermark = 0;
        let (mut all_account, mut all_own_to_watermark) = (0, 0);
        for b in &file.buckets {
            let same_region = match (region, b.region.as_deref()) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            };
            if !same_region {
                continue;
            }
            all_account += b.settled;
            all_own_to_watermark += b.own_settled;
            if config.bucket_for(&b.model_norm) != quota_bucket {
                continue;
            }
            // The local totals do not tell endpoint types apart: subtract this machine's
            // share of every endpoint type, count the account's of this one.
            own_to_watermark += b.own_settled;
            if b.endpoint == endpoint {
                account += b.settled;
                own_same_endpoint += b.own_settled;
            }
        }
        // CloudWatch can never have less than this machine's own requests: when it shows
        // less (ingestion behind, another region's numbers), this machine's count stands.
        AccountView::Fresh {
            account: account.max(own_same_endpoint),
            own_to_watermark,
            all_account: all_account.max(all_own_to_watermark),
            all_own_to_watermark,
        }
    }

    /// Turn the local budget into the account's: `day_settled` becomes the account-wide
    /// settled use. Returns this machine's own day use (settled + in flight) when fresh.
    pub fn apply(&self, budget: &mut Budget) -> Option<u64> {
        let AccountView::Fresh {
            account,
            own_to_watermark,
            all_account,
            all_own_to_watermark,
        } = *self
        else {
            return None;
        };
        let own_day_used = budget.day_used();
        let own_after = budget.day_settled.saturating_sub(own_to_watermark);
        budget.day_settled = account + own_after;
        let all = &mut budget.all_models;
        all.own_day_used = Some(all.day_used());
        let all_own_after = all.day_settled.saturating_sub(all_own_to_watermark);
        all.day_settled = all_account + all_own_after;
        Some(own_day_used)
    }
}

/// The account view for the status line and guards: reads the file (small, bounded) when
/// account mode is on and applies it. `None` when account mode is off.
pub fn for_budget(
    data_dir: &std::path::Path,
    config: &Config,
    budget: &mut Budget,
    now: DateTime<Utc>,
) -> Option<(AccountView, Option<u64>)> {
    if !super::enabled(config) {
        return None;
    }
    let file = AccountFile::read(data_dir);
    let region = super::bucket::region_from(|k| std::env::var(k).ok());
    let view = AccountView::of(file.as_ref(), config, budget, region.as_deref(), now);
    let own = view.apply(budget);
    Some((view, own))
}

/// [`for_budget`] for the guards, which know no paths: the data dir from the environment.
pub fn for_guard(
    config: &Config,
    budget: &mut Budget,
    now: DateTime<Utc>,
) -> Option<(AccountView, Option<u64>)> {
    // Off, the environment is not even read.
    let paths = super::enabled(config)
        .then(crate::paths::Paths::from_env)?
        .ok()?;
    for_budget(&paths.data_dir, config, budget, now)
}

/// What a throttle record keeps of the account at that moment: the account-wide day use
/// (with the refused request's `refused` reservation), others' share, own reservations.
pub fn at_throttle(
    config: &Config,
    budget: &Budget,
    refused: u64,
    now: DateTime<Utc>,
) -> Option<(u64, u64, u64)> {
    let mut account = budget.clone();
    let (view, _) = for_guard(config, &mut account, now)?;
    let AccountView::Fresh {
        account: settled,
        own_to_watermark,
        ..
    } = view
    else {
        return None;
    };
    let reserved = budget.inflight_reserved + refused;
    Some((
        account.day_used() + refused,
        settled.saturating_sub(own_to_watermark),
        reserved,
    ))
}

/// The sentence a guard message gets in account mode: whose numbers it used.
pub fn guard_note(view: &AccountView) -> String {
    match view {
        AccountView::Fresh { .. } => {
            "(Account mode: the numbers are the whole account's, from CloudWatch.)".to_string()
        }
        AccountView::Stale { age_secs, .. } => format!(
            "(Account data is {}m old: these are this machine's numbers only.)",
            age_secs / 60
        ),
        AccountView::Missing { .. } => {
            "(No account data yet: these are this machine's numbers only.)".to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::file::{Bucket, VERSION};
    use crate::account::metrics::Counts;
    use crate::budget::NextRequest;
    use crate::ledger::MaxTokensSource;
    use crate::quota::Quotas;

    fn budget() -> Budget {
        Budget {
            quotas: Quotas {
                tpd: Some(10_000_000),
                tpm: None,
                rpm: None,
            },
            day_settled: 1_000_000,
            inflight_reserved: 200_000,
            inflight: 1,
            minute_settled: 0,
            minute_requests: 0,
            throttles_today: 0,
            next: NextRequest {
                model: "us.anthropic.claude-opus-5-5".into(),
                model_norm: "claude-opus-5-5".into(),
                burndown: 10.0,
                burndown_assumed: false,
                max_tokens: 32_000,
                max_tokens_source: MaxTokensSource::ApiRequest,
                input: 0,
                reservation: 320_000,
            },
            day_resets_at: "2026-12-03T00:00:00Z".parse().unwrap(),
            all_models: Default::default(),
        }
    }

    fn file(now: DateTime<Utc>) -> AccountFile {
        AccountFile {
            v: VERSION,
            fetched_at: Some(now - chrono::Duration::seconds(30)),
            day: Some(now.date_naive()),
            boundary: "utc".into(),
            region: Some("us-east-1".into()),
            buckets: vec![Bucket {
                region: Some("us-east-1".into()),
                endpoint: EndpointType::Geo,
                model: "us.anthropic.claude-opus-5-5".into(),
                model_norm: "claude-opus-5-5".into(),
                burndown: 10.0,
                account: Counts::default(),
                settled: 4_000_000,
                own_settled: 600_000,
                hourly: vec![],
                own_hourly: vec![],
            }],
            ..AccountFile::default()
        }
    }

    #[test]
    fn own_requests_up_to_the_watermark_count_once() {
        let now: DateTime<Utc> = "2026-12-02T11:00:00Z".parse().unwrap();
        let config = Config::default();
        let mut b = budget();
        let f = file(now);
        let view = AccountView::of(Some(&f), &config, &b, Some("us-east-1"), now);
        assert_eq!(
            view,
            AccountView::Fresh {
                account: 4_000_000,
                own_to_watermark: 600_000,
                all_account: 4_000_000,
                all_own_to_watermark: 600_000,
            }
        );
        let own = view.apply(&mut b);
        assert_eq!(own, Some(1_200_000));
        // 4M account + (1M - 600k) own after the watermark + 200k in flight.
        assert_eq!(b.day_used(), 4_600_000);
        // Another region's numbers are not this bucket's.
        let other = AccountView::of(Some(&f), &config, &budget(), Some("eu-west-1"), now);
        assert_eq!(
            other,
            AccountView::Fresh {
                account: 0,
                own_to_watermark: 0,
                all_account: 0,
                all_own_to_watermark: 0,
            }
        );
    }

    #[test]
    fn the_cross_model_cap_counts_every_model_of_the_account_once() {
        let now: DateTime<Utc> = "2026-12-02T11:00:00Z".parse().unwrap();
        let config = Config {
            tpd_all_models: Some(20_000_000),
            ..Config::default()
        };
        let mut f = file(now);
        // A teammate's Sonnet: another bucket, another endpoint type, same region.
        let mut sonnet = f.buckets[0].clone();
        sonnet.endpoint = EndpointType::Global;
        sonnet.model = "global.anthropic.claude-sonnet-4-5".into();
        sonnet.model_norm = "claude-sonnet-4-5".into();
        sonnet.settled = 3_000_000;
        sonnet.own_settled = 0;
        f.buckets.push(sonnet);
        let mut b = budget();
        // This machine: 1M settled today over all models (600k of it before the
        // watermark), 200k in flight.
        b.all_models = crate::budget::AllModels {
            tpd: Some(20_000_000),
            day_settled: 1_000_000,
            inflight_reserved: 200_000,
            own_day_used: None,
        };
        let view = AccountView::of(Some(&f), &config, &b, Some("us-east-1"), now);
        view.apply(&mut b);
        // Opus 4M + Sonnet 3M account-wide + 400k own after the watermark + 200k in flight.
        assert_eq!(b.all_models.day_used(), 7_600_000);
        assert_eq!(b.all_models.own_day_used, Some(1_200_000));
        // The bucket's own day is Opus only.
        assert_eq!(b.day_used(), 4_600_000);
    }

    #[test]
    fn the_account_never_counts_less_than_this_machine() {
        let now: DateTime<Utc> = "2026-12-02T11:00:00Z".parse().unwrap();
        let mut f = file(now);
        f.buckets[0].settled = 100_000;
        let mut b = budget();
        let view = AccountView::of(Some(&f), &Config::default(), &b, None, now);
        let own = view.apply(&mut b);
        assert_eq!(own, Some(1_200_000));
        assert_eq!(b.day_used(), 1_200_000);
    }

    #[test]
    fn old_numbers_are_stale() {
        let now: DateTime<Utc> = "2026-12-02T11:00:00Z".parse().unwrap();
        let mut f = file(now);
        f.fetched_at = Some(now - chrono::Duration::minutes(12));
        let mut b = budget();
        let view = AccountView::of(Some(&f), &Config::default(), &b, None, now);
        assert_eq!(
            view,
            AccountView::Stale {
                age_secs: 720,
                failing: false
            }
        );
        assert_eq!(view.apply(&mut b), None);
        assert_eq!(b.day_used(), 1_200_000);
    }
}
