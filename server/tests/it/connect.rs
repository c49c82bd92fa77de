//! Connecting as a real TikTok app must: only the configured scopes, TikTok's refusals told in
//! words, partial grants followed everywhere, dropped grants revoked, profiles kept fresh and
//! the end of a grant announced ahead.

use crate::util::{
    TestApp, TestClient,
    sandbox::{TestSandbox, app_with_sandbox, connect, consent, consent_with},
    upload::Upload,
};
use app::{
    accounts::{ssr::TikTokAccount, types::AccountView},
    db::schema::tiktok_accounts,
    error::AppError,
};
use diesel::ExpressionMethods as _;
use diesel_async::RunQueryDsl as _;
use sandbox::synthetic::SyntheticVideo;

const CREATOR_INFO: &str = "/v2/post/publish/creator_info/query/";

async fn accounts(client: &mut TestClient) -> Vec<AccountView> {
    client.call("accounts/list", &[]).await.unwrap()
}

fn query_value<'a>(url: &'a str, name: &str) -> Option<&'a str> {
    url.split_once('?')?.1.split('&').find_map(|pair| pair.strip_prefix(&format!("{name}=")))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_consent_request_asks_only_for_the_configured_scopes_and_always_shows_the_page() {
    let (_sandbox, _app, mut owner) = app_with_sandbox().await;
    let url: String = owner.call("accounts/connect", &[]).await.unwrap();
    assert_eq!(query_value(&url, "scope"), Some("user.info.basic%2Cvideo.upload%2Cvideo.publish"), "{url}");
    assert_eq!(query_value(&url, "disable_auto_auth"), Some("1"));

    let sandbox = TestSandbox::start().await;
    let mut settings = sandbox.app_settings();
    settings.push(("CADENCE_TIKTOK_SCOPES", "user.info.basic,user.info.profile,video.publish".into()));
    let refs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::with_settings(&refs).await;
    let mut owner = app.signed_up("Olga").await;
    let url: String = owner.call("accounts/connect", &[]).await.unwrap();
    assert_eq!(query_value(&url, "scope"), Some("user.info.basic%2Cuser.info.profile%2Cvideo.publish"), "{url}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tiktok_refusals_on_the_redirect_are_explained_in_words() {
    let (sandbox, _app, mut owner) = app_with_sandbox().await;
    for (error, key, words) in [
        ("invalid_scope", "scope", "not approved for one of them"),
        ("invalid_client", "app", "registered redirect URI"),
        ("server_error", "tiktok", "try again in a moment"),
    ] {
        let callback = consent(&sandbox, &mut owner, "Maya Public").await;
        let state = query_value(&callback, "state").unwrap().to_owned();
        let description = "The+app+is+not+approved+for+video.list+%3Cscript%3E";
        let refused =
            owner.get(&format!("/oauth/tiktok/callback?error={error}&error_description={description}&state={state}")).await;
        let location = refused.header("location").unwrap().to_owned();
        assert_eq!(location, format!("/accounts?connect_error={key}"));
        let page = owner.get(&location).await.text();
        assert!(page.contains(words), "{error}: the page says what happened: {page}");
        assert!(!page.contains("video.list") && !page.contains("<script>"), "TikTok's text from the URL is not echoed");
    }
    assert!(accounts(&mut owner).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_inbox_only_grant_connects_and_sends_drafts_without_direct_post_calls() {
    let (sandbox, app, mut owner) = app_with_sandbox().await;
    let callback = consent_with(&sandbox, &mut owner, "Short Clips Sam", &["user.info.basic", "video.upload"]).await;
    assert_eq!(owner.get(&callback).await.header("location"), Some("/accounts?connected=1"));
    let sam = accounts(&mut owner).await.remove(0);
    assert_eq!(sam.scopes, ["user.info.basic", "video.upload"]);
    assert!(sam.allows().inbox && !sam.allows().direct_post);
    assert_eq!(sandbox.count(CREATOR_INFO, ""), 0, "creator_info needs video.publish: not asked at connection");
    let page = owner.get("/accounts").await.text();
    assert!(page.contains("Direct Post was not granted"), "the account says what its grant allows");

    let id = sam.id.to_string();
    let refused = owner.call::<app::tiktok::types::CreatorInfo>("posts/creator", &[("account_id", &id)]).await.unwrap_err();
    assert!(matches!(&refused, AppError::Validation { message, .. } if message.contains("did not grant Direct Post")), "{refused:?}");
    let direct = Upload::post_now(&id, "PUBLIC_TO_EVERYONE", SyntheticVideo::mp4(30, 300_000)).send(&mut owner).await.unwrap_err();
    assert!(matches!(&direct, AppError::Validation { message, .. } if message.contains("only send drafts")), "{direct:?}");

    // Sam's Direct Post limit is one minute; a draft may run ten, the creator trims it in the app.
    let draft = Upload { mode: "send_to_inbox", ..Upload::post_now(&id, "PUBLIC_TO_EVERYONE", SyntheticVideo::mp4(300, 400_000)) };
    draft.send(&mut owner).await.expect("a five-minute draft goes to the inbox");
    assert_eq!(sandbox.count("/v2/post/publish/inbox/video/init/", ""), 1);
    assert_eq!(sandbox.count(CREATOR_INFO, ""), 0, "no Direct Post call for a draft");
    let long = Upload { mode: "send_to_inbox", ..Upload::post_now(&id, "PUBLIC_TO_EVERYONE", SyntheticVideo::mp4(660, 400_000)) };
    let refused = long.send(&mut owner).await.unwrap_err();
    assert!(matches!(&refused, AppError::Validation { field, .. } if field == "video"), "drafts stop at ten minutes: {refused:?}");
    drop(app);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grant_without_posting_scopes_is_refused_and_revoked_but_a_taken_one_is_not_revoked() {
    let (sandbox, app, mut owner) = app_with_sandbox().await;
    let callback = consent_with(&sandbox, &mut owner, "Maya Public", &["user.info.basic"]).await;
    assert_eq!(owner.get(&callback).await.header("location"), Some("/accounts?connect_error=no_posting_scope"));
    assert!(accounts(&mut owner).await.is_empty());
    assert_eq!(sandbox.count("/v2/oauth/revoke/", "token="), 1, "the grant Cadence dropped is revoked at TikTok");
    let page = owner.get("/accounts?connect_error=no_posting_scope").await.text();
    assert!(page.contains("Both posting permissions were unticked"));

    // Revoking removes the app for the creator, and with it another team's live connection.
    connect(&sandbox, &mut owner, "Maya Public").await;
    let mut rival = app.signed_up("Rita").await;
    assert_eq!(connect(&sandbox, &mut rival, "Maya Public").await, "/accounts?connect_error=taken");
    assert_eq!(sandbox.count("/v2/oauth/revoke/", "token="), 1, "no revoke while the creator is live elsewhere");
    let maya = accounts(&mut owner).await.remove(0);
    assert_eq!(maya.status, app::accounts::types::AccountStatus::Active);
    let posted = Upload::post_now(&maya.id.to_string(), "PUBLIC_TO_EVERYONE", SyntheticVideo::mp4(5, 200_000)).send(&mut owner).await;
    assert!(posted.is_ok(), "the owner's connection still works: {posted:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn expiring_avatar_urls_are_read_again() {
    let (sandbox, app, mut owner) = app_with_sandbox().await;
    connect(&sandbox, &mut owner, "Maya Public").await;
    let fresh = accounts(&mut owner).await.remove(0).avatar_url.unwrap();
    let stale = "https://p16.tiktokcdn.example/expired.jpeg?x-expires=1";
    let mut conn = app.conn().await;
    diesel::update(tiktok_accounts::table)
        .set((
            tiktok_accounts::avatar_url.eq(stale),
            tiktok_accounts::profile_read_at.eq(Some(time::OffsetDateTime::now_utc() - time::Duration::hours(2))),
        ))
        .execute(&mut conn)
        .await
        .unwrap();

    // In the background, once the profile is an hour old…
    let read = app::accounts::profile::refresh_stale_profiles(&app.state).await.unwrap();
    assert_eq!(read, 1);
    assert_eq!(accounts(&mut owner).await[0].avatar_url.as_deref(), Some(fresh.as_str()));
    assert_eq!(app::accounts::profile::refresh_stale_profiles(&app.state).await.unwrap(), 0, "fresh profiles are left alone");

    // …and when a person asks for fresh details.
    diesel::update(tiktok_accounts::table).set(tiktok_accounts::avatar_url.eq(stale)).execute(&mut conn).await.unwrap();
    let id = accounts(&mut owner).await[0].id.to_string();
    let view: AccountView = owner.call("accounts/refresh-info", &[("account_id", &id)]).await.unwrap();
    assert_eq!(view.avatar_url.as_deref(), Some(fresh.as_str()));
    let page = owner.get("/accounts").await.text();
    assert!(page.contains("avatar-frame"), "the avatar sits on its initial, never a broken image alone");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_end_of_a_grant_is_announced_two_weeks_and_three_days_ahead() {
    let (sandbox, app, mut owner) = app_with_sandbox().await;
    connect(&sandbox, &mut owner, "Maya Public").await;
    let row: TikTokAccount = TikTokAccount::find(&mut *app.conn().await, accounts(&mut owner).await[0].id).await.unwrap();
    let ends = row.refresh_expires_at.expect("TikTok's refresh_expires_in is stored");
    let lifetime = ends - time::OffsetDateTime::now_utc();
    assert!((lifetime - time::Duration::days(180)).abs() < time::Duration::minutes(1), "{lifetime}");
    assert!(!owner.get("/accounts").await.text().contains("TikTok ends this connection"));

    for (left, words) in [(time::Duration::days(10), "within two weeks"), (time::Duration::days(2), "in less than three days")] {
        diesel::update(tiktok_accounts::table)
            .set(tiktok_accounts::refresh_expires_at.eq(Some(time::OffsetDateTime::now_utc() + left)))
            .execute(&mut *app.conn().await)
            .await
            .unwrap();
        let page = owner.get("/accounts").await.text();
        assert!(page.contains(&format!("TikTok ends this connection {words}")), "{words}: {page}");
        assert!(owner.get("/").await.text().contains("TikTok ends this connection"), "the dashboard warns too");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn disconnecting_a_grant_tiktok_already_dropped_never_gets_stuck() {
    let (sandbox, _app, mut owner) = app_with_sandbox().await;
    connect(&sandbox, &mut owner, "Maya Public").await;
    // The creator removed the app in TikTok; no webhook reached Cadence, so it still shows Connected.
    sandbox.sandbox.revoke_creator(&sandbox.open_id_of("Maya Public"));
    let maya = accounts(&mut owner).await.remove(0);
    assert_eq!(maya.status, app::accounts::types::AccountStatus::Active);

    owner.call::<()>("accounts/disconnect", &[("account_id", &maya.id.to_string())]).await.expect("TikTok's invalid_request ends the disconnect");
    let revokes: Vec<_> = sandbox.sandbox.requests().into_iter().filter(|r| r.path == "/v2/oauth/revoke/").collect();
    assert_eq!(revokes.len(), 1, "TikTok was asked once");
    let maya = accounts(&mut owner).await.remove(0);
    assert_eq!(maya.status, app::accounts::types::AccountStatus::Disconnected);
    assert_eq!(maya.status_reason.as_deref(), Some("Disconnected in Cadence; TikTok no longer held this grant."));
}
