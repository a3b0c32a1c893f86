//! Starting our own binary in the background from a hook (the catch-up reader, account
//! mode's sync): its stdio closed so Claude Code never waits on it, in a session of its own
//! so the client cannot kill it with the hook, and nothing waits for it.

use std::ffi::OsString;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Start this binary with `args`, detached.
pub fn start_own(args: impl IntoIterator<Item = impl Into<OsString>>) -> io::Result<()> {
    let mut command = Command::new(own_binary()?);
    command
        .args(args.into_iter().map(Into::into))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    command.spawn().map(drop)
}

/// The binary to start: the path Claude Code ran us by when it is absolute (the settings
/// name it that way), so a binary replaced by a reinstall since this hook started is the
/// one that runs; else the running executable.
fn own_binary() -> io::Result<PathBuf> {
    match std::env::args_os().next().map(PathBuf::from) {
        Some(path) if path.is_absolute() && path.is_file() => Ok(path),
        _ => std::env::current_exe(),
    }
}
