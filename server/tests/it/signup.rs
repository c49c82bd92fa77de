//! Who may sign up (`CADENCE_SIGNUP`, invite-only by default once a team exists) and how often
//! one address may try.

use crate::util::{TestApp, TestClient, test_app::PASSWORD};
use app::{error::AppError, teams::types::CreatedInvite};

async fn sign_up(client: &mut TestClient, name: &str, invite: &str) -> Result<(), AppError> {
    let email = format!("{}@example.com", name.to_lowercase());
    client
        .call::<()>(
            "auth/signup",
            &[("email", &email), ("password", PASSWORD), ("display_name", name), ("time_zone", "UTC"), ("invite", invite)],
        )
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn by_default_the_first_owner_signs_up_freely_and_everyone_after_needs_an_invite() {
    // Empty is unset: the automatic default.
    let app = TestApp::with_settings(&[("CADENCE_SIGNUP", "")]).await;
    let mut ana = app.client();
    sign_up(&mut ana, "Ana", "").await.expect("no team exists yet: the first owner may sign up");

    let refused = sign_up(&mut app.client(), "Mallory", "").await.unwrap_err();
    assert!(refused.field_message("invite").unwrap().contains("invitation only"), "{refused:?}");
    let bogus = sign_up(&mut app.client(), "Mallory", "not-a-real-invite").await.unwrap_err();
    assert!(bogus.field_message("invite").is_some(), "an invalid invite does not open the door: {bogus:?}");

    let invite: CreatedInvite = ana.call("teams/invites/create", &[("role", "editor")]).await.unwrap();
    let token = invite.path.rsplit('/').next().unwrap().to_owned();
    let mut bea = app.client();
    sign_up(&mut bea, "Bea", &token).await.expect("an invited person signs up");
    assert_eq!(bea.session_info().await.unwrap().team.id, ana.session_info().await.unwrap().team.id);
}

#[tokio::test(flavor = "multi_thread")]
async fn closed_refuses_everyone_and_invite_applies_even_before_the_first_team() {
    let closed = TestApp::with_settings(&[("CADENCE_SIGNUP", "closed")]).await;
    let refused = sign_up(&mut closed.client(), "Ana", "").await.unwrap_err();
    assert!(matches!(&refused, AppError::Forbidden(m) if m.contains("does not accept new accounts")), "{refused:?}");

    let invite_only = TestApp::with_settings(&[("CADENCE_SIGNUP", "invite")]).await;
    let refused = sign_up(&mut invite_only.client(), "Ana", "").await.unwrap_err();
    assert!(refused.field_message("invite").is_some(), "{refused:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_address_may_sign_up_only_so_often() {
    let app = TestApp::with_settings(&[("CADENCE_SIGNUP_MAX_PER_IP", "2")]).await;
    let mut from_one = app.client();
    from_one.peer = "203.0.113.7:5000".parse().unwrap();
    sign_up(&mut from_one, "Ana", "").await.unwrap();
    // A refused attempt (a taken e-mail) counts too: it is attempts that are limited.
    assert!(sign_up(&mut from_one, "Ana", "").await.unwrap_err().field_message("email").is_some());
    let limited = sign_up(&mut from_one, "Bea", "").await.unwrap_err();
    assert!(matches!(limited, AppError::RateLimited { retry_after_secs } if retry_after_secs > 0), "{limited:?}");

    let mut elsewhere = app.client();
    elsewhere.peer = "198.51.100.7:5000".parse().unwrap();
    sign_up(&mut elsewhere, "Bea", "").await.expect("another address is not affected");
}
