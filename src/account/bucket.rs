//! Bedrock quotas are per AWS region and per endpoint type: in-region model ids, the
//! cross-region geo profiles (`us.`, `eu.`, `apac.`, ...) and `global.` each have their own
//! TPM/TPD. Account usage is kept apart along those lines, not by model alone.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndpointType {
    InRegion,
    Geo,
    Global,
}

/// Geo inference profile prefixes (`us.anthropic...`).
const GEO_PREFIXES: &[&str] = &["us", "eu", "apac", "jp", "au", "ca", "us-gov"];

impl EndpointType {
    /// The endpoint type a model id as called goes to.
    pub fn of(model_id: &str) -> EndpointType {
        // An application inference profile ARN names no prefix: in-region by default.
        let id = model_id.rsplit('/').next().unwrap_or(model_id);
        match id.split_once('.') {
            Some(("global", _)) => EndpointType::Global,
            Some((prefix, _)) if GEO_PREFIXES.contains(&prefix) => EndpointType::Geo,
            _ => EndpointType::InRegion,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            EndpointType::InRegion => "in-region",
            EndpointType::Geo => "geo",
            EndpointType::Global => "global",
        }
    }
}

/// The region Claude Code's requests go to, as the hook's environment says.
pub fn region_from(lookup: impl Fn(&str) -> Option<String>) -> Option<String> {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .into_iter()
        .find_map(|key| lookup(key).filter(|v| !v.trim().is_empty()))
        .map(|v| v.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_types() {
        for (id, endpoint) in [
            ("us.anthropic.claude-opus-5-5", EndpointType::Geo),
            (
                "eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
                EndpointType::Geo,
            ),
            (
                "global.anthropic.claude-haiku-4-5-20251001-v1:0",
                EndpointType::Global,
            ),
            ("anthropic.claude-opus-4-8", EndpointType::InRegion),
        ] {
            assert_eq!(EndpointType::of(id), endpoint, "{id}");
        }
    }

    #[test]
    fn region_prefers_aws_region() {
        let env = |k: &str| match k {
            "AWS_REGION" => Some("eu-west-1".to_string()),
            "AWS_DEFAULT_REGION" => Some("us-east-1".to_string()),
            _ => None,
        };
        assert_eq!(region_from(env).as_deref(), Some("eu-west-1"));
        assert_eq!(region_from(|_| None), None);
    }
}
