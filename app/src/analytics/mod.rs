//! Analytics: how each post and account does on TikTok over time, collected from the Display
//! API into snapshots, charted as server-rendered SVG, and the account's best times to post.

pub mod api;
#[cfg(feature = "ssr")]
pub mod best_times;
#[cfg(feature = "ssr")]
pub mod budget;
#[cfg(feature = "ssr")]
pub mod cache;
pub mod charts;
#[cfg(feature = "ssr")]
pub mod collect;
pub mod components;
pub mod csv;
#[cfg(feature = "ssr")]
pub mod retention;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod types;
