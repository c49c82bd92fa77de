//! The composer's upload as a browser sends it: a multipart body whose fields come first and
//! whose video is streamed piece by piece (and can be cut off mid-way).

use super::TestClient;
use app::{error::AppError, posts::rules::ComposerChoices, posts::types::UploadOutcome};
use axum::body::Body;
use bytes::Bytes;
use http::{Request, header};
use sandbox::synthetic::SyntheticVideo;

const BOUNDARY: &str = "cadence-test-boundary-7MA4YWxkTrZu0gW";

/// One upload from the composer.
pub struct Upload {
    pub account_id: String,
    pub mode: &'static str,
    pub choices: ComposerChoices,
    pub scheduled_at: Option<String>,
    pub video: SyntheticVideo,
    /// The size the browser announces; the video's real size unless a test lies.
    pub declared_size: Option<u64>,
    /// Break the connection after this many bytes of the video.
    pub cut_after: Option<u64>,
    /// Send these bytes instead of the synthetic video (for hand-built containers).
    pub raw: Option<Vec<u8>>,
    /// Extra text fields before the video, as a client that is not the composer might send.
    pub extra_fields: usize,
    /// Stop sending after this many bytes of the video, without ending or breaking the body
    /// (a client that goes quiet).
    pub stall_after: Option<u64>,
    /// More named fields before the video (`thumbnail`, `replace_post`, …).
    pub more_fields: Vec<(&'static str, String)>,
}

impl Upload {
    pub fn post_now(account_id: &str, privacy: &str, video: SyntheticVideo) -> Self {
        Self {
            account_id: account_id.to_owned(),
            mode: "post_now",
            choices: ComposerChoices {
                caption: "Launch day #cadence @maya".into(),
                privacy_level: Some(privacy.to_owned()),
                ..Default::default()
            },
            scheduled_at: None,
            video,
            declared_size: None,
            cut_after: None,
            raw: None,
            extra_fields: 0,
            stall_after: None,
            more_fields: Vec::new(),
        }
    }

    /// A new video for the scheduled post `post_id`, as its page's "Replace video" sends it.
    pub fn replacing_post(post_id: uuid::Uuid, video: SyntheticVideo) -> Self {
        let mut upload = Self::post_now("", "SELF_ONLY", video);
        upload.mode = "";
        upload.more_fields.push(("replace_post", post_id.to_string()));
        upload
    }

    /// A new video for the draft `draft_id`, as its page's "Replace video" sends it.
    pub fn replacing_draft(draft_id: uuid::Uuid, video: SyntheticVideo) -> Self {
        let mut upload = Self::replacing_post(draft_id, video);
        upload.more_fields = vec![("replace_draft", draft_id.to_string())];
        upload
    }

    /// The same, scheduled for `at` instead of posted now.
    pub fn scheduled(account_id: &str, privacy: &str, video: SyntheticVideo, at: time::OffsetDateTime) -> Self {
        Self {
            mode: "schedule",
            scheduled_at: Some(at.format(&time::format_description::well_known::Rfc3339).unwrap()),
            ..Self::post_now(account_id, privacy, video)
        }
    }

    /// The body as a stream, so a video of hundreds of MB is never held by the test either.
    fn body(&self) -> Body {
        let mut head = String::new();
        let mut field = |name: &str, value: &str| {
            head.push_str(&format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"));
        };
        field("account_id", &self.account_id);
        field("mode", self.mode);
        field("choices", &serde_json::to_string(&self.choices).unwrap());
        field("scheduled_at", self.scheduled_at.as_deref().unwrap_or_default());
        let size = self.raw.as_ref().map_or(self.video.size, |raw| raw.len() as u64);
        field("video_size", &self.declared_size.unwrap_or(size).to_string());
        for (name, value) in &self.more_fields {
            field(name, value);
        }
        for n in 0..self.extra_fields {
            field(&format!("extra_{n}"), "x");
        }
        head.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"video\"; filename=\"clip.mp4\"\r\nContent-Type: video/mp4\r\n\r\n"
        ));
        let tail = format!("\r\n--{BOUNDARY}--\r\n");
        let last = match self.cut_after.or(self.stall_after) {
            Some(cut) => cut.min(self.video.size) - 1,
            None => self.video.size - 1,
        };
        let pieces: Box<dyn Iterator<Item = Result<Bytes, std::io::Error>> + Send> = match &self.raw {
            Some(raw) => Box::new(raw.chunks(256 * 1024).map(|c| Ok(Bytes::copy_from_slice(c))).collect::<Vec<_>>().into_iter()),
            None => Box::new(self.video.pieces(0, last, 256 * 1024).map(Ok::<Bytes, std::io::Error>)),
        };
        use futures_util::StreamExt as _;
        let ending: futures_util::stream::BoxStream<'static, Result<Bytes, std::io::Error>> = match (self.cut_after, self.stall_after) {
            (Some(_), _) => futures_util::stream::iter(vec![Err(std::io::Error::other("the browser went away"))]).boxed(),
            // Everything up to the stall has been sent; then nothing, and no end either.
            (None, Some(_)) => futures_util::stream::pending().boxed(),
            (None, None) => futures_util::stream::iter(vec![Ok(Bytes::from(tail))]).boxed(),
        };
        let stream = futures_util::stream::iter(std::iter::once(Ok(Bytes::from(head))).chain(pieces)).chain(ending);
        Body::from_stream(stream)
    }

    /// The same body for a real HTTP request (a server process): content type and stream.
    pub fn http_body(&self) -> (String, reqwest::Body) {
        (format!("multipart/form-data; boundary={BOUNDARY}"), reqwest::Body::wrap_stream(self.body().into_data_stream()))
    }

    /// Sends it as `client` and decodes the answer.
    pub async fn send(&self, client: &mut TestClient) -> Result<UploadOutcome, AppError> {
        let mut request = Request::post("/api/posts/upload")
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"));
        if let Some(origin) = &client.origin {
            request = request.header(header::ORIGIN, origin);
        }
        let response = client.send(request.body(self.body()).unwrap()).await;
        if response.status.is_success() {
            Ok(serde_json::from_slice(&response.body).unwrap_or_else(|e| panic!("cannot decode {:?}: {e}", response.text())))
        } else {
            Err(serde_json::from_slice(&response.body)
                .unwrap_or_else(|_| AppError::Transport(format!("HTTP {}: {}", response.status, response.text()))))
        }
    }
}
