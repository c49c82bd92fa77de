//! Plain HTML for the sandbox's pages: escaping and a script-free, style-free page shell.
// No scripts or styles: the host page's CSP allows neither inline scripts nor inline styles.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::envelope::ReplyCode;

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// A complete document around `body` (which must already be escaped markup).
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let document = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n",
        title = escape(title),
    );
    let mut response = (status, Html(document)).into_response();
    // The sandbox's pages are never cached: they show live state or one-time consent requests.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The authorize endpoint's error page: TikTok shows one instead of redirecting when the request
/// itself cannot be trusted (unknown app, bad redirect URI).
pub fn error_page(status: StatusCode, error: &str, description: &str) -> Response {
    let body = format!(
        "<h1>TikTok sandbox: something went wrong</h1>\n\
         <p>This authorization request cannot be completed.</p>\n\
         <dl>\n<dt>Error</dt>\n<dd><code>{}</code></dd>\n<dt>Details</dt>\n<dd>{}</dd>\n</dl>\n\
         <p>Go back to the app and try again.</p>",
        escape(error),
        escape(description),
    );
    let mut response = page(status, "TikTok sandbox: error", &body);
    response.extensions_mut().insert(ReplyCode(error.to_owned()));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
    }
}
