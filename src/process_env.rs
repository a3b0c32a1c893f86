//! The process environment, read once. A hook event asks for some forty variables (the
//! config's `BEDROCK_HOOK_*` overrides, the client's model and limits, the paths, the
//! clock); each `std::env::var` takes the environment lock, copies the name into a C
//! string, walks every variable with `getenv` and copies the value out. One walk over the
//! environment at the first question, keeping where each name and value lies, answers
//! them all without copying any of it (BENCHMARKS.md: with the two changes after it, 23,000
//! of a hook event's 905,000 instructions fewer).

use std::ffi::{CStr, OsStr, c_char};
use std::os::unix::ffi::OsStrExt;
use std::sync::OnceLock;

unsafe extern "C" {
    /// The process environment, as C's start-up left it.
    static environ: *const *const c_char;
}

/// (name, value) of every `NAME=value` entry, in the environment's order.
static VARS: OnceLock<Vec<(&'static [u8], &'static [u8])>> = OnceLock::new();

fn vars() -> &'static [(&'static [u8], &'static [u8])] {
    VARS.get_or_init(|| {
        let mut vars = Vec::new();
        // SAFETY: `environ` is a null-terminated array of NUL-terminated strings. Nothing in
        // bedrock-hook changes its own environment (`std::env::set_var` is called nowhere),
        // so the array and its strings stay as they are for the life of the process.
        unsafe {
            let mut entry = environ;
            while !entry.is_null() && !(*entry).is_null() {
                let bytes = CStr::from_ptr(*entry).to_bytes();
                // As std reads it: a leading `=` belongs to the name.
                if let Some(at) = bytes.iter().skip(1).position(|&b| b == b'=') {
                    vars.push((&bytes[..=at], &bytes[at + 2..]));
                }
                entry = entry.add(1);
            }
        }
        vars
    })
}

/// The process's value of `name`, as `std::env::var_os` would give it.
pub fn var_os(name: &str) -> Option<&'static OsStr> {
    let name = name.as_bytes();
    // getenv answers with the first of a repeated name.
    vars()
        .iter()
        .find(|(key, _)| *key == name)
        .map(|(_, value)| OsStr::from_bytes(value))
}

/// The process's value of `name` when it is Unicode, as `std::env::var(..).ok()`.
pub fn var(name: &str) -> Option<String> {
    var_os(name).and_then(OsStr::to_str).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_as_std_does() {
        let mut asked = 0;
        for (key, _) in std::env::vars_os() {
            let Some(key) = key.to_str() else { continue };
            assert_eq!(var_os(key), std::env::var_os(key).as_deref(), "{key}");
            assert_eq!(var(key), std::env::var(key).ok(), "{key}");
            asked += 1;
        }
        assert!(asked > 0, "the test process has an environment");
        assert_eq!(var_os("BEDROCK_HOOK_NO_SUCH_VARIABLE_ANYWHERE"), None);
        assert_eq!(var_os(""), None);
    }
}
