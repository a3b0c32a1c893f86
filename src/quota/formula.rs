//! The two numbers Bedrock charges a request: its reservation when it starts and its
//! settled cost when it ends (docs/protocol.md §8.1, §8.2).
//!
//! settled     = input + cache_write + output x b
//! reservation = input + cache_write (+ cache_read, optionally) + max(max_tokens, floor) x m
//!
//! `m` is the burndown rate `b` by default (the seed articles and old Claude Code docs);
//! AWS's re:Post article says `m = 1` and that cache reads are held too. Both points are
//! configurable, as is the 4096 minimum.

use serde::{Deserialize, Serialize};

/// Token counts of one request, as the API reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input: u64,
    pub cache_write: u64,
    pub cache_read: u64,
    pub output: u64,
}

impl Usage {
    /// Field-wise maximum: the usage of a response split over several transcript entries.
    pub fn max(self, other: Usage) -> Usage {
        Usage {
            input: self.input.max(other.input),
            cache_write: self.cache_write.max(other.cache_write),
            cache_read: self.cache_read.max(other.cache_read),
            output: self.output.max(other.output),
        }
    }

    pub fn add(&mut self, other: &Usage) {
        self.input += other.input;
        self.cache_write += other.cache_write;
        self.cache_read += other.cache_read;
        self.output += other.output;
    }

    /// Field-wise `self - other`, clamped at zero.
    pub fn saturating_sub(&self, other: &Usage) -> Usage {
        Usage {
            input: self.input.saturating_sub(other.input),
            cache_write: self.cache_write.saturating_sub(other.cache_write),
            cache_read: self.cache_read.saturating_sub(other.cache_read),
            output: self.output.saturating_sub(other.output),
        }
    }

    pub fn is_zero(&self) -> bool {
        *self == Usage::default()
    }
}

/// How the `max_tokens` part of a reservation is multiplied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Multiplier {
    /// `m = b`, the model's burndown rate (default).
    Burndown,
    /// A fixed multiplier, e.g. `1` as AWS's re:Post article describes.
    Fixed(f64),
}

/// The configurable, disputed parts of the reservation rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReservationRule {
    pub multiplier: Multiplier,
    /// Minimum `max_tokens` Bedrock charges for ("max_token penalty"), default 4096.
    pub floor: u64,
    /// Whether cache reads are held in the reservation until settlement.
    pub hold_cache_reads: bool,
}

impl Default for ReservationRule {
    fn default() -> Self {
        ReservationRule {
            multiplier: Multiplier::Burndown,
            floor: 4096,
            hold_cache_reads: false,
        }
    }
}

/// Quota tokens that stay charged once the request has finished.
pub fn settled(usage: &Usage, burndown: f64) -> u64 {
    usage.input + usage.cache_write + scale(usage.output, burndown)
}

/// Quota tokens held when the request starts.
pub fn reservation(usage: &Usage, max_tokens: u64, burndown: f64, rule: &ReservationRule) -> u64 {
    let multiplier = match rule.multiplier {
        Multiplier::Burndown => burndown,
        Multiplier::Fixed(m) => m,
    };
    let held_input = usage.input
        + usage.cache_write
        + if rule.hold_cache_reads {
            usage.cache_read
        } else {
            0
        };
    held_input + scale(max_tokens.max(rule.floor), multiplier)
}

fn scale(tokens: u64, rate: f64) -> u64 {
    let rate = if rate.is_finite() && rate > 0.0 {
        rate
    } else {
        0.0
    };
    (tokens as f64 * rate).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: Usage = Usage {
        input: 1_000,
        cache_write: 200,
        cache_read: 5_000,
        output: 300,
    };

    #[test]
    fn settled_ignores_cache_reads_and_burns_output() {
        assert_eq!(settled(&SAMPLE, 5.0), 1_000 + 200 + 1_500);
        assert_eq!(settled(&SAMPLE, 1.0), 1_500);
        assert_eq!(settled(&SAMPLE, 10.0), 4_200);
    }

    #[test]
    fn seed_article_example() {
        // "1,000 + 64,000 x 5 = 321,000 reserved"
        let usage = Usage {
            input: 1_000,
            ..Usage::default()
        };
        assert_eq!(
            reservation(&usage, 64_000, 5.0, &ReservationRule::default()),
            321_000
        );
    }

    #[test]
    fn opus_5_5_default_request_reserves_over_a_million() {
        let usage = Usage {
            input: 12_306,
            ..Usage::default()
        };
        assert_eq!(
            reservation(&usage, 128_000, 10.0, &ReservationRule::default()),
            1_292_306
        );
    }

    #[test]
    fn floor_applies_below_4096() {
        let usage = Usage {
            input: 10,
            ..Usage::default()
        };
        let rule = ReservationRule::default();
        assert_eq!(reservation(&usage, 1, 5.0, &rule), 10 + 4096 * 5);
        let no_floor = ReservationRule { floor: 0, ..rule };
        assert_eq!(reservation(&usage, 1, 5.0, &no_floor), 15);
    }

    #[test]
    fn aws_reading_multiplier_one_and_cache_reads_held() {
        let rule = ReservationRule {
            multiplier: Multiplier::Fixed(1.0),
            floor: 4096,
            hold_cache_reads: true,
        };
        assert_eq!(
            reservation(&SAMPLE, 64_000, 5.0, &rule),
            1_000 + 200 + 5_000 + 64_000
        );
    }

    #[test]
    fn split_entries_merge_by_maximum() {
        let early = Usage {
            input: 10,
            cache_write: 0,
            cache_read: 3,
            output: 1,
        };
        let late = Usage {
            input: 10,
            cache_write: 0,
            cache_read: 3,
            output: 250,
        };
        assert_eq!(early.max(late), late);
    }

    #[test]
    fn nonsense_rates_do_not_panic() {
        assert_eq!(settled(&SAMPLE, f64::NAN), 1_200);
        assert_eq!(settled(&SAMPLE, -3.0), 1_200);
    }
}
