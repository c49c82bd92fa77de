//! The dashboard: what needs attention, what comes next, and the team's accounts at a glance.

use crate::{
    accounts::types::{AccountStatus, AccountView, GrantEnd},
    auth::types::SessionInfo,
    error::AppError,
    notifications::components::NotificationList,
    posts::types::{PostState, PostSummary},
    request_scope::page_resource,
    teams::types::Role,
    ui::format_utc,
};
use leptos::prelude::*;
use leptos_router::components::A;
use serde::{Deserialize, Serialize};

/// What the dashboard shows besides the notifications.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardView {
    pub posts: PostSummary,
    pub accounts: Vec<AccountView>,
}

/// The team's post counts, next posts and accounts (any member may look), read in one round
/// trip: the three queries go to PostgreSQL together on one connection (pipelined).
#[server(endpoint = "dashboard")]
pub async fn load_dashboard() -> Result<DashboardView, AppError> {
    use crate::{accounts::ssr::list_for_team, posts::ssr::summary_for_team, state::db, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Viewer).await?;
    let (_, tz) = crate::calendar::ssr::member_zone(&mut conn, caller.user_id).await?;
    let (posts, accounts) =
        futures_util::try_join!(summary_for_team(&conn, caller.team_id, &tz), list_for_team(&conn, caller.team_id))?;
    Ok(DashboardView { posts, accounts })
}

/// `/`: what needs attention, what comes next, and the team's accounts at a glance.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let info = expect_context::<SessionInfo>();
    let can_edit = info.role >= Role::Editor;
    let dashboard = page_resource(|| (), |_| load_dashboard());
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
                        match dashboard.await {
                            Ok(DashboardView { posts: summary, .. }) => {
                                let counts = [PostState::Scheduled, PostState::Processing, PostState::Published, PostState::Failed]
                                    .map(|state| {
                                        let label = if state.is_settled() { format!("{} (30 days)", state.label()) } else { state.label().to_owned() };
                                        view! { <dt>{label}</dt><dd class=format!("count-{}", state.as_str())>{summary.count(state)}</dd> }
                                    });
                                let waiting = summary.awaiting_approval;
                                view! {
                                    <dl class="facts">{counts.into_iter().collect_view()}</dl>
                                    {(waiting > 0).then(|| view! {
                                        <p class="notice awaiting-approval">
                                            {if waiting == 1 { "1 scheduled post waits for approval".to_owned() } else { format!("{waiting} scheduled posts wait for approval") }}
                                            "; it goes out only once approved. " <A href="/posts?state=scheduled">"See scheduled posts"</A>
                                        </p>
                                    })}
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
                        match dashboard.await.map(|dashboard| dashboard.accounts) {
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
