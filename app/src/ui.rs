//! Small form and page widgets shared by every page: labelled fields with inline errors.

use crate::error::AppError;
use leptos::prelude::*;

/// A labelled input whose error (if any) is announced and linked with `aria-describedby`.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional, into)] value: Option<String>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    view! {
        <div class="field" class:has-error=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            <input
                id=id
                type=kind
                name=name
                autocomplete=autocomplete
                value=value
                required=true
                aria-invalid=move || if error.get().is_some() { "true" } else { "false" }
                aria-describedby=error_id.clone()
            />
            {hint.map(|hint| view! { <p class="hint">{hint}</p> })}
            <p class="field-error" id=error_id>{move || error.get()}</p>
        </div>
    }
}

/// The error of a form's last submission that belongs to no field of the form (rate limits,
/// permission problems, lost connection…); field errors are shown beside their inputs.
#[component]
pub fn FormError(
    #[prop(into)] error: Signal<Option<AppError>>,
    fields: &'static [&'static str],
) -> impl IntoView {
    let message = move || {
        error.get().filter(|error| !fields.iter().any(|field| error.field_message(field).is_some()))
            .map(|error| error.to_string())
    };
    view! {
        <Show when=move || message().is_some()>
            <p class="form-error" role="alert">{message}</p>
        </Show>
    }
}

/// The error of a server action's last result, if it failed.
pub fn action_error<S>(action: ServerAction<S>) -> Signal<Option<AppError>>
where
    S: leptos::server_fn::ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().get().and_then(Result::err))
}

/// A list a page shows: rendered on the server, and loaded again in the browser whenever one
/// of `versions` moves (an action that changed it completed).
pub fn list_resource<T, Fut>(
    versions: impl Fn() -> Vec<usize> + Send + Sync + 'static,
    fetch: impl Fn() -> Fut + Send + Sync + 'static,
) -> Resource<Result<T, AppError>>
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    Fut: std::future::Future<Output = Result<T, AppError>> + Send + 'static,
{
    crate::request_scope::page_resource(versions, move |_| fetch())
}

/// The message for one field from an action's error.
pub fn field_error(error: Signal<Option<AppError>>, field: &'static str) -> Signal<Option<String>> {
    Signal::derive(move || error.get().and_then(|error| error.field_message(field)))
}

/// A short, formatted date for lists (`2026-11-25 14:05 UTC`).
pub fn format_utc(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

/// Sizes the way people read them, in decimal units as TikTok states its limits.
pub fn human_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000_000 => format!("{:.2} GB", b as f64 / 1e9),
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b if b >= 1_000 => format!("{:.0} kB", b as f64 / 1e3),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn sizes_read_in_decimal_units() {
        assert_eq!(human_bytes(999), "999 bytes");
        assert_eq!(human_bytes(50_000_123), "50.0 MB");
        assert_eq!(human_bytes(4_000_000_000), "4.00 GB");
    }
}
