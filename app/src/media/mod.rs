//! Videos as Cadence sees them: what the container says (duration, size, codec) and whether
//! TikTok would take it.

#[cfg(feature = "hydrate")]
pub mod browser;
#[cfg(feature = "ssr")]
pub mod catalog;
pub mod delivery;
pub mod probe;
pub mod quota;
#[cfg(feature = "ssr")]
pub mod head;
#[cfg(feature = "ssr")]
pub mod public_url;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod sweep;
