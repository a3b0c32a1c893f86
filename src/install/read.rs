//! Reading settings.json before an edit: the exact bytes (for the backup, the style and the
//! "did it change under us" check), the parsed document, and the file's permissions. A file
//! that is not a JSON object is refused with its line and column; nothing is written then.

use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use thiserror::Error;

/// A settings file as found on disk.
#[derive(Debug)]
pub struct Loaded {
    /// Where to write: the file itself, or what it links to when it is a symlink (dotfile
    /// managers link settings.json; replacing the link with a file would break theirs).
    pub real_path: PathBuf,
    /// The bytes read, `None` when there was no file.
    pub original: Option<Vec<u8>>,
    pub document: Map<String, Value>,
    /// Permission bits of the existing file.
    pub mode: Option<u32>,
}

#[derive(Debug, Error)]
pub enum ReadError {
    #[error("{path}:{line}:{column}: not valid JSON ({reason}); the file was left untouched")]
    InvalidJson {
        path: String,
        line: usize,
        column: usize,
        reason: String,
    },
    #[error("{path}: the top level is not a JSON object; the file was left untouched")]
    NotAnObject { path: String },
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Read `path`. A missing file is an empty document; so is a file holding only whitespace.
pub fn load(path: &Path) -> Result<Loaded, ReadError> {
    let shown = path.display().to_string();
    let io = |source| ReadError::Io {
        path: shown.clone(),
        source,
    };
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Ok(Loaded {
                real_path: path.to_path_buf(),
                original: None,
                document: Map::new(),
                mode: None,
            });
        }
        Err(e) => return Err(io(e)),
    };
    let real_path = std::fs::canonicalize(path).map_err(io)?;
    let mode = std::fs::metadata(&real_path)
        .map_err(io)?
        .permissions()
        .mode()
        & 0o7777;
    let document = parse(&bytes, &shown)?;
    Ok(Loaded {
        real_path,
        original: Some(bytes),
        document,
        mode: Some(mode),
    })
}

fn parse(bytes: &[u8], shown: &str) -> Result<Map<String, Value>, ReadError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ReadError::NotAnObject {
            path: shown.to_string(),
        }),
        Err(e) => {
            let text = e.to_string();
            let reason = match text.rfind(" at line ") {
                Some(at) => text[..at].to_string(),
                None => text,
            };
            let (line, column) = editor_position(bytes, e.line(), e.column());
            Err(ReadError::InvalidJson {
                path: shown.to_string(),
                line,
                column,
                reason,
            })
        }
    }
}

/// serde_json says column 0 when the error is found on a line break: editors call that
/// place the end of the line before.
fn editor_position(bytes: &[u8], line: usize, column: usize) -> (usize, usize) {
    if column > 0 || line < 2 {
        return (line, column.max(1));
    }
    let previous = bytes.split(|b| *b == b'\n').nth(line - 2).map_or(0, |l| {
        String::from_utf8_lossy(l)
            .trim_end_matches('\r')
            .chars()
            .count()
    });
    (line - 1, previous + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_json_names_line_and_column() {
        let err = parse(b"{\n  \"a\": 1\n  \"b\": 2\n}\n", "s.json").unwrap_err();
        assert_eq!(
            err.to_string(),
            "s.json:3:3: not valid JSON (expected `,` or `}`); the file was left untouched"
        );
        let err = parse(b"{\n  \"b\": tru\n}\n", "s.json").unwrap_err();
        assert!(err.to_string().starts_with("s.json:2:11: "), "{err}");
        let err = parse(b"{\"a\": 1,}", "s.json").unwrap_err();
        assert!(err.to_string().starts_with("s.json:1:9: "), "{err}");
    }

    #[test]
    fn only_objects_are_settings() {
        assert!(matches!(
            parse(b"[1]", "s.json"),
            Err(ReadError::NotAnObject { .. })
        ));
        assert_eq!(parse(b" \n", "s.json").unwrap(), Map::new());
    }

    #[test]
    fn missing_file_is_an_empty_document() {
        let dir = tempfile::tempdir().unwrap();
        let loaded = load(&dir.path().join("nope/settings.json")).unwrap();
        assert!(loaded.original.is_none() && loaded.document.is_empty());
    }

    #[test]
    fn symlinked_settings_are_written_through_the_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("dotfiles-settings.json");
        std::fs::write(&real, "{}").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("settings.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let loaded = load(&link).unwrap();
        assert_eq!(loaded.real_path, real.canonicalize().unwrap());
        assert_eq!(loaded.mode, Some(0o640));
    }
}
