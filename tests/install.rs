//! `bedrock-hook install` / `uninstall`, `install.sh` and the plugin files, driven as a user
//! would: the built binary and the script against real files in a temporary HOME.

mod support;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use assert_cmd::Command;
use bedrock_hook::install::merge::EVENTS;
use bedrock_hook::install::ours::is_hook_command;
use serde_json::Value;
use support::{BIN, Home, assert_says, stdout_of};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// What Claude Code writes: two-space indent, final newline.
const WITH_OTHER_HOOKS: &str = r#"{
  "model": "us.anthropic.claude-opus-5-5",
  "env": {
    "CLAUDE_CODE_USE_BEDROCK": "1",
    "AWS_REGION": "us-east-1"
  },
  "permissions": {
    "allow": [
      "Bash(cargo test:*)"
    ],
    "deny": []
  },
  "hooks": {
    "PreToolUse": [
      {
        "matcher": "Bash",
        "hooks": [
          {
            "type": "command",
            "command": "~/.claude/guard.sh",
            "timeout": 5
          }
        ]
      }
    ],
    "Stop": [
      {
        "hooks": [
          {
            "type": "command",
            "command": "notify-send 'Claude is done'"
          }
        ]
      }
    ],
    "Notification": [
      {
        "matcher": "",
        "hooks": [
          {
            "type": "command",
            "command": "paplay bell.oga"
          }
        ]
      }
    ]
  },
  "includeCoAuthoredBy": false
}
"#;

/// Names in a directory, sorted: to see that no backup or temp file appeared.
/// The keys of the JSON object `value`, in the order they stand.
fn keys_of(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect()
}

/// `uninstall` succeeds and leaves the user's settings as `original` was, byte for byte.
fn assert_uninstall_restores(sandbox: &Home, original: &str) {
    sandbox.command(&["uninstall"]).assert().success();
    assert_eq!(
        fs::read_to_string(sandbox.user_settings()).unwrap(),
        original
    );
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn our_binary() -> String {
    fs::canonicalize(BIN).unwrap().to_str().unwrap().to_string()
}

fn json_of(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).unwrap().mode() & 0o7777
}

fn backups_in(dir: &Path) -> Vec<String> {
    listing(dir)
        .into_iter()
        .filter(|n| n.contains(".bedrock-hook-backup-"))
        .collect()
}

/// Every event has exactly one hook running `<bin> hook`, after whatever else was there.
fn assert_installed(settings: &Value, bin: &str) {
    let command = format!("{bin} hook");
    for (event, by_tool) in EVENTS {
        let groups = settings["hooks"][event].as_array().unwrap();
        let ours: Vec<&Value> = groups
            .iter()
            .flat_map(|g| g["hooks"].as_array().unwrap())
            .filter(|h| is_hook_command(h["command"].as_str().unwrap()))
            .collect();
        assert_eq!(ours.len(), 1, "{event}: {groups:?}");
        assert_eq!(ours[0]["command"], command.as_str());
        assert_eq!(ours[0]["timeout"], 10);
        let last = groups.last().unwrap();
        assert_eq!(
            last["hooks"][0]["command"],
            command.as_str(),
            "{event}: ours go last"
        );
        assert_eq!(last.get("matcher").is_some(), by_tool, "{event}");
    }
}

#[test]
fn no_settings_file_creates_one_the_way_claude_code_writes_it() {
    let sandbox = Home::new();
    let out = stdout_of(&mut sandbox.command(&["install"]));
    assert_says(
        &out,
        &[
            "hooks added: SessionStart, UserPromptSubmit, PreToolUse",
            "status line: set (there was none)",
        ],
    );
    assert!(!out.contains("backup"), "nothing to back up: {out}");

    let path = sandbox.user_settings();
    let text = fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("{\n  \"hooks\": {\n    \"SessionStart\": [\n"),
        "{text}"
    );
    assert!(text.ends_with("}\n"));
    let settings = json_of(&path);
    assert_installed(&settings, &our_binary());
    assert_eq!(
        settings["statusLine"],
        serde_json::json!({"type": "command", "command": format!("{} statusline", our_binary()), "padding": 0})
    );
    assert_eq!(mode_of(&path), 0o600);
    assert_eq!(mode_of(&sandbox.home().join(".claude")), 0o700);
    assert_eq!(listing(&sandbox.home().join(".claude")), ["settings.json"]);
}

#[test]
fn other_hooks_on_the_same_events_are_kept_in_order_and_uninstall_restores_the_bytes() {
    let sandbox = Home::new();
    sandbox.write_user_settings(WITH_OTHER_HOOKS);
    sandbox.command(&["install"]).assert().success();

    let settings = json_of(&sandbox.user_settings());
    assert_installed(&settings, &our_binary());
    let top: Vec<&str> = keys_of(&settings);
    assert_eq!(
        top,
        [
            "model",
            "env",
            "permissions",
            "hooks",
            "includeCoAuthoredBy",
            "statusLine"
        ]
    );
    let events: Vec<&str> = keys_of(&settings["hooks"]);
    assert_eq!(&events[..3], ["PreToolUse", "Stop", "Notification"]);
    let original: Value = serde_json::from_str(WITH_OTHER_HOOKS).unwrap();
    assert_eq!(
        settings["hooks"]["PreToolUse"][0],
        original["hooks"]["PreToolUse"][0]
    );
    assert_eq!(settings["hooks"]["Stop"][0], original["hooks"]["Stop"][0]);
    assert_eq!(
        settings["hooks"]["Notification"],
        original["hooks"]["Notification"]
    );
    assert_eq!(settings["env"], original["env"]);
    assert_eq!(settings["permissions"], original["permissions"]);

    let out = stdout_of(&mut sandbox.command(&["uninstall"]));
    assert_says(
        &out,
        &[
            "hooks removed: PreToolUse, Stop, SessionStart",
            "status line: removed",
        ],
    );
    assert_eq!(
        fs::read_to_string(sandbox.user_settings()).unwrap(),
        WITH_OTHER_HOOKS
    );
    let again = stdout_of(&mut sandbox.command(&["uninstall"]));
    assert_says(&again, &["has no bedrock-hook entries; nothing changed"]);
}

#[test]
fn existing_status_line_is_wrapped_runs_first_and_is_restored() {
    let sandbox = Home::new();
    let theirs = r#"printf '%s\n' "it's \"theirs\"" && echo second line"#;
    let original = format!(
        "{{\n  \"statusLine\": {{\n    \"type\": \"command\",\n    \"command\": {},\n    \"padding\": 1\n  }}\n}}\n",
        serde_json::to_string(theirs).unwrap()
    );
    sandbox.write_user_settings(&original);
    let out = stdout_of(&mut sandbox.command(&["install"]));
    assert_says(
        &out,
        &[&format!(
            "status line: yours is kept and shown first: {theirs}"
        )],
    );

    let settings = json_of(&sandbox.user_settings());
    assert_eq!(settings["statusLine"]["padding"], 1);
    let wrapped = settings["statusLine"]["command"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        wrapped.starts_with(&format!("{} statusline --chain '", our_binary())),
        "{wrapped}"
    );

    // Claude Code runs the command through a shell: their line comes first, then ours.
    let input = fs::read(support::samples().join("statusline-input.json")).unwrap();
    let shown = Command::from_std(sandbox.program("sh"))
        .arg("-c")
        .arg(&wrapped)
        .env("NO_COLOR", "1")
        .write_stdin(input)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let shown = String::from_utf8(shown).unwrap();
    assert!(shown.starts_with("it's \"theirs\" │ quota"), "{shown}");

    // Not wrapped twice.
    let again = stdout_of(&mut sandbox.command(&["install"]));
    assert_says(&again, &["nothing changed"]);
    assert_eq!(
        json_of(&sandbox.user_settings())["statusLine"]["command"],
        wrapped.as_str()
    );

    let out = stdout_of(&mut sandbox.command(&["uninstall"]));
    assert_says(&out, &[&format!("status line: yours restored: {theirs}")]);
    assert_eq!(
        fs::read_to_string(sandbox.user_settings()).unwrap(),
        original
    );
}

#[test]
fn invalid_json_is_refused_with_line_and_column_and_left_untouched() {
    let sandbox = Home::new();
    let broken = "{\n  \"model\": \"opus\",\n  \"hooks\": {\n    \"Stop\": []\n  },,\n}\n";
    sandbox.write_user_settings(broken);
    fs::set_permissions(sandbox.user_settings(), fs::Permissions::from_mode(0o640)).unwrap();
    let before = fs::metadata(sandbox.user_settings()).unwrap();
    for verb in ["install", "uninstall"] {
        let assert = sandbox.command(&[verb]).assert().failure();
        let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
        let expected = format!("{}:5:5: not valid JSON", sandbox.user_settings().display());
        assert_says(&stderr, &[&expected, "left untouched"]);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    assert_eq!(fs::read_to_string(sandbox.user_settings()).unwrap(), broken);
    let after = fs::metadata(sandbox.user_settings()).unwrap();
    assert_eq!(
        (after.ino(), after.mtime_nsec(), after.mode()),
        (before.ino(), before.mtime_nsec(), before.mode())
    );
    assert_eq!(listing(&sandbox.home().join(".claude")), ["settings.json"]);
}

#[test]
fn running_install_twice_changes_nothing_and_makes_no_second_backup() {
    let sandbox = Home::new();
    sandbox.write_user_settings(WITH_OTHER_HOOKS);
    let out = stdout_of(&mut sandbox.command(&["install"]));
    assert_says(&out, &["backup of the previous file:"]);
    let dir = sandbox.home().join(".claude");
    let backups = backups_in(&dir);
    assert_eq!(backups.len(), 1);
    assert_eq!(
        fs::read_to_string(dir.join(&backups[0])).unwrap(),
        WITH_OTHER_HOOKS
    );

    let first = fs::read(sandbox.user_settings()).unwrap();
    let inode = fs::metadata(sandbox.user_settings()).unwrap().ino();
    let out = stdout_of(&mut sandbox.command(&["install"]));
    assert_says(&out, &["already set up; nothing changed"]);
    assert_eq!(fs::read(sandbox.user_settings()).unwrap(), first);
    assert_eq!(
        fs::metadata(sandbox.user_settings()).unwrap().ino(),
        inode,
        "not rewritten"
    );
    assert_eq!(backups_in(&dir), backups);
}

#[test]
fn a_moved_binary_is_updated_in_place_not_duplicated() {
    let sandbox = Home::new();
    let mut bins = Vec::new();
    for place in ["old", "new dir"] {
        let dir = sandbox.root().join(place);
        fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("bedrock-hook");
        std::os::unix::fs::symlink(BIN, &bin).unwrap();
        bins.push(bin.to_str().unwrap().to_string());
    }
    sandbox
        .command(&["install", "--bin", &bins[0]])
        .assert()
        .success();
    let out = stdout_of(&mut sandbox.command(&["install", "--bin", &bins[1]]));
    assert_says(&out, &["hooks pointed at the new binary: SessionStart"]);
    assert!(!out.contains("hooks added"), "{out}");
    let settings = json_of(&sandbox.user_settings());
    assert_installed(&settings, &format!("'{}'", bins[1]));
    assert_eq!(
        settings["statusLine"]["command"],
        format!("'{}' statusline", bins[1]).as_str()
    );
}

#[test]
fn an_enabled_plugin_is_pointed_out() {
    let sandbox = Home::new();
    sandbox.write_user_settings(r#"{"enabledPlugins": {"bedrock-hook@bedrock-hook": true}}"#);
    for _ in 0..2 {
        let out = stdout_of(&mut sandbox.command(&["install"]));
        assert_says(
            &out,
            &["note: the bedrock-hook@bedrock-hook plugin is enabled too"],
        );
    }
}

#[test]
fn statusline_only_is_for_plugin_users() {
    let sandbox = Home::new();
    let original = "{\n  \"enabledPlugins\": {\n    \"bedrock-hook@bedrock-hook\": true\n  },\n  \"statusLine\": {\n    \"type\": \"command\",\n    \"command\": \"starship statusline claude-code\"\n  }\n}\n";
    sandbox.write_user_settings(original);
    let out = stdout_of(&mut sandbox.command(&["install", "--statusline-only"]));
    assert_says(
        &out,
        &["status line: yours is kept and shown first: starship statusline claude-code"],
    );
    assert!(!out.contains("hooks") && !out.contains("note:"), "{out}");
    let settings = json_of(&sandbox.user_settings());
    assert!(settings.get("hooks").is_none());
    assert_eq!(
        settings["statusLine"]["command"],
        format!(
            "{} statusline --chain 'starship statusline claude-code'",
            our_binary()
        )
        .as_str()
    );
    assert_uninstall_restores(&sandbox, original);
}

#[test]
fn bin_must_exist_and_be_called_bedrock_hook() {
    let sandbox = Home::new();
    let missing = sandbox.root().join("nowhere/bedrock-hook");
    sandbox
        .command(&["install", "--bin", missing.to_str().unwrap()])
        .assert()
        .failure()
        .stderr(predicates::str::contains("does not exist"));
    sandbox
        .command(&[
            "install",
            "--bin",
            BIN.replace("bedrock-hook", "bh").as_str(),
        ])
        .assert()
        .failure()
        .stderr(predicates::str::contains("is not named bedrock-hook"));
    assert!(!sandbox.user_settings().exists());
}

#[test]
fn project_flag_edits_the_project_settings_only() {
    let sandbox = Home::new();
    let out = stdout_of(&mut sandbox.command(&["install", "--project"]));
    let path = sandbox.project().join(".claude/settings.json");
    assert_says(
        &out,
        &[&format!("bedrock-hook install: {}", path.display())],
    );
    assert_installed(&json_of(&path), &our_binary());
    assert_eq!(
        mode_of(&path),
        0o644,
        "project settings are meant to be shared"
    );
    assert!(!sandbox.home().join(".claude").exists());
    sandbox
        .command(&["uninstall", "--project"])
        .assert()
        .success();
    assert_eq!(fs::read_to_string(&path).unwrap(), "{}\n");
}

#[test]
fn claude_config_dir_is_one_folder_commas_and_all_as_the_client_reads_it() {
    // Claude Code 2.1.328 does not split CLAUDE_CONFIG_DIR: with `/a,/b` it reads its
    // settings from the folder `/a,/b` (docs/protocol.md §2), so that is where install writes.
    let sandbox = Home::new();
    let first = sandbox.root().join("cfg one");
    let second = sandbox.root().join("cfg-two");
    let list = format!("{},{}", first.display(), second.display());
    sandbox
        .command(&["install"])
        .env("CLAUDE_CONFIG_DIR", &list)
        .assert()
        .success();
    assert_installed(
        &json_of(&Path::new(&list).join("settings.json")),
        &our_binary(),
    );
    assert!(!first.exists());
    assert!(!sandbox.user_settings().exists());
}

#[test]
fn dry_run_prints_a_diff_and_writes_nothing() {
    let sandbox = Home::new();
    sandbox.write_user_settings(WITH_OTHER_HOOKS);
    let out = stdout_of(&mut sandbox.command(&["install", "--dry-run"]));
    let path = sandbox.user_settings().display().to_string();
    assert_says(
        &out,
        &[
            &format!("--- {path}\n+++ {path} (after install)\n@@ -"),
            &format!("+            \"command\": \"{} hook\",", our_binary()),
            "-  \"includeCoAuthoredBy\": false\n+  \"includeCoAuthoredBy\": false,\n+  \"statusLine\": {",
            &format!("dry run: nothing was written to {path}"),
        ],
    );
    assert_eq!(
        fs::read_to_string(sandbox.user_settings()).unwrap(),
        WITH_OTHER_HOOKS
    );
    assert_eq!(listing(&sandbox.home().join(".claude")), ["settings.json"]);

    // Without a file: the whole new file as additions, and no directory created.
    let fresh = Home::new();
    let out = stdout_of(&mut fresh.command(&["install", "--dry-run"]));
    assert_says(&out, &["@@ -0,0 +1,"]);
    assert!(!fresh.home().join(".claude").exists());
}

#[test]
fn file_permissions_and_symlinks_are_kept() {
    let sandbox = Home::new();
    let dotfiles = sandbox.root().join("dotfiles");
    fs::create_dir_all(&dotfiles).unwrap();
    let real = dotfiles.join("claude-settings.json");
    fs::write(&real, WITH_OTHER_HOOKS).unwrap();
    fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
    fs::create_dir_all(sandbox.home().join(".claude")).unwrap();
    std::os::unix::fs::symlink(&real, sandbox.user_settings()).unwrap();

    let out = stdout_of(&mut sandbox.command(&["install"]));
    assert!(
        fs::symlink_metadata(sandbox.user_settings())
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(mode_of(&real), 0o640);
    assert_installed(&json_of(&real), &our_binary());
    // The backup holds the user's `env` (secrets): beside the link in ~/.claude, not in
    // the dotfiles repo the link points into, and the output says where it went.
    assert!(
        backups_in(&dotfiles).is_empty(),
        "backup in the dotfiles repo"
    );
    let claude = sandbox.home().join(".claude");
    let backups = backups_in(&claude);
    assert_eq!(backups.len(), 1, "the backup sits next to the link");
    assert_eq!(mode_of(&claude.join(&backups[0])), 0o640);
    assert_says(
        &out,
        &[
            &format!(
                "backup of the previous file: {}",
                claude.join(&backups[0]).display()
            ),
            &format!(
                "settings.json links to {}",
                real.canonicalize().unwrap().display()
            ),
        ],
    );

    sandbox.command(&["uninstall"]).assert().success();
    assert_eq!(fs::read_to_string(&real).unwrap(), WITH_OTHER_HOOKS);
    assert_eq!(mode_of(&real), 0o640);
}

// ---- install.sh -------------------------------------------------------------------------

fn install_sh(sandbox: &Home, bin_dir: &Path) -> Command {
    let mut cmd = Command::from_std(sandbox.program(Path::new(REPO).join("install.sh")));
    cmd.env("BEDROCK_HOOK_BIN_DIR", bin_dir)
        .env("BEDROCK_HOOK_PREBUILT", BIN);
    cmd
}

#[test]
fn install_sh_copies_the_binary_installs_and_names_the_next_step() {
    let sandbox = Home::new();
    sandbox.write_user_settings(WITH_OTHER_HOOKS);
    let bin_dir = sandbox.root().join("bin");
    let out = stdout_of(&mut install_sh(&sandbox, &bin_dir));
    let installed = bin_dir.join("bedrock-hook");
    assert_says(
        &out,
        &[
            &format!("installed the binary: {}", installed.display()),
            "hooks added: SessionStart",
            "One step left",
            "quota import",
            "BEDROCK_HOOK_TPD",
        ],
    );
    assert_eq!(mode_of(&installed), 0o755);
    assert_eq!(fs::read(&installed).unwrap(), fs::read(BIN).unwrap());
    assert_installed(
        &json_of(&sandbox.user_settings()),
        installed.to_str().unwrap(),
    );
    StdCommand::new(&installed)
        .arg("--version")
        .status()
        .unwrap()
        .success()
        .then_some(())
        .unwrap();

    // Safe to re-run.
    let settings = fs::read(sandbox.user_settings()).unwrap();
    let again = stdout_of(&mut install_sh(&sandbox, &bin_dir));
    assert_says(
        &again,
        &[
            "already set up; nothing changed",
            "the binary is up to date",
        ],
    );
    assert_eq!(fs::read(sandbox.user_settings()).unwrap(), settings);
    assert_eq!(listing(&bin_dir), ["bedrock-hook"], "no temp file left");
}

/// With a quota already configured (here in settings.json `env`, where the README puts
/// it), there is no step left to name.
#[test]
fn install_sh_names_the_quota_step_only_when_no_quota_is_configured() {
    let sandbox = Home::new();
    sandbox.write_user_settings(r#"{"env": {"BEDROCK_HOOK_TPD": "5M"}}"#);
    let bin_dir = sandbox.root().join("bin");
    let out = stdout_of(&mut install_sh(&sandbox, &bin_dir));
    assert!(!out.contains("One step left"), "{out}");
    assert_says(
        &out,
        &["install.sh: done. Your quotas are already configured"],
    );
}

#[test]
fn install_sh_passes_arguments_through() {
    let sandbox = Home::new();
    let bin_dir = sandbox.root().join("bin");
    let out = stdout_of(install_sh(&sandbox, &bin_dir).args(["--project", "--dry-run"]));
    let path = sandbox.project().join(".claude/settings.json");
    assert_says(
        &out,
        &[
            &format!("+++ {} (after install)", path.display()),
            "dry run: would copy the binary",
        ],
    );
    assert!(!bin_dir.exists(), "dry run copies nothing");
    assert!(!path.exists(), "dry run writes nothing");

    stdout_of(install_sh(&sandbox, &bin_dir).arg("--project"));
    assert_installed(
        &json_of(&path),
        bin_dir.join("bedrock-hook").to_str().unwrap(),
    );
    assert!(!sandbox.user_settings().exists());
}

/// A PATH holding only the tools install.sh needs, so "no cargo" is tested whatever the
/// machine has installed.
fn path_without_cargo(sandbox: &Home) -> PathBuf {
    let dir = sandbox.root().join("tools");
    fs::create_dir_all(&dir).unwrap();
    for tool in [
        "bash", "env", "dirname", "cp", "mv", "mkdir", "chmod", "rm", "cat",
    ] {
        let found = StdCommand::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .unwrap();
        let real = String::from_utf8(found.stdout).unwrap().trim().to_string();
        assert!(!real.is_empty(), "{tool} not found");
        std::os::unix::fs::symlink(real, dir.join(tool)).unwrap();
    }
    dir
}

#[test]
fn install_sh_without_cargo_says_what_to_do() {
    let sandbox = Home::new();
    let bin_dir = sandbox.root().join("bin");
    let tools = path_without_cargo(&sandbox);
    let assert = Command::from_std(sandbox.program(tools.join("bash")))
        .arg(Path::new(REPO).join("install.sh"))
        .env("PATH", &tools)
        .env("BEDROCK_HOOK_BIN_DIR", &bin_dir)
        .assert()
        .failure();
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.starts_with("install.sh: error: cargo not found."),
        "{stderr}"
    );
    assert_says(&stderr, &["rustup.rs"]);
    assert!(!bin_dir.exists());
    assert!(!sandbox.user_settings().exists());
}

// ---- plugin -----------------------------------------------------------------------------

#[test]
fn plugin_hooks_cover_the_same_events_as_install() {
    let hooks = json_of(&Path::new(REPO).join("hooks/hooks.json"));
    let events: Vec<&str> = keys_of(&hooks["hooks"]);
    let expected: Vec<&str> = EVENTS.iter().map(|(e, _)| *e).collect();
    assert_eq!(events, expected);
    for (event, by_tool) in EVENTS {
        let groups = hooks["hooks"][event].as_array().unwrap();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].get("matcher").is_some(), by_tool, "{event}");
        let hook = &groups[0]["hooks"][0];
        assert_eq!(hook["type"], "command");
        assert_eq!(
            hook["command"],
            "\"${CLAUDE_PLUGIN_ROOT}/hooks/run-bedrock-hook\" hook"
        );
        assert_eq!(hook["timeout"], 10);
    }
    assert_eq!(
        mode_of(&Path::new(REPO).join("hooks/run-bedrock-hook")) & 0o111,
        0o111
    );

    let manifest = json_of(&Path::new(REPO).join(".claude-plugin/plugin.json"));
    assert_eq!(manifest["name"], "bedrock-hook");
    assert_eq!(manifest["version"], env!("CARGO_PKG_VERSION"));
    assert!(manifest["description"].as_str().unwrap().len() > 40);
    let marketplace = json_of(&Path::new(REPO).join(".claude-plugin/marketplace.json"));
    assert_eq!(marketplace["plugins"][0]["name"], "bedrock-hook");
    assert_eq!(marketplace["plugins"][0]["source"], "./");
}

fn plugin_wrapper(sandbox: &Home, bin_dir: &Path) -> Command {
    let mut cmd =
        Command::from_std(sandbox.program(Path::new(REPO).join("hooks/run-bedrock-hook")));
    cmd.env("CLAUDE_PLUGIN_ROOT", sandbox.root().join("plugin-root"))
        .env("BEDROCK_HOOK_BIN_DIR", bin_dir);
    cmd
}

#[test]
fn plugin_wrapper_runs_the_installed_binary() {
    let sandbox = Home::new();
    let bin_dir = sandbox.root().join("bin");
    fs::create_dir_all(&bin_dir).unwrap();
    std::os::unix::fs::symlink(BIN, bin_dir.join("bedrock-hook")).unwrap();
    plugin_wrapper(&sandbox, &bin_dir)
        .arg("--version")
        .assert()
        .success()
        .stdout(format!("bedrock-hook {}\n", env!("CARGO_PKG_VERSION")));

    // A real hook event goes through to the binary's ledger.
    let data = sandbox.data_dir();
    let event = fs::read(support::samples().join("hook-SessionStart.json")).unwrap();
    plugin_wrapper(&sandbox, &bin_dir)
        .arg("hook")
        .write_stdin(event)
        .assert()
        .success();
    assert!(
        data.join("ledger.lock").exists(),
        "the binary ran and opened its ledger"
    );
}

#[test]
fn plugin_wrapper_without_a_binary_fails_open() {
    let sandbox = Home::new();
    let empty = sandbox.root().join("empty");
    fs::create_dir_all(&empty).unwrap();
    let assert = plugin_wrapper(&sandbox, &empty)
        .arg("hook")
        .write_stdin("{}")
        .assert()
        .success()
        .stdout("");
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_says(&stderr, &["binary not found"]);
}

/// What the user wrote is kept: duplicate keys (Claude Code uses the last one; the first
/// stays in the file), numbers as written, inline objects; install + uninstall gives the
/// same bytes back.
#[test]
fn duplicate_keys_and_numbers_as_written_survive_install_and_uninstall() {
    let sandbox = Home::new();
    let original = "{\n  \"hooks\": {\"Stop\": [{\"hooks\": [{\"type\": \"command\", \"command\": \"old-notify\"}]}]},\n  \"feedbackSurveyRate\": 1e2,\n  \"big\": 12345678901234567890123,\n  \"env\": {\"AWS_REGION\": \"us-east-1\"},\n  \"hooks\": {\n    \"Stop\": [\n      {\n        \"hooks\": [\n          {\n            \"type\": \"command\",\n            \"command\": \"paplay bell.oga\",\n            \"timeout\": 1e2\n          }\n        ]\n      }\n    ]\n  }\n}\n";
    sandbox.write_user_settings(original);
    sandbox.command(&["install"]).assert().success();
    let installed = fs::read_to_string(sandbox.user_settings()).unwrap();
    assert!(
        installed.starts_with(
            "{\n  \"hooks\": {\"Stop\": [{\"hooks\": [{\"type\": \"command\", \"command\": \"old-notify\"}]}]},\n  \"feedbackSurveyRate\": 1e2,\n  \"big\": 12345678901234567890123,\n"
        ),
        "{installed}"
    );
    // The user's own hook on an event we join keeps its number too.
    assert_says(&installed, &["\"timeout\": 1e2\n"]);
    assert_installed(&json_of(&sandbox.user_settings()), &our_binary());
    assert_uninstall_restores(&sandbox, original);
}

/// A settings.json made read-only is the user's decision: refused, and said why.
#[test]
fn a_read_only_settings_file_is_refused() {
    let sandbox = Home::new();
    sandbox.write_user_settings(WITH_OTHER_HOOKS);
    fs::set_permissions(sandbox.user_settings(), fs::Permissions::from_mode(0o444)).unwrap();
    let out = sandbox.command(&["install"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_says(
        &stderr,
        &[&format!(
            "{} is read-only (mode 0444), so bedrock-hook leaves it as it is; make it writable",
            sandbox.user_settings().display()
        )],
    );
    assert_eq!(
        fs::read_to_string(sandbox.user_settings()).unwrap(),
        WITH_OTHER_HOOKS
    );
    assert_eq!(mode_of(&sandbox.user_settings()), 0o444);
    assert_eq!(listing(&sandbox.home().join(".claude")), ["settings.json"]);
}

/// A hook command with variables in front (`BEDROCK_HOOK_MODE=block .../bedrock-hook
/// hook`) is ours: install adds no second entry and keeps the variables, uninstall takes
/// it out.
#[test]
fn an_env_prefixed_hook_command_is_ours() {
    let sandbox = Home::new();
    let prefixed = format!("BEDROCK_HOOK_MODE=block {} hook", our_binary());
    let settings = serde_json::json!({
        "hooks": {"UserPromptSubmit": [{"hooks": [{"type": "command", "command": prefixed}]}]}
    });
    sandbox.write_user_settings(&serde_json::to_string_pretty(&settings).unwrap());
    sandbox.command(&["install"]).assert().success();
    let installed = json_of(&sandbox.user_settings());
    let prompt = installed["hooks"]["UserPromptSubmit"].as_array().unwrap();
    assert_eq!(prompt.len(), 1, "{installed:#}");
    assert_eq!(prompt[0]["hooks"][0]["command"], prefixed.as_str());
    sandbox.command(&["uninstall"]).assert().success();
    let after = json_of(&sandbox.user_settings());
    assert!(after.get("hooks").is_none(), "{after:#}");
}
