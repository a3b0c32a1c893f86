//! Where the quota stands right now, for one model's bucket: what today's window and the
//! last minute hold (settled plus in flight), and whether the next request fits. The
//! status line and the guards both read the live state through this one function.

use chrono::{DateTime, Utc};

use crate::claude::ClientEnv;
use crate::config::Config;
use crate::ledger::{LiveState, MaxTokensSource};
use crate::quota::Quotas;
use crate::quota::{self, inflight::stream_key, window};

/// The request we expect next from a session (or subagent).
#[derive(Debug, Clone, PartialEq)]
pub struct NextRequest {
    pub model: String,
    pub model_norm: String,
    pub burndown: f64,
    pub burndown_assumed: bool,
    pub max_tokens: u64,
    pub max_tokens_source: MaxTokensSource,
    /// Input tokens it will carry at least (the last request's context).
    pub input: u64,
    pub reservation: u64,
}

/// Which window the next request would break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    Fits,
    OverDay,
    /// Over the account-wide cap on all models together.
    OverAllModels,
    OverMinute,
    OverRequests,
    /// No quota configured to compare with.
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    pub quotas: Quotas,
    /// Settled quota tokens today in this bucket.
    pub day_settled: u64,
    /// Reservations of requests in flight in this bucket.
    pub inflight_reserved: u64,
    pub inflight: usize,
    /// Settled quota tokens in the last 60 s.
    pub minute_settled: u64,
    pub minute_requests: u64,
    pub throttles_today: u64,
    pub next: NextRequest,
    pub day_resets_at: DateTime<Utc>,
    /// The account-wide cap on all models together (`tpd_all_models`), and what today
    /// holds against it: every bucket's settled use and every request in flight.
    pub all_models: AllModels,
}

/// Today's use of every model together, against the "Cross-Model Max Tokens Per Day".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AllModels {
    pub tpd: Option<u64>,
    pub day_settled: u64,
    pub inflight_reserved: u64,
    /// With fresh account data (`day_settled` is then the account's): this machine's own.
    pub own_day_used: Option<u64>,
}

impl AllModels {
    pub fn day_used(&self) -> u64 {
        self.day_settled + self.inflight_reserved
    }

    pub fn day_left(&self) -> Option<u64> {
        self.tpd.map(|tpd| tpd.saturating_sub(self.day_used()))
    }
}

impl Budget {
    pub fn day_used(&self) -> u64 {
        self.day_settled + self.inflight_reserved
    }

    pub fn minute_used(&self) -> u64 {
        self.minute_settled + self.inflight_reserved
    }

    /// Share of TPD used, in percent (unrounded).
    pub fn day_percent(&self) -> Option<f64> {
        self.quotas
            .tpd
            .map(|tpd| self.day_used() as f64 * 100.0 / tpd as f64)
    }

    pub fn minute_percent(&self) -> Option<f64> {
        self.quotas
            .tpm
            .map(|tpm| self.minute_used() as f64 * 100.0 / tpm as f64)
    }

    pub fn day_left(&self) -> Option<u64> {
        self.quotas
            .tpd
            .map(|tpd| tpd.saturating_sub(self.day_used()))
    }

    pub fn minute_left(&self) -> Option<u64> {
        self.quotas
            .tpm
            .map(|tpm| tpm.saturating_sub(self.minute_used()))
    }

    /// Whether the cross-model cap has less left today than this bucket's own TPD: then
    /// it is the day limit that binds.
    pub fn all_models_binds(&self) -> bool {
        match (self.all_models.day_left(), self.day_left()) {
            (Some(all), Some(own)) => all < own,
            (Some(_), None) => true,
            _ => false,
        }
    }

    /// Whether the next request's reservation fits what is left.
    pub fn fit(&self) -> Fit {
        let need = self.next.reservation;
        if self.quotas.tpd.is_none()
            && self.quotas.tpm.is_none()
            && self.quotas.rpm.is_none()
            && self.all_models.tpd.is_none()
        {
            return Fit::Unknown;
        }
        if self.day_left().is_some_and(|left| need > left) {
            return Fit::OverDay;
        }
        if self.all_models.day_left().is_some_and(|left| need > left) {
            return Fit::OverAllModels;
        }
        if self.minute_left().is_some_and(|left| need > left) {
            return Fit::OverMinute;
        }
        if self
            .quotas
            .rpm
            .is_some_and(|rpm| self.minute_requests + self.inflight as u64 >= rpm)
        {
            return Fit::OverRequests;
        }
        Fit::Fits
    }
}

/// Compute the budget of the bucket the next request of `session`/`agent` counts against.
/// `model_hint` (the status line's current model, or `ANTHROPIC_MODEL`) wins over the
/// model of the last request; `env` is the client's environment
/// ([`ClientEnv::from_process`] in the status line, given by the guards and tests).
pub fn compute_with(
    state: &LiveState,
    config: &Config,
    now: DateTime<Utc>,
    session: Option<&str>,
    agent: Option<&str>,
    model_hint: Option<&str>,
    env: &ClientEnv,
) -> Budget {
    let next = next_request_with(state, config, session, agent, model_hint, env);
    let bucket = config.bucket_for(&next.model_norm);
    let in_bucket = |model: &str| config.bucket_for(model) == bucket;
    let now_ms = now.timestamp_millis();
    let stale_ms = (config.inflight_stale_secs as i64).saturating_mul(1000);
    let all_inflight: Vec<_> = state
        .inflight
        .values()
        .filter(|f| f.since_ms > now_ms - stale_ms)
        .collect();
    let live_inflight: Vec<_> = all_inflight
        .iter()
        .filter(|f| in_bucket(&f.model))
        .collect();
    let today_matches = state.day == Some(config.day_boundary.day_of(now));
    let day_settled = if today_matches {
        state
            .today
            .iter()
            .filter(|(m, _)| in_bucket(m))
            .map(|(_, t)| t.settled)
            .sum()
    } else {
        0
    };
    let recent = state
        .recent
        .iter()
        .filter(|r| window::in_last_minute(r.at_ms, now_ms) && in_bucket(&r.model));
    let (minute_settled, minute_requests) = recent.fold((0, 0), |(tokens, requests), r| {
        (tokens + r.settled, requests + r.requests)
    });
    Budget {
        quotas: config.quotas_for(&next.model_norm),
        day_settled,
        inflight_reserved: live_inflight.iter().map(|f| f.reservation).sum(),
        inflight: live_inflight.len(),
        minute_settled,
        minute_requests,
        throttles_today: if today_matches { state.throttles } else { 0 },
        day_resets_at: config.day_boundary.next_reset(now),
        next,
        all_models: AllModels {
            tpd: config.tpd_all_models,
            day_settled: if today_matches {
                state.today.values().map(|t| t.settled).sum()
            } else {
                0
            },
            inflight_reserved: all_inflight.iter().map(|f| f.reservation).sum(),
            own_day_used: None,
        },
    }
}

/// What Claude Code sends on Bedrock when nothing names a model (observed on 2.1.328):
/// the forecast for a session's first request, before any transcript entry exists.
pub const CLIENT_DEFAULT_MODEL: &str = "us.anthropic.claude-opus-5-5";

/// The model something names for a stream's next request: the hint, the status line's
/// memory of the session (main loop only), the stream's own requests, or the client's
/// environment. `None` when only other sessions' history or the client default is left:
/// a guess the guards warn about but do not block on.
pub fn known_model(
    state: &LiveState,
    session: &str,
    agent: Option<&str>,
    model_hint: Option<&str>,
    env: &ClientEnv,
) -> Option<String> {
    let remembered = agent
        .is_none()
        .then(|| state.session_model(session))
        .flatten();
    model_hint
        .or(remembered)
        .map(str::to_string)
        .or_else(|| {
            state
                .own_stream(session, &stream_key(session, agent))
                .map(|l| l.model.clone())
        })
        .or_else(|| env.main_model())
}

/// Predict the next request of a stream from what it sent last, with the client's environment.
pub fn next_request_with(
    state: &LiveState,
    config: &Config,
    session: Option<&str>,
    agent: Option<&str>,
    model_hint: Option<&str>,
    env: &ClientEnv,
) -> NextRequest {
    let session = session.unwrap_or_default();
    let key = stream_key(session, agent);
    // The session's own settings and history win over other sessions' history, which
    // only stands in for what nothing else names.
    let own = state.own_stream(session, &key);
    let last = own.or_else(|| state.predict(session, &key));
    let model = known_model(state, session, agent, model_hint, env)
        .or_else(|| last.map(|l| l.model.clone()))
        .unwrap_or_else(|| CLIENT_DEFAULT_MODEL.to_string());
    let name = quota::normalize(&model, &config.profiles);
    let burndown = quota::burndown_for(&name, &config.burndown);
    let same_model = own.is_some_and(|l| l.model_norm == name.canonical);
    let env_max = env.max_output_tokens();
    let (max_tokens, max_tokens_source) = match (own, same_model, env_max) {
        (Some(l), true, _) => (l.max_tokens, l.max_tokens_source),
        (_, _, Some(n)) => (n, MaxTokensSource::Env),
        _ => (
            quota::default_max_tokens(&name, &config.default_max_tokens),
            MaxTokensSource::ModelDefault,
        ),
    };
    let input = last
        .map(|l| {
            if config.reservation.hold_cache_reads {
                l.context
            } else {
                l.billed_input
            }
        })
        .unwrap_or(0);
    let usage = quota::Usage {
        input,
        ..quota::Usage::default()
    };
    NextRequest {
        reservation: quota::reservation(&usage, max_tokens, burndown.rate, &config.reservation),
        model,
        model_norm: name.canonical,
        burndown: burndown.rate,
        burndown_assumed: burndown.assumed,
        max_tokens,
        max_tokens_source,
        input,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::live::{InFlight, Recent, StreamInfo, Totals};

    fn now() -> DateTime<Utc> {
        "2026-11-22T12:00:00Z".parse().unwrap()
    }

    /// Session `s`'s budget at [`now`], with no client environment.
    fn budget_of(state: &LiveState, config: &Config, model_hint: Option<&str>) -> Budget {
        compute_with(
            state,
            config,
            now(),
            Some("s"),
            None,
            model_hint,
            &ClientEnv::default(),
        )
    }

    fn state() -> LiveState {
        let mut s = LiveState {
            v: 1,
            day: Some(now().date_naive()),
            ..LiveState::default()
        };
        s.today.insert(
            "claude-opus-5-5".into(),
            Totals {
                settled: 400_000,
                ..Totals::default()
            },
        );
        s.today.insert(
            "claude-haiku-4-5".into(),
            Totals {
                settled: 50_000,
                ..Totals::default()
            },
        );
        s.recent.push(Recent {
            at_ms: now().timestamp_millis() - 10_000,
            model: "claude-opus-5-5".into(),
            settled: 30_000,
            requests: 1,
        });
        s.recent.push(Recent {
            at_ms: now().timestamp_millis() - 90_000,
            model: "claude-opus-5-5".into(),
            settled: 99_999,
            requests: 1,
        });
        s.inflight.insert(
            "s/a".into(),
            InFlight {
                since_ms: now().timestamp_millis() - 1000,
                model: "claude-opus-5-5".into(),
                reservation: 1_000_000,
            },
        );
        s.streams.insert(
            "s".into(),
            StreamInfo {
                at_ms: now().timestamp_millis() - 10_000,
                model: "us.anthropic.claude-opus-5-5".into(),
                model_norm: "claude-opus-5-5".into(),
                burndown: 10.0,
                max_tokens: 128_000,
                max_tokens_source: MaxTokensSource::ApiRequest,
                context: 20_000,
                billed_input: 12_000,
            },
        );
        s
    }

    #[test]
    fn sums_settled_inflight_and_minute() {
        let mut config = Config::default();
        config.quotas.tpd = Some(10_000_000);
        config.quotas.tpm = Some(2_322_000);
        let b = budget_of(&state(), &config, None);
        assert_eq!(b.day_settled, 450_000);
        assert_eq!(b.inflight_reserved, 1_000_000);
        assert_eq!(b.day_used(), 1_450_000);
        assert_eq!(b.day_percent().unwrap().round(), 15.0);
        assert_eq!(b.minute_settled, 30_000);
        assert_eq!(b.minute_requests, 1);
        assert_eq!(b.next.reservation, 12_000 + 1_280_000);
        assert_eq!(b.fit(), Fit::Fits);
        config.quotas.tpm = Some(2_322_000 - 1);
        let tight = budget_of(&state(), &config, None);
        assert_eq!(tight.fit(), Fit::OverMinute);
    }

    #[test]
    fn per_model_quota_uses_its_own_bucket() {
        let mut config = Config::default();
        config.quotas.tpd = Some(1_000_000);
        config.models.insert(
            "claude-haiku-4-5".into(),
            Quotas {
                tpd: Some(100_000),
                ..Quotas::default()
            },
        );
        let haiku = budget_of(&state(), &config, Some("us.anthropic.claude-haiku-4-5"));
        assert_eq!(haiku.day_settled, 50_000);
        assert_eq!(haiku.inflight_reserved, 0);
        assert_eq!(haiku.quotas.tpd, Some(100_000));
        let opus = budget_of(&state(), &config, None);
        assert_eq!(opus.day_settled, 400_000);
    }

    #[test]
    fn no_quota_means_unknown_fit() {
        let b = budget_of(&state(), &Config::default(), None);
        assert_eq!(b.fit(), Fit::Unknown);
    }

    #[test]
    fn stale_day_counts_nothing() {
        let mut s = state();
        s.day = Some("2026-11-21".parse().unwrap());
        let b = budget_of(&s, &Config::default(), None);
        assert_eq!(b.day_settled, 0);
    }

    #[test]
    fn first_request_of_a_fresh_install_is_forecast_at_the_clients_default() {
        // Regression: with no history and no ANTHROPIC_MODEL, a subagent spawned on the very
        // first turn was forecast as an unknown model at 32k max_tokens and let through.
        let next = next_request_with(
            &LiveState::default(),
            &Config::default(),
            Some("s"),
            None,
            None,
            &ClientEnv::default(),
        );
        assert_eq!(next.model_norm, "claude-opus-5-5");
        assert_eq!(next.max_tokens, 128_000);
        assert_eq!(next.reservation, 1_280_000);
    }

    #[test]
    fn remembered_session_model_wins_and_other_sessions_only_stand_in() {
        let config = Config::default();
        let env = ClientEnv::from_pairs([("CLAUDE_CODE_MAX_OUTPUT_TOKENS", "4096")]);
        let mut s = state();
        // A new session: only session "s" has history.
        assert_eq!(known_model(&s, "new", None, None, &env), None);
        let next = next_request_with(&s, &config, Some("new"), None, None, &env);
        assert_eq!(next.model_norm, "claude-opus-5-5");
        assert_eq!(
            (next.max_tokens, next.max_tokens_source),
            (4096, MaxTokensSource::Env),
            "the session's own env wins over another session's max_tokens"
        );
        // The status line showed the new session's model.
        let sonnet = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
        s.remember_model("new", sonnet, now().timestamp_millis());
        assert_eq!(
            known_model(&s, "new", None, None, &env).as_deref(),
            Some(sonnet)
        );
        let none = ClientEnv::from_pairs([]);
        let next = next_request_with(&s, &config, Some("new"), None, None, &none);
        assert_eq!(next.model_norm, "claude-sonnet-4-5");
        assert_eq!(next.max_tokens, 32_000);
        // Its own history still names the model of a session with requests.
        assert!(known_model(&s, "s", None, None, &none).is_some());
    }
}
