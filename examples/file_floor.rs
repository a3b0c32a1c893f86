//! The file operations of one hook event and nothing else, for the benchmarks: what a
//! PostToolUse costs over the process-spawn floor before any of it is parsed, decided or
//! formatted. Next to `floor` and `bedrock-hook hook` in one run, it splits the hook's
//! ratio into the part its files take (the same system calls, on the same file system)
//! and the part its own work takes.
//!
//! One event, as `bedrock-hook hook` does it (see BENCHMARKS.md for the calls it makes):
//! read stdin; read the config; check the data dir; take the lock; read the live state and
//! the transcript's cursor; map what the transcript gained since the cursor's offset and
//! step over its lines; append one record to the day file and one entry to its index;
//! save the cursor and the live state each through a swap file. No JSON is read or written
//! (the files hold stand-ins of the same sizes), nothing is allocated per line, and the
//! binary is as small as `floor`.
//!
//! ```text
//! file_floor [--one-swap] SCRATCH_DIR TRANSCRIPT < post-hook.json
//! ```
//!
//! `--one-swap` keeps the cursor in the live state's file (one file read and one swap
//! fewer), to measure what that design would save.
//!
//! SCRATCH_DIR is created on the first run; its cursor starts at the transcript's end, so
//! each run reads what was appended since the one before (`gen_corpus append` in the
//! benchmark's `--prepare`), as the hook does. `BEDROCK_HOOK_CONFIG` names the config read.

// Under `cargo test` the harness brings its own `main`: the event needs its arguments.
#![cfg_attr(not(test), no_main)]
#![cfg_attr(test, allow(dead_code, unused_imports))]

use std::ffi::{c_char, c_int};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The binary's allocator, so that the floor starts as `bedrock-hook` does.
#[global_allocator]
static ALLOCATOR: bedrock_hook::start_arena::StartArena = bedrock_hook::start_arena::StartArena;

/// The sizes of the bench's live state and cursor files, and of what one traced
/// PostToolUse appended to the day file and to its index.
const STATE_BYTES: usize = 2048;
const CURSOR_BYTES: usize = 700;
const RECORD_BYTES: usize = 990;
const INDEX_ENTRY_BYTES: usize = 32;

#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    bedrock_hook::process_start();
    let mut args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let one_swap = args.first().is_some_and(|a| a.as_os_str() == "--one-swap");
    if one_swap {
        args.remove(0);
    }
    let [scratch, transcript] = args.as_slice() else {
        eprintln!("usage: file_floor [--one-swap] SCRATCH_DIR TRANSCRIPT < input.json");
        return 2;
    };
    match event(scratch, transcript, one_swap) {
        Ok(lines) => {
            let _ = writeln!(std::io::stdout().lock(), "file_floor {lines}");
            0
        }
        Err(e) => {
            eprintln!("file_floor: {e}");
            1
        }
    }
}

fn event(scratch: &Path, transcript: &Path, one_swap: bool) -> std::io::Result<usize> {
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input)?;
    let mut small = [0u8; 8192];
    if let Some(config) = std::env::var_os("BEDROCK_HOOK_CONFIG")
        && let Ok(mut file) = File::open(config)
    {
        while file.read(&mut small)? > 0 {}
    }
    if !scratch.is_dir() {
        set_up(scratch, transcript)?;
    }
    let lock = own().write(true).create(true).open(scratch.join("lock"))?;
    lock.lock()?;
    let state_len = read_small(&scratch.join("state"), &mut small)?;
    let cursor_len = if one_swap {
        state_len.min(CURSOR_BYTES)
    } else {
        read_small(&scratch.join("cursor"), &mut small)?
    };
    let offset: u64 = std::str::from_utf8(&small[..cursor_len])
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(0);
    let (end, lines) = step_over_new_lines(transcript, offset)?;
    let day = own().append(true).create(true).open(scratch.join("day"))?;
    let index = own()
        .read(true)
        .write(true)
        .create(true)
        .open(scratch.join("index"))?;
    day.write_all_at(&[b'r'; RECORD_BYTES], 0)?;
    index.write_all_at(&[b'i'; INDEX_ENTRY_BYTES], index.metadata()?.len())?;
    let mut cursor = format!("{end}").into_bytes();
    cursor.resize(CURSOR_BYTES, b' ');
    if one_swap {
        cursor.resize(STATE_BYTES, b's');
        save_through_swap(scratch, "state", &cursor)?;
    } else {
        save_through_swap(scratch, "cursor", &cursor)?;
        save_through_swap(scratch, "state", &[b's'; STATE_BYTES])?;
    }
    drop(lock);
    Ok(lines)
}

/// The scratch dir with its files, the cursor at the transcript's end.
fn set_up(scratch: &Path, transcript: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(scratch)?;
    let end = std::fs::metadata(transcript)?.len();
    let mut cursor = format!("{end}").into_bytes();
    cursor.resize(CURSOR_BYTES, b' ');
    // The state starts with the cursor too, for `--one-swap`.
    let mut state = cursor.clone();
    state.resize(STATE_BYTES, b's');
    for (name, bytes) in [
        ("state", state.clone()),
        ("state.swap", state),
        ("cursor", cursor.clone()),
        ("cursor.swap", cursor),
    ] {
        std::fs::write(scratch.join(name), bytes)?;
    }
    Ok(())
}

/// As the hook opens its own files: never through a link, never blocking.
fn own() -> OpenOptions {
    let mut options = OpenOptions::new();
    options
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    options
}

/// Open, read whole (one read, one to see the end) and close a small file; its length.
fn read_small(path: &Path, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut file = own().read(true).open(path)?;
    let mut len = 0;
    loop {
        let n = file.read(&mut buf[len..])?;
        if n == 0 {
            return Ok(len);
        }
        len += n;
    }
}

/// Map what `transcript` holds past `offset` and find its line ends, as the hook's reader
/// does; the transcript's length and how many lines there were.
fn step_over_new_lines(transcript: &Path, offset: u64) -> std::io::Result<(u64, usize)> {
    let file = File::open(transcript)?;
    let len = file.metadata()?.len();
    if len <= offset {
        return Ok((len, 0));
    }
    let page_start = offset & !4095;
    let map_len = (len - page_start) as usize;
    // SAFETY: a private read-only mapping of a file opened for reading, unmapped below;
    // the benchmark's transcript only grows while it is mapped.
    let at = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            map_len,
            libc::PROT_READ,
            libc::MAP_PRIVATE,
            file.as_raw_fd(),
            page_start as libc::off_t,
        )
    };
    if at == libc::MAP_FAILED {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `map_len` bytes are mapped at `at`.
    let bytes = unsafe { std::slice::from_raw_parts(at.cast::<u8>(), map_len) };
    let lines = memchr::memchr_iter(b'\n', &bytes[(offset - page_start) as usize..]).count();
    // SAFETY: the mapping made above, no longer borrowed.
    unsafe { libc::munmap(at, map_len) };
    Ok((len, lines))
}

/// Write `bytes` into the swap file from its start and exchange it with `name`.
fn save_through_swap(scratch: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let target = scratch.join(name);
    let swap = scratch.join(format!("{name}.swap"));
    let file = own().write(true).open(&swap)?;
    file.write_all_at(bytes, 0)?;
    drop(file);
    let (from, to) = (cstring(&swap), cstring(&target));
    // SAFETY: two NUL-terminated paths for the call's duration.
    let done = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if done != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn cstring(path: &Path) -> std::ffi::CString {
    std::ffi::CString::new(path.as_os_str().as_bytes()).expect("a path without NUL")
}
