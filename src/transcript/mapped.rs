//! A transcript's new bytes, mapped rather than copied when there are many of them.
//!
//! A hook reads tens of kilobytes on an ordinary event (the tool result it follows). Copied
//! into fresh heap memory, every 4 KiB page of that copy is a page fault, and on the
//! virtual machines these tools often run on a fault costs several microseconds: a 70 KB
//! read was 17 faults, a tenth of a hook's whole run. Mapped, the bytes are the page
//! cache's own pages, mapped a batch at a time, and nothing is copied.
//!
//! A mapped file that shrinks under us (someone truncates a transcript while we read it;
//! the client only ever appends) turns the next touch of a page past its new end into
//! `SIGBUS`. While a mapping is in use, that signal, for an address inside it, ends the
//! process with exit status 0 and one line on stderr: exactly a hook killed at that
//! moment, which loses nothing (the transcript's cursor was not moved, the next event
//! reads again, the live state converges to the ledger). Any other `SIGBUS` gets the
//! default action, as before.

use std::fs::File;
use std::ops::Deref;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Reads at least this long are mapped; shorter ones are copied (a mapping costs two
/// system calls and its own bookkeeping, more than copying a few pages).
pub const MAP_FROM: u64 = 16 << 10;

/// Bytes read from a file: copied into the heap, or mapped.
pub enum Chunk {
    Copied(Vec<u8>),
    Mapped(Mapping),
}

impl Default for Chunk {
    fn default() -> Chunk {
        Chunk::Copied(Vec::new())
    }
}

impl Deref for Chunk {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Chunk::Copied(bytes) => bytes,
            Chunk::Mapped(mapping) => mapping.bytes(),
        }
    }
}

impl std::fmt::Debug for Chunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Chunk({} bytes)", self.len())
    }
}

impl Chunk {
    /// Keep only the first `len` bytes.
    pub fn truncate(&mut self, len: usize) {
        match self {
            Chunk::Copied(bytes) => bytes.truncate(len),
            Chunk::Mapped(mapping) => mapping.len = mapping.len.min(len),
        }
    }
}

/// `len` bytes of a file from some offset, mapped read-only; unmapped on drop.
pub struct Mapping {
    /// Start of the mapping (page-aligned, at or before the first byte we want).
    base: *mut libc::c_void,
    /// Length of the mapping.
    mapped: usize,
    /// Where our bytes start inside it, and how many there are.
    skip: usize,
    len: usize,
}

impl Mapping {
    /// Map `len` bytes of `file` from `offset`; `None` if the file cannot be mapped (a
    /// file system without mmap) or another mapping is in use, and the caller copies.
    /// `len` must not reach past the file's end as last seen.
    pub fn new(file: &File, offset: u64, len: usize) -> Option<Mapping> {
        if len == 0 || GUARD_IN_USE.swap(true, Ordering::AcqRel) {
            return None;
        }
        let mapped = map(file, offset, len);
        if mapped.is_none() {
            GUARD_IN_USE.store(false, Ordering::Release);
        }
        mapped
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `base..base + mapped` is a live read-only mapping owned by `self`, and
        // `skip + len <= mapped`. A page of it past the file's current end raises SIGBUS,
        // which `on_sigbus` turns into an exit; no reference outlives `self`.
        unsafe { std::slice::from_raw_parts(self.base.cast::<u8>().add(self.skip), self.len) }
    }
}

fn map(file: &File, offset: u64, len: usize) -> Option<Mapping> {
    let page = page_size();
    let skip = (offset % page as u64) as usize;
    let start = libc::off_t::try_from(offset - skip as u64).ok()?;
    let mapped = len.checked_add(skip)?;
    guard_sigbus()?;
    // SAFETY: a fresh private read-only mapping of a file we hold open; checked below.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            mapped,
            libc::PROT_READ,
            libc::MAP_PRIVATE,
            file.as_raw_fd(),
            start,
        )
    };
    if base == libc::MAP_FAILED {
        unguard_sigbus();
        return None;
    }
    GUARDED_START.store(base as usize, Ordering::Release);
    GUARDED_END.store(base as usize + mapped, Ordering::Release);
    Some(Mapping {
        base,
        mapped,
        skip,
        len,
    })
}

impl Drop for Mapping {
    fn drop(&mut self) {
        GUARDED_START.store(0, Ordering::Release);
        GUARDED_END.store(0, Ordering::Release);
        // SAFETY: unmapping what `map` mapped, once; no slice of it is alive (they borrow
        // `self`).
        unsafe { libc::munmap(self.base, self.mapped) };
        unguard_sigbus();
        GUARD_IN_USE.store(false, Ordering::Release);
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size)
        .ok()
        .filter(|s| *s > 0)
        .unwrap_or(4096)
}

/// One mapping is guarded at a time: the one whose addresses are below.
static GUARD_IN_USE: AtomicBool = AtomicBool::new(false);
static GUARDED_START: AtomicUsize = AtomicUsize::new(0);
static GUARDED_END: AtomicUsize = AtomicUsize::new(0);
/// The SIGBUS action before ours, put back when the mapping goes.
static mut PREVIOUS: Option<libc::sigaction> = None;

const SHRUNK: &[u8] = b"bedrock-hook: a transcript shrank while it was being read; nothing was recorded from it, the next event reads it again\n";

extern "C" fn on_sigbus(
    _signal: libc::c_int,
    info: *mut libc::siginfo_t,
    _context: *mut libc::c_void,
) {
    // SAFETY: the kernel hands a valid siginfo to an SA_SIGINFO handler.
    let addr = unsafe { (*info).si_addr() } as usize;
    let (start, end) = (
        GUARDED_START.load(Ordering::Acquire),
        GUARDED_END.load(Ordering::Acquire),
    );
    if start <= addr && addr < end {
        // SAFETY: write and _exit are async-signal-safe.
        unsafe {
            libc::write(2, SHRUNK.as_ptr().cast(), SHRUNK.len());
            libc::_exit(0);
        }
    }
    // Not ours: the default action, raised again as the faulting instruction repeats.
    // SAFETY: signal is async-signal-safe.
    unsafe { libc::signal(libc::SIGBUS, libc::SIG_DFL) };
}

/// Install `on_sigbus`, keeping the action it replaces.
fn guard_sigbus() -> Option<()> {
    // SAFETY: a zeroed sigaction is valid; the handler has the SA_SIGINFO signature. Only
    // the holder of GUARD_IN_USE touches PREVIOUS.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigbus as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut action.sa_mask);
        let mut previous: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGBUS, &action, &mut previous) != 0 {
            return None;
        }
        *std::ptr::addr_of_mut!(PREVIOUS) = Some(previous);
    }
    Some(())
}

/// Put back the SIGBUS action `guard_sigbus` replaced.
fn unguard_sigbus() {
    // SAFETY: as in `guard_sigbus`.
    unsafe {
        if let Some(previous) = (*std::ptr::addr_of_mut!(PREVIOUS)).take() {
            libc::sigaction(libc::SIGBUS, &previous, std::ptr::null_mut());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_of(len: usize) -> (tempfile::TempDir, File, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let content: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
        std::fs::File::create(&path)
            .unwrap()
            .write_all(&content)
            .unwrap();
        (dir, File::open(&path).unwrap(), content)
    }

    #[test]
    fn maps_the_bytes_asked_for_at_any_offset() {
        let (_dir, file, content) = file_of(3 * 4096 + 100);
        for (offset, len) in [(0, 10), (1, 4096), (4095, 2), (4097, 8000), (100, 12288)] {
            let mapping = Mapping::new(&file, offset as u64, len).expect("maps");
            assert_eq!(mapping.bytes(), &content[offset..offset + len]);
        }
    }

    #[test]
    fn one_mapping_at_a_time_and_none_of_nothing() {
        let (_dir, file, _) = file_of(100);
        assert!(Mapping::new(&file, 0, 0).is_none());
        let first = Mapping::new(&file, 0, 50).expect("maps");
        assert!(
            Mapping::new(&file, 0, 50).is_none(),
            "second is copied instead"
        );
        drop(first);
    }

    /// The child of `shrunk_file_under_a_mapping_exits_0_with_one_line`.
    #[test]
    fn child_touches_a_mapping_past_a_truncated_end() {
        let Some(path) = std::env::var_os("BEDROCK_HOOK_TEST_SIGBUS_CHILD") else {
            return;
        };
        let file = File::open(&path).unwrap();
        let mapping = loop {
            if let Some(mapping) = Mapping::new(&file, 0, 3 * 4096) {
                break mapping;
            }
        };
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(0)
            .unwrap();
        let sum: u64 = mapping.bytes().iter().map(|b| u64::from(*b)).sum();
        panic!("read {sum} from a truncated file without SIGBUS");
    }

    #[test]
    fn shrunk_file_under_a_mapping_exits_0_with_one_line() {
        let (dir, _file, _) = file_of(3 * 4096);
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "transcript::mapped::tests::child_touches_a_mapping_past_a_truncated_end",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("BEDROCK_HOOK_TEST_SIGBUS_CHILD", dir.path().join("t.jsonl"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "status {:?}, stderr {stderr}",
            out.status
        );
        assert!(
            stderr.contains("a transcript shrank while it was being read"),
            "{stderr}"
        );
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("test result"),
            "exited in the handler"
        );
    }

    #[test]
    fn truncated_chunk_keeps_its_start() {
        let (_dir, file, content) = file_of(9000);
        let mut chunk = Chunk::Mapped(Mapping::new(&file, 10, 8000).unwrap());
        chunk.truncate(5);
        assert_eq!(&chunk[..], &content[10..15]);
        chunk.truncate(50);
        assert_eq!(chunk.len(), 5);
    }
}
