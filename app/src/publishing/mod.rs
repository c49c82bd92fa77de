//! Getting a post's video to TikTok: streaming bytes into TikTok's chunked upload.

#[cfg(feature = "ssr")]
pub mod stream;
