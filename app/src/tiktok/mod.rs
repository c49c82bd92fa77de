//! TikTok's HTTP API as typed calls: OAuth, user info, creator info, posting and status, and
//! the rate limits Cadence keeps to.
//!
//! The client has no sandbox special cases: in sandbox mode its base URLs simply point at the
//! sandbox mounted in this server.

#[cfg(feature = "ssr")]
pub mod breaker;
#[cfg(feature = "ssr")]
pub mod client;
#[cfg(feature = "ssr")]
pub mod display;
#[cfg(feature = "ssr")]
pub mod error;
pub mod chunks;
pub mod fail_reason;
#[cfg(feature = "ssr")]
pub mod publish_status;
#[cfg(feature = "ssr")]
pub mod rate_limit;
pub mod scopes;
pub mod types;
#[cfg(feature = "ssr")]
pub mod webhook;
#[cfg(feature = "ssr")]
pub mod video_stats;
