//! Places the functions a hook event and a status line run execute next to each other in
//! the binary, so that a run maps fewer pages of code (each page fault on the code maps a
//! 64 KB window of it). The list is `link/hot-functions.txt`, written by
//! `bench/hot-functions.sh`; BENCHMARKS.md has what it saves.
//!
//! Only a linker that reads such a list gets it: LLD, which rustc uses by default on
//! x86_64-unknown-linux-gnu since Rust 1.90. Rather than guess from versions and settings,
//! this links an empty program with the same flags and the list first; a linker that
//! refuses it (GNU ld, a distribution's rustc, macOS) links the binary as before. A name the
//! list has and the build has not (another toolchain, changed code) is skipped: the list can
//! only be out of date, never wrong. `BEDROCK_HOOK_LINK_ORDER=0` turns it off.
//!
//! It also packs the binary's relative relocations (`-z pack-relative-relocs`) where a
//! program so linked runs.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const LIST: &str = "link/hot-functions.txt";

fn main() {
    println!("cargo:rerun-if-changed={LIST}");
    println!("cargo:rerun-if-env-changed=BEDROCK_HOOK_LINK_ORDER");
    println!("cargo:rerun-if-env-changed=BEDROCK_HOOK_LINK_MAP");
    let list = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join(LIST);
    let wanted = env::var("BEDROCK_HOOK_LINK_ORDER").as_deref() != Ok("0") && list.is_file();
    let ordering = [
        format!("-Wl,--symbol-ordering-file={}", list.display()),
        "-Wl,--no-warn-symbol-ordering".to_string(),
    ];
    if wanted && links_with(&ordering, false) {
        for arg in &ordering {
            println!("cargo:rustc-link-arg-bins={arg}");
        }
    }
    // Relative relocations packed (DT_RELR): the loader reads 4 KB instead of 58 KB of them
    // at every start. Only where a program linked so also runs here (glibc 2.36 or newer
    // reads them; an older one would start the binary with its pointers unrelocated).
    let packed = ["-Wl,-z,pack-relative-relocs".to_string()];
    if links_with(&packed, true) {
        println!("cargo:rustc-link-arg-bins={}", packed[0]);
    }
    // For bench/hot-functions.sh: where each function of this very build was placed.
    if let Ok(map) = env::var("BEDROCK_HOOK_LINK_MAP") {
        println!("cargo:rustc-link-arg-bins=-Wl,-Map={map}");
    }
}

/// Whether an empty program links for this target, with this build's rustc, flags and
/// linker, and `link_args` on top; with `and_runs`, whether it also runs and exits 0 here
/// (never when cross-compiling).
fn links_with(link_args: &[String], and_runs: bool) -> bool {
    let (Some(out_dir), Ok(target)) = (
        env::var_os("OUT_DIR").map(PathBuf::from),
        env::var("TARGET"),
    ) else {
        return false;
    };
    let source = out_dir.join("link_probe.rs");
    if std::fs::write(&source, "fn main() {}\n").is_err() {
        return false;
    }
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let mut probe = Command::new(rustc);
    probe
        .args([
            "--crate-name",
            "link_probe",
            "--crate-type",
            "bin",
            "--edition",
            "2021",
        ])
        .args(["--target", &target, "-C", "opt-level=0", "-o"])
        .arg(out_dir.join("link_probe"))
        .arg(&source)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(linker) = env::var_os("RUSTC_LINKER") {
        let mut arg = std::ffi::OsString::from("linker=");
        arg.push(linker);
        probe.arg("-C").arg(arg);
    }
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    probe.args(flags.split('\u{1f}').filter(|f| !f.is_empty()));
    for arg in link_args {
        probe.arg("-C").arg(format!("link-arg={arg}"));
    }
    if !probe.status().is_ok_and(|s| s.success()) {
        return false;
    }
    !and_runs
        || (env::var("HOST") == Ok(target)
            && Command::new(out_dir.join("link_probe"))
                .status()
                .is_ok_and(|s| s.success()))
}
