//! Runs the real Claude Code client against the local Bedrock endpoint, with bedrock-hook
//! wired in as its hook command, in a throwaway HOME.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::endpoint::Endpoint;
use super::home::Home;

// e2e names the binary through here.
#[allow(unused_imports)]
pub use super::home::BIN;

/// The client binary: `CLAUDE_BIN`. In CI its absence is a failure, not a skip.
pub fn client_bin() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("CLAUDE_BIN").filter(|b| !b.is_empty()) {
        let bin = PathBuf::from(bin);
        assert!(bin.exists(), "CLAUDE_BIN={} does not exist", bin.display());
        return Some(bin);
    }
    skipped("CLAUDE_BIN is not set (.ci/run installs the client and exports it)");
    None
}

/// Whether `tmux` can be run; in CI its absence is a failure, not a skip.
pub fn have_tmux() -> bool {
    let found = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|out| out.status.success());
    if !found {
        skipped("tmux is not installed (.ci/run installs it)");
    }
    found
}

pub use super::skip::skipped;

/// The client and a [`Sandbox`] with bedrock-hook's hooks installed, as every real-client
/// test starts; `None` (skipped) without a client.
pub fn hooked_sandbox() -> Option<(PathBuf, Sandbox)> {
    let client = client_bin()?;
    let sandbox = Sandbox::new();
    sandbox.install_hooks();
    Some((client, sandbox))
}

/// `output` is a success; the failure shows its stderr.
pub fn assert_succeeded(output: &Output) {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// What the client needs to talk to `endpoint` as its Bedrock, beside the hooks'
/// environment: the one account of it for `-p` runs and for the interactive client.
pub fn bedrock_env(endpoint: &Endpoint) -> Vec<(String, String)> {
    [
        ("CLAUDE_CODE_USE_BEDROCK", "1".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("ANTHROPIC_BEDROCK_BASE_URL", endpoint.url()),
        ("CLAUDE_CODE_SKIP_BEDROCK_AUTH", "1".to_string()),
        ("CLAUDE_CODE_MAX_RETRIES", "0".to_string()),
        ("DISABLE_AUTOUPDATER", "1".to_string()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_string(), value))
    .collect()
}

/// The real client's machine: the harness's [`Home`] with `~/.claude` made, as the
/// client finds it after its first run.
pub struct Sandbox(Home);

impl std::ops::Deref for Sandbox {
    type Target = Home;
    fn deref(&self) -> &Home {
        &self.0
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let home = Home::new();
        std::fs::create_dir_all(home.claude_dir()).unwrap();
        Sandbox(home)
    }
}

impl Home {
    /// The environment bedrock-hook sees (the client passes its env on to hooks).
    pub fn hook_env(&self) -> Vec<(String, String)> {
        vec![
            ("HOME".into(), self.home().display().to_string()),
            (
                "BEDROCK_HOOK_DATA_DIR".into(),
                self.data_dir().display().to_string(),
            ),
            (
                "BEDROCK_HOOK_CONFIG".into(),
                self.config_file().display().to_string(),
            ),
        ]
    }

    /// A command that runs as the client's hooks do: their environment, and the machine's
    /// real clock even under `.ci/clock-ahead` (see `run_client_with_args`), so that what it
    /// reads (the status line, say) agrees with what the hooks recorded on what day it is.
    pub fn client_side(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .current_dir(self.project())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(self.hook_env());
        command
    }

    /// `bedrock-hook statusline` run as the client runs it ([`Home::client_side`]) on
    /// `input`, without colour, with `env` added.
    pub fn client_statusline<K, V>(
        &self,
        input: &str,
        env: impl IntoIterator<Item = (K, V)>,
    ) -> Output
    where
        K: AsRef<std::ffi::OsStr>,
        V: AsRef<std::ffi::OsStr>,
    {
        let mut command = self.client_side(BIN);
        command
            .arg("statusline")
            .envs(env)
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::piped());
        super::home::spawn_fed(&mut command, input.as_bytes())
            .wait_with_output()
            .unwrap()
    }

    /// Wire the hooks in with our own `install`.
    pub fn install_hooks(&self) {
        super::home::stdout_of(&mut self.command(&["install"]));
    }

    pub fn settings(&self) -> Value {
        let text = std::fs::read_to_string(self.home().join(".claude/settings.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// `claude -p <prompt>` against `endpoint`; waits for bedrock-hook's catch-up to settle.
    pub fn run_client(
        &self,
        client: &Path,
        endpoint: &Endpoint,
        prompt: &str,
        env: &[(&str, &str)],
    ) -> Output {
        self.run_client_with_args(client, endpoint, prompt, env, &[])
    }

    /// [`Sandbox::run_client`] with extra client arguments (e.g. `--model`).
    pub fn run_client_with_args(
        &self,
        client: &Path,
        endpoint: &Endpoint,
        prompt: &str,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Output {
        let mut command = Command::new("timeout");
        command
            .arg("90")
            .arg(client)
            .args(["-p", prompt, "--allowedTools", "Bash Agent"])
            .args(args)
            .current_dir(self.project())
            // The real clock, also under `.ci/clock-ahead`: libfaketime fails on the client's
            // `env node` exec chain (its semaphore for the pid exists already), so the client
            // and its hooks keep the machine's time. See [`Home::client_side`].
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(self.hook_env())
            .envs(bedrock_env(endpoint));
        for (key, value) in env {
            command.env(key, value);
        }
        command.output().unwrap()
    }

    pub fn requests(&self) -> Vec<Value> {
        self.ledger()
            .into_iter()
            .filter(|r| r["kind"] == "request")
            .collect()
    }

    /// Wait until the ledger holds `count` request records (the catch-up runs after the
    /// client exits), then a little longer to catch any surplus.
    pub fn wait_for_requests(&self, count: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline && self.requests().len() < count {
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(3_500));
        self.requests()
    }

    /// Every line of every transcript the client wrote.
    pub fn transcript_lines(&self) -> Vec<String> {
        let mut files = Vec::new();
        walk(&self.home().join(".claude/projects"), &mut files);
        files
            .iter()
            .filter(|(path, _)| path.extension().is_some_and(|e| e == "jsonl"))
            .flat_map(|(_, bytes)| {
                String::from_utf8_lossy(bytes)
                    .lines()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Every file under the data dir, with its bytes.
    pub fn data_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        walk(&self.data_dir(), &mut out);
        out
    }
}

/// The request the ledger must hold for each model request the endpoint received.
pub fn expected_from(endpoint: &Endpoint) -> Vec<Value> {
    endpoint
        .requests()
        .into_iter()
        .filter(|r| r.model.is_some() && r.streaming)
        .map(
            |r| json!({"status": r.status, "request_id": r.request_id, "max_tokens": r.max_tokens}),
        )
        .collect()
}

/// Every file below `dir`, with its bytes.
fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
}

/// The machine's real time, as the client and its hooks see it, also when this test runs
/// with the clock moved ahead (`date` started without the moved clock's environment).
pub fn real_now() -> chrono::DateTime<chrono::Utc> {
    let out = Command::new("date")
        .arg("-u")
        .arg("+%s%N")
        .env_clear()
        .output()
        .expect("date");
    let nanos: i64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    chrono::DateTime::from_timestamp_nanos(nanos)
}
