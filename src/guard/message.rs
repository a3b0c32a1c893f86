//! The wording of every guard message. Each one says what is wrong, names the numbers
//! (the next request's reservation and how it is made up, what is left of the TPD and
//! TPM, what is in flight), when the window frees up, and the fix.

use chrono::{DateTime, Utc};

use super::{
    Concern, Concurrency, Frees, MaxTokensFix, Oversized, Point, Severity, Shortfall, Throttled,
    WontFit,
};
use crate::budget::{Budget, NextRequest};
use crate::config::Config;
use crate::ledger::MaxTokensSource;
use crate::quota::{Limit, Multiplier, advice};
use crate::terminal::pretty_tokens as tokens;

/// The message for a concern; `blocked` when block mode stops the request for it.
pub fn text(concern: &Concern, blocked: bool, config: &Config, now: DateTime<Utc>) -> String {
    match concern {
        Concern::WontFit(w) => wont_fit(w, blocked, config, now),
        Concern::Oversized(o) => oversized(o, config),
        Concern::Concurrency(c) => concurrency(c, config),
        Concern::Throttled(t) => throttled(t, config, now, false),
    }
}

/// A throttle's explanation as given later, at the session's next prompt or start (the
/// client shows nothing at `StopFailure`): it names when it happened, and the reset by
/// its time of day only.
pub fn throttled_later(t: &Throttled, config: &Config, now: DateTime<Utc>) -> String {
    throttled(t, config, now, true)
}

/// The status line's short form of a throttle: which limit, what was estimated at that
/// moment, and the one fix.
pub fn throttled_short(t: &Throttled) -> (String, String, String) {
    let info = &t.info;
    let limit = t.limit.map_or("?", |l| l.short()).to_string();
    let (estimate, quota) = match t.limit {
        Some(Limit::TokensPerMinute) => (tokens(info.minute_used), info.tpm.map(tokens)),
        Some(Limit::RequestsPerMinute) => (
            format!("{} requests", info.minute_requests),
            info.rpm.map(|r| r.to_string()),
        ),
        _ => (tokens(info.day_used), info.tpd.map(tokens)),
    };
    let estimate = match quota {
        Some(quota) => format!("est. {estimate} of {quota}"),
        None => format!("est. {estimate}, none set"),
    };
    let fix = match &t.fix {
        Some(fix) if t.limit.is_none_or(|l| l.counts_tokens()) => {
            format!("CLAUDE_CODE_MAX_OUTPUT_TOKENS={}", fix.max_tokens)
        }
        _ => "bedrock-hook quota calibrate".to_string(),
    };
    (limit, estimate, fix)
}

fn wont_fit(w: &WontFit, blocked: bool, config: &Config, now: DateTime<Utc>) -> String {
    let s = &w.shortfall;
    let short = s.name();
    let next = &w.budget.next;
    let head = match (w.point, blocked) {
        (Point::Prompt, false) => "bedrock-hook: this prompt's first request will not fit",
        (Point::AfterTool, false) => "bedrock-hook: the next request will not fit",
        (Point::Spawn, false) => "bedrock-hook: this subagent's first request will not fit",
        (Point::Prompt, true) => {
            "bedrock-hook held back this prompt (not an error): its first request would not fit"
        }
        (Point::AfterTool, true) => {
            "bedrock-hook paused the loop (not an error): the next request would not fit"
        }
        (Point::Spawn, true) => {
            "bedrock-hook held back this subagent (not an error): its first request would not fit"
        }
    };
    let will = if blocked { "would" } else { "will" };
    let mut out = format!(
        "{head} the {short} and Bedrock {will} throttle it (429). It reserves {} ({})",
        tokens(next.reservation),
        breakdown(next, config)
    );
    let total = next.reservation + w.main_next.as_ref().map_or(0, |m| m.reservation);
    match &w.main_next {
        Some(main) => out.push_str(&format!(
            ", and the loop that spawns it continues with {}: {} together. ",
            tokens(main.reservation),
            tokens(total)
        )),
        None => out.push_str(". "),
    }
    out.push_str(&numbers(&w.budget));
    out.push(' ');
    out.push_str(&when(s, &w.budget, w.main_next.is_some(), now));
    let wait = match (s.limit, w.point, s.frees) {
        (_, _, Frees::Never) => {
            format!(
                "ask AWS for a higher {short} (Service Quotas) and run `bedrock-hook quota import`"
            )
        }
        (Limit::TokensPerDay, _, _) => format!(
            "wait for the reset, or ask AWS for a higher {short} (Service Quotas) and run \
             `bedrock-hook quota import`"
        ),
        (_, Point::Spawn, _) => "let running subagents finish before starting more, or lower \
             CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS"
            .to_string(),
        _ => "wait for the window, or run fewer subagents at once".to_string(),
    };
    out.push_str(" Fix: ");
    match &w.fix {
        Some(fix) => {
            let requests = 1 + u64::from(w.main_next.is_some());
            let saved = next.reservation.saturating_sub(fix.reservation) * requests;
            let fits_after = s.limit.counts_tokens() && total.saturating_sub(saved) <= s.left;
            if fits_after {
                out.push_str(&format!("{} and fit.", then_reserves(fix)));
            } else {
                out.push_str(&format!(
                    "{wait}; and {} so a request reserves {}.",
                    set_max_tokens(fix),
                    tokens(fix.reservation)
                ));
            }
        }
        None => out.push_str(&format!("{wait}.")),
    }
    if blocked {
        out.push_str(" Set mode = \"warn\" in the bedrock-hook config to be warned instead.");
    }
    out
}

fn oversized(o: &Oversized, config: &Config) -> String {
    let next = &o.budget.next;
    let quotas = &o.budget.quotas;
    let r = tokens(next.reservation);
    let b = breakdown(next, config);
    let quota = |limit: Limit| tokens(limit.of(quotas).unwrap_or_default());
    let (mut out, short) = match o.severity {
        Severity::EveryRequest(limit) => (
            format!(
                "bedrock-hook: every request will be throttled: one request reserves {r} ({b}), \
                 more than the whole {} {}.",
                quota(limit),
                limit.short()
            ),
            limit.short(),
        ),
        Severity::OneAtATime => (
            format!(
                "bedrock-hook: only one request fits in the TPM at a time: one request reserves \
                 {r} ({b}) of the {} TPM, so parallel subagents will be throttled.",
                quota(Limit::TokensPerMinute)
            ),
            "TPM",
        ),
        Severity::LargeShareOfDay(share) => (
            format!(
                "bedrock-hook: each request holds {share}% of the TPD while it runs: one request \
                 reserves {r} ({b}) of the {} TPD, so requests start failing once {}% of the \
                 day is used.",
                quota(Limit::TokensPerDay),
                100u64.saturating_sub(share)
            ),
            "TPD",
        ),
    };
    out.push(' ');
    out.push_str(&numbers(&o.budget));
    match &o.fix {
        Some(fix) => {
            let tail = match (quotas.tpm, quotas.tpd) {
                (Some(tpm), _) => {
                    format!(" and {} fit in the TPM", advice::fitting(tpm, fix.reservation))
                }
                (None, Some(tpd)) => format!(
                    ", {}% of the TPD",
                    fix.reservation.saturating_mul(100) / tpd.max(1)
                ),
                _ => String::new(),
            };
            out.push_str(&format!(" Fix: {}{tail}.", then_reserves(fix)));
        }
        None => out.push_str(&format!(
            " Fix: ask AWS for a higher {short} (Service Quotas) and run `bedrock-hook quota import`."
        )),
    }
    out
}

fn concurrency(c: &Concurrency, config: &Config) -> String {
    let next = &c.budget.next;
    let fits = advice::fitting(c.tpm, next.reservation);
    let mut out = format!(
        "bedrock-hook: up to {} subagents may run at once (CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS) \
         and {} tools in parallel (CLAUDE_CODE_MAX_TOOL_USE_CONCURRENCY), but each request \
         reserves {} ({}): only {fits} fit in the {} TPM, so parallel subagents will be \
         throttled. ",
        c.subagents,
        c.tools,
        tokens(next.reservation),
        breakdown(next, config),
        tokens(c.tpm)
    );
    out.push_str(&numbers(&c.budget));
    let wanted = c.subagents.max(c.tools);
    match &c.fix {
        Some(fix) => {
            let fits_after = advice::fitting(c.tpm, fix.reservation);
            if fits_after >= wanted {
                out.push_str(&format!(
                    " Fix: {} and {fits_after} fit.",
                    then_reserves(fix)
                ));
            } else {
                out.push_str(&format!(
                    " Fix: set CLAUDE_CODE_MAX_OUTPUT_TOKENS={} ({}) and \
                     CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS={} and restart Claude Code \
                     (`bedrock-hook doctor --fix` writes them to settings.json): a request would \
                     then reserve {} and {fits_after} fit.",
                    fix.max_tokens,
                    fix.basis,
                    fits_after.saturating_sub(1).max(1),
                    tokens(fix.reservation)
                ));
            }
        }
        None => out.push_str(&format!(
            " Fix: set CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS={} and restart Claude Code \
             (`bedrock-hook doctor --fix` writes it to settings.json).",
            fits.saturating_sub(1).max(1)
        )),
    }
    out
}

fn throttled(t: &Throttled, config: &Config, now: DateTime<Utc>, later: bool) -> String {
    let next = &t.budget.next;
    let info = &t.info;
    let said = match t.limit {
        Some(Limit::TokensPerDay) => "too many tokens per day",
        Some(Limit::TokensPerMinute) => "too many tokens per minute",
        Some(Limit::RequestsPerMinute) => "too many requests per minute",
        None => "the error did not say which limit",
    };
    let mut out = if later {
        format!(
            "bedrock-hook: Bedrock throttled this session's last turn at {} UTC (429: {said}). ",
            now.format("%H:%M")
        )
    } else {
        format!("bedrock-hook: Bedrock throttled this turn (429: {said}). ")
    };
    let refused = format!(
        "the refused request's {} ({}) included",
        tokens(next.reservation),
        breakdown(next, config)
    );
    let percent = |used: u64, quota: u64| used as f64 * 100.0 / quota.max(1) as f64;
    let (estimate, quota) = match t.limit {
        Some(Limit::TokensPerMinute) => (info.minute_used, info.tpm),
        Some(Limit::RequestsPerMinute) => (info.minute_requests, info.rpm),
        _ => (info.day_used, info.tpd),
    };
    let limit = t.limit.unwrap_or(Limit::TokensPerDay);
    let short = limit.short();
    let amount = |n: u64| {
        if limit.counts_tokens() {
            tokens(n)
        } else {
            format!("{n} requests")
        }
    };
    match (limit, quota) {
        (Limit::RequestsPerMinute, Some(rpm)) => out.push_str(&format!(
            "At that moment bedrock-hook counted {estimate} requests in the last minute and in \
             flight, of {rpm} RPM. "
        )),
        (Limit::RequestsPerMinute, None) => out.push_str(&format!(
            "At that moment bedrock-hook counted {estimate} requests in the last minute and in \
             flight (no RPM configured). "
        )),
        (_, Some(quota)) => out.push_str(&format!(
            "At that moment bedrock-hook estimated {} of the {} {short} used ({:.0}%), {refused}. ",
            tokens(estimate),
            tokens(quota),
            percent(estimate, quota)
        )),
        (_, None) => out.push_str(&format!(
            "At that moment bedrock-hook estimated {} used (no {short} configured), {refused}. ",
            tokens(estimate)
        )),
    }
    out.push_str(&numbers(&t.budget));
    if t.limit.is_some() {
        let when = if limit == Limit::TokensPerDay {
            "today"
        } else {
            "in that minute"
        };
        out.push(' ');
        out.push_str(&match quota {
            Some(quota) if estimate < quota => format!(
                "So the effective {short} is nearer {}, or something else on the same account \
                 and region (a teammate, another machine, CI) used about {} {when}.",
                amount(estimate),
                amount(quota - estimate)
            ),
            Some(quota) => format!(
                "That is at or over the configured {} {short}: the configured quota agrees with \
                 Bedrock.",
                amount(quota)
            ),
            None => format!(
                "So the effective {short} is at most about {}.",
                amount(estimate)
            ),
        });
    }
    if limit == Limit::TokensPerDay && later {
        out.push_str(&format!(
            " The TPD resets at {} UTC.",
            t.budget.day_resets_at.format("%H:%M")
        ));
    } else if limit == Limit::TokensPerDay {
        out.push_str(&format!(
            " The TPD resets at {}.",
            clock(t.budget.day_resets_at, now, false)
        ));
    }
    out.push_str(" Fix: `bedrock-hook quota calibrate` adopts what the throttles say");
    match &t.fix {
        Some(fix) if limit.counts_tokens() => out.push_str(&format!(
            "; {} so a request reserves {}.",
            set_max_tokens(fix),
            tokens(fix.reservation)
        )),
        _ if limit == Limit::TokensPerDay => out.push_str("; until then, wait for the reset."),
        _ => out.push_str("; until then, run fewer subagents at once."),
    }
    out
}

/// `claude-opus-5-5: 12k input + 128k max_tokens x 10 burndown`.
pub fn breakdown(next: &NextRequest, config: &Config) -> String {
    let rule = &config.reservation;
    let input = if next.input > 0 {
        format!("{} input + ", tokens(next.input))
    } else {
        String::new()
    };
    let max = if next.max_tokens < rule.floor {
        format!(
            "{} max_tokens (charged as the {} minimum)",
            tokens(next.max_tokens),
            tokens(rule.floor)
        )
    } else {
        format!("{} max_tokens", tokens(next.max_tokens))
    };
    let source = match next.max_tokens_source {
        MaxTokensSource::Env => " from CLAUDE_CODE_MAX_OUTPUT_TOKENS",
        MaxTokensSource::ModelDefault => " from the model default",
        MaxTokensSource::ApiRequest | MaxTokensSource::Unknown => "",
    };
    let multiplier = match rule.multiplier {
        Multiplier::Burndown if next.burndown_assumed => format!(
            "x {} burndown (assumed: unknown model)",
            rate(next.burndown)
        ),
        Multiplier::Burndown => format!("x {} burndown", rate(next.burndown)),
        Multiplier::Fixed(m) => format!("x {}", rate(m)),
    };
    format!("{}: {input}{max}{source} {multiplier}", next.model_norm)
}

/// `Left: 1.1M of 1.5M TPD, 9.5M of 10M TPM; 1 request in flight holding 1M.`
pub fn numbers(budget: &Budget) -> String {
    let window = |quota: Option<u64>, left: Option<u64>, short: &str| match (quota, left) {
        (Some(quota), Some(left)) => format!("{} of {} {short}", tokens(left), tokens(quota)),
        _ => format!("{short} not set"),
    };
    let mut out = format!(
        "Left: {}, {}",
        window(budget.quotas.tpd, budget.day_left(), "TPD"),
        window(budget.quotas.tpm, budget.minute_left(), "TPM")
    );
    if let Some(tpd) = budget.all_models.tpd {
        let left = budget.all_models.day_left().unwrap_or_default();
        out.push_str(&format!(
            ", {} of {} cross-model TPD",
            tokens(left),
            tokens(tpd)
        ));
    }
    if let Some(rpm) = budget.quotas.rpm {
        let used = budget.minute_requests + budget.inflight as u64;
        out.push_str(&format!(", {} of {rpm} RPM", rpm.saturating_sub(used)));
    }
    match budget.inflight {
        0 => out.push_str("; nothing in flight."),
        1 => out.push_str(&format!(
            "; 1 request in flight holding {}.",
            tokens(budget.inflight_reserved)
        )),
        n => out.push_str(&format!(
            "; {n} requests in flight holding {}.",
            tokens(budget.inflight_reserved)
        )),
    }
    out
}

/// When the short window frees up; `together` when the need is two requests at once.
fn when(s: &Shortfall, budget: &Budget, together: bool, now: DateTime<Utc>) -> String {
    let short = s.name();
    let subject = if together {
        "together they reserve"
    } else {
        "that is"
    };
    match (s.limit, s.frees) {
        (Limit::RequestsPerMinute, Frees::Never) => format!(
            "Waiting will not help: {} requests are more than the whole {} RPM.",
            s.need, s.quota
        ),
        (_, Frees::Never) => format!(
            "Waiting will not help: {subject} {}, more than the whole {} {short}.",
            tokens(s.need),
            tokens(s.quota)
        ),
        (Limit::TokensPerDay, Frees::At(at)) => {
            format!("The {short} resets at {}.", clock(at, now, false))
        }
        (_, Frees::At(at)) => format!(
            "The {short} window frees up enough at {}.",
            clock(at, now, true)
        ),
        (_, Frees::WhenInflightEnds) => match budget.inflight {
            1 => "It frees up only as the 1 request in flight comes back.".to_string(),
            n => format!("It frees up only as the {n} requests in flight come back."),
        },
    }
}

/// The fix and what one request reserves after it.
fn then_reserves(fix: &MaxTokensFix) -> String {
    format!(
        "{}: a request would then reserve {}",
        set_max_tokens(fix),
        tokens(fix.reservation)
    )
}

fn set_max_tokens(fix: &MaxTokensFix) -> String {
    format!(
        "set CLAUDE_CODE_MAX_OUTPUT_TOKENS={} ({}) and restart Claude Code (`bedrock-hook doctor \
         --fix` writes it to settings.json)",
        fix.max_tokens, fix.basis
    )
}

/// `00:00 UTC (in 12h 0m)`, with seconds for minute windows.
pub fn clock(at: DateTime<Utc>, now: DateTime<Utc>, seconds: bool) -> String {
    let time = if seconds {
        at.format("%H:%M:%S")
    } else {
        at.format("%H:%M")
    };
    format!("{time} UTC (in {})", span((at - now).num_seconds().max(0)))
}

/// `45s`, `3m 5s`, `12h 0m`.
pub fn span(secs: i64) -> String {
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m {}s", secs / 60, secs % 60),
        _ => format!("{}h {}m", secs / 3600, (secs % 3600) / 60),
    }
}

fn rate(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::assess::tests::{budget, config, now, state};

    #[test]
    fn spans_and_clocks() {
        assert_eq!(span(0), "0s");
        assert_eq!(span(45), "45s");
        assert_eq!(span(185), "3m 5s");
        assert_eq!(span(43_200), "12h 0m");
        assert_eq!(
            clock("2026-11-22T12:00:10Z".parse().unwrap(), now(), true),
            "12:00:10 UTC (in 10s)"
        );
    }

    #[test]
    fn breakdown_names_floor_source_and_multiplier() {
        let c = config(None, None, None);
        let b = budget(&state(), &c);
        let mut next = b.next.clone();
        assert_eq!(
            breakdown(&next, &c),
            "claude-opus-5-5: 12k input + 128k max_tokens x 10 burndown"
        );
        next.max_tokens = 1;
        next.input = 0;
        next.max_tokens_source = MaxTokensSource::Env;
        next.burndown = 1.5;
        assert_eq!(
            breakdown(&next, &c),
            "claude-opus-5-5: 1 max_tokens (charged as the 4.1k minimum) from \
             CLAUDE_CODE_MAX_OUTPUT_TOKENS x 1.5 burndown"
        );
        let mut aws = c.clone();
        aws.reservation.multiplier = Multiplier::Fixed(1.0);
        next.burndown_assumed = true;
        assert!(breakdown(&next, &aws).ends_with("x 1"));
    }

    #[test]
    fn numbers_name_every_window_and_what_is_in_flight() {
        let c = config(Some(10_000_000), None, Some(50));
        let mut s = state();
        s = crate::guard::assess::tests::with_inflight(s, "s/a", 200_000);
        s = crate::guard::assess::tests::with_inflight(s, "s/b", 300_000);
        let b = budget(&s, &c);
        assert_eq!(
            numbers(&b),
            "Left: 9.1M of 10M TPD, TPM not set, 46 of 50 RPM; 2 requests in flight holding 500k."
        );
    }
}
