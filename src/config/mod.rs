//! User configuration: one TOML file at a known path plus `BEDROCK_HOOK_*` environment
//! variables, which win. Every value remembers where it came from so `bedrock-hook config`
//! can explain itself.
//!
//! The hot paths call [`Config::load`] and use whatever it returns: a bad file or value is
//! reported in [`Config::problems`] and replaced by its default, never a failure.

pub mod edit;
pub mod settings_env;
mod value;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::quota::burndown::prefix_matches;
use crate::quota::{DayBoundary, Multiplier, ReservationRule};

pub use value::parse_tokens;

/// What the guards do when the next request would not fit.
/// Largest config file read: far above any real one.
const CONFIG_MAX_BYTES: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Warn,
    Block,
    Off,
}

impl Mode {
    pub fn as_str(&self) -> &'static str {
        match self {
            Mode::Warn => "warn",
            Mode::Block => "block",
            Mode::Off => "off",
        }
    }
}

/// Whose use the status line and guards count: this machine's requests only, or the whole
/// account's as Amazon CloudWatch records them (account mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Team {
    Off,
    CloudWatch,
}

impl Team {
    pub fn as_str(&self) -> &'static str {
        match self {
            Team::Off => "off",
            Team::CloudWatch => "cloudwatch",
        }
    }
}

/// Quotas of one bucket (the account default, or one model).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quotas {
    pub tpd: Option<u64>,
    pub tpm: Option<u64>,
    pub rpm: Option<u64>,
}

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File,
    Env(&'static str),
    /// A Claude Code settings file's `env` (the variable, where it was set), as the
    /// hooks see it: see [`settings_env`].
    Settings(&'static str, &'static str),
}

#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    /// Quotas for every model without an entry of its own in `models`.
    pub quotas: Quotas,
    pub day_boundary: DayBoundary,
    pub reservation: ReservationRule,
    /// In-flight entries older than this are assumed lost.
    pub inflight_stale_secs: u64,
    /// Status line turns yellow at this share of a quota, red at `alert_percent`.
    pub warn_percent: u64,
    pub alert_percent: u64,
    /// How long `statusline --chain` waits for the user's own status line command.
    pub chain_timeout_ms: u64,
    /// Whether the status line reads the transcript tail itself between hooks.
    pub statusline_ingest: bool,
    /// Minimum seconds between two identical guard warnings in one session.
    pub warn_repeat_secs: u64,
    /// Account mode: `cloudwatch` reads the whole account's use from CloudWatch.
    pub team: Team,
    /// Minimum seconds between two background CloudWatch syncs started by the hook.
    pub team_interval_secs: u64,
    /// The AWS CLI account mode runs (a name on PATH or a path).
    pub aws_cli: String,
    /// Burndown rate overrides by canonical model name prefix.
    pub burndown: BTreeMap<String, f64>,
    /// `max_tokens` assumed when the transcript does not say, by model prefix.
    pub default_max_tokens: BTreeMap<String, u64>,
    /// Per-model quotas by canonical model name prefix.
    pub models: BTreeMap<String, Quotas>,
    /// Application inference profile ARN (or id) -> model id.
    pub profiles: BTreeMap<String, String>,
    /// The config file consulted (it may not exist).
    pub path: Option<PathBuf>,
    pub sources: BTreeMap<&'static str, Source>,
    /// Bad values and files, each naming the key and where it was set.
    pub problems: Vec<String>,
    /// The same problems, one short phrase each (`tpd "abc" is not a number`), for the
    /// status line, which has room for one.
    pub short_problems: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mode: Mode::Warn,
            quotas: Quotas::default(),
            day_boundary: DayBoundary::Utc,
            reservation: ReservationRule::default(),
            inflight_stale_secs: 600,
            warn_percent: 70,
            alert_percent: 90,
            chain_timeout_ms: 250,
            statusline_ingest: true,
            warn_repeat_secs: 300,
            team: Team::Off,
            team_interval_secs: 60,
            aws_cli: "aws".to_string(),
            burndown: BTreeMap::new(),
            default_max_tokens: BTreeMap::new(),
            models: BTreeMap::new(),
            profiles: BTreeMap::new(),
            path: None,
            sources: BTreeMap::new(),
            problems: Vec::new(),
            short_problems: Vec::new(),
        }
    }
}

/// Every scalar key, in the order `config` prints them.
pub const SCALAR_KEYS: &[&str] = &[
    "mode",
    "tpd",
    "tpm",
    "rpm",
    "day_boundary",
    "reservation_multiplier",
    "max_tokens_floor",
    "reserve_cache_reads",
    "inflight_stale_secs",
    "warn_percent",
    "alert_percent",
    "chain_timeout_ms",
    "statusline_ingest",
    "warn_repeat_secs",
    "team",
    "team_interval_secs",
    "aws_cli",
];

/// Keys whose value is a table (`[burndown]` ...), settable by env as `k=v,k=v`.
pub const TABLE_KEYS: &[&str] = &["burndown", "default_max_tokens", "models", "profiles"];

/// The environment variable that sets a key: `BEDROCK_HOOK_` + the key in capitals.
pub fn env_name(key: &str) -> String {
    format!("BEDROCK_HOOK_{}", key.to_ascii_uppercase())
}

fn static_env_name(key: &str) -> &'static str {
    // Keys are a fixed set; leak-free lookup into a static table.
    const NAMES: &[(&str, &str)] = &[
        ("mode", "BEDROCK_HOOK_MODE"),
        ("tpd", "BEDROCK_HOOK_TPD"),
        ("tpm", "BEDROCK_HOOK_TPM"),
        ("rpm", "BEDROCK_HOOK_RPM"),
        ("day_boundary", "BEDROCK_HOOK_DAY_BOUNDARY"),
        (
            "reservation_multiplier",
            "BEDROCK_HOOK_RESERVATION_MULTIPLIER",
        ),
        ("max_tokens_floor", "BEDROCK_HOOK_MAX_TOKENS_FLOOR"),
        ("reserve_cache_reads", "BEDROCK_HOOK_RESERVE_CACHE_READS"),
        ("inflight_stale_secs", "BEDROCK_HOOK_INFLIGHT_STALE_SECS"),
        ("warn_percent", "BEDROCK_HOOK_WARN_PERCENT"),
        ("alert_percent", "BEDROCK_HOOK_ALERT_PERCENT"),
        ("chain_timeout_ms", "BEDROCK_HOOK_CHAIN_TIMEOUT_MS"),
        ("statusline_ingest", "BEDROCK_HOOK_STATUSLINE_INGEST"),
        ("warn_repeat_secs", "BEDROCK_HOOK_WARN_REPEAT_SECS"),
        ("team", "BEDROCK_HOOK_TEAM"),
        ("team_interval_secs", "BEDROCK_HOOK_TEAM_INTERVAL_SECS"),
        ("aws_cli", "BEDROCK_HOOK_AWS_CLI"),
        ("burndown", "BEDROCK_HOOK_BURNDOWN"),
        ("default_max_tokens", "BEDROCK_HOOK_DEFAULT_MAX_TOKENS"),
        ("models", "BEDROCK_HOOK_MODELS"),
        ("profiles", "BEDROCK_HOOK_PROFILES"),
    ];
    NAMES
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| *v)
        .unwrap_or("BEDROCK_HOOK_?")
}

/// A raw value before it is checked: from the TOML file or from an env variable.
enum Raw<'a> {
    Toml(&'a toml::Value),
    Env(&'a str),
}

impl Config {
    /// Load from the file at `path` (if any) and the process environment.
    /// In a command run from a shell this includes what Claude Code's settings files set
    /// in `env` (see [`settings_env`]), so it sees what the hooks see.
    pub fn load(path: Option<&Path>) -> Config {
        let mut config = Config::load_with(path, settings_env::var);
        for source in config.sources.values_mut() {
            if let Source::Env(name) = *source
                && let Some(origin) = settings_env::origin(name)
            {
                *source = Source::Settings(name, origin);
            }
        }
        for problem in &mut config.problems {
            let set_in = problem
                .split_once(':')
                .and_then(|(name, _)| settings_env::origin(name));
            if let Some(origin) = set_in {
                problem.push_str(&format!(" (set in {origin})"));
            }
        }
        config
    }

    /// Where a key's value came from, in words: `default`, `config file`,
    /// `env BEDROCK_HOOK_TPD`, `BEDROCK_HOOK_TPD in ~/.claude/settings.json env`.
    pub fn source_label(&self, key: &str) -> String {
        match self.source_of(key) {
            Source::Default => "default".to_string(),
            Source::File => "config file".to_string(),
            Source::Env(name) => format!("env {name}"),
            Source::Settings(name, origin) => format!("{name} in {origin}"),
        }
    }

    /// Load with an explicit environment lookup (tests, `doctor`).
    pub fn load_with(path: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Config {
        let mut config = Config {
            path: path.map(Path::to_path_buf),
            ..Config::default()
        };
        if let Some(path) = path {
            config.apply_file(path);
        }
        for key in SCALAR_KEYS.iter().chain(TABLE_KEYS) {
            let name = static_env_name(key);
            if let Some(text) = env(name).filter(|t| !t.trim().is_empty()) {
                match config.set(key, Raw::Env(&text)) {
                    Ok(()) => {
                        config.sources.insert(key, Source::Env(name));
                    }
                    Err(why) => config.complain(format!("{name}: {why}"), bad_value(key, &text)),
                }
            }
        }
        config.check_consistency();
        config
    }

    fn apply_file(&mut self, path: &Path) {
        let read = crate::files::read_user_file(path, CONFIG_MAX_BYTES).and_then(|bytes| {
            String::from_utf8(bytes)
                .map_err(|_| std::io::Error::other("not UTF-8 text".to_string()))
        });
        let text = match read {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) => {
                self.complain(
                    format!("{}: cannot read: {e}", path.display()),
                    "config file cannot be read".to_string(),
                );
                return;
            }
        };
        let table: toml::Table = match text.parse() {
            Ok(table) => table,
            Err(e) => {
                let msg = e.to_string().replace('\n', " ");
                self.complain(
                    format!("{}: not valid TOML: {msg}", path.display()),
                    "config file is not valid TOML".to_string(),
                );
                return;
            }
        };
        for (key, value) in &table {
            let Some(known) = SCALAR_KEYS.iter().chain(TABLE_KEYS).find(|k| **k == key) else {
                self.complain(
                    format!("{}: unknown key `{key}`", path.display()),
                    format!("unknown key {}", quoted(key)),
                );
                continue;
            };
            match self.set(known, Raw::Toml(value)) {
                Ok(()) => {
                    self.sources.insert(known, Source::File);
                }
                Err(why) => {
                    let text = match value {
                        toml::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    self.complain(
                        format!("{}: key `{key}`: {why}", path.display()),
                        bad_value(known, &text),
                    )
                }
            }
        }
    }

    fn set(&mut self, key: &str, raw: Raw<'_>) -> Result<(), String> {
        match key {
            "mode" => {
                self.mode = match as_str(&raw)?.trim().to_ascii_lowercase().as_str() {
                    "warn" => Mode::Warn,
                    "block" => Mode::Block,
                    "off" => Mode::Off,
                    other => return Err(format!("expected warn, block or off, got `{other}`")),
                }
            }
            "tpd" => self.quotas.tpd = as_quota(&raw)?,
            "tpm" => self.quotas.tpm = as_quota(&raw)?,
            "rpm" => self.quotas.rpm = as_quota(&raw)?,
            "day_boundary" => {
                let text = as_str(&raw)?;
                self.day_boundary = DayBoundary::parse(&text).ok_or_else(|| {
                    format!("expected utc, local or an offset like +09:00, got `{text}`")
                })?;
            }
            "reservation_multiplier" => {
                self.reservation.multiplier = match &raw {
                    Raw::Toml(toml::Value::Integer(n)) => Multiplier::Fixed(*n as f64),
                    Raw::Toml(toml::Value::Float(f)) => Multiplier::Fixed(*f),
                    _ => {
                        let text = as_str(&raw)?;
                        if text.trim().eq_ignore_ascii_case("burndown") {
                            Multiplier::Burndown
                        } else {
                            match text.trim().parse::<f64>() {
                                Ok(f) if f.is_finite() && f >= 0.0 => Multiplier::Fixed(f),
                                _ => {
                                    return Err(format!(
                                        "expected `burndown` or a number, got `{text}`"
                                    ));
                                }
                            }
                        }
                    }
                };
                if let Multiplier::Fixed(f) = self.reservation.multiplier
                    && !(f.is_finite() && f >= 0.0)
                {
                    return Err("must be a non-negative number".to_string());
                }
            }
            "max_tokens_floor" => self.reservation.floor = as_u64(&raw)?,
            "reserve_cache_reads" => self.reservation.hold_cache_reads = as_bool(&raw)?,
            "inflight_stale_secs" => self.inflight_stale_secs = as_u64(&raw)?,
            "warn_percent" => self.warn_percent = as_percent(&raw)?,
            "alert_percent" => self.alert_percent = as_percent(&raw)?,
            "chain_timeout_ms" => self.chain_timeout_ms = as_u64(&raw)?.min(10_000),
            "statusline_ingest" => self.statusline_ingest = as_bool(&raw)?,
            "warn_repeat_secs" => self.warn_repeat_secs = as_u64(&raw)?,
            "team" => {
                self.team = match as_str(&raw)?.trim().to_ascii_lowercase().as_str() {
                    "off" | "none" | "" => Team::Off,
                    "cloudwatch" => Team::CloudWatch,
                    other => return Err(format!("expected cloudwatch or off, got `{other}`")),
                }
            }
            "team_interval_secs" => self.team_interval_secs = as_u64(&raw)?.max(1),
            "aws_cli" => {
                let text = as_str(&raw)?;
                if text.trim().is_empty() {
                    return Err("must not be empty".to_string());
                }
                self.aws_cli = text.trim().to_string();
            }
            "burndown" => {
                let mut table = BTreeMap::new();
                for (model, value) in as_table(&raw)? {
                    let rate = match value {
                        Raw::Toml(toml::Value::Integer(n)) => *n as f64,
                        Raw::Toml(toml::Value::Float(f)) => *f,
                        other => as_str(&other)?
                            .trim()
                            .parse::<f64>()
                            .map_err(|_| format!("`{model}`: expected a number"))?,
                    };
                    if !(rate.is_finite() && rate >= 0.0) {
                        return Err(format!("`{model}`: expected a non-negative number"));
                    }
                    table.insert(model.to_ascii_lowercase(), rate);
                }
                self.burndown = table;
            }
            "default_max_tokens" => {
                let mut table = BTreeMap::new();
                for (model, value) in as_table(&raw)? {
                    let n = as_u64(&value).map_err(|e| format!("`{model}`: {e}"))?;
                    table.insert(model.to_ascii_lowercase(), n);
                }
                self.default_max_tokens = table;
            }
            "profiles" => {
                let mut table = BTreeMap::new();
                for (profile, value) in as_table(&raw)? {
                    table.insert(profile, as_str(&value)?);
                }
                self.profiles = table;
            }
            "models" => self.models = as_model_quotas(&raw)?,
            _ => return Err("unknown key".to_string()),
        }
        Ok(())
    }

    fn check_consistency(&mut self) {
        if self.alert_percent < self.warn_percent {
            self.complain(
                format!(
                    "alert_percent ({}) is below warn_percent ({}); using {} for both",
                    self.alert_percent, self.warn_percent, self.warn_percent
                ),
                "alert_percent is below warn_percent".to_string(),
            );
            self.alert_percent = self.warn_percent;
        }
    }

    /// Record one problem: the full text for `config` and stderr, the short one for the
    /// status line.
    fn complain(&mut self, full: String, short: String) {
        self.problems.push(full);
        self.short_problems.push(short);
    }

    /// The status line's word on the configuration: the first problem, short, and how many
    /// more there are; `None` when there is none.
    pub fn problem_summary(&self) -> Option<String> {
        let first = self.short_problems.first()?;
        Some(match self.short_problems.len() {
            1 => first.clone(),
            n => format!("{first} (+{} more)", n - 1),
        })
    }

    /// The quotas that apply to a model: its own entry, else the account default.
    pub fn quotas_for(&self, canonical_model: &str) -> Quotas {
        match self.models.get(&self.bucket_for(canonical_model)) {
            Some(own) => Quotas {
                tpd: own.tpd.or(self.quotas.tpd),
                tpm: own.tpm.or(self.quotas.tpm),
                rpm: own.rpm.or(self.quotas.rpm),
            },
            None => self.quotas,
        }
    }

    /// The quota bucket a model's usage counts against: its `models` key, or "" for the
    /// shared default bucket.
    pub fn bucket_for(&self, canonical_model: &str) -> String {
        self.models
            .keys()
            .filter(|key| prefix_matches(canonical_model, key))
            .max_by_key(|key| key.len())
            .cloned()
            .unwrap_or_default()
    }

    pub fn source_of(&self, key: &str) -> Source {
        self.sources.get(key).cloned().unwrap_or(Source::Default)
    }

    /// One key's effective value, as `config` shows it.
    pub fn show(&self, key: &str) -> String {
        let quota = |q: Option<u64>| q.map(|n| n.to_string()).unwrap_or_else(|| "unset".into());
        match key {
            "mode" => self.mode.as_str().to_string(),
            "tpd" => quota(self.quotas.tpd),
            "tpm" => quota(self.quotas.tpm),
            "rpm" => quota(self.quotas.rpm),
            "day_boundary" => self.day_boundary.describe(),
            "reservation_multiplier" => match self.reservation.multiplier {
                Multiplier::Burndown => "burndown".to_string(),
                Multiplier::Fixed(f) => f.to_string(),
            },
            "max_tokens_floor" => self.reservation.floor.to_string(),
            "reserve_cache_reads" => self.reservation.hold_cache_reads.to_string(),
            "inflight_stale_secs" => self.inflight_stale_secs.to_string(),
            "warn_percent" => self.warn_percent.to_string(),
            "alert_percent" => self.alert_percent.to_string(),
            "chain_timeout_ms" => self.chain_timeout_ms.to_string(),
            "statusline_ingest" => self.statusline_ingest.to_string(),
            "warn_repeat_secs" => self.warn_repeat_secs.to_string(),
            "team" => self.team.as_str().to_string(),
            "team_interval_secs" => self.team_interval_secs.to_string(),
            "aws_cli" => self.aws_cli.clone(),
            "burndown" => join_table(self.burndown.iter().map(|(k, v)| (k, v.to_string()))),
            "default_max_tokens" => join_table(
                self.default_max_tokens
                    .iter()
                    .map(|(k, v)| (k, v.to_string())),
            ),
            "profiles" => join_table(self.profiles.iter().map(|(k, v)| (k, v.clone()))),
            "models" => join_table(self.models.iter().map(|(k, q)| {
                let mut parts = Vec::new();
                if let Some(n) = q.tpd {
                    parts.push(format!("tpd={n}"));
                }
                if let Some(n) = q.tpm {
                    parts.push(format!("tpm={n}"));
                }
                if let Some(n) = q.rpm {
                    parts.push(format!("rpm={n}"));
                }
                (k, parts.join(":"))
            })),
            _ => String::new(),
        }
    }

    /// The whole effective configuration, one key per line with its source.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        // Problems first: they are what the reader came for.
        for problem in &self.problems {
            let _ = writeln!(out, "# problem: {}", crate::terminal::clean(problem));
        }
        let file = self.path.as_ref().map(|p| p.display().to_string());
        let exists = self.path.as_ref().is_some_and(|p| p.exists());
        let _ = writeln!(
            out,
            "# config file: {}{}",
            file.as_deref().unwrap_or("(none)"),
            if exists { "" } else { " (not present)" }
        );
        for key in SCALAR_KEYS.iter().chain(TABLE_KEYS) {
            let source = match self.source_of(key) {
                Source::File => "file".to_string(),
                _ => self.source_label(key),
            };
            let _ = writeln!(out, "{key:<24} = {:<28} # {source}", self.show(key));
        }
        out
    }
}

/// `value`, escaped and cut short, in quotes: what a short problem shows of a bad value.
fn quoted(value: &str) -> String {
    format!("\"{}\"", crate::terminal::fit(value.trim(), 20))
}

/// The short form of a bad value: `tpd "abc" is not a number`.
fn bad_value(key: &str, value: &str) -> String {
    let what = match key {
        "mode" => "is not warn, block or off",
        "team" => "is not cloudwatch or off",
        "aws_cli" => "is not a command",
        "day_boundary" => "is not utc, local or an offset like +09:00",
        "reservation_multiplier" => "is not burndown or a number",
        "reserve_cache_reads" | "statusline_ingest" => "is not true or false",
        "burndown" | "default_max_tokens" | "models" | "profiles" => "is not valid",
        _ if value.trim().parse::<f64>().is_ok() => "is out of range",
        _ => "is not a number",
    };
    format!("{key} {} {what}", quoted(value))
}

fn join_table<'a>(items: impl Iterator<Item = (&'a String, String)>) -> String {
    let parts: Vec<String> = items.map(|(k, v)| format!("{k}={v}")).collect();
    if parts.is_empty() {
        "(none)".to_string()
    } else {
        parts.join(",")
    }
}

fn as_str(raw: &Raw<'_>) -> Result<String, String> {
    match raw {
        Raw::Env(text) => Ok(text.to_string()),
        Raw::Toml(toml::Value::String(s)) => Ok(s.clone()),
        Raw::Toml(other) => Err(format!("expected a string, got {}", other.type_str())),
    }
}

fn as_u64(raw: &Raw<'_>) -> Result<u64, String> {
    match raw {
        Raw::Toml(toml::Value::Integer(n)) if *n >= 0 => Ok(*n as u64),
        Raw::Toml(toml::Value::Integer(n)) => Err(format!("must not be negative, got {n}")),
        Raw::Toml(toml::Value::String(s)) => parse_tokens(s),
        Raw::Env(text) => parse_tokens(text),
        Raw::Toml(other) => Err(format!("expected a number, got {}", other.type_str())),
    }
}

/// A quota: a positive number, or 0 / "off" / "unset" for none.
fn as_quota(raw: &Raw<'_>) -> Result<Option<u64>, String> {
    if let Ok(text) = as_str(raw)
        && matches!(
            text.trim().to_ascii_lowercase().as_str(),
            "off" | "unset" | "none"
        )
    {
        return Ok(None);
    }
    let n = as_u64(raw)?;
    Ok(if n == 0 { None } else { Some(n) })
}

fn as_percent(raw: &Raw<'_>) -> Result<u64, String> {
    let n = as_u64(raw)?;
    if n > 1000 {
        return Err(format!("expected a percentage, got {n}"));
    }
    Ok(n)
}

fn as_bool(raw: &Raw<'_>) -> Result<bool, String> {
    match raw {
        Raw::Toml(toml::Value::Boolean(b)) => Ok(*b),
        _ => match as_str(raw)?.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            other => Err(format!("expected true or false, got `{other}`")),
        },
    }
}

/// A table from TOML, or `k=v,k=v` from env.
fn as_table<'a>(raw: &'a Raw<'a>) -> Result<Vec<(String, Raw<'a>)>, String> {
    match raw {
        Raw::Toml(toml::Value::Table(table)) => Ok(table
            .iter()
            .map(|(k, v)| (k.clone(), Raw::Toml(v)))
            .collect()),
        Raw::Toml(other) => Err(format!("expected a table, got {}", other.type_str())),
        Raw::Env(text) => text
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.split_once('=')
                    .map(|(k, v)| (k.trim().to_string(), Raw::Env(v.trim())))
                    .ok_or_else(|| format!("expected key=value, got `{item}`"))
            })
            .collect(),
    }
}

/// `[models."claude-sonnet-4-5"] tpm = ...` in TOML; `model:tpm=1:tpd=2,model2:...` in env.
fn as_model_quotas(raw: &Raw<'_>) -> Result<BTreeMap<String, Quotas>, String> {
    let mut out = BTreeMap::new();
    match raw {
        Raw::Toml(toml::Value::Table(table)) => {
            for (model, value) in table {
                let toml::Value::Table(fields) = value else {
                    return Err(format!("`{model}`: expected a table with tpd/tpm/rpm"));
                };
                let mut quotas = Quotas::default();
                for (field, v) in fields {
                    let n =
                        as_quota(&Raw::Toml(v)).map_err(|e| format!("`{model}.{field}`: {e}"))?;
                    set_quota_field(&mut quotas, field, n)
                        .map_err(|e| format!("`{model}`: {e}"))?;
                }
                out.insert(model.to_ascii_lowercase(), quotas);
            }
        }
        Raw::Env(text) => {
            for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                let mut parts = item.split(':');
                let model = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
                let mut quotas = Quotas::default();
                for part in parts {
                    let (field, value) = part
                        .split_once('=')
                        .ok_or_else(|| format!("expected field=value, got `{part}`"))?;
                    let n = as_quota(&Raw::Env(value.trim()))?;
                    set_quota_field(&mut quotas, field.trim(), n)?;
                }
                out.insert(model, quotas);
            }
        }
        Raw::Toml(other) => return Err(format!("expected a table, got {}", other.type_str())),
    }
    Ok(out)
}

fn set_quota_field(quotas: &mut Quotas, field: &str, n: Option<u64>) -> Result<(), String> {
    match field {
        "tpd" => quotas.tpd = n,
        "tpm" => quotas.tpm = n,
        "rpm" => quotas.rpm = n,
        other => {
            return Err(format!(
                "unknown quota `{other}` (expected tpd, tpm or rpm)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn defaults_without_file_or_env() {
        let c = Config::load_with(None, env_of(&[]));
        assert_eq!(c.mode, Mode::Warn);
        assert_eq!(c.quotas, Quotas::default());
        assert_eq!(c.reservation, ReservationRule::default());
        assert!(c.problems.is_empty());
        assert_eq!(c.source_of("tpd"), Source::Default);
    }

    #[test]
    fn file_then_env_with_sources() {
        let f = file(
            "mode = \"block\"\ntpd = 5_000_000\ntpm = \"400k\"\nreservation_multiplier = 1\n\
             [burndown]\n\"claude-opus-5\" = 12\n[models.\"claude-sonnet-4-5\"]\ntpm = 200000\n\
             [profiles]\nabc = \"us.anthropic.claude-opus-4-8\"\n",
        );
        let c = Config::load_with(Some(f.path()), env_of(&[("BEDROCK_HOOK_TPD", "2M")]));
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert_eq!(c.mode, Mode::Block);
        assert_eq!(c.quotas.tpd, Some(2_000_000));
        assert_eq!(c.quotas.tpm, Some(400_000));
        assert_eq!(c.reservation.multiplier, Multiplier::Fixed(1.0));
        assert_eq!(c.burndown.get("claude-opus-5"), Some(&12.0));
        assert_eq!(c.source_of("tpd"), Source::Env("BEDROCK_HOOK_TPD"));
        assert_eq!(c.source_of("mode"), Source::File);
        assert_eq!(c.quotas_for("claude-sonnet-4-5").tpm, Some(200_000));
        assert_eq!(c.quotas_for("claude-sonnet-4-5").tpd, Some(2_000_000));
        assert_eq!(c.quotas_for("claude-opus-5-5").tpm, Some(400_000));
        assert_eq!(c.bucket_for("claude-sonnet-4-5"), "claude-sonnet-4-5");
        assert_eq!(c.bucket_for("claude-opus-5-5"), "");
        assert_eq!(
            c.profiles.get("abc").map(String::as_str),
            Some("us.anthropic.claude-opus-4-8")
        );
    }

    #[test]
    fn bad_values_name_the_key_and_file_and_fall_back() {
        let f = file("mode = \"loud\"\ntpd = -5\nwhat = 1\n");
        let c = Config::load_with(Some(f.path()), env_of(&[("BEDROCK_HOOK_TPM", "lots")]));
        assert_eq!(c.mode, Mode::Warn);
        assert_eq!(c.quotas, Quotas::default());
        let all = c.problems.join("\n");
        let path = f.path().display().to_string();
        assert!(all.contains(&format!("{path}: key `mode`")), "{all}");
        assert!(all.contains(&format!("{path}: key `tpd`")), "{all}");
        assert!(all.contains("unknown key `what`"), "{all}");
        assert!(all.contains("BEDROCK_HOOK_TPM"), "{all}");
    }

    #[test]
    fn short_problems_name_the_key_and_the_value() {
        let f = file("mode = \"blok\"\nwarn_percent = 5000\n");
        let c = Config::load_with(
            Some(f.path()),
            env_of(&[
                ("BEDROCK_HOOK_TPM", "abc"),
                ("BEDROCK_HOOK_TPD", "\x1b[31mred"),
            ]),
        );
        assert_eq!(
            c.short_problems,
            [
                "mode \"blok\" is not warn, block or off",
                "warn_percent \"5000\" is out of range",
                "tpd \"[31mred\" is not a number",
                "tpm \"abc\" is not a number",
            ]
        );
        assert_eq!(
            c.problem_summary().as_deref(),
            Some("mode \"blok\" is not warn, block or off (+3 more)")
        );
        assert_eq!(c.problems.len(), c.short_problems.len());
        assert_eq!(Config::load_with(None, env_of(&[])).problem_summary(), None);
    }

    #[test]
    fn config_lists_its_problems_first() {
        let c = Config::load_with(None, env_of(&[("BEDROCK_HOOK_TPD", "abc")]));
        let text = c.describe();
        let first = text.lines().next().unwrap();
        assert!(first.starts_with("# problem: BEDROCK_HOOK_TPD"), "{text}");
    }

    #[test]
    fn broken_toml_is_reported_not_fatal() {
        let f = file("tpd = [\n");
        let c = Config::load_with(Some(f.path()), env_of(&[("BEDROCK_HOOK_MODE", "off")]));
        assert_eq!(c.mode, Mode::Off);
        assert!(c.problems[0].contains("not valid TOML"), "{:?}", c.problems);
    }

    #[test]
    fn env_tables() {
        let c = Config::load_with(
            None,
            env_of(&[
                (
                    "BEDROCK_HOOK_BURNDOWN",
                    "claude-opus-5=10, claude-opus-4-8=15",
                ),
                ("BEDROCK_HOOK_MODELS", "claude-haiku-4-5:tpm=1M:rpm=50"),
                ("BEDROCK_HOOK_PROFILES", "abc=claude-sonnet-5"),
                ("BEDROCK_HOOK_RESERVATION_MULTIPLIER", "burndown"),
                ("BEDROCK_HOOK_DAY_BOUNDARY", "+09:00"),
            ]),
        );
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert_eq!(c.burndown.len(), 2);
        assert_eq!(c.quotas_for("claude-haiku-4-5").tpm, Some(1_000_000));
        assert_eq!(c.quotas_for("claude-haiku-4-5").rpm, Some(50));
        assert_eq!(c.day_boundary, DayBoundary::Offset(9 * 3600));
        let text = c.describe();
        assert!(text.contains("env BEDROCK_HOOK_BURNDOWN"), "{text}");
    }

    #[test]
    fn account_mode_keys() {
        let f = file("team = \"cloudwatch\"\nteam_interval_secs = 120\n");
        let c = Config::load_with(
            Some(f.path()),
            env_of(&[("BEDROCK_HOOK_AWS_CLI", "/opt/aws/bin/aws")]),
        );
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert_eq!(c.team, Team::CloudWatch);
        assert_eq!(c.team_interval_secs, 120);
        assert_eq!(c.aws_cli, "/opt/aws/bin/aws");
        assert_eq!(c.source_of("aws_cli"), Source::Env("BEDROCK_HOOK_AWS_CLI"));
        let d = Config::load_with(None, env_of(&[("BEDROCK_HOOK_TEAM", "slack")]));
        assert_eq!(d.team, Team::Off);
        assert_eq!(
            d.short_problems,
            ["team \"slack\" is not cloudwatch or off"]
        );
        assert_eq!(Config::default().aws_cli, "aws");
    }

    #[test]
    fn zero_or_off_unsets_a_quota() {
        let c = Config::load_with(
            None,
            env_of(&[("BEDROCK_HOOK_TPD", "0"), ("BEDROCK_HOOK_TPM", "off")]),
        );
        assert_eq!(c.quotas, Quotas::default());
    }
}
