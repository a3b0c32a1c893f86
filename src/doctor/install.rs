//! Is bedrock-hook wired in: hooks for every event it uses and the status line, pointing
//! at a binary that exists, and a ledger it can write?

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Ctx, Finding, Plan};
use crate::hook::EVENTS;
use crate::ledger::LedgerLock;

/// The program a settings command runs, as written (quotes and variables set in front,
/// `BEDROCK_HOOK_MODE=block ...`, removed).
fn program(command: &str) -> &str {
    let command = command.trim_start();
    let command = &command[crate::install::ours::env_prefix(command).len()..];
    if let Some(rest) = command.strip_prefix('"') {
        return rest.split('"').next().unwrap_or(rest);
    }
    if let Some(rest) = command.strip_prefix('\'') {
        return rest.split('\'').next().unwrap_or(rest);
    }
    command.split_whitespace().next().unwrap_or("")
}

/// Whether the program exists and is executable: `Ok(path)`, `Err(why)`. Programs behind
/// a variable (`${CLAUDE_PLUGIN_ROOT}/...`) cannot be checked: `Ok(None)`.
fn resolve(ctx: &Ctx, program: &str) -> Result<Option<PathBuf>, String> {
    if program.contains('$') {
        return Ok(None);
    }
    let executable = |path: &Path| {
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let path = match program.strip_prefix("~/") {
            Some(rest) => PathBuf::from((ctx.lookup)("HOME").unwrap_or_default()).join(rest),
            None => PathBuf::from(program),
        };
        return if executable(&path) {
            Ok(Some(path))
        } else if path.exists() {
            Err(format!("{} is not executable", path.display()))
        } else {
            Err(format!("{} does not exist", path.display()))
        };
    }
    let path_var = (ctx.lookup)("PATH").unwrap_or_default();
    std::env::split_paths(&path_var)
        .map(|dir| dir.join(program))
        .find(|p| executable(p))
        .map(Some)
        .ok_or_else(|| format!("`{program}` is not on PATH"))
}

/// Every `(settings file, event, command)` that runs bedrock-hook.
fn our_hooks(ctx: &Ctx) -> Vec<(String, String, String)> {
    ctx.setup
        .files
        .iter()
        .flat_map(|file| {
            file.hook_commands()
                .into_iter()
                .filter(|(_, command)| command.contains("bedrock-hook"))
                .map(move |(event, command)| (file.scope.label().to_string(), event, command))
        })
        .collect()
}

pub fn hooks(ctx: &Ctx, _plan: &mut Plan) -> Vec<Finding> {
    let ours = our_hooks(ctx);
    if ours.is_empty() {
        return vec![Finding::error(
            "hooks",
            "no bedrock-hook hooks in any settings.json: nothing is recorded or guarded",
            "run `bedrock-hook install` (if you installed the plugin instead, ignore this)",
        )];
    }
    let mut out = Vec::new();
    let missing: Vec<&str> = EVENTS
        .iter()
        .copied()
        .filter(|event| !ours.iter().any(|(_, e, _)| e == event))
        .collect();
    let mut commands: Vec<&str> = ours.iter().map(|(_, _, c)| c.as_str()).collect();
    commands.sort();
    commands.dedup();
    let mut broken = Vec::new();
    let mut found = Vec::new();
    for command in &commands {
        match resolve(ctx, program(command)) {
            Ok(Some(path)) => found.push(path.display().to_string()),
            Ok(None) => found.push(format!("{} (not checked)", program(command))),
            Err(why) => broken.push(why),
        }
    }
    found.sort();
    found.dedup();
    let scopes: Vec<&str> = {
        let mut s: Vec<&str> = ours.iter().map(|(scope, _, _)| scope.as_str()).collect();
        s.sort();
        s.dedup();
        s
    };
    if !broken.is_empty() {
        broken.sort();
        broken.dedup();
        out.push(Finding::error(
            "hooks",
            format!("the hook command cannot run: {}", broken.join("; ")),
            "run `bedrock-hook install` again from the binary you want to use",
        ));
    }
    if missing.is_empty() {
        let runs = if found.is_empty() {
            "have a bedrock-hook hook".to_string()
        } else {
            format!("run {}", found.join(", "))
        };
        out.push(Finding::ok(
            "hooks",
            format!("all {} events {runs} ({})", EVENTS.len(), scopes.join(", ")),
        ));
    } else {
        out.push(Finding::warn(
            "hooks",
            format!(
                "no bedrock-hook hook for {}: in-flight tracking and the guards miss those events",
                missing.join(", ")
            ),
            "run `bedrock-hook install` (it adds only what is missing)",
        ));
    }
    out
}

pub fn status_line(ctx: &Ctx, _plan: &mut Plan) -> Vec<Finding> {
    let line = ctx
        .setup
        .files
        .iter()
        .rev()
        .find_map(|f| f.status_line_command().map(|c| (f.scope.label(), c)));
    match line {
        Some((scope, command)) if command.contains("bedrock-hook") => {
            match resolve(ctx, program(&command)) {
                Ok(_) => vec![Finding::ok("statusline", format!("`{command}` ({scope})"))],
                Err(why) => vec![Finding::error(
                    "statusline",
                    format!("`{command}` ({scope}) cannot run: {why}"),
                    "run `bedrock-hook install` again",
                )],
            }
        }
        Some((scope, command)) => vec![Finding::warn(
            "statusline",
            format!("the status line is `{command}` ({scope}), without bedrock-hook"),
            "run `bedrock-hook install`: it wraps your status line with `bedrock-hook statusline --chain`",
        )],
        None => vec![Finding::warn(
            "statusline",
            "no status line configured: the quota is not shown",
            "run `bedrock-hook install`",
        )],
    }
}

pub fn ledger(ctx: &Ctx, _plan: &mut Plan) -> Vec<Finding> {
    let Some(paths) = &ctx.paths else {
        return vec![Finding::error(
            "ledger",
            "no data directory: HOME is not set",
            "set HOME or BEDROCK_HOOK_DATA_DIR",
        )];
    };
    if let Some(problem) = crate::files::unsafe_dir(&paths.data_dir) {
        return vec![Finding::error(
            "ledger",
            problem,
            format!(
                "`chmod 700 {}` (and own it: the hooks write nothing there until then)",
                paths.data_dir.display()
            ),
        )];
    }
    let dir = paths.ledger_dir();
    let probe = || -> std::io::Result<()> {
        let lock = LedgerLock::acquire(paths, Duration::from_secs(2))?;
        if lock.is_none() {
            return Err(std::io::Error::other("the ledger lock stayed busy for 2 s"));
        }
        crate::files::ensure_data_subdir(&dir)?;
        let file = dir.join(format!(".doctor-{}", std::process::id()));
        let _ = std::fs::remove_file(&file);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&file)?;
        std::fs::remove_file(&file)
    };
    match probe() {
        Ok(()) => {
            let days = crate::ledger::Ledger::new(paths)
                .days()
                .map(|d| d.len())
                .unwrap_or(0);
            vec![Finding::ok(
                "ledger",
                format!(
                    "{} is writable ({days} day file{})",
                    dir.display(),
                    if days == 1 { "" } else { "s" }
                ),
            )]
        }
        Err(e) => vec![Finding::error(
            "ledger",
            format!("cannot write the ledger in {}: {e}", dir.display()),
            "fix the directory's permissions, or set BEDROCK_HOOK_DATA_DIR to a writable directory",
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_of_a_command() {
        assert_eq!(
            program("/usr/bin/bedrock-hook hook"),
            "/usr/bin/bedrock-hook"
        );
        assert_eq!(
            program("\"/a b/bedrock-hook\" statusline"),
            "/a b/bedrock-hook"
        );
        assert_eq!(program("  bedrock-hook"), "bedrock-hook");
        assert_eq!(program(""), "");
        assert_eq!(
            program("BEDROCK_HOOK_MODE=block /usr/bin/bedrock-hook hook"),
            "/usr/bin/bedrock-hook"
        );
    }
}
