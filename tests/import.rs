//! `bedrock-hook import` driving the built binary: the real client's transcripts, the
//! same records the hooks write for them, idempotence, and bad input.

mod support;

use std::fs::{self, FileTimes};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use assert_cmd::Command;
use serde_json::Value;
use support::{AGENT, Home, SESSION, assert_says, lay_out_samples, read_ledger_lenient, stdout_of};

/// The sample session in `claude_dir`, aged: a session long finished.
fn finished_samples(claude_dir: &Path) -> (PathBuf, PathBuf) {
    let (main, sub) = lay_out_samples(claude_dir);
    age(&main);
    age(&sub);
    (main, sub)
}

/// A home whose `claude` dir holds the finished sample session.
struct Finished {
    home: Home,
    claude: PathBuf,
    main: PathBuf,
    sub: PathBuf,
}

fn finished() -> Finished {
    let home = Home::new();
    let claude = home.path("claude");
    let (main, sub) = finished_samples(&claude);
    Finished {
        home,
        claude,
        main,
        sub,
    }
}

/// Mark a file as last written a day ago (a finished session).
fn age(path: &Path) {
    set_modified(path, SystemTime::now() - Duration::from_secs(86_400));
}

/// Mark a file as written just now by this process's clock, which may run apart from the
/// file system's (the suite is also run with the clock moved ahead).
fn touch(path: &Path) {
    set_modified(path, SystemTime::now());
}

fn set_modified(path: &Path, time: SystemTime) {
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_times(FileTimes::new().set_modified(time))
        .unwrap();
}

/// The binary in `home`, writing to the data dir `data` (a test may keep more than one).
fn bin(home: &Home, data: &Path) -> Command {
    let mut cmd = home.command(&[]);
    cmd.env("BEDROCK_HOOK_DATA_DIR", data);
    cmd
}

fn import(home: &Home, data: &Path, args: &[&Path]) -> String {
    stdout_of(bin(home, data).arg("import").args(args))
}

/// Every ledger record, by kind then id.
fn ledger(data: &Path) -> Vec<Value> {
    let mut records = read_ledger_lenient(data);
    records.sort_by_key(|r| (r["kind"].to_string(), r["id"].to_string()));
    records
}

fn of_kind<'a>(records: &'a [Value], kind: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["kind"] == kind).collect()
}

#[test]
fn imports_the_real_clients_transcripts_from_claude_config_dir() {
    let Finished { home, claude, .. } = finished();
    let data = home.data_dir();
    let out = bin(&home, &data)
        .arg("import")
        .env("CLAUDE_CONFIG_DIR", format!("{},", claude.display()))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Imported 2 transcripts") && text.contains("7 records found, 7 new"),
        "{text}"
    );
    assert_says(&text, &["Skipped: nothing."]);
    let records = ledger(&data);
    let requests = of_kind(&records, "request");
    assert_eq!(requests.len(), 7);
    assert_eq!(
        requests.iter().filter(|r| r["agent"] == AGENT).count(),
        3,
        "subagent requests carry the agent id"
    );
    assert!(requests.iter().all(|r| r["session"] == SESSION));
    assert!(requests.iter().all(|r| r["project"] == "/home/dev/proj"));
    assert!(requests.iter().all(|r| r["max_tokens"] == 128000));
    // cost-state: 73,481 input and 163 output, all covered by the 7 requests.
    let input: u64 = requests.iter().map(|r| r["input"].as_u64().unwrap()).sum();
    let output: u64 = requests.iter().map(|r| r["output"].as_u64().unwrap()).sum();
    assert_eq!((input, output), (73_481, 163));
    assert!(of_kind(&records, "side").is_empty());
}

#[test]
fn importing_twice_adds_nothing() {
    let Finished { home, claude, .. } = finished();
    let data = home.data_dir();
    import(&home, &data, &[&claude]);
    let before = ledger(&data);
    // Finished transcripts leave no cursor behind: they are read again, and every
    // record is already in the ledger.
    assert!(!data.join("cursors").exists());
    let again = import(&home, &data, &[&claude]);
    assert_eq!(
        again,
        "Up to date: 2 transcripts read, 7 records found, all already in the ledger; nothing \
         new.\n"
    );
    assert_eq!(ledger(&data), before);
    // The same session copied elsewhere (another config dir, a backup): read again,
    // recorded once.
    let copy = home.path("backup");
    finished_samples(&copy);
    let third = import(&home, &data, &[&copy]);
    assert!(
        third.starts_with("Up to date: 2 transcripts read"),
        "{third}"
    );
    assert_eq!(ledger(&data), before);
}

/// Run the hook binary with a sample payload pointed at `main`.
fn hook(home: &Home, data: &Path, sample: &str, main: &Path) {
    let mut payload: Value =
        serde_json::from_slice(&fs::read(support::samples().join(sample)).unwrap()).unwrap();
    payload["transcript_path"] = Value::String(main.display().to_string());
    bin(home, data)
        .arg("hook")
        .write_stdin(payload.to_string())
        .assert()
        .success()
        .stderr("");
}

#[test]
fn import_records_exactly_what_the_hooks_record() {
    let Finished {
        home, claude, main, ..
    } = finished();
    let hooked = home.path("hooked");
    for sample in [
        "hook-SessionStart.json",
        "hook-UserPromptSubmit.json",
        "hook-PreToolUse.json",
        "hook-PostToolUse.json",
        "hook-PreToolUse-subagent.json",
        "hook-PostToolUse-subagent.json",
        "hook-Stop.json",
    ] {
        hook(&home, &hooked, sample, &main);
    }
    let imported = home.path("imported");
    import(&home, &imported, &[&claude]);
    let from_hooks = ledger(&hooked);
    let from_import = ledger(&imported);
    assert_eq!(of_kind(&from_hooks, "request").len(), 7);
    assert_eq!(
        of_kind(&from_import, "request"),
        of_kind(&from_hooks, "request")
    );
    assert_eq!(of_kind(&from_import, "side"), of_kind(&from_hooks, "side"));
    // And importing what the hooks already recorded adds nothing.
    let after_hooks = import(&home, &hooked, &[&claude]);
    assert_eq!(
        after_hooks,
        "Up to date: nothing new in 2 transcripts since they were last read.\n"
    );
    assert_eq!(ledger(&hooked), from_hooks);
}

#[test]
fn side_requests_are_recorded_the_same_way_too() {
    let Finished {
        home, claude, main, ..
    } = finished();
    // Session totals beyond the request entries: a title request on Haiku and more
    // Opus input than the requests account for.
    let text = fs::read_to_string(&main).unwrap();
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        let mut value: Value = serde_json::from_str(line).unwrap();
        if value["type"] == "cost-state" {
            let usage = &mut value["modelUsage"];
            usage["us.anthropic.claude-opus-5-5"]["inputTokens"] = Value::from(74_481);
            usage["us.anthropic.claude-haiku-4-5-20251001-v1:0"] = serde_json::json!({
                "inputTokens": 300, "outputTokens": 12,
                "cacheReadInputTokens": 0, "cacheCreationInputTokens": 0
            });
            lines.push(value.to_string());
        } else {
            lines.push(line.to_string());
        }
    }
    fs::write(&main, lines.join("\n") + "\n").unwrap();
    age(&main);
    let hooked = home.path("hooked");
    for sample in ["hook-UserPromptSubmit.json", "hook-Stop.json"] {
        hook(&home, &hooked, sample, &main);
    }
    let imported = home.path("imported");
    import(&home, &imported, &[&claude]);
    let from_hooks = ledger(&hooked);
    let side = of_kind(&from_hooks, "side");
    assert_eq!(side.len(), 2, "{side:?}");
    assert!(
        side.iter()
            .any(|r| r["model_norm"] == "claude-opus-5-5" && r["input"] == 1000)
    );
    assert!(
        side.iter()
            .any(|r| r["model_norm"] == "claude-haiku-4-5" && r["output"] == 12)
    );
    assert_eq!(from_hooks, ledger(&imported));
}

#[test]
fn a_resumed_session_adds_only_its_new_requests() {
    // Imported when finished, then resumed (`claude --resume` appends to the same file)
    // and seen by the hooks, which find no cursor and read it from the start.
    let Finished {
        home, claude, main, ..
    } = finished();
    let data = home.data_dir();
    import(&home, &data, &[&claude]);
    let before = of_kind(&ledger(&data), "request").len();
    let api = format!(
        r#"{{"type":"api-request","sessionId":"{SESSION}","id":"resumed-1","timestamp":"2026-11-23T09:00:00.000Z","params":{{"model":"us.anthropic.claude-opus-5-5","max_tokens":32000}}}}"#
    );
    let answer = format!(
        r#"{{"type":"assistant","requestId":"req-resumed-1","requestRef":"resumed-1","sessionId":"{SESSION}","timestamp":"2026-11-23T09:00:02.000Z","message":{{"id":"msg-resumed-1","model":"us.anthropic.claude-opus-5-5","usage":{{"input_tokens":50,"output_tokens":7}}}}}}"#
    );
    let mut file = fs::File::options().append(true).open(&main).unwrap();
    std::io::Write::write_all(&mut file, format!("{api}\n{answer}\n").as_bytes()).unwrap();
    drop(file);
    hook(&home, &data, "hook-Stop.json", &main);
    let requests = of_kind(&ledger(&data), "request")
        .into_iter()
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(requests.len(), before + 1);
    let new = requests
        .iter()
        .find(|r| r["id"] == "req-resumed-1")
        .unwrap();
    assert_eq!(
        (new["max_tokens"].as_u64(), new["output"].as_u64()),
        (Some(32000), Some(7))
    );
}

#[test]
fn explicit_files_and_folders() {
    let Finished {
        home,
        claude,
        main,
        sub,
    } = finished();
    let data = home.data_dir();
    let out = import(&home, &data, &[&sub]);
    assert_says(&out, &["3 records found, 3 new"]);
    let records = ledger(&data);
    assert!(
        of_kind(&records, "request")
            .iter()
            .all(|r| r["agent"] == AGENT && r["session"] == SESSION)
    );
    let out = import(&home, &data, &[&main, &claude.join("projects")]);
    assert_says(&out, &["4 new"]);
}

#[test]
fn a_live_transcripts_open_request_is_left_open() {
    let home = Home::new();
    let claude = home.path("claude");
    let project = claude.join("projects/-p");
    fs::create_dir_all(&project).unwrap();
    // Just written: its last request may still be streaming.
    let api = r#"{"type":"api-request","sessionId":"live","id":"r1","timestamp":"2026-11-12T01:00:00.000Z","params":{"model":"us.anthropic.claude-opus-5-5","max_tokens":128000}}"#;
    fs::write(project.join("live.jsonl"), format!("{api}\n")).unwrap();
    touch(&project.join("live.jsonl"));
    let data = home.data_dir();
    let out = import(&home, &data, &[&claude]);
    assert_says(&out, &["0 records found"]);
    // Once it is old, the request that never got an answer is recorded as such.
    age(&project.join("live.jsonl"));
    let out = import(&home, &data, &[&claude]);
    assert_says(&out, &["1 record found, 1 new"]);
    let records = ledger(&data);
    assert_eq!(records[0]["outcome"], "no-response");
}

#[test]
fn bad_input_is_counted_and_skipped() {
    let Finished {
        home, claude, main, ..
    } = finished();
    let project = main.parent().unwrap();
    // Garbage text, a torn line and an api-request with a byte that is not UTF-8, around
    // one whole request; the file ends in the middle of a line.
    let api = r#"{"type":"api-request","sessionId":"bad","id":"rb","timestamp":"2026-11-12T01:00:00.000Z","params":{"model":"us.anthropic.claude-opus-5-5","max_tokens":64000}}"#;
    let answer = r#"{"type":"assistant","requestId":"req-bad","requestRef":"rb","sessionId":"bad","timestamp":"2026-11-12T01:00:01.000Z","message":{"id":"m","model":"us.anthropic.claude-opus-5-5","usage":{"input_tokens":10,"output_tokens":2}}}"#;
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"this is not json\n");
    bytes.extend_from_slice(b"{\"type\":\"assistant\",\"requestId\":\"torn\n");
    bytes.extend_from_slice(b"{\"type\":\"api-request\",\"id\":\"\xff\xfe\"}\n");
    bytes.extend_from_slice(format!("{api}\n{answer}\n").as_bytes());
    bytes.extend_from_slice(b"{\"type\":\"user\",\"mess");
    let bad = project.join("bad.jsonl");
    fs::write(&bad, bytes).unwrap();
    age(&bad);
    // An empty transcript and a binary one.
    fs::write(project.join("empty.jsonl"), b"").unwrap();
    fs::write(
        project.join("binary.jsonl"),
        [0u8, 159, 146, 150, 10, 0, 0, 10],
    )
    .unwrap();
    age(&project.join("binary.jsonl"));
    let data = home.data_dir();
    let missing = home.path("no-such-dir");
    let out = bin(&home, &data)
        .arg("import")
        .arg(&claude)
        .arg(&missing)
        .output()
        .unwrap();
    // What could be read is imported; the missing path is named and makes it fail.
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_says(&stderr, &["no-such-dir: no such file or folder"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_says(
        &text,
        &[
            "Imported 5 transcripts",
            "8 records found, 8 new",
            "Skipped: 3 garbage lines, 2 lines with non-UTF-8 bytes, 1 unreadable file, \
             1 file with a cut-off last line.",
            "no-such-dir",
        ],
    );
    let records = ledger(&data);
    assert!(
        of_kind(&records, "request")
            .iter()
            .any(|r| r["id"] == "req-bad" && r["max_tokens"] == 64000)
    );
}

#[test]
fn a_path_that_is_not_there_is_an_error() {
    let home = Home::new();
    let data = home.data_dir();
    let missing = home.path("nonexistent");
    let out = bin(&home, &data)
        .arg("import")
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(out.stdout, b"");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "bedrock-hook: {}: no such file or folder; nothing was imported\n",
            missing.display()
        )
    );
}

#[test]
fn nothing_to_import_says_where_it_looked() {
    let home = Home::new();
    let data = home.data_dir();
    bin(&home, &data)
        .arg("import")
        .env("XDG_CONFIG_HOME", home.path("xdg"))
        .assert()
        .success()
        .stdout(predicates::str::contains("No transcripts found in"))
        .stdout(predicates::str::contains(".claude/projects"));
}
