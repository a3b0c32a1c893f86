//! The real client's interactive UI in tmux: the status line shows `quota N% reserved`,
//! and the session's requests reach the ledger (main-loop requests as request records,
//! title generation through `cost-state` as side records).

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use support::client::{BIN, Sandbox, client_bin};
use support::endpoint::Endpoint;

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

fn reserved_percent(screen: &str) -> Option<u64> {
    let at = screen.find("% reserved")?;
    let digits: String = screen[..at]
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.chars().rev().collect::<String>().parse().ok()
}

#[test]
fn status_line_and_ledger_in_an_interactive_session() {
    let Some(client) = client_bin() else { return };
    if !support::client::have_tmux() {
        return;
    }
    let sandbox = Sandbox::new();
    sandbox.install_hooks();
    let settings = sandbox.settings();
    assert_eq!(
        settings["statusLine"]["command"],
        format!("{BIN} statusline")
    );
    let trust = json!({
        "hasCompletedOnboarding": true,
        "theme": "dark",
        "projects": {sandbox.project().display().to_string(): {"hasTrustDialogAccepted": true}}
    });
    std::fs::write(sandbox.home().join(".claude.json"), trust.to_string()).unwrap();
    let endpoint = Endpoint::start_default();
    let tmux = Tmux {
        name: format!("bedrock-hook-e2e-{}", std::process::id()),
    };
    let mut command = Command::new("tmux");
    command
        .args([
            "new-session",
            "-d",
            "-s",
            &tmux.name,
            "-x",
            "160",
            "-y",
            "40",
            "-c",
        ])
        .arg(sandbox.project())
        .args(["env", "-i"])
        .arg(format!(
            "PATH={}",
            std::env::var("PATH").unwrap_or_default()
        ))
        .arg("TERM=xterm-256color")
        .arg("NO_COLOR=1")
        .arg("CLAUDE_CODE_USE_BEDROCK=1")
        .arg("AWS_REGION=us-east-1")
        .arg(format!("ANTHROPIC_BEDROCK_BASE_URL={}", endpoint.url()))
        .arg("CLAUDE_CODE_SKIP_BEDROCK_AUTH=1")
        .arg("CLAUDE_CODE_MAX_RETRIES=0")
        .arg("DISABLE_AUTOUPDATER=1")
        .arg("BEDROCK_HOOK_TPD=50000");
    for (key, value) in sandbox.hook_env() {
        command.arg(format!("{key}={value}"));
    }
    command.arg(&client);
    assert!(command.status().unwrap().success(), "tmux could not start");

    let (started, screen) = tmux.wait_for(Duration::from_secs(30), |s| s.contains("% reserved"));
    assert!(started, "no status line at start-up:\n{screen}");
    assert!(screen.contains("quota 0% reserved"), "{screen}");

    tmux.send(&["SCENARIO_TOOL go"]);
    std::thread::sleep(Duration::from_millis(300));
    tmux.send(&["Enter"]);
    let main_loop = |e: &Endpoint| {
        e.requests()
            .into_iter()
            .filter(|r| r.streaming && r.body["tools"].as_array().is_some_and(|t| !t.is_empty()))
            .count()
    };
    let answered = endpoint.wait_for(Duration::from_secs(45), |_| main_loop(&endpoint) >= 2);
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

    tmux.send(&["/exit"]);
    std::thread::sleep(Duration::from_millis(300));
    tmux.send(&["Enter"]);
    let expected: Vec<_> = endpoint
        .requests()
        .into_iter()
        .filter(|r| r.streaming && r.body["tools"].as_array().is_some_and(|t| !t.is_empty()))
        .collect();
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
    let titles = endpoint
        .requests()
        .into_iter()
        .filter(|r| r.streaming && r.body["tools"].as_array().is_some_and(|t| t.is_empty()))
        .count() as u64;
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
    let Some(client) = client_bin() else { return };
    if !support::client::have_tmux() {
        return;
    }
    let sandbox = Sandbox::new();
    sandbox.install_hooks();
    let trust = json!({
        "hasCompletedOnboarding": true,
        "theme": "dark",
        "projects": {sandbox.project().display().to_string(): {"hasTrustDialogAccepted": true}}
    });
    std::fs::write(sandbox.home().join(".claude.json"), trust.to_string()).unwrap();
    // Only the first main-loop request is throttled.
    let throttled = std::sync::atomic::AtomicBool::new(false);
    let endpoint = Endpoint::start(move |req| {
        let main_loop = req.streaming && !req.tool_names().is_empty();
        if main_loop
            && req.last_user_text.contains("SCENARIO_THROTTLE")
            && !throttled.swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            return support::endpoint::Reply::throttle();
        }
        let mut req = req.clone();
        req.last_user_text = req.last_user_text.replace("SCENARIO_THROTTLE", "");
        support::endpoint::default_script(&req)
    });
    let tmux = Tmux {
        name: format!("bedrock-hook-e2e-429-{}", std::process::id()),
    };
    let mut command = Command::new("tmux");
    command
        .args([
            "new-session",
            "-d",
            "-s",
            &tmux.name,
            "-x",
            "220",
            "-y",
            "50",
            "-c",
        ])
        .arg(sandbox.project())
        .args(["env", "-i"])
        .arg(format!(
            "PATH={}",
            std::env::var("PATH").unwrap_or_default()
        ))
        .arg("TERM=xterm-256color")
        .arg("NO_COLOR=1")
        .arg("CLAUDE_CODE_USE_BEDROCK=1")
        .arg("AWS_REGION=us-east-1")
        .arg(format!("ANTHROPIC_BEDROCK_BASE_URL={}", endpoint.url()))
        .arg("CLAUDE_CODE_SKIP_BEDROCK_AUTH=1")
        .arg("CLAUDE_CODE_MAX_RETRIES=0")
        .arg("DISABLE_AUTOUPDATER=1")
        .arg("ANTHROPIC_MODEL=us.anthropic.claude-opus-5-5")
        .arg("BEDROCK_HOOK_TPD=10M");
    for (key, value) in sandbox.hook_env() {
        command.arg(format!("{key}={value}"));
    }
    command.arg(&client);
    assert!(command.status().unwrap().success(), "tmux could not start");
    let (started, screen) = tmux.wait_for(Duration::from_secs(30), |s| s.contains("% reserved"));
    assert!(started, "no status line at start-up:\n{screen}");

    tmux.send(&["SCENARIO_THROTTLE go"]);
    std::thread::sleep(Duration::from_millis(300));
    tmux.send(&["Enter"]);
    let (seen, screen) = tmux.wait_for(Duration::from_secs(45), |s| {
        s.contains("429 TPD") && s.contains("fix CLAUDE_CODE_MAX_OUTPUT_TOKENS=")
    });
    assert!(seen, "the status line never showed the throttle:\n{screen}");
    assert!(screen.contains("est. "), "{screen}");

    tmux.send(&["Say hello"]);
    std::thread::sleep(Duration::from_millis(300));
    tmux.send(&["Enter"]);
    let (told, screen) = tmux.wait_for(Duration::from_secs(45), |s| {
        let joined = s.split_whitespace().collect::<Vec<_>>().join(" ");
        joined.contains("Bedrock throttled this session's last turn at")
    });
    assert!(told, "the explanation never reached the screen:\n{screen}");
    tmux.send(&["/exit"]);
    std::thread::sleep(Duration::from_millis(300));
    tmux.send(&["Enter"]);
}
