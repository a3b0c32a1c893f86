//! The commands bedrock-hook puts into settings.json, and how to tell them apart from
//! everybody else's. An entry is ours when its program is a file named `bedrock-hook`
//! (whatever directory it lives in), so a moved binary is updated in place, not duplicated.

use std::ffi::OsStr;
use std::path::Path;

use serde_json::{Map, Value};

use super::shell;

/// The file name `install` insists on: it is how our own entries are recognised.
pub const BINARY_NAME: &str = "bedrock-hook";

/// The hook command for the binary at `bin`.
pub fn hook_command(bin: &str) -> String {
    format!("{} hook", shell::quote(bin))
}

/// The status line command for the binary at `bin`, composing with `chained` if given.
pub fn status_command(bin: &str, chained: Option<&str>) -> String {
    match chained {
        Some(theirs) => format!(
            "{} statusline --chain {}",
            shell::quote(bin),
            shell::quote(theirs)
        ),
        None => format!("{} statusline", shell::quote(bin)),
    }
}

/// Whether `command` is a bedrock-hook hook command (`<path>/bedrock-hook hook`), also
/// with variables set in front (`BEDROCK_HOOK_MODE=block <path>/bedrock-hook hook`).
pub fn is_hook_command(command: &str) -> bool {
    command
        .trim_end()
        .strip_suffix(" hook")
        .is_some_and(|program| is_our_program(&program[env_prefix(program).len()..]))
}

/// The `NAME=value ` words a command starts with (shell assignments for the program that
/// follows), as written.
pub fn env_prefix(command: &str) -> &str {
    let mut end = 0;
    loop {
        let rest = &command[end..];
        let word_start = end + (rest.len() - rest.trim_start().len());
        let word = command[word_start..]
            .split([' ', '\t'])
            .next()
            .unwrap_or_default();
        let after = word_start + word.len();
        let is_assignment = word.split_once('=').is_some_and(|(name, _)| {
            name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        // A value with quotes may hold spaces: not followed.
        if !is_assignment || word.contains(['"', '\'']) || after >= command.len() {
            return &command[..end];
        }
        let rest = &command[after..];
        end = after + (rest.len() - rest.trim_start().len());
    }
}

/// The bedrock-hook plugin (`bedrock-hook@<marketplace>`) if these settings enable it.
pub fn enabled_plugin(settings: &Map<String, Value>) -> Option<String> {
    settings
        .get("enabledPlugins")?
        .as_object()?
        .iter()
        .find(|(name, on)| {
            name.starts_with(&format!("{BINARY_NAME}@")) && on.as_bool() == Some(true)
        })
        .map(|(name, _)| name.clone())
}

/// What a status line command is, from bedrock-hook's point of view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusCommand {
    /// Somebody else's status line.
    Theirs,
    /// Ours, composing with `chained` (the user's own command) if any.
    Ours { chained: Option<String> },
    /// Ours, but with arguments we cannot read back: left alone.
    OursUnreadable,
}

pub fn classify_status(command: &str) -> StatusCommand {
    let Some(at) = command.find(" statusline") else {
        return StatusCommand::Theirs;
    };
    let (program, rest) = command.split_at(at);
    let rest = &rest[" statusline".len()..];
    if !is_our_program(program) || !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return StatusCommand::Theirs;
    }
    let Some(words) = shell::split(rest) else {
        return StatusCommand::OursUnreadable;
    };
    match words.as_slice() {
        [] => StatusCommand::Ours { chained: None },
        [flag, theirs] if flag == "--chain" => StatusCommand::Ours {
            chained: Some(theirs.clone()),
        },
        [single] if single.starts_with("--chain=") => StatusCommand::Ours {
            chained: Some(single["--chain=".len()..].to_string()),
        },
        _ => StatusCommand::OursUnreadable,
    }
}

/// Whether `program` (one shell word, possibly quoted or using `$VARS`) names a file
/// called `bedrock-hook`.
fn is_our_program(program: &str) -> bool {
    let program = program.trim();
    let word = match shell::split(program) {
        Some(mut words) if words.len() == 1 => words.remove(0),
        Some(_) => return false,
        None => {
            // `$HOME/bin/bedrock-hook`, `"${DIR}/bedrock-hook"`, `~/bin/bedrock-hook`: one
            // word whose value only the shell knows; judge it by its text.
            let text = program.trim_matches(['"', '\'']);
            if text.contains(|c: char| c.is_whitespace() || ";|&<>()`".contains(c)) {
                return false;
            }
            text.to_string()
        }
    };
    Path::new(&word).file_name() == Some(OsStr::new(BINARY_NAME))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_our_hook_wherever_the_binary_lives() {
        for command in [
            "/home/me/.local/bin/bedrock-hook hook",
            "bedrock-hook hook",
            "'/my dir/bedrock-hook' hook",
            "$HOME/.local/bin/bedrock-hook hook",
            "\"${HOME}/bin/bedrock-hook\" hook",
            "~/bin/bedrock-hook hook",
            "/usr/bin/bedrock-hook hook  ",
        ] {
            assert!(is_hook_command(command), "{command}");
        }
        for command in [
            "BEDROCK_HOOK_MODE=block /home/me/.local/bin/bedrock-hook hook",
            "A=1 B_2=x  bedrock-hook hook",
        ] {
            assert!(is_hook_command(command), "{command}");
        }
        assert_eq!(
            env_prefix("BEDROCK_HOOK_MODE=block /bin/bedrock-hook hook"),
            "BEDROCK_HOOK_MODE=block "
        );
        assert_eq!(env_prefix("/bin/bedrock-hook hook"), "");
        for command in [
            "1A=x bedrock-hook hook",
            "A=1 echo bedrock-hook hook",
            "/usr/bin/bedrock-hook statusline",
            "/usr/bin/bedrock-hooks hook",
            "/usr/bin/not-bedrock-hook hook",
            "run-bedrock-hook hook",
            "cd /x && bedrock-hook hook",
            "echo bedrock-hook hook",
            "/bedrock-hook/other hook",
            "bedrock-hook hook --extra",
            "python3 check.py",
        ] {
            assert!(!is_hook_command(command), "{command}");
        }
    }

    #[test]
    fn what_we_write_we_recognise() {
        for bin in ["/a/bedrock-hook", "/with space/it's/bedrock-hook"] {
            assert!(is_hook_command(&hook_command(bin)), "{bin}");
            assert_eq!(
                classify_status(&status_command(bin, None)),
                StatusCommand::Ours { chained: None }
            );
            let theirs = r#"printf '%s' "it's \"quoted\" $USER" | cat"#;
            assert_eq!(
                classify_status(&status_command(bin, Some(theirs))),
                StatusCommand::Ours {
                    chained: Some(theirs.to_string())
                }
            );
        }
    }

    #[test]
    fn finds_our_plugin_when_enabled() {
        let settings = |text: &str| serde_json::from_str::<Map<String, Value>>(text).unwrap();
        assert_eq!(
            enabled_plugin(&settings(
                r#"{"enabledPlugins":{"other@x":true,"bedrock-hook@bedrock-hook":true}}"#
            )),
            Some("bedrock-hook@bedrock-hook".into())
        );
        assert_eq!(
            enabled_plugin(&settings(r#"{"enabledPlugins":{"bedrock-hook@m":false}}"#)),
            None
        );
        assert_eq!(
            enabled_plugin(&settings(r#"{"enabledPlugins":{"bedrock-hooks@m":true}}"#)),
            None
        );
        assert_eq!(enabled_plugin(&settings("{}")), None);
    }

    #[test]
    fn classifies_status_lines() {
        assert_eq!(
            classify_status("starship statusline claude-code"),
            StatusCommand::Theirs
        );
        assert_eq!(
            classify_status("~/.claude/statusline.sh"),
            StatusCommand::Theirs
        );
        assert_eq!(
            classify_status("bedrock-hook statusline --chain=ccstatusline"),
            StatusCommand::Ours {
                chained: Some("ccstatusline".into())
            }
        );
        assert_eq!(
            classify_status("/x/bedrock-hook statusline --chain $(cat cmd)"),
            StatusCommand::OursUnreadable
        );
        assert_eq!(
            classify_status("/x/bedrock-hook statusline --fancy"),
            StatusCommand::OursUnreadable
        );
        assert_eq!(
            classify_status("/x/bedrock-hook statuslines"),
            StatusCommand::Theirs
        );
    }
}
