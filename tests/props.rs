//! Property tests of everything that parses input from outside: the hook input, the status
//! line input, transcript lines, and model ids. Whatever arrives, nothing panics; the hook
//! exits 0 with nothing on stdout for garbage, and the status line prints exactly one line.

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use bedrock_hook::hook::HookInput;
use bedrock_hook::quota::normalize;
use bedrock_hook::transcript::wire::{Entry, classify};
use bedrock_hook::transcript::{Assembled, Assembler};
use proptest::prelude::*;
use serde_json::Value;
use support::{Home, lines};

/// Keys the parsers look at, so generated objects hit the interesting paths.
const KEYS: &[&str] = &[
    "type",
    "session_id",
    "sessionId",
    "transcript_path",
    "hook_event_name",
    "agent_id",
    "agentId",
    "cwd",
    "model",
    "id",
    "message",
    "usage",
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "requestId",
    "requestRef",
    "params",
    "max_tokens",
    "timestamp",
    "modelUsage",
    "inputTokens",
    "isApiErrorMessage",
    "tool_name",
    "error",
    "agent_transcript_path",
    "source",
    "display_name",
];
const TYPES: &[&str] = &[
    "api-request",
    "assistant",
    "user",
    "cost-state",
    "attachment",
    "api-request-blob",
];
const EVENTS: &[&str] = &[
    "PreToolUse",
    "PostToolUse",
    "UserPromptSubmit",
    "Stop",
    "StopFailure",
    "SubagentStop",
    "SessionStart",
    "SessionEnd",
    "Notification",
    "PostToolBatch",
    "",
];

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,40}".prop_map(Value::String),
        prop::sample::select(TYPES).prop_map(|t| Value::String(t.to_string())),
        prop::sample::select(EVENTS).prop_map(|t| Value::String(t.to_string())),
    ];
    leaf.prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        prop::sample::select(KEYS).prop_map(str::to_string),
                        "[a-z_]{1,12}"
                    ],
                    inner
                ),
                0..8
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// Bytes that are sometimes JSON, sometimes almost JSON, sometimes noise.
fn arb_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..400),
        arb_json().prop_map(|v| v.to_string().into_bytes()),
        (arb_json(), any::<usize>()).prop_map(|(v, cut)| {
            // Valid JSON cut short, as from a killed writer.
            let mut bytes = v.to_string().into_bytes();
            let keep = cut % (bytes.len() + 1);
            bytes.truncate(keep);
            bytes
        }),
        ".{0,200}".prop_map(String::into_bytes),
    ]
}

/// A transcript line with the real fields of one kind and random values in them.
fn arb_line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        arb_input(),
        (
            prop::sample::select(TYPES),
            arb_json(),
            arb_json(),
            arb_json()
        )
            .prop_map(|(kind, a, b, c)| {
                serde_json::json!({
                    "type": kind, "id": a, "requestId": b, "requestRef": "r1",
                    "timestamp": "2026-11-22T01:00:00.000Z", "sessionId": "s",
                    "params": {"model": c, "max_tokens": b},
                    "message": {"id": a, "model": c, "usage": {"input_tokens": a,
                                "output_tokens": b, "cache_read_input_tokens": c}},
                    "modelUsage": {"m": {"inputTokens": a, "outputTokens": b}},
                    "isApiErrorMessage": c,
                })
                .to_string()
                .into_bytes()
            }),
    ]
}

/// Model ids in every spelling Bedrock and Claude Code use, built from parts.
fn arb_model_id() -> impl Strategy<Value = (String, String)> {
    let family = prop::sample::select(&["opus", "sonnet", "haiku"][..]);
    let base = (family, 3u32..9, 0u32..9, any::<bool>()).prop_map(|(f, major, minor, first)| {
        if first {
            format!("claude-{f}-{major}-{minor}")
        } else {
            format!("claude-{major}-{minor}-{f}")
        }
    });
    (
        base,
        prop::sample::select(&["", "us.", "eu.", "apac.", "jp.", "au.", "global."][..]),
        any::<bool>(),
        prop::option::of(20200101u32..20301231),
        prop::option::of((1u32..4, 0u32..3)),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(base, region, vendor, date, version, context, arn, upper)| {
                let mut id = format!("{region}{}{base}", if vendor { "anthropic." } else { "" });
                if let Some(date) = date {
                    id.push_str(&format!("-{date}"));
                }
                if let Some((v, n)) = version {
                    id.push_str(&format!("-v{v}:{n}"));
                }
                if context {
                    id.push_str("[1m]");
                }
                if arn {
                    let kind = if region.is_empty() {
                        "foundation-model"
                    } else {
                        "inference-profile"
                    };
                    id = format!("arn:aws:bedrock:us-east-1:123456789012:{kind}/{id}");
                }
                if upper {
                    id = id.to_uppercase();
                }
                (id, base)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn classify_never_panics(line in arb_line()) {
        let _ = classify(&line);
    }

    #[test]
    fn hook_input_parse_never_panics(bytes in arb_input()) {
        if let Ok(input) = HookInput::parse(&bytes) {
            let _ = (input.event(), input.model_id());
        }
    }

    #[test]
    fn normalize_never_panics(raw in ".{0,80}", key in ".{0,20}", value in ".{0,20}") {
        let mut profiles = BTreeMap::new();
        let _ = normalize(&raw, &profiles);
        profiles.insert(key, value);
        let name = normalize(&raw, &profiles);
        let _ = name.version;
    }

    /// Region and vendor prefixes, release dates, version and context suffixes, ARNs and
    /// case never change which model an id names, and normalising twice changes nothing.
    #[test]
    fn decorations_do_not_change_the_model((id, base) in arb_model_id()) {
        let none = BTreeMap::new();
        let name = normalize(&id, &none);
        prop_assert_eq!(&name.canonical, &base, "{}", id);
        prop_assert_eq!(normalize(&name.canonical, &none).canonical, name.canonical.clone());
        prop_assert!(name.version.is_some(), "{}", id);
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whole sequences of lines (slow to generate: fewer cases).
    #[test]
    fn assembler_never_panics(lines in prop::collection::vec(arb_line(), 0..30)) {
        let mut assembler = Assembler::default();
        let mut out = Vec::new();
        for line in &lines {
            assembler.feed(classify(line), &mut out);
        }
        assembler.flush_unanswered(chrono::Utc::now(), &mut out);
        for item in &out {
            if let Assembled::Answered { response, .. } = item {
                prop_assert!(!response.key.is_empty());
            }
        }
    }

    /// New fields anywhere in a real line do not change what it is.
    #[test]
    fn unknown_fields_do_not_change_a_line(key in "[a-zA-Z_]{1,16}", value in arb_json()) {
        let samples = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/samples/transcript-main.jsonl");
        let text = std::fs::read_to_string(samples).unwrap();
        for line in text.lines() {
            let mut parsed: Value = serde_json::from_str(line).unwrap();
            let before = describe(&classify(line.as_bytes()));
            if KEYS.contains(&key.as_str()) || parsed.get(&key).is_some() {
                continue;
            }
            parsed[&key] = value.clone();
            let after = describe(&classify(parsed.to_string().as_bytes()));
            prop_assert_eq!(before, after, "{}", key);
        }
    }
}

/// What a classified entry says for accounting, for comparisons. User turns and other
/// lines are both ignored by the assembler, so they compare equal (a nested
/// `{"type":"user"}` object makes any line look like a user turn).
fn describe(entry: &Entry) -> String {
    match entry {
        Entry::ApiRequest(line) => format!(
            "api-request {:?} {:?}",
            line.id,
            line.params.as_ref().and_then(|p| p.max_tokens)
        ),
        Entry::Assistant(line) => format!(
            "assistant {:?} {:?}",
            line.request_id,
            line.message
                .as_ref()
                .and_then(|m| m.usage.as_ref())
                .map(|u| u.to_usage())
        ),
        Entry::CostState(line) => format!("cost-state {}", line.model_usage.len()),
        Entry::CompactBoundary(line) => format!("compact-boundary {:?}", line.uuid),
        Entry::ApiError(line) => format!("api-error {:?} {:?}", line.uuid, line.status()),
        Entry::UserTurn | Entry::Other | Entry::Malformed => "ignored".into(),
    }
}

// ---------------------------------------------------------------- the built binary

/// Run the binary on `stdin` with a private data dir holding `state` as its live state
/// and `transcript` as a session transcript; killed after 20 s.
fn run(args: &[&str], stdin: &[u8], state: &[u8], transcript: &[u8]) -> (Output, String) {
    let home = Home::new();
    let data = home.data_dir();
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("state.json"), state).unwrap();
    let path = home.path("t.jsonl");
    std::fs::write(&path, transcript).unwrap();
    // Inputs that name a transcript get this one.
    let stdin = String::from_utf8_lossy(stdin)
        .replace("TRANSCRIPT", &path.display().to_string())
        .into_bytes();
    let mut child = home
        .std_command(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(&stdin);
    let began = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if began.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("{args:?} hung on {:?}", String::from_utf8_lossy(&stdin));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let out = child.wait_with_output().unwrap();
    let input = String::from_utf8_lossy(&stdin).into_owned();
    (out, input)
}

/// Hook-shaped objects with random values, pointed at the transcript under test.
fn arb_hook_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        arb_input(),
        (prop::sample::select(EVENTS), arb_json(), arb_json()).prop_map(|(event, a, b)| {
            serde_json::json!({
                "session_id": a, "transcript_path": "TRANSCRIPT", "cwd": b,
                "hook_event_name": event, "agent_id": b, "tool_name": a,
                "tool_input": {"command": a}, "model": b,
            })
            .to_string()
            .into_bytes()
        }),
    ]
}

/// A transcript of random lines, some of them real request entries.
fn arb_transcript() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            arb_line().prop_map(|mut l| {
                l.retain(|b| *b != b'\n');
                l.push(b'\n');
                l
            }),
            (0u64..5).prop_map(|n| {
                lines::Request {
                    session: "s",
                    agent: None,
                    reference: format!("ref-{n}"),
                    request_id: format!("req-{n}"),
                    ts: "2026-11-22T01:00:00.000Z".into(),
                    parts: 2,
                    output: n,
                    tool_output: "out".into(),
                    tool_input: "in".into(),
                }
                .bytes()
            }),
        ],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Garbage in: exit 0, nothing on stdout (stdout is a decision to Claude Code), at most
    /// one line on stderr.
    #[test]
    fn hook_binary_fails_open_on_garbage(
        stdin in arb_hook_input(),
        state in arb_input(),
        transcript in arb_transcript(),
    ) {
        let (out, input) = run(&["hook"], &stdin, &state, &transcript);
        prop_assert!(out.status.success(), "{:?} for {}", out.status, input);
        prop_assert!(out.stdout.is_empty(), "stdout {:?} for {}",
            String::from_utf8_lossy(&out.stdout), input);
        prop_assert!(String::from_utf8_lossy(&out.stderr).lines().count() <= 1,
            "stderr {:?}", String::from_utf8_lossy(&out.stderr));
    }

    /// Anything in: exactly one line out, exit 0.
    #[test]
    fn status_line_always_prints_one_line(
        stdin in prop_oneof![
            arb_hook_input(),
            arb_json().prop_map(|model| serde_json::json!({
                "session_id": "s", "transcript_path": "TRANSCRIPT", "model": model,
            }).to_string().into_bytes()),
        ],
        state in arb_input(),
        transcript in arb_transcript(),
    ) {
        let (out, input) = run(&["statusline"], &stdin, &state, &transcript);
        prop_assert!(out.status.success(), "{:?} for {}", out.status, input);
        let text = String::from_utf8_lossy(&out.stdout);
        prop_assert_eq!(text.lines().count(), 1, "{:?} for {}", text, input);
        prop_assert!(text.ends_with('\n'));
    }
}
