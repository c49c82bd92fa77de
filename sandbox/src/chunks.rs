//! TikTok's chunked-upload arithmetic (§4.6): which plans init accepts and which byte range comes next.

/// Decimal megabytes: TikTok's worked example uses 10,000,000-byte chunks.
pub const MIN_CHUNK: u64 = 5_000_000;
pub const MAX_CHUNK: u64 = 64_000_000;
pub const MAX_LAST_CHUNK: u64 = 128_000_000;
pub const MAX_VIDEO: u64 = 4_000_000_000;
pub const MAX_CHUNKS: u64 = 1000;

/// An accepted upload plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkPlan {
    pub video_size: u64,
    pub chunk_size: u64,
    pub chunk_count: u64,
}

/// An inclusive byte range `first..=last`, as in `Content-Range`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRange {
    pub first: u64,
    pub last: u64,
}

impl ByteRange {
    pub fn len(self) -> u64 {
        self.last - self.first + 1
    }
}

impl ChunkPlan {
    /// Validates the three numbers of `source_info`; the error is the `invalid_params` message.
    pub fn new(video_size: i64, chunk_size: i64, chunk_count: i64) -> Result<Self, &'static str> {
        let (Ok(video_size), Ok(chunk_size), Ok(chunk_count)) =
            (u64::try_from(video_size), u64::try_from(chunk_size), u64::try_from(chunk_count))
        else {
            return Err("The video size, chunk size and total chunk count must not be negative");
        };
        if video_size == 0 || video_size > MAX_VIDEO {
            return Err("The video size is invalid");
        }
        // A file that fits one chunk is sent whole, so its chunk may be under the 5 MB minimum.
        let sole_chunk = chunk_size == video_size;
        if chunk_size == 0
            || chunk_size > MAX_CHUNK
            || chunk_size > video_size
            || (chunk_size < MIN_CHUNK && !sole_chunk)
        {
            return Err("The chunk size is invalid");
        }
        // The last chunk absorbs the remainder, hence floor rather than ceil.
        let expected = video_size / chunk_size;
        if chunk_count != expected || chunk_count > MAX_CHUNKS {
            return Err("The total chunk count is invalid");
        }
        let plan = Self { video_size, chunk_size, chunk_count };
        if plan.chunk_len(chunk_count - 1) > MAX_LAST_CHUNK {
            return Err("The chunk size is invalid");
        }
        Ok(plan)
    }

    /// Byte count of chunk `index` (0-based); the last chunk carries all trailing bytes.
    pub fn chunk_len(&self, index: u64) -> u64 {
        if index + 1 == self.chunk_count { self.video_size - index * self.chunk_size } else { self.chunk_size }
    }

    /// The range the next chunk must cover once `received` bytes are in, or `None` when complete.
    pub fn next_range(&self, received: u64) -> Option<ByteRange> {
        if received >= self.video_size {
            return None;
        }
        let index = received / self.chunk_size;
        let first = index * self.chunk_size;
        Some(ByteRange { first, last: first + self.chunk_len(index) - 1 })
    }
}

/// Parses `bytes first-last/total`; `None` when malformed.
pub fn parse_content_range(value: &str) -> Option<(ByteRange, u64)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let parse = |text: &str| text.trim().parse::<u64>().ok();
    let (first, last, total) = (parse(first)?, parse(last)?, parse(total)?);
    (first <= last).then_some((ByteRange { first, last }, total))
}

/// The progress header of every upload reply. With nothing received yet there is no
/// `0-{n}` range to state, so the RFC 9110 "unsatisfied" form is used.
pub fn progress_header(received: u64, total: u64) -> String {
    if received == 0 { format!("bytes */{total}") } else { format!("bytes 0-{}/{total}", received - 1) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(video: i64, chunk: i64, count: i64) -> Result<ChunkPlan, &'static str> {
        ChunkPlan::new(video, chunk, count)
    }

    #[test]
    fn tiktoks_worked_example() {
        let plan = plan(50_000_123, 10_000_000, 5).unwrap();
        assert_eq!(plan.next_range(0), Some(ByteRange { first: 0, last: 9_999_999 }));
        assert_eq!(plan.next_range(40_000_000), Some(ByteRange { first: 40_000_000, last: 50_000_122 }));
        assert_eq!(plan.chunk_len(4), 10_000_123);
        assert_eq!(plan.next_range(50_000_123), None);
    }

    #[test]
    fn small_files_go_whole() {
        assert!(plan(4_999_999, 4_999_999, 1).is_ok());
        assert!(plan(4_194_304, 4_194_304, 1).is_ok());
        assert!(plan(1, 1, 1).is_ok());
        // A small chunk that is not the whole file is below the minimum.
        assert_eq!(plan(9_999_998, 4_999_999, 2), Err("The chunk size is invalid"));
    }

    #[test]
    fn chunk_size_bounds() {
        assert!(plan(10_000_000, 5_000_000, 2).is_ok());
        assert!(plan(64_000_000, 64_000_000, 1).is_ok());
        assert_eq!(plan(64_000_001, 64_000_001, 1), Err("The chunk size is invalid"));
        assert_eq!(plan(128_000_002, 64_000_001, 2), Err("The chunk size is invalid"));
        assert_eq!(plan(10, 11, 0), Err("The chunk size is invalid"));
        assert_eq!(plan(10, 0, 0), Err("The chunk size is invalid"));
    }

    #[test]
    fn chunk_count_is_the_floor() {
        assert!(plan(15_000_000, 5_000_000, 3).is_ok());
        assert_eq!(plan(15_000_000, 5_000_000, 4), Err("The total chunk count is invalid"));
        assert!(plan(14_999_999, 5_000_000, 2).is_ok());
        assert_eq!(plan(14_999_999, 5_000_000, 3), Err("The total chunk count is invalid"));
        // One oversized sole chunk: floor(15/10) = 1, the last chunk takes everything.
        assert!(plan(15_000_000, 10_000_000, 1).is_ok());
    }

    #[test]
    fn the_last_chunk_may_reach_nearly_twice_the_chunk_size() {
        let plan = plan(127_999_999, 64_000_000, 1).unwrap();
        assert_eq!(plan.chunk_len(0), 127_999_999);
        assert_eq!(plan.next_range(0), Some(ByteRange { first: 0, last: 127_999_998 }));
    }

    #[test]
    fn size_and_count_ceilings() {
        assert!(plan(4_000_000_000, 5_000_000, 800).is_ok());
        assert_eq!(plan(4_000_000_001, 5_000_000, 800), Err("The video size is invalid"));
        assert!(plan(5_005_000_000, 5_000_000, 1001).is_err());
        assert!(plan(0, 0, 0).is_err());
        assert!(plan(-1, 5_000_000, 1).is_err());
    }

    #[test]
    fn content_range_parsing() {
        assert_eq!(
            parse_content_range("bytes 0-9999999/50000123"),
            Some((ByteRange { first: 0, last: 9_999_999 }, 50_000_123))
        );
        assert_eq!(parse_content_range("bytes 5-4/10"), None);
        assert_eq!(parse_content_range("0-4/10"), None);
        assert_eq!(parse_content_range("bytes 0-4/*"), None);
        assert_eq!(parse_content_range("bytes */10"), None);
    }

    #[test]
    fn progress_header_shapes() {
        assert_eq!(progress_header(0, 10), "bytes */10");
        assert_eq!(progress_header(5, 10), "bytes 0-4/10");
        assert_eq!(progress_header(10, 10), "bytes 0-9/10");
    }
}
