//! What TikTok says about a publish (a status reply or a webhook) applied to its post, and how
//! long Cadence keeps asking after TikTok published it: a public post only gets its id after
//! moderation, and a draft in the inbox is only published when the creator finishes it.

use super::{
    ssr::{Post, mark_failed, record_event, settle, status_backoff},
    types::{Destination, PostState},
};
use crate::{db::schema::posts, tiktok::fail_reason};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::{Duration, OffsetDateTime};

/// How long a published post is followed for its public id, and a draft for being posted. TikTok
/// says moderation usually takes under a minute and occasionally hours.
pub const FOLLOW_FOR: Duration = Duration::days(1);
/// While following, questions slow down to at most this far apart: with TikTok's cap of about
/// 15 posts a creator a day that stays far below the 30 status calls a minute a token may make.
pub const MAX_FOLLOW_INTERVAL: Duration = Duration::minutes(10);
/// What a post TikTok stopped showing says, on its page and in its timeline.
pub const NO_LONGER_PUBLIC: &str = "TikTok says this post is no longer public: the creator may have made it private or \
     deleted it, or TikTok took it down. Check the creator's TikTok profile.";
/// `fail_code` of a published post TikTok stopped showing.
pub const NO_LONGER_PUBLIC_CODE: &str = "no_longer_public";

/// The wait before follow-up question number `checks + 1`: doubling from 5 s (moderation is
/// usually done within a minute), capped at [`MAX_FOLLOW_INTERVAL`].
pub fn follow_backoff(checks: i32) -> Duration {
    let seconds = 5i64.saturating_mul(1i64 << checks.clamp(0, 16));
    Duration::seconds(seconds).min(MAX_FOLLOW_INTERVAL)
}

/// What TikTok said about a publish, from the status endpoint or a webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TikTokOutcome {
    StillProcessing,
    DeliveredToInbox,
    Published { post_id: Option<String> },
    PubliclyAvailable { post_id: String },
    NoLongerPublic,
    Failed { reason: String },
}

impl TikTokOutcome {
    /// What a status reply says.
    pub fn of(status: &crate::tiktok::client::PublishStatus) -> Self {
        Self::from_status(&status.status, status.fail_reason.as_deref(), &status.post_ids())
    }

    /// Reads the status endpoint's reply (§4.8), including the undocumented names some
    /// clients have seen.
    pub fn from_status(status: &str, fail_reason: Option<&str>, post_ids: &[String]) -> Self {
        match status {
            "PUBLISH_COMPLETE" | "PUBLISH_SUCCESS" => Self::Published { post_id: post_ids.first().cloned() },
            "SEND_TO_USER_INBOX" => Self::DeliveredToInbox,
            "FAILED" => Self::Failed { reason: fail_reason.unwrap_or("internal").to_owned() },
            _ => Self::StillProcessing,
        }
    }

    /// What a `post.publish.*` webhook says (§8.2); `None` for events that say nothing about a
    /// post's state, or that lack what they need.
    pub fn of_event(event: &str, content: &serde_json::Value) -> Option<Self> {
        // post_id's JSON type is undocumented: a number or a string, every digit kept.
        let post_id = content.get("post_id").and_then(crate::tiktok::publish_status::post_id_text);
        Some(match event {
            "post.publish.complete" => Self::Published { post_id: None },
            "post.publish.inbox_delivered" => Self::DeliveredToInbox,
            "post.publish.publicly_available" => Self::PubliclyAvailable { post_id: post_id? },
            // The docs spell it "publicaly"; several integrations match "publicly".
            "post.publish.no_longer_publicaly_available" | "post.publish.no_longer_publicly_available" => Self::NoLongerPublic,
            "post.publish.failed" => Self::Failed {
                reason: content.get("reason").and_then(serde_json::Value::as_str).unwrap_or("internal").to_owned(),
            },
            _ => return None,
        })
    }
}

/// Whether applying an outcome changed the post.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    Moved,
    /// Nothing new: the poller asks again later (see [`check_again`]).
    Unchanged,
}

impl Applied {
    fn from(moved: bool) -> Self {
        if moved { Self::Moved } else { Self::Unchanged }
    }
}

/// Until when a post TikTok just published (or put in the inbox) is still asked about, if at
/// all. Only public direct posts get a public id; a draft's audience is chosen in the app, so a
/// published draft keeps the deadline its inbox delivery set.
fn follow_deadline(post: &Post, to: PostState, now: OffsetDateTime) -> Option<OffsetDateTime> {
    match (to, post.destination()) {
        (PostState::InInbox, _) => Some(now + FOLLOW_FOR),
        (PostState::Published, Destination::Profile) => {
            (post.privacy_level.as_deref() == Some("PUBLIC_TO_EVERYONE")).then_some(now + FOLLOW_FOR)
        }
        (PostState::Published, Destination::Inbox) => post.follow_until.filter(|until| *until > now),
        _ => None,
    }
}

/// Applies what TikTok said to the post. Only moves forward: a late "processing" never undoes
/// "published", and a published post only gains its public id or loses its public status.
pub async fn apply_outcome(conn: &mut AsyncPgConnection, post: &Post, outcome: TikTokOutcome) -> QueryResult<Applied> {
    let now = OffsetDateTime::now_utc();
    match outcome {
        TikTokOutcome::StillProcessing => Ok(Applied::Unchanged),
        TikTokOutcome::DeliveredToInbox => {
            let follow = follow_deadline(post, PostState::InInbox, now);
            let moved = settle(conn, post.id, PostState::InInbox, None, None, None, follow).await?;
            if moved {
                record_event(
                    conn,
                    post.id,
                    "in_inbox",
                    "TikTok sent the video to the creator's inbox. Open the TikTok app's inbox notification to finish the post.",
                )
                .await?;
            }
            Ok(Applied::from(moved))
        }
        TikTokOutcome::Published { post_id } => {
            let follow = post_id.is_none().then(|| follow_deadline(post, PostState::Published, now)).flatten();
            let moved = settle(conn, post.id, PostState::Published, None, None, post_id.as_deref(), follow).await?;
            if moved {
                let message = match (&post_id, follow.is_some(), post.destination()) {
                    (Some(id), ..) => format!("Published on TikTok (post id {id})."),
                    (None, true, Destination::Profile) => {
                        "Published on TikTok. TikTok is checking the post (moderation); its link appears here once it is public.".to_owned()
                    }
                    (None, _, Destination::Inbox) => "The creator posted the draft from the TikTok app.".to_owned(),
                    (None, ..) => "Published on TikTok. Posts that are not public get no public link.".to_owned(),
                };
                record_event(conn, post.id, "published", &message).await?;
                return Ok(Applied::Moved);
            }
            match post_id {
                Some(id) => add_post_id(conn, post, &id).await,
                None => Ok(Applied::Unchanged),
            }
        }
        TikTokOutcome::PubliclyAvailable { post_id } => {
            if settle(conn, post.id, PostState::Published, None, None, Some(&post_id), None).await? {
                record_event(conn, post.id, "published", &format!("Published on TikTok (post id {post_id}).")).await?;
                return Ok(Applied::Moved);
            }
            add_post_id(conn, post, &post_id).await
        }
        TikTokOutcome::NoLongerPublic => {
            // Deliveries may come in any order: this one says the post was published.
            if settle(conn, post.id, PostState::Published, None, None, None, None).await? {
                record_event(conn, post.id, "published", "Published on TikTok.").await?;
            }
            let updated = diesel::update(
                posts::table
                    .find(post.id)
                    .filter(posts::state.eq(PostState::Published.as_str()))
                    .filter(posts::fail_code.is_null()),
            )
            .set((
                posts::fail_code.eq(Some(NO_LONGER_PUBLIC_CODE)),
                posts::fail_message.eq(Some(NO_LONGER_PUBLIC)),
                posts::next_check_at.eq(None::<OffsetDateTime>),
                posts::follow_until.eq(None::<OffsetDateTime>),
                posts::updated_at.eq(now),
            ))
            .execute(conn)
            .await?;
            if updated > 0 {
                record_event(conn, post.id, NO_LONGER_PUBLIC_CODE, NO_LONGER_PUBLIC).await?;
            }
            Ok(Applied::from(updated > 0))
        }
        TikTokOutcome::Failed { reason } => {
            Ok(Applied::from(mark_failed(conn, post.id, &reason, &fail_reason::explain_for(&reason, post.is_photo())).await?))
        }
    }
}

/// The public id of a published post arrived (or it is public again): stored, and following ends.
async fn add_post_id(conn: &mut AsyncPgConnection, post: &Post, post_id: &str) -> QueryResult<Applied> {
    use diesel::PgExpressionMethods as _;
    let again = post.fail_code.as_deref() == Some(NO_LONGER_PUBLIC_CODE);
    let updated = diesel::update(
        posts::table
            .find(post.id)
            .filter(posts::state.eq(PostState::Published.as_str()))
            .filter(posts::tiktok_post_id.is_null().or(posts::fail_code.is_not_distinct_from(Some(NO_LONGER_PUBLIC_CODE)))),
    )
    .set((
        posts::tiktok_post_id.eq(Some(post_id)),
        posts::fail_code.eq(None::<String>),
        posts::fail_message.eq(None::<String>),
        posts::next_check_at.eq(None::<OffsetDateTime>),
        posts::follow_until.eq(None::<OffsetDateTime>),
        posts::updated_at.eq(OffsetDateTime::now_utc()),
    ))
    .execute(conn)
    .await?;
    if updated > 0 {
        let message = if again {
            format!("The post is public on TikTok again (post id {post_id}).")
        } else {
            format!("The post is public on TikTok (post id {post_id}).")
        };
        record_event(conn, post.id, "public", &message).await?;
    }
    Ok(Applied::from(updated > 0))
}

/// TikTok had nothing new about a post the poller asked about: the next question, with backoff,
/// or, past a followed post's deadline, the end of following with a sentence saying so.
pub async fn check_again(conn: &mut AsyncPgConnection, post: &Post, now: OffsetDateTime) -> QueryResult<()> {
    let checks = post.status_checks + 1;
    let next = match post.state() {
        PostState::Processing => Some(now + status_backoff(checks)),
        PostState::Published | PostState::InInbox => {
            post.follow_until.map(|until| (now + follow_backoff(checks), until)).filter(|(next, until)| next < until).map(|(next, _)| next)
        }
        _ => None,
    };
    if next.is_none() && post.follow_until.is_some() {
        return stop_following(conn, post).await;
    }
    diesel::update(posts::table.find(post.id))
        .set((posts::next_check_at.eq(next), posts::status_checks.eq(checks)))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Ends the questions after publishing, saying why in the timeline. A webhook that comes later
/// still moves the post.
pub async fn stop_following(conn: &mut AsyncPgConnection, post: &Post) -> QueryResult<()> {
    let message = match (post.state(), post.destination()) {
        (PostState::InInbox, _) => {
            "The draft was not posted from the TikTok inbox within a day, so Cadence stopped checking. If the creator posts it later, TikTok's notice still marks it published here."
        }
        (_, Destination::Inbox) => "Cadence stopped checking for a public link a day after the draft reached the inbox; a post that is not public has none.",
        _ => "TikTok had not made the post public a day after publishing, so Cadence stopped checking. Check the creator's TikTok profile; if TikTok makes it public later, its notice still adds the link here.",
    };
    stop_following_because(conn, post, message).await
}

/// Ends the questions after publishing with `message` in the timeline (once).
pub async fn stop_following_because(conn: &mut AsyncPgConnection, post: &Post, message: &str) -> QueryResult<()> {
    let updated = diesel::update(posts::table.find(post.id).filter(posts::follow_until.is_not_null()))
        .set((posts::next_check_at.eq(None::<OffsetDateTime>), posts::follow_until.eq(None::<OffsetDateTime>)))
        .execute(conn)
        .await?;
    if updated > 0 {
        record_event(conn, post.id, "following_ended", message).await?;
    }
    Ok(())
}

/// Applies a `post.publish.*` webhook (§8.2) to the post with that publish id, if any.
pub async fn apply_publish_event(conn: &mut AsyncPgConnection, event: &str, content: &serde_json::Value) -> QueryResult<bool> {
    let Some(publish_id) = content.get("publish_id").and_then(serde_json::Value::as_str) else {
        return Ok(false);
    };
    let Some(outcome) = TikTokOutcome::of_event(event, content) else {
        return Ok(false);
    };
    let Some(post) = posts::table
        .filter(posts::publish_id.eq(publish_id))
        .select(Post::as_select())
        .first(conn)
        .await
        .optional()?
    else {
        return Ok(false);
    };
    apply_outcome(conn, &post, outcome).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn following_backs_off_to_ten_minutes_and_stays_inside_the_status_limit() {
        assert_eq!(follow_backoff(0), Duration::seconds(5));
        assert_eq!(follow_backoff(3), Duration::seconds(40));
        assert_eq!(follow_backoff(40), MAX_FOLLOW_INTERVAL);
        // A day of following one post: the steady pace is what 15 posts a day share with
        // everything else inside 30 calls a minute (the limiter in `ask_tiktok` holds the rest).
        let mut at = Duration::ZERO;
        let mut calls = 0;
        while at < FOLLOW_FOR {
            at += follow_backoff(calls);
            calls += 1;
        }
        assert!((140..=160).contains(&calls), "{calls} questions in a day");
        let per_minute_for_fifteen = f64::from(calls * 15) / (24.0 * 60.0);
        assert!(per_minute_for_fifteen < 2.0, "{per_minute_for_fifteen} a minute");
    }

    #[test]
    fn status_replies_map_to_outcomes() {
        assert_eq!(TikTokOutcome::from_status("PROCESSING_UPLOAD", None, &[]), TikTokOutcome::StillProcessing);
        assert_eq!(
            TikTokOutcome::from_status("PUBLISH_COMPLETE", None, &["7261463769757501445".into()]),
            TikTokOutcome::Published { post_id: Some("7261463769757501445".into()) }
        );
        assert_eq!(TikTokOutcome::from_status("PUBLISH_COMPLETE", None, &[]), TikTokOutcome::Published { post_id: None });
        assert_eq!(TikTokOutcome::from_status("SEND_TO_USER_INBOX", None, &[]), TikTokOutcome::DeliveredToInbox);
        assert_eq!(
            TikTokOutcome::from_status("FAILED", Some("duration_check_failed"), &[]),
            TikTokOutcome::Failed { reason: "duration_check_failed".into() }
        );
    }

    #[test]
    fn webhook_events_map_to_outcomes_whatever_the_spelling_or_id_type() {
        let content = json!({"publish_id": "p", "post_id": 7261463769757501445u64});
        assert_eq!(
            TikTokOutcome::of_event("post.publish.publicly_available", &content),
            Some(TikTokOutcome::PubliclyAvailable { post_id: "7261463769757501445".into() })
        );
        assert_eq!(
            TikTokOutcome::of_event("post.publish.publicly_available", &json!({"post_id": "7261463769757501445"})),
            Some(TikTokOutcome::PubliclyAvailable { post_id: "7261463769757501445".into() })
        );
        assert_eq!(TikTokOutcome::of_event("post.publish.publicly_available", &json!({"publish_id": "p"})), None, "no id");
        for spelling in ["post.publish.no_longer_publicaly_available", "post.publish.no_longer_publicly_available"] {
            assert_eq!(TikTokOutcome::of_event(spelling, &content), Some(TikTokOutcome::NoLongerPublic), "{spelling}");
        }
        assert_eq!(
            TikTokOutcome::of_event("post.publish.failed", &json!({"reason": "spam_risk_text"})),
            Some(TikTokOutcome::Failed { reason: "spam_risk_text".into() })
        );
        assert_eq!(TikTokOutcome::of_event("video.publish.completed", &content), None);
    }
}
