//! Bar charts for the staff dashboard, drawn on the server as SVG: no JavaScript, no charting
//! library (about a hundred lines do what the dashboard needs). Pure: a chart in, markup out.
//!
//! Every chart is an image with a name (`role="img"`, `<title>` and `<desc>` referenced by
//! `aria-labelledby`); the page puts the same numbers in a table after it, which is what a
//! screen reader reads. Every text is escaped here, since the markup is inserted unescaped.

use std::fmt::Write as _;

/// Fill colours of stacked series, in order: dark enough for 3:1 against white (WCAG 1.4.11),
/// and told apart by the legend's order and the table too, never by colour alone.
const FILLS: [&str; 4] = ["#1f5f99", "#b2510f", "#2d7a34", "#6b3fa0"];

/// One bar chart: a bar per label, each a stack of one segment per series.
#[derive(Debug, Clone)]
pub struct BarChart<'a> {
    /// Unique on the page: the `<title>` and `<desc>` ids are made from it.
    pub id: &'a str,
    pub title: &'a str,
    /// What the chart shows, in a sentence or two (read by assistive technology).
    pub desc: &'a str,
    /// Series names, shown in the legend when there are several.
    pub series: &'a [&'a str],
    /// (label under the bar, one value per series).
    pub bars: Vec<(String, Vec<u64>)>,
    /// Written after the top value of the axis (`%`), or empty.
    pub unit: &'a str,
}

const HEIGHT: u32 = 220;
const TOP: u32 = 30;
const BOTTOM: u32 = 40;
const LEFT: u32 = 44;
const STEP: u32 = 44;
const BAR: u32 = 30;

/// Escapes text for XML character data and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML 1.0.
            c if c.is_control() && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The height in pixels of `value` on an axis whose top is `max` (at least 1, so an empty or
/// all-zero chart divides by nothing).
pub fn scaled(value: u64, max: u64, plot_height: u32) -> u32 {
    let max = max.max(1);
    let h = u128::from(value.min(max)) * u128::from(plot_height) / u128::from(max);
    u32::try_from(h).unwrap_or(plot_height)
}

/// The chart as an `<svg>` element.
pub fn bar_chart(c: &BarChart<'_>) -> String {
    let id = escape(c.id);
    let n = u32::try_from(c.bars.len()).unwrap_or(u32::MAX).min(400);
    // Each bar's place is wide enough for its label (about 6 units a character at size 10), so
    // labels like "4 to 24 hours" do not run into their neighbours.
    let longest = c
        .bars
        .iter()
        .map(|(label, _)| u32::try_from(label.chars().count()).unwrap_or(40).min(40))
        .max()
        .unwrap_or(0);
    let step = STEP.max(6 * longest + 8);
    let width = LEFT + step * n.max(4) + 10;
    let plot = HEIGHT - TOP - BOTTOM;
    let base = TOP + plot;
    let max = c
        .bars
        .iter()
        .map(|(_, v)| v.iter().sum::<u64>())
        .max()
        .unwrap_or(0);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" \
         viewBox=\"0 0 {width} {HEIGHT}\" width=\"100%\" style=\"max-width: {width}px\" \
         aria-labelledby=\"{id}-title {id}-desc\" focusable=\"false\">\
         <title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>",
        escape(c.title),
        escape(c.desc)
    );
    // Axis: the baseline, and the top value at the top left.
    let _ = write!(
        s,
        "<line x1=\"{LEFT}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\" stroke=\"#333\"/>\
         <line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{base}\" stroke=\"#333\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"11\">{}{}</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"11\">0</text>",
        width - 10,
        LEFT - 4,
        TOP + 4,
        max,
        escape(c.unit),
        LEFT - 4,
        base + 4
    );
    if c.series.len() > 1 {
        let mut x = LEFT;
        for (i, name) in c.series.iter().enumerate() {
            let _ = write!(
                s,
                "<rect x=\"{x}\" y=\"6\" width=\"10\" height=\"10\" fill=\"{}\"/>\
                 <text x=\"{}\" y=\"15\" font-size=\"11\">{}</text>",
                FILLS[i % FILLS.len()],
                x + 14,
                escape(name)
            );
            x += 22 + 7 * u32::try_from(name.chars().count()).unwrap_or(10);
        }
    }
    if c.bars.is_empty() {
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"13\">No data yet</text>",
            LEFT + 10,
            TOP + plot / 2
        );
    }
    for (i, (label, values)) in c.bars.iter().take(400).enumerate() {
        let i = u32::try_from(i).unwrap_or(0);
        let x = LEFT + 8 + step * i;
        let mut top = base;
        let total: u64 = values.iter().sum();
        let _ = write!(
            s,
            "<g><title>{}: {}{}</title>",
            escape(label),
            total,
            escape(c.unit)
        );
        for (k, v) in values.iter().enumerate() {
            let h = scaled(*v, max, plot);
            if h == 0 {
                continue;
            }
            top -= h.min(top - TOP);
            let _ = write!(
                s,
                "<rect x=\"{x}\" y=\"{top}\" width=\"{BAR}\" height=\"{h}\" fill=\"{}\"/>",
                FILLS[k % FILLS.len()]
            );
        }
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"10\">{}</text></g>",
            x + BAR / 2,
            base + 14,
            escape(label)
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(bars: Vec<(String, Vec<u64>)>) -> String {
        bar_chart(&BarChart {
            id: "c",
            title: "Calls & texts <per day>",
            desc: "\"Quoted\" desc",
            series: &["Calls", "Texts"],
            bars,
            unit: "",
        })
    }

    fn heights(svg: &str) -> Vec<u32> {
        svg.split("<rect ")
            .skip(1)
            .filter(|r| !r.contains("width=\"10\""))
            .map(|r| {
                let at = r.find("height=\"").unwrap() + 8;
                r[at..r[at..].find('"').unwrap() + at].parse().unwrap()
            })
            .collect()
    }

    #[test]
    fn bars_scale_to_the_tallest_stack() {
        let svg = chart(vec![
            ("12-01".into(), vec![10, 0]),
            ("12-02".into(), vec![3, 2]),
            ("12-03".into(), vec![0, 0]),
        ]);
        let plot = HEIGHT - TOP - BOTTOM;
        assert_eq!(heights(&svg), [plot, plot * 3 / 10, plot * 2 / 10]);
        assert_eq!(scaled(5, 10, 100), 50);
        assert_eq!(scaled(0, 0, 100), 0);
        assert_eq!(scaled(7, 0, 100), 100, "never taller than the plot");
        assert!(svg.contains(">10</text>"), "the axis's top value");
    }

    /// The x of each bar label (`text-anchor="middle"` texts).
    fn label_centres(svg: &str) -> Vec<u32> {
        svg.split("<text x=\"")
            .skip(1)
            .filter(|t| t.contains("text-anchor=\"middle\""))
            .map(|t| t[..t.find('"').unwrap()].parse().unwrap())
            .collect()
    }

    #[test]
    fn long_labels_get_room_of_their_own() {
        let labels = [
            "Under 1 hour",
            "1 to 4 hours",
            "4 to 24 hours",
            "Over 3 days",
        ];
        let svg = chart(labels.iter().map(|l| (l.to_string(), vec![1, 0])).collect());
        let xs = label_centres(&svg);
        assert_eq!(xs.len(), 4);
        // About 6 units a character at font size 10: neighbours' half-widths must fit.
        for pair in xs.windows(2) {
            assert!(pair[1] - pair[0] >= 6 * 13, "{xs:?}");
        }
        // Short labels keep the narrow spacing.
        let short = chart(vec![
            ("12-01".into(), vec![1, 0]),
            ("12-02".into(), vec![1, 0]),
        ]);
        let xs = label_centres(&short);
        assert_eq!(xs[1] - xs[0], STEP);
    }

    #[test]
    fn every_text_is_escaped() {
        let svg = chart(vec![("<b>&\"x\"".into(), vec![1, 1])]);
        assert!(svg.contains("<title id=\"c-title\">Calls &amp; texts &lt;per day&gt;</title>"));
        assert!(svg.contains("&quot;Quoted&quot; desc"));
        assert!(svg.contains("&lt;b&gt;&amp;&quot;x&quot;"));
        assert!(!svg.contains("<b>"));
        assert_eq!(escape("it's\u{0}"), "it&#39;s ");
    }

    #[test]
    fn an_empty_chart_says_so_and_holds_no_nan() {
        let svg = chart(Vec::new());
        assert!(svg.contains("No data yet"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"));
        assert!(svg.contains("role=\"img\"") && svg.contains("aria-labelledby=\"c-title c-desc\""));
        assert!(heights(&svg).is_empty());
    }
}
