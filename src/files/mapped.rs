//! Bytes of a file mapped rather than copied, when there are many of them: a transcript's
//! new bytes, a busy day's dedupe index.
//!
//! A hook reads tens of kilobytes on an ordinary event (the tool result it follows). Copied
//! into fresh heap memory, every 4 KiB page of that copy is a page fault, and on the
//! virtual machines these tools often run on a fault costs several microseconds: a 70 KB
//! read was 17 faults, a tenth of a hook's whole run. Mapped, the bytes are the page
//! cache's own pages, mapped a batch at a time, and nothing is copied.
//!
//! A mapped file that shrinks under us (someone truncates a transcript or a ledger index
//! while we read it; the client and our writers only ever append to them) turns the next
//! touch of a page past its new end into `SIGBUS`. For an address inside a live mapping,
//! that signal ends the process with exit status 0 and one line on stderr: exactly a hook
//! killed at that moment, which loses nothing (no cursor moved past what was recorded, the
//! next event reads again, the live state converges to the ledger). Any other `SIGBUS`
//! goes to the handler that was there before (the standard library's), or gets the default
//! action.

use std::fs::File;
use std::io;
use std::ops::Deref;
use std::os::fd::AsRawFd;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Reads at least this long are mapped; shorter ones are copied (a mapping costs two
/// system calls and its own bookkeeping, more than copying a few pages).
pub const MAP_FROM: u64 = 16 << 10;

/// `len` bytes of `file` from `offset` (which end before its length as last seen): mapped
/// when there are [`MAP_FROM`] or more and a guard slot is free, else copied (fewer if the
/// file is shorter by now).
pub fn read(file: &File, offset: u64, len: u64, holds: Holds) -> io::Result<Chunk> {
    if len >= MAP_FROM
        && let Ok(mapped_len) = usize::try_from(len)
        && let Some(mapping) = Mapping::new(file, offset, mapped_len, holds)
    {
        return Ok(Chunk::Mapped(mapping));
    }
    super::read_at(file, offset, len).map(Chunk::Copied)
}

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

/// What a mapping holds, for the line printed if its file shrinks under it.
#[derive(Debug, Clone, Copy)]
pub enum Holds {
    Transcript = 0,
    LedgerIndex = 1,
}

const SHRUNK: [&[u8]; 2] = [
    b"bedrock-hook: a transcript shrank while it was being read; nothing was recorded from it, the next event reads it again\n",
    b"bedrock-hook: a ledger index shrank while it was being read; the next event repairs it from its day file\n",
];

/// `len` bytes of a file from some offset, mapped read-only; unmapped on drop.
pub struct Mapping {
    /// Start of the mapping (page-aligned, at or before the first byte we want).
    base: *mut libc::c_void,
    /// Length of the mapping.
    mapped: usize,
    /// Where our bytes start inside it, and how many there are.
    skip: usize,
    len: usize,
    /// The guard slot naming its addresses.
    slot: usize,
}

impl Mapping {
    /// Map `len` bytes of `file` from `offset`; `None` if the file cannot be mapped (a
    /// file system without mmap) or every guard slot is in use, and the caller copies.
    /// `len` must not reach past the file's end as last seen.
    pub fn new(file: &File, offset: u64, len: usize, holds: Holds) -> Option<Mapping> {
        if len == 0 || !guard_installed() {
            return None;
        }
        let slot = (0..SLOTS).find(|&i| {
            IN_USE[i]
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        })?;
        let mapped = map(file, offset, len, slot, holds);
        if mapped.is_none() {
            IN_USE[slot].store(false, Ordering::Release);
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

fn map(file: &File, offset: u64, len: usize, slot: usize, holds: Holds) -> Option<Mapping> {
    let page = page_size();
    let skip = (offset % page as u64) as usize;
    let start = libc::off_t::try_from(offset - skip as u64).ok()?;
    let mapped = len.checked_add(skip)?;
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
        return None;
    }
    HOLDS[slot].store(holds as usize, Ordering::Release);
    GUARDED_END[slot].store(base as usize + mapped, Ordering::Release);
    GUARDED_START[slot].store(base as usize, Ordering::Release);
    Some(Mapping {
        base,
        mapped,
        skip,
        len,
        slot,
    })
}

impl Drop for Mapping {
    fn drop(&mut self) {
        GUARDED_START[self.slot].store(0, Ordering::Release);
        GUARDED_END[self.slot].store(0, Ordering::Release);
        // SAFETY: unmapping what `map` mapped, once; no slice of it is alive (they borrow
        // `self`).
        unsafe { libc::munmap(self.base, self.mapped) };
        IN_USE[self.slot].store(false, Ordering::Release);
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

/// Mappings guarded at once (a transcript's new bytes and the day indexes one command
/// holds open); past that, reads are copied.
const SLOTS: usize = 8;
static IN_USE: [AtomicBool; SLOTS] = [const { AtomicBool::new(false) }; SLOTS];
static GUARDED_START: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static GUARDED_END: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static HOLDS: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
/// The SIGBUS action before ours (`None`: installing ours failed, nothing is mapped).
static PREVIOUS: OnceLock<Option<libc::sigaction>> = OnceLock::new();

extern "C" fn on_sigbus(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    // SAFETY: the kernel hands a valid siginfo to an SA_SIGINFO handler.
    let addr = unsafe { (*info).si_addr() } as usize;
    for slot in 0..SLOTS {
        let start = GUARDED_START[slot].load(Ordering::Acquire);
        let end = GUARDED_END[slot].load(Ordering::Acquire);
        if start != 0 && start <= addr && addr < end {
            let line = SHRUNK[HOLDS[slot].load(Ordering::Acquire).min(SHRUNK.len() - 1)];
            // SAFETY: write and _exit are async-signal-safe.
            unsafe {
                libc::write(2, line.as_ptr().cast(), line.len());
                libc::_exit(0);
            }
        }
    }
    // Not ours: whoever handled SIGBUS before, else the default action, raised again as
    // the faulting instruction repeats.
    let previous = PREVIOUS.get().copied().flatten();
    // SAFETY: calling the handler that was installed for this signal, with the kernel's
    // arguments, as the kernel would have; `signal` is async-signal-safe.
    unsafe {
        match previous {
            Some(p) if p.sa_sigaction != libc::SIG_DFL && p.sa_sigaction != libc::SIG_IGN => {
                if p.sa_flags & libc::SA_SIGINFO != 0 {
                    let handler: extern "C" fn(
                        libc::c_int,
                        *mut libc::siginfo_t,
                        *mut libc::c_void,
                    ) = std::mem::transmute(p.sa_sigaction);
                    handler(signal, info, context);
                } else {
                    let handler: extern "C" fn(libc::c_int) = std::mem::transmute(p.sa_sigaction);
                    handler(signal);
                }
            }
            _ => {
                libc::signal(libc::SIGBUS, libc::SIG_DFL);
            }
        }
    }
}

/// Install `on_sigbus` once per process, keeping the action it replaces; whether it is in
/// place.
fn guard_installed() -> bool {
    PREVIOUS
        .get_or_init(|| {
            // SAFETY: zeroed sigactions are valid; the handler has the SA_SIGINFO signature.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_sigbus as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO;
                libc::sigemptyset(&mut action.sa_mask);
                let mut previous: libc::sigaction = std::mem::zeroed();
                (libc::sigaction(libc::SIGBUS, &action, &mut previous) == 0).then_some(previous)
            }
        })
        .is_some()
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
            let mapping = Mapping::new(&file, offset as u64, len, Holds::Transcript).expect("maps");
            assert_eq!(mapping.bytes(), &content[offset..offset + len]);
        }
    }

    #[test]
    fn a_few_mappings_at_a_time_and_none_of_nothing() {
        let (_dir, file, _) = file_of(100);
        assert!(Mapping::new(&file, 0, 0, Holds::Transcript).is_none());
        let held: Vec<Mapping> =
            std::iter::from_fn(|| Mapping::new(&file, 0, 50, Holds::LedgerIndex))
                .take(SLOTS + 1)
                .collect();
        assert!(held.len() <= SLOTS, "past the slots, reads are copied");
        assert!(held.iter().all(|m| m.bytes().len() == 50));
    }

    /// The child of `shrunk_file_under_a_mapping_exits_0_with_one_line`.
    #[test]
    fn child_touches_a_mapping_past_a_truncated_end() {
        let Some(path) = std::env::var_os("BEDROCK_HOOK_TEST_SIGBUS_CHILD") else {
            return;
        };
        let file = File::open(&path).unwrap();
        let mapping = loop {
            if let Some(mapping) = Mapping::new(&file, 0, 3 * 4096, Holds::Transcript) {
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
                "files::mapped::tests::child_touches_a_mapping_past_a_truncated_end",
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
        let mut chunk = Chunk::Mapped(Mapping::new(&file, 10, 8000, Holds::Transcript).unwrap());
        chunk.truncate(5);
        assert_eq!(&chunk[..], &content[10..15]);
        chunk.truncate(50);
        assert_eq!(chunk.len(), 5);
    }
}
