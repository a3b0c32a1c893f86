//! `statusline --chain "<command>"`: run the user's own status line command with the same
//! input, under a short timeout, so bedrock-hook composes with it instead of replacing it.
//! No threads: the child runs while we compute our own line, then we poll it.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Chained {
    child: Child,
    started: Instant,
}

/// Start `command` through `sh -c` in its own process group and feed it `input`.
pub fn start(command: &str, input: &[u8]) -> Option<Chained> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .ok()?;
    if let Some(mut stdin) = child.stdin.take() {
        // Status line input is a few KiB, well under a pipe buffer: this cannot block.
        let _ = stdin.write_all(input);
    }
    Some(Chained {
        child,
        started: Instant::now(),
    })
}

impl Chained {
    /// The first line the command printed, if it finished within `timeout` of its start.
    pub fn finish(mut self, timeout: Duration) -> Option<String> {
        let deadline = self.started + timeout;
        let finished = loop {
            match self.child.try_wait() {
                Ok(Some(_)) => break true,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(2))
                }
                _ => break false,
            }
        };
        // Whatever it left behind in its group must not hold our output pipe open.
        let group = self.child.id() as i32;
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
        if !finished {
            let _ = self.child.wait();
            return None;
        }
        let mut text = String::new();
        let mut stdout = self.child.stdout.take()?;
        let _ = stdout.by_ref().take(64 << 10).read_to_string(&mut text);
        let first = text
            .lines()
            .next()
            .unwrap_or_default()
            .trim_end()
            .to_string();
        (!first.is_empty()).then_some(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_input_and_takes_first_line() {
        let chained = start("read line; echo \"got $line\"; echo second", b"hello\n").unwrap();
        assert_eq!(
            chained.finish(Duration::from_secs(5)).as_deref(),
            Some("got hello")
        );
    }

    #[test]
    fn slow_command_is_dropped_in_time() {
        let began = Instant::now();
        let chained = start("sleep 5; echo late", b"").unwrap();
        assert_eq!(chained.finish(Duration::from_millis(100)), None);
        assert!(began.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn background_grandchild_cannot_hang_us() {
        let began = Instant::now();
        let chained = start("(sleep 5 &) ; echo quick", b"").unwrap();
        assert_eq!(
            chained.finish(Duration::from_secs(2)).as_deref(),
            Some("quick")
        );
        assert!(began.elapsed() < Duration::from_secs(3));
    }
}
