//! The command line of everything that is not a hot path. `hook` and `statusline` are
//! dispatched in `lib.rs` before this parser is built; they appear here for `--help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::quota_setup::Endpoint;

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
    /// Add bedrock-hook's hooks and status line to Claude Code's settings.json.
    Install {
        #[command(flatten)]
        target: SettingsTarget,
        /// The binary the hooks run (default: this executable).
        #[arg(long, value_name = "PATH")]
        bin: Option<PathBuf>,
        /// Only the status line, no hooks: for when the hooks come from the plugin.
        #[arg(long)]
        statusline_only: bool,
    },
    /// Remove bedrock-hook's entries from settings.json and restore a wrapped status line.
    Uninstall {
        #[command(flatten)]
        target: SettingsTarget,
    },
    /// Check the set-up as Claude Code will see it, with the numbers and a fix for each problem.
    ///
    /// Bedrock and region, models and burndown, max_tokens and reservations against the
    /// quotas, outputs hitting the cap, thinking and concurrency settings, quotas, throttles,
    /// hooks, status line, ledger. Exits non-zero on any error.
    Doctor {
        /// Write the recommended `env` values into the user's settings.json (after showing
        /// the change, with a timestamped backup; nothing else is touched).
        #[arg(long)]
        fix: bool,
        /// The project whose .claude/settings.json and settings.local.json apply
        /// (default: the current directory).
        #[arg(long, value_name = "DIR")]
        project: Option<PathBuf>,
    },
    /// Quotas: import them from AWS, show them, calibrate them from real throttles.
    Quota {
        #[command(subcommand)]
        action: QuotaAction,
    },
    /// What was reserved, what was burned, and what to change: today by default.
    Report(ReportArgs),
    /// Fill the ledger from the transcripts Claude Code already wrote (safe to repeat).
    Import(ImportArgs),
    /// Account mode: the whole AWS account's Bedrock use from CloudWatch.
    Team {
        #[command(subcommand)]
        action: TeamAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum TeamAction {
    /// Fetch today's per-minute Bedrock metrics from CloudWatch (through the AWS CLI) and
    /// write them to the data dir; the hook runs this in the background.
    Sync {
        /// Print nothing (the hook's background run; failures go to the file).
        #[arg(long)]
        background: bool,
    },
}

/// Which settings.json `install` and `uninstall` edit, and whether they only show the diff.
#[derive(Debug, Args)]
pub struct SettingsTarget {
    /// Edit ./.claude/settings.json instead of the user settings
    /// ($CLAUDE_CONFIG_DIR/settings.json or ~/.claude/settings.json).
    #[arg(long, conflicts_with = "settings")]
    pub project: bool,
    /// Edit this settings file instead (e.g. .claude/settings.local.json).
    #[arg(long, value_name = "FILE")]
    pub settings: Option<PathBuf>,
    /// Print the change as a diff and write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

impl SettingsTarget {
    pub fn options(&self) -> crate::install::Options<'_> {
        use crate::install::Scope;
        let scope = match (&self.settings, self.project) {
            (Some(file), _) => Scope::File(file),
            (None, true) => Scope::Project,
            (None, false) => Scope::User,
        };
        crate::install::Options {
            scope,
            dry_run: self.dry_run,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum QuotaAction {
    /// Write the Claude models' quotas from AWS Service Quotas listings into the config.
    ///
    /// FILE is the JSON of `aws service-quotas list-service-quotas --service-code bedrock
    /// --output json` (and of `list-aws-default-service-quotas`). Without FILE, both are
    /// read through the AWS CLI (BEDROCK_HOOK_AWS_CLI, default `aws`).
    Import {
        /// Listing files; applied values win over defaults.
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Which endpoint type's per-minute quotas to use.
        #[arg(long, value_enum, default_value = "cross-region")]
        endpoint: Endpoint,
        /// Show what would change, write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the configured quotas per bucket and today's use.
    Show,
    /// Adopt what recorded throttles say about the real quotas (after showing it).
    Calibrate {
        /// How many days of the ledger to look at.
        #[arg(long, default_value_t = 7, value_name = "N")]
        days: u32,
        /// Show what would change, write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// One TPD day, cut at the configured `day_boundary`: YYYY-MM-DD, today, yesterday,
    /// -7d (days ago) or a weekday (the most recent, today included).
    #[arg(long, value_name = "DATE", allow_hyphen_values = true, conflicts_with_all = ["since", "until"])]
    pub date: Option<String>,
    /// Start: a day as for --date (its TPD day's start) or an RFC 3339 time.
    #[arg(long, value_name = "WHEN", allow_hyphen_values = true)]
    pub since: Option<String>,
    /// End: a day as for --date (through the end of that TPD day) or an RFC 3339 time.
    /// Default: now.
    #[arg(
        long,
        value_name = "WHEN",
        allow_hyphen_values = true,
        requires = "since"
    )]
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
    /// Write the report as one self-contained HTML page with charts (nothing loaded from
    /// the network) to FILE; without FILE to bedrock-hook-report-DATE.html in the current
    /// directory; `-` prints it.
    #[arg(long, value_name = "FILE", num_args = 0..=1, conflicts_with_all = ["json", "csv"])]
    pub html: Option<Option<std::path::PathBuf>>,
    /// How many sessions to list.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,
    /// Headroom above the largest output for the suggested max_tokens, in percent (the
    /// same rule the guards and `doctor` use by default).
    #[arg(long, value_name = "PERCENT", default_value_t = crate::quota::advice::HEADROOM_PERCENT)]
    pub headroom: u64,
    /// Colour: auto (a terminal and no NO_COLOR), always or never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

pub use crate::terminal::ColorChoice;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Transcript files or folders. Default: `projects/` under CLAUDE_CONFIG_DIR (and each
    /// entry of it if comma-separated), else ~/.claude and $XDG_CONFIG_HOME/claude.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// No progress bar, even on a terminal.
    #[arg(long, short)]
    pub quiet: bool,
}
