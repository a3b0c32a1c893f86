//! The process-spawn floor for the benchmarks: the least a status line or hook command can
//! do. It reads all of stdin, as Claude Code's commands must, and prints one line. Built
//! with the same release profile as bedrock-hook and started the same way (C's `main`,
//! `bedrock_hook::process_start` and the binary's allocator, as `src/main.rs`, not std's
//! start-up), so a ratio to it is the cost of our work on top of starting a process.

#![no_main]

use std::ffi::{c_char, c_int};
use std::io::{Read, Write};

/// The binary's allocator, so that the floor starts as `bedrock-hook` does.
#[global_allocator]
static ALLOCATOR: bedrock_hook::start_arena::StartArena = bedrock_hook::start_arena::StartArena;

#[unsafe(no_mangle)]
extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    bedrock_hook::process_start();
    let mut input = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut input);
    let _ = writeln!(std::io::stdout().lock(), "floor {}", input.len());
    0
}
