//! Log-in, sign-up and settings pages.

use crate::{
    auth::{
        api::{ChangePassword, LogIn, SignUp, UpdateProfile},
        types::SessionInfo,
    },
    media::delivery::MediaDeliveryCard,
    ui::{Field, FormError, action_error, field_error},
};
use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_query_map};

/// The card that frames the log-in and sign-up forms.
#[component]
fn AuthCard(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <main class="auth-page">
            <section class="card auth-card" aria-labelledby="auth-title">
                <p class="brand">"Cadence"</p>
                <h1 id="auth-title">{title}</h1>
                {children()}
            </section>
        </main>
    }
}

/// `/login`
#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<LogIn>::new();
    let error = action_error(login);
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    view! {
        <AuthCard title="Log in">
            <ActionForm action=login attr:class="form" attr:novalidate=true>
                <Field label="E-mail" name="email" kind="email" autocomplete="email" error=field_error(error, "email")/>
                <Field
                    label="Password"
                    name="password"
                    kind="password"
                    autocomplete="current-password"
                    error=field_error(error, "password")
                />
                <input type="hidden" name="next" value=next/>
                <FormError error fields=&["email", "password"]/>
                <button type="submit" class="primary" disabled=move || login.pending().get()>"Log in"</button>
            </ActionForm>
            <p class="switch-auth">"New to Cadence? " <A href="/signup">"Create an account"</A></p>
        </AuthCard>
    }
}

/// The browser's IANA time zone, read once the page is interactive.
fn browser_time_zone() -> Signal<String> {
    let zone = RwSignal::new(String::new());
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use leptos::web_sys::js_sys::{Array, Intl, Object, Reflect};
        let options = Intl::DateTimeFormat::new(&Array::new(), &Object::new()).resolved_options();
        if let Some(name) = Reflect::get(&options, &"timeZone".into()).ok().and_then(|v| v.as_string()) {
            zone.set(name);
        }
    });
    zone.into()
}

/// `/signup`, also reached from an invite link as `/signup?invite=…`.
#[component]
pub fn SignupPage() -> impl IntoView {
    let signup = ServerAction::<SignUp>::new();
    let error = action_error(signup);
    let query = use_query_map();
    let invite = move || query.read().get("invite").unwrap_or_default();
    let time_zone = browser_time_zone();
    view! {
        <AuthCard title="Create your account">
            <Show when=move || !invite().is_empty()>
                <p class="notice">"You will join the team that invited you."</p>
            </Show>
            <ActionForm action=signup attr:class="form" attr:novalidate=true>
                <Field label="Your name" name="display_name" autocomplete="name" error=field_error(error, "display_name")/>
                <Field label="E-mail" name="email" kind="email" autocomplete="email" error=field_error(error, "email")/>
                <Field
                    label="Password"
                    name="password"
                    kind="password"
                    autocomplete="new-password"
                    hint="At least 10 characters. A few words make a strong password."
                    error=field_error(error, "password")
                />
                <input type="hidden" name="time_zone" value=time_zone/>
                <input type="hidden" name="invite" value=invite/>
                <FormError error fields=&["display_name", "email", "password"]/>
                <button type="submit" class="primary" disabled=move || signup.pending().get()>"Create account"</button>
            </ActionForm>
            <p class="switch-auth">"Already have an account? " <A href="/login">"Log in"</A></p>
        </AuthCard>
    }
}

/// `/settings`: profile (name, time zone) and password.
#[component]
pub fn SettingsPage() -> impl IntoView {
    let info = expect_context::<SessionInfo>();
    let profile = ServerAction::<UpdateProfile>::new();
    let profile_error = action_error(profile);
    let password = ServerAction::<ChangePassword>::new();
    let password_error = action_error(password);
    let saved = move || matches!(profile.value().get(), Some(Ok(_)));
    let password_changed = move || matches!(password.value().get(), Some(Ok(())));
    view! {
        <h1>"Settings"</h1>
        <MediaDeliveryCard/>
        <section class="card" aria-labelledby="profile-title">
            <h2 id="profile-title">"Profile"</h2>
            <ActionForm action=profile attr:class="form" attr:novalidate=true>
                <Field
                    label="Your name"
                    name="display_name"
                    value=info.user.display_name.clone()
                    error=field_error(profile_error, "display_name")
                />
                <Field
                    label="Time zone"
                    name="time_zone"
                    value=info.user.time_zone.clone()
                    hint="Schedules and the calendar use this zone, e.g. Europe/Berlin."
                    error=field_error(profile_error, "time_zone")
                />
                <FormError error=profile_error fields=&["display_name", "time_zone"]/>
                <Show when=saved><p class="success" role="status">"Saved."</p></Show>
                <button type="submit" class="primary">"Save profile"</button>
            </ActionForm>
        </section>
        <section class="card" aria-labelledby="password-title">
            <h2 id="password-title">"Password"</h2>
            <ActionForm action=password attr:class="form" attr:novalidate=true>
                <Field
                    label="Current password"
                    name="current_password"
                    kind="password"
                    autocomplete="current-password"
                    error=field_error(password_error, "current_password")
                />
                <Field
                    label="New password"
                    name="new_password"
                    kind="password"
                    autocomplete="new-password"
                    error=field_error(password_error, "new_password")
                />
                <FormError error=password_error fields=&["current_password", "new_password"]/>
                <Show when=password_changed><p class="success" role="status">"Password changed."</p></Show>
                <button type="submit" class="primary">"Change password"</button>
            </ActionForm>
        </section>
        <crate::notifications::components::EmailPreferencesSection/>
    }
}
