//! The composer: TikTok's posting rules (tiktok-api.md §9) checked as a person types, what the
//! chosen account's grant allows (Direct Post, drafts or both), and the upload with progress.

use crate::{
    accounts::{
        api::list_accounts,
        components::Avatar,
        types::{AccountStatus, AccountView},
    },
    auth::types::SessionInfo,
    error::AppError,
    media::probe::{Limits, VideoFacts, objections},
    posts::{
        api::composer_creator,
        photo_picker::{PhotoPicker, PickedPhoto, photos_problem},
        photo_rules::{PhotoChoices, check_photos},
        rules::{BRANDED_CONTENT_URL, ComposerChoices, INBOX_MAX_DURATION_SECS, MUSIC_USAGE_URL, check},
        settings_form::PostSettings,
        types::PublishMode,
    },
    request_scope::page_resource,
    teams::types::Role,
    tiktok::{
        scopes::Allows,
        types::CreatorInfo,
    },
    ui::{FormError, human_bytes},
};
use leptos::prelude::*;
use leptos_router::components::A;
use uuid::Uuid;

/// Bytes sent so far, for the progress bar.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Progress {
    loaded: f64,
    total: f64,
    bytes_per_second: f64,
}

/// `/compose`
#[component]
pub fn ComposerPage() -> impl IntoView {
    let info = expect_context::<SessionInfo>();
    if info.role < Role::Editor {
        return view! {
            <h1>"New post"</h1>
            <section class="card"><p class="empty">"As a viewer you can follow the team's posts, but not create them."</p></section>
        }
        .into_any();
    }
    let accounts = page_resource(|| (), |_| list_accounts());
    view! {
        <h1>"New post"</h1>
        <Suspense fallback=|| view! { <p>"Loading accounts…"</p> }>
            {move || Suspend::new(async move {
                match accounts.await {
                    Ok(list) => {
                        let active: Vec<_> = list.into_iter().filter(|a| a.status == AccountStatus::Active).collect();
                        if active.is_empty() {
                            view! {
                                <section class="card">
                                    <p class="empty">"Connect a TikTok account first."</p>
                                    <p><A href="/accounts">"Go to Accounts"</A></p>
                                </section>
                            }.into_any()
                        } else {
                            let options = active.into_iter().map(ComposerAccount::from).collect();
                            view! { <Composer accounts=options/> }.into_any()
                        }
                    }
                    Err(error) => view! { <p class="form-error">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}

/// An account as the composer offers it: its label and what its grant allows.
#[derive(Clone)]
struct ComposerAccount {
    id: Uuid,
    label: String,
    allows: Allows,
}

impl From<AccountView> for ComposerAccount {
    fn from(account: AccountView) -> Self {
        let label = match &account.username {
            Some(u) => format!("{} (@{u})", account.display_name),
            None => account.display_name.clone(),
        };
        Self { id: account.id, label, allows: account.allows() }
    }
}

/// Whether the grant lets `mode` be used.
fn mode_allowed(mode: PublishMode, allows: Allows) -> bool {
    match mode {
        PublishMode::SendToInbox => allows.inbox,
        PublishMode::PostNow | PublishMode::Schedule => allows.direct_post,
    }
}

#[component]
fn Composer(accounts: Vec<ComposerAccount>) -> impl IntoView {
    let account = RwSignal::new(None::<Uuid>);
    let allows = RwSignal::new(Allows { direct_post: true, inbox: true, profile: false, video_list: false });
    let known_accounts = StoredValue::new(accounts.clone());
    let creator = RwSignal::new(None::<Result<CreatorInfo, AppError>>);
    let choices = RwSignal::new(ComposerChoices::default());
    let mode = RwSignal::new(PublishMode::PostNow);
    let schedule_local = RwSignal::new(String::new());
    let file_size = RwSignal::new(None::<u64>);
    let facts = RwSignal::new(None::<Result<VideoFacts, String>>);
    let preview_url = RwSignal::new(None::<String>);
    let progress = RwSignal::new(None::<Progress>);
    let uploading = RwSignal::new(false);
    let outcome_error = RwSignal::new(None::<AppError>);
    let file_input = NodeRef::<leptos::html::Input>::new();
    let video_element = NodeRef::<leptos::html::Video>::new();
    // A photo carousel instead of a video (see `posts::photo_picker`).
    let photo_post = RwSignal::new(false);
    let photos = RwSignal::new(Vec::<PickedPhoto>::new());
    let photo = RwSignal::new(PhotoChoices::default());
    let photo_input = NodeRef::<leptos::html::Input>::new();
    #[cfg(feature = "hydrate")]
    let request = StoredValue::new_local(None::<web_sys::XmlHttpRequest>);

    // Fresh creator info every time an account is picked (TikTok's rule 1) — only where Direct
    // Post was granted: creator_info is a `video.publish` call, and drafts do not need it.
    let pick_account = move |id: Option<Uuid>| {
        account.set(id);
        creator.set(None);
        choices.update(|c| c.privacy_level = None);
        let granted = id
            .and_then(|id| known_accounts.with_value(|list| list.iter().find(|a| a.id == id).map(|a| a.allows)))
            .unwrap_or_default();
        allows.set(granted);
        if !mode_allowed(mode.get_untracked(), granted) {
            mode.set(if granted.direct_post { PublishMode::PostNow } else { PublishMode::SendToInbox });
        }
        if let Some(id) = id.filter(|_| granted.direct_post) {
            leptos::task::spawn_local(async move {
                let answer = composer_creator(id).await;
                if account.get_untracked() == Some(id) {
                    creator.set(Some(answer));
                }
            });
        }
    };

    let video_objection = Memo::new(move |_| {
        let limit = match creator.get() {
            _ if mode.get() == PublishMode::SendToInbox => INBOX_MAX_DURATION_SECS,
            Some(Ok(info)) => info.max_video_post_duration_sec.max(1) as u32,
            _ => u32::MAX,
        };
        match facts.get() {
            Some(Err(message)) => Some(message),
            Some(Ok(facts)) => objections(&facts, Limits { max_duration_secs: limit }).into_iter().next().map(|o| o.0),
            None => None,
        }
    });
    let violations = Memo::new(move |_| {
        let direct = creator.get().and_then(Result::ok).filter(|_| mode.get() != PublishMode::SendToInbox);
        if photo_post.get() {
            // The count and each image speak for themselves under the picker.
            let found = check_photos(&choices.get(), &photo.get(), photos.with(Vec::len), direct.as_ref());
            return found.into_iter().filter(|v| v.field != "photos").collect();
        }
        match direct {
            Some(info) => check(&choices.get(), &info),
            None => Vec::new(),
        }
    });
    // Why the publish button is disabled, shown as its hover hint and under it.
    let blocked = Memo::new(move |_| -> Option<String> {
        if uploading.get() {
            return Some("The upload is running.".into());
        }
        let drafting = mode.get() == PublishMode::SendToInbox;
        match creator.get() {
            None if account.get().is_none() => return Some("Choose the TikTok account to post to.".into()),
            _ if !mode_allowed(mode.get(), allows.get()) => {
                return Some(if drafting {
                    "This account did not grant drafts to its inbox. Reconnect it to send drafts.".into()
                } else {
                    "This account did not grant Direct Post, so Cadence can only send drafts to its inbox.".into()
                });
            }
            // Drafts follow the inbox rules; what the creator may post directly does not matter.
            _ if drafting => {}
            None => return Some("Asking TikTok what this account may post…".into()),
            Some(Err(error)) => return Some(error.to_string()),
            Some(Ok(_)) => {}
        }
        if photo_post.get() {
            if let Some(problem) = photos.with(|list| photos_problem(list)) {
                return Some(problem);
            }
        } else if file_size.get().is_none() {
            return Some("Choose a video.".into());
        } else if let Some(objection) = video_objection.get() {
            return Some(objection);
        }
        if let Some(first) = violations.get().into_iter().next() {
            return Some(first.message);
        }
        if mode.get() == PublishMode::Schedule && schedule_local.get().is_empty() {
            return Some("Choose when to post.".into());
        }
        None
    });

    let on_file = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let Some(file) = file_input.get().and_then(|input| input.files()).and_then(|files| files.get(0)) else {
                file_size.set(None);
                return;
            };
            file_size.set(Some(file.size() as u64));
            facts.set(None);
            if let Some(old) = preview_url.get_untracked() {
                let _ = web_sys::Url::revoke_object_url(&old);
            }
            preview_url.set(web_sys::Url::create_object_url_with_blob(&file).ok());
            choices.update(|c| c.cover_timestamp_ms = None);
            leptos::task::spawn_local(async move {
                let result = crate::media::browser::probe(&file).await.map_err(|e| e.to_string());
                facts.set(Some(result));
            });
        }
    };

    // A draft needs only a video TikTok could take at all; the rest is checked when it is scheduled.
    let draft_blocked = Memo::new(move |_| -> Option<String> {
        if uploading.get() {
            return Some("The upload is running.".into());
        }
        if photo_post.get() {
            // The images TikTok could take at all, and text within its limits; the rest waits.
            return photos.with(|list| photos_problem(list)).or_else(|| {
                crate::posts::photo_rules::text_problems(&choices.get(), &photo.get()).into_iter().next().map(|v| v.message)
            });
        }
        match facts.get() {
            None if file_size.get().is_none() => Some("Choose a video.".into()),
            Some(Err(message)) => Some(message),
            _ => None,
        }
    });
    let upload = move |as_draft: bool| {
        if (if as_draft { draft_blocked.get_untracked() } else { blocked.get_untracked() }).is_some() {
            return;
        }
        outcome_error.set(None);
        #[cfg(feature = "hydrate")]
        {
            use leptos::server_fn::ServerFn as _;
            let photo_files = photo_input.get().filter(|_| photo_post.get_untracked());
            let file = file_input.get().and_then(|input| input.files()).and_then(|files| files.get(0));
            if photo_files.is_none() && file.is_none() {
                return;
            }
            let Ok(form) = web_sys::FormData::new() else { return };
            let scheduled_at = if !as_draft && mode.get_untracked() == PublishMode::Schedule {
                let date = web_sys::js_sys::Date::new(&schedule_local.get_untracked().into());
                date.to_iso_string().as_string().unwrap_or_default()
            } else {
                String::new()
            };
            let _ = form.append_with_str("account_id", &account.get_untracked().map(|id| id.to_string()).unwrap_or_default());
            let _ = form.append_with_str("mode", if as_draft { "draft" } else { mode.get_untracked().as_str() });
            let _ = form.append_with_str("choices", &serde_json::to_string(&choices.get_untracked()).unwrap_or_default());
            let _ = form.append_with_str("scheduled_at", &scheduled_at);
            let total = match (&photo_files, &file) {
                (Some(input), _) => {
                    crate::posts::photo_picker::append_photos(&form, input, &photo.get_untracked());
                    photos.with_untracked(|list| list.iter().map(|p| p.size as f64).sum())
                }
                (None, Some(file)) => {
                    let _ = form.append_with_str("video_size", &(file.size() as u64).to_string());
                    // The frame the preview shows (the cover), before the video: lists show it.
                    if let Some(frame) = video_element.get_untracked().and_then(|video| crate::media::browser::frame_as_jpeg(&video)) {
                        let _ = form.append_with_str("thumbnail", &frame);
                    }
                    let _ = form.append_with_blob_and_filename("video", file, &file.name());
                    file.size()
                }
                (None, None) => return,
            };
            let started = web_sys::js_sys::Date::now();
            uploading.set(true);
            progress.set(Some(Progress { total, ..Default::default() }));
            let sent = crate::posts::browser_upload::send(
                crate::posts::api::UploadPost::PATH,
                &form,
                move |loaded, total| {
                    let seconds = ((web_sys::js_sys::Date::now() - started) / 1000.0).max(0.001);
                    progress.set(Some(Progress { loaded, total, bytes_per_second: loaded / seconds }));
                },
                move |result| {
                    uploading.set(false);
                    request.set_value(None);
                    match result {
                        Ok(outcome) => {
                            let navigate = leptos_router::hooks::use_navigate();
                            let page = if outcome.draft { "drafts" } else { "posts" };
                            navigate(&format!("/{page}/{}", outcome.post_id), Default::default());
                        }
                        Err(error) => {
                            progress.set(None);
                            outcome_error.set(Some(error));
                        }
                    }
                },
            );
            match sent {
                Ok(xhr) => request.set_value(Some(xhr)),
                Err(error) => {
                    uploading.set(false);
                    outcome_error.set(Some(error));
                }
            }
        }
    };
    let cancel = move |_| {
        #[cfg(feature = "hydrate")]
        request.with_value(|xhr| {
            if let Some(xhr) = xhr {
                let _ = xhr.abort();
            }
        });
    };

    let creator_card = move || match creator.get() {
        None if account.get().is_some() && !allows.get().direct_post => view! {
            <p class="hint">"This account granted drafts only: the video goes to its TikTok inbox, and the creator finishes the post in the app."</p>
        }.into_any(),
        None if account.get().is_some() => view! { <p class="hint">"Asking TikTok about this account…"</p> }.into_any(),
        None => ().into_any(),
        Some(Err(error)) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
        Some(Ok(info)) => view! {
            <div class="creator">
                <Avatar url=Some(info.creator_avatar_url.clone()) name=info.creator_nickname.clone() size=40/>
                <div>
                    <p class="creator-name">"Posting to " <strong>{info.creator_nickname.clone()}</strong></p>
                    <p class="hint">{format!("@{} · videos up to {}", info.creator_username, minutes(info.max_video_post_duration_sec))}</p>
                </div>
            </div>
        }.into_any(),
    };
    let creator_info = move || creator.get().and_then(Result::ok);
    // The preview names the account as TikTok does, by its @username once creator info is in.
    let shown_account = move || match creator.with(|c| c.as_ref().and_then(|c| c.as_ref().ok()).map(|i| i.creator_username.clone())) {
        Some(username) => username,
        None => known_accounts.with_value(|all| {
            account.get().and_then(|id| all.iter().find(|a| a.id == id)).map(|a| a.label.clone()).unwrap_or_default()
        }),
    };

    view! {
        <form class="card composer" on:submit=|ev| ev.prevent_default()>
            <div class="field">
                <label for="composer-account">"TikTok account"</label>
                <select id="composer-account" on:change=move |ev| pick_account(event_target_value(&ev).parse().ok())>
                    <option value="" selected=true disabled=true>"Choose an account"</option>
                    {accounts.into_iter().map(|a| view! { <option value=a.id.to_string()>{a.label}</option> }).collect_view()}
                </select>
            </div>
            {creator_card}

            <fieldset class="modes post-kind">
                <legend>"What are you posting?"</legend>
                <label class="radio"><input type="radio" name="kind" value="video" prop:checked=move || !photo_post.get()
                    on:change=move |_| photo_post.set(false)/>"A video"</label>
                <label class="radio"><input type="radio" name="kind" value="photos" id="composer-kind-photos" prop:checked=move || photo_post.get()
                    on:change=move |_| photo_post.set(true)/>"Photos (a carousel of up to 35)"</label>
            </fieldset>

            <Show when=move || photo_post.get()>
                <PhotoPicker photos photo input=photo_input
                    drafting=Signal::derive(move || mode.get() == PublishMode::SendToInbox)
                    field_problem=Signal::derive(move || {
                        let found = violations.get();
                        found.iter().find(|v| v.field == "photo_title" || v.field == "photo_cover").map(|v| v.message.clone())
                    })/>
            </Show>
            <Show when=move || !photo_post.get()>
            <div class="field">
                <label for="composer-video">"Video"</label>
                <input id="composer-video" type="file" accept="video/mp4,video/quicktime,video/webm" node_ref=file_input on:change=on_file/>
                <p class="hint">{move || match (file_size.get(), facts.get()) {
                    (Some(size), Some(Ok(facts))) => describe_video(size, &facts),
                    (Some(size), _) => human_bytes(size),
                    _ => "MP4, MOV or WebM, up to 4 GB.".to_owned(),
                }}</p>
                <p class="field-error" role="alert">{move || video_objection.get()}</p>
            </div>
            <Show when=move || preview_url.get().is_some()>
                <div class="preview">
                    <crate::previews::phone::PhonePreview video_ref=video_element eager=true
                        video_src=Signal::derive(move || preview_url.get().unwrap_or_default())
                        account=Signal::derive(move || shown_account())
                        caption=Signal::derive(move || choices.with(|c| c.caption.clone()))/>
                    {move || facts.get().and_then(Result::ok).and_then(|f| f.duration_secs).map(|secs| view! {
                        <crate::posts::cover_picker::CoverPicker id="composer-cover" choices duration_ms=(secs * 1000.0) as u32 video=video_element/>
                    })}
                </div>
            </Show>
            </Show>

            <PostSettings choices=choices creator=Signal::derive(creator_info) violations=violations
                photos=Signal::derive(move || photo_post.get())
                drafting=Signal::derive(move || mode.get() == PublishMode::SendToInbox)/>

            <fieldset class="modes">
                <legend>"Publish"</legend>
                {[PublishMode::PostNow, PublishMode::SendToInbox, PublishMode::Schedule].into_iter().map(|m| view! {
                    <label class="radio">
                        <input type="radio" name="mode" value=m.as_str() prop:checked=move || mode.get() == m on:change=move |_| mode.set(m)
                            disabled=move || !mode_allowed(m, allows.get())/>
                        {match m {
                            PublishMode::PostNow => "Post now",
                            PublishMode::SendToInbox => "Send to TikTok inbox (the creator finishes it in the app)",
                            PublishMode::Schedule => "Schedule",
                        }}
                    </label>
                }).collect_view()}
                <Show when=move || mode.get() == PublishMode::Schedule>
                    <div class="field">
                        <label for="composer-when">"When (your time)"</label>
                        <input id="composer-when" type="datetime-local" prop:value=move || schedule_local.get()
                            on:input=move |ev| schedule_local.set(event_target_value(&ev))/>
                    </div>
                    <crate::analytics::components::SuggestedSlots account=account.into() pick=schedule_local/>
                </Show>
            </fieldset>

            <p class="consent">{move || if choices.with(|c| c.commercial && c.branded_content) {
                view! { "By posting, you agree to TikTok's " <a href=BRANDED_CONTENT_URL target="_blank" rel="noopener">"Branded Content Policy"</a> " and " <a href=MUSIC_USAGE_URL target="_blank" rel="noopener">"Music Usage Confirmation"</a> "." }.into_any()
            } else {
                view! { "By posting, you agree to TikTok's " <a href=MUSIC_USAGE_URL target="_blank" rel="noopener">"Music Usage Confirmation"</a> "." }.into_any()
            }}</p>

            <div class="actions">
                <button type="button" class="primary" id="composer-publish"
                    disabled=move || blocked.get().is_some()
                    title=move || blocked.get()
                    on:click=move |_| upload(false)>
                    {move || match mode.get() {
                        PublishMode::PostNow => "Post now",
                        PublishMode::SendToInbox => "Send to inbox",
                        PublishMode::Schedule => "Schedule",
                    }}
                </button>
                <button type="button" id="composer-draft" disabled=move || draft_blocked.get().is_some()
                    title=move || draft_blocked.get().unwrap_or_else(|| "Keep the video and these choices; choose the account and time later.".into())
                    on:click=move |_| upload(true)>"Save as draft"</button>
                <Show when=move || uploading.get()>
                    <button type="button" on:click=cancel>"Cancel upload"</button>
                </Show>
            </div>
            <p class="hint blocked">{move || blocked.get().filter(|_| !uploading.get())}</p>
            {move || progress.get().map(|p| {
                let percent = if p.total > 0.0 { (p.loaded / p.total * 100.0).floor() } else { 0.0 };
                view! {
                    <div class="upload-progress" role="status">
                        <progress max="100" value=percent.to_string()></progress>
                        <p>{format!("{percent:.0}% · {} of {} · {}/s",
                            human_bytes(p.loaded as u64), human_bytes(p.total as u64), human_bytes(p.bytes_per_second as u64))}</p>
                        <Show when=move || { uploading.get() && percent >= 100.0 }>
                            <p class="hint">"Sent; waiting for TikTok to take the last chunk…"</p>
                        </Show>
                    </div>
                }
            })}
            <FormError error=Signal::derive(move || outcome_error.get()) fields=&[]/>
        </form>
    }
}

fn minutes(seconds: i32) -> String {
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

fn describe_video(size: u64, facts: &VideoFacts) -> String {
    let mut parts = vec![human_bytes(size)];
    if let Some(secs) = facts.duration_secs {
        parts.push(minutes(secs.round() as i32));
    }
    if let (Some(w), Some(h)) = (facts.width, facts.height) {
        parts.push(format!("{w}×{h}"));
    }
    if let Some(codec) = &facts.codec {
        parts.push(codec.clone());
    }
    parts.join(" · ")
}
