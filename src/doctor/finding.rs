//! One result of one check: its level, what was found (with the numbers), and the fix.

use std::fmt::Write as _;

use crate::terminal::{self, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok,
    Warn,
    Error,
}

impl Level {
    pub fn label(&self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }

    fn color(&self) -> &'static str {
        match self {
            Level::Ok => terminal::GREEN,
            Level::Warn => terminal::YELLOW,
            Level::Error => terminal::RED,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    /// Which check: `bedrock`, `reservation`, ...
    pub check: &'static str,
    pub summary: String,
    pub fix: Option<String>,
}

impl Finding {
    pub fn ok(check: &'static str, summary: impl Into<String>) -> Finding {
        Finding {
            level: Level::Ok,
            check,
            summary: summary.into(),
            fix: None,
        }
    }

    pub fn warn(
        check: &'static str,
        summary: impl Into<String>,
        fix: impl Into<String>,
    ) -> Finding {
        Finding {
            level: Level::Warn,
            check,
            summary: summary.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn error(
        check: &'static str,
        summary: impl Into<String>,
        fix: impl Into<String>,
    ) -> Finding {
        Finding {
            level: Level::Error,
            check,
            summary: summary.into(),
            fix: Some(fix.into()),
        }
    }

    /// `error reservation  claude-opus-5-5: ...` and an indented `fix:` line.
    pub fn render(&self, color: bool) -> String {
        let label = self.level.label();
        let mut out = Style { color }.paint(self.level.color(), &format!("{label:<5}"));
        // Model ids, paths and commands come from transcripts and settings files: cleaned.
        let clean = terminal::clean;
        let _ = writeln!(out, " {:<12} {}", self.check, clean(&self.summary));
        if let Some(fix) = &self.fix {
            let _ = writeln!(out, "{:19}fix: {}", "", clean(fix));
        }
        out
    }
}

/// `1 error, 2 warnings, 8 ok.`
pub fn tally(findings: &[Finding]) -> String {
    let count = |level| findings.iter().filter(|f| f.level == level).count();
    let plural = |n: usize, word: &str| {
        if n == 1 {
            format!("{n} {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    format!(
        "{}, {}, {} ok.",
        plural(count(Level::Error), "error"),
        plural(count(Level::Warn), "warning"),
        count(Level::Ok)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_level_check_and_fix() {
        let f = Finding::error("region", "no AWS_REGION", "set AWS_REGION");
        assert_eq!(
            f.render(false),
            "error region       no AWS_REGION\n                   fix: set AWS_REGION\n"
        );
        assert_eq!(
            tally(&[f, Finding::ok("a", "b"), Finding::ok("c", "d")]),
            "1 error, 0 warnings, 2 ok."
        );
    }
}
