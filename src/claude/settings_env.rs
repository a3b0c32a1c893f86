//! The configuration as the hooks see it, for commands run from a shell. Claude Code
//! applies its settings files' `env` over its own environment and passes the result to
//! the hooks, and that is where `install.sh` tells users to put `BEDROCK_HOOK_TPD`. A
//! command typed in a terminal (`report`, `config`, `doctor`, `import`, `quota`) does not
//! inherit it, so it adopts the `BEDROCK_HOOK_*` entries of the same files (user settings,
//! then the current project's, a later file winning) once at its start, and remembers
//! which file set each so it can name it. The hot paths never call [`adopt`]: they inherit
//! the client's environment, and search for no file.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;
use std::sync::OnceLock;

use crate::claude::settings::files_for;

/// Variable -> (value, where it was set: `~/.claude/settings.json env`).
static ADOPTED: OnceLock<BTreeMap<String, (String, String)>> = OnceLock::new();

/// Adopt the `BEDROCK_HOOK_*` entries of the settings files that apply in `project`.
/// The first call wins; later ones change nothing.
pub fn adopt(project: Option<&Path>) {
    let lookup = |key: &str| std::env::var(key).ok();
    let home = lookup("HOME").filter(|h| !h.is_empty());
    let mut adopted = BTreeMap::new();
    for file in files_for(&lookup, project) {
        let shown = file.path.display().to_string();
        let shown = match &home {
            Some(home) if shown.starts_with(&format!("{home}/")) => {
                format!("~{}", &shown[home.len()..])
            }
            _ => shown,
        };
        for (key, value) in file.env() {
            if key.starts_with("BEDROCK_HOOK_") {
                adopted.insert(key, (value, format!("{shown} env")));
            }
        }
    }
    let _ = ADOPTED.set(adopted);
}

/// The value the hooks see for `name`: a settings file's, else the process environment's.
pub fn var(name: &str) -> Option<String> {
    match ADOPTED.get().and_then(|a| a.get(name)) {
        Some((value, _)) => Some(value.clone()),
        None => crate::process_env::var(name),
    }
}

/// [`var`] as an `OsString` (paths).
pub fn var_os(name: &str) -> Option<OsString> {
    match ADOPTED.get().and_then(|a| a.get(name)) {
        Some((value, _)) => Some(OsString::from(value)),
        None => crate::process_env::var_os(name).map(OsString::from),
    }
}

/// Where an adopted variable was set, if a settings file set it.
pub fn origin(name: &str) -> Option<&'static str> {
    ADOPTED
        .get()
        .and_then(|a| a.get(name))
        .map(|(_, origin)| origin.as_str())
}
