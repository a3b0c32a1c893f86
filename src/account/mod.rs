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

/// `bedrock-hook team`'s subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Fetch today's per-minute Bedrock metrics from CloudWatch (through the AWS CLI) and
    /// write them to the data dir; the hook runs this in the background.
    Sync {
        /// Print nothing (the hook's background run; failures go to the file).
        #[arg(long)]
        background: bool,
    },
}

/// Whether account mode is on.
pub fn enabled(config: &Config) -> bool {
    config.team == Team::CloudWatch
}
