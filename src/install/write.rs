//! Putting the new settings.json in place: a timestamped backup of the old bytes first,
//! then a temp file in the same directory, given the old file's permissions, synced and
//! renamed over it, so Claude Code reads the old file or the new one, never half of one.
//! If the file changed since we read it (Claude Code saves settings too), nothing is written.

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};

/// Permissions of a settings file we create: it can hold `env` secrets.
pub const NEW_FILE_MODE: u32 = 0o600;

/// Copy `original` next to `path` as `<name>.bedrock-hook-backup-<UTC time>` with the same
/// permissions. Never overwrites an earlier backup.
pub fn backup(path: &Path, original: &[u8], mode: u32, now: DateTime<Utc>) -> Result<PathBuf> {
    let name = path
        .file_name()
        .context("settings path has no file name")?
        .to_string_lossy();
    let stamp = now.format("%Y%m%dT%H%M%SZ");
    for attempt in 0..100 {
        let suffix = if attempt == 0 {
            String::new()
        } else {
            format!("-{attempt}")
        };
        let backup = path.with_file_name(format!("{name}.bedrock-hook-backup-{stamp}{suffix}"));
        match create_with(&backup, original, mode) {
            Ok(()) => return Ok(backup),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(e).with_context(|| format!("writing backup {}", backup.display()));
            }
        }
    }
    bail!("too many backups of {} this second", path.display())
}

/// Replace `path` with `bytes`, keeping `mode` (or `NEW_FILE_MODE` for a new file). `expected`
/// is what the file held when it was read (`None`: it did not exist); if that is no longer
/// so, the edit is abandoned.
pub fn replace(
    path: &Path,
    bytes: &[u8],
    mode: Option<u32>,
    expected: Option<&[u8]>,
) -> Result<()> {
    let dir = path.parent().context("settings path has no directory")?;
    let tmp = dir.join(format!(
        ".{}.bedrock-hook-{}.tmp",
        path.file_name()
            .context("settings path has no file name")?
            .to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        create_with(&tmp, bytes, mode.unwrap_or(NEW_FILE_MODE))
            .with_context(|| format!("writing {}", tmp.display()))?;
        let now = match std::fs::read(path) {
            Ok(now) => Some(now),
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("re-reading {}", path.display())),
        };
        if now.as_deref() != expected {
            bail!(
                "{} changed while it was being edited; nothing was written, run the command again",
                path.display()
            );
        }
        std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Create the directory settings.json lives in (mode 0700 for new directories).
pub fn ensure_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))
}

/// Create a new file (never an existing one) holding `bytes` with exactly `mode`, synced.
fn create_with(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    // Set after creation: the mode given at open is narrowed by the umask.
    file.set_permissions(Permissions::from_mode(mode))?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn mode_of(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().mode() & 0o7777
    }

    #[test]
    fn replace_keeps_permissions_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, Permissions::from_mode(0o664)).unwrap();
        replace(&path, b"new", Some(0o664), Some(b"old")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(mode_of(&path), 0o664);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_file_changed_meanwhile_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(&path, b"changed by someone else").unwrap();
        let err = replace(&path, b"ours", Some(0o600), Some(b"what we read")).unwrap_err();
        assert!(err.to_string().contains("changed while"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"changed by someone else");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let err = replace(&dir.path().join("new.json"), b"x", None, Some(b"y")).unwrap_err();
        assert!(err.to_string().contains("changed while"), "{err}");
    }

    #[test]
    fn backups_never_overwrite_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        let now = "2026-05-22T10:11:12Z".parse().unwrap();
        let first = backup(&path, b"one", 0o644, now).unwrap();
        let second = backup(&path, b"two", 0o644, now).unwrap();
        assert_eq!(
            first.file_name().unwrap(),
            "settings.json.bedrock-hook-backup-20260522T101112Z"
        );
        assert_eq!(
            second.file_name().unwrap(),
            "settings.json.bedrock-hook-backup-20260522T101112Z-1"
        );
        assert_eq!(std::fs::read(&first).unwrap(), b"one");
        assert_eq!(mode_of(&second), 0o644);
    }
}
