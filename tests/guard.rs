//! The guards end to end: the built binary run as Claude Code runs it, fed the real hook
//! payloads of `fixtures/samples` (transcript paths pointed at temp copies of the real
//! transcripts), checking the exact JSON printed at each decision point in warn and block
//! mode, silence in off mode, and the throttle record.
//!
//! The clock is pinned (`BEDROCK_HOOK_NOW`) nine seconds after the samples' last request,
//! so every number below follows from the sample transcripts: seven Opus 5.5 requests
//! (burndown 10) settling 75,111 quota tokens, all inside the last minute; the session's
//! last request carried 13,068 input tokens with max_tokens 128,000, so its next one
//! reserves 13,068 + 1,280,000 = 1,293,068; the largest output was 37 tokens, so the
//! advice is max_tokens 4096, reserving 13,068 + 40,960 = 54,028.

mod support;

use serde_json::{Value, json};
use support::{AGENT, Home, SESSION};

const NOW: &str = "2026-11-22T01:39:30Z";

/// A home with the sample transcripts and `config`, the clock at [`NOW`].
fn sample_world(config: &str) -> Home {
    let world = Home::with_samples().at(NOW);
    world.write_config(config);
    world
}

impl Home {
    /// Run the hook on a sample payload (`hook-<event>.json`); it always exits 0.
    /// Returns (stdout, stderr).
    fn event_at(&self, event: &str, now: &str) -> (String, String) {
        let out = self
            .command(&["hook"])
            .env("BEDROCK_HOOK_NOW", now)
            .write_stdin(self.payload(event))
            .assert()
            .success();
        let output = out.get_output();
        (
            String::from_utf8(output.stdout.clone()).unwrap(),
            String::from_utf8(output.stderr.clone()).unwrap(),
        )
    }

    /// [`Home::event_at`] at [`NOW`], which must print nothing on stderr; its stdout.
    fn event(&self, event: &str) -> String {
        let (stdout, stderr) = self.event_at(event, NOW);
        assert_eq!(stderr, "", "{event}");
        stdout
    }

    fn inflight_keys(&self) -> Vec<String> {
        self.state()["inflight"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }
}

fn config(mode: &str, tpd: u64, tpm: u64) -> String {
    format!("mode = \"{mode}\"\ntpd = {tpd}\ntpm = {tpm}\n")
}

/// `{"systemMessage": text}` as one line.
fn system_message(text: &str) -> String {
    format!("{}\n", json!({ "systemMessage": text }))
}

const BLOCK_NOTE: &str = " Set mode = \"warn\" in the bedrock-hook config to be warned instead.";
const FIX_54K: &str = "Fix: set CLAUDE_CODE_MAX_OUTPUT_TOKENS=4096 (largest output seen 37 + 50% \
     headroom) and restart Claude Code (`bedrock-hook doctor --fix` writes it to settings.json)";

#[test]
fn session_start_warns_when_one_request_holds_most_of_the_day() {
    // 1,293,068 of a 2M TPD is 64%: requests fail once 36% is used.
    let text = format!(
        "bedrock-hook: each request holds 64% of the TPD while it runs: one request reserves \
         1.29M (claude-opus-5-5: 13.1k input + 128k max_tokens x 10 burndown) of the 2M TPD, so \
         requests start failing once 36% of the day is used. Left: 1.92M of 2M TPD, 2.92M of 3M \
         TPM; nothing in flight. {FIX_54K}: a request would then reserve 54k and 55 fit in the \
         TPM."
    );
    for mode in ["warn", "block"] {
        let world = sample_world(&config(mode, 2_000_000, 3_000_000));
        assert_eq!(world.event("SessionStart"), system_message(&text), "{mode}");
    }
    let off = sample_world(&config("off", 2_000_000, 3_000_000));
    assert_eq!(off.event("SessionStart"), "");
}

/// Warn mode's notice that `what`'s (a prompt's, a subagent's) first request will not fit
/// what `body` names (`{will}` standing for the verb).
fn will_not_fit(what: &str, body: &str) -> String {
    format!(
        "bedrock-hook: this {what}'s first request will not fit {}",
        body.replace("{will}", "will")
    )
}

/// Block mode's reason for holding `what` back, over what `body` names.
fn held_back(what: &str, body: &str) -> String {
    format!(
        "bedrock-hook held back this {what} (not an error): its first request would not fit {}{BLOCK_NOTE}",
        body.replace("{will}", "would")
    )
}

#[test]
fn prompt_preflight_warns_or_blocks_over_the_day() {
    // 75,111 of a 1.3M TPD used: 1,224,889 left, the next request needs 1,293,068.
    let body = format!(
        "the TPD and Bedrock {{will}} throttle it (429). It reserves 1.29M (claude-opus-5-5: \
         13.1k input + 128k max_tokens x 10 burndown). Left: 1.22M of 1.3M TPD, 2.92M of 3M TPM; \
         nothing in flight. The TPD resets at 00:00 UTC (in 22h 20m). {FIX_54K}: a request would \
         then reserve 54k and fit."
    );
    let warn = sample_world(&config("warn", 1_300_000, 3_000_000));
    let text = will_not_fit("prompt", &body);
    assert_eq!(warn.event("UserPromptSubmit"), system_message(&text));
    // Warned, not blocked: the request is on its way.
    assert_eq!(warn.inflight_keys(), [SESSION]);
    assert_eq!(warn.state()["inflight"][SESSION]["reservation"], 1_293_068);

    let block = sample_world(&config("block", 1_300_000, 3_000_000));
    let reason = held_back("prompt", &body);
    assert_eq!(
        block.event("UserPromptSubmit"),
        format!("{}\n", json!({ "decision": "block", "reason": reason }))
    );
    // Blocked: nothing is sent, so nothing is in flight.
    assert!(block.inflight_keys().is_empty());

    let off = sample_world(&config("off", 1_300_000, 3_000_000));
    assert_eq!(off.event("UserPromptSubmit"), "");
    assert_eq!(off.inflight_keys(), [SESSION]);
}

#[test]
fn prompt_preflight_warns_over_the_cross_model_cap() {
    // The model's own bucket has room (100M); the account-wide cap on all models together
    // (1.3M, from the environment) does not: 75,111 used, 1,224,889 left.
    let world = sample_world(
        "mode = \"warn\"\ntpm = 3_000_000\n\n[models.claude-opus-5-5]\ntpd = \"100M\"\n",
    );
    let stdout = world
        .command(&["hook"])
        .env("BEDROCK_HOOK_NOW", NOW)
        .env("BEDROCK_HOOK_TPD_ALL_MODELS", "1.3M")
        .write_stdin(world.payload("UserPromptSubmit"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = format!(
        "bedrock-hook: this prompt's first request will not fit the cross-model TPD and \
         Bedrock will throttle it (429). It reserves 1.29M (claude-opus-5-5: 13.1k input + 128k \
         max_tokens x 10 burndown). Left: 99.9M of 100M TPD, 2.92M of 3M TPM, 1.22M of 1.3M \
         cross-model TPD; nothing in flight. The cross-model TPD resets at 00:00 UTC (in 22h \
         20m). {FIX_54K}: a request would then reserve 54k and fit."
    );
    assert_eq!(String::from_utf8(stdout).unwrap(), system_message(&text));
    // The status line shows the cap where it shows the TPD: it is the tighter one.
    let input = std::fs::read_to_string(support::samples().join("statusline-input.json")).unwrap();
    let out = world.statusline(&input, &[("BEDROCK_HOOK_TPD_ALL_MODELS", "1.3M")]);
    let line = String::from_utf8(out.stdout).unwrap();
    // Warned, not blocked: the prompt's request is in flight, 75,111 + 1,293,068 of 1.3M.
    assert_eq!(
        line,
        "quota 105% reserved across models · tpm 46% · 1 in flight · next 1.29M over \
         cross-model TPD\n"
    );
    // Without the cap the same prompt fits: silence.
    let roomy = sample_world(
        "mode = \"warn\"\ntpm = 3_000_000\n\n[models.claude-opus-5-5]\ntpd = \"100M\"\n",
    );
    assert_eq!(roomy.event("UserPromptSubmit"), "");
}

#[test]
fn subagent_spawn_is_denied_when_it_and_the_loop_overflow_the_minute() {
    // The subagent's first request and the spawning loop's next: 2 x 1,293,068 = 2,586,136,
    // more than a 2.5M TPM even when empty.
    let body = format!(
        "the TPM and Bedrock {{will}} throttle it (429). It reserves 1.29M (claude-opus-5-5: \
         13.1k input + 128k max_tokens x 10 burndown), and the loop that spawns it continues \
         with 1.29M: 2.59M together. Left: 9.92M of 10M TPD, 2.42M of 2.5M TPM; nothing in \
         flight. Waiting will not help: together they reserve 2.59M, more than the whole 2.5M \
         TPM. {FIX_54K}: a request would then reserve 54k and fit."
    );
    let spawn_key = format!("{SESSION}/spawn:toolu_0");

    let warn = sample_world(&config("warn", 10_000_000, 2_500_000));
    let text = will_not_fit("subagent", &body);
    assert_eq!(warn.event("PreToolUse"), system_message(&text));
    // Let through: the spawn holds its first request's reservation until it starts.
    assert_eq!(warn.inflight_keys(), std::slice::from_ref(&spawn_key));
    assert_eq!(
        warn.state()["inflight"][&spawn_key]["reservation"],
        1_293_068
    );
    // Its PostToolUse hands over to the subagent's own entry.
    assert_eq!(warn.event("PostToolUse"), "");
    assert_eq!(warn.inflight_keys(), [SESSION]);

    let block = sample_world(&config("block", 10_000_000, 2_500_000));
    let reason = held_back("subagent", &body);
    assert_eq!(
        block.event("PreToolUse"),
        format!(
            "{}\n",
            json!({"hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": reason,
            }})
        )
    );
    assert!(block.inflight_keys().is_empty());

    let off = sample_world(&config("off", 10_000_000, 2_500_000));
    assert_eq!(off.event("PreToolUse"), "");
}

#[test]
fn spawn_that_fits_still_warns_about_concurrency_in_any_mode() {
    // 20 subagents x 1,293,068 against a 6M TPM: only 4 fit.
    let text = format!(
        "bedrock-hook: up to 20 subagents may run at once (CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS) \
         and 10 tools in parallel (CLAUDE_CODE_MAX_TOOL_USE_CONCURRENCY), but each request \
         reserves 1.29M (claude-opus-5-5: 13.1k input + 128k max_tokens x 10 burndown): only 4 \
         fit in the 6M TPM, so parallel subagents will be throttled. Left: 9.92M of 10M TPD, \
         5.92M of 6M TPM; nothing in flight. {FIX_54K}: a request would then reserve 54k and 111 \
         fit."
    );
    for mode in ["warn", "block"] {
        let world = sample_world(&config(mode, 10_000_000, 6_000_000));
        assert_eq!(world.event("PreToolUse"), system_message(&text), "{mode}");
        assert_eq!(
            world.inflight_keys(),
            [format!("{SESSION}/spawn:toolu_0")],
            "{mode}"
        );
    }
}

#[test]
fn after_a_tool_the_loop_is_stopped_rather_than_run_into_a_429() {
    // The prompt's request (1,293,068) is in flight; the subagent's next request (7,693 input
    // + 1,280,000) does not fit the 1,131,821 left of a 2.5M TPM.
    let body = format!(
        "the next request {{would}} not fit the TPM and Bedrock {{would}} throttle it (429). It \
         reserves 1.29M (claude-opus-5-5: 7.69k input + 128k max_tokens x 10 burndown). Left: \
         8.63M of 10M TPD, 1.13M of 2.5M TPM; 1 request in flight holding 1.29M. It frees up \
         only as the 1 request in flight comes back. {FIX_54K}: a request would then reserve \
         48.7k and fit."
    );
    let warn = sample_world(&config("warn", 10_000_000, 2_500_000));
    assert_eq!(warn.event("UserPromptSubmit"), "");
    let text = format!("bedrock-hook: {}", body.replace("{would}", "will"));
    assert_eq!(warn.event("PostToolUse-subagent"), system_message(&text));
    assert_eq!(
        warn.inflight_keys(),
        [SESSION.to_string(), format!("{SESSION}/{AGENT}")]
    );

    let block = sample_world(&config("block", 10_000_000, 2_500_000));
    assert_eq!(block.event("UserPromptSubmit"), "");
    let reason = format!(
        "bedrock-hook paused the loop (not an error): {}{BLOCK_NOTE}",
        body.replace("{would}", "would")
    );
    assert_eq!(
        block.event("PostToolUse-subagent"),
        format!("{}\n", json!({ "continue": false, "stopReason": reason }))
    );
    assert_eq!(block.inflight_keys(), [SESSION]);

    let off = sample_world(&config("off", 10_000_000, 2_500_000));
    assert_eq!(off.event("UserPromptSubmit"), "");
    assert_eq!(off.event("PostToolUse-subagent"), "");
}

#[test]
fn a_throttle_is_recorded_with_the_estimate_in_every_mode() {
    // At the 429: 75,111 settled + 1,293,068 in flight + the refused request's 1,293,068.
    // The throttled session has no request of its own: its max_tokens is the model's
    // default, not another session's.
    let text = "bedrock-hook: Bedrock throttled this turn (429: too many tokens per day). At that \
         moment bedrock-hook estimated 2.66M of the 10M TPD used (27%), the refused request's \
         1.29M (claude-opus-5-5: 13.1k input + 128k max_tokens from the model default x 10 \
         burndown) included. Left: \
         8.63M of 10M TPD, 1.63M of 3M TPM; 1 request in flight holding 1.29M. So the effective \
         TPD is nearer 2.66M, or something else on the same account and region (a teammate, \
         another machine, CI) used about 7.34M today. The TPD resets at 00:00 UTC (in 22h 20m). \
         Fix: `bedrock-hook quota calibrate` adopts what the throttles say; set \
         CLAUDE_CODE_MAX_OUTPUT_TOKENS=4096 (largest output seen 37 + 50% headroom) and restart \
         Claude Code (`bedrock-hook doctor --fix` writes it to settings.json) so a request \
         reserves 54k.";
    for (mode, expected) in [
        ("warn", system_message(text)),
        ("block", system_message(text)),
        ("off", String::new()),
    ] {
        let world = sample_world(&config(mode, 10_000_000, 3_000_000));
        assert_eq!(world.event("UserPromptSubmit"), "", "{mode}");
        assert_eq!(world.event("StopFailure"), expected, "{mode}");
        let throttles: Vec<Value> = world
            .ledger()
            .into_iter()
            .filter(|r| r["kind"] == "throttle")
            .collect();
        assert_eq!(
            throttles,
            [json!({
                "v": 1,
                "kind": "throttle",
                "id": "d797b41c-5021-4ca8-8bf3-2dfaefa8ae20:bee6f96a-2b1d-4dc4-bc43-33f15f377ae8",
                "ts": NOW,
                "session": "d797b41c-5021-4ca8-8bf3-2dfaefa8ae20",
                "model": "us.anthropic.claude-opus-5-5",
                "model_norm": "claude-opus-5-5",
                "burndown": 10.0,
                "input": 0,
                "cache_write": 0,
                "cache_read": 0,
                "output": 0,
                "max_tokens": 128000,
                "max_tokens_source": "model-default",
                "reserved": 1_293_068,
                "settled": 0,
                "outcome": "no-response",
                "project": "/home/dev/proj",
                "throttle": {
                    "limit": "tokens-per-day",
                    "day_used": 2_661_247,
                    "minute_used": 2_661_247,
                    "minute_requests": 8,
                    "tpd": 10_000_000,
                    "tpm": 3_000_000
                }
            })],
            "{mode}"
        );
        assert_eq!(world.state()["throttles"], 1, "{mode}");
        // The same StopFailure delivered twice is one throttle.
        world.event("StopFailure");
        assert_eq!(world.state()["throttles"], 1, "{mode}");
    }
}

#[test]
fn warnings_are_not_repeated_within_the_repeat_window() {
    let world = sample_world(&config("warn", 1_300_000, 3_000_000));
    assert_ne!(world.event("UserPromptSubmit"), "");
    assert_eq!(world.event("UserPromptSubmit"), "");
    // The same reason from another decision point counts as a repeat too.
    assert_eq!(world.event("PostToolUse"), "");
    let (later, _) = world.event_at("UserPromptSubmit", "2026-11-22T01:44:31Z");
    assert!(
        later.starts_with("{\"systemMessage\":\"bedrock-hook: this prompt's"),
        "{later}"
    );
}

#[test]
fn trouble_of_our_own_fails_open_with_one_stderr_line() {
    let world = sample_world(&format!(
        "{}surprise = 1\n",
        config("block", 1_300_000, 3_000_000)
    ));
    let (stdout, stderr) = world.event_at("UserPromptSubmit", NOW);
    assert!(
        stdout.starts_with(
            "{\"systemMessage\":\"bedrock-hook: this prompt's first request will not fit"
        ),
        "{stdout}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("unknown key `surprise`"), "{stderr}");
    // A ledger it cannot write: no decision at all, exit 0, one line.
    let broken = sample_world(&config("block", 1, 1));
    std::fs::write(broken.data_dir(), "not a directory").unwrap();
    let (stdout, stderr) = broken.event_at("UserPromptSubmit", NOW);
    assert_eq!(stdout, "");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn off_prints_nothing_for_any_event() {
    let world = sample_world(&config("off", 1, 1));
    for entry in std::fs::read_dir(support::samples()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        if let Some(event) = name.strip_prefix("hook-") {
            let event = event.strip_suffix(".json").unwrap();
            assert_eq!(world.event(event), "", "{name}");
        }
    }
    assert_eq!(world.state()["throttles"], 1);
}

/// The client shows nothing returned at StopFailure: the explanation waits for that
/// session's next prompt (given once), and the status line shows the throttle for ten
/// minutes: which limit, the estimate at that moment, the one fix.
#[test]
fn a_throttle_is_explained_at_the_next_prompt_and_in_the_status_line() {
    let world = sample_world(&config("warn", 10_000_000, 3_000_000));
    world.event("UserPromptSubmit");
    world.event("StopFailure");
    let statusline = |now: &str| {
        let out = world
            .command(&["statusline"])
            .env("BEDROCK_HOOK_NOW", now)
            .env("NO_COLOR", "1")
            .write_stdin(
                std::fs::read_to_string(support::samples().join("statusline-input.json")).unwrap(),
            )
            .assert()
            .success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    };
    let line = statusline("2026-11-22T01:42:35Z");
    assert!(
        line.trim_end().ends_with(
            "1 throttled · 429 TPD 3m 5s ago: est. 2.66M of 10M · fix \
             CLAUDE_CODE_MAX_OUTPUT_TOKENS=4096"
        ),
        "{line}"
    );
    assert!(!statusline("2026-11-22T01:49:30Z").contains("429"));

    let throttled = "d797b41c-5021-4ca8-8bf3-2dfaefa8ae20";
    let prompt = world
        .payload("UserPromptSubmit")
        .replace(SESSION, throttled);
    let next = |now: &str| {
        let out = world
            .command(&["hook"])
            .env("BEDROCK_HOOK_NOW", now)
            .write_stdin(prompt.clone())
            .assert()
            .success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    };
    let told = next("2026-11-22T01:41:00Z");
    let message: Value = serde_json::from_str(&told).unwrap();
    let text = message["systemMessage"].as_str().unwrap();
    assert!(
        text.starts_with(
            "bedrock-hook: Bedrock throttled this session's last turn at 01:39 UTC (429: too \
             many tokens per day). At that moment bedrock-hook estimated 2.66M of the 10M TPD \
             used (27%)"
        ),
        "{text}"
    );
    assert!(
        text.contains("The TPD resets at 00:00 UTC. Fix: `bedrock-hook quota calibrate`"),
        "{text}"
    );
    assert!(!next("2026-11-22T01:41:10Z").contains("throttled this session"));
}

/// A throttled turn of the session that has the request in flight: the estimate counts the
/// refused request once (its own reservation), not again as in flight beside it.
#[test]
fn a_throttle_of_the_session_in_flight_counts_the_refused_request_once() {
    let world = sample_world(&config("warn", 10_000_000, 3_000_000));
    assert_eq!(world.event("UserPromptSubmit"), "");
    let prompt: Value = serde_json::from_str(&world.payload("UserPromptSubmit")).unwrap();
    let session = prompt["session_id"].as_str().unwrap();
    let held: u64 = world.state()["inflight"][session]["reservation"]
        .as_u64()
        .expect("the prompt's request is in flight");
    let mut failure: Value = serde_json::from_str(&world.payload("StopFailure")).unwrap();
    failure["session_id"] = json!(session);
    world
        .command(&["hook"])
        .write_stdin(failure.to_string())
        .assert()
        .success();
    let throttle = world
        .ledger()
        .into_iter()
        .find(|r| r["kind"] == "throttle")
        .expect("a throttle record");
    let settled: u64 = world.state()["today"]
        .as_object()
        .unwrap()
        .values()
        .map(|t| t["settled"].as_u64().unwrap())
        .sum();
    let reserved = throttle["reserved"].as_u64().unwrap();
    assert_eq!(reserved, held, "{throttle}");
    assert_eq!(
        throttle["throttle"]["day_used"].as_u64().unwrap(),
        settled + reserved,
        "{throttle}"
    );
    assert!(world.inflight_keys().iter().all(|k| k != session));
}
