//! Interleaved A/B timing of whole commands, for comparing two builds of a hot path.
//!
//! hyperfine runs each command's runs in a block, so a command that follows itself finds
//! its own code and data still in the caches, and a ratio to a floor measured some seconds
//! earlier moves with whatever the machine did meanwhile. Claude Code runs a hook between
//! its own work, never twice in a row. This runs the commands in turn (the order rotating
//! every iteration, so each is as often first as last), each after its own `--prepare`,
//! and reports every command's median beside the first one's (the floor):
//!
//! ```text
//! cargo run --release --example interleave -- --input post.json \
//!     --prepare "gen_corpus append --transcript T --requests 1 --result-bytes 32K" \
//!     --runs 300 target/release/examples/floor "old/bedrock-hook hook" "new/bedrock-hook hook"
//! ```
//!
//! Commands are split on spaces (no shell); `--prepare` goes through `sh -c`. `-n NAME`
//! before a command names it in the output (as hyperfine's `-n`). With
//! `--tsv GROUP` it prints `bench/run.sh`'s result lines instead of a table (group,
//! command, median ms, p99 ms, no CPU time, ratio, runs).

use std::fs::File;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

const WARMUP: usize = 5;

fn main() -> ExitCode {
    let mut input = None;
    let mut prepare = None;
    let mut runs = 300usize;
    let mut tsv_group = None;
    let mut commands: Vec<String> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut next_name = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--input" => input = args.next(),
            "--prepare" => prepare = args.next(),
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(runs),
            "--tsv" => tsv_group = args.next(),
            "-n" => next_name = args.next(),
            _ => {
                names.push(next_name.take().unwrap_or_else(|| arg.clone()));
                commands.push(arg);
            }
        }
    }
    let Some(input) = input.filter(|_| !commands.is_empty() && runs > 0) else {
        eprintln!(
            "usage: interleave --input FILE [--prepare CMD] [--runs N] [-n NAME] FLOOR [-n NAME] CMD..."
        );
        return ExitCode::from(2);
    };
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(runs); commands.len()];
    for iteration in 0..runs + WARMUP {
        for turn in 0..commands.len() {
            let which = (turn + iteration) % commands.len();
            if let Some(prepare) = &prepare {
                let prepared = Command::new("sh").args(["-c", prepare]).status();
                if !prepared.is_ok_and(|s| s.success()) {
                    eprintln!("--prepare failed: {prepare}");
                    return ExitCode::FAILURE;
                }
            }
            let mut words = commands[which].split(' ').filter(|w| !w.is_empty());
            let program = words.next().expect("a command has a program");
            let stdin = match File::open(&input) {
                Ok(file) => file,
                Err(e) => {
                    eprintln!("{input}: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let started = Instant::now();
            let status = Command::new(program)
                .args(words)
                .stdin(stdin)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let took = started.elapsed().as_secs_f64() * 1e6;
            if !status.is_ok_and(|s| s.success()) {
                eprintln!("failed: {}", commands[which]);
                return ExitCode::FAILURE;
            }
            if iteration >= WARMUP {
                times[which].push(took);
            }
        }
    }
    let quantile =
        |sorted: &[f64], q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    for times in &mut times {
        times.sort_by(f64::total_cmp);
    }
    let floor = quantile(&times[0], 0.5);
    if let Some(group) = tsv_group {
        for (command, times) in names.iter().zip(&times) {
            let median = quantile(times, 0.5);
            println!(
                "{group}\t{command}\t{:.3}\t{:.3}\t\t{:.2}\t{}",
                median / 1000.0,
                quantile(times, 0.99) / 1000.0,
                median / floor,
                times.len()
            );
        }
        return ExitCode::SUCCESS;
    }
    println!("| command | median us | p25 us | p75 us | ratio to the first |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (command, times) in names.iter().zip(&times) {
        let median = quantile(times, 0.5);
        println!(
            "| `{command}` | {median:.0} | {:.0} | {:.0} | {:.2}x |",
            quantile(times, 0.25),
            quantile(times, 0.75),
            median / floor
        );
    }
    ExitCode::SUCCESS
}
