//! Formats the one status line: `quota 41% reserved · tpm 12% · 1 in flight · next 1.29M fits`.
//! Colour by threshold (green, yellow at `warn_percent`, red at `alert_percent`); plain
//! when `NO_COLOR` is set (`terminal::Style::for_status_line`).

use std::fmt::Write as _;

use crate::account::AccountView;
use crate::budget::{Budget, Fit};
use crate::config::Config;
use crate::terminal::{DIM, GREEN, RED, Style, YELLOW, pretty_tokens};

fn level_color(percent: f64, config: &Config) -> &'static str {
    if percent >= config.alert_percent as f64 {
        RED
    } else if percent >= config.warn_percent as f64 {
        YELLOW
    } else {
        GREEN
    }
}

/// The status line for one budget.
pub fn render(budget: &Budget, config: &Config, style: &Style) -> String {
    render_with_account(budget, config, style, None)
}

/// The status line in account mode: `budget` already holds the account's use when the
/// account data is fresh, and `account` says whose share is whose or why it is not used.
pub fn render_with_account(
    budget: &Budget,
    config: &Config,
    style: &Style,
    account: Option<&(AccountView, Option<u64>)>,
) -> String {
    let mut out = String::new();
    // The cross-model cap stands in for the bucket's TPD when it has less left.
    let across = budget.all_models_binds();
    let day_percent = match budget.all_models.tpd {
        Some(tpd) if across => Some(budget.all_models.day_used() as f64 * 100.0 / tpd as f64),
        _ => budget.day_percent(),
    };
    match day_percent {
        Some(percent) => {
            let across = if across { " across models" } else { "" };
            let text = format!("quota {}% reserved{across}", percent.round() as u64);
            style.paint_into(&mut out, level_color(percent, config), &text);
        }
        None => {
            let text = format!("quota {} today", pretty_tokens(budget.day_used()));
            out.push_str(&text);
        }
    }
    if let Some((view, own)) = account {
        out.push_str(&account_note(budget, view, *own));
    }
    let sep = " · ";
    match budget.minute_percent() {
        Some(percent) => {
            out.push_str(sep);
            style.paint_into(
                &mut out,
                level_color(percent, config),
                &format!("tpm {}%", percent.round() as u64),
            );
        }
        None if budget.minute_used() > 0 => {
            let _ = write!(out, "{sep}{}/min", pretty_tokens(budget.minute_used()));
        }
        None => {}
    }
    if budget.inflight > 0 {
        let _ = write!(out, "{sep}{} in flight", budget.inflight);
    }
    let next = pretty_tokens(budget.next.reservation);
    out.push_str(sep);
    match budget.fit() {
        Fit::Fits => style.paint_into(&mut out, GREEN, &format!("next {next} fits")),
        Fit::OverDay => style.paint_into(&mut out, RED, &format!("next {next} over TPD")),
        Fit::OverAllModels => {
            style.paint_into(&mut out, RED, &format!("next {next} over cross-model TPD"))
        }
        Fit::OverMinute => style.paint_into(&mut out, RED, &format!("next {next} over TPM")),
        Fit::OverRequests => style.paint_into(&mut out, RED, &format!("next {next} over RPM")),
        Fit::Unknown => {
            let _ = write!(out, "next {next}");
        }
    }
    if budget.throttles_today > 0 {
        out.push_str(sep);
        style.paint_into(
            &mut out,
            RED,
            &format!("{} throttled", budget.throttles_today),
        );
    }
    // One hint at most: a bad value comes first (it may be the very quota the hint would
    // ask for, set but unreadable), else the missing quota.
    if let Some(problem) = config.problem_summary() {
        out.push_str(sep);
        style.paint_into(
            &mut out,
            RED,
            &format!("config error: {problem} · bedrock-hook config"),
        );
    } else if budget.quotas.tpd.is_none() && budget.all_models.tpd.is_none() {
        out.push_str(sep);
        style.paint_into(&mut out, DIM, "set BEDROCK_HOOK_TPD");
    }
    out
}

/// ` (you 12%)` with fresh account data, ` (account data 12m old)` without.
fn account_note(budget: &Budget, view: &AccountView, own: Option<u64>) -> String {
    let failing = |failing: bool| if failing { ", sync failing" } else { "" };
    let (own, tpd) = match (budget.all_models.tpd, budget.all_models.own_day_used) {
        (Some(tpd), Some(all_own)) if own.is_some() && budget.all_models_binds() => {
            (Some(all_own), Some(tpd))
        }
        _ => (own, budget.quotas.tpd),
    };
    match (view, own) {
        (AccountView::Fresh { .. }, Some(own)) => match tpd {
            Some(tpd) => format!(
                " (you {}%)",
                (own as f64 * 100.0 / tpd as f64).round() as u64
            ),
            None => format!(" (you {})", pretty_tokens(own)),
        },
        (
            AccountView::Stale {
                age_secs,
                failing: f,
            },
            _,
        ) => {
            format!(" (account data {} old{})", age(*age_secs), failing(*f))
        }
        (AccountView::Missing { failing: f }, _) => {
            format!(" (no account data yet{})", failing(*f))
        }
        (AccountView::Fresh { .. }, None) => String::new(),
    }
}

/// `45s`, `12m`, `3h`, `2d`.
fn age(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// What the status line prints when it cannot compute anything.
pub fn fallback(reason: &str) -> String {
    format!("quota ? ({reason})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::NextRequest;
    use crate::ledger::MaxTokensSource;
    use crate::quota::Quotas;

    fn budget(tpd: Option<u64>, tpm: Option<u64>) -> Budget {
        Budget {
            quotas: Quotas {
                tpd,
                tpm,
                rpm: None,
            },
            day_settled: 400_000,
            inflight_reserved: 10_000,
            inflight: 1,
            minute_settled: 20_000,
            minute_requests: 2,
            throttles_today: 0,
            next: NextRequest {
                model: "us.anthropic.claude-opus-5-5".into(),
                model_norm: "claude-opus-5-5".into(),
                burndown: 10.0,
                burndown_assumed: false,
                max_tokens: 128_000,
                max_tokens_source: MaxTokensSource::ApiRequest,
                input: 12_306,
                reservation: 1_292_306,
            },
            day_resets_at: "2026-11-23T00:00:00Z".parse().unwrap(),
            all_models: Default::default(),
        }
    }

    #[test]
    fn with_quotas() {
        let line = render(
            &budget(Some(1_000_000), Some(2_000_000)),
            &Config::default(),
            &Style { color: false },
        );
        assert_eq!(
            line,
            "quota 41% reserved · tpm 2% · 1 in flight · next 1.29M over TPD"
        );
    }

    #[test]
    fn without_quotas_shows_numbers_and_hint() {
        let line = render(
            &budget(None, None),
            &Config::default(),
            &Style { color: false },
        );
        assert_eq!(
            line,
            "quota 410k today · 30k/min · 1 in flight · next 1.29M · set BEDROCK_HOOK_TPD"
        );
    }

    #[test]
    fn a_bad_value_replaces_the_hint() {
        let config = Config::load_with(None, |name| {
            (name == "BEDROCK_HOOK_TPD").then(|| "abc".to_string())
        });
        let line = render(&budget(None, None), &config, &Style { color: false });
        assert_eq!(
            line,
            "quota 410k today · 30k/min · 1 in flight · next 1.29M · \
             config error: tpd \"abc\" is not a number · bedrock-hook config"
        );
    }

    #[test]
    fn the_cross_model_cap_shows_when_it_is_the_tighter_day_limit() {
        let config = Config::default();
        let mut b = budget(Some(10_000_000), None);
        b.all_models = crate::budget::AllModels {
            tpd: Some(2_000_000),
            day_settled: 1_500_000,
            inflight_reserved: 10_000,
            own_day_used: None,
        };
        let line = render(&b, &config, &Style { color: false });
        assert_eq!(
            line,
            "quota 76% reserved across models · 30k/min · 1 in flight · next 1.29M over \
             cross-model TPD"
        );
        // With more left across models than in the bucket, the bucket's TPD is shown.
        b.all_models.tpd = Some(100_000_000);
        let line = render(&b, &config, &Style { color: false });
        assert!(line.starts_with("quota 4% reserved · "), "{line}");
        // The cross-model cap alone is a day quota: no hint to set one.
        let mut b = budget(None, None);
        b.all_models.tpd = Some(100_000_000);
        let line = render(&b, &config, &Style { color: false });
        assert_eq!(
            line,
            "quota 0% reserved across models · 30k/min · 1 in flight · next 1.29M fits"
        );
    }

    #[test]
    fn account_share_and_stale_account_data() {
        let config = Config::default();
        let mut b = budget(Some(10_000_000), None);
        let fresh = AccountView::Fresh {
            account: 3_000_000,
            own_to_watermark: 100_000,
            all_account: 3_000_000,
            all_own_to_watermark: 100_000,
        };
        let own = fresh.apply(&mut b);
        let line = render_with_account(&b, &config, &Style { color: false }, Some(&(fresh, own)));
        assert!(line.starts_with("quota 33% reserved (you 4%) · "), "{line}");
        let stale = AccountView::Stale {
            age_secs: 725,
            failing: true,
        };
        let b = budget(Some(10_000_000), None);
        let line = render_with_account(&b, &config, &Style { color: false }, Some(&(stale, None)));
        assert!(
            line.starts_with("quota 4% reserved (account data 12m old, sync failing) · "),
            "{line}"
        );
    }

    #[test]
    fn colours_by_threshold() {
        let config = Config::default();
        let low = render(
            &budget(Some(100_000_000), None),
            &config,
            &Style { color: true },
        );
        assert!(low.starts_with(GREEN), "{low:?}");
        let high = render(
            &budget(Some(450_000), None),
            &config,
            &Style { color: true },
        );
        assert!(high.starts_with(RED), "{high:?}");
    }
}
