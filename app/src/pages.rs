//! The pages whose content arrives with later features, and the 404 page.

use leptos::prelude::*;
use leptos_router::components::A;

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
