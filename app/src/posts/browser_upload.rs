//! Sending the composer's form with `XMLHttpRequest`, the one browser API that reports upload
//! progress (fetch does not). The browser streams the file from disk; nothing is buffered in
//! wasm. Keeps XHR's default `Accept: */*`, so the server function answers with JSON.

use crate::{error::AppError, posts::types::UploadOutcome};
use leptos::wasm_bindgen::{JsCast as _, closure::Closure};
use web_sys::{FormData, ProgressEvent, XmlHttpRequest};

/// Starts the upload. `on_progress(loaded, total)` runs as bytes leave the browser;
/// `on_done` runs once with the server's answer (or why there is none).
pub fn send(
    url: &str,
    form: &FormData,
    on_progress: impl Fn(f64, f64) + 'static,
    on_done: impl Fn(Result<UploadOutcome, AppError>) + 'static,
) -> Result<XmlHttpRequest, AppError> {
    let failed = |_| AppError::Transport("The browser could not start the upload.".into());
    let xhr = XmlHttpRequest::new().map_err(failed)?;
    xhr.open("POST", url).map_err(failed)?;

    let progress = Closure::<dyn Fn(ProgressEvent)>::new(move |event: ProgressEvent| {
        if event.length_computable() {
            on_progress(event.loaded(), event.total());
        }
    });
    xhr.upload().map_err(failed)?.set_onprogress(Some(progress.as_ref().unchecked_ref()));
    progress.forget();

    let on_done = std::rc::Rc::new(on_done);
    let finished = {
        let (xhr, on_done) = (xhr.clone(), on_done.clone());
        Closure::<dyn Fn()>::new(move || {
            let status = xhr.status().unwrap_or(0);
            let body = xhr.response_text().ok().flatten().unwrap_or_default();
            let result = if (200..300).contains(&status) {
                serde_json::from_str::<UploadOutcome>(&body)
                    .map_err(|_| AppError::Transport("Cadence answered in a way the page did not understand.".into()))
            } else {
                Err(serde_json::from_str::<AppError>(&body)
                    .unwrap_or_else(|_| AppError::Transport(format!("The upload failed (HTTP {status}). Please try again."))))
            };
            on_done(result);
        })
    };
    xhr.set_onload(Some(finished.as_ref().unchecked_ref()));
    finished.forget();

    let broken = {
        let on_done = on_done.clone();
        Closure::<dyn Fn()>::new(move || {
            on_done(Err(AppError::Transport("The connection to Cadence broke during the upload. Nothing was posted.".into())))
        })
    };
    xhr.set_onerror(Some(broken.as_ref().unchecked_ref()));
    broken.forget();

    let cancelled = Closure::<dyn Fn()>::new(move || {
        on_done(Err(AppError::Transport("Upload cancelled. Nothing was posted.".into())))
    });
    xhr.set_onabort(Some(cancelled.as_ref().unchecked_ref()));
    cancelled.forget();

    xhr.send_with_opt_form_data(Some(form)).map_err(failed)?;
    Ok(xhr)
}
