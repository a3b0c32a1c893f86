//! What bedrock-hook knows about the Claude Code client's set-up: where its files are
//! (`paths`), the environment that shapes its requests (`env`) and the settings files that
//! feed it (`settings`).

pub mod env;
pub mod paths;
pub mod settings;
pub mod settings_env;

pub use env::ClientEnv;
pub use settings::{Scope, SettingsFile, Setup};
