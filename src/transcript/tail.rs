//! Reads the bytes a transcript gained since its cursor, as whole lines.
//!
//! Bounded work per call: at most `budget` bytes are read, a partial last line is left
//! for next time, and a line longer than `max_line` is skipped without being buffered
//! whole. Non-regular files (a FIFO, `/dev/zero`) are refused before any read, and the
//! open is non-blocking so a FIFO cannot hang us.
//!
//! `import` streams whole transcripts through one reusable buffer per thread
//! ([`stream_new`]): a block of whole lines at a time, so a gigabyte of history costs one
//! copy out of the page cache and no allocation per file.

use std::fs::{File, OpenOptions};
use std::io;
use std::ops::ControlFlow;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use super::cursor::Cursor;
use crate::files::mapped::{self, Chunk, Holds};
use crate::files::read_at;

/// Read limits for one call.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most bytes to read now.
    pub budget: u64,
    /// Lines longer than this are skipped (they are tool output, never request entries).
    pub max_line: u64,
}

/// Complete new lines (each ending in `\n`), and whether more bytes remain unread.
#[derive(Debug, Default)]
pub struct NewLines {
    pub bytes: Chunk,
    pub more: bool,
}

/// Read what `path` gained since `cursor` (at most `limits.budget` bytes).
pub fn read_new(path: &Path, cursor: &mut Cursor, limits: Limits) -> io::Result<NewLines> {
    let file = open_transcript(path)?;
    let len = resume(&file, cursor)?;
    let mut out = NewLines::default();
    if cursor.skipping && !skip_long_line(&file, cursor, len, limits)? {
        out.more = cursor.offset < len;
        return Ok(out);
    }
    if cursor.offset >= len {
        return Ok(out);
    }
    let want = (len - cursor.offset).min(limits.budget.max(1));
    let mut chunk = mapped::read(&file, cursor.offset, want, Holds::Transcript)?;
    match memchr::memrchr(b'\n', &chunk) {
        Some(at) => {
            cursor.offset += at as u64 + 1;
            chunk.truncate(at + 1);
            out.bytes = chunk;
            out.more = cursor.offset < len;
        }
        None if chunk.len() as u64 >= limits.max_line => {
            cursor.offset += chunk.len() as u64;
            cursor.skipping = true;
            out.more = cursor.offset < len;
        }
        // A line still being written: next time.
        None => {}
    }
    Ok(out)
}

/// Open a transcript for reading without ever blocking on it (a FIFO in its place).
pub fn open_transcript(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

/// Check that `file` is a regular file and point `cursor` at it: a different file (same
/// path, new inode) or one shorter than the cursor starts over. Returns its length.
fn resume(file: &File, cursor: &mut Cursor) -> io::Result<u64> {
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(io::Error::other("transcript is not a regular file"));
    }
    if (meta.dev(), meta.ino()) != (cursor.dev, cursor.ino) || meta.len() < cursor.offset {
        cursor.reset(meta.dev(), meta.ino());
    }
    Ok(meta.len())
}

/// What one [`stream_new`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Streamed {
    /// `on_block` stopped it before the end.
    pub stopped: bool,
    /// How far the cursor moved (lines handed over and lines skipped).
    pub bytes: u64,
}

/// Bytes `stream_new` reads at a time: small enough to stay in cache while its lines are
/// classified.
const STREAM_BLOCK: usize = 256 << 10;
/// Alignment of every read's destination: copying out of the page cache into memory not
/// aligned to a cache line is several times slower (measured: 0.5 s instead of 0.12 s per
/// GB on a 16-byte offset).
const READ_ALIGN: usize = 64;

/// Hand everything `file` gained since `cursor` to `on_block`, a block of whole lines at
/// a time, through `buf` (kept by the caller and reused: it grows only for a line longer
/// than a block, and not much past `max_line`). Each block is passed with the cursor
/// already moved past it. A line of `max_line` bytes or more is skipped; a last line
/// without its newline is left for next time.
pub fn stream_new(
    file: &File,
    cursor: &mut Cursor,
    max_line: u64,
    buf: &mut Vec<u8>,
    on_block: &mut dyn FnMut(&[u8], &mut Cursor) -> ControlFlow<()>,
) -> io::Result<Streamed> {
    let len = resume(file, cursor)?;
    let from = cursor.offset;
    let done = |cursor: &Cursor, stopped| Streamed {
        stopped,
        bytes: cursor.offset - from,
    };
    let max_line = usize::try_from(max_line).unwrap_or(usize::MAX).max(1);
    // `buf[lo..hi]` holds the file's bytes from `cursor.offset` on: the start of a line
    // whose end has not been read yet.
    let (mut lo, mut hi) = (0usize, 0usize);
    loop {
        if hi - lo >= max_line {
            cursor.offset += (hi - lo) as u64;
            cursor.skipping = true;
            (lo, hi) = (0, 0);
        }
        let at = cursor.offset + (hi - lo) as u64;
        if at >= len {
            return Ok(done(cursor, false));
        }
        let room = STREAM_BLOCK.min(usize::try_from(len - at).unwrap_or(usize::MAX));
        let aligned = (buf.as_ptr() as usize + hi).is_multiple_of(READ_ALIGN);
        if !aligned || hi + room > buf.len() {
            // Move the pending bytes so that they end where an aligned read can begin.
            let pending = hi - lo;
            let need = READ_ALIGN + pending.next_multiple_of(READ_ALIGN) + STREAM_BLOCK;
            if buf.len() < need {
                buf.resize(need.max(buf.len().saturating_mul(2)), 0);
            }
            let read_from =
                buf.as_ptr().align_offset(READ_ALIGN) + pending.next_multiple_of(READ_ALIGN);
            buf.copy_within(lo..hi, read_from - pending);
            (lo, hi) = (read_from - pending, read_from);
        }
        let n = match file.read_at(&mut buf[hi..hi + room], at) {
            Ok(0) => return Ok(done(cursor, false)),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        // Bytes before `hi` hold no line end: only the ones just read are searched.
        let mut new_from = hi;
        hi += n;
        if cursor.skipping {
            // The buffer holds nothing but the over-long line's bytes.
            let Some(end) = memchr::memchr(b'\n', &buf[lo..hi]).map(|e| e + lo) else {
                cursor.offset += (hi - lo) as u64;
                (lo, hi) = (0, 0);
                continue;
            };
            cursor.offset += (end + 1 - lo) as u64;
            cursor.skipping = false;
            lo = end + 1;
            new_from = lo;
        }
        let Some(end) = memchr::memrchr(b'\n', &buf[new_from..hi]).map(|e| e + new_from) else {
            continue;
        };
        cursor.offset += (end + 1 - lo) as u64;
        let flow = on_block(&buf[lo..=end], cursor);
        lo = end + 1;
        if flow.is_break() {
            return Ok(done(cursor, cursor.offset < len));
        }
    }
}

/// Scan past the rest of an over-long line without buffering it. Returns false if the
/// scan budget ran out first (the cursor still advanced).
fn skip_long_line(file: &File, cursor: &mut Cursor, len: u64, limits: Limits) -> io::Result<bool> {
    const PIECE: u64 = 1 << 20;
    let scan_budget = limits.budget.saturating_mul(16).max(PIECE);
    let mut scanned = 0u64;
    while cursor.offset < len {
        let piece = read_at(file, cursor.offset, PIECE.min(len - cursor.offset))?;
        if piece.is_empty() {
            break;
        }
        if let Some(at) = memchr::memchr(b'\n', &piece) {
            cursor.offset += at as u64 + 1;
            cursor.skipping = false;
            return Ok(true);
        }
        cursor.offset += piece.len() as u64;
        scanned += piece.len() as u64;
        if scanned >= scan_budget {
            return Ok(false);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const BIG: Limits = Limits {
        budget: 1 << 20,
        max_line: 1 << 20,
    };

    fn lines(out: &NewLines) -> Vec<String> {
        String::from_utf8_lossy(&out.bytes)
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn reads_only_new_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let mut f = File::create(&path).unwrap();
        f.write_all(b"one\ntwo\nthr").unwrap();
        let mut cursor = Cursor::default();
        assert_eq!(
            lines(&read_new(&path, &mut cursor, BIG).unwrap()),
            vec!["one", "two"]
        );
        assert_eq!(cursor.offset, 8);
        assert!(read_new(&path, &mut cursor, BIG).unwrap().bytes.is_empty());
        f.write_all(b"ee\nfour\n").unwrap();
        assert_eq!(
            lines(&read_new(&path, &mut cursor, BIG).unwrap()),
            vec!["three", "four"]
        );
    }

    #[test]
    fn long_reads_from_any_offset_hand_over_the_same_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let all: Vec<String> = (0..3000)
            .map(|i| format!("line {i:05} {}", "x".repeat(i % 40)))
            .collect();
        let mut f = File::create(&path).unwrap();
        f.write_all(all.join("\n").as_bytes()).unwrap();
        // The first line and the unfinished last one out: the read starts mid-page and
        // is longer than MAP_FROM, so it is mapped whenever no other mapping is in use.
        let meta = f.metadata().unwrap();
        let mut cursor = Cursor {
            offset: all[0].len() as u64 + 1,
            dev: meta.dev(),
            ino: meta.ino(),
            ..Cursor::default()
        };
        let out = read_new(&path, &mut cursor, BIG).unwrap();
        assert!(out.bytes.len() as u64 >= mapped::MAP_FROM);
        assert_eq!(lines(&out), all[1..all.len() - 1]);
        assert_eq!(out.bytes.last(), Some(&b'\n'));
    }

    /// Every line `stream_new` hands over, stopping after `stop_after` blocks.
    fn stream_lines(
        path: &Path,
        cursor: &mut Cursor,
        max_line: u64,
        stop_after: usize,
    ) -> (Vec<Vec<u8>>, bool) {
        let start = cursor.offset;
        let file = open_transcript(path).unwrap();
        let mut buf = Vec::new();
        let mut seen = Vec::new();
        let mut blocks = 0;
        let stopped = stream_new(&file, cursor, max_line, &mut buf, &mut |block, _| {
            assert_eq!(block.last(), Some(&b'\n'));
            seen.extend(
                block
                    .split(|b| *b == b'\n')
                    .filter(|l| !l.is_empty())
                    .map(<[u8]>::to_vec),
            );
            blocks += 1;
            if blocks == stop_after {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
        assert_eq!(stopped.bytes, cursor.offset - start);
        (seen, stopped.stopped)
    }

    #[test]
    fn stream_hands_over_whole_lines_across_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        // Short lines, one spanning several blocks (the buffer grows), one over the line
        // limit (skipped), and a last line still being written.
        let mut content = Vec::new();
        let mut expected = Vec::new();
        for i in 0..40_000 {
            let line = format!("line {i} {}", "x".repeat(i % 97));
            content.extend_from_slice(line.as_bytes());
            content.push(b'\n');
            expected.push(line.into_bytes());
            if i == 20_000 {
                let long = vec![b'l'; (STREAM_BLOCK * 5) / 2];
                content.extend_from_slice(&long);
                content.push(b'\n');
                expected.push(long);
                content.extend_from_slice(&vec![b'o'; 8 * STREAM_BLOCK]);
                content.push(b'\n');
            }
        }
        let whole = content.len() as u64;
        content.extend_from_slice(b"{\"torn");
        std::fs::write(&path, &content).unwrap();
        let mut cursor = Cursor::default();
        let (seen, stopped) = stream_lines(&path, &mut cursor, 4 * STREAM_BLOCK as u64, 0);
        assert!(!stopped);
        assert_eq!(seen.len(), expected.len());
        assert!(seen == expected, "lines differ");
        assert_eq!(cursor.offset, whole);
        assert!(!cursor.skipping);
        // Nothing new: nothing handed over.
        assert_eq!(stream_lines(&path, &mut cursor, 1 << 30, 0).0.len(), 0);
    }

    #[test]
    fn stream_stopped_early_resumes_where_it_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let line = format!("{}\n", "y".repeat(1000));
        std::fs::write(&path, line.repeat(3000)).unwrap();
        let mut cursor = Cursor::default();
        let (first, stopped) = stream_lines(&path, &mut cursor, 1 << 30, 1);
        assert!(stopped);
        assert!(!first.is_empty() && first.len() < 3000);
        assert_eq!(cursor.offset, first.len() as u64 * 1001);
        let (rest, stopped) = stream_lines(&path, &mut cursor, 1 << 30, 0);
        assert!(!stopped);
        assert_eq!(first.len() + rest.len(), 3000);
    }

    /// A 100-byte line then `ok`, read 30 bytes at a time with lines of 30 or more skipped.
    const SHORT_READS: Limits = Limits {
        budget: 30,
        max_line: 30,
    };

    fn long_line_then_ok() -> (tempfile::TempDir, std::path::PathBuf, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let mut content = vec![b'x'; 100];
        content.extend_from_slice(b"\nok\n");
        std::fs::write(&path, &content).unwrap();
        (dir, path, content)
    }

    #[test]
    fn stream_finishes_a_skip_begun_by_an_earlier_read() {
        let (_dir, path, content) = long_line_then_ok();
        let mut cursor = Cursor::default();
        let limits = SHORT_READS;
        read_new(&path, &mut cursor, limits).unwrap();
        assert!(cursor.skipping);
        let (seen, _) = stream_lines(&path, &mut cursor, 30, 0);
        assert_eq!(seen, vec![b"ok".to_vec()]);
        assert_eq!(cursor.offset, content.len() as u64);
    }

    #[test]
    fn shrunk_or_replaced_file_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        std::fs::write(&path, b"a\nb\n").unwrap();
        let mut cursor = Cursor::default();
        read_new(&path, &mut cursor, BIG).unwrap();
        std::fs::write(&path, b"c\n").unwrap();
        assert_eq!(
            lines(&read_new(&path, &mut cursor, BIG).unwrap()),
            vec!["c"]
        );
        let other = dir.path().join("u.jsonl");
        std::fs::write(&other, b"x\ny\nz\n").unwrap();
        std::fs::rename(&other, &path).unwrap();
        assert_eq!(
            lines(&read_new(&path, &mut cursor, BIG).unwrap()),
            vec!["x", "y", "z"]
        );
    }

    #[test]
    fn budget_bounds_each_call() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        std::fs::write(&path, b"aaaa\nbbbb\ncccc\n").unwrap();
        let mut cursor = Cursor::default();
        let small = Limits {
            budget: 10,
            max_line: 100,
        };
        let first = read_new(&path, &mut cursor, small).unwrap();
        assert_eq!(lines(&first), vec!["aaaa", "bbbb"]);
        assert!(first.more);
        assert_eq!(
            lines(&read_new(&path, &mut cursor, small).unwrap()),
            vec!["cccc"]
        );
    }

    #[test]
    fn over_long_line_is_skipped_in_pieces() {
        let (_dir, path, _) = long_line_then_ok();
        let mut cursor = Cursor::default();
        let limits = SHORT_READS;
        let mut seen = Vec::new();
        for _ in 0..10 {
            let out = read_new(&path, &mut cursor, limits).unwrap();
            seen.extend(lines(&out));
        }
        assert_eq!(seen, vec!["ok"]);
    }

    #[test]
    fn refuses_fifos_and_devices_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let mut cursor = Cursor::default();
        assert!(read_new(&fifo, &mut cursor, BIG).is_err());
        assert!(read_new(Path::new("/dev/zero"), &mut cursor, BIG).is_err());
        assert!(read_new(&dir.path().join("missing"), &mut cursor, BIG).is_err());
    }
}
