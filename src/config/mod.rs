//! User configuration: one TOML file at a known path plus `BEDROCK_HOOK_*` environment
//! variables, which win. Every value remembers where it came from so `bedrock-hook config`
//! can explain itself. The keys themselves (name, variable, check, display, doc) are one
//! table, [`keys::KEYS`]; the [`Config`] struct holds the values and their defaults.
//!
//! The hot paths call [`Config::load`] and use whatever it returns: a bad file or value is
//! reported in [`Config::problems`] and replaced by its default, never a failure.

pub mod edit;
pub mod keys;
mod raw;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::quota::{Buckets, DayBoundary, ReservationRule};

// Named here too for the callers that still say `config::Quotas`.
pub use crate::quota::Quotas;
pub use crate::quota::tokens::parse_tokens;
pub use keys::{KEYS, Key};
use raw::Raw;

/// Largest config file read: far above any real one.
const CONFIG_MAX_BYTES: u64 = 1 << 20;

/// What the guards do when the next request would not fit.

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

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File,
    Env(&'static str),
    /// A Claude Code settings file's `env` (the variable, where it was set), as the
    /// hooks see it: see [`crate::claude::settings_env`].
    Settings(&'static str, &'static str),
}

#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    /// Quotas for every model without an entry of its own in `models`.
    pub quotas: Quotas,
    /// The account-wide "Cross-Model Max Tokens Per Day": one cap on every model's
    /// tokens together, on top of each bucket's own TPD.
    pub tpd_all_models: Option<u64>,
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
            tpd_all_models: None,
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

impl Config {
    /// Load from the file at `path` (if any) and the process environment.
    /// In a command run from a shell this includes what Claude Code's settings files set
    /// in `env` (see [`crate::claude::settings_env`]), so it sees what the hooks see.
    pub fn load(path: Option<&Path>) -> Config {
        let mut config = Config::load_with(path, crate::claude::settings_env::var);
        for source in config.sources.values_mut() {
            if let Source::Env(name) = *source
                && let Some(origin) = crate::claude::settings_env::origin(name)
            {
                *source = Source::Settings(name, origin);
            }
        }
        for problem in &mut config.problems {
            let set_in = problem
                .split_once(':')
                .and_then(|(name, _)| crate::claude::settings_env::origin(name));
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
        for key in KEYS {
            if let Some(text) = env(key.env).filter(|t| !t.trim().is_empty()) {
                match key.parse(&mut config, &Raw::Env(&text)) {
                    Ok(()) => {
                        config.sources.insert(key.name, Source::Env(key.env));
                    }
                    Err(why) => config.complain(format!("{}: {why}", key.env), key.refused(&text)),
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
            let Some(known) = keys::find(key) else {
                self.complain(
                    format!("{}: unknown key `{key}`", path.display()),
                    format!("unknown key {}", quoted(key)),
                );
                continue;
            };
            match known.parse(self, &Raw::Toml(value)) {
                Ok(()) => {
                    self.sources.insert(known.name, Source::File);
                }
                Err(why) => {
                    let text = match value {
                        toml::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    self.complain(
                        format!("{}: key `{key}`: {why}", path.display()),
                        known.refused(&text),
                    )
                }
            }
        }
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

    /// The configured quota buckets.
    pub fn buckets(&self) -> Buckets<'_> {
        Buckets {
            default: &self.quotas,
            models: &self.models,
        }
    }

    /// The quotas that apply to a model: its own entry, else the account default.
    pub fn quotas_for(&self, canonical_model: &str) -> Quotas {
        self.buckets().quotas_for(canonical_model)
    }

    /// The quota bucket a model's usage counts against: its `models` key, or "" for the
    /// shared default bucket.
    pub fn bucket_for(&self, canonical_model: &str) -> String {
        self.buckets().bucket_for(canonical_model)
    }

    pub fn source_of(&self, key: &str) -> Source {
        self.sources.get(key).cloned().unwrap_or(Source::Default)
    }

    /// One key's effective value, as `config` shows it.
    pub fn show(&self, key: &str) -> String {
        keys::find(key).map_or_else(String::new, |key| key.show(self))
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
        for key in KEYS {
            let source = match self.source_of(key.name) {
                Source::File => "file".to_string(),
                _ => self.source_label(key.name),
            };
            let name = key.name;
            let _ = writeln!(out, "{name:<24} = {:<28} # {source}", key.show(self));
        }
        out
    }
}

impl<'a> From<&'a Config> for Buckets<'a> {
    fn from(config: &'a Config) -> Buckets<'a> {
        config.buckets()
    }
}

/// `value`, escaped and cut short, in quotes: what a short problem shows of a bad value.
fn quoted(value: &str) -> String {
    format!("\"{}\"", crate::terminal::fit(value.trim(), 20))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quota::Multiplier;
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
    fn env_models_read_back_what_config_shows() {
        let f = file("[models.\"claude-sonnet-4-5\"]\ntpd = 1000000\ntpm = 200000\n[models.x]\n");
        let shown = Config::load_with(Some(f.path()), env_of(&[])).show("models");
        assert_eq!(shown, "claude-sonnet-4-5=tpd=1000000:tpm=200000,x=");
        let c = Config::load_with(None, |name| {
            (name == "BEDROCK_HOOK_MODELS").then(|| shown.clone())
        });
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert_eq!(c.models.len(), 2, "{:?}", c.models);
        assert_eq!(c.quotas_for("claude-sonnet-4-5").tpd, Some(1_000_000));
        assert_eq!(c.quotas_for("x"), Quotas::default());
        assert_eq!(c.show("models"), shown);
    }

    #[test]
    fn zero_or_off_unsets_a_quota() {
        let c = Config::load_with(
            None,
            env_of(&[("BEDROCK_HOOK_TPD", "0"), ("BEDROCK_HOOK_TPM", "off")]),
        );
        assert_eq!(c.quotas, Quotas::default());
    }

    /// Every key: its example in the file is taken, `config` shows it differently from the
    /// default, and what `config` shows, set in the key's variable, reads back the same.
    #[test]
    fn every_key_round_trips_from_file_to_show_to_env() {
        let defaults = Config::default();
        for key in KEYS {
            let f = file(&format!("{} = {}\n", key.name, key.example));
            let from_file = Config::load_with(Some(f.path()), env_of(&[]));
            assert!(
                from_file.problems.is_empty(),
                "{}: {:?}",
                key.name,
                from_file.problems
            );
            assert_eq!(from_file.source_of(key.name), Source::File, "{}", key.name);
            let shown = from_file.show(key.name);
            assert_ne!(
                shown,
                defaults.show(key.name),
                "{}: example is the default",
                key.name
            );
            let from_env = Config::load_with(None, |name| (name == key.env).then(|| shown.clone()));
            assert!(
                from_env.problems.is_empty(),
                "{}: {:?}",
                key.name,
                from_env.problems
            );
            assert_eq!(from_env.source_of(key.name), Source::Env(key.env));
            assert_eq!(from_env.show(key.name), shown, "{}", key.name);
        }
    }

    #[test]
    fn every_key_is_named_once_and_its_variable_is_in_the_readme() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
            .expect("README.md");
        let section = readme
            .split("\n## ")
            .find(|s| s.starts_with("Configuration\n"))
            .expect("README has a Configuration section");
        let rows: Vec<&str> = section.lines().filter(|l| l.starts_with("| `")).collect();
        for (i, key) in KEYS.iter().enumerate() {
            assert!(
                KEYS[..i].iter().all(|k| k.name != key.name),
                "{} twice",
                key.name
            );
            let upper = key.name.to_ascii_uppercase();
            assert_eq!(key.env, format!("BEDROCK_HOOK_{upper}"));
            assert!(!key.doc.is_empty(), "{} has no doc", key.name);
            let row = rows.iter().find(|row| {
                let mut cells = row.split(" | ");
                let (name, env) = (cells.next().unwrap_or(""), cells.next().unwrap_or(""));
                [
                    format!("`{}`", key.name),
                    format!("`[{}]`", key.name),
                    format!("`[{}.", key.name),
                ]
                .iter()
                .any(|n| name.contains(n.as_str()))
                    && [format!("`{}`", key.env), format!("`{}=", key.env)]
                        .iter()
                        .any(|e| env.contains(e.as_str()))
            });
            assert!(
                row.is_some(),
                "README's configuration table has no row for {} ({})",
                key.name,
                key.env
            );
        }
        // Every variable in the table is a key.
        for row in &rows {
            let env = row.split(" | ").nth(1).unwrap_or("");
            if let Some(at) = env.find("BEDROCK_HOOK_") {
                let name: String = env[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                    .collect();
                assert!(
                    KEYS.iter().any(|k| k.env == name),
                    "README names {name}, not a key"
                );
            }
        }
    }

    #[test]
    fn a_refused_multiplier_leaves_the_default() {
        let f = file("reservation_multiplier = -1\n");
        let c = Config::load_with(Some(f.path()), env_of(&[]));
        assert_eq!(
            c.short_problems,
            ["reservation_multiplier \"-1\" is not burndown or a number"]
        );
        assert_eq!(c.reservation.multiplier, Multiplier::Burndown);
        assert_eq!(c.source_of("reservation_multiplier"), Source::Default);
    }
}
