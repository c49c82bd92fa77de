//! Synthetic videos for tests and benchmarks: a real MP4 header (so the sandbox's checks and
//! Cadence's probe see a proper container), then filler, produced piece by piece so no caller
//! ever holds a whole video in memory.

use bytes::Bytes;
use std::sync::Arc;

/// An ISO base-media box: 32-bit size, four-character type, body.
pub fn iso_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let size = u32::try_from(body.len() + 8).expect("synthetic boxes are small");
    let mut out = size.to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

/// `ftyp`, then `moov` with a version-0 `mvhd` (timescale 1000) and, when given, a track whose
/// `tkhd` carries `width`×`height`, then the header of an `mdat` box running to `file_size`.
pub fn mp4_header(duration_ms: u32, dimensions: Option<(u32, u32)>, file_size: u64) -> Vec<u8> {
    let mut mvhd = vec![0u8; 100];
    mvhd[12..16].copy_from_slice(&1000u32.to_be_bytes());
    mvhd[16..20].copy_from_slice(&duration_ms.to_be_bytes());
    let mut moov = iso_box(b"mvhd", &mvhd);
    if let Some((width, height)) = dimensions {
        // Version-0 tkhd: width and height are 16.16 fixed point at its end.
        let mut tkhd = vec![0u8; 84];
        tkhd[76..80].copy_from_slice(&(width << 16).to_be_bytes());
        tkhd[80..84].copy_from_slice(&(height << 16).to_be_bytes());
        moov.extend(iso_box(b"trak", &iso_box(b"tkhd", &tkhd)));
    }
    let mut file = iso_box(b"ftyp", b"isom\0\0\x02\0isomiso2avc1mp41");
    file.extend(iso_box(b"moov", &moov));
    let mdat = u32::try_from(file_size.saturating_sub(file.len() as u64)).unwrap_or(1);
    file.extend_from_slice(&mdat.to_be_bytes());
    file.extend_from_slice(b"mdat");
    file
}

/// A video of `size` bytes: its header, then zero filler.
#[derive(Clone, Debug)]
pub struct SyntheticVideo {
    pub size: u64,
    head: Arc<Vec<u8>>,
}

impl SyntheticVideo {
    /// A portrait 720×1280 MP4 lasting `duration_secs`.
    pub fn mp4(duration_secs: u32, size: u64) -> Self {
        Self::raw(&mp4_header(duration_secs * 1000, Some((720, 1280)), size), size)
    }

    /// Any leading bytes (e.g. a picture's magic number), then filler.
    pub fn raw(head: &[u8], size: u64) -> Self {
        Self { size, head: Arc::new(head.to_vec()) }
    }

    /// Bytes `first..=last` in pieces of at most `piece` bytes.
    pub fn pieces(&self, first: u64, last: u64, piece: u64) -> impl Iterator<Item = Bytes> + Send + 'static {
        let head = Arc::clone(&self.head);
        (first..=last).step_by(piece as usize).map(move |start| {
            let end = (start + piece - 1).min(last);
            let mut bytes = vec![0u8; (end - start + 1) as usize];
            if let Some(overlap) = head.get(start as usize..) {
                let n = overlap.len().min(bytes.len());
                bytes[..n].copy_from_slice(&overlap[..n]);
            }
            Bytes::from(bytes)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_reassemble_to_the_header_and_filler() {
        let video = SyntheticVideo::mp4(3, 5000);
        let whole: Vec<u8> = video.pieces(0, 4999, 333).flat_map(|b| b.to_vec()).collect();
        assert_eq!(whole.len(), 5000);
        assert_eq!(&whole[4..8], b"ftyp");
        let head = mp4_header(3000, Some((720, 1280)), 5000);
        assert_eq!(&whole[..head.len()], head.as_slice());
        assert!(whole[head.len()..].iter().all(|b| *b == 0));
        let tail: Vec<u8> = video.pieces(10, 20, 4).flat_map(|b| b.to_vec()).collect();
        assert_eq!(tail, whole[10..=20]);
    }

    #[test]
    fn the_mdat_box_runs_to_the_end_of_the_file() {
        let head = mp4_header(1000, None, 10_000);
        let at = head.len() - 8;
        assert_eq!(&head[at + 4..], b"mdat");
        let size = u32::from_be_bytes(head[at..at + 4].try_into().unwrap()) as usize;
        assert_eq!(at + size, 10_000);
    }
}
