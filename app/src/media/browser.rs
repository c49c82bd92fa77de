//! The composer's look at a video before anything is uploaded: the same container walk as the
//! server's, over slices of the browser's `File`, so only box headers and `moov` are read.

use super::probe::{Container, MAX_MOOV_BYTES, ProbeError, VideoFacts, box_header, facts_from_moov, sniff};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, File, js_sys::Uint8Array};

async fn read(file: &File, start: u64, end: u64) -> Result<Vec<u8>, ProbeError> {
    let blob: Blob = file.slice_with_f64_and_f64(start as f64, end as f64).map_err(|_| ProbeError::Truncated)?;
    let buffer = JsFuture::from(blob.array_buffer()).await.map_err(|_| ProbeError::Truncated)?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// What the file's container says; WebM is recognised only.
pub async fn probe(file: &File) -> Result<VideoFacts, ProbeError> {
    let size = file.size() as u64;
    let head = read(file, 0, 16.min(size)).await?;
    let container = sniff(&head)?;
    if container == Container::WebM {
        return Ok(VideoFacts { container, duration_secs: None, width: None, height: None, codec: None });
    }
    let mut offset = 0u64;
    while offset + 8 <= size {
        let header = read(file, offset, (offset + 16).min(size)).await?;
        let (kind, header_len, body_len) = box_header(&header).ok_or(ProbeError::Truncated)?;
        let body_len = if body_len == u64::MAX { size - offset - header_len } else { body_len };
        if &kind == b"moov" {
            if body_len > MAX_MOOV_BYTES || offset + header_len + body_len > size {
                return Err(ProbeError::Truncated);
            }
            let moov = read(file, offset + header_len, offset + header_len + body_len).await?;
            return facts_from_moov(container, &moov);
        }
        offset = offset.checked_add(header_len + body_len).ok_or(ProbeError::Truncated)?;
    }
    Err(ProbeError::Truncated)
}
