//! The composer's photo post as a browser sends it: the fields, the announced sizes, then one
//! `image` field per photo.

use super::TestClient;
use app::{error::AppError, posts::photo_rules::PhotoChoices, posts::rules::ComposerChoices, posts::types::UploadOutcome};
use axum::body::Body;
use http::{Request, header};

const BOUNDARY: &str = "cadence-photo-boundary-Q2vA9pLmX3";

/// One photo post from the composer.
pub struct PhotoUpload {
    pub account_id: String,
    pub mode: &'static str,
    pub choices: ComposerChoices,
    pub photo: PhotoChoices,
    pub scheduled_at: Option<String>,
    /// Each image's bytes, in order.
    pub images: Vec<Vec<u8>>,
    /// The sizes the browser announces; the images' real sizes unless a test lies.
    pub declared_sizes: Option<Vec<u64>>,
}

impl PhotoUpload {
    /// `count` JPEGs of 1080×1350 and `bytes` each, posted at once, the second as the cover.
    pub fn post_now(account_id: &str, privacy: &str, count: usize, bytes: usize) -> Self {
        Self {
            account_id: account_id.to_owned(),
            mode: "post_now",
            choices: ComposerChoices {
                caption: "Our trip in photos #cadence".into(),
                privacy_level: Some(privacy.to_owned()),
                allow_comment: true,
                ..Default::default()
            },
            photo: PhotoChoices { title: "Trip".into(), cover_index: u32::from(count > 1), auto_add_music: true },
            scheduled_at: None,
            images: (0..count).map(|n| jpeg_numbered(1080, 1350, bytes, n)).collect(),
            declared_sizes: None,
        }
    }

    /// The same, scheduled for `at`.
    pub fn scheduled(account_id: &str, privacy: &str, count: usize, bytes: usize, at: time::OffsetDateTime) -> Self {
        Self {
            mode: "schedule",
            scheduled_at: Some(at.format(&time::format_description::well_known::Rfc3339).unwrap()),
            ..Self::post_now(account_id, privacy, count, bytes)
        }
    }

    fn body(&self) -> Vec<u8> {
        let mut body = Vec::new();
        let field = |body: &mut Vec<u8>, name: &str, value: &str| {
            body.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
        };
        field(&mut body, "account_id", &self.account_id);
        field(&mut body, "mode", self.mode);
        field(&mut body, "choices", &serde_json::to_string(&self.choices).unwrap());
        field(&mut body, "photo", &serde_json::to_string(&self.photo).unwrap());
        field(&mut body, "scheduled_at", self.scheduled_at.as_deref().unwrap_or_default());
        let sizes = self.declared_sizes.clone().unwrap_or_else(|| self.images.iter().map(|i| i.len() as u64).collect());
        field(&mut body, "image_sizes", &sizes.iter().map(u64::to_string).collect::<Vec<_>>().join(","));
        for (n, image) in self.images.iter().enumerate() {
            body.extend_from_slice(
                format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"photo{n}.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").as_bytes(),
            );
            body.extend_from_slice(image);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        body
    }

    /// Sends it as `client` and decodes the answer.
    pub async fn send(&self, client: &mut TestClient) -> Result<UploadOutcome, AppError> {
        let mut request = Request::post("/api/posts/upload").header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"));
        if let Some(origin) = &client.origin {
            request = request.header(header::ORIGIN, origin);
        }
        let response = client.send(request.body(Body::from(self.body())).unwrap()).await;
        if response.status.is_success() {
            Ok(serde_json::from_slice(&response.body).unwrap_or_else(|e| panic!("cannot decode {:?}: {e}", response.text())))
        } else {
            Err(serde_json::from_slice(&response.body)
                .unwrap_or_else(|_| AppError::Transport(format!("HTTP {}: {}", response.status, response.text()))))
        }
    }
}

/// A JPEG header of `width`×`height` padded to `bytes`, its last byte marking photo `n`.
pub fn jpeg_numbered(width: u16, height: u16, bytes: usize, n: usize) -> Vec<u8> {
    let mut image = sandbox::synthetic_jpeg(width, height, bytes);
    if let Some(last) = image.last_mut() {
        *last = n as u8;
    }
    image
}
