//! Sign-up, log-in, log-out, session cycling, limits, and sessions across restarts.

use crate::util::{TestApp, test_app::PASSWORD};
use app::{db::schema::{login_failures, sessions, users}, error::AppError, teams::types::Role};
use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::RunQueryDsl as _;

#[tokio::test(flavor = "multi_thread")]
async fn sign_up_creates_a_team_with_the_user_as_owner() {
    let app = TestApp::new().await;
    let mut ana = app.signed_up("Ana").await;

    let info = ana.session_info().await.expect("logged in after sign-up");
    assert_eq!(info.user.email, "ana@example.com");
    assert_eq!(info.user.time_zone, "Europe/Berlin");
    assert_eq!(info.team.name, "Ana's team");
    assert_eq!(info.role, Role::Owner);

    let mut conn = app.conn().await;
    let hash: String = users::table.select(users::password_hash).first(&mut conn).await.unwrap();
    assert!(hash.starts_with("$argon2id$") && !hash.contains(PASSWORD));
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_up_refuses_bad_input_and_taken_emails_field_by_field() {
    let app = TestApp::new().await;
    app.signed_up("Ana").await;
    let mut client = app.client();
    let attempt = |email: &'static str, password: &'static str| {
        [("email", email), ("password", password), ("display_name", "Someone"), ("time_zone", "UTC")]
    };

    let short = client.call::<()>("auth/signup", &attempt("bo@example.com", "short")).await.unwrap_err();
    assert_eq!(short.field_message("password").as_deref(), Some("Use at least 10 characters."));
    let bad_email = client.call::<()>("auth/signup", &attempt("not-an-email", PASSWORD)).await.unwrap_err();
    assert!(bad_email.field_message("email").is_some());
    let taken = client.call::<()>("auth/signup", &attempt("ANA@example.com", PASSWORD)).await.unwrap_err();
    assert_eq!(
        taken.field_message("email").as_deref(),
        Some("An account with this e-mail already exists. Log in instead.")
    );

    let mut conn = app.conn().await;
    let count: i64 = users::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(count, 1, "refused sign-ups store nothing");
    assert!(client.session_info().await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn log_in_cycles_the_session_id_and_log_out_ends_it() {
    let app = TestApp::new().await;
    let mut ana = app.signed_up("Ana").await;
    let before_login = ana.cookie.clone().expect("sign-up sets a session cookie");

    ana.call::<()>("auth/login", &[("email", "ana@example.com"), ("password", PASSWORD)]).await.unwrap();
    let after_login = ana.cookie.clone().unwrap();
    assert_ne!(before_login, after_login, "log-in must issue a new session id");

    // The old id is worthless now (fixation defence).
    let mut planted = app.client();
    planted.cookie = Some(before_login);
    assert!(planted.session_info().await.is_none());

    ana.call::<()>("auth/logout", &[]).await.unwrap();
    assert!(ana.cookie.is_none(), "log-out clears the cookie");
    let mut replay = app.client();
    replay.cookie = Some(after_login);
    assert!(replay.session_info().await.is_none(), "a logged-out session id cannot be replayed");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_passwords_are_refused_without_saying_which_part_was_wrong() {
    let app = TestApp::new().await;
    app.signed_up("Ana").await;
    let mut client = app.client();
    let wrong_password =
        client.call::<()>("auth/login", &[("email", "ana@example.com"), ("password", "not the password")]).await;
    let unknown_email =
        client.call::<()>("auth/login", &[("email", "nobody@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(wrong_password.unwrap_err(), unknown_email.unwrap_err());
    assert!(client.session_info().await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guesser_is_paused_without_locking_the_owner_out_and_the_pause_ends() {
    let app = TestApp::with_settings(&[("CADENCE_LOGIN_MAX_FAILURES_PER_ACCOUNT", "3")]).await;
    app.signed_up("Ana").await;
    let mut attacker = app.client();
    attacker.peer = "203.0.113.9:4000".parse().unwrap();
    for _ in 0..3 {
        let error = attacker
            .call::<()>("auth/login", &[("email", "ana@example.com"), ("password", "guess guess guess")])
            .await
            .unwrap_err();
        assert!(error.field_message("password").is_some());
    }
    // From the guesser's address even the right password is refused, with a clear wait time.
    let paused = attacker.call::<()>("auth/login", &[("email", "ana@example.com"), ("password", PASSWORD)]).await;
    match paused.unwrap_err() {
        AppError::RateLimited { retry_after_secs } => assert!((1..=15 * 60).contains(&retry_after_secs)),
        other => panic!("expected a rate limit, got {other:?}"),
    }
    // The owner, elsewhere, is not locked out by a stranger.
    let mut owner = app.client();
    owner.call::<()>("auth/login", &[("email", "ana@example.com"), ("password", PASSWORD)]).await.unwrap();

    // The pause ends by itself once the failures are older than the window, however often the
    // paused address kept trying (refused attempts do not extend it).
    let mut conn = app.conn().await;
    diesel::update(login_failures::table)
        .set(login_failures::failed_at.eq(time::OffsetDateTime::now_utc() - time::Duration::minutes(16)))
        .execute(&mut conn)
        .await
        .unwrap();
    attacker.call::<()>("auth/login", &[("email", "ana@example.com"), ("password", PASSWORD)]).await.unwrap();
    let remaining: i64 = login_failures::table
        .filter(login_failures::subject.eq("account:ana@example.com|ip:203.0.113.9"))
        .filter(login_failures::failed_at.gt(time::OffsetDateTime::now_utc() - time::Duration::minutes(15)))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(remaining, 0, "a successful log-in forgives this address's failures");
}

#[tokio::test(flavor = "multi_thread")]
async fn guessing_from_many_addresses_is_bounded_per_account() {
    let app = TestApp::with_settings(&[("CADENCE_LOGIN_MAX_FAILURES_PER_ACCOUNT", "1")]).await;
    app.signed_up("Ana").await;
    for n in 0..10 {
        let mut guesser = app.client();
        guesser.peer = format!("198.51.100.{n}:1000").parse().unwrap();
        let error = guesser.call::<()>("auth/login", &[("email", "ana@example.com"), ("password", "wrong wrong wrong")]).await;
        assert!(error.unwrap_err().field_message("password").is_some(), "guess {n} is checked");
    }
    let mut eleventh = app.client();
    eleventh.peer = "192.0.2.200:1000".parse().unwrap();
    let refused = eleventh.call::<()>("auth/login", &[("email", "ana@example.com"), ("password", PASSWORD)]).await;
    assert!(matches!(refused, Err(AppError::RateLimited { .. })), "ten times the per-address limit across addresses: {refused:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn parallel_guesses_cannot_slip_past_the_limit() {
    let app = TestApp::with_settings(&[("CADENCE_LOGIN_MAX_FAILURES_PER_ACCOUNT", "3")]).await;
    app.signed_up("Ana").await;
    let guesses: Vec<_> = (0..16)
        .map(|n| {
            let mut client = app.client();
            client.peer = "203.0.113.50:1000".parse().unwrap();
            tokio::spawn(async move {
                let password = format!("parallel guess {n}");
                client.call::<()>("auth/login", &[("email", "ana@example.com"), ("password", &password)]).await
            })
        })
        .collect();
    let mut checked = 0;
    for guess in guesses {
        match guess.await.unwrap() {
            Err(AppError::Validation { .. }) => checked += 1,
            Err(AppError::RateLimited { .. }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!((1..=3).contains(&checked), "only the allowed number of passwords were tried: {checked}");
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_log_ins_are_limited_per_address_across_accounts() {
    let app = TestApp::with_settings(&[("CADENCE_LOGIN_MAX_FAILURES_PER_IP", "4")]).await;
    // Per address across accounts (password spraying).
    app.signed_up("Ana").await;
    let mut sprayer = app.client();
    sprayer.peer = "198.51.100.1:1000".parse().unwrap();
    for n in 0..4 {
        let email = format!("user{n}@example.com");
        let error = sprayer.call::<()>("auth/login", &[("email", &email), ("password", PASSWORD)]).await.unwrap_err();
        assert!(error.field_message("password").is_some());
    }
    let blocked = sprayer.call::<()>("auth/login", &[("email", "ana@example.com"), ("password", PASSWORD)]).await;
    assert!(matches!(blocked, Err(AppError::RateLimited { .. })), "{blocked:?}");

    let mut elsewhere = app.client();
    elsewhere.peer = "192.0.2.50:1000".parse().unwrap();
    elsewhere.call::<()>("auth/login", &[("email", "ana@example.com"), ("password", PASSWORD)]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_survive_a_server_restart_and_work_on_another_instance() {
    let app = TestApp::new().await;
    let ana = app.signed_up("Ana").await;
    let mut on_restarted = ana.on(app.another_server());
    let info = on_restarted.session_info().await.expect("the session is in PostgreSQL, not in memory");
    assert_eq!(info.user.display_name, "Ana");
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_sessions_are_not_loaded_and_are_deleted() {
    use tower_sessions::ExpiredDeletion as _;
    let app = TestApp::new().await;
    let mut ana = app.signed_up("Ana").await;
    let mut conn = app.conn().await;
    diesel::update(sessions::table)
        .set(sessions::expiry_date.eq(time::OffsetDateTime::now_utc() - time::Duration::seconds(1)))
        .execute(&mut conn)
        .await
        .unwrap();
    assert!(ana.session_info().await.is_none(), "an expired session is not honoured");

    server::session_store::PgSessionStore::new(app.state.pool.clone()).delete_expired().await.unwrap();
    let left: i64 = sessions::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(left, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn profile_and_password_changes_are_checked() {
    let app = TestApp::new().await;
    let mut ana = app.signed_up("Ana").await;

    let updated: app::auth::types::UserView = ana
        .call("auth/profile", &[("display_name", "Ana Lima"), ("time_zone", "America/Sao_Paulo")])
        .await
        .unwrap();
    assert_eq!((updated.display_name.as_str(), updated.time_zone.as_str()), ("Ana Lima", "America/Sao_Paulo"));
    let bad_zone = ana.call::<app::auth::types::UserView>("auth/profile", &[("display_name", "Ana"), ("time_zone", "Mars/Base; x")]).await;
    assert!(bad_zone.unwrap_err().field_message("time_zone").is_some());

    let wrong = ana
        .call::<()>("auth/password", &[("current_password", "nope nope nope"), ("new_password", "a brand new passphrase")])
        .await
        .unwrap_err();
    assert!(wrong.field_message("current_password").is_some());
    ana.call::<()>("auth/password", &[("current_password", PASSWORD), ("new_password", "a brand new passphrase")])
        .await
        .unwrap();
    let mut again = app.client();
    assert!(again.call::<()>("auth/login", &[("email", "ana@example.com"), ("password", PASSWORD)]).await.is_err());
    again
        .call::<()>("auth/login", &[("email", "ana@example.com"), ("password", "a brand new passphrase")])
        .await
        .unwrap();

    let mut anonymous = app.client();
    let refused = anonymous.call::<app::auth::types::UserView>("auth/profile", &[("display_name", "X"), ("time_zone", "UTC")]).await;
    assert_eq!(refused.unwrap_err(), AppError::Unauthorized);
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_the_password_ends_every_other_session() {
    let app = TestApp::new().await;
    let mut here = app.signed_up("Ana").await;
    let mut elsewhere = app.client();
    elsewhere.call::<()>("auth/login", &[("email", "ana@example.com"), ("password", PASSWORD)]).await.unwrap();
    assert!(elsewhere.session_info().await.is_some());

    here.call::<()>("auth/password", &[("current_password", PASSWORD), ("new_password", "a brand new passphrase")])
        .await
        .unwrap();
    assert!(elsewhere.session_info().await.is_none(), "the other browser is logged out");
    assert!(here.session_info().await.is_some(), "the browser that changed it stays logged in");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_in_flight_during_a_password_change_cannot_bring_the_ended_session_back() {
    use tower_sessions::SessionStore;
    let app = TestApp::new().await;
    // A request on the stolen session (say teams/switch) loaded its record, then the owner
    // changed the password...
    let crate::util::stolen_session::StolenSession { mut here, mut stolen, store, id, mut in_flight } =
        crate::util::stolen_session::password_changed_with_a_stolen_record_in_hand(&app).await;
    // ...and the request ends by saving the (modified) record it loaded before.
    in_flight.data.insert("team_id".into(), serde_json::json!(uuid::Uuid::new_v4()));
    SessionStore::save(&store, &in_flight).await.unwrap();

    assert!(SessionStore::load(&store, &id).await.unwrap().is_none(), "the ended session is not stored again");
    assert!(stolen.session_info().await.is_none(), "the stolen session stays logged out");
    assert!(here.session_info().await.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn control_characters_in_any_field_get_a_field_error_not_a_500() {
    let app = TestApp::new().await;
    let mut visitor = app.client();
    let sign_up = |email: &'static str, name: &'static str, invite: &'static str| {
        [("email", email), ("password", PASSWORD), ("display_name", name), ("time_zone", "UTC"), ("invite", invite)]
    };
    let error = visitor.call::<()>("auth/signup", &sign_up("ana\0@example.com", "Ana", "")).await.unwrap_err();
    assert!(error.field_message("email").unwrap().contains("U+0000"), "{error:?}");
    let error = visitor.call::<()>("auth/signup", &sign_up("ana@example.com", "Ana\u{1b}[2J", "")).await.unwrap_err();
    assert!(error.field_message("display_name").unwrap().contains("U+001B"), "{error:?}");
    let error = visitor.call::<()>("auth/signup", &sign_up("ana@example.com", "Ana", "tok\0en")).await.unwrap_err();
    assert!(error.field_message("invite").is_some(), "an impossible invite is just unusable: {error:?}");
    let error = visitor.call::<()>("auth/login", &[("email", "ana\0@example.com"), ("password", PASSWORD)]).await.unwrap_err();
    assert!(error.field_message("email").unwrap().contains("control character"), "{error:?}");

    let mut ana = app.signed_up("Ana").await;
    let error = ana.call::<app::auth::types::UserView>("auth/profile", &[("display_name", "A\0na"), ("time_zone", "UTC")]).await;
    assert!(error.unwrap_err().field_message("display_name").is_some());
    for endpoint in ["teams/create", "teams/rename"] {
        let error = ana.call::<serde_json::Value>(endpoint, &[("name", "Stu\0dio")]).await.unwrap_err();
        assert!(error.field_message("name").unwrap().contains("U+0000"), "{endpoint}: {error:?}");
    }
    let stored: Vec<String> = users::table.select(users::display_name).load(&mut app.conn().await).await.unwrap();
    assert_eq!(stored, ["Ana"], "nothing with a control character was stored");
}

#[tokio::test(flavor = "multi_thread")]
async fn guessing_the_current_password_is_limited_like_log_in() {
    let app = crate::util::TestApp::new().await;
    let mut holder = app.signed_up("Gina").await;
    let guess = |password: &'static str| [("current_password", password), ("new_password", "a brand new passphrase")];
    for _ in 0..5 {
        let wrong = holder.call::<()>("auth/password", &guess("a wrong guess")).await.unwrap_err();
        assert!(wrong.field_message("current_password").is_some(), "{wrong:?}");
    }
    let limited = holder.call::<()>("auth/password", &guess("a wrong guess")).await.unwrap_err();
    assert!(matches!(limited, app::error::AppError::RateLimited { .. }), "the sixth guess in the window waits: {limited:?}");

    // Another person's guesses are their own.
    let mut other = app.signed_up("Hugo").await;
    other.call::<()>("auth/password", &guess(PASSWORD)).await.expect("Hugo is not limited by Gina's guesses");
}
