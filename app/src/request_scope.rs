//! A page's loads belong to the request that rendered it: they see its context to the end and
//! stop once the request is gone.
//!
//! On the server each `Resource` loads in a task of its own, under a reactive owner whose
//! context (the state, the request) lives at the request's root. When a browser leaves
//! mid-render the root is dropped while those tasks go on, and a server function they were
//! running would then find no request at all: it logged "AppState is missing" and treated the
//! caller as anonymous. Wrapping each load in [`in_request`] keeps the request's context beside
//! the load and ends the load at its next step once the root is gone; the departure is logged
//! once per request, at debug.
//!
//! Gone means the root itself was dropped, not that some owner was cleaned up: owners inside
//! a render are cleaned up and made again while it runs (a `Suspend` that runs again), and
//! stopping loads then left a page waiting for ever for data that had been cancelled.

use crate::error::AppError;
use std::future::Future;

/// One request's life, provided at the root of every rendered request's context by the server:
/// loads hold it weakly, so it ends when the root is dropped; and whether its departure has
/// been logged.
#[cfg(feature = "ssr")]
#[derive(Clone, Debug, Default)]
pub struct RequestLife {
    alive: std::sync::Arc<()>,
    departure_logged: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// `load` (a server function a page calls while rendering) bound to the current request: it
/// runs with that request's context even after the render's root is gone, and ends, with
/// [`AppError::Unavailable`] as its (unread) result, at its next step once the request is gone.
/// In the browser it is `load` itself.
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
        sync::{Arc, atomic::Ordering},
        task::Poll,
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
        // Weakly: the root's context holds the only lasting reference.
        let life = use_context::<RequestLife>().map(|life| (Arc::downgrade(&life.alive), life.departure_logged.clone()));
        let mut load = Box::pin(scope.with(|| ScopedFuture::new_untracked(load)));
        std::future::poll_fn(move |cx| {
            if let Some((alive, logged)) = &life
                && alive.strong_count() == 0
            {
                if !logged.swap(true, Ordering::Relaxed) {
                    tracing::debug!("the browser went away before its page was rendered; its loads stop");
                }
                return Poll::Ready(Err(AppError::Unavailable));
            }
            load.as_mut().poll(cx)
        })
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
