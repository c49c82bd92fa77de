//! Photos for TikTok's photo posts (tiktok-api.md §4.5, §4.10): JPEG or WebP, at most 20 MB
//! and 1080p each, 1 to 35 in a post, judged from an image's first bytes the same way in the
//! browser (before anything is sent) and on the server (before anything is stored).
//!
//! TikTok's limits leave room for readings; here Cadence takes the most tolerant one and lets
//! TikTok have the last word (its `picture_size_check_failed` is explained on the post): "20 MB"
//! as MiB, and "1080p" as the shorter side, so a 1080×1920 portrait passes.

use serde::{Deserialize, Serialize};

/// The most images one photo post may carry.
pub const MAX_PHOTOS: usize = 35;
/// The most bytes one image may have (20 MiB, the tolerant reading of TikTok's "20 MB").
pub const MAX_PHOTO_BYTES: u64 = 20 * 1024 * 1024;
/// "1080p": the shorter side at most this many pixels.
pub const MAX_SHORT_SIDE: u32 = 1080;
/// How much of an image is read to find its size: a JPEG's frame header can follow large
/// EXIF and colour-profile segments.
pub const HEAD_BYTES: usize = 256 * 1024;

/// The two formats TikTok takes for photos.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PhotoFormat {
    Jpeg,
    Webp,
}

impl PhotoFormat {
    pub fn mime_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Webp => "image/webp",
        }
    }
}

/// What an image's first bytes say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoFacts {
    pub format: PhotoFormat,
    pub width: u32,
    pub height: u32,
}

/// Reads the format and pixel size from the first [`HEAD_BYTES`] (or all) of an image; the
/// error is a sentence for the person.
pub fn read_facts(head: &[u8]) -> Result<PhotoFacts, String> {
    let format = match imagesize::image_type(head) {
        Ok(imagesize::ImageType::Jpeg) => PhotoFormat::Jpeg,
        Ok(imagesize::ImageType::Webp) => PhotoFormat::Webp,
        _ => return Err("This is not a JPEG or WebP image; TikTok takes photos only in those two formats.".into()),
    };
    let size = imagesize::blob_size(head).map_err(|_| "This image could not be read. Save it again as JPEG and try again.".to_owned())?;
    let (width, height) = (u32::try_from(size.width).unwrap_or(u32::MAX), u32::try_from(size.height).unwrap_or(u32::MAX));
    if width == 0 || height == 0 {
        return Err("This image could not be read. Save it again as JPEG and try again.".into());
    }
    Ok(PhotoFacts { format, width, height })
}

/// Why TikTok would refuse this image, if it would.
pub fn objection(facts: &PhotoFacts, byte_size: u64) -> Option<String> {
    if byte_size > MAX_PHOTO_BYTES {
        return Some(format!("This image is {}; TikTok takes photos of up to 20 MB.", crate::ui::human_bytes(byte_size)));
    }
    if facts.width.min(facts.height) > MAX_SHORT_SIDE {
        return Some(format!(
            "This image is {}×{} pixels; TikTok takes photos of up to 1080p. Resize it so its shorter side is at most 1080 pixels.",
            facts.width, facts.height
        ));
    }
    None
}

/// Why the number of images cannot make a post, if it cannot.
pub fn count_problem(count: usize) -> Option<String> {
    match count {
        0 => Some("Choose at least one photo.".into()),
        n if n > MAX_PHOTOS => Some(format!("{n} photos are chosen; TikTok takes up to {MAX_PHOTOS} in one post.")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A baseline JPEG's first segments (SOI, APP0, SOF0) for a `width`×`height` picture.
    pub(crate) fn jpeg(width: u16, height: u16) -> Vec<u8> {
        let mut file = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
        file.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        file.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08]);
        file.extend_from_slice(&height.to_be_bytes());
        file.extend_from_slice(&width.to_be_bytes());
        file.extend_from_slice(&[0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01]);
        file.extend_from_slice(&[0xFF, 0xD9]);
        file
    }

    #[test]
    fn jpeg_and_webp_are_read_and_other_formats_refused() {
        assert_eq!(read_facts(&jpeg(1080, 1350)), Ok(PhotoFacts { format: PhotoFormat::Jpeg, width: 1080, height: 1350 }));
        let mut webp = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
        webp.extend_from_slice(&1079u32.to_le_bytes()[..3]);
        webp.extend_from_slice(&1919u32.to_le_bytes()[..3]);
        assert_eq!(read_facts(&webp).map(|f| (f.format, f.width, f.height)), Ok((PhotoFormat::Webp, 1080, 1920)));
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x04\x38\0\0\x07\x80\x08\x06\0\0\0";
        assert!(read_facts(png).unwrap_err().contains("JPEG or WebP"));
        assert!(read_facts(b"<html>").unwrap_err().contains("JPEG or WebP"));
        assert!(read_facts(&[0xFF, 0xD8, 0xFF, 0xD9]).is_err(), "a JPEG with no frame header");
    }

    #[test]
    fn the_tolerant_readings_of_tiktoks_limits() {
        let portrait = PhotoFacts { format: PhotoFormat::Jpeg, width: 1080, height: 1920 };
        assert_eq!(objection(&portrait, MAX_PHOTO_BYTES), None, "1080×1920 and exactly 20 MiB pass");
        assert!(objection(&portrait, MAX_PHOTO_BYTES + 1).unwrap().contains("20 MB"));
        let large = PhotoFacts { width: 1440, height: 2560, ..portrait };
        assert!(objection(&large, 1000).unwrap().contains("1440×2560"));
        assert_eq!(count_problem(1), None);
        assert_eq!(count_problem(35), None);
        assert!(count_problem(0).is_some());
        assert!(count_problem(36).unwrap().contains("up to 35"));
    }
}
