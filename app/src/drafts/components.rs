//! The Drafts list and a draft's page: choose its account, change its caption and settings (a carousel's title and cover too), schedule it under the creator's rules, or delete it.

use crate::{
    accounts::{api::list_accounts, types::AccountStatus},
    auth::types::SessionInfo,
    drafts::{
        api::{DeleteDraft, SaveDraft, ScheduleDraft, draft_detail, list_drafts},
        types::DraftView,
    },
    error::AppError,
    posts::{
        api::composer_creator,
        photo_fields::StoredPhotoFields,
        photo_rules::check_photos,
        rules::check,
        settings_form::PostSettings,
    },
    request_scope::page_resource,
    teams::types::Role,
    tiktok::types::CreatorInfo,
    ui::{FormError, human_bytes},
};
use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_params_map};
use uuid::Uuid;

/// `/drafts`: the team's drafts, last saved first.
#[component]
pub fn DraftsPage() -> impl IntoView {
    let drafts = page_resource(|| (), |_| list_drafts());
    view! {
        <h1>"Drafts"</h1>
        <Suspense fallback=|| view! { <p>"Loading drafts…"</p> }>
            {move || Suspend::new(async move {
                match drafts.await {
                    Ok(list) if list.is_empty() => view! {
                        <section class="card"><p class="empty">"No drafts. In the composer, “Save as draft” keeps a video or photos and the caption until you are ready."</p></section>
                    }.into_any(),
                    Ok(list) => view! {
                        <table class="posts drafts">
                            <thead><tr><th><span class="visually-hidden">"Frame"</span></th><th>"Caption"</th><th>"Account"</th><th>"Media"</th><th>"Saved"</th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|draft| {
                                    let opening = draft.opening();
                                    view! {
                                    <tr data-draft=draft.id.to_string()>
                                        <td class="thumb-cell"><crate::posts::components::Thumbnail url=draft.thumbnail_url.clone()/></td>
                                        <td><A href=format!("/drafts/{}", draft.id)>{opening}</A></td>
                                        <td>{draft.account_name.clone().unwrap_or_else(|| "Not chosen yet".into())}</td>
                                        <td>{match draft.photo_urls.len() {
                                            0 => human_bytes(draft.video_bytes),
                                            n => format!("{} · {}", crate::posts::components::photo_count(n), human_bytes(draft.video_bytes)),
                                        }}</td>
                                        <td>{format!("{} by {}", draft.updated_label, draft.created_by)}</td>
                                    </tr>
                                }}).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(error) => view! { <p class="form-error">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// `/drafts/:id`.
#[component]
pub fn DraftPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|id| id.parse::<Uuid>().ok());
    let save = ServerAction::<SaveDraft>::new();
    // Not loaded again after a save: the form already shows what was saved, and a new form
    // would ask TikTok for the creator's options once more.
    let loaded = page_resource(
        id,
        |id| async move {
            let id = id.ok_or_else(|| AppError::NotFound("Draft".into()))?;
            Ok::<_, AppError>((draft_detail(id).await?, list_accounts().await?))
        },
    );
    view! {
        <h1>"Draft"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match loaded.await {
                    Ok((draft, accounts)) => {
                        let accounts = accounts.into_iter().filter(|a| a.status == AccountStatus::Active).map(|a| (a.id, a.display_name)).collect();
                        view! { <DraftForm draft accounts save/> }.into_any()
                    }
                    Err(error) => view! { <p class="form-error">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn DraftForm(draft: DraftView, accounts: Vec<(Uuid, String)>, save: ServerAction<SaveDraft>) -> impl IntoView {
    let may_edit = use_context::<SessionInfo>().is_some_and(|info| info.role >= Role::Editor);
    let draft_id = draft.id;
    let account = RwSignal::new(draft.account_id);
    let choices = RwSignal::new(draft.choices.clone());
    // A photo draft: its own choices, and its images instead of a video.
    let is_photo = draft.photo.is_some();
    let photo = RwSignal::new(draft.photo.clone().unwrap_or_default());
    let image_count = draft.photo_urls.len();
    let when = RwSignal::new(String::new());
    let names = StoredValue::new(accounts.clone());
    // A replaced video is a new file: the preview loads it under a new address.
    let replacements = RwSignal::new(0u32);
    let stored_video = draft.video_url.clone().unwrap_or_default();
    let video_url = move || match replacements.get() {
        0 => stored_video.clone(),
        n => format!("{stored_video}&replaced={n}"),
    };
    let replaced = Callback::new(move |()| replacements.update(|n| *n += 1));
    let account_label = move || {
        names.with_value(|all| account.get().and_then(|id| all.iter().find(|(a, _)| *a == id)).map(|(_, name)| name.clone()))
            .unwrap_or_else(|| "your account".into())
    };
    let schedule = ServerAction::<ScheduleDraft>::new();
    let delete = ServerAction::<DeleteDraft>::new();
    let creator = RwSignal::new(None::<Result<CreatorInfo, AppError>>);
    // The creator's options, asked fresh whenever an account is chosen (TikTok's rule).
    Effect::new(move |_| {
        let chosen = account.get();
        creator.set(None);
        if let Some(id) = chosen {
            leptos::task::spawn_local(async move {
                let answer = composer_creator(id).await;
                if account.get_untracked() == Some(id) {
                    creator.set(Some(answer));
                }
            });
        }
    });
    let creator_info = Signal::derive(move || creator.get().and_then(Result::ok));
    let violations = Memo::new(move |_| match creator_info.get() {
        Some(info) if is_photo => check_photos(&choices.get(), &photo.get(), image_count, Some(&info)),
        Some(info) => check(&choices.get(), &info),
        None => Vec::new(),
    });
    let schedule_blocked = Memo::new(move |_| -> Option<String> {
        if account.get().is_none() {
            return Some("Choose the TikTok account to post to.".into());
        }
        match creator.get() {
            None => return Some("Asking TikTok what this account may post…".into()),
            Some(Err(error)) => return Some(error.to_string()),
            Some(Ok(_)) => {}
        }
        if let Some(first) = violations.get().into_iter().next() {
            return Some(first.message);
        }
        when.get().is_empty().then(|| "Choose when to post.".into())
    });
    let account_arg = move || account.get_untracked().map(|id| id.to_string()).unwrap_or_default();
    let choices_arg = move || serde_json::to_string(&choices.get_untracked()).unwrap_or_default();
    let photo_arg = move || is_photo.then(|| serde_json::to_string(&photo.get_untracked()).unwrap_or_default());
    // Scheduled or deleted: on to the new post, or back to the list.
    Effect::new(move |_| {
        let navigate = leptos_router::hooks::use_navigate();
        if let Some(Ok(post)) = schedule.value().get() {
            navigate(&format!("/posts/{post}"), Default::default());
        } else if let Some(Ok(())) = delete.value().get() {
            navigate("/drafts", Default::default());
        }
    });
    let error = Signal::derive(move || {
        save.value().get().and_then(Result::err)
            .or_else(|| schedule.value().get().and_then(Result::err))
            .or_else(|| delete.value().get().and_then(Result::err))
    });
    view! {
        <form class="card composer draft" on:submit=|ev| ev.prevent_default()>
            <p class="hint">{format!("{} {} · saved {} by {}", if is_photo { "Photos" } else { "Video" }, human_bytes(draft.video_bytes), draft.updated_label, draft.created_by)}</p>
            {if is_photo {
                view! { <StoredPhotoFields urls=draft.photo_urls.clone() photo id_prefix="draft"/> }.into_any()
            } else {
                view! {
                    <div class="preview">
                        <crate::previews::phone::PhonePreview video_src=Signal::derive(video_url)
                            account=Signal::derive(move || account_label())
                            caption=Signal::derive(move || choices.with(|c| c.caption.clone()))/>
                    </div>
                }.into_any()
            }}
            <div class="field">
                <label for="draft-account">"TikTok account"</label>
                <select id="draft-account" on:change=move |ev| account.set(event_target_value(&ev).parse().ok())>
                    <option value="" selected=draft.account_id.is_none()>"Not chosen yet"</option>
                    {accounts.into_iter().map(|(id, name)| view! {
                        <option value=id.to_string() selected=draft.account_id == Some(id)>{name}</option>
                    }).collect_view()}
                </select>
            </div>
            {(may_edit && !is_photo).then(|| view! {
                <crate::posts::replace_video::ReplaceVideo target=crate::posts::replace_video::ReplaceTarget::Draft(draft_id)
                    account=Signal::derive(move || account_label()) caption=Signal::derive(move || choices.with(|c| c.caption.clone()))
                    max_duration_secs=Signal::derive(move || Some(creator_info.get().map_or(crate::posts::rules::INBOX_MAX_DURATION_SECS, |info| info.max_video_post_duration_sec.max(1) as u32)))
                    done=replaced/>
            })}
            <PostSettings choices=choices creator=creator_info violations=violations drafting=Signal::derive(|| false)
                photos=Signal::derive(move || is_photo)/>
            <div class="field">
                <label for="draft-when">"When (your time)"</label>
                <input id="draft-when" type="datetime-local" prop:value=move || when.get() on:input=move |ev| when.set(event_target_value(&ev))/>
            </div>
            <FormError error fields=&[]/>
            <Show when=move || save.value().get().is_some_and(|r| r.is_ok())><p class="success" role="status">"Draft saved."</p></Show>
            {may_edit.then(|| view! {
                <div class="actions">
                    <button type="button" class="primary" id="draft-schedule" disabled=move || schedule_blocked.get().is_some() || schedule.pending().get()
                        title=move || schedule_blocked.get()
                        on:click=move |_| { schedule.dispatch(ScheduleDraft { draft_id, account_id: account_arg(), choices: choices_arg(), photo: photo_arg(), when: when.get_untracked() }); }>
                        "Schedule"
                    </button>
                    <button type="button" id="draft-save" disabled=move || save.pending().get()
                        on:click=move |_| { save.dispatch(SaveDraft { draft_id, account_id: account_arg(), choices: choices_arg(), photo: photo_arg() }); }>"Save draft"</button>
                    <button type="button" class="danger" id="draft-delete" on:click=move |_| { delete.dispatch(DeleteDraft { draft_id }); }>"Delete draft"</button>
                </div>
                <p class="hint blocked">{move || schedule_blocked.get()}</p>
            })}
        </form>
    }
    .into_any()
}
