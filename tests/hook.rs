//! The hook and status line commands over the real client's sample payloads and
//! transcripts: exact ledger records, idempotence, and bad input failing open.

mod support;

use serde_json::{Value, json};
use support::{AGENT, Home, SESSION, assert_quiet_success};

fn ids(records: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = records
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn sample_session_gives_exact_records() {
    let fx = Home::with_samples();
    for event in ["PostToolUse-subagent", "Stop"] {
        assert_quiet_success(&fx.hook(&fx.payload(event)), event);
    }
    let records = fx.ledger();
    assert_eq!(
        ids(&records),
        [
            "req-0", "req-1", "req-2", "req-3", "req-4", "req-5", "req-6"
        ]
    );
    let first = records.iter().find(|r| r["id"] == "req-0").unwrap();
    assert_eq!(
        *first,
        json!({
            "v": 1, "kind": "request", "id": "req-0",
            "ts": "2026-11-22T01:39:20.827Z", "end_ts": "2026-11-22T01:39:20.833Z",
            "session": SESSION,
            "model": "us.anthropic.claude-opus-5-5", "model_norm": "claude-opus-5-5",
            "burndown": 10.0,
            "input": 12306, "cache_write": 0, "cache_read": 0, "output": 37,
            "max_tokens": 128000, "max_tokens_source": "api-request",
            "reserved": 12306 + 128000 * 10, "settled": 12306 + 37 * 10,
            "outcome": "ok", "query_source": "sdk", "project": "/home/dev/proj"
        })
    );
    let sub = records.iter().find(|r| r["id"] == "req-4").unwrap();
    assert_eq!(sub["agent"], AGENT);
    assert_eq!(sub["query_source"], "agent:builtin:general-purpose");
    assert_eq!(sub["settled"], 7693 + 5 * 10);
    // cost-state totals equal the request records: no side requests.
    assert!(records.iter().all(|r| r["kind"] == "request"));
    let input: u64 = records.iter().map(|r| r["input"].as_u64().unwrap()).sum();
    assert_eq!(input, 73481);
}

#[test]
fn same_bytes_twice_do_not_double_count() {
    let fx = Home::with_samples();
    fx.hook(&fx.payload("Stop"));
    let once = fx.ledger().len();
    // Lose every cursor: the transcript is read again from the start.
    std::fs::remove_dir_all(fx.data_dir().join("cursors")).unwrap();
    fx.hook(&fx.payload("Stop"));
    fx.hook(&fx.payload("PostToolUse-subagent"));
    assert_eq!(fx.ledger().len(), once);
}

#[test]
fn replaced_transcript_is_read_from_the_start_without_duplicates() {
    let fx = Home::with_samples();
    let main = fx.main_transcript();
    let full = std::fs::read_to_string(&main).unwrap();
    let half: String = full.lines().take(20).map(|l| format!("{l}\n")).collect();
    std::fs::write(&main, &half).unwrap();
    fx.hook(&fx.payload("PostToolUse"));
    assert_eq!(ids(&fx.ledger()), ["req-0"]);
    // Replaced by a new file (new inode) with the whole content.
    let tmp = main.with_extension("new");
    std::fs::write(&tmp, &full).unwrap();
    std::fs::rename(&tmp, &main).unwrap();
    fx.hook(&fx.payload("Stop"));
    let main_ids: Vec<String> = ids(&fx.ledger())
        .into_iter()
        .filter(|id| ["req-0", "req-2", "req-5", "req-6"].contains(&id.as_str()))
        .collect();
    assert_eq!(main_ids, ["req-0", "req-2", "req-5", "req-6"]);
    assert_eq!(fx.ledger().iter().filter(|r| r["id"] == "req-0").count(), 1);
}

#[test]
fn torn_last_line_waits_for_its_end() {
    let fx = Home::with_samples();
    let main = fx.main_transcript();
    let full = std::fs::read(&main).unwrap();
    // Cut inside the assistant line of req-0.
    let at = full.windows(7).position(|w| w == b"\"req-0\"").unwrap();
    std::fs::write(&main, &full[..at]).unwrap();
    fx.hook(&fx.payload("PreToolUse"));
    assert!(fx.ledger().is_empty());
    std::fs::write(&main, &full).unwrap();
    fx.hook(&fx.payload("PostToolUse"));
    assert!(ids(&fx.ledger()).contains(&"req-0".to_string()));
}

#[test]
fn side_requests_from_cost_state_are_recorded() {
    let fx = Home::with_samples();
    let main = fx.main_transcript();
    let text = std::fs::read_to_string(&main).unwrap();
    // A title request the transcript has no entry for: Sonnet 4.5, 50 in, 3 out.
    let with_side = text.replace(
        r#""hasUnknownModelCost":false"#,
        r#""hasUnknownModelCost":false,"x":1"#,
    );
    let with_side = with_side.replace(
        r#""modelUsage":{"#,
        r#""modelUsage":{"us.anthropic.claude-sonnet-4-5-20250929-v1:0":{"inputTokens":50,"outputTokens":3,"cacheReadInputTokens":0,"cacheCreationInputTokens":0},"#,
    );
    std::fs::write(&main, with_side).unwrap();
    fx.hook(&fx.payload("Stop"));
    let side: Vec<Value> = fx
        .ledger()
        .into_iter()
        .filter(|r| r["kind"] == "side")
        .collect();
    assert_eq!(side.len(), 1, "{side:#?}");
    assert_eq!(side[0]["model_norm"], "claude-sonnet-4-5");
    assert_eq!(side[0]["input"], 50);
    assert_eq!(side[0]["output"], 3);
    assert_eq!(side[0]["settled"], 50 + 3 * 5);
    // Seen again: nothing new.
    std::fs::remove_dir_all(fx.data_dir().join("cursors")).unwrap();
    fx.hook(&fx.payload("Stop"));
    assert_eq!(
        fx.ledger().iter().filter(|r| r["kind"] == "side").count(),
        1
    );
}

#[test]
fn old_client_without_api_request_marks_max_tokens_assumed() {
    let fx = Home::with_samples();
    let main = fx.main_transcript();
    let text = std::fs::read_to_string(&main).unwrap();
    let old: String = text
        .lines()
        .filter(|l| !l.contains(r#""type":"api-request""#))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&main, old).unwrap();
    let out = fx
        .command(&["hook"])
        .env("CLAUDE_CODE_MAX_OUTPUT_TOKENS", "4096")
        .write_stdin(fx.payload("Stop"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let record = fx
        .ledger()
        .into_iter()
        .find(|r| r["id"] == "req-0")
        .unwrap();
    assert_eq!(record["max_tokens"], 4096);
    assert_eq!(record["max_tokens_source"], "env");
    assert_eq!(record["reserved"], 12306 + 4096 * 10);
}

#[test]
fn bad_input_fails_open_with_one_stderr_line() {
    let fx = Home::with_samples();
    fx.hook(&fx.payload("Stop"));
    let before = fx.ledger();
    let huge_line = format!("{{\"session_id\":\"{}\"}}", "x".repeat(5 << 20));
    for stdin in [
        "",
        "   ",
        "{",
        "null",
        "[]",
        "\u{0}\u{1}garbage",
        &huge_line,
        r#"{"hook_event_name":"Nope"}"#,
    ] {
        let out = fx.hook(stdin);
        assert!(out.status.success(), "{stdin:.40}");
        assert!(out.stdout.is_empty(), "{stdin:.40}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.lines().count() <= 1, "{stderr}");
    }
    assert_eq!(fx.ledger(), before);
}

#[test]
fn missing_transcript_and_unknown_event_are_quiet() {
    let fx = Home::with_samples();
    let payload = fx
        .payload("Stop")
        .replace(SESSION, "0000")
        .replace("Stop", "BrandNewEvent");
    assert_quiet_success(&fx.hook(&payload), "the hook");
}

#[test]
fn unwritable_data_dir_fails_open() {
    let fx = Home::with_samples();
    std::fs::write(fx.data_dir(), b"not a directory").unwrap();
    let out = fx.hook(&fx.payload("Stop"));
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("bedrock-hook: "), "{stderr}");
}

#[test]
fn corrupt_ledger_line_is_tolerated() {
    let fx = Home::with_samples();
    fx.hook(&fx.payload("PostToolUse"));
    let day = fx.data_dir().join("ledger/2026-11-22.jsonl");
    let mut bytes = std::fs::read(&day).unwrap();
    bytes.extend_from_slice(b"{\"v\":1,\"kind\":\"requ");
    std::fs::write(&day, bytes).unwrap();
    std::fs::remove_file(fx.data_dir().join("state.json")).unwrap();
    let out = fx.hook(&fx.payload("Stop"));
    assert!(out.status.success());
    assert_eq!(fx.ledger_lenient().len(), 7);
}

#[test]
fn statusline_reports_reserved_share_and_next_request() {
    let fx = Home::with_samples();
    fx.hook(&fx.payload("Stop"));
    let status = fx.payload("PostToolUse"); // carries session and transcript_path
    let out = fx.statusline(
        &status,
        &[("BEDROCK_HOOK_TPD", "1M"), ("BEDROCK_HOOK_TPM", "2M")],
    );
    assert!(out.status.success());
    let line = String::from_utf8(out.stdout).unwrap();
    assert_eq!(line.lines().count(), 1, "{line}");
    // Settled today: 75,111 quota tokens of 1M -> 8%. The records are from 01:39 today
    // only when the test runs on that day; otherwise today holds nothing.
    assert!(line.starts_with("quota "), "{line}");
    assert!(line.contains("% reserved"), "{line}");
    assert!(line.contains("next 1.29M"), "{line}");
}

#[test]
fn statusline_without_quota_shows_numbers_and_a_hint() {
    let fx = Home::with_samples();
    let input = std::fs::read_to_string(support::samples().join("statusline-input.json")).unwrap();
    let out = fx.statusline(&input, &[]);
    let line = String::from_utf8(out.stdout).unwrap();
    assert_eq!(line, "quota 0 today · next 1.28M · set BEDROCK_HOOK_TPD\n");
}

#[test]
fn statusline_shows_a_bad_value_instead_of_asking_for_it() {
    let fx = Home::with_samples();
    let input = std::fs::read_to_string(support::samples().join("statusline-input.json")).unwrap();
    let out = fx.statusline(&input, &[("BEDROCK_HOOK_TPD", "abc")]);
    assert!(out.status.success());
    let line = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        line,
        "quota 0 today · next 1.28M · config error: tpd \"abc\" is not a number · bedrock-hook config\n"
    );
    // A bad value in the file shows the same way.
    std::fs::write(fx.config_file(), "mode = \"blok\"\ntpd = \"1M\"\n").unwrap();
    let out = fx.statusline(&input, &[]);
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(
        line.ends_with(
            " · config error: mode \"blok\" is not warn, block or off · bedrock-hook config\n"
        ),
        "{line}"
    );
}

#[test]
fn statusline_always_prints_one_line() {
    let fx = Home::with_samples();
    for stdin in ["", "{", "null", "\u{ff}", r#"{"model":{"id":7}}"#] {
        let out = fx.statusline(stdin, &[]);
        assert!(out.status.success());
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).lines().count(),
            1,
            "{stdin}"
        );
    }
}

#[test]
fn statusline_chains_the_users_own_command() {
    let fx = Home::with_samples();
    let input = std::fs::read_to_string(support::samples().join("statusline-input.json")).unwrap();
    let out = fx
        .command(&[
            "statusline",
            "--chain",
            "jq -r .model.display_name 2>/dev/null || echo Opus",
        ])
        .env("NO_COLOR", "1")
        .write_stdin(input)
        .output()
        .unwrap();
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(line.starts_with("Opus"), "{line}");
    assert!(line.contains(" │ quota "), "{line}");
}

#[test]
fn config_command_names_sources_and_problems() {
    let fx = Home::with_samples();
    std::fs::write(fx.config_file(), "tpd = \"2M\"\nmode = \"loud\"\n").unwrap();
    let out = fx
        .command(&["config"])
        .env("BEDROCK_HOOK_TPM", "400k")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!out.status.success(), "a bad key is an error for `config`");
    assert!(
        text.contains("tpd                      = 2000000"),
        "{text}"
    );
    assert!(text.contains("# env BEDROCK_HOOK_TPM"), "{text}");
    assert!(text.contains("key `mode`"), "{text}");
    assert!(
        text.lines().next().unwrap().starts_with("# problem: ")
            && text.lines().next().unwrap().contains("key `mode`"),
        "problems come first: {text}"
    );
    // The hot path still works with the same bad file.
    let out = fx.hook(&fx.payload("Stop"));
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
}

/// What the process loads before `main` is paid on every hook and status line: one more
/// shared library (libm, pulled in by one `f64::log10`) cost about a tenth of their time
/// over the spawn floor. The binary needs libc, the unwinder's libgcc_s and the loader.
#[test]
fn the_binary_loads_no_shared_library_beyond_libc() {
    let out = std::process::Command::new("readelf")
        .args(["-d", support::BIN])
        .output()
        .expect("readelf (binutils, beside the linker cargo uses)");
    let text = String::from_utf8_lossy(&out.stdout);
    let needed: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| l.split('[').nth(1)?.split(']').next())
        .collect();
    assert!(!needed.is_empty(), "{text}");
    for library in &needed {
        assert!(
            ["libc.so", "libgcc_s.so", "ld-linux"]
                .iter()
                .any(|ours| library.starts_with(ours)),
            "{library} in {needed:?}"
        );
    }
}
