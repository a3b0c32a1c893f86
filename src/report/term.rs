//! What the text report needs from the terminal: whether to colour (`--color`, a TTY,
//! `NO_COLOR`), how wide it is, how wide a string prints, and strings made safe to print
//! (model ids and paths come from files anyone can write: no control characters).

use std::fmt::Write as _;

use unicode_width::UnicodeWidthChar;

pub const BOLD: &str = "\x1b[1m";
pub const DIM: &str = "\x1b[2m";
pub const GREEN: &str = "\x1b[32m";
pub const YELLOW: &str = "\x1b[33m";
pub const RED: &str = "\x1b[31m";
pub const CYAN: &str = "\x1b[36m";
const RESET: &str = "\x1b[0m";

/// How text is painted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
}

impl Style {
    /// `auto`: colour on a terminal unless `NO_COLOR` is set to anything non-empty.
    pub fn auto(stdout_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> Style {
        Style {
            color: stdout_is_terminal && no_color.is_none_or(|v| v.is_empty()),
        }
    }

    pub fn paint(&self, color: &str, text: &str) -> String {
        if self.color && !text.is_empty() {
            format!("{color}{text}{RESET}")
        } else {
            text.to_string()
        }
    }
}

/// Whether standard output is a terminal.
pub fn stdout_is_terminal() -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(1) == 1 }
}

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
    fn numbers() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(100), "100");
        assert_eq!(percent(1, 3), "33%");
        assert_eq!(percent(1, 1000), "<1%");
        assert_eq!(percent(1, 0), "-");
    }
}
