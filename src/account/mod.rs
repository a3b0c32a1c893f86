//! Account mode: the whole AWS account's Bedrock use, as Amazon CloudWatch records it,
//! next to this machine's own. On a shared account the local ledger sees only this
//! machine's requests; CloudWatch (namespace `AWS/Bedrock`, one-minute points) sees
//! everyone's. A background `team sync` fetches today's minutes through the user's AWS CLI
//! and writes one small file; the hot paths read only that file.
//!
//! Data flow: `query` (what to ask) -> `runner` (the AWS CLI, bounded) -> `metrics`
//! (what came back) -> `file` (what is kept) -> `share` (what the status line and guards
//! make of it). `sync` ties the first four together; `spawn` is the hook's way to start it;
//! `verdict` explains a throttle with the account's numbers, `explain` and `hourly` are
//! what `quota calibrate`, `doctor` and `report` print of them; `bucket` is the region x
//! endpoint type split that quotas follow.

pub mod bucket;
pub mod explain;
pub mod file;
pub mod hourly;
pub mod metrics;
pub mod query;
pub mod runner;
pub mod share;
pub mod spawn;
pub mod sync;
pub mod verdict;

pub use bucket::EndpointType;
pub use file::AccountFile;
pub use runner::{AwsCli, AwsError};
pub use share::AccountView;

use crate::config::{Config, Team};

/// Whether account mode is on.
pub fn enabled(config: &Config) -> bool {
    config.team == Team::CloudWatch
}
