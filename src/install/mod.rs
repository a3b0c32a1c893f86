//! `bedrock-hook install` / `uninstall`: put our hooks and status line into Claude Code's
//! settings.json, or take them out, touching nothing else.
//!
//! One step per module: `target` (which file, which binary) -> `read` (bytes, document,
//! permissions; invalid JSON refused) -> `merge` (the edit, on the document; `ours` tells
//! our entries from everybody else's, `shell` quotes) -> `splice` (back to bytes as an edit of
//! the original text) or `format` (the whole document in the file's own layout) -> `diff`
//! (`--dry-run`) or `write` (backup, atomic replace).

pub mod diff;
pub mod format;
pub mod merge;
pub mod ours;
pub mod read;
pub mod shell;
pub mod splice;
pub mod target;
pub mod write;

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Map, Value};

use crate::terminal::{out, outln};
use format::Layout;
use merge::{MergeError, Report, StatusChange};
pub use target::{Scope, SettingsTarget};

/// `bedrock-hook install`'s arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: SettingsTarget,
    /// The binary the hooks run (default: this executable).
    #[arg(long, value_name = "PATH")]
    pub bin: Option<std::path::PathBuf>,
    /// Only the status line, no hooks: for when the hooks come from the plugin.
    #[arg(long)]
    pub statusline_only: bool,
}

/// `bedrock-hook uninstall`'s arguments.
#[derive(Debug, clap::Args)]
pub struct UninstallArgs {
    #[command(flatten)]
    pub target: SettingsTarget,
}

#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    pub scope: Scope<'a>,
    pub dry_run: bool,
}

/// Add bedrock-hook to the settings file; `--bin` overrides the binary the hooks run,
/// `--statusline-only` leaves the hooks out (they come from the plugin).
pub fn install(args: &Args) -> Result<()> {
    let options = args.target.options();
    let status_line_only = args.statusline_only;
    let bin = target::binary(args.bin.as_deref())?;
    let bin_text = bin.to_str().unwrap_or_default().to_string();
    if !bin.is_file() {
        anyhow::ensure!(
            options.dry_run,
            "{} does not exist: build or copy the binary there first (or pass --bin)",
            bin.display()
        );
        outln!("note: {} does not exist yet", bin.display());
    }
    let path = target::settings_file(options.scope)?;
    let mut plugin = None;
    let edit = edit(&path, options, "install", |doc| {
        if status_line_only {
            return Ok(merge::install_status_line_only(doc, &bin_text));
        }
        plugin = ours::enabled_plugin(doc);
        merge::install(doc, &bin_text)
    })?;
    if let Some(report) = &edit.report {
        print_report(report);
        if !status_line_only {
            outln!("  hooks run: {}", ours::hook_command(&bin_text));
        }
        edit.print_footer();
        if !options.dry_run {
            outln!("Claude Code picks this up from its next session.");
        }
    }
    if let Some(plugin) = plugin {
        outln!(
            "note: the {plugin} plugin is enabled too, so every event would be handled twice; \
             keep one: `claude plugin uninstall {plugin}` or `bedrock-hook uninstall`"
        );
    }
    Ok(())
}

/// Remove bedrock-hook from the settings file. `data_dir` is named in what is left behind.
pub fn uninstall(args: &UninstallArgs, data_dir: Option<&Path>) -> Result<()> {
    let options = args.target.options();
    let path = target::settings_file(options.scope)?;
    if !path.exists() {
        outln!(
            "bedrock-hook uninstall: no {}; nothing to remove",
            path.display()
        );
        return Ok(());
    }
    let edit = edit(&path, options, "uninstall", merge::uninstall)?;
    if let Some(report) = &edit.report {
        print_report(report);
        edit.print_footer();
        if !options.dry_run {
            let binary = std::env::current_exe()
                .map_or_else(|_| "the binary".into(), |p| p.display().to_string());
            let data = data_dir.map_or_else(|| "its data dir".into(), |d| d.display().to_string());
            outln!(
                "Left in place: {binary} and the ledger in {data}; delete them by hand if you want them gone."
            );
        }
    }
    Ok(())
}

/// What `edit` did, for the caller's message. `report` is `None` when nothing changed.
struct Edit {
    report: Option<Report>,
    backup: Option<std::path::PathBuf>,
    dry_run: bool,
    path: std::path::PathBuf,
}

impl Edit {
    fn print_footer(&self) {
        if let Some(backup) = &self.backup {
            outln!("  backup of the previous file: {}", backup.display());
            if let Some(real) = linked_to(&self.path) {
                outln!(
                    "  (settings.json links to {}: that file was edited, and the backup is kept \
                     beside the link, outside the folder the link points into)",
                    real.display()
                );
            }
        }
        if self.dry_run {
            outln!("dry run: nothing was written to {}", self.path.display());
        }
    }
}

/// Read, change with `change`, and write back (or show the diff) unless nothing changed.
fn edit(
    path: &Path,
    options: Options<'_>,
    verb: &str,
    change: impl FnOnce(&mut Map<String, Value>) -> Result<Report, MergeError>,
) -> Result<Edit> {
    let loaded = read::load(path)?;
    let mut document = loaded.document.clone();
    let report = change(&mut document).with_context(|| format!("{}", path.display()))?;
    let nothing_changed =
        serde_json::to_string(&document)? == serde_json::to_string(&loaded.document)?;
    let mut edit = Edit {
        report: None,
        backup: None,
        dry_run: options.dry_run,
        path: path.to_path_buf(),
    };
    if nothing_changed {
        let what = if verb == "install" {
            "already set up"
        } else {
            "has no bedrock-hook entries"
        };
        outln!(
            "bedrock-hook {verb}: {} {what}; nothing changed",
            path.display()
        );
        if let StatusChange::LeftAlone(reason) = &report.status {
            outln!("  status line: {reason}");
        }
        return Ok(edit);
    }
    if !options.dry_run {
        refuse_read_only(path, &loaded)?;
    }
    let bytes = render(&loaded, &document);
    outln!("bedrock-hook {verb}: {}", path.display());
    if options.dry_run {
        let old = String::from_utf8_lossy(loaded.original.as_deref().unwrap_or_default());
        let new = String::from_utf8_lossy(&bytes);
        let name = path.display().to_string();
        out!(
            "{}",
            diff::unified(&old, &new, &name, &format!("{name} (after {verb})"))
        );
    } else {
        // Project settings are meant to be shared (and committed).
        let shared = options.scope == Scope::Project;
        edit.backup = put(path, &loaded, &bytes, shared, crate::clock::now())?;
    }
    edit.report = Some(report);
    Ok(edit)
}

/// A settings file made read-only is the user's decision: nothing is written.
fn refuse_read_only(path: &Path, loaded: &read::Loaded) -> Result<()> {
    match loaded.mode {
        Some(mode) if loaded.original.is_some() && mode & 0o200 == 0 => anyhow::bail!(
            "{} is read-only (mode {mode:04o}), so bedrock-hook leaves it as it is; make it \
             writable (chmod u+w {}) and run the command again, or edit it by hand \
             (`--dry-run` shows the change)",
            path.display(),
            shell::quote(&path.display().to_string())
        ),
        _ => Ok(()),
    }
}

/// What `path` links to, if it is a symbolic link.
pub fn linked_to(path: &Path) -> Option<std::path::PathBuf> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    meta.file_type()
        .is_symlink()
        .then(|| std::fs::canonicalize(path).ok())
        .flatten()
}

/// The edited document as bytes: the original text with only what changed rewritten
/// (`splice`), else the whole document in the file's own layout.
pub fn render(loaded: &read::Loaded, document: &Map<String, Value>) -> Vec<u8> {
    let layout = loaded
        .original
        .as_deref()
        .map_or_else(Layout::default_for_new, Layout::detect);
    let spliced = loaded
        .original
        .as_deref()
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
        .and_then(|text| splice::edit(text, &loaded.document, document, &layout));
    match spliced {
        Some(text) => text.into_bytes(),
        None => layout.render(document),
    }
}

/// Write `bytes` in place of the settings file `loaded` was read from: the one way every
/// edit is written (`install`, `uninstall`, `doctor --fix`). The old bytes are backed up
/// beside it first (`<name>.bedrock-hook-backup-<UTC time>`), and the file is replaced
/// atomically only if it did not change since it was read. A new file gets mode 0600
/// (0644 when `shared`, for project settings) and its directory is created. Returns the
/// backup's path.
pub fn put(
    path: &Path,
    loaded: &read::Loaded,
    bytes: &[u8],
    shared: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<std::path::PathBuf>> {
    let mut backup = None;
    match (&loaded.original, loaded.mode) {
        (Some(original), Some(mode)) => {
            refuse_read_only(path, loaded)?;
            // Beside the path Claude Code reads (for a link: in ~/.claude, not in the
            // dotfiles repo it points into, where the `env` secrets would get committed).
            backup = Some(write::backup(path, original, mode, now)?);
        }
        _ => {
            let dir = path.parent().context("settings path has no directory")?;
            if shared {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            } else {
                write::ensure_dir(dir)?;
            }
        }
    }
    let mode = loaded.mode.or(shared.then_some(0o644));
    write::replace(&loaded.real_path, bytes, mode, loaded.original.as_deref())?;
    Ok(backup)
}

fn print_report(report: &Report) {
    let list = |events: &[String]| events.join(", ");
    if !report.added.is_empty() {
        outln!("  hooks added: {}", list(&report.added));
    }
    if !report.updated.is_empty() {
        outln!(
            "  hooks pointed at the new binary: {}",
            list(&report.updated)
        );
    }
    if !report.removed.is_empty() {
        outln!("  hooks removed: {}", list(&report.removed));
    }
    match &report.status {
        StatusChange::Unchanged => {}
        StatusChange::Added => outln!("  status line: set (there was none)"),
        StatusChange::Wrapped(theirs) => {
            outln!("  status line: yours is kept and shown first: {theirs}")
        }
        StatusChange::Updated => outln!("  status line: pointed at the new binary"),
        StatusChange::Restored(theirs) => outln!("  status line: yours restored: {theirs}"),
        StatusChange::Removed => outln!("  status line: removed (there was none before)"),
        StatusChange::LeftAlone(reason) => outln!("  status line: {reason}"),
    }
}
