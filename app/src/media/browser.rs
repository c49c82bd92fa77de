//! The composer's look at a video before anything is uploaded: the same container walk as the
//! server's, over slices of the browser's `File`, so only box headers and `moov` are read; and
//! the frame it shows, drawn as the post's thumbnail; and the same for a photo post's images.

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

/// The frame `video` shows now (the chosen cover frame), as the `thumbnail` field's JPEG data
/// URL (see `media::thumbnail`); `None` when the browser has no frame of it (not decoded yet,
/// or a codec it cannot play), and the post then goes without one.
pub fn frame_as_jpeg(video: &web_sys::HtmlVideoElement) -> Option<String> {
    const HAVE_CURRENT_DATA: u16 = 2;
    let (width, height) = (video.video_width(), video.video_height());
    if video.ready_state() < HAVE_CURRENT_DATA || width == 0 || height == 0 {
        return None;
    }
    as_thumbnail(width, height, |context, w, h| context.draw_image_with_html_video_element_and_dw_and_dh(video, 0.0, 0.0, w, h).ok())
}

/// Draws a picture of `width`×`height` (by `draw`, into the given size) as a thumbnail JPEG
/// data URL of at most `MAX_DATA_URL_CHARS`.
fn as_thumbnail(width: u32, height: u32, draw: impl FnOnce(&web_sys::CanvasRenderingContext2d, f64, f64) -> Option<()>) -> Option<String> {
    use leptos::wasm_bindgen::JsCast as _;
    use super::thumbnail::{MAX_DATA_URL_CHARS, WIDTH_PX};
    // 9:16 at most: a panorama's frame would be a sliver, a tall one would dwarf the row.
    let thumb_height = (f64::from(WIDTH_PX) * f64::from(height) / f64::from(width)).round().clamp(1.0, f64::from(WIDTH_PX) * 16.0 / 9.0) as u32;
    let canvas: web_sys::HtmlCanvasElement = web_sys::window()?.document()?.create_element("canvas").ok()?.dyn_into().ok()?;
    canvas.set_width(WIDTH_PX);
    canvas.set_height(thumb_height);
    let context: web_sys::CanvasRenderingContext2d = canvas.get_context("2d").ok()??.dyn_into().ok()?;
    draw(&context, f64::from(WIDTH_PX), f64::from(thumb_height))?;
    // A busy frame may not fit at the first quality; a plainer one always does.
    [0.75, 0.5, 0.3].into_iter().find_map(|quality| {
        let url = canvas.to_data_url_with_type_and_encoder_options("image/jpeg", &quality.into()).ok()?;
        (url.starts_with("data:image/jpeg") && url.len() <= MAX_DATA_URL_CHARS).then_some(url)
    })
}

/// Why TikTok would refuse this image (`media::image`, the server's own check, over the first
/// `head` bytes of the file); `None` when it would take it.
pub async fn photo_problem(file: &File, head: usize) -> Option<String> {
    let end = (file.size()).min(head as f64);
    let Ok(blob) = file.slice_with_f64_and_f64(0.0, end) else {
        return Some("This image could not be read.".into());
    };
    let Ok(buffer) = JsFuture::from(blob.array_buffer()).await else {
        return Some("This image could not be read.".into());
    };
    match super::image::read_facts(&Uint8Array::new(&buffer).to_vec()) {
        Ok(facts) => super::image::objection(&facts, file.size() as u64),
        Err(problem) => Some(problem),
    }
}

/// A photo the page shows (`img`, the chosen cover), drawn as the `thumbnail` field's JPEG data
/// URL like a video's frame; `None` while it has not loaded.
pub fn image_as_jpeg(img: &web_sys::Element) -> Option<String> {
    use leptos::wasm_bindgen::JsCast as _;
    let img: &web_sys::HtmlImageElement = img.dyn_ref()?;
    let (width, height) = (img.natural_width(), img.natural_height());
    if !img.complete() || width == 0 || height == 0 {
        return None;
    }
    as_thumbnail(width, height, |context, w, h| context.draw_image_with_html_image_element_and_dw_and_dh(img, 0.0, 0.0, w, h).ok())
}
