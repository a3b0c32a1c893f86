//! The command line of everything that is not a hot path. `hook` and `statusline` are
//! dispatched in `lib.rs` before this parser is built; they appear here for `--help`.
//!
//! Each command's arguments live in its own module; this file only names the commands.

use clap::{Parser, Subcommand};

use crate::{account, doctor, hook, import, install, quota_setup, report, status};

#[derive(Debug, Parser)]
#[command(
    name = "bedrock-hook",
    version,
    about = "Tracks Amazon Bedrock token quotas for Claude Code: reservation, burndown, TPM/TPD",
    long_about = None
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Claude Code hook command: reads one hook event on stdin (configured by `install`).
    Hook,
    /// Claude Code status line command: reads the status JSON on stdin, prints one line.
    Statusline(status::Args),
    /// Print every effective setting and where it came from.
    Config,
    /// Re-read transcripts once a turn's last writes have landed (started by the hook).
    #[command(hide = true)]
    CatchUp(hook::catch_up::Args),
    /// Add bedrock-hook's hooks and status line to Claude Code's settings.json.
    Install(install::Args),
    /// Remove bedrock-hook's entries from settings.json and restore a wrapped status line.
    Uninstall(install::UninstallArgs),
    /// Check the set-up as Claude Code will see it, with the numbers and a fix for each problem.
    ///
    /// Bedrock and region, models and burndown, max_tokens and reservations against the
    /// quotas, outputs hitting the cap, thinking and concurrency settings, quotas, throttles,
    /// hooks, status line, ledger. Exits non-zero on any error.
    Doctor(doctor::Args),
    /// Quotas: import them from AWS, show them, calibrate them from real throttles.
    Quota {
        #[command(subcommand)]
        action: quota_setup::Action,
    },
    /// What was reserved, what was burned, and what to change: today by default.
    Report(report::Args),
    /// Fill the ledger from the transcripts Claude Code already wrote (safe to repeat).
    Import(import::Args),
    /// Account mode: the whole AWS account's Bedrock use from CloudWatch.
    Team {
        #[command(subcommand)]
        action: account::Action,
    },
}
