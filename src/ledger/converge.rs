//! Keeps the live state a function of the ledger. The state records how far into each day
//! file it has counted ([`FileMark`]); whoever takes the ledger lock first counts what the
//! files gained since (a writer killed between its append and its state save, a save that
//! failed on a full disk) and counts a file again that was replaced or cut short. So the
//! totals converge to the ledger at the next event, whatever happened to the last writer.
//!
//! Only the day files that can hold today's requests or the last minutes' are counted
//! here ([`LiveState::counted_days`]); older records appended by `import` only teach the
//! state about streams, as they always did.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::live::{LiveState, RECENT_KEEP_MS};
use super::store::{Entry, FileMark, Ledger};
use crate::quota::DayBoundary;

/// The status line counts a grown day file itself only up to this many new bytes (a few
/// requests' worth); more is left to the next writer, which holds the lock.
pub const VIEW_CATCH_UP_MAX: u64 = 64 << 10;

impl LiveState {
    /// The UTC day files whose records count towards today's totals or the sliding minute.
    pub fn counted_days(boundary: DayBoundary, now: DateTime<Utc>) -> Vec<NaiveDate> {
        let mut days = boundary.utc_days_covering(boundary.day_of(now));
        days.push((now - Duration::milliseconds(RECENT_KEEP_MS)).date_naive());
        days.push(now.date_naive());
        days.sort();
        days.dedup();
        days
    }

    /// Count today's totals and the recent window again from the day files, keeping what
    /// the ledger does not hold (requests in flight, streams, warnings, session models).
    pub fn recount(&mut self, ledger: &Ledger, boundary: DayBoundary, now: DateTime<Utc>) {
        self.day = Some(boundary.day_of(now));
        self.boundary = boundary.describe();
        self.today.clear();
        self.throttles = 0;
        self.recent.clear();
        self.counted.clear();
        for day in LiveState::counted_days(boundary, now) {
            self.count_day_from(ledger, day, FileMark::default(), boundary, now);
        }
    }

    /// Count what the day files gained since they were last counted; a file that was
    /// replaced, cut short or deleted means counting again. Caller holds the ledger lock.
    /// Returns whether the totals changed.
    pub fn catch_up(&mut self, ledger: &Ledger, boundary: DayBoundary, now: DateTime<Utc>) -> bool {
        let days = LiveState::counted_days(boundary, now);
        let mut changed = false;
        self.counted.retain(|day, _| {
            let keep = days.contains(day);
            changed |= !keep;
            keep
        });
        for day in days {
            let counted = self.counted.get(&day).copied().unwrap_or_default();
            match ledger.day_mark(day) {
                Ok(Some(mark)) if mark == counted => {}
                Ok(Some(mark)) if counted.same_file(&mark) && mark.len > counted.len => {
                    self.count_day_from(ledger, day, counted, boundary, now);
                    changed = true;
                }
                Ok(None) if counted.len == 0 => {}
                _ => {
                    self.recount(ledger, boundary, now);
                    return true;
                }
            }
        }
        changed
    }

    /// Count records this holder of the lock has just appended to counted day files and
    /// written, without reading them back: only where the state had counted the day file
    /// exactly up to where they begin (it was caught up when the lock was taken, and
    /// nobody else appends meanwhile), so the result is what [`LiveState::catch_up`] would
    /// read. Returns false if that does not hold for some day (the caller catches up from
    /// the files then; days counted here are not counted again).
    pub fn count_own_appends(
        &mut self,
        ledger: &Ledger,
        appended: &[&Entry],
        boundary: DayBoundary,
        now: DateTime<Utc>,
    ) -> bool {
        let mut by_day: Vec<(NaiveDate, Vec<&Entry>)> = Vec::new();
        for entry in appended {
            let day = entry.record.ts.date_naive();
            match by_day.iter_mut().find(|(d, _)| *d == day) {
                Some((_, entries)) => entries.push(entry),
                None => by_day.push((day, vec![entry])),
            }
        }
        let mut all = true;
        for (day, entries) in by_day {
            let Some(mark) = ledger.written_mark(day) else {
                all = false;
                continue;
            };
            let bytes: u64 = entries.iter().map(|e| e.line_len() as u64).sum();
            let counted = self.counted.get(&day).copied().unwrap_or_default();
            let begins_where_counted =
                mark.len.checked_sub(bytes) == Some(counted.len) && counted.same_file(&mark);
            if !begins_where_counted {
                all = false;
                continue;
            }
            for entry in entries {
                self.add_record(&entry.record, boundary, now);
            }
            self.counted.insert(day, mark);
        }
        all
    }

    /// The status line's reading: count a small tail the last writer did not get to (it
    /// was killed, or its save failed), in memory only and without the lock. Anything
    /// else (a new day, a replaced file, a large tail) waits for the next writer.
    pub fn catch_up_view(&mut self, ledger: &Ledger, boundary: DayBoundary, now: DateTime<Utc>) {
        if self.day != Some(boundary.day_of(now)) {
            return;
        }
        for (day, counted) in self.counted.clone() {
            if let Ok(Some(mark)) = ledger.day_mark(day)
                && counted.same_file(&mark)
                && mark.len > counted.len
                && mark.len - counted.len <= VIEW_CATCH_UP_MAX
            {
                self.count_day_from(ledger, day, counted, boundary, now);
            }
        }
    }

    fn count_day_from(
        &mut self,
        ledger: &Ledger,
        day: NaiveDate,
        from: FileMark,
        boundary: DayBoundary,
        now: DateTime<Utc>,
    ) {
        match ledger.read_day_from(day, from.len) {
            Ok((records, mark)) => {
                for record in &records {
                    self.add_record(record, boundary, now);
                }
                self.counted.insert(day, mark);
            }
            // Missing or unreadable: nothing counted from it (a file that appears later is
            // counted from its start).
            Err(_) => {
                self.counted.remove(&day);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::store::{Entry, LedgerLock};
    use crate::ledger::{Kind, Record};
    use crate::paths::Paths;
    use std::io::Write;
    use std::time::Duration as StdDuration;

    fn record(id: &str, ts: &str, settled: u64) -> Record {
        let mut r: Record = serde_json::from_str(&format!(
            r#"{{"v":1,"kind":"request","id":"{id}","ts":"{ts}","session":"s","model":"m","model_norm":"m","burndown":5.0,"input":1,"cache_write":0,"cache_read":0,"output":1,"max_tokens":4096,"max_tokens_source":"api-request","reserved":20481,"settled":6,"outcome":"ok"}}"#
        ))
        .unwrap();
        r.settled = settled;
        r
    }

    struct Day {
        _dir: tempfile::TempDir,
        paths: Paths,
        now: DateTime<Utc>,
    }

    impl Day {
        fn new() -> Day {
            let dir = tempfile::tempdir().unwrap();
            let paths = Paths::at(dir.path());
            Day {
                _dir: dir,
                paths,
                now: "2026-11-22T12:00:00Z".parse().unwrap(),
            }
        }

        fn append(&self, records: &[Record]) {
            let lock = LedgerLock::acquire(&self.paths, StdDuration::ZERO)
                .unwrap()
                .unwrap();
            let mut ledger = Ledger::new(&self.paths);
            ledger
                .append(&lock, records.iter().cloned().map(Entry::new).collect())
                .unwrap();
            ledger.flush().unwrap();
        }

        fn state(&self) -> LiveState {
            LiveState::rebuild(&Ledger::new(&self.paths), DayBoundary::Utc, self.now)
        }

        fn settled(state: &LiveState) -> u64 {
            state.today.values().map(|t| t.settled).sum()
        }
    }

    #[test]
    fn records_appended_after_the_state_was_saved_are_counted_at_the_next_load() {
        // A writer killed between its append and its state save.
        let day = Day::new();
        day.append(&[record("a", "2026-11-22T11:00:00Z", 5)]);
        let mut state = day.state();
        assert_eq!(Day::settled(&state), 5);
        day.append(&[
            record("b", "2026-11-22T11:30:00Z", 7),
            record("c", "2026-11-22T11:59:30Z", 11),
        ]);
        let ledger = Ledger::new(&day.paths);
        assert!(state.catch_up(&ledger, DayBoundary::Utc, day.now));
        assert_eq!(Day::settled(&state), 23);
        assert_eq!(state.today["m"].requests, 3);
        assert_eq!(state.recent.iter().map(|r| r.settled).sum::<u64>(), 11);
        assert!(!state.catch_up(&ledger, DayBoundary::Utc, day.now));
        assert_eq!(Day::settled(&state), 23, "counted once");
    }

    #[test]
    fn a_deleted_or_shortened_day_file_is_counted_again() {
        let day = Day::new();
        day.append(&[
            record("a", "2026-11-22T11:00:00Z", 5),
            record("b", "2026-11-22T11:10:00Z", 7),
        ]);
        let mut state = day.state();
        let ledger = Ledger::new(&day.paths);
        let file = ledger.day_file("2026-11-22".parse().unwrap());
        std::fs::remove_file(&file).unwrap();
        std::fs::remove_file(file.with_extension("idx")).unwrap();
        assert!(state.catch_up(&ledger, DayBoundary::Utc, day.now));
        assert_eq!(Day::settled(&state), 0);
        // Re-read transcripts append the same requests again, into a new file.
        day.append(&[record("a", "2026-11-22T11:00:00Z", 5)]);
        assert!(state.catch_up(&ledger, DayBoundary::Utc, day.now));
        assert_eq!(Day::settled(&state), 5);
    }

    #[test]
    fn a_torn_tail_is_counted_once_it_is_whole() {
        let day = Day::new();
        day.append(&[record("a", "2026-11-22T11:00:00Z", 5)]);
        let mut state = day.state();
        let ledger = Ledger::new(&day.paths);
        let file = ledger.day_file("2026-11-22".parse().unwrap());
        let mut line = Vec::new();
        record("b", "2026-11-22T11:10:00Z", 7).write_line(&mut line);
        let (head, tail) = line.split_at(40);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&file)
            .unwrap();
        f.write_all(head).unwrap();
        state.catch_up(&ledger, DayBoundary::Utc, day.now);
        assert_eq!(Day::settled(&state), 5);
        f.write_all(tail).unwrap();
        state.catch_up(&ledger, DayBoundary::Utc, day.now);
        assert_eq!(Day::settled(&state), 12);
    }

    #[test]
    fn a_record_torn_before_its_newline_is_counted_once_after_repair() {
        // Only the newline was lost: the repair must index it, or the same request is
        // appended again and counted twice.
        let day = Day::new();
        day.append(&[record("a", "2026-11-22T11:00:00Z", 5)]);
        let ledger = Ledger::new(&day.paths);
        let file = ledger.day_file("2026-11-22".parse().unwrap());
        let mut line = Vec::new();
        record("b", "2026-11-22T11:10:00Z", 7).write_line(&mut line);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&file)
            .unwrap();
        f.write_all(&line[..line.len() - 1]).unwrap();
        day.append(&[record("b", "2026-11-22T11:10:00Z", 7)]);
        let state = day.state();
        assert_eq!(Day::settled(&state), 12);
        assert_eq!(state.today["m"].requests, 2);
    }

    #[test]
    fn the_status_line_counts_a_small_tail_without_the_lock() {
        let day = Day::new();
        day.append(&[record("a", "2026-11-22T11:00:00Z", 5)]);
        let mut state = day.state();
        day.append(&[record("b", "2026-11-22T11:10:00Z", 7)]);
        state.catch_up_view(&Ledger::new(&day.paths), DayBoundary::Utc, day.now);
        assert_eq!(Day::settled(&state), 12);
    }

    #[test]
    fn throttles_and_kinds_count_as_a_rebuild_would() {
        let day = Day::new();
        let mut throttle = record("t", "2026-11-22T11:20:00Z", 0);
        throttle.kind = Kind::Throttle;
        day.append(&[record("a", "2026-11-22T11:00:00Z", 5)]);
        let mut state = day.state();
        day.append(&[throttle, record("b", "2026-11-21T23:59:00Z", 9)]);
        state.catch_up(&Ledger::new(&day.paths), DayBoundary::Utc, day.now);
        let rebuilt = day.state();
        assert_eq!(state.today, rebuilt.today);
        assert_eq!(state.throttles, 1);
        assert_eq!(state.counted, rebuilt.counted);
    }

    /// What a writer does: its own records counted as it appends them, without reading the
    /// day file back, unless something it did not write is there too.
    fn append_and_count(day: &Day, state: &mut LiveState, records: &[Record]) -> bool {
        let lock = LedgerLock::acquire(&day.paths, StdDuration::ZERO)
            .unwrap()
            .unwrap();
        let mut ledger = Ledger::new(&day.paths);
        let appended = ledger
            .append(&lock, records.iter().cloned().map(Entry::new).collect())
            .unwrap();
        ledger.flush().unwrap();
        // As the writer does: records of days not counted from the files are added alone.
        let days = LiveState::counted_days(DayBoundary::Utc, day.now);
        let (counted_days, others): (Vec<&Entry>, Vec<&Entry>) = appended
            .iter()
            .partition(|e| days.contains(&e.record.ts.date_naive()));
        for entry in others {
            state.add_record(&entry.record, DayBoundary::Utc, day.now);
        }
        let appended = counted_days;
        let counted = state.count_own_appends(&ledger, &appended, DayBoundary::Utc, day.now);
        if !counted {
            state.catch_up(&ledger, DayBoundary::Utc, day.now);
        }
        counted
    }

    #[test]
    fn own_appends_count_as_reading_them_back_would() {
        let day = Day::new();
        day.append(&[record("a", "2026-11-22T11:00:00Z", 5)]);
        let mut state = day.state();
        let mut throttle = record("t", "2026-11-22T11:59:20Z", 0);
        throttle.kind = Kind::Throttle;
        assert!(append_and_count(
            &day,
            &mut state,
            &[
                record("b", "2026-11-22T11:59:30Z", 7),
                throttle,
                record("c", "2026-11-21T23:59:00Z", 9),
            ]
        ));
        let rebuilt = day.state();
        assert_eq!(state.today, rebuilt.today);
        assert_eq!(state.recent, rebuilt.recent);
        assert_eq!(state.throttles, 1);
        assert_eq!(state.counted, rebuilt.counted);
        // The first record of a new day file.
        let mut fresh = Day::new().state();
        let empty = Day::new();
        assert!(append_and_count(
            &empty,
            &mut fresh,
            &[record("d", "2026-11-22T11:00:00Z", 3)]
        ));
        assert_eq!(fresh.counted, empty.state().counted);
        assert_eq!(Day::settled(&fresh), 3);
    }

    #[test]
    fn own_appends_after_bytes_the_state_has_not_counted_are_read_back() {
        // A killed writer's line the state never counted sits before this writer's.
        let day = Day::new();
        day.append(&[record("a", "2026-11-22T11:00:00Z", 5)]);
        let mut state = day.state();
        day.append(&[record("b", "2026-11-22T11:10:00Z", 7)]);
        assert!(!append_and_count(
            &day,
            &mut state,
            &[record("c", "2026-11-22T11:20:00Z", 11)]
        ));
        assert_eq!(Day::settled(&state), 23, "each counted once");
        assert_eq!(state.counted, day.state().counted);
    }
}
