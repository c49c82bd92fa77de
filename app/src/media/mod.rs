//! Videos and photos as Cadence sees them: what the container says (duration, size, codec), whether
//! TikTok would take it, where they are stored and how members and TikTok reach them.

#[cfg(feature = "hydrate")]
pub mod browser;
#[cfg(feature = "ssr")]
pub mod catalog;
pub mod delivery;
pub mod image;
pub mod probe;
pub mod quota;
#[cfg(feature = "ssr")]
pub mod head;
#[cfg(feature = "ssr")]
pub mod members;
#[cfg(feature = "ssr")]
pub mod public_url;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod sweep;
pub mod thumbnail;
