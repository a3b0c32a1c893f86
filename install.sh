#!/usr/bin/env bash
# Build bedrock-hook, put the binary in ${BEDROCK_HOOK_BIN_DIR:-$HOME/.local/bin} and add
# its hooks and status line to Claude Code's settings (`bedrock-hook install`). Safe to
# re-run: the build is incremental, the copy replaces the old binary, and install changes
# nothing when everything is already in place.
#
#   ./install.sh                 user settings (~/.claude or $CLAUDE_CONFIG_DIR)
#   ./install.sh --project       ./.claude/settings.json of the current directory
#   ./install.sh --dry-run       build, then show the settings diff; copies and writes nothing
#
# Arguments are passed to `bedrock-hook install` (see `bedrock-hook install --help`).
# BEDROCK_HOOK_PREBUILT=PATH skips the build and installs that binary instead.
set -euo pipefail

say() { printf 'install.sh: %s\n' "$*"; }
die() {
    printf 'install.sh: error: %s\n' "$*" >&2
    exit 1
}

source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin_dir=${BEDROCK_HOOK_BIN_DIR:-${HOME:?HOME is not set; set BEDROCK_HOOK_BIN_DIR}/.local/bin}
target="$bin_dir/bedrock-hook"

dry_run=false
for arg in "$@"; do
    [ "$arg" = "--dry-run" ] && dry_run=true
done

# 1. Build (or take the prebuilt binary).
if [ -n "${BEDROCK_HOOK_PREBUILT:-}" ]; then
    built=$BEDROCK_HOOK_PREBUILT
    [ -f "$built" ] && [ -x "$built" ] || die "BEDROCK_HOOK_PREBUILT=$built is not an executable file"
    say "using the prebuilt binary $built"
else
    command -v cargo >/dev/null 2>&1 || die "cargo not found. bedrock-hook is built from source:
  install the Rust toolchain (https://rustup.rs, or your system's rustc + cargo packages;
  Rust 1.89 or newer), open a new shell so cargo is on PATH, and run ./install.sh again."
    say "building the release binary (cargo build --release --locked)"
    (cd "$source_dir" && cargo build --release --locked) || die "the build failed (output above).
  If HOME differs from your usual one for this run, rustup cannot find its toolchains:
  export RUSTUP_HOME and CARGO_HOME (normally ~/.rustup and ~/.cargo of your usual HOME)."
    built="${CARGO_TARGET_DIR:-$source_dir/target}/release/bedrock-hook"
    [ -x "$built" ] || die "the build finished but $built is missing"
fi

# 2. Copy it into the bin dir (temp file + rename, so a running hook is never cut off).
if $dry_run; then
    say "dry run: would copy the binary to $target"
    installer=$built
elif [ -f "$target" ] && command -v cmp >/dev/null 2>&1 && cmp -s "$built" "$target"; then
    say "the binary is up to date: $target"
    installer=$target
else
    mkdir -p "$bin_dir"
    tmp="$bin_dir/.bedrock-hook.$$.tmp"
    trap 'rm -f "$tmp"' EXIT
    cp "$built" "$tmp"
    chmod 0755 "$tmp"
    mv -f "$tmp" "$target"
    trap - EXIT
    say "installed the binary: $target"
    installer=$target
fi

# 3. Edit settings.json (in Rust: backup, atomic write, nothing else touched).
"$installer" install --bin "$target" "$@"

# 4. The one thing left to do.
if $dry_run; then
    exit 0
fi
case ":${PATH:-}:" in
*":$bin_dir:"*) run=bedrock-hook ;;
*)
    run=$target
    say "note: $bin_dir is not on your PATH (the hooks use the full path, so they work anyway)"
    ;;
esac
# `quota show` resolves the configuration as the hooks will (settings.json env included).
quotas=$("$installer" quota show 2>/dev/null || true)
case "$quotas" in
*"No quota configured"*)
    cat <<EOF
install.sh: done. One step left: tell bedrock-hook your Bedrock quota, either
    $run quota import
  (reads your account's Bedrock quotas with the AWS CLI), or by hand, e.g. tokens per day:
    BEDROCK_HOOK_TPD=2M in Claude Code's environment (or tpd = "2M" in the config file)
Then start a new Claude Code session: the status line shows 'quota N% reserved'.
EOF
    ;;
*)
    say "done. Your quotas are already configured ($run quota show lists them)."
    say "Start a new Claude Code session: the status line shows 'quota N% reserved'."
    ;;
esac
