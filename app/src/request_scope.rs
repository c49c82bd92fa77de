//! A page's loads belong to the request that rendered it: they see its context to the end and
//! stop when the browser goes away.
//!
//! On the server each `Resource` loads in a task of its own, under a reactive owner whose
//! context (the state, the request) lives at the request's root. When a browser leaves
//! mid-render the root is dropped while those tasks go on, and a server function they were
//! running would then find no request at all: it logged "AppState is missing" and treated the
//! caller as anonymous. Wrapping each load in [`in_request`] keeps the request's context beside
//! the load and stops the load when the render is dropped; the departure is logged once per
//! request, at debug.

use crate::error::AppError;
use std::future::Future;

/// One request's record of whether its departure has been logged; provided in the context of
/// every rendered request by the server.
#[cfg(feature = "ssr")]
#[derive(Clone, Debug, Default)]
pub struct RequestLife(std::sync::Arc<std::sync::atomic::AtomicBool>);

#[cfg(feature = "ssr")]
impl RequestLife {
    /// Logs that the browser left, the first time one of the request's loads is stopped.
    pub fn note_departure(&self) {
        if !self.0.swap(true, std::sync::atomic::Ordering::Relaxed) {
            tracing::debug!("the browser went away before its page was rendered; its loads stop");
        }
    }
}

/// `load` (a server function a page calls while rendering) bound to the current request: it
/// runs with that request's context even after the render's root is gone, and is stopped, with
/// [`AppError::Unavailable`] as its (unread) result, once the render is dropped. In the browser
/// it is `load` itself.
pub fn in_request<T: Send + 'static>(
    load: impl Future<Output = Result<T, AppError>> + Send + 'static,
) -> impl Future<Output = Result<T, AppError>> + Send + 'static {
    #[cfg(feature = "ssr")]
    {
        bound::bind(load)
    }
    #[cfg(not(feature = "ssr"))]
    {
        load
    }
}

#[cfg(feature = "ssr")]
mod bound {
    use super::RequestLife;
    use crate::{error::AppError, state::AppState};
    use leptos::{
        prelude::{provide_context, use_context},
        reactive::{computed::ScopedFuture, owner::Owner},
    };
    use std::{
        future::Future,
        sync::{
            Arc,
            atomic::{AtomicBool, Ordering},
        },
    };

    pub fn bind<T: Send + 'static, F: Future<Output = Result<T, AppError>> + Send + 'static>(
        load: F,
    ) -> impl Future<Output = Result<T, AppError>> + Send + 'static {
        // The request's context, copied onto an owner the load holds itself: an owner reaches
        // its ancestors' context only while they live.
        let scope = Owner::new();
        scope.with(|| {
            if let Some(state) = use_context::<AppState>() {
                provide_context(state);
            }
            if let Some(parts) = use_context::<http::request::Parts>() {
                provide_context(parts);
            }
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                provide_context(response);
            }
        });
        let life = use_context::<RequestLife>();
        let (load, stop) = futures_util::future::abortable(load);
        let finished = Arc::new(AtomicBool::new(false));
        let done = finished.clone();
        // Runs when the render that owns this load is cleaned up: at its end, or when the
        // browser leaves and the response is dropped.
        Owner::on_cleanup(move || {
            if !done.load(Ordering::Acquire) {
                stop.abort();
                if let Some(life) = life {
                    life.note_departure();
                }
            }
        });
        let load = scope.with(|| ScopedFuture::new_untracked(load));
        async move {
            let result = load.await;
            finished.store(true, Ordering::Release);
            result.unwrap_or(Err(AppError::Unavailable))
        }
    }
}

/// `Resource::new` for a page's server data: each load runs [`in_request`].
pub fn page_resource<S, T, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> leptos::prelude::Resource<Result<T, AppError>>
where
    S: PartialEq + Clone + Send + Sync + 'static,
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    Fut: Future<Output = Result<T, AppError>> + Send + 'static,
{
    leptos::prelude::Resource::new(source, move |source| in_request(fetcher(source)))
}
