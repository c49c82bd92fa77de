//! Server functions for comments: adding to a post's thread and deleting from it (any member of the post's team); the thread itself comes with the post (`posts/detail`).

use crate::error::AppError;
use leptos::prelude::*;
use uuid::Uuid;

/// Adds a comment to the post's thread; viewers may comment too (it changes nothing of the post).
#[server(endpoint = "comments/add")]
pub async fn add_comment(post_id: Uuid, body: String) -> Result<(), AppError> {
    use crate::{state::db, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Viewer).await?;
    crate::comments::ssr::add(&mut conn, caller, post_id, &body).await
}

/// Deletes a comment: the caller's own, or anyone's for admins and owners.
#[server(endpoint = "comments/delete")]
pub async fn delete_comment(comment_id: Uuid) -> Result<(), AppError> {
    use crate::{state::db, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Viewer).await?;
    crate::comments::ssr::delete(&mut conn, caller, comment_id).await
}
