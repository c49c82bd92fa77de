//! A stored carousel's own fields, for the draft page and the edit form: its images with the cover to choose, the title, and "add music automatically".

use crate::posts::{
    photo_rules::{PHOTO_TITLE_LIMIT, PhotoChoices},
    rules::caption_length,
};
use leptos::prelude::*;

/// The images at `urls` (members-only addresses, in order) with a cover radio each, and the
/// title and music fields, bound to `photo`; ids start with `id_prefix` (`draft`, `edit`).
#[component]
pub fn StoredPhotoFields(urls: Vec<String>, photo: RwSignal<PhotoChoices>, id_prefix: &'static str) -> impl IntoView {
    let cover = move || photo.with(|p| p.cover_index as usize);
    let group = format!("{id_prefix}-photo-cover");
    view! {
        <fieldset class="photo-grid">
            <legend>{format!("{} · cover (the photo TikTok shows first in feeds)", crate::posts::components::photo_count(urls.len()))}</legend>
            <ol>
                {urls.into_iter().enumerate().map(|(index, url)| view! {
                    <li class:cover=move || cover() == index>
                        <label>
                            <img src=url alt=format!("Photo {}", index + 1) data-index=index.to_string()/>
                            <span>
                                <input type="radio" name=group.clone() value=index.to_string()
                                    prop:checked=move || cover() == index
                                    on:change=move |_| photo.update(|p| p.cover_index = index as u32)/>
                                {format!("Photo {}", index + 1)}
                            </span>
                        </label>
                    </li>
                }).collect_view()}
            </ol>
        </fieldset>
        <PhotoTitleField photo id=format!("{id_prefix}-photo-title")/>
        <AutoMusicToggle photo id=format!("{id_prefix}-auto-music")/>
    }
}

/// A carousel's title, counted as TikTok counts it; the composer's and the stored post's.
#[component]
pub fn PhotoTitleField(photo: RwSignal<PhotoChoices>, id: String) -> impl IntoView {
    let label_for = id.clone();
    view! {
        <div class="field">
            <label for=label_for>"Title"</label>
            <input id=id type="text"
                prop:value=move || photo.with(|p| p.title.clone())
                on:input=move |ev| photo.update(|p| p.title = event_target_value(&ev))/>
            <p class="hint" class:over=move || photo.with(|p| caption_length(&p.title) > PHOTO_TITLE_LIMIT)>
                {move || format!("{} / {PHOTO_TITLE_LIMIT}", photo.with(|p| caption_length(&p.title)))}
            </p>
        </div>
    }
}

/// "Add music automatically" (TikTok's `auto_add_music`, Direct Post only).
#[component]
pub fn AutoMusicToggle(photo: RwSignal<PhotoChoices>, id: String) -> impl IntoView {
    let label_for = id.clone();
    view! {
        <label class="toggle" for=label_for>
            <input type="checkbox" id=id
                prop:checked=move || photo.with(|p| p.auto_add_music)
                on:change=move |ev| photo.update(|p| p.auto_add_music = event_target_checked(&ev))/>
            "Add music automatically"
        </label>
    }
}
