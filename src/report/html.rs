//! `report --html`: the same report as one self-contained HTML page to open in a browser
//! or attach to a ticket. Nothing is loaded from anywhere: the CSS is inline, the charts
//! are inline SVG (see [`super::svg`]), there is no script, and a Content-Security-Policy
//! forbids the browser to fetch anything should a later edit try.
//!
//! The charts carry their numbers as `data-*` attributes (`data-start`, `data-minute`,
//! `data-settled`, `data-reserved`, ...) with the same values as `report --json`, so a
//! test (or a script) can read them back. Times are shown on the clock of the TPD day
//! boundary, like the terminal report.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Deserialize;

use super::Shown;
use super::aggregate::{Params, Report, Timeline, Totals, aggregate};
use super::range::Selection;
use super::svg::{Frame, Scale, Svg, escape};
use super::text::Mark;
use crate::ledger::Record;
use crate::quota::DayBoundary;
use crate::terminal::pretty_tokens;
use crate::terminal::{count, percent, thousands};

/// What the page needs besides the report.
pub struct Context<'a> {
    pub shown: Shown<'a>,
    /// When the page was made (shown in the footer).
    pub generated: DateTime<Utc>,
    /// Account-wide use next to this machine's, when account data exists.
    pub account: Option<&'a Account>,
}

impl<'a> std::ops::Deref for Context<'a> {
    type Target = Shown<'a>;
    fn deref(&self) -> &Shown<'a> {
        &self.shown
    }
}

/// Account-wide use (CloudWatch) next to what this machine recorded, per timeline bucket.
/// The page draws it when `report --json` has an `account` section of this shape
/// (`{"source": ..., "buckets": [{"start", "account_tokens", "own_tokens"}]}`); without
/// one, the section is left out.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Account {
    /// Where the numbers come from, e.g. `CloudWatch, fetched 14:02`.
    #[serde(default)]
    pub source: String,
    pub buckets: Vec<AccountBucket>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AccountBucket {
    pub start: DateTime<Utc>,
    /// Quota tokens the whole account used in the bucket.
    pub account_tokens: u64,
    /// Of those, this machine's.
    pub own_tokens: u64,
}

impl Account {
    /// The `account` section of a `report --json` document, if it has one.
    pub fn from_json(document: &serde_json::Value) -> Option<Account> {
        serde_json::from_value(document.get("account")?.clone()).ok()
    }
}

/// Finer series than the report holds: per minute (for TPM) and per model.
pub struct Series {
    /// Per-minute buckets over the timeline, for spans up to two days.
    pub minutes: Option<Timeline>,
    /// The report's timeline, one per model (same order as `report.models`).
    pub models: Vec<(String, Timeline)>,
}

/// Longest span drawn per minute.
const MINUTES_UP_TO: i64 = 48 * 3600;

/// Compute the per-minute and per-model series with the same aggregation as the report.
pub fn series(records: &[Record], params: &Params, report: &Report) -> Series {
    let span = (params.timeline_end - params.timeline_start).num_seconds();
    let minutes = (span > 0 && span <= MINUTES_UP_TO).then(|| {
        let per_minute = Params {
            bucket_secs: 60,
            ..params.clone()
        };
        aggregate(records, &per_minute).timeline
    });
    let models = report
        .models
        .iter()
        .map(|m| {
            let own: Vec<Record> = records
                .iter()
                .filter(|r| r.model_norm == m.model)
                .cloned()
                .collect();
            (m.model.clone(), aggregate(&own, params).timeline)
        })
        .collect();
    Series { minutes, models }
}

const WIDTH: f64 = 1040.0;
const MODEL_CLASSES: usize = 6;

pub fn render(report: &Report, series: &Series, ctx: &Context<'_>) -> String {
    let mut out = String::new();
    let title = format!("Bedrock quota report · {}", ctx.selection.label);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"generator\" content=\"bedrock-hook {}\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n",
        env!("CARGO_PKG_VERSION"),
        escape(&title)
    );
    header(&mut out, &title, ctx);
    if report.totals == Totals::default() {
        out.push_str("<p class=\"empty\">Nothing recorded in this range.");
        if ctx.selection.session.is_none() {
            out.push_str(
                " Import what Claude Code already wrote with <code>bedrock-hook import</code>.",
            );
        }
        out.push_str("</p>\n");
    } else {
        cards(&mut out, report, ctx);
        reserved_chart(&mut out, report, ctx);
        settled_chart(&mut out, report, series, ctx);
        minute_chart(&mut out, report, series, ctx);
        cumulative_chart(&mut out, report, ctx);
        if let Some(account) = ctx.account {
            account_chart(&mut out, account, ctx);
        }
        throttles(&mut out, report, ctx);
        advice(&mut out, report, ctx);
        models(&mut out, report);
        sessions(&mut out, report, ctx);
        side(&mut out, report);
    }
    let _ = write!(
        out,
        "<footer>Made by bedrock-hook {} at {} ({}). Times on the TPD day clock ({}). \
         Settled = input + cache write + output × burndown; reserved = what each request \
         held against the quota while it ran.</footer>\n</main>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION"),
        escape(&ctx.clock(ctx.generated, "%Y-%m-%d %H:%M")),
        escape(&ctx.boundary.describe()),
        escape(&ctx.boundary.describe()),
    );
    out
}

const CSS: &str = "\
:root{color-scheme:light;--reserved:#c5d5ea;--settled:#2f6fb3;--pace:#d99a00;--throttle:#d62828;--muted:#667}\
*{box-sizing:border-box}\
body{margin:0;background:#f6f7f9;color:#1d232b;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}\
main{max-width:1100px;margin:0 auto;padding:24px 28px 40px}\
h1{font-size:22px;margin:0 0 4px}\
h2{font-size:16px;margin:0 0 2px}\
p.meta,p.note,footer{color:var(--muted);margin:0 0 8px}\
section{background:#fff;border:1px solid #e1e4e8;border-radius:8px;padding:14px 16px;margin:14px 0}\
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(136px,1fr));gap:10px;background:none;border:0;padding:0}\
.card{background:#fff;border:1px solid #e1e4e8;border-radius:8px;padding:10px 12px}\
.card b{display:block;font-size:20px}\
.card span{color:var(--muted);font-size:12px}\
.card.bad b{color:var(--throttle)}\
svg{display:block;max-width:100%;height:auto;margin-top:6px}\
svg text{font:11px system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;fill:#556}\
svg text.label{fill:#1d232b;font-weight:600}\
.grid{stroke:#eceef1;stroke-width:1}\
.base{stroke:#99a;stroke-width:1}\
.reserved{fill:var(--reserved)}\
.settled{fill:var(--settled)}\
.pace{stroke:var(--pace);stroke-width:2;stroke-dasharray:6 4;fill:none}\
.limit{stroke:var(--throttle);stroke-width:1.5;stroke-dasharray:4 3;fill:none}\
.cumulative{stroke:var(--settled);stroke-width:2.5;fill:none}\
.peak{stroke:#556;stroke-width:1;stroke-dasharray:2 3}.spread{stroke:#1d232b;stroke-width:1.5}.suggested{stroke:var(--pace);stroke-width:3}\
.throttle{fill:var(--throttle)}\
.account{fill:#9aa5b1}\
.m0{fill:#2f6fb3}.m1{fill:#e07b39}.m2{fill:#3a9e6f}.m3{fill:#8e5bb5}.m4{fill:#c2417a}.m5{fill:#7a8a2e}\
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;margin:6px 0 0;padding:0;list-style:none;color:#445;font-size:12px}\
.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;vertical-align:-2px}\
i.reserved{background:var(--reserved)}i.settled{background:var(--settled)}i.throttle{background:var(--throttle)}\
i.pace{background:var(--pace)}i.limit{background:repeating-linear-gradient(90deg,var(--throttle) 0 4px,transparent 4px 6px);height:3px;vertical-align:3px}i.account{background:#9aa5b1}\
i.m0{background:#2f6fb3}i.m1{background:#e07b39}i.m2{background:#3a9e6f}i.m3{background:#8e5bb5}i.m4{background:#c2417a}i.m5{background:#7a8a2e}\
table{border-collapse:collapse;width:100%;margin-top:6px;font-size:13px}\
th,td{padding:4px 8px;border-bottom:1px solid #eef0f2;text-align:left;white-space:nowrap}\
th{color:var(--muted);font-weight:600}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\
td.wrap{white-space:normal;word-break:break-all}\
code{background:#eef2f7;padding:1px 5px;border-radius:4px;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}\
.advice{font-size:15px}\
.empty{font-size:16px}";

/// The same instant format as `report --json`.
fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn header(out: &mut String, title: &str, ctx: &Context<'_>) {
    let _ = writeln!(out, "<h1>{}</h1>", escape(title));
    let mut meta = Vec::new();
    if ctx.single_day() {
        meta.push(format!(
            "TPD day from {} {}",
            ctx.clock(ctx.selection.start, "%H:%M"),
            ctx.boundary.describe()
        ));
    }
    if let Some(session) = &ctx.selection.session {
        meta.push(format!("session {session}"));
    }
    let quotas = super::text::quota_list(ctx.quotas, ctx.tpd_all_models);
    if quotas.is_empty() {
        meta.push(super::text::NO_QUOTA.to_string());
    } else {
        meta.push(format!("Quotas: {}", quotas.join(" · ")));
    }
    if ctx.skipped_lines > 0 {
        meta.push(super::text::skipped_lines(ctx.skipped_lines));
    }
    let _ = writeln!(out, "<p class=\"meta\">{}</p>", escape(&meta.join(" · ")));
}

fn card(out: &mut String, class: &str, name: &str, value: &str, note: &str) {
    let _ = writeln!(
        out,
        "<div class=\"card {}\"><span>{}</span><b>{}</b><span>{}</span></div>",
        class,
        escape(name),
        escape(value),
        escape(note)
    );
}

fn cards(out: &mut String, report: &Report, ctx: &Context<'_>) {
    let t = &report.totals;
    let _ = writeln!(
        out,
        "<section class=\"cards\" id=\"totals\" data-requests=\"{}\" data-settled=\"{}\" \
         data-reserved=\"{}\" data-throttles=\"{}\">",
        t.requests, t.quota_tokens, t.reserved_tokens, t.throttles
    );
    let settled_note = match ctx.quotas.tpd {
        Some(tpd) if ctx.single_day() => format!(
            "{} of TPD {}",
            percent(t.quota_tokens, tpd),
            pretty_tokens(tpd)
        ),
        _ => "input + cache write + output × burndown".to_string(),
    };
    card(
        out,
        "",
        "settled",
        &pretty_tokens(t.quota_tokens),
        &settled_note,
    );
    let ratio = super::text::reserved_ratio(t);
    card(
        out,
        "",
        "reserved",
        &pretty_tokens(t.reserved_tokens),
        &ratio,
    );
    let mut notes = Vec::new();
    if report.unanswered > 0 {
        notes.push(format!("{} unanswered", thousands(report.unanswered)));
    }
    notes.push(count(report.sessions.count, "session", "sessions"));
    card(
        out,
        "",
        "requests",
        &thousands(t.requests),
        &notes.join(", "),
    );
    card(
        out,
        if t.throttles > 0 { "bad" } else { "" },
        "throttles",
        &thousands(t.throttles),
        &report
            .throttles
            .first()
            .map(|t| format!("first at {} ({})", ctx.time_of_day(t.ts), t.limit))
            .unwrap_or_default(),
    );
    if let Some(m) = &report.peaks.tpm_minute {
        let share = ctx
            .quotas
            .tpm
            .map(|tpm| format!(", {} of TPM", percent(m.quota_tokens, tpm)))
            .unwrap_or_default();
        card(
            out,
            "",
            "busiest minute",
            &pretty_tokens(m.quota_tokens),
            &format!(
                "at {} by {}{share}",
                ctx.time_of_day(m.start),
                count(m.requests, "request", "requests")
            ),
        );
    }
    if let Some(f) = &report.peaks.in_flight {
        card(
            out,
            "",
            "most in flight",
            &thousands(f.requests),
            &format!(
                "{} at {}, holding {}",
                if f.requests == 1 {
                    "request"
                } else {
                    "requests"
                },
                ctx.clock(f.at, "%H:%M:%S"),
                pretty_tokens(f.reserved_tokens)
            ),
        );
    }
    if let Some(f) = &report.peaks.reserved_in_flight
        && Some(f) != report.peaks.in_flight.as_ref()
    {
        card(
            out,
            "",
            "most held",
            &pretty_tokens(f.reserved_tokens),
            &format!(
                "at {} by {}",
                ctx.clock(f.at, "%H:%M:%S"),
                count(f.requests, "request", "requests")
            ),
        );
    }
    out.push_str("</section>\n");
}

fn per(timeline: &Timeline) -> &'static str {
    match timeline.bucket_seconds {
        60 => "minute",
        3600 => "hour",
        _ => "day",
    }
}

/// The x axis of a bucketed chart: bucket `i` of `n` starts at `x(i)`.
struct Buckets {
    frame: Frame,
    start: DateTime<Utc>,
    width_secs: i64,
    n: usize,
}

impl Buckets {
    /// One bar per bucket of the report's timeline.
    fn timeline(frame: Frame, t: &Timeline) -> Buckets {
        Buckets {
            frame,
            start: t.buckets[0].start,
            width_secs: t.bucket_seconds,
            n: t.buckets.len(),
        }
    }

    fn bar_width(&self) -> f64 {
        self.frame.plot_width() / self.n.max(1) as f64
    }

    fn x(&self, i: usize) -> f64 {
        self.frame.left + i as f64 * self.bar_width()
    }

    /// The x of an instant (clamped to the plot).
    fn at(&self, at: DateTime<Utc>) -> f64 {
        let span = (self.width_secs * self.n.max(1) as i64) as f64;
        let into = (at - self.start).num_milliseconds() as f64 / 1000.0;
        self.frame.left + (into / span).clamp(0.0, 1.0) * self.frame.plot_width()
    }

    /// Labels under the bars, spaced so they do not overlap.
    fn x_axis(&self, svg: &mut Svg, label: &dyn Fn(DateTime<Utc>) -> String) {
        let base = self.frame.top + self.frame.plot_height();
        svg.line(
            self.frame.left,
            base,
            self.frame.width - self.frame.right,
            base,
            "base",
        );
        let sample = label(self.start);
        let needed = sample.chars().count() as f64 * 6.5 + 14.0;
        let every = (needed / self.bar_width()).ceil().max(1.0) as usize;
        let every = nice_every(every, self.width_secs);
        for i in (0..self.n).step_by(every) {
            let at = self.start + Duration::seconds(i as i64 * self.width_secs);
            svg.text(self.x(i), base + 15.0, "start", "axis", &label(at));
        }
    }
}

/// Label every 1, 2, 3, 4, 6, 12 hours (or 5, 10, 15, 30, 60 minutes) rather than 7.
fn nice_every(every: usize, width_secs: i64) -> usize {
    let steps: &[usize] = if width_secs == 60 {
        &[1, 2, 5, 10, 15, 30, 60, 120, 180, 240, 360, 720]
    } else {
        &[1, 2, 3, 4, 6, 12, 24, 48, 168]
    };
    steps.iter().copied().find(|s| *s >= every).unwrap_or(every)
}

fn chart_section(out: &mut String, id: &str, title: &str, note: &str) {
    let _ = write!(
        out,
        "<section id=\"{}\">\n<h2>{}</h2>\n",
        escape(id),
        escape(title)
    );
    if !note.is_empty() {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(note));
    }
}

fn legend(out: &mut String, items: &[(&str, String)]) {
    out.push_str("<ul class=\"legend\">");
    for (class, name) in items {
        let _ = write!(out, "<li><i class=\"{class}\"></i>{}</li>", escape(name));
    }
    out.push_str("</ul>\n");
}

fn throttle_tooltip(ctx: &Context<'_>, t: &super::aggregate::ThrottleRow) -> String {
    let mut text = format!(
        "throttle at {} · {} · {}",
        ctx.clock(t.ts, "%H:%M:%S"),
        t.limit,
        t.model
    );
    if let Some(used) = t.day_used {
        let _ = write!(text, " · day used {}", pretty_tokens(used));
        if let Some(tpd) = t.tpd {
            let _ = write!(
                text,
                " ({} of TPD {})",
                percent(used, tpd),
                pretty_tokens(tpd)
            );
        }
    }
    if let Some(used) = t.minute_used {
        let _ = write!(text, " · minute used {}", pretty_tokens(used));
        if let Some(tpm) = t.tpm {
            let _ = write!(text, " ({} of TPM)", percent(used, tpm));
        }
    }
    text
}

/// Throttle triangles along the top of a bucketed chart.
fn throttle_markers(svg: &mut Svg, axis: &Buckets, report: &Report, ctx: &Context<'_>) {
    throttle_markers_at(svg, &axis.frame, report, ctx, &|at| Some(axis.at(at)));
}

/// Throttle triangles where `x_of` places them (`None`: not on this chart).
fn throttle_markers_at(
    svg: &mut Svg,
    frame: &Frame,
    report: &Report,
    ctx: &Context<'_>,
    x_of: &dyn Fn(DateTime<Utc>) -> Option<f64>,
) {
    for t in &report.throttles {
        let Some(x) = x_of(t.ts) else {
            continue;
        };
        svg.line(x, frame.top, x, frame.top + frame.plot_height(), "limit");
        svg.marker(
            x,
            frame.top,
            "throttle",
            &[
                ("data-throttle", iso(t.ts)),
                ("data-limit", t.limit.clone()),
            ],
            &throttle_tooltip(ctx, t),
        );
    }
}

/// Reserved (light) with settled (solid) inside, per bucket, on one scale: how much
/// more the requests held than they used.
fn reserved_chart(out: &mut String, report: &Report, ctx: &Context<'_>) {
    let t = &report.timeline;
    if t.buckets.is_empty() {
        return;
    }
    let per = per(t);
    chart_section(
        out,
        "reserved",
        &format!("Reserved and settled per {per}"),
        "What requests held against the quota while they ran (light) and what they used \
         in the end (solid), by request start. Red marks: throttles.",
    );
    let frame = Frame::new(WIDTH, 240.0);
    let axis = Buckets::timeline(frame, t);
    let scale = nested_scale(
        t.buckets
            .iter()
            .map(|b| [b.reserved_tokens, b.quota_tokens]),
    );
    let mut svg = chart_svg(
        &frame,
        &scale,
        &format!("reserved and settled tokens per {per}"),
    );
    for (i, b) in t.buckets.iter().enumerate() {
        let when = ctx.time_of_day(b.start);
        let tooltip = open_reserve_group(&mut svg, "bucket", "data-start", b, when);
        let bars = [(b.reserved_tokens, "reserved"), (b.quota_tokens, "settled")];
        nested_bars(&mut svg, &axis, &scale, i, bars, &tooltip);
        svg.close_group();
    }
    if let Some(f) = &report.peaks.in_flight {
        let x = axis.at(f.at);
        svg.line(x, frame.top, x, frame.top + frame.plot_height(), "peak");
        // The label goes to the side with room.
        let (lx, anchor) = if x > frame.left + frame.plot_width() * 0.6 {
            (x - 4.0, "end")
        } else {
            (x + 4.0, "start")
        };
        svg.text(
            lx,
            frame.top + 10.0,
            anchor,
            "label",
            &format!(
                "most in flight: {} holding {}",
                count(f.requests, "request", "requests"),
                pretty_tokens(f.reserved_tokens)
            ),
        );
    }
    throttle_markers(&mut svg, &axis, report, ctx);
    axis.x_axis(&mut svg, &|at| bucket_label(ctx, t, at));
    end_chart(out, svg, &reserve_legend());
}

/// A bar's height; at least one pixel when the value is not zero.
fn bar_height(scale: &Scale, value: u64, height: f64) -> f64 {
    if value == 0 {
        0.0
    } else {
        scale.px(value, height).max(1.0)
    }
}

/// A chart's drawing with its y axis on `scale`.
fn chart_svg(frame: &Frame, scale: &Scale, title: &str) -> Svg {
    let mut svg = Svg::new(frame.width, frame.height, "chart", title);
    frame.y_axis(&mut svg, scale);
    svg
}

/// The drawing, its legend, and the end of the chart's section.
fn end_chart(out: &mut String, svg: Svg, items: &[(&str, String)]) {
    out.push_str(&svg.finish());
    legend(out, items);
    out.push_str("</section>\n");
}

/// The legend of the charts of reservations against settled use.
fn reserve_legend() -> Vec<(&'static str, String)> {
    vec![
        ("reserved", "reserved".to_string()),
        ("settled", "settled".to_string()),
        ("throttle", "throttle".to_string()),
    ]
}

/// Opens the group of one bucket of reservations against settled use (its numbers as
/// `data-` attributes, the start under `start_key`) and gives the tooltip of its bars.
fn open_reserve_group(
    svg: &mut Svg,
    class: &str,
    start_key: &'static str,
    b: &super::aggregate::Bucket,
    when: String,
) -> String {
    svg.open_group(
        class,
        &[
            (start_key, iso(b.start)),
            ("data-requests", b.requests.to_string()),
            ("data-reserved", b.reserved_tokens.to_string()),
            ("data-settled", b.quota_tokens.to_string()),
            ("data-throttles", b.throttles.to_string()),
        ],
    );
    format!(
        "{when} · reserved {} · settled {} · {}",
        pretty_tokens(b.reserved_tokens),
        pretty_tokens(b.quota_tokens),
        count(b.requests, "request", "requests")
    )
}

/// The scale of a chart of [`nested_bars`]: up to the largest bar.
fn nested_scale(pairs: impl Iterator<Item = [u64; 2]>) -> Scale {
    Scale::new(pairs.map(|[a, b]| a.max(b)).max().unwrap_or(0))
}

/// Bucket `i`'s pair of bars on one scale, each a (value, class): the outer the width of
/// the bucket less a gap, the inner the middle 60% of it, in front. A zero value draws no
/// bar.
fn nested_bars(
    svg: &mut Svg,
    axis: &Buckets,
    scale: &Scale,
    i: usize,
    [outer, inner]: [(u64, &str); 2],
    tooltip: &str,
) {
    let frame = &axis.frame;
    let bw = axis.bar_width();
    let gap = (bw * 0.15).min(4.0);
    let x = axis.x(i) + gap / 2.0;
    let w = bw - gap;
    let base = frame.top + frame.plot_height();
    let h_outer = bar_height(scale, outer.0, frame.plot_height());
    let h_inner = bar_height(scale, inner.0, frame.plot_height());
    if h_outer > 0.0 {
        svg.rect_titled(x, base - h_outer, w, h_outer, outer.1, &[], tooltip);
    }
    if h_inner > 0.0 {
        svg.rect_titled(
            x + w * 0.2,
            base - h_inner,
            w * 0.6,
            h_inner,
            inner.1,
            &[],
            tooltip,
        );
    }
}

/// A level across the plot (a pace or a limit) labelled at its right end.
fn level_line(svg: &mut Svg, frame: &Frame, scale: &Scale, value: u64, class: &str, label: &str) {
    let y = frame.y(scale, value);
    svg.line(frame.left, y, frame.width - frame.right, y, class);
    svg.text(frame.width - frame.right, y - 4.0, "end", "label", label);
}

fn bucket_label(ctx: &Context<'_>, t: &Timeline, at: DateTime<Utc>) -> String {
    if t.bucket_seconds >= 86_400 {
        ctx.clock(at, "%m-%d")
    } else {
        ctx.time_of_day(at)
    }
}

/// Settled per bucket stacked by model, against the even TPD pace.
fn settled_chart(out: &mut String, report: &Report, series: &Series, ctx: &Context<'_>) {
    let t = &report.timeline;
    if t.buckets.is_empty() {
        return;
    }
    let per = per(t);
    let pace = t.tpd_pace_per_bucket;
    let note = match pace {
        Some(p) => format!(
            "Settled quota tokens per {per} by model; the dashed line is an even spend of TPD \
             over the day ({} per {per}).",
            pretty_tokens(p)
        ),
        None => format!("Settled quota tokens per {per} by model. Set `tpd` to see the pace."),
    };
    chart_section(
        out,
        "settled",
        &format!("Settled per {per}, by model"),
        &note,
    );
    let frame = Frame::new(WIDTH, 240.0);
    let axis = Buckets::timeline(frame, t);
    let largest = t
        .buckets
        .iter()
        .map(|b| b.quota_tokens)
        .chain(pace)
        .max()
        .unwrap_or(0);
    let scale = Scale::new(largest);
    let mut svg = chart_svg(
        &frame,
        &scale,
        &format!("settled tokens per {per} by model"),
    );
    let bw = axis.bar_width();
    let gap = (bw * 0.15).min(4.0);
    for (i, bucket) in t.buckets.iter().enumerate() {
        let mut below = 0u64;
        for (m, (model, timeline)) in series.models.iter().enumerate() {
            let Some(b) = timeline.buckets.get(i) else {
                continue;
            };
            if b.quota_tokens == 0 {
                continue;
            }
            let y0 = frame.y(&scale, below);
            below += b.quota_tokens;
            let y1 = frame.y(&scale, below).min(y0 - 1.0);
            svg.rect_titled(
                axis.x(i) + gap / 2.0,
                y1,
                bw - gap,
                y0 - y1,
                &format!("m{}", m % MODEL_CLASSES),
                &[
                    ("data-start", iso(bucket.start)),
                    ("data-model", model.clone()),
                    ("data-settled", b.quota_tokens.to_string()),
                ],
                &format!(
                    "{} · {model} · settled {}",
                    ctx.time_of_day(bucket.start),
                    pretty_tokens(b.quota_tokens)
                ),
            );
        }
    }
    if let Some(p) = pace {
        let label = format!("even TPD pace {}/{}", pretty_tokens(p), &per[..1]);
        level_line(&mut svg, &frame, &scale, p, "pace", &label);
    }
    throttle_markers(&mut svg, &axis, report, ctx);
    axis.x_axis(&mut svg, &|at| bucket_label(ctx, t, at));
    let mut items: Vec<(&str, String)> = series
        .models
        .iter()
        .enumerate()
        .map(|(m, (model, _))| (MODEL_CLASS_NAMES[m % MODEL_CLASSES], model.clone()))
        .collect();
    if pace.is_some() {
        items.push(("pace", "even TPD pace".to_string()));
    }
    end_chart(out, svg, &items);
}

const MODEL_CLASS_NAMES: [&str; MODEL_CLASSES] = ["m0", "m1", "m2", "m3", "m4", "m5"];

/// Minutes with nothing in them for longer than this are cut out of the per-minute chart.
const IDLE_CUT_MINUTES: usize = 20;
/// Quiet minutes kept on each side of a busy stretch.
const PAD_MINUTES: usize = 3;
/// Width of the break drawn where idle minutes were cut, in minutes.
const BREAK_SLOTS: usize = 4;

/// The busy stretches of a per-minute timeline as slots on the x axis: `Some(minute
/// index)` or `None` for a break where idle minutes were cut.
fn minute_slots(buckets: &[super::aggregate::Bucket]) -> Vec<Option<usize>> {
    let active: Vec<usize> = buckets
        .iter()
        .enumerate()
        .filter(|(_, b)| minute_active(b))
        .map(|(i, _)| i)
        .collect();
    let mut stretches: Vec<(usize, usize)> = Vec::new();
    for i in active {
        let from = i.saturating_sub(PAD_MINUTES);
        let to = (i + PAD_MINUTES).min(buckets.len() - 1);
        match stretches.last_mut() {
            Some((_, end)) if from <= *end + IDLE_CUT_MINUTES => *end = to,
            _ => stretches.push((from, to)),
        }
    }
    let mut slots = Vec::new();
    for (k, (from, to)) in stretches.into_iter().enumerate() {
        if k > 0 {
            slots.extend(std::iter::repeat_n(None, BREAK_SLOTS));
        }
        slots.extend((from..=to).map(Some));
    }
    slots
}

fn minute_active(b: &super::aggregate::Bucket) -> bool {
    b.requests > 0 || b.reserved_tokens > 0 || b.quota_tokens > 0 || b.throttles > 0
}

/// Per minute over the busy stretches: reserved at request start and settled, against
/// TPM. Idle stretches are cut out and marked with a break.
fn minute_chart(out: &mut String, report: &Report, series: &Series, ctx: &Context<'_>) {
    let Some(minutes) = &series.minutes else {
        return;
    };
    let slots = minute_slots(&minutes.buckets);
    if slots.is_empty() {
        return;
    }
    let tpm = ctx.quotas.tpm;
    let mut note = format!(
        "Reservations (light) and settled use (solid) per minute, by request start. \
         Stretches without requests for over {IDLE_CUT_MINUTES} minutes are cut out (⋯)."
    );
    match tpm {
        Some(tpm) => {
            let _ = write!(note, " The red dashed line is TPM {}.", pretty_tokens(tpm));
        }
        None => note.push_str(" Set `tpm` to see the limit."),
    }
    chart_section(out, "minutes", "Per minute, against TPM", &note);
    let frame = Frame::new(WIDTH, 220.0);
    let axis = Buckets {
        frame,
        start: minutes.buckets[0].start,
        width_secs: 60,
        n: slots.len(),
    };
    let bucket = |slot: &Option<usize>| slot.map(|i| &minutes.buckets[i]);
    let largest = slots
        .iter()
        .filter_map(bucket)
        .map(|b| b.reserved_tokens.max(b.quota_tokens))
        .chain(tpm)
        .max()
        .unwrap_or(0);
    let scale = Scale::new(largest);
    let mut svg = chart_svg(&frame, &scale, "reserved and settled tokens per minute");
    let bw = axis.bar_width();
    let bar_w = (bw * 0.8).max(1.0);
    let base = frame.top + frame.plot_height();
    for (pos, slot) in slots.iter().enumerate() {
        let Some(b) = bucket(slot) else {
            if pos > 0 && slots[pos - 1].is_some() {
                let x = axis.x(pos) + bw * BREAK_SLOTS as f64 / 2.0;
                svg.line(x, frame.top, x, base, "peak");
                svg.text(x, base + 15.0, "middle", "axis", "⋯");
            }
            continue;
        };
        if !minute_active(b) {
            continue;
        }
        let when = ctx.clock(b.start, "%H:%M");
        let tooltip = open_reserve_group(&mut svg, "minute", "data-minute", b, when);
        let h_res = bar_height(&scale, b.reserved_tokens, frame.plot_height());
        let h_set = bar_height(&scale, b.quota_tokens, frame.plot_height());
        let x = axis.x(pos) + (bw - bar_w) / 2.0;
        if h_res > 0.0 {
            svg.rect_titled(x, base - h_res, bar_w, h_res, "reserved", &[], &tooltip);
        }
        if h_set > 0.0 {
            svg.rect_titled(x, base - h_set, bar_w, h_set, "settled", &[], &tooltip);
        }
        svg.close_group();
    }
    if let Some(tpm) = tpm {
        let label = format!("TPM {}", pretty_tokens(tpm));
        level_line(&mut svg, &frame, &scale, tpm, "limit", &label);
    }
    let start = minutes.buckets[0].start;
    throttle_markers_at(&mut svg, &frame, report, ctx, &|at| {
        let into = (at - start).num_milliseconds();
        let index = usize::try_from(into.div_euclid(60_000)).ok()?;
        let pos = slots.iter().position(|s| *s == Some(index))?;
        Some(axis.x(pos) + bw * (into.rem_euclid(60_000) as f64 / 60_000.0))
    });
    // Labels: at the start of each stretch, then on round minutes with room between.
    svg.line(frame.left, base, frame.width - frame.right, base, "base");
    let needed = 5.0 * 6.5 + 14.0;
    let every = nice_every((needed / bw).ceil().max(1.0) as usize, 60);
    let mut last_label: Option<f64> = None;
    for (pos, slot) in slots.iter().enumerate() {
        let Some(i) = slot else {
            continue;
        };
        let stretch_start = pos == 0 || slots[pos - 1].is_none();
        let at = minutes.buckets[*i].start;
        let round = ((at.timestamp() / 60) as usize).is_multiple_of(every);
        let x = axis.x(pos);
        let fits = x + needed - 14.0 <= frame.width;
        if (stretch_start || round) && fits && last_label.is_none_or(|l| x - l >= needed) {
            svg.text(x, base + 15.0, "start", "axis", &ctx.clock(at, "%H:%M"));
            last_label = Some(x);
        }
    }
    let mut items = reserve_legend();
    if tpm.is_some() {
        items.push(("limit", "TPM".to_string()));
    }
    end_chart(out, svg, &items);
}

/// Settled use summed over the day, against TPD and an even spend of it.
fn cumulative_chart(out: &mut String, report: &Report, ctx: &Context<'_>) {
    let (Some(tpd), true) = (ctx.quotas.tpd, ctx.single_day()) else {
        return;
    };
    let t = &report.timeline;
    let Some(last) = t.buckets.last() else {
        return;
    };
    chart_section(
        out,
        "day",
        "Settled over the day, against TPD",
        &format!(
            "Settled quota tokens summed from the start of the TPD day ({} by the end of the \
             range, {} of TPD {}); the dashed line is an even spend of TPD.",
            pretty_tokens(last.cumulative_quota_tokens),
            percent(last.cumulative_quota_tokens, tpd),
            pretty_tokens(tpd)
        ),
    );
    let frame = Frame::new(WIDTH, 220.0);
    let day_secs = (ctx.selection.end - ctx.selection.start)
        .num_seconds()
        .max(1);
    let axis = Buckets {
        frame,
        start: ctx.selection.start,
        width_secs: 3600,
        n: (day_secs / 3600).max(1) as usize,
    };
    let scale = Scale::new(last.cumulative_quota_tokens.max(tpd));
    let mut svg = chart_svg(&frame, &scale, "settled tokens over the day against TPD");
    let mut points = vec![(axis.at(t.buckets[0].start), frame.y(&scale, 0))];
    for b in &t.buckets {
        let end = b.start + Duration::seconds(t.bucket_seconds);
        points.push((axis.at(end), frame.y(&scale, b.cumulative_quota_tokens)));
    }
    svg.line(
        axis.at(ctx.selection.start),
        frame.y(&scale, 0),
        axis.at(ctx.selection.end),
        frame.y(&scale, tpd),
        "pace",
    );
    let y = frame.y(&scale, tpd);
    svg.line(frame.left, y, frame.width - frame.right, y, "limit");
    svg.text(
        frame.left + 6.0,
        y - 4.0,
        "start",
        "label",
        &format!("TPD {}", pretty_tokens(tpd)),
    );
    svg.polyline(
        &points,
        "cumulative",
        &[("data-cumulative", last.cumulative_quota_tokens.to_string())],
    );
    throttle_markers(&mut svg, &axis, report, ctx);
    axis.x_axis(&mut svg, &|at| ctx.clock(at, "%H:%M"));
    end_chart(
        out,
        svg,
        &[
            ("settled", "settled so far".to_string()),
            ("pace", "even TPD pace".to_string()),
            ("limit", "TPD".to_string()),
        ],
    );
}

/// The whole account's use next to this machine's, per bucket.
fn account_chart(out: &mut String, account: &Account, ctx: &Context<'_>) {
    let Some(first) = account.buckets.first() else {
        return;
    };
    let width_secs = account
        .buckets
        .get(1)
        .map(|b| (b.start - first.start).num_seconds())
        .filter(|s| *s > 0)
        .unwrap_or(3600);
    chart_section(
        out,
        "account",
        "The account and this machine",
        &format!(
            "Quota tokens the whole account used (grey, {}) and this machine's part (solid).",
            account.source
        ),
    );
    let frame = Frame::new(WIDTH, 200.0);
    let axis = Buckets {
        frame,
        start: first.start,
        width_secs,
        n: account.buckets.len(),
    };
    let scale = nested_scale(
        account
            .buckets
            .iter()
            .map(|b| [b.account_tokens, b.own_tokens]),
    );
    let mut svg = chart_svg(&frame, &scale, "account and own tokens");
    for (i, b) in account.buckets.iter().enumerate() {
        svg.open_group(
            "account-bucket",
            &[
                ("data-start", iso(b.start)),
                ("data-account", b.account_tokens.to_string()),
                ("data-own", b.own_tokens.to_string()),
            ],
        );
        let tooltip = format!(
            "{} · account {} · this machine {}",
            ctx.time_of_day(b.start),
            pretty_tokens(b.account_tokens),
            pretty_tokens(b.own_tokens)
        );
        let bars = [(b.account_tokens, "account"), (b.own_tokens, "settled")];
        nested_bars(&mut svg, &axis, &scale, i, bars, &tooltip);
        svg.close_group();
    }
    let per_hour = width_secs < 86_400;
    axis.x_axis(&mut svg, &|at| {
        if per_hour {
            ctx.time_of_day(at)
        } else {
            ctx.clock(at, "%m-%d")
        }
    });
    end_chart(
        out,
        svg,
        &[
            ("account", "account".to_string()),
            ("settled", "this machine".to_string()),
        ],
    );
}

/// A table; every cell is escaped; `numeric` columns are right-aligned.
fn table(out: &mut String, columns: &[(&str, bool)], rows: &[Vec<String>]) {
    let cell = |out: &mut String, tag: &str, class: Option<&str>, text: &str| {
        let class = class.map(|c| format!(" class=\"{c}\"")).unwrap_or_default();
        let _ = write!(out, "<{tag}{class}>{}</{tag}>", escape(text));
    };
    out.push_str("<table>\n<thead><tr>");
    for (name, numeric) in columns {
        cell(out, "th", numeric.then_some("n"), name);
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for (text, (_, numeric)) in row.iter().zip(columns) {
            cell(out, "td", Some(if *numeric { "n" } else { "wrap" }), text);
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn throttles(out: &mut String, report: &Report, ctx: &Context<'_>) {
    if report.throttles.is_empty() {
        return;
    }
    chart_section(
        out,
        "throttles",
        "Throttles",
        "With what bedrock-hook estimated at the time.",
    );
    let rows = super::text::throttle_rows(report, |at| ctx.clock(at, "%H:%M:%S"));
    table(
        out,
        &[
            ("time", false),
            ("model", false),
            ("limit", false),
            ("day used", true),
            ("of TPD", true),
            ("minute used", true),
            ("of TPM", true),
            ("req/min", true),
        ],
        &rows,
    );
    out.push_str("</section>\n");
}

/// The max_tokens advice: what a smaller setting would have reserved, drawn next to
/// what was reserved.
fn advice(out: &mut String, report: &Report, ctx: &Context<'_>) {
    let o = &report.output;
    if o.requests == 0 {
        return;
    }
    let reserved = report.totals.reserved_tokens;
    let _ = write!(
        out,
        "<section id=\"advice\" data-suggested=\"{}\" data-reserved=\"{}\" \
         data-counterfactual=\"{}\" data-savings=\"{}\">\n<h2>Output tokens vs max_tokens ({})</h2>\n",
        o.suggested_max_tokens.unwrap_or(0),
        reserved,
        o.counterfactual_reserved_tokens,
        o.reserved_savings_tokens,
        escape(&count(o.requests, "answered request", "answered requests"))
    );
    if let Some(suggested) = o.suggested_max_tokens {
        let text =
            super::text::suggestion(o, suggested, reserved, ctx.floor, |mark, text| match mark {
                Mark::Suggested => format!("<b>{text}</b>"),
                Mark::Saving => text.to_string(),
                Mark::Setting => format!("<code>{text}</code>"),
            });
        let _ = writeln!(out, "<p class=\"advice\">{text}</p>");
        counterfactual_bars(out, reserved, o.counterfactual_reserved_tokens, suggested);
    }
    for note in super::text::advice_notes(o) {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(&note));
    }
    output_chart(out, o);
    let rows = super::text::advice_rows(o);
    table(
        out,
        &[
            ("model", false),
            ("requests", true),
            ("out p50", true),
            ("out p99", true),
            ("out max", true),
            ("asked p50", true),
            ("asked max", true),
            ("suggest", true),
        ],
        &rows,
    );
    out.push_str("</section>\n");
}

/// Per model on a log scale: what was asked for (max_tokens, light), what came out
/// (largest, solid; p50 and p99 as ticks) and the suggestion (orange).
fn output_chart(out: &mut String, o: &super::aggregate::OutputAdvice) {
    if o.models.is_empty() {
        return;
    }
    out.push_str(
        "<p class=\"note\">Per model, on a log scale: the largest max_tokens asked for, the \
         output (largest, with p50 and p99 ticks) and the suggestion.</p>\n",
    );
    const ROW: f64 = 30.0;
    let frame = Frame {
        left: 190.0,
        right: 24.0,
        top: 8.0,
        bottom: 26.0,
        ..Frame::new(WIDTH, 8.0 + 26.0 + ROW * o.models.len() as f64)
    };
    let largest = o
        .models
        .iter()
        .flat_map(|m| {
            [
                m.max_tokens.max,
                m.output_tokens.max,
                m.suggested_max_tokens,
            ]
        })
        .max()
        .unwrap_or(1)
        .max(10);
    // Decades from 10 to the first power of ten at or above the largest value.
    let mut top = 10u64;
    while top < largest {
        top = top.saturating_mul(10);
    }
    let decades = log10(top as f64) - 1.0;
    let x = |value: u64| {
        let v = log10(value.max(10) as f64) - 1.0;
        frame.left + v / decades * frame.plot_width()
    };
    let mut svg = Svg::new(
        frame.width,
        frame.height,
        "chart",
        "output tokens and max_tokens per model, log scale",
    );
    let base = frame.top + frame.plot_height();
    let mut tick = 10u64;
    while tick <= top {
        svg.line(x(tick), frame.top, x(tick), base, "grid");
        svg.text(x(tick), base + 15.0, "middle", "axis", &pretty_tokens(tick));
        tick = tick.saturating_mul(10);
    }
    for (i, m) in o.models.iter().enumerate() {
        let y = frame.top + i as f64 * ROW;
        svg.open_group(
            "output",
            &[
                ("data-model", m.model.clone()),
                ("data-output-max", m.output_tokens.max.to_string()),
                ("data-asked-max", m.max_tokens.max.to_string()),
                ("data-suggested", m.suggested_max_tokens.to_string()),
            ],
        );
        svg.text(frame.left - 8.0, y + 18.0, "end", "label", &m.model);
        let tooltip = format!(
            "{} · output p50 {} / p99 {} / max {} · asked up to {} · suggested {}",
            m.model,
            thousands(m.output_tokens.p50),
            thousands(m.output_tokens.p99),
            thousands(m.output_tokens.max),
            thousands(m.max_tokens.max),
            thousands(m.suggested_max_tokens)
        );
        svg.rect_titled(
            frame.left,
            y + 6.0,
            x(m.max_tokens.max) - frame.left,
            16.0,
            "reserved",
            &[],
            &tooltip,
        );
        svg.rect_titled(
            frame.left,
            y + 10.0,
            x(m.output_tokens.max) - frame.left,
            8.0,
            "settled",
            &[],
            &tooltip,
        );
        for p in [m.output_tokens.p50, m.output_tokens.p99] {
            svg.line(x(p), y + 7.0, x(p), y + 21.0, "spread");
        }
        let s = x(m.suggested_max_tokens);
        svg.line(s, y + 2.0, s, y + 26.0, "suggested");
        svg.close_group();
    }
    out.push_str(&svg.finish());
    legend(
        out,
        &[
            ("reserved", "max_tokens asked (largest)".to_string()),
            ("settled", "output (largest; ticks: p50, p99)".to_string()),
            ("pace", "suggested max_tokens".to_string()),
        ],
    );
}

fn counterfactual_bars(out: &mut String, reserved: u64, counterfactual: u64, suggested: u64) {
    let frame = Frame {
        left: 190.0,
        right: 90.0,
        top: 6.0,
        bottom: 6.0,
        ..Frame::new(WIDTH, 70.0)
    };
    let mut svg = Svg::new(
        frame.width,
        frame.height,
        "chart",
        "reserved as asked and with the suggested max_tokens",
    );
    let scale = Scale {
        max: reserved.max(1),
        step: reserved.max(1),
    };
    let rows = [
        ("reserved as asked", reserved, "reserved", "data-reserved"),
        (
            "with max_tokens",
            counterfactual,
            "settled",
            "data-counterfactual",
        ),
    ];
    for (i, (name, value, class, attr)) in rows.into_iter().enumerate() {
        let y = frame.top + i as f64 * 30.0;
        let label = if i == 1 {
            format!("{name} {}", thousands(suggested))
        } else {
            name.to_string()
        };
        svg.text(frame.left - 8.0, y + 17.0, "end", "label", &label);
        let w = bar_height(&scale, value, frame.plot_width());
        svg.rect(
            frame.left,
            y + 4.0,
            w,
            20.0,
            class,
            &[(attr, value.to_string())],
        );
        svg.text(
            frame.left + w + 6.0,
            y + 18.0,
            "start",
            "axis",
            &pretty_tokens(value),
        );
    }
    out.push_str(&svg.finish());
}

fn models(out: &mut String, report: &Report) {
    chart_section(out, "models", "By model", "");
    let settled = report.totals.quota_tokens;
    let rows: Vec<Vec<String>> = report
        .models
        .iter()
        .map(|m| {
            vec![
                m.model.clone(),
                m.ids.join(", "),
                thousands(m.totals.requests),
                super::text::burn_cell(m),
                pretty_tokens(m.totals.quota_tokens),
                percent(m.totals.quota_tokens, settled.max(1)),
                pretty_tokens(m.totals.reserved_tokens),
                thousands(m.totals.throttles),
            ]
        })
        .collect();
    table(
        out,
        &[
            ("model", false),
            ("ids", false),
            ("requests", true),
            ("burn", true),
            ("settled", true),
            ("share", true),
            ("reserved", true),
            ("throttles", true),
        ],
        &rows,
    );
    if report.models.iter().any(|m| m.burndown_assumed) {
        out.push_str(
            "<p class=\"note\">? unknown model: burndown assumed; set it under [burndown] in \
             the config.</p>\n",
        );
    }
    out.push_str("</section>\n");
}

fn sessions(out: &mut String, report: &Report, ctx: &Context<'_>) {
    let title = super::text::sessions_title(report);
    chart_section(out, "sessions", &title, "");
    let rows = super::text::session_rows(report, ctx, str::to_string);
    table(
        out,
        &[
            ("session", false),
            ("project", false),
            ("requests", true),
            ("agents", true),
            ("settled", true),
            ("reserved", true),
            ("active", false),
        ],
        &rows,
    );
    out.push_str("</section>\n");
}

fn side(out: &mut String, report: &Report) {
    if report.side.records == 0 {
        return;
    }
    chart_section(
        out,
        "side",
        "Side requests",
        "Only in session totals: titles, classifiers, probes.",
    );
    let rows = super::text::side_rows(report);
    table(
        out,
        &[
            ("model", false),
            ("records", true),
            ("input", true),
            ("cache wr", true),
            ("output", true),
            ("settled", true),
        ],
        &rows,
    );
    out.push_str("</section>\n");
}

/// Where the page goes: `-` prints it; otherwise it is written to `target` (by default
/// [`default_file_name`] in the current directory) and the returned line names the file.
pub fn deliver(
    page: String,
    target: Option<&Path>,
    selection: &Selection,
    boundary: DayBoundary,
) -> Result<String> {
    if target == Some(Path::new("-")) {
        return Ok(page);
    }
    let path = target.map_or_else(
        || PathBuf::from(default_file_name(selection, boundary)),
        Path::to_path_buf,
    );
    std::fs::write(&path, page).with_context(|| format!("writing {}", path.display()))?;
    Ok(format!("Wrote {}.\n", path.display()))
}

/// The file `report --html` writes when not told where: `bedrock-hook-report-` and the
/// day (or first and last day) and the session, in the current directory.
pub fn default_file_name(selection: &Selection, boundary: DayBoundary) -> String {
    let mut name = String::from("bedrock-hook-report");
    if !selection.whole_history {
        let first = boundary.day_of(selection.start);
        let last = boundary.day_of(selection.end - Duration::milliseconds(1));
        if first == last {
            let _ = write!(name, "-{first}");
        } else {
            let _ = write!(name, "-{first}_{last}");
        }
    }
    if let Some(session) = &selection.session {
        let safe: String = session
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .take(12)
            .collect();
        let _ = write!(name, "-session-{safe}");
    }
    name.push_str(".html");
    name
}

/// Base-10 logarithm of a positive `x`, to chart precision (|error| < 1e-12), without
/// `f64::log10`: that one is libm's, and linking libm costs every hook and status line
/// start one more shared library to load (about a tenth of their time over the floor).
fn log10(x: f64) -> f64 {
    if x <= 0.0 || !x.is_finite() {
        return 0.0;
    }
    // x = m * 2^e with m in [1, 2); ln m = 2 atanh(z), z = (m - 1) / (m + 1) <= 1/3.
    let bits = x.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let m = f64::from_bits((bits & ((1u64 << 52) - 1)) | (1023u64 << 52));
    let z = (m - 1.0) / (m + 1.0);
    let z2 = z * z;
    let (mut term, mut sum) = (z, 0.0);
    for k in 0..20 {
        sum += term / f64::from(2 * k + 1);
        term *= z2;
    }
    (2.0 * sum + exponent as f64 * std::f64::consts::LN_2) / std::f64::consts::LN_10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log10_without_libm_matches_it() {
        for x in [1.0, 9.99, 10.0, 64.0, 8192.0, 128_000.0, 1.5e9, 3.7e15] {
            assert!((log10(x) - x.log10()).abs() < 1e-12, "{x}");
        }
    }

    fn day() -> Selection {
        Selection::day("2026-11-22".parse().unwrap(), DayBoundary::Utc, None)
    }

    fn context<'a>(selection: &'a Selection, account: Option<&'a Account>) -> Context<'a> {
        Context {
            shown: Shown {
                selection,
                boundary: DayBoundary::Utc,
                quotas: crate::quota::Quotas {
                    tpd: Some(2_400_000),
                    tpm: Some(400_000),
                    rpm: None,
                },
                tpd_all_models: None,
                floor: 4096,
                skipped_lines: 0,
            },
            generated: "2026-11-22T18:00:00Z".parse().unwrap(),
            account,
        }
    }

    #[test]
    fn file_names() {
        let boundary = DayBoundary::Utc;
        assert_eq!(
            default_file_name(&day(), boundary),
            "bedrock-hook-report-2026-11-22.html"
        );
        let mut two = day();
        two.end += Duration::days(1);
        two.session = Some("s-alpha/../x".into());
        assert_eq!(
            default_file_name(&two, boundary),
            "bedrock-hook-report-2026-11-22_2026-11-23-session-s-alphax.html"
        );
        let mut all = day();
        all.whole_history = true;
        all.session = Some("abc".into());
        assert_eq!(
            default_file_name(&all, boundary),
            "bedrock-hook-report-session-abc.html"
        );
    }

    #[test]
    fn an_empty_range_says_so() {
        let selection = day();
        let report = crate::report::aggregate::empty(&selection);
        let series = Series {
            minutes: None,
            models: Vec::new(),
        };
        let page = render(&report, &series, &context(&selection, None));
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("Nothing recorded in this range."));
        assert!(page.trim_end().ends_with("</html>"));
    }

    #[test]
    fn account_section_only_with_account_data() {
        let selection = day();
        let mut report = crate::report::aggregate::empty(&selection);
        report.totals.requests = 1;
        report.totals.quota_tokens = 10;
        let series = Series {
            minutes: None,
            models: Vec::new(),
        };
        let without = render(&report, &series, &context(&selection, None));
        assert!(!without.contains("id=\"account\""));
        let account = Account {
            source: "CloudWatch <test>".into(),
            buckets: vec![
                AccountBucket {
                    start: selection.start,
                    account_tokens: 5000,
                    own_tokens: 10,
                },
                AccountBucket {
                    start: selection.start + Duration::hours(1),
                    account_tokens: 0,
                    own_tokens: 0,
                },
            ],
        };
        let with = render(&report, &series, &context(&selection, Some(&account)));
        assert!(with.contains("id=\"account\""));
        assert!(
            with.contains("data-account=\"5000\" data-own=\"10\""),
            "{with}"
        );
        assert!(with.contains("CloudWatch &lt;test&gt;"));
    }

    #[test]
    fn idle_stretches_are_cut_from_the_minute_axis() {
        let start: DateTime<Utc> = "2026-11-22T09:00:00Z".parse().unwrap();
        let buckets: Vec<super::super::aggregate::Bucket> = (0..120)
            .map(|i| super::super::aggregate::Bucket {
                start: start + Duration::minutes(i),
                requests: u64::from(i == 10 || i == 12 || i == 100),
                reserved_tokens: 0,
                quota_tokens: 0,
                throttles: 0,
                cumulative_quota_tokens: 0,
            })
            .collect();
        let slots = minute_slots(&buckets);
        // 7..=15, a break, 97..=103.
        let mut expected: Vec<Option<usize>> = (7..=15).map(Some).collect();
        expected.extend([None; BREAK_SLOTS]);
        expected.extend((97..=103).map(Some));
        assert_eq!(slots, expected);
        assert!(minute_slots(&buckets[20..90]).is_empty());
    }

    #[test]
    fn account_data_from_the_json_document() {
        assert!(Account::from_json(&serde_json::json!({"totals": {}})).is_none());
        let account = Account::from_json(&serde_json::json!({
            "account": {
                "source": "CloudWatch",
                "buckets": [
                    {"start": "2026-11-22T09:00:00Z", "account_tokens": 900, "own_tokens": 100}
                ]
            }
        }))
        .unwrap();
        assert_eq!(account.buckets[0].account_tokens, 900);
        assert_eq!(account.buckets[0].own_tokens, 100);
    }

    #[test]
    fn label_steps_are_round() {
        assert_eq!(nice_every(5, 3600), 6);
        assert_eq!(nice_every(1, 3600), 1);
        assert_eq!(nice_every(7, 60), 10);
    }

    #[test]
    fn time_axis_maps_instants() {
        let axis = Buckets {
            frame: Frame::new(180.0, 100.0),
            start: "2026-11-22T00:00:00Z".parse().unwrap(),
            width_secs: 3600,
            n: 2,
        };
        assert_eq!(
            axis.at("2026-11-22T01:00:00Z".parse().unwrap()),
            56.0 + 56.0
        );
        assert_eq!(
            axis.at("2026-11-23T01:00:00Z".parse().unwrap()),
            56.0 + 112.0
        );
    }
}
