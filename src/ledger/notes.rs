//! Throttle explanations kept for later. Claude Code 2.1.328 neither shows nor records a
//! `systemMessage` returned at `StopFailure`, the one event that says a turn died on a
//! 429, so the explanation is kept in the live state and given at the session's next
//! `UserPromptSubmit` or `SessionStart` (once), and the status line shows a short form of
//! the last throttle for a while. Bounded: a few sessions, short texts, nothing older
//! than a day.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Sessions with an explanation waiting: the oldest give way.
const PENDING_MAX: usize = 16;
/// Longest text kept (the explanations are well under this).
const TEXT_MAX: usize = 4096;
/// An explanation nobody picked up within this is dropped.
const PENDING_KEEP_MS: i64 = 24 * 3600 * 1000;

/// The last throttle, as the status line shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LastThrottle {
    pub at_ms: i64,
    /// `TPD`, `TPM`, `RPM`, or `?` when the error did not say.
    pub limit: String,
    /// What bedrock-hook estimated at that moment: `est. 1.69M of 10M`.
    pub estimate: String,
    /// The one fix: `CLAUDE_CODE_MAX_OUTPUT_TOKENS=5120`, `bedrock-hook quota calibrate`.
    pub fix: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ThrottleNotes {
    /// session -> (when throttled, the explanation).
    #[serde(default)]
    pub pending: BTreeMap<String, (i64, String)>,
    #[serde(default)]
    pub last: Option<LastThrottle>,
}

impl ThrottleNotes {
    /// Keep `text` for `session`'s next prompt or start, and `last` for the status line.
    pub fn hold(&mut self, session: &str, at_ms: i64, text: &str, last: LastThrottle) {
        let mut text = text.to_string();
        if text.len() > TEXT_MAX {
            let mut cut = TEXT_MAX;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        self.pending.insert(session.to_string(), (at_ms, text));
        self.pending
            .retain(|_, (at, _)| *at > at_ms - PENDING_KEEP_MS);
        super::bounded::keep_newest(&mut self.pending, PENDING_MAX, |(at, _)| *at);
        self.last = Some(last);
    }

    /// The explanation waiting for `session`, if any and not too old (it is not removed:
    /// see [`ThrottleNotes::take`]).
    pub fn waiting(&self, session: &str, now_ms: i64) -> Option<&(i64, String)> {
        self.pending
            .get(session)
            .filter(|(at, _)| *at > now_ms - PENDING_KEEP_MS && *at <= now_ms + 60_000)
    }

    /// Forget `session`'s explanation once it was given. Returns whether there was one.
    pub fn take(&mut self, session: &str) -> bool {
        self.pending.remove(session).is_some()
    }

    /// The last throttle, if it happened within `window_ms` before `now_ms`.
    pub fn recent(&self, now_ms: i64, window_ms: i64) -> Option<&LastThrottle> {
        self.last
            .as_ref()
            .filter(|l| l.at_ms <= now_ms + 60_000 && now_ms - l.at_ms < window_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last(at_ms: i64) -> LastThrottle {
        LastThrottle {
            at_ms,
            limit: "TPD".into(),
            estimate: "est. 1M of 2M".into(),
            fix: "bedrock-hook quota calibrate".into(),
        }
    }

    #[test]
    fn given_once_and_bounded() {
        let mut notes = ThrottleNotes::default();
        for i in 0..40 {
            notes.hold(&format!("s{i}"), i, &"x".repeat(10_000), last(i));
        }
        assert_eq!(notes.pending.len(), PENDING_MAX);
        assert!(notes.waiting("s0", 100).is_none());
        let (at, text) = notes.waiting("s39", 100).unwrap();
        assert_eq!((*at, text.len()), (39, TEXT_MAX));
        assert!(notes.take("s39"));
        assert!(!notes.take("s39"));
        assert!(notes.waiting("s39", 100).is_none());
        assert!(notes.waiting("s38", PENDING_KEEP_MS + 38).is_none());
    }

    #[test]
    fn the_status_line_note_fades() {
        let mut notes = ThrottleNotes::default();
        notes.hold("s", 1_000, "t", last(1_000));
        assert!(notes.recent(1_000 + 599_999, 600_000).is_some());
        assert!(notes.recent(1_000 + 600_000, 600_000).is_none());
        // A clock stepped far back does not keep it up for ever.
        assert!(notes.recent(-10_000_000, 600_000).is_none());
    }
}
