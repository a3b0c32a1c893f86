//! The three windows Bedrock throttles on, named the way the ledger, the config and the
//! messages name them, and the quotas on them: a bucket's ([`Quotas`]) and which bucket a
//! model counts against ([`Buckets`]).

use std::collections::BTreeMap;

use super::burndown::prefix_matches;

/// Quotas of one bucket (the account default, or one model).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quotas {
    pub tpd: Option<u64>,
    pub tpm: Option<u64>,
    pub rpm: Option<u64>,
}

/// The configured buckets: the account default, and the models with quotas of their own
/// (keyed by canonical model name prefix).
#[derive(Debug, Clone, Copy)]
pub struct Buckets<'a> {
    pub default: &'a Quotas,
    pub models: &'a BTreeMap<String, Quotas>,
}

impl Buckets<'_> {
    /// The bucket a model's usage counts against: its `models` key (the longest prefix
    /// that matches), or "" for the shared default bucket.
    pub fn bucket_for(&self, canonical_model: &str) -> String {
        self.models
            .keys()
            .filter(|key| prefix_matches(canonical_model, key))
            .max_by_key(|key| key.len())
            .cloned()
            .unwrap_or_default()
    }

    /// The quotas that apply to a model: its own entry, else the account default.
    pub fn quotas_for(&self, canonical_model: &str) -> Quotas {
        match self.models.get(&self.bucket_for(canonical_model)) {
            Some(own) => Quotas {
                tpd: own.tpd.or(self.default.tpd),
                tpm: own.tpm.or(self.default.tpm),
                rpm: own.rpm.or(self.default.rpm),
            },
            None => *self.default,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Limit {
    TokensPerDay,
    TokensPerMinute,
    RequestsPerMinute,
}

impl Limit {
    pub const ALL: [Limit; 3] = [
        Limit::TokensPerDay,
        Limit::TokensPerMinute,
        Limit::RequestsPerMinute,
    ];

    /// As written in throttle records: `tokens-per-day`, ...
    pub fn as_str(&self) -> &'static str {
        match self {
            Limit::TokensPerDay => "tokens-per-day",
            Limit::TokensPerMinute => "tokens-per-minute",
            Limit::RequestsPerMinute => "requests-per-minute",
        }
    }

    pub fn parse(text: &str) -> Option<Limit> {
        Limit::ALL.into_iter().find(|l| l.as_str() == text)
    }

    /// `TPD`, `TPM`, `RPM`.
    pub fn short(&self) -> &'static str {
        match self {
            Limit::TokensPerDay => "TPD",
            Limit::TokensPerMinute => "TPM",
            Limit::RequestsPerMinute => "RPM",
        }
    }

    /// The config key: `tpd`, `tpm`, `rpm`.
    pub fn key(&self) -> &'static str {
        match self {
            Limit::TokensPerDay => "tpd",
            Limit::TokensPerMinute => "tpm",
            Limit::RequestsPerMinute => "rpm",
        }
    }

    pub fn of(&self, quotas: &Quotas) -> Option<u64> {
        match self {
            Limit::TokensPerDay => quotas.tpd,
            Limit::TokensPerMinute => quotas.tpm,
            Limit::RequestsPerMinute => quotas.rpm,
        }
    }

    pub fn set(&self, quotas: &mut Quotas, value: Option<u64>) {
        match self {
            Limit::TokensPerDay => quotas.tpd = value,
            Limit::TokensPerMinute => quotas.tpm = value,
            Limit::RequestsPerMinute => quotas.rpm = value,
        }
    }

    pub fn counts_tokens(&self) -> bool {
        !matches!(self, Limit::RequestsPerMinute)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for limit in Limit::ALL {
            assert_eq!(Limit::parse(limit.as_str()), Some(limit));
        }
        assert_eq!(Limit::parse("unknown"), None);
        let mut q = Quotas::default();
        Limit::TokensPerMinute.set(&mut q, Some(5));
        assert_eq!(Limit::TokensPerMinute.of(&q), Some(5));
        assert_eq!(q.tpm, Some(5));
    }

    #[test]
    fn a_model_counts_in_its_longest_prefix_and_inherits_the_default() {
        let default = Quotas {
            tpd: Some(10),
            tpm: Some(5),
            rpm: None,
        };
        let mut models = BTreeMap::new();
        models.insert("claude-sonnet".to_string(), Quotas::default());
        let own = Quotas {
            tpm: Some(2),
            ..Quotas::default()
        };
        models.insert("claude-sonnet-4-5".to_string(), own);
        let buckets = Buckets {
            default: &default,
            models: &models,
        };
        assert_eq!(
            buckets.bucket_for("claude-sonnet-4-5-v2"),
            "claude-sonnet-4-5"
        );
        assert_eq!(buckets.bucket_for("claude-sonnet-4"), "claude-sonnet");
        assert_eq!(buckets.bucket_for("claude-sonnetx"), "");
        let q = buckets.quotas_for("claude-sonnet-4-5");
        assert_eq!((q.tpd, q.tpm, q.rpm), (Some(10), Some(2), None));
        assert_eq!(buckets.quotas_for("claude-opus-5"), default);
    }
}
