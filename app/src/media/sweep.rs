//! Leftovers of a crash: half-written videos (`*.partial` in the media directory, unfinished
//! multipart uploads in a bucket) and chunk spool files (`<data dir>/spool/`) that a killed
//! server never got to remove.
//!
//! Only files untouched for [`LEFTOVER_AGE`] go: another server sharing the directory may be
//! writing one right now, and a file being written is touched with every piece.

use std::{
    path::Path,
    time::{Duration, SystemTime},
};

/// A leftover must be at least this old; writing refreshes a file's modification time.
pub const LEFTOVER_AGE: Duration = Duration::from_secs(3600);

/// Removes stale `*.partial` files under `media_dir` and stale files under `spool_dir`;
/// returns how many went. Missing directories are fine (nothing was ever written).
pub async fn sweep_leftovers(media_dir: Option<&Path>, spool_dir: &Path, now: SystemTime) -> usize {
    let mut removed = 0;
    if let Some(media_dir) = media_dir {
        removed += sweep(media_dir, |name| name.ends_with(".partial"), now).await;
    }
    removed + sweep(spool_dir, |_| true, now).await
}

async fn sweep(dir: &Path, leftover: impl Fn(&str) -> bool, now: SystemTime) -> usize {
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else { return 0 };
    let mut removed = 0;
    while let Ok(Some(entry)) = entries.next_entry().await {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Ok(meta) = entry.metadata().await else { continue };
        let stale = meta.modified().ok().and_then(|at| now.duration_since(at).ok()).is_some_and(|age| age >= LEFTOVER_AGE);
        if meta.is_file() && leftover(name) && stale && tokio::fs::remove_file(entry.path()).await.is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Aborts the bucket's multipart uploads of Cadence's own keys (`<uuid>.video`) started at
/// least [`LEFTOVER_AGE`] before `now`. S3's parts of an unfinished upload are kept (and
/// billed) until someone aborts it, and object_store cannot list them, so the listing is an
/// S3 `ListMultipartUploads` request signed by object_store.
pub async fn abort_stale_uploads(
    s3: &object_store::aws::AmazonS3,
    now: SystemTime,
) -> Result<usize, crate::media::store::StoreError> {
    use object_store::{
        multipart::MultipartStore as _,
        path::Path as ObjectPath,
        signer::{SignedUrlOptions, Signer as _},
    };
    let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().map_err(std::io::Error::other)?;
    let mut marker: Option<(String, String)> = None;
    let mut aborted = 0;
    loop {
        let mut options = SignedUrlOptions::default().with_query([("uploads", "")]);
        if let Some((key, id)) = &marker {
            options = options.with_query([("key-marker", key.as_str()), ("upload-id-marker", id.as_str())]);
        }
        let url = s3.signed_url_opts(object_store::signer::Method::GET, &ObjectPath::from(""), Duration::from_secs(300), &options).await?;
        let listing = http
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|error| std::io::Error::other(error.without_url()))?
            .text()
            .await
            .map_err(|error| std::io::Error::other(error.without_url()))?;
        let page = UploadListing::parse(&listing);
        for upload in &page.uploads {
            let stale = upload.initiated.is_some_and(|at| now.duration_since(at).is_ok_and(|age| age >= LEFTOVER_AGE));
            if stale && crate::media::store::is_video_key(&upload.key) {
                match s3.abort_multipart(&ObjectPath::from(upload.key.as_str()), &upload.id).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => aborted += 1,
                    Err(error) => tracing::warn!(key = %upload.key, error = %error, "an unfinished upload could not be aborted"),
                }
            }
        }
        match page.next_marker {
            Some(next) if page.truncated && marker.as_ref() != Some(&next) => marker = Some(next),
            _ => return Ok(aborted),
        }
    }
}

/// One page of S3's `ListMultipartUploadsResult`.
#[derive(Debug, Default, PartialEq)]
struct UploadListing {
    uploads: Vec<UnfinishedUpload>,
    truncated: bool,
    /// `NextKeyMarker` and `NextUploadIdMarker`: where the next page starts.
    next_marker: Option<(String, String)>,
}

#[derive(Debug, PartialEq)]
struct UnfinishedUpload {
    key: String,
    id: String,
    initiated: Option<SystemTime>,
}

impl UploadListing {
    /// Reads the few elements the sweep needs. The document is S3's own answer, and only keys
    /// Cadence makes (no characters XML would escape) are ever acted on.
    fn parse(xml: &str) -> Self {
        fn element<'a>(within: &'a str, name: &str) -> Option<&'a str> {
            let start = within.find(&format!("<{name}>"))? + name.len() + 2;
            let end = within[start..].find(&format!("</{name}>"))? + start;
            Some(&within[start..end])
        }
        let uploads = xml
            .split("<Upload>")
            .skip(1)
            .filter_map(|upload| {
                let upload = upload.split("</Upload>").next()?;
                let initiated = element(upload, "Initiated")
                    .and_then(|at| time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).ok())
                    .map(SystemTime::from);
                Some(UnfinishedUpload { key: element(upload, "Key")?.to_owned(), id: element(upload, "UploadId")?.to_owned(), initiated })
            })
            .collect();
        let head = xml.split("<Upload>").next().unwrap_or_default();
        let next_marker = match (element(head, "NextKeyMarker"), element(head, "NextUploadIdMarker")) {
            (Some(key), Some(id)) if !key.is_empty() => Some((key.to_owned(), id.to_owned())),
            _ => None,
        };
        Self { uploads, truncated: element(xml, "IsTruncated") == Some("true"), next_marker }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_stale_leftovers_go() {
        let root = std::env::temp_dir().join(format!("cadence-sweep-{}", uuid::Uuid::new_v4()));
        let (media, spool) = (root.join("media"), root.join("spool"));
        std::fs::create_dir_all(&media).unwrap();
        std::fs::create_dir_all(&spool).unwrap();
        std::fs::write(media.join("a.video.partial"), b"half").unwrap();
        std::fs::write(media.join("b.video"), b"whole").unwrap();
        std::fs::write(spool.join("chunk-1"), b"chunk").unwrap();

        let just_now = SystemTime::now();
        assert_eq!(sweep_leftovers(Some(&media), &spool, just_now).await, 0, "fresh files may be in use");
        let later = just_now + LEFTOVER_AGE + Duration::from_secs(1);
        assert_eq!(sweep_leftovers(Some(&media), &spool, later).await, 2);
        assert!(media.join("b.video").exists(), "a finished video is never a leftover");
        assert!(!media.join("a.video.partial").exists() && !spool.join("chunk-1").exists());
        assert_eq!(sweep_leftovers(None, &root.join("nowhere"), later).await, 0);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn s3s_listing_of_unfinished_uploads_is_read() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>b</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>
  <NextKeyMarker>x.video</NextKeyMarker><NextUploadIdMarker>id-2</NextUploadIdMarker>
  <MaxUploads>1000</MaxUploads><IsTruncated>true</IsTruncated>
  <Upload><Key>0b6c2a8e-3f1d-4c2b-9a55-1d2e3f4a5b6c.video</Key><UploadId>id-1</UploadId>
    <Initiated>2026-12-01T09:00:00.000Z</Initiated></Upload>
  <Upload><Key>x.video</Key><UploadId>id-2</UploadId><Initiated>garbled</Initiated></Upload>
</ListMultipartUploadsResult>"#;
        let page = UploadListing::parse(xml);
        assert!(page.truncated);
        assert_eq!(page.next_marker, Some(("x.video".into(), "id-2".into())));
        assert_eq!(page.uploads.len(), 2);
        assert_eq!(page.uploads[0].id, "id-1");
        let at = time::macros::datetime!(2026-12-01 09:00 UTC);
        assert_eq!(page.uploads[0].initiated, Some(SystemTime::from(at)));
        assert_eq!(page.uploads[1].initiated, None, "an unreadable date is never stale");
        assert!(crate::media::store::is_video_key(&page.uploads[0].key));
        assert!(!crate::media::store::is_video_key(&page.uploads[1].key), "not a key Cadence makes");
        assert_eq!(UploadListing::parse("<ListMultipartUploadsResult><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>"), UploadListing::default());
    }
}
