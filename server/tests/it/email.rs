//! E-mail notifications against a real SMTP server (aiosmtpd, started by `scripts/test`, which
//! exports `TEST_SMTP_ADDR` and the maildir it writes to, `TEST_SMTP_DIR`): who gets what, the
//! link back, nothing secret, sent once with a stable Message-ID, retried with backoff, and
//! nothing queued without SMTP settings.

use crate::util::{
    TestApp, TestClient,
    sandbox::{TestSandbox, connected_account},
    test_app::PASSWORD,
    upload::Upload,
};
use app::{
    mail::{delivery::{Mailer, send_due}, outbox, reminders},
    teams::types::{CreatedInvite, InviteView},
};
use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use sandbox::{SandboxConfig, synthetic::SyntheticVideo};
use std::path::PathBuf;
use time::OffsetDateTime;
use uuid::Uuid;

/// The test SMTP server's address and maildir, or `None` (with the reason printed) when the
/// test script did not start one.
fn smtp_server() -> Option<(std::net::SocketAddr, PathBuf)> {
    match (std::env::var("TEST_SMTP_ADDR"), std::env::var("TEST_SMTP_DIR")) {
        (Ok(addr), Ok(dir)) => Some((addr.parse().expect("TEST_SMTP_ADDR is host:port"), PathBuf::from(dir))),
        _ => {
            eprintln!("skipped: TEST_SMTP_ADDR and TEST_SMTP_DIR are not set (scripts/test starts aiosmtpd and sets them)");
            None
        }
    }
}

fn smtp_settings(addr: std::net::SocketAddr) -> Vec<(&'static str, String)> {
    vec![
        ("CADENCE_SMTP_HOST", addr.ip().to_string()),
        ("CADENCE_SMTP_PORT", addr.port().to_string()),
        ("CADENCE_SMTP_TLS", "none".into()),
        ("CADENCE_SMTP_FROM", "Cadence <cadence@cadence.test>".into()),
    ]
}

/// An app wired to `sandbox` and to the SMTP server at `addr`, with delivery switched on as
/// the server's start does it.
async fn app_with_mail(sandbox: &TestSandbox, addr: std::net::SocketAddr) -> TestApp {
    let mut settings = sandbox.app_settings();
    settings.extend(smtp_settings(addr));
    let refs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::with_settings(&refs).await;
    outbox::set_delivery(&mut *app.conn().await, true).await.unwrap();
    app
}

fn mailer(app: &TestApp) -> Mailer {
    Mailer::new(app.state.config.smtp.as_ref().unwrap(), &server::mail_jobs::base_url(&app.state)).unwrap()
}

async fn fast_sandbox() -> TestSandbox {
    TestSandbox::start_with(SandboxConfig { processing_delay: std::time::Duration::from_millis(50), ..Default::default() }).await
}

/// An address no other test (nor an earlier one writing to the same maildir) uses.
fn unique_address(name: &str) -> String {
    format!("{}-{}@example.com", name.to_lowercase(), Uuid::new_v4().simple())
}

async fn sign_up(app: &TestApp, name: &str, email: &str, invite: Option<&str>) -> TestClient {
    let mut client = app.client();
    let mut form = vec![("email", email), ("password", PASSWORD), ("display_name", name), ("time_zone", "UTC")];
    if let Some(token) = invite {
        form.push(("invite", token));
    }
    client.call::<()>("auth/signup", &form).await.expect("sign-up succeeds");
    client
}

/// Every message the SMTP server received for `recipient`, as raw text.
fn messages_to(maildir: &std::path::Path, recipient: &str) -> Vec<String> {
    let mut found = Vec::new();
    for sub in ["new", "cur"] {
        let Ok(entries) = std::fs::read_dir(maildir.join(sub)) else { continue };
        for entry in entries.flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            if text.lines().any(|line| line.eq_ignore_ascii_case(&format!("X-RcptTo: {recipient}"))) {
                found.push(text);
            }
        }
    }
    found
}

fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message.lines().find_map(|line| {
        let (key, value) = line.split_once(": ")?;
        key.eq_ignore_ascii_case(name).then_some(value)
    })
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn outbox_rows(app: &TestApp) -> i64 {
    diesel::sql_query("SELECT count(*) AS n FROM email_outbox").get_result::<Count>(&mut app.conn().await).await.unwrap().n
}

/// Every e-mail choice at its default but those in `changed`, as the settings form sends them.
fn choices(changed: &[(&str, bool)]) -> Vec<(&'static str, &'static str)> {
    let defaults = app::notifications::types::EmailPreferences::default();
    let fields = [
        ("post_failed", defaults.post_failed),
        ("post_unconfirmed", defaults.post_unconfirmed),
        ("account_reconnect", defaults.account_reconnect),
        ("grant_ending", defaults.grant_ending),
        ("daily_digest", defaults.daily_digest),
        ("approval_requested", defaults.approval_requested),
        ("approval_answered", defaults.approval_answered),
    ];
    fields
        .into_iter()
        .map(|(name, on)| {
            let on = changed.iter().find(|(changed, _)| *changed == name).map_or(on, |(_, on)| *on);
            (name, if on { "true" } else { "false" })
        })
        .collect()
}

/// A scheduled post of `client`'s team on a freshly connected account.
async fn scheduled_post(sandbox: &TestSandbox, client: &mut TestClient) -> Uuid {
    let account = connected_account(sandbox, client, "Maya Public").await;
    let at = OffsetDateTime::now_utc() + time::Duration::days(1);
    Upload::scheduled(&account, "SELF_ONLY", SyntheticVideo::mp4(20, 500_000), at).send(client).await.unwrap().post_id
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_post_is_emailed_once_to_the_members_who_want_it() {
    let Some((addr, maildir)) = smtp_server() else { return };
    let sandbox = fast_sandbox().await;
    let app = app_with_mail(&sandbox, addr).await;
    let owner_address = unique_address("Olga");
    let mut owner = sign_up(&app, "Olga", &owner_address, None).await;
    let invite: CreatedInvite = owner.call("teams/invites/create", &[("role", "viewer")]).await.unwrap();
    let viewer_address = unique_address("Vera");
    let mut viewer = sign_up(&app, "Vera", &viewer_address, Some(invite.path.trim_start_matches("/invite/"))).await;
    viewer.call::<()>("notifications/email-preferences/save", &choices(&[("post_failed", false)])).await.unwrap();
    let choices: app::notifications::types::EmailSettingsView = viewer.call("notifications/email-preferences", &[]).await.unwrap();
    assert!(!choices.preferences.post_failed && choices.delivery_enabled);

    let post_id = scheduled_post(&sandbox, &mut owner).await;
    app::posts::ssr::mark_failed(&mut *app.conn().await, post_id, "test_refusal", "TikTok refused the video's settings.").await.unwrap();
    assert_eq!(outbox_rows(&app).await, 1, "one e-mail: the viewer chose not to get failures");

    let mailer = mailer(&app);
    assert_eq!(send_due(&app.state.pool, &mailer).await.unwrap(), 1);
    assert_eq!(send_due(&app.state.pool, &mailer).await.unwrap(), 0, "a sent e-mail is not sent again");
    let received = messages_to(&maildir, &owner_address);
    assert_eq!(received.len(), 1, "{received:?}");
    let message = &received[0];
    assert_eq!(header(message, "Subject"), Some("A post failed in Olga's team"));
    assert!(message.contains("TikTok refused the video's settings."), "{message}");
    assert!(message.contains(&format!("http://127.0.0.1:3000/posts/{post_id}")), "a link back to the post: {message}");
    let message_id: Uuid = diesel::sql_query("SELECT message_id FROM email_outbox")
        .get_result::<MessageId>(&mut app.conn().await)
        .await
        .unwrap()
        .message_id;
    assert_eq!(header(message, "Message-ID"), Some(format!("<{message_id}@cadence.test>").as_str()));
    // No TikTok token, session id or password in what went out.
    assert!(!message.contains("act.") && !message.contains("rft.") && !message.contains(PASSWORD), "{message}");
    assert!(messages_to(&maildir, &viewer_address).is_empty());
}

#[derive(diesel::QueryableByName)]
struct MessageId {
    #[diesel(sql_type = SqlUuid)]
    message_id: Uuid,
}

#[tokio::test(flavor = "multi_thread")]
async fn an_email_claimed_by_a_stopped_sender_goes_out_after_its_lease_with_the_same_message_id() {
    let Some((addr, maildir)) = smtp_server() else { return };
    let sandbox = fast_sandbox().await;
    let app = app_with_mail(&sandbox, addr).await;
    let owner_address = unique_address("Olga");
    let mut owner = sign_up(&app, "Olga", &owner_address, None).await;
    let post_id = scheduled_post(&sandbox, &mut owner).await;
    app::posts::ssr::mark_unconfirmed(&mut *app.conn().await, post_id, "TikTok's answer was lost.").await.unwrap();

    // A sender claims the row and stops before sending (or before marking it sent).
    let claimed = outbox::claim(&mut *app.conn().await, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let mailer = mailer(&app);
    assert_eq!(send_due(&app.state.pool, &mailer).await.unwrap(), 0, "held by the other sender's lease");
    diesel::sql_query("UPDATE email_outbox SET locked_until = now() - interval '1 second'").execute(&mut app.conn().await).await.unwrap();
    assert_eq!(send_due(&app.state.pool, &mailer).await.unwrap(), 1);
    let received = messages_to(&maildir, &owner_address);
    assert_eq!(received.len(), 1);
    assert_eq!(header(&received[0], "Message-ID"), Some(format!("<{}@cadence.test>", claimed[0].message_id).as_str()));
    assert_eq!(header(&received[0], "Subject"), Some("A post needs checking in Olga's team"));
    // The first claim can no longer record anything.
    assert!(!outbox::mark_sent(&mut *app.conn().await, &claimed[0]).await.unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_smtp_server_is_retried_with_backoff() {
    let sandbox = fast_sandbox().await;
    // A port nothing listens on: bound for a moment to find it, then closed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let app = app_with_mail(&sandbox, closed).await;
    let mut owner = sign_up(&app, "Olga", &unique_address("Olga"), None).await;
    let post_id = scheduled_post(&sandbox, &mut owner).await;
    app::posts::ssr::mark_failed(&mut *app.conn().await, post_id, "test_refusal", "Refused.").await.unwrap();

    assert_eq!(send_due(&app.state.pool, &mailer(&app)).await.unwrap(), 0);
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        attempts: i32,
        #[diesel(sql_type = diesel::sql_types::Double)]
        wait_secs: f64,
        #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
        last_error: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        pending: bool,
    }
    let row: Row = diesel::sql_query(
        "SELECT attempts, extract(epoch FROM next_attempt_at - now())::float8 AS wait_secs, last_error, \
         (sent_at IS NULL AND gave_up_at IS NULL AND locked_until IS NULL) AS pending FROM email_outbox",
    )
    .get_result(&mut app.conn().await)
    .await
    .unwrap();
    assert_eq!(row.attempts, 1);
    assert!(row.pending, "kept for the next try");
    // 30 s from the failed attempt; the margin below is for a slow, busy machine.
    assert!(row.wait_secs > 5.0 && row.wait_secs <= 30.0, "first retry after 30 s: {}", row.wait_secs);
    assert!(row.last_error.is_some());
    assert_eq!(send_due(&app.state.pool, &mailer(&app)).await.unwrap(), 0, "not before its time");

    // Once the server answers (here: the real test server), the next try sends it.
    let Some((addr, _)) = smtp_server() else { return };
    let mut config = app.state.config.smtp.clone().unwrap();
    config.port = addr.port();
    let working = Mailer::new(&config, "http://127.0.0.1:3000").unwrap();
    diesel::sql_query("UPDATE email_outbox SET next_attempt_at = now()").execute(&mut app.conn().await).await.unwrap();
    assert_eq!(send_due(&app.state.pool, &working).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn invites_can_be_emailed_and_the_link_is_not_kept() {
    let Some((addr, maildir)) = smtp_server() else { return };
    let sandbox = fast_sandbox().await;
    let app = app_with_mail(&sandbox, addr).await;
    let mut owner = sign_up(&app, "Olga", &unique_address("Olga"), None).await;
    let invited = unique_address("Ines");
    let invite: InviteView = owner.call("teams/invites/email", &[("email", &invited), ("role", "editor")]).await.unwrap();
    let bad = owner.call::<InviteView>("teams/invites/email", &[("email", "not an address"), ("role", "editor")]).await.unwrap_err();
    assert!(bad.field_message("email").is_some(), "{bad:?}");

    assert_eq!(send_due(&app.state.pool, &mailer(&app)).await.unwrap(), 1);
    let received = messages_to(&maildir, &invited);
    assert_eq!(received.len(), 1);
    let message = &received[0];
    assert_eq!(header(message, "Subject"), Some("Olga invites you to Olga's team on Cadence"));
    let token = message
        .split("http://127.0.0.1:3000/invite/")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a link to the invite")
        .to_owned();
    let preview: app::teams::types::InvitePreview = app.client().call("teams/invite/preview", &[("token", &token)]).await.unwrap();
    assert_eq!(preview.team_name, "Olga's team");
    let open: Vec<InviteView> = owner.call("teams/invites", &[]).await.unwrap();
    assert!(open.iter().any(|i| i.id == invite.id));
    #[derive(diesel::QueryableByName)]
    struct Link {
        #[diesel(sql_type = Text)]
        link_path: String,
    }
    let stored: Link = diesel::sql_query("SELECT link_path FROM email_outbox").get_result(&mut app.conn().await).await.unwrap();
    assert_eq!(stored.link_path, "", "the invite's token is erased once the e-mail went out");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_smtp_settings_nothing_is_queued_and_invites_by_email_are_refused() {
    let sandbox = fast_sandbox().await;
    let settings = sandbox.app_settings();
    let refs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::with_settings(&refs).await;
    outbox::set_delivery(&mut *app.conn().await, app.state.config.smtp.is_some()).await.unwrap();
    let mut owner = sign_up(&app, "Olga", &unique_address("Olga"), None).await;
    let post_id = scheduled_post(&sandbox, &mut owner).await;
    app::posts::ssr::mark_failed(&mut *app.conn().await, post_id, "test_refusal", "Refused.").await.unwrap();
    let refused = owner.call::<InviteView>("teams/invites/email", &[("email", "ines@example.com"), ("role", "editor")]).await.unwrap_err();
    assert!(matches!(refused, app::error::AppError::Conflict(ref m) if m.contains("does not send e-mail")), "{refused:?}");
    let open: Vec<app::notifications::types::NotificationView> = owner.call("notifications/list", &[]).await.unwrap();
    assert_eq!(open.len(), 1, "the in-app notification is there as before");
    assert_eq!(outbox_rows(&app).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn grant_endings_and_digests_are_queued_once_per_stage_and_day() {
    let sandbox = fast_sandbox().await;
    let app = app_with_mail(&sandbox, "127.0.0.1:25".parse().unwrap()).await;
    let mut owner = sign_up(&app, "Olga", &unique_address("Olga"), None).await;
    let account = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let now = OffsetDateTime::now_utc();
    let set_end = |days: i64| {
        diesel::sql_query("UPDATE tiktok_accounts SET refresh_expires_at = $1 WHERE id = $2")
            .bind::<diesel::sql_types::Timestamptz, _>(now + time::Duration::days(days))
            .bind::<SqlUuid, _>(account.parse::<Uuid>().unwrap())
    };
    set_end(10).execute(&mut app.conn().await).await.unwrap();
    let mut conn = app.conn().await;
    assert_eq!(reminders::queue_grant_endings(&mut conn, now).await.unwrap(), 1);
    assert_eq!(reminders::queue_grant_endings(&mut conn, now).await.unwrap(), 0, "once per stage");
    set_end(2).execute(&mut conn).await.unwrap();
    assert_eq!(reminders::queue_grant_endings(&mut conn, now).await.unwrap(), 1, "again three days ahead");

    let all_on = choices(&[("daily_digest", true)]);
    owner.call::<()>("notifications/email-preferences/save", &all_on).await.unwrap();
    let early = time::macros::datetime!(2026-12-02 06:00 UTC);
    assert_eq!(reminders::queue_digests(&mut conn, early).await.unwrap(), 0, "not before 08:00 on the member's clock");
    let morning = time::macros::datetime!(2026-12-02 09:00 UTC);
    assert_eq!(reminders::queue_digests(&mut conn, morning).await.unwrap(), 1);
    assert_eq!(reminders::queue_digests(&mut conn, morning + time::Duration::hours(3)).await.unwrap(), 0, "one a day");
    #[derive(diesel::QueryableByName)]
    struct Subject {
        #[diesel(sql_type = Text)]
        subject: String,
    }
    let digest: Subject = diesel::sql_query("SELECT subject FROM email_outbox WHERE kind = 'daily_digest'").get_result(&mut conn).await.unwrap();
    assert_eq!(digest.subject, "Olga's team on 2026-12-02: 0 published, 0 failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn approvers_hear_of_a_post_waiting_for_them_and_its_author_of_each_decision() {
    let Some((addr, maildir)) = smtp_server() else { return };
    let sandbox = fast_sandbox().await;
    let app = app_with_mail(&sandbox, addr).await;
    let owner_address = unique_address("Olga");
    let mut owner = sign_up(&app, "Olga", &owner_address, None).await;
    let account = connected_account(&sandbox, &mut owner, "Maya Public").await;
    owner.call::<()>("teams/approval-required", &[("required", "true")]).await.unwrap();
    let mut join = async |role: &str, name: &str| {
        let invite: CreatedInvite = owner.call("teams/invites/create", &[("role", role)]).await.unwrap();
        let address = unique_address(name);
        (sign_up(&app, name, &address, Some(invite.path.trim_start_matches("/invite/"))).await, address)
    };
    let (mut editor, editor_address) = join("editor", "Eddie").await;
    let (_viewer, viewer_address) = join("viewer", "Vera").await;
    let (mut admin, admin_address) = join("admin", "Ada").await;
    admin.call::<()>("notifications/email-preferences/save", &choices(&[("approval_requested", false)])).await.unwrap();

    let at = OffsetDateTime::now_utc() + time::Duration::days(1);
    let mut upload = Upload::scheduled(&account, "SELF_ONLY", SyntheticVideo::mp4(20, 200_000), at);
    upload.choices.caption = "Launch day is here".into();
    let post = upload.send(&mut editor).await.unwrap().post_id;
    let mailer = mailer(&app);
    assert_eq!(send_due(&app.state.pool, &mailer).await.unwrap(), 1, "only Olga: Ada chose not to, Vera cannot approve, Eddie asked");
    let asked = messages_to(&maildir, &owner_address);
    assert_eq!(asked.len(), 1);
    assert_eq!(header(&asked[0], "Subject"), Some("Eddie asks for approval of a post in Olga's team"));
    assert!(asked[0].contains("Caption: \"Launch day is here\"") && asked[0].contains("Account: Maya Public"), "{}", asked[0]);
    assert!(asked[0].contains(&format!("/posts/{post}")), "a link to the post: {}", asked[0]);

    owner
        .call::<()>("posts/request-changes", &[("post_id", &post.to_string()), ("comment", "Say which day, please")])
        .await
        .unwrap();
    let detail: app::posts::types::PostDetail = owner.call("posts/detail", &[("post_id", &post.to_string())]).await.unwrap();
    owner.call::<()>("posts/approve", &[("post_id", &post.to_string()), ("fingerprint", &detail.approval.fingerprint)]).await.unwrap();
    owner.call::<()>("posts/approve", &[("post_id", &post.to_string()), ("fingerprint", &detail.approval.fingerprint)]).await.unwrap();
    assert_eq!(send_due(&app.state.pool, &mailer).await.unwrap(), 2, "one e-mail per decision; approving again is no new decision");
    let mut told: Vec<String> = messages_to(&maildir, &editor_address).iter().filter_map(|m| header(m, "Subject").map(str::to_owned)).collect();
    told.sort();
    assert_eq!(told, ["Olga approved your post in Olga's team", "Olga asks for changes to your post in Olga's team"]);
    let changes = messages_to(&maildir, &editor_address).into_iter().find(|m| m.contains("asks for changes")).unwrap();
    assert!(changes.contains("\"Say which day, please\""), "{changes}");
    assert!(messages_to(&maildir, &viewer_address).is_empty() && messages_to(&maildir, &admin_address).is_empty());
}
