//! End to end with the real Claude Code client (`CLAUDE_BIN`) against the local Bedrock
//! endpoint: every model request the endpoint received must be in the ledger exactly once,
//! with the max_tokens it received, and nothing the user typed or a tool printed may be
//! stored.

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::client::{Sandbox, assert_succeeded, expected_from, hooked_sandbox};
use support::endpoint::{Endpoint, Reply, Usage, default_script, throttle_once_script};

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
    let (client, sandbox) = hooked_sandbox()?;
    let endpoint = Endpoint::start_default();
    let output = sandbox.run_client_with_args(&client, &endpoint, prompt, env, args);
    Some(Run::collect(sandbox, endpoint, output))
}

impl Run {
    /// The run once the ledger holds a request record for each model request the endpoint
    /// received.
    fn collect(sandbox: Sandbox, endpoint: Endpoint, output: std::process::Output) -> Run {
        let expected = expected_from(&endpoint).len();
        let requests = sandbox.wait_for_requests(expected);
        Run {
            sandbox,
            endpoint,
            output,
            requests,
        }
    }
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

/// The hook notices the client recorded in its transcripts (what the user was shown) that
/// contain every one of `needles`.
fn hook_notices(sandbox: &Sandbox, needles: &[&str]) -> Vec<String> {
    sandbox
        .transcript_lines()
        .into_iter()
        .filter(|line| {
            line.contains(r#""type":"hook_system_message""#)
                && needles.iter().all(|needle| line.contains(needle))
        })
        .collect()
}

/// The client succeeded and the ledger matches what the endpoint received.
fn assert_answered_and_recorded(run: &Run) {
    assert_succeeded(&run.output);
    assert_ledger_matches_endpoint(run);
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
    assert_answered_and_recorded(&run);
    assert_eq!(run.requests[0]["max_tokens"], 128000);
    assert_private(&run, &["PLAIN_MARKER", "Hello from the fake endpoint"]);
}

#[test]
fn tool_use() {
    let Some(run) = scenario("SCENARIO_TOOL go", &[]) else {
        return;
    };
    assert_answered_and_recorded(&run);
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
    assert_answered_and_recorded(&run);
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
    // Three 429s: the two retried (from the transcript's `api_error` entries) and the one
    // the client gave up on, recorded by StopFailure's hook with its estimates or, when the
    // client exits without running that hook (about one `-p` run in three), from the
    // client's own error message in the transcript. Either way once.
    assert_throttles_counted(&run.sandbox, 3);
    // That last record is named by the refused call's x-amzn-requestid, which the client's
    // error text does not show but its transcript does.
    let last_refused = run
        .endpoint
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.status == 429)
        .expect("a 429");
    let request_id = last_refused.request_id.as_str();
    let last: Vec<Value> = run
        .sandbox
        .ledger()
        .into_iter()
        .filter(|r| {
            r["kind"] == "throttle"
                && r["id"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!(":429:{request_id}"))
        })
        .collect();
    assert_eq!(last.len(), 1, "{:#?}", run.sandbox.ledger());
    if last[0]["throttle"].is_object() {
        assert_eq!(last[0]["throttle"]["request_id"], request_id, "{last:#?}");
    }
}

/// Every throttle is in the ledger once, in the live state's count and on the status line.
fn assert_throttles_counted(sandbox: &Sandbox, want: u64) {
    // The last one comes from the detached catch-up, which a loaded machine delays.
    let deadline = Instant::now() + Duration::from_secs(30);
    let count = || {
        sandbox
            .ledger()
            .iter()
            .filter(|r| r["kind"] == "throttle")
            .count() as u64
    };
    while count() < want && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(count(), want, "{:#?}", sandbox.ledger());
    let text = std::fs::read_to_string(sandbox.data_dir().join("state.json")).unwrap();
    let state: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(state["throttles"], want, "live state");
    let session = sandbox.ledger()[0]["session"].as_str().unwrap().to_string();
    let status = statusline(sandbox, &session);
    assert!(
        status.contains(&format!("{want} throttled")),
        "status line: {status}"
    );
}

/// Two 429s the client retries, then an answer: both throttles count, although no turn
/// failed (no StopFailure).
#[test]
fn retried_throttles_count_when_the_retry_succeeds() {
    let Some((client, sandbox)) = hooked_sandbox() else {
        return;
    };
    let refused = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = Arc::clone(&refused);
    let endpoint = Endpoint::start(move |req| {
        if req.streaming && !req.tool_names().is_empty() && count.fetch_add(1, Ordering::SeqCst) < 2
        {
            return Reply::throttle();
        }
        default_script(req)
    });
    let output = sandbox.run_client(
        &client,
        &endpoint,
        "Say hello",
        &[("CLAUDE_CODE_MAX_RETRIES", "3")],
    );
    assert_succeeded(&output);
    let sent = expected_from(&endpoint);
    assert_eq!(sent.len(), 3, "{sent:#?}");
    let run = Run::collect(sandbox, endpoint, output);
    assert_ledger_matches_endpoint(&run);
    assert_throttles_counted(&run.sandbox, 2);
}

/// The spawning loop's model is known at its PreToolUse without being named anywhere
/// (no status line in `-p`, no `ANTHROPIC_MODEL`, and the first request's entries reach the
/// transcript only after that hook has run): SessionStart read the client's command line
/// and settings, which name none, so the client's default applies. Block mode denies the
/// Opus 5.5 subagent (1.29M, and the loop continues with 1.29M) in a 2M TPM.
#[test]
fn block_mode_denies_the_subagent_before_it_sends_anything() {
    let Some(run) = scenario(
        "SCENARIO_AGENT go",
        &[("BEDROCK_HOOK_MODE", "block"), ("BEDROCK_HOOK_TPM", "2M")],
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
    assert_succeeded(&run.output);
    let received = run.endpoint.requests();
    assert!(
        received
            .iter()
            .any(|r| r.last_user_text.contains("SUBTASK_X")),
        "the subagent was held back"
    );
    assert_ledger_matches_endpoint(&run);
    // What the user was shown: the client records hook notices in the transcript.
    let shown = !hook_notices(
        &run.sandbox,
        &[
            "bedrock-hook: this subagent",
            "Fix: set CLAUDE_CODE_MAX_OUTPUT_TOKENS",
        ],
    )
    .is_empty();
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

/// `--model` reaches no hook input, but SessionStart reads it from the client's command
/// line: without a status line, a request recorded or `ANTHROPIC_MODEL`, block mode
/// forecasts the Sonnet 4.5 request the client really sends (well under the 1M TPM), not
/// the client default (Opus 5.5 at 128k reserves 1.28M), and neither blocks nor warns.
#[test]
fn block_mode_forecasts_the_model_given_with_dash_dash_model() {
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
        "blocked: {}",
        String::from_utf8_lossy(&run.output.stdout)
    );
    assert_ledger_matches_endpoint(&run);
    assert_eq!(run.requests[0]["model_norm"], "claude-sonnet-4-5");
    let notices = hook_notices(&run.sandbox, &[]);
    assert!(
        notices.iter().all(|n| !n.contains("bedrock-hook")),
        "warned although the request fits: {notices:#?}"
    );
}

/// After a session that used the 128k default, a new session with
/// `CLAUDE_CODE_MAX_OUTPUT_TOKENS=4096` (the guard's own advice) and a 200k TPM is not
/// blocked: its own settings win over the other session's history.
#[test]
fn a_sessions_own_max_output_tokens_wins_over_other_sessions_history() {
    let Some((client, sandbox)) = hooked_sandbox() else {
        return;
    };
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

/// What the scripted endpoint answers a compaction request with: a summary in the tags the
/// client wants (without them it asks again), after `COMPACT_DELAY`.
const COMPACT_USAGE: Usage = Usage::new(2100, 150, 3900, 23);
const COMPACT_DELAY: Duration = Duration::from_secs(3);

fn is_compaction(req: &support::endpoint::Request) -> bool {
    req.last_user_text
        .contains("Your task is to create a detailed summary")
}

/// Wait up to a minute for the endpoint to set `flag`; `what` is the failure if it does not.
fn wait_until_set(flag: &AtomicBool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !flag.load(Ordering::SeqCst) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(flag.load(Ordering::SeqCst), "{what}");
}

/// The live state's in-flight entries, by key.
fn inflight(sandbox: &Sandbox) -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(sandbox.data_dir().join("state.json")).unwrap_or_default();
    let state: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    state["inflight"].as_object().cloned().unwrap_or_default()
}

/// `/compact` sends a streaming request at the session's max_tokens that leaves no
/// `api-request` or `assistant` entry. While it runs it is in flight (the status line
/// counts its reservation); once the client writes its totals it is one request record at
/// its own time with the max_tokens it was sent, and its tokens are not a side record too.
/// The `SubagentStop` the client fires for it (empty `agent_type`, a transcript that does
/// not exist) leaves nothing behind.
#[test]
fn compaction_is_in_flight_while_it_runs_then_one_request() {
    let Some((client, sandbox)) = hooked_sandbox() else {
        return;
    };
    let arrived = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&arrived);
    let endpoint = Endpoint::start(move |req| {
        if is_compaction(req) {
            seen.store(true, Ordering::SeqCst);
            return Reply::text(
                "<analysis>a</analysis>\n<summary>1. Primary Request: say hello</summary>",
            )
            .with_usage(COMPACT_USAGE)
            .delayed(COMPACT_DELAY);
        }
        default_script(req)
    });
    let first = sandbox.run_client(&client, &endpoint, "Say hello", &[]);
    assert!(first.status.success());
    sandbox.wait_for_requests(1);
    let (second, during, status) = std::thread::scope(|scope| {
        let run = scope.spawn(|| {
            sandbox.run_client_with_args(&client, &endpoint, "/compact", &[], &["--continue"])
        });
        wait_until_set(&arrived, "no compaction request arrived");
        let during = inflight(&sandbox);
        let session = sandbox.requests()[0]["session"]
            .as_str()
            .unwrap()
            .to_string();
        let status = statusline(&sandbox, &session);
        (run.join().unwrap(), during, status)
    });
    assert_succeeded(&second);
    let compacting: Vec<&Value> = during
        .iter()
        .filter(|(key, _)| key.ends_with("/compact"))
        .map(|(_, entry)| entry)
        .collect();
    assert_eq!(
        compacting.len(),
        1,
        "in flight during the compaction: {during:#?}"
    );
    assert!(
        compacting[0]["reservation"].as_u64().unwrap() >= 128_000 * 10,
        "{during:#?}"
    );
    assert!(status.contains("1 in flight"), "status line: {status}");
    let sent: Vec<_> = endpoint
        .streaming_requests()
        .into_iter()
        .filter(is_compaction_logged)
        .collect();
    assert_eq!(sent.len(), 1, "one compaction request");
    let requests = sandbox.wait_for_requests(2);
    let compactions: Vec<&Value> = requests
        .iter()
        .filter(|r| r["query_source"] == "compact")
        .collect();
    assert_eq!(compactions.len(), 1, "{requests:#?}");
    let record = compactions[0];
    assert_eq!(
        record["max_tokens"],
        sent[0].max_tokens.unwrap(),
        "{record}"
    );
    assert_eq!(record["max_tokens"], 128_000, "{record}");
    assert_eq!(
        (
            record["input"].as_u64(),
            record["cache_write"].as_u64(),
            record["cache_read"].as_u64(),
            record["output"].as_u64()
        ),
        (Some(2100), Some(150), Some(3900), Some(23)),
        "{record}"
    );
    assert_eq!(record["reserved"], 2100 + 150 + 128_000 * 10, "{record}");
    assert_eq!(record["settled"], 2100 + 150 + 23 * 10, "{record}");
    // Its own time: when the endpoint got it, not the previous request's.
    let ts = chrono::DateTime::parse_from_rfc3339(record["ts"].as_str().unwrap()).unwrap();
    // The endpoint runs in this process, on the moved clock under `.ci/clock-ahead`; the
    // client and its hooks on the real one (see `Home::client_side`).
    let moved = (chrono::Utc::now() - support::client::real_now()).num_milliseconds();
    let got = sent[0].timestamp_ms() as i64 - moved;
    assert!(
        (ts.timestamp_millis() - got).abs() < 2_000,
        "recorded at {ts}, sent at {got} ms"
    );
    let sides: u64 = sandbox
        .ledger()
        .iter()
        .filter(|r| r["kind"] == "side")
        .map(|r| r["input"].as_u64().unwrap() + r["output"].as_u64().unwrap())
        .sum();
    assert_eq!(
        sides,
        0,
        "compaction tokens counted again as side: {:#?}",
        sandbox.ledger()
    );
    let after = inflight(&sandbox);
    assert!(
        after
            .keys()
            .all(|k| !k.contains("/compact") && !k.contains("/a")),
        "left in flight: {after:#?}"
    );
    let cursors = std::fs::read_dir(sandbox.data_dir().join("cursors"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count();
    assert_eq!(cursors, 1, "only the session's transcript has a cursor");
}

fn is_compaction_logged(req: &support::endpoint::LoggedRequest) -> bool {
    req.last_user_text
        .contains("Your task is to create a detailed summary")
}

/// The status line as the client would run it for `session`, with a 10M TPM.
fn statusline(sandbox: &Sandbox, session: &str) -> String {
    let input = serde_json::json!({
        "session_id": session,
        "model": {"id": "us.anthropic.claude-opus-5-5"},
    });
    let out = sandbox.client_statusline(&input.to_string(), [("BEDROCK_HOOK_TPM", "10M")]);
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// The request that follows a refused tool, held back by the endpoint so its in-flight
/// entry can be looked at.
const AFTER_DENIAL_DELAY: Duration = Duration::from_secs(3);

/// Run `prompt` with settings changed by `refuse` so that the tool is refused; while the
/// request that tells the model about the refusal is at the endpoint, return the live
/// state's in-flight entries.
fn in_flight_after_denial(
    prompt: &str,
    refuse: impl FnOnce(&mut Value),
) -> Option<(Sandbox, serde_json::Map<String, Value>)> {
    let (client, sandbox) = hooked_sandbox()?;
    let mut settings = sandbox.settings();
    refuse(&mut settings);
    std::fs::write(
        sandbox.home().join(".claude/settings.json"),
        serde_json::to_string_pretty(&settings).unwrap(),
    )
    .unwrap();
    let arrived = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&arrived);
    let endpoint = Endpoint::start(move |req| {
        if req.streaming && req.last_user_has_tool_result {
            seen.store(true, Ordering::SeqCst);
            return default_script(req).delayed(AFTER_DENIAL_DELAY);
        }
        default_script(req)
    });
    let (output, during) = std::thread::scope(|scope| {
        let run = scope.spawn(|| sandbox.run_client(&client, &endpoint, prompt, &[]));
        wait_until_set(&arrived, "the refusal was not sent back");
        let during = inflight(&sandbox);
        (run.join().unwrap(), during)
    });
    assert_succeeded(&output);
    Some((sandbox, during))
}

/// A tool refused by a permission rule fires PreToolUse and no PostToolUse; the request
/// that carries the refusal back is in flight all the same (from PostToolBatch).
#[test]
fn request_after_a_refused_tool_is_in_flight() {
    let Some((_sandbox, during)) = in_flight_after_denial("SCENARIO_TOOL go", |settings| {
        settings["permissions"] = serde_json::json!({"deny": ["Bash(echo hello-from-fake)"]});
    }) else {
        return;
    };
    let main: Vec<(&String, &Value)> = during.iter().filter(|(k, _)| !k.contains('/')).collect();
    assert_eq!(main.len(), 1, "in flight: {during:#?}");
    assert!(
        main[0].1["reservation"].as_u64().unwrap() >= 128_000 * 10,
        "{during:#?}"
    );
}

/// An `Agent` call refused by another PreToolUse hook (no PostToolUse, no subagent)
/// leaves no spawn reservation behind.
#[test]
fn refused_subagent_leaves_no_spawn_in_flight() {
    let deny = r#"echo '{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny","permissionDecisionReason":"not now"}}'"#;
    let Some((_sandbox, during)) = in_flight_after_denial("SCENARIO_AGENT go", |settings| {
        let hooks = settings["hooks"]["PreToolUse"].as_array_mut().unwrap();
        hooks.push(serde_json::json!({"matcher": "Agent", "hooks": [{"type": "command", "command": deny}]}));
    }) else {
        return;
    };
    assert!(
        during.keys().all(|k| !k.contains("/spawn:")),
        "phantom spawn in flight: {during:#?}"
    );
    assert!(
        during.keys().any(|k| !k.contains('/')),
        "the request after the refusal is not in flight: {during:#?}"
    );
}

/// The `Agent` call's own `model` is the subagent's: a Haiku 4.5 subagent (32k max_tokens
/// x 5) beside the Opus 5.5 loop (1.29M) fits a 2M TPM, so block mode lets it run.
#[test]
fn block_mode_forecasts_the_subagent_on_the_model_its_agent_call_names() {
    let Some((client, sandbox)) = hooked_sandbox() else {
        return;
    };
    let endpoint = Endpoint::start(|req| {
        if req.streaming
            && !req.last_user_has_tool_result
            && req.last_user_text.contains("SCENARIO_AGENT_HAIKU")
        {
            return Reply::tool_use(
                "Agent",
                serde_json::json!({"description": "sub work", "prompt": "SUBTASK_X SCENARIO_TOOL do it",
                    "subagent_type": "general-purpose", "model": "haiku"}),
            )
            .with_usage(support::endpoint::DEFAULT_AGENT_USAGE);
        }
        default_script(req)
    });
    let output = sandbox.run_client(
        &client,
        &endpoint,
        "SCENARIO_AGENT_HAIKU go",
        &[
            ("BEDROCK_HOOK_MODE", "block"),
            ("BEDROCK_HOOK_TPM", "2M"),
            // The loop's model, named: what is tested here is the subagent's.
            ("ANTHROPIC_MODEL", "us.anthropic.claude-opus-5-5"),
        ],
    );
    assert_succeeded(&output);
    let received = endpoint.streaming_requests();
    let sub: Vec<_> = received
        .iter()
        .filter(|r| r.last_user_text.contains("SUBTASK_X"))
        .collect();
    assert!(
        !sub.is_empty(),
        "the subagent was denied: {:#?}",
        received
            .iter()
            .map(|r| &r.last_user_text)
            .collect::<Vec<_>>()
    );
    assert!(
        sub[0]
            .model
            .as_deref()
            .unwrap()
            .contains("claude-haiku-4-5"),
        "{:?}",
        sub[0].model
    );
}

/// The client neither shows nor records what a hook returns at `StopFailure`: the throttle's
/// explanation is given at the session's next start or prompt instead, once, and the client
/// records it as a hook notice in the transcript.
#[test]
fn the_throttle_explanation_reaches_the_next_prompt() {
    let Some((client, sandbox)) = hooked_sandbox() else {
        return;
    };
    // The resumed session still carries the throttled prompt: only the first turn's
    // request is throttled.
    let endpoint = Endpoint::start(throttle_once_script());
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
    if throttle["throttle"].is_null() {
        // Recorded from the client's own error message: in `-p` mode the client 2.1.328
        // sometimes exits without running the StopFailure hook (about one run in three),
        // and then nothing was estimated at the moment to explain.
        eprintln!("the client ran no StopFailure hook this time: no explanation to check");
        return;
    }
    let notices = |sandbox: &Sandbox| {
        hook_notices(sandbox, &["Bedrock throttled this session's last turn at"])
    };
    assert!(
        notices(&sandbox).is_empty(),
        "shown before the next prompt?"
    );
    let resume = || {
        sandbox.run_client_with_args(
            &client,
            &endpoint,
            "Say hello",
            &env,
            &["--resume", &session],
        )
    };
    let again = resume();
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
    resume();
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
    let shown = hook_notices(
        &run.sandbox,
        &["bedrock-hook: config error: BEDROCK_HOOK_TPD"],
    );
    assert_eq!(shown.len(), 1, "{shown:#?}");
    assert!(shown[0].contains("`bedrock-hook config`"), "{}", shown[0]);
    assert_ledger_matches_endpoint(&run);
}
