//! Comments in PostgreSQL: a post's thread (read with the post's page), written and deleted only through the caller's team.

use crate::{
    calendar::zone,
    comments::types::{CommentView, comment_problem},
    db::schema::{post_comments, posts, users},
    error::{AppError, AppResult},
    posts::ssr::Post,
    teams::{ssr::Caller, types::Role},
};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use jiff::tz::TimeZone;
use time::OffsetDateTime;
use uuid::Uuid;

/// The thread of `post_id`, oldest first, on a shared connection so that it goes out pipelined
/// with the post's own query; the caller checks that the post is their team's.
pub async fn thread_of(conn: &AsyncPgConnection, caller: Caller, post_id: Uuid, tz: &TimeZone) -> AppResult<Vec<CommentView>> {
    let rows: Vec<(Uuid, Option<Uuid>, Option<String>, Option<String>, String, OffsetDateTime)> = post_comments::table
        .left_join(users::table)
        .filter(post_comments::post_id.eq(post_id))
        .order((post_comments::created_at.asc(), post_comments::id.asc()))
        .select((
            post_comments::id,
            post_comments::author_id,
            users::display_name.nullable(),
            post_comments::guest_name,
            post_comments::body,
            post_comments::created_at,
        ))
        .load(&mut &*conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, author_id, author, guest, body, at)| CommentView {
            id,
            // A client who wrote through a preview link is named as they signed.
            author: guest.map(|name| format!("{name} (client)")).or(author).unwrap_or_else(|| "A former member".into()),
            body,
            at,
            when_label: zone::label(at, tz),
            can_delete: author_id == Some(caller.user_id) || caller.role >= Role::Admin,
        })
        .collect())
}

/// Adds the caller's comment to a post of their team.
pub async fn add(conn: &mut AsyncPgConnection, caller: Caller, post_id: Uuid, body: &str) -> AppResult<()> {
    if let Some(problem) = comment_problem(body) {
        return Err(AppError::invalid("body", problem));
    }
    Post::find_for_team(conn, caller.team_id, post_id).await?;
    diesel::insert_into(post_comments::table)
        .values((
            post_comments::post_id.eq(post_id),
            post_comments::author_id.eq(Some(caller.user_id)),
            post_comments::body.eq(body.trim()),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes a comment on a post of the caller's team: their own, or anyone's for admins and owners.
pub async fn delete(conn: &mut AsyncPgConnection, caller: Caller, comment_id: Uuid) -> AppResult<()> {
    let author: Option<Uuid> = post_comments::table
        .inner_join(posts::table)
        .filter(post_comments::id.eq(comment_id))
        .filter(posts::team_id.eq(caller.team_id))
        .select(post_comments::author_id)
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::NotFound("Comment".into()))?;
    if author != Some(caller.user_id) && caller.role < Role::Admin {
        return Err(AppError::Forbidden("Only the comment's author, an admin or an owner can delete it.".into()));
    }
    diesel::delete(post_comments::table.find(comment_id)).execute(conn).await?;
    Ok(())
}
