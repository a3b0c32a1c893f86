//! The client's own command line, for what no hook input carries: the model chosen with
//! `--model` (protocol README section 4). Claude Code runs a hook through `sh -c`, so the
//! client is the hook's parent or grandparent. Read from `/proc` at `SessionStart` only: a
//! few small reads, no wait. Where it cannot be read (no `/proc`, a parent that is not the
//! client) nothing is assumed.

use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Largest command line read (a prompt given with `-p` is in it).
const MAX_CMDLINE: u64 = 1 << 20;
/// Processes looked at above the hook: its shell, then the client.
const MAX_LEVELS: usize = 3;

/// What the client's command line says about its model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelArg {
    /// `--model <name>` (an id or an alias, as typed).
    Named(String),
    /// The client was found and names no model: its environment, settings or default apply.
    NotGiven,
}

/// The `--model` of the client that runs this hook; `None` if the client is not found.
pub fn model_arg() -> Option<ModelArg> {
    let mut pid = std::os::unix::process::parent_id();
    for _ in 0..MAX_LEVELS {
        let args = cmdline(pid)?;
        if is_client(&args) {
            return Some(model_in(&args));
        }
        if !is_shell(&args) {
            return None;
        }
        pid = parent_of(pid)?;
    }
    None
}

fn cmdline(pid: u32) -> Option<Vec<String>> {
    let mut bytes = Vec::new();
    File::open(format!("/proc/{pid}/cmdline"))
        .ok()?
        .take(MAX_CMDLINE)
        .read_to_end(&mut bytes)
        .ok()?;
    let args: Vec<String> = bytes
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    (!args.is_empty()).then_some(args)
}

/// The parent of `pid`, from `/proc/<pid>/stat` (`pid (comm) state ppid ...`; `comm` may
/// hold spaces and parentheses, so the fields are read after the last `)`).
fn parent_of(pid: u32) -> Option<u32> {
    let mut text = String::new();
    File::open(format!("/proc/{pid}/stat"))
        .ok()?
        .take(4096)
        .read_to_string(&mut text)
        .ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

fn file_name(arg: &str) -> &str {
    Path::new(arg)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(arg)
}

/// The native binary (`claude`, `claude.exe`) or node running the npm package.
fn is_client(args: &[String]) -> bool {
    args.iter()
        .take(2)
        .any(|a| file_name(a).starts_with("claude") || a.contains("/claude-code/"))
}

fn is_shell(args: &[String]) -> bool {
    matches!(file_name(&args[0]), "sh" | "bash" | "dash" | "zsh")
}

fn model_in(args: &[String]) -> ModelArg {
    let mut rest = args.iter().skip(1);
    while let Some(arg) = rest.next() {
        if arg == "--" {
            break;
        }
        if arg == "--model" {
            if let Some(model) = rest.next() {
                return ModelArg::Named(model.clone());
            }
        } else if let Some(model) = arg.strip_prefix("--model=") {
            return ModelArg::Named(model.to_string());
        }
    }
    ModelArg::NotGiven
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn finds_the_model_argument() {
        let client = args(
            "/opt/claude/bin/claude.exe -p hi --model us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        );
        assert!(is_client(&client));
        assert_eq!(
            model_in(&client),
            ModelArg::Named("us.anthropic.claude-sonnet-4-5-20250929-v1:0".into())
        );
        assert_eq!(
            model_in(&args("claude --model=haiku")),
            ModelArg::Named("haiku".into())
        );
        assert_eq!(model_in(&args("claude -p hi")), ModelArg::NotGiven);
        assert_eq!(model_in(&args("claude -- --model x")), ModelArg::NotGiven);
        assert!(is_client(&args(
            "node /usr/lib/node_modules/@anthropic-ai/claude-code/cli.js"
        )));
        assert!(!is_client(&args("/bin/sh -c hook")));
        assert!(is_shell(&args("/bin/sh -c hook")));
    }

    #[test]
    fn parent_of_this_process_is_read() {
        let me = std::process::id();
        assert_eq!(parent_of(me), Some(std::os::unix::process::parent_id()));
        // Not run by a client: nothing is assumed.
        assert!(!is_client(&cmdline(me).unwrap()));
    }
}
