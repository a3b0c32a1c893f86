//! PreToolUse of the subagent tool (`Agent`; `Task` on older clients): a subagent is about
//! to start, and the loop that spawns it carries on. Projected: what the windows hold now
//! (other subagents in flight and spawns not yet started included) plus the subagent's
//! first request plus the spawning loop's next one. Over budget: warn, or deny in block
//! mode.
//!
//! When the spawn fits, it still warns (never blocks) if the configured concurrency
//! (`CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS`, `CLAUDE_CODE_MAX_TOOL_USE_CONCURRENCY`) times
//! one request's reservation exceeds the TPM: parallel subagents would be throttled.

use super::{Concern, Concurrency, Point, Seen, WontFit, agent_of, assess, model_hint};
use crate::budget::{self, NextRequest};
use crate::claude::ClientEnv;
use crate::config::Config;
use crate::event::HookInput;
use crate::ledger::LiveState;

pub use crate::event::is_spawn;

/// What the client sends for the `Agent` tool's model aliases when no
/// `ANTHROPIC_DEFAULT_*_MODEL` says otherwise (observed on 2.1.328 against Bedrock in
/// us-east-1; only the model, not the region prefix, matters to the quota bucket).
const BUILT_IN_ALIASES: [(&str, &str); 3] = [
    ("opus", "us.anthropic.claude-opus-5-5"),
    ("sonnet", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
    ("haiku", "us.anthropic.claude-haiku-4-5-20251001-v1:0"),
];

/// A model as the client is told it (`--model`, the `Agent` tool's `model`): an id, or an
/// alias resolved through `ANTHROPIC_DEFAULT_*_MODEL`, else to the model the client
/// picks for it. `inherit` and unknown aliases name none.
pub fn resolve_alias(model: &str, env: &ClientEnv) -> Option<String> {
    let model = model.trim();
    if model.is_empty() || model.eq_ignore_ascii_case("inherit") {
        return None;
    }
    let bare = model
        .split('[')
        .next()
        .unwrap_or(model)
        .to_ascii_lowercase();
    match BUILT_IN_ALIASES.iter().find(|(alias, _)| *alias == bare) {
        Some((_, built_in)) => env
            .resolve_model(model)
            .or_else(|| Some(built_in.to_string())),
        None => env.resolve_model(model),
    }
}

/// The model the `Agent` tool's own `model` input names, if any.
fn tool_model(input: &HookInput, env: &ClientEnv) -> Option<String> {
    resolve_alias(input.tool_input.model.as_deref()?, env)
}

/// The subagent starts from the session's last request, on the model the `Agent` call
/// names (it wins over `CLAUDE_CODE_SUBAGENT_MODEL`, observed on 2.1.328), else on the
/// subagent model set in the environment, else on the spawning loop's.
fn subagent_model(input: &HookInput, spawner_next: &NextRequest, env: &ClientEnv) -> String {
    tool_model(input, env)
        .or_else(|| env.subagent_model())
        .unwrap_or_else(|| spawner_next.model.clone())
}

/// The spawning stream's next request, and the model the subagent will start on.
fn spawner_next(
    input: &HookInput,
    state: &LiveState,
    config: &Config,
    env: &ClientEnv,
) -> (NextRequest, String) {
    let main = budget::next_request_with(
        state,
        config,
        input.session_id.as_deref(),
        agent_of(input),
        model_hint(input, env).as_deref(),
        env,
    );
    let sub_model = subagent_model(input, &main, env);
    (main, sub_model)
}

/// The first request of a subagent about to be spawned from `input`'s stream: what the
/// hook marks in flight for a spawn until the subagent's own events take over.
pub fn first_request(
    input: &HookInput,
    state: &LiveState,
    config: &Config,
    env: &ClientEnv,
) -> NextRequest {
    let (_, sub_model) = spawner_next(input, state, config, env);
    let session = input.session_id.as_deref();
    budget::next_request_with(state, config, session, None, Some(&sub_model), env)
}

pub fn check(seen: &Seen<'_>) -> Option<Concern> {
    let input = seen.input;
    let session = input.session_id.as_deref()?;
    let (main, sub_model) = spawner_next(input, seen.state, seen.config, seen.env);
    let budget = budget::compute_with(
        seen.state,
        seen.config,
        seen.now,
        Some(session),
        None,
        Some(&sub_model),
        seen.env,
    );
    let same_bucket =
        seen.config.bucket_for(&main.model_norm) == seen.config.bucket_for(&budget.next.model_norm);
    let main_next = same_bucket.then_some(main);
    let need = budget.next.reservation + main_next.as_ref().map_or(0, |m| m.reservation);
    let requests = 1 + u64::from(main_next.is_some());
    if let Some(shortfall) =
        assess::shortfall(&budget, seen.state, seen.config, need, requests, seen.now)
    {
        let fix = assess::max_tokens_fix(&budget.next, seen.state.max_output_seen, seen.config);
        return Some(Concern::WontFit(WontFit {
            point: Point::Spawn,
            budget,
            main_next,
            shortfall,
            fix,
        }));
    }
    let tpm = budget.quotas.tpm?;
    let subagents = seen.env.max_concurrent_subagents();
    let tools = seen.env.max_tool_use_concurrency();
    let reservation = budget.next.reservation;
    let over = |n: u64| n.saturating_mul(reservation) > tpm;
    if !(over(subagents) || over(tools)) {
        return None;
    }
    let fix = assess::max_tokens_fix(&budget.next, seen.state.max_output_seen, seen.config);
    Some(Concern::Concurrency(Concurrency {
        budget,
        tpm,
        subagents,
        tools,
        fix,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::assess::tests::{config, now, state, with_inflight};
    use crate::guard::message;
    use crate::quota::Limit;

    fn spawn(tool: &str) -> HookInput {
        HookInput::parse(
            format!(r#"{{"session_id":"s","hook_event_name":"PreToolUse","tool_name":"{tool}"}}"#)
                .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn agent_and_task_spawn_subagents() {
        assert!(is_spawn(Some("Agent")));
        assert!(is_spawn(Some("Task")));
        assert!(!is_spawn(Some("Bash")));
        assert!(!is_spawn(None));
    }

    #[test]
    fn the_agent_calls_model_wins_over_the_environment() {
        let call = |model: &str| {
            HookInput::parse(
                format!(r#"{{"session_id":"s","hook_event_name":"PreToolUse","tool_name":"Agent","tool_input":{{"model":"{model}"}}}}"#)
                    .as_bytes(),
            )
            .unwrap()
        };
        let env = ClientEnv::from_pairs([(
            "CLAUDE_CODE_SUBAGENT_MODEL",
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        )]);
        let (s, c) = (state(), config(None, None, None));
        let first = first_request(&call("haiku"), &s, &c, &env);
        assert_eq!(first.model_norm, "claude-haiku-4-5");
        assert_eq!(first.max_tokens, 32_000);
        let pinned = ClientEnv::from_pairs([(
            "ANTHROPIC_DEFAULT_HAIKU_MODEL",
            "us.anthropic.claude-3-5-haiku-20241022-v1:0",
        )]);
        assert_eq!(
            first_request(&call("haiku"), &s, &c, &pinned).model_norm,
            "claude-3-5-haiku"
        );
        assert_eq!(
            first_request(&call("inherit"), &s, &c, &env).model_norm,
            "claude-sonnet-4-5"
        );
        assert_eq!(
            first_request(&spawn("Agent"), &s, &c, &ClientEnv::default()).model_norm,
            "claude-opus-5-5"
        );
    }

    #[test]
    fn spawn_counts_the_subagent_and_the_loop_that_continues() {
        // 500k settled this minute + 1M in flight (another subagent) + 2 x 1.292M > 4M.
        let s = with_inflight(state(), "s/other", 1_000_000);
        let c = config(None, Some(4_000_000), None);
        let env = ClientEnv::default();
        let Some(Concern::WontFit(w)) = check(&Seen::new(&spawn("Agent"), &s, &c, now(), &env))
        else {
            panic!("expected a concern");
        };
        assert_eq!(w.point, Point::Spawn);
        assert_eq!(w.shortfall.limit, Limit::TokensPerMinute);
        assert_eq!(w.shortfall.need, 2_584_000);
        assert_eq!(w.shortfall.left, 2_500_000);
        let text = message::text(&Concern::WontFit(w), true, &c, now());
        assert!(
            text.starts_with(
                "bedrock-hook held back this subagent (not an error): its first request would not \
                 fit the TPM and Bedrock would throttle it (429). It reserves 1.29M \
                 (claude-opus-5-5: 12k input + 128k max_tokens x 10 burndown), and the loop \
                 that spawns it continues with 1.29M: 2.58M together."
            ),
            "{text}"
        );
        assert!(
            text.contains("Left: TPD not set, 2.5M of 4M TPM; 1 request in flight holding 1M."),
            "{text}"
        );
        assert!(
            text.contains("a request would then reserve 63.2k and fit."),
            "{text}"
        );
        // With room for both it passes.
        let roomy = config(None, Some(4_084_000), None);
        let env_low = ClientEnv::from_pairs([
            ("CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS", "3"),
            ("CLAUDE_CODE_MAX_TOOL_USE_CONCURRENCY", "3"),
        ]);
        assert_eq!(
            check(&Seen::new(&spawn("Task"), &s, &roomy, now(), &env_low)),
            None
        );
    }

    #[test]
    fn concurrency_times_reservation_over_tpm_is_advice() {
        let s = state();
        let c = config(None, Some(6_000_000), None);
        let env = ClientEnv::from_pairs([("CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS", "8")]);
        let Some(concern @ Concern::Concurrency(_)) =
            check(&Seen::new(&spawn("Agent"), &s, &c, now(), &env))
        else {
            panic!("expected concurrency advice");
        };
        assert!(!concern.can_block());
        let text = message::text(&concern, false, &c, now());
        assert_eq!(
            text,
            "bedrock-hook: up to 8 subagents may run at once (CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS) \
             and 10 tools in parallel (CLAUDE_CODE_MAX_TOOL_USE_CONCURRENCY), but each request \
             reserves 1.29M (claude-opus-5-5: 12k input + 128k max_tokens x 10 burndown): only \
             4 fit in the 6M TPM, so parallel subagents will be throttled. Left: TPD not set, \
             5.5M of 6M TPM; nothing in flight. Fix: set CLAUDE_CODE_MAX_OUTPUT_TOKENS=5120 \
             (largest output seen 3.1k + 50% headroom) and restart Claude Code (`bedrock-hook \
             doctor --fix` writes it to settings.json): a request would then reserve 63.2k and \
             94 fit."
        );
    }
}
