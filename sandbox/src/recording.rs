//! The request log: what clients sent and what the sandbox answered, for assertions and the admin page.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Sandbox;
use crate::envelope::ReplyCode;
use crate::faults::{FaultKind, InjectedFault};

/// Only the start of a JSON or form body is kept.
pub const BODY_PREFIX: usize = 4096;
/// JSON and form bodies are read whole to record them; TikTok's are tiny, so this is generous.
const TEXT_BODY_LIMIT: usize = 2 << 20;
/// Headers worth asserting on. Kept raw (tokens included): this is a test double's memory,
/// never written to logs.
const RECORDED_HEADERS: [header::HeaderName; 4] =
    [header::AUTHORIZATION, header::CONTENT_TYPE, header::CONTENT_LENGTH, header::CONTENT_RANGE];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// Increasing number, unique within one sandbox.
    pub seq: u64,
    /// RFC 3339, UTC.
    pub at: String,
    pub method: String,
    /// Relative to the sandbox router, e.g. `/v2/oauth/token/`.
    pub path: String,
    /// The raw query string.
    pub query: Option<String>,
    /// Lower-case names; only the headers listed in [`RECORDED_HEADERS`].
    pub headers: BTreeMap<String, String>,
    /// First 4 KiB of a JSON or form body (lossy UTF-8); `None` for other bodies (video bytes).
    pub body: Option<String>,
    /// `None` while the request is in flight, or if the client gave up before a reply.
    pub status: Option<u16>,
    /// The `error.code` (or OAuth `error`) answered, if not ok.
    pub error_code: Option<String>,
    /// Set when an injected fault produced the reply.
    pub fault: Option<FaultKind>,
}

impl crate::state::Sequenced for RecordedRequest {
    fn set_seq(&mut self, seq: u64) {
        self.seq = seq;
    }

    fn seq(&self) -> u64 {
        self.seq
    }
}

/// Middleware around every TikTok route (outside the fault layer, so faults are recorded too).
pub async fn layer(State(sandbox): State<Sandbox>, request: Request, next: Next) -> Response {
    let headers: BTreeMap<String, String> = RECORDED_HEADERS
        .iter()
        .filter_map(|name| {
            let value = request.headers().get(name)?;
            Some((name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        })
        .collect();
    // Upload bodies are never buffered, whatever Content-Type a client sends with them.
    let textual = request.uri().path() != "/upload/video/"
        && headers.get("content-type").is_some_and(|value| {
            let value = value.to_ascii_lowercase();
            value.starts_with("application/json") || value.starts_with("application/x-www-form-urlencoded")
        });
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);

    // Video bytes stream straight through; only small textual bodies are buffered to be recorded.
    let (request, body) = if textual {
        let (parts, body) = request.into_parts();
        match axum::body::to_bytes(body, TEXT_BODY_LIMIT).await {
            Ok(bytes) => {
                let prefix = String::from_utf8_lossy(&bytes[..bytes.len().min(BODY_PREFIX)]).into_owned();
                (Some(Request::from_parts(parts, Body::from(bytes))), Some(prefix))
            }
            Err(_) => (None, None),
        }
    } else {
        (Some(request), None)
    };

    let record = RecordedRequest {
        seq: 0,
        at: OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default(),
        method: method.clone(),
        path: path.clone(),
        query,
        headers,
        body,
        status: None,
        error_code: None,
        fault: None,
    };
    let seq = sandbox.inner.lock().requests.push(record);

    let response = match request {
        Some(request) => next.run(request).await,
        None => StatusCode::PAYLOAD_TOO_LARGE.into_response(),
    };

    let status = response.status().as_u16();
    let fault = response.extensions().get::<InjectedFault>().map(|injected| injected.0);
    // A dropped or stalled connection never delivers a status, so none is recorded.
    let dropped = matches!(fault, Some(FaultKind::DropConnection | FaultKind::Stall));
    let delivered_status = (!dropped).then_some(status);
    if let Some(recorded) = sandbox.inner.lock().requests.get_mut(seq) {
        recorded.status = delivered_status;
        recorded.error_code = response.extensions().get::<ReplyCode>().map(|code| code.0.clone());
        recorded.fault = fault;
    }
    // Paths only: queries carry codes and upload tokens, headers carry bearer tokens.
    tracing::debug!(%method, %path, status, "sandbox request");
    response
}
