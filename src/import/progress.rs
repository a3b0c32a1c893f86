//! The import progress bar: one line on stderr, redrawn at most ten times a second, only
//! when stderr is a terminal (quiet otherwise, so logs and pipes stay clean).

use std::io::Write;
use std::time::{Duration, Instant};

pub struct Progress {
    enabled: bool,
    total_files: u64,
    total_bytes: u64,
    last_draw: Option<Instant>,
    width: usize,
}

impl Progress {
    /// A bar on stderr if it is a terminal and `quiet` is off; otherwise a no-op.
    pub fn new(quiet: bool) -> Progress {
        let tty = crate::terminal::stderr_is_terminal();
        Progress {
            enabled: tty && !quiet,
            total_files: 0,
            total_bytes: 0,
            last_draw: None,
            width: crate::terminal::width().min(100),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// What the whole run will cover (from a first, stat-only pass).
    pub fn set_totals(&mut self, files: u64, bytes: u64) {
        self.total_files = files;
        self.total_bytes = bytes;
    }

    /// Redraw if due: `files` and `bytes` done so far.
    pub fn update(&mut self, files: u64, bytes: u64, records: u64) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if self
            .last_draw
            .is_some_and(|t| now - t < Duration::from_millis(100))
        {
            return;
        }
        self.last_draw = Some(now);
        let line = bar_line(
            files,
            self.total_files,
            bytes,
            self.total_bytes,
            records,
            self.width,
        );
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{line}{}", crate::terminal::ERASE_LINE);
        let _ = err.flush();
    }

    /// Erase the bar.
    pub fn finish(&mut self) {
        if self.enabled && self.last_draw.is_some() {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{}", crate::terminal::ERASE_LINE);
            let _ = err.flush();
        }
    }
}

/// `[#######.............]  120/800 files  35.2 MB/1.02 GB  4,512 records`
pub fn bar_line(
    files: u64,
    total_files: u64,
    bytes: u64,
    total_bytes: u64,
    records: u64,
    width: usize,
) -> String {
    let text = format!(
        "  {}/{} files  {}/{}  {} records",
        crate::terminal::thousands(files),
        crate::terminal::thousands(total_files),
        human_bytes(bytes),
        human_bytes(total_bytes),
        crate::terminal::thousands(records)
    );
    let bar_w = width.saturating_sub(text.len() + 2).clamp(10, 40);
    let done = if total_bytes > 0 {
        (bytes.min(total_bytes) as u128 * bar_w as u128 / total_bytes as u128) as usize
    } else {
        0
    };
    format!("[{}{}]{text}", "#".repeat(done), ".".repeat(bar_w - done))
}

/// 1536 -> `1.5 KB`, in powers of 1000 like the rest of the numbers shown.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_fills_by_bytes() {
        let line = bar_line(1, 4, 50, 100, 7, 80);
        let inside = &line[1..line.find(']').unwrap()];
        assert_eq!(inside.matches('#').count() * 2, inside.len(), "{line}");
        assert!(line.contains("1/4 files"), "{line}");
        assert!(line.contains("7 records"), "{line}");
        assert_eq!(bar_line(0, 0, 0, 0, 0, 80).matches('#').count(), 0);
    }

    #[test]
    fn bytes_read_like_people_write_them() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500), "1.5 KB");
        assert_eq!(human_bytes(1_020_000_000), "1.0 GB");
    }
}
