//! Aligned, width-aware tables for the text report. Numbers align right, text left; when
//! the table is wider than the terminal, the one flexible column (a model id, a project
//! path) is shortened in the middle. Every cell is cleaned of control characters.

use super::term::{self, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

pub struct Column {
    pub title: &'static str,
    pub align: Align,
    /// Shrinks to fit the width (at most one column should).
    pub flexible: bool,
}

impl Column {
    pub fn text(title: &'static str) -> Column {
        Column {
            title,
            align: Align::Left,
            flexible: false,
        }
    }

    pub fn flexible(title: &'static str) -> Column {
        Column {
            title,
            align: Align::Left,
            flexible: true,
        }
    }

    pub fn number(title: &'static str) -> Column {
        Column {
            title,
            align: Align::Right,
            flexible: false,
        }
    }
}

/// Lay out `rows` under `columns` within `width` columns, indented by two spaces.
pub fn render(columns: &[Column], rows: &[Vec<String>], width: usize, style: &Style) -> String {
    const GAP: usize = 2;
    const INDENT: &str = "  ";
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|c| term::clean(c)).collect())
        .collect();
    let mut widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, col)| {
            cells
                .iter()
                .filter_map(|r| r.get(i))
                .map(|c| term::display_width(c))
                .chain([col.title.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let total = INDENT.len() + widths.iter().sum::<usize>() + GAP * columns.len().saturating_sub(1);
    if total > width
        && let Some(flex) = columns.iter().position(|c| c.flexible)
    {
        let excess = total - width;
        let min = columns[flex].title.len().max(8);
        widths[flex] = widths[flex].saturating_sub(excess).max(min);
    }
    let mut out = String::new();
    let line = |cells: Vec<String>, out: &mut String| {
        let mut parts = Vec::with_capacity(columns.len());
        for (i, col) in columns.iter().enumerate() {
            let cell = cells.get(i).map(String::as_str).unwrap_or("");
            let fitted = term::fit(cell, widths[i]);
            let last = i + 1 == columns.len();
            if last && col.align == Align::Left {
                parts.push(fitted);
            } else {
                parts.push(term::pad(&fitted, widths[i], col.align == Align::Right));
            }
        }
        out.push_str(INDENT);
        out.push_str(parts.join(&" ".repeat(GAP)).trim_end());
        out.push('\n');
    };
    let header: Vec<String> = columns.iter().map(|c| c.title.to_string()).collect();
    let mut header_line = String::new();
    line(header, &mut header_line);
    out.push_str(&style.paint(term::DIM, header_line.trim_end_matches('\n')));
    out.push('\n');
    for row in cells {
        line(row, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain() -> Style {
        Style { color: false }
    }

    #[test]
    fn aligns_numbers_right_and_text_left() {
        let cols = [Column::text("model"), Column::number("requests")];
        let rows = vec![
            vec!["opus".to_string(), "5".to_string()],
            vec!["sonnet-4-5".to_string(), "1,234".to_string()],
        ];
        let out = render(&cols, &rows, 100, &plain());
        assert_eq!(
            out,
            "  model       requests\n  opus               5\n  sonnet-4-5     1,234\n"
        );
    }

    #[test]
    fn shrinks_the_flexible_column_to_the_width() {
        let cols = [Column::flexible("project"), Column::number("n")];
        let long = format!("/home/dev/{}", "x".repeat(200));
        let rows = vec![vec![long, "1".to_string()]];
        let out = render(&cols, &rows, 40, &plain());
        for line in out.lines() {
            assert!(term::display_width(line) <= 40, "{line:?}");
        }
        assert!(out.contains('…'));
    }

    #[test]
    fn cells_cannot_inject_escapes_or_lines() {
        let cols = [Column::text("model"), Column::number("n")];
        let rows = vec![vec![
            "evil\x1b]0;title\x07\nname".to_string(),
            "1".to_string(),
        ]];
        let out = render(&cols, &rows, 80, &plain());
        assert!(!out.contains('\x1b') && !out.contains('\x07'));
        assert_eq!(out.lines().count(), 2);
    }
}
