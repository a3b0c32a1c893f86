//! Which records a report covers: the time span (today's TPD day by default, one
//! `--date`, or `--since`/`--until`), an optional session, and the UTC day files of the
//! ledger that can hold them. Only those files are read, so a one-day report costs the
//! same with a week of history or a year.
//!
//! A day is written as people type it: `2026-11-22`, `today`, `yesterday`, `-7d` (seven
//! days ago) or a weekday name (`monday`, `mon`: the most recent one, today included, so
//! `--since monday` on a Monday is today). "Today" is the TPD day holding `now` at the
//! configured day boundary.

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};

use crate::ledger::{Ledger, Record};
use crate::quota::DayBoundary;

/// The span and filter a report was asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// First instant covered.
    pub start: DateTime<Utc>,
    /// First instant no longer covered.
    pub end: DateTime<Utc>,
    /// Human name of the span: `2026-11-22`, `2026-11-20 .. 2026-11-22`, `all days`.
    pub label: String,
    /// Session id, or a unique prefix of one.
    pub session: Option<String>,
    /// Read every day file (a session asked for without a span).
    pub whole_history: bool,
}

/// What the command line said, before it is resolved against a clock and a boundary.
#[derive(Debug, Clone, Default)]
pub struct Request<'a> {
    pub date: Option<&'a str>,
    pub since: Option<&'a str>,
    pub until: Option<&'a str>,
    pub session: Option<&'a str>,
}

impl Selection {
    /// Resolve the command line's range against `now` and the TPD day boundary.
    pub fn resolve(
        request: &Request<'_>,
        boundary: DayBoundary,
        now: DateTime<Utc>,
    ) -> Result<Selection> {
        let session = request
            .session
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let today = boundary.day_of(now);
        if let Some(date) = request.date {
            let day =
                parse_day(date, today).with_context(|| format!("--date `{}`", shown(date)))?;
            return Ok(Selection::day(day, boundary, session));
        }
        if let Some(since) = request.since {
            let (start, from) = parse_when(since, boundary, today, false)
                .with_context(|| format!("--since `{}`", shown(since)))?;
            let (end, to) = match request.until {
                Some(until) => parse_when(until, boundary, today, true)
                    .with_context(|| format!("--until `{}`", shown(until)))?,
                None => (now, "now".to_string()),
            };
            if end <= start {
                bail!("--until must be later than --since");
            }
            let label = format!("{from} .. {to}");
            return Ok(Selection {
                start,
                end,
                label,
                session,
                whole_history: false,
            });
        }
        if let Some(session) = session {
            return Ok(Selection {
                start: DateTime::<Utc>::MIN_UTC,
                end: DateTime::<Utc>::MAX_UTC,
                label: "all days".to_string(),
                session: Some(session),
                whole_history: true,
            });
        }
        Ok(Selection::day(boundary.day_of(now), boundary, None))
    }

    /// One whole TPD day.
    pub fn day(day: NaiveDate, boundary: DayBoundary, session: Option<String>) -> Selection {
        let next = day.succ_opt().unwrap_or(day);
        Selection {
            start: boundary.day_start(day),
            end: boundary.day_start(next),
            label: day.to_string(),
            session,
            whole_history: false,
        }
    }

    /// The UTC day files that can hold records of this selection, oldest first.
    pub fn utc_days(&self, ledger: &Ledger) -> Result<Vec<NaiveDate>> {
        if self.whole_history {
            return ledger.days().context("listing the ledger's day files");
        }
        let first = self.start.date_naive();
        let last = (self.end - Duration::milliseconds(1)).date_naive();
        if (last - first).num_days() > 62 {
            // A long span: list the day files that exist rather than try every date.
            let days = ledger.days().context("listing the ledger's day files")?;
            return Ok(days
                .into_iter()
                .filter(|d| (first..=last).contains(d))
                .collect());
        }
        let mut days = Vec::new();
        let mut day = first;
        while day <= last {
            days.push(day);
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        Ok(days)
    }

    /// Whether a record belongs to the selection (by its start time and session).
    pub fn covers(&self, record: &Record) -> bool {
        record.ts >= self.start
            && record.ts < self.end
            && self
                .session
                .as_deref()
                .is_none_or(|s| record.session.starts_with(s))
    }
}

/// Records of the selection, in time order, and how many unreadable ledger lines were
/// skipped on the way.
pub fn load(ledger: &Ledger, selection: &Selection) -> Result<(Vec<Record>, usize)> {
    let mut records = Vec::new();
    let mut skipped = 0;
    for day in selection.utc_days(ledger)? {
        let (day_records, bad) = ledger
            .read_day(day)
            .with_context(|| format!("reading {}", ledger.day_file(day).display()))?;
        skipped += bad;
        records.extend(day_records.into_iter().filter(|r| selection.covers(r)));
    }
    records.sort_by(|a, b| a.ts.cmp(&b.ts).then_with(|| a.id.cmp(&b.id)));
    if let Some(prefix) = selection.session.as_deref() {
        let mut sessions: Vec<&str> = records.iter().map(|r| r.session.as_str()).collect();
        sessions.sort_unstable();
        sessions.dedup();
        if sessions.len() > 1 && !sessions.contains(&prefix) {
            let shown: Vec<&str> = sessions.iter().take(5).copied().collect();
            bail!(
                "--session `{prefix}` matches {} sessions ({}{}): give more of the id",
                sessions.len(),
                shown.join(", "),
                if sessions.len() > 5 { ", ..." } else { "" }
            );
        }
        if sessions.contains(&prefix) {
            records.retain(|r| r.session == prefix);
        }
        if records.is_empty() {
            bail!("no session matches {} ({})", shown(prefix), selection.label);
        }
    }
    Ok((records, skipped))
}

/// What a command-line value looks like in a message: no control characters.
fn shown(text: &str) -> String {
    crate::terminal::fit(text, 60)
}

const DAY_WORDS: &str =
    "expected a date like 2026-11-22, today, yesterday, -7d (days ago) or a weekday like monday";

/// A day as people type it, against `today` (the TPD day holding now).
fn parse_day(text: &str, today: NaiveDate) -> Result<NaiveDate> {
    let text = text.trim();
    if let Ok(day) = text.parse::<NaiveDate>() {
        return Ok(day);
    }
    let lower = text.to_ascii_lowercase();
    let ago = |days: u64| {
        today
            .checked_sub_days(chrono::Days::new(days))
            .context("too far back")
    };
    match lower.as_str() {
        "today" => return Ok(today),
        "yesterday" => return ago(1),
        _ => {}
    }
    if let Some(n) = lower
        .strip_prefix('-')
        .and_then(|rest| rest.strip_suffix('d'))
        .and_then(|n| n.parse::<u64>().ok())
    {
        return ago(n);
    }
    if let Some(weekday) = weekday(&lower) {
        let back =
            (7 + today.weekday().num_days_from_monday() - weekday.num_days_from_monday()) % 7;
        return ago(u64::from(back));
    }
    bail!("{DAY_WORDS}")
}

/// `monday`, `mon` ... `sunday`, `sun`.
fn weekday(text: &str) -> Option<Weekday> {
    const NAMES: [(&str, Weekday); 7] = [
        ("monday", Weekday::Mon),
        ("tuesday", Weekday::Tue),
        ("wednesday", Weekday::Wed),
        ("thursday", Weekday::Thu),
        ("friday", Weekday::Fri),
        ("saturday", Weekday::Sat),
        ("sunday", Weekday::Sun),
    ];
    NAMES
        .iter()
        .find(|(name, _)| text.len() >= 3 && name.starts_with(text))
        .map(|(_, day)| *day)
}

/// A day (start of its TPD day; with `end_of_day`, start of the next) or an RFC 3339 time,
/// and how the label shows it (a day by its date).
fn parse_when(
    text: &str,
    boundary: DayBoundary,
    today: NaiveDate,
    end_of_day: bool,
) -> Result<(DateTime<Utc>, String)> {
    let text = text.trim();
    if let Ok(day) = parse_day(text, today) {
        let label = day.to_string();
        let day = if end_of_day {
            day.succ_opt().unwrap_or(day)
        } else {
            day
        };
        return Ok((boundary.day_start(day), label));
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| (t.with_timezone(&Utc), shown(text)))
        .with_context(|| format!("{DAY_WORDS}, or a time like 2026-11-22T09:00:00Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    /// The UTC day files a selection reads, as `YYYY-MM-DD`.
    fn day_names(s: &Selection, ledger: &Ledger) -> Vec<String> {
        s.utc_days(ledger)
            .unwrap()
            .iter()
            .map(|d| d.to_string())
            .collect()
    }

    #[test]
    fn today_by_default_at_the_boundary() {
        let now = at("2026-11-22T16:00:00Z");
        let tokyo = DayBoundary::Offset(9 * 3600);
        let s = Selection::resolve(&Request::default(), tokyo, now).unwrap();
        assert_eq!(s.label, "2026-11-23");
        assert_eq!(s.start, at("2026-11-22T15:00:00Z"));
        assert_eq!(s.end, at("2026-11-23T15:00:00Z"));
        let ledger = Ledger::new(&crate::paths::Paths::at(std::path::Path::new("/none")));
        let days = day_names(&s, &ledger);
        assert_eq!(days, ["2026-11-22", "2026-11-23"]);
        assert_eq!(
            s.utc_days(&ledger).unwrap(),
            tokyo.utc_days_covering("2026-11-23".parse().unwrap())
        );
    }

    #[test]
    fn since_until_dates_cover_whole_days() {
        let req = Request {
            since: Some("2026-11-20"),
            until: Some("2026-11-21"),
            ..Request::default()
        };
        let s = Selection::resolve(&req, DayBoundary::Utc, at("2026-12-01T00:00:00Z")).unwrap();
        assert_eq!(s.start, at("2026-11-20T00:00:00Z"));
        assert_eq!(s.end, at("2026-11-22T00:00:00Z"));
        let req = Request {
            since: Some("2026-11-20T10:00:00+02:00"),
            ..Request::default()
        };
        let now = at("2026-11-20T09:00:00Z");
        let s = Selection::resolve(&req, DayBoundary::Utc, now).unwrap();
        assert_eq!(s.start, at("2026-11-20T08:00:00Z"));
        assert_eq!(s.end, now);
    }

    #[test]
    fn days_as_people_type_them() {
        // 2026-11-25 is a Wednesday; at 16:00 UTC it is already Thursday in Tokyo.
        let now = at("2026-11-25T16:00:00Z");
        let day = |text: &str, boundary| {
            let req = Request {
                date: Some(text),
                ..Request::default()
            };
            Selection::resolve(&req, boundary, now).unwrap().label
        };
        let utc = DayBoundary::Utc;
        assert_eq!(day("today", utc), "2026-11-25");
        assert_eq!(day(" Yesterday ", utc), "2026-11-24");
        assert_eq!(day("-7d", utc), "2026-11-18");
        assert_eq!(day("-0d", utc), "2026-11-25");
        assert_eq!(day("wednesday", utc), "2026-11-25", "today included");
        assert_eq!(day("tue", utc), "2026-11-24");
        assert_eq!(day("thursday", utc), "2026-11-19");
        assert_eq!(day("MON", utc), "2026-11-23");
        assert_eq!(day("2026-01-02", utc), "2026-01-02");
        let tokyo = DayBoundary::Offset(9 * 3600);
        assert_eq!(day("today", tokyo), "2026-11-26");
        assert_eq!(day("yesterday", tokyo), "2026-11-25");
        assert_eq!(day("thu", tokyo), "2026-11-26");
        // A range of words: whole TPD days, labelled by their dates.
        let req = Request {
            since: Some("-2d"),
            until: Some("yesterday"),
            ..Request::default()
        };
        let s = Selection::resolve(&req, tokyo, now).unwrap();
        assert_eq!(s.label, "2026-11-24 .. 2026-11-25");
        assert_eq!(s.start, at("2026-11-23T15:00:00Z"));
        assert_eq!(s.end, at("2026-11-25T15:00:00Z"));
        let req = Request {
            since: Some("monday"),
            ..Request::default()
        };
        let s = Selection::resolve(&req, utc, now).unwrap();
        assert_eq!(s.label, "2026-11-23 .. now");
        assert_eq!(s.end, now);
    }

    #[test]
    fn long_spans_list_the_existing_day_files() {
        let dir = tempfile::tempdir().unwrap();
        let ledger_dir = dir.path().join("ledger");
        std::fs::create_dir_all(&ledger_dir).unwrap();
        for day in ["2019-12-31", "2020-06-01", "2026-11-01", "2026-11-30"] {
            std::fs::write(ledger_dir.join(format!("{day}.jsonl")), b"").unwrap();
        }
        let ledger = Ledger::new(&crate::paths::Paths::at(dir.path()));
        let req = Request {
            since: Some("0001-01-01"),
            until: Some("2026-11-22"),
            ..Request::default()
        };
        let s = Selection::resolve(&req, DayBoundary::Utc, at("2026-11-22T00:00:00Z")).unwrap();
        let days = day_names(&s, &ledger);
        assert_eq!(days, ["2019-12-31", "2020-06-01", "2026-11-01"]);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let now = at("2026-11-22T16:00:00Z");
        for req in [
            Request {
                date: Some("someday"),
                ..Request::default()
            },
            Request {
                date: Some("-d"),
                ..Request::default()
            },
            Request {
                date: Some("mo"),
                ..Request::default()
            },
            Request {
                since: Some("2026-11-22"),
                until: Some("2026-11-21"),
                ..Request::default()
            },
        ] {
            assert!(Selection::resolve(&req, DayBoundary::Utc, now).is_err());
        }
    }

    #[test]
    fn session_alone_reads_the_whole_history() {
        let req = Request {
            session: Some("abc"),
            ..Request::default()
        };
        let s = Selection::resolve(&req, DayBoundary::Utc, at("2026-11-22T00:00:00Z")).unwrap();
        assert!(s.whole_history);
        let mut record: Record = serde_json::from_str(
            r#"{"v":1,"kind":"request","id":"r","ts":"2020-01-01T00:00:00Z","session":"abcdef","model":"m","model_norm":"m","burndown":5,"input":0,"cache_write":0,"cache_read":0,"output":0,"max_tokens_source":"unknown","reserved":0,"settled":0,"outcome":"ok"}"#,
        )
        .unwrap();
        assert!(s.covers(&record));
        record.session = "xabc".into();
        assert!(!s.covers(&record));
    }
}
