//! Drafts: a video and the composer's choices kept before the post has a time or an account, then scheduled under the composer's rules.

pub mod api;
pub mod components;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod types;
