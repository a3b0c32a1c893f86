//! File primitives every writer shares: private permissions (dirs 0700, files 0600),
//! exclusive locks through the standard library's `File::lock` (stable since Rust 1.89,
//! replacing the unmaintained fs2 crate), and whole-file rewrites via temp file + rename.

pub mod mapped;

use std::fs::{DirBuilder, File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

/// Create `dir` (and parents) with mode 0700 if missing.
pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Refuse to write into an existing data dir that is not the user's own or that others
/// can write to: anyone who can write there could plant links, or files of their own,
/// where our files go. The problem, with its fix, as one sentence; `None` if the dir is
/// safe or does not exist yet (it is then created 0700).
pub fn unsafe_dir(dir: &Path) -> Option<String> {
    let meta = std::fs::metadata(dir).ok()?;
    dir_problem(dir, &meta)
}

/// [`unsafe_dir`]'s check, then [`ensure_private_dir`], with one `stat` of `dir` for both
/// (a writer does both on every hook event).
pub fn ensure_safe_data_dir(dir: &Path) -> io::Result<()> {
    if let Ok(meta) = std::fs::metadata(dir) {
        if let Some(problem) = dir_problem(dir, &meta) {
            return Err(io::Error::other(problem));
        }
        if meta.is_dir() {
            return Ok(());
        }
    }
    // Missing, or something else in its place (creating then says what).
    ensure_private_dir(dir)
}

/// What is wrong with the data dir `dir` whose `stat` is `meta`, as [`unsafe_dir`] says it.
fn dir_problem(dir: &Path, meta: &std::fs::Metadata) -> Option<String> {
    let mode = meta.mode() & 0o7777;
    let me = euid();
    if meta.uid() != me {
        return Some(format!(
            "data dir {} belongs to uid {}, not to you (uid {me}): refusing to write there; use a dir of your own (BEDROCK_HOOK_DATA_DIR) with mode 700",
            dir.display(),
            meta.uid()
        ));
    }
    if mode & 0o022 != 0 {
        return Some(format!(
            "data dir {} is mode {mode:04o}, writable by others: refusing to write there; run `chmod 700 {}`",
            dir.display(),
            dir.display()
        ));
    }
    None
}

/// The process's effective user id, asked of the kernel once (a hook event compares
/// three files' owners with it).
fn euid() -> u32 {
    static EUID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    // SAFETY: geteuid has no preconditions and cannot fail.
    *EUID.get_or_init(|| unsafe { libc::geteuid() })
}

/// Create a dir inside the data dir (`ledger/`, `cursors/`) with mode 0700 if missing; a
/// symlink or anything else in its place is refused rather than followed.
pub fn ensure_data_subdir(dir: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_dir() => Ok(()),
        Ok(_) => Err(io::Error::other(format!(
            "{} is not a directory (a link?): refusing to write through it",
            dir.display()
        ))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => ensure_private_dir(dir),
        Err(e) => Err(e),
    }
}

/// Open an existing file of ours for reading: non-blocking (a FIFO in its place must not
/// hang us), not through a symlink, and only if it is a regular file.
pub fn open_read(path: &Path) -> io::Result<File> {
    open_read_with_len(path).map(|(file, _)| file)
}

/// [`open_read`], with the file's length.
fn open_read_with_len(path: &Path) -> io::Result<(File, u64)> {
    let file = own_file().read(true).open(path)?;
    regular_with_len(file, path)
}

/// How every file of our own in the data dir is opened: created with mode 0600, never
/// through a symlink, never blocking (a FIFO planted in its place fails instead of hanging
/// a hook). The mode matters only where the caller also creates.
fn own_file() -> OpenOptions {
    let mut options = OpenOptions::new();
    options
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    options
}

/// `file` if it is a regular file, with its length (one `fstat`).
fn regular_with_len(file: File, path: &Path) -> io::Result<(File, u64)> {
    regular_with_meta(file, path).map(|(file, meta)| (file, meta.len()))
}

/// `file` if it is a regular file, with its `fstat`.
fn regular_with_meta(file: File, path: &Path) -> io::Result<(File, std::fs::Metadata)> {
    let meta = file.metadata()?;
    if meta.file_type().is_file() {
        Ok((file, meta))
    } else {
        Err(io::Error::other(format!(
            "{} is not a regular file",
            path.display()
        )))
    }
}

/// Read a small file of our own (the live state, a cursor) without ever blocking or
/// buffering without end: opened as [`open_read`] does, and refused when larger than
/// `max` bytes. A FIFO, a device or a link in its place is an error the caller treats
/// like a missing or corrupt file.
pub fn read_bounded(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let (file, len) = open_read_with_len(path)?;
    read_at_most(file, len, max)?
        .ok_or_else(|| io::Error::other(format!("{} is larger than {max} bytes", path.display())))
}

/// One of our own small JSON files (the live state, a cursor, the account file), read as
/// [`read_bounded`] reads and parsed; `None` if it cannot be read, is larger than `max`
/// bytes or does not parse. Its bytes are checked as UTF-8 once, whole, and then parsed as
/// text, so that serde_json does not check each string again (two hundred strings in a
/// busy live state: a fifth of what parsing it cost).
pub fn read_own_json<T: serde::de::DeserializeOwned>(path: &Path, max: u64) -> Option<T> {
    let bytes = read_bounded(path, max).ok()?;
    serde_json::from_str(std::str::from_utf8(&bytes).ok()?).ok()
}

/// All of `file` (`len` bytes by its `fstat`) if it holds at most `max` bytes; `None` if
/// more, whether it said so or grew while being read.
fn read_at_most(file: File, len: u64, max: u64) -> io::Result<Option<Vec<u8>>> {
    if len > max {
        return Ok(None);
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(max + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= max).then_some(bytes))
}

/// Read a file of the user's (their config, Claude Code's settings) on a hot path: links
/// are followed (dotfiles repos link them), but it must be a regular file, it is opened
/// without blocking (a FIFO in its place must not hang the hook), and at most `max` bytes
/// are read.
pub fn read_user_file(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let (file, len) = regular_with_len(file, path)?;
    read_at_most(file, len, max)?
        .ok_or_else(|| io::Error::other(format!("larger than {max} bytes")))
}

/// Open for appending, creating with mode 0600; never through a symlink, never anything
/// but a regular file (a FIFO in its place fails instead of blocking). With the file's
/// `fstat` (its length, device and inode).
pub fn open_append(path: &Path) -> io::Result<(File, std::fs::Metadata)> {
    let file = own_file().append(true).create(true).open(path)?;
    regular_with_meta(file, path)
}

/// Open for reading and writing, creating with mode 0600; as [`open_append`], never
/// through a symlink and only a regular file.
pub fn open_rw(path: &Path) -> io::Result<File> {
    open_rw_with_len(path).map(|(file, _)| file)
}

/// [`open_rw`], with the file's length.
pub fn open_rw_with_len(path: &Path) -> io::Result<(File, u64)> {
    let file = own_file()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    regular_with_len(file, path)
}

/// Up to `want` bytes of `file` from `offset` (fewer at its end). Read straight into
/// the vector's spare capacity: zeroing it first would cost as much as the copy out of the
/// page cache (64 KiB on an ordinary event), and `read_to_end` into reserved capacity reads
/// in growing 8 KiB steps (five system calls for those 64 KiB instead of one).
pub fn read_at(file: &File, offset: u64, want: u64) -> io::Result<Vec<u8>> {
    use std::os::fd::AsRawFd;
    let want = usize::try_from(want).unwrap_or(usize::MAX);
    let mut buf: Vec<u8> = Vec::with_capacity(want);
    while buf.len() < want {
        let Ok(at) = libc::off_t::try_from(offset + buf.len() as u64) else {
            break;
        };
        let spare = buf.spare_capacity_mut();
        // SAFETY: `spare` is valid for writes of `spare.len()` bytes, and `pread` writes
        // at most that many; the length is raised only by what it reports written.
        let n =
            unsafe { libc::pread(file.as_raw_fd(), spare.as_mut_ptr().cast(), spare.len(), at) };
        match n {
            0 => break,
            n if n > 0 => unsafe { buf.set_len(buf.len() + n as usize) },
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
    Ok(buf)
}

/// Replace `path` with `bytes` atomically: readers see the old or the new file, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_mode(path, bytes, 0o600)
}

/// Replace `path` with the JSON `json` atomically as [`write_atomic`] does, for the files
/// only a holder of the ledger lock replaces (the live state, cursors): through one swap
/// file kept beside them, which after the exchange holds the old contents and is
/// overwritten by the next writer. Creating and unlinking a temp file on every save cost
/// 0.2-0.4 ms each on ext4 here, most of what a hook costs over the spawn floor; opening one
/// that exists costs a few microseconds. The swap is used only if it is a regular file of
/// ours with no other link; anything else in its place is removed and the temp-file way
/// taken.
///
/// The swap is written from its start and never truncated to zero first (ext4 flushes a
/// file rewritten after a truncate to zero when it is closed). Where the new JSON is a
/// little shorter than the old, it is followed by spaces up to the old length instead of
/// cutting the file (JSON allows trailing whitespace; a truncate cost about 10 us here,
/// as much as the write).
pub fn replace_through_swap(path: &Path, swap: &Path, json: &[u8]) -> io::Result<()> {
    let (file, old_len) = match open_swap(swap) {
        Ok(opened) => opened,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let file = own_file().write(true).create_new(true).open(swap)?;
            (file, 0)
        }
        Err(_) => {
            let _ = std::fs::remove_file(swap);
            return write_atomic(path, json);
        }
    };
    let len = json.len() as u64;
    if old_len > len && old_len - len <= SWAP_PAD_MAX {
        let mut padded = Vec::with_capacity(old_len as usize);
        padded.extend_from_slice(json);
        padded.resize(old_len as usize, b' ');
        file.write_all_at(&padded, 0)?;
    } else {
        file.write_all_at(json, 0)?;
        if old_len > len {
            file.set_len(len)?;
        }
    }
    drop(file);
    if exchange(swap, path).is_ok() {
        return Ok(());
    }
    std::fs::rename(swap, path)
}

/// Most trailing spaces a swap-file save leaves rather than cutting the file.
const SWAP_PAD_MAX: u64 = 1024;

/// The swap file if it is ours to overwrite, with its length.
fn open_swap(swap: &Path) -> io::Result<(File, u64)> {
    let file = own_file().write(true).open(swap)?;
    let meta = file.metadata()?;
    let ours = meta.uid() == euid();
    if meta.file_type().is_file() && meta.nlink() == 1 && ours {
        Ok((file, meta.len()))
    } else {
        Err(io::Error::other("not a swap file of ours"))
    }
}

/// Rewrite a file the user owns (their settings, their config): atomically, keeping its
/// permission bits (new files get 0600), and through a symlink rather than replacing it.
pub fn rewrite_user_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mode = std::fs::metadata(&target)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o600);
    write_atomic_mode(&target, bytes, mode)
}

fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    // A leftover of a killed writer with our pid, or a link planted there: unlinking
    // removes the name itself, never what a link points at; the new file is then created
    // exclusively, so nothing planted in between is written through either.
    let _ = std::fs::remove_file(&tmp);
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        if exchange(&tmp, path).is_ok() {
            // `tmp` now holds the old contents.
            return std::fs::remove_file(&tmp);
        }
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Swap two existing files atomically (Linux `renameat2(RENAME_EXCHANGE)`). Replacing a
/// file by plain rename makes ext4 (`auto_da_alloc`) flush the new file's data before the
/// rename returns: 0.2-0.8 ms on every hook, twice. Swapping does not, and readers still
/// see the old or the new file. Fails where the target is missing or the call unsupported.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let a = std::ffi::CString::new(a.as_os_str().as_bytes())?;
    let b = std::ffi::CString::new(b.as_os_str().as_bytes())?;
    let done = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if done == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// Make an existing file private (used on files another tool may have created).
pub fn make_private(path: &Path) -> io::Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// An exclusive lock, held until dropped (closing the file releases it).
#[derive(Debug)]
pub struct LockGuard {
    file: File,
}

impl LockGuard {
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }
}

/// Longest pause between two tries for a busy lock. The lock is held for a millisecond or
/// two at a time; a long pause lets newcomers take it again and again while a waiter
/// sleeps (with 20 ms, 45 % of 64 concurrent hooks gave up after 3 s).
const MAX_LOCK_PAUSE: Duration = Duration::from_millis(2);

/// Take the exclusive lock on `path`, waiting at most `wait`. `Ok(None)` if it stayed busy.
pub fn lock_exclusive(path: &Path, wait: Duration) -> io::Result<Option<LockGuard>> {
    let file = open_rw(path)?;
    let deadline = Instant::now() + wait;
    let mut pause = Duration::from_micros(100);
    // Waiters started together must not retry in lockstep.
    let jitter = u64::from(std::process::id() % 97);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(LockGuard { file })),
            Err(TryLockError::WouldBlock) => {
                if Instant::now() >= deadline {
                    return Ok(None);
                }
                std::thread::sleep(pause + Duration::from_micros(jitter));
                pause = (pause * 2).min(MAX_LOCK_PAUSE);
            }
            Err(TryLockError::Error(e)) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn private_modes() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        ensure_private_dir(&sub).unwrap();
        assert_eq!(std::fs::metadata(&sub).unwrap().mode() & 0o777, 0o700);
        let file = sub.join("f");
        open_append(&file).unwrap();
        assert_eq!(std::fs::metadata(&file).unwrap().mode() & 0o777, 0o600);
        write_atomic(&sub.join("g"), b"x").unwrap();
        assert_eq!(
            std::fs::metadata(sub.join("g")).unwrap().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn user_files_keep_their_mode_and_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        std::fs::write(&real, "old").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o644)).unwrap();
        let link = dir.path().join("settings.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        rewrite_user_file(&link, b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        assert_eq!(std::fs::metadata(&real).unwrap().mode() & 0o777, 0o644);
        let fresh = dir.path().join("fresh.toml");
        rewrite_user_file(&fresh, b"x").unwrap();
        assert_eq!(std::fs::metadata(&fresh).unwrap().mode() & 0o777, 0o600);
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second, longer").unwrap();
        write_atomic(&path, b"third").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"third");
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["state.json"]);
    }

    #[test]
    fn bounded_read_refuses_what_is_not_a_small_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("small");
        std::fs::write(&small, b"abc").unwrap();
        assert_eq!(read_bounded(&small, 3).unwrap(), b"abc");
        assert!(read_bounded(&small, 2).is_err());
        let zero = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        assert!(read_bounded(&zero, 1 << 20).is_err());
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // Nobody writes to it: a blocking open would hang here.
        assert!(read_bounded(&fifo, 1 << 20).is_err());
        assert!(read_bounded(Path::new("/dev/zero"), 1 << 20).is_err());
    }

    /// A link planted where a temp file, a day file or an index goes: the file it points at
    /// stays as it was.
    #[test]
    fn writes_never_follow_a_planted_link() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let data = dir.path().join("data");
        ensure_private_dir(&data).unwrap();
        let state = data.join("state.json");
        let tmp = state.with_extension(format!("tmp.{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &tmp).unwrap();
        write_atomic(&state, b"new state").unwrap();
        assert_eq!(std::fs::read(&state).unwrap(), b"new state");
        assert!(
            std::fs::symlink_metadata(&tmp).is_err(),
            "temp name left behind"
        );
        for name in ["day.jsonl", "day.idx"] {
            let link = data.join(name);
            std::os::unix::fs::symlink(&victim, &link).unwrap();
            assert!(open_append(&link).is_err());
            assert!(open_rw(&link).is_err());
        }
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        let sub = data.join("cursors");
        std::os::unix::fs::symlink(dir.path(), &sub).unwrap();
        assert!(ensure_data_subdir(&sub).is_err());
        ensure_data_subdir(&data.join("ledger")).unwrap();
        ensure_data_subdir(&data.join("ledger")).unwrap();
    }

    #[test]
    fn replacing_through_a_swap_file_reuses_it_and_never_writes_through_a_planted_one() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let data = dir.path().join("data");
        ensure_private_dir(&data).unwrap();
        let (state, swap) = (data.join("state.json"), data.join("state.swap"));
        let read = |path: &Path| String::from_utf8(std::fs::read(path).unwrap()).unwrap();
        replace_through_swap(&state, &swap, b"[\"first, longer\"]").unwrap();
        replace_through_swap(&state, &swap, b"[\"second\"]").unwrap();
        assert_eq!(read(&state), r#"["second"]"#);
        assert_eq!(read(&swap), r#"["first, longer"]"#);
        let inode = std::fs::metadata(&swap).unwrap().ino();
        // Shorter than the swap's old contents: spaces after it, still the same JSON.
        replace_through_swap(&state, &swap, b"[\"third\"]").unwrap();
        assert_eq!(read(&state), r#"["third"]        "#);
        assert_eq!(
            serde_json::from_slice::<Vec<String>>(&std::fs::read(&state).unwrap()).unwrap(),
            ["third"]
        );
        assert_eq!(
            std::fs::metadata(&state).unwrap().ino(),
            inode,
            "swapped, not created"
        );
        // Much shorter: cut to length instead.
        let long = format!("[\"{}\"]", "x".repeat(4000));
        replace_through_swap(&state, &swap, long.as_bytes()).unwrap();
        replace_through_swap(&state, &swap, long.as_bytes()).unwrap();
        replace_through_swap(&state, &swap, b"[]").unwrap();
        assert_eq!(read(&state), "[]");
        // A link or a second name planted at the swap: never written through.
        for plant in [
            |v: &Path, s: &Path| std::os::unix::fs::symlink(v, s).unwrap(),
            |v: &Path, s: &Path| std::fs::hard_link(v, s).unwrap(),
        ] {
            let _ = std::fs::remove_file(&swap);
            plant(&victim, &swap);
            replace_through_swap(&state, &swap, b"[4]").unwrap();
            assert_eq!(std::fs::read(&state).unwrap(), b"[4]");
            assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        }
    }

    #[test]
    fn data_dir_writable_by_others_is_unsafe() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        assert_eq!(unsafe_dir(&data), None);
        ensure_private_dir(&data).unwrap();
        assert_eq!(unsafe_dir(&data), None);
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).unwrap();
        let problem = unsafe_dir(&data).unwrap();
        assert!(
            problem.contains("0777") && problem.contains("chmod 700"),
            "{problem}"
        );
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o750)).unwrap();
        assert_eq!(unsafe_dir(&data), None);
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o720)).unwrap();
        assert!(unsafe_dir(&data).is_some());
    }

    #[test]
    fn a_writer_creates_a_missing_data_dir_and_refuses_one_others_can_write() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("a/data");
        ensure_safe_data_dir(&data).unwrap();
        let mode = std::fs::metadata(&data).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        ensure_safe_data_dir(&data).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).unwrap();
        let refused = ensure_safe_data_dir(&data).unwrap_err().to_string();
        assert!(refused.contains("chmod 700"), "{refused}");
        // A file where the dir should be is refused too.
        let file = dir.path().join("file");
        std::fs::write(&file, b"").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(ensure_safe_data_dir(&file).is_err());
    }

    #[test]
    fn second_locker_waits_then_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l");
        let held = lock_exclusive(&path, Duration::ZERO).unwrap();
        assert!(held.is_some());
        let second = lock_exclusive(&path, Duration::from_millis(30)).unwrap();
        assert!(second.is_none());
        drop(held);
        assert!(lock_exclusive(&path, Duration::ZERO).unwrap().is_some());
    }
}
