//! One chunk of a multi-chunk upload failing (5xx, reset, stall) and then resubmitted, as
//! TikTok's media-transfer guide tells clients to do.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::harness::*;

const VIDEO_SIZE: u64 = 15_000_000;
const CHUNK: u64 = 5_000_000;

/// A three-chunk direct post, ready for its first PUT.
struct ThreeChunks {
    h: Harness,
    access: String,
    publish_id: String,
    url: String,
    video: Video,
}

impl ThreeChunks {
    async fn new(config: SandboxConfig) -> Self {
        let h = Harness::new(config);
        let tokens = h.connect(MAYA, "user.info.basic,video.publish").await;
        let init = h.direct_init(&tokens.access, "SELF_ONLY", VIDEO_SIZE, CHUNK).await.json();
        let publish_id = init["data"]["publish_id"].as_str().unwrap().to_owned();
        let url = init["data"]["upload_url"].as_str().unwrap().to_owned();
        Self { h, access: tokens.access, publish_id, url, video: Video::mp4(30, VIDEO_SIZE) }
    }

    fn chunk_request(&self, index: u64) -> Request<Body> {
        let first = index * CHUNK;
        let last = first + CHUNK - 1;
        Request::put(relative(&self.url))
            .header(header::CONTENT_TYPE, "video/mp4")
            .header(header::CONTENT_LENGTH, CHUNK.to_string())
            .header(header::CONTENT_RANGE, format!("bytes {first}-{last}/{VIDEO_SIZE}"))
            .body(self.video.body(first, last))
            .unwrap()
    }

    async fn put_chunk(&self, index: u64) -> Reply {
        self.h.send(self.chunk_request(index)).await
    }

    /// Resubmits chunk 1 and sends chunk 2; the upload must finish and publish.
    async fn resubmit_and_finish(&self) {
        let again = self.put_chunk(1).await;
        assert_eq!(again.status, StatusCode::PARTIAL_CONTENT, "the same chunk is accepted again: {}", again.text());
        assert_eq!(again.header("content-range"), Some("bytes 0-9999999/15000000"));
        let last = self.put_chunk(2).await;
        assert_eq!(last.status, StatusCode::CREATED, "{}", last.text());
        let done = self.h.wait_for_status(&self.access, &self.publish_id, "PUBLISH_COMPLETE").await;
        assert_eq!(done["data"]["uploaded_bytes"], VIDEO_SIZE);
    }

    /// The statuses the sandbox recorded for the upload PUTs, in order.
    fn put_statuses(&self) -> Vec<Option<u16>> {
        self.h.sandbox.requests().iter().filter(|request| request.path == "/upload/video/").map(|r| r.status).collect()
    }
}

/// A fault on exactly the second chunk PUT.
fn second_chunk(kind: FaultKind) -> Fault {
    Fault { endpoint: Endpoint::Upload, kind, count: 1, skip: 1 }
}

#[tokio::test]
async fn a_5xx_on_one_chunk_then_the_same_chunk_again() {
    for (kind, status) in [(FaultKind::Status500, 500), (FaultKind::Status503, 503)] {
        let upload = ThreeChunks::new(config()).await;
        upload.h.sandbox.inject(second_chunk(kind));
        assert_eq!(upload.put_chunk(0).await.status, StatusCode::PARTIAL_CONTENT, "skipped: untouched");
        assert_eq!(upload.put_chunk(1).await.status.as_u16(), status);
        let progress = upload.h.status(&upload.access, &upload.publish_id).await.json();
        assert_eq!(progress["data"]["uploaded_bytes"], CHUNK, "the failed chunk was not counted");
        upload.resubmit_and_finish().await;
        assert_eq!(upload.put_statuses(), [Some(206), Some(status), Some(206), Some(201)]);
    }
}

#[tokio::test]
async fn a_reset_on_one_chunk_then_the_same_chunk_again() {
    let upload = ThreeChunks::new(config()).await;
    upload.h.sandbox.inject(second_chunk(FaultKind::DropConnection));
    assert_eq!(upload.put_chunk(0).await.status, StatusCode::PARTIAL_CONTENT);
    let reset = upload.h.router.clone().oneshot(upload.chunk_request(1)).await.unwrap();
    assert!(reset.into_body().collect().await.is_err(), "the connection breaks");
    upload.resubmit_and_finish().await;
    assert_eq!(upload.put_statuses(), [Some(206), None, Some(206), Some(201)]);
}

#[tokio::test]
async fn a_stall_reads_part_of_the_chunk_then_holds_and_drops_the_connection() {
    let hang = Duration::from_millis(400);
    let upload = ThreeChunks::new(SandboxConfig { fault_hang: hang, ..config() }).await;
    upload.h.sandbox.inject(second_chunk(FaultKind::Stall));
    assert_eq!(upload.put_chunk(0).await.status, StatusCode::PARTIAL_CONTENT);

    // Count what the sandbox pulls from the body: it must stop well short of the chunk.
    let pulled = Arc::new(AtomicU64::new(0));
    let counter = pulled.clone();
    let pieces = upload.video.0.pieces(CHUNK, 2 * CHUNK - 1, 64 * 1024).map(move |piece| {
        counter.fetch_add(piece.len() as u64, Ordering::SeqCst);
        Ok::<_, std::io::Error>(piece)
    });
    let request = Request::put(relative(&upload.url))
        .header(header::CONTENT_TYPE, "video/mp4")
        .header(header::CONTENT_LENGTH, CHUNK.to_string())
        .header(header::CONTENT_RANGE, format!("bytes {CHUNK}-{}/{VIDEO_SIZE}", 2 * CHUNK - 1))
        .body(Body::from_stream(futures_util::stream::iter(pieces)))
        .unwrap();
    let started = Instant::now();
    let router = upload.h.router.clone();
    let stalled = tokio::spawn(async move { router.oneshot(request).await.unwrap().into_body().collect().await });
    tokio::time::sleep(hang / 2).await;
    let read = pulled.load(Ordering::SeqCst);
    assert!(read > 0 && read < CHUNK / 2, "read part of the chunk, then stopped: {read} bytes");
    assert!(!stalled.is_finished(), "the connection is held");
    assert!(stalled.await.unwrap().is_err(), "then dropped without a reply");
    assert!(started.elapsed() >= hang, "held for fault_hang: {:?}", started.elapsed());
    assert_eq!(pulled.load(Ordering::SeqCst), read, "nothing more was read before the drop");
    let recorded = upload.h.sandbox.requests().into_iter().last().unwrap();
    assert_eq!((recorded.fault, recorded.status), (Some(FaultKind::Stall), None));
    upload.resubmit_and_finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tcp_a_client_that_gives_up_on_a_stall_can_resubmit_at_once() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let base = format!("http://{address}");
    let sandbox = Sandbox::new(SandboxConfig {
        public_base_url: base.clone(),
        fault_hang: Duration::from_secs(30),
        ..config()
    });
    let server = tokio::spawn(sandbox::serve(listener, sandbox.clone()));
    let h = Harness { router: sandbox.router(), sandbox: sandbox.clone() };
    let tokens = h.connect(MAYA, "user.info.basic,video.publish").await;
    let init = h.direct_init(&tokens.access, "SELF_ONLY", VIDEO_SIZE, CHUNK).await.json();
    let url = init["data"]["upload_url"].as_str().unwrap().to_owned();
    let video = Video::mp4(30, VIDEO_SIZE);
    let client = reqwest::Client::new();
    // The client's own deadline; generous for the resubmission, which a loaded debug build hashes slowly.
    let put = |index: u64, timeout: Duration| {
        let (first, last) = (index * CHUNK, index * CHUNK + CHUNK - 1);
        let bytes: Vec<u8> = video.0.pieces(first, last, 1 << 20).flat_map(|piece| piece.to_vec()).collect();
        client
            .put(&url)
            .header("Content-Type", "video/mp4")
            .header("Content-Range", format!("bytes {first}-{last}/{VIDEO_SIZE}"))
            .body(bytes)
            .timeout(timeout)
            .send()
    };
    sandbox.inject(Fault { endpoint: Endpoint::Upload, kind: FaultKind::Stall, count: 1, skip: 0 });
    let error = put(0, Duration::from_millis(500)).await.expect_err("the stalled PUT never gets a reply");
    assert!(error.is_timeout(), "{error}");
    // The sandbox still holds the stalled connection; the resubmission is not refused for it.
    let again = put(0, Duration::from_secs(30)).await.unwrap();
    assert_eq!(again.status(), reqwest::StatusCode::PARTIAL_CONTENT);
    assert_eq!(again.headers()["content-range"], "bytes 0-4999999/15000000");
    server.abort();
}
