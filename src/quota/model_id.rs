//! Model id normalisation.
//!
//! Bedrock model ids arrive in many spellings for the same model: region and `global.`
//! inference-profile prefixes, the `anthropic.` vendor prefix, release dates, `-v1:0`
//! version suffixes, a `[1m]` context suffix, or whole ARNs. Quotas and burndown rates are
//! looked up by family, so every id is reduced to one canonical name such as
//! `claude-opus-5-5` or `claude-3-5-sonnet` before anything else sees it.

use std::collections::BTreeMap;

/// A model id reduced to its canonical name plus the version we could read from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelName {
    /// Canonical name, e.g. `claude-sonnet-4-5`.
    pub canonical: String,
    /// `(major, minor)` of a Claude model, when the name carries one.
    pub version: Option<(u32, u32)>,
}

/// Reduce a model id as sent (or as written in a transcript) to its canonical name.
///
/// `profiles` maps application inference profile ARNs (or their trailing ids) to the model
/// they route to; only the user can know that mapping, so it comes from the config.
pub fn normalize(raw: &str, profiles: &BTreeMap<String, String>) -> ModelName {
    let canonical = canonical_name(raw, profiles);
    let version = claude_version(&canonical);
    ModelName { canonical, version }
}

fn canonical_name(raw: &str, profiles: &BTreeMap<String, String>) -> String {
    let trimmed = raw.trim();
    if let Some(mapped) = lookup_profile(trimmed, profiles) {
        // A mapping may itself be any spelling of a model id.
        return strip_decorations(&mapped.to_ascii_lowercase());
    }
    let lower = trimmed.to_ascii_lowercase();
    if let Some(resource) = lower.strip_prefix("arn:") {
        // arn:aws:bedrock:<region>:<account>:<resource-type>/<id>
        let resource = resource.splitn(5, ':').nth(4).unwrap_or(resource);
        let (kind, id) = resource.split_once('/').unwrap_or(("", resource));
        if kind == "application-inference-profile" || kind == "provisioned-model" {
            return format!("{kind}/{id}");
        }
        return strip_decorations(id);
    }
    strip_decorations(&lower)
}

fn lookup_profile<'a>(raw: &str, profiles: &'a BTreeMap<String, String>) -> Option<&'a String> {
    if profiles.is_empty() {
        return None;
    }
    if let Some(found) = profiles.get(raw) {
        return Some(found);
    }
    let tail = raw.rsplit('/').next().unwrap_or(raw);
    profiles.get(tail)
}

/// Strip everything that does not change which model answers.
fn strip_decorations(id: &str) -> String {
    let mut s = id;
    // `[1m]` and any other bracketed variant suffix.
    if let Some(at) = s.find('[') {
        s = &s[..at];
    }
    // `-v1:0`, `:0`, `:200k`: everything after the first colon is a throughput/context tag.
    if let Some(at) = s.find(':') {
        s = &s[..at];
    }
    // Region / global profile prefixes and the vendor prefix.
    if let Some(at) = s.find("anthropic.") {
        s = &s[at + "anthropic.".len()..];
    } else if let Some((prefix, rest)) = s.split_once('.')
        && is_region_prefix(prefix)
    {
        s = rest;
    }
    let mut parts: Vec<&str> = s.split('-').filter(|p| !p.is_empty()).collect();
    // Trailing `latest`, `vN`, and release dates (8 digits).
    while let Some(last) = parts.last() {
        let is_version_tag = last.len() >= 2
            && last.starts_with('v')
            && last[1..].bytes().all(|b| b.is_ascii_digit());
        let is_date = last.len() == 8 && last.bytes().all(|b| b.is_ascii_digit());
        if *last == "latest" || is_version_tag || is_date {
            parts.pop();
        } else {
            break;
        }
    }
    parts.join("-")
}

fn is_region_prefix(prefix: &str) -> bool {
    matches!(
        prefix,
        "us" | "eu" | "apac" | "jp" | "au" | "ca" | "global" | "us-gov" | "uk"
    )
}

/// Read `(major, minor)` from a canonical Claude name in either naming scheme:
/// `claude-3-5-sonnet` (number first) or `claude-sonnet-4-5` (family first).
fn claude_version(canonical: &str) -> Option<(u32, u32)> {
    let rest = canonical.strip_prefix("claude-")?;
    let numbers: Vec<u32> = rest
        .split('-')
        .filter(|p| !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|p| p.parse().ok())
        .collect();
    let major = *numbers.first()?;
    let minor = numbers.get(1).copied().unwrap_or(0);
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(raw: &str) -> String {
        normalize(raw, &BTreeMap::new()).canonical
    }

    #[test]
    fn strips_region_vendor_date_and_version() {
        let cases = [
            (
                "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                "claude-sonnet-4-5",
            ),
            (
                "global.anthropic.claude-haiku-4-5-20251001-v1:0",
                "claude-haiku-4-5",
            ),
            (
                "anthropic.claude-3-5-sonnet-20241022-v2:0",
                "claude-3-5-sonnet",
            ),
            ("us.anthropic.claude-opus-5-5", "claude-opus-5-5"),
            ("us.anthropic.claude-opus-5-5[1m]", "claude-opus-5-5"),
            (
                "eu.anthropic.claude-3-7-sonnet-20250219-v1:0",
                "claude-3-7-sonnet",
            ),
            (
                "apac.anthropic.claude-sonnet-4-20250514-v1:0",
                "claude-sonnet-4",
            ),
            (
                "jp.anthropic.claude-opus-4-1-20250805-v1:0",
                "claude-opus-4-1",
            ),
            (
                "anthropic.claude-3-sonnet-20240229-v1:0:200k",
                "claude-3-sonnet",
            ),
            ("claude-sonnet-4-5", "claude-sonnet-4-5"),
            ("Claude-Opus-4-8", "claude-opus-4-8"),
            ("claude-opus-4-5-latest", "claude-opus-4-5"),
            ("  us.anthropic.claude-sonnet-5  ", "claude-sonnet-5"),
        ];
        for (raw, want) in cases {
            assert_eq!(canon(raw), want, "{raw}");
        }
    }

    #[test]
    fn arns_reduce_to_the_profile_or_model_inside() {
        assert_eq!(
            canon(
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0"
            ),
            "claude-sonnet-4-5"
        );
        assert_eq!(
            canon(
                "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
            ),
            "claude-3-haiku"
        );
        assert_eq!(
            canon("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3"),
            "application-inference-profile/a1b2c3"
        );
    }

    #[test]
    fn application_profiles_map_through_config() {
        let arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3";
        let mut by_arn = BTreeMap::new();
        by_arn.insert(arn.to_string(), "us.anthropic.claude-opus-4-8".to_string());
        assert_eq!(normalize(arn, &by_arn).canonical, "claude-opus-4-8");
        let mut by_id = BTreeMap::new();
        by_id.insert("a1b2c3".to_string(), "claude-sonnet-5".to_string());
        let name = normalize(arn, &by_id);
        assert_eq!(name.canonical, "claude-sonnet-5");
        assert_eq!(name.version, Some((5, 0)));
    }

    #[test]
    fn versions_in_both_naming_schemes() {
        let cases = [
            ("claude-3-5-sonnet", Some((3, 5))),
            ("claude-3-haiku", Some((3, 0))),
            ("claude-3-7-sonnet", Some((3, 7))),
            ("claude-sonnet-4", Some((4, 0))),
            ("claude-opus-4-1", Some((4, 1))),
            ("claude-opus-5-5", Some((5, 5))),
            ("amazon.nova-pro-v1:0", None),
            ("application-inference-profile/x", None),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize(raw, &BTreeMap::new()).version, want, "{raw}");
        }
    }

    #[test]
    fn garbage_never_panics() {
        for raw in [
            "",
            ":",
            "[",
            "arn:",
            "arn:a/b/c",
            ".",
            "anthropic.",
            "-v1",
            "claude-",
            "claude-99999999999",
        ] {
            let _ = normalize(raw, &BTreeMap::new());
        }
    }
}
