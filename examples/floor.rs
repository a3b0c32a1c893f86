//! The process-spawn floor for the benchmarks: the least a status line or hook command can
//! do. It reads all of stdin, as Claude Code's commands must, and prints one line. Built
//! with the same release profile as bedrock-hook and started the same way (C's `main`, with
//! the same SIGPIPE disposition and standard-descriptor check as `src/main.rs`, not std's
//! start-up), so a ratio to it is the cost of our work on top of starting a process.

#![no_main]

use std::ffi::{c_char, c_int};
use std::io::{Read, Write};

#[unsafe(no_mangle)]
extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: as in src/main.rs.
    unsafe {
        libc::poll(fds.as_mut_ptr(), 3, 0);
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    let mut input = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut input);
    let _ = writeln!(std::io::stdout().lock(), "floor {}", input.len());
    0
}
