//! The dashboard, the pages whose content arrives with later features, and the 404 page.

use crate::{auth::types::SessionInfo, teams::types::Role};
use leptos::prelude::*;
use leptos_router::components::A;

/// `/`: a summary of the current team and what to do next.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let info = expect_context::<SessionInfo>();
    let can_edit = info.role >= Role::Editor;
    view! {
        <h1>{format!("Welcome, {}", info.user.display_name)}</h1>
        <p class="lede">
            "You are working in " <strong>{info.team.name.clone()}</strong> " as "
            <strong class="role">{info.role.label()}</strong> "."
        </p>
        <div class="grid">
            <section class="card">
                <h2>"TikTok accounts"</h2>
                <p class="empty">"No TikTok accounts are connected to this team yet."</p>
            </section>
            <section class="card">
                <h2>"Posts"</h2>
                <p class="empty">"Nothing scheduled."</p>
                {if can_edit {
                    view! { <p>"Editors, admins and owners compose and schedule posts."</p> }.into_any()
                } else {
                    view! { <p class="viewer-note">"As a viewer you can follow what the team schedules, but not change it."</p> }.into_any()
                }}
            </section>
            <section class="card">
                <h2>"Team"</h2>
                <p><A href="/team">"See members and invites"</A></p>
            </section>
        </div>
    }
}

/// A page whose feature is not part of this build yet; says so plainly instead of faking data.
#[component]
fn NotYetAvailable(title: &'static str, what: &'static str) -> impl IntoView {
    view! {
        <h1>{title}</h1>
        <section class="card">
            <p class="empty">{what}</p>
        </section>
    }
}

/// `/calendar`
#[component]
pub fn CalendarPage() -> impl IntoView {
    view! { <NotYetAvailable title="Calendar" what="Scheduled posts will appear here by month and week. Scheduling is not available in this build yet."/> }
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
