//! Videos as Cadence sees them: what the container says (duration, size, codec) and whether
//! TikTok would take it.

pub mod probe;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(feature = "ssr")]
pub mod store;
