//! A stolen session whose record a racing request holds while the owner changes the password:
//! the set-up both the store test and the epoch test start from.

use super::{TestApp, TestClient, test_app::PASSWORD};
use server::session_store::PgSessionStore;
use tower_sessions::{SessionStore as _, session::{Id, Record}};

/// The owner's browser, the thief's, the store, the stolen session's id, and the record a request
/// on it loaded before the owner (Ana) changed her password to "a brand new passphrase".
pub struct StolenSession {
    pub here: TestClient,
    pub stolen: TestClient,
    pub store: PgSessionStore,
    pub id: Id,
    pub in_flight: Record,
}

pub async fn password_changed_with_a_stolen_record_in_hand(app: &TestApp) -> StolenSession {
    let mut here = app.signed_up("Ana").await;
    let mut stolen = app.client();
    stolen.call::<()>("auth/login", &[("email", "ana@example.com"), ("password", PASSWORD)]).await.unwrap();
    let store = PgSessionStore::new(app.state.pool.clone());
    let id: Id = stolen.cookie.clone().unwrap().parse().unwrap();
    let in_flight = store.load(&id).await.unwrap().expect("the stolen session is stored");
    here.call::<()>("auth/password", &[("current_password", PASSWORD), ("new_password", "a brand new passphrase")])
        .await
        .unwrap();
    StolenSession { here, stolen, store, id, in_flight }
}
