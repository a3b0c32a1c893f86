//! SessionStart: before anything is sent, one request's reservation at the effective
//! `max_tokens` (`CLAUDE_CODE_MAX_OUTPUT_TOKENS`, else what the client last sent for that
//! model, else the model's default) against the quotas. A request that alone exceeds the
//! TPM (or TPD) means every request will be throttled; one that fills half the TPM means
//! parallel requests will be; one that holds a large share of the TPD makes requests fail
//! long before the day's quota is used.

use super::{Concern, Oversized, Seen, Severity, assess};
use crate::budget;
use crate::ledger::MaxTokensSource;
use crate::quota::{self, Limit};

/// A request holding at least this share of the TPD (percent) is worth a warning: the
/// status line turns red at 90%, and requests this large already fail before that.
pub const LARGE_SHARE_OF_DAY_PERCENT: u64 = 10;

pub fn check(seen: &Seen<'_>) -> Option<Concern> {
    let input = seen.input;
    let session = input.session_id.as_deref()?;
    // The model: the event's, the environment's or settings', else what this session (on
    // resume) or the most recent one used. Unknown: say nothing rather than guess.
    let own = seen.state.streams.get(session);
    let model = input
        .model_id()
        .and_then(|m| seen.env.resolve_model(&m))
        .or_else(|| seen.env.main_model())
        .or_else(|| own.map(|s| s.model.clone()))
        .or_else(|| {
            seen.state
                .streams
                .values()
                .max_by_key(|s| s.at_ms)
                .map(|s| s.model.clone())
        })?;
    let mut budget = budget::compute_with(
        seen.state,
        seen.config,
        seen.now,
        Some(session),
        None,
        Some(&model),
        seen.env,
    );
    let name = quota::normalize(&model, &seen.config.profiles);
    let sent_before = seen
        .state
        .streams
        .values()
        .filter(|s| s.model_norm == name.canonical && !s.max_tokens_source.is_assumed())
        .max_by_key(|s| s.at_ms);
    let (max_tokens, source) = match (seen.env.max_output_tokens(), sent_before) {
        (Some(n), _) => (n, MaxTokensSource::Env),
        (None, Some(s)) => (s.max_tokens, MaxTokensSource::ApiRequest),
        (None, None) => (
            quota::default_max_tokens(&name, &seen.config.default_max_tokens),
            MaxTokensSource::ModelDefault,
        ),
    };
    let next = &mut budget.next;
    next.max_tokens = max_tokens;
    next.max_tokens_source = source;
    next.input = own
        .filter(|s| s.model_norm == name.canonical)
        .map_or(0, |s| s.billed_input);
    let usage = quota::Usage {
        input: next.input,
        ..quota::Usage::default()
    };
    next.reservation =
        quota::reservation(&usage, max_tokens, next.burndown, &seen.config.reservation);
    let severity = severity(next.reservation, budget.quotas.tpm, budget.quotas.tpd)?;
    let fix = assess::max_tokens_fix(&budget.next, seen.state.max_output_seen, seen.config);
    Some(Concern::Oversized(Oversized {
        budget,
        severity,
        fix,
    }))
}

/// How out of proportion one reservation is to the quotas, if at all.
pub fn severity(reservation: u64, tpm: Option<u64>, tpd: Option<u64>) -> Option<Severity> {
    if tpm.is_some_and(|tpm| reservation > tpm) {
        return Some(Severity::EveryRequest(Limit::TokensPerMinute));
    }
    if tpd.is_some_and(|tpd| reservation > tpd) {
        return Some(Severity::EveryRequest(Limit::TokensPerDay));
    }
    if tpm.is_some_and(|tpm| reservation.saturating_mul(2) > tpm) {
        return Some(Severity::OneAtATime);
    }
    let share = tpd.map(|tpd| reservation.saturating_mul(100) / tpd.max(1))?;
    (share >= LARGE_SHARE_OF_DAY_PERCENT).then_some(Severity::LargeShareOfDay(share))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claude::ClientEnv;
    use crate::event::HookInput;
    use crate::guard::assess::tests::{config, now, state};
    use crate::guard::message;
    use crate::ledger::LiveState;

    fn start(session: &str) -> HookInput {
        HookInput::parse(
            format!(r#"{{"session_id":"{session}","hook_event_name":"SessionStart","source":"startup"}}"#)
                .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn severity_thresholds() {
        assert_eq!(
            severity(1_280_000, Some(1_000_000), None),
            Some(Severity::EveryRequest(Limit::TokensPerMinute))
        );
        assert_eq!(
            severity(1_280_000, None, Some(1_000_000)),
            Some(Severity::EveryRequest(Limit::TokensPerDay))
        );
        assert_eq!(
            severity(1_280_000, Some(2_000_000), None),
            Some(Severity::OneAtATime)
        );
        assert_eq!(severity(1_000_000, Some(2_000_000), None), None);
        assert_eq!(
            severity(1_280_000, Some(3_000_000), Some(10_000_000)),
            Some(Severity::LargeShareOfDay(12))
        );
        assert_eq!(severity(999_999, Some(3_000_000), Some(10_000_000)), None);
        assert_eq!(severity(u64::MAX, None, None), None);
    }

    #[test]
    fn new_session_uses_env_max_tokens_over_history() {
        // A new session: no context yet, max_tokens from the env beats the 128k sent before.
        let env = ClientEnv::from_pairs([("CLAUDE_CODE_MAX_OUTPUT_TOKENS", "64000")]);
        let c = config(Some(50_000_000), Some(1_000_000), None);
        let Some(Concern::Oversized(o)) =
            check(&Seen::new(&start("new"), &state(), &c, now(), &env))
        else {
            panic!("expected a concern");
        };
        assert_eq!(o.budget.next.reservation, 640_000);
        assert_eq!(o.severity, Severity::OneAtATime);
        let text = message::text(&Concern::Oversized(o), false, &c, now());
        assert_eq!(
            text,
            "bedrock-hook: only one request fits in the TPM at a time: one request reserves \
             640k (claude-opus-5-5: 64k max_tokens from CLAUDE_CODE_MAX_OUTPUT_TOKENS x 10 \
             burndown) of the 1M TPM, so parallel subagents will be throttled. Left: 49.6M of \
             50M TPD, 500k of 1M TPM; nothing in flight. Fix: set \
             CLAUDE_CODE_MAX_OUTPUT_TOKENS=5120 (largest output seen 3.1k + 50% headroom) and \
             restart Claude Code (`bedrock-hook doctor --fix` writes it to settings.json): a \
             request would then reserve 51.2k and 19 fit in the TPM."
        );
    }

    #[test]
    fn resumed_session_every_request_throttled_with_model_default() {
        let mut s = state();
        s.streams.get_mut("s").unwrap().max_tokens_source = MaxTokensSource::ModelDefault;
        s.max_output_seen = 0;
        let c = config(None, Some(1_000_000), None);
        let Some(Concern::Oversized(o)) = check(&Seen::new(
            &start("s"),
            &s,
            &c,
            now(),
            &ClientEnv::default(),
        )) else {
            panic!("expected a concern");
        };
        assert_eq!(o.severity, Severity::EveryRequest(Limit::TokensPerMinute));
        assert_eq!(o.budget.next.reservation, 1_292_000);
        let text = message::text(&Concern::Oversized(o), false, &c, now());
        assert!(
            text.starts_with(
                "bedrock-hook: every request will be throttled: one request \
             reserves 1.29M (claude-opus-5-5: 12k input + 128k max_tokens from the model \
             default x 10 burndown), more than the whole 1M TPM."
            ),
            "{text}"
        );
        assert!(
            text.contains("set CLAUDE_CODE_MAX_OUTPUT_TOKENS=4096 (no output history yet)"),
            "{text}"
        );
        assert!(
            text.contains("a request would then reserve 53k and 18 fit in the TPM."),
            "{text}"
        );
    }

    #[test]
    fn unknown_model_or_fitting_request_says_nothing() {
        let c = config(Some(1), Some(1), None);
        assert_eq!(
            check(&Seen::new(
                &start("x"),
                &LiveState::default(),
                &c,
                now(),
                &ClientEnv::default()
            )),
            None
        );
        let roomy = config(Some(100_000_000), Some(10_000_000), None);
        assert_eq!(
            check(&Seen::new(
                &start("s"),
                &state(),
                &roomy,
                now(),
                &ClientEnv::default()
            )),
            None
        );
    }
}
