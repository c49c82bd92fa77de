//! `server backup --to DIR` and `server restore --from DIR`: the database (pg_dump of one
//! snapshot), then the media files that snapshot refers to, and the token keys, with a manifest.
//!
//! Order matters: the dump is taken first, in a snapshot that also lists the media it refers to,
//! so every referenced video can be copied afterwards (media files are written once and never
//! changed). A file deleted between the snapshot and its copy is only acceptable when the
//! snapshot already marked it for removal; anything else fails the backup.

use crate::pg_tools::PgTools;
use app::config::{Config, MediaConfig, TokenKeySource};
use diesel::{QueryableByName, sql_types};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::path::{Path, PathBuf};

pub const MANIFEST: &str = "manifest.json";
const DUMP: &str = "database.dump";
const MEDIA_DIR: &str = "media";
const KEY_FILE: &str = "token-keys";

/// What a backup holds, written last: a directory without it is an unfinished backup.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub format: u32,
    pub created_at: String,
    pub cadence_version: String,
    /// Migration versions applied in the dumped database.
    pub migrations: Vec<String>,
    pub database: DumpFile,
    pub media: MediaSection,
    pub token_keys: KeySection,
    /// Rows in the snapshot, checked again after a restore.
    pub counts: Counts,
    /// Sandbox mode: the built-in TikTok's state file, so restored connections still work.
    #[serde(default)]
    pub sandbox_state: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DumpFile {
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MediaSection {
    /// `local` (files copied) or `s3` (not copied: the bucket's versioning is its backup).
    pub store: String,
    pub files: Vec<MediaFile>,
    /// Referenced by the snapshot, already marked for removal, and gone before the copy.
    pub expired_and_removed: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MediaFile {
    pub key: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeySection {
    /// `file` (copied into the backup, mode 0600) or `environment` (kept by the operator).
    pub source: String,
    pub key_ids: Vec<String>,
    pub file: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Counts {
    pub users: i64,
    pub teams: i64,
    pub accounts: i64,
    pub posts: i64,
    pub media: i64,
}

#[derive(QueryableByName)]
struct Snapshot {
    #[diesel(sql_type = sql_types::Text)]
    id: String,
}

#[derive(QueryableByName)]
struct ReferencedMedia {
    #[diesel(sql_type = sql_types::Text)]
    storage_key: String,
    #[diesel(sql_type = sql_types::Bool)]
    marked_for_removal: bool,
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = sql_types::Text)]
    version: String,
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = sql_types::BigInt)]
    users: i64,
    #[diesel(sql_type = sql_types::BigInt)]
    teams: i64,
    #[diesel(sql_type = sql_types::BigInt)]
    accounts: i64,
    #[diesel(sql_type = sql_types::BigInt)]
    posts: i64,
    #[diesel(sql_type = sql_types::BigInt)]
    media: i64,
}

async fn counts(conn: &mut AsyncPgConnection) -> anyhow::Result<Counts> {
    let row: CountRow = diesel::sql_query(
        "SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM teams) AS teams, \
         (SELECT count(*) FROM tiktok_accounts) AS accounts, (SELECT count(*) FROM posts) AS posts, \
         (SELECT count(*) FROM media) AS media",
    )
    .get_result(conn)
    .await?;
    Ok(Counts { users: row.users, teams: row.teams, accounts: row.accounts, posts: row.posts, media: row.media })
}

/// Takes a backup into `dir` (which must not exist or be empty). Returns its manifest.
pub async fn backup(config: &Config, cipher: &app::crypto::TokenCipher, tools: &PgTools, dir: &Path) -> anyhow::Result<Manifest> {
    prepare_empty_dir(dir)?;
    let mut conn = AsyncPgConnection::establish(&config.database.url)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to DATABASE_URL: {e}"))?;
    // One snapshot for the dump and for the list of media it refers to.
    diesel::sql_query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").execute(&mut conn).await?;
    let snapshot: Snapshot = diesel::sql_query("SELECT pg_export_snapshot() AS id").get_result(&mut conn).await?;
    let referenced: Vec<ReferencedMedia> =
        diesel::sql_query("SELECT storage_key, remove_after IS NOT NULL AS marked_for_removal FROM media ORDER BY storage_key")
            .load(&mut conn)
            .await?;
    let mut migrations: Vec<String> = diesel::sql_query("SELECT version FROM __diesel_schema_migrations ORDER BY version")
        .load::<Version>(&mut conn)
        .await?
        .into_iter()
        .map(|v| v.version)
        .collect();
    migrations.sort();
    let counts = counts(&mut conn).await?;
    // The dumped tokens must open with the keys the backup carries, or the backup is useless.
    app::accounts::keys::check_stored_keys(&mut conn, cipher).await?;
    let dump_path = dir.join(DUMP);
    tools.dump(&config.database.url, &snapshot.id, &dump_path).await?;
    diesel::sql_query("COMMIT").execute(&mut conn).await?;
    drop(conn);

    let (sha256, bytes) = hash_file(&dump_path)?;
    let database = DumpFile { file: DUMP.into(), bytes, sha256 };

    let media = match &config.media {
        MediaConfig::Local { dir: media_dir } => copy_referenced_media(media_dir, &dir.join(MEDIA_DIR), &referenced)?,
        MediaConfig::S3(_) => MediaSection { store: "s3".into(), files: Vec::new(), expired_and_removed: Vec::new() },
    };

    let key_ids: Vec<String> = cipher.key_ids().into_iter().map(str::to_owned).collect();
    let token_keys = match &config.token_key_source {
        TokenKeySource::File(path) => {
            let contents = std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read the key file {}: {e}", path.display()))?;
            write_owner_only(&dir.join(KEY_FILE), &contents)?;
            KeySection { source: "file".into(), key_ids, file: Some(KEY_FILE.into()) }
        }
        TokenKeySource::Environment => KeySection { source: "environment".into(), key_ids, file: None },
    };

    let sandbox_file = config.data_dir.join(crate::tiktok_setup::SANDBOX_STATE_FILE);
    let sandbox_state = if config.tiktok.sandbox_mode() && sandbox_file.is_file() {
        write_owner_only(&dir.join(crate::tiktok_setup::SANDBOX_STATE_FILE), &std::fs::read(&sandbox_file)?)?;
        Some(crate::tiktok_setup::SANDBOX_STATE_FILE.to_owned())
    } else {
        None
    };

    let manifest = Manifest {
        sandbox_state,
        format: 1,
        created_at: time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339)?,
        cadence_version: env!("CARGO_PKG_VERSION").into(),
        migrations,
        database,
        media,
        token_keys,
        counts,
    };
    let tmp = dir.join(format!("{MANIFEST}.partial"));
    std::fs::write(&tmp, serde_json::to_vec_pretty(&manifest)?)?;
    std::fs::rename(&tmp, dir.join(MANIFEST))?;
    Ok(manifest)
}

/// Copies every media file the snapshot refers to. A missing file fails the backup unless the
/// snapshot had already marked it for removal (clean-up may have run since).
fn copy_referenced_media(from: &Path, to: &Path, referenced: &[ReferencedMedia]) -> anyhow::Result<MediaSection> {
    std::fs::create_dir_all(to)?;
    let mut files = Vec::new();
    let mut expired_and_removed = Vec::new();
    let mut missing = Vec::new();
    for item in referenced {
        check_key(&item.storage_key)?;
        let source = from.join(&item.storage_key);
        match std::fs::copy(&source, to.join(&item.storage_key)) {
            Ok(bytes) => files.push(MediaFile { key: item.storage_key.clone(), bytes }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound && item.marked_for_removal => {
                expired_and_removed.push(item.storage_key.clone());
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => missing.push(item.storage_key.clone()),
            Err(error) => anyhow::bail!("cannot copy {}: {error}", source.display()),
        }
    }
    if !missing.is_empty() {
        anyhow::bail!(
            "{} video(s) the database refers to are missing from {}: {}; the backup is incomplete",
            missing.len(),
            from.display(),
            missing.join(", ")
        );
    }
    Ok(MediaSection { store: "local".into(), files, expired_and_removed })
}

/// What a restore did, for the person running it.
#[derive(Debug)]
pub struct Restored {
    pub manifest: Manifest,
    pub counts: Counts,
    pub key_ids_checked: usize,
}

/// Reads and verifies a backup's manifest, dump checksum and media files.
pub fn read_verified(dir: &Path) -> anyhow::Result<Manifest> {
    let text = std::fs::read(dir.join(MANIFEST))
        .map_err(|e| anyhow::anyhow!("{} has no readable {MANIFEST} ({e}): not a finished Cadence backup", dir.display()))?;
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| anyhow::anyhow!("{MANIFEST} is damaged: {e}"))?;
    if manifest.format != 1 {
        anyhow::bail!("backup format {} is unknown to this binary", manifest.format);
    }
    let (sha256, _) = hash_file(&dir.join(&manifest.database.file))?;
    if sha256 != manifest.database.sha256 {
        anyhow::bail!("{} does not match its checksum in the manifest: the backup is damaged", manifest.database.file);
    }
    for file in &manifest.media.files {
        check_key(&file.key)?;
        let found = std::fs::metadata(dir.join(MEDIA_DIR).join(&file.key)).map(|m| m.len()).ok();
        if found != Some(file.bytes) {
            anyhow::bail!("media file {} is missing or has the wrong size: the backup is damaged", file.key);
        }
    }
    Ok(manifest)
}

/// Puts a backup's key file in place before the configuration is read, so the restored
/// server opens the restored tokens (and does not generate a new key). Refuses to replace a
/// different key file.
pub fn restore_key_file(dir: &Path, manifest: &Manifest, data_dir: &Path, keys_from_environment: bool) -> anyhow::Result<()> {
    let Some(file) = &manifest.token_keys.file else { return Ok(()) };
    if keys_from_environment {
        return Ok(());
    }
    let contents = std::fs::read(dir.join(file))?;
    let target = data_dir.join(KEY_FILE);
    match std::fs::read(&target) {
        Ok(existing) if existing == contents => Ok(()),
        Ok(_) => anyhow::bail!(
            "{} already holds other token keys; move it away first (its tokens would not open otherwise)",
            target.display()
        ),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir)?;
            write_owner_only(&target, &contents)
        }
        Err(error) => Err(error.into()),
    }
}

/// Restores a verified backup into the configured (empty) database and media store.
pub async fn restore(
    config: &Config,
    cipher: &app::crypto::TokenCipher,
    tools: &PgTools,
    dir: &Path,
    manifest: Manifest,
) -> anyhow::Result<Restored> {
    let missing_keys: Vec<&String> =
        manifest.token_keys.key_ids.iter().filter(|id| !cipher.key_ids().contains(&id.as_str())).collect();
    if !missing_keys.is_empty() && manifest.counts.accounts > 0 {
        anyhow::bail!(
            "the configured token keys lack key id(s) {:?} the backup's tokens may be sealed with; \
             set CADENCE_TOKEN_KEYS as it was when the backup was taken",
            missing_keys
        );
    }
    let mut conn = AsyncPgConnection::establish(&config.database.url)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to DATABASE_URL: {e}"))?;
    #[derive(QueryableByName)]
    struct Tables {
        #[diesel(sql_type = sql_types::BigInt)]
        n: i64,
    }
    let tables: Tables =
        diesel::sql_query("SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'").get_result(&mut conn).await?;
    if tables.n > 0 {
        anyhow::bail!("DATABASE_URL's database is not empty ({} tables); restore into a new database (createdb)", tables.n);
    }
    match &config.media {
        MediaConfig::Local { dir: media_dir } => {
            let occupied = std::fs::read_dir(media_dir).map(|mut d| d.next().is_some()).unwrap_or(false);
            if occupied && !manifest.media.files.is_empty() {
                anyhow::bail!("the media directory {} is not empty; restore into an empty one", media_dir.display());
            }
            std::fs::create_dir_all(media_dir)?;
            for file in &manifest.media.files {
                std::fs::copy(dir.join(MEDIA_DIR).join(&file.key), media_dir.join(&file.key))?;
            }
        }
        MediaConfig::S3(_) if manifest.media.store == "local" && !manifest.media.files.is_empty() => anyhow::bail!(
            "the backup's videos come from a local directory but this configuration stores media in S3; \
             restore with the local media store, then copy the files into the bucket"
        ),
        MediaConfig::S3(_) => {}
    }
    if let Some(file) = &manifest.sandbox_state
        && config.tiktok.sandbox_mode()
    {
        let target = config.data_dir.join(crate::tiktok_setup::SANDBOX_STATE_FILE);
        if target.exists() {
            anyhow::bail!("{} exists; restore into an empty data directory", target.display());
        }
        std::fs::create_dir_all(&config.data_dir)?;
        write_owner_only(&target, &std::fs::read(dir.join(file))?)?;
    }
    tools.restore(&config.database.url, &dir.join(&manifest.database.file)).await?;
    let restored_counts = counts(&mut conn).await?;
    if restored_counts != manifest.counts {
        anyhow::bail!("the restored database has {restored_counts:?}, the manifest says {:?}", manifest.counts);
    }
    let key_ids_checked = app::accounts::keys::check_stored_keys(&mut conn, cipher).await?;
    Ok(Restored { manifest, counts: restored_counts, key_ids_checked })
}

/// Storage keys are generated by Cadence (`<uuid>.video`); a manifest naming anything that could
/// leave the directory is refused.
fn check_key(key: &str) -> anyhow::Result<()> {
    let plain = !key.is_empty() && !key.starts_with('.') && !key.contains(['/', '\\']) && !key.contains('\0');
    if plain { Ok(()) } else { anyhow::bail!("media key {key:?} is not a plain file name") }
}

fn prepare_empty_dir(dir: &Path) -> anyhow::Result<()> {
    if let Ok(mut entries) = std::fs::read_dir(dir)
        && entries.next().is_some()
    {
        anyhow::bail!("{} is not empty; back up into a new directory", dir.display());
    }
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        // The dump holds sealed tokens and password hashes; the key file opens the tokens.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

fn write_owner_only(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
    file.write_all(contents)?;
    file.sync_all()?;
    Ok(())
}

fn hash_file(path: &Path) -> anyhow::Result<(String, u64)> {
    use std::io::Read as _;
    let mut file = std::fs::File::open(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        total += read as u64;
        hasher.update(&buffer[..read]);
    }
    Ok((hex_lower(&hasher.finalize()), total))
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `--to DIR` / `--from DIR` / `--pg-bin DIR` from the arguments after the subcommand.
pub fn flag(args: &[String], name: &str) -> Option<PathBuf> {
    args.iter().position(|arg| arg == name).and_then(|i| args.get(i + 1)).map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_media_keys_are_accepted() {
        assert!(check_key("6a1f0c2e-1111-2222-3333-444455556666.video").is_ok());
        for bad in ["../etc/passwd", "a/b", ".hidden", ""] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn flags_take_the_next_argument() {
        let args: Vec<String> = ["--to", "/tmp/b", "--pg-bin", "/usr/lib/postgresql/15/bin"].map(String::from).to_vec();
        assert_eq!(flag(&args, "--to"), Some(PathBuf::from("/tmp/b")));
        assert_eq!(flag(&args, "--pg-bin"), Some(PathBuf::from("/usr/lib/postgresql/15/bin")));
        assert_eq!(flag(&args, "--from"), None);
    }

    #[test]
    fn a_backup_without_its_manifest_or_with_a_changed_dump_is_refused() {
        let dir = std::env::temp_dir().join(format!("cadence-backup-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        assert!(read_verified(&dir).unwrap_err().to_string().contains("not a finished Cadence backup"));
        std::fs::write(dir.join(DUMP), b"dump").unwrap();
        let (sha256, bytes) = hash_file(&dir.join(DUMP)).unwrap();
        let manifest = Manifest {
            format: 1,
            created_at: String::new(),
            cadence_version: String::new(),
            migrations: Vec::new(),
            database: DumpFile { file: DUMP.into(), bytes, sha256 },
            media: MediaSection { store: "local".into(), files: Vec::new(), expired_and_removed: Vec::new() },
            token_keys: KeySection { source: "environment".into(), key_ids: Vec::new(), file: None },
            counts: Counts::default(),
            sandbox_state: None,
        };
        std::fs::write(dir.join(MANIFEST), serde_json::to_vec(&manifest).unwrap()).unwrap();
        assert_eq!(read_verified(&dir).unwrap(), manifest);
        std::fs::write(dir.join(DUMP), b"dumb").unwrap();
        assert!(read_verified(&dir).unwrap_err().to_string().contains("checksum"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
