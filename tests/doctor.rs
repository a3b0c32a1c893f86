//! `bedrock-hook doctor` over real settings files in a temp HOME / CLAUDE_CONFIG_DIR and
//! project, and `doctor --fix` writing the user's settings.json.

use std::os::unix::fs::PermissionsExt;

mod support;

use serde_json::{Value, json};
use support::Home;

const NOW: &str = "2026-11-22T01:39:30Z";

/// A home with `config` as the config file, the clock at [`NOW`].
fn with_config(config: &str) -> Home {
    Home::with_config(config).at(NOW)
}

impl Home {
    /// User settings on Bedrock in us-east-1 with `model` and then `more` in their `env`,
    /// every hook and the status line wired to the built binary.
    fn write_installed_settings(&self, model: &str, more: &[(&str, &str)]) {
        let mut env = json!({
            "CLAUDE_CODE_USE_BEDROCK": "1",
            "AWS_REGION": "us-east-1",
            "ANTHROPIC_MODEL": model,
        });
        for (key, value) in more {
            env[*key] = json!(value);
        }
        let bin = support::BIN.to_string();
        let settings = json!({
            "env": env,
            "hooks": all_hooks(&bin),
            "statusLine": {"type": "command", "command": format!("{bin} statusline")}
        });
        self.write("home/.claude/settings.json", &settings.to_string());
    }

    /// `bedrock-hook doctor --project <proj> args` with `env` added: (code, stdout, stderr).
    fn doctor(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let project = self.project();
        let mut cmd = self.command(&["doctor", "--project", project.to_str().unwrap()]);
        cmd.args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }
}

fn all_hooks(command: &str) -> Value {
    let mut hooks = serde_json::Map::new();
    for event in bedrock_hook::hook::EVENTS {
        hooks.insert(
            event.to_string(),
            json!([{"matcher": "*", "hooks": [{"type": "command", "command": format!("{command} hook")}]}]),
        );
    }
    Value::Object(hooks)
}

#[test]
fn a_sound_set_up_is_all_ok() {
    let home = with_config("tpd = 100_000_000\ntpm = 5_000_000\n");
    home.write_installed_settings(
        "us.anthropic.claude-opus-5-5",
        &[("CLAUDE_CODE_MAX_OUTPUT_TOKENS", "8192")],
    );
    let (code, stdout, stderr) = home.doctor(&[], &[]);
    assert_eq!(stderr, "");
    assert_eq!(
        home.clean(&stdout),
        "bedrock-hook doctor: the set-up as Claude Code will see it
settings: <tmp>/home/.claude/settings.json, <tmp>/proj/.claude/settings.json (none), <tmp>/proj/.claude/settings.local.json (none)

ok    bedrock      CLAUDE_CODE_USE_BEDROCK=1 (user settings)
ok    region       us-east-1 (AWS_REGION, user settings)
ok    model        claude-opus-5-5 (ANTHROPIC_MODEL): burndown 10, default bucket, TPD 100M, TPM 5M
ok    quotas       all models TPD 100M TPM 5M; mode warn (`bedrock-hook quota show` lists them)
ok    reservation  claude-opus-5-5: 8.19k max_tokens from CLAUDE_CODE_MAX_OUTPUT_TOKENS x 10 burndown reserves 81.9k per request before input: 61 fit in the 5M TPM, <0.1% of the 100M TPD
ok    thinking     MAX_THINKING_TOKENS unset: the client chooses the thinking budget
ok    concurrency  20 subagents (CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS, default) and 10 parallel tools (CLAUDE_CODE_MAX_TOOL_USE_CONCURRENCY, default) x 81.9k per claude-opus-5-5 request = 1.64M fit in the 5M TPM
ok    throttles    no throttles recorded in the last 7 days
ok    hooks        all 14 events run <bin> (user settings)
ok    statusline   `<bin> statusline` (user settings)
ok    ledger       <tmp>/data/ledger is writable (0 day files)

0 errors, 0 warnings, 11 ok.
"
    );
    assert_eq!(code, 0);
}

#[test]
fn problems_are_errors_with_numbers_and_fixes_and_fix_writes_settings() {
    let home = with_config("tpd = 10_000_000\ntpm = 1_000_000\n");
    let original = "{\n  \"model\": \"opus\",\n  \"env\": {\n    \"CLAUDE_CODE_USE_BEDROCK\": \"1\",\n    \"AWS_REGION\": \"eu-west-1\",\n    \"ANTHROPIC_DEFAULT_OPUS_MODEL\": \"eu.anthropic.claude-opus-5-5\",\n    \"MAX_THINKING_TOKENS\": \"512\"\n  },\n  \"permissions\": {\"deny\": [\"Read(./.env)\"]},\n  \"statusLine\": {\"type\": \"command\", \"command\": \"ccstatusline\"}\n}\n";
    let settings = home.write("claude-config/settings.json", original);
    std::fs::set_permissions(&settings, std::fs::Permissions::from_mode(0o640)).unwrap();
    // HOME's settings must be ignored when CLAUDE_CONFIG_DIR is set.
    home.write(
        "home/.claude/settings.json",
        "{\"env\": {\"AWS_REGION\": \"ap-south-1\"}}",
    );
    home.write(
        "proj/.claude/settings.local.json",
        "{\"env\": {\"CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS\": \"40\"}}",
    );
    let config_dir = home.path("claude-config");
    let env = [("CLAUDE_CONFIG_DIR", config_dir.to_str().unwrap())];

    let (code, stdout, _) = home.doctor(&[], &env);
    let stdout = home.clean(&stdout);
    assert_eq!(code, 1, "{stdout}");
    for line in [
        "settings: <tmp>/claude-config/settings.json, <tmp>/proj/.claude/settings.json (none), <tmp>/proj/.claude/settings.local.json\n",
        "ok    region       eu-west-1 (AWS_REGION, user settings)\n",
        "ok    model        claude-opus-5-5 (settings model, ANTHROPIC_DEFAULT_OPUS_MODEL): burndown 10, default bucket, TPD 10M, TPM 1M\n",
        "error reservation  claude-opus-5-5: 128k max_tokens from the model default x 10 burndown reserves 1.28M per request before input, more than the whole 1M TPM: every request will be throttled\n",
        "                   fix: set CLAUDE_CODE_MAX_OUTPUT_TOKENS=4096 (no output history yet), reserving 41k per request: 24 fit in the 1M TPM, 0.4% of the 10M TPD\n",
        "error thinking     MAX_THINKING_TOKENS=512 (user settings) is below the API's minimum thinking budget of 1024: requests with thinking are rejected\n",
        "warn  concurrency  40 subagents (CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS, local project settings) and 10 parallel tools (CLAUDE_CODE_MAX_TOOL_USE_CONCURRENCY, default) x 41k per claude-opus-5-5 request = 1.64M against the 1M TPM (with CLAUDE_CODE_MAX_OUTPUT_TOKENS=4096 as fixed above): only 24 fit at once, parallel subagents will be throttled\n",
        "                   fix: set CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS=23 (one slot left for the main loop)\n",
        "error hooks        no bedrock-hook hooks in any settings.json: nothing is recorded or guarded\n",
        "warn  statusline   the status line is `ccstatusline` (user settings), without bedrock-hook\n",
        "3 errors, 2 warnings, 6 ok.\n",
        "`bedrock-hook doctor --fix` would set in <tmp>/claude-config/settings.json (env): CLAUDE_CODE_MAX_OUTPUT_TOKENS=4096, MAX_THINKING_TOKENS=1024, CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS=23\n",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), original);

    let (code, stdout, _) = home.doctor(&["--fix"], &env);
    let stdout = home.clean(&stdout);
    assert!(
        stdout.contains(
            "Changing env in <tmp>/claude-config/settings.json:
  + CLAUDE_CODE_MAX_OUTPUT_TOKENS = \"4096\"
  ~ MAX_THINKING_TOKENS = \"512\" -> \"1024\"
  + CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS = \"23\"
    note: <tmp>/proj/.claude/settings.local.json sets CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS = \"40\" and wins over user settings: change it there too
Backup: <tmp>/claude-config/settings.json.bedrock-hook-backup-20261122T013930Z
Wrote <tmp>/claude-config/settings.json.
After the fix: 1 error, 2 warnings, 8 ok.
"
        ),
        "{stdout}"
    );
    // Still an error left (no hooks installed): still non-zero.
    assert_eq!(code, 1);
    let backup = home.path("claude-config/settings.json.bedrock-hook-backup-20261122T013930Z");
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), original);
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    assert_eq!(
        written,
        json!({
            "model": "opus",
            "env": {
                "CLAUDE_CODE_USE_BEDROCK": "1",
                "AWS_REGION": "eu-west-1",
                "ANTHROPIC_DEFAULT_OPUS_MODEL": "eu.anthropic.claude-opus-5-5",
                "MAX_THINKING_TOKENS": "1024",
                "CLAUDE_CODE_MAX_OUTPUT_TOKENS": "4096",
                "CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS": "23"
            },
            "permissions": {"deny": ["Read(./.env)"]},
            "statusLine": {"type": "command", "command": "ccstatusline"}
        })
    );
    let keys: Vec<String> = written.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["model", "env", "permissions", "statusLine"]);
    assert_eq!(
        std::fs::metadata(&settings).unwrap().permissions().mode() & 0o777,
        0o640
    );
    // HOME's settings were never touched.
    assert_eq!(
        std::fs::read_to_string(home.path("home/.claude/settings.json")).unwrap(),
        "{\"env\": {\"AWS_REGION\": \"ap-south-1\"}}"
    );
    // It converges: a second run has nothing to write, and the one value it cannot set
    // in the user settings names the file that overrides it.
    let written = std::fs::read_to_string(&settings).unwrap();
    let (_, stdout, _) = home.doctor(&["--fix"], &env);
    let stdout = home.clean(&stdout);
    assert!(stdout.contains("Nothing for --fix to change."), "{stdout}");
    assert!(
        stdout.contains(
            "fix: set CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS=23 in \
             <tmp>/proj/.claude/settings.local.json (the local project settings, which win over \
             the user settings where it is set already)"
        ),
        "{stdout}"
    );
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), written);
}

#[test]
fn broken_settings_are_reported_and_never_rewritten() {
    let home = with_config("tpm = 1_000_000\n");
    let broken = "{\n  \"env\": {\"ANTHROPIC_MODEL\": \"us.anthropic.claude-opus-5-5\",}\n}\n";
    let path = home.write("home/.claude/settings.json", broken);
    let env = [
        ("CLAUDE_CODE_USE_BEDROCK", "1"),
        ("ANTHROPIC_MODEL", "us.anthropic.claude-opus-5-5"),
    ];
    let (code, stdout, stderr) = home.doctor(&["--fix"], &env);
    assert_ne!(code, 0);
    let stdout = home.clean(&stdout);
    assert!(
        stdout.contains("settings: <tmp>/home/.claude/settings.json (unusable)"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "error settings     <tmp>/home/.claude/settings.json (user settings): not valid JSON \
             (line 2, column 61): trailing comma at line 2 column 61\n"
        ),
        "{stdout}"
    );
    assert!(
        stderr.contains("settings.json:2:61: not valid JSON"),
        "{stderr}"
    );
    assert!(stderr.contains("left untouched"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
    let files: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
    assert_eq!(files.len(), 1);
}

#[test]
fn hooks_pointing_at_a_missing_binary_are_an_error() {
    let home = with_config("");
    let settings = json!({
        "env": {"CLAUDE_CODE_USE_BEDROCK": "1", "AWS_REGION": "us-east-1"},
        "hooks": all_hooks("/nowhere/bedrock-hook"),
        "statusLine": {"type": "command", "command": "bedrock-hook statusline --chain 'starship prompt'"}
    });
    home.write("home/.claude/settings.json", &settings.to_string());
    let (code, stdout, _) = home.doctor(&[], &[]);
    assert_eq!(code, 1);
    for line in [
        "error hooks        the hook command cannot run: /nowhere/bedrock-hook does not exist\n",
        "ok    hooks        all 14 events have a bedrock-hook hook (user settings)\n",
        "error statusline   `bedrock-hook statusline --chain 'starship prompt'` (user settings) cannot run: `bedrock-hook` is not on PATH\n",
        "warn  quotas       no quota configured: the guards and the status line cannot compare anything\n",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
}

#[test]
fn throttles_in_the_ledger_are_explained() {
    let home = with_config("tpd = 10_000_000\n");
    let line = json!({
        "v": 1, "kind": "throttle", "id": "s:p", "ts": "2026-11-22T01:00:00Z", "session": "s",
        "model": "us.anthropic.claude-opus-5-5", "model_norm": "claude-opus-5-5", "burndown": 10.0,
        "input": 0, "cache_write": 0, "cache_read": 0, "output": 0, "max_tokens": 128000,
        "max_tokens_source": "api-request", "reserved": 1_293_068, "settled": 0,
        "outcome": "no-response",
        "throttle": {"limit": "tokens-per-day", "day_used": 4_100_000, "minute_used": 1_300_000,
                     "minute_requests": 3, "tpd": 10_000_000}
    });
    home.write("data/ledger/2026-11-22.jsonl", &format!("{line}\n"));
    let (_, stdout, _) = home.doctor(&[], &[]);
    assert!(
        stdout.contains(
            "warn  throttles    all models: throttled once on tokens per day (TPD) at an estimated \
             4.1M used, 41% of the configured 10M: the effective TPD is nearer 4.1M, or something \
             else on the same account and region (a teammate, another machine, CI) used about \
             5.9M today.\n                   fix: `bedrock-hook quota calibrate` sets tpd = 4100000\n"
        ),
        "{stdout}"
    );
}

/// A ledger record of a request, for the tests that need history.
fn request_line(id: &str, model: &str, norm: &str, max_tokens: u64, source: &str) -> String {
    json!({
        "v": 1, "kind": "request", "id": id, "ts": "2026-11-22T01:00:00Z", "session": "s",
        "model": model, "model_norm": norm, "burndown": 5.0,
        "input": 100, "cache_write": 0, "cache_read": 0, "output": 20, "max_tokens": max_tokens,
        "max_tokens_source": "api-request", "reserved": 1000, "settled": 200,
        "outcome": "ok", "query_source": source
    })
    .to_string()
}

/// The auto-mode classifier (Sonnet 5 at max_tokens 64 and 8192) is a side request: it is
/// judged at what it is sent with, not as if it were the main model at its 128k default
/// ("every request will be throttled", exit 1).
#[test]
fn side_request_models_are_not_judged_as_the_main_model() {
    let home = with_config("tpd = 100_000_000\ntpm = 1_000_000\n");
    home.write_installed_settings("us.anthropic.claude-sonnet-4-5-20250929-v1:0", &[]);
    let sonnet45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    let sonnet5 = "us.anthropic.claude-sonnet-5";
    let lines = [
        request_line("a", sonnet45, "claude-sonnet-4-5", 32000, "sdk"),
        request_line("b", sonnet5, "claude-sonnet-5", 64, "auto_mode"),
        request_line("c", sonnet5, "claude-sonnet-5", 8192, "auto_mode"),
    ];
    home.write(
        "data/ledger/2026-11-22.jsonl",
        &format!("{}\n", lines.join("\n")),
    );
    let (code, stdout, _) = home.doctor(&[], &[]);
    assert!(!stdout.contains("\nerror "), "{stdout}");
    assert!(
        stdout.contains(
            "ok    reservation  claude-sonnet-5: side requests only (auto-mode classifier, \
             titles, summaries), sent with max_tokens up to 8.19k: 81.9k per request: 12 fit in \
             the 1M TPM, <0.1% of the 100M TPD\n"
        ),
        "{stdout}"
    );
    assert!(
        !stdout.contains("claude-sonnet-5: 128k max_tokens"),
        "{stdout}"
    );
    assert_eq!(code, 0, "{stdout}");
}

/// Model ids come from transcripts anyone can write: an escape sequence in one must not
/// reach the terminal (it could retitle the window, or worse).
#[test]
fn strings_from_transcripts_are_printed_clean() {
    let home = with_config("tpd = 100_000_000\ntpm = 1_000_000\n");
    let hostile = "us.anthropic.claude-opus-5-5\u{1b}]0;pwned\u{7}\u{202e}x";
    let norm = "claude-opus-5-5\u{1b}]0;pwned\u{7}\u{202e}x";
    home.write(
        "data/ledger/2026-11-22.jsonl",
        &format!("{}\n", request_line("a", hostile, norm, 128_000, "sdk")),
    );
    let (_, stdout, stderr) = home.doctor(&[], &[("CLAUDE_CODE_USE_BEDROCK", "1")]);
    for text in [&stdout, &stderr] {
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains('\u{202e}'),
            "{text:?}"
        );
    }
    assert!(stdout.contains("claude-opus-5-5]0;pwnedx"), "{stdout}");
}
