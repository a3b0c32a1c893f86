//! Filler text for prompts, tool inputs and tool results: words, code and log lines,
//! already escaped for a JSON string, cut at word boundaries so every slice stays valid.

use super::rng::Rng;

const WORDS: &[&str] = &[
    "the",
    "ledger",
    "request",
    "fn",
    "let",
    "mut",
    "match",
    "Some(x)",
    "None",
    "impl",
    "struct",
    "pub",
    "use",
    "std::io",
    "error:",
    "warning:",
    "test",
    "ok",
    "FAILED",
    "cargo",
    "build",
    "src/main.rs:42:7",
    "=>",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "0x7ffd",
    "return",
    "async",
    "await",
    "self",
    "config",
    "token",
    "quota",
    "bedrock",
    "model",
    "stream",
    "\\\"quoted\\\"",
    "path/to/file.rs",
    "line",
    "column",
    "assert_eq!",
    "Vec<u8>",
    "String",
    "\\u2014",
    "caf\\u00e9",
    "\\t",
    "12345",
    "3.14159",
    "true",
    "false",
    "null",
    "TODO",
    "import",
    "from",
    "def",
    "class",
    "const",
    "=",
    "==",
    "+=",
    "->",
    "//",
    "#",
    "SELECT",
    "WHERE",
    "id",
    "name",
    "value",
    "INFO",
    "DEBUG",
    "2026-11-22T01:39:20Z",
    "GET",
    "/api",
    "200",
    "404",
    "passed",
    "failed",
    "running",
    "compiling",
    "finished",
    "in",
    "0.42s",
];

/// A pool of escaped text to slice from.
pub struct TextPool {
    text: String,
}

impl TextPool {
    pub fn new(rng: &mut Rng, size: usize) -> TextPool {
        let mut text = String::with_capacity(size + 64);
        text.push(' ');
        let mut column = 0;
        while text.len() < size {
            let word = rng.pick(WORDS);
            text.push_str(word);
            column += word.len() + 1;
            if column > 60 + rng.range(0, 40) as usize {
                // A newline and some indentation, as in code and logs.
                text.push_str("\\n");
                for _ in 0..rng.range(0, 3) {
                    text.push_str("    ");
                }
                column = 0;
            }
            text.push(' ');
        }
        TextPool { text }
    }

    /// About `len` bytes of escaped text (never more than `len + 64`), cut between words.
    pub fn slice(&self, rng: &mut Rng, len: usize) -> String {
        let mut out = String::with_capacity(len + 64);
        while out.len() < len {
            let want = (len - out.len()).min(self.text.len() / 2);
            let start = rng.range(0, (self.text.len() - want - 1) as u64) as usize;
            let start = start + self.text[start..].find(' ').unwrap_or(0) + 1;
            let end = (start + want).min(self.text.len());
            let end = start + self.text[start..end].rfind(' ').unwrap_or(0);
            if end <= start {
                out.push_str("ok");
                continue;
            }
            out.push_str(&self.text[start..end]);
        }
        out
    }
}
