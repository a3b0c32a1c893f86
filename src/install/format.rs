//! Writing the document back in the file's own layout: the indent it uses (two spaces is
//! what Claude Code writes), compact or pretty, a final newline or not, LF or CRLF. A file
//! in one of these canonical layouts comes back byte for byte after `install` + `uninstall`.
//! Anything else (aligned values, unusual spacing, `\u00e9` escapes, `1e3` numbers) comes
//! back with the same keys, values and order in the detected layout.

use serde::Serialize;
use serde_json::ser::{PrettyFormatter, Serializer};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// `None`: everything on one line.
    pub indent: Option<String>,
    pub final_newline: bool,
    pub crlf: bool,
}

impl Layout {
    /// For a new file: what Claude Code writes, plus a final newline.
    pub fn default_for_new() -> Layout {
        Layout {
            indent: Some("  ".into()),
            final_newline: true,
            crlf: false,
        }
    }

    /// The layout `original` is written in.
    pub fn detect(original: &[u8]) -> Layout {
        let text = String::from_utf8_lossy(original);
        let body = text.trim();
        if body.is_empty() {
            return Layout::default_for_new();
        }
        let indent = if body.contains('\n') {
            let first_indented = body
                .lines()
                .skip(1)
                .find(|line| !line.trim().is_empty())
                .unwrap_or_default();
            let lead: String = first_indented
                .chars()
                .take_while(|c| *c == ' ' || *c == '\t')
                .collect();
            let uniform = lead.chars().all(|c| c == ' ') || lead.chars().all(|c| c == '\t');
            Some(if uniform { lead } else { "  ".into() })
        } else if body == "{}" {
            // Nothing to learn from: an empty object looks the same in every layout.
            Layout::default_for_new().indent
        } else {
            None
        };
        Layout {
            indent,
            final_newline: text.ends_with('\n'),
            crlf: text.contains("\r\n"),
        }
    }

    pub fn render(&self, document: &Map<String, Value>) -> Vec<u8> {
        let mut out = Vec::new();
        match &self.indent {
            Some(indent) => {
                let formatter = PrettyFormatter::with_indent(indent.as_bytes());
                let mut serializer = Serializer::with_formatter(&mut out, formatter);
                document
                    .serialize(&mut serializer)
                    .expect("a JSON map always serializes");
            }
            None => {
                serde_json::to_writer(&mut out, document).expect("a JSON map always serializes")
            }
        }
        if self.final_newline {
            out.push(b'\n');
        }
        if self.crlf {
            // JSON strings cannot hold a raw newline, so every one of these is layout.
            let mut with_cr = Vec::with_capacity(out.len() + out.len() / 16);
            for byte in out {
                if byte == b'\n' {
                    with_cr.push(b'\r');
                }
                with_cr.push(byte);
            }
            out = with_cr;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(original: &str) -> String {
        let document: Map<String, Value> = serde_json::from_str(original).unwrap();
        String::from_utf8(Layout::detect(original.as_bytes()).render(&document)).unwrap()
    }

    #[test]
    fn canonical_layouts_come_back_byte_for_byte() {
        for original in [
            "{\n  \"model\": \"opus\",\n  \"env\": {\n    \"A\": \"é ✓ \\u001b[0m\"\n  },\n  \"x\": [],\n  \"y\": {}\n}",
            "{\n  \"model\": \"opus\",\n  \"n\": [\n    1,\n    2.5,\n    -3\n  ]\n}\n",
            "{\n    \"four\": true\n}\n",
            "{\n\t\"tab\": null\n}\n",
            "{\"compact\":{\"a\":[1,2]}}",
            "{\r\n  \"crlf\": 1\r\n}\r\n",
            "{}",
            "{}\n",
        ] {
            assert_eq!(round_trip(original), original);
        }
    }

    #[test]
    fn other_layouts_keep_content_and_order() {
        assert_eq!(
            round_trip("{ \"b\" : 1,\n\"a\":\"\\u00e9\" }"),
            "{\n\"b\": 1,\n\"a\": \"é\"\n}"
        );
    }

    #[test]
    fn an_empty_file_is_treated_as_new() {
        assert_eq!(Layout::detect(b""), Layout::default_for_new());
        assert_eq!(Layout::detect(b" \n"), Layout::default_for_new());
    }

    #[test]
    fn new_files_get_two_spaces_and_a_newline() {
        let mut document = Map::new();
        document.insert("a".into(), Value::from(1));
        assert_eq!(
            Layout::default_for_new().render(&document),
            b"{\n  \"a\": 1\n}\n"
        );
    }
}
