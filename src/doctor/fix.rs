//! `doctor --fix`: write recommended `env` values into the user's settings.json and
//! nothing else. The change is shown first; the file is written by the same settings
//! writer as `install` (`crate::install::put`): its own layout kept, a timestamped backup
//! beside it, replaced atomically (permissions kept, through a symlink) and only if it did
//! not change since it was read. A file that is not valid JSON is refused untouched.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::claude::settings::{Scope, Setup};
use crate::install;

/// What `apply_env` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub backup: Option<PathBuf>,
    /// `(key, old, new)` for each value that changed.
    pub changed: Vec<(String, Option<String>, String)>,
}

/// The change as it will be made, and the settings files that would still override it.
pub fn preview(setup: &Setup, path: &Path, changes: &[(String, String)]) -> String {
    let current = setup
        .files
        .iter()
        .find(|f| f.scope == Scope::User)
        .map(|f| f.env())
        .unwrap_or_default();
    let mut out = format!("Changing env in {}:\n", path.display());
    for (key, value) in changes {
        match current.iter().find(|(k, _)| k == key) {
            Some((_, old)) if old == value => {
                let _ = writeln!(out, "  = {key} = \"{value}\" (already)");
            }
            Some((_, old)) => {
                let _ = writeln!(out, "  ~ {key} = \"{old}\" -> \"{value}\"");
            }
            None => {
                let _ = writeln!(out, "  + {key} = \"{value}\"");
            }
        }
        for file in setup.files.iter().filter(|f| f.scope != Scope::User) {
            if let Some((_, theirs)) = file.env().into_iter().find(|(k, _)| k == key) {
                let _ = writeln!(
                    out,
                    "    note: {} sets {key} = \"{theirs}\" and wins over user settings: change it \
                     there too",
                    file.path.display()
                );
            }
        }
    }
    out
}

/// Set `changes` in the `env` object of the settings file at `path` (created if missing),
/// with the settings writer `install` uses: the file's own layout, a
/// `.bedrock-hook-backup-<time>` beside it, and no write if the file changed since it was
/// read. Values already set as asked are not written again.
pub fn apply_env(path: &Path, changes: &[(String, String)], now: DateTime<Utc>) -> Result<Applied> {
    apply_env_checked(path, changes, None, now)
}

/// [`apply_env`], refusing if the file no longer holds `checked` (the settings the
/// findings were made from; `Some(None)`: there was no usable file).
pub fn apply_env_checked(
    path: &Path,
    changes: &[(String, String)],
    checked: Option<Option<&Value>>,
    now: DateTime<Utc>,
) -> Result<Applied> {
    let loaded = install::read::load(path)?;
    if let Some(checked) = checked {
        let holds_json = loaded
            .original
            .as_deref()
            .is_some_and(|bytes| !bytes.iter().all(u8::is_ascii_whitespace));
        let now_holds = holds_json.then(|| Value::Object(loaded.document.clone()));
        if now_holds.as_ref() != checked {
            bail!(
                "{} changed since doctor read it; nothing was written, run doctor again",
                path.display()
            );
        }
    }
    let mut document = loaded.document.clone();
    let env = document
        .entry("env")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(env) = env.as_object_mut() else {
        bail!(
            "`env` in {} is not an object; left untouched",
            path.display()
        );
    };
    let mut changed = Vec::new();
    for (key, value) in changes {
        let old = env.get(key).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        if old.as_deref() == Some(value.as_str()) {
            continue;
        }
        env.insert(key.clone(), Value::String(value.clone()));
        changed.push((key.clone(), old, value.clone()));
    }
    if changed.is_empty() {
        return Ok(Applied {
            backup: None,
            changed,
        });
    }
    let bytes = install::render(&loaded, &document);
    let backup = install::put(path, &loaded, &bytes, false, now)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(Applied { backup, changed })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn now() -> DateTime<Utc> {
        "2026-11-22T02:04:36Z".parse().unwrap()
    }

    #[test]
    fn sets_env_keeps_everything_else_and_backs_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        let original = r#"{
  "permissions": {"allow": ["Bash(ls)"]},
  "env": {"AWS_REGION": "us-east-1", "MAX_THINKING_TOKENS": "512"},
  "model": "opus",
  "hooks": {}
}
"#;
        std::fs::write(&path, original).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let changes = vec![
            (
                "CLAUDE_CODE_MAX_OUTPUT_TOKENS".to_string(),
                "8192".to_string(),
            ),
            ("MAX_THINKING_TOKENS".to_string(), "1024".to_string()),
        ];
        let applied = apply_env(&path, &changes, now()).unwrap();
        let backup = applied.backup.unwrap();
        assert_eq!(
            backup,
            dir.path()
                .join("settings.json.bedrock-hook-backup-20261122T020436Z")
        );
        assert_eq!(std::fs::read_to_string(&backup).unwrap(), original);
        let text = std::fs::read_to_string(&path).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["permissions", "env", "model", "hooks"]);
        assert_eq!(value["permissions"]["allow"][0], "Bash(ls)");
        assert_eq!(value["env"]["AWS_REGION"], "us-east-1");
        assert_eq!(value["env"]["MAX_THINKING_TOKENS"], "1024");
        assert_eq!(value["env"]["CLAUDE_CODE_MAX_OUTPUT_TOKENS"], "8192");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(
            applied.changed[1],
            (
                "MAX_THINKING_TOKENS".to_string(),
                Some("512".to_string()),
                "1024".to_string()
            )
        );
        // Running it again changes nothing and writes no second backup.
        let again = apply_env(&path, &changes, now()).unwrap();
        assert_eq!(again.backup, None);
        assert!(again.changed.is_empty());
    }

    #[test]
    fn a_file_changed_since_it_was_checked_is_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(&path, "{\"model\": \"sonnet\"}").unwrap();
        let checked = serde_json::json!({"model": "opus"});
        let err = apply_env_checked(
            &path,
            &[("A".into(), "1".into())],
            Some(Some(&checked)),
            now(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("changed since doctor read it"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"model\": \"sonnet\"}"
        );
        let same = serde_json::json!({"model": "sonnet"});
        apply_env_checked(&path, &[("A".into(), "1".into())], Some(Some(&same)), now()).unwrap();
    }

    #[test]
    fn invalid_json_is_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(&path, "{\n  \"env\": {\n}").unwrap();
        let err = apply_env(&path, &[("A".into(), "1".into())], now()).unwrap_err();
        assert!(err.to_string().contains(":3:1: not valid JSON"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\n  \"env\": {\n}"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_file_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".claude/settings.json");
        let applied = apply_env(&path, &[("A".into(), "1".into())], now()).unwrap();
        assert_eq!(applied.backup, None);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\n  \"env\": {\n    \"A\": \"1\"\n  }\n}\n"
        );
    }
}
