//! Cadence's web app: pages, server functions and (behind `ssr`) the server-side domain code.
// The composer's view is one deep type; the default limit of 128 is too shallow for it.
#![recursion_limit = "256"]

pub mod accounts;
pub mod analytics;
pub mod approvals;
pub mod audit;
#[cfg(feature = "ssr")]
pub mod assets;
pub mod auth;
pub mod calendar;
pub mod comments;
pub mod dashboard;
pub mod drafts;
pub mod error;
pub mod layout;
pub mod media;
pub mod notifications;
pub mod pages;
pub mod posts;
pub mod previews;
pub mod publishing;
pub mod request_scope;
pub mod teams;
pub mod text;
pub mod tiktok;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod crypto;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod mail;
#[cfg(feature = "ssr")]
pub mod metrics;
#[cfg(feature = "ssr")]
pub mod state;

use leptos::prelude::*;
#[cfg(feature = "ssr")]
use leptos_meta::MetaTags;
use leptos_meta::{Link, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{ParentRoute, Route, Router, Routes},
    path,
};

/// A per-response CSP nonce, put in the request extensions by the server's security layer and
/// handed to Leptos so its inline hydration scripts carry it.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// The HTML document around the app, rendered on the server.
#[cfg(feature = "ssr")]
pub fn shell(options: LeptosOptions) -> impl IntoView {
    if let Some(nonce) = use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<CspNonce>().cloned())
    {
        provide_context(leptos::nonce::Nonce::from_value(nonce.0));
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                // In the shell, not in App: only the server knows the hashed name, and the
                // browser never re-renders the head's stylesheet.
                <link rel="stylesheet" id="leptos" href=assets::Bundle::of(&options).css_href(&options)/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The root component: routes and document metadata.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg"/>
        <Title text="Cadence"/>
        <Router>
            <layout::SandboxBanner/>
            <Routes fallback=pages::NotFound>
                <Route path=path!("/login") view=auth::components::LoginPage/>
                <Route path=path!("/signup") view=auth::components::SignupPage/>
                // Pages with data render whole (SsrMode::Async): every resource resolves inside
                // the request before any HTML is sent, so none can outlive the request's
                // context, and a logged-out visitor gets a plain redirect.
                <Route path=path!("/invite/:token") view=teams::components::InvitePage ssr=SsrMode::Async/>
                <Route path=path!("/preview/:token") view=previews::components::PreviewLinkPage ssr=SsrMode::Async/>
                <ParentRoute path=path!("") view=layout::SignedInLayout ssr=SsrMode::Async>
                    <Route path=path!("/") view=dashboard::DashboardPage/>
                    <Route path=path!("/calendar") view=calendar::components::CalendarPage/>
                    <Route path=path!("/compose") view=posts::composer::ComposerPage/>
                    <Route path=path!("/posts") view=posts::components::PostsPage/>
                    <Route path=path!("/posts/:id") view=posts::components::PostPage/>
                    <Route path=path!("/drafts") view=drafts::components::DraftsPage/>
                    <Route path=path!("/drafts/:id") view=drafts::components::DraftPage/>
                    <Route path=path!("/accounts") view=accounts::components::AccountsPage/>
                    <Route path=path!("/team") view=teams::components::TeamPage/>
                    <Route path=path!("/team/audit") view=audit::components::AuditPage/>
                    <Route path=path!("/notifications") view=notifications::components::NotificationsPage/>
                    <Route path=path!("/settings") view=auth::components::SettingsPage/>
                    <Route path=path!("/analytics") view=analytics::components::TeamAnalyticsPage/>
                    <Route path=path!("/analytics/:account") view=analytics::components::AccountAnalyticsPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
