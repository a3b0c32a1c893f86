//! Claude Code's settings files, read the way the client reads them (docs/protocol.md
//! §2): user settings in `$CLAUDE_CONFIG_DIR/settings.json` (else
//! `~/.claude/settings.json`), then the project's `.claude/settings.json` and
//! `.claude/settings.local.json`. A later file's `env` entry wins over an earlier one's,
//! and settings `env` wins over the environment Claude Code was started with.
//!
//! Read-only: the one writer of settings.json is `crate::install::put` (`install`,
//! `uninstall` and `doctor --fix`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::env::ClientEnv;

/// Which settings file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    User,
    Project,
    Local,
}

impl Scope {
    pub fn label(&self) -> &'static str {
        match self {
            Scope::User => "user settings",
            Scope::Project => "project settings",
            Scope::Local => "local project settings",
        }
    }
}

/// One settings file as found on disk.
/// Largest settings file read (the hook reads them at SessionStart).
const SETTINGS_MAX_BYTES: u64 = 16 << 20;

#[derive(Debug, Clone)]
pub struct SettingsFile {
    pub scope: Scope,
    pub path: PathBuf,
    /// The parsed file; `None` when missing or broken.
    pub value: Option<Value>,
    /// Why a file that exists could not be used.
    pub problem: Option<String>,
}

impl SettingsFile {
    pub fn read(scope: Scope, path: PathBuf) -> SettingsFile {
        let (value, problem) = match crate::files::read_user_file(&path, SETTINGS_MAX_BYTES) {
            Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(value) if value.is_object() => (Some(value), None),
                Ok(_) => (None, Some("not a JSON object".to_string())),
                Err(e) => (
                    None,
                    Some(format!(
                        "not valid JSON (line {}, column {}): {e}",
                        e.line(),
                        e.column()
                    )),
                ),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (None, None),
            Err(e) => (None, Some(format!("cannot read: {e}"))),
        };
        SettingsFile {
            scope,
            path,
            value,
            problem,
        }
    }

    pub fn exists(&self) -> bool {
        self.value.is_some() || self.problem.is_some()
    }

    /// The `env` entries; numbers and booleans become their text, as the client does.
    pub fn env(&self) -> Vec<(String, String)> {
        let Some(Value::Object(env)) = self.value.as_ref().and_then(|v| v.get("env")) else {
            return Vec::new();
        };
        env.iter()
            .filter_map(|(key, value)| {
                let text = match value {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return None,
                };
                Some((key.clone(), text))
            })
            .collect()
    }

    /// The `model` key.
    pub fn model(&self) -> Option<String> {
        self.value
            .as_ref()?
            .get("model")?
            .as_str()
            .map(str::to_string)
            .filter(|m| !m.trim().is_empty())
    }

    /// Every `(event, command)` of the `hooks` table.
    pub fn hook_commands(&self) -> Vec<(String, String)> {
        let Some(Value::Object(hooks)) = self.value.as_ref().and_then(|v| v.get("hooks")) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (event, groups) in hooks {
            for group in groups.as_array().into_iter().flatten() {
                let entries = group.get("hooks").and_then(Value::as_array);
                for entry in entries.into_iter().flatten() {
                    if let Some(command) = entry.get("command").and_then(Value::as_str) {
                        out.push((event.clone(), command.to_string()));
                    }
                }
            }
        }
        out
    }

    /// `statusLine.command`.
    pub fn status_line_command(&self) -> Option<String> {
        self.value
            .as_ref()?
            .get("statusLine")?
            .get("command")?
            .as_str()
            .map(str::to_string)
    }
}

use super::paths::user_settings_path;

/// The settings files that apply to a project, lowest precedence first.
pub fn files_for(
    lookup: &dyn Fn(&str) -> Option<String>,
    project: Option<&Path>,
) -> Vec<SettingsFile> {
    let mut files = Vec::new();
    if let Some(path) = user_settings_path(lookup) {
        files.push(SettingsFile::read(Scope::User, path));
    }
    if let Some(project) = project {
        let dir = project.join(".claude");
        files.push(SettingsFile::read(
            Scope::Project,
            dir.join("settings.json"),
        ));
        files.push(SettingsFile::read(
            Scope::Local,
            dir.join("settings.local.json"),
        ));
    }
    files
}

/// The `model` setting that wins: the last file that sets one.
pub fn model_setting(files: &[SettingsFile]) -> Option<String> {
    files.iter().rev().find_map(SettingsFile::model)
}

/// Claude Code's effective set-up: its environment with every settings file's `env`
/// applied, and where each variable came from.
#[derive(Debug, Clone)]
pub struct Setup {
    pub files: Vec<SettingsFile>,
    pub env: ClientEnv,
    /// Variable -> `process env` or the label of the settings file that set it last.
    pub origin: BTreeMap<String, String>,
}

impl Setup {
    pub fn load(lookup: &dyn Fn(&str) -> Option<String>, project: Option<&Path>) -> Setup {
        let files = files_for(lookup, project);
        Setup::from_files(lookup, files)
    }

    pub fn from_files(lookup: &dyn Fn(&str) -> Option<String>, files: Vec<SettingsFile>) -> Setup {
        let mut env = ClientEnv::from_lookup(lookup);
        let mut origin: BTreeMap<String, String> = env
            .iter()
            .map(|(k, _)| (k.to_string(), "process env".to_string()))
            .collect();
        for file in &files {
            for (key, value) in file.env() {
                if super::env::KEYS.contains(&key.as_str()) {
                    env.set(&key, &value);
                    origin.insert(key, file.scope.label().to_string());
                }
            }
        }
        env.model_setting = model_setting(&files);
        Setup { files, env, origin }
    }

    /// Where a variable's effective value comes from.
    pub fn origin_of(&self, key: &str) -> &str {
        self.origin.get(key).map(String::as_str).unwrap_or("unset")
    }

    pub fn user_file(&self) -> Option<&SettingsFile> {
        self.files.iter().find(|f| f.scope == Scope::User)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn later_files_win_and_settings_beat_process_env() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let project = dir.path().join("proj");
        write(
            &home.join(".claude/settings.json"),
            r#"{"env": {"CLAUDE_CODE_MAX_OUTPUT_TOKENS": "8192", "AWS_REGION": "us-west-2", "OTHER": "x"}, "model": "opus"}"#,
        );
        write(
            &project.join(".claude/settings.local.json"),
            r#"{"env": {"CLAUDE_CODE_MAX_OUTPUT_TOKENS": 16384}}"#,
        );
        let home_text = home.display().to_string();
        let lookup = move |key: &str| match key {
            "HOME" => Some(home_text.clone()),
            "AWS_REGION" => Some("us-east-1".to_string()),
            "CLAUDE_CODE_USE_BEDROCK" => Some("1".to_string()),
            _ => None,
        };
        let setup = Setup::load(&lookup, Some(&project));
        assert_eq!(setup.env.max_output_tokens(), Some(16384));
        assert_eq!(
            setup.origin_of("CLAUDE_CODE_MAX_OUTPUT_TOKENS"),
            "local project settings"
        );
        assert_eq!(setup.env.region(), Some(("AWS_REGION", "us-west-2")));
        assert_eq!(setup.origin_of("CLAUDE_CODE_USE_BEDROCK"), "process env");
        assert_eq!(setup.env.model_setting.as_deref(), Some("opus"));
        assert_eq!(setup.files.len(), 3);
        assert!(!setup.files[1].exists());
    }

    #[test]
    fn config_dir_wins_over_home_and_broken_files_say_where() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("settings.json"), "{\n  \"env\": {,}\n}");
        let cfg = dir.path().display().to_string();
        let lookup = move |key: &str| match key {
            "CLAUDE_CONFIG_DIR" => Some(cfg.clone()),
            "HOME" => Some("/nonexistent".to_string()),
            _ => None,
        };
        let files = files_for(&lookup, None);
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].path, dir.path().join("settings.json"));
        let problem = files[0].problem.as_deref().unwrap();
        assert!(problem.contains("line 2"), "{problem}");
    }

    #[test]
    fn finds_hook_commands_and_status_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        write(
            &path,
            r#"{"hooks": {"PreToolUse": [{"matcher": "*", "hooks": [{"type": "command", "command": "/bin/bedrock-hook hook"}]}],
                          "Stop": [{"hooks": [{"type": "command", "command": "other"}]}]},
                "statusLine": {"type": "command", "command": "bedrock-hook statusline"}}"#,
        );
        let file = SettingsFile::read(Scope::User, path);
        assert_eq!(
            file.hook_commands(),
            vec![
                (
                    "PreToolUse".to_string(),
                    "/bin/bedrock-hook hook".to_string()
                ),
                ("Stop".to_string(), "other".to_string())
            ]
        );
        assert_eq!(
            file.status_line_command().as_deref(),
            Some("bedrock-hook statusline")
        );
    }
}
