//! Are quotas configured (and is the config sound), and what do recorded throttles say
//! about them?

use super::{Ctx, Finding, Plan, THROTTLE_DAYS};
use crate::quota_setup::evidence;
use crate::terminal::pretty_tokens;

pub fn configured(ctx: &Ctx, _plan: &mut Plan) -> Vec<Finding> {
    let config = &ctx.config;
    let mut out: Vec<Finding> = config
        .problems
        .iter()
        .map(|problem| {
            Finding::error(
                "config",
                format!("{problem} (the default is used instead, and guards never block)"),
                "correct it; `bedrock-hook config` shows every setting and where it comes from",
            )
        })
        .collect();
    let show = |q: Option<u64>| q.map_or_else(|| "-".to_string(), pretty_tokens);
    let mut buckets = Vec::new();
    let q = config.quotas;
    if q.tpd.is_some() || q.tpm.is_some() || q.rpm.is_some() {
        buckets.push(format!(
            "all models TPD {} TPM {}{}",
            show(q.tpd),
            show(q.tpm),
            q.rpm.map(|r| format!(" RPM {r}")).unwrap_or_default()
        ));
    }
    if !config.models.is_empty() {
        buckets.push(format!("{} per-model buckets", config.models.len()));
    }
    if buckets.is_empty() {
        out.push(Finding::warn(
            "quotas",
            "no quota configured: the guards and the status line cannot compare anything",
            "`bedrock-hook quota import FILE` with the output of `aws service-quotas \
             list-service-quotas --service-code bedrock --output json`, or set BEDROCK_HOOK_TPD \
             and BEDROCK_HOOK_TPM",
        ));
    } else {
        out.push(Finding::ok(
            "quotas",
            format!(
                "{}; mode {} (`bedrock-hook quota show` lists them)",
                buckets.join(", "),
                config.mode.as_str()
            ),
        ));
    }
    out
}

pub fn throttles(ctx: &Ctx, _plan: &mut Plan) -> Vec<Finding> {
    let since = ctx.now - chrono::Duration::days(i64::from(THROTTLE_DAYS));
    let recent: Vec<_> = ctx
        .history
        .throttles
        .iter()
        .filter(|r| r.ts >= since)
        .cloned()
        .collect();
    let throttles = evidence::throttles(&recent, &ctx.config);
    if throttles.is_empty() {
        return vec![Finding::ok(
            "throttles",
            format!("no throttles recorded in the last {THROTTLE_DAYS} days"),
        )];
    }
    let mut out: Vec<Finding> = evidence::evidence(&throttles, &ctx.config)
        .iter()
        .map(|e| {
            let fix = match e.suggestion() {
                Some(value) => {
                    let key = if e.bucket.is_empty() {
                        e.limit.key().to_string()
                    } else {
                        format!("[models.{}] {}", e.bucket, e.limit.key())
                    };
                    format!("`bedrock-hook quota calibrate` sets {key} = {value}")
                }
                None => "nothing to change in the config; look for other users of the account \
                         if throttles keep coming"
                    .to_string(),
            };
            Finding::warn("throttles", e.explain(), fix)
        })
        .collect();
    let unknown = throttles.iter().filter(|t| t.limit.is_none()).count();
    if unknown > 0 {
        out.push(Finding::warn(
            "throttles",
            format!("{unknown} throttles whose message did not say which limit ran out"),
            "compare their times with `bedrock-hook report`; nothing to calibrate from them",
        ));
    }
    out
}
