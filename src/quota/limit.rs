//! The three windows Bedrock throttles on, named the way the ledger, the config and the
//! messages name them.

use crate::config::Quotas;

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
}
