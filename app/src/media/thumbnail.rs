//! Thumbnails: the small JPEG of a post's video that the calendar and the lists show, as the composer drew it from the video.
//!
//! The browser already decodes the video for the phone preview, so it draws the chosen cover
//! frame onto a canvas and sends it with the upload; the server, which has no video decoder,
//! only checks that what arrived is a small JPEG. A missing or unusable thumbnail never costs
//! the upload: the lists then show a placeholder.

#[cfg(feature = "ssr")]
use base64::Engine as _;

/// Where the thumbnail of a post or draft (`of`: `posts` or `drafts`) is served. The version
/// (the row's last change, to the microsecond) lets browsers keep it: a new video is a new
/// address.
pub fn address(of: &str, id: uuid::Uuid, version: time::OffsetDateTime) -> String {
    format!("/{of}/{id}/thumbnail?v={}", version.unix_timestamp_nanos() / 1_000)
}

/// The width the composer draws at: twice the lists' 90 px, for sharp screens.
pub const WIDTH_PX: u32 = 180;
/// The largest thumbnail kept (a 180 px frame is 5–15 KB at the composer's quality).
pub const MAX_BYTES: usize = 40 * 1024;
/// The prefix of the `thumbnail` field, a data URL as `canvas.toDataURL` makes it.
const DATA_URL_PREFIX: &str = "data:image/jpeg;base64,";
/// The longest `thumbnail` field that can hold a kept JPEG (base64 is a third larger).
pub const MAX_DATA_URL_CHARS: usize = DATA_URL_PREFIX.len() + MAX_BYTES.div_ceil(3) * 4;

/// The JPEG in the composer's `thumbnail` field, or `None` when it is not a small, whole JPEG.
#[cfg(feature = "ssr")]
pub fn from_data_url(value: &str) -> Option<Vec<u8>> {
    if value.trim().len() > MAX_DATA_URL_CHARS {
        return None;
    }
    let encoded = value.trim().strip_prefix(DATA_URL_PREFIX)?;
    let jpeg = base64::engine::general_purpose::STANDARD.decode(encoded).ok()?;
    is_whole_jpeg(&jpeg).then_some(jpeg)
}

#[cfg(feature = "ssr")]
/// Starts with a JPEG's start-of-image marker and ends with its end-of-image marker, within
/// the size kept: enough for the browser to be the only thing that has to decode it.
fn is_whole_jpeg(bytes: &[u8]) -> bool {
    bytes.len() <= MAX_BYTES && bytes.starts_with(&[0xFF, 0xD8, 0xFF]) && bytes.ends_with(&[0xFF, 0xD9])
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    fn data_url(bytes: &[u8]) -> String {
        format!("{DATA_URL_PREFIX}{}", base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    #[test]
    fn a_small_jpeg_is_kept_as_sent() {
        let jpeg = [&[0xFF, 0xD8, 0xFF, 0xE0][..], &[7; 100], &[0xFF, 0xD9]].concat();
        assert_eq!(from_data_url(&data_url(&jpeg)), Some(jpeg));
    }

    #[test]
    fn other_images_cut_off_jpegs_and_oversized_ones_are_dropped() {
        let png = [0x89, b'P', b'N', b'G', 0xFF, 0xD9];
        assert_eq!(from_data_url(&data_url(&png)), None);
        assert_eq!(from_data_url(&data_url(&[0xFF, 0xD8, 0xFF, 0xE0, 1, 2])), None, "no end-of-image marker");
        let huge = [&[0xFF, 0xD8, 0xFF][..], &vec![0; MAX_BYTES], &[0xFF, 0xD9]].concat();
        assert_eq!(from_data_url(&data_url(&huge)), None);
        assert_eq!(from_data_url(&data_url(&[0xFF, 0xD8, 0xFF, 0xD9]).replace("jpeg", "png")), None);
        assert_eq!(from_data_url("data:image/jpeg;base64,!!!"), None);
    }
}
