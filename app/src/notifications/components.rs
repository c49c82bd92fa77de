//! The list of open notifications, on the dashboard and on its own page, and each member's
//! choice of e-mails on their settings page.

use crate::{
    auth::types::SessionInfo,
    notifications::{
        api::{AcknowledgeNotification, SaveEmailPreferences, get_email_preferences, list_notifications},
        types::EmailPreferences,
    },
    request_scope::page_resource,
    teams::types::Role,
    ui::{FormError, format_utc, list_resource},
};
use leptos::prelude::*;
use leptos_router::components::A;

/// Open notifications with a link to act and an "Acknowledge" button.
#[component]
pub fn NotificationList() -> impl IntoView {
    let info = expect_context::<SessionInfo>();
    let can_act = info.role >= Role::Editor;
    let acknowledge = ServerAction::<AcknowledgeNotification>::new();
    let open = list_resource(move || vec![acknowledge.version().get()], list_notifications);
    view! {
        <FormError error=Signal::derive(move || acknowledge.value().get().and_then(Result::err)) fields=&[]/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match open.await {
                    Ok(list) if list.is_empty() => view! { <p class="empty">"Nothing needs your attention."</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="notifications">
                            {list.into_iter().map(|n| {
                                let id = n.id;
                                view! {
                                    <li class=format!("notification {}", n.kind.as_str())>
                                        <strong>{n.kind.title()}</strong>
                                        <time>{format_utc(n.created_at)}</time>
                                        <p>{n.message.clone()}</p>
                                        <div class="actions">
                                            <A href=n.link()>"Open"</A>
                                            {can_act.then(|| view! {
                                                <button type="button" on:click=move |_| { acknowledge.dispatch(AcknowledgeNotification { id }); }>"Acknowledge"</button>
                                            })}
                                        </div>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(error) => view! { <p class="form-error">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// `/notifications`
#[component]
pub fn NotificationsPage() -> impl IntoView {
    view! {
        <h1>"Notifications"</h1>
        <section class="card"><NotificationList/></section>
    }
}

/// The settings page's "E-mail" section: which e-mails the member gets from this team.
#[component]
pub fn EmailPreferencesSection() -> impl IntoView {
    let save = ServerAction::<SaveEmailPreferences>::new();
    let current = page_resource(|| (), |()| get_email_preferences());
    let saved = move || matches!(save.value().get(), Some(Ok(())));
    view! {
        <section class="card" aria-labelledby="email-title">
            <h2 id="email-title">"E-mail"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match current.await {
                        Ok(settings) => {
                            let choices = RwSignal::new(settings.preferences);
                            let toggle = move |label: &'static str, get: fn(&EmailPreferences) -> bool, set: fn(&mut EmailPreferences, bool)| {
                                view! {
                                    <label class="checkbox">
                                        <input
                                            type="checkbox"
                                            prop:checked=move || get(&choices.get())
                                            on:change=move |ev| choices.update(|c| set(c, event_target_checked(&ev)))
                                        />
                                        {label}
                                    </label>
                                }
                            };
                            let submit = move |ev: leptos::ev::SubmitEvent| {
                                ev.prevent_default();
                                let c = choices.get_untracked();
                                save.dispatch(SaveEmailPreferences {
                                    post_failed: c.post_failed,
                                    post_unconfirmed: c.post_unconfirmed,
                                    account_reconnect: c.account_reconnect,
                                    grant_ending: c.grant_ending,
                                    daily_digest: c.daily_digest,
                                    approval_requested: c.approval_requested,
                                    approval_answered: c.approval_answered,
                                });
                            };
                            view! {
                                {(!settings.delivery_enabled).then(|| view! {
                                    <p class="hint">"This server sends no e-mail yet (no SMTP server is set up); your choices apply once it does."</p>
                                })}
                                <form class="form" on:submit=submit>
                                    {toggle("A post failed", |c| c.post_failed, |c, on| c.post_failed = on)}
                                    {toggle("A post needs checking (TikTok's answer was lost)", |c| c.post_unconfirmed, |c, on| c.post_unconfirmed = on)}
                                    {toggle("A TikTok account needs reconnecting", |c| c.account_reconnect, |c, on| c.account_reconnect = on)}
                                    {toggle("A TikTok connection ends within two weeks", |c| c.grant_ending, |c, on| c.grant_ending = on)}
                                    {toggle("A post waits for my approval (if I approve posts)", |c| c.approval_requested, |c, on| c.approval_requested = on)}
                                    {toggle("An approver approved my post or asked for changes", |c| c.approval_answered, |c, on| c.approval_answered = on)}
                                    {toggle("A daily digest of the team's posts", |c| c.daily_digest, |c, on| c.daily_digest = on)}
                                    <FormError error=Signal::derive(move || save.value().get().and_then(Result::err)) fields=&[]/>
                                    <Show when=saved><p class="success" role="status">"Saved."</p></Show>
                                    <button type="submit" class="primary">"Save e-mail choices"</button>
                                </form>
                            }.into_any()
                        }
                        Err(error) => view! { <p class="form-error">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
