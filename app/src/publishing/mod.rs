//! Getting a post's video to TikTok: taking it from the browser, streaming it into TikTok's
//! chunked upload, publishing scheduled posts when due, and following each publish to its end.

#[cfg(feature = "ssr")]
pub mod due;
#[cfg(feature = "ssr")]
pub mod inbox_cap;
#[cfg(feature = "ssr")]
pub mod intake;
#[cfg(feature = "ssr")]
pub mod lease;
#[cfg(feature = "ssr")]
pub mod photos;
#[cfg(feature = "ssr")]
pub mod post_id_lookup;
#[cfg(feature = "ssr")]
pub mod pull;
#[cfg(feature = "ssr")]
pub mod recovery;
#[cfg(feature = "ssr")]
pub mod replace;
#[cfg(feature = "ssr")]
pub mod retry;
#[cfg(feature = "ssr")]
pub mod send;
#[cfg(feature = "ssr")]
pub mod spool;
#[cfg(feature = "ssr")]
pub mod status;
#[cfg(feature = "ssr")]
pub mod stream;
