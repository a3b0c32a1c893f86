//! Where bedrock-hook keeps its files. One known place each, no searching: the data dir
//! (`BEDROCK_HOOK_DATA_DIR`, else the XDG data dir) and the config file
//! (`BEDROCK_HOOK_CONFIG`, else `config.toml` in the XDG config dir).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

#[derive(Debug, Clone)]
pub struct Paths {
    pub data_dir: PathBuf,
    pub config_file: Option<PathBuf>,
}

impl Paths {
    /// Resolve from the environment (in a command run from a shell, with what Claude
    /// Code's settings files set in `env`: see `claude::settings_env`).
    pub fn from_env() -> Result<Paths> {
        // The XDG directories only when a variable does not name the place (working them
        // out reads half a dozen more variables).
        let dirs = std::cell::OnceCell::new();
        let dirs = || dirs.get_or_init(|| directories::ProjectDirs::from("", "", "bedrock-hook"));
        let data_dir = match crate::claude::settings_env::var_os("BEDROCK_HOOK_DATA_DIR")
            .filter(|v| !v.is_empty())
        {
            Some(dir) => PathBuf::from(dir),
            None => dirs()
                .as_ref()
                .map(|d| d.data_dir().to_path_buf())
                .context("no home directory: set BEDROCK_HOOK_DATA_DIR")?,
        };
        let config_file = match crate::claude::settings_env::var_os("BEDROCK_HOOK_CONFIG")
            .filter(|v| !v.is_empty())
        {
            Some(file) => Some(PathBuf::from(file)),
            None => dirs().as_ref().map(|d| d.config_dir().join("config.toml")),
        };
        Ok(Paths {
            data_dir,
            config_file,
        })
    }

    pub fn at(data_dir: &Path) -> Paths {
        Paths {
            data_dir: data_dir.to_path_buf(),
            config_file: None,
        }
    }

    /// Day files of the append-only ledger.
    pub fn ledger_dir(&self) -> PathBuf {
        self.data_dir.join("ledger")
    }

    /// Per-transcript read positions.
    pub fn cursors_dir(&self) -> PathBuf {
        self.data_dir.join("cursors")
    }

    /// The small summary the status line reads instead of the ledger.
    pub fn state_file(&self) -> PathBuf {
        self.data_dir.join("state.json")
    }

    /// Held while the ledger, its index or the state file change.
    pub fn lock_file(&self) -> PathBuf {
        self.data_dir.join("ledger.lock")
    }
}
