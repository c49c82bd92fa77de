//! The sandbox's contract, driven the way a real TikTok client drives TikTok: OAuth, Display API,
//! Content Posting (init, chunked PUT, status, cancel), faults, recording and signed webhooks.
//! One test binary, one module per concern; `harness` holds what they share.

mod analytics;
mod chunk_faults;
mod display;
mod faults;
mod harness;
mod oauth;
mod photos;
mod posting;
mod pull;
mod recording;
mod upload;
mod webhooks;
