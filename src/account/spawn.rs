//! The hook's part in account mode: start one detached `team sync` at most once per
//! `team_interval_secs`, as it starts the catch-up reader. Only a tiny marker file is read
//! and written here; the network is the child's business, and nothing waits for it.

use chrono::{DateTime, Utc};

use super::file;
use crate::config::Config;
use crate::paths::Paths;

/// Start a background sync when account mode is on and none started within the interval.
/// Returns the trouble, if any, as one line for the hook's stderr.
pub fn if_due(paths: &Paths, config: &Config, now: DateTime<Utc>) -> Option<String> {
    if !super::enabled(config) || !due(paths, config, now) {
        return None;
    }
    start(paths, now).err()
}

fn due(paths: &Paths, config: &Config, now: DateTime<Utc>) -> bool {
    match file::started_at(&paths.data_dir) {
        // A marker from the future (clock moved back) does not stop syncs for good.
        Some(at) => {
            let age = (now - at).num_seconds();
            !(0..config.team_interval_secs as i64).contains(&age)
        }
        None => true,
    }
}

fn start(paths: &Paths, now: DateTime<Utc>) -> Result<(), String> {
    file::mark_started(&paths.data_dir, now)
        .map_err(|e| format!("account mode: cannot write the sync marker: {e}"))?;
    crate::detach::start_own(["team", "sync", "--background"])
        .map_err(|e| format!("account mode: starting the CloudWatch sync: {e}"))
}
