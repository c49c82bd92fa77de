//! How sessions end: a password change (through the epoch, even against a session written back
//! by a racing request), the absolute lifetime, and an idle expiry that moves without a write
//! on every request.

use crate::util::{
    TestApp,
    stolen_session::{StolenSession, password_changed_with_a_stolen_record_in_hand},
};
use app::db::schema::sessions;
use diesel::QueryDsl as _;
use diesel_async::RunQueryDsl as _;
use tower_sessions::SessionStore;

async fn only_session(app: &TestApp) -> (serde_json::Value, time::OffsetDateTime) {
    let mut conn = app.conn().await;
    sessions::table.select((sessions::data, sessions::expiry_date)).first(&mut conn).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_written_back_after_a_password_change_stays_logged_out() {
    let app = TestApp::new().await;
    // A request on the stolen session had its record in hand (say it was cycling the id) while
    // the owner changed the password...
    let StolenSession { mut here, mut stolen, store, mut in_flight, .. } = password_changed_with_a_stolen_record_in_hand(&app).await;
    // ...and stores it again after the password change deleted it.
    SessionStore::create(&store, &mut in_flight).await.unwrap();
    stolen.cookie = Some(in_flight.id.to_string());
    assert!(SessionStore::load(&store, &in_flight.id).await.unwrap().is_some(), "the row is back");

    assert!(stolen.session_info().await.is_none(), "a session from before the change is refused");
    assert!(here.session_info().await.is_some(), "the browser that changed it moved to the new epoch");
    let mut fresh = app.client();
    fresh.call::<()>("auth/login", &[("email", "ana@example.com"), ("password", "a brand new passphrase")]).await.unwrap();
    assert!(fresh.session_info().await.is_some(), "a log-in after the change works");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_ends_at_its_absolute_lifetime_however_busy_it_is() {
    let app = TestApp::with_settings(&[("CADENCE_SESSION_MAX_DAYS", "2")]).await;
    let mut ana = app.signed_up("Ana").await;
    let (data, _) = only_session(&app).await;
    let ends_at = data["ends_at"].as_i64().expect("the end is stored at log-in");
    let expected = (time::OffsetDateTime::now_utc() + time::Duration::days(2)).unix_timestamp();
    assert!((expected - ends_at).abs() < 60, "two days after log-in: {ends_at} vs {expected}");
    assert!(ana.session_info().await.is_some());

    // Move the end into the past; the idle expiry is still far away.
    let mut conn = app.conn().await;
    diesel::sql_query("UPDATE sessions SET data = jsonb_set(data, '{ends_at}', to_jsonb(extract(epoch FROM now())::bigint - 1))")
        .execute(&mut conn)
        .await
        .unwrap();
    assert!(ana.session_info().await.is_none(), "the session is over");
    assert!(ana.session_info().await.is_none(), "and stays over");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_idle_expiry_moves_but_not_on_every_request() {
    let app = TestApp::new().await;
    let mut ana = app.signed_up("Ana").await;
    let (_, first) = only_session(&app).await;
    assert!(ana.session_info().await.is_some());
    assert_eq!(only_session(&app).await.1, first, "a page view right after log-in writes nothing");

    // Pretend the last touch was six minutes ago and the expiry an hour closer.
    let mut conn = app.conn().await;
    diesel::sql_query(
        "UPDATE sessions SET data = jsonb_set(data, '{touched_at}', to_jsonb(extract(epoch FROM now())::bigint - 360)), \
         expiry_date = expiry_date - interval '1 hour'",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    assert!(ana.session_info().await.is_some());
    let (data, moved) = only_session(&app).await;
    assert!(moved > first - time::Duration::minutes(1), "the idle expiry moved forward again: {moved} vs {first}");
    let touched = data["touched_at"].as_i64().unwrap();
    assert!(time::OffsetDateTime::now_utc().unix_timestamp() - touched < 60, "the touch was recorded");
}
