//! Finding the transcripts Claude Code wrote: `projects/**/*.jsonl` under its data dirs
//! (or under the paths given), each with the session (and subagent) it belongs to.
//!
//! The walk streams: it holds one directory's entries at a time, never the whole list,
//! and hands each session's subagent transcripts (`<session>/subagents/agent-<id>.jsonl`)
//! over before the session's own `<session>.jsonl`, so the session's totals are compared
//! with complete subagent records. Symlinked directories are not followed (no loops).

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};

/// Whose requests a transcript holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// `<session>.jsonl`: the session's main loop.
    Main { session: String },
    /// `<session>/subagents/agent-<agent>.jsonl`.
    Subagent { session: String, agent: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    pub path: PathBuf,
    pub role: Role,
}

/// What the walk meets.
#[derive(Debug)]
pub enum Found {
    Transcript(Transcript),
    /// A file or folder that could not be read.
    Unreadable(PathBuf, io::Error),
}

/// The default places to look: `projects/` under each of the client's folders that may
/// hold transcripts ([`crate::claude::paths::transcript_dirs`]).
pub fn default_roots(env: impl Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    crate::claude::paths::transcript_dirs(&env)
        .into_iter()
        .map(|b| b.join("projects"))
        .collect()
}

/// A path given on the command line: a folder holding `projects/` is walked from there.
pub fn root_for_argument(path: &Path) -> PathBuf {
    let projects = path.join("projects");
    if projects.is_dir() {
        projects
    } else {
        path.to_path_buf()
    }
}

/// Drop roots that are the same folder as, or inside, an earlier one, so no transcript is
/// read twice. Missing roots are kept (the walk reports nothing for them).
pub fn distinct_roots(roots: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut kept: Vec<(PathBuf, PathBuf)> = Vec::new();
    for root in roots {
        let real = std::fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
        if kept.iter().any(|(_, k)| real.starts_with(k)) {
            continue;
        }
        // A later root that contains an earlier one replaces it.
        kept.retain(|(_, k)| !k.starts_with(&real));
        kept.push((root, real));
    }
    kept.into_iter().map(|(root, _)| root).collect()
}

/// Visit every transcript under `root` (a folder or a single file).
pub fn walk(root: &Path, visit: &mut dyn FnMut(Found)) {
    match std::fs::metadata(root) {
        Ok(meta) if meta.is_file() => visit(Found::Transcript(Transcript {
            path: root.to_path_buf(),
            role: role_of(root),
        })),
        Ok(meta) if meta.is_dir() => walk_dir(root, visit),
        Ok(_) => visit(Found::Unreadable(
            root.to_path_buf(),
            io::Error::other("not a regular file or folder"),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => visit(Found::Unreadable(root.to_path_buf(), e)),
    }
}

fn is_jsonl(path: &Path) -> bool {
    path.extension() == Some(OsStr::new("jsonl"))
}

fn name_of(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The role a transcript's path gives it.
pub fn role_of(path: &Path) -> Role {
    let stem = name_of(path);
    let parent = path.parent();
    if parent.and_then(Path::file_name) == Some(OsStr::new("subagents"))
        && let Some(session_dir) = parent.and_then(Path::parent)
    {
        let agent = stem.strip_prefix("agent-").unwrap_or(&stem).to_string();
        return Role::Subagent {
            session: name_of(&session_dir.with_extension("jsonl")),
            agent,
        };
    }
    Role::Main { session: stem }
}

/// One folder's files and subfolders, sorted, regular files only (symlinked files are
/// followed, symlinked folders are not).
fn list(dir: &Path) -> io::Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            dirs.push(path);
        } else if is_jsonl(&path)
            && (kind.is_file()
                || kind.is_symlink() && std::fs::metadata(&path).is_ok_and(|m| m.is_file()))
        {
            files.push(path);
        }
    }
    files.sort();
    dirs.sort();
    Ok((files, dirs))
}

/// A `subagents` folder whose session transcript sits where expected was already handed
/// over with that transcript.
fn visited_with_its_session(dir: &Path) -> bool {
    dir.file_name() == Some(OsStr::new("subagents"))
        && dir
            .parent()
            .is_some_and(|session_dir| session_dir.with_extension("jsonl").is_file())
}

fn walk_dir(dir: &Path, visit: &mut dyn FnMut(Found)) {
    let (files, dirs) = match list(dir) {
        Ok(listing) => listing,
        Err(e) => {
            visit(Found::Unreadable(dir.to_path_buf(), e));
            return;
        }
    };
    if !visited_with_its_session(dir) {
        for file in files {
            if dir.file_name() != Some(OsStr::new("subagents")) {
                subagents_of(&file, visit);
            }
            let role = role_of(&file);
            visit(Found::Transcript(Transcript { path: file, role }));
        }
    }
    for sub in dirs {
        walk_dir(&sub, visit);
    }
}

/// Hand over `<session>/subagents/*.jsonl` of a main transcript.
fn subagents_of(main: &Path, visit: &mut dyn FnMut(Found)) {
    let dir = crate::transcript::subagents_dir(main);
    if !dir.is_dir() {
        return;
    }
    match list(&dir) {
        Ok((files, _)) => {
            for file in files {
                let role = role_of(&file);
                visit(Found::Transcript(Transcript { path: file, role }));
            }
        }
        Err(e) => visit(Found::Unreadable(dir, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"{}\n").unwrap();
    }

    fn collect(root: &Path) -> Vec<String> {
        let mut seen = Vec::new();
        walk(root, &mut |found| {
            if let Found::Transcript(t) = found {
                let rel = t.path.strip_prefix(root).unwrap().display().to_string();
                let role = match t.role {
                    Role::Main { session } => format!("main {session}"),
                    Role::Subagent { session, agent } => format!("sub {session}/{agent}"),
                };
                seen.push(format!("{rel} = {role}"));
            }
        });
        seen
    }

    #[test]
    fn subagents_come_before_their_session_and_only_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        touch(&root.join("-p/s1.jsonl"));
        touch(&root.join("-p/s1/subagents/agent-b.jsonl"));
        touch(&root.join("-p/s1/subagents/agent-a.jsonl"));
        touch(&root.join("-p/s1/tool-results/x.txt"));
        touch(&root.join("-p/s2.jsonl"));
        touch(&root.join("-q/orphan/subagents/agent-z.jsonl"));
        assert_eq!(
            collect(root),
            [
                "-p/s1/subagents/agent-a.jsonl = sub s1/a",
                "-p/s1/subagents/agent-b.jsonl = sub s1/b",
                "-p/s1.jsonl = main s1",
                "-p/s2.jsonl = main s2",
                "-q/orphan/subagents/agent-z.jsonl = sub orphan/z",
            ]
        );
    }

    #[test]
    fn default_roots_from_env() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            default_roots(env(&[("CLAUDE_CONFIG_DIR", "/a, /b,"), ("HOME", "/h")])),
            [
                PathBuf::from("/a, /b,/projects"),
                PathBuf::from("/a/projects"),
                PathBuf::from("/b/projects")
            ]
        );
        assert_eq!(
            default_roots(env(&[("HOME", "/h")])),
            [
                PathBuf::from("/h/.claude/projects"),
                PathBuf::from("/h/.config/claude/projects")
            ]
        );
        assert_eq!(
            default_roots(env(&[("HOME", "/h"), ("XDG_CONFIG_HOME", "/x")])),
            [
                PathBuf::from("/h/.claude/projects"),
                PathBuf::from("/x/claude/projects")
            ]
        );
    }

    #[test]
    fn nested_or_repeated_roots_are_walked_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::fs::create_dir_all(a.join("b")).unwrap();
        let roots = distinct_roots(vec![a.join("b"), a.clone(), a.clone()]);
        assert_eq!(roots, [a]);
    }

    #[test]
    fn single_files_get_their_role_from_the_path() {
        assert_eq!(
            role_of(Path::new("/x/-p/abc/subagents/agent-a1.jsonl")),
            Role::Subagent {
                session: "abc".into(),
                agent: "a1".into()
            }
        );
        assert_eq!(
            role_of(Path::new("/x/-p/abc.jsonl")),
            Role::Main {
                session: "abc".into()
            }
        );
    }
}
