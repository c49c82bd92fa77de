//! Client preview links: an approver shares posts; whoever holds the link, without an account,
//! sees those posts (and their videos, in ranges) and nothing else, approves or asks for
//! changes into the team's thread, timeline and audit log; revoked and expired links open
//! nothing, and an editor without the right to approve cannot share.

use crate::util::{
    TestApp, TestClient,
    sandbox::{TestSandbox, owner_with_account},
    upload::Upload,
};
use app::{
    approvals::types::Approval,
    audit::types::AuditPage,
    error::AppError,
    posts::types::PostDetail,
    previews::types::{CreatedPreviewLink, GuestPreview, PreviewLinkView},
    publishing::due::publish_due,
};
use axum::body::Body;
use diesel_async::RunQueryDsl;
use http::{Request, StatusCode, header};
use sandbox::synthetic::SyntheticVideo;
use time::OffsetDateTime;
use uuid::Uuid;

const INIT: &str = "/v2/post/publish/video/init/";

fn video() -> SyntheticVideo {
    SyntheticVideo::mp4(20, 300_000)
}

/// Olga (owner, an approver) with Maya Public connected and approvals on, Eddie (an editor),
/// and a post of Eddie's due in five minutes with `caption`.
async fn team_with_a_post(caption: &str) -> (TestSandbox, TestApp, TestClient, TestClient, String, Uuid) {
    let (sandbox, app, mut owner, account) = owner_with_account().await;
    owner.call::<()>("teams/approval-required", &[("required", "true")]).await.unwrap();
    let mut editor = app.joined(&mut owner, "editor", "Eddie").await;
    let post = schedule(&mut editor, &account, caption, 5).await;
    (sandbox, app, owner, editor, account, post)
}

async fn schedule(client: &mut TestClient, account: &str, caption: &str, minutes: i64) -> Uuid {
    let at = OffsetDateTime::now_utc() + time::Duration::minutes(minutes);
    let mut upload = Upload::scheduled(account, "SELF_ONLY", video(), at);
    upload.choices.caption = caption.into();
    upload.send(client).await.expect("scheduled").post_id
}

async fn share(client: &mut TestClient, posts: &[Uuid], label: &str) -> Result<CreatedPreviewLink, AppError> {
    let ids = posts.iter().map(Uuid::to_string).collect::<Vec<_>>().join(",");
    client.call("previews/create", &[("post_ids", &ids), ("label", label), ("days", "7")]).await
}

fn token_of(link: &CreatedPreviewLink) -> String {
    link.path.strip_prefix("/preview/").expect("a preview path").to_owned()
}

async fn open(guest: &mut TestClient, token: &str) -> Result<GuestPreview, AppError> {
    guest.call("preview/page", &[("token", token)]).await
}

async fn decide(guest: &mut TestClient, token: &str, post: Uuid, fingerprint: &str, decision: &str, name: &str, comment: &str) -> Result<(), AppError> {
    guest
        .call(
            "preview/decide",
            &[
                ("token", token),
                ("post_id", &post.to_string()),
                ("fingerprint", fingerprint),
                ("decision", decision),
                ("name", name),
                ("comment", comment),
            ],
        )
        .await
}

async fn ranged(guest: &mut TestClient, path: &str, range: Option<&str>) -> crate::util::test_app::TestResponse {
    let mut request = Request::get(path);
    if let Some(range) = range {
        request = request.header(header::RANGE, range);
    }
    guest.send(request.body(Body::empty()).unwrap()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_sees_only_the_shared_posts_and_their_videos_in_ranges() {
    let (_sandbox, app, mut owner, mut editor, account, first) = team_with_a_post("First look at the launch").await;
    let second = schedule(&mut editor, &account, "Second take", 10).await;
    let private = schedule(&mut owner, &account, "Internal only", 15).await;

    let refused = share(&mut editor, &[first], "Acme").await.unwrap_err();
    assert!(matches!(&refused, AppError::Forbidden(m) if m.contains("Only approvers")), "{refused:?}");
    let blank = share(&mut owner, &[first], " ").await.unwrap_err();
    assert!(blank.field_message("label").is_some(), "{blank:?}");
    let link = share(&mut owner, &[first, second], "Acme, December").await.unwrap();
    assert!(link.link.live && link.link.post_ids.len() == 2);
    let token = token_of(&link);

    let mut guest = app.client();
    let page = open(&mut guest, &token).await.unwrap();
    assert_eq!(page.label, "Acme, December");
    assert_eq!(page.team, "Olga's team");
    let captions: Vec<&str> = page.posts.iter().map(|p| p.caption.as_str()).collect();
    assert_eq!(captions, ["First look at the launch", "Second take"], "in order of their time, and only the shared ones");
    assert!(page.posts.iter().all(|p| p.account == "Maya Public" && p.decidable && p.approval == Approval::Pending));
    let json = serde_json::to_string(&page).unwrap();
    assert!(!json.contains(&private.to_string()) && !json.contains("Internal only"), "nothing of another post: {json}");
    assert!(!json.contains("act.") && !json.contains("rft.") && !json.contains(&account), "no token or team id: {json}");

    // The page itself, as a browser opens it: rendered whole, and its address is never a Referer.
    let html = guest.get(&link.path).await;
    assert_eq!(html.status, StatusCode::OK);
    assert!(html.text().contains("First look at the launch") && html.text().contains("class=\"phone\""), "{}", html.text());
    assert_eq!(html.header("referrer-policy"), Some("no-referrer"));

    // The video, whole and in ranges, as a <video> element asks for it.
    let path = &page.posts[0].video_path;
    let whole = ranged(&mut guest, path, None).await;
    assert_eq!(whole.status, StatusCode::OK);
    assert_eq!(whole.body.len() as u64, video().size);
    assert_eq!(whole.header("content-type"), Some("video/mp4"));
    assert_eq!(whole.header("cache-control"), Some("private, no-store"));
    let part = ranged(&mut guest, path, Some("bytes=0-99")).await;
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.header("content-range"), Some(format!("bytes 0-99/{}", video().size).as_str()));
    assert_eq!(part.body, video().pieces(0, 99, 100).next().unwrap().to_vec());
    assert_eq!(ranged(&mut guest, path, Some(&format!("bytes={}-", video().size))).await.status, StatusCode::RANGE_NOT_SATISFIABLE);

    // Another post of the team through this link, or any post with a made-up token: nothing.
    let other = format!("/preview/{token}/video/{private}");
    assert_eq!(ranged(&mut guest, &other, None).await.status, StatusCode::NOT_FOUND);
    let forged = format!("/preview/{}/video/{first}", "A".repeat(43));
    assert_eq!(ranged(&mut guest, &forged, None).await.status, StatusCode::NOT_FOUND);
    assert!(matches!(open(&mut guest, "not-a-token").await, Err(AppError::NotFound(_))));
    let fingerprint = &page.posts[0].fingerprint;
    let aimed = decide(&mut guest, &token, private, fingerprint, "approve", "Clara", "").await.unwrap_err();
    assert!(matches!(aimed, AppError::NotFound(_)), "a post the link does not show cannot be decided on: {aimed:?}");
    let theirs: Vec<PreviewLinkView> = owner.call("previews/list", &[]).await.unwrap();
    assert_eq!(theirs.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guests_decisions_reach_the_thread_the_timeline_the_audit_log_and_the_scheduler() {
    let (sandbox, app, mut owner, mut editor, account, first) = team_with_a_post("Launch day").await;
    let second = schedule(&mut editor, &account, "Behind the scenes", 6).await;
    let link = share(&mut owner, &[first, second], "Acme").await.unwrap();
    let token = token_of(&link);
    let mut guest = app.client();
    let page = open(&mut guest, &token).await.unwrap();
    let (one, two) = (&page.posts[0], &page.posts[1]);

    let unsigned = decide(&mut guest, &token, one.id, &one.fingerprint, "request_changes", " ", "Too loud").await.unwrap_err();
    assert!(unsigned.field_message("name").is_some(), "{unsigned:?}");
    let wordless = decide(&mut guest, &token, one.id, &one.fingerprint, "request_changes", "Clara", "").await.unwrap_err();
    assert!(wordless.field_message("comment").is_some_and(|m| m.contains("what should change")), "{wordless:?}");
    decide(&mut guest, &token, one.id, &one.fingerprint, "request_changes", "Clara", "The logo is cut off").await.unwrap();

    let seen: PostDetail = owner.call("posts/detail", &[("post_id", &first.to_string())]).await.unwrap();
    assert_eq!(seen.post.approval, Approval::ChangesRequested);
    assert!(
        seen.comments.iter().any(|c| c.author == "Clara (client)" && c.body == "The logo is cut off"),
        "in the team's thread: {:?}",
        seen.comments
    );
    assert!(seen.events.iter().any(|e| e.message.contains("Clara (client) asked for changes through the client link \"Acme\"")));
    let again = open(&mut guest, &token).await.unwrap();
    assert_eq!(again.posts[0].comments.len(), 1, "the guest sees what they wrote");
    assert_eq!(again.posts[0].comments[0].name, "Clara");

    // A decision on what the guest no longer sees is refused; the post is edited meanwhile.
    let stale = "0".repeat(64);
    let conflict = decide(&mut guest, &token, two.id, &stale, "approve", "Clara", "").await.unwrap_err();
    assert!(matches!(&conflict, AppError::Conflict(m) if m.contains("changed this post")), "{conflict:?}");
    decide(&mut guest, &token, two.id, &two.fingerprint, "approve", "Clara", "Lovely").await.unwrap();
    let approved: PostDetail = owner.call("posts/detail", &[("post_id", &second.to_string())]).await.unwrap();
    assert_eq!(approved.post.approval, Approval::Approved);

    let log: AuditPage = owner.call("audit/list", &[("subject", "post")]).await.unwrap();
    let by_clara: Vec<&str> = log.entries.iter().filter(|e| e.actor == "Clara (client)").map(|e| e.action.as_str()).collect();
    assert_eq!(by_clara, ["post.approved", "post.changes_requested"], "newest first");
    let shared: AuditPage = owner.call("audit/list", &[("subject", "preview_link")]).await.unwrap();
    assert_eq!(shared.entries.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["preview_link.created"]);

    // Both come due: only the post the client approved goes out.
    publish_due(&app.state, OffsetDateTime::now_utc() + time::Duration::minutes(7), Uuid::new_v4()).await.unwrap();
    assert_eq!(sandbox.count(INIT, ""), 1);
    let sent: PostDetail = owner.call("posts/detail", &[("post_id", &second.to_string())]).await.unwrap();
    assert_ne!(sent.post.state, app::posts::types::PostState::Scheduled);
    let held: PostDetail = owner.call("posts/detail", &[("post_id", &first.to_string())]).await.unwrap();
    assert_eq!(held.post.state, app::posts::types::PostState::Scheduled);
    let after = open(&mut guest, &token).await.unwrap();
    let late = decide(&mut guest, &token, second, &after.posts[1].fingerprint, "request_changes", "Clara", "Wait").await.unwrap_err();
    assert!(matches!(late, AppError::Conflict(_)), "a post on its way is past deciding on: {late:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn revoked_and_expired_links_open_nothing() {
    let (_sandbox, app, mut owner, mut editor, _account, post) = team_with_a_post("Launch day").await;
    let link = share(&mut owner, &[post], "Acme").await.unwrap();
    let token = token_of(&link);
    let mut guest = app.client();
    let page = open(&mut guest, &token).await.unwrap();
    let video = page.posts[0].video_path.clone();
    assert_eq!(ranged(&mut guest, &video, Some("bytes=0-9")).await.status, StatusCode::PARTIAL_CONTENT);

    let refused = editor.call::<()>("previews/revoke", &[("link_id", &link.link.id.to_string())]).await.unwrap_err();
    assert!(matches!(refused, AppError::Forbidden(_)), "{refused:?}");
    owner.call::<()>("previews/revoke", &[("link_id", &link.link.id.to_string())]).await.unwrap();
    let gone = open(&mut guest, &token).await.unwrap_err();
    assert!(matches!(&gone, AppError::Forbidden(m) if m.contains("withdrawn")), "{gone:?}");
    assert_eq!(ranged(&mut guest, &video, Some("bytes=0-9")).await.status, StatusCode::NOT_FOUND);
    let late = decide(&mut guest, &token, post, &page.posts[0].fingerprint, "approve", "Clara", "").await.unwrap_err();
    assert!(matches!(late, AppError::Forbidden(_)), "{late:?}");
    let detail: PostDetail = owner.call("posts/detail", &[("post_id", &post.to_string())]).await.unwrap();
    assert_eq!(detail.post.approval, Approval::Pending, "nothing was decided through a revoked link");
    let listed: Vec<PreviewLinkView> = owner.call("previews/list", &[]).await.unwrap();
    assert!(listed[0].revoked && !listed[0].live);
    let twice = owner.call::<()>("previews/revoke", &[("link_id", &link.link.id.to_string())]).await.unwrap_err();
    assert!(matches!(twice, AppError::NotFound(_)));

    let expiring = share(&mut owner, &[post], "Acme again").await.unwrap();
    diesel::sql_query("UPDATE preview_links SET expires_at = now() - interval '1 second' WHERE id = $1")
        .bind::<diesel::sql_types::Uuid, _>(expiring.link.id)
        .execute(&mut app.conn().await)
        .await
        .unwrap();
    let expired = open(&mut guest, &token_of(&expiring)).await.unwrap_err();
    assert!(matches!(&expired, AppError::Forbidden(m) if m.contains("expired")), "{expired:?}");
    let page = guest.get(&expiring.path).await;
    assert!(page.text().contains("This preview does not open") && page.text().contains("expired"), "{}", page.text());
    let log: AuditPage = owner.call("audit/list", &[("subject", "preview_link")]).await.unwrap();
    let actions: Vec<&str> = log.entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["preview_link.created", "preview_link.revoked", "preview_link.created"]);
}
