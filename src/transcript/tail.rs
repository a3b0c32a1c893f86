//! Reads the bytes a transcript gained since its cursor, as whole lines.
//!
//! Bounded work per call: at most `budget` bytes are read, a partial last line is left
//! for next time, and a line longer than `max_line` is skipped without being buffered
//! whole. Non-regular files (a FIFO, `/dev/zero`) are refused before any read, and the
//! open is non-blocking so a FIFO cannot hang us.
//!
//! `import` reads finished transcripts by mapping them ([`Read::Mapped`]) instead of
//! copying: on a gigabyte of history that is several times faster. The hot paths copy
//! (a mapped file truncated under us would kill the process with SIGBUS; Claude Code
//! only ever appends, but a hook must not bet on it).

use std::fs::{File, OpenOptions};
use std::io;
use std::ops::Deref;
use std::os::fd::AsRawFd;
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

/// How the bytes are brought in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// Copied into memory (hot paths).
    Copied,
    /// Mapped read-only (import of finished transcripts).
    Mapped,
}

/// Complete new lines (each ending in `\n`), and whether more bytes remain unread.
#[derive(Debug, Default)]
pub struct NewLines {
    pub bytes: Chunk,
    pub more: bool,
}

/// Bytes read from a transcript, copied or mapped.
#[derive(Debug)]
pub enum Chunk {
    Owned(Vec<u8>),
    Mapped(Mapping),
}

impl Default for Chunk {
    fn default() -> Self {
        Chunk::Owned(Vec::new())
    }
}

impl Deref for Chunk {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Chunk::Owned(bytes) => bytes,
            Chunk::Mapped(mapping) => mapping.bytes(),
        }
    }
}

/// A read-only private mapping of part of a file, unmapped on drop.
#[derive(Debug)]
pub struct Mapping {
    base: *mut libc::c_void,
    mapped_len: usize,
    /// Where the requested bytes start inside the mapping (offsets are page-aligned).
    start: usize,
    len: usize,
}

impl Mapping {
    fn new(file: &File, offset: u64, len: usize) -> io::Result<Mapping> {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u64;
        let aligned = offset - offset % page;
        let start = (offset - aligned) as usize;
        let mapped_len = start + len;
        // SAFETY: a fresh read-only private mapping of a file we hold open; the kernel picks
        // the address. Failure is reported as MAP_FAILED.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                mapped_len,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_POPULATE,
                file.as_raw_fd(),
                aligned as libc::off_t,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping {
            base,
            mapped_len,
            start,
            len,
        })
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: the mapping covers `start + len` readable bytes and lives as long as self.
        unsafe { std::slice::from_raw_parts((self.base as *const u8).add(self.start), self.len) }
    }

    fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly what `new` mapped.
        unsafe {
            libc::munmap(self.base, self.mapped_len);
        }
    }
}

/// Read what `path` gained since `cursor`, copying the bytes.
pub fn read_new(path: &Path, cursor: &mut Cursor, limits: Limits) -> io::Result<NewLines> {
    read_new_with(path, cursor, limits, Read::Copied)
}

/// Read what `path` gained since `cursor`, copied or mapped.
pub fn read_new_with(
    path: &Path,
    cursor: &mut Cursor,
    limits: Limits,
    how: Read,
) -> io::Result<NewLines> {
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
    let mut chunk = match how {
        Read::Copied => Chunk::Owned(read_at(&file, cursor.offset, want)?),
        Read::Mapped => Chunk::Mapped(Mapping::new(&file, cursor.offset, want as usize)?),
    };
    match memchr::memrchr(b'\n', &chunk) {
        Some(at) => {
            cursor.offset += at as u64 + 1;
            match &mut chunk {
                Chunk::Owned(bytes) => bytes.truncate(at + 1),
                Chunk::Mapped(mapping) => mapping.truncate(at + 1),
            }
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
    fn mapped_reads_match_copied_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        // Past a page, so the second read starts at an unaligned offset.
        let mut content = format!("{}\n", "a".repeat(5000)).into_bytes();
        content.extend_from_slice(b"two\nthr");
        std::fs::write(&path, &content).unwrap();
        let small = Limits {
            budget: 5001,
            max_line: 1 << 20,
        };
        let (mut copied, mut mapped) = (Cursor::default(), Cursor::default());
        for _ in 0..3 {
            let a = read_new(&path, &mut copied, small).unwrap();
            let b = read_new_with(&path, &mut mapped, small, Read::Mapped).unwrap();
            assert_eq!(&*a.bytes, &*b.bytes);
            assert_eq!(a.more, b.more);
            assert_eq!(copied.offset, mapped.offset);
        }
        assert_eq!(mapped.offset, 5005);
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
