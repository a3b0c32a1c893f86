//! Writing an edit back as an edit of the text the user wrote, not a new rendering of the
//! whole document: only the members that changed are rewritten, and objects are edited
//! member by member, so everything else keeps its bytes: layout, comments-free oddities,
//! numbers as written (`1e2`, 23-digit integers), and duplicate keys. Claude Code (like
//! any JavaScript `JSON.parse`) uses the last of duplicate keys, and so does the parsed
//! document the edit was made on, so a change goes to the last one and the earlier ones
//! stay as they are.
//!
//! The result is parsed again and must give exactly the edited document; if it does not
//! (or the text cannot be followed), the caller renders the document in the file's layout
//! instead.

use serde_json::{Map, Value};

use super::format::Layout;

/// One `"key": value` of an object in the text.
#[derive(Debug, Clone)]
struct Member {
    key: String,
    value_start: usize,
    value_end: usize,
}

/// An object in the text: its members in order, and where its braces are.
#[derive(Debug, Clone)]
struct Object {
    open: usize,
    close: usize,
    members: Vec<Member>,
}

/// A replacement of `text[start..end]`.
type Edit = (usize, usize, String);

/// `original` with `before` changed into `after`, or `None` when the text cannot be
/// edited in place (the caller then renders the whole document).
pub fn edit(
    original: &str,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    layout: &Layout,
) -> Option<String> {
    let open = skip_ws(original, 0);
    if original.as_bytes().get(open) != Some(&b'{') {
        return None;
    }
    let object = scan_object(original, open)?;
    if skip_ws(original, object.close + 1) != original.len() {
        return None;
    }
    let mut edits = Vec::new();
    edit_object(original, &object, before, after, 0, layout, &mut edits)?;
    edits.sort_by_key(|(start, _, _)| *start);
    if edits.windows(2).any(|w| w[0].1 > w[1].0) {
        return None;
    }
    let mut out = original.to_string();
    for (start, end, text) in edits.into_iter().rev() {
        out.replace_range(start..end, &text);
    }
    // The safety net: the text must say exactly what the edited document says.
    match serde_json::from_str::<Value>(&out) {
        Ok(Value::Object(parsed)) if parsed == *after => Some(out),
        _ => None,
    }
}

fn edit_object(
    text: &str,
    object: &Object,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    depth: usize,
    layout: &Layout,
    edits: &mut Vec<Edit>,
) -> Option<()> {
    // The member that counts for each key: the last one.
    let last = |key: &str| object.members.iter().rposition(|m| m.key == key);
    let mut removed = Vec::new();
    for (key, old) in before {
        let at = last(key)?;
        let member = &object.members[at];
        match after.get(key) {
            None => removed.push(at),
            Some(new) if new == old => {}
            Some(Value::Object(new)) if matches!(old, Value::Object(_)) => {
                let Value::Object(old) = old else {
                    unreachable!()
                };
                let inner = scan_object(text, member.value_start)?;
                edit_object(text, &inner, old, new, depth + 1, layout, edits)?;
            }
            Some(new) => edits.push((
                member.value_start,
                member.value_end,
                render_at(new, depth + 1, layout),
            )),
        }
    }
    let added: Vec<(&String, &Value)> = after
        .iter()
        .filter(|(key, _)| !before.contains_key(*key))
        .collect();
    let remaining = object.members.len() - removed.len();
    if remaining == 0 && !(added.is_empty() && removed.is_empty()) {
        // Every member goes (or the object was empty): write the object anew.
        edits.retain(|(start, _, _)| *start < object.open || *start > object.close);
        edits.push((
            object.open,
            object.close + 1,
            render_at(&Value::Object(after.clone()), depth, layout),
        ));
        return Some(());
    }
    if removed.contains(&0) {
        // Taking out the first member would touch the next one's separator: not worth
        // the risk, the object is rendered anew.
        return None;
    }
    for at in removed {
        let previous = &object.members[at - 1];
        edits.push((
            previous.value_end,
            object.members[at].value_end,
            String::new(),
        ));
    }
    if !added.is_empty() {
        let end = object
            .members
            .iter()
            .map(|m| m.value_end)
            .max()
            .unwrap_or(object.open + 1);
        let mut insert = String::new();
        for (key, value) in added {
            insert.push(',');
            insert.push_str(&newline_and_indent(depth + 1, layout));
            insert.push_str(&render_key(key, layout));
            insert.push_str(&render_at(value, depth + 1, layout));
        }
        edits.push((end, end, insert));
    }
    Some(())
}

/// `"key": ` (or `"key":` in a compact file).
fn render_key(key: &str, layout: &Layout) -> String {
    let key = serde_json::to_string(key).expect("a string always serializes");
    match layout.indent {
        Some(_) => format!("{key}: "),
        None => format!("{key}:"),
    }
}

fn newline_and_indent(depth: usize, layout: &Layout) -> String {
    match &layout.indent {
        Some(indent) => {
            let newline = if layout.crlf { "\r\n" } else { "\n" };
            format!("{newline}{}", indent.repeat(depth))
        }
        None => String::new(),
    }
}

/// `value` as it is written `depth` levels deep in the file's layout.
fn render_at(value: &Value, depth: usize, layout: &Layout) -> String {
    let Some(indent) = &layout.indent else {
        return serde_json::to_string(value).expect("a JSON value always serializes");
    };
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(value, &mut serializer).expect("a JSON value always serializes");
    let text = String::from_utf8(out).expect("serde_json writes UTF-8");
    let prefix = indent.repeat(depth);
    let newline = if layout.crlf { "\r\n" } else { "\n" };
    text.split('\n')
        .enumerate()
        .map(|(i, line)| {
            if i == 0 {
                line.to_string()
            } else {
                format!("{prefix}{line}")
            }
        })
        .collect::<Vec<_>>()
        .join(newline)
}

fn skip_ws(text: &str, mut at: usize) -> usize {
    let bytes = text.as_bytes();
    while at < bytes.len() && matches!(bytes[at], b' ' | b'\t' | b'\n' | b'\r') {
        at += 1;
    }
    at
}

/// The object whose `{` is at `open`.
fn scan_object(text: &str, open: usize) -> Option<Object> {
    let bytes = text.as_bytes();
    if bytes.get(open) != Some(&b'{') {
        return None;
    }
    let mut members = Vec::new();
    let mut at = skip_ws(text, open + 1);
    if bytes.get(at) == Some(&b'}') {
        return Some(Object {
            open,
            close: at,
            members,
        });
    }
    loop {
        let key_end = skip_string(text, at)?;
        let key: String = serde_json::from_str(&text[at..key_end]).ok()?;
        at = skip_ws(text, key_end);
        if bytes.get(at) != Some(&b':') {
            return None;
        }
        let value_start = skip_ws(text, at + 1);
        let value_end = skip_value(text, value_start)?;
        members.push(Member {
            key,
            value_start,
            value_end,
        });
        at = skip_ws(text, value_end);
        match bytes.get(at) {
            Some(b',') => at = skip_ws(text, at + 1),
            Some(b'}') => {
                return Some(Object {
                    open,
                    close: at,
                    members,
                });
            }
            _ => return None,
        }
    }
}

/// The end of the string whose `"` is at `at`.
fn skip_string(text: &str, at: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let mut i = at + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The end of the value starting at `at`.
fn skip_value(text: &str, at: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    match bytes.get(at)? {
        b'"' => skip_string(text, at),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = at;
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => {
                        i = skip_string(text, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            None
        }
        _ => {
            let mut i = at;
            while i < bytes.len()
                && !matches!(bytes[i], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            {
                i += 1;
            }
            (i > at).then_some(i)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Map<String, Value> {
        serde_json::from_str(text).unwrap()
    }

    fn two() -> Layout {
        Layout {
            indent: Some("  ".into()),
            final_newline: true,
            crlf: false,
        }
    }

    #[test]
    fn only_what_changed_is_rewritten() {
        let original = "{\n  \"n\": 1e2,\n  \"big\": 12345678901234567890123,\n  \"env\": {\"A\": \"1\",   \"B\": 2.50},\n  \"x\": [1,2]\n}\n";
        let before = doc(original);
        let mut after = before.clone();
        after["env"]
            .as_object_mut()
            .unwrap()
            .insert("C".into(), Value::String("3".into()));
        after.insert("hooks".into(), serde_json::json!({"Stop": []}));
        let edited = edit(original, &before, &after, &two()).unwrap();
        assert_eq!(
            edited,
            "{\n  \"n\": 1e2,\n  \"big\": 12345678901234567890123,\n  \"env\": {\"A\": \"1\",   \"B\": 2.50,\n    \"C\": \"3\"},\n  \"x\": [1,2],\n  \"hooks\": {\n    \"Stop\": []\n  }\n}\n"
        );
        // And back: the original bytes.
        assert_eq!(edit(&edited, &after, &before, &two()).unwrap(), original);
    }

    #[test]
    fn a_duplicate_keys_last_occurrence_is_edited_and_the_first_kept() {
        let original =
            "{\n  \"hooks\": {\"Stop\": [1]},\n  \"model\": \"opus\",\n  \"hooks\": {}\n}\n";
        let before = doc(original);
        assert_eq!(before["hooks"], serde_json::json!({}));
        let mut after = before.clone();
        after["hooks"]
            .as_object_mut()
            .unwrap()
            .insert("Stop".into(), serde_json::json!([2]));
        let edited = edit(original, &before, &after, &two()).unwrap();
        assert_eq!(
            edited,
            "{\n  \"hooks\": {\"Stop\": [1]},\n  \"model\": \"opus\",\n  \"hooks\": {\n    \"Stop\": [\n      2\n    ]\n  }\n}\n"
        );
        assert_eq!(
            edit(&edited, &after, &before, &two()).unwrap(),
            "{\n  \"hooks\": {\"Stop\": [1]},\n  \"model\": \"opus\",\n  \"hooks\": {}\n}\n"
        );
    }

    #[test]
    fn text_it_cannot_follow_is_left_to_the_renderer() {
        let before = doc("{\"a\": 1}");
        let mut after = before.clone();
        after.shift_remove("a");
        after.insert("b".into(), Value::from(2));
        // Removing the first member is not done in place.
        assert_eq!(
            edit(
                "{\"a\": 1, \"c\": 3}",
                &doc("{\"a\": 1, \"c\": 3}"),
                &doc("{\"c\": 3}"),
                &two()
            ),
            None
        );
        // An object left empty, or filled from empty, is written anew.
        assert_eq!(
            edit("{\"a\": 1}", &before, &after, &two()).as_deref(),
            Some("{\n  \"b\": 2\n}")
        );
    }
}
