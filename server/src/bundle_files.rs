//! The site's pkg directory (wasm, js, css): precompressed files by `Accept-Encoding`, hashed names kept for a year, the rest revalidated.

use app::assets::{Bundle, IMMUTABLE};
use axum::{
    Router,
    extract::Request,
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::Response,
};
use leptos::prelude::LeptosOptions;
use std::{path::Path, sync::Arc};
use tower_http::services::ServeDir;

/// A router for `/{site_pkg_dir}`: files as the build left them (`.br` and `.gz` beside them
/// when the archive was packaged), with the caching their names allow.
pub fn router(options: &LeptosOptions) -> (String, Router) {
    let dir = Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    let bundle = Arc::new(Bundle::of(options));
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    let router = Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn(move |request: Request, next: Next| caching(bundle.clone(), request, next)));
    (format!("/{}", options.site_pkg_dir), router)
}

/// A hashed name never changes its bytes, so the browser keeps it; anything else (wasm-bindgen's
/// snippets, an unhashed development build) is asked about each time, so a rebuild shows.
async fn caching(bundle: Arc<Bundle>, request: Request, next: Next) -> Response {
    let file = request.uri().path().trim_start_matches('/').to_owned();
    let mut response = next.run(request).await;
    if response.status() == StatusCode::OK || response.status() == StatusCode::NOT_MODIFIED {
        let policy = if bundle.is_immutable(&file) { IMMUTABLE } else { "no-cache" };
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}
