//! Aligned, width-aware tables for the text report. Numbers align right, text left; when
//! the table is wider than the terminal, optional columns are dropped (rightmost first),
//! then the one flexible column (a model id, a project path) is shortened in the middle.
//! Every cell is cleaned of control characters.

use crate::terminal::{self, Style};

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
    /// Left out when the terminal is too narrow.
    pub optional: bool,
}

impl Column {
    pub fn text(title: &'static str) -> Column {
        Column {
            title,
            align: Align::Left,
            flexible: false,
            optional: false,
        }
    }

    pub fn flexible(title: &'static str) -> Column {
        Column {
            title,
            align: Align::Left,
            flexible: true,
            optional: false,
        }
    }

    pub fn number(title: &'static str) -> Column {
        Column {
            title,
            align: Align::Right,
            flexible: false,
            optional: false,
        }
    }

    /// This column may be left out on a narrow terminal.
    pub fn optional(mut self) -> Column {
        self.optional = true;
        self
    }
}

/// Lay out `rows` under `columns` within `width` columns, indented by two spaces.
pub fn render(columns: &[Column], rows: &[Vec<String>], width: usize, style: &Style) -> String {
    const GAP: usize = 2;
    const INDENT: &str = "  ";
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|c| terminal::clean(c)).collect())
        .collect();
    let natural: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, col)| {
            cells
                .iter()
                .filter_map(|r| r.get(i))
                .map(|c| terminal::display_width(c))
                .chain([col.title.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut shown: Vec<usize> = (0..columns.len()).collect();
    let total = |shown: &[usize], widths: &[usize]| {
        INDENT.len()
            + shown.iter().map(|i| widths[*i]).sum::<usize>()
            + GAP * shown.len().saturating_sub(1)
    };
    let mut widths = natural.clone();
    while total(&shown, &widths) > width {
        let Some(at) = shown.iter().rposition(|i| columns[*i].optional) else {
            break;
        };
        shown.remove(at);
    }
    let over = total(&shown, &widths);
    if over > width
        && let Some(flex) = shown.iter().copied().find(|i| columns[*i].flexible)
    {
        let min = columns[flex].title.len().max(8);
        widths[flex] = widths[flex].saturating_sub(over - width).max(min);
    }
    let columns: Vec<&Column> = shown.iter().map(|i| &columns[*i]).collect();
    let widths: Vec<usize> = shown.iter().map(|i| widths[*i]).collect();
    let cells: Vec<Vec<String>> = cells
        .into_iter()
        .map(|row| {
            shown
                .iter()
                .map(|i| row.get(*i).cloned().unwrap_or_default())
                .collect()
        })
        .collect();
    let mut out = String::new();
    let line = |cells: Vec<String>, out: &mut String| {
        let mut parts = Vec::with_capacity(columns.len());
        for (i, col) in columns.iter().enumerate() {
            let cell = cells.get(i).map(String::as_str).unwrap_or("");
            let fitted = terminal::fit(cell, widths[i]);
            let last = i + 1 == columns.len();
            if last && col.align == Align::Left {
                parts.push(fitted);
            } else {
                parts.push(terminal::pad(&fitted, widths[i], col.align == Align::Right));
            }
        }
        out.push_str(INDENT);
        out.push_str(parts.join(&" ".repeat(GAP)).trim_end());
        out.push('\n');
    };
    let header: Vec<String> = columns.iter().map(|c| c.title.to_string()).collect();
    let mut header_line = String::new();
    line(header, &mut header_line);
    out.push_str(&style.paint(terminal::DIM, header_line.trim_end_matches('\n')));
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
            assert!(terminal::display_width(line) <= 40, "{line:?}");
        }
        assert!(out.contains('…'));
    }

    #[test]
    fn optional_columns_go_first_on_a_narrow_terminal() {
        let cols = [
            Column::text("model"),
            Column::number("aaaaaaaaaa").optional(),
            Column::number("bbbbbbbbbb").optional(),
            Column::number("n"),
        ];
        let rows = vec![vec!["opus".into(), "1".into(), "2".into(), "3".into()]];
        let wide = render(&cols, &rows, 80, &plain());
        assert!(wide.contains("bbbbbbbbbb"));
        let narrow = render(&cols, &rows, 25, &plain());
        assert_eq!(narrow, "  model  aaaaaaaaaa  n\n  opus            1  3\n");
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
