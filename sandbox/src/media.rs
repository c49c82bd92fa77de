//! Checks TikTok's processing would make on an uploaded video, from its first mebibyte only.

use serde::{Deserialize, Serialize};

/// How much of the start of a video the sandbox keeps for inspection.
pub const HEAD_LIMIT: usize = 1 << 20;

/// TikTok's accepted side length, in pixels (§4.10).
const MIN_SIDE: u32 = 360;
const MAX_SIDE: u32 = 4096;

const EBML_MAGIC: [u8; 4] = [0x1A, 0x45, 0xDF, 0xA3];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Container {
    /// MP4 and QuickTime share the ISO base media box structure.
    Mp4,
    WebM,
}

/// `mvhd` duration in its own timescale, kept exact so "longer than N seconds" has no rounding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovieDuration {
    pub ticks: u64,
    pub timescale: u32,
}

impl MovieDuration {
    pub fn exceeds_seconds(self, seconds: u32) -> bool {
        u128::from(self.ticks) > u128::from(seconds) * u128::from(self.timescale)
    }

    pub fn whole_seconds(self) -> u64 {
        self.ticks / u64::from(self.timescale)
    }
}

/// What could be read from the head of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaInfo {
    pub container: Container,
    /// Absent when `moov` lies beyond the first MiB (e.g. a non-"faststart" MP4) or for WebM.
    pub duration: Option<MovieDuration>,
    /// From the first track header with a picture size.
    pub dimensions: Option<(u32, u32)>,
}

/// Identifies the container; the error is the `fail_reason`.
pub fn inspect(head: &[u8]) -> Result<MediaInfo, &'static str> {
    if head.get(..4) == Some(&EBML_MAGIC[..]) {
        return Ok(MediaInfo { container: Container::WebM, duration: None, dimensions: None });
    }
    if head.get(4..8) != Some(&b"ftyp"[..]) {
        return Err("file_format_check_failed");
    }
    let mut info = MediaInfo { container: Container::Mp4, duration: None, dimensions: None };
    if let Some(moov) = child(head, b"moov") {
        if let Some(mvhd) = child(moov, b"mvhd") {
            info.duration = Some(parse_mvhd(mvhd).ok_or("file_format_check_failed")?);
        }
        info.dimensions = boxes(moov)
            .filter(|(kind, _)| kind == b"trak")
            .filter_map(|(_, trak)| child(trak, b"tkhd").and_then(parse_tkhd))
            .find(|&(width, height)| width > 0 && height > 0);
    }
    Ok(info)
}

/// Applies the creator's limits; the error is the `fail_reason`.
/// The longest video an inbox draft may be, whatever the creator's Direct Post maximum.
pub const INBOX_MAX_DURATION_SEC: u32 = 600;

pub fn check(info: &MediaInfo, max_duration_sec: u32) -> Result<(), &'static str> {
    if info.duration.is_some_and(|duration| duration.exceeds_seconds(max_duration_sec)) {
        return Err("duration_check_failed");
    }
    let side_ok = |side: u32| (MIN_SIDE..=MAX_SIDE).contains(&side);
    if info.dimensions.is_some_and(|(width, height)| !side_ok(width) || !side_ok(height)) {
        return Err("picture_size_check_failed");
    }
    Ok(())
}

/// Iterates the ISO boxes in `data` as (type, body). A box running past the end of `data`
/// (because only the head of the file is kept) yields the part that is there.
fn boxes(data: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    let mut offset = 0usize;
    std::iter::from_fn(move || {
        let header = data.get(offset..offset.checked_add(8)?)?;
        let size32 = u32::from_be_bytes(header[..4].try_into().ok()?);
        let kind: [u8; 4] = header[4..8].try_into().ok()?;
        let (header_len, size) = match size32 {
            0 => (8, data.len() - offset),
            1 => {
                let large = data.get(offset + 8..offset.checked_add(16)?)?;
                (16, usize::try_from(u64::from_be_bytes(large.try_into().ok()?)).ok()?)
            }
            size => (8, usize::try_from(size).ok()?),
        };
        if size < header_len {
            return None;
        }
        let start = offset + header_len;
        let end = offset.saturating_add(size).min(data.len());
        offset = offset.saturating_add(size);
        Some((kind, data.get(start..end).unwrap_or_default()))
    })
}

fn child<'a>(data: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    boxes(data).find(|(found, _)| found == kind).map(|(_, body)| body)
}

fn be_u32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

fn be_u64(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(data.get(at..at + 8)?.try_into().ok()?))
}

/// Movie header: version 0 has 32-bit times, version 1 64-bit ones.
fn parse_mvhd(body: &[u8]) -> Option<MovieDuration> {
    let (timescale, ticks) = match *body.first()? {
        0 => (be_u32(body, 12)?, u64::from(be_u32(body, 16)?)),
        1 => (be_u32(body, 20)?, be_u64(body, 24)?),
        _ => return None,
    };
    (timescale > 0).then_some(MovieDuration { ticks, timescale })
}

/// Track header width/height are 16.16 fixed point at the end of the box.
fn parse_tkhd(body: &[u8]) -> Option<(u32, u32)> {
    let at = match *body.first()? {
        0 => 76,
        1 => 88,
        _ => return None,
    };
    Some((be_u32(body, at)? >> 16, be_u32(body, at + 4)? >> 16))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = u32::try_from(body.len() + 8).unwrap().to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out
    }

    fn mvhd_v0(timescale: u32, duration: u32) -> Vec<u8> {
        let mut body = vec![0u8; 100];
        body[12..16].copy_from_slice(&timescale.to_be_bytes());
        body[16..20].copy_from_slice(&duration.to_be_bytes());
        iso_box(b"mvhd", &body)
    }

    fn mvhd_v1(timescale: u32, duration: u64) -> Vec<u8> {
        let mut body = vec![0u8; 112];
        body[0] = 1;
        body[20..24].copy_from_slice(&timescale.to_be_bytes());
        body[24..32].copy_from_slice(&duration.to_be_bytes());
        iso_box(b"mvhd", &body)
    }

    fn tkhd_v0(width: u32, height: u32) -> Vec<u8> {
        let mut body = vec![0u8; 84];
        body[76..80].copy_from_slice(&(width << 16).to_be_bytes());
        body[80..84].copy_from_slice(&(height << 16).to_be_bytes());
        iso_box(b"tkhd", &body)
    }

    fn mp4(moov_children: &[Vec<u8>]) -> Vec<u8> {
        let mut file = iso_box(b"ftyp", b"isom\0\0\x02\0isommp42");
        file.extend(iso_box(b"moov", &moov_children.concat()));
        file.extend(iso_box(b"mdat", &[0u8; 64]));
        file
    }

    #[test]
    fn reads_duration_from_both_mvhd_versions() {
        let info = inspect(&mp4(&[mvhd_v0(1000, 61_000)])).unwrap();
        assert_eq!(info.duration, Some(MovieDuration { ticks: 61_000, timescale: 1000 }));
        assert_eq!(check(&info, 60), Err("duration_check_failed"));
        assert_eq!(check(&info, 61), Ok(()), "exactly the limit is allowed");
        let info = inspect(&mp4(&[mvhd_v1(90_000, 90_000 * 30)])).unwrap();
        assert_eq!(info.duration.unwrap().whole_seconds(), 30);
        assert_eq!(check(&info, 60), Ok(()));
    }

    #[test]
    fn reads_the_picture_size_of_the_first_visual_track() {
        let audio = iso_box(b"trak", &tkhd_v0(0, 0));
        let video = iso_box(b"trak", &tkhd_v0(1080, 1920));
        let info = inspect(&mp4(&[mvhd_v0(600, 600), audio, video])).unwrap();
        assert_eq!(info.dimensions, Some((1080, 1920)));
        assert_eq!(check(&info, 60), Ok(()));
        let tiny = iso_box(b"trak", &tkhd_v0(320, 240));
        let info = inspect(&mp4(&[mvhd_v0(600, 600), tiny])).unwrap();
        assert_eq!(check(&info, 60), Err("picture_size_check_failed"));
    }

    #[test]
    fn recognises_webm_and_refuses_other_bytes() {
        let info = inspect(&[0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81]).unwrap();
        assert_eq!(info.container, Container::WebM);
        assert_eq!(inspect(b"GIF89a, definitely not a video"), Err("file_format_check_failed"));
        assert_eq!(inspect(b""), Err("file_format_check_failed"));
    }

    #[test]
    fn a_moov_beyond_the_head_leaves_the_duration_unknown() {
        let mut file = iso_box(b"ftyp", b"isom\0\0\x02\0isommp42");
        // An mdat claiming 10 MB, of which only the header is in the head.
        file.extend_from_slice(&10_000_000u32.to_be_bytes());
        file.extend_from_slice(b"mdat");
        let info = inspect(&file).unwrap();
        assert_eq!(info.duration, None);
        assert_eq!(check(&info, 1), Ok(()));
    }

    #[test]
    fn a_zero_timescale_is_a_broken_file() {
        assert_eq!(inspect(&mp4(&[mvhd_v0(0, 10)])), Err("file_format_check_failed"));
    }

    #[test]
    fn truncated_and_malformed_boxes_do_not_panic() {
        let file = mp4(&[mvhd_v0(1000, 5000)]);
        for cut in 0..file.len() {
            let _ = inspect(&file[..cut]);
        }
        let mut bad = iso_box(b"ftyp", b"isom");
        bad.extend_from_slice(&[0, 0, 0, 3, b'm', b'o', b'o', b'v']);
        assert_eq!(inspect(&bad).unwrap().duration, None);
        let mut large = iso_box(b"ftyp", b"isom");
        large.extend_from_slice(&[0, 0, 0, 1, b'm', b'o', b'o', b'v']);
        large.extend_from_slice(&u64::MAX.to_be_bytes());
        assert_eq!(inspect(&large).unwrap().duration, None);
    }
}
