//! The one place an integration test gets a machine to run the built binary on: a temp dir
//! laid out as a user's (a HOME with a Claude config dir, a project, a data dir and a config
//! path), the recorded samples and fixture ledgers copied into it, and the binary's command
//! with a clean environment, so that no test depends on the shell or the day it runs in.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

/// The built binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_bedrock-hook");
/// The sample session (tests/fixtures/samples) and its subagent.
pub const SESSION: &str = "f546e1ba-4370-400a-a093-10e9c9557bd0";
pub const AGENT: &str = "aa784e05b3e2adbb4";
/// Forty seconds after the samples' last request.
pub const SAMPLE_NOW: &str = "2026-11-22T01:40:00Z";
/// Where the client that recorded the samples kept its transcripts.
const SAMPLE_CLAUDE_DIR: &str = "/home/dev/.claude";
/// The search path the binary gets: the system's, nothing of the developer's.
pub const PATH: &str = "/usr/bin:/bin";

/// tests/fixtures.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The payloads and transcripts recorded from the real client (tests/fixtures/samples).
pub fn samples() -> PathBuf {
    fixtures().join("samples")
}

/// Lay the sample session out in a Claude config dir the way the client does:
/// `<claude_dir>/projects/-home-dev-proj/<session>.jsonl` and its subagent transcript.
/// Returns (main, subagent).
pub fn lay_out_samples(claude_dir: &Path) -> (PathBuf, PathBuf) {
    let project = claude_dir.join("projects/-home-dev-proj");
    let main = project.join(format!("{SESSION}.jsonl"));
    let sub = project.join(format!("{SESSION}/subagents/agent-{AGENT}.jsonl"));
    std::fs::create_dir_all(sub.parent().unwrap()).unwrap();
    std::fs::copy(samples().join("transcript-main.jsonl"), &main).unwrap();
    std::fs::copy(
        samples().join(format!("transcript-subagent-agent-{AGENT}.jsonl")),
        &sub,
    )
    .unwrap();
    (main, sub)
}

/// A temp dir laid out as a user's machine: `home/` (no `~/.claude` until something
/// writes it), `proj/`, and the data dir `data/` and config file `config.toml` the binary
/// is pointed at (neither exists until something writes it).
pub struct Home {
    pub dir: tempfile::TempDir,
    now: Option<String>,
}

impl Default for Home {
    fn default() -> Home {
        Home::new()
    }
}

impl Home {
    pub fn new() -> Home {
        let home = Home {
            dir: tempfile::tempdir().unwrap(),
            now: None,
        };
        std::fs::create_dir_all(home.home()).unwrap();
        std::fs::create_dir_all(home.project()).unwrap();
        home
    }

    /// A home with `text` as the bedrock-hook config file.
    pub fn with_config(text: &str) -> Home {
        let home = Home::new();
        home.write_config(text);
        home
    }

    /// A home whose Claude config dir holds the sample session, with the clock pinned to
    /// the samples' day ([`SAMPLE_NOW`]): "today" is the day they were recorded, so the
    /// answers are the same whatever day the suite runs.
    pub fn with_samples() -> Home {
        let home = Home::new().at(SAMPLE_NOW);
        lay_out_samples(&home.claude_dir());
        home
    }

    /// A home whose data dir holds the ledger days of `tests/fixtures/ledgers/<name>`.
    pub fn with_ledger(name: &str) -> Home {
        let home = Home::new();
        let ledger = home.data_dir().join("ledger");
        std::fs::create_dir_all(&ledger).unwrap();
        for entry in std::fs::read_dir(fixtures().join("ledgers").join(name)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "jsonl") {
                std::fs::copy(&path, ledger.join(path.file_name().unwrap())).unwrap();
            }
        }
        home
    }

    /// Pin the clock of every command to `now` (`BEDROCK_HOOK_NOW`); a command may pin
    /// another moment with its own `.env("BEDROCK_HOOK_NOW", ..)`.
    pub fn at(mut self, now: &str) -> Home {
        self.now = Some(now.to_string());
        self
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `HOME` of the commands.
    pub fn home(&self) -> PathBuf {
        self.path("home")
    }

    /// Claude Code's config dir: `~/.claude`.
    pub fn claude_dir(&self) -> PathBuf {
        self.home().join(".claude")
    }

    /// The user's Claude Code settings: `~/.claude/settings.json`.
    pub fn user_settings(&self) -> PathBuf {
        self.claude_dir().join("settings.json")
    }

    /// The project the commands run in (their working directory).
    pub fn project(&self) -> PathBuf {
        self.path("proj")
    }

    /// The sample session's project dir under `~/.claude/projects`.
    pub fn projects(&self) -> PathBuf {
        self.claude_dir().join("projects/-home-dev-proj")
    }

    pub fn main_transcript(&self) -> PathBuf {
        self.projects().join(format!("{SESSION}.jsonl"))
    }

    pub fn subagent_transcript(&self) -> PathBuf {
        self.projects()
            .join(format!("{SESSION}/subagents/agent-{AGENT}.jsonl"))
    }

    /// `BEDROCK_HOOK_DATA_DIR` of the commands.
    pub fn data_dir(&self) -> PathBuf {
        self.path("data")
    }

    /// `BEDROCK_HOOK_CONFIG` of the commands.
    pub fn config_file(&self) -> PathBuf {
        self.path("config.toml")
    }

    pub fn write_user_settings(&self, text: &str) {
        std::fs::create_dir_all(self.claude_dir()).unwrap();
        std::fs::write(self.user_settings(), text).unwrap();
    }

    pub fn write_config(&self, text: &str) {
        std::fs::write(self.config_file(), text).unwrap();
    }

    pub fn config(&self) -> String {
        std::fs::read_to_string(self.config_file()).unwrap()
    }

    /// Write `text` to `rel` below the root, making its directories.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `program` run in the project, in an environment holding nothing of the developer's:
    /// only `HOME`, a system `PATH`, the data dir and config file, the pinned clock if any,
    /// and what moves the clock of the whole suite (`LD_PRELOAD`, `FAKETIME`: see
    /// `.ci/clock-ahead`). A test adds what it wants with `.env`.
    pub fn program(&self, program: impl AsRef<OsStr>) -> std::process::Command {
        let mut command = std::process::Command::new(program);
        command.current_dir(self.project()).env_clear();
        for (key, value) in std::env::vars_os() {
            if key == "LD_PRELOAD" || key.to_string_lossy().starts_with("FAKETIME") {
                command.env(key, value);
            }
        }
        command
            .env("HOME", self.home())
            .env("PATH", PATH)
            .env("BEDROCK_HOOK_DATA_DIR", self.data_dir())
            .env("BEDROCK_HOOK_CONFIG", self.config_file());
        if let Some(now) = &self.now {
            command.env("BEDROCK_HOOK_NOW", now);
        }
        command
    }

    /// The binary with `args`: [`Home::program`] of [`BIN`].
    pub fn std_command(&self, args: &[&str]) -> std::process::Command {
        let mut command = self.program(BIN);
        command.args(args);
        command
    }

    /// [`Home::std_command`] on the data dir `data_dir` instead, with no config file
    /// (`<data_dir>.no-config.toml`, absent unless a test plants one) and no colour: for a
    /// test that keeps several data dirs in one home, or puts one somewhere odd.
    pub fn command_at(&self, data_dir: &Path, args: &[&str]) -> std::process::Command {
        let mut command = self.std_command(args);
        command
            .env("BEDROCK_HOOK_DATA_DIR", data_dir)
            .env(
                "BEDROCK_HOOK_CONFIG",
                data_dir.with_extension("no-config.toml"),
            )
            .env("NO_COLOR", "1");
        command
    }

    /// `bedrock-hook hook` with `stdin` on the data dir `data_dir` ([`Home::command_at`]),
    /// which must finish within 60 s.
    pub fn hook_at(&self, data_dir: &Path, stdin: &str) -> Output {
        run_bounded(
            self.command_at(data_dir, &["hook"]),
            stdin.as_bytes(),
            Duration::from_secs(60),
        )
        .expect("hook did not finish within 60 s")
    }

    /// [`Home::std_command`] as an `assert_cmd` command (stdin, assertions).
    pub fn command(&self, args: &[&str]) -> Command {
        Command::from_std(self.std_command(args))
    }

    /// Run the binary with `args`: [`Home::outcome`] of [`Home::command`].
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.outcome(&mut self.command(args))
    }

    /// Run `command`; (exit code, stdout, stderr) with the temp dir shown as `<tmp>` and the
    /// binary as `<bin>`.
    pub fn outcome(&self, command: &mut Command) -> (i32, String, String) {
        let out = command.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            self.clean(&String::from_utf8(out.stdout).unwrap()),
            self.clean(&String::from_utf8(out.stderr).unwrap()),
        )
    }

    /// The stdout of the binary with `args` as JSON; the command must succeed.
    pub fn json(&self, args: &[&str]) -> Value {
        json_of(&mut self.command(args))
    }

    /// `text` with the binary's path as `<bin>` and the temp dir as `<tmp>`.
    pub fn clean(&self, text: &str) -> String {
        text.replace(BIN, "<bin>")
            .replace(self.root().to_str().unwrap(), "<tmp>")
    }

    /// A sample hook payload (`hook-<name>.json`) pointed at this home's transcripts.
    pub fn payload(&self, name: &str) -> String {
        let text = std::fs::read_to_string(samples().join(format!("hook-{name}.json"))).unwrap();
        text.replace(SAMPLE_CLAUDE_DIR, self.claude_dir().to_str().unwrap())
    }

    /// Run `bedrock-hook hook` with `stdin`.
    pub fn hook(&self, stdin: &str) -> Output {
        self.command(&["hook"])
            .write_stdin(stdin.to_string())
            .output()
            .unwrap()
    }

    /// Run `bedrock-hook statusline` with `stdin`, without colour, with `env` added.
    pub fn statusline(&self, stdin: &str, env: &[(&str, &str)]) -> Output {
        let mut command = self.command(&["statusline"]);
        command.env("NO_COLOR", "1");
        for (key, value) in env {
            command.env(key, value);
        }
        command.write_stdin(stdin.to_string()).output().unwrap()
    }

    /// Every ledger record, oldest day first.
    pub fn ledger(&self) -> Vec<Value> {
        read_ledger(&self.data_dir())
    }

    /// [`Home::ledger`] passing over lines that are not JSON.
    pub fn ledger_lenient(&self) -> Vec<Value> {
        read_ledger_lenient(&self.data_dir())
    }

    /// The live state (`state.json`).
    pub fn state(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.data_dir().join("state.json")).unwrap()).unwrap()
    }
}

/// The stdout of `command`, which must succeed (the failure shows its stderr).
pub fn stdout_of(command: &mut Command) -> String {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Run `command` with `stdin`, killing it if it outlives `limit`. `None` if it had to be
/// killed.
pub fn run_bounded(
    mut command: std::process::Command,
    stdin: &[u8],
    limit: Duration,
) -> Option<Output> {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let began = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            let _ = feeder.join();
            return Some(child.wait_with_output().unwrap());
        }
        if began.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Start `command` with `stdin` written to its standard input, which is then closed.
pub fn spawn_fed(command: &mut std::process::Command, stdin: &[u8]) -> std::process::Child {
    let mut child = command.stdin(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child
}

/// `text` holds every one of `needles` (the failure shows `text`).
pub fn assert_says(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "{text}");
    }
}

/// `out` is a success that printed nothing, on stdout or stderr.
pub fn assert_quiet_success(out: &Output, what: &str) {
    assert!(out.status.success(), "{what}: {:?}", out.status);
    assert!(
        out.stdout.is_empty(),
        "{what} printed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        out.stderr.is_empty(),
        "{what} complained: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every file and dir below `dir`, a dir after what it holds.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            out.extend(files_under(&path));
        }
        out.push(path);
    }
    out
}

/// [`stdout_of`] parsed as JSON.
pub fn json_of(command: &mut Command) -> Value {
    serde_json::from_str(&stdout_of(command)).unwrap()
}

/// Every line of every ledger day file under `data_dir`, oldest day first, parsed.
pub fn read_ledger(data_dir: &Path) -> Vec<Value> {
    ledger_lines(data_dir)
        .iter()
        .map(|line| serde_json::from_str(line).expect("ledger lines are JSON"))
        .collect()
}

/// [`read_ledger`] passing over lines that are not JSON (a torn or corrupt line).
pub fn read_ledger_lenient(data_dir: &Path) -> Vec<Value> {
    ledger_lines(data_dir)
        .iter()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// The ledger day files under `data_dir`, oldest first.
pub fn day_files(data_dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(data_dir.join("ledger")) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    files
}

fn ledger_lines(data_dir: &Path) -> Vec<String> {
    day_files(data_dir)
        .iter()
        .flat_map(|file| {
            std::fs::read_to_string(file)
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}
