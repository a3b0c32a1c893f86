//! Every configuration key in one table, in the order `bedrock-hook config` prints them:
//! its name in the file, the environment variable that overrides it, how a value is
//! checked and stored, how `config` shows it, and what it is for. The loader, `config`
//! and the tests walk this table, so a new key is one entry here (and its field in
//! [`Config`], with the default).

use super::raw::{
    Raw, as_bool, as_map, as_model_quotas, as_multiplier, as_percent, as_quota, as_rate, as_str,
    as_u64, show_map, show_model_quotas, show_quota,
};
use super::{Config, Mode, Team};
use crate::quota::{DayBoundary, Multiplier};

/// One configuration key.
pub struct Key {
    /// The name in the config file and in `config`'s output.
    pub name: &'static str,
    /// The variable that overrides the file: `BEDROCK_HOOK_` and the name in capitals.
    pub env: &'static str,
    /// What the key is for (README's configuration table says it for users).
    pub doc: &'static str,
    /// A value other than the default, as written in the config file (TOML).
    pub example: &'static str,
    /// What the status line says of a value it refuses: `tpd "abc" is not a number`.
    pub refused: Refused,
    /// Check a value and store it in the configuration.
    parse: fn(&mut Config, &Raw<'_>) -> Result<(), String>,
    /// The effective value as `config` shows it; the same text set in the variable reads
    /// back as the same value.
    show: fn(&Config) -> String,
}

/// How a refused value is described in the status line's short problem.
pub enum Refused {
    /// `is out of range` for a number it does not take, `is not a number` for the rest.
    Number,
    /// Always these words: `is not true or false`.
    Words(&'static str),
}

impl Key {
    pub(super) fn parse(&self, config: &mut Config, raw: &Raw<'_>) -> Result<(), String> {
        (self.parse)(config, raw)
    }

    pub fn show(&self, config: &Config) -> String {
        (self.show)(config)
    }

    /// The short problem for a refused `value`: `tpd "abc" is not a number`.
    pub fn refused(&self, value: &str) -> String {
        let what = match self.refused {
            Refused::Words(what) => what,
            Refused::Number if value.trim().parse::<f64>().is_ok() => "is out of range",
            Refused::Number => "is not a number",
        };
        format!("{} {} {what}", self.name, super::quoted(value))
    }
}

/// Store a checked value, or pass on why it was refused.
fn set<T>(slot: &mut T, value: Result<T, String>) -> Result<(), String> {
    *slot = value?;
    Ok(())
}

/// The key named `name`.
pub fn find(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|key| key.name == name)
}

const TABLE: Refused = Refused::Words("is not valid");
const BOOL: Refused = Refused::Words("is not true or false");

/// Every key, in the order `config` prints them: the scalars, then the tables.
pub static KEYS: &[Key] = &[
    Key {
        name: "mode",
        env: "BEDROCK_HOOK_MODE",
        doc: "what the guards do when the next request would not fit: warn, block or off",
        example: "\"block\"",
        refused: Refused::Words("is not warn, block or off"),
        parse: |c, raw| {
            c.mode = match as_str(raw)?.trim().to_ascii_lowercase().as_str() {
                "warn" => Mode::Warn,
                "block" => Mode::Block,
                "off" => Mode::Off,
                other => return Err(format!("expected warn, block or off, got `{other}`")),
            };
            Ok(())
        },
        show: |c| c.mode.as_str().to_string(),
    },
    Key {
        name: "tpd",
        env: "BEDROCK_HOOK_TPD",
        doc: "tokens per day quota of every model without its own; 0 or off unsets it",
        example: "\"5M\"",
        refused: Refused::Number,
        parse: |c, raw| set(&mut c.quotas.tpd, as_quota(raw)),
        show: |c| show_quota(c.quotas.tpd),
    },
    Key {
        name: "tpm",
        env: "BEDROCK_HOOK_TPM",
        doc: "tokens per minute quota of every model without its own",
        example: "400_000",
        refused: Refused::Number,
        parse: |c, raw| set(&mut c.quotas.tpm, as_quota(raw)),
        show: |c| show_quota(c.quotas.tpm),
    },
    Key {
        name: "rpm",
        env: "BEDROCK_HOOK_RPM",
        doc: "requests per minute quota of every model without its own",
        example: "50",
        refused: Refused::Number,
        parse: |c, raw| set(&mut c.quotas.rpm, as_quota(raw)),
        show: |c| show_quota(c.quotas.rpm),
    },
    Key {
        name: "tpd_all_models",
        env: "BEDROCK_HOOK_TPD_ALL_MODELS",
        doc: "the account-wide Cross-Model Max Tokens Per Day: one cap on all models together",
        example: "\"500M\"",
        refused: Refused::Number,
        parse: |c, raw| set(&mut c.tpd_all_models, as_quota(raw)),
        show: |c| show_quota(c.tpd_all_models),
    },
    Key {
        name: "day_boundary",
        env: "BEDROCK_HOOK_DAY_BOUNDARY",
        doc: "when the tokens-per-day day starts: utc, local, or an offset like +09:00",
        example: "\"+09:00\"",
        refused: Refused::Words("is not utc, local or an offset like +09:00"),
        parse: |c, raw| {
            let text = as_str(raw)?;
            c.day_boundary = DayBoundary::parse(&text).ok_or_else(|| {
                format!("expected utc, local or an offset like +09:00, got `{text}`")
            })?;
            Ok(())
        },
        show: |c| c.day_boundary.describe(),
    },
    Key {
        name: "reservation_multiplier",
        env: "BEDROCK_HOOK_RESERVATION_MULTIPLIER",
        doc: "`m` in the reservation: the model's burndown rate, or a number",
        example: "1.5",
        refused: Refused::Words("is not burndown or a number"),
        parse: |c, raw| set(&mut c.reservation.multiplier, as_multiplier(raw)),
        show: |c| match c.reservation.multiplier {
            Multiplier::Burndown => "burndown".to_string(),
            Multiplier::Fixed(f) => f.to_string(),
        },
    },
    Key {
        name: "max_tokens_floor",
        env: "BEDROCK_HOOK_MAX_TOKENS_FLOOR",
        doc: "the least `max_tokens` a reservation charges",
        example: "8192",
        refused: Refused::Number,
        parse: |c, raw| set(&mut c.reservation.floor, as_u64(raw)),
        show: |c| c.reservation.floor.to_string(),
    },
    Key {
        name: "reserve_cache_reads",
        env: "BEDROCK_HOOK_RESERVE_CACHE_READS",
        doc: "whether a reservation holds cache reads too",
        example: "true",
        refused: BOOL,
        parse: |c, raw| set(&mut c.reservation.hold_cache_reads, as_bool(raw)),
        show: |c| c.reservation.hold_cache_reads.to_string(),
    },
    Key {
        name: "inflight_stale_secs",
        env: "BEDROCK_HOOK_INFLIGHT_STALE_SECS",
        doc: "an in-flight request not seen back after this many seconds is dropped",
        example: "900",
        refused: Refused::Number,
        parse: |c, raw| set(&mut c.inflight_stale_secs, as_u64(raw)),
        show: |c| c.inflight_stale_secs.to_string(),
    },
    Key {
        name: "warn_percent",
        env: "BEDROCK_HOOK_WARN_PERCENT",
        doc: "the status line turns yellow at this share of a quota",
        example: "80",
        refused: Refused::Number,
        parse: |c, raw| set(&mut c.warn_percent, as_percent(raw)),
        show: |c| c.warn_percent.to_string(),
    },
    Key {
        name: "alert_percent",
        env: "BEDROCK_HOOK_ALERT_PERCENT",
        doc: "the status line turns red at this share of a quota",
        example: "95",
        refused: Refused::Number,
        parse: |c, raw| set(&mut c.alert_percent, as_percent(raw)),
        show: |c| c.alert_percent.to_string(),
    },
    Key {
        name: "chain_timeout_ms",
        env: "BEDROCK_HOOK_CHAIN_TIMEOUT_MS",
        doc: "how long `statusline --chain` waits for the user's own status line (at most 10 s)",
        example: "500",
        refused: Refused::Number,
        parse: |c, raw| {
            set(
                &mut c.chain_timeout_ms,
                as_u64(raw).map(|ms| ms.min(10_000)),
            )
        },
        show: |c| c.chain_timeout_ms.to_string(),
    },
    Key {
        name: "statusline_ingest",
        env: "BEDROCK_HOOK_STATUSLINE_INGEST",
        doc: "whether the status line reads new transcript bytes itself between hooks",
        example: "false",
        refused: BOOL,
        parse: |c, raw| set(&mut c.statusline_ingest, as_bool(raw)),
        show: |c| c.statusline_ingest.to_string(),
    },
    Key {
        name: "warn_repeat_secs",
        env: "BEDROCK_HOOK_WARN_REPEAT_SECS",
        doc: "the same guard warning is shown at most once per session in this many seconds",
        example: "60",
        refused: Refused::Number,
        parse: |c, raw| set(&mut c.warn_repeat_secs, as_u64(raw)),
        show: |c| c.warn_repeat_secs.to_string(),
    },
    Key {
        name: "team",
        env: "BEDROCK_HOOK_TEAM",
        doc: "account mode: cloudwatch counts the whole AWS account's use, off this machine's",
        example: "\"cloudwatch\"",
        refused: Refused::Words("is not cloudwatch or off"),
        parse: |c, raw| {
            c.team = match as_str(raw)?.trim().to_ascii_lowercase().as_str() {
                "off" | "none" | "" => Team::Off,
                "cloudwatch" => Team::CloudWatch,
                other => return Err(format!("expected cloudwatch or off, got `{other}`")),
            };
            Ok(())
        },
        show: |c| c.team.as_str().to_string(),
    },
    Key {
        name: "team_interval_secs",
        env: "BEDROCK_HOOK_TEAM_INTERVAL_SECS",
        doc: "account mode: the hook starts a background CloudWatch sync at most this often",
        example: "120",
        refused: Refused::Number,
        parse: |c, raw| set(&mut c.team_interval_secs, as_u64(raw).map(|s| s.max(1))),
        show: |c| c.team_interval_secs.to_string(),
    },
    Key {
        name: "aws_cli",
        env: "BEDROCK_HOOK_AWS_CLI",
        doc: "the AWS CLI account mode and `quota import` run: a name on PATH or a path",
        example: "\"/opt/aws/bin/aws\"",
        refused: Refused::Words("is not a command"),
        parse: |c, raw| {
            let text = as_str(raw)?;
            if text.trim().is_empty() {
                return Err("must not be empty".to_string());
            }
            c.aws_cli = text.trim().to_string();
            Ok(())
        },
        show: |c| c.aws_cli.clone(),
    },
    Key {
        name: "burndown",
        env: "BEDROCK_HOOK_BURNDOWN",
        doc: "burndown rate overrides by model-name prefix",
        example: "{ \"claude-opus-5\" = 12 }",
        refused: TABLE,
        parse: |c, raw| set(&mut c.burndown, as_map(raw, true, as_rate)),
        show: |c| show_map(&c.burndown, f64::to_string),
    },
    Key {
        name: "default_max_tokens",
        env: "BEDROCK_HOOK_DEFAULT_MAX_TOKENS",
        doc: "`max_tokens` assumed when the transcript does not say, by model-name prefix",
        example: "{ \"claude-opus-5\" = 128000 }",
        refused: TABLE,
        parse: |c, raw| {
            let max_tokens = as_map(raw, true, |model, value| {
                as_u64(value).map_err(|e| format!("`{model}`: {e}"))
            });
            set(&mut c.default_max_tokens, max_tokens)
        },
        show: |c| show_map(&c.default_max_tokens, u64::to_string),
    },
    Key {
        name: "models",
        env: "BEDROCK_HOOK_MODELS",
        doc: "per-model quotas (tpd, tpm, rpm) by model-name prefix, each model its own bucket",
        example: "{ \"claude-sonnet-4-5\" = { tpm = 200000, tpd = \"1M\" } }",
        refused: TABLE,
        parse: |c, raw| set(&mut c.models, as_model_quotas(raw)),
        show: |c| show_map(&c.models, show_model_quotas),
    },
    Key {
        name: "profiles",
        env: "BEDROCK_HOOK_PROFILES",
        doc: "application inference profile ARN or id -> the model it routes to",
        example: "{ abc = \"us.anthropic.claude-opus-4-8\" }",
        refused: TABLE,
        parse: |c, raw| {
            set(
                &mut c.profiles,
                as_map(raw, false, |_, value| as_str(value)),
            )
        },
        show: |c| show_map(&c.profiles, String::clone),
    },
];
