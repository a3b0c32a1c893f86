//! Where Claude Code keeps its files. The one reader of `CLAUDE_CONFIG_DIR`, so `install`,
//! `doctor`, the hook and `import` agree on the folder the client uses.
//!
//! The rule (docs/protocol.md §2): the client takes the whole value of `CLAUDE_CONFIG_DIR`
//! as one folder, commas and all (2.1.328 with `CLAUDE_CONFIG_DIR=/a,/b` writes its
//! settings, `.claude.json` and `projects/` under the folder `/a,/b`); unset or blank, the
//! folder is `~/.claude`. [`config_dir`] is that folder; user settings are `settings.json` in
//! it. Only [`transcript_dirs`] (for `import`) also reads a comma-separated list, the
//! convention of tools that read the client's transcripts from several set-ups.

use std::path::PathBuf;

/// `CLAUDE_CONFIG_DIR` when it names something (not unset, not blank).
fn config_dir_var(lookup: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    lookup("CLAUDE_CONFIG_DIR").filter(|d| !d.trim().is_empty())
}

fn home(lookup: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    lookup("HOME")
        .filter(|h| !h.trim().is_empty())
        .map(PathBuf::from)
}

/// The folder the client reads its user settings from and writes its transcripts to:
/// `$CLAUDE_CONFIG_DIR` (the whole value), else `$HOME/.claude`; `None` when neither is set.
pub fn config_dir(lookup: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    match config_dir_var(lookup) {
        Some(dir) => Some(PathBuf::from(dir)),
        None => home(lookup).map(|h| h.join(".claude")),
    }
}

/// The user settings file: `settings.json` in [`config_dir`].
pub fn user_settings_path(lookup: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    config_dir(lookup).map(|dir| dir.join("settings.json"))
}

/// The folders whose `projects/` may hold the client's transcripts, for `import`: the
/// [`config_dir`] and, when `CLAUDE_CONFIG_DIR` is a comma-separated list, each entry of it;
/// when it is unset, `~/.claude` and `$XDG_CONFIG_HOME/claude` (default `~/.config/claude`).
pub fn transcript_dirs(lookup: &dyn Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    let Some(value) = config_dir_var(lookup) else {
        let home = home(lookup);
        let xdg = lookup("XDG_CONFIG_HOME")
            .filter(|x| !x.is_empty())
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".config")));
        return home
            .map(|h| h.join(".claude"))
            .into_iter()
            .chain(xdg.map(|x| x.join("claude")))
            .collect();
    };
    let mut dirs = vec![PathBuf::from(&value)];
    if value.contains(',') {
        dirs.extend(
            value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
        );
    }
    dirs
}

/// The process environment as a lookup (values that are not UTF-8 read lossily).
pub fn process_env(key: &str) -> Option<String> {
    std::env::var_os(key).map(|v| v.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_whole_value_is_the_folder_as_the_client_reads_it() {
        let lookup = env(&[("CLAUDE_CONFIG_DIR", "/a,/b"), ("HOME", "/h")]);
        assert_eq!(config_dir(&lookup), Some(PathBuf::from("/a,/b")));
        assert_eq!(
            user_settings_path(&lookup),
            Some(PathBuf::from("/a,/b/settings.json"))
        );
        let lookup = env(&[("CLAUDE_CONFIG_DIR", " "), ("HOME", "/h")]);
        assert_eq!(config_dir(&lookup), Some(PathBuf::from("/h/.claude")));
        assert_eq!(config_dir(&env(&[])), None);
    }

    #[test]
    fn transcripts_are_also_looked_for_under_each_entry_of_a_list() {
        assert_eq!(
            transcript_dirs(&env(&[("CLAUDE_CONFIG_DIR", "/a, /b,"), ("HOME", "/h")])),
            ["/a, /b,", "/a", "/b"].map(PathBuf::from)
        );
        assert_eq!(
            transcript_dirs(&env(&[("CLAUDE_CONFIG_DIR", "/a"), ("HOME", "/h")])),
            [PathBuf::from("/a")]
        );
        assert_eq!(
            transcript_dirs(&env(&[("HOME", "/h")])),
            ["/h/.claude", "/h/.config/claude"].map(PathBuf::from)
        );
        assert_eq!(
            transcript_dirs(&env(&[("HOME", "/h"), ("XDG_CONFIG_HOME", "/x")])),
            ["/h/.claude", "/x/claude"].map(PathBuf::from)
        );
    }
}
