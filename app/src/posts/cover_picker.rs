//! The "Cover frame" slider: picks the moment TikTok shows as the cover (`video_cover_timestamp_ms`) and seeks the phone preview there, so the frame seen is the frame chosen (and the one the lists' thumbnail is drawn from).

use crate::posts::rules::ComposerChoices;
use leptos::prelude::*;

/// `id` names the input (the composer and the edit form each have one); `duration_ms` is the
/// video's length; `video` is the preview to seek.
#[component]
pub fn CoverPicker(id: &'static str, choices: RwSignal<ComposerChoices>, duration_ms: u32, video: NodeRef<leptos::html::Video>) -> impl IntoView {
    let pick = move |ms: u32| {
        choices.update(|c| c.cover_timestamp_ms = Some(ms.min(duration_ms)));
        #[cfg(feature = "hydrate")]
        if let Some(video) = video.get() {
            video.set_current_time(f64::from(ms) / 1000.0);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = video;
    };
    let chosen = move || choices.with(|c| c.cover_timestamp_ms.unwrap_or(0));
    view! {
        <div class="field">
            <label for=id>"Cover frame"</label>
            <input id=id type="range" min="0" max=duration_ms.to_string() step="100"
                prop:value=move || chosen().to_string()
                on:input=move |ev| pick(event_target_value(&ev).parse().unwrap_or(0))/>
            <p class="hint">{move || format!("Frame at {:.1} s", f64::from(chosen()) / 1000.0)}</p>
        </div>
    }
}
