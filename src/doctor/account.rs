//! Account mode end to end, as `doctor` checks it: the AWS CLI is there, its credentials
//! are valid (`sts get-caller-identity`), they may read Bedrock's CloudWatch metrics
//! (`cloudwatch list-metrics`), and the synced account data is fresh. Only when account
//! mode is on; it talks to AWS, which `doctor` may and the hot paths never do.

use serde_json::Value;

use super::{Ctx, Finding, Plan};
use crate::account::{self, AccountFile, AwsCli, AwsError, explain, share};

const CHECK: &str = "account";

pub fn check(ctx: &Ctx, _plan: &mut Plan) -> Vec<Finding> {
    if !account::enabled(&ctx.config) {
        return Vec::new();
    }
    let cli = AwsCli::new(&ctx.config.aws_cli);
    let mut out = Vec::new();
    match cli.call(&["sts", "get-caller-identity"], "sts:GetCallerIdentity") {
        Ok(bytes) => {
            let who: Value = serde_json::from_slice(&bytes).unwrap_or_default();
            let field =
                |k: &str| crate::terminal::clean(who.get(k).and_then(Value::as_str).unwrap_or("?"));
            out.push(Finding::ok(
                CHECK,
                format!(
                    "AWS CLI `{}` signs in as {} (account {})",
                    crate::terminal::clean(&cli.program),
                    field("Arn"),
                    field("Account")
                ),
            ));
        }
        Err(e) => {
            out.push(failed("the AWS CLI cannot sign in", &e));
            return out;
        }
    }
    match account::sync::list_metrics(&cli) {
        Ok(listed) => {
            let models = listed
                .get("Metrics")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            out.push(Finding::ok(
                CHECK,
                format!("CloudWatch lists Bedrock token metrics for {models} model ids"),
            ));
        }
        Err(e) => out.push(failed("CloudWatch's Bedrock metrics cannot be read", &e)),
    }
    let Some(paths) = &ctx.paths else {
        return out;
    };
    match AccountFile::read(&paths.data_dir) {
        Some(file) => {
            let error = file
                .last_error
                .as_ref()
                .map(|e| {
                    format!(
                        "; the last sync failed: {}",
                        crate::terminal::clean(&e.message)
                    )
                })
                .unwrap_or_default();
            match file.age_secs(ctx.now) {
                Some(age) if age < share::FRESH_SECS && error.is_empty() => {
                    out.push(Finding::ok(
                        CHECK,
                        format!(
                            "account data {age}s old (CloudWatch up to {})",
                            file.watermark
                                .map_or_else(|| "?".to_string(), |w| w.format("%H:%M UTC").to_string())
                        ),
                    ));
                }
                Some(age) => out.push(Finding::warn(
                    CHECK,
                    format!("account data {}m old{error}", age / 60),
                    "`bedrock-hook team sync` shows what fails; the hook syncs again at its next event",
                )),
                None => out.push(Finding::warn(
                    CHECK,
                    format!("no account data fetched yet{error}"),
                    "`bedrock-hook team sync` shows what fails",
                )),
            }
            for line in explain::burndown_check(&file) {
                if line.contains("set [burndown]") {
                    out.push(Finding::warn(
                        CHECK,
                        format!("burndown: {line}"),
                        "set the rate CloudWatch implies, or keep the table's if the estimate is off",
                    ));
                } else {
                    out.push(Finding::ok(CHECK, format!("burndown: {line}")));
                }
            }
        }
        None => out.push(Finding::warn(
            CHECK,
            "no account data yet",
            "`bedrock-hook team sync` fetches it now; the hook does at its next event",
        )),
    }
    out
}

fn failed(what: &str, e: &AwsError) -> Finding {
    let fix = match e {
        AwsError::NoCli(_) => {
            "install the AWS CLI, or point BEDROCK_HOOK_AWS_CLI (aws_cli) at it".to_string()
        }
        AwsError::NoCredentials | AwsError::Expired(_) => {
            "log in (`aws sso login`, or the profile Claude Code uses) and run doctor again"
                .to_string()
        }
        AwsError::AccessDenied(action) => format!(
            "allow {action} (account mode needs cloudwatch:GetMetricData, cloudwatch:ListMetrics, \
             sts:GetCallerIdentity)"
        ),
        AwsError::Unreachable(_) | AwsError::Timeout(_) => {
            "check the network, the region (AWS_REGION) and any AWS_ENDPOINT_URL_* override"
                .to_string()
        }
        AwsError::Other(_) => "run the same `aws` command by hand to see more".to_string(),
    };
    Finding::error(CHECK, format!("{what}: {e}"), fix)
}
