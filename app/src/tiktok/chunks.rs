//! How a video of a given size is cut into upload chunks (tiktok-api.md §4.6).
//!
//! TikTok's rules: every chunk 5–64 MB except the last, which takes the remainder (up to
//! 128 MB); `total_chunk_count = floor(video_size / chunk_size)`; at most 1000 chunks; a file
//! under 5 MB goes as one chunk with `chunk_size == video_size`. "MB" is read as decimal, and
//! Cadence stays well inside both readings: one chunk below 64,000,000 bytes, otherwise
//! 10,000,000-byte chunks (so the last one is under 20,000,000 bytes).

use serde::{Deserialize, Serialize};

/// Largest video TikTok accepts (4 GB).
pub const MAX_VIDEO_BYTES: u64 = 4_000_000_000;
/// Files below this go up in one piece.
pub const SINGLE_CHUNK_BELOW: u64 = 64_000_000;
/// Chunk size for everything larger.
pub const CHUNK_BYTES: u64 = 10_000_000;

/// The `source_info` numbers of an init call and the byte ranges to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkPlan {
    pub video_size: u64,
    pub chunk_size: u64,
    pub total_chunk_count: u64,
}

/// Why a size cannot be uploaded.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    #[error("the video is empty")]
    Empty,
    #[error("the video is {0} bytes; TikTok accepts at most 4 GB")]
    TooLarge(u64),
}

impl ChunkPlan {
    pub fn for_size(video_size: u64) -> Result<Self, ChunkError> {
        match video_size {
            0 => Err(ChunkError::Empty),
            size if size > MAX_VIDEO_BYTES => Err(ChunkError::TooLarge(size)),
            size if size < SINGLE_CHUNK_BELOW => {
                Ok(Self { video_size: size, chunk_size: size, total_chunk_count: 1 })
            }
            size => Ok(Self { video_size: size, chunk_size: CHUNK_BYTES, total_chunk_count: size / CHUNK_BYTES }),
        }
    }

    /// The inclusive byte range `(first, last)` of chunk `index` (0-based); the last chunk
    /// carries every trailing byte.
    pub fn range(&self, index: u64) -> (u64, u64) {
        let first = index * self.chunk_size;
        let last = if index + 1 == self.total_chunk_count {
            self.video_size - 1
        } else {
            first + self.chunk_size - 1
        };
        (first, last)
    }

    /// Every chunk's range, in sending order.
    pub fn ranges(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        (0..self.total_chunk_count).map(|index| self.range(index))
    }

    /// The `Content-Range` header value of chunk `index`.
    pub fn content_range(&self, index: u64) -> String {
        let (first, last) = self.range(index);
        format!("bytes {first}-{last}/{}", self.video_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_valid(plan: &ChunkPlan) {
        // TikTok's own arithmetic must agree with ours.
        assert_eq!(plan.total_chunk_count, plan.video_size / plan.chunk_size);
        assert!((1..=1000).contains(&plan.total_chunk_count));
        let ranges: Vec<_> = plan.ranges().collect();
        assert_eq!(ranges.first().unwrap().0, 0);
        assert_eq!(ranges.last().unwrap().1, plan.video_size - 1);
        for pair in ranges.windows(2) {
            assert_eq!(pair[0].1 + 1, pair[1].0, "ranges are contiguous");
        }
        for (index, (first, last)) in ranges.iter().enumerate() {
            let length = last - first + 1;
            if plan.total_chunk_count > 1 {
                if index + 1 < ranges.len() {
                    assert!((5_000_000..=64_000_000).contains(&length), "chunk {index} is {length} bytes");
                } else {
                    assert!(length >= plan.chunk_size && length <= 128_000_000, "last chunk is {length} bytes");
                }
            }
        }
    }

    #[test]
    fn small_files_go_in_one_chunk_of_their_own_size() {
        for size in [1, 4_999_999, 5_000_000, 50_000_123, 63_999_999] {
            let plan = ChunkPlan::for_size(size).unwrap();
            assert_eq!((plan.chunk_size, plan.total_chunk_count), (size, 1));
            assert_eq!(plan.content_range(0), format!("bytes 0-{}/{size}", size - 1));
            assert_valid(&plan);
        }
    }

    #[test]
    fn from_64_mb_on_files_are_cut_into_ten_megabyte_chunks() {
        let plan = ChunkPlan::for_size(64_000_000).unwrap();
        assert_eq!((plan.chunk_size, plan.total_chunk_count), (10_000_000, 6));
        assert_eq!(plan.range(5), (50_000_000, 63_999_999), "the last chunk takes the remainder");
        assert_valid(&plan);
    }

    #[test]
    fn exact_multiples_and_remainders() {
        let exact = ChunkPlan::for_size(100_000_000).unwrap();
        assert_eq!(exact.total_chunk_count, 10);
        assert_eq!(exact.range(9), (90_000_000, 99_999_999));
        let remainder = ChunkPlan::for_size(109_999_999).unwrap();
        assert_eq!(remainder.total_chunk_count, 10);
        assert_eq!(remainder.content_range(9), "bytes 90000000-109999998/109999999");
        for plan in [exact, remainder] {
            assert_valid(&plan);
        }
    }

    #[test]
    fn the_largest_video_fits_and_anything_beyond_is_refused() {
        let plan = ChunkPlan::for_size(MAX_VIDEO_BYTES).unwrap();
        assert_eq!(plan.total_chunk_count, 400);
        assert_valid(&plan);
        assert_eq!(ChunkPlan::for_size(MAX_VIDEO_BYTES + 1), Err(ChunkError::TooLarge(MAX_VIDEO_BYTES + 1)));
        assert_eq!(ChunkPlan::for_size(0), Err(ChunkError::Empty));
    }

    #[test]
    fn every_size_near_the_thresholds_gives_a_valid_plan() {
        for base in [5_000_000u64, 10_000_000, 64_000_000, 128_000_000, 1_000_000_000] {
            for delta in 0..3 {
                for size in [base - delta, base + delta] {
                    assert_valid(&ChunkPlan::for_size(size).unwrap());
                }
            }
        }
    }
}
