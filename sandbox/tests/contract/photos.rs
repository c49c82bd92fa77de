//! Photo posts (§4.5): `content/init` with its own fields and limits, images pulled from
//! verified URLs only, and each image checked (JPEG/WebP, 20 MB, 1080p) as TikTok does.

use crate::harness::*;
use axum::routing::get;
use sandbox::synthetic_jpeg;

const CONTENT_INIT: &str = "/v2/post/publish/content/init/";

/// Images on a free loopback port: `ok.jpg` (1080×1350), `wide.jpg` (2000×3000), `gif.jpg`
/// (not a photo TikTok takes), `moved.jpg` (a redirect to ok.jpg).
async fn image_host() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let target = format!("{base}/img/ok.jpg");
    let jpeg = |w, h| move || async move { ([(header::CONTENT_TYPE, "image/jpeg")], synthetic_jpeg(w, h, 50_000)) };
    let app = Router::new()
        .route("/img/ok.jpg", get(jpeg(1080, 1350)))
        .route("/img/wide.jpg", get(jpeg(2000, 3000)))
        .route("/img/gif.jpg", get(|| async { b"GIF89a this is not a JPEG".to_vec() }))
        .route("/img/moved.jpg", get(move || async move { (StatusCode::FOUND, [(header::LOCATION, target)]) }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

fn photo_config(base: &str) -> SandboxConfig {
    SandboxConfig { verified_url_prefixes: vec![format!("{base}/img/")], allow_loopback_http_pulls: true, ..config() }
}

fn photo_body(mode: &str, images: &[String], cover: i64) -> Value {
    json!({
        "media_type": "PHOTO",
        "post_mode": mode,
        "post_info": { "title": "Carousel", "description": "Three #photos", "privacy_level": "SELF_ONLY", "auto_add_music": true },
        "source_info": { "source": "PULL_FROM_URL", "photo_images": images, "photo_cover_index": cover },
    })
}

async fn settled(h: &Harness, publish_id: &str) -> sandbox::PublishRecord {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let record = h.sandbox.publishes().into_iter().find(|p| p.publish_id == publish_id).unwrap();
        if record.status != "PROCESSING_DOWNLOAD" {
            return record;
        }
        assert!(Instant::now() < deadline, "{publish_id} never settled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_carousel_is_pulled_and_posted_directly_or_to_the_inbox() {
    let base = image_host().await;
    let h = Harness::new(photo_config(&base));
    let maya = h.connect(MAYA, "user.info.basic,video.publish,video.upload").await;
    let images = vec![format!("{base}/img/ok.jpg"); 3];
    let reply = h.api_post(CONTENT_INIT, &maya.access, &photo_body("DIRECT_POST", &images, 2)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let publish_id = reply.json()["data"]["publish_id"].as_str().unwrap().to_owned();
    assert!(publish_id.starts_with("p_pub_url~v2."), "{publish_id}");
    let record = settled(&h, &publish_id).await;
    assert_eq!((record.status.as_str(), record.upload_complete), ("PUBLISH_COMPLETE", true));
    let status = h.status(&maya.access, &publish_id).await.json();
    assert_eq!(status["data"]["downloaded_bytes"], 150_000, "{status}");

    let reply = h.api_post(CONTENT_INIT, &maya.access, &photo_body("MEDIA_UPLOAD", &images[..1], 0)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let draft = reply.json()["data"]["publish_id"].as_str().unwrap().to_owned();
    assert_eq!(settled(&h, &draft).await.status, "SEND_TO_USER_INBOX");
}

#[tokio::test]
async fn photo_fields_are_checked_as_tiktok_documents() {
    let base = image_host().await;
    let h = Harness::new(photo_config(&base));
    let ok = format!("{base}/img/ok.jpg");
    let maya = h.connect(MAYA, "user.info.basic,video.publish").await;
    let post = |body: Value| {
        let (h, token) = (&h, maya.access.clone());
        async move { h.api_post(CONTENT_INIT, &token, &body).await }
    };
    let mut body = photo_body("DIRECT_POST", &[ok.clone()], 0);
    body["media_type"] = json!("VIDEO");
    assert_api_error(&post(body).await, StatusCode::BAD_REQUEST, "invalid_params");
    let mut body = photo_body("DIRECT_POST", &[ok.clone()], 0);
    body["post_info"]["title"] = json!("x".repeat(91));
    assert_api_error(&post(body).await, StatusCode::BAD_REQUEST, "invalid_params");
    let mut body = photo_body("DIRECT_POST", &[ok.clone()], 0);
    body["post_info"]["description"] = json!("😀".repeat(2001)); // 4002 UTF-16 units
    assert_api_error(&post(body).await, StatusCode::BAD_REQUEST, "invalid_params");
    assert_api_error(&post(photo_body("DIRECT_POST", &vec![ok.clone(); 36], 0)).await, StatusCode::BAD_REQUEST, "invalid_params");
    assert_api_error(&post(photo_body("DIRECT_POST", &[ok.clone()], 1)).await, StatusCode::BAD_REQUEST, "invalid_params");
    // Six inits a minute: a fresh creator for the rest.
    let sam = h.connect(SAM, "user.info.basic,video.publish").await;
    let post = |body: Value| {
        let (h, token) = (&h, sam.access.clone());
        async move { h.api_post(CONTENT_INIT, &token, &body).await }
    };
    assert_api_error(&post(photo_body("DIRECT_POST", &[], 0)).await, StatusCode::BAD_REQUEST, "invalid_params");
    let mut body = photo_body("DIRECT_POST", &[ok.clone()], 0);
    body["post_info"]["privacy_level"] = json!("FOLLOWER_OF_CREATOR");
    assert_api_error(&post(body).await, StatusCode::FORBIDDEN, "privacy_level_option_mismatch");
    let elsewhere = vec![ok.clone(), "https://cdn.example/img/x.jpg".to_owned()];
    assert_api_error(&post(photo_body("DIRECT_POST", &elsewhere, 0)).await, StatusCode::FORBIDDEN, "url_ownership_unverified");
    // MEDIA_UPLOAD needs video.upload, which Sam did not grant.
    let reply = post(photo_body("MEDIA_UPLOAD", &[ok], 0)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.json()["error"]["code"], "scope_not_authorized");
}

#[tokio::test]
async fn images_tiktok_would_refuse_fail_the_post() {
    let base = image_host().await;
    let h = Harness::new(photo_config(&base));
    let maya = h.connect(MAYA, "user.info.basic,video.publish").await;
    for (image, reason) in [("wide.jpg", "picture_size_check_failed"), ("gif.jpg", "file_format_check_failed"), ("moved.jpg", "photo_pull_failed")] {
        let images = vec![format!("{base}/img/ok.jpg"), format!("{base}/img/{image}")];
        let reply = h.api_post(CONTENT_INIT, &maya.access, &photo_body("DIRECT_POST", &images, 0)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let publish_id = reply.json()["data"]["publish_id"].as_str().unwrap().to_owned();
        let record = settled(&h, &publish_id).await;
        assert_eq!((record.status.as_str(), record.fail_reason.as_deref()), ("FAILED", Some(reason)), "{image}");
    }
}
