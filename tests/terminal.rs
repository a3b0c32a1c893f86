//! How the commands meet the terminal, driving the built binary: a reader that closes the
//! pipe early (`bedrock-hook config | head -1`) is not an error for any command.

use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_bedrock-hook");

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .env("HOME", dir.join("home"))
        .env("BEDROCK_HOOK_DATA_DIR", dir.join("data"))
        .env("BEDROCK_HOOK_CONFIG", dir.join("config.toml"))
        .env_remove("CLAUDE_CONFIG_DIR")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("NO_COLOR")
        .env_remove("COLUMNS")
        .stdin(Stdio::null());
    cmd
}

/// Run with stdout a pipe whose reader is already gone: the first write fails with EPIPE.
fn with_closed_stdout(mut cmd: Command) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    cmd.stdout(writer).stderr(Stdio::piped());
    cmd.output().unwrap()
}

fn sandbox() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("home")).unwrap();
    // A ledger with one request, so that `report` has a table to print.
    let ledger = dir.path().join("data/ledger");
    std::fs::create_dir_all(&ledger).unwrap();
    let basic = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ledgers/basic");
    std::fs::copy(
        basic.join("2026-11-12.jsonl"),
        ledger.join("2026-11-12.jsonl"),
    )
    .unwrap();
    std::fs::write(dir.path().join("config.toml"), "tpd = \"2.4M\"\n").unwrap();
    dir
}

#[test]
fn config_piped_into_a_reader_that_closes_early_is_not_an_error() {
    let dir = sandbox();
    let out = with_closed_stdout(command(dir.path(), &["config"]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn every_command_treats_a_closed_pipe_as_success() {
    let dir = sandbox();
    let project = dir.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    let project = project.to_str().unwrap();
    let cases: &[&[&str]] = &[
        &["config"],
        &["report", "--date", "2026-11-12"],
        &["report", "--date", "2026-11-12", "--json"],
        &["doctor", "--project", project],
        &["quota", "show"],
        &["import", "-q", "home"],
        &["install", "--dry-run"],
        &["statusline"],
    ];
    for args in cases {
        // The exit status a reader that stays would see.
        let open = command(dir.path(), args).output().unwrap();
        assert!(!open.stdout.is_empty(), "{args:?} prints something");
        let closed = with_closed_stdout(command(dir.path(), args));
        let stderr = String::from_utf8_lossy(&closed.stderr);
        assert_eq!(
            closed.status.code(),
            open.status.code(),
            "{args:?}: {stderr}"
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn a_write_error_other_than_a_closed_pipe_is_one_line() {
    let dir = sandbox();
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    let out = command(dir.path(), &["config"])
        .stdout(full())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        "bedrock-hook: writing to standard output: No space left on device (os error 28)\n"
    );
    // The status line fails open: exit 0, one line on stderr.
    let out = command(dir.path(), &["statusline"])
        .stdout(full())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stderr,
        "bedrock-hook: writing the status line: No space left on device (os error 28)\n"
    );
}
