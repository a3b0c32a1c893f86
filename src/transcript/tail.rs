//! Reads the bytes a transcript gained since its cursor, as whole lines.
//!
//! Bounded work per call: at most `budget` bytes are read, a partial last line is left
//! for next time, and a line longer than `max_line` is skipped without being buffered
//! whole. Non-regular files (a FIFO, `/dev/zero`) are refused before any read, and the
//! open is non-blocking so a FIFO cannot hang us.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use super::cursor::Cursor;

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
    pub bytes: Vec<u8>,
    pub more: bool,
}

pub fn read_new(path: &Path, cursor: &mut Cursor, limits: Limits) -> io::Result<NewLines> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(io::Error::other("transcript is not a regular file"));
    }
    if (meta.dev(), meta.ino()) != (cursor.dev, cursor.ino) || meta.len() < cursor.offset {
        cursor.reset(meta.dev(), meta.ino());
    }
    let len = meta.len();
    let mut out = NewLines::default();
    if cursor.skipping && !skip_long_line(&file, cursor, len, limits)? {
        out.more = cursor.offset < len;
        return Ok(out);
    }
    if cursor.offset >= len {
        return Ok(out);
    }
    let want = (len - cursor.offset).min(limits.budget.max(1));
    let mut chunk = read_at(&file, cursor.offset, want)?;
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

fn read_at(file: &File, offset: u64, want: u64) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; want as usize];
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(buf)
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
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let mut content = vec![b'x'; 100];
        content.extend_from_slice(b"\nok\n");
        std::fs::write(&path, &content).unwrap();
        let mut cursor = Cursor::default();
        let limits = Limits {
            budget: 30,
            max_line: 30,
        };
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
