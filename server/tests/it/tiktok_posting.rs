//! The TikTok client's posting calls against the sandbox over real HTTP: chunk plans, streamed
//! chunk uploads, status, and the errors a publisher has to tell apart.

use crate::util::sandbox::TestSandbox;
use app::tiktok::{
    chunks::ChunkPlan,
    client::{ChunkReceipt, PostInfo, TikTokClient, TikTokEndpoints, TokenGrant},
    error::TikTokError,
};
use sandbox::synthetic::SyntheticVideo;
use std::time::{Duration, Instant};

const REDIRECT: &str = "http://127.0.0.1:3000/oauth/tiktok/callback";

fn client_for(sandbox: &TestSandbox) -> TikTokClient {
    let config = sandbox.sandbox.config();
    TikTokClient::new(TikTokEndpoints {
        api_base: sandbox.url.clone(),
        authorize_base: sandbox.url.clone(),
        client_key: config.client_key.clone(),
        client_secret: config.client_secret.clone().into(),
        scopes: app::tiktok::scopes::DEFAULT_REQUESTED.iter().map(|s| (*s).to_owned()).collect(),
    })
    .unwrap()
}

/// Consents as `creator` on the sandbox and exchanges the code with the client under test.
async fn token_for(sandbox: &TestSandbox, client: &TikTokClient, creator: &str) -> TokenGrant {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = http.get(client.authorize_url(REDIRECT, "st")).send().await.unwrap().text().await.unwrap();
    let request_id = page.split("name=\"request_id\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let open_id = sandbox.open_id_of(creator);
    let form = [
        ("request_id", request_id.as_str()),
        ("open_id", open_id.as_str()),
        ("scope", "video.publish"),
        ("scope", "video.upload"),
    ];
    let decided = http.post(format!("{}/v2/auth/authorize/", sandbox.url)).form(&form).send().await.unwrap();
    let location = reqwest::Url::parse(decided.headers()["location"].to_str().unwrap()).unwrap();
    let code = location.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    client.exchange_code(&code, REDIRECT).await.expect("code exchange")
}

/// A synthetic 720×1280 MP4, streamed in 256 KiB pieces (never held whole).
struct Video(SyntheticVideo);

impl Video {
    fn mp4(seconds: u32, size: u64) -> Self {
        Self(SyntheticVideo::mp4(seconds, size))
    }

    fn size(&self) -> u64 {
        self.0.size
    }

    fn body(&self, first: u64, last: u64) -> reqwest::Body {
        let pieces = self.0.pieces(first, last, 256 * 1024).map(Ok::<_, std::io::Error>);
        reqwest::Body::wrap_stream(futures_util::stream::iter(pieces))
    }
}

fn post(privacy: &str) -> PostInfo {
    PostInfo {
        title: "First light over the harbour #sunrise @maya".into(),
        privacy_level: privacy.into(),
        disable_duet: false,
        disable_stitch: false,
        disable_comment: false,
        video_cover_timestamp_ms: Some(500),
        brand_content_toggle: false,
        brand_organic_toggle: false,
        is_aigc: false,
    }
}

async fn upload(client: &TikTokClient, url: &str, video: &Video) -> Vec<ChunkReceipt> {
    let plan = ChunkPlan::for_size(video.size()).unwrap();
    let mut receipts = Vec::new();
    for (index, (first, last)) in plan.ranges().enumerate() {
        receipts.push(
            client.upload_chunk(url, "video/mp4", &plan, index as u64, video.body(first, last), std::time::Duration::from_secs(60)).await.unwrap(),
        );
    }
    receipts
}

async fn final_status(client: &TikTokClient, token: &TokenGrant, publish_id: &str) -> app::tiktok::client::PublishStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = client.publish_status(&token.access_token, publish_id).await.unwrap();
        if !status.status.starts_with("PROCESSING") || Instant::now() > deadline {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The final status once `uploaded_bytes` has caught up with `total`: TikTok's field is loosely
/// defined, and the sandbox reports it only for chunks acknowledged a while ago.
async fn settled_status(client: &TikTokClient, token: &TokenGrant, publish_id: &str, total: u64) -> app::tiktok::client::PublishStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = final_status(client, token, publish_id).await;
        if status.uploaded_bytes == Some(total) || Instant::now() > deadline {
            return status;
        }
        // Longer than the sandbox's 2 s lag, and few calls: status/fetch allows 30 a minute.
        tokio::time::sleep(Duration::from_millis(2500)).await;
    }
}

async fn fast_sandbox() -> TestSandbox {
    TestSandbox::start_with(sandbox::SandboxConfig { processing_delay: Duration::from_millis(50), ..Default::default() }).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_small_video_goes_up_in_one_chunk_and_publishes() {
    let sandbox = fast_sandbox().await;
    let client = client_for(&sandbox);
    let token = token_for(&sandbox, &client, "Maya Public").await;
    let video = Video::mp4(12, 3_000_000);
    let plan = ChunkPlan::for_size(video.size()).unwrap();
    let init = client.init_direct_post(&token.access_token, &post("PUBLIC_TO_EVERYONE"), &plan).await.unwrap();
    assert!(init.publish_id.starts_with("v_pub_file~"));
    assert_eq!(upload(&client, &init.upload_url, &video).await, [ChunkReceipt::Complete]);

    let status = final_status(&client, &token, &init.publish_id).await;
    assert_eq!(status.status, "PUBLISH_COMPLETE", "{status:?}");
    assert!(status.post_ids().is_empty(), "no public id before moderation (5 s in the sandbox): {status:?}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let ids = loop {
        let ids = client.publish_status(&token.access_token, &init.publish_id).await.unwrap().post_ids();
        if !ids.is_empty() {
            break ids;
        }
        assert!(Instant::now() < deadline, "no public id after moderation");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0].len(), 19, "the post id keeps all its digits: {}", ids[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_video_is_streamed_in_sequential_chunks() {
    let sandbox = fast_sandbox().await;
    let client = client_for(&sandbox);
    let token = token_for(&sandbox, &client, "Leo Private").await;
    let video = Video::mp4(30, 75_000_001);
    let plan = ChunkPlan::for_size(video.size()).unwrap();
    assert_eq!(plan.total_chunk_count, 7);
    let init = client.init_direct_post(&token.access_token, &post("SELF_ONLY"), &plan).await.unwrap();
    let receipts = upload(&client, &init.upload_url, &video).await;
    assert_eq!(receipts.len(), 7);
    assert_eq!(receipts[0], ChunkReceipt::Partial { uploaded: 10_000_000 });
    assert_eq!(receipts[5], ChunkReceipt::Partial { uploaded: 60_000_000 });
    assert_eq!(receipts[6], ChunkReceipt::Complete);

    let status = settled_status(&client, &token, &init.publish_id, video.size()).await;
    assert_eq!(status.status, "PUBLISH_COMPLETE");
    assert_eq!(status.uploaded_bytes, Some(75_000_001));
    assert!(status.post_ids().is_empty(), "private posts get no public id");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_inbox_upload_ends_in_the_creators_inbox() {
    let sandbox = fast_sandbox().await;
    let client = client_for(&sandbox);
    let token = token_for(&sandbox, &client, "Maya Public").await;
    let video = Video::mp4(8, 2_000_000);
    let plan = ChunkPlan::for_size(video.size()).unwrap();
    let init = client.init_inbox_upload(&token.access_token, &plan).await.unwrap();
    assert!(init.publish_id.starts_with("v_inbox_file~"));
    upload(&client, &init.upload_url, &video).await;
    assert_eq!(final_status(&client, &token, &init.publish_id).await.status, "SEND_TO_USER_INBOX");
}

#[tokio::test(flavor = "multi_thread")]
async fn tiktoks_refusals_arrive_as_typed_errors() {
    let sandbox = fast_sandbox().await;
    let client = client_for(&sandbox);
    let token = token_for(&sandbox, &client, "Leo Private").await;
    let plan = ChunkPlan::for_size(2_000_000).unwrap();

    // A private account does not offer "everyone".
    let refused = client.init_direct_post(&token.access_token, &post("PUBLIC_TO_EVERYONE"), &plan).await;
    assert!(
        matches!(&refused, Err(TikTokError::Rejected { status: 403, code, .. }) if code == "privacy_level_option_mismatch"),
        "{refused:?}"
    );

    // Sending a chunk twice is refused with TikTok's progress, not silently accepted.
    let video = Video::mp4(5, 12_000_000);
    let init = client.init_direct_post(&token.access_token, &post("SELF_ONLY"), &ChunkPlan::for_size(12_000_000).unwrap()).await.unwrap();
    let plan = ChunkPlan::for_size(video.size()).unwrap();
    let timeout = std::time::Duration::from_secs(60);
    client.upload_chunk(&init.upload_url, "video/mp4", &plan, 0, video.body(0, video.size() - 1), timeout).await.unwrap();
    let again = client.upload_chunk(&init.upload_url, "video/mp4", &plan, 0, video.body(0, video.size() - 1), timeout).await;
    assert!(matches!(&again, Ok(ChunkReceipt::RangeMismatch { uploaded: Some(12_000_000) })), "{again:?}");

    // Six direct-post init calls a minute per token (two are above, the refused one included);
    // the seventh is throttled.
    for _ in 0..4 {
        client.init_direct_post(&token.access_token, &post("SELF_ONLY"), &plan).await.unwrap();
    }
    let throttled = client.init_direct_post(&token.access_token, &post("SELF_ONLY"), &plan).await;
    assert!(matches!(throttled, Err(TikTokError::RateLimited { .. })), "{throttled:?}");

    // A dead token is "unauthorized", which the accounts code answers with one refresh.
    sandbox.sandbox.revoke_creator(&sandbox.open_id_of("Leo Private"));
    let dead = client.publish_status(&token.access_token, &init.publish_id).await;
    assert!(matches!(&dead, Err(TikTokError::Unauthorized { code, .. }) if code == "access_token_invalid"), "{dead:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn transient_status_failures_are_retried_but_inits_are_not() {
    let sandbox = fast_sandbox().await;
    let client = client_for(&sandbox);
    let token = token_for(&sandbox, &client, "Maya Public").await;
    let plan = ChunkPlan::for_size(2_000_000).unwrap();
    let init = client.init_inbox_upload(&token.access_token, &plan).await.unwrap();

    sandbox.sandbox.inject(sandbox::Fault { endpoint: sandbox::Endpoint::StatusFetch, kind: sandbox::FaultKind::Status503, count: 2, skip: 0 });
    let status = client.publish_status(&token.access_token, &init.publish_id).await.expect("retried past two 503s");
    assert_eq!(status.status, "PROCESSING_UPLOAD");

    sandbox.sandbox.inject(sandbox::Fault { endpoint: sandbox::Endpoint::VideoInit, kind: sandbox::FaultKind::Status500, count: 1, skip: 0 });
    let failed = client.init_direct_post(&token.access_token, &post("SELF_ONLY"), &plan).await;
    assert!(matches!(failed, Err(TikTokError::Transient(_))), "{failed:?}");
    let inits = sandbox.sandbox.requests().iter().filter(|r| r.path == "/v2/post/publish/video/init/").count();
    assert_eq!(inits, 1, "an init that may have reached TikTok is never sent again blindly");
}

mod streaming {
    use super::*;
    use app::publishing::stream::{StreamUploadError, UploadTarget, stream_upload};
    use bytes::Bytes;

    /// The video as a stream of odd-sized pieces, so pieces straddle chunk boundaries.
    fn source(video: &SyntheticVideo, declared_len: u64) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
        futures_util::stream::iter(video.pieces(0, declared_len - 1, 100_003).map(Ok))
    }

    /// `stream_upload` with the default chunk policy, spooling in the temporary directory.
    async fn upload_stream<S>(client: &TikTokClient, url: &str, plan: &ChunkPlan, source: S) -> Result<(), StreamUploadError>
    where
        S: futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Unpin,
    {
        let policy = app::config::UploadConfig::default();
        let data_dir = std::env::temp_dir();
        let target = UploadTarget { client, upload_url: url, content_type: "video/mp4", policy: &policy, data_dir: &data_dir };
        stream_upload(&target, plan, source).await
    }

    async fn init(sandbox: &TestSandbox, creator: &str, size: u64) -> (TikTokClient, TokenGrant, String, String) {
        let client = client_for(sandbox);
        let token = token_for(sandbox, &client, creator).await;
        let plan = ChunkPlan::for_size(size).unwrap();
        let init = client.init_direct_post(&token.access_token, &post("SELF_ONLY"), &plan).await.unwrap();
        (client, token, init.publish_id, init.upload_url)
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_stream_is_cut_into_tiktoks_chunks_as_it_arrives() {
        let sandbox = fast_sandbox().await;
        let size = 75_000_001;
        let (client, token, publish_id, url) = init(&sandbox, "Leo Private", size).await;
        let video = SyntheticVideo::mp4(40, size);
        let plan = ChunkPlan::for_size(size).unwrap();
        upload_stream(&client, &url, &plan, source(&video, size)).await.unwrap();

        let status = settled_status(&client, &token, &publish_id, size).await;
        assert_eq!((status.status.as_str(), status.uploaded_bytes), ("PUBLISH_COMPLETE", Some(size)));
        let puts: Vec<_> = sandbox.sandbox.requests().into_iter().filter(|r| r.path == "/upload/video/").collect();
        assert_eq!(puts.iter().map(|r| r.status).collect::<Vec<_>>(), [Some(206); 6].into_iter().chain([Some(201)]).collect::<Vec<_>>());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn sizes_at_tiktoks_chunk_boundaries_upload_completely() {
        let sandbox = fast_sandbox().await;
        let client = client_for(&sandbox);
        let token = token_for(&sandbox, &client, "Leo Private").await;
        // (size, chunks, last chunk's length): under 5 MB, exactly 5 MB, just under and at the
        // 64 MB single-chunk line, an exact multiple of the chunk size, and one byte more.
        let cases = [
            (4_999_999u64, 1u64, 4_999_999u64),
            (5_000_000, 1, 5_000_000),
            (63_999_999, 1, 63_999_999),
            (64_000_000, 6, 14_000_000),
            (70_000_000, 7, 10_000_000),
            (70_000_001, 7, 10_000_001),
        ];
        for (size, chunks, last_length) in cases {
            let plan = ChunkPlan::for_size(size).unwrap();
            assert_eq!(plan.total_chunk_count, chunks, "{size}");
            let (first, last) = plan.range(chunks - 1);
            assert_eq!(last - first + 1, last_length, "{size}");
            let init = client.init_direct_post(&token.access_token, &post("SELF_ONLY"), &plan).await.unwrap();
            let video = SyntheticVideo::mp4(30, size);
            upload_stream(&client, &init.upload_url, &plan, source(&video, size)).await.unwrap();
            let status = settled_status(&client, &token, &init.publish_id, size).await;
            assert_eq!((status.status.as_str(), status.uploaded_bytes), ("PUBLISH_COMPLETE", Some(size)), "{size}");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_source_that_stops_early_or_breaks_never_completes_the_upload() {
        let sandbox = fast_sandbox().await;
        let size = 12_000_000;
        let plan = ChunkPlan::for_size(size).unwrap();
        let video = SyntheticVideo::mp4(10, size);

        let (client, token, publish_id, url) = init(&sandbox, "Maya Public", size).await;
        let short = upload_stream(&client, &url, &plan, source(&video, size - 5)).await.unwrap_err();
        assert!(matches!(short, StreamUploadError::SizeMismatch { declared: 12_000_000, actual: 11_999_995 }), "{short:?}");
        let status = client.publish_status(&token.access_token, &publish_id).await.unwrap();
        assert_eq!(status.status, "PROCESSING_UPLOAD", "TikTok never got a complete video");

        let (client, _, _, url) = init(&sandbox, "Leo Private", size).await;
        let pieces = video.pieces(0, 3_000_000, 100_003).map(Ok).chain([Err(std::io::Error::other("browser went away"))]);
        let broken = upload_stream(&client, &url, &plan, futures_util::stream::iter(pieces)).await.unwrap_err();
        assert!(matches!(broken, StreamUploadError::SourceInterrupted), "{broken:?}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn extra_bytes_beyond_the_announced_size_are_reported() {
        let sandbox = fast_sandbox().await;
        let size = 2_000_000;
        let (client, _, _, url) = init(&sandbox, "Maya Public", size).await;
        let video = SyntheticVideo::mp4(10, size + 10);
        let plan = ChunkPlan::for_size(size).unwrap();
        let long = upload_stream(&client, &url, &plan, source(&video, size + 10)).await.unwrap_err();
        assert!(matches!(long, StreamUploadError::SizeMismatch { declared: 2_000_000, actual: 2_000_010 }), "{long:?}");
    }
}
