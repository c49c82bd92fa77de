//! Signed webhook deliveries and their retries.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::harness::*;

#[derive(Clone, Default)]
struct Receiver {
    deliveries: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    failures_left: Arc<Mutex<u32>>,
}

async fn receive_webhook(
    axum::extract::State(receiver): axum::extract::State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    receiver.deliveries.lock().unwrap().push((headers, body));
    let mut failures = receiver.failures_left.lock().unwrap();
    if *failures > 0 {
        *failures -= 1;
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

/// Checks `TikTok-Signature` the way the docs tell receivers to, and returns the envelope.
fn verify(headers: &HeaderMap, body: &[u8]) -> Value {
    let header = headers.get("tiktok-signature").expect("signature header").to_str().unwrap();
    let mut timestamp = "";
    let mut signature = "";
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => timestamp = value,
            Some(("s", value)) => signature = value,
            _ => {}
        }
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(b"sbx_client_secret").unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&hex::decode(signature).unwrap()).expect("valid signature");
    let now = time_now();
    assert!((now - timestamp.parse::<i64>().unwrap()).abs() < 300, "fresh timestamp");
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    serde_json::from_slice(body).unwrap()
}

fn time_now() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

fn events(receiver: &Receiver) -> Vec<(String, Value, Value)> {
    receiver
        .deliveries
        .lock()
        .unwrap()
        .iter()
        .map(|(headers, body)| {
            let envelope = verify(headers, body);
            let content: Value =
                serde_json::from_str(envelope["content"].as_str().expect("content is a string")).unwrap();
            (envelope["event"].as_str().unwrap().to_owned(), envelope, content)
        })
        .collect()
}

async fn wait_for_events(receiver: &Receiver, count: usize) -> Vec<(String, Value, Value)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let events = events(receiver);
        if events.len() >= count {
            return events;
        }
        assert!(Instant::now() < deadline, "only {} of {count} deliveries: {events:?}", events.len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The sandbox records an attempt's outcome after the receiver has answered, so a test that saw
/// the request arrive waits for the record too.
async fn wait_for_deliveries(
    sandbox: &sandbox::Sandbox,
    settled: impl Fn(&[sandbox::WebhookDelivery]) -> bool,
) -> Vec<sandbox::WebhookDelivery> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let deliveries = sandbox.webhook_deliveries();
        if settled(&deliveries) {
            return deliveries;
        }
        assert!(Instant::now() < deadline, "deliveries never settled: {deliveries:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_signed_and_retried() {
    let receiver = Receiver { failures_left: Arc::new(Mutex::new(1)), ..Receiver::default() };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = Router::new().route("/tiktok/webhook", axum::routing::post(receive_webhook)).with_state(receiver.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let h = Harness::new(SandboxConfig {
        webhook_url: Some(format!("http://{address}/tiktok/webhook")),
        webhook_retry_delays: vec![Duration::from_millis(50), Duration::from_millis(50)],
        processing_delay: Duration::from_millis(100),
        ..config()
    });
    let maya = h.connect(MAYA, "user.info.basic,video.publish").await;
    let publish_id = h.post_video(&maya.access, "PUBLIC_TO_EVERYONE", &Video::mp4(5, 2000)).await;

    // complete (refused once, then retried) + publicly_available. Deliveries run
    // independently (TikTok promises no order either), so look events up by name.
    let events = wait_for_events(&receiver, 3).await;
    let (name, envelope, content) =
        events.iter().find(|(name, _, _)| name == "post.publish.complete").expect("a complete event");
    assert_eq!(name, "post.publish.complete");
    assert_eq!(envelope["client_key"], "sbx_client_key");
    assert_eq!(envelope["user_openid"], maya.open_id);
    assert!(envelope["create_time"].is_i64());
    assert_eq!(content["publish_id"], publish_id.as_str());
    assert_eq!(content["publish_type"], "DIRECT_PUBLISH");
    // Whichever delivery came first was refused once and delivered again.
    let names: Vec<&str> = events.iter().map(|(name, _, _)| name.as_str()).collect();
    let count = |event: &str| names.iter().filter(|name| **name == event).count();
    let (complete, public) = (count("post.publish.complete"), count("post.publish.publicly_available"));
    assert_eq!(complete + public, 3, "{names:?}");
    assert!(complete == 2 || public == 2, "retried after the 500: {names:?}");
    let (_, _, public) = events.iter().find(|(name, _, _)| name == "post.publish.publicly_available").unwrap();
    let status = h.status(&maya.access, &publish_id).await.json();
    assert_eq!(public["post_id"], status["data"]["publicaly_available_post_id"][0]);
    let deliveries = wait_for_deliveries(&h.sandbox, |all| all.iter().any(|d| d.attempts.len() == 2 && d.delivered)).await;
    let retried = deliveries.into_iter().find(|delivery| delivery.attempts.len() == 2).unwrap();
    assert_eq!(retried.attempts.iter().map(|attempt| attempt.status).collect::<Vec<_>>(), [Some(500), Some(200)]);
    assert!(retried.delivered);

    // A developer revoke fails the publish still uploading.
    let leo = h.connect(LEO, "user.info.basic,video.publish").await;
    let in_flight = h.direct_init(&leo.access, "SELF_ONLY", 10_000_000, 5_000_000).await.json();
    let in_flight = in_flight["data"]["publish_id"].as_str().unwrap();
    assert_eq!(h.revoke(&leo.access).await.json(), json!({}));
    let events = wait_for_events(&receiver, 5).await;
    let removed = events.iter().find(|(name, _, _)| name == "authorization.removed").unwrap();
    assert_eq!(removed.1["user_openid"], leo.open_id);
    assert_eq!(removed.2, json!({ "reason": 5 }));
    let failed = events
        .iter()
        .find(|(name, _, content)| name == "post.publish.failed" && content["publish_id"] == in_flight)
        .unwrap();
    assert_eq!(failed.2["reason"], "auth_removed");

    // The user removing the app in TikTok is reason 1.
    h.sandbox.revoke_creator(&maya.open_id);
    let events = wait_for_events(&receiver, 6).await;
    assert_eq!(events[5].0, "authorization.removed");
    assert_eq!(events[5].2, json!({ "reason": 1 }));
    assert_api_error(&h.creator_info(&maya.access).await, StatusCode::UNAUTHORIZED, "access_token_invalid");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_delivery_gives_up_after_the_last_retry() {
    let receiver = Receiver { failures_left: Arc::new(Mutex::new(u32::MAX)), ..Receiver::default() };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = Router::new().route("/hook", axum::routing::post(receive_webhook)).with_state(receiver.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let h = Harness::new(SandboxConfig {
        webhook_url: Some(format!("http://{address}/hook")),
        webhook_retry_delays: vec![Duration::from_millis(10), Duration::from_millis(10)],
        ..config()
    });
    let leo = h.connect(LEO, "user.info.basic").await;
    h.sandbox.revoke_creator(&leo.open_id);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let deliveries = h.sandbox.webhook_deliveries();
        if deliveries.first().is_some_and(|delivery| delivery.attempts.len() == 3) {
            assert!(!deliveries[0].delivered);
            break;
        }
        assert!(Instant::now() < deadline, "{deliveries:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(receiver.deliveries.lock().unwrap().len(), 3, "one attempt and two retries, then silence");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publicly_available_is_sent_only_after_moderation() {
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = Router::new().route("/hook", axum::routing::post(receive_webhook)).with_state(receiver.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let moderation = Duration::from_millis(600);
    let h = Harness::new(SandboxConfig {
        webhook_url: Some(format!("http://{address}/hook")),
        moderation_delay: moderation,
        ..config()
    });
    let maya = h.connect(MAYA, "user.info.basic,video.publish").await;
    let started = Instant::now();
    let publish_id = h.post_video(&maya.access, "PUBLIC_TO_EVERYONE", &Video::mp4(5, 2000)).await;
    let first = wait_for_events(&receiver, 1).await;
    assert_eq!(first[0].0, "post.publish.complete");
    if started.elapsed() < moderation {
        assert_eq!(events(&receiver).len(), 1, "nothing else before moderation ends");
    }
    let both = wait_for_events(&receiver, 2).await;
    assert!(started.elapsed() >= moderation, "publicly_available came after {:?}", started.elapsed());
    let (name, _, content) = &both[1];
    assert_eq!(name, "post.publish.publicly_available");
    assert_eq!(content["publish_id"], publish_id.as_str());
    let status = h.status(&maya.access, &publish_id).await.json();
    assert_eq!(content["post_id"], status["data"]["publicaly_available_post_id"][0]);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(events(&receiver).len(), 2, "each event once");
    server.abort();
}

/// A webhook receiver on a real port that refuses the first `failures` deliveries with a 500.
async fn start_receiver(failures: u32) -> (Receiver, String, tokio::task::JoinHandle<std::io::Result<()>>) {
    let receiver = Receiver { failures_left: Arc::new(Mutex::new(failures)), ..Receiver::default() };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = Router::new().route("/hook", axum::routing::post(receive_webhook)).with_state(receiver.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    (receiver, url, server)
}

fn signature_headers(receiver: &Receiver) -> Vec<String> {
    let deliveries = receiver.deliveries.lock().unwrap();
    deliveries.iter().map(|(headers, _)| headers["tiktok-signature"].to_str().unwrap().to_owned()).collect()
}

fn timestamp_of(signature: &str) -> i64 {
    signature.strip_prefix("t=").and_then(|rest| rest.split(',').next()).unwrap().parse().unwrap()
}

/// Two failed attempts, 1.2 s apart in all: a fresh `t` on the last one would differ.
fn retrying(url: String, resign: bool) -> SandboxConfig {
    SandboxConfig {
        webhook_url: Some(url),
        webhook_retry_delays: vec![Duration::from_millis(600), Duration::from_millis(600)],
        webhook_resign_retries: resign,
        ..config()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_carry_the_original_signature_and_timestamp() {
    assert!(!SandboxConfig::default().webhook_resign_retries, "TikTok may not re-sign; neither does the default");
    let (receiver, url, server) = start_receiver(2).await;
    let h = Harness::new(retrying(url, false));
    let leo = h.connect(LEO, "user.info.basic").await;
    h.sandbox.revoke_creator(&leo.open_id);
    let events = wait_for_events(&receiver, 3).await;
    let signatures = signature_headers(&receiver);
    assert_eq!(signatures[1], signatures[0], "the first retry is the same request");
    assert_eq!(signatures[2], signatures[0], "still the same 1.2 s later");
    assert_eq!(timestamp_of(&signatures[0]), events[0].1["create_time"].as_i64().unwrap(), "t is the event's time");
    let deliveries = wait_for_deliveries(&h.sandbox, |all| all.first().is_some_and(|d| d.delivered)).await;
    let delivery = &deliveries[0];
    assert!(delivery.attempts.iter().all(|attempt| attempt.signature == signatures[0]), "{delivery:?}");
    assert_eq!(delivery.attempts.len(), 3);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resigned_retries_carry_a_fresh_timestamp() {
    let (receiver, url, server) = start_receiver(2).await;
    let h = Harness::new(retrying(url, true));
    let leo = h.connect(LEO, "user.info.basic").await;
    h.sandbox.revoke_creator(&leo.open_id);
    // `events` checks every attempt's signature against its own `t`.
    wait_for_events(&receiver, 3).await;
    let signatures = signature_headers(&receiver);
    assert!(timestamp_of(&signatures[2]) > timestamp_of(&signatures[0]), "{signatures:?}");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_nth_event_can_be_delivered_twice() {
    let (receiver, url, server) = start_receiver(0).await;
    let h = Harness::new(SandboxConfig { webhook_url: Some(url), webhook_duplicate_every: 2, ..config() });
    for name in [MAYA, LEO] {
        let tokens = h.connect(name, "user.info.basic").await;
        h.sandbox.revoke_creator(&tokens.open_id);
        wait_for_events(&receiver, 1).await;
    }
    let events = wait_for_events(&receiver, 3).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(receiver.deliveries.lock().unwrap().len(), 3, "the first event once, the second twice");
    let leo = h.open_id(LEO);
    let to_leo: Vec<&Value> =
        events.iter().map(|(_, envelope, _)| envelope).filter(|envelope| envelope["user_openid"] == leo).collect();
    assert_eq!(to_leo.len(), 2);
    assert_eq!(to_leo[0], to_leo[1], "a duplicate is the same event");
    let deliveries = h.sandbox.webhook_deliveries();
    assert_eq!(deliveries.iter().map(|delivery| delivery.duplicated).collect::<Vec<_>>(), [false, true]);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_duplicates_by_default() {
    assert_eq!(SandboxConfig::default().webhook_duplicate_every, 0);
    let (receiver, url, server) = start_receiver(0).await;
    let h = Harness::new(SandboxConfig { webhook_url: Some(url), ..config() });
    for name in [MAYA, LEO, SAM] {
        let tokens = h.connect(name, "user.info.basic").await;
        h.sandbox.revoke_creator(&tokens.open_id);
    }
    wait_for_events(&receiver, 3).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(receiver.deliveries.lock().unwrap().len(), 3);
    server.abort();
}
