//! Test harness: databases, the app, and a cookie-keeping client.

pub mod db_proxy;
pub mod ledger;
pub mod logs;
pub mod photo_upload;
pub mod posts;
pub mod private_postgres;
pub mod sandbox;
pub mod server_process;
pub mod stolen_session;
pub mod test_app;
pub mod test_db;
pub mod upload;

pub use test_app::{TestApp, TestClient};
