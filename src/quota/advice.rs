//! Which `max_tokens` to recommend. Lower means a smaller reservation per request, but
//! a cap below what the model really writes truncates long answers and file writes (the
//! blind "set it to 4096" advice did exactly that). So the recommendation comes from the
//! largest output actually seen, with headroom:
//!
//! recommended = clamp(round_up(largest_output x 1.5, 1024), 4096, model default)
//!
//! and 4096 when there is no history yet. Below 4096 nothing is saved anyway: Bedrock
//! charges at least 4096 (the max_tokens floor); above the model's default nothing is
//! gained.

/// Headroom over the largest output seen, in percent.
pub const HEADROOM_PERCENT: u64 = 50;
/// Recommendations are rounded up to a multiple of this.
pub const ROUND_TO: u64 = 1024;
/// The recommendation without any output history, and the lowest one ever made.
pub const WITHOUT_HISTORY: u64 = 4096;

/// The `max_tokens` to recommend given the largest output seen (0: none seen).
pub fn recommend_max_tokens(largest_output: u64, model_default: u64) -> u64 {
    if largest_output == 0 {
        return WITHOUT_HISTORY;
    }
    with_headroom(largest_output, HEADROOM_PERCENT)
        .max(WITHOUT_HISTORY)
        .min(model_default.max(WITHOUT_HISTORY))
}

/// `largest_output` plus `headroom_percent`, rounded up to a multiple of [`ROUND_TO`] (at
/// least one): the rule both the guards' advice and `report`'s suggestion apply.
pub fn with_headroom(largest_output: u64, headroom_percent: u64) -> u64 {
    let wanted = (u128::from(largest_output) * (u128::from(headroom_percent) + 100)).div_ceil(100);
    let rounded = wanted.div_ceil(u128::from(ROUND_TO)).max(1) * u128::from(ROUND_TO);
    rounded.min(u128::from(u64::MAX)) as u64
}

/// Where a recommendation comes from, for messages.
pub fn basis(largest_output: u64) -> String {
    if largest_output == 0 {
        "no output history yet".to_string()
    } else {
        format!(
            "largest output seen {} + {HEADROOM_PERCENT}% headroom",
            crate::terminal::pretty_tokens(largest_output)
        )
    }
}

/// How many requests holding `reservation` each fit side by side in `quota`.
pub fn fitting(quota: u64, reservation: u64) -> u64 {
    quota.checked_div(reservation).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_history_means_4096() {
        assert_eq!(recommend_max_tokens(0, 128_000), 4096);
        assert_eq!(basis(0), "no output history yet");
    }

    #[test]
    fn headroom_is_half_again_rounded_up_to_1024() {
        // 3100 x 1.5 = 4650 -> 5120
        assert_eq!(recommend_max_tokens(3_100, 128_000), 5_120);
        // 5461 x 1.5 = 8191.5 -> 8192 exactly
        assert_eq!(recommend_max_tokens(5_461, 128_000), 8_192);
        // 5462 x 1.5 = 8193 -> 9216
        assert_eq!(recommend_max_tokens(5_462, 128_000), 9_216);
        // a truncated 4096 output gets room to grow
        assert_eq!(recommend_max_tokens(4_096, 128_000), 6_144);
        assert_eq!(basis(3_100), "largest output seen 3.1k + 50% headroom");
    }

    #[test]
    fn never_below_the_floor_nor_above_the_model_default() {
        assert_eq!(recommend_max_tokens(37, 128_000), 4096);
        assert_eq!(recommend_max_tokens(100_000, 128_000), 128_000);
        assert_eq!(recommend_max_tokens(60_000, 64_000), 64_000);
        assert_eq!(recommend_max_tokens(u64::MAX, 32_000), 32_000);
        // a model whose default is under the floor still gets the floor
        assert_eq!(recommend_max_tokens(3_000, 2_048), 4096);
    }

    #[test]
    fn fitting_counts_whole_requests() {
        assert_eq!(fitting(2_000_000, 1_292_306), 1);
        assert_eq!(fitting(1_000_000, 1_292_306), 0);
        assert_eq!(fitting(2_000_000, 0), u64::MAX);
    }
}
