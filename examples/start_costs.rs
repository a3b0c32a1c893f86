//! What the kernel charges for the things a short-lived hook process does, on the machine
//! it runs on: a first touch of an anonymous page and of a file-backed page, and the file
//! operations of one hook event (open+close, stat, pwrite, ftruncate, an exchange of two
//! names). `bench/run.sh` measures whole processes; this says where their time can go.
//!
//! `cargo run --release --example start_costs -- [FILE]` (FILE: a large file in the page
//! cache to map, by default the running executable).

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::time::Instant;

const PAGE: usize = 4096;
/// The kernel maps up to 16 cached pages around a file-backed fault (`fault_around_bytes`).
const FAULT_AROUND: usize = 16 * PAGE;

fn micros_each(start: Instant, n: usize) -> f64 {
    start.elapsed().as_secs_f64() * 1e6 / n as f64
}

fn main() {
    let file = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::current_exe().expect("own path"));
    let mapped = File::open(&file).expect("file to map");
    let len = (mapped.metadata().expect("stat").len() as usize).min(8 << 20);
    let dir = tempfile_dir();
    for round in 1..=3 {
        println!("round {round}");
        // SAFETY: fresh private mappings, read or written only inside their length.
        unsafe {
            let anon = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            ) as *mut u8;
            let start = Instant::now();
            for at in (0..len).step_by(PAGE) {
                anon.add(at).write_volatile(1);
            }
            println!(
                "  anonymous page, first touch: {:.2} us",
                micros_each(start, len / PAGE)
            );
            libc::munmap(anon.cast(), len);
            let text = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                mapped.as_raw_fd(),
                0,
            ) as *const u8;
            let start = Instant::now();
            for at in (0..len).step_by(FAULT_AROUND) {
                text.add(at).read_volatile();
            }
            println!(
                "  file-backed fault (16 cached pages each): {:.2} us",
                micros_each(start, len.div_ceil(FAULT_AROUND))
            );
            libc::munmap(text as *mut libc::c_void, len);
        }
        file_operations(&dir);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn file_operations(dir: &std::path::Path) {
    const N: usize = 5_000;
    let a = dir.join("a.json");
    let b = dir.join("b.json");
    std::fs::write(&a, [b' '; 3000]).expect("write");
    std::fs::write(&b, [b' '; 3000]).expect("write");
    let start = Instant::now();
    for _ in 0..N {
        drop(File::open(&a).expect("open"));
    }
    println!("  open + close: {:.2} us", micros_each(start, N));
    let start = Instant::now();
    for _ in 0..N {
        std::fs::symlink_metadata(&a).expect("stat");
    }
    println!("  stat: {:.2} us", micros_each(start, N));
    let f = OpenOptions::new().write(true).open(&a).expect("open");
    let bytes = [b'x'; 3000];
    let start = Instant::now();
    for _ in 0..N {
        f.write_all_at(&bytes, 0).expect("pwrite");
    }
    println!("  pwrite of 3 KB: {:.2} us", micros_each(start, N));
    let start = Instant::now();
    for i in 0..N {
        f.set_len(2990 + (i % 2) as u64).expect("ftruncate");
    }
    println!("  ftruncate: {:.2} us", micros_each(start, N));
    let (ca, cb) = (cstring(&a), cstring(&b));
    let start = Instant::now();
    for _ in 0..N {
        // SAFETY: two NUL-terminated paths; the call only reads them.
        let r = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                ca.as_ptr(),
                libc::AT_FDCWD,
                cb.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        assert_eq!(r, 0, "renameat2");
    }
    println!("  rename exchange: {:.2} us", micros_each(start, N));
}

fn cstring(path: &std::path::Path) -> std::ffi::CString {
    std::ffi::CString::new(path.as_os_str().as_bytes()).expect("no NUL in path")
}

/// A scratch folder beside the other temporary files (on the file system the data dir
/// would be on when TMPDIR points there).
fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("bedrock-hook-start-costs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}
