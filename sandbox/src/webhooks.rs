//! Signed webhook events (§8): the envelope, the `TikTok-Signature` header, delivery with retries.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Sandbox;

/// One event and how its delivery went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub seq: u64,
    pub event: String,
    pub user_openid: String,
    /// The exact body sent (the same bytes on every attempt).
    pub body: String,
    pub attempts: Vec<WebhookAttempt>,
    pub delivered: bool,
    /// Delivered a second time on purpose after it succeeded (at-least-once delivery).
    pub duplicated: bool,
}

impl crate::state::Sequenced for WebhookDelivery {
    fn set_seq(&mut self, seq: u64) {
        self.seq = seq;
    }

    fn seq(&self) -> u64 {
        self.seq
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookAttempt {
    /// RFC 3339, UTC.
    pub at: String,
    /// The HTTP status answered, if any.
    pub status: Option<u16>,
    /// Why no status was received (connection refused, timeout, …).
    pub error: Option<String>,
    /// The `TikTok-Signature` header this attempt carried.
    pub signature: String,
}

/// `content` is a JSON *string* inside the envelope: receivers parse twice.
pub fn envelope(client_key: &str, event: &str, create_time: i64, user_openid: &str, content: &Value) -> String {
    json!({
        "client_key": client_key,
        "event": event,
        "create_time": create_time,
        "user_openid": user_openid,
        "content": content.to_string(),
    })
    .to_string()
}

/// Lower-case hex HMAC-SHA256 of `"{timestamp}.{body}"` keyed with the client secret.
pub fn signature(client_secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(client_secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The `TikTok-Signature` header value, `t=<unix>,s=<hex>`.
pub fn signature_header(client_secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},s={}", signature(client_secret, timestamp, body))
}

/// Queues an event for delivery (nothing happens without a configured `webhook_url`).
pub fn emit(sandbox: &Sandbox, user_openid: &str, event: &str, content: Value) {
    let config = &sandbox.inner.config;
    let Some(url) = config.webhook_url.clone() else {
        return;
    };
    let create_time = OffsetDateTime::now_utc().unix_timestamp();
    let body = envelope(&config.client_key, event, create_time, user_openid, &content);
    let seq = sandbox.inner.lock().webhooks.push(WebhookDelivery {
        seq: 0,
        event: event.to_owned(),
        user_openid: user_openid.to_owned(),
        body: body.clone(),
        attempts: Vec::new(),
        delivered: false,
        duplicated: false,
    });
    // Events can be raised from synchronous test helpers; without a runtime nothing can be sent.
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        let signature = signature_header(&config.client_secret, create_time, body.as_bytes());
        record_attempt(sandbox, seq, None, Some("no async runtime to deliver from".to_owned()), signature);
        return;
    };
    runtime.spawn(deliver(sandbox.clone(), url, body, seq, create_time));
}

/// Whether event number `seq` (0-based) is one of the every-n-th sent twice.
fn is_duplicated(duplicate_every: u32, seq: u64) -> bool {
    duplicate_every > 0 && (seq + 1) % u64::from(duplicate_every) == 0
}

/// First attempt at once, then one retry after each configured delay; only HTTP 200 counts.
/// Every attempt carries the first attempt's signature and timestamp unless
/// `webhook_resign_retries` is set: TikTok retries for up to 72 h and does not say that it
/// signs a retry anew, so a receiver must not rely on a fresh `t`.
async fn deliver(sandbox: Sandbox, url: String, body: String, seq: u64, signed_at: i64) {
    let config = &sandbox.inner.config;
    let original = signature_header(&config.client_secret, signed_at, body.as_bytes());
    let Some(client) = sandbox.inner.http.clone() else {
        record_attempt(&sandbox, seq, None, Some("no HTTP client".to_owned()), original);
        return;
    };
    let send = |signature: String| {
        client
            .post(&url)
            .header("Content-Type", "application/json")
            .header("TikTok-Signature", signature)
            .body(body.clone())
            .send()
    };
    let delays = &config.webhook_retry_delays;
    for attempt in 0..=delays.len() {
        if let Some(delay) = attempt.checked_sub(1).and_then(|index| delays.get(index)) {
            tokio::time::sleep(*delay).await;
        }
        let signature = if attempt > 0 && config.webhook_resign_retries {
            let now = OffsetDateTime::now_utc().unix_timestamp();
            signature_header(&config.client_secret, now, body.as_bytes())
        } else {
            original.clone()
        };
        match send(signature.clone()).await {
            Ok(response) if response.status() == reqwest::StatusCode::OK => {
                record_attempt(&sandbox, seq, Some(200), None, signature.clone());
                if let Some(delivery) = sandbox.inner.lock().webhooks.get_mut(seq) {
                    delivery.delivered = true;
                }
                if is_duplicated(config.webhook_duplicate_every, seq) {
                    let duplicate = send(signature.clone()).await;
                    let (status, error) = match duplicate {
                        Ok(response) => (Some(response.status().as_u16()), None),
                        Err(error) => (None, Some(error.to_string())),
                    };
                    record_attempt(&sandbox, seq, status, error, signature);
                    if let Some(delivery) = sandbox.inner.lock().webhooks.get_mut(seq) {
                        delivery.duplicated = true;
                    }
                }
                return;
            }
            Ok(response) => record_attempt(&sandbox, seq, Some(response.status().as_u16()), None, signature),
            Err(error) => record_attempt(&sandbox, seq, None, Some(error.to_string()), signature),
        }
    }
    tracing::warn!(seq, "sandbox webhook dropped after its last retry");
}

fn record_attempt(sandbox: &Sandbox, seq: u64, status: Option<u16>, error: Option<String>, signature: String) {
    let at = OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default();
    if let Some(delivery) = sandbox.inner.lock().webhooks.get_mut(seq) {
        delivery.attempts.push(WebhookAttempt { at, status, error, signature });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_a_json_string() {
        let body = envelope("key", "post.publish.complete", 1_690_692_732, "_000x", &json!({"publish_id": "v_pub"}));
        let parsed: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["content"], r#"{"publish_id":"v_pub"}"#);
        assert_eq!(parsed["create_time"], 1_690_692_732);
        assert_eq!(parsed["user_openid"], "_000x");
    }

    #[test]
    fn every_nth_event_is_duplicated() {
        assert!(!(0..10).any(|seq| is_duplicated(0, seq)), "0 is off");
        let duplicated: Vec<u64> = (0..7).filter(|&seq| is_duplicated(3, seq)).collect();
        assert_eq!(duplicated, [2, 5], "the 3rd and 6th events");
        assert!((0..4).all(|seq| is_duplicated(1, seq)));
    }

    #[test]
    fn signature_matches_an_independent_computation() {
        // Python: hmac.new(b"sbx_client_secret", b'1633174587.{"event":"x"}', sha256).hexdigest()
        let body = br#"{"event":"x"}"#;
        assert_eq!(
            signature_header("sbx_client_secret", 1_633_174_587, body),
            "t=1633174587,s=c1320eacde83754b0b778c1728692fc7e18f68b8f7ae578699298f1d4a6037db"
        );
        assert_ne!(
            signature("sbx_client_secret", 1_633_174_588, body),
            signature("sbx_client_secret", 1_633_174_587, body)
        );
    }
}
