//! The geometry the charts share: a fixed-width frame mapping run time to x, and escaping.

use std::fmt::Write;

pub(super) struct Frame {
    end_us: u64,
    left: u32,
}

impl Frame {
    pub(super) const WIDTH: u32 = 1000;
    pub(super) const LEFT: u32 = 48;
    pub(super) const RIGHT: u32 = 12;
    pub(super) const PANEL: u32 = 140;
    pub(super) const GAP: u32 = 18;

    pub(super) fn new(end_us: u64) -> Frame {
        Frame::with_left(end_us, Self::LEFT)
    }

    /// A frame whose plot starts `left` pixels in (room for row labels).
    pub(super) fn with_left(end_us: u64, left: u32) -> Frame {
        Frame {
            end_us: end_us.max(1),
            left,
        }
    }

    pub(super) fn plot_width(&self) -> u32 {
        Self::WIDTH - self.left - Self::RIGHT
    }

    /// The x of a time in the run.
    pub(super) fn x(&self, at_us: u64) -> f64 {
        self.left as f64
            + self.plot_width() as f64 * (at_us.min(self.end_us) as f64 / self.end_us as f64)
    }

    /// Five ticks with their times in seconds, at `y`.
    pub(super) fn time_axis(&self, out: &mut String, y: u32) {
        for i in 0..=4u64 {
            let at = self.end_us * i / 4;
            let anchor = match i {
                0 => "start",
                4 => "end",
                _ => "middle",
            };
            let _ = write!(
                out,
                r#"<text x="{x:.1}" y="{ty}" font-size="10" text-anchor="{anchor}">{t}</text>"#,
                x = self.x(at),
                ty = y + 10,
                t = crate::check::explain::seconds(at),
            );
        }
    }
}

/// Text for SVG and HTML made by hand.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_spans_the_plot() {
        let f = Frame::new(10);
        assert_eq!(f.x(0), Frame::LEFT as f64);
        assert_eq!(f.x(10), (Frame::WIDTH - Frame::RIGHT) as f64);
        assert_eq!(f.x(99), (Frame::WIDTH - Frame::RIGHT) as f64);
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
