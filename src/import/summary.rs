//! What an import did, and how it is told at the end: files, bytes, records found and
//! new, and every kind of input that was skipped, with counts.

use std::fmt;
use std::time::Duration;

use super::progress::human_bytes;
use crate::terminal::{count, thousands};

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Transcripts looked at.
    pub files: u64,
    /// Of those, with nothing new since the last import or hook.
    pub unchanged_files: u64,
    /// Transcript bytes read this time.
    pub bytes: u64,
    /// Records the transcripts produced (requests, side totals).
    pub records: u64,
    /// Of those, new to the ledger.
    pub appended: u64,
    pub garbage_lines: u64,
    pub non_utf8_lines: u64,
    /// Files or folders that could not be read.
    pub unreadable: u64,
    /// Finished transcripts whose last line was cut off.
    pub truncated_files: u64,
    /// The first read error, to show.
    pub first_error: Option<String>,
}

impl Summary {
    /// Records already in the ledger (read through another path, or by the hooks).
    pub fn duplicates(&self) -> u64 {
        self.records - self.appended
    }
}

/// "since it was last read" for one transcript, "since they were last read" for more.
pub(super) fn since_last_read(files: u64) -> &'static str {
    if files == 1 {
        "since it was last read"
    } else {
        "since they were last read"
    }
}

/// The summary printed at the end.
pub struct Report<'s>(pub &'s Summary, pub Duration);

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Report(s, elapsed) = self;
        writeln!(
            f,
            "Imported {} ({} read) in {:.2}s: {} found, {} new in the ledger.",
            count(s.files, "transcript", "transcripts"),
            human_bytes(s.bytes),
            elapsed.as_secs_f64(),
            count(s.records, "record", "records"),
            thousands(s.appended)
        )?;
        if s.unchanged_files > 0 {
            writeln!(
                f,
                "{} nothing new {}.",
                count(s.unchanged_files, "transcript had", "transcripts had"),
                since_last_read(s.unchanged_files)
            )?;
        }
        let mut skipped = Vec::new();
        let mut skip = |n: u64, one: &str, many: &str| {
            if n > 0 {
                skipped.push(count(n, one, many));
            }
        };
        skip(s.garbage_lines, "garbage line", "garbage lines");
        skip(
            s.non_utf8_lines,
            "line with non-UTF-8 bytes",
            "lines with non-UTF-8 bytes",
        );
        skip(s.unreadable, "unreadable file", "unreadable files");
        skip(
            s.truncated_files,
            "file with a cut-off last line",
            "files with a cut-off last line",
        );
        skip(
            s.duplicates(),
            "duplicate record (already in the ledger)",
            "duplicate records (already in the ledger)",
        );
        if skipped.is_empty() {
            writeln!(f, "Skipped: nothing.")?;
        } else {
            writeln!(f, "Skipped: {}.", skipped.join(", "))?;
        }
        if let Some(error) = &s.first_error {
            writeln!(f, "First unreadable: {}", crate::terminal::clean(error))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_names_every_skip() {
        let s = Summary {
            files: 3,
            records: 10,
            appended: 7,
            garbage_lines: 2,
            non_utf8_lines: 1,
            unreadable: 1,
            truncated_files: 1,
            ..Summary::default()
        };
        let text = Report(&s, Duration::from_millis(1500)).to_string();
        assert!(text.contains("10 records found, 7 new"), "{text}");
        assert!(text.contains("Imported 3 transcripts"), "{text}");
        assert!(
            text.contains(
                "Skipped: 2 garbage lines, 1 line with non-UTF-8 bytes, 1 unreadable file, \
                 1 file with a cut-off last line, 3 duplicate records (already in the ledger)."
            ),
            "{text}"
        );
    }
}
