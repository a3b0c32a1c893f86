//! What every command starts from: where the files are, the effective config, and the
//! moment the command runs. Read once, in one place, so the commands agree on it (the same
//! environment lookups, the same config file, one clock reading) and none builds its own.
//!
//! `lib.rs` builds it once per run and hands it to the command. The hot paths (`hook`,
//! `statusline`) call [`Context::from_env`] themselves where they first need it: past their
//! input checks, so an input they refuse costs no config read, and after the status line
//! has started the line it chains.
//!
//! Commands that run on (the import's batches, the catch-up's passes) still read the clock
//! when they write: [`Context::now`] is when the command started.

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::paths::Paths;

#[derive(Debug)]
pub struct Context {
    pub paths: Paths,
    pub config: Config,
    pub now: DateTime<Utc>,
}

impl Context {
    /// The paths from the environment, the config file they name, and now. Fails only
    /// when there is no data dir (no home directory and no `BEDROCK_HOOK_DATA_DIR`).
    pub fn from_env() -> Result<Context> {
        let paths = Paths::from_env()?;
        let config = Config::load(paths.config_file.as_deref());
        Ok(Context {
            paths,
            config,
            now: crate::clock::now(),
        })
    }

    /// Read the config file again (after a command wrote it).
    pub fn reload_config(&mut self) {
        self.config = Config::load(self.paths.config_file.as_deref());
    }
}
