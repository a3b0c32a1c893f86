//! The binary's entry point is C's `main`, not Rust's `fn main`: std's start-up, which a
//! hook event and a status line run would pay on every spawn, installs a stack-overflow
//! handler on an alternate signal stack and, to place it, has glibc parse
//! `/proc/self/maps` (about 100,000 instructions and a dozen system calls, a third of what
//! an empty Rust program executes). What of that start-up matters is kept
//! (`bedrock_hook::process_start`: closed standard descriptors reopened, SIGPIPE ignored),
//! and stdout is flushed at the end. A stack overflow still stops the process
//! (the kernel's guard page); it is just not named on stderr.

// Under `cargo test` the test harness brings its own `main`; there is nothing to test here.
#![cfg_attr(not(test), no_main)]

/// See `bedrock_hook::start_arena`: a hot-path run's few hundred small blocks without
/// glibc's malloc.
#[global_allocator]
static ALLOCATOR: bedrock_hook::start_arena::StartArena = bedrock_hook::start_arena::StartArena;

#[cfg(not(test))]
mod c_main {
    use std::ffi::{c_char, c_int};
    use std::io::Write;
    use std::process::ExitCode;

    #[unsafe(no_mangle)]
    extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
        bedrock_hook::process_start();
        // std reads the arguments from glibc's start-up, as for `fn main`.
        let code = bedrock_hook::run(std::env::args_os().collect());
        let _ = std::io::stdout().flush();
        exit_status(code)
    }

    /// The status `fn main` would have exited with (an `ExitCode` shows its number only by
    /// comparison on stable Rust).
    fn exit_status(code: ExitCode) -> c_int {
        if code == ExitCode::SUCCESS {
            return 0;
        }
        (1..=255u8)
            .find(|&n| ExitCode::from(n) == code)
            .map_or(1, c_int::from)
    }
}
