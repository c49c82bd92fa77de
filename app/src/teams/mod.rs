//! Teams (workspaces), roles, invite links, and the caller check every server function uses.

pub mod api;
pub mod components;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod types;
