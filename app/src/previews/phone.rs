//! A post as TikTok's app shows it on a phone: the video filling a 9:16 screen, the account and the caption over its foot.

use leptos::prelude::*;

/// Lines of caption TikTok shows before "more".
const CAPTION_LINES: &str = "2";

/// Used on a guest's preview page (fixed values) and in the composer (following what is typed).
#[component]
pub fn PhonePreview(
    /// Where the video comes from (a URL the browser may load).
    #[prop(into)]
    video_src: Signal<String>,
    #[prop(into)] account: Signal<String>,
    #[prop(into)] caption: Signal<String>,
    /// The composer seeks this element to show the cover frame.
    #[prop(optional)]
    video_ref: Option<NodeRef<leptos::html::Video>>,
    /// Load the whole video at once: for a local file (the composer), so its first frame is
    /// there to draw; over the network only what is played is fetched.
    #[prop(optional)]
    eager: bool,
) -> impl IntoView {
    let expanded = RwSignal::new(false);
    let long = move || caption.with(|c| c.chars().count() > 80 || c.lines().count() > 2);
    let video_ref = video_ref.unwrap_or_default();
    view! {
        <figure class="phone" aria-label="How the post looks on TikTok">
            <div class="phone-screen">
                <video class="phone-video" node_ref=video_ref src=move || video_src.get() controls=true playsinline=true muted=true preload=if eager { "auto" } else { "metadata" }></video>
                <figcaption class="phone-overlay">
                    <p class="phone-account">{move || format!("@{}", account.get())}</p>
                    <p class="phone-caption" class:clamped=move || !expanded.get() style:--lines=CAPTION_LINES>{move || caption.get()}</p>
                    <Show when=long>
                        <button type="button" class="phone-more" on:click=move |_| expanded.update(|open| *open = !*open)>
                            {move || if expanded.get() { "less" } else { "more" }}
                        </button>
                    </Show>
                </figcaption>
                <ul class="phone-rail" aria-hidden="true">
                    <li class="phone-avatar">{move || account.with(|a| a.chars().next().map(|c| c.to_uppercase().to_string()).unwrap_or_default())}</li>
                    <li>"♥"</li>
                    <li>"❝"</li>
                    <li>"↗"</li>
                </ul>
            </div>
        </figure>
    }
    .into_any()
}
