//! Reading Claude Code transcripts: the tail since the last run, the lines that matter,
//! and the requests they add up to.

pub mod assemble;
pub mod cursor;
pub mod scan;
pub mod tail;
pub mod wire;

pub use assemble::{Assembled, Assembler, Compaction, Response, SentRequest};
pub use cursor::Cursor;
pub use tail::{Limits, open_transcript, read_new, stream_new};

use std::path::{Path, PathBuf};

/// The transcript of a subagent: `<session>/subagents/agent-<id>.jsonl` beside the
/// session's own `<session>.jsonl`.
pub fn subagent_transcript(main: &Path, agent_id: &str) -> PathBuf {
    subagents_dir(main).join(format!("agent-{agent_id}.jsonl"))
}

/// The folder holding a session's subagent transcripts.
pub fn subagents_dir(main: &Path) -> PathBuf {
    main.with_extension("").join("subagents")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subagent_paths() {
        let main = Path::new("/h/.claude/projects/-p/abc.jsonl");
        assert_eq!(
            subagent_transcript(main, "a1"),
            Path::new("/h/.claude/projects/-p/abc/subagents/agent-a1.jsonl")
        );
    }
}
