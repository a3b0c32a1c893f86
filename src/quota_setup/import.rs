//! `bedrock-hook quota import FILE...`: pick the Claude models' quotas out of AWS Service
//! Quotas listings and write them to the config, one `[models.<name>]` bucket per model.
//!
//! When the same quota appears more than once: an applied (account) value beats AWS's
//! default, a `V2` model beats the `V1` of the same name, a later file beats an earlier one.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};

use super::aws::{self, AwsQuota, Endpoint, Meaning};
use crate::account::AwsCli;
use crate::config::edit::QuotaValue;
use crate::quota::Limit;

/// The value chosen for one model and window.
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    pub model: String,
    pub limit: Limit,
    pub value: u64,
    pub quota: AwsQuota,
    version: u32,
    file: usize,
}

impl Chosen {
    fn rank(&self) -> (bool, u32, usize) {
        (self.quota.applied, self.version, self.file)
    }
}

/// Everything read, sorted into what gets written and what does not.
#[derive(Debug, Default)]
pub struct ImportPlan {
    pub entries: usize,
    pub chosen: BTreeMap<(String, Limit), Chosen>,
    /// The account-wide "Cross-Model Max Tokens Per Day", written as `tpd_all_models`.
    pub all_models: Option<Chosen>,
    pub unrecognised: Vec<(AwsQuota, String)>,
    /// Quotas of 0 (or without a value): nothing to write.
    pub zero: Vec<AwsQuota>,
    /// Two model versions of one name met in one bucket: which was kept.
    pub notes: Vec<String>,
    /// Per-minute quotas for other endpoint types than the one imported.
    pub other_endpoints: BTreeSet<Endpoint>,
    pub other: usize,
}

impl ImportPlan {
    pub fn values(&self) -> Vec<QuotaValue> {
        let all = self.all_models.iter().map(|c| QuotaValue {
            bucket: crate::config::edit::ALL_MODELS.to_string(),
            limit: Limit::TokensPerDay,
            value: c.value,
        });
        self.chosen
            .values()
            .map(|c| QuotaValue {
                bucket: c.model.clone(),
                limit: c.limit,
                value: c.value,
            })
            .chain(all)
            .collect()
    }
}

/// Sort the entries of every listing (in file order) for `endpoint`.
pub fn plan(listings: &[Vec<AwsQuota>], endpoint: Endpoint) -> ImportPlan {
    let mut plan = ImportPlan::default();
    for (file, listing) in listings.iter().enumerate() {
        for quota in listing {
            plan.entries += 1;
            let (model, limit, version) = match aws::meaning(&quota.name) {
                Meaning::AllModelsPerDay => (String::new(), Limit::TokensPerDay, 1),
                Meaning::Other => {
                    plan.other += 1;
                    continue;
                }
                Meaning::Unrecognised(why) => {
                    plan.unrecognised.push((quota.clone(), why));
                    continue;
                }
                Meaning::Rate {
                    endpoint: Some(other),
                    ..
                } if other != endpoint => {
                    plan.other_endpoints.insert(other);
                    continue;
                }
                Meaning::Rate {
                    model,
                    limit,
                    version,
                    ..
                } => (model, limit, version),
            };
            let value = quota.value.filter(|v| v.is_finite() && *v >= 1.0);
            let Some(value) = value else {
                plan.zero.push(quota.clone());
                continue;
            };
            let candidate = Chosen {
                model: model.clone(),
                limit,
                value: value.round() as u64,
                quota: quota.clone(),
                version,
                file,
            };
            if model.is_empty() {
                // The account-wide cap: applied beats default, a later file an earlier one.
                if plan
                    .all_models
                    .as_ref()
                    .is_none_or(|current| current.rank() < candidate.rank())
                {
                    plan.all_models = Some(candidate);
                }
                continue;
            }
            match plan.chosen.get(&(model.clone(), limit)) {
                Some(current) if current.rank() >= candidate.rank() => {
                    note_versions(&mut plan.notes, current, &candidate);
                }
                current => {
                    if let Some(current) = current {
                        note_versions(&mut plan.notes, &candidate, current);
                    }
                    plan.chosen.insert((model, limit), candidate);
                }
            }
        }
    }
    plan
}

fn note_versions(notes: &mut Vec<String>, kept: &Chosen, dropped: &Chosen) {
    if kept.version != dropped.version {
        notes.push(format!(
            "{} {}: \"{}\" and \"{}\" share one bucket; kept V{}'s {}",
            kept.model,
            kept.limit.key(),
            kept.quota.name,
            dropped.quota.name,
            kept.version,
            kept.value
        ));
    }
}

/// Read the files and describe the plan; returns the plan and the text to print.
pub fn read_and_plan(files: &[PathBuf], endpoint: Endpoint) -> Result<(ImportPlan, String)> {
    let mut listings = Vec::new();
    for file in files {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let listing = aws::parse(&bytes).with_context(|| {
            format!(
                "{} is not the JSON of `aws service-quotas list-service-quotas --service-code \
                 bedrock --output json`",
                file.display()
            )
        })?;
        listings.push(listing);
    }
    let plan = plan(&listings, endpoint);
    let read = format!(
        "{} file{}",
        files.len(),
        if files.len() == 1 { "" } else { "s" }
    );
    let text = describe(&plan, &read, endpoint);
    Ok((plan, text))
}

/// Bare `quota import`: the same two listings, read through the user's AWS CLI (AWS's
/// defaults first, so the account's applied values win).
pub fn read_and_plan_from_cli(cli: &AwsCli, endpoint: Endpoint) -> Result<(ImportPlan, String)> {
    let mut listings = Vec::new();
    for (command, action) in [
        (
            "list-aws-default-service-quotas",
            "servicequotas:ListAWSDefaultServiceQuotas",
        ),
        ("list-service-quotas", "servicequotas:ListServiceQuotas"),
    ] {
        let bytes = cli
            .call(
                &["service-quotas", command, "--service-code", "bedrock"],
                action,
            )
            .map_err(|e| anyhow::anyhow!("Service Quotas ({command}): {e}"))?;
        let listing = aws::parse(&bytes).with_context(|| {
            format!("Service Quotas ({command}): the AWS CLI printed something else than a quota listing")
        })?;
        listings.push(listing);
    }
    let region = crate::account::bucket::region_from(|k| std::env::var(k).ok())
        .map(|r| format!(" in {}", crate::terminal::clean(&r)))
        .unwrap_or_default();
    let plan = plan(&listings, endpoint);
    let read = format!("2 Service Quotas listings{region} (AWS CLI)");
    let text = describe(&plan, &read, endpoint);
    Ok((plan, text))
}

fn describe(plan: &ImportPlan, read: &str, endpoint: Endpoint) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Read {read}: {} quotas, {} of them not about Claude rates (skipped).",
        plan.entries, plan.other
    );
    let mut line = format!("Importing {} quotas", endpoint.label());
    if !plan.other_endpoints.is_empty() {
        let others: Vec<String> = plan
            .other_endpoints
            .iter()
            .map(|e| format!("--endpoint {}", e.label()))
            .collect();
        let _ = write!(line, " (also found: {})", others.join(", "));
    }
    let _ = writeln!(out, "{line}.\n");
    let mut models: BTreeMap<&str, [Option<u64>; 3]> = BTreeMap::new();
    for ((model, limit), chosen) in &plan.chosen {
        let row = models.entry(model).or_default();
        let at = Limit::ALL.iter().position(|l| l == limit).unwrap_or(0);
        row[at] = Some(chosen.value);
    }
    if models.is_empty() {
        let _ = writeln!(out, "No Claude quotas for {} found.", endpoint.label());
    } else {
        let _ = writeln!(
            out,
            "{:<22} {:>14} {:>12} {:>8}",
            "model", "TPD", "TPM", "RPM"
        );
        for (model, row) in models {
            let cell = |v: Option<u64>| v.map_or_else(|| "-".to_string(), |n| n.to_string());
            let _ = writeln!(
                out,
                "{model:<22} {:>14} {:>12} {:>8}",
                cell(row[0]),
                cell(row[1]),
                cell(row[2])
            );
        }
    }
    if let Some(all) = &plan.all_models {
        let _ = writeln!(
            out,
            "\nAll models together: {} tokens per day ({}, `tpd_all_models`).",
            all.value, all.quota.name
        );
    }
    if !plan.zero.is_empty() {
        let _ = writeln!(
            out,
            "\nQuotas of 0, not written (the account cannot use these until AWS raises them):"
        );
        for q in &plan.zero {
            let _ = writeln!(out, "  {} ({})", q.name, q.code);
        }
    }
    if !plan.unrecognised.is_empty() {
        let _ = writeln!(out, "\nNot recognised, not written:");
        for (q, why) in &plan.unrecognised {
            let _ = writeln!(out, "  {} ({}): {why}", q.name, q.code);
        }
    }
    for note in &plan.notes {
        let _ = writeln!(out, "\nNote: {note}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(name: &str, value: f64, applied: bool) -> AwsQuota {
        AwsQuota {
            name: name.to_string(),
            code: "L-TEST".to_string(),
            value: Some(value),
            applied,
        }
    }

    #[test]
    fn applied_beats_default_and_v2_beats_v1() {
        let defaults = vec![
            quota(
                "Model invocation max tokens per day for Anthropic Claude Opus 5.5",
                2_880_000_000.0,
                false,
            ),
            quota(
                "Cross-region model inference tokens per minute for Anthropic Claude Opus 4.1",
                200_000.0,
                false,
            ),
        ];
        let applied = vec![
            quota(
                "Model invocation max tokens per day for Anthropic Claude Opus 5.5",
                50_000_000.0,
                true,
            ),
            quota(
                "Cross-region model inference tokens per minute for Anthropic Claude 3.5 Sonnet V2",
                800_000.0,
                true,
            ),
            quota(
                "Cross-region model inference tokens per minute for Anthropic Claude 3.5 Sonnet",
                400_000.0,
                true,
            ),
            quota(
                "On-demand InvokeModel tokens per minute for Anthropic Claude 3.5 Sonnet",
                1.0,
                true,
            ),
            quota(
                "Model invocation max tokens per day for Anthropic Claude Haiku 4.5",
                0.0,
                true,
            ),
        ];
        // Order of files does not matter for applied vs default.
        for listings in [
            vec![defaults.clone(), applied.clone()],
            vec![applied, defaults],
        ] {
            let plan = plan(&listings, Endpoint::CrossRegion);
            let value = |m: &str, l| plan.chosen.get(&(m.to_string(), l)).map(|c| c.value);
            assert_eq!(
                value("claude-opus-5-5", Limit::TokensPerDay),
                Some(50_000_000)
            );
            assert_eq!(
                value("claude-opus-4-1", Limit::TokensPerMinute),
                Some(200_000)
            );
            assert_eq!(
                value("claude-3-5-sonnet", Limit::TokensPerMinute),
                Some(800_000)
            );
            assert_eq!(plan.zero.len(), 1);
            assert_eq!(plan.other_endpoints, BTreeSet::from([Endpoint::OnDemand]));
            assert_eq!(plan.notes.len(), 1, "{:?}", plan.notes);
            assert!(
                plan.notes[0].contains("kept V2's 800000"),
                "{:?}",
                plan.notes
            );
        }
    }
}
