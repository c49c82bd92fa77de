//! The composer (TikTok's Direct Post rules, tiktok-api.md §9, upload with progress), the list
//! of the team's posts, and one post with its timeline.

use crate::{
    accounts::{api::list_accounts, types::AccountStatus},
    auth::types::SessionInfo,
    error::AppError,
    media::probe::{Limits, VideoFacts, objections},
    posts::{
        api::{CancelPost, RetryPost, composer_creator, get_post, list_posts},
        rules::{
            BRANDED_CONTENT_URL, CAPTION_LIMIT, ComposerChoices, MUSIC_USAGE_URL, ONLY_ME, branded_content_blocked,
            caption_length, check, content_label, only_me_blocked,
        },
        types::{PostState, PostView, PublishMode},
    },
    teams::types::Role,
    tiktok::types::{CreatorInfo, privacy_label},
    ui::{FormError, format_utc, human_bytes},
};
use leptos::prelude::*;
use crate::calendar::api::{CancelPosts, DuplicatePost, ReschedulePost};
use leptos_router::{
    components::{A, Form},
    hooks::{use_params_map, use_query_map},
};
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
    let accounts = Resource::new(|| (), |_| list_accounts());
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
                            let options = active.into_iter()
                                .map(|a| (a.id, match a.username { Some(u) => format!("{} (@{u})", a.display_name), None => a.display_name }))
                                .collect();
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

#[component]
fn Composer(accounts: Vec<(Uuid, String)>) -> impl IntoView {
    let account = RwSignal::new(None::<Uuid>);
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
    #[cfg(feature = "hydrate")]
    let request = StoredValue::new_local(None::<web_sys::XmlHttpRequest>);

    // Fresh creator info every time an account is picked (TikTok's rule 1).
    let pick_account = move |id: Option<Uuid>| {
        account.set(id);
        creator.set(None);
        choices.update(|c| c.privacy_level = None);
        if let Some(id) = id {
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
            Some(Ok(info)) => info.max_video_post_duration_sec.max(1) as u32,
            _ => u32::MAX,
        };
        match facts.get() {
            Some(Err(message)) => Some(message),
            Some(Ok(facts)) => objections(&facts, Limits { max_duration_secs: limit }).into_iter().next().map(|o| o.0),
            None => None,
        }
    });
    let violations = Memo::new(move |_| match creator.get() {
        Some(Ok(info)) if mode.get() != PublishMode::SendToInbox => check(&choices.get(), &info),
        _ => Vec::new(),
    });
    let field_problem = move |field: &'static str| {
        move || violations.get().into_iter().find(|v| v.field == field).map(|v| v.message)
    };
    // Why the publish button is disabled, shown as its hover hint and under it.
    let blocked = Memo::new(move |_| -> Option<String> {
        if uploading.get() {
            return Some("The upload is running.".into());
        }
        match creator.get() {
            None if account.get().is_none() => return Some("Choose the TikTok account to post to.".into()),
            None => return Some("Asking TikTok what this account may post…".into()),
            Some(Err(error)) => return Some(error.to_string()),
            Some(Ok(_)) => {}
        }
        if file_size.get().is_none() {
            return Some("Choose a video.".into());
        }
        if let Some(objection) = video_objection.get() {
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

    let pick_cover = move |ms: u32| {
        choices.update(|c| c.cover_timestamp_ms = Some(ms));
        #[cfg(feature = "hydrate")]
        if let Some(video) = video_element.get() {
            video.set_current_time(f64::from(ms) / 1000.0);
        }
    };

    let publish = move |_| {
        if blocked.get_untracked().is_some() {
            return;
        }
        outcome_error.set(None);
        #[cfg(feature = "hydrate")]
        {
            use leptos::server_fn::ServerFn as _;
            let Some(file) = file_input.get().and_then(|input| input.files()).and_then(|files| files.get(0)) else {
                return;
            };
            let Ok(form) = web_sys::FormData::new() else { return };
            let scheduled_at = if mode.get_untracked() == PublishMode::Schedule {
                let date = web_sys::js_sys::Date::new(&schedule_local.get_untracked().into());
                date.to_iso_string().as_string().unwrap_or_default()
            } else {
                String::new()
            };
            let _ = form.append_with_str("account_id", &account.get_untracked().map(|id| id.to_string()).unwrap_or_default());
            let _ = form.append_with_str("mode", mode.get_untracked().as_str());
            let _ = form.append_with_str("choices", &serde_json::to_string(&choices.get_untracked()).unwrap_or_default());
            let _ = form.append_with_str("scheduled_at", &scheduled_at);
            let _ = form.append_with_str("video_size", &(file.size() as u64).to_string());
            let _ = form.append_with_blob_and_filename("video", &file, &file.name());
            let started = web_sys::js_sys::Date::now();
            uploading.set(true);
            progress.set(Some(Progress { total: file.size(), ..Default::default() }));
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
                            navigate(&format!("/posts/{}", outcome.post_id), Default::default());
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
        None if account.get().is_some() => view! { <p class="hint">"Asking TikTok about this account…"</p> }.into_any(),
        None => ().into_any(),
        Some(Err(error)) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
        Some(Ok(info)) => view! {
            <div class="creator">
                <img class="avatar" src=info.creator_avatar_url.clone() alt="" width="40" height="40"/>
                <div>
                    <p class="creator-name">"Posting to " <strong>{info.creator_nickname.clone()}</strong></p>
                    <p class="hint">{format!("@{} · videos up to {}", info.creator_username, minutes(info.max_video_post_duration_sec))}</p>
                </div>
            </div>
        }.into_any(),
    };
    let creator_info = move || creator.get().and_then(Result::ok);
    let disabled_by_creator = move |pick: fn(&CreatorInfo) -> bool| creator_info().map(|info| pick(&info)).unwrap_or(true);

    view! {
        <form class="card composer" on:submit=|ev| ev.prevent_default()>
            <div class="field">
                <label for="composer-account">"TikTok account"</label>
                <select id="composer-account" on:change=move |ev| pick_account(event_target_value(&ev).parse().ok())>
                    <option value="" selected=true disabled=true>"Choose an account"</option>
                    {accounts.into_iter().map(|(id, name)| view! { <option value=id.to_string()>{name}</option> }).collect_view()}
                </select>
            </div>
            {creator_card}

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
                    <video node_ref=video_element src=move || preview_url.get() controls=true muted=true preload="metadata"></video>
                    {move || facts.get().and_then(Result::ok).and_then(|f| f.duration_secs).map(|secs| {
                        let max = (secs * 1000.0) as u32;
                        view! {
                            <div class="field">
                                <label for="composer-cover">"Cover frame"</label>
                                <input id="composer-cover" type="range" min="0" max=max.to_string() step="100"
                                    prop:value=move || choices.with(|c| c.cover_timestamp_ms.unwrap_or(0)).to_string()
                                    on:input=move |ev| pick_cover(event_target_value(&ev).parse().unwrap_or(0))/>
                                <p class="hint">{move || format!("Frame at {:.1} s", f64::from(choices.with(|c| c.cover_timestamp_ms.unwrap_or(0))) / 1000.0)}</p>
                            </div>
                        }
                    })}
                </div>
            </Show>

            <div class="field">
                <label for="composer-caption">"Caption"</label>
                <textarea id="composer-caption" rows="4"
                    prop:value=move || choices.with(|c| c.caption.clone())
                    on:input=move |ev| choices.update(|c| c.caption = event_target_value(&ev))></textarea>
                <p class="hint" class:over=move || choices.with(|c| caption_length(&c.caption) > CAPTION_LIMIT)>
                    {move || format!("{} / {CAPTION_LIMIT} · #hashtags and @mentions are kept as you write them", choices.with(|c| caption_length(&c.caption)))}
                </p>
                <p class="field-error">{field_problem("caption")}</p>
            </div>

            <Show when=move || mode.get() != PublishMode::SendToInbox>
                <div class="field">
                    <label for="composer-privacy">"Who can see this post"</label>
                    <select id="composer-privacy"
                        prop:value=move || choices.with(|c| c.privacy_level.clone().unwrap_or_default())
                        on:change=move |ev| choices.update(|c| c.privacy_level = Some(event_target_value(&ev)).filter(|v| !v.is_empty()))>
                        <option value="" selected=true disabled=true>"Choose who can see this post"</option>
                        {move || creator_info().map(|info| info.privacy_level_options.into_iter().map(|level| {
                            let only_me = level == ONLY_ME;
                            view! {
                                <option value=level.clone()
                                    disabled=move || only_me && choices.with(only_me_blocked)
                                    title=move || (only_me && choices.with(only_me_blocked)).then_some("Branded content visibility cannot be set to private.")>
                                    {privacy_label(&level).to_owned()}
                                </option>
                            }
                        }).collect_view())}
                    </select>
                    <p class="field-error">{field_problem("privacy_level")}</p>
                </div>

                <fieldset class="toggles">
                    <legend>"Let viewers"</legend>
                    <Toggle label="Comment" id="composer-comment" disabled=Signal::derive(move || disabled_by_creator(|i| i.comment_disabled))
                        checked=Signal::derive(move || choices.with(|c| c.allow_comment)) set=move |on| choices.update(|c| c.allow_comment = on)/>
                    <Toggle label="Duet" id="composer-duet" disabled=Signal::derive(move || disabled_by_creator(|i| i.duet_disabled))
                        checked=Signal::derive(move || choices.with(|c| c.allow_duet)) set=move |on| choices.update(|c| c.allow_duet = on)/>
                    <Toggle label="Stitch" id="composer-stitch" disabled=Signal::derive(move || disabled_by_creator(|i| i.stitch_disabled))
                        checked=Signal::derive(move || choices.with(|c| c.allow_stitch)) set=move |on| choices.update(|c| c.allow_stitch = on)/>
                    <p class="hint">"Greyed out where the creator turned it off in TikTok."</p>
                </fieldset>

                <fieldset class="toggles">
                    <legend>"Disclosure"</legend>
                    <Toggle label="This video promotes a brand, product or service" id="composer-commercial" disabled=Signal::derive(|| false)
                        checked=Signal::derive(move || choices.with(|c| c.commercial)) set=move |on| choices.update(|c| c.commercial = on)/>
                    <Show when=move || choices.with(|c| c.commercial)>
                        <div class="nested">
                            <Toggle label="Your brand" id="composer-your-brand" disabled=Signal::derive(|| false)
                                checked=Signal::derive(move || choices.with(|c| c.your_brand)) set=move |on| choices.update(|c| c.your_brand = on)/>
                            <p class="hint">"You are promoting yourself or your own business."</p>
                            <Toggle label="Branded content" id="composer-branded" disabled=Signal::derive(move || choices.with(branded_content_blocked))
                                checked=Signal::derive(move || choices.with(|c| c.branded_content)) set=move |on| choices.update(|c| c.branded_content = on)/>
                            <p class="hint">{move || if choices.with(branded_content_blocked) {
                                "Branded content visibility cannot be set to private."
                            } else {
                                "You are promoting another brand or a third party."
                            }}</p>
                            <p class="field-error">{field_problem("commercial")}</p>
                            <p class="field-error">{field_problem("branded_content")}</p>
                            {move || choices.with(content_label).map(|label| view! {
                                <p class="notice">{format!("Your video will be labeled \u{201c}{label}\u{201d}.")}</p>
                            })}
                        </div>
                    </Show>
                    <Toggle label="AI-generated content" id="composer-aigc" disabled=Signal::derive(|| false)
                        checked=Signal::derive(move || choices.with(|c| c.is_aigc)) set=move |on| choices.update(|c| c.is_aigc = on)/>
                </fieldset>
            </Show>

            <fieldset class="modes">
                <legend>"Publish"</legend>
                {[PublishMode::PostNow, PublishMode::SendToInbox, PublishMode::Schedule].into_iter().map(|m| view! {
                    <label class="radio">
                        <input type="radio" name="mode" value=m.as_str() prop:checked=move || mode.get() == m on:change=move |_| mode.set(m)/>
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
                    on:click=publish>
                    {move || match mode.get() {
                        PublishMode::PostNow => "Post now",
                        PublishMode::SendToInbox => "Send to inbox",
                        PublishMode::Schedule => "Schedule",
                    }}
                </button>
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

/// A labelled switch; greyed out (and never on) while `disabled`.
#[component]
fn Toggle(
    label: &'static str,
    id: &'static str,
    #[prop(into)] disabled: Signal<bool>,
    #[prop(into)] checked: Signal<bool>,
    set: impl Fn(bool) + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <label class="toggle" class:greyed=move || disabled.get() for=id>
            <input type="checkbox" id=id
                disabled=move || disabled.get()
                prop:checked=move || checked.get() && !disabled.get()
                on:change=move |ev| set(event_target_checked(&ev))/>
            {label}
        </label>
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

/// `/posts?account=…&state=…`: every post of the team, newest first, with filters and bulk
/// cancel of scheduled posts.
#[component]
pub fn PostsPage() -> impl IntoView {
    let info = expect_context::<SessionInfo>();
    let can_edit = info.role >= Role::Editor;
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).filter(|v| !v.is_empty());
    let cancel_many = ServerAction::<CancelPosts>::new();
    let selected = RwSignal::new(std::collections::BTreeSet::<Uuid>::new());
    let posts = Resource::new(
        move || (param("account"), param("state"), cancel_many.version().get()),
        |(account, state, _)| list_posts(account.and_then(|a| a.parse().ok()), state),
    );
    let cancel_selected = move |_| {
        let ids: Vec<String> = selected.get_untracked().iter().map(Uuid::to_string).collect();
        selected.set(Default::default());
        cancel_many.dispatch(CancelPosts { post_ids: ids.join(",") });
    };
    view! {
        <h1>"Posts"</h1>
        {can_edit.then(|| view! { <p><A href="/compose" attr:class="button primary">"New post"</A></p> })}
        <PostFilters action="/posts"/>
        <FormError error=Signal::derive(move || cancel_many.value().get().and_then(Result::err)) fields=&[]/>
        {move || cancel_many.value().get().and_then(Result::ok).map(|n| view! {
            <p class="success" role="status">{format!("Cancelled {n} post{}.", if n == 1 { "" } else { "s" })}</p>
        })}
        {can_edit.then(|| view! {
            <p>
                <button type="button" class="danger" disabled=move || selected.with(|s| s.is_empty()) on:click=cancel_selected>
                    {move || format!("Cancel selected ({})", selected.with(|s| s.len()))}
                </button>
            </p>
        })}
        <Transition fallback=|| view! { <p>"Loading posts…"</p> }>
            {move || Suspend::new(async move {
                match posts.await {
                    Ok(list) if list.is_empty() => view! {
                        <section class="card"><p class="empty">"No posts match."</p></section>
                    }.into_any(),
                    Ok(list) => view! {
                        <table class="posts">
                            <thead><tr><th></th><th>"Account"</th><th>"Caption"</th><th>"When"</th><th>"State"</th></tr></thead>
                            <tbody>{list.into_iter().map(|post| view! { <PostRow post can_edit selected/> }).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                    Err(error) => view! { <p class="form-error">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn PostRow(post: PostView, can_edit: bool, selected: RwSignal<std::collections::BTreeSet<Uuid>>) -> impl IntoView {
    let selectable = can_edit && post.state == PostState::Scheduled;
    let id = post.id;
    let badge = post_badge(&post);
    view! {
        <tr data-post=post.id.to_string()>
            <td>{selectable.then(|| view! {
                <input type="checkbox" aria-label="Select"
                    prop:checked=move || selected.with(|s| s.contains(&id))
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        selected.update(|s| { if on { s.insert(id); } else { s.remove(&id); } });
                    }/>
            })}</td>
            <td>{post.account_name.clone()}</td>
            <td><A href=format!("/posts/{}", post.id)>{caption_preview(&post.caption)}</A></td>
            <td>{post.when_label.clone()}</td>
            <td>{badge}</td>
        </tr>
    }
}

/// The account and state filters of the posts list and the calendar, as a GET form on
/// `action` (its query parameters are `account` and `state`); `children` adds hidden fields
/// the page keeps.
#[component]
pub fn PostFilters(action: &'static str, #[prop(optional)] children: Option<Children>) -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).filter(|v| !v.is_empty());
    let accounts = Resource::new(|| (), |_| list_accounts());
    view! {
        <Form method="GET" action=action attr:class="inline-form filters">
            {children.map(|children| children())}
            <label for="filter-account">"Account"</label>
            <select id="filter-account" name="account">
                <option value="">"All accounts"</option>
                <Suspense>
                    {move || Suspend::new(async move {
                        accounts.await.unwrap_or_default().into_iter().map(|a| {
                            let id = a.id.to_string();
                            let chosen = param("account").as_deref() == Some(id.as_str());
                            view! { <option value=id selected=chosen>{a.display_name}</option> }
                        }).collect_view()
                    })}
                </Suspense>
            </select>
            <label for="filter-state">"State"</label>
            <select id="filter-state" name="state">
                <option value="">"All states"</option>
                {PostState::ALL.into_iter().map(|state| view! {
                    <option value=state.as_str() selected=move || param("state").as_deref() == Some(state.as_str())>{state.label()}</option>
                }).collect_view()}
            </select>
            <button type="submit">"Filter"</button>
        </Form>
    }
}

fn caption_preview(caption: &str) -> String {
    let trimmed: String = caption.chars().take(60).collect();
    match (trimmed.is_empty(), trimmed.len() < caption.len()) {
        (true, _) => "(no caption)".to_owned(),
        (false, true) => format!("{trimmed}…"),
        (false, false) => trimmed,
    }
}

/// The post's state as a badge; a published post says whether it is live, waiting for TikTok's
/// moderation, or no longer public.
fn post_badge(post: &PostView) -> impl IntoView + use<> {
    let live = post.state == PostState::Published && post.tiktok_post_id.is_some() && !post.no_longer_public;
    view! {
        <span class=format!("badge state-{}", post.state.as_str()) class:live=live class:awaiting=post.awaiting_moderation>
            {post.status_label()}
        </span>
    }
}

/// `/posts/:id`: the post, where it stands, and every step it took. Reloads itself while
/// TikTok is still working on it.
#[component]
pub fn PostPage() -> impl IntoView {
    let info = expect_context::<SessionInfo>();
    let can_edit = info.role >= Role::Editor;
    let params = use_params_map();
    let post_id = move || params.read().get("id").and_then(|id| id.parse::<Uuid>().ok());
    let tick = RwSignal::new(0u32);
    let retry = ServerAction::<RetryPost>::new();
    let cancel = ServerAction::<CancelPost>::new();
    let reschedule = ServerAction::<ReschedulePost>::new();
    let duplicate = ServerAction::<DuplicatePost>::new();
    // A copy opens on its own page.
    Effect::new(move |_| {
        if let Some(Ok(copy)) = duplicate.value().get() {
            leptos_router::hooks::use_navigate()(&format!("/posts/{copy}"), Default::default());
        }
    });
    let detail = Resource::new(
        move || (post_id(), tick.get(), retry.version().get(), cancel.version().get(), reschedule.version().get()),
        |(id, ..)| async move {
        match id {
            Some(id) => get_post(id).await,
            None => Err(AppError::NotFound("Post".into())),
        }
    });
    // Poll while the post can still move; stop once it settled. Moderation may take hours, so
    // a post waiting for its link is looked at every 10 s instead of every 2 s.
    #[cfg(feature = "hydrate")]
    {
        let intervals = std::cell::Cell::new(0u32);
        let handle = leptos::prelude::set_interval_with_handle(
            move || {
                intervals.set(intervals.get().wrapping_add(1));
                let post = detail.get_untracked().and_then(Result::ok).map(|d| d.post);
                let moving = post.as_ref().is_some_and(|p| !p.state.is_settled());
                let waiting = post.as_ref().is_some_and(|p| p.awaiting_moderation) && intervals.get().is_multiple_of(5);
                if moving || waiting {
                    tick.update(|t| *t += 1);
                }
            },
            std::time::Duration::from_secs(2),
        );
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
    }
    let action_error = Signal::derive(move || {
        retry.value().get().and_then(Result::err)
            .or_else(|| cancel.value().get().and_then(Result::err))
            .or_else(|| reschedule.value().get().and_then(Result::err))
            .or_else(|| duplicate.value().get().and_then(Result::err))
    });
    view! {
        <FormError error=action_error fields=&[]/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => {
                        let post = detail.post;
                        view! {
                            <h1>"Post to " {post.account_name.clone()}</h1>
                            <section class="card post-detail">
                                <p class="post-state">"State: " {post_badge(&post)}</p>
                                {post.published_note().map(|note| view! { <p class="notice published-note">{note}</p> })}
                                {matches!(post.state, PostState::Uploading | PostState::Processing).then(|| view! {
                                    <p class="notice">"TikTok may take a few minutes to process the video before it appears on the profile."</p>
                                })}
                                {post.fail_message.clone().map(|message| view! { <p class="form-error" role="alert">{message}</p> })}
                                {(can_edit && matches!(post.state, PostState::Failed | PostState::Unconfirmed)).then(|| view! {
                                    <button type="button" class="primary" on:click=move |_| { retry.dispatch(RetryPost { post_id: post.id }); }>"Send again"</button>
                                })}
                                {(can_edit && post.state == PostState::Scheduled).then(|| {
                                    let when = RwSignal::new(post.wall_clock.clone().unwrap_or_default());
                                    view! {
                                        <div class="inline-form reschedule">
                                            <label for="post-when">"Move to (your time)"</label>
                                            <input id="post-when" type="datetime-local" prop:value=move || when.get()
                                                on:input=move |ev| when.set(event_target_value(&ev))/>
                                            <button type="button" on:click=move |_| { reschedule.dispatch(ReschedulePost { post_id: post.id, when: when.get_untracked() }); }>"Move"</button>
                                            <button type="button" class="danger" on:click=move |_| { cancel.dispatch(CancelPost { post_id: post.id }); }>"Cancel post"</button>
                                        </div>
                                    }
                                })}
                                {(can_edit && post.state != PostState::Uploading).then(|| view! {
                                    <button type="button" on:click=move |_| { duplicate.dispatch(DuplicatePost { post_id: post.id }); }>"Duplicate"</button>
                                })}
                                {post.tiktok_post_id.clone().map(|id| view! {
                                    <p class="published">"TikTok post id " <code class="post-id">{id}</code> " · "
                                        <a class="tiktok-link" href=post.tiktok_url().unwrap_or_default() target="_blank" rel="noopener">"Open on TikTok"</a></p>
                                })}
                                <dl class="facts">
                                    <dt>"Caption"</dt><dd>{caption_preview(&post.caption)}</dd>
                                    <dt>"Audience"</dt><dd>{post.privacy_level.as_deref().map(privacy_label).unwrap_or("Creator decides in the TikTok app").to_owned()}</dd>
                                    <dt>"Video"</dt><dd>{human_bytes(post.video_bytes.max(0) as u64)}</dd>
                                    <dt>{if post.scheduled_at.is_some() { "Scheduled for" } else { "Posted" }}</dt><dd class="when">{post.when_label.clone()}</dd>
                                </dl>
                            </section>
                            <section class="card">
                                <h2>"Timeline"</h2>
                                <ol class="timeline">
                                    {detail.events.into_iter().map(|event| view! {
                                        <li class=format!("event-{}", event.kind)><time>{format_utc(event.at)}</time> " " {event.message}</li>
                                    }).collect_view()}
                                </ol>
                            </section>
                        }.into_any()
                    }
                    Err(error) => view! { <p class="form-error">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}
