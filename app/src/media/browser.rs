//! The composer's look at a video before anything is uploaded: the same container walk as the
//! server's, over slices of the browser's `File`, so only box headers and `moov` are read.

use super::probe::{ProbeError, VideoFacts, probe_ranges};
use wasm_bindgen_futures::JsFuture;
use web_sys::{File, js_sys::Uint8Array};

/// What the file's container says; WebM is recognised only.
pub async fn probe(file: &File) -> Result<VideoFacts, ProbeError> {
    probe_ranges(file.size() as u64, |start, end| async move {
        let blob = file.slice_with_f64_and_f64(start as f64, end as f64).map_err(|_| ProbeError::Truncated)?;
        let buffer = JsFuture::from(blob.array_buffer()).await.map_err(|_| ProbeError::Truncated)?;
        Ok(Uint8Array::new(&buffer).to_vec())
    })
    .await
}
