//! Reading a video's container without decoding it: MP4/MOV box walking for duration,
//! resolution and codec, WebM by its magic number, and TikTok's limits (tiktok-api.md §4.10)
//! checked before anything is sent.
//!
//! Only box headers and the `moov` box are read, so memory does not grow with the file.

use serde::{Deserialize, Serialize};

/// Containers TikTok accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Container {
    Mp4,
    QuickTime,
    WebM,
}

impl Container {
    /// The `Content-Type` TikTok's upload URL expects.
    pub fn mime_type(self) -> &'static str {
        match self {
            Self::Mp4 => "video/mp4",
            Self::QuickTime => "video/quicktime",
            Self::WebM => "video/webm",
        }
    }
}

/// What the container says. Fields are `None` when the header does not tell (WebM is only
/// recognised, not parsed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VideoFacts {
    pub container: Container,
    pub duration_secs: Option<f64>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// The first video sample entry's four-character code, e.g. `avc1`, `hvc1`, `vp09`.
    pub codec: Option<String>,
}

impl VideoFacts {
    /// The duration in whole milliseconds, as stored with posts and media.
    pub fn duration_ms(&self) -> Option<i32> {
        self.duration_secs.map(|s| (s * 1000.0).round().min(i32::MAX as f64) as i32)
    }
}

/// Why a file is not a video Cadence can send.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    #[error("This file is not an MP4, MOV or WebM video.")]
    NotAVideo,
    #[error("The video's header is damaged or cut off.")]
    Truncated,
}

/// One problem TikTok would have with a video, as a sentence with what to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Objection(pub String);

/// Recognises the container from the first bytes (at least 12).
pub fn sniff(head: &[u8]) -> Result<Container, ProbeError> {
    if head.len() >= 4 && head[..4] == [0x1A, 0x45, 0xDF, 0xA3] {
        return Ok(Container::WebM);
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return Ok(if &head[8..12] == b"qt  " { Container::QuickTime } else { Container::Mp4 });
    }
    Err(ProbeError::NotAVideo)
}

/// Top-level boxes of an MP4/MOV: `(type, offset of its body, body length)`. Used to find
/// `moov` in a file without reading `mdat`.
pub fn box_header(bytes: &[u8]) -> Option<([u8; 4], u64, u64)> {
    if bytes.len() < 8 {
        return None;
    }
    let size32 = u32::from_be_bytes(bytes[0..4].try_into().ok()?) as u64;
    let kind: [u8; 4] = bytes[4..8].try_into().ok()?;
    match size32 {
        1 => {
            let size = u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?);
            Some((kind, 16, size.checked_sub(16)?))
        }
        0 => Some((kind, 8, u64::MAX)), // runs to the end of the file
        size => Some((kind, 8, size.checked_sub(8)?)),
    }
}

/// Facts from the bytes of a `moov` box body (everything inside it).
pub fn facts_from_moov(container: Container, moov: &[u8]) -> Result<VideoFacts, ProbeError> {
    let mut facts = VideoFacts { container, duration_secs: None, width: None, height: None, codec: None };
    for (kind, body) in children(moov)? {
        match &kind {
            b"mvhd" => facts.duration_secs = mvhd_duration(body),
            b"trak" => {
                if facts.codec.is_some() {
                    continue;
                }
                let track = video_track(body)?;
                if let Some((codec, width, height)) = track {
                    facts.codec = Some(codec);
                    facts.width = width.or(facts.width);
                    facts.height = height.or(facts.height);
                }
            }
            _ => {}
        }
    }
    Ok(facts)
}

/// Boxes inside a box body: `(type, body)`.
type Boxes<'a> = Vec<([u8; 4], &'a [u8])>;
/// A video track's `(codec, width, height)`.
type VideoTrack = (String, Option<u32>, Option<u32>);

/// The direct children of a box body.
fn children(body: &[u8]) -> Result<Boxes<'_>, ProbeError> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 8 <= body.len() {
        let (kind, header, length) = box_header(&body[at..]).ok_or(ProbeError::Truncated)?;
        let start = at + header as usize;
        let end = if length == u64::MAX { body.len() } else { start.checked_add(length as usize).ok_or(ProbeError::Truncated)? };
        if end > body.len() {
            return Err(ProbeError::Truncated);
        }
        out.push((kind, &body[start..end]));
        at = end;
    }
    Ok(out)
}

fn child<'a>(body: &'a [u8], kind: &[u8; 4]) -> Result<Option<&'a [u8]>, ProbeError> {
    Ok(children(body)?.into_iter().find(|(k, _)| k == kind).map(|(_, b)| b))
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    bytes.get(at..at + 4).and_then(|b| b.try_into().ok()).map(u32::from_be_bytes)
}

fn be_u64(bytes: &[u8], at: usize) -> Option<u64> {
    bytes.get(at..at + 8).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes)
}

/// `mvhd`: version 0 has 32-bit times, version 1 64-bit.
fn mvhd_duration(body: &[u8]) -> Option<f64> {
    let (timescale, duration) = match body.first()? {
        0 => (be_u32(body, 12)?, be_u32(body, 16)? as u64),
        1 => (be_u32(body, 20)?, be_u64(body, 24)?),
        _ => return None,
    };
    (timescale > 0).then(|| duration as f64 / timescale as f64)
}

/// `(codec, width, height)` when the track is a video track (`hdlr` = `vide`, or no `hdlr`
/// but a `tkhd` with a picture size).
fn video_track(trak: &[u8]) -> Result<Option<VideoTrack>, ProbeError> {
    let (mut width, mut height) = (None, None);
    if let Some(tkhd) = child(trak, b"tkhd")? {
        // Width and height are the last 8 bytes, 16.16 fixed point, in both versions.
        if tkhd.len() >= 8 {
            let w = be_u32(tkhd, tkhd.len() - 8).unwrap_or(0) >> 16;
            let h = be_u32(tkhd, tkhd.len() - 4).unwrap_or(0) >> 16;
            if w > 0 && h > 0 {
                width = Some(w);
                height = Some(h);
            }
        }
    }
    let Some(mdia) = child(trak, b"mdia")? else {
        return Ok(width.map(|_| ("unknown".to_owned(), width, height)));
    };
    if let Some(hdlr) = child(mdia, b"hdlr")?
        && hdlr.get(8..12) != Some(b"vide")
    {
        return Ok(None);
    }
    let codec = child(mdia, b"minf")?
        .map(|minf| child(minf, b"stbl"))
        .transpose()?
        .flatten()
        .map(|stbl| child(stbl, b"stsd"))
        .transpose()?
        .flatten()
        // stsd: version/flags (4), entry count (4), then the first sample entry box.
        .and_then(|stsd| stsd.get(12..16))
        .map(|code| String::from_utf8_lossy(code).into_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    Ok(Some((codec, width, height)))
}

/// Largest `moov` Cadence reads (a 10-minute video's is a few MB).
pub const MAX_MOOV_BYTES: u64 = 64 * 1024 * 1024;

/// Facts of a video of `size` bytes whose byte ranges `read(start, end)` (end exclusive)
/// returns. Hops from box header to box header, so a `moov` after a multi-gigabyte `mdat` is
/// found by reading a few kilobytes. One walk for a local file, an object in a bucket and the
/// browser's `File`.
pub async fn probe_ranges<F, Fut>(size: u64, mut read: F) -> Result<VideoFacts, ProbeError>
where
    F: FnMut(u64, u64) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<u8>, ProbeError>>,
{
    let head = read(0, 16.min(size)).await?;
    let container = sniff(&head)?;
    if container == Container::WebM {
        return Ok(VideoFacts { container, duration_secs: None, width: None, height: None, codec: None });
    }
    let mut offset = 0u64;
    while offset + 8 <= size {
        let header = read(offset, (offset + 16).min(size)).await?;
        let (kind, header_len, body_len) = box_header(&header).ok_or(ProbeError::Truncated)?;
        let body_len = if body_len == u64::MAX { size - offset - header_len } else { body_len };
        if &kind == b"moov" {
            if body_len > MAX_MOOV_BYTES || offset + header_len + body_len > size {
                return Err(ProbeError::Truncated);
            }
            let moov = read(offset + header_len, offset + header_len + body_len).await?;
            return facts_from_moov(container, &moov);
        }
        offset = offset.checked_add(header_len + body_len).ok_or(ProbeError::Truncated)?;
    }
    Err(ProbeError::Truncated)
}

/// Facts of a video in a local file.
#[cfg(feature = "ssr")]
pub async fn probe_file(path: &std::path::Path) -> Result<VideoFacts, ProbeError> {
    use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};
    let size = tokio::fs::metadata(path).await.map_err(|_| ProbeError::Truncated)?.len();
    probe_ranges(size, |start, end| async move {
        let mut file = tokio::fs::File::open(path).await.map_err(|_| ProbeError::Truncated)?;
        file.seek(std::io::SeekFrom::Start(start)).await.map_err(|_| ProbeError::Truncated)?;
        let mut bytes = vec![0u8; (end - start) as usize];
        file.read_exact(&mut bytes).await.map_err(|_| ProbeError::Truncated)?;
        Ok(bytes)
    })
    .await
}

/// TikTok's limits for one video.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// `max_video_post_duration_sec` from the creator's current creator_info.
    pub max_duration_secs: u32,
}

/// Codecs TikTok lists (§4.10): H.264, H.265, VP8, VP9.
const ACCEPTED_CODECS: &[&str] = &["avc1", "avc3", "hvc1", "hev1", "vp08", "vp09"];

/// Everything TikTok would object to, in words a person can act on. Empty means "send it".
pub fn objections(facts: &VideoFacts, limits: Limits) -> Vec<Objection> {
    let mut found = Vec::new();
    if let Some(duration) = facts.duration_secs {
        if duration > f64::from(limits.max_duration_secs) {
            found.push(Objection(format!(
                "The video is {} long; this account may post at most {}. Trim it and upload again.",
                minutes_seconds(duration),
                minutes_seconds(f64::from(limits.max_duration_secs))
            )));
        }
        if duration < 1.0 {
            found.push(Objection("The video is shorter than a second.".to_owned()));
        }
    }
    for (side, value) in [("wide", facts.width), ("high", facts.height)] {
        if let Some(pixels) = value
            && !(360..=4096).contains(&pixels)
        {
            found.push(Objection(format!(
                "The video is {pixels} pixels {side}; TikTok needs 360 to 4096 pixels on each side."
            )));
        }
    }
    if let Some(codec) = &facts.codec
        && codec != "unknown"
        && !ACCEPTED_CODECS.contains(&codec.as_str())
    {
        found.push(Objection(format!(
            "The video uses the {codec} codec; TikTok takes H.264, H.265, VP8 or VP9. Export it as H.264 MP4."
        )));
    }
    found
}

fn minutes_seconds(seconds: f64) -> String {
    let total = seconds.round() as u64;
    format!("{}:{:02}", total / 60, total % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::testing::{iso_box, moov};

    #[test]
    fn containers_are_recognised_by_their_first_bytes() {
        assert_eq!(sniff(b"\0\0\0\x20ftypisom\0\0\x02\0"), Ok(Container::Mp4));
        assert_eq!(sniff(b"\0\0\0\x14ftypqt  \0\0\0\0"), Ok(Container::QuickTime));
        assert_eq!(sniff(&[0x1A, 0x45, 0xDF, 0xA3, 0x9F]), Ok(Container::WebM));
        assert_eq!(sniff(b"GIF89a picture..."), Err(ProbeError::NotAVideo));
        assert_eq!(sniff(b"\0\0"), Err(ProbeError::NotAVideo));
    }

    #[test]
    fn duration_size_and_codec_come_from_moov() {
        let facts = facts_from_moov(Container::Mp4, &moov(42, 1080, 1920, b"avc1")).unwrap();
        assert_eq!(facts.duration_secs, Some(42.0));
        assert_eq!((facts.width, facts.height), (Some(1080), Some(1920)));
        assert_eq!(facts.codec.as_deref(), Some("avc1"));
        assert!(objections(&facts, Limits { max_duration_secs: 60 }).is_empty());
    }

    #[test]
    fn too_long_too_small_and_foreign_codecs_are_named() {
        let long = facts_from_moov(Container::Mp4, &moov(61, 1080, 1920, b"avc1")).unwrap();
        assert_eq!(
            objections(&long, Limits { max_duration_secs: 60 }),
            [Objection("The video is 1:01 long; this account may post at most 1:00. Trim it and upload again.".into())]
        );
        let small = facts_from_moov(Container::Mp4, &moov(10, 320, 240, b"mp4v")).unwrap();
        let found = objections(&small, Limits { max_duration_secs: 600 });
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].0.contains("320 pixels wide"));
        assert!(found[2].0.contains("mp4v"));
    }

    #[test]
    fn damaged_headers_are_reported_not_guessed() {
        let mut body = moov(5, 720, 1280, b"avc1");
        body.truncate(body.len() - 10);
        assert_eq!(facts_from_moov(Container::Mp4, &body), Err(ProbeError::Truncated));
    }

    #[cfg(feature = "ssr")]
    #[tokio::test]
    async fn a_moov_after_a_large_mdat_is_found_by_seeking() {
        use std::io::{Seek as _, Write as _};
        let path = std::env::temp_dir().join(format!("cadence-probe-{}.mp4", std::process::id()));
        let mut file = std::fs::File::create(&path).unwrap();
        file.write_all(&iso_box(b"ftyp", b"isom\0\0\x02\0isomiso2avc1mp41")).unwrap();
        // A 200 MB mdat, left sparse: the probe must hop over it, not read it.
        let mdat_len: u64 = 200_000_000;
        file.write_all(&(mdat_len as u32).to_be_bytes()).unwrap();
        file.write_all(b"mdat").unwrap();
        file.seek(std::io::SeekFrom::Current((mdat_len - 8) as i64)).unwrap();
        file.write_all(&iso_box(b"moov", &moov(95, 720, 1280, b"hvc1"))).unwrap();
        drop(file);

        let facts = probe_file(&path).await.unwrap();
        assert_eq!((facts.container, facts.duration_secs, facts.codec.as_deref()), (Container::Mp4, Some(95.0), Some("hvc1")));
        assert_eq!(objections(&facts, Limits { max_duration_secs: 60 }).len(), 1);
        std::fs::remove_file(&path).unwrap();

        let not_video = std::env::temp_dir().join(format!("cadence-probe-{}.gif", std::process::id()));
        std::fs::write(&not_video, b"GIF89a not a video at all").unwrap();
        assert_eq!(probe_file(&not_video).await, Err(ProbeError::NotAVideo));
        std::fs::remove_file(&not_video).unwrap();
    }

    #[test]
    fn box_headers_cover_32_bit_64_bit_and_to_the_end() {
        assert_eq!(box_header(&iso_box(b"moov", &[0; 12])), Some((*b"moov", 8, 12)));
        let mut large = vec![0, 0, 0, 1];
        large.extend_from_slice(b"mdat");
        large.extend_from_slice(&(5_000_000_016u64).to_be_bytes());
        assert_eq!(box_header(&large), Some((*b"mdat", 16, 5_000_000_000)));
        assert_eq!(box_header(b"\0\0\0\0mdat"), Some((*b"mdat", 8, u64::MAX)));
        assert_eq!(box_header(b"\0\0\0\x04moov"), None, "a size below the header is refused");
    }
}
