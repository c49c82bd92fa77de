//! Client preview links in PostgreSQL: approvers make and revoke them; a guest holding one sees its posts, and only its posts, and may approve them or ask for changes.

use crate::{
    approvals::{fingerprint::fingerprint, ssr::rights, types::Approval},
    audit::{ssr::Change, types::Subject},
    calendar::{ssr::member_zone, zone},
    comments::types::comment_problem,
    crypto::{random_token, sha256_hex},
    db::schema::{media, post_comments, posts, preview_link_posts, preview_links, teams, tiktok_accounts, users},
    error::{AppError, AppResult},
    posts::{ssr::{Post, record_event}, types::PostState},
    previews::types::{
        CreatedPreviewLink, GuestComment, GuestDecision, MAX_POSTS, PreviewLinkView, GuestPreview, PreviewPost, days_problem,
        guest_name_problem, label_problem,
    },
    teams::{ssr::Caller, types::Role},
};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use jiff::tz::TimeZone;
use time::OffsetDateTime;
use uuid::Uuid;

/// Where a link's page lives; the token follows.
pub const ROUTE_PREFIX: &str = "/preview/";

/// A link that opens: not revoked, not expired.
#[derive(Clone, Debug)]
pub struct LiveLink {
    pub id: Uuid,
    pub team_id: Uuid,
    pub label: String,
    pub created_by: Option<Uuid>,
    pub expires_at: OffsetDateTime,
}

fn only_approvers() -> AppError {
    AppError::Forbidden("Only approvers can share posts with a client or revoke a link.".into())
}

/// Makes a link to `post_ids` (the caller's team's) that lives `days` days; approvers only.
pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: Caller,
    post_ids: &[Uuid],
    label: &str,
    days: u32,
    now: OffsetDateTime,
) -> AppResult<CreatedPreviewLink> {
    if !rights(conn, caller).await?.may_approve {
        return Err(only_approvers());
    }
    if let Some(problem) = label_problem(label) {
        return Err(AppError::invalid("label", problem));
    }
    if let Some(problem) = days_problem(days) {
        return Err(AppError::invalid("days", problem));
    }
    let mut post_ids = post_ids.to_vec();
    post_ids.sort_unstable();
    post_ids.dedup();
    if post_ids.is_empty() || post_ids.len() > MAX_POSTS {
        return Err(AppError::invalid("post_ids", format!("Choose from 1 to {MAX_POSTS} posts to share.")));
    }
    let owned: i64 = posts::table
        .filter(posts::team_id.eq(caller.team_id))
        .filter(posts::id.eq_any(&post_ids))
        .count()
        .get_result(conn)
        .await?;
    if usize::try_from(owned).ok() != Some(post_ids.len()) {
        return Err(AppError::NotFound("Post".into()));
    }
    let token = random_token(32);
    let expires_at = now + time::Duration::days(i64::from(days));
    let label = label.trim().to_owned();
    let id = conn
        .transaction(async |conn| {
            let id: Uuid = diesel::insert_into(preview_links::table)
                .values((
                    preview_links::team_id.eq(caller.team_id),
                    preview_links::token_hash.eq(sha256_hex(token.as_bytes())),
                    preview_links::label.eq(&label),
                    preview_links::created_by.eq(Some(caller.user_id)),
                    preview_links::expires_at.eq(expires_at),
                ))
                .returning(preview_links::id)
                .get_result(conn)
                .await?;
            let rows: Vec<_> =
                post_ids.iter().map(|post| (preview_link_posts::link_id.eq(id), preview_link_posts::post_id.eq(*post))).collect();
            diesel::insert_into(preview_link_posts::table).values(rows).execute(conn).await?;
            let count = if post_ids.len() == 1 { "1 post".to_owned() } else { format!("{} posts", post_ids.len()) };
            let change = Change::new(Subject::PreviewLink, id, "preview_link.created", format!("Shared {count} with a client: \"{label}\"."))
                .values(None, Some(serde_json::json!({ "posts": post_ids, "expires_at": expires_at.unix_timestamp() })));
            crate::audit::ssr::record(conn, caller, change).await?;
            Ok::<_, AppError>(id)
        })
        .await?;
    let (_, tz) = member_zone(conn, caller.user_id).await?;
    let link = list_where(conn, caller.team_id, Some(id), &tz, now).await?.pop().ok_or(AppError::Internal)?;
    Ok(CreatedPreviewLink { link, path: format!("{ROUTE_PREFIX}{token}") })
}

/// The team's links, newest first (editors and up see them; the addresses are never shown again).
pub async fn list(conn: &mut AsyncPgConnection, caller: Caller, now: OffsetDateTime) -> AppResult<Vec<PreviewLinkView>> {
    caller.require(Role::Editor)?;
    let (_, tz) = member_zone(conn, caller.user_id).await?;
    list_where(conn, caller.team_id, None, &tz, now).await
}

async fn list_where(
    conn: &mut AsyncPgConnection,
    team_id: Uuid,
    only: Option<Uuid>,
    tz: &TimeZone,
    now: OffsetDateTime,
) -> AppResult<Vec<PreviewLinkView>> {
    let mut query = preview_links::table
        .left_join(users::table.on(users::id.nullable().eq(preview_links::created_by)))
        .filter(preview_links::team_id.eq(team_id))
        .order((preview_links::created_at.desc(), preview_links::id))
        .limit(200)
        .select((
            preview_links::id,
            preview_links::label,
            users::display_name.nullable(),
            preview_links::expires_at,
            preview_links::revoked_at,
        ))
        .into_boxed();
    if let Some(id) = only {
        query = query.filter(preview_links::id.eq(id));
    }
    let rows: Vec<(Uuid, String, Option<String>, OffsetDateTime, Option<OffsetDateTime>)> = query.load(conn).await?;
    let ids: Vec<Uuid> = rows.iter().map(|row| row.0).collect();
    let shown: Vec<(Uuid, Uuid)> = preview_link_posts::table
        .filter(preview_link_posts::link_id.eq_any(&ids))
        .select((preview_link_posts::link_id, preview_link_posts::post_id))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, label, created_by, expires_at, revoked_at)| PreviewLinkView {
            id,
            label,
            post_ids: shown.iter().filter(|(link, _)| *link == id).map(|(_, post)| *post).collect(),
            created_by: created_by.unwrap_or_else(|| "A former member".into()),
            expires_at,
            expires_label: zone::label(expires_at, tz),
            revoked: revoked_at.is_some(),
            live: revoked_at.is_none() && expires_at > now,
        })
        .collect())
}

/// Revokes one of the team's links: it stops opening at once, also for a guest looking at it.
pub async fn revoke(conn: &mut AsyncPgConnection, caller: Caller, link_id: Uuid) -> AppResult<()> {
    if !rights(conn, caller).await?.may_approve {
        return Err(only_approvers());
    }
    conn.transaction(async |conn| {
        let label: String = diesel::update(
            preview_links::table
                .filter(preview_links::id.eq(link_id))
                .filter(preview_links::team_id.eq(caller.team_id))
                .filter(preview_links::revoked_at.is_null()),
        )
        .set((preview_links::revoked_at.eq(Some(OffsetDateTime::now_utc())), preview_links::revoked_by.eq(Some(caller.user_id))))
        .returning(preview_links::label)
        .get_result(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::NotFound("Preview link".into()))?;
        let change = Change::new(Subject::PreviewLink, link_id, "preview_link.revoked", format!("Revoked the client link \"{label}\"."));
        crate::audit::ssr::record(conn, caller, change).await?;
        Ok::<_, AppError>(())
    })
    .await
}

/// The live link `token` opens, locked against a revocation until the caller's transaction
/// ends; a sentence for the guest when it no longer opens.
pub async fn open(conn: &mut AsyncPgConnection, token: &str, now: OffsetDateTime) -> AppResult<LiveLink> {
    let row: Option<(Uuid, Uuid, String, Option<Uuid>, OffsetDateTime, Option<OffsetDateTime>)> = preview_links::table
        .filter(preview_links::token_hash.eq(sha256_hex(token.as_bytes())))
        .select((
            preview_links::id,
            preview_links::team_id,
            preview_links::label,
            preview_links::created_by,
            preview_links::expires_at,
            preview_links::revoked_at,
        ))
        .for_share()
        .first(conn)
        .await
        .optional()?;
    let Some((id, team_id, label, created_by, expires_at, revoked_at)) = row else {
        return Err(AppError::NotFound("Preview link".into()));
    };
    if revoked_at.is_some() {
        return Err(AppError::Forbidden("The team has withdrawn this preview link. Ask them for a new one.".into()));
    }
    if expires_at <= now {
        return Err(AppError::Forbidden("This preview link has expired. Ask the team for a new one.".into()));
    }
    Ok(LiveLink { id, team_id, label, created_by, expires_at })
}

/// The path of a post's video under its link.
pub fn video_path(token: &str, post_id: Uuid) -> String {
    format!("{ROUTE_PREFIX}{token}/video/{post_id}")
}

/// The posts of the link `token` opens, in order of their time.
pub async fn page(conn: &mut AsyncPgConnection, token: &str, now: OffsetDateTime) -> AppResult<GuestPreview> {
    let link = open(conn, token, now).await?;
    let team: String = teams::table.find(link.team_id).select(teams::name).first(conn).await?;
    let tz = match link.created_by {
        Some(creator) => member_zone(conn, creator).await?.1,
        None => TimeZone::UTC,
    };
    let shown: Vec<(Post, String)> = preview_link_posts::table
        .inner_join(posts::table.inner_join(tiktok_accounts::table))
        .filter(preview_link_posts::link_id.eq(link.id))
        .filter(posts::team_id.eq(link.team_id))
        .order((posts::scheduled_at.asc().nulls_last(), posts::id))
        .select((Post::as_select(), tiktok_accounts::display_name))
        .load(conn)
        .await?;
    let notes: Vec<(Uuid, Option<String>, String, OffsetDateTime)> = post_comments::table
        .filter(post_comments::preview_link_id.eq(link.id))
        .order((post_comments::created_at.asc(), post_comments::id))
        .select((post_comments::post_id, post_comments::guest_name, post_comments::body, post_comments::created_at))
        .load(conn)
        .await?;
    let posts = shown
        .into_iter()
        .map(|(post, account)| PreviewPost {
            id: post.id,
            account,
            due_label: post.scheduled_at.map(|at| zone::label(at, &tz)),
            approval: Approval::parse(&post.approval).unwrap_or(Approval::None),
            fingerprint: fingerprint(&post),
            decidable: post.state() == PostState::Scheduled,
            video_path: video_path(token, post.id),
            comments: notes
                .iter()
                .filter(|(on, ..)| *on == post.id)
                .map(|(_, name, body, at)| GuestComment {
                    name: name.clone().unwrap_or_else(|| "Guest".into()),
                    body: body.clone(),
                    when_label: zone::label(*at, &tz),
                })
                .collect(),
            caption: post.caption,
        })
        .collect();
    Ok(GuestPreview { team, label: link.label, expires_label: zone::label(link.expires_at, &tz), posts })
}

/// The stored video of `post_id`, if the link `token` opens and shows that post:
/// (storage key, size, content type).
pub async fn video_of(conn: &mut AsyncPgConnection, token: &str, post_id: Uuid, now: OffsetDateTime) -> AppResult<crate::media::catalog::StoredVideo> {
    let link = open(conn, token, now).await?;
    // A published post's video is kept only for a grace period; after it, there is none.
    let found: (String, i64, String) = preview_link_posts::table
        .inner_join(posts::table.inner_join(media::table))
        .filter(preview_link_posts::link_id.eq(link.id))
        .filter(preview_link_posts::post_id.eq(post_id))
        .filter(posts::team_id.eq(link.team_id))
        .filter(media::team_id.eq(link.team_id))
        .select((media::storage_key, media::byte_size, media::content_type))
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::NotFound("Video".into()))?;
    Ok(found.into())
}

/// A guest's decision on one post of the link `token`, as they saw it (`seen`: its fingerprint
/// then), signed with `name`; `comment` goes into the team's thread (needed to ask for changes).
pub async fn decide(
    conn: &mut AsyncPgConnection,
    token: &str,
    post_id: Uuid,
    seen: &str,
    decision: GuestDecision,
    name: &str,
    comment: &str,
) -> AppResult<()> {
    if let Some(problem) = guest_name_problem(name) {
        return Err(AppError::invalid("name", problem));
    }
    let comment = comment.trim();
    let problem = match decision {
        GuestDecision::RequestChanges => comment_problem(comment).map(|p| format!("Say what should change. {p}")),
        GuestDecision::Approve if comment.is_empty() => None,
        GuestDecision::Approve => comment_problem(comment),
    };
    if let Some(problem) = problem {
        return Err(AppError::invalid("comment", problem));
    }
    let name = name.trim();
    let guest = format!("{name} (client)");
    conn.transaction(async |conn| {
        let link = open(conn, token, OffsetDateTime::now_utc()).await?;
        let shown = preview_link_posts::table
            .filter(preview_link_posts::link_id.eq(link.id))
            .filter(preview_link_posts::post_id.eq(post_id));
        let post: Post = posts::table
            .filter(posts::id.eq(post_id))
            .filter(posts::team_id.eq(link.team_id))
            .filter(diesel::dsl::exists(shown))
            .select(Post::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?
            .ok_or_else(|| AppError::NotFound("Post".into()))?;
        crate::approvals::ssr::ensure_decidable(&post)?;
        let now = fingerprint(&post);
        if now != seen {
            return Err(AppError::Conflict("The team changed this post while you were looking at it. Reload the page and look again.".into()));
        }
        if !comment.is_empty() {
            diesel::insert_into(post_comments::table)
                .values((
                    post_comments::post_id.eq(post.id),
                    post_comments::author_id.eq(None::<Uuid>),
                    post_comments::guest_name.eq(Some(name)),
                    post_comments::preview_link_id.eq(Some(link.id)),
                    post_comments::body.eq(comment),
                ))
                .execute(conn)
                .await?;
        }
        let through = format!("through the client link \"{}\"", link.label);
        let (approval, print, event, summary) = match decision {
            GuestDecision::Approve => {
                (Approval::Approved, Some(now.as_str()), "approved", format!("Approved by {guest}, {through}."))
            }
            GuestDecision::RequestChanges => (
                Approval::ChangesRequested,
                None,
                "changes_requested",
                format!("{guest} asked for changes {through} (see the comments)."),
            ),
        };
        diesel::update(posts::table.find(post.id))
            .set((
                posts::approval.eq(approval.as_str()),
                posts::approved_fingerprint.eq(print),
                posts::approved_by.eq(None::<Uuid>),
                posts::approved_at.eq(print.map(|_| OffsetDateTime::now_utc())),
            ))
            .execute(conn)
            .await?;
        record_event(conn, post.id, event, &summary).await?;
        let action = if decision == GuestDecision::Approve { "post.approved" } else { "post.changes_requested" };
        let change = Change::new(Subject::Post, post.id, action, summary)
            .values(None, Some(serde_json::json!({ "fingerprint": print, "preview_link": link.id, "comment": comment })));
        crate::audit::ssr::record_named(conn, link.team_id, None, &guest, change).await?;
        let comment = (decision == GuestDecision::RequestChanges).then_some(comment);
        crate::approvals::emails::tell_author(conn, &post, None, &guest, comment).await?;
        Ok(())
    })
    .await
}
