//! Quota windows: the tokens-per-day window with its configurable boundary, and the
//! sliding 60-second window behind tokens- and requests-per-minute.

use chrono::{DateTime, Duration, FixedOffset, Local, NaiveDate, Offset, TimeZone, Utc};

/// Where the tokens-per-day window starts. AWS does not document the TPD reset; UTC
/// midnight is the default and users can move it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayBoundary {
    Utc,
    /// The machine's local midnight.
    Local,
    /// Midnight at a fixed offset from UTC, in seconds east.
    Offset(i32),
}

impl DayBoundary {
    /// Parse `utc`, `local`, or an offset such as `+09:00` / `-0500` / `+9`.
    pub fn parse(text: &str) -> Option<DayBoundary> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("utc") || t.eq_ignore_ascii_case("z") {
            return Some(DayBoundary::Utc);
        }
        if t.eq_ignore_ascii_case("local") {
            return Some(DayBoundary::Local);
        }
        let (sign, digits) = match t.as_bytes().first()? {
            b'+' => (1, &t[1..]),
            b'-' => (-1, &t[1..]),
            _ => return None,
        };
        let (hours, minutes) = match digits.split_once(':') {
            Some((h, m)) => (h.parse::<i32>().ok()?, m.parse::<i32>().ok()?),
            None if digits.len() == 4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?),
            None => (digits.parse().ok()?, 0),
        };
        if !(0..=14).contains(&hours) || !(0..60).contains(&minutes) {
            return None;
        }
        Some(DayBoundary::Offset(sign * (hours * 3600 + minutes * 60)))
    }

    /// The UTC offset of the boundary's clock at `at` (local time may change with DST).
    pub fn offset_at(&self, at: DateTime<Utc>) -> FixedOffset {
        match self {
            DayBoundary::Utc => FixedOffset::east_opt(0).expect("zero offset"),
            DayBoundary::Local => Local.offset_from_utc_datetime(&at.naive_utc()).fix(),
            DayBoundary::Offset(secs) => {
                FixedOffset::east_opt(*secs).unwrap_or(FixedOffset::east_opt(0).expect("zero"))
            }
        }
    }

    /// The TPD day an instant belongs to.
    pub fn day_of(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.offset_at(at)).date_naive()
    }

    /// The instant a TPD day starts: its midnight on the boundary's clock. For `local`
    /// the offset is the one in force at that midnight, not at UTC midnight (they differ
    /// on DST switch days east of UTC).
    pub fn day_start(&self, day: NaiveDate) -> DateTime<Utc> {
        match self {
            DayBoundary::Local => midnight_in(&Local, day),
            // A fixed offset: the same at any instant.
            _ => midnight_in(&self.offset_at(DateTime::UNIX_EPOCH), day),
        }
    }

    /// When the TPD window containing `at` resets.
    pub fn next_reset(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let day = self.day_of(at);
        self.day_start(day.succ_opt().unwrap_or(day))
    }

    /// The UTC calendar days whose ledger files can hold records of TPD day `day`.
    pub fn utc_days_covering(&self, day: NaiveDate) -> Vec<NaiveDate> {
        let start = self.day_start(day);
        let end = self.day_start(day.succ_opt().unwrap_or(day)) - Duration::milliseconds(1);
        let mut days = vec![start.date_naive()];
        if end.date_naive() != start.date_naive() {
            days.push(end.date_naive());
        }
        days
    }

    pub fn describe(&self) -> String {
        match self {
            DayBoundary::Utc => "utc".to_string(),
            DayBoundary::Local => "local".to_string(),
            DayBoundary::Offset(secs) => {
                let sign = if *secs < 0 { '-' } else { '+' };
                let abs = secs.abs();
                format!("{sign}{:02}:{:02}", abs / 3600, (abs % 3600) / 60)
            }
        }
    }
}

/// The first instant of `day` in `zone`: its midnight, or the first instant after it
/// when a DST jump skips midnight.
fn midnight_in<Z: TimeZone>(zone: &Z, day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    for minutes in (0..=180).step_by(15) {
        if let Some(start) = zone
            .from_local_datetime(&(midnight + Duration::minutes(minutes)))
            .earliest()
        {
            return start.with_timezone(&Utc);
        }
    }
    Utc.from_utc_datetime(&midnight)
}

/// Length of the per-minute windows (TPM, RPM).
pub const MINUTE_MS: i64 = 60_000;

/// Whether an event at `at_ms` is inside the sliding minute ending at `now_ms`.
pub fn in_last_minute(at_ms: i64, now_ms: i64) -> bool {
    at_ms > now_ms - MINUTE_MS && at_ms <= now_ms + 5_000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn parses_boundaries() {
        assert_eq!(DayBoundary::parse("UTC"), Some(DayBoundary::Utc));
        assert_eq!(DayBoundary::parse("local"), Some(DayBoundary::Local));
        assert_eq!(
            DayBoundary::parse("+09:00"),
            Some(DayBoundary::Offset(9 * 3600))
        );
        assert_eq!(
            DayBoundary::parse("-0530"),
            Some(DayBoundary::Offset(-(5 * 3600 + 1800)))
        );
        assert_eq!(
            DayBoundary::parse("+8"),
            Some(DayBoundary::Offset(8 * 3600))
        );
        assert_eq!(DayBoundary::parse("tomorrow"), None);
        assert_eq!(DayBoundary::parse("+25:00"), None);
        assert_eq!(DayBoundary::parse(""), None);
    }

    #[test]
    fn utc_day_and_reset() {
        let b = DayBoundary::Utc;
        let t = at("2026-11-22T23:59:59Z");
        assert_eq!(b.day_of(t).to_string(), "2026-11-22");
        assert_eq!(b.next_reset(t), at("2026-11-23T00:00:00Z"));
        assert_eq!(b.utc_days_covering(b.day_of(t)).len(), 1);
    }

    #[test]
    fn offset_day_spans_two_utc_files() {
        let b = DayBoundary::Offset(9 * 3600);
        let t = at("2026-11-22T16:00:00Z"); // 01:00 on the 23rd in +09:00
        assert_eq!(b.day_of(t).to_string(), "2026-11-23");
        assert_eq!(b.next_reset(t), at("2026-11-23T15:00:00Z"));
        let days: Vec<String> = b
            .utc_days_covering(b.day_of(t))
            .iter()
            .map(|d| d.to_string())
            .collect();
        assert_eq!(days, vec!["2026-11-22", "2026-11-23"]);
    }

    #[test]
    fn minute_window_is_sliding() {
        let now = 1_000_000;
        assert!(in_last_minute(now - 59_999, now));
        assert!(!in_last_minute(now - 60_000, now));
        assert!(in_last_minute(now, now));
    }
}
