//! Account mode's part of `quota calibrate` (and `doctor`): the verdict of each recorded
//! throttle, and the burndown table checked against CloudWatch's own estimate of the
//! quota use (`EstimatedTPMQuotaUsage`: b = (estimate - input - cache writes) / output).

use std::fmt::Write as _;
use std::path::Path;

use super::file::AccountFile;
use super::verdict;
use crate::ledger::{Kind, Record};
use crate::terminal::pretty_tokens;

/// A disagreement larger than this share (of the table's rate) is reported.
const BURNDOWN_TOLERANCE: f64 = 0.10;
/// Below this much output the implied rate says little.
const MIN_OUTPUT: u64 = 1_000;

/// The lines `quota calibrate` adds in account mode; empty when there is nothing to say.
pub fn calibrate_section(throttles: &[Record], data_dir: &Path) -> String {
    let mut out = String::new();
    let verdicts: Vec<_> = throttles
        .iter()
        .filter(|r| r.kind == Kind::Throttle)
        .filter_map(|r| Some((r, verdict::of(r.throttle.as_ref()?)?)))
        .collect();
    if !verdicts.is_empty() {
        let _ = writeln!(out, "\nWhat the account's numbers (CloudWatch) say:");
        for (r, v) in &verdicts {
            let _ = writeln!(
                out,
                "  {}  ({}) {}",
                r.ts.format("%Y-%m-%d %H:%M:%S"),
                v.letter(),
                v.explain()
            );
        }
    }
    if let Some(file) = AccountFile::read(data_dir) {
        let lines = burndown_check(&file);
        if !lines.is_empty() {
            let _ = writeln!(
                out,
                "\nBurndown against CloudWatch's EstimatedTPMQuotaUsage (today):"
            );
            for line in lines {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    out
}

/// One line per model with an estimate and enough output: agreement or the rate to set.
pub fn burndown_check(file: &AccountFile) -> Vec<String> {
    let mut lines = Vec::new();
    for b in &file.buckets {
        let Some(implied) = b.account.implied_burndown() else {
            continue;
        };
        if b.account.output < MIN_OUTPUT {
            continue;
        }
        let model = crate::terminal::clean(&b.model_norm);
        let used = b.burndown;
        if (implied - used).abs() <= used.max(1.0) * BURNDOWN_TOLERANCE {
            lines.push(format!(
                "{model}: {implied:.1} from {} output tokens, the table's {used} agrees",
                pretty_tokens(b.account.output)
            ));
        } else {
            lines.push(format!(
                "{model}: {implied:.1} from {} output tokens, but bedrock-hook uses {used}: \
                 set [burndown] \"{model}\" = {implied:.1} in the config",
                pretty_tokens(b.account.output)
            ));
        }
    }
    lines
}
