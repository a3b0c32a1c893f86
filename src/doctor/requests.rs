//! What one request holds: effective `max_tokens` per model and the reservation it makes
//! against the TPM and TPD, whether outputs hit the cap, the thinking budget, and how many
//! requests the concurrency settings let run at once.

use super::{Ctx, Finding, ModelInUse, Plan};
use crate::budget::NextRequest;
use crate::claude::ClientEnv;
use crate::claude::env::{MAX_CONCURRENT_SUBAGENTS, MAX_OUTPUT_TOKENS, MAX_THINKING_TOKENS};
use crate::guard::Severity;
use crate::guard::message::breakdown;
use crate::guard::session_start::severity;
use crate::ledger::MaxTokensSource;
use crate::quota::{self, ModelName, advice};
use crate::terminal::pretty_tokens as tokens;

/// The API's smallest thinking budget.
pub const MIN_THINKING_TOKENS: u64 = 1024;

/// One request of `model` as the set-up (with `env`) will send it, before any input.
fn one_request(ctx: &Ctx, env: &ClientEnv, model: &ModelName) -> NextRequest {
    let burndown = quota::burndown_for(model, &ctx.config.burndown);
    let last_sent = ctx
        .state
        .streams
        .values()
        .filter(|s| s.model_norm == model.canonical && !s.max_tokens_source.is_assumed())
        .max_by_key(|s| s.at_ms);
    let (max_tokens, source) = match (env.max_output_tokens(), last_sent) {
        (Some(n), _) => (n, MaxTokensSource::Env),
        (None, Some(s)) => (s.max_tokens, MaxTokensSource::ApiRequest),
        (None, None) => (
            quota::default_max_tokens(model, &ctx.config.default_max_tokens),
            MaxTokensSource::ModelDefault,
        ),
    };
    NextRequest {
        model: model.canonical.clone(),
        model_norm: model.canonical.clone(),
        burndown: burndown.rate,
        burndown_assumed: burndown.assumed,
        max_tokens,
        max_tokens_source: source,
        input: 0,
        reservation: quota::reservation(
            &quota::Usage::default(),
            max_tokens,
            burndown.rate,
            &ctx.config.reservation,
        ),
    }
}

fn reserve(ctx: &Ctx, model: &ModelName, max_tokens: u64) -> u64 {
    let burndown = quota::burndown_for(model, &ctx.config.burndown);
    quota::reservation(
        &quota::Usage::default(),
        max_tokens,
        burndown.rate,
        &ctx.config.reservation,
    )
}

/// `: 24 fit in the 1M TPM, 4.1% of the 1M TPD`
fn against_quotas(ctx: &Ctx, model: &ModelName, reservation: u64) -> String {
    let quotas = ctx.config.quotas_for(&model.canonical);
    let mut parts = Vec::new();
    if let Some(tpm) = quotas.tpm {
        parts.push(format!(
            "{} fit in the {} TPM",
            advice::fitting(tpm, reservation),
            tokens(tpm)
        ));
    }
    if let Some(tpd) = quotas.tpd {
        let share = reservation as f64 * 100.0 / tpd.max(1) as f64;
        let share = if share < 0.1 {
            "<0.1".to_string()
        } else {
            format!("{share:.1}")
        };
        parts.push(format!("{share}% of the {} TPD", tokens(tpd)));
    }
    if parts.is_empty() {
        " (no quotas to compare with)".to_string()
    } else {
        format!(": {}", parts.join(", "))
    }
}

fn recommended(ctx: &Ctx, model: &ModelName) -> u64 {
    let default = quota::default_max_tokens(model, &ctx.config.default_max_tokens);
    advice::recommend_max_tokens(ctx.largest_output(), default)
}

pub fn reservation(ctx: &Ctx, plan: &mut Plan) -> Vec<Finding> {
    let env = ctx.env(plan);
    let rows: Vec<(&ModelInUse, NextRequest, Option<Severity>)> = ctx
        .models
        .iter()
        .map(|m| {
            let next = one_request(ctx, &env, &m.name);
            let quotas = ctx.config.quotas_for(&m.name.canonical);
            let found = severity(next.reservation, quotas.tpm, quotas.tpd);
            (m, next, found)
        })
        .collect();
    // One value for every model: CLAUDE_CODE_MAX_OUTPUT_TOKENS is global.
    let fix_value = rows
        .iter()
        .filter(|(m, next, found)| found.is_some() && recommended(ctx, &m.name) < next.max_tokens)
        .map(|(m, _, _)| recommended(ctx, &m.name))
        .max();
    if let Some(value) = fix_value {
        plan.set(MAX_OUTPUT_TOKENS, value);
    }
    let basis = advice::basis(ctx.largest_output());
    // Side requests are judged at what they are sent with, never as the main model.
    let side = ctx.side_models.iter().map(|(name, max_tokens)| {
        let reservation = reserve(ctx, name, *max_tokens);
        let sent = if *max_tokens > 0 {
            format!("sent with max_tokens up to {}", tokens(*max_tokens))
        } else {
            "max_tokens not recorded".to_string()
        };
        Finding::ok(
            "reservation",
            format!(
                "{}: side requests only (auto-mode classifier, titles, summaries), {sent}: \
                 {} per request{}",
                name.canonical,
                tokens(reservation),
                against_quotas(ctx, name, reservation)
            ),
        )
    });
    let side: Vec<Finding> = side.collect();
    rows.into_iter()
        .map(|(m, next, found)| {
            let base = format!(
                "{} reserves {} per request before input",
                breakdown(&next, &ctx.config),
                tokens(next.reservation)
            );
            let quotas = ctx.config.quotas_for(&m.name.canonical);
            let Some(found) = found else {
                return Finding::ok(
                    "reservation",
                    format!("{base}{}", against_quotas(ctx, &m.name, next.reservation)),
                );
            };
            let fix = match fix_value.filter(|v| *v < next.max_tokens) {
                Some(value) => {
                    let after = reserve(ctx, &m.name, value);
                    format!(
                        "set CLAUDE_CODE_MAX_OUTPUT_TOKENS={value} ({basis}), reserving {} per \
                         request{}",
                        tokens(after),
                        against_quotas(ctx, &m.name, after)
                    )
                }
                None => "ask AWS for a higher quota (Service Quotas), then `bedrock-hook quota \
                         import`"
                    .to_string(),
            };
            match found {
                Severity::EveryRequest(limit) => Finding::error(
                    "reservation",
                    format!(
                        "{base}, more than the whole {} {}: every request will be throttled",
                        tokens(limit.of(&quotas).unwrap_or_default()),
                        limit.short()
                    ),
                    fix,
                ),
                Severity::OneAtATime => Finding::warn(
                    "reservation",
                    format!(
                        "{base}: only one fits in the {} TPM at a time, parallel requests will \
                         be throttled",
                        tokens(quotas.tpm.unwrap_or_default())
                    ),
                    fix,
                ),
                Severity::LargeShareOfDay(share) => Finding::warn(
                    "reservation",
                    format!(
                        "{base}: {share}% of the {} TPD per request, so requests fail once {}% \
                         of the day is used",
                        tokens(quotas.tpd.unwrap_or_default()),
                        100u64.saturating_sub(share)
                    ),
                    fix,
                ),
            }
        })
        .chain(side)
        .collect()
}

/// A cap the model's real outputs reach truncates long answers and file writes.
pub fn truncation(ctx: &Ctx, plan: &mut Plan) -> Vec<Finding> {
    // The cap as it is now: a lowered one planned above leaves 50% headroom by design.
    let Some(cap) = ctx.setup.env.max_output_tokens() else {
        return Vec::new();
    };
    let largest = ctx.largest_output();
    if largest == 0 {
        return Vec::new();
    }
    if largest.saturating_mul(100) < cap.saturating_mul(95) {
        return vec![Finding::ok(
            "output",
            format!(
                "largest output seen {} is below CLAUDE_CODE_MAX_OUTPUT_TOKENS={cap}",
                tokens(largest)
            ),
        )];
    }
    let ceiling = ctx
        .models
        .iter()
        .map(|m| quota::default_max_tokens(&m.name, &ctx.config.default_max_tokens))
        .max()
        .unwrap_or(advice::WITHOUT_HISTORY);
    let value = advice::recommend_max_tokens(largest, ceiling);
    if value <= cap {
        // Nothing to change: the cap is already as high as the models in use go.
        return vec![Finding::ok(
            "output",
            format!(
                "largest output seen {} reaches CLAUDE_CODE_MAX_OUTPUT_TOKENS={cap}, already \
                 the most the models in use are given",
                tokens(largest)
            ),
        )];
    }
    plan.set(MAX_OUTPUT_TOKENS, value);
    vec![Finding::warn(
        "output",
        format!(
            "outputs reach the cap: the largest seen was {} of CLAUDE_CODE_MAX_OUTPUT_TOKENS={cap}, \
             so long answers and file writes are being cut off",
            tokens(largest)
        ),
        format!(
            "set CLAUDE_CODE_MAX_OUTPUT_TOKENS={value} ({})",
            advice::basis(largest)
        ),
    )]
}

pub fn thinking(ctx: &Ctx, plan: &mut Plan) -> Vec<Finding> {
    let env = ctx.env(plan);
    let Some(budget) = env.max_thinking_tokens() else {
        return vec![Finding::ok(
            "thinking",
            "MAX_THINKING_TOKENS unset: the client chooses the thinking budget",
        )];
    };
    let origin = ctx.setup.origin_of(MAX_THINKING_TOKENS);
    if budget == 0 {
        return vec![Finding::ok(
            "thinking",
            format!("MAX_THINKING_TOKENS=0 ({origin}): thinking off"),
        )];
    }
    // The tightest max_tokens any model in use gets.
    let tightest = ctx
        .models
        .iter()
        .map(|m| {
            (
                one_request(ctx, &env, &m.name).max_tokens,
                m.name.canonical.as_str(),
            )
        })
        .min();
    let limit_text = |max: u64, model: &str| format!("max_tokens {} ({model})", tokens(max));
    if budget < MIN_THINKING_TOKENS {
        if tightest.is_none_or(|(max, _)| MIN_THINKING_TOKENS < max) {
            plan.set(MAX_THINKING_TOKENS, MIN_THINKING_TOKENS);
        }
        return vec![Finding::error(
            "thinking",
            format!(
                "MAX_THINKING_TOKENS={budget} ({origin}) is below the API's minimum thinking \
                 budget of {MIN_THINKING_TOKENS}: requests with thinking are rejected"
            ),
            format!("set MAX_THINKING_TOKENS={MIN_THINKING_TOKENS}"),
        )];
    }
    match tightest {
        Some((max, model)) if budget >= max => {
            let half = (max / 2 / 1024 * 1024).max(MIN_THINKING_TOKENS);
            let fix = if half < max {
                plan.set(MAX_THINKING_TOKENS, half);
                format!(
                    "set MAX_THINKING_TOKENS={half} (half of max_tokens, leaving room for the answer)"
                )
            } else {
                "raise CLAUDE_CODE_MAX_OUTPUT_TOKENS above 1024".to_string()
            };
            vec![Finding::error(
                "thinking",
                format!(
                    "MAX_THINKING_TOKENS={budget} ({origin}) is not below {}: the API rejects a \
                     thinking budget of max_tokens or more",
                    limit_text(max, model)
                ),
                fix,
            )]
        }
        Some((max, model)) => vec![Finding::ok(
            "thinking",
            format!(
                "MAX_THINKING_TOKENS={budget} ({origin}): at least {MIN_THINKING_TOKENS} and below {}",
                limit_text(max, model)
            ),
        )],
        None => vec![Finding::ok(
            "thinking",
            format!("MAX_THINKING_TOKENS={budget} ({origin}): at least {MIN_THINKING_TOKENS}"),
        )],
    }
}

pub fn concurrency(ctx: &Ctx, plan: &mut Plan) -> Vec<Finding> {
    let env = ctx.env(plan);
    let Some(main) = ctx.main_model() else {
        return Vec::new();
    };
    let sub = env
        .subagent_model()
        .map(|m| quota::normalize(&m, &ctx.config.profiles))
        .unwrap_or_else(|| main.name.clone());
    let request = one_request(ctx, &env, &sub);
    let subagents = env.max_concurrent_subagents();
    let tools = env.max_tool_use_concurrency();
    let settings = format!(
        "{subagents} subagents (CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS, {}) and {tools} parallel \
         tools (CLAUDE_CODE_MAX_TOOL_USE_CONCURRENCY, {})",
        ctx.setup
            .origin_of(MAX_CONCURRENT_SUBAGENTS)
            .replace("unset", "default"),
        ctx.setup
            .origin_of("CLAUDE_CODE_MAX_TOOL_USE_CONCURRENCY")
            .replace("unset", "default"),
    );
    let Some(tpm) = ctx.config.quotas_for(&sub.canonical).tpm else {
        return vec![Finding::ok(
            "concurrency",
            format!("{settings}; no TPM configured to compare with"),
        )];
    };
    let r = request.reservation;
    let planned = plan
        .env
        .iter()
        .find(|(k, _)| k == MAX_OUTPUT_TOKENS)
        .map(|(_, v)| format!(" (with CLAUDE_CODE_MAX_OUTPUT_TOKENS={v} as fixed above)"))
        .unwrap_or_default();
    let widest = subagents.max(tools);
    if widest.saturating_mul(r) <= tpm {
        return vec![Finding::ok(
            "concurrency",
            format!(
                "{settings} x {} per {} request = {} fit in the {} TPM{planned}",
                tokens(r),
                sub.canonical,
                tokens(widest * r),
                tokens(tpm)
            ),
        )];
    }
    let fits = advice::fitting(tpm, r);
    let summary = format!(
        "{settings} x {} per {} request = {} against the {} TPM{planned}: only {fits} fit at \
         once, parallel subagents will be throttled",
        tokens(r),
        sub.canonical,
        tokens(widest.saturating_mul(r)),
        tokens(tpm)
    );
    let fix = if subagents.saturating_mul(r) > tpm {
        let k = fits.saturating_sub(1).max(1);
        plan.set(MAX_CONCURRENT_SUBAGENTS, k);
        format!("set CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS={k} (one slot left for the main loop)")
    } else {
        format!(
            "if responses start many subagents at once, set CLAUDE_CODE_MAX_TOOL_USE_CONCURRENCY={}",
            fits.max(1)
        )
    };
    vec![Finding::warn("concurrency", summary, fix)]
}
