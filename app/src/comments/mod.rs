//! Comments: a thread on each post for its team, shown beside the post's timeline.

pub mod api;
pub mod components;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod types;
