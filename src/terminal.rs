//! Everything bedrock-hook writes for a person to read goes through here: the colours and
//! the one [`Style`] that paints with them, the one colour rule (`--color`, a terminal,
//! `NO_COLOR`), the terminal's width, the one sanitiser [`clean`] for text that comes from
//! files anyone can write (model ids, paths, messages: no control characters), token and
//! count formatting, and the one standard output ([`outln!`], [`write_all`]) that takes a
//! reader closing the pipe early (`bedrock-hook config | head -1`) as success.
//!
//! The status line uses it on its hot path: nothing here allocates or makes a system call
//! beyond what painting and printing the line need.

use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write as _};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use unicode_width::UnicodeWidthChar;

/// `--color`: auto (a terminal and no `NO_COLOR`), always or never.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

pub const BOLD: &str = "\x1b[1m";
pub const DIM: &str = "\x1b[2m";
pub const GREEN: &str = "\x1b[32m";
pub const YELLOW: &str = "\x1b[33m";
pub const RED: &str = "\x1b[31m";
pub const CYAN: &str = "\x1b[36m";
pub const RESET: &str = "\x1b[0m";
/// Clears from the cursor to the end of the line (the progress bar redraws over itself).
pub const ERASE_LINE: &str = "\x1b[K";

/// How text is painted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
}

impl Style {
    /// `auto`: colour on a terminal unless `NO_COLOR` is set to anything non-empty
    /// (no-color.org). The one colour rule; the others below apply it.
    pub fn auto(on_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> Style {
        Style {
            color: on_terminal && no_color.is_none_or(|v| v.is_empty()),
        }
    }

    /// For a command's standard output: `--color always|never`, else [`Style::auto`].
    pub fn for_stdout(choice: ColorChoice) -> Style {
        match choice {
            ColorChoice::Always => Style { color: true },
            ColorChoice::Never => Style { color: false },
            ColorChoice::Auto => Style::auto(
                stdout_is_terminal(),
                std::env::var_os("NO_COLOR").as_deref(),
            ),
        }
    }

    /// For the status line: Claude Code reads it through a pipe and shows its colours, so
    /// it counts as a terminal; `NO_COLOR` still turns colour off.
    pub fn for_status_line() -> Style {
        Style::auto(true, std::env::var_os("NO_COLOR").as_deref())
    }

    pub fn paint(&self, color: &str, text: &str) -> String {
        if self.color && !text.is_empty() {
            format!("{color}{text}{RESET}")
        } else {
            text.to_string()
        }
    }

    /// [`Style::paint`] appended to `out` (no string of its own).
    pub fn paint_into(&self, out: &mut String, color: &str, text: &str) {
        if self.color {
            let _ = write!(out, "{color}{text}{RESET}");
        } else {
            out.push_str(text);
        }
    }
}

/// Whether standard output is a terminal.
pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// Whether standard error is a terminal (where the progress bar goes).
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Set once a reader closed standard output: what is left to print is dropped.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
/// The first write error other than a closed pipe, reported by [`finish`].
static STDOUT_ERROR: Mutex<Option<std::io::Error>> = Mutex::new(None);

/// Write to standard output (the body of [`out!`] and [`outln!`]). A closed pipe is not an
/// error: it and everything after it is dropped quietly. Any other failure is kept for
/// [`finish`].
pub fn write_fmt(args: std::fmt::Arguments<'_>) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        note(e);
    }
}

fn note(e: std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
    } else if let Ok(mut first) = STDOUT_ERROR.lock() {
        first.get_or_insert(e);
    }
}

/// Write `text` to standard output and flush it; a closed pipe is success.
pub fn write_all(text: &str) -> std::io::Result<()> {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        other => other,
    }
}

/// Flush standard output at the end of a command: the first write error other than a
/// closed pipe, if there was one.
pub fn finish() -> std::io::Result<()> {
    if !STDOUT_CLOSED.load(Ordering::Relaxed)
        && let Err(e) = std::io::stdout().lock().flush()
    {
        note(e);
    }
    match STDOUT_ERROR.lock().ok().and_then(|mut e| e.take()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// `print!` through [`write_fmt`]: a closed pipe is not a panic.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::terminal::write_fmt(format_args!($($arg)*))
    };
}

/// `println!` through [`write_fmt`]: a closed pipe is not a panic.
macro_rules! outln {
    () => {
        $crate::terminal::write_fmt(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::terminal::write_fmt(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {out, outln};

/// Columns to lay out for: `COLUMNS`, else the terminal's width, else 100; kept within
/// 40..=240.
pub fn width() -> usize {
    let from_env = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok());
    from_env
        .or_else(terminal_columns)
        .unwrap_or(100)
        .clamp(40, 240)
}

fn terminal_columns() -> Option<usize> {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ fills the struct we own; failure leaves it zeroed.
    let ok = unsafe { libc::ioctl(1, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(size.ws_col as usize)
}

/// Characters that must never reach the terminal: C0/C1 controls (escape sequences,
/// newlines, tabs) and the bidirectional overrides that reorder what is shown.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` without unsafe characters: the one sanitiser for everything printed that comes
/// from a transcript, a settings file or the data dir (`report`, `doctor`, `import`,
/// `config`, the status line's throttle note, hook notices).
pub fn clean(text: &str) -> String {
    text.chars().filter(|c| !is_unsafe(*c)).collect()
}

/// Printed width of already cleaned text (wide CJK characters count two).
pub fn display_width(text: &str) -> usize {
    text.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// Clean `text` and fit it into `max` columns, cutting the middle (ids and paths keep
/// their start and their end) with `…`.
pub fn fit(text: &str, max: usize) -> String {
    let text = clean(text);
    if display_width(&text) <= max {
        return text;
    }
    if max == 0 {
        return String::new();
    }
    let budget = max - 1;
    let head_budget = budget.div_ceil(2);
    let tail_budget = budget - head_budget;
    let mut head = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > head_budget {
            break;
        }
        used += w;
        head.push(c);
    }
    let mut tail: Vec<char> = Vec::new();
    let mut used = 0;
    for c in text.chars().rev() {
        let w = c.width().unwrap_or(0);
        if used + w > tail_budget {
            break;
        }
        used += w;
        tail.push(c);
    }
    let mut out = head;
    out.push('…');
    out.extend(tail.into_iter().rev());
    out
}

/// `text` padded with spaces to `width` columns, on the left or the right.
pub fn pad(text: &str, width: usize, right_align: bool) -> String {
    let w = display_width(&strip_ansi(text));
    let fill = " ".repeat(width.saturating_sub(w));
    if right_align {
        format!("{fill}{text}")
    } else {
        format!("{text}{fill}")
    }
}

/// `text` without the colour sequences this module adds (for measuring).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `1 request`, `2 requests` (with thousands separators).
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// Word-wrap prose to `width` columns, every line starting with `indent`.
pub fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::from(indent);
    let mut line_width = display_width(indent);
    let mut empty = true;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let w = display_width(&strip_ansi(word));
        if !empty && line_width + 1 + w > width {
            out.push_str(&line);
            out.push('\n');
            line = String::from(indent);
            line_width = display_width(indent);
            empty = true;
        }
        if !empty {
            line.push(' ');
            line_width += 1;
        }
        line.push_str(word);
        line_width += w;
        empty = false;
    }
    if !empty {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Short human form of a token count: 950, 12.3k, 1.29M.
pub fn pretty_tokens(n: u64) -> String {
    match n {
        0..=999 => n.to_string(),
        1_000..=999_999 => trim_decimal(n as f64 / 1e3, "k"),
        1_000_000..=999_999_999 => trim_decimal(n as f64 / 1e6, "M"),
        _ => trim_decimal(n as f64 / 1e9, "G"),
    }
}

fn trim_decimal(value: f64, unit: &str) -> String {
    let text = if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    };
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    format!("{text}{unit}")
}

/// 1234567 -> `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Share of `part` in `whole`, as `12%` (`<1%` for small non-zero shares).
pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".to_string();
    }
    let p = part as f64 * 100.0 / whole as f64;
    let mut out = String::new();
    if part > 0 && p < 1.0 {
        out.push_str("<1%");
    } else {
        let _ = write!(out, "{}%", p.round() as u64);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_controls_and_bidi() {
        assert_eq!(
            clean("claude\x1b[31m-opus\n\t\u{202e}x\u{9b}"),
            "claude[31m-opusx"
        );
    }

    #[test]
    fn fits_by_cutting_the_middle() {
        assert_eq!(fit("abcdefghij", 20), "abcdefghij");
        assert_eq!(fit("abcdefghij", 5), "ab…ij");
        assert_eq!(
            display_width(&fit("/home/dev/プロジェクト/長い名前", 10)),
            10
        );
        assert_eq!(fit("x", 0), "");
    }

    #[test]
    fn widths_and_padding() {
        assert_eq!(display_width("漢字"), 4);
        assert_eq!(pad("漢", 4, true), "  漢");
        let style = Style { color: true };
        assert_eq!(display_width(&strip_ansi(&style.paint(RED, "ab"))), 2);
        assert_eq!(
            pad(&style.paint(RED, "ab"), 3, false).len(),
            "ab".len() + 9 + 1
        );
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        use std::ffi::OsStr;
        assert!(Style::auto(true, None).color);
        assert!(!Style::auto(true, Some(OsStr::new("1"))).color);
        assert!(Style::auto(true, Some(OsStr::new(""))).color);
        assert!(!Style::auto(false, None).color);
        assert_eq!(Style { color: false }.paint(RED, "x"), "x");
    }

    #[test]
    fn wraps_prose_at_the_width() {
        let text = "one two three four five six";
        assert_eq!(
            wrap(text, 12, "  "),
            "  one two\n  three four\n  five six\n"
        );
        assert_eq!(wrap("", 12, "  "), "");
        let style = Style { color: true };
        let painted = format!("a {}", style.paint(RED, "bbbbbbbb"));
        assert_eq!(wrap(&painted, 12, "  ").lines().count(), 1);
        assert_eq!(count(1, "file", "files"), "1 file");
        assert_eq!(count(1200, "file", "files"), "1,200 files");
    }

    #[test]
    fn pretty_forms() {
        assert_eq!(pretty_tokens(950), "950");
        assert_eq!(pretty_tokens(12_345), "12.3k");
        assert_eq!(pretty_tokens(1_292_306), "1.29M");
        assert_eq!(pretty_tokens(400_000), "400k");
        assert_eq!(pretty_tokens(2_000_000), "2M");
    }

    #[test]
    fn numbers() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(100), "100");
        assert_eq!(percent(1, 3), "33%");
        assert_eq!(percent(1, 1000), "<1%");
        assert_eq!(percent(1, 0), "-");
    }
}
