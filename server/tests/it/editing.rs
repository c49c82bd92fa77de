//! Editing a scheduled post in place: what TikTok receives is the edit, the composer's rules apply
//! again with the creator's current options, and a post a server claimed cannot change under it.

use crate::util::{
    TestClient,
    sandbox::{connected_account, owner_with_account},
    upload::Upload,
};
use app::{
    calendar::zone,
    db::schema::posts,
    error::AppError,
    posts::{
        rules::ComposerChoices,
        ssr::Post,
        types::{PostDetail, PostState, UploadOutcome},
    },
    publishing::due::publish_due,
};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use sandbox::synthetic::SyntheticVideo;
use time::OffsetDateTime;
use uuid::Uuid;

const INIT: &str = "/v2/post/publish/video/init/";

async fn schedule(client: &mut TestClient, account: &str, minutes: i64) -> UploadOutcome {
    let at = OffsetDateTime::now_utc() + time::Duration::minutes(minutes);
    Upload::scheduled(account, "SELF_ONLY", SyntheticVideo::mp4(20, 300_000), at).send(client).await.expect("scheduled")
}

async fn edit(client: &mut TestClient, post: Uuid, choices: &ComposerChoices, when: &str) -> Result<String, AppError> {
    let json = serde_json::to_string(choices).unwrap();
    client.call("posts/edit", &[("post_id", &post.to_string()), ("choices", &json), ("when", when)]).await
}

async fn detail(client: &mut TestClient, post: Uuid) -> PostDetail {
    client.call("posts/detail", &[("post_id", &post.to_string())]).await.unwrap()
}

/// Olga's wall clock (Berlin) `minutes` from now, as the form's time input holds it.
fn berlin_in(minutes: i64) -> String {
    zone::wall_clock(OffsetDateTime::now_utc() + time::Duration::minutes(minutes), &zone::zone("Europe/Berlin"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_post_is_edited_in_place_and_tiktok_receives_the_edit() {
    let (sandbox, app, mut owner, account) = owner_with_account().await;
    let outcome = schedule(&mut owner, &account, 5).await;
    let before = detail(&mut owner, outcome.post_id).await;
    assert_eq!(before.choices.caption, "Launch day #cadence @maya", "the form starts from what was composed");

    let mut choices = before.choices.clone();
    choices.caption = "Launch day, fixed typo #cadence".into();
    choices.privacy_level = Some("PUBLIC_TO_EVERYONE".into());
    choices.allow_comment = true;
    let when = berlin_in(10);
    let label = edit(&mut owner, outcome.post_id, &choices, &when).await.expect("edited");
    assert!(label.ends_with("CET") || label.ends_with("CEST"), "{label}");

    let after = detail(&mut owner, outcome.post_id).await;
    assert_eq!(after.post.state, PostState::Scheduled);
    assert_eq!(after.choices.caption, "Launch day, fixed typo #cadence");
    assert_eq!(after.post.privacy_level.as_deref(), Some("PUBLIC_TO_EVERYONE"));
    assert!(after.choices.allow_comment && !after.choices.allow_duet);
    assert_eq!(after.post.wall_clock.as_deref(), Some(when.as_str()));
    let edited = after.events.iter().find(|e| e.kind == "edited").expect("the timeline records the edit");
    assert_eq!(edited.message, "Edited: caption, who can see it, interactions, time.");

    // Saving the same form again changes nothing and records nothing.
    edit(&mut owner, outcome.post_id, &after.choices, &when).await.expect("an unchanged save");
    assert_eq!(detail(&mut owner, outcome.post_id).await.events.iter().filter(|e| e.kind == "edited").count(), 1);

    // Not yet due at the old time; at the new one TikTok gets the edited post.
    let old_due = OffsetDateTime::now_utc() + time::Duration::minutes(6);
    publish_due(&app.state, old_due, Uuid::new_v4()).await.unwrap();
    assert_eq!(sandbox.count(INIT, ""), 0, "moved: not sent at its old time");
    publish_due(&app.state, OffsetDateTime::now_utc() + time::Duration::minutes(11), Uuid::new_v4()).await.unwrap();
    assert_eq!(sandbox.count(INIT, "\"title\":\"Launch day, fixed typo #cadence\""), 1);
    assert_eq!(sandbox.count(INIT, "\"privacy_level\":\"PUBLIC_TO_EVERYONE\""), 1);
    assert_eq!(sandbox.count(INIT, "Launch day #cadence @maya"), 0, "the old caption never reaches TikTok");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edit_that_breaks_the_creators_rules_is_refused_with_its_reason_and_changes_nothing() {
    let (sandbox, app, mut owner, _maya) = owner_with_account().await;
    // Leo's account is private, with duets and stitches turned off in TikTok.
    let leo = connected_account(&sandbox, &mut owner, "Leo Private").await;
    let outcome = schedule(&mut owner, &leo, 5).await;
    let original = detail(&mut owner, outcome.post_id).await;
    let when = original.post.wall_clock.clone().unwrap();

    let id = outcome.post_id;
    let refused = async |choices: ComposerChoices, when: String| {
        let mut tab = owner.clone();
        edit(&mut tab, id, &choices, &when).await.expect_err("refused")
    };
    let duet = ComposerChoices { allow_duet: true, ..original.choices.clone() };
    let error = refused(duet, when.clone()).await;
    assert_eq!(error.field_message("allow_duet"), Some("Duets are turned off in this creator's TikTok settings.".to_owned()), "{error:?}");

    let public = ComposerChoices { privacy_level: Some("PUBLIC_TO_EVERYONE".into()), ..original.choices.clone() };
    let error = refused(public, when.clone()).await;
    assert!(error.field_message("privacy_level").is_some_and(|m| m.contains("not available")), "{error:?}");

    let undisclosed = ComposerChoices { commercial: true, ..original.choices.clone() };
    let error = refused(undisclosed, when.clone()).await;
    assert!(error.field_message("commercial").is_some(), "{error:?}");

    let control = ComposerChoices { caption: "bad\u{0007}bell".into(), ..original.choices.clone() };
    assert!(refused(control, when.clone()).await.field_message("caption").is_some());

    let past = refused(original.choices.clone(), "2020-01-01T09:00".into()).await;
    assert!(past.field_message("scheduled_at").is_some_and(|m| m.contains("passed")), "{past:?}");
    let nonsense = refused(original.choices.clone(), "next tuesday".into()).await;
    assert!(nonsense.field_message("scheduled_at").is_some(), "{nonsense:?}");

    let unchanged = detail(&mut owner, outcome.post_id).await;
    assert_eq!(unchanged.choices, original.choices);
    assert_eq!(unchanged.post.scheduled_at, original.post.scheduled_at);
    assert!(unchanged.events.iter().all(|e| e.kind != "edited"));
    drop((sandbox, app));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edit_racing_a_claim_loses_and_the_claimed_post_goes_out_as_it_was() {
    let (_sandbox, app, mut owner, account) = owner_with_account().await;
    let outcome = schedule(&mut owner, &account, 5).await;
    let original = detail(&mut owner, outcome.post_id).await;
    let changed = ComposerChoices { caption: "Changed while it was being claimed".into(), ..original.choices.clone() };
    let when = original.post.wall_clock.clone().unwrap();

    // A server's claim holds the row and moves it to "uploading"; the edit starts meanwhile.
    let id = outcome.post_id;
    let mut claimer = app.state.pool.get().await.unwrap();
    let (locked_tx, locked_rx) = tokio::sync::oneshot::channel::<()>();
    let (commit_tx, commit_rx) = tokio::sync::oneshot::channel::<()>();
    let claim_task = tokio::spawn(async move {
        claimer
            .transaction::<_, diesel::result::Error, _>(async |conn| {
                let _: Uuid = posts::table.find(id).select(posts::id).for_update().get_result(conn).await?;
                diesel::update(posts::table.find(id)).set(posts::state.eq("uploading")).execute(conn).await?;
                let _ = locked_tx.send(());
                let _ = commit_rx.await;
                Ok(())
            })
            .await
            .unwrap();
    });
    locked_rx.await.unwrap();
    let mut editor = owner.clone();
    let editing = tokio::spawn(async move { edit(&mut editor, id, &changed, &when).await });
    // Whether the edit has reached its update or not when the claim commits, it must lose.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    commit_tx.send(()).unwrap();
    claim_task.await.unwrap();
    let error = editing.await.unwrap().expect_err("the claim won");
    assert!(matches!(&error, AppError::Conflict(m) if m.contains("on its way to TikTok")), "{error:?}");

    let post = Post::find(&mut *app.conn().await, id).await.unwrap();
    assert_eq!(post.caption, original.choices.caption, "what was claimed is what goes out");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_post_cannot_be_edited() {
    let (sandbox, app, mut owner, account) = owner_with_account().await;
    let outcome = schedule(&mut owner, &account, 5).await;
    let original = detail(&mut owner, outcome.post_id).await;
    let when = original.post.wall_clock.clone().unwrap();
    owner.call::<()>("posts/cancel", &[("post_id", &outcome.post_id.to_string())]).await.unwrap();
    let error = edit(&mut owner, outcome.post_id, &original.choices, &when).await.expect_err("cancelled");
    assert!(matches!(&error, AppError::Conflict(m) if m == "This post is cancelled and can no longer be edited."), "{error:?}");
    drop((sandbox, app));
}
