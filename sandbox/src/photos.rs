//! Photo posts (tiktok-api.md §4.5): `POST /v2/post/publish/content/init/` with its own fields
//! and limits, the images pulled one by one from verified URLs (no redirects), each checked as
//! TikTok does (JPEG or WebP, at most 20 MB, at most 1080p).

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use serde::Deserialize;
use serde_json::json;

use crate::Sandbox;
use crate::access;
use crate::envelope::{self, ApiError};
use crate::faults::Endpoint;
use crate::fixtures::PrivacyLevel;
use crate::publish::{PostSettings, Publish, PublishKind};
use crate::pull::{self, UrlRefusal};

/// At most this many images in one post (§4.10).
pub const MAX_IMAGES: usize = 35;
/// Each image at most 20 MB, read decimally (the stricter reading).
pub const MAX_IMAGE_BYTES: u64 = 20_000_000;
/// "1080p": the shorter side at most 1080 px, the longer at most 1920 px.
const MAX_SHORT_SIDE: u32 = 1080;
const MAX_LONG_SIDE: u32 = 1920;
/// Title and description limits in UTF-16 code units (§4.5).
const MAX_TITLE_UTF16: usize = 90;
const MAX_DESCRIPTION_UTF16: usize = 4000;
/// How much of each image is kept to read its size from.
const IMAGE_HEAD: usize = 1 << 20;
pub(crate) const PHOTO_PULL_FAILED: &str = "photo_pull_failed";

/// What a photo post carries besides the common settings.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct PhotoPost {
    pub images: Vec<String>,
    pub cover_index: usize,
    pub description: String,
    pub auto_add_music: bool,
    /// Images fully fetched and checked so far.
    pub images_done: usize,
}

#[derive(Deserialize)]
struct ContentInit {
    media_type: Option<String>,
    post_mode: Option<String>,
    post_info: Option<PhotoInfo>,
    source_info: Option<PhotoSource>,
    /// The 2026-09 photo-post page documents the AI label at the top level.
    is_aigc: Option<bool>,
}

#[derive(Deserialize, Default)]
struct PhotoInfo {
    title: Option<String>,
    description: Option<String>,
    privacy_level: Option<String>,
    disable_comment: Option<bool>,
    auto_add_music: Option<bool>,
    brand_content_toggle: Option<bool>,
    brand_organic_toggle: Option<bool>,
}

#[derive(Deserialize)]
struct PhotoSource {
    source: Option<String>,
    photo_images: Option<Vec<String>>,
    photo_cover_index: Option<i64>,
}

/// `POST /v2/post/publish/content/init/`
pub async fn content_init(State(sandbox): State<Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
    init(&sandbox, &headers, &body).unwrap_or_else(IntoResponse::into_response)
}

fn init(sandbox: &Sandbox, headers: &HeaderMap, body: &[u8]) -> Result<Response, ApiError> {
    let caller = access::authorize(sandbox, headers, Endpoint::ContentInit)?;
    let request: ContentInit = crate::posting::json_body(headers, body)?
        .ok_or_else(|| ApiError::invalid_params("The request body is empty."))?;
    if request.media_type.as_deref() != Some("PHOTO") {
        return Err(ApiError::invalid_params("media_type must be PHOTO."));
    }
    let kind = match request.post_mode.as_deref() {
        Some("DIRECT_POST") => PublishKind::Direct,
        Some("MEDIA_UPLOAD") => PublishKind::Inbox,
        _ => return Err(ApiError::invalid_params("post_mode must be DIRECT_POST or MEDIA_UPLOAD.")),
    };
    // Direct Post needs video.publish, an upload to the inbox video.upload.
    let scope = if kind == PublishKind::Direct { "video.publish" } else { "video.upload" };
    if !caller.has_scope(scope) {
        return Err(ApiError::scope_not_authorized(scope));
    }
    let creator = sandbox.inner.creator(&caller.open_id).ok_or_else(ApiError::access_token_invalid)?;
    let config = &sandbox.inner.config;
    let now = Instant::now();
    if let Some(code) = crate::posting::account_block(sandbox, creator, kind, now) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, code, crate::posting::posting_block_message(code)));
    }

    let info = request.post_info.unwrap_or_default();
    let title = info.title.unwrap_or_default();
    if title.encode_utf16().count() > MAX_TITLE_UTF16 {
        return Err(ApiError::invalid_params("The title is longer than 90 UTF-16 code units."));
    }
    let description = info.description.unwrap_or_default();
    if description.encode_utf16().count() > MAX_DESCRIPTION_UTF16 {
        return Err(ApiError::invalid_params("The description is longer than 4000 UTF-16 code units."));
    }
    let settings = match kind {
        PublishKind::Direct => {
            let mismatch = || {
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    "privacy_level_option_mismatch",
                    "privacy_level is missing or not one of the creator's privacy_level_options.",
                )
            };
            let requested = info.privacy_level.as_deref().and_then(PrivacyLevel::parse).ok_or_else(mismatch)?;
            if !creator.privacy_level_options.contains(&requested) {
                return Err(mismatch());
            }
            PostSettings {
                title: title.clone(),
                privacy: Some(if config.unaudited { PrivacyLevel::SelfOnly } else { requested }),
                disable_comment: info.disable_comment.unwrap_or(false) || creator.comment_disabled,
                // Photos have no duet or stitch.
                disable_duet: true,
                disable_stitch: true,
                brand_content_toggle: info.brand_content_toggle.unwrap_or(false),
                brand_organic_toggle: info.brand_organic_toggle.unwrap_or(false),
                is_aigc: request.is_aigc.unwrap_or(false),
            }
        }
        // MEDIA_UPLOAD takes title and description; the creator picks the rest in the app.
        PublishKind::Inbox => PostSettings { title: title.clone(), is_aigc: request.is_aigc.unwrap_or(false), ..PostSettings::default() },
    };

    let source = request.source_info.ok_or_else(|| ApiError::invalid_params("source_info is required."))?;
    if source.source.as_deref() != Some("PULL_FROM_URL") {
        return Err(ApiError::invalid_params("Photo posts take only PULL_FROM_URL."));
    }
    let images = source.photo_images.unwrap_or_default();
    if images.is_empty() || images.len() > MAX_IMAGES {
        return Err(ApiError::invalid_params("photo_images must hold 1 to 35 URLs."));
    }
    let cover_index = source
        .photo_cover_index
        .and_then(|index| usize::try_from(index).ok())
        .filter(|index| *index < images.len())
        .ok_or_else(|| ApiError::invalid_params("photo_cover_index must point at one of photo_images."))?;
    for url in &images {
        pull::check_url(config, url).map_err(|refusal| match refusal {
            UrlRefusal::NotAUrl => ApiError::invalid_params("Every photo_images entry must be an https URL."),
            UrlRefusal::Unverified => crate::posting::url_ownership_unverified(),
        })?;
    }

    let mut publish = Publish::pulled(kind, caller.open_id, settings, images[0].clone(), now);
    publish.id = match kind {
        PublishKind::Direct => crate::ids::photo_publish_id(),
        PublishKind::Inbox => crate::ids::photo_inbox_publish_id(),
    };
    publish.photo = Some(PhotoPost {
        images,
        cover_index,
        description,
        auto_add_music: kind == PublishKind::Direct && info.auto_add_music.unwrap_or(false),
        images_done: 0,
    });
    let publish_id = publish.id.clone();
    sandbox.inner.lock().publishes.push(publish);
    start(sandbox, publish_id.clone());
    Ok(envelope::ok(json!({ "publish_id": publish_id })))
}

/// Fetches and checks every image in the background, then settles the publish.
fn start(sandbox: &Sandbox, publish_id: String) {
    let sandbox = sandbox.clone();
    tokio::spawn(async move {
        let limit = sandbox.inner.config.pull_timeout;
        let outcome = match tokio::time::timeout(limit, fetch_all(&sandbox, &publish_id)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(PHOTO_PULL_FAILED),
        };
        pull::finish(&sandbox, &publish_id, outcome.map_err(|reason| (reason, reason.to_owned())));
    });
}

async fn fetch_all(sandbox: &Sandbox, publish_id: &str) -> Result<(), &'static str> {
    let images = {
        let state = sandbox.inner.lock();
        let images = state.publish(publish_id).and_then(|publish| publish.photo.as_ref()).map(|photo| photo.images.clone());
        images
    };
    let images = images.ok_or(PHOTO_PULL_FAILED)?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(sandbox.inner.config.pull_read_timeout)
        .build()
        .map_err(|_| PHOTO_PULL_FAILED)?;
    for url in images {
        let head = fetch_one(sandbox, publish_id, &http, &url).await?;
        let (width, height) = picture_size(&head).ok_or("file_format_check_failed")?;
        if width.min(height) > MAX_SHORT_SIDE || width.max(height) > MAX_LONG_SIDE {
            return Err("picture_size_check_failed");
        }
        let mut state = sandbox.inner.lock();
        if let Some(photo) = state.publish_mut(publish_id).and_then(|publish| publish.photo.as_mut()) {
            photo.images_done += 1;
        }
    }
    Ok(())
}

/// Reads one image whole (counting it in `downloaded_bytes`); returns its head.
async fn fetch_one(sandbox: &Sandbox, publish_id: &str, http: &reqwest::Client, url: &str) -> Result<Vec<u8>, &'static str> {
    let response = http.get(url).send().await.map_err(|_| PHOTO_PULL_FAILED)?;
    // A redirect is a failed pull: TikTok does not follow it.
    if response.status() != StatusCode::OK {
        return Err(PHOTO_PULL_FAILED);
    }
    let mut head = Vec::new();
    let mut length = 0u64;
    let mut body = response.bytes_stream();
    while let Some(piece) = body.next().await {
        let piece = piece.map_err(|_| PHOTO_PULL_FAILED)?;
        length += piece.len() as u64;
        if length > MAX_IMAGE_BYTES {
            return Err("picture_size_check_failed");
        }
        let room = IMAGE_HEAD.saturating_sub(head.len()).min(piece.len());
        head.extend_from_slice(&piece[..room]);
        pull::take_piece(sandbox, publish_id, &piece).map_err(|_| PHOTO_PULL_FAILED)?;
    }
    Ok(head)
}

/// Width and height of a JPEG (its SOF segment) or WebP (VP8, VP8L or VP8X header).
pub fn picture_size(head: &[u8]) -> Option<(u32, u32)> {
    let size = if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        jpeg_size(head)
    } else if head.get(..4) == Some(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
        webp_size(head)
    } else {
        None
    }?;
    (size.0 > 0 && size.1 > 0).then_some(size)
}

fn jpeg_size(data: &[u8]) -> Option<(u32, u32)> {
    let be16 = |at: usize| Some(u32::from(u16::from_be_bytes(data.get(at..at + 2)?.try_into().ok()?)));
    let mut at = 2;
    loop {
        if *data.get(at)? != 0xFF {
            return None;
        }
        let marker = *data.get(at + 1)?;
        match marker {
            // Fill bytes before a marker.
            0xFF => at += 1,
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => at += 2,
            // Start of frame (not DHT, JPG or DAC): precision, height, width.
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => return Some((be16(at + 7)?, be16(at + 5)?)),
            // Start of scan or end of image before any frame header.
            0xDA | 0xD9 => return None,
            _ => at += 2 + usize::try_from(be16(at + 2)?).ok()?,
        }
    }
}

fn webp_size(data: &[u8]) -> Option<(u32, u32)> {
    let le = |at: usize, len: usize| {
        let bytes = data.get(at..at + len)?;
        Some(bytes.iter().rev().fold(0u32, |value, byte| (value << 8) | u32::from(*byte)))
    };
    match data.get(12..16)? {
        b"VP8 " if data.get(23..26) == Some(&[0x9D, 0x01, 0x2A]) => Some((le(26, 2)? & 0x3FFF, le(28, 2)? & 0x3FFF)),
        b"VP8L" if data.get(20) == Some(&0x2F) => {
            let bits = le(21, 4)?;
            Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        b"VP8X" => Some((le(24, 3)? + 1, le(27, 3)? + 1)),
        _ => None,
    }
}

/// A minimal baseline JPEG header of `width`×`height` (SOI, one SOF0), then filler: enough for
/// TikTok's checks, for tests.
pub fn synthetic_jpeg(width: u16, height: u16, size: usize) -> Vec<u8> {
    let mut file = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    file.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    file.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08]);
    file.extend_from_slice(&height.to_be_bytes());
    file.extend_from_slice(&width.to_be_bytes());
    file.extend_from_slice(&[0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01]);
    file.resize(size.max(file.len()), 0);
    file
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpeg_sizes_come_from_the_frame_header() {
        assert_eq!(picture_size(&synthetic_jpeg(1080, 1350, 4000)), Some((1080, 1350)));
        assert_eq!(picture_size(b"GIF89a not a photo"), None);
        assert_eq!(picture_size(&[0xFF, 0xD8, 0xFF, 0xD9]), None, "no frame header");
    }

    #[test]
    fn webp_sizes_come_from_each_header_kind() {
        let riff = |chunk: &[u8; 4], body: &[u8]| {
            let mut file = b"RIFF\0\0\0\0WEBP".to_vec();
            file.extend_from_slice(chunk);
            file.extend_from_slice(&(body.len() as u32).to_le_bytes());
            file.extend_from_slice(body);
            file
        };
        let mut lossy = vec![0, 0, 0, 0x9D, 0x01, 0x2A];
        lossy.extend_from_slice(&1080u16.to_le_bytes());
        lossy.extend_from_slice(&720u16.to_le_bytes());
        assert_eq!(picture_size(&riff(b"VP8 ", &lossy)), Some((1080, 720)));
        let bits: u32 = (1079) | (1349 << 14);
        let mut lossless = vec![0x2F];
        lossless.extend_from_slice(&bits.to_le_bytes());
        assert_eq!(picture_size(&riff(b"VP8L", &lossless)), Some((1080, 1350)));
        let mut extended = vec![0; 4];
        extended.extend_from_slice(&1919u32.to_le_bytes()[..3]);
        extended.extend_from_slice(&1079u32.to_le_bytes()[..3]);
        assert_eq!(picture_size(&riff(b"VP8X", &extended)), Some((1920, 1080)));
    }
}
