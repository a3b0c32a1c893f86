//! The command line of everything that is not a hot path. `hook` and `statusline` are
//! dispatched in `lib.rs` before this parser is built; they appear here for `--help`.

use clap::{Parser, Subcommand};

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
    Statusline {
        /// Also run this status line command with the same input and show its line first.
        #[arg(long, value_name = "COMMAND")]
        chain: Option<String>,
    },
    /// Print every effective setting and where it came from.
    Config,
    /// Re-read transcripts once a turn's last writes have landed (started by the hook).
    #[command(hide = true)]
    CatchUp(crate::hook::catch_up::CatchUpArgs),
}
