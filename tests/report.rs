//! `bedrock-hook report` over the hand-made ledger in `tests/fixtures/ledgers/basic`
//! (its README has the hand-computed figures), driving the built binary.

mod support;

use assert_cmd::Command;
use serde_json::Value;
use support::Home;

fn report(env: &Home, args: &[&str]) -> Command {
    let mut cmd = env.command(&["report"]);
    cmd.args(args);
    cmd
}

fn json(env: &Home, args: &[&str]) -> Value {
    json_env(env, args, &[])
}

/// `report --json` with `args` and the environment `vars` added.
fn json_env(env: &Home, args: &[&str], vars: &[(&str, &str)]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    support::json_of(report(env, &all).envs(vars.iter().copied()))
}

/// The report with `args` and the environment `vars` added, which must succeed.
fn report_text(env: &Home, args: &[&str], vars: &[(&str, &str)]) -> String {
    let out = report(env, args)
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// `text` holds every one of `needles`.
fn assert_contains_all(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn totals_match_the_hand_computed_figures() {
    let env = Home::with_ledger("basic");
    let doc = json(&env, &["--date", "2026-11-12"]);
    let totals = &doc["totals"];
    assert_eq!(
        totals,
        &serde_json::json!({
            "requests": 4,
            "input_tokens": 3570,
            "cache_write_tokens": 300,
            "cache_read_tokens": 5000,
            "output_tokens": 850,
            "quota_tokens": 12120,
            "reserved_tokens": 2584400,
            "throttles": 1
        })
    );
    assert_eq!(doc["unanswered"], 1);
    assert_eq!(doc["ledger_lines_skipped"], 1);
    assert_eq!(doc["range"]["start"], "2026-11-12T00:00:00Z");
    assert_eq!(doc["range"]["end"], "2026-11-13T00:00:00Z");
}

#[test]
fn json_schema_keys_are_stable() {
    let env = Home::with_ledger("basic");
    let doc = json(&env, &["--date", "2026-11-12"]);
    assert_eq!(doc["schema"], 1);
    let keys = |v: &Value| -> Vec<String> {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort_unstable();
        keys
    };
    assert_eq!(
        keys(&doc["totals"]),
        [
            "cache_read_tokens",
            "cache_write_tokens",
            "input_tokens",
            "output_tokens",
            "quota_tokens",
            "requests",
            "reserved_tokens",
            "throttles"
        ]
    );
    assert_eq!(
        keys(&doc),
        [
            "ledger_lines_skipped",
            "models",
            "output",
            "peaks",
            "quotas",
            "range",
            "schema",
            "sessions",
            "side",
            "throttles",
            "timeline",
            "totals",
            "unanswered"
        ]
    );
    let model = &doc["models"][0];
    for key in ["model", "ids", "burndown", "burndown_assumed", "requests"] {
        assert!(model.get(key).is_some(), "models[0].{key}");
    }
    let session = &doc["sessions"]["top"][0];
    for key in [
        "session",
        "project",
        "agents",
        "first",
        "last",
        "quota_tokens",
    ] {
        assert!(session.get(key).is_some(), "sessions.top[0].{key}");
    }
    for key in [
        "requests",
        "output_tokens",
        "max_tokens",
        "assumed_max_tokens",
        "at_limit",
        "headroom_percent",
        "suggested_max_tokens",
        "counterfactual_reserved_tokens",
        "reserved_savings_tokens",
        "models",
    ] {
        assert!(doc["output"].get(key).is_some(), "output.{key}");
    }
}

#[test]
fn per_model_sessions_peaks_and_advice() {
    let env = Home::with_ledger("basic");
    let doc = json(&env, &["--date", "2026-11-12"]);
    let models = doc["models"].as_array().unwrap();
    let names: Vec<&str> = models
        .iter()
        .map(|m| m["model"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["claude-opus-5-5", "claude-sonnet-4-5", "claude-haiku-4-5"]
    );
    assert_eq!(models[0]["quota_tokens"], 11200);
    assert_eq!(models[1]["throttles"], 1);
    let sessions = &doc["sessions"];
    assert_eq!(sessions["count"], 2);
    assert_eq!(sessions["top"][0]["session"], "s-alpha-0001");
    assert_eq!(sessions["top"][0]["project"], "/home/dev/alpha");
    assert_eq!(sessions["top"][0]["agents"], 1);
    assert_eq!(sessions["top"][0]["quota_tokens"], 11320);
    let peaks = &doc["peaks"];
    assert_eq!(peaks["tpm_minute"]["start"], "2026-11-12T09:00:00Z");
    assert_eq!(peaks["tpm_minute"]["quota_tokens"], 11200);
    assert_eq!(peaks["in_flight"]["requests"], 2);
    assert_eq!(peaks["in_flight"]["at"], "2026-11-12T09:00:10Z");
    assert_eq!(peaks["in_flight"]["reserved_tokens"], 2563200);
    let throttle = &doc["throttles"][0];
    assert_eq!(throttle["limit"], "tokens-per-day");
    assert_eq!(throttle["day_used"], 2000000);
    assert_eq!(doc["side"]["records"], 1);
    let output = &doc["output"];
    assert_eq!(output["requests"], 3);
    assert_eq!(output["output_tokens"]["max"], 500);
    assert_eq!(output["output_tokens"]["p50"], 300);
    assert_eq!(output["suggested_max_tokens"], 4096);
    // req-a1 and req-a2 would hold (128000 - 4096) x 10 less each; req-b1 asked 4096.
    assert_eq!(output["reserved_savings_tokens"], 2 * 1239040);
    assert_eq!(
        output["counterfactual_reserved_tokens"],
        2584400 - 2 * 1239040
    );
    let hours = doc["timeline"]["buckets"].as_array().unwrap();
    assert_eq!(doc["timeline"]["bucket_seconds"], 3600);
    assert_eq!(hours.len(), 24);
    assert_eq!(hours[9]["quota_tokens"], 11320);
    assert_eq!(hours[14]["quota_tokens"], 800);
    assert_eq!(hours[14]["throttles"], 1);
    assert_eq!(hours[23]["cumulative_quota_tokens"], 12120);
}

#[test]
fn ranges_dates_sessions_and_boundaries() {
    let env = Home::with_ledger("basic");
    let day_before = json(&env, &["--date", "2026-11-11"]);
    assert_eq!(day_before["totals"]["requests"], 1);
    let both = json(&env, &["--since", "2026-11-11", "--until", "2026-11-12"]);
    assert_eq!(both["totals"]["requests"], 5);
    assert_eq!(both["totals"]["quota_tokens"], 12120 + 170);
    let beta = json(&env, &["--session", "s-beta"]);
    assert_eq!(beta["range"]["start"], Value::Null);
    assert_eq!(beta["totals"]["requests"], 3);
    assert_eq!(beta["totals"]["throttles"], 1);
    let instant = json(
        &env,
        &[
            "--since",
            "2026-11-12T09:00:05Z",
            "--until",
            "2026-11-12T14:30:00Z",
        ],
    );
    assert_eq!(instant["totals"]["requests"], 1);
    // At +09:00 the TPD day 2026-11-12 runs from 2026-11-11T15:00Z: req-z0 is in, the
    // afternoon requests (after 15:00Z) are not.
    let tokyo = json_with(&env, &["--date", "2026-11-12"], "+09:00");
    assert_eq!(tokyo["totals"]["requests"], 5);
    assert_eq!(tokyo["range"]["day_boundary"], "+09:00");
}

fn json_with(env: &Home, args: &[&str], boundary: &str) -> Value {
    json_env(env, args, &[("BEDROCK_HOOK_DAY_BOUNDARY", boundary)])
}

#[test]
fn ambiguous_session_prefix_is_an_error() {
    let env = Home::with_ledger("basic");
    report(&env, &["--session", "s-"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("matches 2 sessions"));
}

#[test]
fn a_session_that_matches_nothing_is_an_error() {
    let env = Home::with_ledger("basic");
    for args in [
        &["--session", "zzz"][..],
        &["--session", "zzz", "--json"],
        &["--session", "zzz", "--csv"],
    ] {
        report(&env, args)
            .assert()
            .failure()
            .stdout("")
            .stderr("bedrock-hook: no session matches zzz (all days)\n");
    }
    // A session that exists, on a day it has no requests.
    report(&env, &["--session", "s-alpha", "--date", "2026-11-11"])
        .assert()
        .failure()
        .stderr("bedrock-hook: no session matches s-alpha (2026-11-11)\n");
}

#[test]
fn dates_as_people_type_them() {
    let env = Home::with_ledger("basic");
    let pinned =
        |args: &[&str], now: &str| -> Value { json_env(&env, args, &[("BEDROCK_HOOK_NOW", now)]) };
    // 2026-11-13 is a Friday: yesterday and Thursday are the 12th, -2d the 11th.
    let now = "2026-11-13T08:00:00Z";
    for word in ["yesterday", "thursday", "thu", "-1d"] {
        let doc = pinned(&["--date", word], now);
        assert_eq!(doc["totals"]["requests"], 4, "{word}");
    }
    assert_eq!(pinned(&["--date", "-2d"], now)["totals"]["requests"], 1);
    assert_eq!(
        pinned(&["--date", "today"], "2026-11-11T23:00:00Z")["totals"]["requests"],
        1
    );
    let both = pinned(&["--since", "wed", "--until", "yesterday"], now);
    assert_eq!(both["totals"]["requests"], 5);
    report(&env, &["--date", "someday"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("--date `someday`"))
        .stderr(predicates::str::contains("yesterday, -7d"));
}

#[test]
fn csv_has_a_header_and_one_row_per_record() {
    let env = Home::with_ledger("basic");
    let text = report_text(&env, &["--csv", "--date", "2026-11-12"], &[]);
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "kind,id,ts,end_ts,session,agent,project,model,model_norm,burndown,input_tokens,\
cache_write_tokens,cache_read_tokens,output_tokens,max_tokens,max_tokens_source,\
reserved_tokens,quota_tokens,outcome,query_source,throttle_limit"
    );
    assert_eq!(lines.len(), 1 + 6);
    assert!(lines[1].starts_with("request,req-a1,2026-11-12T09:00:00.000Z,"));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("throttle,thr-b3,") && l.ends_with(",tokens-per-day"))
    );
}

/// The account-wide cap on all models together is named with the quotas, and the day's
/// totals (every model's) are measured against it when it is the lower day limit.
#[test]
fn text_report_shows_the_cross_model_cap_when_it_is_lower() {
    let env = Home::with_ledger("basic");
    let text = report_text(
        &env,
        &["--date", "2026-11-12", "--color", "never"],
        &[
            ("BEDROCK_HOOK_TPD", "2.4M"),
            ("BEDROCK_HOOK_TPD_ALL_MODELS", "1M"),
            ("COLUMNS", "100"),
        ],
    );
    assert_contains_all(
        &text,
        &[
            "Quotas: TPD 2.4M · cross-model TPD 1M (env BEDROCK_HOOK_TPD, \
             BEDROCK_HOOK_TPD_ALL_MODELS)",
            "settled      12.1k  1% of cross-model TPD 1M",
        ],
    );
    let out = report(&env, &["--date", "2026-11-12", "--html", "-"])
        .env("BEDROCK_HOOK_TPD", "2.4M")
        .env("BEDROCK_HOOK_TPD_ALL_MODELS", "1M")
        .output()
        .unwrap();
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(
        page.contains("Quotas: TPD 2.4M · cross-model TPD 1M"),
        "no cross-model TPD in the page's quotas"
    );
}

#[test]
fn text_report_names_what_matters() {
    let env = Home::with_ledger("basic");
    let text = report_text(
        &env,
        &["--date", "2026-11-12"],
        &[("BEDROCK_HOOK_TPD", "2.4M"), ("COLUMNS", "100")],
    );
    assert_contains_all(
        &text,
        &[
            "Bedrock quota report · 2026-11-12",
            "TPD 2.4M",
            "settled      12.1k  <1% of TPD 2.4M",
            "claude-opus-5-5",
            "s-alpha-",
            "/home/dev/alpha",
            "│ even TPD pace 100k/h",
            "busiest minute   09:00  11.2k settled by 2 requests",
            "most in flight   2 requests at 09:00:10",
            "tokens-per-day",
            "Side requests",
            "max_tokens 4,096 covers every output seen",
            "CLAUDE_CODE_MAX_OUTPUT_TOKENS=4096",
        ],
    );
    assert!(!text.contains('\x1b'), "no colour into a pipe");
    for line in text.lines() {
        assert!(line.chars().count() <= 100, "{line:?}");
    }
}

#[test]
fn one_request_is_singular() {
    // Only req-b1 (14:30) in range: one request in the busiest minute, one in flight,
    // one answered.
    let env = Home::with_ledger("basic");
    let text = report_text(
        &env,
        &[
            "--since",
            "2026-11-12T14:00:00Z",
            "--until",
            "2026-11-12T14:40:00Z",
        ],
        &[("COLUMNS", "100")],
    );
    assert_contains_all(
        &text,
        &[
            "settled by 1 request\n",
            "most in flight   1 request at 14:30:00",
            "Output tokens vs max_tokens (1 answered request)",
        ],
    );
    assert!(!text.contains("1 requests"), "{text}");
}

#[test]
fn empty_day_says_so() {
    let env = Home::with_ledger("basic");
    report(&env, &["--date", "2020-01-01"])
        .assert()
        .success()
        .stdout(predicates::str::contains("Nothing recorded in this range."));
}

#[test]
fn hostile_names_are_cleaned_and_layout_fits_the_width() {
    let env = Home::with_ledger("basic");
    let hostile = format!(
        r#"{{"v":1,"kind":"request","id":"evil","ts":"2026-11-12T10:00:00Z","session":"s-evil\u001b[2J","model":"x\u001b]0;pwned\u0007\n","model_norm":"evil\u001b[31m-model-{}","burndown":5.0,"burndown_assumed":true,"input":1,"cache_write":0,"cache_read":0,"output":1,"max_tokens":4096,"max_tokens_source":"api-request","reserved":20481,"settled":6,"outcome":"ok","project":"/home/dev/\u202e{}"}}"#,
        "m".repeat(150),
        "p".repeat(150)
    );
    let day = env.data_dir().join("ledger/2026-11-12.jsonl");
    let mut text = std::fs::read_to_string(&day).unwrap();
    text.push_str(&hostile);
    text.push('\n');
    std::fs::write(&day, text).unwrap();
    for color in ["never", "always"] {
        let text = report_text(
            &env,
            &["--date", "2026-11-12", "--color", color],
            &[("COLUMNS", "80")],
        );
        assert!(!text.contains("\x1b[2J") && !text.contains("\x1b]0") && !text.contains('\u{7}'));
        assert!(!text.contains('\u{202e}'));
        let plain = strip_sgr(&text);
        assert!(!plain.contains('\x1b'), "only colour sequences of our own");
        for line in plain.lines() {
            assert!(line.chars().count() <= 80, "{line:?}");
        }
        assert_eq!(color == "always", text.contains("\x1b[1m"));
    }
}

/// Remove `ESC [ ... m` colour sequences.
fn strip_sgr(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            let mut seq = String::new();
            for d in chars.by_ref() {
                seq.push(d);
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
            if !seq.ends_with('m') {
                out.push('\x1b');
                out.push_str(&seq);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Run the report with stdout on a pseudo-terminal, as a user would see it.
fn report_on_a_terminal(env: &Home, no_color: Option<&str>) -> String {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    let (mut master, mut slave) = (0, 0);
    let size = libc::winsize {
        ws_row: 50,
        ws_col: 90,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty fills two descriptors we then own.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty");
    let master = unsafe { OwnedFd::from_raw_fd(master) };
    let slave = unsafe { OwnedFd::from_raw_fd(slave) };
    let mut cmd = env.std_command(&["report", "--date", "2026-11-12"]);
    cmd.stdout(std::process::Stdio::from(slave));
    if let Some(value) = no_color {
        cmd.env("NO_COLOR", value);
    }
    let mut child = cmd.spawn().unwrap();
    drop(cmd);
    let mut reader = std::fs::File::from(master);
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            // EIO once the child has closed the terminal.
            Err(_) => break,
        }
    }
    assert!(child.wait().unwrap().success());
    String::from_utf8(bytes).unwrap()
}

#[test]
fn colour_on_a_terminal_unless_no_color() {
    let env = Home::with_ledger("basic");
    let coloured = report_on_a_terminal(&env, None);
    assert!(coloured.contains("\x1b[1mTotals"), "{coloured}");
    // The terminal's 90 columns are used when COLUMNS is unset.
    assert!(
        strip_sgr(&coloured)
            .lines()
            .all(|l| l.trim_end_matches('\r').chars().count() <= 90)
    );
    let plain = report_on_a_terminal(&env, Some("1"));
    assert!(plain.contains("Totals"));
    assert!(!plain.contains('\x1b'), "{plain}");
}

/// Quotas set where `install.sh` says to put them, Claude Code's settings.json `env`, are
/// what the hooks see: `report` sees them too and names that file, not "(account default)".
#[test]
fn quotas_in_claude_settings_env_are_seen_and_named() {
    let env = Home::with_ledger("basic");
    env.write_user_settings(r#"{"env": {"BEDROCK_HOOK_TPD": "5M", "BEDROCK_HOOK_TPM": 400000}}"#);
    let out = report(&env, &["--date", "2026-11-12", "--color", "never"])
        .env("COLUMNS", "200")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(
            "Quotas: TPD 5M · TPM 400k (BEDROCK_HOOK_TPD, BEDROCK_HOOK_TPM in \
             ~/.claude/settings.json env)"
        ),
        "{text}"
    );
    assert!(!text.contains("No quota configured"), "{text}");
    let doc = json(&env, &["--date", "2026-11-12"]);
    assert_eq!(doc["quotas"]["tpd"], 5_000_000, "{doc}");
    // `config` resolves the same way and says where.
    let out = env.command(&["config"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().any(|l| l.starts_with("tpd ")
            && l.contains("5000000")
            && l.ends_with("# BEDROCK_HOOK_TPD in ~/.claude/settings.json env")),
        "{text}"
    );
}

/// `day_boundary = "local"` east of UTC on a DST switch day: the day starts at local
/// midnight with the offset in force then (Sydney, 2026-10-04: AEST +10:00 at midnight,
/// AEDT +11:00 from 02:00), not with the offset at UTC midnight. POSIX TZ rules, so no
/// time zone database is needed.
#[test]
fn a_local_day_starts_at_local_midnight_on_dst_switch_days() {
    let env = Home::with_ledger("basic");
    for (tz, date, start, end) in [
        (
            "AEST-10AEDT,M10.1.0,M4.1.0/3",
            "2026-10-04",
            "2026-10-03T14:00:00Z",
            "2026-10-04T13:00:00Z",
        ),
        (
            "AEST-10AEDT,M10.1.0,M4.1.0/3",
            "2026-04-05",
            "2026-04-04T13:00:00Z",
            "2026-04-05T14:00:00Z",
        ),
        (
            "NZST-12NZDT,M9.5.0,M4.1.0/3",
            "2026-09-27",
            "2026-09-26T12:00:00Z",
            "2026-09-27T11:00:00Z",
        ),
    ] {
        let doc = json_env(
            &env,
            &["--date", date],
            &[("BEDROCK_HOOK_DAY_BOUNDARY", "local"), ("TZ", tz)],
        );
        assert_eq!(doc["range"]["start"], start, "{tz} {date}");
        assert_eq!(doc["range"]["end"], end, "{tz} {date}");
    }
}
