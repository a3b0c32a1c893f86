//! The real client's interactive UI in tmux: the status line shows `quota N% reserved`,
//! and the session's requests reach the ledger (main-loop requests as request records,
//! title generation through `cost-state` as side records).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use support::client::{BIN, Sandbox, bedrock_env, hooked_sandbox};
use support::endpoint::{Endpoint, LoggedRequest, throttle_once_script};

struct Tmux {
    name: String,
}

impl Tmux {
    fn capture(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn send(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.name])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Type `text`, then Enter 300 ms later.
    fn type_line(&self, text: &str) {
        self.send(&[text]);
        std::thread::sleep(Duration::from_millis(300));
        self.send(&["Enter"]);
    }

    /// Wait until the screen satisfies `pred`; the last screen either way.
    fn wait_for(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> (bool, String) {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.capture();
            if pred(&screen) {
                return (true, screen);
            }
            if Instant::now() > deadline {
                return (false, screen);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .status();
    }
}

/// The streaming requests `endpoint` received that offer tools (the main loop's) or, with
/// `tools` false, an empty tool list (title generation's).
fn streaming_with_tools(endpoint: &Endpoint, tools: bool) -> Vec<LoggedRequest> {
    endpoint
        .requests()
        .into_iter()
        .filter(|r| {
            r.streaming
                && r.body["tools"]
                    .as_array()
                    .is_some_and(|t| t.is_empty() != tools)
        })
        .collect()
}

fn reserved_percent(screen: &str) -> Option<u64> {
    let at = screen.find("% reserved")?;
    let digits: String = screen[..at]
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.chars().rev().collect::<String>().parse().ok()
}

/// The client and a sandbox with the hooks installed and the project trusted (no
/// onboarding or trust dialog at start-up); `None` (skipped) without a client or tmux.
fn interactive_sandbox() -> Option<(PathBuf, Sandbox)> {
    let (client, sandbox) = hooked_sandbox()?;
    if !support::client::have_tmux() {
        return None;
    }
    let trust = json!({
        "hasCompletedOnboarding": true,
        "theme": "dark",
        "projects": {sandbox.project().display().to_string(): {"hasTrustDialogAccepted": true}}
    });
    std::fs::write(sandbox.home().join(".claude.json"), trust.to_string()).unwrap();
    Some((client, sandbox))
}

/// The interactive client in the tmux session `bedrock-hook-e2e<tag>-<pid>` of `size`
/// (columns, rows), against
/// `endpoint`, with `env` (`KEY=value`) beside the hooks' environment; returns once tmux
/// has started, with the status line shown.
fn start_client(
    client: &Path,
    sandbox: &Sandbox,
    endpoint: &Endpoint,
    tag: &str,
    (columns, rows): (&str, &str),
    env: &[&str],
) -> (Tmux, String) {
    let tmux = Tmux {
        name: format!("bedrock-hook-e2e{tag}-{}", std::process::id()),
    };
    let mut command = Command::new("tmux");
    command
        .args([
            "new-session",
            "-d",
            "-s",
            &tmux.name,
            "-x",
            columns,
            "-y",
            rows,
            "-c",
        ])
        .arg(sandbox.project())
        .args(["env", "-i"])
        .arg(format!(
            "PATH={}",
            std::env::var("PATH").unwrap_or_default()
        ))
        .arg("TERM=xterm-256color")
        .arg("NO_COLOR=1");
    for (key, value) in bedrock_env(endpoint) {
        command.arg(format!("{key}={value}"));
    }
    command.args(env);
    for (key, value) in sandbox.hook_env() {
        command.arg(format!("{key}={value}"));
    }
    command.arg(client);
    assert!(command.status().unwrap().success(), "tmux could not start");
    let (started, screen) = tmux.wait_for(Duration::from_secs(30), |s| s.contains("% reserved"));
    assert!(started, "no status line at start-up:\n{screen}");
    (tmux, screen)
}

#[test]
fn status_line_and_ledger_in_an_interactive_session() {
    let Some((client, sandbox)) = interactive_sandbox() else {
        return;
    };
    let settings = sandbox.settings();
    assert_eq!(
        settings["statusLine"]["command"],
        format!("{BIN} statusline")
    );
    let endpoint = Endpoint::start_default();
    let (tmux, screen) = start_client(
        &client,
        &sandbox,
        &endpoint,
        "",
        ("160", "40"),
        &["BEDROCK_HOOK_TPD=50000"],
    );
    assert!(screen.contains("quota 0% reserved"), "{screen}");

    tmux.type_line("SCENARIO_TOOL go");
    let answered = endpoint.wait_for(Duration::from_secs(45), |_| {
        streaming_with_tools(&endpoint, true).len() >= 2
    });
    assert!(
        answered,
        "the prompt never reached the endpoint:\n{}",
        tmux.capture()
    );
    let (shown, screen) = tmux.wait_for(Duration::from_secs(20), |s| {
        s.contains("Done.") && reserved_percent(s).is_some_and(|p| p > 0)
    });
    assert!(
        shown,
        "status line never showed the turn's usage:\n{screen}"
    );

    tmux.type_line("/exit");
    let expected = streaming_with_tools(&endpoint, true);
    let records = sandbox.wait_for_requests(expected.len());
    for want in &expected {
        let record = records
            .iter()
            .find(|r| r["id"] == want.request_id.as_str())
            .unwrap_or_else(|| panic!("{} missing from {records:#?}", want.request_id));
        assert_eq!(record["max_tokens"].as_u64(), want.max_tokens);
    }
    assert_eq!(records.len(), expected.len(), "{records:#?}");

    // Title generation has no transcript entry: it arrives through cost-state at exit.
    let titles = streaming_with_tools(&endpoint, false).len() as u64;
    let side_input: u64 = sandbox
        .ledger()
        .iter()
        .filter(|r| r["kind"] == "side" && r["model_norm"] == "claude-sonnet-4-5")
        .map(|r| r["input"].as_u64().unwrap())
        .sum();
    assert_eq!(
        side_input,
        titles * 50,
        "title requests seen by the endpoint: {titles}"
    );
}

/// After a 429 the client shows only its own `API Error: ... (429)`: the status line says
/// which limit, the estimate at that moment and the one fix, and the next prompt shows
/// bedrock-hook's explanation (the client neither shows nor records one at StopFailure).
#[test]
fn a_throttle_is_explained_on_screen() {
    let Some((client, sandbox)) = interactive_sandbox() else {
        return;
    };
    // Only the first main-loop request is throttled.
    let endpoint = Endpoint::start(throttle_once_script());
    let (tmux, _) = start_client(
        &client,
        &sandbox,
        &endpoint,
        "-429",
        ("220", "50"),
        &[
            "ANTHROPIC_MODEL=us.anthropic.claude-opus-5-5",
            "BEDROCK_HOOK_TPD=10M",
        ],
    );

    tmux.type_line("SCENARIO_THROTTLE go");
    let (seen, screen) = tmux.wait_for(Duration::from_secs(45), |s| {
        s.contains("429 TPD") && s.contains("fix CLAUDE_CODE_MAX_OUTPUT_TOKENS=")
    });
    assert!(seen, "the status line never showed the throttle:\n{screen}");
    assert!(screen.contains("est. "), "{screen}");

    tmux.type_line("Say hello");
    let (told, screen) = tmux.wait_for(Duration::from_secs(45), |s| {
        let joined = s.split_whitespace().collect::<Vec<_>>().join(" ");
        joined.contains("Bedrock throttled this session's last turn at")
    });
    assert!(told, "the explanation never reached the screen:\n{screen}");
    tmux.type_line("/exit");
}
