//! The guest's page of a preview link, and the card on a post's page where approvers share it and revoke links.

use crate::{
    approvals::types::Approval,
    previews::{
        api::{CreatePreviewLink, DecideInPreview, RevokePreviewLink, list_preview_links, preview_page},
        phone::PhonePreview,
        types::{GuestDecision, MAX_DAYS, PreviewPost, guest_name_problem},
    },
    request_scope::page_resource,
    ui::FormError,
};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

/// `/preview/:token`: what a client sees without an account.
#[component]
pub fn PreviewLinkPage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let decide = ServerAction::<DecideInPreview>::new();
    // Loaded again after each decision, so the guest sees where the post stands now.
    let page = page_resource(move || (token(), decide.version().get()), |(token, _)| preview_page(token));
    let name = RwSignal::new(String::new());
    view! {
        <main class="preview-page">
            <Suspense fallback=|| view! { <p>"Opening the preview…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(page) => view! {
                            <header class="preview-head">
                                <p class="brand">"Cadence"</p>
                                <h1>{page.label.clone()}</h1>
                                <p class="lede">{format!("From {}. This link works until {}.", page.team, page.expires_label)}</p>
                            </header>
                            <div class="field preview-name">
                                <label for="guest-name">"Your name (shown to the team with your decision)"</label>
                                <input id="guest-name" type="text" maxlength="80" autocomplete="name"
                                    prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                            </div>
                            <FormError error=Signal::derive(move || decide.value().get().and_then(Result::err)) fields=&[]/>
                            {page.posts.into_iter().map(|post| view! { <GuestPost post token=token() name decide/> }).collect_view()}
                        }
                        .into_any(),
                        Err(error) => view! {
                            <section class="card auth-card">
                                <p class="brand">"Cadence"</p>
                                <h1>"This preview does not open"</h1>
                                <p class="form-error" role="alert">{error.to_string()}</p>
                            </section>
                        }
                        .into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

/// One post of the preview with the guest's choices.
#[component]
fn GuestPost(post: PreviewPost, token: String, name: RwSignal<String>, decide: ServerAction<DecideInPreview>) -> impl IntoView {
    let comment = RwSignal::new(String::new());
    let PreviewPost { id, account, caption, due_label, approval, fingerprint, decidable, video_path, comments } = post;
    let send = move |decision: GuestDecision| {
        decide.dispatch(DecideInPreview {
            token: token.clone(),
            post_id: id,
            fingerprint: fingerprint.clone(),
            decision,
            name: name.get_untracked(),
            comment: comment.get_untracked(),
        });
    };
    let send_approval = send.clone();
    let name_problem = move || guest_name_problem(&name.get());
    view! {
        <article class="card preview-post" data-post=id.to_string()>
            <PhonePreview video_src=video_path account=account.clone() caption/>
            <div class="preview-side">
                <h2>{format!("For {account}")}</h2>
                <p class="when">{due_label.map_or_else(|| "No time set yet".to_owned(), |when| format!("Goes out {when}"))}</p>
                <p class=format!("approval-state approval-{}", approval.as_str())><strong>{approval.label()}</strong></p>
                {comments.into_iter().map(|c| view! {
                    <p class="comment"><strong>{c.name}</strong> " · " <time>{c.when_label}</time><br/>{c.body}</p>
                }).collect_view()}
                {if decidable {
                    view! {
                        <div class="field">
                            <label for=format!("guest-comment-{id}")>"Comment (needed to ask for changes)"</label>
                            <textarea id=format!("guest-comment-{id}") rows="3" prop:value=move || comment.get()
                                on:input=move |ev| comment.set(event_target_value(&ev))></textarea>
                        </div>
                        <div class="actions">
                            {(approval != Approval::Approved).then(|| view! {
                                <button type="button" class="primary guest-approve" disabled=move || decide.pending().get() || name_problem().is_some()
                                    title=move || name_problem().unwrap_or_default()
                                    on:click=move |_| send_approval(GuestDecision::Approve)>"Approve"</button>
                            })}
                            <button type="button" class="guest-changes" disabled=move || decide.pending().get() || name_problem().is_some()
                                title=move || name_problem().unwrap_or_default()
                                on:click=move |_| send(GuestDecision::RequestChanges)>"Ask for changes"</button>
                        </div>
                    }
                    .into_any()
                } else {
                    view! { <p class="hint">"This post is past deciding on."</p> }.into_any()
                }}
            </div>
        </article>
    }
    .into_any()
}

/// On a post's page, for approvers: make a link that shows this post to a client, and the
/// team's links to it (loaded once the card is opened, so the page itself costs nothing more).
#[component]
pub fn ShareCard(post_id: Uuid) -> impl IntoView {
    let open = RwSignal::new(false);
    let create = ServerAction::<CreatePreviewLink>::new();
    let revoke = ServerAction::<RevokePreviewLink>::new();
    let label = RwSignal::new(String::new());
    let days = RwSignal::new(String::from("7"));
    let links = Resource::new(
        move || (open.get(), create.version().get(), revoke.version().get()),
        |(open, _, _)| async move { if open { list_preview_links().await.map(Some) } else { Ok(None) } },
    );
    let origin = move || {
        #[cfg(feature = "hydrate")]
        {
            window().location().origin().unwrap_or_default()
        }
        #[cfg(not(feature = "hydrate"))]
        {
            String::new()
        }
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        create.dispatch(CreatePreviewLink {
            post_ids: post_id.to_string(),
            label: label.get_untracked(),
            days: days.get_untracked().parse().unwrap_or(0),
        });
    };
    let error = Signal::derive(move || create.value().get().and_then(Result::err).or_else(|| revoke.value().get().and_then(Result::err)));
    view! {
        <section class="card share" aria-labelledby="share-title">
            <h2 id="share-title">"Client preview"</h2>
            <Show when=move || open.get() fallback=move || view! {
                <p class="hint">"Show this post to someone without an account, as TikTok would show it; they can approve it or ask for changes."</p>
                <button type="button" id="share-open" on:click=move |_| open.set(true)>"Share with a client…"</button>
            }>
                <form class="form inline-form" on:submit=submit>
                    <div class="field">
                        <label for="share-label">"Who it is for"</label>
                        <input id="share-label" type="text" maxlength="100" prop:value=move || label.get()
                            on:input=move |ev| label.set(event_target_value(&ev))/>
                        <p class="field-error">{move || create.value().get().and_then(Result::err).and_then(|e| e.field_message("label"))}</p>
                    </div>
                    <div class="field">
                        <label for="share-days">"Works for (days)"</label>
                        <input id="share-days" type="number" min="1" max=MAX_DAYS.to_string() prop:value=move || days.get()
                            on:input=move |ev| days.set(event_target_value(&ev))/>
                    </div>
                    <button type="submit" class="primary" disabled=move || create.pending().get()>"Make link"</button>
                </form>
                {move || create.value().get().and_then(Result::ok).map(|made| {
                    let address = format!("{}{}", origin(), made.path);
                    view! {
                        <p class="success" role="status">"Send this address to your client. It is shown only now."</p>
                        <input class="share-address" type="text" readonly=true value=address/>
                    }
                })}
                <FormError error fields=&["label"]/>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let links = links.await.ok().flatten().unwrap_or_default();
                        let mine: Vec<_> = links.into_iter().filter(|link| link.post_ids.contains(&post_id)).collect();
                        (!mine.is_empty()).then(|| view! {
                            <h3>"Links to this post"</h3>
                            <ul class="share-links">
                                {mine.into_iter().map(|link| {
                                    let state = if link.revoked { "revoked".to_owned() } else if link.live { format!("until {}", link.expires_label) } else { "expired".to_owned() };
                                    view! {
                                        <li class=if link.live { "share-link live" } else { "share-link" }>
                                            <strong>{link.label}</strong> {format!(" · by {} · {state}", link.created_by)}
                                            {link.live.then(|| view! {
                                                " " <button type="button" class="link danger share-revoke"
                                                    on:click=move |_| { revoke.dispatch(RevokePreviewLink { link_id: link.id }); }>"Revoke"</button>
                                            })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        })
                    })}
                </Suspense>
            </Show>
        </section>
    }
    .into_any()
}
