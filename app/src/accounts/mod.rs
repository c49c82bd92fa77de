//! Connected TikTok accounts: OAuth connect and reconnect, encrypted tokens, refresh,
//! disconnect, and what TikTok's webhooks say about them.

pub mod api;
pub mod components;
#[cfg(feature = "ssr")]
pub mod connect;
#[cfg(feature = "ssr")]
pub mod keys;
#[cfg(feature = "ssr")]
pub mod profile;
#[cfg(feature = "ssr")]
pub mod refresh;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod types;
