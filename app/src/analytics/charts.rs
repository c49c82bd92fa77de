//! Charts as plain SVG markup, drawn on the server so they show before (and without) the wasm:
//! each has a `<title>` and `<desc>` for screen readers, and the page puts a table of the same
//! numbers behind it. Hand-written because three chart shapes do not justify a dependency.

use crate::analytics::types::{Heatmap, Point};

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;
const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Text for SVG/HTML: `&`, `<`, `>` and quotes escaped.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// 12,400 → "12.4k"; for axis ticks where space is short.
pub fn compact(value: i64) -> String {
    let abs = value.unsigned_abs() as f64;
    let sign = if value < 0 { "-" } else { "" };
    if abs >= 1_000_000.0 {
        format!("{sign}{:.1}M", abs / 1_000_000.0)
    } else if abs >= 10_000.0 {
        format!("{sign}{:.0}k", abs / 1_000.0)
    } else if abs >= 1_000.0 {
        format!("{sign}{:.1}k", abs / 1_000.0)
    } else {
        value.to_string()
    }
}

fn open(id: &str, title: &str, desc: &str, height: f64) -> String {
    let (id, title, desc) = (escape(id), escape(title), escape(desc));
    format!(
        "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 {WIDTH} {height}\" aria-labelledby=\"{id}-t {id}-d\" \
         xmlns=\"http://www.w3.org/2000/svg\"><title id=\"{id}-t\">{title}</title><desc id=\"{id}-d\">{desc}</desc>"
    )
}

/// A line chart of one counter over time, with its lowest and highest values and first and
/// last times on the axes.
pub fn line_chart(id: &str, title: &str, points: &[Point]) -> String {
    let Some((first, last)) = points.first().zip(points.last()) else {
        let mut svg = open(id, title, "No readings yet.", HEIGHT);
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"chart-empty\">No readings yet</text></svg>",
            WIDTH / 2.0,
            HEIGHT / 2.0
        ));
        return svg;
    };
    let low = points.iter().map(|p| p.value).min().unwrap_or(0);
    let high = points.iter().map(|p| p.value).max().unwrap_or(0);
    let desc = format!(
        "{} readings from {} ({}) to {} ({}); lowest {}, highest {}.",
        points.len(),
        first.label,
        first.value,
        last.label,
        last.value,
        low,
        high
    );
    let mut svg = open(id, title, &desc, HEIGHT);
    // A flat line sits in the middle rather than on an axis.
    let (low_axis, high_axis) = if low == high { (low - 1, high + 1) } else { (low, high) };
    let span_x = (last.at - first.at).max(1) as f64;
    let x = |at: i64| LEFT + (at - first.at) as f64 / span_x * (WIDTH - LEFT - RIGHT);
    let y = |value: i64| TOP + (high_axis - value) as f64 / (high_axis - low_axis) as f64 * (HEIGHT - TOP - BOTTOM);
    let base = HEIGHT - BOTTOM;
    svg.push_str(&format!(
        "<g class=\"axis\" aria-hidden=\"true\"><line x1=\"{LEFT}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\"/>\
         <line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{base}\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
         <text x=\"{LEFT}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text></g>",
        WIDTH - RIGHT,
        LEFT - 6.0,
        y(high_axis) + 4.0,
        compact(high_axis),
        LEFT - 6.0,
        y(low_axis) + 4.0,
        compact(low_axis),
        HEIGHT - 8.0,
        escape(short_label(&first.label)),
        WIDTH - RIGHT,
        HEIGHT - 8.0,
        escape(short_label(&last.label)),
    ));
    let path: Vec<String> = points.iter().map(|p| format!("{:.1},{:.1}", x(p.at), y(p.value))).collect();
    svg.push_str(&format!("<polyline class=\"line\" fill=\"none\" points=\"{}\"/>", path.join(" ")));
    // Dots only where there are few enough to tell apart.
    if points.len() <= 60 {
        for p in points {
            svg.push_str(&format!(
                "<circle class=\"dot\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\"><title>{}: {}</title></circle>",
                x(p.at),
                y(p.value),
                escape(&p.label),
                p.value
            ));
        }
    }
    svg.push_str("</svg>");
    svg
}

/// "Tue 1 Dec 2026, 18:00 CET" → "Tue 1 Dec 2026" for axis ends.
fn short_label(label: &str) -> &str {
    label.split(',').next().unwrap_or(label)
}

/// Horizontal bars, one per labelled value, longest first as given.
pub fn bar_chart(id: &str, title: &str, bars: &[(String, i64)]) -> String {
    let row = 22.0;
    let height = TOP + BOTTOM + row * bars.len().max(1) as f64;
    let high = bars.iter().map(|(_, value)| *value).max().unwrap_or(0).max(1);
    let desc = match bars.first() {
        Some((label, value)) => format!("{} bars; the highest is {label} with {value}.", bars.len()),
        None => "No videos in this range.".to_owned(),
    };
    let mut svg = open(id, title, &desc, height);
    let label_width = 200.0;
    for (index, (label, value)) in bars.iter().enumerate() {
        let top = TOP + index as f64 * row;
        let width = (*value).max(0) as f64 / high as f64 * (WIDTH - label_width - 70.0);
        let shown: String = label.chars().take(30).collect();
        svg.push_str(&format!(
            "<g><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <rect class=\"bar\" x=\"{label_width}\" y=\"{:.1}\" width=\"{width:.1}\" height=\"{:.1}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text></g>",
            label_width - 6.0,
            top + 15.0,
            escape(&shown),
            top + 3.0,
            row - 6.0,
            label_width + width + 6.0,
            top + 15.0,
            compact(*value)
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// The best-times grid: a row per weekday, a column per hour, darker for more views.
pub fn heatmap(id: &str, title: &str, map: &Heatmap) -> String {
    let cell = 23.0;
    let left = 40.0;
    let height = TOP + 18.0 + cell * 7.0 + 8.0;
    let high = map.averages.iter().flatten().flatten().copied().max().unwrap_or(0).max(1);
    let best = map
        .averages
        .iter()
        .enumerate()
        .flat_map(|(day, hours)| hours.iter().enumerate().filter_map(move |(hour, value)| Some((value.as_ref()?, day, hour))))
        .max_by_key(|(value, _, _)| **value);
    let desc = match best {
        Some((value, day, hour)) => format!(
            "Average views in the first 48 hours of {} videos by weekday and hour; best is {} at {:02}:00 with {}.",
            map.videos, DAYS[day], hour, value
        ),
        None => "No videos yet to judge the best times by.".to_owned(),
    };
    let mut svg = open(id, title, &desc, height);
    for hour in (0..24).step_by(3) {
        svg.push_str(&format!(
            "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\">{hour:02}</text>",
            left + hour as f64 * cell + 2.0,
            TOP + 10.0
        ));
    }
    for (day, name) in DAYS.iter().enumerate() {
        let top = TOP + 18.0 + day as f64 * cell;
        svg.push_str(&format!("<text x=\"0\" y=\"{:.1}\">{name}</text>", top + 16.0));
        for hour in 0..24 {
            let value = map.averages.get(day).and_then(|hours| hours.get(hour)).copied().flatten();
            let (class, opacity) = match value {
                Some(value) => ("heat", 0.15 + 0.85 * value as f64 / high as f64),
                None => ("heat-empty", 1.0),
            };
            let tip = match value {
                Some(value) => format!("{name} {hour:02}:00: {value} views on average"),
                None => format!("{name} {hour:02}:00: no videos"),
            };
            svg.push_str(&format!(
                "<rect class=\"{class}\" x=\"{:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill-opacity=\"{opacity:.2}\"><title>{}</title></rect>",
                left + hour as f64 * cell,
                cell - 2.0,
                cell - 2.0,
                escape(&tip)
            ));
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(at: i64, value: i64) -> Point {
        Point { at, label: format!("Day {at}, 10:00 UTC"), value }
    }

    #[test]
    fn a_line_chart_is_accessible_svg_with_escaped_text() {
        let svg = line_chart("f", "Followers of <Maya> & co", &[point(0, 10), point(3600, 30), point(7200, 20)]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("role=\"img\"") && svg.contains("aria-labelledby=\"f-t f-d\""));
        assert!(svg.contains("<title id=\"f-t\">Followers of &lt;Maya&gt; &amp; co</title>"));
        assert!(svg.contains("3 readings") && svg.contains("lowest 10, highest 30"), "{svg}");
        // The highest point touches the top of the plot, the lowest its base.
        assert!(svg.contains(&format!("{LEFT:.1},{:.1}", HEIGHT - BOTTOM)), "{svg}");
        assert!(svg.contains(&format!("{:.1},{TOP:.1}", LEFT + (WIDTH - LEFT - RIGHT) / 2.0)), "{svg}");
        assert!(line_chart("e", "Empty", &[]).contains("No readings yet"));
    }

    #[test]
    fn bars_and_heat_scale_to_the_largest_value() {
        let svg = bar_chart("b", "Views", &[("<b>".into(), 100), ("two".into(), 50)]);
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
        assert!(svg.contains("width=\"370.0\"") && svg.contains("width=\"185.0\""), "{svg}");
        let mut map = Heatmap { averages: vec![vec![None; 24]; 7], counts: vec![vec![0; 24]; 7], videos: 2 };
        map.averages[1][18] = Some(900);
        map.averages[0][9] = Some(90);
        let svg = heatmap("h", "Best times", &map);
        assert!(svg.contains("best is Tue at 18:00 with 900"), "{svg}");
        assert!(svg.contains("fill-opacity=\"1.00\"><title>Tue 18:00: 900 views on average</title>"));
        assert_eq!(compact(12_400), "12k");
        assert_eq!(compact(1_260), "1.3k");
        assert_eq!(compact(2_500_000), "2.5M");
    }
}
