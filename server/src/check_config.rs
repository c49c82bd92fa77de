//! `server check-config`: prints what a start would use (secrets masked) and what is wrong,
//! without starting anything; the exit code is non-zero when a start would fail.

use app::config::{Config, MediaConfig, TokenKeySource};
use std::path::Path;
use std::time::Duration;

/// One checked item: a label, what it is set to, and whether it stops a start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub label: &'static str,
    pub value: String,
    pub problem: Option<String>,
}

impl Line {
    fn ok(label: &'static str, value: impl Into<String>) -> Self {
        Self { label, value: value.into(), problem: None }
    }

    fn bad(label: &'static str, value: impl Into<String>, problem: impl Into<String>) -> Self {
        Self { label, value: value.into(), problem: Some(problem.into()) }
    }
}

/// Runs every check against the process environment, prints the report, returns the exit code.
pub async fn run() -> std::process::ExitCode {
    let vars: Vec<(String, String)> = std::env::vars().collect();
    let lines = check(&vars).await;
    print!("{}", render(&lines));
    if lines.iter().any(|line| line.problem.is_some()) {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    }
}

/// The report as text: one line per item, problems marked and repeated at the end.
pub fn render(lines: &[Line]) -> String {
    let mut out = String::from("Cadence configuration (secrets masked)\n");
    for line in lines {
        let mark = if line.problem.is_some() { "✗" } else { "✓" };
        out.push_str(&format!("  {mark} {:<14} {}\n", line.label, line.value));
    }
    let problems: Vec<&Line> = lines.iter().filter(|line| line.problem.is_some()).collect();
    if problems.is_empty() {
        out.push_str("No problems found: a start would use the settings above.\n");
    } else {
        out.push_str(&format!("{} problem(s); Cadence would not start:\n", problems.len()));
        for line in problems {
            out.push_str(&format!("  - {}: {}\n", line.label, line.problem.as_deref().unwrap_or_default()));
        }
    }
    out
}

/// Every check. Never writes: a token key file that a start would generate is only announced.
pub async fn check(vars: &[(String, String)]) -> Vec<Line> {
    let get = |name: &str| vars.iter().find(|(key, _)| key == name).map(|(_, v)| v.trim().to_owned()).filter(|v| !v.is_empty());
    let data_dir = std::path::PathBuf::from(get("CADENCE_DATA_DIR").unwrap_or_else(|| ".data".into()));
    let key_file = data_dir.join("token-keys");
    let key_file_would_be_generated = get("CADENCE_TOKEN_KEYS").is_none()
        && get("CADENCE_TIKTOK_CLIENT_KEY").is_none()
        && get("CADENCE_TIKTOK_CLIENT_SECRET").is_none()
        && !key_file.exists();
    let mut parse_vars = vars.to_vec();
    if key_file_would_be_generated {
        // Parse with a throw-away key instead of letting the parser create the file.
        parse_vars.retain(|(key, _)| key != "CADENCE_TOKEN_KEYS");
        parse_vars.push(("CADENCE_TOKEN_KEYS".into(), app::crypto::TokenCipher::generate_key_entry("check")));
    }
    let (config, cipher) = match Config::from_vars(&parse_vars) {
        Ok(parsed) => parsed,
        Err(error) => return vec![Line::bad("settings", format!("{} is wrong", error.variable), error.to_string())],
    };

    let mut lines = vec![database_line(&config).await];
    lines.extend(site_lines());
    lines.push(Line::ok("public URL", config.http.public_origin.clone().unwrap_or_else(|| "unset: the request's Host is the origin".into())));
    lines.push(data_dir_line(&config.data_dir));
    lines.push(match &config.media {
        MediaConfig::Local { dir } => Line::ok("media", format!("local directory {}", dir.display())),
        MediaConfig::S3(s3) => Line::ok(
            "media",
            format!(
                "S3 bucket {} at {} ({}), access key {}, secret {}",
                s3.bucket,
                s3.endpoint.as_deref().unwrap_or("AWS"),
                s3.region,
                mask_middle(&s3.access_key_id),
                MASK
            ),
        ),
    });
    let ids = cipher.key_ids().join(", ");
    lines.push(match (&config.token_key_source, key_file_would_be_generated) {
        (_, true) => Line::ok("token keys", format!("none yet: a start generates one into {} (mode 0600)", key_file.display())),
        (TokenKeySource::Environment, _) => Line::ok("token keys", format!("CADENCE_TOKEN_KEYS, key ids {ids} (the first encrypts)")),
        (TokenKeySource::File(path), _) => Line::ok("token keys", format!("file {}, key ids {ids}", path.display())),
    });
    if !key_file_would_be_generated {
        lines.push(stored_tokens_line(&config, &cipher).await);
    }
    let tiktok = &config.tiktok;
    lines.push(match &tiktok.credentials {
        None => Line::ok("TikTok", format!("sandbox mode (no credentials); sandbox on {}", tiktok.sandbox_addr)),
        Some(credentials) => Line::ok(
            "TikTok",
            format!(
                "client key {}, secret {}, API {}",
                mask_middle(&credentials.client_key),
                MASK,
                tiktok.api_url.as_deref().unwrap_or("https://open.tiktokapis.com")
            ),
        ),
    });
    lines.push(Line::ok("scopes", tiktok.requested_scopes.join(",")));
    lines.push(Line::ok(
        "pools",
        format!("{} connections for pages, {} for jobs", config.database.pool_size, config.database.jobs_pool_size),
    ));
    lines.push(Line::ok("scheduler", if config.scheduler_enabled { "on" } else { "off (CADENCE_SCHEDULER_ENABLED)" }));
    lines.push(Line::ok("log format", format!("{:?}", config.log_format).to_lowercase()));
    lines
}

const MASK: &str = "***";

/// `abcd…wxyz` for identifiers that help recognise a value without giving it away.
fn mask_middle(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= 8 {
        return MASK.to_owned();
    }
    format!("{}…{}", chars[..3].iter().collect::<String>(), chars[chars.len() - 3..].iter().collect::<String>())
}

/// The database URL with its password (in the user part or a `password=` parameter) masked.
pub fn mask_database_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _password)) => format!("{user}:{MASK}@{host}"),
            None => format!("{user_info}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}={MASK}"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

async fn database_line(config: &Config) -> Line {
    let shown = mask_database_url(&config.database.url);
    let timeout = config.database.connect_timeout.max(Duration::from_secs(1));
    match tokio::time::timeout(timeout, crate::migrations::status(&config.database.url)).await {
        Err(_) => Line::bad("database", &shown, format!("no answer within {} s", timeout.as_secs())),
        Ok(Err(error)) => Line::bad("database", &shown, format!("{error:#}")),
        Ok(Ok(status)) if !status.unknown.is_empty() => {
            Line::bad("database", &shown, crate::migrations::newer_database_message(&status.unknown))
        }
        Ok(Ok(status)) => Line::ok(
            "database",
            format!(
                "{shown} (reachable; {} migrations applied, {} to apply at start)",
                status.applied,
                status.pending.len()
            ),
        ),
    }
}

/// Where the site is served from, and whether the bundle a page asks for is there.
fn site_lines() -> Vec<Line> {
    let mut options = match leptos::prelude::get_configuration(None) {
        Ok(conf) => conf.leptos_options,
        Err(error) => return vec![Line::bad("site", "LEPTOS_* settings", error.to_string())],
    };
    let listen = Line::ok("listen", format!("{} (LEPTOS_SITE_ADDR)", options.site_addr));
    let pkg = Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    // The names the pages will ask for: hashed when the build left a hash file.
    let bundle = app::assets::Bundle::prepare(&mut options);
    let files = [&bundle.wasm, &bundle.js, &bundle.css];
    let missing: Vec<&str> = files.iter().filter(|file| !pkg.join(file.as_str()).is_file()).map(|file| file.as_str()).collect();
    let shown = format!(
        "{} (LEPTOS_SITE_ROOT), bundle {}/{{{}}}",
        options.site_root,
        pkg.display(),
        files.map(String::as_str).join(",")
    );
    let site = if missing.is_empty() {
        Line::ok("site", shown)
    } else {
        Line::bad(
            "site",
            shown,
            format!(
                "missing {}: point LEPTOS_SITE_ROOT at the unpacked site directory (or build it), \
                 or pages load without their script and style",
                missing.join(", ")
            ),
        )
    };
    vec![listen, site]
}

fn data_dir_line(dir: &Path) -> Line {
    let shown = dir.display().to_string();
    if !dir.exists() {
        return match dir.ancestors().skip(1).find(|p| p.exists()) {
            Some(parent) if writable(parent) => Line::ok("data dir", format!("{shown} (created at start)")),
            _ => Line::bad("data dir", &shown, "does not exist and cannot be created"),
        };
    }
    if writable(dir) { Line::ok("data dir", format!("{shown} (writable)")) } else { Line::bad("data dir", &shown, "is not writable") }
}

fn writable(dir: &Path) -> bool {
    let probe = dir.join(format!(".check-config-{}", std::process::id()));
    let ok = std::fs::write(&probe, b"").is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}

async fn stored_tokens_line(config: &Config, cipher: &app::crypto::TokenCipher) -> Line {
    use diesel_async::AsyncConnection as _;
    let checked = async {
        let status = crate::migrations::status(&config.database.url).await.ok()?;
        if !status.pending.is_empty() {
            return Some(Ok("not checked: migrations are pending".to_owned()));
        }
        let mut conn = diesel_async::AsyncPgConnection::establish(&config.database.url).await.ok()?;
        Some(
            app::accounts::keys::check_stored_keys(&mut conn, cipher)
                .await
                .map(|ids| format!("open with the configured keys ({ids} key id(s) in use)")),
        )
    };
    match tokio::time::timeout(config.database.connect_timeout.max(Duration::from_secs(1)), checked).await {
        Ok(Some(Ok(text))) => Line::ok("stored tokens", text),
        Ok(Some(Err(error))) => Line::bad("stored tokens", "do not open", error.to_string()),
        Ok(None) | Err(_) => Line::ok("stored tokens", "not checked: the database is not reachable"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_are_masked_wherever_they_are() {
        assert_eq!(mask_database_url("postgres://cadence:s3cret@db:5432/cadence"), "postgres://cadence:***@db:5432/cadence");
        assert_eq!(
            mask_database_url("postgresql://u@/c?host=/run/pg&password=s3cret"),
            "postgresql://u@/c?host=/run/pg&password=***"
        );
        assert_eq!(mask_database_url("postgres://postgres@127.0.0.1/c"), "postgres://postgres@127.0.0.1/c");
    }

    #[test]
    fn identifiers_keep_only_their_ends() {
        assert_eq!(mask_middle("aw_1234567890"), "aw_…890");
        assert_eq!(mask_middle("short"), MASK);
    }

    #[test]
    fn problems_are_marked_and_listed() {
        let text = render(&[Line::ok("a", "fine"), Line::bad("b", "x", "broken")]);
        assert!(text.contains("✓ a"), "{text}");
        assert!(text.contains("✗ b"), "{text}");
        assert!(text.contains("1 problem(s)") && text.contains("- b: broken"), "{text}");
        assert!(render(&[Line::ok("a", "fine")]).contains("No problems found"));
    }
}
