//! The timeline drawn in the terminal: one row per hour (or day), settled quota tokens as
//! a solid bar inside the lighter bar of what was reserved, and a `│` where an even spend
//! of the TPD quota would be. Settled bars past the pace turn red.
//!
//! ```text
//! 09:00 █▍░░░░░░░░░░░░░░░░│░░░░░░░░░░░░░░░░░   7.12k / 2.56M
//! 10:00 ▏       │                               700 / 21k  1 throttle
//! ```

use super::aggregate::{Bucket, Timeline};
use crate::terminal::pretty_tokens;
use crate::terminal::{self, Style};

const EIGHTHS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
const FULL: char = '█';
const RESERVED: char = '░';
const PACE: char = '│';

/// Draw the buckets with activity (leading and trailing empty ones left out) within
/// `width` columns; `label` names a bucket (`09:00`, `2026-11-22`).
pub fn render(
    timeline: &Timeline,
    width: usize,
    style: &Style,
    label: &dyn Fn(&Bucket) -> String,
) -> String {
    let active = |b: &Bucket| b.requests > 0 || b.reserved_tokens > 0 || b.throttles > 0;
    let Some(first) = timeline.buckets.iter().position(active) else {
        return String::new();
    };
    let last = timeline.buckets.iter().rposition(active).unwrap_or(first);
    let shown = &timeline.buckets[first..=last];
    let labels: Vec<String> = shown.iter().map(|b| terminal::clean(&label(b))).collect();
    let numbers: Vec<String> = shown
        .iter()
        .map(|b| {
            format!(
                "{} / {}",
                pretty_tokens(b.quota_tokens),
                pretty_tokens(b.reserved_tokens)
            )
        })
        .collect();
    let notes: Vec<String> = shown
        .iter()
        .map(|b| match b.throttles {
            0 => String::new(),
            1 => "1 throttle".to_string(),
            n => format!("{n} throttles"),
        })
        .collect();
    let label_w = labels
        .iter()
        .map(|l| terminal::display_width(l))
        .max()
        .unwrap_or(0);
    let numbers_w = numbers.iter().map(String::len).max().unwrap_or(0);
    let notes_w = notes.iter().map(String::len).max().unwrap_or(0);
    let fixed = 2 + label_w + 1 + 1 + numbers_w + if notes_w > 0 { 2 + notes_w } else { 0 };
    let bar_w = width.saturating_sub(fixed).max(10);
    let pace = timeline.tpd_pace_per_bucket;
    let scale = shown
        .iter()
        .map(|b| b.reserved_tokens.max(b.quota_tokens))
        .chain(pace)
        .max()
        .unwrap_or(0)
        .max(1);
    let mut out = String::new();
    for (i, bucket) in shown.iter().enumerate() {
        let over_pace = pace.is_some_and(|p| bucket.quota_tokens > p);
        let bar = bar(bucket, pace, scale, bar_w, style, over_pace);
        let line = format!(
            "  {} {} {}{}",
            terminal::pad(&labels[i], label_w, false),
            bar,
            terminal::pad(&numbers[i], numbers_w, true),
            if notes[i].is_empty() {
                String::new()
            } else {
                format!("  {}", style.paint(terminal::RED, &notes[i]))
            }
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// One bar of `width` cells: eighth-block precision for the settled part.
fn bar(
    bucket: &Bucket,
    pace: Option<u64>,
    scale: u64,
    width: usize,
    style: &Style,
    over_pace: bool,
) -> String {
    let cells = |tokens: u64| -> u128 { tokens as u128 * width as u128 * 8 / scale as u128 };
    let settled_eighths = cells(bucket.quota_tokens);
    let reserved_cells = cells(bucket.reserved_tokens).div_ceil(8) as usize;
    let pace_cell = pace.map(|p| ((cells(p) / 8) as usize).min(width - 1));
    let full = (settled_eighths / 8) as usize;
    let partial = (settled_eighths % 8) as usize;
    let mut settled = String::new();
    settled.extend(std::iter::repeat_n(FULL, full.min(width)));
    let mut used = full.min(width);
    if partial > 0 && used < width {
        settled.push(EIGHTHS[partial]);
        used += 1;
    } else if bucket.quota_tokens > 0 && used == 0 {
        // Too small to show at this scale, but not nothing.
        settled.push(EIGHTHS[1]);
        used = 1;
    }
    let color = if over_pace {
        terminal::RED
    } else {
        terminal::GREEN
    };
    let mut out = match pace_cell.filter(|cell| *cell < used) {
        // The pace falls inside the settled part: draw it over that cell, so a full bar
        // still shows where an even spend would be.
        Some(cell) => {
            let before: String = settled.chars().take(cell).collect();
            let after: String = settled.chars().skip(cell + 1).collect();
            format!(
                "{}{}{}",
                style.paint(color, &before),
                style.paint(terminal::YELLOW, &PACE.to_string()),
                style.paint(color, &after)
            )
        }
        None => style.paint(color, &settled),
    };
    let mut rest = String::new();
    for cell in used..width {
        if Some(cell) == pace_cell {
            out.push_str(&style.paint(terminal::DIM, &rest));
            rest.clear();
            out.push_str(&style.paint(terminal::YELLOW, &PACE.to_string()));
        } else if cell < reserved_cells {
            rest.push(RESERVED);
        } else {
            rest.push(' ');
        }
    }
    out.push_str(&style.paint(terminal::DIM, &rest));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn bucket(hour: u32, settled: u64, reserved: u64, throttles: u64) -> Bucket {
        let start: DateTime<Utc> = format!("2026-11-22T{hour:02}:00:00Z").parse().unwrap();
        Bucket {
            start,
            requests: u64::from(reserved > 0),
            reserved_tokens: reserved,
            quota_tokens: settled,
            throttles,
            cumulative_quota_tokens: 0,
        }
    }

    fn label(b: &Bucket) -> String {
        b.start.format("%H:%M").to_string()
    }

    fn timeline(buckets: Vec<Bucket>, pace: Option<u64>) -> Timeline {
        Timeline {
            bucket_seconds: 3600,
            tpd_pace_per_bucket: pace,
            buckets,
        }
    }

    const PLAIN: Style = Style { color: false };

    #[test]
    fn trims_empty_ends_and_keeps_inner_gaps() {
        let t = timeline(
            vec![
                bucket(0, 0, 0, 0),
                bucket(1, 10, 100, 0),
                bucket(2, 0, 0, 0),
                bucket(3, 50, 100, 0),
                bucket(4, 0, 0, 0),
            ],
            None,
        );
        let out = render(&t, 60, &PLAIN, &label);
        let labels: Vec<&str> = out.lines().map(|l| &l[2..7]).collect();
        assert_eq!(labels, ["01:00", "02:00", "03:00"]);
    }

    #[test]
    fn bars_scale_to_the_largest_reservation() {
        // width 61: 2 + 5 + 1 + bar + 1 + len("100 / 100") = 61 -> bar 43.
        let t = timeline(vec![bucket(1, 50, 100, 0), bucket(2, 100, 100, 0)], None);
        let out = render(&t, 61, &PLAIN, &label);
        let rows: Vec<&str> = out.lines().collect();
        let bar_of = |row: &str| row.chars().skip(8).take(43).collect::<String>();
        let half = bar_of(rows[0]);
        let full = bar_of(rows[1]);
        assert_eq!(full.chars().filter(|c| *c == FULL).count(), 43);
        let solid = half.chars().filter(|c| *c == FULL).count();
        assert_eq!(solid, 21, "{half:?}");
        assert_eq!(half.chars().nth(21), Some(EIGHTHS[4]));
        assert!(half.chars().skip(22).all(|c| c == RESERVED), "{half:?}");
        for row in rows {
            assert_eq!(terminal::display_width(row), 61, "{row:?}");
        }
    }

    #[test]
    fn pace_line_and_throttle_notes() {
        let t = timeline(vec![bucket(1, 0, 10, 2)], Some(100));
        let out = render(&t, 60, &PLAIN, &label);
        assert!(out.contains(PACE), "{out}");
        assert!(out.trim_end().ends_with("2 throttles"), "{out}");
        let colored = render(&t, 60, &Style { color: true }, &label);
        assert!(colored.contains(terminal::YELLOW));
    }

    #[test]
    fn pace_marker_shows_over_a_full_bar() {
        // Settled fills the bar and passes the pace: the marker is drawn over it.
        let t = timeline(
            vec![bucket(1, 1000, 1000, 0), bucket(2, 10, 20, 0)],
            Some(400),
        );
        let out = render(&t, 60, &PLAIN, &label);
        let first = out.lines().next().unwrap();
        assert!(first.contains(PACE), "{out}");
        assert_eq!(
            out.lines().map(terminal::display_width).collect::<Vec<_>>(),
            [60, 60],
            "{out}"
        );
        let colored = render(&t, 60, &Style { color: true }, &label);
        let first = colored.lines().next().unwrap();
        assert!(
            first.contains(&format!("{}{PACE}", terminal::YELLOW)),
            "{colored}"
        );
    }

    #[test]
    fn tiny_settled_amounts_still_show() {
        let t = timeline(vec![bucket(1, 1, 1_000_000, 0)], None);
        let out = render(&t, 60, &PLAIN, &label);
        assert!(out.contains(EIGHTHS[1]), "{out}");
    }

    #[test]
    fn nothing_to_draw() {
        let t = timeline(vec![bucket(1, 0, 0, 0)], Some(5));
        assert_eq!(render(&t, 60, &PLAIN, &label), "");
    }
}
