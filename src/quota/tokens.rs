//! Token counts as people write and read them: `2M`, `400k`, `1_000_000`, `1.5m`. The
//! config reads them and every message writes them.

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

/// Short human form: 950, 12.3k, 1.29M.
pub fn pretty_tokens(n: u64) -> String {
    match n {
        0..=999 => n.to_string(),
        1_000..=999_999 => trim_decimal(n as f64 / 1e3, "k"),
        1_000_000..=999_999_999 => trim_decimal(n as f64 / 1e6, "M"),
        _ => trim_decimal(n as f64 / 1e9, "G"),
    }
}

fn trim_decimal(value: f64, unit: &str) -> String {
    let text = if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    };
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    format!("{text}{unit}")
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

    #[test]
    fn pretty_forms() {
        assert_eq!(pretty_tokens(950), "950");
        assert_eq!(pretty_tokens(12_345), "12.3k");
        assert_eq!(pretty_tokens(1_292_306), "1.29M");
        assert_eq!(pretty_tokens(400_000), "400k");
        assert_eq!(pretty_tokens(2_000_000), "2M");
    }
}
