//! CSV of what a chart shows, built from the same figures the page draws (so the file always
//! matches the chart), on the server for the API and in the page for its download links.

use crate::analytics::types::{AccountAnalytics, Point, TeamAnalytics, VideoRow};

/// The charts of an account's page that can be exported.
pub const CHARTS: &[&str] = &["followers", "views", "videos"];

/// The CSV of what a chart of an account's page shows: `chart` is `followers`, `views` or `videos`.
pub fn csv(analytics: &AccountAnalytics, chart: &str) -> Result<String, String> {
    match chart {
        "followers" => Ok(series(&analytics.time_zone, chart, &analytics.followers)),
        "views" => Ok(series(&analytics.time_zone, chart, &analytics.views)),
        "videos" => Ok(videos(&analytics.time_zone, &analytics.videos, false)),
        _ => Err("Choose followers, views or videos.".to_owned()),
    }
}

/// The CSV of what a chart of the team's page shows: `chart` is `followers` or `top`.
pub fn team_csv(analytics: &TeamAnalytics, chart: &str) -> Result<String, String> {
    match chart {
        "followers" => Ok(series(&analytics.time_zone, chart, &analytics.followers)),
        "top" => Ok(videos(&analytics.time_zone, &analytics.top, true)),
        _ => Err("Choose followers or top.".to_owned()),
    }
}

/// One counter over time.
fn series(time_zone: &str, name: &str, points: &[Point]) -> String {
    let mut out = format!("time ({time_zone}),unix_seconds,{name}\n");
    for p in points {
        out.push_str(&format!("{},{},{}\n", csv_field(&p.label), p.at, p.value));
    }
    out
}

/// Videos with their counters, with the account's name first on the team's list.
fn videos(time_zone: &str, rows: &[VideoRow], with_account: bool) -> String {
    let mut out = String::new();
    if with_account {
        out.push_str("account,");
    }
    out.push_str(&format!("published ({time_zone}),title,views,likes,comments,shares,engagement_pct,video_id,posted_with_cadence\n"));
    for v in rows {
        if with_account {
            out.push_str(&csv_field(&v.account_name));
            out.push(',');
        }
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
    out
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
    fn the_team_csvs_follow_the_team_charts() {
        let row = VideoRow {
            account_id: uuid::Uuid::nil(),
            account_name: "Maya, Public".into(),
            video_id: "7".into(),
            title: "=launch".into(),
            share_url: None,
            post_id: None,
            published_label: "Tue 1 Dec 2026, 09:00 CET".into(),
            views: 1000,
            likes: 50,
            comments: 5,
            shares: 5,
        };
        let team = TeamAnalytics {
            time_zone: "Europe/Berlin".into(),
            range_days: 30,
            accounts: Vec::new(),
            followers: vec![Point { at: 1_796_100_000, label: "Tue 1 Dec 2026, 09:00 CET".into(), value: 175 }],
            top: vec![row],
        };
        assert_eq!(
            team_csv(&team, "followers").unwrap(),
            "time (Europe/Berlin),unix_seconds,followers\n\"Tue 1 Dec 2026, 09:00 CET\",1796100000,175\n"
        );
        assert_eq!(
            team_csv(&team, "top").unwrap(),
            "account,published (Europe/Berlin),title,views,likes,comments,shares,engagement_pct,video_id,posted_with_cadence\n\
             \"Maya, Public\",\"Tue 1 Dec 2026, 09:00 CET\",'=launch,1000,50,5,5,6,7,false\n"
        );
        assert!(team_csv(&team, "views").is_err());
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}
