//! The accounts page: connected TikTok accounts with their health, what TikTok allows them,
//! and connect, reconnect, refresh and disconnect.

use crate::{
    accounts::{
        api::{DisconnectAccount, RefreshAccountInfo, list_accounts},
        types::{AccountStatus, AccountView, ConnectProblem, GrantEnd},
    },
    auth::types::SessionInfo,
    teams::types::Role,
    tiktok::{
        scopes::{Allows, describe},
        types::privacy_label,
    },
    ui::{FormError, format_utc, list_resource},
};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// `/accounts`
#[component]
pub fn AccountsPage() -> impl IntoView {
    let info = expect_context::<SessionInfo>();
    let can_edit = info.role >= Role::Editor;
    let disconnect = ServerAction::<DisconnectAccount>::new();
    let refresh = ServerAction::<RefreshAccountInfo>::new();
    let accounts = list_resource(move || vec![disconnect.version().get(), refresh.version().get()], list_accounts);
    let query = use_query_map();
    let problem = move || query.read().get("connect_error").and_then(|key| ConnectProblem::from_key(&key));
    let connected = move || query.read().get("connected").is_some();
    let action_error = Signal::derive(move || {
        disconnect.value().get().and_then(Result::err).or_else(|| refresh.value().get().and_then(Result::err))
    });

    view! {
        <h1>"TikTok accounts"</h1>
        <p class="lede">"Cadence posts to these accounts. Tokens are encrypted and renewed automatically."</p>
        {move || problem().map(|problem| view! { <p class="form-error" role="alert">{problem.message()}</p> })}
        <Show when=connected><p class="success" role="status">"TikTok account connected."</p></Show>
        <FormError error=action_error fields=&[]/>
        {can_edit.then(|| view! {
            // A plain form: the server answers with a redirect to TikTok's consent screen,
            // which must be a full page navigation.
            <form method="post" action="/api/accounts/connect" class="inline-form connect">
                <button type="submit" class="primary">"Connect TikTok"</button>
            </form>
        })}
        <Suspense fallback=|| view! { <p>"Loading accounts…"</p> }>
            {move || Suspend::new(async move {
                match accounts.await {
                    Ok(list) if list.is_empty() => view! {
                        <section class="card"><p class="empty">"No TikTok accounts are connected to this team yet."</p></section>
                    }.into_any(),
                    Ok(list) => view! {
                        <div class="accounts">
                            {list.into_iter().map(|account| view! { <AccountCard account can_edit disconnect refresh/> }).collect_view()}
                        </div>
                    }.into_any(),
                    Err(error) => view! { <p class="form-error">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AccountCard(
    account: AccountView,
    can_edit: bool,
    disconnect: ServerAction<DisconnectAccount>,
    refresh: ServerAction<RefreshAccountInfo>,
) -> impl IntoView {
    let id = account.id.to_string();
    let status_class = match account.status {
        AccountStatus::Active => "status ok",
        AccountStatus::NeedsReconnect => "status warn",
        AccountStatus::Disconnected => "status off",
    };
    let allows = account.allows();
    let grant_end = account.grant_end;
    view! {
        <section class="card account" data-account=account.display_name.clone()>
            <div class="account-head">
                <Avatar url=account.avatar_url.clone() name=account.display_name.clone() size=56/>
                <div>
                    <h2>{account.display_name.clone()}</h2>
                    {account.username.clone().map(|name| view! { <p class="username">"@" {name}</p> })}
                </div>
                <span class=status_class>{account.status.label()}</span>
            </div>
            {account.status_reason.clone().map(|reason| view! { <p class="reason">{reason}</p> })}
            {(account.status == AccountStatus::Active).then(|| granted_note(allows))}
            {grant_end.map(|end| {
                let (class, urgency) = match end {
                    GrantEnd::Urgent(_) => ("reason urgent", "in less than three days"),
                    GrantEnd::Soon(_) => ("reason", "within two weeks"),
                };
                let warning = format!(
                    "TikTok ends this connection {urgency} ({}). Reconnect before then, or scheduled posts after it will fail.",
                    format_utc(end.at())
                );
                view! { <p class=class role="status">{warning}</p> }
            })}
            <dl class="facts">
                {account.last_refreshed_at.map(|at| view! { <dt>"Token renewed"</dt><dd>{format_utc(at)}</dd> })}
                {account.access_expires_at.map(|at| view! { <dt>"Token valid until"</dt><dd>{format_utc(at)}</dd> })}
                {account.refresh_expires_at.map(|at| view! { <dt>"Connection ends"</dt><dd>{format_utc(at)}</dd> })}
                <dt>"Cadence may"</dt>
                <dd>{account.scopes.iter().map(|scope| describe(scope).to_owned()).collect::<Vec<_>>().join("; ")}</dd>
                {account.creator_info.clone().map(|info| view! {
                    <dt>"Who can see posts"</dt>
                    <dd>{info.privacy_level_options.iter().map(|level| privacy_label(level).to_owned()).collect::<Vec<_>>().join(", ")}</dd>
                    <dt>"Longest video"</dt>
                    <dd>{format!("{} seconds", info.max_video_post_duration_sec)}</dd>
                    <dt>"Turned off by the creator"</dt>
                    <dd>{disabled_interactions(info.comment_disabled, info.duet_disabled, info.stitch_disabled)}</dd>
                })}
            </dl>
            {can_edit.then(|| {
                let id = id.clone();
                view! {
                    <div class="actions">
                        {(account.status != AccountStatus::Active).then(|| view! {
                            <form method="post" action="/api/accounts/connect" class="inline-form">
                                <button type="submit" class="primary">"Reconnect"</button>
                            </form>
                        })}
                        {(account.status == AccountStatus::Active).then(|| {
                            let id = id.clone();
                            view! {
                                <ActionForm action=refresh attr:class="inline-form">
                                    <input type="hidden" name="account_id" value=id/>
                                    <button type="submit">"Refresh details"</button>
                                </ActionForm>
                            }
                        })}
                        {(account.status != AccountStatus::Disconnected).then(|| view! {
                            <ActionForm action=disconnect attr:class="inline-form">
                                <input type="hidden" name="account_id" value=id.clone()/>
                                <button type="submit" class="danger">"Disconnect"</button>
                            </ActionForm>
                        })}
                    </div>
                }
            })}
        </section>
    }
}

/// What a partial grant means for posting, when it is partial.
fn granted_note(allows: Allows) -> Option<impl IntoView> {
    let note = match (allows.direct_post, allows.inbox) {
        (true, true) => return None,
        (false, true) => "Direct Post was not granted: Cadence can only send drafts to this account's TikTok inbox. Reconnect and keep \"post directly\" ticked to post and schedule.",
        (true, false) => "Drafts were not granted: Cadence can post directly but cannot send drafts to the inbox.",
        (false, false) => "No posting permission was granted. Reconnect and keep the posting permissions ticked.",
    };
    Some(view! { <p class="reason">{note}</p> })
}

/// A creator's avatar. TikTok's avatar URLs are signed and expire within hours, so a stale
/// one must not show as a broken image: the initial stays visible behind it, and an image
/// that fails to load hides itself.
#[component]
pub fn Avatar(url: Option<String>, name: String, size: u32) -> impl IntoView {
    let failed = RwSignal::new(false);
    let initial = name.chars().next().map(|c| c.to_uppercase().to_string()).unwrap_or_default();
    view! {
        <span class=format!("avatar-frame avatar-{size}") aria-hidden="true">
            {initial}
            {url.map(|src| view! {
                <img src=src alt="" width=size height=size
                    class:hidden=move || failed.get() on:error=move |_| failed.set(true)/>
            })}
        </span>
    }
}

fn disabled_interactions(comment: bool, duet: bool, stitch: bool) -> String {
    let off: Vec<&str> = [("comments", comment), ("duets", duet), ("stitches", stitch)]
        .into_iter()
        .filter_map(|(name, disabled)| disabled.then_some(name))
        .collect();
    if off.is_empty() { "nothing".to_owned() } else { off.join(", ") }
}
