//! `account.json` in the data dir: what the last sync learned from CloudWatch, small
//! enough for the status line to read on every render. Written whole (0600, temp file +
//! rename) by `team sync`; read with a size bound. A failed sync keeps the last good
//! numbers and records why it failed.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::bucket::EndpointType;
use super::metrics::Counts;
use crate::files;

pub const FILE_NAME: &str = "account.json";
/// When the hook last started a sync (or a sync started): the once-per-interval gate.
pub const STARTED_NAME: &str = "account.started";
pub const VERSION: u32 = 1;
/// The file stays far below this (a few models, a day of hours, a few minutes each).
const MAX_BYTES: u64 = 1 << 20;
/// Minutes kept per model for the last-minutes view.
pub const LAST_MINUTES: usize = 5;

/// One quota bucket's account-wide use today: region x endpoint type x model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    #[serde(default)]
    pub region: Option<String>,
    pub endpoint: EndpointType,
    /// The model id as called (CloudWatch's `ModelId`).
    pub model: String,
    /// Canonical model name (for the configured quota bucket and burndown).
    pub model_norm: String,
    /// Burndown rate applied to the output.
    pub burndown: f64,
    /// Everyone's use from the day's start up to the watermark.
    pub account: Counts,
    /// Quota tokens settled account-wide up to the watermark.
    pub settled: u64,
    /// This machine's own settled quota tokens up to the watermark (from the ledger):
    /// already inside `settled`, never to be added again.
    pub own_settled: u64,
    /// Settled quota tokens per hour since the day's start (index 0 = first hour).
    #[serde(default)]
    pub hourly: Vec<u64>,
    /// This machine's settled quota tokens per hour, the same hours.
    #[serde(default)]
    pub own_hourly: Vec<u64>,
}

/// One recent minute of one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Minute {
    pub at: DateTime<Utc>,
    pub model: String,
    pub settled: u64,
    #[serde(default)]
    pub throttles: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastError {
    pub at: DateTime<Utc>,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountFile {
    #[serde(default)]
    pub v: u32,
    /// When the numbers below were fetched (the last successful sync).
    #[serde(default)]
    pub fetched_at: Option<DateTime<Utc>>,
    /// The TPD day they belong to, and the boundary it was cut with.
    #[serde(default)]
    pub day: Option<NaiveDate>,
    #[serde(default)]
    pub boundary: String,
    #[serde(default)]
    pub day_start: Option<DateTime<Utc>>,
    /// The end of the last complete minute: the numbers cover day start .. watermark.
    #[serde(default)]
    pub watermark: Option<DateTime<Utc>>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub buckets: Vec<Bucket>,
    #[serde(default)]
    pub minutes: Vec<Minute>,
    /// Why the last sync failed, if it did (cleared by a good one).
    #[serde(default)]
    pub last_error: Option<LastError>,
    /// Claude model ids CloudWatch has metrics for in this region (`ListMetrics`): the
    /// teammates' models this machine does not use, asked for too. Refreshed hourly.
    #[serde(default)]
    pub discovered: Vec<String>,
    #[serde(default)]
    pub discovered_at: Option<DateTime<Utc>>,
}

impl AccountFile {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(FILE_NAME)
    }

    /// Read without a lock; `None` when missing, unreadable or not ours.
    pub fn read(data_dir: &Path) -> Option<AccountFile> {
        files::read_own_json::<AccountFile>(&Self::path(data_dir), MAX_BYTES)
            .filter(|f| f.v == VERSION)
    }

    pub fn save(&self, data_dir: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(self).expect("account file always serializes");
        files::write_atomic(&Self::path(data_dir), &bytes)
    }

    /// Seconds since the numbers were fetched; `None` without numbers.
    pub fn age_secs(&self, now: DateTime<Utc>) -> Option<i64> {
        self.fetched_at.map(|t| (now - t).num_seconds().max(0))
    }
}

/// When a sync last started, from the marker (`None` if there is none).
pub fn started_at(data_dir: &Path) -> Option<DateTime<Utc>> {
    let bytes = files::read_bounded(&data_dir.join(STARTED_NAME), 128).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Record that a sync starts now.
pub fn mark_started(data_dir: &Path, now: DateTime<Utc>) -> std::io::Result<()> {
    files::write_atomic(&data_dir.join(STARTED_NAME), now.to_rfc3339().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn round_trip_private() {
        let dir = tempfile::tempdir().unwrap();
        let file = AccountFile {
            v: VERSION,
            fetched_at: Some("2026-12-02T11:00:10Z".parse().unwrap()),
            ..AccountFile::default()
        };
        file.save(dir.path()).unwrap();
        let mode = std::fs::metadata(AccountFile::path(dir.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let back = AccountFile::read(dir.path()).unwrap();
        assert_eq!(back, file);
        assert_eq!(
            back.age_secs("2026-12-02T11:02:10Z".parse().unwrap()),
            Some(120)
        );
        let now: DateTime<Utc> = "2026-12-02T11:00:00Z".parse().unwrap();
        mark_started(dir.path(), now).unwrap();
        assert_eq!(started_at(dir.path()), Some(now));
    }
}
