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
pub mod process_env;
pub mod quota;
pub mod quota_setup;
pub mod report;
pub mod start_arena;
pub mod status;
pub mod terminal;
pub mod transcript;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use context::Context;

/// What of std's start-up a process entering through C's `main` keeps (`src/main.rs`, and
/// the benchmarks' floor, which must start the same way): any of stdin, stdout and stderr
/// the parent left closed is reopened on /dev/null, so that no file we open can become our
/// stdout; SIGPIPE is ignored, so that a closed pipe is an error we handle, not a death.
pub fn process_start() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: `fds` is a valid array of three pollfd for the call's duration.
    if unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) } >= 0 {
        for pollfd in fds {
            if pollfd.revents & libc::POLLNVAL != 0 {
                // SAFETY: a NUL-terminated path; the lowest free descriptor is the closed one.
                unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
            }
        }
    }
    // SAFETY: setting a signal's disposition to "ignore" has no preconditions.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}

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

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// Each top-level module -> the top-level modules its code (comments and test modules
    /// aside) names: [`submodule_uses`] with every module folded into its top-level one.
    fn module_uses() -> BTreeMap<String, BTreeSet<String>> {
        let top = |module: &str| module.split("::").next().unwrap_or_default().to_string();
        let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (module, used) in submodule_uses() {
            let module = top(&module);
            let named = uses.entry(module.clone()).or_default();
            named.extend(used.iter().map(|u| top(u)).filter(|u| *u != module));
        }
        uses
    }

    /// A cycle among the modules, if there is one: the modules along it.
    fn find_cycle(uses: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
        fn visit(
            module: &str,
            uses: &BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) -> Option<Vec<String>> {
            if let Some(at) = path.iter().position(|m| m == module) {
                let mut cycle = path[at..].to_vec();
                cycle.push(module.to_string());
                return Some(cycle);
            }
            if !done.insert(module.to_string()) {
                return None;
            }
            path.push(module.to_string());
            for used in uses.get(module).into_iter().flatten() {
                if let Some(cycle) = visit(used, uses, path, done) {
                    return Some(cycle);
                }
            }
            path.pop();
            None
        }
        let mut done = BTreeSet::new();
        uses.keys()
            .find_map(|module| visit(module, uses, &mut Vec::new(), &mut done))
    }

    /// Each module at any depth (`ledger::live`) -> the modules its code names as
    /// `crate::...` or `super::...`, a module's own ancestors and descendants aside (a
    /// folder's `mod.rs` declares and re-exports what its files use of it).
    fn submodule_uses() -> BTreeMap<String, BTreeSet<String>> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        let mut dirs = vec![src.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        let name_of = |file: &Path| {
            let relative = file.strip_prefix(&src).unwrap().with_extension("");
            let mut parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            parts.join("::")
        };
        let modules: BTreeSet<String> = files.iter().map(|f| name_of(f)).collect();
        let related = |a: &str, b: &str| {
            a == b || a.starts_with(&format!("{b}::")) || b.starts_with(&format!("{a}::"))
        };
        let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for file in &files {
            let module = name_of(file);
            if module == "lib" || module == "main" {
                continue;
            }
            let parent = module.rsplit_once("::").map_or("", |(p, _)| p).to_string();
            let text = std::fs::read_to_string(file).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let named = uses.entry(module.clone()).or_default();
            for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for (prefix, base) in [("crate::", String::new()), ("super::", parent.clone())] {
                    for (at, _) in line.match_indices(prefix) {
                        if prefix == "super::" && line[..at].ends_with("::") {
                            continue; // `super::super::` and the like: not followed
                        }
                        let path: String = line[at + prefix.len()..]
                            .chars()
                            .take_while(|c| c.is_ascii_lowercase() || *c == '_' || *c == ':')
                            .collect();
                        let mut target: Vec<&str> =
                            base.split("::").filter(|p| !p.is_empty()).collect();
                        target.extend(path.split("::").filter(|p| !p.is_empty()));
                        let used = (1..=target.len())
                            .rev()
                            .map(|n| target[..n].join("::"))
                            .find(|m| modules.contains(m));
                        if let Some(used) = used.filter(|used| !related(used, &module)) {
                            named.insert(used);
                        }
                    }
                }
            }
        }
        uses
    }

    #[test]
    fn submodules_use_each_other_without_a_cycle() {
        let uses = submodule_uses();
        assert!(
            uses["ledger::live"].contains("ledger::bounded") && uses["hook"].contains("ingest"),
            "{uses:?}"
        );
        assert_eq!(find_cycle(&uses), None);
    }

    #[test]
    fn modules_use_each_other_without_a_cycle() {
        let uses = module_uses();
        assert!(
            uses.contains_key("hook") && uses["hook"].contains("ingest"),
            "{uses:?}"
        );
        assert_eq!(find_cycle(&uses), None);
    }

    #[test]
    fn a_cycle_is_found() {
        let uses: BTreeMap<String, BTreeSet<String>> = [
            ("a", vec!["b"]),
            ("b", vec!["c"]),
            ("c", vec!["a"]),
            ("d", vec![]),
        ]
        .into_iter()
        .map(|(m, used)| (m.to_string(), used.into_iter().map(String::from).collect()))
        .collect();
        assert_eq!(
            find_cycle(&uses),
            Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
        );
    }
}
