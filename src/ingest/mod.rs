//! The write path every command shares: under the ledger lock, read each transcript's new
//! lines, turn them into ledger records, append the ones not yet recorded, and keep the
//! live state in step. The hook, the status line and `import` all go through here, so a
//! request is accounted the same way whoever sees it first.
//!
//! One job per file: [`read`] turns a transcript's new lines into assembled items (with or
//! without the lock), [`records`] decides each request's record (model, max_tokens,
//! reservation, settled cost), [`writer`] appends under the lock and keeps cursors and the
//! live state, [`side`] accounts what only the session totals show (side requests,
//! compactions) and the subagents they include.

mod read;
mod records;
mod side;
mod writer;

use chrono::{DateTime, Utc};

use crate::transcript::Limits;

pub use read::{Prepared, prepare};
pub use records::{Item, RecordMaker, parse_ts};
pub use writer::Writer;

/// How much of a transcript one call may read.
#[derive(Debug, Clone, Copy)]
pub struct ReadOpts {
    pub limits: Limits,
    /// The turn ended at this instant: requests sent up to then that still have no
    /// response never will (see `Assembler::flush_unanswered`).
    pub unanswered_before: Option<DateTime<Utc>>,
    /// Keep reading until the file is consumed (import), instead of one budget's worth.
    pub drain: bool,
    /// The transcript will not grow (import of a session whose last write is older than
    /// the in-flight expiry). Once it is read to its end its cursor stays in memory: a
    /// file nobody appends to is not read again, and if it is after all (a resumed
    /// session), reading it from the start adds nothing the dedupe index has not seen.
    /// Saves creating one file per transcript.
    pub finished: bool,
}

/// Hook: up to 64 MiB per transcript per call; lines over 64 MiB are tool output.
pub const HOOK_READ: ReadOpts = ReadOpts {
    limits: Limits {
        budget: 64 << 20,
        max_line: 64 << 20,
    },
    unanswered_before: None,
    drain: false,
    finished: false,
};

/// Status line: a small budget so a burst of new bytes never slows a render.
pub const STATUSLINE_READ: ReadOpts = ReadOpts {
    limits: Limits {
        budget: 2 << 20,
        max_line: 64 << 20,
    },
    unanswered_before: None,
    drain: false,
    finished: false,
};

/// What one transcript contributed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Ingested {
    pub records: usize,
    pub appended: usize,
    pub bytes: u64,
    /// Lines that are not a JSON object, or request/response/totals lines that do not
    /// parse (torn writes, corruption).
    pub garbage_lines: usize,
    /// Malformed lines holding bytes that are not UTF-8 (not in `garbage_lines`).
    pub non_utf8_lines: usize,
}

impl Ingested {
    pub fn add(&mut self, other: &Ingested) {
        self.records += other.records;
        self.appended += other.appended;
        self.bytes += other.bytes;
        self.garbage_lines += other.garbage_lines;
        self.non_utf8_lines += other.non_utf8_lines;
    }
}

/// Facts about the transcript being read that its lines may not carry.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub session: Option<String>,
    pub agent: Option<String>,
    pub project: Option<String>,
}

#[cfg(test)]
mod tests;
