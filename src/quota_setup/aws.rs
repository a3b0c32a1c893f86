//! The JSON of `aws service-quotas list-service-quotas --service-code bedrock --output
//! json` (and `list-aws-default-service-quotas`): `{"Quotas": [{"QuotaName", "QuotaCode",
//! "QuotaArn", "Value", ...}], "NextToken"}`, reduced to the Claude models' tokens per
//! minute, requests per minute and tokens per day.
//!
//! Quota names come in several generations (docs/protocol.md §8.4, AWS quota docs):
//! "Cross-region model inference tokens per minute for Anthropic Claude Sonnet 4 V1",
//! "Cross-Region InvokeModel requests per minute for Anthropic Claude Opus 5.5",
//! "On-demand InvokeModel tokens per minute for Anthropic Claude 3.5 Sonnet V2",
//! "Global cross-Region ...", "Model invocation max tokens per day for ...". The model
//! part maps to bedrock-hook's canonical names (`claude-sonnet-4`, `claude-3-5-sonnet`).
//! What mentions Claude but cannot be mapped is reported, never guessed. The one quota
//! across all models, "Cross-Model Max Tokens Per Day", becomes `tpd_all_models`.

use serde::Deserialize;

use crate::quota::{Limit, normalize};

/// The endpoint type a per-minute quota applies to. Quotas are separate per type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Endpoint {
    /// Cross-region inference profiles (`us.`, `eu.`, `apac.`, ... model ids).
    CrossRegion,
    /// Global inference profiles (`global.` model ids).
    Global,
    /// In-region on-demand (`anthropic.` model ids).
    OnDemand,
}

impl Endpoint {
    pub fn label(&self) -> &'static str {
        match self {
            Endpoint::CrossRegion => "cross-region",
            Endpoint::Global => "global",
            Endpoint::OnDemand => "on-demand",
        }
    }
}

#[derive(Debug, Deserialize)]
struct Listing {
    #[serde(rename = "Quotas", default)]
    quotas: Vec<WireQuota>,
}

#[derive(Debug, Deserialize)]
struct WireQuota {
    #[serde(rename = "QuotaName", default)]
    name: String,
    #[serde(rename = "QuotaCode", default)]
    code: Option<String>,
    #[serde(rename = "QuotaArn", default)]
    arn: Option<String>,
    #[serde(rename = "Value", default)]
    value: Option<f64>,
}

/// One entry of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsQuota {
    pub name: String,
    pub code: String,
    pub value: Option<f64>,
    /// An applied (account) value rather than AWS's default: its ARN names the account.
    pub applied: bool,
}

/// Parse one file's JSON.
pub fn parse(bytes: &[u8]) -> Result<Vec<AwsQuota>, serde_json::Error> {
    let listing: Listing = serde_json::from_slice(bytes)?;
    Ok(listing
        .quotas
        .into_iter()
        .map(|q| AwsQuota {
            applied: q.arn.as_deref().is_some_and(arn_has_account),
            name: q.name,
            code: q.code.unwrap_or_default(),
            value: q.value,
        })
        .collect())
}

/// `arn:aws:servicequotas:us-east-1:123456789012:bedrock/L-...` has one; defaults leave
/// the account field empty.
fn arn_has_account(arn: &str) -> bool {
    arn.split(':').nth(4).is_some_and(|a| !a.is_empty())
}

/// What a quota name means to bedrock-hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Meaning {
    /// A Claude model's TPM/RPM (for one endpoint type) or TPD (for all).
    Rate {
        model: String,
        limit: Limit,
        /// `None`: every endpoint type (the per-day quota).
        endpoint: Option<Endpoint>,
        /// The `V1`/`V2` suffix (1 when absent): `V2` is the newer model of the name.
        version: u32,
    },
    /// The account-wide "Cross-Model Max Tokens Per Day": one cap on every model's tokens
    /// together (`tpd_all_models`).
    AllModelsPerDay,
    /// About Claude rates, but not something bedrock-hook can map: the reason.
    Unrecognised(String),
    /// Not a Claude rate quota (other models, batch jobs, custom models, ...).
    Other,
}

/// Classify a quota by its name.
pub fn meaning(name: &str) -> Meaning {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("cross-model") && lower.contains("tokens per day") {
        return Meaning::AllModelsPerDay;
    }
    if lower.starts_with("cross-model") {
        return Meaning::Unrecognised(
            "an account-wide cap across all models: not modelled; set `tpd` by hand if it is \
             the one that binds"
                .to_string(),
        );
    }
    if !(lower.contains("claude") || lower.contains("anthropic")) || lower.contains("batch") {
        return Meaning::Other;
    }
    let limit = if lower.contains("tokens per minute") {
        Limit::TokensPerMinute
    } else if lower.contains("requests per minute") {
        Limit::RequestsPerMinute
    } else if lower.contains("tokens per day") {
        Limit::TokensPerDay
    } else {
        return Meaning::Other;
    };
    if lower.contains("mantle") {
        return Meaning::Unrecognised(
            "a bedrock-mantle endpoint quota (separate input/output tokens, no burndown): not \
             modelled"
                .to_string(),
        );
    }
    let endpoint =
        if lower.starts_with("global cross-region") || lower.starts_with("global cross region") {
            Some(Endpoint::Global)
        } else if lower.starts_with("cross-region") || lower.starts_with("cross region") {
            Some(Endpoint::CrossRegion)
        } else if lower.starts_with("on-demand") {
            Some(Endpoint::OnDemand)
        } else if limit == Limit::TokensPerDay {
            None
        } else {
            return Meaning::Unrecognised("endpoint type not recognised".to_string());
        };
    let Some((_, model_part)) = name.rsplit_once(" for ") else {
        return Meaning::Unrecognised("no model named".to_string());
    };
    match model_name(model_part) {
        Ok((model, version)) => Meaning::Rate {
            model,
            limit,
            endpoint,
            version,
        },
        Err(why) => Meaning::Unrecognised(why),
    }
}

/// `Anthropic Claude Sonnet 4 V1` -> (`claude-sonnet-4`, 1); `Anthropic Claude 3.5 Sonnet
/// V2` -> (`claude-3-5-sonnet`, 2).
pub fn model_name(text: &str) -> Result<(String, u32), String> {
    let mut words: Vec<&str> = text.split_whitespace().collect();
    if words
        .first()
        .is_some_and(|w| w.eq_ignore_ascii_case("anthropic"))
    {
        words.remove(0);
    }
    if !words
        .first()
        .is_some_and(|w| w.eq_ignore_ascii_case("claude"))
    {
        return Err(format!("model `{text}` is not a Claude model"));
    }
    words.remove(0);
    let mut version = 1;
    if let Some(last) = words.last()
        && let Some(n) = last
            .strip_prefix(['V', 'v'])
            .and_then(|n| n.parse::<u32>().ok())
    {
        version = n;
        words.pop();
    }
    let is_family =
        |w: &str| matches!(w.to_ascii_lowercase().as_str(), "sonnet" | "opus" | "haiku");
    let is_number = |w: &str| {
        !w.is_empty()
            && w.split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    let canonical = match words.as_slice() {
        [number, family] if is_number(number) && is_family(family) => format!(
            "claude-{}-{}",
            number.replace('.', "-"),
            family.to_ascii_lowercase()
        ),
        [family, number] if is_family(family) && is_number(number) => format!(
            "claude-{}-{}",
            family.to_ascii_lowercase(),
            number.replace('.', "-")
        ),
        [] => return Err(format!("model `{text}` names no Claude family")),
        _ if words.iter().any(|w| w.eq_ignore_ascii_case("context")) => {
            return Err(format!(
                "`{text}` is a long-context variant: bedrock-hook counts it under the base model"
            ));
        }
        _ => return Err(format!("model `{text}` not recognised")),
    };
    if normalize(&canonical, &Default::default()).version.is_none() {
        return Err(format!("model `{text}` not recognised"));
    }
    Ok((canonical, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_in_both_schemes() {
        let cases = [
            ("Anthropic Claude Sonnet 4 V1", ("claude-sonnet-4", 1)),
            ("Anthropic Claude 3.5 Sonnet V2", ("claude-3-5-sonnet", 2)),
            ("Anthropic Claude 3.5 Sonnet", ("claude-3-5-sonnet", 1)),
            ("Anthropic Claude 3 Haiku", ("claude-3-haiku", 1)),
            ("Anthropic Claude 3.7 Sonnet V1", ("claude-3-7-sonnet", 1)),
            ("Anthropic Claude Opus 4.1", ("claude-opus-4-1", 1)),
            ("Anthropic Claude Opus 5.5", ("claude-opus-5-5", 1)),
            ("Claude Haiku 4.5", ("claude-haiku-4-5", 1)),
        ];
        for (text, (model, version)) in cases {
            assert_eq!(model_name(text), Ok((model.to_string(), version)), "{text}");
        }
        for text in [
            "Anthropic Claude Instant",
            "Anthropic Claude V2",
            "Anthropic Claude Sonnet 4 V1 1M Context Length",
            "Amazon Nova Pro",
            "Anthropic Claude Sonnet",
        ] {
            assert!(model_name(text).is_err(), "{text}");
        }
        assert!(
            model_name("Anthropic Claude Sonnet 4 V1 1M Context Length")
                .unwrap_err()
                .contains("long-context")
        );
    }

    #[test]
    fn quota_names_by_generation() {
        let rate = |model: &str, limit, endpoint, version| Meaning::Rate {
            model: model.to_string(),
            limit,
            endpoint,
            version,
        };
        let cases = [
            (
                "Cross-region model inference tokens per minute for Anthropic Claude Sonnet 4 V1",
                rate(
                    "claude-sonnet-4",
                    Limit::TokensPerMinute,
                    Some(Endpoint::CrossRegion),
                    1,
                ),
            ),
            (
                "Cross-Region InvokeModel requests per minute for Anthropic Claude Opus 5.5",
                rate(
                    "claude-opus-5-5",
                    Limit::RequestsPerMinute,
                    Some(Endpoint::CrossRegion),
                    1,
                ),
            ),
            (
                "On-demand InvokeModel tokens per minute for Anthropic Claude 3.5 Sonnet V2",
                rate(
                    "claude-3-5-sonnet",
                    Limit::TokensPerMinute,
                    Some(Endpoint::OnDemand),
                    2,
                ),
            ),
            (
                "Global cross-Region InvokeModel tokens per minute for Anthropic Claude Opus 5.5",
                rate(
                    "claude-opus-5-5",
                    Limit::TokensPerMinute,
                    Some(Endpoint::Global),
                    1,
                ),
            ),
            (
                "Model invocation max tokens per day for Anthropic Claude Sonnet 4 V1",
                rate("claude-sonnet-4", Limit::TokensPerDay, None, 1),
            ),
        ];
        for (name, want) in cases {
            assert_eq!(meaning(name), want, "{name}");
        }
        for name in [
            "Batch inference job size (in GB) for Claude 3 Haiku",
            "On-demand model inference tokens per minute for Amazon Nova Pro",
            "Number of custom models per account",
        ] {
            assert_eq!(meaning(name), Meaning::Other, "{name}");
        }
        assert_eq!(
            meaning("Cross-Model Max Tokens Per Day"),
            Meaning::AllModelsPerDay
        );
        for name in [
            "Cross-Model Max Tokens Per Minute",
            "Bedrock Mantle input tokens per minute for Anthropic Claude Opus 5.5",
            "Model invocation max tokens per day for Anthropic Claude Instant",
            "Provisioned model inference tokens per minute for Anthropic Claude Sonnet 4 V1",
        ] {
            assert!(matches!(meaning(name), Meaning::Unrecognised(_)), "{name}");
        }
    }

    #[test]
    fn applied_values_are_told_apart_from_defaults_by_their_arn() {
        let json = br#"{"Quotas": [
            {"QuotaName": "a", "QuotaCode": "L-1", "Value": 5.0,
             "QuotaArn": "arn:aws:servicequotas:us-east-1:123456789012:bedrock/L-1"},
            {"QuotaName": "b", "QuotaCode": "L-2", "Value": 6.0,
             "QuotaArn": "arn:aws:servicequotas:us-east-1::bedrock/L-2", "NewField": [1]}
        ], "NextToken": null}"#;
        let quotas = parse(json).unwrap();
        assert!(quotas[0].applied);
        assert!(!quotas[1].applied);
        assert_eq!(quotas[1].value, Some(6.0));
        assert!(parse(b"[1]").is_err());
    }
}
