//! Is Claude Code talking to Bedrock, in which region, and with which models?

use super::{Ctx, Finding, Plan};
use crate::quota;
use crate::terminal::pretty_tokens;

/// A settings file Claude Code cannot read loses everything in it, hooks and `env` alike.
pub fn settings_files(ctx: &Ctx, _plan: &mut Plan) -> Vec<Finding> {
    ctx.setup
        .files
        .iter()
        .filter_map(|file| {
            let problem = file.problem.as_ref()?;
            Some(Finding::error(
                "settings",
                format!(
                    "{} ({}): {problem}",
                    file.path.display(),
                    file.scope.label()
                ),
                "repair the file; until then its env, hooks and status line do not apply",
            ))
        })
        .collect()
}

pub fn bedrock(ctx: &Ctx, _plan: &mut Plan) -> Vec<Finding> {
    let env = &ctx.setup.env;
    let origin = ctx.setup.origin_of("CLAUDE_CODE_USE_BEDROCK");
    if env.uses_bedrock() {
        let value = env.get("CLAUDE_CODE_USE_BEDROCK").unwrap_or_default();
        return vec![Finding::ok(
            "bedrock",
            format!("CLAUDE_CODE_USE_BEDROCK={value} ({origin})"),
        )];
    }
    let found = match env.get("CLAUDE_CODE_USE_BEDROCK") {
        Some(value) => format!("CLAUDE_CODE_USE_BEDROCK={value} ({origin}) is not on"),
        None => "CLAUDE_CODE_USE_BEDROCK is not set".to_string(),
    };
    vec![Finding::error(
        "bedrock",
        format!("{found}: Claude Code is not using Bedrock, there is nothing to count"),
        "set CLAUDE_CODE_USE_BEDROCK=1 in the env of settings.json",
    )]
}

pub fn region(ctx: &Ctx, _plan: &mut Plan) -> Vec<Finding> {
    match ctx.setup.env.region() {
        Some((key, region)) => vec![Finding::ok(
            "region",
            format!("{region} ({key}, {})", ctx.setup.origin_of(key)),
        )],
        None => {
            let profile = ctx
                .setup
                .env
                .get("AWS_PROFILE")
                .map(|p| format!(" (AWS_PROFILE={p} is set, but Claude Code does not take the region from it)"))
                .unwrap_or_default();
            vec![Finding::error(
                "region",
                format!("neither AWS_REGION nor AWS_DEFAULT_REGION is set{profile}"),
                "set AWS_REGION (for example us-east-1) in the env of settings.json; quotas are per region",
            )]
        }
    }
}

pub fn models(ctx: &Ctx, _plan: &mut Plan) -> Vec<Finding> {
    if ctx.models.is_empty() {
        return vec![Finding::warn(
            "model",
            "no model known: ANTHROPIC_MODEL is unset and nothing is recorded yet, so the \
             client's built-in default applies",
            "set ANTHROPIC_MODEL, or run a session with the hooks installed and run doctor again",
        )];
    }
    let mut out = Vec::new();
    for model in &ctx.models {
        let name = &model.name;
        let burndown = quota::burndown_for(name, &ctx.config.burndown);
        let bucket = ctx.config.bucket_for(&name.canonical);
        let bucket = if bucket.is_empty() {
            "default bucket".to_string()
        } else {
            format!("bucket {bucket}")
        };
        let quotas = ctx.config.quotas_for(&name.canonical);
        let quota_text = match (quotas.tpd, quotas.tpm) {
            (None, None) => "no quotas".to_string(),
            (tpd, tpm) => {
                let show = |q: Option<u64>| q.map_or_else(|| "-".to_string(), pretty_tokens);
                format!("TPD {}, TPM {}", show(tpd), show(tpm))
            }
        };
        let summary = format!(
            "{} ({}): burndown {}, {bucket}, {quota_text}",
            name.canonical,
            model.reasons.join(", "),
            burndown.rate
        );
        if name.canonical.starts_with("application-inference-profile/") {
            out.push(Finding::warn(
                "model",
                format!("{summary}; an application inference profile: which model it routes to is unknown"),
                format!(
                    "map it to its model under [profiles] in the config, e.g. \"{}\" = \"us.anthropic.claude-sonnet-4-5\"",
                    name.canonical.trim_start_matches("application-inference-profile/")
                ),
            ));
        } else if burndown.assumed {
            out.push(Finding::warn(
                "model",
                format!("{summary} (assumed: the model is not in the burndown table)"),
                format!(
                    "set its rate under [burndown] in the config, e.g. \"{}\" = 5",
                    name.canonical
                ),
            ));
        } else {
            out.push(Finding::ok("model", summary));
        }
    }
    out
}
