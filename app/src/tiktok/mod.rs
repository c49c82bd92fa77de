//! TikTok's HTTP API as typed calls: OAuth, user info, creator info (and, later, posting).
//!
//! The client has no sandbox special cases: in sandbox mode its base URLs simply point at the
//! sandbox mounted in this server.

#[cfg(feature = "ssr")]
pub mod client;
#[cfg(feature = "ssr")]
pub mod error;
pub mod chunks;
pub mod types;
#[cfg(feature = "ssr")]
pub mod webhook;
