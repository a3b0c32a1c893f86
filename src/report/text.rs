//! The report as people read it at the end of the day: totals, per model, top sessions,
//! the timeline chart, peaks, throttles, side requests and the max_tokens advice. Times
//! are shown on the clock of the configured TPD day boundary.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::Shown;
use super::aggregate::{Bucket, ModelRow, OutputAdvice, Report, Spread, Totals};
use super::chart;
use super::table::{self, Column};
use crate::quota::Quotas;
use crate::terminal::pretty_tokens;
use crate::terminal::{self, Style, count, percent, thousands, wrap};

/// What the text needs besides the report.
pub struct Context<'a> {
    pub shown: Shown<'a>,
    /// Where the quotas were set (`BEDROCK_HOOK_TPD in ~/.claude/settings.json env`).
    pub quota_source: String,
    pub width: usize,
    pub style: Style,
}

impl<'a> std::ops::Deref for Context<'a> {
    type Target = Shown<'a>;
    fn deref(&self) -> &Shown<'a> {
        &self.shown
    }
}

pub fn render(report: &Report, ctx: &Context<'_>) -> String {
    let mut out = String::new();
    header(&mut out, report, ctx);
    if report.totals == Totals::default() {
        out.push_str("\n  Nothing recorded in this range.\n");
        if ctx.selection.session.is_none() {
            out.push_str("  Import what Claude Code already wrote with `bedrock-hook import`.\n");
        }
        return out;
    }
    totals(&mut out, report, ctx);
    models(&mut out, report, ctx);
    sessions(&mut out, report, ctx);
    timeline(&mut out, report, ctx);
    peaks(&mut out, report, ctx);
    throttles(&mut out, report, ctx);
    side(&mut out, report, ctx);
    output_advice(&mut out, report, ctx);
    out
}

fn section(out: &mut String, ctx: &Context<'_>, title: &str) {
    let title = terminal::fit(title, ctx.width);
    let _ = writeln!(out, "\n{}", ctx.style.paint(terminal::BOLD, &title));
}

/// The quotas the report compares with, as `TPD 2.4M`-style items; shared by the terminal
/// and the HTML report's headers.
pub(super) fn quota_list(quotas: Quotas, tpd_all_models: Option<u64>) -> Vec<String> {
    let mut list = Vec::new();
    if let Some(tpd) = quotas.tpd {
        list.push(format!("TPD {}", pretty_tokens(tpd)));
    }
    if let Some(tpm) = quotas.tpm {
        list.push(format!("TPM {}", pretty_tokens(tpm)));
    }
    if let Some(rpm) = quotas.rpm {
        list.push(format!("RPM {rpm}"));
    }
    if let Some(all) = tpd_all_models {
        list.push(format!("cross-model TPD {}", pretty_tokens(all)));
    }
    list
}

/// The header's line where [`quota_list`] is empty.
pub(super) const NO_QUOTA: &str =
    "No quota configured: set `tpd` and `tpm` to see the pace and the share used";

/// The header's note of ledger lines that could not be read.
pub(super) fn skipped_lines(lines: usize) -> String {
    format!(
        "{} skipped",
        count(
            lines as u64,
            "unreadable ledger line",
            "unreadable ledger lines"
        )
    )
}

fn header(out: &mut String, report: &Report, ctx: &Context<'_>) {
    let mut title = format!(
        "Bedrock quota report · {}",
        terminal::clean(&ctx.selection.label)
    );
    if ctx.single_day() {
        let _ = write!(
            title,
            " (TPD day from {} {})",
            ctx.clock(ctx.selection.start, "%H:%M"),
            ctx.boundary.describe()
        );
    }
    if let Some(session) = &ctx.selection.session {
        let _ = write!(title, " · session {}", terminal::clean(session));
    }
    let title = terminal::fit(&title, ctx.width);
    let _ = writeln!(out, "{}", ctx.style.paint(terminal::BOLD, &title));
    let quotas = quota_list(ctx.quotas, ctx.tpd_all_models);
    let line = if quotas.is_empty() {
        format!("{NO_QUOTA}.")
    } else {
        format!(
            "Quotas: {} ({})",
            quotas.join(" · "),
            terminal::clean(&ctx.quota_source)
        )
    };
    out.push_str(&wrap(&ctx.style.paint(terminal::DIM, &line), ctx.width, ""));
    if ctx.skipped_lines > 0 {
        let _ = writeln!(
            out,
            "{}",
            ctx.style
                .paint(terminal::YELLOW, &skipped_lines(ctx.skipped_lines))
        );
    }
    let _ = report;
}

fn totals(out: &mut String, report: &Report, ctx: &Context<'_>) {
    section(out, ctx, "Totals");
    let t = &report.totals;
    let mut requests_note = Vec::new();
    if report.unanswered > 0 {
        requests_note.push(format!("{} unanswered", thousands(report.unanswered)));
    }
    requests_note.push(count(report.sessions.count, "session", "sessions"));
    if report.side.records > 0 {
        requests_note.push(count(report.side.records, "side record", "side records"));
    }
    // The totals are every model's together: against the cross-model cap when it is the
    // lower day limit.
    let (day_quota, day_name) = match (ctx.quotas.tpd, ctx.tpd_all_models) {
        (Some(tpd), Some(all)) if all < tpd => (Some(all), "cross-model TPD"),
        (None, Some(all)) => (Some(all), "cross-model TPD"),
        (tpd, _) => (tpd, "TPD"),
    };
    let settled_note = match day_quota {
        Some(tpd) if ctx.selection.label.len() == 10 => {
            format!(
                "{} of {day_name} {}",
                percent(t.quota_tokens, tpd),
                pretty_tokens(tpd)
            )
        }
        _ => "input + cache write + output × burndown".to_string(),
    };
    let ratio = reserved_ratio(t);
    let rows: Vec<(&str, String, String)> = vec![
        ("requests", thousands(t.requests), requests_note.join(", ")),
        ("input", pretty_tokens(t.input_tokens), String::new()),
        (
            "cache write",
            pretty_tokens(t.cache_write_tokens),
            String::new(),
        ),
        (
            "cache read",
            pretty_tokens(t.cache_read_tokens),
            "not charged".to_string(),
        ),
        ("output", pretty_tokens(t.output_tokens), String::new()),
        ("settled", pretty_tokens(t.quota_tokens), settled_note),
        ("reserved", pretty_tokens(t.reserved_tokens), ratio),
        ("throttles", thousands(t.throttles), String::new()),
    ];
    let value_w = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    let note_w = ctx.width.saturating_sub(2 + 12 + 1 + value_w + 2);
    for (name, value, note) in rows {
        let note = terminal::fit(&note, note_w);
        let value = if name == "throttles" && t.throttles > 0 {
            ctx.style
                .paint(terminal::RED, &terminal::pad(&value, value_w, true))
        } else {
            terminal::pad(&value, value_w, true)
        };
        let line = format!(
            "  {name:<12} {value}  {}",
            ctx.style.paint(terminal::DIM, &note)
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

fn models(out: &mut String, report: &Report, ctx: &Context<'_>) {
    section(out, ctx, "By model");
    let columns = [
        Column::flexible("model"),
        Column::number("requests"),
        Column::number("input").optional(),
        Column::number("cache wr").optional(),
        Column::number("cache rd").optional(),
        Column::number("output").optional(),
        Column::number("burn").optional(),
        Column::number("settled"),
        Column::number("reserved"),
        Column::number("throttles").optional(),
    ];
    let rows: Vec<Vec<String>> = report
        .models
        .iter()
        .map(|m| {
            vec![
                m.model.clone(),
                thousands(m.totals.requests),
                pretty_tokens(m.totals.input_tokens),
                pretty_tokens(m.totals.cache_write_tokens),
                pretty_tokens(m.totals.cache_read_tokens),
                pretty_tokens(m.totals.output_tokens),
                burn_cell(m),
                pretty_tokens(m.totals.quota_tokens),
                pretty_tokens(m.totals.reserved_tokens),
                thousands(m.totals.throttles),
            ]
        })
        .collect();
    out.push_str(&table::render(&columns, &rows, ctx.width, &ctx.style));
    if report.models.iter().any(|m| m.burndown_assumed) {
        out.push_str(
            "  ? unknown model: burndown assumed; set it under [burndown] in the config\n",
        );
    }
}

fn sessions(out: &mut String, report: &Report, ctx: &Context<'_>) {
    let title = sessions_title(report);
    section(out, ctx, &title);
    let columns = [
        Column::text("session"),
        Column::flexible("project"),
        Column::number("requests"),
        Column::number("agents").optional(),
        Column::number("settled"),
        Column::number("reserved"),
        Column::text("active").optional(),
    ];
    let rows = session_rows(report, ctx, |id| id.chars().take(8).collect());
    out.push_str(&table::render(&columns, &rows, ctx.width, &ctx.style));
}

/// The reserved total's note: how many times what settled, or nothing when nothing did.
/// Shared by the terminal and the HTML report.
pub(super) fn reserved_ratio(t: &Totals) -> String {
    if t.quota_tokens > 0 {
        format!(
            "{:.1}× what settled",
            t.reserved_tokens as f64 / t.quota_tokens as f64
        )
    } else {
        String::new()
    }
}

/// A model's burndown rate, with `?` when it was assumed. Shared by the terminal and the
/// HTML report.
pub(super) fn burn_cell(m: &ModelRow) -> String {
    format!(
        "{}{}",
        m.burndown,
        if m.burndown_assumed { "?" } else { "" }
    )
}

/// The session table's title: how many of the range's sessions it lists, when not all.
pub(super) fn sessions_title(report: &Report) -> String {
    let shown = report.sessions.top.len() as u64;
    if shown < report.sessions.count {
        format!("Top sessions ({shown} of {})", report.sessions.count)
    } else {
        "Sessions".to_string()
    }
}

/// The session table's cells (session as `id` shows it, project, requests, agents,
/// settled, reserved, active), shared by the terminal and the HTML report.
pub(super) fn session_rows(
    report: &Report,
    shown: &Shown<'_>,
    id: impl Fn(&str) -> String,
) -> Vec<Vec<String>> {
    report
        .sessions
        .top
        .iter()
        .map(|s| {
            vec![
                id(&s.session),
                s.project.clone().unwrap_or_else(|| "?".to_string()),
                thousands(s.totals.requests),
                thousands(s.agents),
                pretty_tokens(s.totals.quota_tokens),
                pretty_tokens(s.totals.reserved_tokens),
                format!(
                    "{}–{}",
                    shown.time_of_day(s.first),
                    shown.time_of_day(s.last)
                ),
            ]
        })
        .collect()
}

fn timeline(out: &mut String, report: &Report, ctx: &Context<'_>) {
    let t = &report.timeline;
    let per = if t.bucket_seconds == 3600 {
        "hour"
    } else {
        "day"
    };
    let mut title = format!("By {per}: settled █ inside reserved ░");
    if let Some(pace) = t.tpd_pace_per_bucket {
        let _ = write!(
            title,
            ", │ even TPD pace {}/{}",
            pretty_tokens(pace),
            &per[..1]
        );
    }
    section(out, ctx, &title);
    let daily = t.bucket_seconds >= 86_400;
    let label = |b: &Bucket| {
        if daily {
            ctx.clock(b.start, "%Y-%m-%d")
        } else {
            ctx.time_of_day(b.start)
        }
    };
    out.push_str(&chart::render(t, ctx.width, &ctx.style, &label));
}

fn peaks(out: &mut String, report: &Report, ctx: &Context<'_>) {
    let p = &report.peaks;
    if p.tpm_minute.is_none() && p.in_flight.is_none() {
        return;
    }
    section(out, ctx, "Peaks");
    if let Some(m) = &p.tpm_minute {
        let share = ctx
            .quotas
            .tpm
            .map(|tpm| format!(" ({} of TPM)", percent(m.quota_tokens, tpm)))
            .unwrap_or_default();
        let line = format!(
            "busiest minute   {}  {} settled by {}{share}",
            ctx.time_of_day(m.start),
            pretty_tokens(m.quota_tokens),
            count(m.requests, "request", "requests")
        );
        let _ = writeln!(
            out,
            "  {}",
            terminal::fit(&line, ctx.width.saturating_sub(2))
        );
    }
    if let Some(f) = &p.in_flight {
        let line = format!(
            "most in flight   {} at {}, holding {}",
            count(f.requests, "request", "requests"),
            ctx.clock(f.at, "%H:%M:%S"),
            pretty_tokens(f.reserved_tokens)
        );
        let _ = writeln!(
            out,
            "  {}",
            terminal::fit(&line, ctx.width.saturating_sub(2))
        );
    }
    if let Some(f) = &p.reserved_in_flight
        && Some(f) != p.in_flight.as_ref()
    {
        let line = format!(
            "most held        {} at {} by {}",
            pretty_tokens(f.reserved_tokens),
            ctx.clock(f.at, "%H:%M:%S"),
            count(f.requests, "request", "requests")
        );
        let _ = writeln!(
            out,
            "  {}",
            terminal::fit(&line, ctx.width.saturating_sub(2))
        );
    }
}

fn throttles(out: &mut String, report: &Report, ctx: &Context<'_>) {
    if report.throttles.is_empty() {
        return;
    }
    section(
        out,
        ctx,
        "Throttles (with what bedrock-hook estimated at the time)",
    );
    let columns = [
        Column::text("time"),
        Column::flexible("model"),
        Column::text("limit"),
        Column::number("day used"),
        Column::number("of TPD"),
        Column::number("minute used").optional(),
        Column::number("of TPM").optional(),
        Column::number("req/min").optional(),
    ];
    let rows = throttle_rows(report, |at| ctx.clock(at, "%H:%M:%S"));
    out.push_str(&table::render(&columns, &rows, ctx.width, &ctx.style));
}

fn side(out: &mut String, report: &Report, ctx: &Context<'_>) {
    if report.side.records == 0 {
        return;
    }
    section(
        out,
        ctx,
        "Side requests (only in session totals: titles, classifiers, probes)",
    );
    let columns = [
        Column::flexible("model"),
        Column::number("records"),
        Column::number("input"),
        Column::number("cache wr").optional(),
        Column::number("output"),
        Column::number("settled"),
    ];
    let rows = side_rows(report);
    out.push_str(&table::render(&columns, &rows, ctx.width, &ctx.style));
}

fn spread(s: &Spread) -> [String; 3] {
    [
        pretty_tokens(s.p50),
        pretty_tokens(s.p99),
        pretty_tokens(s.max),
    ]
}

fn output_advice(out: &mut String, report: &Report, ctx: &Context<'_>) {
    let o = &report.output;
    if o.requests == 0 {
        return;
    }
    section(
        out,
        ctx,
        &format!(
            "Output tokens vs max_tokens ({})",
            count(o.requests, "answered request", "answered requests")
        ),
    );
    let columns = [
        Column::flexible("model"),
        Column::number("requests"),
        Column::number("out p50").optional(),
        Column::number("out p99"),
        Column::number("out max"),
        Column::number("asked p50").optional(),
        Column::number("asked max"),
        Column::number("suggest"),
    ];
    let mut rows = advice_rows(o);
    if o.models.len() > 1 {
        rows.push(advice_row(
            "all models",
            o.requests,
            &o.output_tokens,
            &o.max_tokens,
            o.suggested_max_tokens.map(thousands).unwrap_or_default(),
        ));
    }
    out.push_str(&table::render(&columns, &rows, ctx.width, &ctx.style));
    for note in advice_notes(o) {
        out.push_str(&wrap(
            &ctx.style.paint(terminal::YELLOW, &note),
            ctx.width,
            "  ",
        ));
    }
    let Some(suggested) = o.suggested_max_tokens else {
        return;
    };
    let advice = suggestion(
        o,
        suggested,
        report.totals.reserved_tokens,
        ctx.floor,
        |mark, text| {
            let colour = match mark {
                Mark::Suggested => terminal::BOLD,
                Mark::Saving => terminal::GREEN,
                Mark::Setting => terminal::CYAN,
            };
            ctx.style.paint(colour, text)
        },
    );
    out.push('\n');
    out.push_str(&wrap(&advice, ctx.width, "  "));
}

/// The max_tokens table's rows of each model, shared by the terminal and the HTML report.
pub(super) fn advice_rows(o: &OutputAdvice) -> Vec<Vec<String>> {
    o.models
        .iter()
        .map(|m| {
            advice_row(
                &m.model,
                m.requests,
                &m.output_tokens,
                &m.max_tokens,
                thousands(m.suggested_max_tokens),
            )
        })
        .collect()
}

/// One row of the max_tokens table: model, requests, output p50/p99/max, asked p50/max,
/// suggestion.
fn advice_row(
    model: &str,
    requests: u64,
    output: &Spread,
    asked: &Spread,
    suggest: String,
) -> Vec<String> {
    let [o50, o99, omax] = spread(output);
    let [m50, _, mmax] = spread(asked);
    vec![
        model.to_string(),
        thousands(requests),
        o50,
        o99,
        omax,
        m50,
        mmax,
        suggest,
    ]
}

/// What the max_tokens advice could not see: assumed max_tokens, requests cut short.
/// Shared by the terminal and the HTML report.
pub(super) fn advice_notes(o: &OutputAdvice) -> Vec<String> {
    let mut notes = Vec::new();
    if o.assumed_max_tokens > 0 {
        notes.push(format!(
            "{} without an api-request entry: their max_tokens is assumed.",
            count(o.assumed_max_tokens, "request", "requests")
        ));
    }
    if o.at_limit > 0 {
        notes.push(format!(
            "{} at their max_tokens: cut short, their real need is unknown.",
            count(o.at_limit, "request stopped", "requests stopped")
        ));
    }
    notes
}

/// The figures of the max_tokens suggestion that each report shows in its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mark {
    /// The suggested max_tokens.
    Suggested,
    /// The reserved tokens it saves.
    Saving,
    /// The setting that applies it.
    Setting,
}

/// The max_tokens suggestion as one paragraph, `mark` dressing its figures: the terminal
/// colours them, the HTML report wraps them in tags. `reserved` is what the requests
/// reserved; `floor` the reservation floor.
pub(super) fn suggestion(
    o: &OutputAdvice,
    suggested: u64,
    reserved: u64,
    floor: u64,
    mark: impl Fn(Mark, &str) -> String,
) -> String {
    let mut advice = format!(
        "max_tokens {} covers every output seen (largest {} + {}% headroom{}).",
        mark(Mark::Suggested, &thousands(suggested)),
        thousands(o.output_tokens.max),
        o.headroom_percent,
        if suggested == floor && floor > 0 {
            format!(", raised to the {} reservation floor", thousands(floor))
        } else {
            String::new()
        }
    );
    if o.reserved_savings_tokens == 0 {
        advice.push_str(" Requests already asked for no more than that: nothing to save.");
    } else {
        let _ = write!(
            advice,
            " With it, {} would have been reserved instead of {} ({} less, −{}). \
             Claude Code takes it from {}.",
            pretty_tokens(o.counterfactual_reserved_tokens),
            pretty_tokens(reserved),
            mark(Mark::Saving, &pretty_tokens(o.reserved_savings_tokens)),
            percent(o.reserved_savings_tokens, reserved),
            mark(
                Mark::Setting,
                &format!("CLAUDE_CODE_MAX_OUTPUT_TOKENS={suggested}")
            )
        );
    }
    advice
}

/// The throttle table's cells (time, model, limit, what was estimated against each quota),
/// shared by the terminal and the HTML report.
pub(super) fn throttle_rows(
    report: &Report,
    time: impl Fn(DateTime<Utc>) -> String,
) -> Vec<Vec<String>> {
    let share = |used: Option<u64>, quota: Option<u64>| match (used, quota) {
        (Some(u), Some(q)) => percent(u, q),
        _ => "-".to_string(),
    };
    let opt = |n: Option<u64>| n.map(pretty_tokens).unwrap_or_else(|| "-".to_string());
    report
        .throttles
        .iter()
        .map(|t| {
            vec![
                time(t.ts),
                t.model.clone(),
                t.limit.clone(),
                opt(t.day_used),
                share(t.day_used, t.tpd),
                opt(t.minute_used),
                share(t.minute_used, t.tpm),
                t.minute_requests
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "-".to_string()),
            ]
        })
        .collect()
}

/// The side-request table's cells (model, records, tokens, settled), shared by the
/// terminal and the HTML report.
pub(super) fn side_rows(report: &Report) -> Vec<Vec<String>> {
    report
        .side
        .models
        .iter()
        .map(|m| {
            vec![
                m.model.clone(),
                thousands(m.records),
                pretty_tokens(m.input_tokens),
                pretty_tokens(m.cache_write_tokens),
                pretty_tokens(m.output_tokens),
                pretty_tokens(m.quota_tokens),
            ]
        })
        .collect()
}
