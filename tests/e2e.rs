//! End to end with the real Claude Code client (`CLAUDE_BIN`) against the local Bedrock
//! endpoint: every model request the endpoint received must be in the ledger exactly once,
//! with the max_tokens it received, and nothing the user typed or a tool printed may be
//! stored.

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;

use serde_json::Value;
use support::client::{Sandbox, client_bin, expected_from};
use support::endpoint::Endpoint;

struct Run {
    sandbox: Sandbox,
    endpoint: Endpoint,
    output: std::process::Output,
    requests: Vec<Value>,
}

fn scenario(prompt: &str, env: &[(&str, &str)]) -> Option<Run> {
    scenario_with_args(prompt, env, &[])
}

/// `scenario`, with extra command-line arguments for the client (e.g. `--model`).
fn scenario_with_args(prompt: &str, env: &[(&str, &str)], args: &[&str]) -> Option<Run> {
    let client = client_bin()?;
    let sandbox = Sandbox::new();
    sandbox.install_hooks();
    let endpoint = Endpoint::start_default();
    let output = sandbox.run_client_with_args(&client, &endpoint, prompt, env, args);
    let expected = expected_from(&endpoint).len();
    let requests = sandbox.wait_for_requests(expected);
    Some(Run {
        sandbox,
        endpoint,
        output,
        requests,
    })
}

/// The built-in default max_tokens for a model id, as the guards forecast it.
fn table_default(model: &str) -> u64 {
    let name = bedrock_hook::quota::model_id::normalize(model, &BTreeMap::new());
    bedrock_hook::quota::burndown::default_max_tokens(&name, &BTreeMap::new())
}

/// One record per model request received: answered ones by request id with the same
/// max_tokens, throttled ones as `no-response` records.
fn assert_ledger_matches_endpoint(run: &Run) {
    let expected = expected_from(&run.endpoint);
    assert!(
        !expected.is_empty(),
        "the endpoint received no model request"
    );
    let by_id: BTreeMap<&str, &Value> = run
        .requests
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r))
        .collect();
    assert_eq!(
        by_id.len(),
        run.requests.len(),
        "duplicate ids in {:#?}",
        run.requests
    );
    let mut unanswered: Vec<&Value> = run
        .requests
        .iter()
        .filter(|r| r["outcome"] == "no-response")
        .collect();
    for want in &expected {
        if want["status"] == 200 {
            let id = want["request_id"].as_str().unwrap();
            let record = by_id
                .get(id)
                .unwrap_or_else(|| panic!("request {id} missing from {:#?}", run.requests));
            assert_eq!(record["max_tokens"], want["max_tokens"], "{record}");
            assert_eq!(record["max_tokens_source"], "api-request", "{record}");
            assert_eq!(record["outcome"], "ok", "{record}");
            let settled = record["input"].as_u64().unwrap()
                + record["cache_write"].as_u64().unwrap()
                + record["output"].as_u64().unwrap() * record["burndown"].as_f64().unwrap() as u64;
            assert_eq!(record["settled"].as_u64().unwrap(), settled, "{record}");
        } else {
            let at = unanswered
                .iter()
                .position(|r| r["max_tokens"] == want["max_tokens"])
                .unwrap_or_else(|| {
                    panic!("throttled request {want} missing from {:#?}", run.requests)
                });
            unanswered.remove(at);
        }
    }
    assert_eq!(
        run.requests.len(),
        expected.len(),
        "endpoint saw {expected:#?}\nledger has {:#?}",
        run.requests
    );
}

/// Nothing typed or printed ends up under the data dir; files 0600, dirs 0700.
fn assert_private(run: &Run, secrets: &[&str]) {
    for (path, bytes) in run.sandbox.data_files() {
        let text = String::from_utf8_lossy(&bytes);
        for secret in secrets {
            assert!(
                !text.contains(secret),
                "{} contains {secret:?}",
                path.display()
            );
        }
        let mode = std::fs::metadata(&path).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
        let dir_mode = std::fs::metadata(path.parent().unwrap()).unwrap().mode() & 0o777;
        assert_eq!(dir_mode, 0o700, "{}", path.parent().unwrap().display());
    }
}

#[test]
fn plain_prompt() {
    let Some(run) = scenario("Say hello PLAIN_MARKER", &[]) else {
        return;
    };
    assert!(
        run.output.status.success(),
        "{}",
        String::from_utf8_lossy(&run.output.stderr)
    );
    assert_ledger_matches_endpoint(&run);
    assert_eq!(run.requests[0]["max_tokens"], 128000);
    assert_private(&run, &["PLAIN_MARKER", "Hello from the fake endpoint"]);
}

#[test]
fn tool_use() {
    let Some(run) = scenario("SCENARIO_TOOL go", &[]) else {
        return;
    };
    assert!(
        run.output.status.success(),
        "{}",
        String::from_utf8_lossy(&run.output.stderr)
    );
    assert_ledger_matches_endpoint(&run);
    assert_eq!(run.requests.len(), 2);
    assert_private(&run, &["SCENARIO_TOOL", "hello-from-fake", "echo "]);
}

#[test]
fn split_response_counts_once() {
    let Some(run) = scenario("SCENARIO_SPLIT go", &[]) else {
        return;
    };
    assert_ledger_matches_endpoint(&run);
    assert_eq!(run.requests[0]["output"], 91);
}

#[test]
fn subagent() {
    let Some(run) = scenario("SCENARIO_AGENT go", &[]) else {
        return;
    };
    assert!(
        run.output.status.success(),
        "{}",
        String::from_utf8_lossy(&run.output.stderr)
    );
    assert_ledger_matches_endpoint(&run);
    let by_agent = run
        .requests
        .iter()
        .filter(|r| r["agent"].is_string())
        .count();
    assert!(
        by_agent >= 2,
        "subagent requests carry their agent id: {:#?}",
        run.requests
    );
    assert_private(&run, &["SUBTASK_X", "hello-from-fake"]);
}

#[test]
fn throttle_with_max_output_tokens() {
    let Some(run) = scenario(
        "SCENARIO_THROTTLE go",
        &[("CLAUDE_CODE_MAX_OUTPUT_TOKENS", "4096")],
    ) else {
        return;
    };
    assert!(!run.output.status.success());
    assert_ledger_matches_endpoint(&run);
    assert_eq!(run.requests[0]["outcome"], "no-response");
    assert_eq!(run.requests[0]["max_tokens"], 4096);
}

#[test]
fn throttle_with_retries_records_every_attempt() {
    let Some(run) = scenario("SCENARIO_THROTTLE go", &[("CLAUDE_CODE_MAX_RETRIES", "2")]) else {
        return;
    };
    assert_eq!(expected_from(&run.endpoint).len(), 3);
    assert_ledger_matches_endpoint(&run);
    // The throttle record names the last refused call by its x-amzn-requestid, which the
    // client's error text does not show but its transcript does. In `-p` mode the client
    // does not always run StopFailure's hook before it exits (about one run in three
    // here): then there is no throttle record to check.
    let last_refused = run
        .endpoint
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.status == 429)
        .expect("a 429");
    let throttles: Vec<Value> = run
        .sandbox
        .ledger()
        .into_iter()
        .filter(|r| r["kind"] == "throttle")
        .collect();
    assert!(throttles.len() <= 1, "{throttles:#?}");
    for throttle in &throttles {
        assert_eq!(
            throttle["throttle"]["request_id"], last_refused.request_id,
            "{throttle:#?}"
        );
    }
}

#[test]
fn block_mode_denies_the_subagent_before_it_sends_anything() {
    let Some(run) = scenario(
        "SCENARIO_AGENT go",
        &[
            ("BEDROCK_HOOK_MODE", "block"),
            ("BEDROCK_HOOK_TPM", "2M"),
            ("ANTHROPIC_MODEL", "us.anthropic.claude-opus-5-5"),
        ],
    ) else {
        return;
    };
    let received = run.endpoint.requests();
    assert!(
        received
            .iter()
            .all(|r| !r.last_user_text.contains("SUBTASK_X")),
        "the subagent reached the endpoint: {:#?}",
        received
            .iter()
            .map(|r| &r.last_user_text)
            .collect::<Vec<_>>()
    );
    let told = received.iter().any(|r| {
        // What the client labels "hook error" says first that it is not one.
        r.last_user_text.contains(
            "PreToolUse:Agent hook error: bedrock-hook held back this subagent (not an error): \
             its first request would not fit the TPM",
        )
    });
    assert!(
        told,
        "the model was not told why: {:#?}",
        received
            .iter()
            .map(|r| &r.last_user_text)
            .collect::<Vec<_>>()
    );
    assert_ledger_matches_endpoint(&run);
    assert!(run.requests.iter().all(|r| r["agent"].is_null()));
}

#[test]
fn warn_mode_warns_and_blocks_nothing() {
    let Some(run) = scenario(
        "SCENARIO_AGENT go",
        &[("BEDROCK_HOOK_MODE", "warn"), ("BEDROCK_HOOK_TPM", "2M")],
    ) else {
        return;
    };
    assert!(
        run.output.status.success(),
        "{}",
        String::from_utf8_lossy(&run.output.stderr)
    );
    let received = run.endpoint.requests();
    assert!(
        received
            .iter()
            .any(|r| r.last_user_text.contains("SUBTASK_X")),
        "the subagent was held back"
    );
    assert_ledger_matches_endpoint(&run);
    // What the user was shown: the client records hook notices in the transcript.
    let shown = run.sandbox.transcript_lines().into_iter().any(|line| {
        line.contains(r#""type":"hook_system_message""#)
            && line.contains("bedrock-hook: this subagent")
            && line.contains("Fix: set CLAUDE_CODE_MAX_OUTPUT_TOKENS")
    });
    assert!(shown, "no bedrock-hook notice reached the user");
}

/// The built-in default max_tokens table matches what the client sends: 32,000 for
/// Sonnet 4.5 (chosen with `--model`), 128,000 for Opus 5.5 (the client's default model).
#[test]
fn default_max_tokens_table_matches_the_client() {
    let sonnet = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    let Some(run) = scenario_with_args("Say hello", &[], &["--model", sonnet]) else {
        return;
    };
    assert_ledger_matches_endpoint(&run);
    let sent = expected_from(&run.endpoint);
    assert_eq!(sent[0]["max_tokens"], 32_000, "{sent:#?}");
    assert_eq!(sent[0]["max_tokens"], table_default(sonnet), "{sent:#?}");
    let Some(run) = scenario("Say hello", &[]) else {
        return;
    };
    let sent = expected_from(&run.endpoint);
    let model = run.endpoint.streaming_requests()[0].model.clone().unwrap();
    assert_eq!(
        sent[0]["max_tokens"],
        table_default(&model),
        "{model}: {sent:#?}"
    );
}

/// `--model` reaches no hook input: without a status line, a request recorded or
/// `ANTHROPIC_MODEL`, block mode does not know the model and warns instead of blocking
/// on the client default's forecast (Opus 5.5 at 128k reserves 1.28M; the Sonnet 4.5
/// request the client really sends reserves well under the 1M TPM).
#[test]
fn block_mode_warns_when_the_model_is_unknown() {
    let sonnet = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    let Some(run) = scenario_with_args(
        "Say hello",
        &[("BEDROCK_HOOK_MODE", "block"), ("BEDROCK_HOOK_TPM", "1M")],
        &["--model", sonnet],
    ) else {
        return;
    };
    let sent = expected_from(&run.endpoint);
    assert!(
        !sent.is_empty(),
        "blocked although the model is unknown: {}",
        String::from_utf8_lossy(&run.output.stdout)
    );
    assert_ledger_matches_endpoint(&run);
    assert_eq!(run.requests[0]["model_norm"], "claude-sonnet-4-5");
}

/// After a session that used the 128k default, a new session with
/// `CLAUDE_CODE_MAX_OUTPUT_TOKENS=4096` (the guard's own advice) and a 200k TPM is not
/// blocked: its own settings win over the other session's history.
#[test]
fn a_sessions_own_max_output_tokens_wins_over_other_sessions_history() {
    let Some(client) = client_bin() else {
        return;
    };
    let sandbox = Sandbox::new();
    sandbox.install_hooks();
    let endpoint = Endpoint::start_default();
    let first = sandbox.run_client(&client, &endpoint, "Say hello", &[]);
    assert!(first.status.success());
    let before = expected_from(&endpoint);
    assert_eq!(before[0]["max_tokens"], 128000);
    sandbox.wait_for_requests(before.len());
    let second = sandbox.run_client(
        &client,
        &endpoint,
        "Say hello again",
        &[
            ("BEDROCK_HOOK_MODE", "block"),
            ("BEDROCK_HOOK_TPM", "200k"),
            ("ANTHROPIC_MODEL", "us.anthropic.claude-opus-5-5"),
            ("CLAUDE_CODE_MAX_OUTPUT_TOKENS", "4096"),
        ],
    );
    let after = expected_from(&endpoint);
    assert!(
        after.len() > before.len(),
        "the new session was blocked: {}",
        String::from_utf8_lossy(&second.stdout)
    );
    assert_eq!(after[before.len()]["max_tokens"], 4096);
}

/// The client neither shows nor records what a hook returns at `StopFailure`: the throttle's
/// explanation is given at the session's next start or prompt instead, once, and the client
/// records it as a hook notice in the transcript.
#[test]
fn the_throttle_explanation_reaches_the_next_prompt() {
    let Some(client) = client_bin() else {
        return;
    };
    let sandbox = Sandbox::new();
    sandbox.install_hooks();
    // The resumed session still carries the throttled prompt: only the first turn's
    // request is throttled.
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
    let env = [
        ("BEDROCK_HOOK_TPD", "10M"),
        ("ANTHROPIC_MODEL", "us.anthropic.claude-opus-5-5"),
    ];
    let failed = sandbox.run_client(&client, &endpoint, "SCENARIO_THROTTLE go", &env);
    assert!(!failed.status.success());
    let throttle = {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let found = sandbox
                .ledger()
                .into_iter()
                .find(|r| r["kind"] == "throttle");
            if found.is_some() || std::time::Instant::now() > deadline {
                break found;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    .expect("no throttle recorded");
    let session = throttle["session"].as_str().unwrap().to_string();
    let notices = |sandbox: &Sandbox| {
        sandbox
            .transcript_lines()
            .into_iter()
            .filter(|line| {
                line.contains(r#""type":"hook_system_message""#)
                    && line.contains("Bedrock throttled this session's last turn at")
            })
            .collect::<Vec<_>>()
    };
    assert!(
        notices(&sandbox).is_empty(),
        "shown before the next prompt?"
    );
    let again = sandbox.run_client_with_args(
        &client,
        &endpoint,
        "Say hello",
        &env,
        &["--resume", &session],
    );
    assert!(
        again.status.success(),
        "{}{}",
        String::from_utf8_lossy(&again.stdout),
        String::from_utf8_lossy(&again.stderr)
    );
    let shown = notices(&sandbox);
    assert_eq!(shown.len(), 1, "{shown:#?}");
    assert!(
        shown[0].contains("(429: too many tokens per day)")
            && shown[0].contains("At that moment bedrock-hook estimated")
            && shown[0].contains("of the 10M TPD used")
            && shown[0].contains("Fix: `bedrock-hook quota calibrate`"),
        "{}",
        shown[0]
    );
    // Given once: a third prompt in the same session is not told again.
    sandbox.run_client_with_args(
        &client,
        &endpoint,
        "Say hello",
        &env,
        &["--resume", &session],
    );
    assert_eq!(notices(&sandbox).len(), 1);
}

/// A bad value only ever reached stderr, which the client hides: it is said once at the
/// session's start, and the client records it.
#[test]
fn a_config_error_is_shown_at_the_session_start() {
    let Some(run) = scenario("Say hello", &[("BEDROCK_HOOK_TPD", "abc")]) else {
        return;
    };
    assert!(run.output.status.success());
    let shown: Vec<String> = run
        .sandbox
        .transcript_lines()
        .into_iter()
        .filter(|line| {
            line.contains(r#""type":"hook_system_message""#)
                && line.contains("bedrock-hook: config error: BEDROCK_HOOK_TPD")
        })
        .collect();
    assert_eq!(shown.len(), 1, "{shown:#?}");
    assert!(shown[0].contains("`bedrock-hook config`"), "{}", shown[0]);
    assert_ledger_matches_endpoint(&run);
}
