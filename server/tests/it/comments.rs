//! A post's comment thread: every member of the team reads and writes it, in order, with who and
//! when; authors delete their own, admins anyone's; bad input is refused with a sentence.

use crate::util::{TestClient, sandbox::owner_with_account, upload::Upload};
use app::{comments::types::CommentView, error::AppError};
use sandbox::synthetic::SyntheticVideo;
use time::OffsetDateTime;

/// The thread as the post's page shows it.
async fn thread(client: &mut TestClient, post: &str) -> Vec<CommentView> {
    client.call::<app::posts::types::PostDetail>("posts/detail", &[("post_id", post)]).await.unwrap().comments
}

async fn comment(client: &mut TestClient, post: &str, body: &str) -> Result<(), AppError> {
    client.call("comments/add", &[("post_id", post), ("body", body)]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_team_discusses_a_post_in_order_and_each_deletes_only_what_they_may() {
    let (_sandbox, app, mut owner, account) = owner_with_account().await;
    let at = OffsetDateTime::now_utc() + time::Duration::days(1);
    let post = Upload::scheduled(&account, "SELF_ONLY", SyntheticVideo::mp4(20, 200_000), at).send(&mut owner).await.unwrap().post_id.to_string();
    let mut viewer = app.joined(&mut owner, "viewer", "Vera").await;
    let mut editor = app.joined(&mut owner, "editor", "Eddie").await;

    assert!(thread(&mut owner, &post).await.is_empty());
    comment(&mut editor, &post, "  Caption needs the launch hashtag.\n").await.unwrap();
    comment(&mut viewer, &post, "Client says the cover should be the logo.").await.unwrap();
    comment(&mut owner, &post, "Agreed, fixing both.").await.unwrap();

    let seen = thread(&mut viewer, &post).await;
    let lines: Vec<(&str, &str, bool)> = seen.iter().map(|c| (c.author.as_str(), c.body.as_str(), c.can_delete)).collect();
    assert_eq!(
        lines,
        [
            ("Eddie", "Caption needs the launch hashtag.", false),
            ("Vera", "Client says the cover should be the logo.", true),
            ("Olga", "Agreed, fixing both.", false),
        ],
        "oldest first, trimmed, and the viewer may delete only their own"
    );
    assert!(seen[0].when_label.ends_with("UTC"), "on the reader's wall clock: {}", seen[0].when_label);
    assert!(thread(&mut owner, &post).await.iter().all(|c| c.can_delete), "the owner may delete any");

    let olgas = seen[2].id.to_string();
    let refused = editor.call::<()>("comments/delete", &[("comment_id", &olgas)]).await.unwrap_err();
    assert!(matches!(&refused, AppError::Forbidden(m) if m.contains("author")), "{refused:?}");
    owner.call::<()>("comments/delete", &[("comment_id", &seen[0].id.to_string())]).await.unwrap();
    viewer.call::<()>("comments/delete", &[("comment_id", &seen[1].id.to_string())]).await.unwrap();
    let left: Vec<String> = thread(&mut editor, &post).await.into_iter().map(|c| c.body).collect();
    assert_eq!(left, ["Agreed, fixing both."]);

    // Bad input is refused on its field and nothing is stored.
    let blank = comment(&mut editor, &post, " \n ").await.unwrap_err();
    assert_eq!(blank.field_message("body").as_deref(), Some("Write something first."));
    let long = comment(&mut editor, &post, &"x".repeat(2001)).await.unwrap_err();
    assert!(long.field_message("body").is_some_and(|m| m.contains("2001 characters")), "{long:?}");
    let control = comment(&mut editor, &post, "ding\u{7}").await.unwrap_err();
    assert!(control.field_message("body").is_some(), "{control:?}");
    assert_eq!(thread(&mut owner, &post).await.len(), 1);
}
