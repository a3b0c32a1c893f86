//! How a test that needs a real component (the client, tmux, strace, moto, a browser)
//! says it could not run: a failure in CI, a counted skip elsewhere.

/// A test that cannot run because a real component is missing: a failure in CI
/// (`CI` set), else one `bedrock-hook-test: skipped` line on the real stderr, past the test
/// harness's capture, which `.ci/run` counts as skipped instead of passed.
pub fn skipped(why: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("unnamed test")
        .to_string();
    if std::env::var_os("CI").is_some() {
        panic!("{test}: {why}");
    }
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr().lock(),
        "bedrock-hook-test: skipped {test}: {why}"
    );
}
