//! A JSON scanner for transcript lines: walks an object's fields and skips values without
//! decoding them, so a line's few small fields are read while its (possibly multi-megabyte)
//! content is only stepped over, and nothing is allocated for what is skipped. It knows
//! JSON, not Claude Code's entries: which fields matter is [`super::wire`]'s business.

/// Walk the fields of the object whose `{` is at `at`, handing each key (raw, without
/// quotes) and value (raw JSON) to `visit`, which returns false to stop there. Returns
/// the index past the object (or where it stopped); `None` if the object is malformed
/// before that.
pub(super) fn walk_object<'a>(
    buf: &'a [u8],
    at: usize,
    visit: &mut dyn FnMut(&'a [u8], &'a [u8]) -> bool,
) -> Option<usize> {
    walk_fields(buf, at, &mut |key, value_start| {
        let end = skip_value(buf, value_start)?;
        Some(if visit(key, &buf[value_start..end]) {
            Field::Next(end)
        } else {
            Field::Stop(end)
        })
    })
}

/// What a [`walk_fields`] visitor did with a value.
pub(super) enum Field {
    /// The value ends at this index; go on with the next field.
    Next(usize),
    /// The value ends at this index; stop the walk there.
    Stop(usize),
}

/// Walk the fields of the object whose `{` is at `at`, handing each key (raw, without
/// quotes) and the index where its value starts to `visit`, which finds the value's end
/// itself (by skipping or by reading it) and returns `None` if the value is malformed.
/// Returns the index past the object (or where it stopped); `None` if the object is
/// malformed before that.
pub(super) fn walk_fields<'a>(
    buf: &'a [u8],
    at: usize,
    visit: &mut dyn FnMut(&'a [u8], usize) -> Option<Field>,
) -> Option<usize> {
    let mut at = at + 1;
    at = skip_ws(buf, at);
    if buf.get(at) == Some(&b'}') {
        return Some(at + 1);
    }
    loop {
        at = skip_ws(buf, at);
        if buf.get(at) != Some(&b'"') {
            return None;
        }
        let key_end = string_end(buf, at + 1)?;
        let key = &buf[at + 1..key_end];
        at = skip_ws(buf, key_end + 1);
        if buf.get(at) != Some(&b':') {
            return None;
        }
        let value_start = skip_ws(buf, at + 1);
        let value_end = match visit(key, value_start)? {
            Field::Next(end) => end,
            Field::Stop(end) => return Some(end),
        };
        at = skip_ws(buf, value_end);
        match buf.get(at) {
            Some(b',') => at += 1,
            Some(b'}') => return Some(at + 1),
            _ => return None,
        }
    }
}

/// The raw value of the top-level `"type"` key of a JSON object line, if it is a string
/// without escapes. Values before it are skipped, not decoded. `None` for anything that
/// is not an object with such a key (garbage, a torn line).
pub fn top_level_type(line: &[u8]) -> Option<&[u8]> {
    let start = skip_ws(line, 0);
    if line.get(start) != Some(&b'{') {
        return None;
    }
    let mut found = None;
    walk_object(line, start, &mut |key, value| {
        if key == b"type" {
            found = Some(value);
            return false;
        }
        true
    })?;
    let inner = found?.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    (!inner.contains(&b'\\')).then_some(inner)
}

pub(super) fn skip_ws(line: &[u8], mut at: usize) -> usize {
    while matches!(line.get(at), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        at += 1;
    }
    at
}

/// Index of the quote closing the string whose body starts at `from`.
pub(crate) fn string_end(line: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let found = from + memchr::memchr2(b'"', b'\\', line.get(from..)?)?;
        if line[found] == b'"' {
            return Some(found);
        }
        from = found + 2;
    }
}

/// Index just past the JSON value starting at `at`.
pub(super) fn skip_value(line: &[u8], at: usize) -> Option<usize> {
    match *line.get(at)? {
        b'"' => string_end(line, at + 1).map(|end| end + 1),
        b'{' => skip_nested(line, at, b'{', b'}'),
        b'[' => skip_nested(line, at, b'[', b']'),
        _ => {
            // A number, true, false or null: up to the next delimiter.
            let rest = line.get(at..)?;
            let len = rest
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n'))
                .unwrap_or(rest.len());
            (len > 0).then_some(at + len)
        }
    }
}

/// Past the object or array at `at`: only its own kind of bracket changes the depth
/// (the other kind is balanced inside it), and brackets inside strings do not count.
fn skip_nested(line: &[u8], at: usize, open: u8, close: u8) -> Option<usize> {
    let mut depth = 0usize;
    let mut from = at;
    loop {
        let found = from + memchr::memchr3(b'"', open, close, line.get(from..)?)?;
        match line[found] {
            b'"' => from = string_end(line, found + 1)? + 1,
            b if b == open => {
                depth += 1;
                from = found + 1;
            }
            _ => {
                depth -= 1;
                from = found + 1;
                if depth == 0 {
                    return Some(from);
                }
            }
        }
    }
}

/// A JSON string or null; `None` for anything else or a string that does not decode.
pub(super) fn opt_string(raw: &[u8]) -> Option<Option<String>> {
    match raw.first() {
        Some(b'"') => json_string(raw).map(Some),
        _ => opt_null(raw),
    }
}

/// A JSON unsigned integer or null; `None` for anything else.
pub(super) fn opt_u64(raw: &[u8]) -> Option<Option<u64>> {
    if raw.first().is_some_and(u8::is_ascii_digit) {
        return std::str::from_utf8(raw).ok()?.parse().ok().map(Some);
    }
    opt_null(raw)
}

/// `Some(None)` for a JSON null, `None` for anything else.
pub(super) fn opt_null<T>(raw: &[u8]) -> Option<Option<T>> {
    (raw == b"null").then_some(None)
}

/// An assistant line's string field, leniently: a string decoded, anything else (absent,
/// null, another type) `Some(None)`; `None` only for a string that does not decode.
/// (`api-request` fields are strict instead: see [`opt_string`].)
pub(super) fn string_if_any(field: Option<&[u8]>) -> Option<Option<String>> {
    match field {
        Some(raw) if raw.first() == Some(&b'"') => json_string(raw).map(Some),
        _ => Some(None),
    }
}

/// A JSON string value decoded; `None` for anything else (null, numbers, bad escapes).
fn json_string(value: &[u8]) -> Option<String> {
    let inner = value.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    if !inner.contains(&b'\\') {
        return std::str::from_utf8(inner).ok().map(str::to_string);
    }
    serde_json::from_slice::<String>(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_top_level_type_past_other_values() {
        let line = br#"{"parentUuid":null,"n":-1.5e3,"ok":true,"message":{"type":"message","content":[{"type":"text","text":"a \"}{[ b"}],"x":{}},"arr":[[1],{"a":"]"}],"type":"assistant"}"#;
        assert_eq!(top_level_type(line), Some(&b"assistant"[..]));
        assert_eq!(
            top_level_type(b" { \"type\" : \"user\" } "),
            Some(&b"user"[..])
        );
        assert_eq!(
            top_level_type(br#"{"a":"x\\","type":"user"}"#),
            Some(&b"user"[..])
        );
        for bad in [
            &b""[..],
            b"[]",
            b"{",
            b"{\"type\"",
            b"{\"type\":1}",
            b"{\"a\":{\"type\":\"user\"}}",
            b"{\"a\":\"unterminated",
            b"{\"a\" 1}",
            b"{\"type\":\"us\\u0065r\"}",
        ] {
            assert_eq!(
                top_level_type(bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
