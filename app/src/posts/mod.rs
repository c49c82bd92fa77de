//! Posts: what a person composes for TikTok, the rules it must follow, and where it stands.

pub mod api;
#[cfg(feature = "hydrate")]
pub mod browser_upload;
pub mod components;
pub mod composer;
pub mod cover_picker;
pub mod edit_form;
#[cfg(feature = "ssr")]
pub mod editing;
#[cfg(feature = "ssr")]
pub mod outcome;
pub mod photo_fields;
pub mod photo_picker;
pub mod photo_rules;
pub mod rules;
pub mod replace_video;
pub mod settings_form;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod types;
