//! Writing an edit back as an edit of the text the user wrote, not a new rendering of the
//! whole document: only the members that changed are rewritten, and objects are edited
//! member by member, so everything else keeps its bytes: layout, unusual spacing,
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
    /// Where the key's opening quote is.
    start: usize,
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
            Some(new) => edit_value(
                text,
                (member.value_start, member.value_end),
                old,
                new,
                depth + 1,
                layout,
                edits,
            )?,
        }
    }
    let added: Vec<(&String, &Value)> = after
        .iter()
        .filter(|(key, _)| !before.contains_key(*key))
        .collect();
    let items: Vec<Item> = object
        .members
        .iter()
        .map(|m| (m.start, m.value_end))
        .collect();
    let whole = (object.open, object.close);
    if !remove(&items, removed, edits) || items.is_empty() && !added.is_empty() {
        rewrite(whole, &Value::Object(after.clone()), depth, layout, edits);
        return Some(());
    }
    let mut insert = String::new();
    for (key, value) in added {
        insert.push(',');
        insert.push_str(&newline_and_indent(depth + 1, layout));
        insert.push_str(&render_key(key, layout));
        insert.push_str(&render_at(value, depth + 1, layout));
    }
    if !insert.is_empty() {
        let end = items.iter().map(|(_, end)| *end).max()?;
        edits.push((end, end, insert));
    }
    Some(())
}

/// An array's elements as `(start, end)`, for `edit_array`; an object's members too
/// (start at the key).
type Item = (usize, usize);

/// Change the value at `span` from `old` to `new`: objects member by member, arrays
/// element by element where the change is appended or removed elements, else rewritten.
fn edit_value(
    text: &str,
    span: (usize, usize),
    old: &Value,
    new: &Value,
    depth: usize,
    layout: &Layout,
    edits: &mut Vec<Edit>,
) -> Option<()> {
    match (old, new) {
        _ if old == new => {}
        (Value::Object(old), Value::Object(new)) => {
            let inner = scan_object(text, span.0)?;
            edit_object(text, &inner, old, new, depth, layout, edits)?;
        }
        (Value::Array(old), Value::Array(new)) => {
            let (close, items) = scan_array(text, span.0)?;
            edit_array(
                text,
                (span.0, close),
                &items,
                old,
                new,
                depth,
                layout,
                edits,
            )?;
        }
        _ => edits.push((span.0, span.1, render_at(new, depth, layout))),
    }
    Some(())
}

#[allow(clippy::too_many_arguments)]
fn edit_array(
    text: &str,
    whole: (usize, usize),
    items: &[Item],
    before: &[Value],
    after: &[Value],
    depth: usize,
    layout: &Layout,
    edits: &mut Vec<Edit>,
) -> Option<()> {
    if items.len() != before.len() {
        return None;
    }
    let renew = |edits: &mut Vec<Edit>| {
        rewrite(whole, &Value::Array(after.to_vec()), depth, layout, edits);
    };
    if before.len() == after.len() {
        for (i, (old, new)) in before.iter().zip(after).enumerate() {
            edit_value(text, items[i], old, new, depth + 1, layout, edits)?;
        }
    } else if after.len() > before.len() && after[..before.len()] == *before {
        let Some(&(_, end)) = items.last() else {
            renew(edits);
            return Some(());
        };
        let mut insert = String::new();
        for value in &after[before.len()..] {
            insert.push(',');
            insert.push_str(&newline_and_indent(depth + 1, layout));
            insert.push_str(&render_at(value, depth + 1, layout));
        }
        edits.push((end, end, insert));
    } else {
        // Elements taken out, the rest as they were: remove them from the text.
        let mut removed = Vec::new();
        let mut next = 0;
        for (i, old) in before.iter().enumerate() {
            if after.get(next) == Some(old) {
                next += 1;
            } else {
                removed.push(i);
            }
        }
        if next != after.len() || !remove(items, removed, edits) {
            renew(edits);
        }
    }
    Some(())
}

/// Take the `removed` items (ascending) out of the text with their separators. `false`
/// when all of them go (the caller writes the container anew).
fn remove(items: &[Item], removed: Vec<usize>, edits: &mut Vec<Edit>) -> bool {
    if removed.is_empty() {
        return true;
    }
    if removed.len() == items.len() {
        return false;
    }
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for at in removed {
        match runs.last_mut() {
            Some((_, last)) if *last + 1 == at => *last = at,
            _ => runs.push((at, at)),
        }
    }
    for (first, last) in runs {
        if first > 0 {
            // From the end of the item before: its comma goes with the run.
            edits.push((items[first - 1].1, items[last].1, String::new()));
        } else {
            // The run opens the container: up to the next item's start.
            edits.push((items[0].0, items[last + 1].0, String::new()));
        }
    }
    true
}

/// Replace the whole container at `whole` (its brackets included) with `value`.
fn rewrite(
    whole: (usize, usize),
    value: &Value,
    depth: usize,
    layout: &Layout,
    edits: &mut Vec<Edit>,
) {
    edits.retain(|(start, _, _)| *start < whole.0 || *start > whole.1);
    edits.push((whole.0, whole.1 + 1, render_at(value, depth, layout)));
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
        let start = at;
        let key_end = skip_string(text, at)?;
        let key: String = serde_json::from_str(&text[start..key_end]).ok()?;
        at = skip_ws(text, key_end);
        if bytes.get(at) != Some(&b':') {
            return None;
        }
        let value_start = skip_ws(text, at + 1);
        let value_end = skip_value(text, value_start)?;
        members.push(Member {
            key,
            start,
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

/// The array whose `[` is at `open`: where its `]` is, and its elements.
fn scan_array(text: &str, open: usize) -> Option<(usize, Vec<Item>)> {
    let bytes = text.as_bytes();
    if bytes.get(open) != Some(&b'[') {
        return None;
    }
    let mut items = Vec::new();
    let mut at = skip_ws(text, open + 1);
    if bytes.get(at) == Some(&b']') {
        return Some((at, items));
    }
    loop {
        let end = skip_value(text, at)?;
        items.push((at, end));
        at = skip_ws(text, end);
        match bytes.get(at) {
            Some(b',') => at = skip_ws(text, at + 1),
            Some(b']') => return Some((at, items)),
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
    fn members_and_elements_come_out_with_their_separators() {
        let original = "{\"a\": 1, \"c\": [1e2, {\"x\": 1}, 3], \"d\": 4}";
        let before = doc(original);
        let mut after = before.clone();
        after.shift_remove("a");
        after["c"].as_array_mut().unwrap().remove(1);
        let compact = Layout {
            indent: None,
            final_newline: false,
            crlf: false,
        };
        let edited = edit(original, &before, &after, &compact).unwrap();
        assert_eq!(edited, "{\"c\": [1e2, 3], \"d\": 4}");
        after["c"].as_array_mut().unwrap().push(Value::from(5));
        assert_eq!(
            edit(original, &before, &after, &compact).unwrap(),
            "{\"c\": [1e2, 3, 5], \"d\": 4}"
        );
    }

    #[test]
    fn arrays_grow_at_their_end_keeping_what_is_there() {
        let original = "{\n  \"Stop\": [\n    {\"timeout\": 1e2}\n  ]\n}\n";
        let before = doc(original);
        let mut after = before.clone();
        after["Stop"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"hooks": []}));
        let edited = edit(original, &before, &after, &two()).unwrap();
        assert_eq!(
            edited,
            "{\n  \"Stop\": [\n    {\"timeout\": 1e2},\n    {\n      \"hooks\": []\n    }\n  ]\n}\n"
        );
        assert_eq!(edit(&edited, &after, &before, &two()).unwrap(), original);
    }

    #[test]
    fn emptied_or_filled_containers_are_written_anew() {
        let before = doc("{\"a\": 1}");
        let mut after = before.clone();
        after.shift_remove("a");
        after.insert("b".into(), Value::from(2));
        assert_eq!(
            edit("{\"a\": 1}", &before, &after, &two()).as_deref(),
            Some("{\n  \"b\": 2\n}")
        );
        let mut emptied = before.clone();
        emptied.shift_remove("a");
        assert_eq!(
            edit("{\"a\": 1}", &before, &emptied, &two()).as_deref(),
            Some("{}")
        );
    }
}
