//! The worker side of `import`: open one transcript, find what its path and first lines
//! say about it (session, subagent, project, whether it is finished), and read and
//! assemble it without the ledger lock ([`prepare`]). Runs on several threads at once,
//! each streaming its transcripts through one buffer of its own.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::time::Duration;

use super::discover::{Role, Transcript};
use crate::config::Config;
use crate::files::read_at;
use crate::ingest::{HOOK_READ, Origin, Prepared, ReadOpts, RecordMaker, prepare};
use crate::paths::Paths;
use crate::transcript::scan::string_end;

/// One transcript for a worker, numbered in discovery order.
pub struct Job {
    pub seq: u64,
    pub transcript: Transcript,
}

/// What a worker found out about one transcript.
pub struct Parsed {
    pub seq: u64,
    pub path: PathBuf,
    /// A subagent's transcript: its session's own transcript comes next.
    pub subagent: bool,
    pub outcome: Outcome,
}

pub enum Outcome {
    Unreadable(String),
    Read {
        origin: Origin,
        opts: ReadOpts,
        len: u64,
        /// A finished transcript whose last line was cut off.
        truncated: bool,
        prepared: std::io::Result<Box<Prepared>>,
    },
}

/// The worker's part: open, look, read the transcript and make its records without the
/// ledger lock, through `buf` (the worker's, reused).
pub fn parse(
    paths: &Paths,
    config: &Config,
    maker: &RecordMaker<'_>,
    job: Job,
    buf: &mut Vec<u8>,
) -> Parsed {
    let Job { seq, transcript: t } = job;
    let opened = crate::transcript::open_transcript(&t.path).and_then(|f| {
        let meta = f.metadata()?;
        Ok((f, meta))
    });
    let outcome = match opened {
        Err(e) => Outcome::Unreadable(e.to_string()),
        Ok((_, meta)) if !meta.is_file() => Outcome::Unreadable("not a regular file".into()),
        Ok((file, meta)) => {
            let stale = Duration::from_secs(config.inflight_stale_secs);
            let finished = meta
                .modified()
                .ok()
                .and_then(|m| crate::clock::system_now().duration_since(m).ok())
                .is_some_and(|age| age >= stale);
            let (session, agent) = match &t.role {
                Role::Main { session } => (session.clone(), None),
                Role::Subagent { session, agent } => (session.clone(), Some(agent.clone())),
            };
            let origin = Origin {
                session: Some(session),
                agent,
                project: first_cwd(&file),
            };
            // A live session's open request must not be closed early; in a finished one,
            // a request still unanswered at the last write never got its response.
            let last_write = meta
                .modified()
                .ok()
                .map(chrono::DateTime::<chrono::Utc>::from);
            let opts = ReadOpts {
                drain: true,
                unanswered_before: if finished { last_write } else { None },
                finished,
                ..HOOK_READ
            };
            let prepared = prepare(paths, maker, &t.path, &origin, &file, opts, buf);
            Outcome::Read {
                truncated: finished && meta.len() > 0 && !ends_with_newline(&file, meta.len()),
                prepared: prepared.map(Box::new),
                origin,
                opts,
                len: meta.len(),
            }
        }
    };
    Parsed {
        seq,
        subagent: matches!(t.role, Role::Subagent { .. }),
        path: t.path,
        outcome,
    }
}

fn ends_with_newline(file: &File, len: u64) -> bool {
    let mut last = [0u8; 1];
    file.read_exact_at(&mut last, len - 1).is_ok() && last[0] == b'\n'
}

/// The working directory the transcript's first entries name (`"cwd":"..."`), read from
/// the first few KiB only; it labels records whose own lines carry none.
fn first_cwd(file: &File) -> Option<String> {
    const NEEDLE: &[u8] = b"\"cwd\":\"";
    for limit in [16u64 << 10, 256 << 10] {
        let buf = read_at(file, 0, limit).ok()?;
        if let Some(at) = memchr::memmem::find(&buf, NEEDLE) {
            let start = at + NEEDLE.len() - 1;
            let end = string_end(&buf, start + 1)?;
            return serde_json::from_slice::<String>(&buf[start..=end])
                .ok()
                .filter(|cwd| !cwd.is_empty());
        }
        if (buf.len() as u64) < limit {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(bytes: &[u8]) -> (tempfile::NamedTempFile, File) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        let handle = File::open(f.path()).unwrap();
        (f, handle)
    }

    #[test]
    fn first_cwd_decodes_the_json_string() {
        let (_f, file) = file_with(
            b"{\"type\":\"queue-operation\"}\n{\"type\":\"user\",\"cwd\":\"/home/dev/my \\\"proj\\\"\"}\n",
        );
        assert_eq!(first_cwd(&file).as_deref(), Some("/home/dev/my \"proj\""));
        let (_g, none) = file_with(b"{\"type\":\"user\"}\n");
        assert_eq!(first_cwd(&none), None);
    }

    #[test]
    fn first_cwd_looks_past_a_large_first_line() {
        let mut text = format!("{{\"x\":\"{}\"}}\n", "a".repeat(40 << 10)).into_bytes();
        text.extend_from_slice(b"{\"cwd\":\"/p\"}\n");
        let (_f, file) = file_with(&text);
        assert_eq!(first_cwd(&file).as_deref(), Some("/p"));
    }
}
