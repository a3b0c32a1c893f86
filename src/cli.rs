//! The command line of everything that is not a hot path. `hook` and `statusline` are
//! dispatched in `lib.rs` before this parser is built; they appear here for `--help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// What was reserved, what was burned, and what to change: today by default.
    Report(ReportArgs),
    /// Fill the ledger from the transcripts Claude Code already wrote (safe to repeat).
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// One TPD day (YYYY-MM-DD), cut at the configured `day_boundary`.
    #[arg(long, value_name = "DATE", conflicts_with_all = ["since", "until"])]
    pub date: Option<String>,
    /// Start: a date (its TPD day's start) or an RFC 3339 time.
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// End: a date (through the end of that TPD day) or an RFC 3339 time. Default: now.
    #[arg(long, value_name = "WHEN", requires = "since")]
    pub until: Option<String>,
    /// Only this session (a unique prefix is enough). Alone, it searches the whole ledger.
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// Print the report as JSON (schema: docs/report-json.md).
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print one CSV row per ledger record instead.
    #[arg(long)]
    pub csv: bool,
    /// How many sessions to list.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,
    /// Headroom above the largest output for the suggested max_tokens, in percent.
    #[arg(long, value_name = "PERCENT", default_value_t = 25)]
    pub headroom: u64,
    /// Colour: auto (a terminal and no NO_COLOR), always or never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Transcript files or folders. Default: `projects/` under every entry of
    /// CLAUDE_CONFIG_DIR (comma-separated), else ~/.claude and $XDG_CONFIG_HOME/claude.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// No progress bar, even on a terminal.
    #[arg(long, short)]
    pub quiet: bool,
}
