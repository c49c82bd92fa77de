//! The audit log: who changed what in a team, and when, written with each change; read, filtered and exported by owners and admins.

pub mod api;
pub mod components;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod types;
