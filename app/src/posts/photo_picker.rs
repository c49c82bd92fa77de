//! The composer's photo carousel: 1 to 35 JPEG or WebP images, each checked in the browser from
//! its first bytes by the server's own function (`media::image`), shown in their order with a
//! choice of cover, plus the photo post's title and "add music automatically".

use crate::{
    media::image::count_problem,
    posts::{
        photo_fields::{AutoMusicToggle, PhotoTitleField},
        photo_rules::PhotoChoices,
    },
    ui::human_bytes,
};
use leptos::prelude::*;

/// One chosen image as the composer shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct PickedPhoto {
    pub name: String,
    pub size: u64,
    /// An object URL of the file, for the preview (revoked when the choice changes).
    pub url: String,
    /// Why TikTok would refuse it; `None` once it passed (or while it is still being read).
    pub problem: Option<String>,
    /// Read and judged.
    pub checked: bool,
}

/// What stops these photos from being posted, if anything (shown on the publish button).
pub fn photos_problem(photos: &[PickedPhoto]) -> Option<String> {
    if let Some(problem) = count_problem(photos.len()) {
        return Some(problem);
    }
    if let Some((index, photo)) = photos.iter().enumerate().find(|(_, photo)| photo.problem.is_some()) {
        return Some(format!("Photo {} ({}): {}", index + 1, photo.name, photo.problem.clone().unwrap_or_default()));
    }
    photos.iter().any(|photo| !photo.checked).then(|| "Checking the photos…".to_owned())
}

/// The picker, bound to `photos` (what was chosen) and `photo` (title, cover, music); `input`
/// is the file input, which the upload reads the files from. `drafting`: an inbox post, where
/// the creator adds music in the app.
#[component]
pub fn PhotoPicker(
    photos: RwSignal<Vec<PickedPhoto>>,
    photo: RwSignal<PhotoChoices>,
    input: NodeRef<leptos::html::Input>,
    #[prop(into)] drafting: Signal<bool>,
    #[prop(into)] field_problem: Signal<Option<String>>,
) -> impl IntoView {
    let on_files = move |_| {
        #[cfg(feature = "hydrate")]
        {
            for old in photos.get_untracked() {
                let _ = web_sys::Url::revoke_object_url(&old.url);
            }
            let files: Vec<web_sys::File> = input
                .get()
                .and_then(|input| input.files())
                .map(|list| (0..list.length()).filter_map(|i| list.get(i)).collect())
                .unwrap_or_default();
            photo.update(|p| p.cover_index = 0);
            photos.set(
                files
                    .iter()
                    .map(|file| PickedPhoto {
                        name: file.name(),
                        size: file.size() as u64,
                        url: web_sys::Url::create_object_url_with_blob(file).unwrap_or_default(),
                        problem: None,
                        checked: false,
                    })
                    .collect(),
            );
            for (index, file) in files.into_iter().enumerate() {
                leptos::task::spawn_local(async move {
                    let problem = crate::media::browser::photo_problem(&file, crate::media::image::HEAD_BYTES).await;
                    photos.update(|list| {
                        // A newer choice replaced the list meanwhile: this answer is for a file no longer shown.
                        if let Some(entry) = list.get_mut(index).filter(|entry| entry.name == file.name()) {
                            entry.problem = problem;
                            entry.checked = true;
                        }
                    });
                });
            }
        }
    };
    let cover = move || photo.with(|p| p.cover_index as usize);
    view! {
        <div class="field">
            <label for="composer-photos">"Photos"</label>
            <input id="composer-photos" type="file" multiple=true accept="image/jpeg,image/webp" node_ref=input on:change=on_files/>
            <p class="hint">{move || match photos.with(Vec::len) {
                0 => "1 to 35 JPEG or WebP images, up to 20 MB and 1080p each. TikTok downloads them from Cadence.".to_owned(),
                n => format!("{} · {}", crate::posts::components::photo_count(n), human_bytes(photos.with(|list| list.iter().map(|p| p.size).sum()))),
            }}</p>
            <p class="field-error" role="alert">{move || field_problem.get().or_else(|| photos.with(|list| {
                (!list.is_empty()).then(|| photos_problem(list)).flatten().filter(|p| !p.starts_with("Checking"))
            }))}</p>
        </div>
        <Show when=move || photos.with(|list| !list.is_empty())>
            <fieldset class="photo-grid">
                <legend>"Cover (the photo TikTok shows first in feeds)"</legend>
                <ol>
                    {move || photos.get().into_iter().enumerate().map(|(index, picked)| {
                        let refused = picked.problem.is_some();
                        view! {
                        <li class:refused=refused class:cover=move || cover() == index>
                            <label>
                                <img src=picked.url.clone() alt=format!("Photo {}: {}", index + 1, picked.name) data-index=index.to_string()/>
                                <span>
                                    <input type="radio" name="photo-cover" value=index.to_string()
                                        prop:checked=move || cover() == index
                                        on:change=move |_| photo.update(|p| p.cover_index = index as u32)/>
                                    {format!("{}. {}", index + 1, picked.name)}
                                </span>
                            </label>
                            {picked.problem.map(|problem| view! { <p class="field-error">{problem}</p> })}
                        </li>
                        }
                    }).collect_view()}
                </ol>
            </fieldset>
        </Show>
        <PhotoTitleField photo id="composer-photo-title".to_owned()/>
        <Show when=move || !drafting.get()>
            <AutoMusicToggle photo id="composer-auto-music".to_owned()/>
        </Show>
    }
    .into_any()
}

/// Adds a photo post's fields and files to the upload, in the order the server reads them:
/// the choices and sizes first, the cover's frame for the lists, then each image.
#[cfg(feature = "hydrate")]
pub fn append_photos(form: &web_sys::FormData, input: &web_sys::HtmlInputElement, photo: &PhotoChoices) {
    let files: Vec<web_sys::File> = input.files().map(|list| (0..list.length()).filter_map(|i| list.get(i)).collect()).unwrap_or_default();
    let sizes: Vec<String> = files.iter().map(|file| (file.size() as u64).to_string()).collect();
    let _ = form.append_with_str("photo", &serde_json::to_string(photo).unwrap_or_default());
    let _ = form.append_with_str("image_sizes", &sizes.join(","));
    let cover = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.query_selector(&format!(".photo-grid img[data-index=\"{}\"]", photo.cover_index)).ok().flatten());
    if let Some(frame) = cover.and_then(|img| crate::media::browser::image_as_jpeg(&img)) {
        let _ = form.append_with_str("thumbnail", &frame);
    }
    for file in files {
        let _ = form.append_with_blob_and_filename("image", &file, &file.name());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picked(name: &str, problem: Option<&str>, checked: bool) -> PickedPhoto {
        PickedPhoto { name: name.into(), size: 10, url: String::new(), problem: problem.map(Into::into), checked }
    }

    #[test]
    fn the_first_refused_photo_is_named_and_unchecked_ones_wait() {
        assert!(photos_problem(&[]).unwrap().contains("at least one"));
        assert_eq!(photos_problem(&[picked("a.jpg", None, true)]), None);
        let found = photos_problem(&[picked("a.jpg", None, true), picked("b.png", Some("Not JPEG."), true)]).unwrap();
        assert_eq!(found, "Photo 2 (b.png): Not JPEG.");
        assert!(photos_problem(&[picked("a.jpg", None, false)]).unwrap().starts_with("Checking"));
    }
}
