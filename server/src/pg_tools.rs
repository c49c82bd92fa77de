//! PostgreSQL's own `pg_dump` and `pg_restore`, found like `scripts/lib.sh` finds them, and run
//! with the password in the environment (never on a command line other users can read).

use std::path::{Path, PathBuf};

/// Where `pg_dump` and `pg_restore` live.
#[derive(Debug, Clone)]
pub struct PgTools {
    pub bin_dir: Option<PathBuf>,
}

impl PgTools {
    /// `--pg-bin DIR` when given; else the newest `/usr/lib/postgresql/*/bin` (a newer pg_dump
    /// reads older servers, not the other way round); else whatever is on `PATH`.
    pub fn find(explicit: Option<PathBuf>) -> Self {
        if explicit.is_some() {
            return Self { bin_dir: explicit };
        }
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
                let bin = entry.path().join("bin");
                bin.join("pg_dump").is_file().then_some((version, bin))
            })
            .collect();
        versions.sort();
        Self { bin_dir: versions.pop().map(|(_, bin)| bin) }
    }

    fn program(&self, name: &str) -> PathBuf {
        match &self.bin_dir {
            Some(dir) => dir.join(name),
            None => PathBuf::from(name),
        }
    }

    /// Dumps the database at `url` as seen by the exported `snapshot` into `file` (custom format).
    pub async fn dump(&self, url: &str, snapshot: &str, file: &Path) -> anyhow::Result<()> {
        let (url, password) = split_password(url);
        let mut command = tokio::process::Command::new(self.program("pg_dump"));
        command
            .arg("--format=custom")
            .arg(format!("--snapshot={snapshot}"))
            .arg("--no-password")
            .arg("--file")
            .arg(file)
            .arg("--dbname")
            .arg(&url);
        run(command, password, "pg_dump").await
    }

    /// Restores `file` into the (empty) database at `url`, all or nothing.
    pub async fn restore(&self, url: &str, file: &Path) -> anyhow::Result<()> {
        let (url, password) = split_password(url);
        let mut command = tokio::process::Command::new(self.program("pg_restore"));
        command
            .arg("--exit-on-error")
            .arg("--single-transaction")
            .arg("--no-owner")
            .arg("--no-privileges")
            .arg("--no-password")
            .arg("--dbname")
            .arg(&url)
            .arg(file);
        run(command, password, "pg_restore").await
    }
}

async fn run(mut command: tokio::process::Command, password: Option<String>, name: &str) -> anyhow::Result<()> {
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    let output = command
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| anyhow::anyhow!("cannot run {name} ({e}); install PostgreSQL's client programs or pass --pg-bin DIR"))?;
    if output.status.success() {
        Ok(())
    } else {
        anyhow::bail!("{name} failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr).trim())
    }
}

/// The URL without its password, and the password (percent-decoded) for `PGPASSWORD`.
pub fn split_password(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else { return (url.to_owned(), None) };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((user_info, host)) = authority.rsplit_once('@') else { return (url.to_owned(), None) };
    let Some((user, password)) = user_info.split_once(':') else { return (url.to_owned(), None) };
    (format!("{scheme}://{user}@{host}{tail}"), Some(percent_decode(password)))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((high * 16 + low) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url_decoded() {
        assert_eq!(
            split_password("postgres://cadence:p%40ss%2Fw@db:5432/cadence?sslmode=require"),
            ("postgres://cadence@db:5432/cadence?sslmode=require".to_owned(), Some("p@ss/w".to_owned()))
        );
        assert_eq!(split_password("postgres://postgres@127.0.0.1/c"), ("postgres://postgres@127.0.0.1/c".to_owned(), None));
        assert_eq!(percent_decode("100%"), "100%");
    }
}
