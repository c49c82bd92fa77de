//! Posts: what a person composes for TikTok, and the rules it must follow.

pub mod rules;
