//! StopFailure with `error: "rate_limit"`: Bedrock said 429 and the turn died. Record a
//! throttle with what bedrock-hook estimated at that moment, so `report`, `doctor` and
//! `quota calibrate` can say what the real quota must be (see `quota::evidence`), and tell
//! the user now.
//!
//! The error text says which window ran out (docs/protocol.md §8.5): "Too many tokens
//! per day", "Too many tokens" (per minute), "Too many requests". The text itself is read
//! to classify it and never stored.

use chrono::{DateTime, Utc};

use super::{Concern, Throttled, agent_of, assess, model_hint};
use crate::budget;
use crate::claude::ClientEnv;
use crate::config::Config;
use crate::hook::HookInput;
use crate::ledger::record::ChargedModel;
use crate::ledger::{Kind, LiveState, Outcome, Record, ThrottleInfo};
use crate::quota::Limit;

/// The `error` value of a StopFailure caused by a throttle.
pub const RATE_LIMIT_ERROR: &str = "rate_limit";

/// Which window a throttle message names, if it says.
pub fn classify(message: &str) -> Option<Limit> {
    let text = message.to_ascii_lowercase();
    if text.contains("tokens per day") || text.contains("tokens/day") {
        Some(Limit::TokensPerDay)
    } else if text.contains("too many tokens") || text.contains("tokens per minute") {
        Some(Limit::TokensPerMinute)
    } else if text.contains("too many requests") || text.contains("requests per minute") {
        Some(Limit::RequestsPerMinute)
    } else {
        None
    }
}

/// The throttle record and the concern for a StopFailure, if it was a throttle.
pub fn check(
    input: &HookInput,
    state: &LiveState,
    config: &Config,
    now: DateTime<Utc>,
    env: &ClientEnv,
) -> Option<(Record, Concern)> {
    if input.error.as_deref() != Some(RATE_LIMIT_ERROR) {
        return None;
    }
    let session = input.session_id.as_deref()?;
    let agent = agent_of(input);
    let hint = model_hint(input, env);
    let budget = budget::compute_with(
        state,
        config,
        now,
        Some(session),
        agent,
        hint.as_deref(),
        env,
    );
    let limit = input.last_assistant_message.as_deref().and_then(classify);
    let next = &budget.next;
    // The window as Bedrock saw it: everything held, plus the refused request itself.
    let info = ThrottleInfo {
        limit,
        day_used: budget.day_used() + next.reservation,
        minute_used: budget.minute_used() + next.reservation,
        minute_requests: budget.minute_requests + budget.inflight as u64,
        tpd: budget.quotas.tpd,
        tpm: budget.quotas.tpm,
        rpm: budget.quotas.rpm,
        ..ThrottleInfo::default()
    };
    let mut info = info;
    if let Some((account, others, reserved)) =
        crate::account::share::at_throttle(config, &budget, next.reservation, now)
    {
        info.account_day_used = Some(account);
        info.others_day_used = Some(others);
        info.reserved_then = Some(reserved);
    }
    info.request_id = input
        .last_assistant_message
        .as_deref()
        .and_then(crate::account::verdict::request_id_in);
    let turn = input
        .prompt_id
        .clone()
        .unwrap_or_else(|| now.timestamp_millis().to_string());
    let id = match agent {
        Some(agent) => format!("{session}/{agent}:{turn}"),
        None => format!("{session}:{turn}"),
    };
    let charged = ChargedModel {
        model: next.model.clone(),
        model_norm: next.model_norm.clone(),
        burndown: next.burndown,
        burndown_assumed: next.burndown_assumed,
    };
    let record = Record {
        agent: agent.map(str::to_string),
        max_tokens: Some(next.max_tokens),
        max_tokens_source: next.max_tokens_source,
        reserved: next.reservation,
        outcome: Outcome::NoResponse,
        project: input.cwd.clone(),
        throttle: Some(info.clone()),
        ..Record::new(Kind::Throttle, id, now, session.to_string(), charged)
    };
    let fix = assess::max_tokens_fix(&budget.next, state.max_output_seen, config);
    Some((
        record,
        Concern::Throttled(Throttled {
            budget,
            limit,
            info,
            fix,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::assess::tests::{config, now, state};
    use crate::guard::message;

    #[test]
    fn classifies_bedrock_messages() {
        let cases = [
            (
                "API Error: Request rejected (429) \u{b7} Too many tokens per day, please wait before trying again.",
                Some(Limit::TokensPerDay),
            ),
            (
                "Too many tokens, please wait before trying again.",
                Some(Limit::TokensPerMinute),
            ),
            (
                "Too many requests, please wait before trying again.",
                Some(Limit::RequestsPerMinute),
            ),
            ("This request would exceed your account's rate limit.", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(classify(text), want, "{text}");
        }
    }

    fn failure(error: &str) -> HookInput {
        HookInput::parse(
            format!(
                r#"{{"session_id":"s","prompt_id":"p1","cwd":"/w","hook_event_name":"StopFailure","error":"{error}","last_assistant_message":"API Error: Request rejected (429) · Too many tokens per day, please wait before trying again."}}"#
            )
            .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn records_the_estimate_with_the_refused_request() {
        let c = config(Some(10_000_000), Some(4_000_000), None);
        let (record, concern) = check(
            &failure("rate_limit"),
            &state(),
            &c,
            now(),
            &ClientEnv::default(),
        )
        .unwrap();
        assert_eq!(record.kind, Kind::Throttle);
        assert_eq!(record.id, "s:p1");
        assert_eq!(record.reserved, 1_292_000);
        assert_eq!(record.project.as_deref(), Some("/w"));
        let info = record.throttle.as_ref().unwrap();
        assert_eq!(info.limit, Some(Limit::TokensPerDay));
        assert_eq!(info.day_used, 400_000 + 1_292_000);
        assert_eq!(info.minute_used, 500_000 + 1_292_000);
        assert_eq!(info.minute_requests, 2);
        assert_eq!(info.tpd, Some(10_000_000));
        let text = message::text(&concern, false, &c, now());
        assert_eq!(
            text,
            "bedrock-hook: Bedrock throttled this turn (429: too many tokens per day). At that \
             moment bedrock-hook estimated 1.69M of the 10M TPD used (17%), the refused \
             request's 1.29M (claude-opus-5-5: 12k input + 128k max_tokens x 10 burndown) \
             included. Left: 9.6M of 10M TPD, 3.5M of 4M TPM; nothing in flight. So the \
             effective TPD is nearer 1.69M, or something else on the same account and region \
             (a teammate, another machine, CI) used about 8.31M today. The TPD resets at 00:00 \
             UTC (in 12h 0m). Fix: `bedrock-hook quota calibrate` adopts what the throttles \
             say; set CLAUDE_CODE_MAX_OUTPUT_TOKENS=5120 (largest output seen 3.1k + 50% \
             headroom) and restart Claude Code (`bedrock-hook doctor --fix` writes it to \
             settings.json) so a request reserves 63.2k."
        );
    }

    #[test]
    fn other_failures_are_not_throttles() {
        let c = config(Some(10_000_000), None, None);
        assert!(
            check(
                &failure("server_error"),
                &state(),
                &c,
                now(),
                &ClientEnv::default()
            )
            .is_none()
        );
    }
}
