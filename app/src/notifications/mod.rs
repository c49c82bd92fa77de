//! Notifications: what needs a person's attention (failed or unconfirmed posts, accounts to
//! reconnect), kept until someone acknowledges it.

pub mod api;
pub mod components;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod types;
