//! PULL_FROM_URL (§4.7–4.9): verified prefixes only, a real HTTP download in ranges that
//! refuses redirects, `PROCESSING_DOWNLOAD` with `downloaded_bytes`, injected slow and failing
//! pulls, cancel of a download in progress, and downloads kept across a restart.

use crate::harness::*;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// A file server on a free loopback port, as Cadence's media route would be: `/media/v.mp4`
/// answers ranges, `/moved/v.mp4` redirects to it, everything else is 404. Records each
/// `Range` header it was asked for.
struct MediaHost {
    base: String,
    ranges: Arc<Mutex<Vec<String>>>,
}

#[derive(Clone)]
struct Served {
    video: SyntheticVideo,
    ranges: Arc<Mutex<Vec<String>>>,
}

async fn serve_video(State(served): State<Served>, headers: HeaderMap) -> Response {
    let size = served.video.size;
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    served.ranges.lock().unwrap().push(range.clone());
    let (first, last) = range
        .strip_prefix("bytes=")
        .and_then(|spec| spec.split_once('-'))
        .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().unwrap_or(size - 1).min(size - 1))))
        .unwrap_or((0, size - 1));
    let bytes: Vec<u8> = served.video.pieces(first, last, 64 * 1024).flat_map(|piece| piece.to_vec()).collect();
    (
        StatusCode::PARTIAL_CONTENT,
        [
            (header::CONTENT_TYPE, "video/mp4".to_owned()),
            (header::CONTENT_RANGE, format!("bytes {first}-{last}/{size}")),
        ],
        bytes,
    )
        .into_response()
}

impl MediaHost {
    async fn start(video: SyntheticVideo) -> Self {
        let ranges = Arc::new(Mutex::new(Vec::new()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let target = format!("{base}/media/v.mp4");
        let app = Router::new()
            .route("/media/v.mp4", get(serve_video))
            .route("/moved/v.mp4", get(move || async move { (StatusCode::FOUND, [(header::LOCATION, target)]) }))
            .with_state(Served { video, ranges: ranges.clone() });
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, ranges }
    }
}

/// A sandbox app that verified `prefixes`, reading in 100 kB ranges, with plain-http loopback
/// admitted (the test's file server has no certificate).
fn pull_config(prefixes: Vec<String>) -> SandboxConfig {
    SandboxConfig {
        verified_url_prefixes: prefixes,
        allow_loopback_http_pulls: true,
        pull_range_bytes: 100_000,
        ..config()
    }
}

fn pull_init(url: &str) -> Value {
    json!({
        "post_info": { "title": "pulled #test", "privacy_level": "SELF_ONLY" },
        "source_info": { "source": "PULL_FROM_URL", "video_url": url },
    })
}

/// Waits (by the sandbox's own record, which has no rate limit) until `publish_id` leaves
/// `PROCESSING_DOWNLOAD`.
async fn downloaded(h: &Harness, publish_id: &str) -> sandbox::PublishRecord {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let record = h.sandbox.publishes().into_iter().find(|p| p.publish_id == publish_id).unwrap();
        if record.status != "PROCESSING_DOWNLOAD" {
            return record;
        }
        assert!(Instant::now() < deadline, "the download of {publish_id} never ended");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_verified_url_is_downloaded_in_ranges_and_published() {
    let video = SyntheticVideo::mp4(10, 250_000);
    let host = MediaHost::start(video).await;
    let h = Harness::new(pull_config(vec![format!("{}/media/", host.base)]));
    let maya = h.connect(MAYA, "user.info.basic,video.publish").await;
    let reply = h.api_post("/v2/post/publish/video/init/", &maya.access, &pull_init(&format!("{}/media/v.mp4", host.base))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let data = &reply.json()["data"];
    assert!(data.get("upload_url").is_none(), "a pull has nothing to upload: {data}");
    let publish_id = data["publish_id"].as_str().unwrap().to_owned();
    assert!(publish_id.starts_with("v_pub_url~v2-1."), "{publish_id}");

    let record = downloaded(&h, &publish_id).await;
    assert!(record.upload_complete, "{record:?}");
    assert_eq!(record.status, "PUBLISH_COMPLETE");
    let status = h.status(&maya.access, &publish_id).await.json();
    assert_eq!(status["data"]["downloaded_bytes"], 250_000, "{status}");
    assert!(status["data"].get("uploaded_bytes").is_none(), "a pull reports downloaded_bytes only: {status}");
    assert_eq!(
        *host.ranges.lock().unwrap(),
        ["bytes=0-99999", "bytes=100000-199999", "bytes=200000-299999"],
        "read in ranges, each after the last"
    );
}

#[tokio::test]
async fn unverified_plain_or_malformed_urls_are_refused() {
    let host = MediaHost::start(SyntheticVideo::mp4(10, 1000)).await;
    let verified = format!("{}/media/", host.base);
    let h = Harness::new(pull_config(vec![verified.clone()]));
    let maya = h.connect(MAYA, "user.info.basic,video.publish").await;
    let init = |url: String| {
        let (h, token) = (&h, maya.access.clone());
        async move { h.api_post("/v2/post/publish/video/init/", &token, &pull_init(&url)).await }
    };
    assert_api_error(&init(format!("{}/other/v.mp4", host.base)).await, StatusCode::FORBIDDEN, "url_ownership_unverified");
    assert_api_error(&init("https://cdn.example/media/v.mp4".to_owned()).await, StatusCode::FORBIDDEN, "url_ownership_unverified");
    assert_api_error(&init("not a url".to_owned()).await, StatusCode::BAD_REQUEST, "invalid_params");
    assert_api_error(&init(String::new()).await, StatusCode::BAD_REQUEST, "invalid_params");

    // By default (TikTok's rule) plain http is never verified, loopback or not.
    let strict = Harness::new(SandboxConfig { verified_url_prefixes: vec![verified], ..config() });
    let leo = strict.connect(MAYA, "user.info.basic,video.publish,video.upload").await;
    let reply = strict.api_post("/v2/post/publish/video/init/", &leo.access, &pull_init(&format!("{}/media/v.mp4", host.base))).await;
    assert_api_error(&reply, StatusCode::FORBIDDEN, "url_ownership_unverified");
    // The inbox init checks the same way.
    let reply = strict
        .api_post("/v2/post/publish/inbox/video/init/", &leo.access, &json!({ "source_info": { "source": "PULL_FROM_URL", "video_url": "https://cdn.example/v.mp4" } }))
        .await;
    assert_api_error(&reply, StatusCode::FORBIDDEN, "url_ownership_unverified");
}

#[tokio::test]
async fn a_redirect_fails_the_pull_instead_of_being_followed() {
    let host = MediaHost::start(SyntheticVideo::mp4(10, 1000)).await;
    let h = Harness::new(pull_config(vec![format!("{}/", host.base)]));
    let maya = h.connect(MAYA, "user.info.basic,video.publish").await;
    let reply = h.api_post("/v2/post/publish/video/init/", &maya.access, &pull_init(&format!("{}/moved/v.mp4", host.base))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let publish_id = reply.json()["data"]["publish_id"].as_str().unwrap().to_owned();
    let record = downloaded(&h, &publish_id).await;
    assert_eq!((record.status.as_str(), record.fail_reason.as_deref()), ("FAILED", Some("video_pull_failed")));
    assert!(host.ranges.lock().unwrap().is_empty(), "the redirect's target was never fetched");

    // A URL that answers 404 fails the same way.
    let reply = h.api_post("/v2/post/publish/video/init/", &maya.access, &pull_init(&format!("{}/gone.mp4", host.base))).await;
    let publish_id = reply.json()["data"]["publish_id"].as_str().unwrap().to_owned();
    assert_eq!(downloaded(&h, &publish_id).await.fail_reason.as_deref(), Some("video_pull_failed"));
}

#[tokio::test]
async fn injected_failures_fail_the_pull_and_a_slow_pull_can_be_cancelled() {
    let host = MediaHost::start(SyntheticVideo::mp4(10, 250_000)).await;
    let h = Harness::new(pull_config(vec![format!("{}/media/", host.base)]));
    let maya = h.connect(MAYA, "user.info.basic,video.publish,video.upload").await;
    let url = format!("{}/media/v.mp4", host.base);

    h.sandbox.fail_next_pulls(1);
    let reply = h.api_post("/v2/post/publish/video/init/", &maya.access, &pull_init(&url)).await;
    let failing = reply.json()["data"]["publish_id"].as_str().unwrap().to_owned();
    let record = downloaded(&h, &failing).await;
    assert_eq!(record.fail_reason.as_deref(), Some("video_pull_failed"));
    assert!(!record.upload_complete);

    // 20 kB/s: the 250 kB download takes over ten seconds, long enough to cancel it.
    h.sandbox.set_pull_rate(Some(20_000));
    let reply = h.api_post("/v2/post/publish/inbox/video/init/", &maya.access, &json!({ "source_info": { "source": "PULL_FROM_URL", "video_url": url } })).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let slow = reply.json()["data"]["publish_id"].as_str().unwrap().to_owned();
    assert!(slow.starts_with("v_inbox_url~v2."), "{slow}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.sandbox.downloaded_bytes(&slow).unwrap_or(0) == 0 {
        assert!(Instant::now() < deadline, "the slow download never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = h.status(&maya.access, &slow).await.json();
    assert_eq!(status["data"]["status"], "PROCESSING_DOWNLOAD", "{status}");
    let cancel = h.api_post("/v2/post/publish/cancel/", &maya.access, &json!({ "publish_id": slow })).await;
    assert_eq!(cancel.status, StatusCode::OK, "{}", cancel.text());
    assert_eq!(cancel.json()["error"]["code"], "ok");
    let record = h.sandbox.publishes().into_iter().find(|p| p.publish_id == slow).unwrap();
    assert_eq!((record.status.as_str(), record.fail_reason.as_deref()), ("FAILED", Some("publish_cancelled")));
    assert!(!record.upload_complete);

    // A finished download (and any FILE_UPLOAD) is past cancelling.
    h.sandbox.set_pull_rate(None);
    let again = h.api_post("/v2/post/publish/cancel/", &maya.access, &json!({ "publish_id": slow })).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(again.json()["error"]["code"], "publish_not_cancellable");
}

#[tokio::test]
async fn a_download_cut_off_by_a_restart_fails_as_a_broken_connection_and_a_finished_one_stays_done() {
    let host = MediaHost::start(SyntheticVideo::mp4(10, 250_000)).await;
    let dir = std::env::temp_dir().join(format!("sandbox-pull-restart-{}", std::process::id()));
    let with_file = || SandboxConfig { state_file: Some(dir.join("state.json")), ..pull_config(vec![format!("{}/media/", host.base)]) };
    let before = Harness::new(with_file());
    let maya = before.connect(MAYA, "user.info.basic,video.publish").await;
    let url = format!("{}/media/v.mp4", host.base);
    // One download finishes before the restart.
    let reply = before.api_post("/v2/post/publish/video/init/", &maya.access, &pull_init(&url)).await;
    let finished = reply.json()["data"]["publish_id"].as_str().unwrap().to_owned();
    assert_eq!(downloaded(&before, &finished).await.status, "PUBLISH_COMPLETE");
    // 20 kB/s: another is still downloading when the sandbox "restarts".
    before.sandbox.set_pull_rate(Some(20_000));
    let reply = before.api_post("/v2/post/publish/video/init/", &maya.access, &pull_init(&url)).await;
    let cut = reply.json()["data"]["publish_id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    while before.sandbox.downloaded_bytes(&cut).unwrap_or(0) == 0 {
        assert!(Instant::now() < deadline, "the download never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(before.sandbox.save_state().unwrap());
    // A new process loads the file (the old one's download is left to run out on its own).
    drop(before);

    let after = Harness::new(with_file());
    after.sandbox.keep_saving();
    let status = after.status(&maya.access, &cut).await.json();
    assert_eq!((status["data"]["status"].as_str(), status["data"]["fail_reason"].as_str()), (Some("FAILED"), Some("video_pull_failed")), "{status}");
    let record = after.sandbox.publishes().into_iter().find(|p| p.publish_id == cut).unwrap();
    assert!(!record.upload_complete, "nothing of it is published: {record:?}");
    let status = after.status(&maya.access, &finished).await.json();
    assert_eq!((status["data"]["status"].as_str(), status["data"]["downloaded_bytes"].as_u64()), (Some("PUBLISH_COMPLETE"), Some(250_000)), "{status}");
    assert!(after.sandbox.save_state().is_ok());
    drop(after);

    // The next restart reports both as they ended.
    let later = Harness::new(with_file());
    let status = later.status(&maya.access, &cut).await.json();
    assert_eq!(status["data"]["fail_reason"].as_str(), Some("video_pull_failed"), "{status}");
    let status = later.status(&maya.access, &finished).await.json();
    assert_eq!(status["data"]["downloaded_bytes"].as_u64(), Some(250_000), "{status}");
    let _ = std::fs::remove_dir_all(&dir);
}
