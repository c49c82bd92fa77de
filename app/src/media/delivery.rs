//! How scheduled posts' videos reach TikTok on this install, for the settings page: pulled by
//! TikTok from a verified prefix (what TikTok's guidelines ask), or uploaded as a fallback.

use crate::{error::AppError, request_scope::page_resource};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// This server's media delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaDelivery {
    /// `CADENCE_MEDIA_PUBLIC_URL` as the prefix to verify at TikTok; `None` when unset.
    pub verified_prefix: Option<String>,
}

/// How this server hands scheduled videos to TikTok (any signed-in member may look).
#[server(endpoint = "media/delivery")]
pub async fn get_media_delivery() -> Result<MediaDelivery, AppError> {
    use crate::{state::{app_state, db}, teams::{ssr::require_role, types::Role}};
    require_role(&mut *db().await?, Role::Viewer).await?;
    let state = app_state()?;
    Ok(MediaDelivery { verified_prefix: state.config.media_public_url.as_ref().map(|url| url.prefix()) })
}

/// The settings card: the prefix to verify, or a warning that scheduled videos are uploaded.
#[component]
pub fn MediaDeliveryCard() -> impl IntoView {
    let delivery = page_resource(|| (), |()| get_media_delivery());
    view! {
        <section class="card" aria-labelledby="media-delivery-title">
            <h2 id="media-delivery-title">"Media for TikTok"</h2>
            <Suspense>
                {move || Suspend::new(async move {
                    match delivery.await {
                        Ok(MediaDelivery { verified_prefix: Some(prefix) }) => view! {
                            <p>"TikTok downloads scheduled videos from Cadence at URLs under "
                                <code>{prefix}</code>
                                ". This prefix must be verified for your app in TikTok's developer portal."</p>
                        }.into_any(),
                        Ok(MediaDelivery { verified_prefix: None }) => view! {
                            <p class="cap-warning" role="alert">"⚠ No media URL is configured (CADENCE_MEDIA_PUBLIC_URL), so \
                                scheduled videos are uploaded to TikTok with FILE_UPLOAD. TikTok's guidelines ask apps to let \
                                TikTok pull media already on their servers from a verified URL prefix; see the README."</p>
                        }.into_any(),
                        Err(error) => view! { <p class="error">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
