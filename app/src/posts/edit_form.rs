//! Editing a scheduled post on its page: the composer's fields (a carousel's title and cover too), filled in, checked against the creator's current rules before the server checks them again.

use crate::{
    error::AppError,
    posts::{
        api::{EditPost, composer_creator},
        photo_fields::StoredPhotoFields,
        photo_rules::check_photos,
        rules::{ComposerChoices, check},
        settings_form::PostSettings,
        types::{Destination, PostView},
    },
    tiktok::types::CreatorInfo,
    ui::FormError,
};
use leptos::prelude::*;

/// The form; `save` is the page's action, so the page reloads the post once it succeeded, and
/// `close` hides the form again. `replaced` runs once a new video was taken (the page reloads
/// the post; the form stays open).
#[component]
pub fn EditPostForm(post: PostView, choices: ComposerChoices, save: ServerAction<EditPost>, close: Callback<()>, replaced: Callback<()>) -> impl IntoView {
    let post_id = post.id;
    let drafting = post.destination == Destination::Inbox;
    let choices = RwSignal::new(choices);
    let when = RwSignal::new(post.wall_clock.clone().unwrap_or_default());
    let account = RwSignal::new(post.account_id);
    let stored_cover = choices.get_untracked().cover_timestamp_ms;
    // A photo post: its own choices beside the rest; its images stay as they are.
    let is_photo = post.photo.is_some();
    let stored_photo = post.photo.clone().unwrap_or_default();
    let photo = RwSignal::new(stored_photo.clone());
    let image_count = post.photo_urls.len();
    let cover_video = NodeRef::<leptos::html::Video>::new();
    // The team's accounts that can take this kind of post; the post's own until they are in.
    let accounts = RwSignal::new(vec![(post.account_id, post.account_name.clone())]);
    let account_name = Signal::derive(move || {
        accounts.with(|all| all.iter().find(|(id, _)| *id == account.get()).map(|(_, name)| name.clone()).unwrap_or_default())
    });
    let creator = RwSignal::new(None::<Result<CreatorInfo, AppError>>);
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        if let Ok(all) = crate::accounts::api::list_accounts().await {
            let usable = all.into_iter().filter(|a| {
                let allows = a.allows();
                a.status == crate::accounts::types::AccountStatus::Active && if drafting { allows.inbox } else { allows.direct_post }
            });
            accounts.set(usable.map(|a| (a.id, a.display_name)).collect());
        }
    });
    // TikTok's rule: the creator's options are asked fresh whenever a post is composed, and an
    // edit composes it again, for the account chosen now. Drafts do not need them
    // (creator_info is a Direct Post call).
    Effect::new(move |_| {
        let chosen = account.get();
        creator.set(None);
        if !drafting {
            #[cfg(feature = "hydrate")]
            leptos::task::spawn_local(async move {
                let answer = composer_creator(chosen).await;
                if account.get_untracked() == chosen {
                    creator.set(Some(answer));
                }
            });
            #[cfg(not(feature = "hydrate"))]
            let _ = (chosen, composer_creator);
        }
    });
    let creator_info = Signal::derive(move || creator.get().and_then(Result::ok));
    let violations = Memo::new(move |_| match creator_info.get() {
        Some(info) if !drafting && is_photo => check_photos(&choices.get(), &photo.get(), image_count, Some(&info)),
        Some(info) if !drafting => check(&choices.get(), &info),
        _ if is_photo => check_photos(&choices.get(), &photo.get(), image_count, None),
        _ => Vec::new(),
    });
    let blocked = Memo::new(move |_| -> Option<String> {
        if save.pending().get() {
            return Some("Saving…".into());
        }
        if !drafting {
            match creator.get() {
                None => return Some("Asking TikTok what this account may post…".into()),
                Some(Err(error)) => return Some(error.to_string()),
                Some(Ok(_)) => {}
            }
        }
        if when.get().is_empty() {
            return Some("Choose when to post.".into());
        }
        violations.get().into_iter().next().map(|v| v.message)
    });
    // Closed once the server took the edit; the page shows the post as it now is.
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            close.run(());
        }
    });
    let submit = move |_| {
        if blocked.get_untracked().is_none() {
            // A new cover is a new frame for the lists, drawn from the preview now showing it.
            // For a carousel, the newly chosen cover photo as the page shows it.
            #[cfg(feature = "hydrate")]
            let thumbnail = if is_photo {
                let cover = photo.with_untracked(|p| p.cover_index);
                (cover != stored_photo.cover_index)
                    .then(|| leptos::prelude::document().query_selector(&format!(".edit-post .photo-grid img[data-index=\"{cover}\"]")).ok().flatten())
                    .flatten()
                    .and_then(|img| crate::media::browser::image_as_jpeg(&img))
            } else {
                (choices.with_untracked(|c| c.cover_timestamp_ms) != stored_cover)
                    .then(|| cover_video.get_untracked().and_then(|video| crate::media::browser::frame_as_jpeg(&video)))
                    .flatten()
            };
            #[cfg(not(feature = "hydrate"))]
            let thumbnail = { let _ = (stored_cover, cover_video, &stored_photo); None };
            save.dispatch(EditPost {
                post_id,
                thumbnail,
                account_id: Some(account.get_untracked()),
                choices: serde_json::to_string(&choices.get_untracked()).unwrap_or_default(),
                when: when.get_untracked(),
                photo: is_photo.then(|| serde_json::to_string(&photo.get_untracked()).unwrap_or_default()),
            });
        }
    };
    view! {
        <form class="card composer edit-post" on:submit=|ev| ev.prevent_default()>
            <h2>"Edit post"</h2>
            <div class="field">
                <label for="edit-account">"TikTok account"</label>
                <select id="edit-account" on:change=move |ev| if let Ok(id) = event_target_value(&ev).parse() { account.set(id) }>
                    {move || accounts.get().into_iter().map(|(id, name)| view! {
                        <option value=id.to_string() selected=move || account.get() == id>{name}</option>
                    }).collect_view()}
                </select>
            </div>
            {move || creator.get().and_then(Result::err).map(|error| view! { <p class="form-error" role="alert">{error.to_string()}</p> })}
            {post.video_url.clone().map(|video| view! {
                <div class="preview">
                    <crate::previews::phone::PhonePreview video_ref=cover_video video_src=video
                        account=account_name
                        caption=Signal::derive(move || choices.with(|c| c.caption.clone()))/>
                    {post.duration_ms.filter(|ms| *ms > 0).map(|ms| view! {
                        <crate::posts::cover_picker::CoverPicker id="edit-cover" choices duration_ms=ms as u32 video=cover_video/>
                    })}
                </div>
            })}
            {if is_photo {
                view! { <StoredPhotoFields urls=post.photo_urls.clone() photo id_prefix="edit"/> }.into_any()
            } else {
                view! {
                    <crate::posts::replace_video::ReplaceVideo target=crate::posts::replace_video::ReplaceTarget::Post(post_id)
                        account=account_name
                        caption=Signal::derive(move || choices.with(|c| c.caption.clone()))
                        max_duration_secs=Signal::derive(move || if drafting {
                            Some(crate::posts::rules::INBOX_MAX_DURATION_SECS)
                        } else {
                            creator_info.get().map(|info| info.max_video_post_duration_sec.max(1) as u32)
                        })
                        done=replaced/>
                }.into_any()
            }}
            <PostSettings choices=choices creator=creator_info violations=violations drafting=drafting
                photos=Signal::derive(move || is_photo)/>
            <div class="field">
                <label for="edit-when">"When (your time)"</label>
                <input id="edit-when" type="datetime-local" prop:value=move || when.get() on:input=move |ev| when.set(event_target_value(&ev))/>
            </div>
            <FormError error=Signal::derive(move || save.value().get().and_then(Result::err)) fields=&[]/>
            <div class="actions">
                <button type="button" class="primary" id="edit-save" disabled=move || blocked.get().is_some() title=move || blocked.get() on:click=submit>
                    "Save changes"
                </button>
                <button type="button" on:click=move |_| close.run(())>"Discard changes"</button>
            </div>
            <p class="hint blocked">{move || blocked.get()}</p>
        </form>
    }
    .into_any()
}
