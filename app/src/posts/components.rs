//! The list of the team's posts, and one post with its timeline (the composer is in
//! [`super::composer`]).

use crate::{
    accounts::api::list_accounts,
    auth::types::SessionInfo,
    error::AppError,
    posts::{
        api::{CancelPost, EditPost, RetryPost, get_post, list_posts},
        edit_form::EditPostForm,
        rules::ComposerChoices,
        types::{PostState, PostView},
    },
    request_scope::page_resource,
    teams::types::Role,
    tiktok::types::privacy_label,
    ui::{FormError, format_utc, human_bytes},
};
use leptos::prelude::*;
use crate::calendar::api::{CancelPosts, DuplicatePost, ReschedulePost};
use leptos_router::{
    components::{A, Form},
    hooks::{use_params_map, use_query_map},
};
use uuid::Uuid;

/// `/posts?account=…&state=…`: every post of the team, newest first, with filters and bulk
/// cancel of scheduled posts.
/// Shown beside "Send again" on an unconfirmed post: TikTok may have it already.
pub const UNCONFIRMED_RESEND_WARNING: &str =
    "TikTok may already have this post. Check the creator's profile first: sending it again can make it appear twice.";

#[component]
pub fn PostsPage() -> impl IntoView {
    let info = expect_context::<SessionInfo>();
    let can_edit = info.role >= Role::Editor;
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).filter(|v| !v.is_empty());
    let cancel_many = ServerAction::<CancelPosts>::new();
    let selected = RwSignal::new(std::collections::BTreeSet::<Uuid>::new());
    let posts = page_resource(
        move || (param("account"), param("state"), param("before"), cancel_many.version().get()),
        |(account, state, before, _)| list_posts(account.and_then(|a| a.parse().ok()), state, before),
    );
    // The list's links keep its filters.
    let link = move |before: Option<String>| {
        let mut pairs: Vec<(&str, String)> = ["account", "state"].into_iter().filter_map(|name| Some((name, param(name)?))).collect();
        pairs.extend(before.map(|cursor| ("before", cursor)));
        if pairs.is_empty() {
            return "/posts".to_owned();
        }
        format!("/posts?{}", form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish())
    };
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
                    Ok(page) if page.posts.is_empty() => view! {
                        <section class="card"><p class="empty">"No posts match."</p></section>
                    }.into_any(),
                    Ok(page) => view! {
                        <table class="posts">
                            <thead><tr><th></th><th><span class="visually-hidden">"Video"</span></th><th>"Account"</th><th>"Caption"</th><th>"When"</th><th>"State"</th></tr></thead>
                            <tbody>{page.posts.into_iter().map(|post| view! { <PostRow post can_edit selected/> }).collect_view()}</tbody>
                        </table>
                        <nav class="pager" aria-label="More posts">
                            {param("before").map(|_| view! { <A href=link(None)>"Newest posts"</A> })}
                            {page.older.map(|cursor| view! { <A href=link(Some(cursor)) attr:rel="next">"Older posts"</A> })}
                        </nav>
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
    let approval = approval_badge(&post);
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
            <td class="thumb-cell"><Thumbnail url=post.thumbnail_url.clone()/></td>
            <td>{post.account_name.clone()}</td>
            <td><A href=format!("/posts/{}", post.id)>{caption_preview(&post.caption)}</A></td>
            <td>{post.when_label.clone()}</td>
            <td>{badge} {approval}</td>
        </tr>
    }
}

/// A post's or draft's frame in a list, or an empty frame of the same size when it has none
/// (a video the browser could not decode, or one from before thumbnails), so rows line up.
#[component]
pub fn Thumbnail(url: Option<String>) -> impl IntoView {
    match url {
        Some(url) => view! { <img class="thumb" src=url alt="" loading="lazy" width="36" height="64"/> }.into_any(),
        None => view! { <span class="thumb thumb-none" aria-hidden="true"></span> }.into_any(),
    }
}

/// The account and state filters of the posts list and the calendar, as a GET form on
/// `action` (its query parameters are `account` and `state`); `children` adds hidden fields
/// the page keeps.
#[component]
pub fn PostFilters(action: &'static str, #[prop(optional)] children: Option<Children>) -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).filter(|v| !v.is_empty());
    let accounts = page_resource(|| (), |_| list_accounts());
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

/// Beside a scheduled post's badge: waiting for an approver, or sent back with changes asked.
fn approval_badge(post: &PostView) -> Option<impl IntoView + use<>> {
    use crate::approvals::types::Approval;
    (post.state == PostState::Scheduled && matches!(post.approval, Approval::Pending | Approval::ChangesRequested)).then(|| {
        view! { <span class=format!("badge approval-{}", post.approval.as_str())>{post.approval.label()}</span> }
    })
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
    let edit = ServerAction::<EditPost>::new();
    let approve = ServerAction::<crate::approvals::api::ApprovePost>::new();
    let ask_changes = ServerAction::<crate::approvals::api::RequestChanges>::new();
    let add_comment = ServerAction::<crate::comments::api::AddComment>::new();
    // What is being typed lives here, above the redrawn post, so a reload keeps it.
    let comment_draft = RwSignal::new(String::new());
    let changes_draft = RwSignal::new(String::new());
    let delete_comment = ServerAction::<crate::comments::api::DeleteComment>::new();
    // The post as it was when "Edit" was clicked: the form keeps what the person types while
    // the page below it refreshes.
    let editing = RwSignal::new(None::<(PostView, ComposerChoices)>);
    // A copy opens on its own page.
    Effect::new(move |_| {
        if let Some(Ok(copy)) = duplicate.value().get() {
            leptos_router::hooks::use_navigate()(&format!("/posts/{copy}"), Default::default());
        }
    });
    let detail = page_resource(
        move || {
            let decided = (approve.version().get(), ask_changes.version().get(), add_comment.version().get(), delete_comment.version().get());
            (post_id(), tick.get(), retry.version().get(), cancel.version().get(), reschedule.version().get(), edit.version().get(), decided)
        },
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
                // A scheduled post is looked at only once it is about to go out: a reload
                // redraws the page, and nothing changes by itself before then.
                // The browser's clock (`time` has none in wasm).
                let now = time::OffsetDateTime::from_unix_timestamp_nanos((web_sys::js_sys::Date::now() * 1e6) as i128)
                    .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
                let soon = |p: &PostView| {
                    p.state != PostState::Scheduled || p.scheduled_at.is_some_and(|at| at <= now + time::Duration::seconds(90))
                };
                let moving = post.as_ref().is_some_and(|p| !p.state.is_settled() && soon(p));
                let waiting = post.as_ref().is_some_and(|p| p.awaiting_moderation) && intervals.get().is_multiple_of(5);
                // Never while the person is writing something the redraw would take away.
                let writing = editing.with_untracked(Option::is_some)
                    || !comment_draft.with_untracked(String::is_empty)
                    || !changes_draft.with_untracked(String::is_empty);
                if (moving || waiting) && !writing {
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
        {move || editing.get().map(|(post, choices)| view! {
            <EditPostForm post choices save=edit close=Callback::new(move |()| editing.set(None))
                replaced=Callback::new(move |()| tick.update(|t| *t += 1))/>
        }.into_any())}
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => {
                        let post = detail.post;
                        let for_editing = (post.clone(), detail.choices);
                        let shows_approval = post.state == PostState::Scheduled
                            && (detail.approval.required || post.approval != crate::approvals::types::Approval::None);
                        let approval_card = shows_approval.then(|| view! {
                            <crate::approvals::components::ApprovalCard post_id=post.id approval=post.approval panel=detail.approval.clone()
                                approve ask=ask_changes comment=changes_draft/>
                        });
                        view! {
                            <h1>"Post to " {post.account_name.clone()}</h1>
                            <section class="card post-detail">
                                <p class="post-state">"State: " {post_badge(&post)}</p>
                                {post.published_note().map(|note| view! { <p class="notice published-note">{note}</p> })}
                                {post.downloaded_bytes.map(|bytes| view! {
                                    <p class="notice download-progress">{format!("TikTok has downloaded {} of {} from Cadence.",
                                        human_bytes(bytes.max(0) as u64), human_bytes(post.video_bytes.max(0) as u64))}</p>
                                })}
                                {matches!(post.state, PostState::Uploading | PostState::Processing).then(|| view! {
                                    <p class="notice">"TikTok may take a few minutes to process the video before it appears on the profile."</p>
                                })}
                                {post.fail_message.clone().map(|message| view! { <p class="form-error" role="alert">{message}</p> })}
                                // Sending an unconfirmed post again is a person's call (I2): say what it risks.
                                {(can_edit && post.state == PostState::Unconfirmed).then(|| view! {
                                    <p class="notice unconfirmed-warning">{UNCONFIRMED_RESEND_WARNING}</p>
                                })}
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
                                            <button type="button" id="post-edit" on:click=move |_| {
                                                edit.value().set(None);
                                                editing.set(Some(for_editing.clone()));
                                            }>"Edit"</button>
                                            <button type="button" class="danger" on:click=move |_| { cancel.dispatch(CancelPost { post_id: post.id }); }>"Cancel post"</button>
                                        </div>
                                    }
                                })}
                                // TikTok cancels a download in progress (PULL_FROM_URL); for an uploaded
                                // video the server says it is too late.
                                {(can_edit && post.state == PostState::Processing).then(|| view! {
                                    <button type="button" class="danger" title="TikTok can stop a download that is still in progress; a video it already has is past cancelling." on:click=move |_| { cancel.dispatch(CancelPost { post_id: post.id }); }>"Cancel post"</button>
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
                                    {if post.photo_urls.is_empty() {
                                        view! { <dt>"Video"</dt><dd>{human_bytes(post.video_bytes.max(0) as u64)}</dd> }.into_any()
                                    } else {
                                        view! {
                                            <dt>"Title"</dt><dd class="photo-title">{post.photo.as_ref().map(|p| p.title.clone()).unwrap_or_default()}</dd>
                                            <dt>"Photos"</dt><dd class="photo-count">{format!("{} · {}", photo_count(post.photo_urls.len()), human_bytes(post.video_bytes.max(0) as u64))}</dd>
                                        }.into_any()
                                    }}
                                    <dt>{if post.scheduled_at.is_some() { "Scheduled for" } else { "Posted" }}</dt><dd class="when">{post.when_label.clone()}</dd>
                                </dl>
                            </section>
                            {(!post.photo_urls.is_empty()).then(|| view! {
                                <section class="card post-photos" aria-label="Photos">
                                    <ol class="photo-strip">
                                        {post.photo_urls.iter().enumerate().map(|(index, url)| view! {
                                            <li><img src=url.clone() alt=format!("Photo {}", index + 1) loading="lazy"/></li>
                                        }).collect_view()}
                                    </ol>
                                </section>
                            })}
                            {post.video_url.clone().map(|video| view! {
                                <section class="card post-preview" aria-label="Preview">
                                    <crate::previews::phone::PhonePreview video_src=video
                                        account=post.account_username.clone().unwrap_or_else(|| post.account_name.clone())
                                        caption=post.caption.clone()/>
                                </section>
                            })}
                            {(post.state == PostState::Published).then(|| view! { <crate::analytics::components::PostCurve post_id=post.id/> })}
                            {approval_card}
                            {(detail.approval.may_approve && post.state == PostState::Scheduled).then(|| view! {
                                <crate::previews::components::ShareCard post_id=post.id/>
                            })}
                            <crate::comments::components::CommentThread post_id=post.id comments=detail.comments
                                add=add_comment delete=delete_comment draft=comment_draft/>
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

/// "1 photo", "5 photos".
pub fn photo_count(count: usize) -> String {
    if count == 1 { "1 photo".into() } else { format!("{count} photos") }
}
