//! Posts in PostgreSQL: creating them, moving them through their states (only ever forward),
//! their timeline, and the team-scoped reads the pages use.

use crate::{
    db::schema::{post_events, posts, tiktok_accounts},
    error::{AppError, AppResult},
    notifications::{ssr::notify_post, types::NotificationKind},
    posts::{
        photo_rules::{PhotoChoices, check_photos},
        rules::ComposerChoices,
        types::{Destination, ListCursor, PostDetail, PostEventView, PostListPage, PostState, PostSummary, PostView},
    },
    tiktok::client::{PhotoPostInfo, PostInfo},
};
use crate::{approvals::types::Approval, calendar::zone};
use diesel::prelude::*;
use jiff::tz::TimeZone;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;
use uuid::Uuid;

// What TikTok says about a publish lives in `posts::outcome`; these paths stay for its callers.
pub use super::outcome::{Applied, TikTokOutcome, apply_outcome, apply_publish_event};

/// A row of `posts`.
#[derive(Queryable, Selectable, Identifiable, Debug, Clone)]
#[diesel(table_name = posts, check_for_backend(diesel::pg::Pg))]
pub struct Post {
    pub id: Uuid,
    pub team_id: Uuid,
    pub account_id: Uuid,
    pub created_by: Option<Uuid>,
    pub destination: String,
    pub state: String,
    pub caption: String,
    pub privacy_level: Option<String>,
    pub allow_comment: bool,
    pub allow_duet: bool,
    pub allow_stitch: bool,
    pub your_brand: bool,
    pub branded_content: bool,
    pub is_aigc: bool,
    pub cover_timestamp_ms: Option<i32>,
    pub video_bytes: i64,
    pub content_type: String,
    pub duration_ms: Option<i32>,
    pub media_id: Option<Uuid>,
    pub scheduled_at: Option<OffsetDateTime>,
    pub publish_id: Option<String>,
    pub tiktok_post_id: Option<String>,
    pub fail_code: Option<String>,
    pub fail_message: Option<String>,
    pub attempts: i32,
    pub lease_owner: Option<Uuid>,
    pub lease_expires_at: Option<OffsetDateTime>,
    pub next_check_at: Option<OffsetDateTime>,
    pub status_checks: i32,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// A published or in-inbox post is still asked about until then (see `posts::outcome`).
    pub follow_until: Option<OffsetDateTime>,
    /// When TikTok accepted the init, by the database's clock (see recovery).
    pub upload_started_at: Option<OffsetDateTime>,
    /// `none`, `pending`, `approved` or `changes_requested` (see `approvals`).
    pub approval: String,
    /// The fingerprint of what an approver approved (see `approvals::fingerprint`).
    pub approved_fingerprint: Option<String>,
    /// How much of a pulled video TikTok said it had downloaded, at the last status check.
    pub downloaded_bytes: Option<i64>,
    /// Whether a thumbnail is stored (the bytes are read only when it is served).
    #[diesel(select_expression = posts::thumbnail_jpeg.is_not_null())]
    #[diesel(select_expression_type = diesel::dsl::IsNotNull<posts::thumbnail_jpeg>)]
    pub has_thumbnail: bool,
    /// A photo post's images, in order (see `posts::photo_rules`); `None` for a video post.
    pub photo_media_ids: Option<Vec<Uuid>>,
    pub photo_cover_index: Option<i32>,
    pub photo_title: Option<String>,
    pub auto_add_music: bool,
}

/// What a new post is made of.
#[derive(Debug, Clone)]
pub struct NewPost {
    pub team_id: Uuid,
    pub account_id: Uuid,
    pub created_by: Uuid,
    pub destination: Destination,
    pub state: PostState,
    pub choices: ComposerChoices,
    pub video_bytes: u64,
    pub content_type: String,
    pub duration_ms: Option<i32>,
    pub media_id: Option<Uuid>,
    pub scheduled_at: Option<OffsetDateTime>,
    /// See `media::thumbnail`.
    pub thumbnail_jpeg: Option<Vec<u8>>,
    /// A photo post's stored images, in order, and its own choices; `None` for a video.
    pub photos: Option<(Vec<Uuid>, PhotoChoices)>,
}

impl Post {
    pub fn state(&self) -> PostState {
        PostState::parse(&self.state).unwrap_or(PostState::Failed)
    }

    pub fn destination(&self) -> Destination {
        Destination::parse(&self.destination).unwrap_or(Destination::Profile)
    }

    /// The choices as the composer made them (for the rules check at publish time).
    pub fn choices(&self) -> ComposerChoices {
        ComposerChoices {
            caption: self.caption.clone(),
            privacy_level: self.privacy_level.clone(),
            allow_comment: self.allow_comment,
            allow_duet: self.allow_duet,
            allow_stitch: self.allow_stitch,
            commercial: self.your_brand || self.branded_content,
            your_brand: self.your_brand,
            branded_content: self.branded_content,
            is_aigc: self.is_aigc,
            cover_timestamp_ms: self.cover_timestamp_ms.map(|ms| ms.max(0) as u32),
        }
    }

    /// Whether this is a photo post (a carousel TikTok pulls image by image).
    pub fn is_photo(&self) -> bool {
        self.photo_media_ids.is_some()
    }

    /// A photo post's own choices (title, cover, music).
    pub fn photo_choices(&self) -> Option<PhotoChoices> {
        self.photo_media_ids.as_ref()?;
        Some(PhotoChoices {
            title: self.photo_title.clone().unwrap_or_default(),
            cover_index: self.photo_cover_index.unwrap_or(0).max(0) as u32,
            auto_add_music: self.auto_add_music,
        })
    }

    /// The stored files this post is sent from: its video, or its images in order. Empty for a
    /// video that went straight from the browser to TikTok.
    pub fn stored_media(&self) -> Vec<Uuid> {
        match &self.photo_media_ids {
            Some(images) => images.clone(),
            None => self.media_id.into_iter().collect(),
        }
    }

    /// Every rule the post breaks for this creator now (photo posts have rules of their own).
    pub fn check_rules(&self, creator: &crate::tiktok::types::CreatorInfo) -> Vec<crate::posts::rules::Violation> {
        match (&self.photo_media_ids, self.photo_choices()) {
            (Some(images), Some(photo)) => check_photos(&self.choices(), &photo, images.len(), Some(creator)),
            _ => crate::posts::rules::check(&self.choices(), creator),
        }
    }

    /// What a photo post's init carries besides the images (tiktok-api.md §4.5).
    pub fn photo_info(&self) -> PhotoPostInfo {
        PhotoPostInfo {
            title: self.photo_title.clone().unwrap_or_default(),
            description: self.caption.clone(),
            privacy_level: self.privacy_level.clone().unwrap_or_default(),
            disable_comment: !self.allow_comment,
            auto_add_music: self.auto_add_music,
            brand_content_toggle: self.branded_content,
            brand_organic_toggle: self.your_brand,
            is_aigc: self.is_aigc,
        }
    }

    /// `post_info` for TikTok's Direct Post init: exactly what the person chose.
    pub fn post_info(&self) -> PostInfo {
        PostInfo {
            title: self.caption.clone(),
            privacy_level: self.privacy_level.clone().unwrap_or_default(),
            disable_duet: !self.allow_duet,
            disable_stitch: !self.allow_stitch,
            disable_comment: !self.allow_comment,
            video_cover_timestamp_ms: self.cover_timestamp_ms.map(|ms| ms.max(0) as u32),
            brand_content_toggle: self.branded_content,
            brand_organic_toggle: self.your_brand,
            is_aigc: self.is_aigc,
        }
    }

    pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Post> {
        posts::table.find(id).select(Post::as_select()).first(conn).await
    }

    /// The post if it belongs to the team; another team's post is "not found".
    pub async fn find_for_team(conn: &mut AsyncPgConnection, team_id: Uuid, id: Uuid) -> AppResult<Post> {
        posts::table
            .filter(posts::id.eq(id))
            .filter(posts::team_id.eq(team_id))
            .select(Post::as_select())
            .first(conn)
            .await
            .optional()?
            .ok_or_else(|| AppError::NotFound("Post".into()))
    }
}

/// How long a "Post now" upload may run before recovery treats it as cut off.
pub const LIVE_UPLOAD_LEASE: time::Duration = time::Duration::hours(2);

/// Stores a new post and the first line of its timeline.
pub async fn create(conn: &mut AsyncPgConnection, new: NewPost) -> AppResult<Post> {
    let choices = &new.choices;
    // The master switch off means no commercial labels, whatever boxes were left ticked.
    let (your_brand, branded_content) =
        if choices.commercial { (choices.your_brand, choices.branded_content) } else { (false, false) };
    let inbox = new.destination == Destination::Inbox;
    let post: Post = diesel::insert_into(posts::table)
        .values((
            posts::team_id.eq(new.team_id),
            posts::account_id.eq(new.account_id),
            posts::created_by.eq(Some(new.created_by)),
            posts::destination.eq(new.destination.as_str()),
            posts::state.eq(new.state.as_str()),
            posts::caption.eq(&choices.caption),
            posts::privacy_level.eq(if inbox { None } else { choices.privacy_level.clone() }),
            posts::allow_comment.eq(choices.allow_comment),
            posts::allow_duet.eq(choices.allow_duet),
            posts::allow_stitch.eq(choices.allow_stitch),
            posts::your_brand.eq(your_brand),
            posts::branded_content.eq(branded_content),
            posts::is_aigc.eq(choices.is_aigc),
            posts::cover_timestamp_ms.eq(choices.cover_timestamp_ms.map(|ms| ms.min(i32::MAX as u32) as i32)),
            posts::video_bytes.eq(new.video_bytes as i64),
            posts::content_type.eq(&new.content_type),
            posts::duration_ms.eq(new.duration_ms),
            posts::media_id.eq(new.media_id),
            posts::scheduled_at.eq(new.scheduled_at),
            posts::thumbnail_jpeg.eq(new.thumbnail_jpeg.as_deref()),
            posts::photo_media_ids.eq(new.photos.as_ref().map(|(images, _)| images.clone())),
            posts::photo_cover_index.eq(new.photos.as_ref().map(|(_, photo)| photo.cover_index.min(i32::MAX as u32) as i32)),
            posts::photo_title.eq(new.photos.as_ref().map(|(_, photo)| photo.title.clone())),
            // TikTok adds music only to Direct Posts; in the inbox the creator picks it.
            posts::auto_add_music.eq(new.photos.as_ref().is_some_and(|(_, photo)| photo.auto_add_music && !inbox)),
            // A live upload from the browser cannot outlast TikTok's one-hour upload URL; a
            // post still "uploading" after this was cut off by a server stop (see recovery).
            posts::lease_expires_at.eq((new.state == PostState::Uploading).then(|| OffsetDateTime::now_utc() + LIVE_UPLOAD_LEASE)),
        ))
        .returning(Post::as_returning())
        .get_result(conn)
        .await?;
    let media = match post.photo_media_ids.as_ref().map(Vec::len) {
        None => "the video",
        Some(1) => "the photo",
        Some(_) => "the photos",
    };
    let message = match (new.state, new.scheduled_at) {
        (PostState::Scheduled, Some(at)) => format!("Scheduled for {} (UTC).", crate::ui::format_utc(at)),
        _ if inbox => format!("Created; sending {media} to the creator's TikTok inbox."),
        _ => format!("Created; sending {media} to TikTok."),
    };
    record_event(conn, post.id, "created", &message).await?;
    Ok(post)
}

/// Adds a line to a post's timeline.
pub async fn record_event(conn: &mut AsyncPgConnection, post_id: Uuid, kind: &str, message: &str) -> QueryResult<()> {
    diesel::insert_into(post_events::table)
        .values((post_events::post_id.eq(post_id), post_events::kind.eq(kind), post_events::message.eq(message)))
        .execute(conn)
        .await
        .map(|_| ())
}

/// TikTok accepted the init: the publish id is stored before a single byte is sent, so a
/// crash after this point is reconciled through TikTok's status, never by posting again. The
/// init time is written with the database's clock: the upload URL lives an hour from then.
///
/// Returns false when the post is no longer this sender's (`lease_owner`) or its lease ran out
/// by the database's clock: another server may take it over, and this one must not send a byte.
/// `accepted` is the timeline's line for it (an upload starts, or TikTok downloads).
pub async fn record_publish_id(
    conn: &mut AsyncPgConnection,
    post_id: Uuid,
    publish_id: &str,
    lease_owner: Option<Uuid>,
    accepted: &str,
) -> AppResult<bool> {
    use diesel::{PgExpressionMethods as _, dsl::now};
    let updated = diesel::update(
        posts::table
            .find(post_id)
            .filter(posts::publish_id.is_null())
            .filter(posts::state.eq(PostState::Uploading.as_str()))
            .filter(posts::lease_owner.is_not_distinct_from(lease_owner))
            .filter(posts::lease_expires_at.gt(now)),
    )
        .set((
            posts::publish_id.eq(Some(publish_id)),
            posts::upload_started_at.eq(diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>>("now()")),
            posts::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    if updated == 0 {
        return Ok(false);
    }
    record_event(conn, post_id, "upload_started", accepted).await?;
    Ok(true)
}

/// Every byte of publish `publish_id` reached TikTok; from here TikTok processes and the
/// status is polled. Fenced by the lease owner and the publish id: a sender (or recovery) that
/// lost the post to another server changes nothing. Returns whether the post moved.
pub async fn mark_uploaded(
    conn: &mut AsyncPgConnection,
    post_id: Uuid,
    lease_owner: Option<Uuid>,
    publish_id: &str,
    message: &str,
) -> QueryResult<bool> {
    use diesel::PgExpressionMethods as _;
    let now = OffsetDateTime::now_utc();
    let updated = diesel::update(
        posts::table
            .find(post_id)
            .filter(posts::state.eq(PostState::Uploading.as_str()))
            .filter(posts::lease_owner.is_not_distinct_from(lease_owner))
            .filter(posts::publish_id.eq(publish_id)),
    )
        .set((
            posts::state.eq(PostState::Processing.as_str()),
            posts::next_check_at.eq(Some(now + FIRST_STATUS_CHECK)),
            posts::status_checks.eq(0),
            posts::lease_owner.eq(None::<Uuid>),
            posts::lease_expires_at.eq(None::<OffsetDateTime>),
            posts::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    if updated == 0 {
        return Ok(false);
    }
    record_event(conn, post_id, "uploaded", message).await?;
    Ok(true)
}

/// The post failed for good, with what to tell the person. Settled posts stay as they are.
pub async fn mark_failed(conn: &mut AsyncPgConnection, post_id: Uuid, code: &str, message: &str) -> QueryResult<bool> {
    let moved = settle(conn, post_id, PostState::Failed, Some(code), Some(message), None, None).await?;
    if moved {
        record_event(conn, post_id, "failed", message).await?;
        notify_post(conn, post_id, NotificationKind::PostFailed, message).await?;
    }
    Ok(moved)
}

/// Cadence cannot tell whether TikTok published the post; a person has to look.
pub async fn mark_unconfirmed(conn: &mut AsyncPgConnection, post_id: Uuid, message: &str) -> QueryResult<bool> {
    let moved = settle(conn, post_id, PostState::Unconfirmed, Some("unconfirmed"), Some(message), None, None).await?;
    if moved {
        record_event(conn, post_id, "unconfirmed", message).await?;
        notify_post(conn, post_id, NotificationKind::PostUnconfirmed, message).await?;
    }
    Ok(moved)
}

/// Time between the end of an upload and the first status check.
pub const FIRST_STATUS_CHECK: time::Duration = time::Duration::seconds(2);
/// Status checks slow down to at most this far apart.
pub const MAX_STATUS_INTERVAL: time::Duration = time::Duration::minutes(5);

/// The wait before status check number `checks + 1`: doubling from 2 s, capped at 5 minutes,
/// so one post never comes near the 30 calls a minute TikTok allows a token.
pub fn status_backoff(checks: i32) -> time::Duration {
    let seconds = 2i64.saturating_mul(1i64 << checks.clamp(0, 16));
    time::Duration::seconds(seconds).min(MAX_STATUS_INTERVAL)
}

/// Moves an unsettled post (or one in the inbox, which may still be posted) to a final state.
/// Returns whether this call moved it, so each change is told once in the timeline.
/// `follow_until`: keep asking TikTok about it until then (moderation, drafts), starting afresh.
pub(super) async fn settle(
    conn: &mut AsyncPgConnection,
    post_id: Uuid,
    to: PostState,
    fail_code: Option<&str>,
    fail_message: Option<&str>,
    tiktok_post_id: Option<&str>,
    follow_until: Option<OffsetDateTime>,
) -> QueryResult<bool> {
    let mut movable: Vec<&str> = vec![
        PostState::Scheduled.as_str(),
        PostState::Uploading.as_str(),
        PostState::Processing.as_str(),
        PostState::Unconfirmed.as_str(),
    ];
    if to == PostState::Published || to == PostState::Failed {
        movable.push(PostState::InInbox.as_str());
    }
    let now = OffsetDateTime::now_utc();
    let updated = diesel::update(posts::table.find(post_id).filter(posts::state.eq_any(movable)))
        .set((
            posts::state.eq(to.as_str()),
            posts::fail_code.eq(fail_code),
            posts::fail_message.eq(fail_message),
            posts::tiktok_post_id.eq(tiktok_post_id),
            posts::next_check_at.eq(follow_until.map(|_| now + super::outcome::follow_backoff(0))),
            posts::follow_until.eq(follow_until),
            posts::status_checks.eq(0),
            posts::lease_owner.eq(None::<Uuid>),
            posts::lease_expires_at.eq(None::<OffsetDateTime>),
            posts::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    if updated > 0 { crate::metrics::post_outcome(to.as_str()); }
    // A failed post keeps its video so it can be sent again; the others no longer need it.
    if updated > 0 && to != PostState::Failed {
        crate::media::catalog::release_if_unneeded(conn, post_id).await?;
    }
    Ok(updated > 0)
}

/// Cancels a scheduled post of the caller's team. Posts already on their way to TikTok cannot
/// be called back.
pub async fn cancel(conn: &mut AsyncPgConnection, caller: crate::teams::ssr::Caller, post_id: Uuid) -> AppResult<()> {
    let post = Post::find_for_team(conn, caller.team_id, post_id).await?;
    if post.state() != PostState::Scheduled {
        return Err(AppError::Conflict(format!(
            "This post is {} and can no longer be cancelled.",
            post.state().label().to_lowercase()
        )));
    }
    conn.transaction(async |conn| {
        // Only from "scheduled": a server that claimed it a moment ago keeps it.
        let moved = diesel::update(posts::table.find(post_id).filter(posts::state.eq(PostState::Scheduled.as_str())))
            .set((posts::state.eq(PostState::Cancelled.as_str()), posts::updated_at.eq(OffsetDateTime::now_utc())))
            .execute(conn)
            .await?;
        if moved == 0 {
            return Err(AppError::Conflict("The post is already on its way to TikTok and can no longer be cancelled.".into()));
        }
        crate::media::catalog::release_if_unneeded(conn, post_id).await?;
        record_event(conn, post_id, "cancelled", "Cancelled; the video will be removed from Cadence after a day.").await?;
        let change = crate::audit::ssr::Change::new(crate::audit::types::Subject::Post, post_id, "post.cancelled", "Cancelled a scheduled post.")
            .values(Some(serde_json::json!({ "state": "scheduled" })), Some(serde_json::json!({ "state": "cancelled" })));
        crate::audit::ssr::record(conn, caller, change).await?;
        Ok(())
    })
    .await
}

/// Sends a failed post again: back to "scheduled", due now (or at its time if that is still
/// ahead), with a fresh count of attempts. Only posts whose video is stored can go again.
pub async fn retry(conn: &mut AsyncPgConnection, caller: crate::teams::ssr::Caller, post_id: Uuid) -> AppResult<()> {
    let post = Post::find_for_team(conn, caller.team_id, post_id).await?;
    if !matches!(post.state(), PostState::Failed | PostState::Unconfirmed) {
        return Err(AppError::Conflict("Only a failed or unconfirmed post can be sent again.".into()));
    }
    let media = post.stored_media();
    if media.is_empty() {
        return Err(AppError::Conflict(
            "This video went straight from the browser to TikTok and is not stored. Upload it again in the composer.".into(),
        ));
    }
    let now = OffsetDateTime::now_utc();
    let when = post.scheduled_at.map_or(now, |at| at.max(now));
    conn.transaction(async |conn| {
        let moved = diesel::update(posts::table.find(post_id).filter(posts::state.eq(post.state().as_str())))
            .set((
                posts::state.eq(PostState::Scheduled.as_str()),
                posts::scheduled_at.eq(Some(when)),
                posts::publish_id.eq(None::<String>),
                posts::tiktok_post_id.eq(None::<String>),
                posts::fail_code.eq(None::<String>),
                posts::fail_message.eq(None::<String>),
                posts::attempts.eq(0),
                posts::next_check_at.eq(None::<OffsetDateTime>),
                posts::updated_at.eq(now),
            ))
            .execute(conn)
            .await?;
        if moved == 0 {
            return Err(AppError::Conflict("Someone else just changed this post. Reload to see where it is.".into()));
        }
        crate::media::catalog::keep(conn, &media).await?;
        record_event(conn, post_id, "retry_requested", "Sent again by a team member.").await?;
        let change = crate::audit::ssr::Change::new(crate::audit::types::Subject::Post, post_id, "post.resent", "Sent a failed post again.")
            .values(Some(serde_json::json!({ "state": post.state().as_str() })), Some(serde_json::json!({ "state": "scheduled", "scheduled_at": when })));
        crate::audit::ssr::record(conn, caller, change).await?;
        crate::notifications::ssr::resolve(conn, Some(post_id), None, Some(caller.user_id)).await?;
        Ok::<_, AppError>(())
    })
    .await
}

/// The days of settled posts (published, failed…) the dashboard counts.
pub const SUMMARY_DAYS: i64 = 30;

/// How many of the team's posts are in each state, and the next ones due.
pub async fn summary_for_team(conn: &AsyncPgConnection, team_id: Uuid, tz: &TimeZone) -> AppResult<PostSummary> {
    // Posts still moving, all of them; settled ones of the last SUMMARY_DAYS only, so the count
    // reads two index ranges however long the team's history (counting 50,000 settled posts on
    // every view held the dashboard to 225 views a second).
    let since = OffsetDateTime::now_utc() - time::Duration::days(SUMMARY_DAYS);
    let moving: Vec<&str> = PostState::ALL.into_iter().filter(|state| !state.is_settled()).map(PostState::as_str).collect();
    // Both queries go out together (pipelined), so they cost one round trip.
    let counts = posts::table
        .filter(posts::team_id.eq(team_id))
        .filter(posts::listed_at.ge(since).or(posts::state.eq_any(moving)))
        .group_by(posts::state)
        .select((posts::state, diesel::dsl::count_star()))
        .load::<(String, i64)>(&mut &*conn);
    let upcoming = posts::table
        .inner_join(tiktok_accounts::table)
        .filter(posts::team_id.eq(team_id))
        .filter(posts::state.eq(PostState::Scheduled.as_str()))
        .order(posts::scheduled_at.asc())
        .limit(5)
        .select((Post::as_select(), tiktok_accounts::display_name, tiktok_accounts::username))
        .load::<PostRow>(&mut &*conn);
    let waiting = posts::table
        .filter(posts::team_id.eq(team_id))
        .filter(posts::state.eq(PostState::Scheduled.as_str()))
        .filter(posts::approval.eq_any([Approval::Pending.as_str(), Approval::ChangesRequested.as_str()]))
        .count()
        .get_result::<i64>(&mut &*conn);
    let (counts, rows, awaiting_approval) = futures_util::try_join!(counts, upcoming, waiting)?;
    Ok(PostSummary {
        counts: counts.into_iter().filter_map(|(state, n)| Some((PostState::parse(&state)?, n))).collect(),
        upcoming: rows.into_iter().map(|row| view_of(row, tz)).collect(),
        awaiting_approval,
    })
}

/// Removes a post whose video never fully reached TikTok or the media store (the upload was
/// interrupted): nothing was published, so nothing is kept.
pub async fn discard_unsent(conn: &mut AsyncPgConnection, post_id: Uuid) -> QueryResult<()> {
    diesel::delete(
        posts::table
            .find(post_id)
            .filter(posts::state.eq_any([PostState::Uploading.as_str(), PostState::Scheduled.as_str()])),
    )
    .execute(conn)
    .await
    .map(|_| ())
}

/// Which of the team's posts a list shows.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    pub account_id: Option<Uuid>,
    pub state: Option<PostState>,
}

type PostRow = (Post, String, Option<String>);

fn view_of((post, account_name, account_username): PostRow, tz: &TimeZone) -> PostView {
    let when = post.scheduled_at.unwrap_or(post.created_at);
    let state = post.state();
    // Only a public direct post is followed for its id once published (`outcome::follow_deadline`).
    let awaiting_moderation = state == PostState::Published
        && post.destination() == Destination::Profile
        && post.tiktok_post_id.is_none()
        && post.follow_until.is_some();
    let photo = post.photo_choices();
    PostView {
        awaiting_moderation,
        no_longer_public: state == PostState::Published
            && post.fail_code.as_deref() == Some(super::outcome::NO_LONGER_PUBLIC_CODE),
        when_label: zone::label(when, tz),
        wall_clock: post.scheduled_at.map(|at| zone::wall_clock(at, tz)),
        id: post.id,
        account_id: post.account_id,
        account_name,
        account_username,
        destination: post.destination(),
        state: post.state(),
        approval: Approval::parse(&post.approval).unwrap_or(Approval::None),
        caption: post.caption,
        privacy_level: post.privacy_level,
        video_bytes: post.video_bytes,
        duration_ms: post.duration_ms,
        downloaded_bytes: (state == PostState::Processing).then_some(post.downloaded_bytes).flatten(),
        scheduled_at: post.scheduled_at,
        tiktok_post_id: post.tiktok_post_id,
        fail_message: post.fail_message,
        thumbnail_url: post.has_thumbnail.then(|| crate::media::thumbnail::address("posts", post.id, post.updated_at)),
        // Named by the stored file, so a replaced video is a new address the page loads afresh.
        video_url: post.media_id.map(|media| format!("/posts/{}/video?m={media}", post.id)),
        photo_urls: post
            .photo_media_ids
            .iter()
            .flatten()
            .enumerate()
            .map(|(index, media)| format!("/posts/{}/photos/{index}?m={media}", post.id))
            .collect(),
        photo,
        created_at: post.created_at,
        updated_at: post.updated_at,
    }
}

/// The team's posts, newest first.
pub async fn list_for_team(
    conn: &mut AsyncPgConnection,
    team_id: Uuid,
    filter: &ListFilter,
    before: Option<ListCursor>,
    tz: &TimeZone,
) -> AppResult<PostListPage> {
    let mut query = posts::table
        .inner_join(tiktok_accounts::table)
        .filter(posts::team_id.eq(team_id))
        // `posts_listed_idx`: a page is an index range however long the history.
        .order((posts::listed_at.desc(), posts::id.desc()))
        .limit(LIST_PAGE_SIZE + 1)
        .select((Post::as_select(), tiktok_accounts::display_name, tiktok_accounts::username))
        .into_boxed();
    if let Some(before) = before {
        // (listed_at, id) < (at, id), spelled so the index range starts at `at`.
        query = query
            .filter(posts::listed_at.le(before.at))
            .filter(posts::listed_at.lt(before.at).or(posts::id.lt(before.id)));
    }
    if let Some(account) = filter.account_id {
        query = query.filter(posts::account_id.eq(account));
    }
    if let Some(state) = filter.state {
        query = query.filter(posts::state.eq(state.as_str()));
    }
    let mut rows: Vec<PostRow> = query.load(conn).await?;
    let more = rows.len() as i64 > LIST_PAGE_SIZE;
    rows.truncate(LIST_PAGE_SIZE as usize);
    let older = more
        .then(|| rows.last().map(|(post, ..)| ListCursor { at: post.scheduled_at.unwrap_or(post.created_at), id: post.id }.encode()))
        .flatten();
    Ok(PostListPage { posts: rows.into_iter().map(|row| view_of(row, tz)).collect(), older })
}

/// Posts on one page of the list.
pub const LIST_PAGE_SIZE: i64 = 50;

/// One post of the team with its timeline, its comments and what the caller may decide on it:
/// four queries sent together (pipelined), one round trip.
pub async fn detail_for_team(
    conn: &mut AsyncPgConnection,
    caller: crate::teams::ssr::Caller,
    post_id: Uuid,
    tz: &TimeZone,
) -> AppResult<PostDetail> {
    let row = posts::table
        .inner_join(tiktok_accounts::table)
        .filter(posts::id.eq(post_id))
        .filter(posts::team_id.eq(caller.team_id))
        .select((Post::as_select(), tiktok_accounts::display_name, tiktok_accounts::username))
        .first::<PostRow>(&mut &*conn);
    // Read alongside the post; used only once the post proved to be the caller's team's.
    let events = post_events::table
        .filter(post_events::post_id.eq(post_id))
        .order(post_events::id.asc())
        .select((post_events::at, post_events::kind, post_events::message))
        .load::<(OffsetDateTime, String, String)>(&mut &*conn);
    let rights = crate::approvals::ssr::rights_of(conn, caller);
    let comments = crate::comments::ssr::thread_of(conn, caller, post_id, tz);
    let (row, events, rights, comments) =
        futures_util::try_join!(async { row.await.optional().map_err(AppError::from) }, async { Ok(events.await?) }, rights, comments)?;
    let row = row.ok_or_else(|| AppError::NotFound("Post".into()))?;
    let approval = crate::approvals::types::ApprovalPanel {
        required: rights.required,
        may_approve: rights.may_approve,
        fingerprint: crate::approvals::fingerprint::fingerprint(&row.0),
    };
    let events = events.into_iter().map(|(at, kind, message)| PostEventView { at, kind, message }).collect();
    let choices = row.0.choices();
    Ok(PostDetail { post: view_of(row, tz), choices, approval, comments, events })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_checks_back_off_to_five_minutes() {
        assert_eq!(status_backoff(0), time::Duration::seconds(2));
        assert_eq!(status_backoff(3), time::Duration::seconds(16));
        assert_eq!(status_backoff(40), MAX_STATUS_INTERVAL);
    }
}
