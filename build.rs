//! Places the functions a hook event and a status line run execute next to each other in
//! the binary, so that a run maps fewer pages of code (each page fault on the code maps a
//! 64 KB window of it). The list is `link/hot-functions.txt`, written by
//! `bench/hot-functions.sh`; BENCHMARKS.md has what it saves.
//!
//! Only for the linker that reads such a list, LLD, which rustc uses by default on
//! x86_64-unknown-linux-gnu since Rust 1.90; any other target, an older rustc or a linker
//! chosen by the user links as before. A name the list has and the build has not (another
//! toolchain, changed code) is skipped: the list can only be out of date, never wrong.
//! `BEDROCK_HOOK_LINK_ORDER=0` turns it off.

use std::env;
use std::path::Path;
use std::process::Command;

const LIST: &str = "link/hot-functions.txt";

fn main() {
    println!("cargo:rerun-if-changed={LIST}");
    println!("cargo:rerun-if-env-changed=BEDROCK_HOOK_LINK_ORDER");
    println!("cargo:rerun-if-env-changed=BEDROCK_HOOK_LINK_MAP");
    if !links_with_default_lld() || env::var("BEDROCK_HOOK_LINK_ORDER").as_deref() == Ok("0") {
        return;
    }
    let list = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join(LIST);
    if list.is_file() {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            list.display()
        );
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
    // For bench/hot-functions.sh: where each function of this very build was placed.
    if let Ok(map) = env::var("BEDROCK_HOOK_LINK_MAP") {
        println!("cargo:rustc-link-arg-bins=-Wl,-Map={map}");
    }
}

/// The target is x86_64-unknown-linux-gnu, rustc is 1.90 or newer, and nothing chose
/// another linker (a configured `linker`, `-fuse-ld`, linker flavour or features).
fn links_with_default_lld() -> bool {
    if env::var("TARGET").as_deref() != Ok("x86_64-unknown-linux-gnu")
        || env::var_os("RUSTC_LINKER").is_some()
    {
        return false;
    }
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if ["fuse-ld", "linker", "link-self-contained"]
        .iter()
        .any(|word| flags.contains(word))
    {
        return false;
    }
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = Command::new(rustc).arg("--version").output() else {
        return false;
    };
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let version = String::from_utf8_lossy(&out.stdout);
    let mut numbers = version
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .split('.')
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let (major, minor) = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    (major, minor) >= (1, 90)
}
