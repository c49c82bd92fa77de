//! CSV of what a chart shows, built from the same figures the page draws (so the file always
//! matches the chart), on the server for the API and in the page for its download links.

use crate::analytics::types::AccountAnalytics;

/// The charts that can be exported.
pub const CHARTS: &[&str] = &["followers", "views", "videos"];

/// The CSV of what a chart shows: `chart` is `followers`, `views` or `videos`.
pub fn csv(analytics: &AccountAnalytics, chart: &str) -> Result<String, String> {
    let mut out = String::new();
    match chart {
        "followers" | "views" => {
            let points = if chart == "followers" { &analytics.followers } else { &analytics.views };
            out.push_str(&format!("time ({}),unix_seconds,{chart}\n", analytics.time_zone));
            for p in points {
                out.push_str(&format!("{},{},{}\n", csv_field(&p.label), p.at, p.value));
            }
        }
        "videos" => {
            out.push_str(&format!("published ({}),title,views,likes,comments,shares,engagement_pct,video_id,posted_with_cadence\n", analytics.time_zone));
            for v in &analytics.videos {
                out.push_str(&format!(
                    "{},{},{},{},{},{},{},{},{}\n",
                    csv_field(&v.published_label),
                    csv_field(&v.title),
                    v.views,
                    v.likes,
                    v.comments,
                    v.shares,
                    v.engagement_pct().map(|pct| pct.to_string()).unwrap_or_default(),
                    v.video_id,
                    v.post_id.is_some()
                ));
            }
        }
        _ => return Err("Choose followers, views or videos.".to_owned()),
    }
    Ok(out)
}

/// A CSV field, quoted when needed; a leading `=`, `+`, `-` or `@` is defused so a spreadsheet
/// never runs a caption as a formula.
fn csv_field(text: &str) -> String {
    let defused = if text.starts_with(['=', '+', '-', '@']) { format!("'{text}") } else { text.to_owned() };
    if defused.contains([',', '"', '\n', '\r']) { format!("\"{}\"", defused.replace('"', "\"\"")) } else { defused }
}

/// A `data:` link to the CSV, for a download link that needs no second request.
pub fn data_url(csv: &str) -> String {
    let mut out = String::from("data:text/csv;charset=utf-8,");
    for byte in csv.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls_percent_encode_everything_but_plain_characters() {
        assert_eq!(data_url("a,b\n"), "data:text/csv;charset=utf-8,a%2Cb%0A");
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}
