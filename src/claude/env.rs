//! The environment variables that shape the requests Claude Code sends to Bedrock
//! (docs/protocol.md §7.3), read once into typed values.
//!
//! Hooks inherit Claude Code's environment, settings.json `env` included, so the hook
//! reads its own process environment. `doctor` runs outside Claude Code and builds the
//! same values from the process environment plus the settings files (see `settings`).

use std::collections::BTreeMap;

/// Every variable bedrock-hook reads from Claude Code's environment.
pub const KEYS: &[&str] = &[
    "CLAUDE_CODE_USE_BEDROCK",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "ANTHROPIC_MODEL",
    "ANTHROPIC_DEFAULT_OPUS_MODEL",
    "ANTHROPIC_DEFAULT_SONNET_MODEL",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL",
    "ANTHROPIC_SMALL_FAST_MODEL",
    "CLAUDE_CODE_SUBAGENT_MODEL",
    MAX_OUTPUT_TOKENS,
    MAX_THINKING_TOKENS,
    MAX_TOOL_USE_CONCURRENCY,
    MAX_CONCURRENT_SUBAGENTS,
    "CLAUDE_CODE_MAX_RETRIES",
    "DISABLE_PROMPT_CACHING",
];

pub const MAX_OUTPUT_TOKENS: &str = "CLAUDE_CODE_MAX_OUTPUT_TOKENS";
pub const MAX_THINKING_TOKENS: &str = "MAX_THINKING_TOKENS";
pub const MAX_TOOL_USE_CONCURRENCY: &str = "CLAUDE_CODE_MAX_TOOL_USE_CONCURRENCY";
pub const MAX_CONCURRENT_SUBAGENTS: &str = "CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS";

/// Claude Code's defaults when the variables are unset (docs/protocol.md §7.3).
pub const DEFAULT_TOOL_USE_CONCURRENCY: u64 = 10;
pub const DEFAULT_CONCURRENT_SUBAGENTS: u64 = 20;

/// The client's environment, reduced to the variables in [`KEYS`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientEnv {
    vars: BTreeMap<String, String>,
    /// The `model` key of the settings files (not an env variable, so hooks do not
    /// inherit it; only read where it is worth a file read).
    pub model_setting: Option<String>,
}

impl ClientEnv {
    /// The hook's own environment: Claude Code's, settings.json `env` applied.
    pub fn from_process() -> ClientEnv {
        ClientEnv::from_lookup(crate::process_env::var)
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> ClientEnv {
        let vars = KEYS
            .iter()
            .filter_map(|key| lookup(key).map(|value| (key.to_string(), value)))
            .collect();
        ClientEnv {
            vars,
            model_setting: None,
        }
    }

    /// From explicit pairs (tests, `doctor`'s merged view).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> ClientEnv {
        let map: BTreeMap<String, String> = pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ClientEnv::from_lookup(|key| map.get(key).cloned())
    }

    /// A variable's value, `None` when unset or blank.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    pub fn set(&mut self, key: &str, value: &str) {
        self.vars.insert(key.to_string(), value.to_string());
    }

    /// A positive whole number, `None` when unset or not a number.
    pub fn number(&self, key: &str) -> Option<u64> {
        self.get(key)
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|n| *n > 0)
    }

    pub fn max_output_tokens(&self) -> Option<u64> {
        self.number(MAX_OUTPUT_TOKENS)
    }

    pub fn max_thinking_tokens(&self) -> Option<u64> {
        self.get(MAX_THINKING_TOKENS)
            .and_then(|v| v.parse::<u64>().ok())
    }

    pub fn max_concurrent_subagents(&self) -> u64 {
        self.number(MAX_CONCURRENT_SUBAGENTS)
            .unwrap_or(DEFAULT_CONCURRENT_SUBAGENTS)
    }

    pub fn max_tool_use_concurrency(&self) -> u64 {
        self.number(MAX_TOOL_USE_CONCURRENCY)
            .unwrap_or(DEFAULT_TOOL_USE_CONCURRENCY)
    }

    /// Whether Claude Code talks to Bedrock (`CLAUDE_CODE_USE_BEDROCK` truthy).
    pub fn uses_bedrock(&self) -> bool {
        self.get("CLAUDE_CODE_USE_BEDROCK")
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
    }

    /// The region and the variable it came from.
    pub fn region(&self) -> Option<(&'static str, &str)> {
        ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .into_iter()
            .find_map(|key| self.get(key).map(|v| (key, v)))
    }

    /// The main loop's model: `ANTHROPIC_MODEL`, else the settings' `model`, aliases
    /// resolved. `None` when only the client's built-in default applies.
    pub fn main_model(&self) -> Option<String> {
        self.get("ANTHROPIC_MODEL")
            .map(str::to_string)
            .or_else(|| self.model_setting.clone())
            .and_then(|model| self.resolve_model(&model))
    }

    /// The model subagents run on when it differs from the main loop's.
    pub fn subagent_model(&self) -> Option<String> {
        self.get("CLAUDE_CODE_SUBAGENT_MODEL")
            .and_then(|model| self.resolve_model(model))
    }

    /// Resolve Claude Code's model aliases (`opus`, `sonnet[1m]`, `haiku`) through
    /// `ANTHROPIC_DEFAULT_*_MODEL`. An alias without such a variable means the client's
    /// built-in choice, which only the client knows: `None`.
    pub fn resolve_model(&self, model: &str) -> Option<String> {
        let model = model.trim();
        let bare = model
            .split('[')
            .next()
            .unwrap_or(model)
            .to_ascii_lowercase();
        let alias_var = match bare.as_str() {
            "opus" | "opusplan" | "best" => Some("ANTHROPIC_DEFAULT_OPUS_MODEL"),
            "sonnet" => Some("ANTHROPIC_DEFAULT_SONNET_MODEL"),
            "haiku" => Some("ANTHROPIC_DEFAULT_HAIKU_MODEL"),
            "default" | "" => return None,
            _ => None,
        };
        match alias_var {
            Some(var) => self.get(var).map(str::to_string),
            None => Some(model.to_string()),
        }
    }

    /// Every variable that is set, in [`KEYS`] order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        KEYS.iter()
            .filter_map(|key| self.get(key).map(|v| (*key, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_known_keys_and_types_them() {
        let env = ClientEnv::from_pairs([
            ("CLAUDE_CODE_MAX_OUTPUT_TOKENS", "8192"),
            ("MAX_THINKING_TOKENS", "0"),
            ("CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS", "three"),
            ("CLAUDE_CODE_USE_BEDROCK", "1"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("HOME", "/somewhere"),
        ]);
        assert_eq!(env.max_output_tokens(), Some(8192));
        assert_eq!(env.max_thinking_tokens(), Some(0));
        assert_eq!(env.max_concurrent_subagents(), 20);
        assert_eq!(env.max_tool_use_concurrency(), 10);
        assert!(env.uses_bedrock());
        assert_eq!(env.region(), Some(("AWS_DEFAULT_REGION", "eu-west-1")));
        assert_eq!(env.get("HOME"), None);
    }

    #[test]
    fn aliases_resolve_through_default_model_variables() {
        let env = ClientEnv::from_pairs([
            ("ANTHROPIC_MODEL", "opus[1m]"),
            (
                "ANTHROPIC_DEFAULT_OPUS_MODEL",
                "us.anthropic.claude-opus-5-5",
            ),
            ("CLAUDE_CODE_SUBAGENT_MODEL", "haiku"),
        ]);
        assert_eq!(
            env.main_model().as_deref(),
            Some("us.anthropic.claude-opus-5-5")
        );
        assert_eq!(env.subagent_model(), None);
        let plain = ClientEnv::from_pairs([("ANTHROPIC_MODEL", "us.anthropic.claude-sonnet-5")]);
        assert_eq!(
            plain.main_model().as_deref(),
            Some("us.anthropic.claude-sonnet-5")
        );
    }

    #[test]
    fn settings_model_is_the_fallback() {
        let env = ClientEnv {
            model_setting: Some("global.anthropic.claude-haiku-4-5-20251001-v1:0".into()),
            ..ClientEnv::default()
        };
        assert_eq!(
            env.main_model().as_deref(),
            Some("global.anthropic.claude-haiku-4-5-20251001-v1:0")
        );
        assert!(!env.uses_bedrock());
    }
}
