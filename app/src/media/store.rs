//! Where scheduled posts' videos wait for their time: a local directory by default, or an
//! S3-compatible bucket when several servers share the work. Bytes are streamed (never held
//! whole), counted against a limit while they arrive, hashed, and probed; a refused or
//! interrupted upload leaves nothing behind.

use super::probe::{ProbeError, VideoFacts, probe_file, probe_ranges};
use crate::config::{MediaConfig, S3Config};
use bytes::Bytes;
use futures_util::{Stream, StreamExt as _, stream::BoxStream};
use object_store::{ObjectStore, ObjectStoreExt as _, WriteMultipart, path::Path as ObjectPath};
use secrecy::ExposeSecret as _;
use sha2::{Digest as _, Sha256};
use std::{
    path::{Path, PathBuf},
    sync::Arc,
};
use tokio::io::AsyncWriteExt as _;

/// A stored video, read back as a stream of pieces.
pub type MediaStream = BoxStream<'static, std::io::Result<Bytes>>;

/// The configured backend.
#[derive(Clone, Debug)]
pub enum MediaStore {
    Local(LocalMediaStore),
    Bucket(BucketMediaStore),
}

impl MediaStore {
    pub fn from_config(config: &MediaConfig) -> Result<Self, StoreError> {
        Ok(match config {
            MediaConfig::Local { dir } => Self::Local(LocalMediaStore::new(dir.clone())),
            MediaConfig::S3(s3) => Self::Bucket(BucketMediaStore::s3(s3)?),
        })
    }

    /// Streams `body` in, refusing it past `limit` bytes; only a recognisable video is kept.
    pub async fn put<S, E>(&self, body: S, limit: u64) -> Result<StoredMedia, StoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
    {
        match self {
            Self::Local(local) => local.put(body, limit).await,
            Self::Bucket(bucket) => bucket.put(body, limit).await,
        }
    }

    /// Streams `body` in like [`Self::put`] but keeps it without a video probe: for photos,
    /// which `media::image` checked from their first bytes before they were sent here.
    pub async fn put_file<S, E>(&self, body: S, limit: u64) -> Result<StoredFile, StoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
    {
        let (file, _) = match self {
            Self::Local(local) => local.store(body, limit, false).await?,
            Self::Bucket(bucket) => bucket.store(body, limit, false).await?,
        };
        Ok(file)
    }

    /// The stored video, from its first byte.
    pub async fn open(&self, key: &str) -> Result<MediaStream, StoreError> {
        match self {
            Self::Local(local) => Ok(local.open(key)),
            Self::Bucket(bucket) => bucket.open(key).await,
        }
    }

    /// Bytes `first..=last` of a stored file, as a stream (for range requests of TikTok's pulls).
    pub async fn open_range(&self, key: &str, first: u64, last: u64) -> Result<MediaStream, StoreError> {
        match self {
            Self::Local(local) => Ok(local.open_range(key, first, last).await?),
            Self::Bucket(bucket) => bucket.open_range(key, first, last).await,
        }
    }

    /// Removes a stored video; a missing one is not an error (clean-up may run twice).
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self {
            Self::Local(local) => Ok(local.delete(key).await?),
            Self::Bucket(bucket) => bucket.delete(key).await,
        }
    }

    /// Aborts the bucket's multipart uploads that a stopped server left unfinished (the local
    /// store's `.partial` files are swept by [`super::sweep::sweep_leftovers`]). Returns how
    /// many went.
    pub async fn abort_stale_uploads(&self, now: std::time::SystemTime) -> Result<usize, StoreError> {
        match self {
            Self::Local(_) => Ok(0),
            Self::Bucket(bucket) => super::sweep::abort_stale_uploads(bucket.as_s3(), now).await,
        }
    }
}

/// A stored file: where it is, how long it is and its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredFile {
    pub key: String,
    pub byte_size: u64,
    pub sha256: String,
}

impl StoredFile {
    fn with_facts(self, facts: VideoFacts) -> StoredMedia {
        StoredMedia { key: self.key, byte_size: self.byte_size, sha256: self.sha256, facts }
    }
}

/// A stored video's facts, as recorded with the post.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredMedia {
    pub key: String,
    pub byte_size: u64,
    pub sha256: String,
    pub facts: VideoFacts,
}

/// Why a video was not stored. The message is for the person uploading.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("The video is larger than {limit} bytes, the most Cadence accepts.")]
    TooLarge { limit: u64 },
    #[error("The upload was cut off. Please try again.")]
    Interrupted,
    #[error("{0}")]
    NotAVideo(#[from] ProbeError),
    #[error("The video could not be stored on the server.")]
    Io(#[from] std::io::Error),
    #[error("The video could not be stored in the media bucket.")]
    Bucket(#[from] object_store::Error),
}

/// A video as it arrives: counted against the limit and hashed, piece by piece.
struct Arriving {
    written: u64,
    limit: u64,
    hasher: Sha256,
}

impl Arriving {
    fn new(limit: u64) -> Self {
        Self { written: 0, limit, hasher: Sha256::new() }
    }

    /// Accepts the next piece, or says why the upload stops here.
    fn take<E>(&mut self, piece: Result<Bytes, E>) -> Result<Bytes, StoreError> {
        let piece = piece.map_err(|_| StoreError::Interrupted)?;
        self.written += piece.len() as u64;
        if self.written > self.limit {
            return Err(StoreError::TooLarge { limit: self.limit });
        }
        self.hasher.update(&piece);
        Ok(piece)
    }

    /// Bytes received and their SHA-256 (hex).
    fn finish(self) -> (u64, String) {
        (self.written, hex::encode(self.hasher.finalize()))
    }
}

/// Videos in a local directory, one file per key.
#[derive(Clone, Debug)]
pub struct LocalMediaStore {
    root: PathBuf,
}

impl LocalMediaStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The file behind a key (keys are generated here, never taken from a request).
    pub fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    /// Streams `body` into a new file, refusing it as soon as it passes `limit` bytes, then
    /// probes it. Only a complete, recognisable video is kept.
    pub async fn put<S, E>(&self, body: S, limit: u64) -> Result<StoredMedia, StoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
    {
        let (file, facts) = self.store(body, limit, true).await?;
        Ok(file.with_facts(facts.expect("probed")))
    }

    /// Writes a new file; when `probe`, it is kept only if it is a recognisable video.
    async fn store<S, E>(&self, body: S, limit: u64, probe: bool) -> Result<(StoredFile, Option<VideoFacts>), StoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
    {
        tokio::fs::create_dir_all(&self.root).await?;
        let key = new_key();
        let partial = self.root.join(format!("{key}.partial"));
        let result = self.write(&partial, body, limit).await;
        let outcome = match result {
            Ok((byte_size, sha256)) => {
                let facts = if probe { probe_file(&partial).await.map(Some) } else { Ok(None) };
                match facts {
                    Ok(facts) => {
                        tokio::fs::rename(&partial, self.path(&key)).await?;
                        return Ok((StoredFile { key, byte_size, sha256 }, facts));
                    }
                    Err(error) => Err(StoreError::NotAVideo(error)),
                }
            }
            Err(error) => Err(error),
        };
        // Whatever went wrong, the half-written file goes.
        let _ = tokio::fs::remove_file(&partial).await;
        outcome
    }

    async fn write<S, E>(&self, partial: &Path, mut body: S, limit: u64) -> Result<(u64, String), StoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
    {
        let mut file = tokio::fs::File::create(partial).await?;
        let mut arriving = Arriving::new(limit);
        while let Some(piece) = body.next().await {
            let piece = arriving.take(piece)?;
            file.write_all(&piece).await?;
        }
        file.flush().await?;
        file.sync_all().await?;
        Ok(arriving.finish())
    }

    /// The stored file as a stream of 256 KiB pieces; an error ends it.
    pub fn open(&self, key: &str) -> MediaStream {
        use tokio::io::AsyncReadExt as _;
        enum Reading {
            NotOpened(PathBuf),
            Open(tokio::fs::File),
            Done,
        }
        futures_util::stream::unfold(Reading::NotOpened(self.path(key)), |reading| async move {
            let mut file = match reading {
                Reading::Done => return None,
                Reading::Open(file) => file,
                Reading::NotOpened(path) => match tokio::fs::File::open(&path).await {
                    Ok(file) => file,
                    Err(error) => return Some((Err(error), Reading::Done)),
                },
            };
            let mut buffer = vec![0u8; 256 * 1024];
            match file.read(&mut buffer).await {
                Ok(0) => None,
                Ok(read) => {
                    buffer.truncate(read);
                    Some((Ok(Bytes::from(buffer)), Reading::Open(file)))
                }
                Err(error) => Some((Err(error), Reading::Done)),
            }
        })
        .boxed()
    }

    /// Bytes `first..=last` of the stored file, in 256 KiB pieces.
    pub async fn open_range(&self, key: &str, first: u64, last: u64) -> std::io::Result<MediaStream> {
        use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};
        let mut file = tokio::fs::File::open(self.path(key)).await?;
        file.seek(std::io::SeekFrom::Start(first)).await?;
        let reader = file.take(last.saturating_sub(first) + 1);
        Ok(futures_util::stream::unfold(Some(reader), |reader| async move {
            let mut reader = reader?;
            let mut buffer = vec![0u8; 256 * 1024];
            match reader.read(&mut buffer).await {
                Ok(0) => None,
                Ok(read) => {
                    buffer.truncate(read);
                    Some((Ok(Bytes::from(buffer)), Some(reader)))
                }
                Err(error) => Some((Err(error), None)),
            }
        })
        .boxed())
    }

    /// Removes a stored video; a missing file is not an error (clean-up may run twice).
    pub async fn delete(&self, key: &str) -> std::io::Result<()> {
        match tokio::fs::remove_file(self.path(key)).await {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }
}

/// Videos in an S3-compatible bucket, written with multipart uploads of 8 MiB parts (two in
/// flight at most, so memory stays flat) and probed with ranged reads.
#[derive(Clone, Debug)]
pub struct BucketMediaStore {
    store: Arc<dyn ObjectStore>,
    /// The same store, for what only S3 has: signed requests and aborting a multipart upload
    /// by id (the start-up sweep of unfinished uploads).
    s3: Arc<object_store::aws::AmazonS3>,
}

/// A new video's key: `<uuid>.video`, nothing from the request. [`is_video_key`] recognises them.
fn new_key() -> String {
    format!("{}.video", uuid::Uuid::new_v4())
}

/// Whether `key` is one Cadence makes: only those are Cadence's to clean up in a shared bucket.
pub fn is_video_key(key: &str) -> bool {
    key.strip_suffix(".video").is_some_and(|id| id.len() == 36 && uuid::Uuid::try_parse(id).is_ok())
}

/// Part size of the bucket's multipart uploads (S3 wants at least 5 MiB).
const PART_BYTES: usize = 8 * 1024 * 1024;

impl BucketMediaStore {
    pub fn s3(config: &S3Config) -> Result<Self, StoreError> {
        let mut builder = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(config.secret_access_key.expose_secret());
        if let Some(endpoint) = &config.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                // MinIO and most self-hosted stores address buckets by path.
                .with_virtual_hosted_style_request(false);
        }
        let s3 = Arc::new(builder.build()?);
        Ok(Self { store: s3.clone(), s3 })
    }

    /// The bucket as S3, for [`super::sweep::abort_stale_uploads`].
    pub fn as_s3(&self) -> &object_store::aws::AmazonS3 {
        &self.s3
    }

    async fn put<S, E>(&self, body: S, limit: u64) -> Result<StoredMedia, StoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
    {
        let (file, facts) = self.store(body, limit, true).await?;
        Ok(file.with_facts(facts.expect("probed")))
    }

    /// Writes a new object; when `probe`, it is kept only if it is a recognisable video.
    async fn store<S, E>(&self, mut body: S, limit: u64, probe: bool) -> Result<(StoredFile, Option<VideoFacts>), StoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
    {
        let key = new_key();
        let path = ObjectPath::from(key.as_str());
        let upload = self.store.put_multipart(&path).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut arriving = Arriving::new(limit);
        let received: Result<(), StoreError> = async {
            while let Some(piece) = body.next().await {
                let piece = arriving.take(piece)?;
                writer.wait_for_capacity(2).await?;
                writer.put(piece);
            }
            Ok(())
        }
        .await;
        if let Err(error) = received {
            let _ = writer.abort().await;
            return Err(error);
        }
        writer.finish().await?;
        let (written, sha256) = arriving.finish();
        let file = StoredFile { key, byte_size: written, sha256 };
        if !probe {
            return Ok((file, None));
        }
        let store = self.store.clone();
        let probed = probe_ranges(written, |start, end| {
            let (store, path) = (store.clone(), path.clone());
            async move {
                let bytes = store.get_range(&path, start..end).await.map_err(|_| ProbeError::Truncated)?;
                Ok(bytes.to_vec())
            }
        })
        .await;
        match probed {
            Ok(facts) => Ok((file, Some(facts))),
            Err(error) => {
                let _ = self.store.delete(&path).await;
                Err(StoreError::NotAVideo(error))
            }
        }
    }

    async fn open(&self, key: &str) -> Result<MediaStream, StoreError> {
        let object = self.store.get(&ObjectPath::from(key)).await?;
        Ok(object.into_stream().map(|piece| piece.map_err(std::io::Error::other)).boxed())
    }

    async fn open_range(&self, key: &str, first: u64, last: u64) -> Result<MediaStream, StoreError> {
        let options = object_store::GetOptions {
            range: Some(object_store::GetRange::Bounded(first..last + 1)),
            ..Default::default()
        };
        let object = self.store.get_opts(&ObjectPath::from(key), options).await?;
        Ok(object.into_stream().map(|piece| piece.map_err(std::io::Error::other)).boxed())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self.store.delete(&ObjectPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{
        probe::Container,
        testing::{iso_box, moov},
    };

    fn temp_store(name: &str) -> LocalMediaStore {
        let root = std::env::temp_dir().join(format!("cadence-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        LocalMediaStore::new(root)
    }

    fn leftovers(store: &LocalMediaStore) -> usize {
        std::fs::read_dir(&store.root).map(|dir| dir.count()).unwrap_or(0)
    }

    /// A small MP4 (ftyp, a 30 s moov, mdat) as a stream of 1 KiB pieces.
    fn mp4_stream(total: usize) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
        let mut file = iso_box(b"ftyp", b"isom\0\0\x02\0isomiso2avc1mp41");
        file.extend(iso_box(b"moov", &moov(30, 720, 1280, b"avc1")));
        let mdat = total - file.len();
        file.extend(iso_box(b"mdat", &vec![7u8; mdat - 8]));
        let pieces: Vec<_> = file.chunks(1024).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        futures_util::stream::iter(pieces)
    }

    #[tokio::test]
    async fn a_complete_video_is_kept_with_its_facts_and_hash() {
        let store = temp_store("ok");
        let stored = store.put(mp4_stream(50_000), 1_000_000).await.unwrap();
        assert_eq!(stored.byte_size, 50_000);
        assert_eq!(stored.facts.container, Container::Mp4);
        assert_eq!(stored.facts.duration_secs, Some(30.0));
        assert_eq!(stored.sha256.len(), 64);
        assert_eq!(std::fs::metadata(store.path(&stored.key)).unwrap().len(), 50_000);
        assert_eq!(leftovers(&store), 1, "only the finished file, no .partial");
        store.delete(&stored.key).await.unwrap();
        store.delete(&stored.key).await.unwrap();
        assert_eq!(leftovers(&store), 0);
    }

    #[tokio::test]
    async fn a_range_of_a_stored_file_is_read_exactly() {
        let store = temp_store("range");
        let stored = store.put(mp4_stream(50_000), 1_000_000).await.unwrap();
        let whole = std::fs::read(store.path(&stored.key)).unwrap();
        let read = |first, last| {
            let store = store.clone();
            let key = stored.key.clone();
            async move {
                let pieces: Vec<_> = store.open_range(&key, first, last).await.unwrap().collect().await;
                pieces.into_iter().flat_map(|piece| piece.unwrap().to_vec()).collect::<Vec<u8>>()
            }
        };
        assert_eq!(read(0, 9).await, whole[..10]);
        assert_eq!(read(1000, 49_999).await, whole[1000..]);
        assert_eq!(read(49_999, 49_999).await, whole[49_999..]);
        store.delete(&stored.key).await.unwrap();
    }

    #[tokio::test]
    async fn refused_and_interrupted_uploads_leave_nothing_behind() {
        let store = temp_store("refused");
        let too_large = store.put(mp4_stream(50_000), 10_000).await.unwrap_err();
        assert!(matches!(too_large, StoreError::TooLarge { limit: 10_000 }));

        let picture = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from_static(b"GIF89a just a picture"))]);
        let not_video = store.put(picture, 1_000_000).await.unwrap_err();
        assert!(matches!(not_video, StoreError::NotAVideo(ProbeError::NotAVideo)));

        let cut = futures_util::stream::iter(vec![
            Ok(Bytes::from_static(b"\0\0\0\x20ftypisom")),
            Err(std::io::Error::other("connection reset")),
        ]);
        assert!(matches!(store.put(cut, 1_000_000).await.unwrap_err(), StoreError::Interrupted));
        assert_eq!(leftovers(&store), 0);
    }
}
