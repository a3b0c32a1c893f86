//! Why Bedrock said 429, when the account's own numbers are known: (a) the account used
//! the quota (and how much of it was other machines'), (b) the quota is lower than
//! configured although the account used little (the new-account provisioning problem:
//! only AWS Support can fix it, given a throttled call's `x-amzn-requestid`), or (c) this
//! machine's own reservations held it. `quota calibrate` and the throttle message share
//! this one reading.

use crate::ledger::ThrottleInfo;
use crate::terminal::pretty_tokens;

/// Use above this share of the quota counts as "used it".
const USED_PERCENT: u64 = 90;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// (a) The account's settled use filled the window; `others` of it was not ours.
    AccountUsedIt { used: u64, quota: u64, others: u64 },
    /// (b) The account was well under the configured quota.
    QuotaLower {
        used: u64,
        quota: u64,
        request_id: Option<String>,
    },
    /// (c) Settled use left room; this machine's reservations took it.
    OwnReservations {
        settled: u64,
        reserved: u64,
        quota: u64,
    },
}

/// The verdict for a TPD throttle recorded in account mode; `None` without the account's
/// numbers or a configured TPD.
pub fn of(info: &ThrottleInfo) -> Option<Verdict> {
    let used = info.account_day_used?;
    let quota = info.tpd?;
    let reserved = info.reserved_then.unwrap_or(0);
    let settled = used.saturating_sub(reserved);
    let near = |n: u64| n.saturating_mul(100) >= quota.saturating_mul(USED_PERCENT);
    Some(if !near(used) {
        Verdict::QuotaLower {
            used,
            quota,
            request_id: info.request_id.clone(),
        }
    } else if near(settled) {
        Verdict::AccountUsedIt {
            used: settled,
            quota,
            others: info.others_day_used.unwrap_or(0),
        }
    } else {
        Verdict::OwnReservations {
            settled,
            reserved,
            quota,
        }
    })
}

impl Verdict {
    pub fn letter(&self) -> char {
        match self {
            Verdict::AccountUsedIt { .. } => 'a',
            Verdict::QuotaLower { .. } => 'b',
            Verdict::OwnReservations { .. } => 'c',
        }
    }

    /// One or two sentences.
    pub fn explain(&self) -> String {
        let pct = |n: u64, q: u64| (n as f64 * 100.0 / q.max(1) as f64).round() as u64;
        match self {
            Verdict::AccountUsedIt {
                used,
                quota,
                others,
            } => format!(
                "The account used the quota: CloudWatch shows {} of the {} TPD settled ({}%), {} of it by other machines (CloudWatch minus this machine's own).",
                pretty_tokens(*used),
                pretty_tokens(*quota),
                pct(*used, *quota),
                pretty_tokens(*others)
            ),
            Verdict::QuotaLower {
                used,
                quota,
                request_id,
            } => {
                let id = match request_id {
                    Some(id) => format!(" (x-amzn-requestid {})", crate::terminal::clean(id)),
                    None => " (the x-amzn-requestid of a throttled call)".to_string(),
                };
                format!(
                    "The real quota is lower than the configured {}: the whole account had used only {} ({}%) with this machine's reservations. Open an AWS Support case for the Bedrock quota with the request id{id}.",
                    pretty_tokens(*quota),
                    pretty_tokens(*used),
                    pct(*used, *quota)
                )
            }
            Verdict::OwnReservations {
                settled,
                reserved,
                quota,
            } => format!(
                "This machine's reservations took the rest: the account had settled {} of the {} TPD ({}%) and this machine held {} in flight and for the refused request.",
                pretty_tokens(*settled),
                pretty_tokens(*quota),
                pct(*settled, *quota),
                pretty_tokens(*reserved)
            ),
        }
    }
}

/// An AWS request id in a throttle message (`x-amzn-requestid: <uuid>`, `Request ID: <uuid>`).
pub fn request_id_in(message: &str) -> Option<String> {
    let lower = message.to_ascii_lowercase();
    for key in ["x-amzn-requestid", "request id", "requestid"] {
        let Some(at) = lower.find(key) else { continue };
        let rest = message[at + key.len()..].trim_start_matches([':', '=', ' ', '"']);
        let end = rest
            .find(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
            .unwrap_or(rest.len());
        if let Some(id) = request_id(&rest[..end]) {
            return Some(id);
        }
    }
    None
}

/// `text` if it has the shape of an AWS request id (16 to 64 hex digits and dashes), the
/// only form in which one is stored or shown.
pub fn request_id(text: &str) -> Option<String> {
    let shaped =
        (16..=64).contains(&text.len()) && text.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    shaped.then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(used: u64, others: u64, reserved: u64) -> ThrottleInfo {
        ThrottleInfo {
            limit: Some(crate::quota::Limit::TokensPerDay),
            tpd: Some(10_000_000),
            account_day_used: Some(used),
            others_day_used: Some(others),
            reserved_then: Some(reserved),
            ..ThrottleInfo::default()
        }
    }

    #[test]
    fn three_verdicts() {
        assert_eq!(
            of(&info(9_800_000, 7_000_000, 300_000)).unwrap().letter(),
            'a'
        );
        assert_eq!(
            of(&info(1_500_000, 200_000, 1_300_000)).unwrap().letter(),
            'b'
        );
        assert_eq!(
            of(&info(9_500_000, 1_000_000, 3_000_000)).unwrap().letter(),
            'c'
        );
        assert_eq!(of(&ThrottleInfo::default()), None);
    }

    #[test]
    fn request_ids() {
        assert_eq!(
            request_id_in("429 ... x-amzn-requestid: 3f1c9a2e-8b7d-4c1e-9f0a-123456789abc"),
            Some("3f1c9a2e-8b7d-4c1e-9f0a-123456789abc".into())
        );
        assert_eq!(request_id_in("Too many tokens per day"), None);
    }
}
