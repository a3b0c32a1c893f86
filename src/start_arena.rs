//! The binary's allocator. A hook event or a status line allocates a few hundred small
//! blocks (about 65 KB in all, half of it live at once) and exits, and glibc's malloc
//! spent 77,000 of a PostToolUse's 700,000 instructions on them (its set-up on the first
//! call, its bins, consolidating on free): more than most single steps of the hot path.
//! With this arena the event executed 56,000 fewer, a status line 43,000 fewer (callgrind,
//! when it came in; BENCHMARKS.md has the runs). So blocks come
//! from a static arena first (zero pages the kernel maps only when touched):
//!
//! - a block of up to 4 KiB is rounded up to a size class (every 16 bytes up to 256, then
//!   powers of two) and, once freed, kept on a list for the next block of its class, so
//!   that a run touches about as many pages as with glibc (every page touched is a fault);
//! - a larger one is cut from the arena's end, which moves back when the newest block is
//!   freed, and grows in place when the newest block is reallocated, as a growing `Vec`
//!   or a buffer a file is read into does;
//! - once the arena's MiB is used up, and for any block over a quarter of it, glibc's
//!   malloc takes over: a long command (`import`, `report`) runs on it as before, with at
//!   most the arena's MiB set aside.
//!
//! The binary installs it (`src/main.rs`), and so do the benchmarks' floors, which start
//! as the binary does; the library's own tests keep the system allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Every block starts at a multiple of this, and its size is rounded up to one.
const MIN_ALIGN: usize = 16;
/// Blocks up to this size are rounded up to a class and reused once freed.
const LARGEST_SMALL: usize = 4096;
/// Up to this size, a class every 16 bytes (most blocks are strings and small maps, whose
/// sizes are not powers of two); above it, a class per power of two.
const LARGEST_FINE: usize = 256;
/// Size classes 16, 32, ..., 256, then 512, 1024, 2048, 4096.
const CLASSES: usize =
    LARGEST_FINE / MIN_ALIGN + (LARGEST_SMALL / LARGEST_FINE).trailing_zeros() as usize;

/// The global allocator: [`Arena`] first, then glibc's.
pub struct StartArena;

static ARENA: Arena<{ 1 << 20 }> = Arena::new();

/// `N` bytes handed out as blocks, as the module says. The bookkeeping comes first, on the
/// page of the first blocks (a page of its own would be one more fault per run).
#[repr(C, align(16))]
struct Arena<const N: usize> {
    /// The first offset not yet cut off.
    next: AtomicUsize,
    free_lock: AtomicBool,
    /// Freed small blocks by class: each list's head, and in each block the next one's
    /// address (0 ends a list). Read and written only while `free_lock` is held.
    free: UnsafeCell<[usize; CLASSES]>,
    bytes: UnsafeCell<[u8; N]>,
}

// SAFETY: every byte of `bytes` belongs to one block at a time (see `Arena::alloc`), and is
// reached only through the pointer to its block; `free` only with `free_lock` held.
unsafe impl<const N: usize> Sync for Arena<N> {}

/// The arena's size for a block of `size` bytes: its class's if small (and the class's
/// index), else `size` rounded up to [`MIN_ALIGN`].
fn extent(size: usize) -> (usize, Option<usize>) {
    if size <= LARGEST_FINE {
        let rounded = size.max(1).next_multiple_of(MIN_ALIGN);
        (rounded, Some(rounded / MIN_ALIGN - 1))
    } else if size <= LARGEST_SMALL {
        let rounded = size.next_power_of_two();
        let class =
            LARGEST_FINE / MIN_ALIGN - 1 + (rounded / LARGEST_FINE).trailing_zeros() as usize;
        (rounded, Some(class))
    } else {
        (size.next_multiple_of(MIN_ALIGN), None)
    }
}

impl<const N: usize> Arena<N> {
    /// A block this large goes to glibc: it would take a quarter of the arena.
    const LARGEST_BLOCK: usize = N / 4;

    const fn new() -> Arena<N> {
        Arena {
            next: AtomicUsize::new(0),
            free_lock: AtomicBool::new(false),
            free: UnsafeCell::new([0; CLASSES]),
            bytes: UnsafeCell::new([0; N]),
        }
    }

    fn base(&self) -> usize {
        self.bytes.get() as usize
    }

    fn owns(&self, ptr: *mut u8) -> bool {
        (ptr as usize).wrapping_sub(self.base()) < N
    }

    /// A block for `layout`; null if the arena does not serve it (too large, too aligned,
    /// no room left).
    ///
    /// Each byte is in at most one live block: [`Arena::cut`] hands out bytes past the
    /// arena's end, [`Arena::reuse`] a block freed before, taken off its list under the
    /// lock, and a block's bytes come back only when it is freed ([`Arena::free`]). Every
    /// block starts at a multiple of 16 and of its alignment; kept blocks are reused only
    /// for alignments of at most 16.
    fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > Self::LARGEST_BLOCK || layout.align() > LARGEST_SMALL {
            return std::ptr::null_mut();
        }
        let (size, class) = extent(layout.size());
        if let Some(class) = class.filter(|_| layout.align() <= MIN_ALIGN) {
            let kept = self.reuse(class);
            if !kept.is_null() {
                return kept;
            }
        }
        self.cut(size, layout.align().max(MIN_ALIGN))
    }

    /// Give back the block at `ptr`, made for `size` bytes aligned to `align`: the
    /// arena's end moves back to it if it is the newest, else a small block is kept for
    /// reuse and a larger one stays where it is, unused.
    fn free(&self, ptr: *mut u8, size: usize, align: usize) {
        let (extent, class) = extent(size);
        if self.resize_newest(ptr, extent, 0) {
            return;
        }
        if let Some(class) = class.filter(|_| align <= MIN_ALIGN) {
            self.keep(ptr, class);
        }
    }

    /// The block at `ptr` made `new_size` bytes without moving it, if it can be: its
    /// rounded size is unchanged, or it is the newest block and stays small or large (a
    /// small block's class must stay that of the size it is freed with).
    fn resize_in_place(&self, ptr: *mut u8, size: usize, new_size: usize) -> bool {
        let (old, _) = extent(size);
        let (new, _) = extent(new_size);
        old == new
            || ((old <= LARGEST_SMALL) == (new <= LARGEST_SMALL)
                && new_size <= Self::LARGEST_BLOCK
                && self.resize_newest(ptr, old, new))
    }

    /// Run `f` on the free lists with the lock held.
    fn with_free_lists<T>(&self, f: impl FnOnce(&mut [usize; CLASSES]) -> T) -> T {
        while self
            .free_lock
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::hint::spin_loop();
        }
        // SAFETY: the lock is held, so nobody else reaches the lists until it is released.
        let result = f(unsafe { &mut *self.free.get() });
        self.free_lock.store(false, Ordering::Release);
        result
    }

    /// A freed block of `class`, if one is kept; else null.
    fn reuse(&self, class: usize) -> *mut u8 {
        self.with_free_lists(|lists| {
            let head = lists[class];
            if head != 0 {
                // SAFETY: a kept block holds the next one's address in its first word.
                lists[class] = unsafe { *(head as *const usize) };
            }
            head as *mut u8
        })
    }

    /// Keep the freed block `ptr` of `class` for the next block of its size.
    fn keep(&self, ptr: *mut u8, class: usize) {
        self.with_free_lists(|lists| {
            // SAFETY: the block is freed, of at least 16 bytes and 16-aligned: its first
            // word is ours to write.
            unsafe { *(ptr as *mut usize) = lists[class] };
            lists[class] = ptr as usize;
        });
    }

    /// Cut `size` bytes (already rounded) aligned to `align` off the arena's end; null if
    /// they do not fit.
    fn cut(&self, size: usize, align: usize) -> *mut u8 {
        let base = self.base();
        let mut next = self.next.load(Ordering::Relaxed);
        loop {
            let start = (base + next).next_multiple_of(align) - base;
            let end = start + size;
            if end > N {
                return std::ptr::null_mut();
            }
            // Acquire: what the owner of bytes given back (a `resize_newest`, with Release)
            // wrote to them happened before they are handed out again.
            match self
                .next
                .compare_exchange_weak(next, end, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return (base + start) as *mut u8,
                Err(now) => next = now,
            }
        }
    }

    /// If the block at `ptr` of `old` arena bytes is the newest, make it `new` bytes
    /// (moving the arena's end) and say so.
    fn resize_newest(&self, ptr: *mut u8, old: usize, new: usize) -> bool {
        let start = ptr as usize - self.base();
        start + new <= N
            && self
                .next
                .compare_exchange(
                    start + old,
                    start + new,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok()
    }
}

// SAFETY: a block is the arena's (see `Arena::alloc` for why blocks never share bytes) or
// glibc's, told apart by its address, and each goes back to where it came from.
unsafe impl GlobalAlloc for StartArena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = ARENA.alloc(layout);
        if ptr.is_null() {
            // SAFETY: the caller's layout, passed on.
            unsafe { System.alloc(layout) }
        } else {
            ptr
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = ARENA.alloc(layout);
        if ptr.is_null() {
            // SAFETY: the caller's layout, passed on.
            return unsafe { System.alloc_zeroed(layout) };
        }
        // SAFETY: a block of at least `layout.size()` bytes; a reused one is not zero.
        unsafe { ptr.write_bytes(0, layout.size()) };
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARENA.owns(ptr) {
            ARENA.free(ptr, layout.size(), layout.align());
        } else {
            // SAFETY: a block glibc handed out, with its layout.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !ARENA.owns(ptr) {
            // SAFETY: a block glibc handed out, with its layout and the caller's new size.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        if ARENA.resize_in_place(ptr, layout.size(), new_size) {
            return ptr;
        }
        // SAFETY: the block's alignment with a size the caller vouches for.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: as `alloc`.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks hold at least the smaller size, and `new` is another
            // block than `ptr`, which is live until freed below.
            unsafe { std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
            ARENA.free(ptr, layout.size(), layout.align());
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    fn overlap((p, a): (*mut u8, usize), (q, b): (*mut u8, usize)) -> bool {
        let (p, q) = (p as usize, q as usize);
        p < q + b && q < p + a
    }

    #[test]
    fn each_small_size_has_one_class_that_holds_it() {
        let mut extents = [0usize; CLASSES];
        for size in 1..=LARGEST_SMALL {
            let (extent, class) = extent(size);
            let class = class.expect("a small size has a class");
            assert!(extent >= size && extent % MIN_ALIGN == 0, "{size}");
            // One extent per class: a kept block fits every size of its class.
            assert!(extents[class] == 0 || extents[class] == extent, "{size}");
            extents[class] = extent;
        }
        assert!(extents.iter().all(|&e| e > 0), "every class is used");
        assert_eq!(extent(LARGEST_SMALL + 1), (LARGEST_SMALL + 16, None));
    }

    #[test]
    fn blocks_are_aligned_apart_and_a_freed_small_one_is_reused_for_its_size() {
        static ARENA: Arena<65536> = Arena::new();
        let mut live = Vec::new();
        for (size, align) in [(1, 1), (24, 8), (100, 4), (4096, 64), (5000, 8), (17, 32)] {
            let p = ARENA.alloc(layout(size, align));
            assert!(ARENA.owns(p));
            assert_eq!(p as usize % align.max(MIN_ALIGN), 0);
            live.push((p, size, align));
        }
        for (i, &(p, size, _)) in live.iter().enumerate() {
            for &(q, other, _) in &live[i + 1..] {
                assert!(!overlap((p, size), (q, other)));
            }
        }
        let (p, size, align) = live[1];
        ARENA.free(p, size, align);
        assert_eq!(
            ARENA.alloc(layout(30, 8)),
            p,
            "the freed 32-byte block, again"
        );
        let fresh = ARENA.alloc(layout(30, 8));
        assert!(
            !live
                .iter()
                .any(|&(q, size, _)| overlap((fresh, 30), (q, size)))
        );
        // Too large, too aligned, or no room left: not the arena's.
        assert!(ARENA.alloc(layout(65536 / 4 + 1, 8)).is_null());
        assert!(ARENA.alloc(layout(64, 8192)).is_null());
        while !ARENA.alloc(layout(8000, 8)).is_null() {}
        assert!(ARENA.alloc(layout(8000, 8)).is_null());
    }

    #[test]
    fn the_newest_block_grows_and_shrinks_in_place_and_freeing_it_gives_its_room_back() {
        static ARENA: Arena<65536> = Arena::new();
        let first = ARENA.alloc(layout(5000, 8));
        let p = ARENA.alloc(layout(8192, 8));
        assert!(ARENA.resize_in_place(p, 8192, 12_000));
        assert!(ARENA.resize_in_place(p, 12_000, 9000));
        // Not the newest: it stays where it is, and a large block cannot become small.
        assert!(!ARENA.resize_in_place(first, 5000, 6000));
        assert!(!ARENA.resize_in_place(p, 9000, 100));
        // A small block grows within its rounded size.
        let small = ARENA.alloc(layout(33, 8));
        assert!(ARENA.resize_in_place(small, 33, 64));
        ARENA.free(small, 64, 8);
        ARENA.free(p, 9000, 8);
        assert_eq!(ARENA.alloc(layout(9000, 8)), p, "its room again");
    }

    #[test]
    fn threads_never_get_the_same_bytes() {
        static ARENA: Arena<{ 1 << 20 }> = Arena::new();
        let threads: Vec<_> = (0..4u8)
            .map(|t| {
                std::thread::spawn(move || {
                    let mut mine = Vec::new();
                    for round in 0..2000usize {
                        let size = 8 + (round * 37 + t as usize * 11) % 600;
                        let p = ARENA.alloc(layout(size, 8));
                        if p.is_null() {
                            continue;
                        }
                        // SAFETY: a block of `size` bytes this thread owns.
                        unsafe { p.write_bytes(t, size) };
                        mine.push((p as usize, size));
                        if round % 3 == 0 {
                            let (q, size) = mine.swap_remove(round % mine.len());
                            // SAFETY: still this thread's, untouched by the others.
                            let intact = unsafe {
                                std::slice::from_raw_parts(q as *const u8, size)
                                    .iter()
                                    .all(|&b| b == t)
                            };
                            assert!(intact, "another thread wrote into a block of ours");
                            ARENA.free(q as *mut u8, size, 8);
                        }
                    }
                    mine
                })
            })
            .collect();
        let mut all: Vec<(usize, usize)> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        all.sort();
        assert!(all.windows(2).all(|w| w[0].0 + w[0].1 <= w[1].0));
    }
}
