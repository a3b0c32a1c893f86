//! Output-token burndown rates and assumed default `max_tokens`, by model family.
//!
//! Bedrock charges output tokens against TPM/TPD at a model-specific multiple (the
//! "burndown rate"). The rates change over time, so the built-in table is only a default:
//! users override it per model (longest prefix of the canonical name wins).

use std::collections::BTreeMap;

use super::model_id::ModelName;

/// The burndown rate that applies to one model, and whether it was a guess.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Burndown {
    pub rate: f64,
    /// True when the model is not in the table and the fallback rate was used.
    pub assumed: bool,
}

/// Rate used for models the table does not know.
pub const UNKNOWN_RATE: f64 = 5.0;

/// Look up the burndown rate: user overrides first, then the built-in family table.
pub fn burndown_for(model: &ModelName, overrides: &BTreeMap<String, f64>) -> Burndown {
    if let Some(rate) = longest_prefix(&model.canonical, overrides) {
        return Burndown {
            rate,
            assumed: false,
        };
    }
    match builtin_rate(model.version) {
        Some(rate) => Burndown {
            rate,
            assumed: false,
        },
        None => Burndown {
            rate: UNKNOWN_RATE,
            assumed: true,
        },
    }
}

/// Built-in table (docs/protocol.md §8.3): Claude 3 / 3.5 -> 1; 3.7 and 4.0-4.7 -> 5;
/// 4.8 -> 15; 5.x -> 10.
fn builtin_rate(version: Option<(u32, u32)>) -> Option<f64> {
    match version? {
        (3, minor) if minor < 7 => Some(1.0),
        (3, 7) => Some(5.0),
        (4, minor) if minor <= 7 => Some(5.0),
        (4, 8) => Some(15.0),
        (5, _) => Some(10.0),
        _ => None,
    }
}

/// The `max_tokens` Claude Code sends by default for a model, used only when the
/// transcript has no `api-request` entry and `CLAUDE_CODE_MAX_OUTPUT_TOKENS` is unset.
/// Records built from it are marked as assumed. Observed with client 2.1.328: Opus 5.5
/// sends 128,000; Sonnet 4.5 and Haiku 4.5 send 32,000 (with `--model`, `ANTHROPIC_MODEL`,
/// `[1m]`, the `sonnet`/`haiku` aliases and the Agent tool's `model`); the end-to-end test
/// `default_max_tokens_table_matches_the_client` keeps that observation (docs/protocol.md
/// §7.2).
pub fn default_max_tokens(model: &ModelName, overrides: &BTreeMap<String, u64>) -> u64 {
    if let Some(value) = longest_prefix(&model.canonical, overrides) {
        return value;
    }
    let is_opus = model.canonical.contains("opus");
    match model.version {
        Some((5, _)) | Some((4, 8)) => 128_000,
        Some((4, minor)) if is_opus && minor < 5 => 32_000,
        Some((4, 5)) if !is_opus => 32_000,
        Some((4, _)) => 64_000,
        Some((3, 7)) => 32_000,
        Some((3, _)) => 8_192,
        _ => 32_000,
    }
}

/// Longest key of `table` that is a prefix of `canonical` on a `-` boundary
/// (`claude-opus-4` matches `claude-opus-4-1` but not `claude-opus-45`).
pub fn longest_prefix<T: Copy>(canonical: &str, table: &BTreeMap<String, T>) -> Option<T> {
    table
        .iter()
        .filter(|(key, _)| prefix_matches(canonical, key))
        .max_by_key(|(key, _)| key.len())
        .map(|(_, value)| *value)
}

/// Whether `key` names `canonical` or a family it belongs to (`-` boundary).
pub fn prefix_matches(canonical: &str, key: &str) -> bool {
    canonical == key
        || (canonical.starts_with(key) && canonical.as_bytes().get(key.len()) == Some(&b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quota::model_id::normalize;

    fn rate(raw: &str) -> Burndown {
        burndown_for(&normalize(raw, &BTreeMap::new()), &BTreeMap::new())
    }

    #[test]
    fn builtin_table_by_family() {
        let cases = [
            ("anthropic.claude-3-haiku-20240307-v1:0", 1.0),
            ("anthropic.claude-3-5-sonnet-20241022-v2:0", 1.0),
            ("us.anthropic.claude-3-7-sonnet-20250219-v1:0", 5.0),
            ("us.anthropic.claude-sonnet-4-20250514-v1:0", 5.0),
            ("us.anthropic.claude-opus-4-20250514-v1:0", 5.0),
            ("us.anthropic.claude-opus-4-1-20250805-v1:0", 5.0),
            ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", 5.0),
            ("us.anthropic.claude-sonnet-4-6", 5.0),
            ("us.anthropic.claude-haiku-4-5-20251001-v1:0", 5.0),
            ("us.anthropic.claude-opus-4-5-20251101-v1:0", 5.0),
            ("us.anthropic.claude-opus-4-7", 5.0),
            ("us.anthropic.claude-opus-4-8", 15.0),
            ("us.anthropic.claude-sonnet-5", 10.0),
            ("us.anthropic.claude-opus-5", 10.0),
            ("us.anthropic.claude-opus-5-5", 10.0),
        ];
        for (raw, want) in cases {
            let got = rate(raw);
            assert_eq!(got.rate, want, "{raw}");
            assert!(!got.assumed, "{raw}");
        }
    }

    #[test]
    fn unknown_models_get_five_and_a_flag() {
        for raw in [
            "amazon.nova-pro-v1:0",
            "claude-2",
            "claude-opus-6-1",
            "application-inference-profile/x",
        ] {
            assert_eq!(
                rate(raw),
                Burndown {
                    rate: 5.0,
                    assumed: true
                },
                "{raw}"
            );
        }
    }

    #[test]
    fn overrides_win_longest_prefix_first() {
        let mut overrides = BTreeMap::new();
        overrides.insert("claude-opus".to_string(), 7.0);
        overrides.insert("claude-opus-5-5".to_string(), 12.0);
        let opus55 = normalize("us.anthropic.claude-opus-5-5", &BTreeMap::new());
        let opus48 = normalize("us.anthropic.claude-opus-4-8", &BTreeMap::new());
        let sonnet = normalize("us.anthropic.claude-sonnet-5", &BTreeMap::new());
        assert_eq!(burndown_for(&opus55, &overrides).rate, 12.0);
        assert_eq!(burndown_for(&opus48, &overrides).rate, 7.0);
        assert_eq!(burndown_for(&sonnet, &overrides).rate, 10.0);
    }

    #[test]
    fn prefix_matches_only_on_dash_boundary() {
        let mut table = BTreeMap::new();
        table.insert("claude-opus-4".to_string(), 1u64);
        assert_eq!(longest_prefix("claude-opus-4-1", &table), Some(1));
        assert_eq!(longest_prefix("claude-opus-4", &table), Some(1));
        assert_eq!(longest_prefix("claude-opus-45", &table), None);
    }

    #[test]
    fn default_max_tokens_by_family() {
        let none = BTreeMap::new();
        let name = |raw: &str| normalize(raw, &BTreeMap::new());
        assert_eq!(
            default_max_tokens(&name("us.anthropic.claude-opus-5-5"), &none),
            128_000
        );
        assert_eq!(default_max_tokens(&name("claude-opus-4-1"), &none), 32_000);
        for sonnet_or_haiku in [
            "claude-sonnet-4-5",
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0[1m]",
            "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        ] {
            assert_eq!(
                default_max_tokens(&name(sonnet_or_haiku), &none),
                32_000,
                "{sonnet_or_haiku}"
            );
        }
        assert_eq!(
            default_max_tokens(&name("claude-sonnet-4-6"), &none),
            64_000
        );
        assert_eq!(default_max_tokens(&name("claude-3-5-sonnet"), &none), 8_192);
        let mut overrides = BTreeMap::new();
        overrides.insert("claude-opus-5".to_string(), 64_000u64);
        assert_eq!(
            default_max_tokens(&name("claude-opus-5-5"), &overrides),
            64_000
        );
    }
}
