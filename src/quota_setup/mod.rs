//! `bedrock-hook quota`: getting the quotas right. `import` takes them from AWS Service
//! Quotas listings, `show` prints what is configured per bucket with today's use, and
//! `calibrate` adopts what real throttles say the effective quotas are.

pub mod aws;
mod calibrate;
pub mod evidence;
pub mod import;
mod show;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};

use crate::config::edit::{self, QuotaChange};
use crate::config::{Config, Source};
use crate::context::Context;
use crate::paths::Paths;
use crate::terminal::out;
pub use aws::Endpoint;
pub use calibrate::calibrate;
pub use show::{describe, show};

/// `bedrock-hook quota`'s subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
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

pub(crate) fn config_path(paths: &Paths) -> Result<PathBuf> {
    paths
        .config_file
        .clone()
        .context("no config file location: set BEDROCK_HOOK_CONFIG")
}

/// Print the changes and, unless `dry_run`, say where they were written.
pub(crate) fn report_changes(
    out: &mut String,
    path: &Path,
    changes: &[QuotaChange],
    dry_run: bool,
) {
    if changes.is_empty() {
        let _ = writeln!(
            out,
            "\n{} already says so: nothing to change.",
            path.display()
        );
        return;
    }
    let _ = writeln!(out, "\nChanges to {}:", path.display());
    for change in changes {
        let _ = writeln!(out, "  {}", change.describe());
    }
    if dry_run {
        let _ = writeln!(out, "Dry run: nothing written.");
    } else {
        let _ = writeln!(out, "Wrote {}.", path.display());
    }
}

/// Environment variables that override what the file says.
fn env_overrides(config: &Config, keys: &[&str]) -> Vec<&'static str> {
    keys.iter()
        .filter_map(|key| match config.source_of(key) {
            Source::Env(name) => Some(name),
            _ => None,
        })
        .collect()
}

pub(crate) fn note_overrides(out: &mut String, config: &Config, keys: &[&str]) {
    for name in env_overrides(config, keys) {
        let _ = writeln!(
            out,
            "Note: {name} is set in the environment and wins over the file."
        );
    }
}

/// `bedrock-hook quota ACTION`
pub fn run(action: Action, mut context: Context) -> Result<ExitCode> {
    match action {
        Action::Import {
            files,
            endpoint,
            dry_run,
        } => import(&files, endpoint, dry_run, &mut context),
        Action::Show => show(&context),
        Action::Calibrate { days, dry_run } => calibrate(days, dry_run, &context),
    }
}

/// `quota import [FILE...]`: the listing files, or without them the AWS CLI.
pub fn import(
    files: &[PathBuf],
    endpoint: Endpoint,
    dry_run: bool,
    context: &mut Context,
) -> Result<ExitCode> {
    let path = config_path(&context.paths)?;
    let (plan, mut out) = if files.is_empty() {
        let aws = crate::account::AwsCli::new(&context.config.aws_cli);
        import::read_and_plan_from_cli(&aws, endpoint)?
    } else {
        import::read_and_plan(files, endpoint)?
    };
    let values = plan.values();
    if !values.is_empty() {
        let changes = edit::write_quotas(&path, &values, dry_run)?;
        report_changes(&mut out, &path, &changes, dry_run);
        context.reload_config();
        note_overrides(&mut out, &context.config, &["models", "tpd_all_models"]);
    }
    out!("{out}");
    Ok(if values.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
