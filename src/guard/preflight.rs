//! UserPromptSubmit: before the prompt's first request is sent, does its reservation fit
//! what is left of today's TPD and of this minute's TPM, given what is in flight?

use super::{Concern, Point, Seen, WontFit, assess};

pub fn check(seen: &Seen<'_>) -> Option<Concern> {
    next_request_concern(Point::Prompt, seen)
}

/// Shared with PostToolUse: the stream's next request against every window.
pub(crate) fn next_request_concern(point: Point, seen: &Seen<'_>) -> Option<Concern> {
    let input = seen.input;
    let session = input.session_id.as_deref()?;
    let mut budget = seen.budget(session);
    // Account mode with fresh data: what the whole account has left.
    crate::account::share::for_guard(seen.config, &mut budget, seen.now);
    let shortfall = assess::shortfall(
        &budget,
        seen.state,
        seen.config,
        budget.next.reservation,
        1,
        seen.now,
    )?;
    let fix = assess::max_tokens_fix(&budget.next, seen.state.max_output_seen, seen.config);
    Some(Concern::WontFit(WontFit {
        point,
        budget,
        main_next: None,
        shortfall,
        fix,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claude::ClientEnv;
    use crate::config::Config;
    use crate::event::HookInput;
    use crate::guard::assess::tests::{config, now, state, with_inflight};
    use crate::guard::{Frees, message};
    use crate::ledger::LiveState;
    use crate::quota::Limit;

    fn prompt() -> HookInput {
        HookInput::parse(br#"{"session_id":"s","hook_event_name":"UserPromptSubmit"}"#).unwrap()
    }

    /// The guard on a prompt of session `s`, in the default environment.
    fn check_prompt(s: &LiveState, c: &Config) -> Option<Concern> {
        check(&Seen::new(&prompt(), s, c, now(), &ClientEnv::default()))
    }

    #[test]
    fn over_the_day() {
        let c = config(Some(1_500_000), Some(10_000_000), None);
        let Some(Concern::WontFit(w)) = check_prompt(&state(), &c) else {
            panic!("expected a concern");
        };
        assert_eq!(w.shortfall.limit, Limit::TokensPerDay);
        assert_eq!(w.shortfall.need, 1_292_000);
        assert_eq!(w.shortfall.left, 1_100_000);
        assert_eq!(w.fix.as_ref().unwrap().max_tokens, 5_120);
        let text = message::text(&Concern::WontFit(w), false, &c, now());
        assert_eq!(
            text,
            "bedrock-hook: this prompt's first request will not fit the TPD and Bedrock will \
             throttle it (429). It reserves 1.29M (claude-opus-5-5: 12k input + 128k \
             max_tokens x 10 burndown). Left: 1.1M of 1.5M TPD, 9.5M of 10M TPM; nothing in \
             flight. The TPD resets at 00:00 UTC (in 12h 0m). Fix: set \
             CLAUDE_CODE_MAX_OUTPUT_TOKENS=5120 (largest output seen 3.1k + 50% headroom) \
             and restart Claude Code (`bedrock-hook doctor --fix` writes it to \
             settings.json): a request would then reserve 63.2k and fit."
        );
    }

    #[test]
    fn over_the_cross_model_cap() {
        let mut c = config(Some(100_000_000), None, None);
        c.tpd_all_models = Some(1_500_000);
        let Some(Concern::WontFit(w)) = check_prompt(&state(), &c) else {
            panic!("expected a concern");
        };
        assert!(w.shortfall.all_models);
        let text = message::text(&Concern::WontFit(w), false, &c, now());
        for part in [
            "bedrock-hook: this prompt's first request will not fit the cross-model TPD and \
             Bedrock will throttle it (429).",
            "Left: 99.6M of 100M TPD, TPM not set, 1.1M of 1.5M cross-model TPD; nothing in \
             flight.",
            "The cross-model TPD resets at 00:00 UTC",
        ] {
            assert!(text.contains(part), "{part} not in {text}");
        }
    }

    #[test]
    fn over_the_minute_because_of_requests_in_flight() {
        let c = config(None, Some(2_000_000), None);
        let s = with_inflight(state(), "s/a", 1_000_000);
        let Some(Concern::WontFit(w)) = check_prompt(&s, &c) else {
            panic!("expected a concern");
        };
        assert_eq!(w.shortfall.limit, Limit::TokensPerMinute);
        assert_eq!(w.shortfall.frees, Frees::WhenInflightEnds);
        let text = message::text(&Concern::WontFit(w), true, &c, now());
        assert!(
            text.starts_with(
                "bedrock-hook held back this prompt (not an error): its first request would \
             not fit the TPM and Bedrock would throttle it (429)."
            ),
            "{text}"
        );
        for part in [
            "It reserves 1.29M",
            "Left: TPD not set, 500k of 2M TPM; 1 request in flight holding 1M.",
            "It frees up only as the 1 request in flight comes back.",
            "Fix: set CLAUDE_CODE_MAX_OUTPUT_TOKENS=5120",
            "a request would then reserve 63.2k and fit.",
            "mode = \"warn\"",
        ] {
            assert!(text.contains(part), "{part} not in {text}");
        }
    }

    #[test]
    fn fits_means_silence() {
        let c = config(Some(2_000_000), Some(2_000_000), Some(10));
        assert_eq!(check_prompt(&state(), &c), None);
    }
}
