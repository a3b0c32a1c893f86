//! The few SVG pieces the HTML report draws its charts with, written by hand: rectangles,
//! lines, paths and text inside one `<svg>`, a linear scale with round tick values, and
//! the escaping every attribute and text goes through. A chart crate would bring a
//! layout engine and fonts we do not need; the `svg` crate only builds the same strings.
//!
//! Every string that can come from the ledger (model ids, projects, sessions) must pass
//! through [`escape`], which also drops control and bidi characters like the terminal
//! report does.

use std::fmt::Write as _;

use crate::terminal::pretty_tokens;

/// Escape `text` for HTML text and quoted attribute values, after dropping the control
/// and direction-changing characters the terminal report also drops.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in crate::terminal::clean(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A coordinate with at most two decimals, without trailing zeros.
pub fn num(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

/// `data-*` attributes (and others) as `(name, value)`; values are escaped.
pub type Attrs<'a> = &'a [(&'a str, String)];

/// One `<svg>` element being written.
pub struct Svg {
    out: String,
}

impl Svg {
    /// A chart `width` x `height` pixels that scales down with the page; `label` is its
    /// accessible name.
    pub fn new(width: f64, height: f64, class: &str, label: &str) -> Svg {
        let mut out = String::new();
        let _ = write!(
            out,
            r#"<svg class="{}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" width="{}" height="{}" role="img" aria-label="{}">"#,
            escape(class),
            num(width),
            num(height),
            num(width),
            num(height),
            escape(label)
        );
        Svg { out }
    }

    fn attrs(&mut self, attrs: Attrs<'_>) {
        for (name, value) in attrs {
            let _ = write!(self.out, r#" {name}="{}""#, escape(value));
        }
    }

    pub fn open_group(&mut self, class: &str, attrs: Attrs<'_>) {
        let _ = write!(self.out, r#"<g class="{}""#, escape(class));
        self.attrs(attrs);
        self.out.push('>');
    }

    pub fn close_group(&mut self) {
        self.out.push_str("</g>");
    }

    /// A rectangle; `tooltip`, when not empty, is shown on hover.
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, class: &str, attrs: Attrs<'_>) {
        self.rect_titled(x, y, w, h, class, attrs, "");
    }

    #[allow(clippy::too_many_arguments)]
    pub fn rect_titled(
        &mut self,
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        class: &str,
        attrs: Attrs<'_>,
        tooltip: &str,
    ) {
        let _ = write!(
            self.out,
            r#"<rect class="{}" x="{}" y="{}" width="{}" height="{}""#,
            escape(class),
            num(x),
            num(y),
            num(w.max(0.0)),
            num(h.max(0.0))
        );
        self.attrs(attrs);
        self.close_with_title(tooltip, "rect");
    }

    fn close_with_title(&mut self, tooltip: &str, element: &str) {
        if tooltip.is_empty() {
            self.out.push_str("/>");
        } else {
            let _ = write!(self.out, "><title>{}</title></{element}>", escape(tooltip));
        }
    }

    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, class: &str) {
        let _ = write!(
            self.out,
            r#"<line class="{}" x1="{}" y1="{}" x2="{}" y2="{}"/>"#,
            escape(class),
            num(x1),
            num(y1),
            num(x2),
            num(y2)
        );
    }

    /// A path through `points` (`M x y L x y ...`).
    pub fn polyline(&mut self, points: &[(f64, f64)], class: &str, attrs: Attrs<'_>) {
        if points.is_empty() {
            return;
        }
        let mut d = String::new();
        for (i, (x, y)) in points.iter().enumerate() {
            let _ = write!(
                d,
                "{}{} {}",
                if i == 0 { "M" } else { " L" },
                num(*x),
                num(*y)
            );
        }
        let _ = write!(self.out, r#"<path class="{}" d="{d}""#, escape(class));
        self.attrs(attrs);
        self.out.push_str("/>");
    }

    /// A small triangle pointing down at (`x`, `y`), for events such as throttles.
    pub fn marker(&mut self, x: f64, y: f64, class: &str, attrs: Attrs<'_>, tooltip: &str) {
        let _ = write!(
            self.out,
            r#"<path class="{}" d="M{} {} L{} {} L{} {} Z""#,
            escape(class),
            num(x),
            num(y),
            num(x - 5.0),
            num(y - 9.0),
            num(x + 5.0),
            num(y - 9.0)
        );
        self.attrs(attrs);
        self.close_with_title(tooltip, "path");
    }

    /// Text at (`x`, `y`); `anchor` is `start`, `middle` or `end`.
    pub fn text(&mut self, x: f64, y: f64, anchor: &str, class: &str, text: &str) {
        let _ = write!(
            self.out,
            r#"<text class="{}" x="{}" y="{}" text-anchor="{}">{}</text>"#,
            escape(class),
            num(x),
            num(y),
            escape(anchor),
            escape(text)
        );
    }

    pub fn finish(mut self) -> String {
        self.out.push_str("</svg>");
        self.out
    }
}

/// A linear scale from 0 to a round maximum at or above the largest value, with 3 to 6
/// round ticks.
#[derive(Debug, Clone, PartialEq)]
pub struct Scale {
    pub max: u64,
    pub step: u64,
}

impl Scale {
    pub fn new(largest: u64) -> Scale {
        let largest = largest.max(1);
        let raw = largest.div_ceil(4).max(1);
        let mut magnitude = 1u64;
        while magnitude.saturating_mul(10) <= raw {
            magnitude *= 10;
        }
        let step = [1, 2, 5, 10]
            .into_iter()
            .map(|m| m * magnitude)
            .find(|s| *s >= raw)
            .unwrap_or(10 * magnitude);
        Scale {
            max: largest.div_ceil(step) * step,
            step,
        }
    }

    /// `value`'s height out of `height` pixels.
    pub fn px(&self, value: u64, height: f64) -> f64 {
        value as f64 / self.max as f64 * height
    }

    pub fn ticks(&self) -> impl Iterator<Item = u64> + '_ {
        (0..=self.max / self.step).map(|i| i * self.step)
    }
}

/// Plot area inside a chart: left margin for the y labels, bottom for the x labels.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
}

impl Frame {
    pub fn new(width: f64, height: f64) -> Frame {
        Frame {
            width,
            height,
            left: 56.0,
            right: 12.0,
            top: 18.0,
            bottom: 24.0,
        }
    }

    pub fn plot_width(&self) -> f64 {
        self.width - self.left - self.right
    }

    pub fn plot_height(&self) -> f64 {
        self.height - self.top - self.bottom
    }

    /// The y coordinate of `value` on `scale`.
    pub fn y(&self, scale: &Scale, value: u64) -> f64 {
        self.top + self.plot_height() - scale.px(value.min(scale.max), self.plot_height())
    }

    /// Grid lines and token labels for `scale`.
    pub fn y_axis(&self, svg: &mut Svg, scale: &Scale) {
        for tick in scale.ticks() {
            let y = self.y(scale, tick);
            svg.line(self.left, y, self.width - self.right, y, "grid");
            svg.text(
                self.left - 6.0,
                y + 4.0,
                "end",
                "axis",
                &pretty_tokens(tick),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_controls() {
        assert_eq!(
            escape(r#"<script>"a" & 'b'</script>"#),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
        assert_eq!(escape("x\u{1b}[31m\u{202e}y"), "x[31my");
    }

    #[test]
    fn round_scales() {
        assert_eq!(Scale::new(0), Scale { max: 1, step: 1 });
        assert_eq!(
            Scale::new(11_320),
            Scale {
                max: 15_000,
                step: 5000
            }
        );
        assert_eq!(
            Scale::new(2_563_320),
            Scale {
                max: 3_000_000,
                step: 1_000_000
            }
        );
        assert_eq!(
            Scale::new(100_000),
            Scale {
                max: 100_000,
                step: 50_000
            }
        );
        let s = Scale::new(7);
        assert!(s.max >= 7 && s.ticks().count() <= 8, "{s:?}");
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(num(12.0), "12");
        assert_eq!(num(12.345), "12.35");
        assert_eq!(num(-0.001), "0");
    }

    #[test]
    fn attributes_are_escaped() {
        let mut svg = Svg::new(10.0, 10.0, "c", "a \"chart\"");
        svg.rect(
            0.0,
            0.0,
            1.0,
            1.0,
            "bar",
            &[("data-model", "<m>".to_string())],
        );
        let out = svg.finish();
        assert!(out.contains(r#"data-model="&lt;m&gt;""#), "{out}");
        assert!(out.contains(r#"aria-label="a &quot;chart&quot;""#), "{out}");
        assert!(out.ends_with("</svg>"));
    }
}
