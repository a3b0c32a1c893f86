//! The arithmetic behind every guard: whether what is about to start fits what is left of
//! each window, when the window that is short frees up, and which `max_tokens` would
//! make it fit. Pure functions of the live state and the config.

use chrono::{DateTime, Duration, Utc};

use crate::budget::{Budget, NextRequest};
use crate::config::Config;
use crate::ledger::LiveState;
use crate::quota::{self, Limit, advice, window};

/// One window that cannot take what is about to start.
#[derive(Debug, Clone, PartialEq)]
pub struct Shortfall {
    pub limit: Limit,
    /// Quota tokens (or requests, for RPM) about to start.
    pub need: u64,
    pub quota: u64,
    /// What the window holds now: settled plus in flight (requests for RPM).
    pub used: u64,
    pub left: u64,
    pub frees: Frees,
    /// The day window short is the account-wide cap on all models together
    /// (`tpd_all_models`), not the bucket's own TPD.
    pub all_models: bool,
}

impl Shortfall {
    /// How messages name the window: `TPD`, `cross-model TPD`, `TPM`, `RPM`.
    pub fn name(&self) -> &'static str {
        if self.all_models {
            "cross-model TPD"
        } else {
            self.limit.short()
        }
    }
}

/// When a short window can take the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frees {
    At(DateTime<Utc>),
    /// Only once requests in flight come back.
    WhenInflightEnds,
    /// Never: the need alone is larger than the whole quota.
    Never,
}

/// A lower `max_tokens` and what a request would then reserve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaxTokensFix {
    pub max_tokens: u64,
    pub reservation: u64,
    /// Where the value comes from (`largest output seen 3.1k + 50% headroom`).
    pub basis: String,
}

/// The first window (TPD, then TPM, then RPM) that cannot take `need` quota tokens in
/// `requests` new requests on top of what `budget` holds. The day is the bucket's own TPD
/// and the account-wide cap on all models together; when both are short, the one with
/// less left is named.
pub fn shortfall(
    budget: &Budget,
    state: &LiveState,
    config: &Config,
    need: u64,
    requests: u64,
    now: DateTime<Utc>,
) -> Option<Shortfall> {
    let day = |tpd: Option<u64>, used: u64, all_models: bool| {
        let tpd = tpd?;
        let left = tpd.saturating_sub(used);
        (need > left).then_some(Shortfall {
            limit: Limit::TokensPerDay,
            need,
            quota: tpd,
            used,
            left,
            frees: if need > tpd {
                Frees::Never
            } else {
                Frees::At(budget.day_resets_at)
            },
            all_models,
        })
    };
    let own = day(budget.quotas.tpd, budget.day_used(), false);
    let all = day(budget.all_models.tpd, budget.all_models.day_used(), true);
    match (own, all) {
        (Some(own), Some(all)) => return Some(if all.left < own.left { all } else { own }),
        (Some(short), None) | (None, Some(short)) => return Some(short),
        (None, None) => {}
    }
    if let Some(tpm) = budget.quotas.tpm {
        let used = budget.minute_used();
        let left = tpm.saturating_sub(used);
        if need > left {
            return Some(Shortfall {
                limit: Limit::TokensPerMinute,
                need,
                quota: tpm,
                used,
                left,
                frees: minute_frees(budget, state, config, need, tpm, now),
                all_models: false,
            });
        }
    }
    if let Some(rpm) = budget.quotas.rpm {
        let used = budget.minute_requests + budget.inflight as u64;
        if used + requests > rpm {
            return Some(Shortfall {
                limit: Limit::RequestsPerMinute,
                need: requests,
                quota: rpm,
                used,
                left: rpm.saturating_sub(used),
                frees: requests_free(budget, state, config, requests, rpm, now),
                all_models: false,
            });
        }
    }
    None
}

/// Settled requests of the budget's bucket inside the sliding minute, oldest first.
fn minute_entries<'s>(
    budget: &Budget,
    state: &'s LiveState,
    config: &Config,
    now: DateTime<Utc>,
) -> Vec<&'s crate::ledger::live::Recent> {
    let bucket = config.bucket_for(&budget.next.model_norm);
    let now_ms = now.timestamp_millis();
    let mut entries: Vec<_> = state
        .recent
        .iter()
        .filter(|r| window::in_last_minute(r.at_ms, now_ms))
        .filter(|r| config.bucket_for(&r.model) == bucket)
        .collect();
    entries.sort_by_key(|r| r.at_ms);
    entries
}

fn minute_mark(at_ms: i64) -> Frees {
    Frees::At(
        DateTime::from_timestamp_millis(at_ms + window::MINUTE_MS).unwrap_or(DateTime::UNIX_EPOCH),
    )
}

/// When enough settled tokens leave the sliding minute for `need` to fit.
fn minute_frees(
    budget: &Budget,
    state: &LiveState,
    config: &Config,
    need: u64,
    tpm: u64,
    now: DateTime<Utc>,
) -> Frees {
    if need > tpm {
        return Frees::Never;
    }
    if budget.inflight_reserved + need > tpm {
        return Frees::WhenInflightEnds;
    }
    let mut settled = budget.minute_settled;
    for entry in minute_entries(budget, state, config, now) {
        settled = settled.saturating_sub(entry.settled);
        if settled + budget.inflight_reserved + need <= tpm {
            return minute_mark(entry.at_ms);
        }
    }
    Frees::At(now + Duration::milliseconds(window::MINUTE_MS))
}

/// When enough requests leave the sliding minute for `requests` more.
fn requests_free(
    budget: &Budget,
    state: &LiveState,
    config: &Config,
    requests: u64,
    rpm: u64,
    now: DateTime<Utc>,
) -> Frees {
    if requests > rpm {
        return Frees::Never;
    }
    if budget.inflight as u64 + requests > rpm {
        return Frees::WhenInflightEnds;
    }
    let mut counted = budget.minute_requests;
    for entry in minute_entries(budget, state, config, now)
        .into_iter()
        .filter(|r| r.requests > 0)
    {
        counted = counted.saturating_sub(entry.requests);
        if counted + budget.inflight as u64 + requests <= rpm {
            return minute_mark(entry.at_ms);
        }
    }
    Frees::At(now + Duration::milliseconds(window::MINUTE_MS))
}

/// The `max_tokens` to recommend for `next`'s model, if lower than what it uses now.
pub fn max_tokens_fix(
    next: &NextRequest,
    largest_output: u64,
    config: &Config,
) -> Option<MaxTokensFix> {
    let name = quota::normalize(&next.model, &config.profiles);
    let model_default = quota::default_max_tokens(&name, &config.default_max_tokens);
    let recommended = advice::recommend_max_tokens(largest_output, model_default);
    if recommended >= next.max_tokens.max(config.reservation.floor) {
        return None;
    }
    let usage = quota::Usage {
        input: next.input,
        ..quota::Usage::default()
    };
    Some(MaxTokensFix {
        max_tokens: recommended,
        reservation: quota::reservation(&usage, recommended, next.burndown, &config.reservation),
        basis: advice::basis(largest_output),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::claude::ClientEnv;
    use crate::ledger::MaxTokensSource;
    use crate::ledger::live::{InFlight, Recent, StreamInfo};
    use crate::quota::Quotas;

    pub fn now() -> DateTime<Utc> {
        "2026-11-22T12:00:00Z".parse().unwrap()
    }

    /// One session `s` that last sent a 12,000-token Opus 5.5 request with max_tokens
    /// 128k: its next request reserves 12,000 + 1,280,000 = 1,292,000.
    pub fn state() -> LiveState {
        let mut s = LiveState {
            v: 1,
            day: Some(now().date_naive()),
            boundary: "utc".into(),
            max_output_seen: 3_100,
            ..LiveState::default()
        };
        s.today.entry("claude-opus-5-5".into()).or_default().settled = 400_000;
        for (ago_ms, settled) in [(50_000, 300_000), (20_000, 200_000)] {
            s.recent.push(Recent {
                at_ms: now().timestamp_millis() - ago_ms,
                model: "claude-opus-5-5".into(),
                settled,
                requests: 1,
            });
        }
        s.streams.insert(
            "s".into(),
            StreamInfo {
                at_ms: now().timestamp_millis() - 20_000,
                model: "us.anthropic.claude-opus-5-5".into(),
                model_norm: "claude-opus-5-5".into(),
                burndown: 10.0,
                max_tokens: 128_000,
                max_tokens_source: MaxTokensSource::ApiRequest,
                context: 30_000,
                billed_input: 12_000,
            },
        );
        s
    }

    pub fn with_inflight(mut s: LiveState, key: &str, reservation: u64) -> LiveState {
        s.inflight.insert(
            key.into(),
            InFlight {
                since_ms: now().timestamp_millis() - 1_000,
                model: "claude-opus-5-5".into(),
                reservation,
            },
        );
        s
    }

    pub fn config(tpd: Option<u64>, tpm: Option<u64>, rpm: Option<u64>) -> Config {
        Config {
            quotas: Quotas { tpd, tpm, rpm },
            ..Config::default()
        }
    }

    /// The budget of session `s` now, with no client environment.
    pub fn budget(state: &LiveState, config: &Config) -> Budget {
        crate::budget::compute_with(
            state,
            config,
            now(),
            Some("s"),
            None,
            None,
            &ClientEnv::default(),
        )
    }

    #[test]
    fn day_shortfall_frees_at_the_reset() {
        let s = state();
        let c = config(Some(1_500_000), None, None);
        let b = budget(&s, &c);
        assert_eq!(b.next.reservation, 1_292_000);
        let short = shortfall(&b, &s, &c, b.next.reservation, 1, now()).unwrap();
        assert_eq!(short.limit, Limit::TokensPerDay);
        assert_eq!(short.used, 400_000);
        assert_eq!(short.left, 1_100_000);
        assert_eq!(
            short.frees,
            Frees::At("2026-11-23T00:00:00Z".parse().unwrap())
        );
        let roomy = config(Some(1_692_000), None, None);
        assert_eq!(
            shortfall(&budget(&s, &roomy), &s, &roomy, 1_292_000, 1, now()),
            None
        );
    }

    #[test]
    fn the_cross_model_cap_counts_every_model_and_every_request_in_flight() {
        // 400k Opus today plus 900k Sonnet in its own bucket; 100k Sonnet in flight.
        let mut s = state();
        s.today
            .entry("claude-sonnet-4-5".into())
            .or_default()
            .settled = 900_000;
        s.inflight.insert(
            "t/a".into(),
            InFlight {
                since_ms: now().timestamp_millis() - 1_000,
                model: "claude-sonnet-4-5".into(),
                reservation: 100_000,
            },
        );
        let mut c = config(Some(10_000_000), None, None);
        c.models.insert(
            "claude-sonnet-4-5".into(),
            Quotas {
                tpd: Some(5_000_000),
                ..Quotas::default()
            },
        );
        c.tpd_all_models = Some(2_500_000);
        let b = budget(&s, &c);
        assert_eq!(b.day_used(), 400_000);
        assert_eq!(b.all_models.day_used(), 1_400_000);
        assert!(b.all_models_binds());
        assert_eq!(b.fit(), crate::budget::Fit::OverAllModels);
        let short = shortfall(&b, &s, &c, b.next.reservation, 1, now()).unwrap();
        assert!(short.all_models);
        assert_eq!(short.name(), "cross-model TPD");
        assert_eq!(short.limit, Limit::TokensPerDay);
        assert_eq!(
            (short.quota, short.used, short.left),
            (2_500_000, 1_400_000, 1_100_000)
        );
        assert_eq!(
            short.frees,
            Frees::At("2026-11-23T00:00:00Z".parse().unwrap())
        );
        // Room across models: silence, and the bucket's own TPD is what the line shows.
        c.tpd_all_models = Some(2_700_000);
        let b = budget(&s, &c);
        assert_eq!(shortfall(&b, &s, &c, b.next.reservation, 1, now()), None);
        // Both short: the one with less left is named.
        c.quotas.tpd = Some(1_500_000);
        c.tpd_all_models = Some(2_000_000);
        let b = budget(&s, &c);
        let short = shortfall(&b, &s, &c, b.next.reservation, 1, now()).unwrap();
        assert!(
            short.all_models,
            "600k left across models, 1.1M in the bucket"
        );
        c.tpd_all_models = Some(2_600_000);
        let b = budget(&s, &c);
        assert!(!b.all_models_binds());
        let short = shortfall(&b, &s, &c, b.next.reservation, 1, now()).unwrap();
        assert!(!short.all_models);
        assert_eq!(short.quota, 1_500_000);
    }

    #[test]
    fn minute_shortfall_frees_when_old_requests_age_out() {
        let s = state();
        // 500k settled in the minute; 1.292M needed; TPM 1.6M: fits once the 300k
        // request from 50 s ago leaves, at 12:00:10.
        let c = config(None, Some(1_600_000), None);
        let b = budget(&s, &c);
        let short = shortfall(&b, &s, &c, b.next.reservation, 1, now()).unwrap();
        assert_eq!(short.limit, Limit::TokensPerMinute);
        assert_eq!(short.left, 1_100_000);
        assert_eq!(
            short.frees,
            Frees::At("2026-11-22T12:00:10Z".parse().unwrap())
        );
        // Needs both to leave: at 12:00:40.
        let c = config(None, Some(1_300_000), None);
        let short = shortfall(&budget(&s, &c), &s, &c, 1_292_000, 1, now()).unwrap();
        assert_eq!(
            short.frees,
            Frees::At("2026-11-22T12:00:40Z".parse().unwrap())
        );
    }

    #[test]
    fn in_flight_and_oversized_requests() {
        let s = with_inflight(state(), "s/a", 1_000_000);
        let c = config(None, Some(2_000_000), None);
        let short = shortfall(&budget(&s, &c), &s, &c, 1_292_000, 1, now()).unwrap();
        assert_eq!(short.used, 1_500_000);
        assert_eq!(short.frees, Frees::WhenInflightEnds);
        let tiny = config(None, Some(1_000_000), None);
        let s = state();
        let short = shortfall(&budget(&s, &tiny), &s, &tiny, 1_292_000, 1, now()).unwrap();
        assert_eq!(short.frees, Frees::Never);
    }

    #[test]
    fn requests_per_minute() {
        let s = with_inflight(state(), "s/a", 10);
        let c = config(None, None, Some(4));
        let b = budget(&s, &c);
        assert_eq!(shortfall(&b, &s, &c, 1, 1, now()), None);
        let short = shortfall(&b, &s, &c, 1, 2, now()).unwrap();
        assert_eq!(short.limit, Limit::RequestsPerMinute);
        assert_eq!(short.used, 3);
        assert_eq!(
            short.frees,
            Frees::At("2026-11-22T12:00:10Z".parse().unwrap())
        );
    }

    #[test]
    fn max_tokens_fix_uses_history_and_skips_when_not_lower() {
        let s = state();
        let c = config(None, None, None);
        let b = budget(&s, &c);
        let fix = max_tokens_fix(&b.next, s.max_output_seen, &c).unwrap();
        assert_eq!(fix.max_tokens, 5_120);
        assert_eq!(fix.reservation, 12_000 + 51_200);
        assert_eq!(fix.basis, "largest output seen 3.1k + 50% headroom");
        let mut small = b.next.clone();
        small.max_tokens = 4_096;
        assert_eq!(max_tokens_fix(&small, 0, &c), None);
    }
}
