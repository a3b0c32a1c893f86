//! Reading a transcript's new lines into assembled items and records, under the lock or
//! (for `import`'s workers) before it is taken.

use std::fs::File;
use std::io;
use std::ops::ControlFlow;
use std::path::Path;

use crate::paths::Paths;
use crate::transcript::{self, Assembled, Cursor};

use super::{Ingested, Item, Origin, ReadOpts, RecordMaker};

/// Most assembled items [`prepare`] holds before handing over (bounds its memory on a
/// huge transcript; the rest is read under the lock).
pub(super) const PREPARE_MAX_ITEMS: usize = 2_000;

/// A transcript read and assembled without the ledger lock, for [`Writer::apply`]: lets
/// `import` parse transcripts on several threads while one thread records.
#[derive(Debug)]
pub struct Prepared {
    /// The cursor it started from (compared again under the lock).
    pub(super) start: Cursor,
    pub(super) end: Cursor,
    pub(super) items: Vec<Item>,
    pub(super) counts: Ingested,
    /// Whether the whole transcript was read.
    pub(super) complete: bool,
}

/// Read the already opened `transcript` from its saved cursor to its end and make its
/// records, without recording them, streaming it through `buf` (the caller's, reused
/// across transcripts). Stops early, with `complete` false, once [`PREPARE_MAX_ITEMS`]
/// items are assembled.
pub fn prepare(
    paths: &Paths,
    maker: &RecordMaker<'_>,
    transcript: &Path,
    origin: &Origin,
    file: &File,
    opts: ReadOpts,
    buf: &mut Vec<u8>,
) -> io::Result<Prepared> {
    let start = Cursor::load(paths, transcript);
    let mut cursor = start.clone();
    let mut counts = Ingested::default();
    let mut assembled = Vec::new();
    let streamed = transcript::stream_new(
        file,
        &mut cursor,
        opts.limits.max_line,
        buf,
        &mut |block, cursor| {
            consume_lines(block, cursor, &mut counts, &mut assembled);
            if assembled.len() >= PREPARE_MAX_ITEMS {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )?;
    counts.bytes = streamed.bytes;
    let stopped = streamed.stopped;
    if !stopped {
        close_unanswered(opts, &mut cursor, &mut assembled);
    }
    Ok(Prepared {
        start,
        end: cursor,
        items: maker.items(assembled, origin),
        counts,
        complete: !stopped,
    })
}

/// One read of what `transcript` gained: its lines classified and assembled, flushed as
/// `opts` says on the last pass. `None` if the file does not exist; the flag says whether
/// this was the last pass.
pub(super) fn read_pass(
    transcript: &Path,
    cursor: &mut Cursor,
    opts: ReadOpts,
    total: &mut Ingested,
) -> io::Result<Option<(Vec<Assembled>, bool)>> {
    let before = cursor.offset;
    let new = match transcript::read_new(transcript, cursor, opts.limits) {
        Ok(new) => new,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    total.bytes += cursor.offset.saturating_sub(before);
    let mut assembled = Vec::new();
    consume_lines(&new.bytes, cursor, total, &mut assembled);
    let last_pass = !(opts.drain && new.more);
    if last_pass {
        close_unanswered(opts, cursor, &mut assembled);
    }
    Ok(Some((assembled, last_pass)))
}

/// After the last read of a call: requests sent before `opts.unanswered_before` that
/// still have no response never will (see `Assembler::flush_unanswered`).
pub(super) fn close_unanswered(
    opts: ReadOpts,
    cursor: &mut Cursor,
    assembled: &mut Vec<Assembled>,
) {
    if let Some(cutoff) = opts.unanswered_before {
        cursor.assembler.flush_unanswered(cutoff, assembled);
    }
}

/// Classify whole lines and feed them to the cursor's assembler.
pub(super) fn consume_lines(
    bytes: &[u8],
    cursor: &mut Cursor,
    total: &mut Ingested,
    assembled: &mut Vec<Assembled>,
) {
    let mut rest = bytes;
    while !rest.is_empty() {
        let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let line = &rest[..end];
        rest = rest.get(end + 1..).unwrap_or_default();
        if line.is_empty() {
            continue;
        }
        let entry = transcript::wire::classify(line);
        if matches!(entry, transcript::wire::Entry::Malformed) {
            // Told apart only for lines that matter: UTF-8 is never checked on the
            // megabytes of tool output the classifier skips.
            if std::str::from_utf8(line).is_err() {
                total.non_utf8_lines += 1;
            } else {
                total.garbage_lines += 1;
            }
        }
        cursor.assembler.feed(entry, assembled);
    }
}
