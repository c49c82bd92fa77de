//! "Replace video" on a scheduled post's edit form and on a draft's page: the new file is previewed as TikTok would show it, checked by the browser as the composer checks it, and uploaded with its frame; the server checks it again (`publishing::replace`).

use crate::{error::AppError, media::probe::{Limits, VideoFacts, objections}, ui::FormError};
use leptos::prelude::*;
use uuid::Uuid;

/// Whose video is replaced: the upload field naming it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplaceTarget {
    Post(Uuid),
    Draft(Uuid),
}

impl ReplaceTarget {
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn field(self) -> (&'static str, Uuid) {
        match self {
            Self::Post(id) => ("replace_post", id),
            Self::Draft(id) => ("replace_draft", id),
        }
    }
}

/// `max_duration_secs`: the longest video the account may post now (the creator's rules for
/// Direct Post, the inbox's for drafts), `None` while it is not known. `done` runs once the
/// server took the new video.
#[component]
pub fn ReplaceVideo(
    target: ReplaceTarget,
    #[prop(into)] account: Signal<String>,
    #[prop(into)] caption: Signal<String>,
    #[prop(into)] max_duration_secs: Signal<Option<u32>>,
    done: Callback<()>,
) -> impl IntoView {
    let file_input = NodeRef::<leptos::html::Input>::new();
    let video_element = NodeRef::<leptos::html::Video>::new();
    let preview_url = RwSignal::new(None::<String>);
    let facts = RwSignal::new(None::<Result<VideoFacts, String>>);
    let percent = RwSignal::new(None::<f64>);
    let error = RwSignal::new(None::<AppError>);
    let objection = Memo::new(move |_| match facts.get() {
        Some(Err(message)) => Some(message),
        Some(Ok(facts)) => {
            let limits = Limits { max_duration_secs: max_duration_secs.get().unwrap_or(u32::MAX) };
            objections(&facts, limits).into_iter().next().map(|o| o.0)
        }
        None => None,
    });
    let blocked = Memo::new(move |_| -> Option<String> {
        if percent.get().is_some() {
            return Some("The upload is running.".into());
        }
        if preview_url.get().is_none() {
            return Some("Choose the new video.".into());
        }
        objection.get()
    });
    let on_file = move |_| {
        error.set(None);
        #[cfg(feature = "hydrate")]
        {
            if let Some(old) = preview_url.get_untracked() {
                let _ = web_sys::Url::revoke_object_url(&old);
            }
            let Some(file) = file_input.get().and_then(|input| input.files()).and_then(|files| files.get(0)) else {
                preview_url.set(None);
                return;
            };
            facts.set(None);
            preview_url.set(web_sys::Url::create_object_url_with_blob(&file).ok());
            leptos::task::spawn_local(async move {
                facts.set(Some(crate::media::browser::probe(&file).await.map_err(|e| e.to_string())));
            });
        }
    };
    let send = move |_| {
        if blocked.get_untracked().is_some() {
            return;
        }
        #[cfg(feature = "hydrate")]
        {
            use leptos::server_fn::ServerFn as _;
            let Some(file) = file_input.get().and_then(|input| input.files()).and_then(|files| files.get(0)) else { return };
            let Ok(form) = web_sys::FormData::new() else { return };
            let (field, id) = target.field();
            let _ = form.append_with_str(field, &id.to_string());
            let _ = form.append_with_str("video_size", &(file.size() as u64).to_string());
            if let Some(frame) = video_element.get_untracked().and_then(|video| crate::media::browser::frame_as_jpeg(&video)) {
                let _ = form.append_with_str("thumbnail", &frame);
            }
            let _ = form.append_with_blob_and_filename("video", &file, &file.name());
            percent.set(Some(0.0));
            let sent = crate::posts::browser_upload::send(
                crate::posts::api::UploadPost::PATH,
                &form,
                move |loaded, total| percent.set(Some(if total > 0.0 { (loaded / total * 100.0).floor() } else { 0.0 })),
                move |result| {
                    percent.set(None);
                    match result {
                        Ok(_) => {
                            preview_url.set(None);
                            if let Some(input) = file_input.get_untracked() {
                                input.set_value("");
                            }
                            done.run(());
                        }
                        Err(refused) => error.set(Some(refused)),
                    }
                },
            );
            if let Err(refused) = sent {
                percent.set(None);
                error.set(Some(refused));
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (target, done);
    };
    view! {
        <fieldset class="replace-video">
            <legend>"Replace the video"</legend>
            <input id="replace-video" type="file" accept="video/mp4,video/quicktime,video/webm" node_ref=file_input on:change=on_file/>
            <p class="field-error" role="alert">{move || objection.get()}</p>
            <Show when=move || preview_url.get().is_some()>
                <div class="preview">
                    <crate::previews::phone::PhonePreview video_ref=video_element eager=true
                        video_src=Signal::derive(move || preview_url.get().unwrap_or_default()) account caption/>
                </div>
                <button type="button" id="replace-video-send" disabled=move || blocked.get().is_some() title=move || blocked.get() on:click=send>
                    "Use this video instead"
                </button>
            </Show>
            {move || percent.get().map(|p| view! { <p class="upload-progress" role="status">{format!("Uploading… {p:.0}%")}</p> })}
            <FormError error=Signal::derive(move || error.get()) fields=&[]/>
        </fieldset>
    }
}
