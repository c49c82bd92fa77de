//! The list of open notifications, on the dashboard and on its own page.

use crate::{
    auth::types::SessionInfo,
    notifications::api::{AcknowledgeNotification, list_notifications},
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
