//! The calendar: the team's posts by month and week on the member's wall clock, moved by
//! dragging or editing, duplicated, cancelled in bulk.

pub mod api;
pub mod components;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod types;
#[cfg(feature = "ssr")]
pub mod zone;
