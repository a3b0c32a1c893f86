//! bedrock-hook: a Claude Code hook and status line that accounts every Amazon Bedrock
//! request against the account's token quotas.
//!
//! Data flow, one module each:
//! hook input (`hook`, `status`) -> transcript tail (`transcript`) -> ledger (`ledger`,
//! via `ingest`) -> quota model (`quota`, `budget`) -> status line / guards / report.

pub mod account;
pub mod budget;
pub mod claude;
pub mod cli;
pub mod clock;
pub mod config;
pub mod context;
pub mod detach;
pub mod doctor;
pub mod event;
pub mod files;
pub mod guard;
pub mod hook;
pub mod import;
pub mod ingest;
pub mod install;
pub mod ledger;
pub mod paths;
pub mod quota;
pub mod quota_setup;
pub mod report;
pub mod status;
pub mod terminal;
pub mod transcript;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use context::Context;

/// Entry point shared by the binary, tests and benchmarks.
pub fn run(args: Vec<OsString>) -> ExitCode {
    // Hot paths first: no argument parser, no config search.
    let wants_help = args.iter().skip(2).any(|a| a == "--help" || a == "-h");
    match args.get(1).and_then(|a| a.to_str()).filter(|_| !wants_help) {
        Some("hook") => {
            fail_open_on_panic(false);
            return hook::run(&mut std::io::stdin().lock());
        }
        Some("statusline") => {
            fail_open_on_panic(true);
            let chain = chain_argument(&args[2..]);
            return status::run(&mut std::io::stdin().lock(), chain.as_deref());
        }
        _ => {}
    }
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    // A reader that closed the pipe early is not an error (`terminal::write_fmt`).
    let done = commands(cli).and_then(|code| {
        anyhow::Context::context(terminal::finish(), "writing to standard output")?;
        Ok(code)
    });
    match done {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bedrock-hook: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn commands(cli: cli::Cli) -> anyhow::Result<ExitCode> {
    use cli::Command;
    if !matches!(
        cli.command,
        Command::Hook | Command::Statusline(_) | Command::CatchUp(_)
    ) {
        // See what the hooks see: settings.json `env` included.
        claude::settings_env::adopt(std::env::current_dir().ok().as_deref());
    }
    // Read once for every command; only `doctor` and `uninstall` do without a data dir.
    let context = Context::from_env();
    match cli.command {
        Command::Hook => Ok(hook::run(&mut std::io::stdin().lock())),
        Command::Statusline(args) => Ok(status::run(
            &mut std::io::stdin().lock(),
            args.chain.as_deref(),
        )),
        Command::CatchUp(args) => {
            hook::catch_up::run(&args, &context?)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Report(args) => report::run(&args, &context?),
        Command::Import(args) => import::run(&args, &context?),
        Command::Config => {
            let Context { paths, config, .. } = context?;
            terminal::out!("{}", config.describe());
            terminal::outln!("# data dir: {}", paths.data_dir.display());
            Ok(if config.problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Install(args) => {
            install::install(&args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Uninstall(args) => {
            let data_dir = context.as_ref().ok().map(|c| c.paths.data_dir.as_path());
            install::uninstall(&args, data_dir)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Doctor(args) => doctor::run(args, context.ok()),
        Command::Team {
            action: account::Action::Sync { background },
        } => account::sync::command(background, &context?),
        Command::Quota { action } => quota_setup::run(action, context?),
    }
}

/// `--chain CMD` or `--chain=CMD`, read by hand to keep the status line free of clap.
fn chain_argument(rest: &[OsString]) -> Option<String> {
    let mut iter = rest.iter().filter_map(|a| a.to_str());
    while let Some(arg) = iter.next() {
        if arg == "--chain" {
            return iter.next().map(str::to_string);
        }
        if let Some(value) = arg.strip_prefix("--chain=") {
            return Some(value.to_string());
        }
    }
    None
}

/// A panic on a hot path must not surface as a failing hook or an empty status line:
/// print the fallback and exit 0 (this runs before the abort).
fn fail_open_on_panic(statusline: bool) {
    std::panic::set_hook(Box::new(move |info| {
        let reason = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "internal error".to_string());
        if statusline {
            terminal::outln!("{}", status::render::fallback("internal error"));
        }
        eprintln!("bedrock-hook: internal error: {}", hook::one_line(&reason));
        std::process::exit(0);
    }));
}
