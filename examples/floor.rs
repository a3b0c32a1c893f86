//! The process-spawn floor for the benchmarks: the least a status line or hook command can
//! do. It reads all of stdin, as Claude Code's commands must, and prints one line. Built
//! with the same release profile as bedrock-hook, so a ratio to it is the cost of our work
//! on top of starting a process.

use std::io::{Read, Write};

fn main() {
    let mut input = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut input);
    let _ = writeln!(std::io::stdout().lock(), "floor {}", input.len());
}
