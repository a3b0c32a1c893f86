//! `bedrock-hook doctor`: checks the set-up the way Claude Code will see it (its process
//! environment plus the `env` of user and project settings, honouring
//! `CLAUDE_CONFIG_DIR`) against the quotas, and says for each finding ok / warn / error,
//! the numbers, and the fix. `--fix` writes the recommended `env` values into the user's
//! settings.json.
//!
//! Checks are small functions of a read-only [`Ctx`]; the ones that recommend an `env`
//! value add it to a [`Plan`], and later checks judge the set-up as the plan leaves it
//! (a lower `max_tokens` changes what concurrency fits).

mod account;
mod client;
pub mod finding;
pub mod fix;
mod install;
mod quotas;
mod requests;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, Utc};

use crate::claude::ClientEnv;
use crate::claude::settings::{Scope, Setup};
use crate::config::Config;
use crate::context::Context;
use crate::ledger::LiveState;
use crate::ledger::history::{self, History};
use crate::paths::Paths;
use crate::quota::{self, ModelName};
use crate::terminal::clean;
use crate::terminal::{out, outln};
pub use finding::{Finding, Level};

/// Days of ledger the doctor reads (throttles, largest outputs).
pub const HISTORY_DAYS: u32 = 30;
/// Days of throttles it reports.
pub const THROTTLE_DAYS: u32 = 7;

/// `bedrock-hook doctor`'s arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write the recommended `env` values into the user's settings.json (after showing
    /// the change, with a timestamped backup; nothing else is touched).
    #[arg(long)]
    pub fix: bool,
    /// The project whose .claude/settings.json and settings.local.json apply
    /// (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
}

/// How the checks read the process environment (`PATH`, `HOME`, ...).
pub type Lookup = Box<dyn Fn(&str) -> Option<String>>;

/// A model the set-up uses, and why bedrock-hook thinks so.
#[derive(Debug, Clone)]
pub struct ModelInUse {
    pub name: ModelName,
    /// `ANTHROPIC_MODEL`, `used today`, ...
    pub reasons: Vec<String>,
}

/// Everything the checks read.
pub struct Ctx {
    pub setup: Setup,
    pub config: Config,
    pub paths: Option<Paths>,
    pub state: LiveState,
    pub history: History,
    pub models: Vec<ModelInUse>,
    /// Models seen only in side requests (see `Record::is_side_request`), with the
    /// largest `max_tokens` they were sent with: not judged as if they were the main model.
    pub side_models: Vec<(ModelName, u64)>,
    /// The process environment, for `PATH` and `HOME`.
    pub lookup: Lookup,
    pub now: DateTime<Utc>,
}

/// `env` values the checks recommend, in the order they were found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub env: Vec<(String, String)>,
}

impl Plan {
    pub fn set(&mut self, key: &str, value: impl ToString) {
        let value = value.to_string();
        match self.env.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.env.push((key.to_string(), value)),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.env.is_empty()
    }
}

impl Ctx {
    /// Gather from the process environment, the settings files, the live state and the
    /// ledger, beside the command's context. Without one (no data dir) the checks still run,
    /// on the config from the environment alone.
    pub fn gather(lookup: Lookup, project: &Path, context: Option<Context>) -> Ctx {
        let setup = Setup::load(&*lookup, Some(project));
        let (paths, config, now) = match context {
            Some(c) => (Some(c.paths), c.config, c.now),
            None => (None, Config::load(None), crate::clock::now()),
        };
        let state = paths
            .as_ref()
            .and_then(|p| LiveState::read(&p.state_file()))
            .unwrap_or_default();
        let history = paths
            .as_ref()
            .and_then(|p| history::read(p, HISTORY_DAYS, now).ok())
            .unwrap_or_default();
        let mut ctx = Ctx {
            setup,
            config,
            paths,
            state,
            history,
            models: Vec::new(),
            side_models: Vec::new(),
            lookup,
            now,
        };
        ctx.models = ctx.find_models();
        ctx.side_models = ctx.find_side_models();
        ctx
    }

    /// Re-read the settings files (after `--fix`).
    pub fn reload_setup(&mut self, project: &Path) {
        self.setup = Setup::load(&*self.lookup, Some(project));
        self.models = self.find_models();
        self.side_models = self.find_side_models();
    }

    /// The environment with the plan applied.
    pub fn env(&self, plan: &Plan) -> ClientEnv {
        let mut env = self.setup.env.clone();
        for (key, value) in &plan.env {
            env.set(key, value);
        }
        env
    }

    /// The largest output any request produced, from the ledger and the live state.
    pub fn largest_output(&self) -> u64 {
        self.history.largest_output.max(self.state.max_output_seen)
    }

    /// The models named by the environment and settings, then those seen in use.
    fn find_models(&self) -> Vec<ModelInUse> {
        let env = &self.setup.env;
        let mut found: Vec<(String, String)> = Vec::new();
        if let Some(model) = env.main_model() {
            let why = if env.get("ANTHROPIC_MODEL").is_some() {
                "ANTHROPIC_MODEL"
            } else {
                "settings model"
            };
            found.push((model, why.to_string()));
        }
        for key in [
            "ANTHROPIC_DEFAULT_OPUS_MODEL",
            "ANTHROPIC_DEFAULT_SONNET_MODEL",
            "ANTHROPIC_DEFAULT_HAIKU_MODEL",
            "ANTHROPIC_SMALL_FAST_MODEL",
            "CLAUDE_CODE_SUBAGENT_MODEL",
        ] {
            if let Some(model) = env.get(key).and_then(|m| env.resolve_model(m)) {
                found.push((model, key.to_string()));
            }
        }
        let named = found.len();
        let mut streams: Vec<_> = self.state.streams.values().collect();
        streams.sort_by_key(|s| std::cmp::Reverse(s.at_ms));
        for stream in streams {
            found.push((stream.model.clone(), "used in the last day".to_string()));
        }
        for model in self.state.today.keys() {
            found.push((model.clone(), "used today".to_string()));
        }
        for model in self.history.largest_by_model.keys() {
            found.push((
                model.clone(),
                format!("in the ledger's last {HISTORY_DAYS} days"),
            ));
        }
        let mut models: Vec<ModelInUse> = Vec::new();
        for (i, (raw, why)) in found.into_iter().enumerate() {
            let name = quota::normalize(&raw, &self.config.profiles);
            // Seen in use, but only beside the conversation: not the main loop's model.
            if i >= named && self.side_only(&name.canonical) {
                continue;
            }
            match models
                .iter_mut()
                .find(|m| m.name.canonical == name.canonical)
            {
                Some(known) if !known.reasons.contains(&why) => known.reasons.push(why),
                Some(_) => {}
                None => models.push(ModelInUse {
                    name,
                    reasons: vec![why],
                }),
            }
        }
        models
    }

    /// Whether the ledger saw `canonical` only in side requests (or, for today's totals,
    /// in no request of the main loop at all).
    fn side_only(&self, canonical: &str) -> bool {
        self.history.days_read > 0 && !self.history.main_models.contains(canonical)
    }

    /// Models seen only in side requests, with the largest `max_tokens` they were sent with.
    fn find_side_models(&self) -> Vec<(ModelName, u64)> {
        let mut out: Vec<(ModelName, u64)> = Vec::new();
        for (model, max_tokens) in &self.history.side_max_tokens {
            let name = quota::normalize(model, &self.config.profiles);
            let judged = self
                .models
                .iter()
                .any(|m| m.name.canonical == name.canonical);
            if !judged && !out.iter().any(|(n, _)| n.canonical == name.canonical) {
                out.push((name, *max_tokens));
            }
        }
        out
    }

    /// The main loop's model: the environment's, else the first one seen.
    pub fn main_model(&self) -> Option<&ModelInUse> {
        self.models.first()
    }
}

type Check = fn(&Ctx, &mut Plan) -> Vec<Finding>;

/// Every check, in the order they are shown (and plan their fixes).
const CHECKS: &[Check] = &[
    client::settings_files,
    client::bedrock,
    client::region,
    client::models,
    quotas::configured,
    requests::reservation,
    requests::truncation,
    requests::thinking,
    requests::concurrency,
    quotas::throttles,
    account::check,
    install::hooks,
    install::status_line,
    install::ledger,
];

/// Run every check.
pub fn check_all(ctx: &Ctx) -> (Vec<Finding>, Plan) {
    let mut plan = Plan::default();
    let mut findings = Vec::new();
    for check in CHECKS {
        findings.extend(check(ctx, &mut plan));
    }
    settle(ctx, &mut findings, &mut plan);
    (findings, plan)
}

/// What `--fix` can really change, so that a second run proposes nothing: a value the
/// user settings already hold is not written again, and when a project settings file
/// overrides it, the finding's fix names that file instead.
fn settle(ctx: &Ctx, findings: &mut [Finding], plan: &mut Plan) {
    let user = ctx.setup.user_file().map(|f| f.env()).unwrap_or_default();
    plan.env.retain(|(key, value)| {
        if !user.iter().any(|(k, v)| k == key && v == value) {
            return true;
        }
        let origin = ctx.setup.origin_of(key);
        let file = ctx
            .setup
            .files
            .iter()
            .find(|f| f.scope != Scope::User && f.scope.label() == origin);
        let needle = format!("set {key}={value}");
        for finding in findings.iter_mut() {
            let Some(fix) = finding.fix.as_mut().filter(|f| f.contains(&needle)) else {
                continue;
            };
            *fix = match file {
                Some(file) => fix.replace(
                    &needle,
                    &format!(
                        "{needle} in {} (the {origin}, which win over the user settings \
                         where it is set already)",
                        file.path.display()
                    ),
                ),
                None => fix.replace(&needle, &format!("{needle} (set already)")),
            };
        }
        false
    });
}

/// `bedrock-hook doctor [--fix] [--project DIR]`
pub fn run(args: Args, context: Option<Context>) -> Result<ExitCode> {
    let Args {
        fix: apply,
        project,
    } = args;
    let project = match project {
        Some(dir) => dir,
        None => std::env::current_dir().context("no current directory")?,
    };
    let mut ctx = Ctx::gather(Box::new(|key| std::env::var(key).ok()), &project, context);
    let color = crate::terminal::Style::for_stdout(crate::terminal::ColorChoice::Auto).color;
    let (findings, plan) = check_all(&ctx);
    out!("{}", report(&ctx, &findings, color));
    let mut errors = findings.iter().any(|f| f.level == Level::Error);
    let user_file = ctx
        .setup
        .files
        .iter()
        .find(|f| f.scope == Scope::User)
        .map(|f| f.path.clone());
    if plan.is_empty() {
        if apply {
            outln!("Nothing for --fix to change.");
        }
    } else if let Some(path) = user_file {
        let sets: Vec<String> = plan.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let shown = clean(&path.display().to_string());
        if !apply {
            outln!(
                "`bedrock-hook doctor --fix` would set in {shown} (env): {}",
                clean(&sets.join(", "))
            );
        } else {
            outln!();
            for line in fix::preview(&ctx.setup, &path, &plan.env).lines() {
                outln!("{}", clean(line));
            }
            // What the findings were made from: if the file changed since, nothing is written.
            let checked = ctx.setup.user_file().map(|f| f.value.as_ref());
            let applied = fix::apply_env_checked(&path, &plan.env, checked, ctx.now)?;
            if let Some(backup) = &applied.backup {
                outln!("Backup: {}", clean(&backup.display().to_string()));
            }
            outln!("Wrote {shown}.");
            ctx.reload_setup(&project);
            let (after, _) = check_all(&ctx);
            outln!("After the fix: {}", finding::tally(&after));
            errors = after.iter().any(|f| f.level == Level::Error);
        }
    } else if apply {
        bail!("no user settings file: set HOME or CLAUDE_CONFIG_DIR");
    }
    Ok(if errors {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The findings as printed.
pub fn report(ctx: &Ctx, findings: &[Finding], color: bool) -> String {
    let mut out = String::from("bedrock-hook doctor: the set-up as Claude Code will see it\n");
    let files: Vec<String> = ctx
        .setup
        .files
        .iter()
        .map(|f| {
            let state = if f.problem.is_some() {
                " (unusable)"
            } else if f.value.is_none() {
                " (none)"
            } else {
                ""
            };
            format!("{}{state}", clean(&f.path.display().to_string()))
        })
        .collect();
    out.push_str(&format!("settings: {}\n\n", files.join(", ")));
    for f in findings {
        out.push_str(&f.render(color));
    }
    out.push_str(&format!("\n{}\n", finding::tally(findings)));
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::Quotas;

    /// A context from explicit env pairs and quotas, no files.
    pub fn ctx(pairs: &[(&str, &str)], tpd: Option<u64>, tpm: Option<u64>) -> Ctx {
        let owned: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup: Lookup =
            Box::new(move |key| owned.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()));
        let setup = Setup::from_files(&*lookup, Vec::new());
        let mut ctx = Ctx {
            setup,
            config: Config {
                quotas: Quotas {
                    tpd,
                    tpm,
                    rpm: None,
                },
                ..Config::default()
            },
            paths: None,
            state: LiveState::default(),
            history: History::default(),
            models: Vec::new(),
            side_models: Vec::new(),
            lookup,
            now: "2026-11-22T12:00:00Z".parse().unwrap(),
        };
        ctx.models = ctx.find_models();
        ctx
    }

    #[test]
    fn models_come_from_env_then_history_deduplicated() {
        let mut c = ctx(
            &[
                ("ANTHROPIC_MODEL", "us.anthropic.claude-opus-5-5"),
                (
                    "CLAUDE_CODE_SUBAGENT_MODEL",
                    "global.anthropic.claude-haiku-4-5-20251001-v1:0",
                ),
            ],
            None,
            None,
        );
        c.history
            .largest_by_model
            .insert("claude-opus-5-5".into(), 10);
        c.history
            .largest_by_model
            .insert("claude-sonnet-4-5".into(), 10);
        c.models = c.find_models();
        let names: Vec<&str> = c.models.iter().map(|m| m.name.canonical.as_str()).collect();
        assert_eq!(
            names,
            ["claude-opus-5-5", "claude-haiku-4-5", "claude-sonnet-4-5"]
        );
        assert_eq!(
            c.models[0].reasons,
            ["ANTHROPIC_MODEL", "in the ledger's last 30 days"]
        );
    }

    #[test]
    fn fixes_build_on_each_other() {
        // Opus 5.5 at its 128k default reserves 1.28M: over a 1M TPM. The max_tokens fix
        // (4096: no history) makes thinking 8000 too large, and 20 subagents then fit.
        let c = ctx(
            &[
                ("ANTHROPIC_MODEL", "us.anthropic.claude-opus-5-5"),
                ("MAX_THINKING_TOKENS", "8000"),
            ],
            Some(100_000_000),
            Some(1_000_000),
        );
        let (findings, plan) = check_all(&c);
        assert_eq!(
            plan.env,
            [
                (
                    "CLAUDE_CODE_MAX_OUTPUT_TOKENS".to_string(),
                    "4096".to_string()
                ),
                ("MAX_THINKING_TOKENS".to_string(), "2048".to_string()),
            ]
        );
        let by = |check: &str| findings.iter().find(|f| f.check == check).unwrap();
        let reservation = by("reservation");
        assert_eq!(reservation.level, Level::Error);
        assert_eq!(
            reservation.summary,
            "claude-opus-5-5: 128k max_tokens from the model default x 10 burndown reserves \
             1.28M per request before input, more than the whole 1M TPM: every request will be \
             throttled"
        );
        assert_eq!(
            reservation.fix.as_deref(),
            Some(
                "set CLAUDE_CODE_MAX_OUTPUT_TOKENS=4096 (no output history yet), reserving 41k \
                 per request: 24 fit in the 1M TPM, <0.1% of the 100M TPD"
            )
        );
        let thinking = by("thinking");
        assert_eq!(thinking.level, Level::Error);
        assert!(
            thinking.summary.contains("is not below max_tokens 4.1k"),
            "{}",
            thinking.summary
        );
        let concurrency = by("concurrency");
        assert_eq!(concurrency.level, Level::Ok, "{}", concurrency.summary);
        assert!(
            concurrency
                .summary
                .ends_with("(with CLAUDE_CODE_MAX_OUTPUT_TOKENS=4096 as fixed above)"),
            "{}",
            concurrency.summary
        );
    }

    #[test]
    fn concurrency_is_capped_when_max_tokens_cannot_help() {
        let c = ctx(
            &[
                ("ANTHROPIC_MODEL", "us.anthropic.claude-opus-5-5"),
                ("CLAUDE_CODE_MAX_OUTPUT_TOKENS", "4096"),
            ],
            None,
            Some(200_000),
        );
        let (findings, plan) = check_all(&c);
        // 40,960 per request: 4 fit in 200k; 20 subagents do not.
        assert_eq!(
            plan.env,
            [(
                "CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS".to_string(),
                "3".to_string()
            )]
        );
        let concurrency = findings.iter().find(|f| f.check == "concurrency").unwrap();
        assert_eq!(concurrency.level, Level::Warn);
        assert!(
            concurrency.summary.contains("only 4 fit at once"),
            "{}",
            concurrency.summary
        );
    }

    #[test]
    fn truncated_outputs_raise_the_cap() {
        let mut c = ctx(
            &[
                ("ANTHROPIC_MODEL", "us.anthropic.claude-sonnet-4-5"),
                ("CLAUDE_CODE_MAX_OUTPUT_TOKENS", "4096"),
            ],
            None,
            None,
        );
        c.history.largest_output = 4096;
        let (findings, plan) = check_all(&c);
        assert_eq!(
            plan.env,
            [(
                "CLAUDE_CODE_MAX_OUTPUT_TOKENS".to_string(),
                "6144".to_string()
            )]
        );
        let output = findings.iter().find(|f| f.check == "output").unwrap();
        assert_eq!(output.level, Level::Warn);
        assert!(
            output.summary.contains("being cut off"),
            "{}",
            output.summary
        );
    }

    #[test]
    fn a_cap_already_at_the_models_ceiling_is_not_a_warning() {
        // Outputs reach the cap, but the cap is the model's own default: nothing to change.
        let mut c = ctx(
            &[
                ("ANTHROPIC_MODEL", "us.anthropic.claude-sonnet-4-5"),
                ("CLAUDE_CODE_MAX_OUTPUT_TOKENS", "32000"),
            ],
            None,
            None,
        );
        c.history.largest_output = 31_900;
        let (findings, plan) = check_all(&c);
        let output = findings.iter().find(|f| f.check == "output").unwrap();
        assert_eq!(output.level, Level::Ok, "{output:?}");
        assert!(plan.env.is_empty(), "{plan:?}");
    }

    #[test]
    fn missing_bedrock_and_region_are_errors() {
        let c = ctx(&[("AWS_PROFILE", "dev")], None, None);
        let (findings, _) = check_all(&c);
        let levels: Vec<(&str, Level)> = findings
            .iter()
            .map(|f| (f.check, f.level))
            .take(3)
            .collect();
        assert_eq!(
            levels,
            [
                ("bedrock", Level::Error),
                ("region", Level::Error),
                ("model", Level::Warn)
            ]
        );
        assert!(findings[1].summary.contains("AWS_PROFILE=dev is set"));
    }
}
