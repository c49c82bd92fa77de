//! Client preview links: an approver shares posts with someone without an account, who sees them as TikTok would show them and approves or asks for changes.

pub mod api;
pub mod components;
pub mod phone;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod types;
