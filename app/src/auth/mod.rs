//! People's accounts: sign-up, log-in with limits, log-out, profile settings.

pub mod api;
pub mod components;
#[cfg(feature = "ssr")]
pub mod ssr;
#[cfg(feature = "ssr")]
pub mod signup;
#[cfg(feature = "ssr")]
pub mod known_devices;
#[cfg(feature = "ssr")]
pub mod live;
pub mod types;
