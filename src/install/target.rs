//! Which settings.json to edit and which binary to point it at. User settings are the ones
//! the client reads (`crate::claude::paths::user_settings_path`: `$CLAUDE_CONFIG_DIR`, the
//! whole value, or `~/.claude`); `--project` means `./.claude/settings.json`; `--settings
//! FILE` is any file.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::ours::BINARY_NAME;

/// Which settings.json `install` and `uninstall` edit, and whether they only show the diff.
#[derive(Debug, clap::Args)]
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
    pub fn options(&self) -> super::Options<'_> {
        let scope = match (&self.settings, self.project) {
            (Some(file), _) => Scope::File(file),
            (None, true) => Scope::Project,
            (None, false) => Scope::User,
        };
        super::Options {
            scope,
            dry_run: self.dry_run,
        }
    }
}

/// Where the edit goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    User,
    Project,
    File(&'a Path),
}

/// The settings file for `scope`, as an absolute path.
pub fn settings_file(scope: Scope<'_>) -> Result<PathBuf> {
    let path = match scope {
        Scope::User => crate::claude::paths::user_settings_path(&crate::claude::paths::process_env)
            .context("neither CLAUDE_CONFIG_DIR nor HOME is set: pass --settings FILE")?,
        Scope::Project => PathBuf::from(".claude/settings.json"),
        Scope::File(file) => file.to_path_buf(),
    };
    std::path::absolute(&path).with_context(|| format!("resolving {}", path.display()))
}

/// The binary the hooks will run: `--bin PATH` made absolute (symlinks kept, so a stable
/// link such as ~/.local/bin/bedrock-hook stays the path in settings.json), else the running
/// executable, resolved.
pub fn binary(explicit: Option<&Path>) -> Result<PathBuf> {
    let bin = match explicit {
        Some(path) => std::path::absolute(path)
            .with_context(|| format!("resolving --bin {}", path.display()))?,
        None => std::env::current_exe()
            .and_then(std::fs::canonicalize)
            .context("cannot tell where this executable is: pass --bin PATH")?,
    };
    if bin.file_name() != Some(OsStr::new(BINARY_NAME)) {
        bail!(
            "{} is not named {BINARY_NAME}: install recognises its own entries by that name; \
             rename or link it, then pass --bin",
            bin.display()
        );
    }
    if bin.to_str().is_none() {
        bail!(
            "{} is not valid UTF-8 and cannot go into settings.json",
            bin.display()
        );
    }
    Ok(bin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_must_carry_our_name() {
        assert_eq!(
            binary(Some(Path::new("/opt/x/bedrock-hook"))).unwrap(),
            PathBuf::from("/opt/x/bedrock-hook")
        );
        assert!(
            binary(Some(Path::new("relative/bedrock-hook")))
                .unwrap()
                .is_absolute()
        );
        let err = binary(Some(Path::new("/opt/x/bh"))).unwrap_err();
        assert!(err.to_string().contains("not named bedrock-hook"), "{err}");
    }
}
