//! The current time, with one way to pin it: `BEDROCK_HOOK_NOW` (RFC 3339). Pinning lets
//! a day be replayed against the transcripts it was recorded from, and lets tests check
//! the exact wording of messages that say when a window frees up. Every command reads the
//! time here, so one variable moves the whole program (tests pin it to stay independent of
//! the day they run).

use chrono::{DateTime, Utc};

/// The environment variable that pins the clock.
pub const NOW_VAR: &str = "BEDROCK_HOOK_NOW";

/// Now, or the instant `BEDROCK_HOOK_NOW` names (ignored when it does not parse).
pub fn now() -> DateTime<Utc> {
    crate::process_env::var(NOW_VAR)
        .and_then(|text| parse(&text))
        .unwrap_or_else(Utc::now)
}

/// [`now`] as a [`std::time::SystemTime`], for comparing with file times.
pub fn system_now() -> std::time::SystemTime {
    std::time::SystemTime::from(now())
}

fn parse(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc3339_and_ignores_garbage() {
        assert_eq!(
            parse("2026-11-22T01:39:30Z"),
            Some("2026-11-22T01:39:30Z".parse().unwrap())
        );
        assert_eq!(
            parse(" 2026-11-22T10:39:30+09:00 "),
            Some("2026-11-22T01:39:30Z".parse().unwrap())
        );
        assert_eq!(parse("yesterday"), None);
        assert_eq!(parse(""), None);
    }
}
