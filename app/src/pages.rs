//! The dashboard, the pages whose content arrives with later features, and the 404 page.

use crate::{
    accounts::{api::list_accounts, types::{AccountStatus, GrantEnd}},
    auth::types::SessionInfo,
    notifications::components::NotificationList,
    posts::{api::summarize_posts, types::PostState},
    teams::types::Role,
    ui::format_utc,
};
use crate::request_scope::page_resource;
use leptos::prelude::*;
use leptos_router::components::A;

/// `/`: what needs attention, what comes next, and the team's accounts at a glance.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let info = expect_context::<SessionInfo>();
    let can_edit = info.role >= Role::Editor;
    let summary = page_resource(|| (), |_| summarize_posts());
    let accounts = page_resource(|| (), |_| list_accounts());
    view! {
        <h1>{format!("Welcome, {}", info.user.display_name)}</h1>
        <p class="lede">
            "You are working in " <strong>{info.team.name.clone()}</strong> " as "
            <strong class="role">{info.role.label()}</strong> "."
        </p>
        {(!can_edit).then(|| view! {
            <p class="viewer-note">"As a viewer you can follow what the team schedules, but not change it."</p>
        })}
        <div class="grid">
            <section class="card attention" aria-labelledby="attention-title">
                <h2 id="attention-title">"Needs attention"</h2>
                <NotificationList/>
            </section>
            <section class="card" aria-labelledby="posts-title">
                <h2 id="posts-title">"Posts"</h2>
                <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match summary.await {
                            Ok(summary) => {
                                let counts = [PostState::Scheduled, PostState::Processing, PostState::Published, PostState::Failed]
                                    .map(|state| view! { <dt>{state.label()}</dt><dd class=format!("count-{}", state.as_str())>{summary.count(state)}</dd> });
                                view! {
                                    <dl class="facts">{counts.into_iter().collect_view()}</dl>
                                    {if summary.upcoming.is_empty() {
                                        view! { <p class="empty">"Nothing scheduled."</p> }.into_any()
                                    } else {
                                        view! {
                                            <h3>"Next up"</h3>
                                            <ul class="upcoming">
                                                {summary.upcoming.into_iter().map(|post| view! {
                                                    <li><A href=format!("/posts/{}", post.id)>{post.scheduled_at.map(format_utc).unwrap_or_default()}</A>
                                                        " · " {post.account_name.clone()}</li>
                                                }).collect_view()}
                                            </ul>
                                        }.into_any()
                                    }}
                                }.into_any()
                            }
                            Err(error) => view! { <p class="form-error">{error.to_string()}</p> }.into_any(),
                        }
                    })}
                </Suspense>
                {can_edit.then(|| view! { <p><A href="/compose" attr:class="button primary">"New post"</A></p> })}
            </section>
            <section class="card" aria-labelledby="accounts-title">
                <h2 id="accounts-title">"TikTok accounts"</h2>
                <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match accounts.await {
                            Ok(list) if list.is_empty() => view! {
                                <p class="empty">"No TikTok accounts are connected to this team yet."</p>
                            }.into_any(),
                            Ok(list) => {
                                let connected = list.iter().filter(|a| a.status == AccountStatus::Active).count();
                                view! {
                                    <p>{format!("{connected} of {} connected", list.len())}</p>
                                    <ul>
                                        {list.into_iter().map(|a| view! {
                                            <li>{a.display_name.clone()} " · " <span class="hint">{a.status.label()}</span>
                                                {a.grant_end.map(|end| view! {
                                                    <span class=match end { GrantEnd::Urgent(_) => "grant-end urgent", GrantEnd::Soon(_) => "grant-end" }>
                                                        {format!(" · TikTok ends this connection {}: reconnect before then", format_utc(end.at()))}
                                                    </span>
                                                })}
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }
                            Err(error) => view! { <p class="form-error">{error.to_string()}</p> }.into_any(),
                        }
                    })}
                </Suspense>
                <p><A href="/accounts">"Manage accounts"</A></p>
            </section>
            <section class="card">
                <h2>"Team"</h2>
                <p><A href="/team">"See members and invites"</A></p>
            </section>
        </div>
    }
}

/// Any unknown path; answers with HTTP 404 during server rendering.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="auth-page">
            <section class="card auth-card">
                <p class="brand">"Cadence"</p>
                <h1>"Page not found"</h1>
                <p>"There is nothing at this address."</p>
                <p><A href="/">"Go to the dashboard"</A></p>
            </section>
        </main>
    }
}
