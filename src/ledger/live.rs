//! The live state: a small summary of "now" that the status line and the guards read
//! instead of the ledger, so they cost the same with one day of history or a year.
//!
//! It holds today's totals per model, the requests settled in the last two minutes (for
//! the sliding TPM/RPM windows), the requests in flight, and what each session's last
//! request looked like. It is rewritten whole through a swap file
//! (`files::replace_through_swap`) under the ledger lock; readers take no lock. Missing,
//! unreadable or of another version, it is rebuilt from the ledger; otherwise it counts what
//! the ledger gained since it was saved (see [`super::converge`]).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::record::{Kind, MaxTokensSource, Record};
use super::store::{FileMark, Ledger};
use crate::files;
use crate::quota::DayBoundary;

/// How long settled requests stay in `recent` (the windows look back 60 s).
pub(super) const RECENT_KEEP_MS: i64 = 120_000;
/// Upper bound on `recent`, whatever the request rate.
const RECENT_MAX: usize = 4096;
/// Largest live state read: far above what the bounds above let it reach; anything larger
/// is not ours and is rebuilt from the ledger.
const STATE_MAX_BYTES: u64 = 32 << 20;
/// Sessions not seen for this long drop out of `streams`.
const STREAM_KEEP_MS: i64 = 24 * 3600 * 1000;
/// How far ahead of now a recorded time may be before the clock counts as stepped back.
const CLOCK_SLACK_MS: i64 = 60_000;
/// Upper bound on `streams`: the least recently used give way. The status line parses the
/// whole state on every render, and a day of subagents left one entry each (68 after an
/// ordinary day's ledger, three quarters of the file).
const STREAMS_MAX: usize = 24;
/// Upper bound on `session_models`: the oldest give way.
const SESSION_MODELS_MAX: usize = 256;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub requests: u64,
    pub settled: u64,
    pub reserved: u64,
    pub input: u64,
    pub cache_write: u64,
    pub cache_read: u64,
    pub output: u64,
}

impl Totals {
    pub fn add(&mut self, record: &Record) {
        if record.kind == Kind::Request {
            self.requests += 1;
        }
        self.settled += record.settled;
        self.reserved += record.reserved;
        self.input += record.input;
        self.cache_write += record.cache_write;
        self.cache_read += record.cache_read;
        self.output += record.output;
    }
}

/// What settled in one second for one model. Kept per second, not per request, so the
/// live state stays small however busy the minute (it is read and written on every hook).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recent {
    /// The last millisecond of that second: the window keeps it while any part is inside.
    pub at_ms: i64,
    pub model: String,
    pub settled: u64,
    /// Requests among them (side totals are not requests and do not count towards RPM).
    #[serde(default)]
    pub requests: u64,
}

/// A request believed to be on its way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InFlight {
    pub since_ms: i64,
    pub model: String,
    pub reservation: u64,
}

/// What the last request of one session or subagent looked like: the best guess for
/// its next one. Saved as an array in field order (most of a busy state is these, and
/// every status line parses them: without the field names a day's 24 streams are a third
/// shorter); read from an array or, as states before it were written, an object.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StreamInfo {
    pub at_ms: i64,
    pub model: String,
    pub model_norm: String,
    pub burndown: f64,
    pub max_tokens: u64,
    pub max_tokens_source: MaxTokensSource,
    /// Input + cache write + cache read of the last request: the context the next
    /// request will carry at least.
    pub context: u64,
    /// Input + cache write of the last request.
    pub billed_input: u64,
}

impl Serialize for StreamInfo {
    fn serialize<S: serde::Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        (
            self.at_ms,
            &self.model,
            &self.model_norm,
            self.burndown,
            self.max_tokens,
            self.max_tokens_source,
            self.context,
            self.billed_input,
        )
            .serialize(out)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveState {
    #[serde(default)]
    pub v: u32,
    /// The TPD day the totals belong to.
    #[serde(default)]
    pub day: Option<NaiveDate>,
    /// The day boundary the totals were computed with.
    #[serde(default)]
    pub boundary: String,
    /// Today's totals by canonical model name.
    #[serde(default)]
    pub today: BTreeMap<String, Totals>,
    #[serde(default, with = "recent_wire")]
    pub recent: Vec<Recent>,
    /// By stream key (`session` or `session/agent`).
    #[serde(default)]
    pub inflight: BTreeMap<String, InFlight>,
    #[serde(default)]
    pub streams: BTreeMap<String, StreamInfo>,
    /// Throttles seen today.
    #[serde(default)]
    pub throttles: u64,
    /// Largest output of any request seen (for max_tokens advice).
    #[serde(default)]
    pub max_output_seen: u64,
    /// The model each session's status line last showed (hook inputs carry none):
    /// session -> (when seen, model id as the client reports it).
    #[serde(default)]
    pub session_models: BTreeMap<String, (i64, String)>,
    /// Guard warnings already shown: `session|reason` -> when (ms).
    #[serde(default)]
    pub warned: BTreeMap<String, i64>,
    /// How far into each counted UTC day file the totals above have counted.
    #[serde(default)]
    pub counted: BTreeMap<NaiveDate, FileMark>,
    /// Throttle explanations waiting for their session's next prompt, and the last
    /// throttle for the status line (see `ledger::notes`).
    #[serde(default)]
    pub throttle_notes: super::notes::ThrottleNotes,
}

/// 3: `counted` (a state without it cannot tell what it has counted: rebuilt).
/// 4: `recent` as flat triples per model (`recent_wire`). Streams have been written as
/// arrays since (`StreamInfo`), which version 4 readers read as well: no new version.
pub const STATE_VERSION: u32 = 4;

impl LiveState {
    /// Read without a lock. `None` if missing, unreadable, or not a regular file of a
    /// sane size (a FIFO or a link to a device in its place must not block or fill memory).
    pub fn read(path: &Path) -> Option<LiveState> {
        files::read_own_json::<LiveState>(path, STATE_MAX_BYTES).filter(|s| s.v == STATE_VERSION)
    }

    /// Load for updating (caller holds the ledger lock): rebuilt from the ledger when
    /// missing, unreadable, or computed with another day boundary; counted again from the
    /// ledger when the day changed (either way: the clock may have been stepped back);
    /// otherwise brought up to what the ledger gained since it was saved. The flag says
    /// whether it differs from what is on disk.
    pub fn load_for_update(
        path: &Path,
        ledger: &Ledger,
        boundary: DayBoundary,
        now: DateTime<Utc>,
    ) -> (LiveState, bool) {
        match LiveState::read(path) {
            Some(mut state) if state.boundary == boundary.describe() => {
                if state.day != Some(boundary.day_of(now)) {
                    state.recount(ledger, boundary, now);
                    (state, true)
                } else {
                    let changed = state.catch_up(ledger, boundary, now);
                    (state, changed)
                }
            }
            _ => (LiveState::rebuild(ledger, boundary, now), true),
        }
    }

    /// Compute today's totals from the ledger day files.
    pub fn rebuild(ledger: &Ledger, boundary: DayBoundary, now: DateTime<Utc>) -> LiveState {
        let mut state = LiveState {
            v: STATE_VERSION,
            ..LiveState::default()
        };
        state.recount(ledger, boundary, now);
        state
    }

    /// Caller holds the ledger lock (the swap file beside it is the lock holder's).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(self).expect("state always serializes");
        files::replace_through_swap(path, &path.with_extension("swap"), &bytes)
    }

    /// Count a newly appended record.
    pub fn add_record(&mut self, record: &Record, boundary: DayBoundary, now: DateTime<Utc>) {
        if Some(boundary.day_of(record.ts)) == self.day {
            if record.kind == Kind::Throttle {
                self.throttles += 1;
            } else {
                self.today
                    .entry(record.model_norm.clone())
                    .or_default()
                    .add(record);
            }
        }
        if record.kind == Kind::Throttle {
            return;
        }
        let at_ms = record.settled_at().timestamp_millis();
        // Side totals carry the session's exit time, not when their requests ran: they
        // count towards the day only, never the sliding minute.
        let now_ms = now.timestamp_millis();
        if record.kind != Kind::Side
            && at_ms > now_ms - RECENT_KEEP_MS
            && at_ms <= now_ms + CLOCK_SLACK_MS
        {
            let second_end = at_ms - at_ms.rem_euclid(1000) + 999;
            let requests = u64::from(record.kind == Kind::Request);
            match self
                .recent
                .iter_mut()
                .find(|r| r.at_ms == second_end && r.model == record.model_norm)
            {
                Some(bucket) => {
                    bucket.settled += record.settled;
                    bucket.requests += requests;
                }
                None => self.recent.push(Recent {
                    at_ms: second_end,
                    model: record.model_norm.clone(),
                    settled: record.settled,
                    requests,
                }),
            }
        }
        if record.kind != Kind::Request {
            return;
        }
        self.max_output_seen = self.max_output_seen.max(record.output);
        let key = crate::quota::inflight::stream_key(&record.session, record.agent.as_deref());
        // Its response is in: it no longer counts at its full reservation.
        if self
            .inflight
            .get(&key)
            .is_some_and(|f| f.since_ms <= at_ms + 1_000)
        {
            self.inflight.remove(&key);
        }
        // A request without a response says nothing about the context the next one carries;
        // a side request (the classifier, a title) nothing about the model and max_tokens.
        let answered = record.outcome == super::record::Outcome::Ok && !record.is_side_request();
        let newer = self.streams.get(&key).is_none_or(|s| s.at_ms <= at_ms);
        if answered
            && newer
            && let Some(max_tokens) = record.max_tokens
        {
            self.streams.insert(
                key,
                StreamInfo {
                    at_ms,
                    model: record.model.clone(),
                    model_norm: record.model_norm.clone(),
                    burndown: record.burndown,
                    max_tokens,
                    max_tokens_source: record.max_tokens_source,
                    context: record.input + record.cache_write + record.cache_read,
                    billed_input: record.input + record.cache_write,
                },
            );
        }
    }

    /// Drop what has aged out: old recent entries, stale in-flight entries, idle streams.
    /// Returns whether anything was dropped.
    pub fn expire(&mut self, now: DateTime<Utc>, inflight_stale_secs: u64) -> bool {
        let before = (
            self.recent.len(),
            self.inflight.len(),
            self.streams.len(),
            self.warned.len(),
        );
        let now_ms = now.timestamp_millis();
        // A time ahead of now means the clock was stepped back since it was taken: an age
        // measured from it would never run out. Such entries start their age again now
        // (requests in flight, streams, models) or are dropped (windows, warnings).
        let future = now_ms + CLOCK_SLACK_MS;
        let mut restarted = false;
        for since in self
            .inflight
            .values_mut()
            .map(|f| &mut f.since_ms)
            .chain(self.streams.values_mut().map(|s| &mut s.at_ms))
            .chain(self.session_models.values_mut().map(|(at, _)| at))
            .filter(|at| **at > future)
        {
            *since = now_ms;
            restarted = true;
        }
        self.warned.retain(|_, at| *at <= future);
        self.recent
            .retain(|r| r.at_ms > now_ms - RECENT_KEEP_MS && r.at_ms <= future);
        if self.recent.len() > RECENT_MAX {
            self.recent.sort_by_key(|r| r.at_ms);
            let excess = self.recent.len() - RECENT_MAX;
            self.recent.drain(..excess);
        }
        let stale_ms = (inflight_stale_secs as i64).saturating_mul(1000);
        self.inflight.retain(|_, f| f.since_ms > now_ms - stale_ms);
        self.streams
            .retain(|_, s| s.at_ms > now_ms - STREAM_KEEP_MS);
        super::bounded::keep_newest(&mut self.streams, STREAMS_MAX, |s| s.at_ms);
        self.warned.retain(|_, at| *at > now_ms - STREAM_KEEP_MS);
        self.session_models
            .retain(|_, (at, _)| *at > now_ms - STREAM_KEEP_MS);
        restarted
            || before
                != (
                    self.recent.len(),
                    self.inflight.len(),
                    self.streams.len(),
                    self.warned.len(),
                )
    }

    /// The model the status line last showed for `session`.
    pub fn session_model(&self, session: &str) -> Option<&str> {
        self.session_models.get(session).map(|(_, m)| m.as_str())
    }

    /// Remember the model the status line shows for `session`; bounded (the oldest
    /// sessions give way). Returns whether anything changed.
    pub fn remember_model(&mut self, session: &str, model: &str, now_ms: i64) -> bool {
        if self.session_model(session) == Some(model) {
            return false;
        }
        self.session_models
            .insert(session.to_string(), (now_ms, model.to_string()));
        super::bounded::keep_newest(&mut self.session_models, SESSION_MODELS_MAX, |(at, _)| *at);
        true
    }

    /// The session's own last stream info: the stream's, else the session's main stream.
    pub fn own_stream(&self, session: &str, key: &str) -> Option<&StreamInfo> {
        self.streams.get(key).or_else(|| self.streams.get(session))
    }

    /// The stream info that best predicts the next request of `key`: its own, else the
    /// session's main stream, else the most recent of any.
    pub fn predict(&self, session: &str, key: &str) -> Option<&StreamInfo> {
        self.streams
            .get(key)
            .or_else(|| self.streams.get(session))
            .or_else(|| self.streams.values().max_by_key(|s| s.at_ms))
    }
}

/// `recent` on disk: per model, one flat array of `at_ms, settled, requests` triples
/// (`{"claude-opus-5-5":[1796233047999,150036,7,...]}`). A busy minute holds a hundred
/// entries, most of the state's bytes when written as objects (the model name and three
/// keys each), and the status line parses the state on every render.
mod recent_wire {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Recent;

    pub fn serialize<S: Serializer>(recent: &[Recent], out: S) -> Result<S::Ok, S::Error> {
        let mut by_model: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
        for r in recent {
            // Only times inside the last minutes are kept: never before 1970.
            let at_ms = u64::try_from(r.at_ms).unwrap_or(0);
            by_model
                .entry(&r.model)
                .or_default()
                .extend([at_ms, r.settled, r.requests]);
        }
        by_model.serialize(out)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(input: D) -> Result<Vec<Recent>, D::Error> {
        let by_model = BTreeMap::<String, Vec<u64>>::deserialize(input)?;
        let mut recent = Vec::new();
        for (model, flat) in by_model {
            if flat.len() % 3 != 0 {
                return Err(serde::de::Error::custom("recent: not triples"));
            }
            for triple in flat.chunks_exact(3) {
                recent.push(Recent {
                    at_ms: i64::try_from(triple[0]).map_err(serde::de::Error::custom)?,
                    model: model.clone(),
                    settled: triple[1],
                    requests: triple[2],
                });
            }
        }
        Ok(recent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::store::{Entry, LedgerLock};
    use crate::paths::Paths;
    use std::time::Duration;

    fn record(id: &str, ts: &str, settled: u64) -> Record {
        let mut r: Record = serde_json::from_str(&format!(
            r#"{{"v":1,"kind":"request","id":"{id}","ts":"{ts}","session":"s","model":"us.anthropic.claude-opus-5-5","model_norm":"claude-opus-5-5","burndown":10.0,"input":100,"cache_write":0,"cache_read":50,"output":10,"max_tokens":128000,"max_tokens_source":"api-request","reserved":1280100,"settled":200,"outcome":"ok"}}"#
        ))
        .unwrap();
        r.settled = settled;
        r
    }

    #[test]
    fn totals_count_only_today_and_recent_only_last_minutes() {
        let now: DateTime<Utc> = "2026-11-22T12:00:00Z".parse().unwrap();
        let mut state = LiveState {
            v: STATE_VERSION,
            day: Some(DayBoundary::Utc.day_of(now)),
            ..Default::default()
        };
        state.add_record(
            &record("a", "2026-11-21T23:00:00Z", 7),
            DayBoundary::Utc,
            now,
        );
        state.add_record(
            &record("b", "2026-11-22T11:00:00Z", 11),
            DayBoundary::Utc,
            now,
        );
        state.add_record(
            &record("c", "2026-11-22T11:59:30Z", 13),
            DayBoundary::Utc,
            now,
        );
        assert_eq!(state.today["claude-opus-5-5"].settled, 24);
        assert_eq!(state.today["claude-opus-5-5"].requests, 2);
        assert_eq!(state.recent.len(), 1);
        let info = state.predict("s", "s").unwrap();
        assert_eq!(info.max_tokens, 128000);
        assert_eq!(info.context, 150);
    }

    #[test]
    fn throttled_request_keeps_the_streams_last_context() {
        let now: DateTime<Utc> = "2026-11-22T12:00:00Z".parse().unwrap();
        let mut state = LiveState {
            v: STATE_VERSION,
            day: Some(now.date_naive()),
            ..Default::default()
        };
        state.add_record(
            &record("a", "2026-11-22T11:59:00Z", 1),
            DayBoundary::Utc,
            now,
        );
        let mut throttled = record("b", "2026-11-22T11:59:30Z", 0);
        throttled.outcome = crate::ledger::Outcome::NoResponse;
        throttled.input = 0;
        throttled.cache_read = 0;
        state.add_record(&throttled, DayBoundary::Utc, now);
        assert_eq!(state.predict("s", "s").unwrap().context, 150);
    }

    #[test]
    fn recent_entries_survive_a_save_in_their_compact_form() {
        let recent = vec![
            Recent {
                at_ms: 1_796_233_047_999,
                model: "claude-opus-5-5".into(),
                settled: 150_036,
                requests: 7,
            },
            Recent {
                at_ms: 1_796_233_048_999,
                model: "claude-haiku-4-5".into(),
                settled: 12,
                requests: 0,
            },
            Recent {
                at_ms: 1_796_233_049_999,
                model: "claude-opus-5-5".into(),
                settled: 9,
                requests: 1,
            },
        ];
        let state = LiveState {
            v: STATE_VERSION,
            recent: recent.clone(),
            ..Default::default()
        };
        let json = serde_json::to_string(&state).unwrap();
        assert!(
            json.contains(r#""recent":{"claude-haiku-4-5":[1796233048999,12,0],"claude-opus-5-5":[1796233047999,150036,7,1796233049999,9,1]}"#),
            "{json}"
        );
        let mut back = serde_json::from_str::<LiveState>(&json).unwrap().recent;
        back.sort_by_key(|r| r.at_ms);
        assert_eq!(back, recent);
        let torn = json.replace(",9,1]", ",9]");
        assert!(serde_json::from_str::<LiveState>(&torn).is_err());
    }

    #[test]
    fn streams_are_saved_as_arrays_and_read_in_either_form() {
        let stream = StreamInfo {
            at_ms: 1_796_233_047_999,
            model: "us.anthropic.claude-opus-5-5".into(),
            model_norm: "claude-opus-5-5".into(),
            burndown: 10.0,
            max_tokens: 128_000,
            max_tokens_source: MaxTokensSource::ApiRequest,
            context: 183_023,
            billed_input: 3_023,
        };
        let state = LiveState {
            v: STATE_VERSION,
            streams: [("s".to_string(), stream.clone())].into(),
            ..Default::default()
        };
        let json = serde_json::to_string(&state).unwrap();
        assert!(
            json.contains(r#""streams":{"s":[1796233047999,"us.anthropic.claude-opus-5-5","claude-opus-5-5",10.0,128000,"api-request",183023,3023]}"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<LiveState>(&json).unwrap(), state);
        // As version 4 states were first written, and as a build before this one reads
        // what this one writes.
        let object = json.replace(
            r#"[1796233047999,"us.anthropic.claude-opus-5-5","claude-opus-5-5",10.0,128000,"api-request",183023,3023]"#,
            r#"{"at_ms":1796233047999,"model":"us.anthropic.claude-opus-5-5","model_norm":"claude-opus-5-5","burndown":5.0,"max_tokens":128000,"max_tokens_source":"api-request","context":183023,"billed_input":3023}"#,
        );
        let read = serde_json::from_str::<LiveState>(&object).unwrap();
        assert_eq!(
            read.streams["s"],
            StreamInfo {
                burndown: 5.0,
                ..stream
            }
        );
        let short = json.replace(",183023,3023]", ",183023]");
        assert!(serde_json::from_str::<LiveState>(&short).is_err());
    }

    #[test]
    fn recent_requests_add_up_per_second_and_model() {
        // The state is read and rewritten on every hook: a busy minute must not grow it
        // by one entry per request.
        let now: DateTime<Utc> = "2026-11-22T12:00:00Z".parse().unwrap();
        let mut state = LiveState {
            v: STATE_VERSION,
            day: Some(now.date_naive()),
            ..Default::default()
        };
        for (id, ts) in [
            ("a", "2026-11-22T11:59:30.100Z"),
            ("b", "2026-11-22T11:59:30.900Z"),
            ("c", "2026-11-22T11:59:31.000Z"),
        ] {
            state.add_record(&record(id, ts, 10), DayBoundary::Utc, now);
        }
        assert_eq!(state.recent.len(), 2);
        assert_eq!((state.recent[0].settled, state.recent[0].requests), (20, 2));
        assert_eq!(
            state.recent[0].at_ms,
            "2026-11-22T11:59:30.999Z"
                .parse::<DateTime<Utc>>()
                .unwrap()
                .timestamp_millis()
        );
    }

    #[test]
    fn side_totals_count_for_the_day_but_not_the_minute() {
        let now: DateTime<Utc> = "2026-11-22T12:00:00Z".parse().unwrap();
        let mut side = record("side:s", "2026-11-22T11:59:59Z", 806_000);
        side.kind = Kind::Side;
        let mut state = LiveState {
            day: Some(now.date_naive()),
            ..LiveState::default()
        };
        state.add_record(&side, DayBoundary::Utc, now);
        assert_eq!(state.today["claude-opus-5-5"].settled, 806_000);
        assert!(state.recent.is_empty(), "{:?}", state.recent);
    }

    #[test]
    fn a_side_request_does_not_become_the_streams_forecast() {
        // The auto-mode classifier answers between two main-loop requests of the session.
        let now: DateTime<Utc> = "2026-11-22T12:00:00Z".parse().unwrap();
        let mut state = LiveState {
            day: Some(now.date_naive()),
            ..LiveState::default()
        };
        state.add_record(
            &record("a", "2026-11-22T11:59:00Z", 1),
            DayBoundary::Utc,
            now,
        );
        let mut classifier = record("b", "2026-11-22T11:59:10Z", 1);
        classifier.max_tokens = Some(8192);
        classifier.query_source = Some("auto_mode".into());
        classifier.model_norm = "claude-haiku-4-5".into();
        state.add_record(&classifier, DayBoundary::Utc, now);
        let next = state.predict("s", "s").unwrap();
        assert_eq!(
            (next.max_tokens, next.model_norm.as_str()),
            (128000, "claude-opus-5-5")
        );
        assert_eq!(state.today["claude-haiku-4-5"].requests, 1, "still counted");
    }

    #[test]
    fn streams_are_bounded_and_the_most_recent_stay() {
        let now: DateTime<Utc> = "2026-11-22T12:00:00Z".parse().unwrap();
        let mut state = LiveState {
            day: Some(now.date_naive()),
            ..LiveState::default()
        };
        for n in 0..40 {
            let mut r = record(&format!("r{n}"), "2026-11-22T11:00:00Z", 1);
            r.ts += chrono::Duration::seconds(n);
            r.session = format!("s{n}");
            state.add_record(&r, DayBoundary::Utc, now);
        }
        assert_eq!(state.streams.len(), 40);
        assert!(state.expire(now, 600));
        assert_eq!(state.streams.len(), STREAMS_MAX);
        assert!(state.streams.contains_key("s39"));
        assert!(!state.streams.contains_key("s0"));
    }

    #[test]
    fn remembered_models_are_bounded_and_expire() {
        let mut state = LiveState::default();
        assert!(state.remember_model("s0", "m", 0));
        assert!(!state.remember_model("s0", "m", 1));
        for i in 1..=SESSION_MODELS_MAX as i64 {
            state.remember_model(&format!("s{i}"), "m", i);
        }
        assert_eq!(state.session_models.len(), SESSION_MODELS_MAX);
        assert_eq!(state.session_model("s0"), None);
        assert_eq!(state.session_model("s1"), Some("m"));
        let later = DateTime::from_timestamp_millis(STREAM_KEEP_MS + 2).unwrap();
        state.expire(later, 60);
        assert_eq!(state.session_model("s1"), None);
        assert_eq!(state.session_models.len(), SESSION_MODELS_MAX - 2);
    }

    #[test]
    fn response_clears_its_inflight_entry() {
        let now: DateTime<Utc> = "2026-11-22T12:00:00Z".parse().unwrap();
        let mut state = LiveState {
            v: STATE_VERSION,
            day: Some(now.date_naive()),
            ..Default::default()
        };
        state.inflight.insert(
            "s".into(),
            InFlight {
                since_ms: now.timestamp_millis() - 5000,
                model: "m".into(),
                reservation: 9,
            },
        );
        state.add_record(
            &record("a", "2026-11-22T11:59:58Z", 1),
            DayBoundary::Utc,
            now,
        );
        assert!(state.inflight.is_empty());
    }

    #[test]
    fn rebuild_reads_the_ledger_and_rolls_over() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::at(dir.path());
        let mut ledger = Ledger::new(&paths);
        let lock = LedgerLock::acquire(&paths, Duration::ZERO)
            .unwrap()
            .unwrap();
        ledger
            .append(
                &lock,
                vec![
                    Entry::new(record("a", "2026-11-22T01:00:00Z", 5)),
                    Entry::new(record("b", "2026-11-21T01:00:00Z", 3)),
                ],
            )
            .unwrap();
        ledger.flush().unwrap();
        let now: DateTime<Utc> = "2026-11-22T12:00:00Z".parse().unwrap();
        let (state, _) =
            LiveState::load_for_update(&paths.state_file(), &ledger, DayBoundary::Utc, now);
        assert_eq!(state.today["claude-opus-5-5"].settled, 5);
        state.save(&paths.state_file()).unwrap();
        let tomorrow: DateTime<Utc> = "2026-11-23T00:00:01Z".parse().unwrap();
        let (rolled, changed) =
            LiveState::load_for_update(&paths.state_file(), &ledger, DayBoundary::Utc, tomorrow);
        assert!(changed);
        assert!(rolled.today.is_empty());
        let other_boundary = DayBoundary::Offset(3600);
        let (rebuilt, _) =
            LiveState::load_for_update(&paths.state_file(), &ledger, other_boundary, now);
        assert_eq!(rebuilt.boundary, "+01:00");
    }
}
