//! Where we stopped reading each transcript, so each run reads only new bytes.
//!
//! One small JSON file per transcript under `cursors/`, named by a hash of the path and
//! rewritten whole (temp file + rename) under the ledger lock. It also carries the
//! assembler's half-finished requests and the per-model usage this file produced (for
//! side-request accounting). A lost or unreadable cursor only means re-reading the file:
//! the ledger's dedupe index keeps that from double counting. `import` relies on that for
//! finished transcripts: it keeps their cursors in memory and writes none
//! (`ingest::ReadOpts::finished`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::assemble::Assembler;
use crate::files;
use crate::ledger::store::key_hash;
use crate::paths::Paths;
use crate::quota::Usage;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(default)]
    pub path: String,
    /// Identity of the file read, to notice a replaced transcript.
    #[serde(default)]
    pub dev: u64,
    #[serde(default)]
    pub ino: u64,
    /// Bytes consumed: always the end of a complete line (or of a skipped over-long one).
    #[serde(default)]
    pub offset: u64,
    /// Inside a line too long to be a request entry; skip to its end.
    #[serde(default)]
    pub skipping: bool,
    #[serde(default)]
    pub assembler: Assembler,
    /// Usage of the requests this file produced, by canonical model.
    #[serde(default)]
    pub emitted: BTreeMap<String, Usage>,
    /// Side usage already recorded for this session, by canonical model (main transcripts).
    #[serde(default)]
    pub side_emitted: BTreeMap<String, Usage>,
    /// Side records written so far, for their ids.
    #[serde(default)]
    pub side_count: u64,
}

/// Largest cursor read (it carries at most a few half-finished requests); anything larger,
/// or not a regular file, is treated as missing.
const CURSOR_MAX_BYTES: u64 = 16 << 20;

pub fn cursor_path(paths: &Paths, transcript: &Path) -> PathBuf {
    let key = key_hash(&transcript.to_string_lossy());
    paths.cursors_dir().join(format!("{key:016x}.json"))
}

impl Cursor {
    /// Load the cursor of `transcript`; a fresh one if missing or unreadable.
    pub fn load(paths: &Paths, transcript: &Path) -> Cursor {
        files::read_own_json::<Cursor>(&cursor_path(paths, transcript), CURSOR_MAX_BYTES)
            .filter(|c| c.path == transcript.to_string_lossy())
            .unwrap_or_else(|| Cursor {
                path: transcript.to_string_lossy().into_owned(),
                ..Cursor::default()
            })
    }

    /// Save; the caller holds the ledger lock.
    pub fn save(&self, paths: &Paths, transcript: &Path) -> std::io::Result<()> {
        files::ensure_data_subdir(&paths.cursors_dir())?;
        let bytes = serde_json::to_vec(self).expect("cursor always serializes");
        // Under the ledger lock: one swap file serves every cursor.
        let swap = paths.cursors_dir().join("swap");
        files::replace_through_swap(&cursor_path(paths, transcript), &swap, &bytes)
    }

    /// Start over on a different file (replaced or truncated transcript).
    pub fn reset(&mut self, dev: u64, ino: u64) {
        *self = Cursor {
            path: std::mem::take(&mut self.path),
            dev,
            ino,
            ..Cursor::default()
        };
    }
}
