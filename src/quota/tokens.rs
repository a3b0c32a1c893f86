//! Token counts as people write them: `2M`, `400k`, `1_000_000`, `1.5m` (the short form
//! they are shown in is `crate::terminal::pretty_tokens`).

/// Parse a token count with an optional `k`/`m`/`g` suffix and `_`/`,` separators.
pub fn parse_tokens(text: &str) -> Result<u64, String> {
    let cleaned: String = text
        .trim()
        .chars()
        .filter(|c| *c != '_' && *c != ',')
        .collect();
    let lower = cleaned.to_ascii_lowercase();
    let (number, scale) = match lower.chars().last() {
        Some('k') => (&lower[..lower.len() - 1], 1e3),
        Some('m') => (&lower[..lower.len() - 1], 1e6),
        Some('g') | Some('b') => (&lower[..lower.len() - 1], 1e9),
        _ => (lower.as_str(), 1.0),
    };
    if let Ok(n) = number.parse::<u64>()
        && scale == 1.0
    {
        return Ok(n);
    }
    match number.parse::<f64>() {
        Ok(f) if f.is_finite() && f >= 0.0 && f * scale < 1.8e19 => Ok((f * scale).round() as u64),
        _ => Err(format!(
            "expected a token count like 400000, 400k or 2M, got `{}`",
            text.trim()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_suffixes() {
        assert_eq!(parse_tokens("400000"), Ok(400_000));
        assert_eq!(parse_tokens("400k"), Ok(400_000));
        assert_eq!(parse_tokens("2M"), Ok(2_000_000));
        assert_eq!(parse_tokens("1.5m"), Ok(1_500_000));
        assert_eq!(parse_tokens("1_000_000"), Ok(1_000_000));
        assert_eq!(parse_tokens(" 12,000 "), Ok(12_000));
        assert!(parse_tokens("lots").is_err());
        assert!(parse_tokens("-5").is_err());
        assert!(parse_tokens("").is_err());
        assert!(parse_tokens("1e30").is_err());
    }
}
