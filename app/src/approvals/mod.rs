//! Approvals: a team may require that an approver approves each post, and the approval holds only for the exact content approved.

pub mod api;
pub mod components;
#[cfg(feature = "ssr")]
pub mod emails;
#[cfg(feature = "ssr")]
pub mod fingerprint;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod types;
