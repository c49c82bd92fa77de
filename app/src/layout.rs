//! The frame around every signed-in page: sandbox banner, navigation, team switcher, log-out.

use crate::{
    auth::{
        api::{get_server_mode, get_session_info},
        types::SessionInfo,
    },
    request_scope::in_request,
};
use leptos::prelude::*;
use leptos_router::{
    components::{A, Outlet, Redirect},
    hooks::use_location,
};

/// Shown on every page while Cadence talks to its built-in TikTok sandbox.
#[component]
pub fn SandboxBanner() -> impl IntoView {
    let mode = OnceResource::new_blocking(in_request(get_server_mode()));
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                mode.await.ok().filter(|mode| mode.sandbox).map(|_| view! {
                    <div class="sandbox-banner" role="note">
                        <strong>"Sandbox mode"</strong>
                        " — no TikTok credentials are configured, so Cadence talks to its built-in TikTok \
                          sandbox. Nothing is posted to TikTok."
                    </div>
                })
            })}
        </Suspense>
    }
}

/// Parent route of every page that needs a logged-in member. Sends visitors to `/login`
/// (remembering where they wanted to go) and provides [`SessionInfo`] to the pages.
#[component]
pub fn SignedInLayout() -> impl IntoView {
    // A OnceResource resolves once and never notifies again. A Resource here could re-run this
    // Suspend's closure after it resolved on the server, creating the page (and its resources)
    // a second time, depending on timing; the browser then saw resource ids that did not line
    // up and hydration failed. Blocking, so a logged-out visitor gets a real redirect.
    let info = OnceResource::new_blocking(in_request(get_session_info()));
    let location = use_location();
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match info.await {
                    Ok(Some(info)) => view! { <SignedIn info/> }.into_any(),
                    Ok(None) => {
                        let next = location.pathname.get_untracked();
                        let path = if next == "/" { "/login".to_owned() } else { format!("/login?next={next}") };
                        view! { <Redirect path/> }.into_any()
                    }
                    Err(error) => view! {
                        <main class="page"><p class="form-error" role="alert">{error.to_string()}</p></main>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SignedIn(info: SessionInfo) -> impl IntoView {
    provide_context(info.clone());
    let teams = info.teams.clone();
    let current = info.team.id;
    view! {
        <header class="top">
            <A href="/" attr:class="brand">"Cadence"</A>
            <nav aria-label="Main">
                <A href="/" exact=true>"Dashboard"</A>
                <A href="/calendar">"Calendar"</A>
                <A href="/compose">"New post"</A>
                <A href="/posts">"Posts"</A>
                <A href="/drafts">"Drafts"</A>
                <A href="/accounts">"Accounts"</A>
                <A href="/analytics">"Analytics"</A>
                <A href="/team">"Team"</A>
                <A href="/settings">"Settings"</A>
            </nav>
            <div class="who">
                // Plain forms: switching team or logging out reloads the whole page, so nothing
                // from the previous team or session lingers in the browser's state.
                <form method="post" action="/api/teams/switch" class="team-switcher">
                    <label for="team-switch" class="visually-hidden">"Current team"</label>
                    <select name="team_id" id="team-switch">
                        {teams.into_iter().map(|team| view! {
                            <option value=team.id.to_string() selected=team.id == current>{team.name}</option>
                        }).collect_view()}
                    </select>
                    <button type="submit">"Switch"</button>
                </form>
                <span class="user" title=info.user.email.clone()>{info.user.display_name.clone()}</span>
                <form method="post" action="/api/auth/logout">
                    <button type="submit" class="link">"Log out"</button>
                </form>
            </div>
        </header>
        <main class="page">
            <Outlet/>
        </main>
    }
}
