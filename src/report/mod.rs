//! `bedrock-hook report`: what was reserved, what was burned, and what to change
//! tomorrow. The data flow is one file each: `range` picks the ledger day files and
//! records, `aggregate` reduces them to a [`Report`] (pure), and `text` (with `table`,
//! `chart`, `term`), `json`, `csv` or `html` (with `svg`) prints it.

pub mod aggregate;
pub mod chart;
pub mod csv;
pub mod html;
pub mod json;
pub mod range;
pub mod svg;
pub mod table;
pub mod text;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use chrono::{DateTime, Duration, Utc};

pub use aggregate::{Params, Report, Totals, aggregate};
pub use range::Selection;

use crate::config::Config;
use crate::context::Context;
use crate::ledger::{Ledger, Record};
use crate::quota::DayBoundary;
use crate::terminal::{self, ColorChoice};

/// `bedrock-hook report`'s arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// One TPD day, cut at the configured `day_boundary`: YYYY-MM-DD, today, yesterday,
    /// -7d (days ago) or a weekday (the most recent, today included).
    #[arg(long, value_name = "DATE", allow_hyphen_values = true, conflicts_with_all = ["since", "until"])]
    pub date: Option<String>,
    /// Start: a day as for --date (its TPD day's start) or an RFC 3339 time.
    #[arg(long, value_name = "WHEN", allow_hyphen_values = true)]
    pub since: Option<String>,
    /// End: a day as for --date (through the end of that TPD day) or an RFC 3339 time.
    /// Default: now.
    #[arg(
        long,
        value_name = "WHEN",
        allow_hyphen_values = true,
        requires = "since"
    )]
    pub until: Option<String>,
    /// Only this session (a unique prefix is enough). Alone, it searches the whole ledger.
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// Print the report as JSON (schema: docs/report-json.md).
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print one CSV row per ledger record instead.
    #[arg(long)]
    pub csv: bool,
    /// Write the report as one self-contained HTML page with charts (nothing loaded from
    /// the network) to FILE; without FILE to bedrock-hook-report-DATE.html in the current
    /// directory; `-` prints it.
    #[arg(long, value_name = "FILE", num_args = 0..=1, conflicts_with_all = ["json", "csv"])]
    pub html: Option<Option<PathBuf>>,
    /// How many sessions to list.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,
    /// Headroom above the largest output for the suggested max_tokens, in percent (the
    /// same rule the guards and `doctor` use by default).
    #[arg(long, value_name = "PERCENT", default_value_t = crate::quota::advice::HEADROOM_PERCENT)]
    pub headroom: u64,
    /// Colour: auto (a terminal and no NO_COLOR), always or never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// What the terminal and the HTML report both show besides the report itself: the range
/// and the clock of its TPD day, the quotas compared with, the reservation floor the
/// advice names, the ledger lines that could not be read.
pub struct Shown<'a> {
    pub selection: &'a Selection,
    pub boundary: DayBoundary,
    pub quotas: crate::quota::Quotas,
    /// The account-wide cap on all models together (`tpd_all_models`).
    pub tpd_all_models: Option<u64>,
    /// The reservation floor, for the advice's wording.
    pub floor: u64,
    pub skipped_lines: usize,
}

impl Shown<'_> {
    /// `at` on the clock of the TPD day.
    pub fn clock(&self, at: DateTime<Utc>, format: &str) -> String {
        at.with_timezone(&self.boundary.offset_at(at))
            .format(format)
            .to_string()
    }

    /// `09:00`, or with the date when the range spans more than a day.
    pub fn time_of_day(&self, at: DateTime<Utc>) -> String {
        if self.spans_days() {
            self.clock(at, "%m-%d %H:%M")
        } else {
            self.clock(at, "%H:%M")
        }
    }

    pub fn spans_days(&self) -> bool {
        self.selection.whole_history
            || self.selection.end - self.selection.start > Duration::hours(24)
    }

    /// One TPD day (so TPD and its even pace apply to the range as a whole).
    pub fn single_day(&self) -> bool {
        !self.selection.whole_history && self.selection.label.len() == 10
    }
}

pub fn run(args: &Args, context: &Context) -> Result<ExitCode> {
    let Context { paths, config, now } = context;
    let now = *now;
    for problem in &config.problems {
        eprintln!("bedrock-hook: config: {problem}");
    }
    let request = range::Request {
        date: args.date.as_deref(),
        since: args.since.as_deref(),
        until: args.until.as_deref(),
        session: args.session.as_deref(),
    };
    let selection = Selection::resolve(&request, config.day_boundary, now)?;
    let ledger = Ledger::new(paths);
    let (records, skipped) = range::load(&ledger, &selection)?;
    let output = if args.csv {
        csv::render(&records)
    } else {
        let params = params_for(&selection, &records, config, now, args);
        let report = aggregate(&records, &params);
        // The HTML page reads the account section from the same document `--json` prints.
        let document = || {
            json::document(
                &report,
                &selection,
                config.day_boundary.describe(),
                config.quotas,
                skipped,
            )
        };
        let shown = || Shown {
            selection: &selection,
            boundary: config.day_boundary,
            quotas: config.quotas,
            tpd_all_models: config.tpd_all_models,
            floor: config.reservation.floor,
            skipped_lines: skipped,
        };
        if let Some(target) = &args.html {
            let doc = document();
            let account = serde_json::to_value(&doc)
                .ok()
                .and_then(|doc| html::Account::from_json(&doc));
            let ctx = html::Context {
                shown: shown(),
                generated: now,
                account: account.as_ref(),
            };
            let page = html::render(&report, &html::series(&records, &params, &report), &ctx);
            html::deliver(page, target.as_deref(), &selection, config.day_boundary)?
        } else if args.json {
            let doc = document();
            let mut text = json::to_string(&doc);
            text.push('\n');
            text
        } else {
            let style = terminal::Style::for_stdout(args.color);
            let ctx = text::Context {
                shown: shown(),
                quota_source: quota_source(config),
                width: terminal::width(),
                style,
            };
            let mut out = text::render(&report, &ctx);
            if selection.session.is_none()
                && let Some(file) = crate::account::AccountFile::read(&paths.data_dir)
            {
                out.push_str(&crate::account::hourly::render(&file, selection.start));
            }
            out
        }
    };
    // `report | head` closing the pipe early is not an error.
    terminal::write_all(&output).context("writing the report")?;
    Ok(ExitCode::SUCCESS)
}

/// Timeline span and bucket width for a selection: per hour up to two days, else per
/// day; never past `now`, and for a whole-history session report, the session's span.
pub fn params_for(
    selection: &Selection,
    records: &[Record],
    config: &Config,
    now: DateTime<Utc>,
    args: &Args,
) -> Params {
    let (start, end) = if selection.whole_history {
        let first = records.iter().map(|r| r.ts).min().unwrap_or(now);
        let last = records.iter().map(Record::settled_at).max().unwrap_or(now);
        (first, last + Duration::seconds(1))
    } else {
        (selection.start, selection.end.min(now).max(selection.start))
    };
    let bucket_secs = if end - start <= Duration::hours(48) {
        3600
    } else {
        86_400
    };
    Params {
        timeline_start: align(start, bucket_secs, config.day_boundary),
        timeline_end: end,
        bucket_secs,
        top: args.top,
        quotas: config.quotas,
        rule: config.reservation,
        headroom_percent: args.headroom,
    }
}

/// Round `at` down to a bucket edge on the boundary's clock.
fn align(at: DateTime<Utc>, bucket_secs: i64, boundary: DayBoundary) -> DateTime<Utc> {
    let day_start = boundary.day_start(boundary.day_of(at));
    let into = (at - day_start).num_seconds().max(0);
    day_start + Duration::seconds(into - into % bucket_secs)
}

/// Where the configured quotas come from, each source once:
/// `BEDROCK_HOOK_TPD, BEDROCK_HOOK_TPM in ~/.claude/settings.json env`, `config file`.
fn quota_source(config: &Config) -> String {
    use crate::config::Source;
    let set = [
        ("tpd", config.quotas.tpd.is_some()),
        ("tpm", config.quotas.tpm.is_some()),
        ("rpm", config.quotas.rpm.is_some()),
        ("tpd_all_models", config.tpd_all_models.is_some()),
    ];
    // (where, the variables set there): variables set in one file are named together.
    let mut sources: Vec<(String, Vec<&str>)> = Vec::new();
    for (key, _) in set.iter().filter(|(_, is_set)| *is_set) {
        let (place, name) = match config.source_of(key) {
            Source::Settings(name, origin) => (origin.to_string(), Some(name)),
            Source::Env(name) => ("env".to_string(), Some(name)),
            _ => (config.source_label(key), None),
        };
        match sources.iter_mut().find(|(p, _)| *p == place) {
            Some((_, names)) => names.extend(name),
            None => sources.push((place, name.into_iter().collect())),
        }
    }
    sources
        .into_iter()
        .map(|(place, names)| match (names.is_empty(), place.as_str()) {
            (true, _) => place,
            (false, "env") => format!("env {}", names.join(", ")),
            (false, _) => format!("{} in {place}", names.join(", ")),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_to_the_boundary_clock() {
        let at: DateTime<Utc> = "2026-11-22T10:47:12Z".parse().unwrap();
        assert_eq!(
            align(at, 3600, DayBoundary::Utc),
            "2026-11-22T10:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        let india = DayBoundary::Offset(5 * 3600 + 1800);
        assert_eq!(
            align(at, 3600, india),
            "2026-11-22T10:30:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            align(at, 86_400, india),
            "2026-11-21T18:30:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }
}
