//! Leftovers of a crash: half-written videos (`*.partial` in the media directory) and chunk
//! spool files (`<data dir>/spool/`) that a killed server never got to remove.
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
}
