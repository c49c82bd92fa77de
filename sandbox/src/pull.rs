//! PULL_FROM_URL (tiktok-api.md §4.7): which URLs the app may hand TikTok (verified domains and
//! URL prefixes, https, no redirects), and the download itself, really made over HTTP in ranges,
//! with its progress (`downloaded_bytes`), timeout, cancel and injectable slowness or failure.

use std::time::{Duration, Instant};

use axum::http::{StatusCode, header};
use futures_util::StreamExt as _;
use sha2::Digest as _;

use crate::Sandbox;
use crate::chunks::parse_content_range;
use crate::config::SandboxConfig;
use crate::publish::notify_when_final;

/// The fail reason TikTok gives a video whose download failed or timed out (§4.8).
pub const VIDEO_PULL_FAILED: &str = "video_pull_failed";

/// The documented `fail_reason` a pull failed with (status replies carry `&'static str`s).
pub fn fail_reason_of(pull: &PullTask) -> &'static str {
    const KNOWN: [&str; 4] = [VIDEO_PULL_FAILED, "photo_pull_failed", "file_format_check_failed", "picture_size_check_failed"];
    let reason = pull.fail_reason.as_deref().unwrap_or(VIDEO_PULL_FAILED);
    KNOWN.into_iter().find(|known| *known == reason).unwrap_or(VIDEO_PULL_FAILED)
}

/// A PULL_FROM_URL download: where from, and how far it got.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct PullTask {
    pub url: String,
    /// Bytes read so far (`downloaded_bytes`).
    pub downloaded: u64,
    /// The file's length, once the first reply told it.
    pub total: Option<u64>,
    /// Every byte arrived.
    pub complete: bool,
    /// Why the download (or, for photos, an image's check) failed: the status' `fail_reason`.
    pub fail_reason: Option<String>,
}

/// Plain http counts only for these hosts, and only when the sandbox is told to allow it.
const LOOPBACK_HOSTS: [&str; 3] = ["127.0.0.1", "localhost", "[::1]"];

/// Why a URL may not be pulled: TikTok's `url_ownership_unverified` for any URL outside the
/// app's verified properties, `invalid_param` for something that is not a URL at all.
#[derive(Debug, PartialEq, Eq)]
pub enum UrlRefusal {
    NotAUrl,
    Unverified,
}

/// Checks `url` against the app's verified properties: a domain covers itself and its
/// subdomains, a URL prefix (`https://host/path/`, host not an IP) covers URLs starting with it.
/// Only https, unless `allow_loopback_http_pulls` admits plain http to a loopback host (tests and
/// local runs have no certificate; TikTok itself never allows it).
pub fn check_url(config: &SandboxConfig, url: &str) -> Result<(), UrlRefusal> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) || url.contains('#') {
        return Err(UrlRefusal::NotAUrl);
    }
    let (secure, rest) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        (None, None) => return Err(UrlRefusal::NotAUrl),
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return Err(UrlRefusal::NotAUrl);
    }
    let host = host_of(authority).to_ascii_lowercase();
    if !secure && !(config.allow_loopback_http_pulls && LOOPBACK_HOSTS.contains(&host.as_str())) {
        return Err(UrlRefusal::Unverified);
    }
    let by_domain = config.verified_domains.iter().any(|domain| {
        let domain = domain.to_ascii_lowercase();
        // Plain http got here only as a loopback host the sandbox was told to admit.
        (secure || config.allow_loopback_http_pulls) && (host == domain || host.ends_with(&format!(".{domain}")))
    });
    let by_prefix = config.verified_url_prefixes.iter().any(|prefix| is_prefix_property(config, prefix) && url.starts_with(prefix.as_str()));
    if by_domain || by_prefix { Ok(()) } else { Err(UrlRefusal::Unverified) }
}

/// Whether `prefix` is a URL-prefix property TikTok would verify: `https://host/…/` ending in a
/// slash, host not an IP address (loopback http only when allowed, for local runs).
fn is_prefix_property(config: &SandboxConfig, prefix: &str) -> bool {
    let (secure, rest) = match (prefix.strip_prefix("https://"), prefix.strip_prefix("http://")) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        (None, None) => return false,
    };
    let Some((authority, _path)) = rest.split_once('/') else {
        return false;
    };
    let host = host_of(authority);
    if !prefix.ends_with('/') || host.is_empty() || prefix.contains(['?', '#']) {
        return false;
    }
    if secure {
        host.parse::<std::net::IpAddr>().is_err() && !host.starts_with('[')
    } else {
        config.allow_loopback_http_pulls && LOOPBACK_HOSTS.contains(&host)
    }
}

/// `host` of `host:port`; an IPv6 literal keeps its brackets.
fn host_of(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority.find(']').map_or(authority, |end| &authority[..=end]);
    }
    authority.rsplit_once(':').map_or(authority, |(host, _)| host)
}

/// Fails every download a restart cut off (loaded unfinished, neither failed nor cancelled)
/// with TikTok's `video_pull_failed` / `photo_pull_failed`, and sends its webhooks. Whether
/// TikTok retries a download that broke off is not documented; a connection error is
/// documented as this failure (tiktok-api.md §4.9), so the strict reading: the client tries again.
pub(crate) fn fail_cut_off(sandbox: &Sandbox) {
    let cut_off: Vec<(String, &'static str)> = {
        let state = sandbox.inner.lock();
        state
            .publishes
            .iter()
            .filter(|publish| publish.aborted.is_none() && publish.completed_at.is_none())
            .filter(|publish| publish.pull.as_ref().is_some_and(|pull| !pull.complete && pull.fail_reason.is_none()))
            .map(|publish| (publish.id.clone(), if publish.photo.is_some() { crate::photos::PHOTO_PULL_FAILED } else { VIDEO_PULL_FAILED }))
            .collect()
    };
    for (publish_id, fail_reason) in cut_off {
        finish(sandbox, &publish_id, Err((fail_reason, "the sandbox restarted during the download".to_owned())));
    }
}

/// Starts downloading publish `publish_id` from `url` in the background.
pub fn start(sandbox: &Sandbox, publish_id: String, url: String) {
    let sandbox = sandbox.clone();
    tokio::spawn(async move {
        let limit = sandbox.inner.config.pull_timeout;
        let outcome = match tokio::time::timeout(limit, download(&sandbox, &publish_id, &url)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!("the download did not finish within {} s", limit.as_secs())),
        };
        finish(&sandbox, &publish_id, outcome.map_err(|detail| (VIDEO_PULL_FAILED, detail)));
    });
}

/// What the sandbox does with downloads besides fetching them: slowness and failures a test asks
/// for, as TikTok's downloads are slow or break when the URL's server misbehaves.
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct PullFaults {
    /// The next this many downloads break off after their first range.
    pub fail_next: u32,
    /// Downloads read at most this many bytes a second (`None`: as fast as Cadence serves).
    pub bytes_per_sec: Option<u64>,
}

/// Reads the whole file, one range at a time. `Ok(())` once every byte is in; `Err` says why not.
async fn download(sandbox: &Sandbox, publish_id: &str, url: &str) -> Result<(), String> {
    let config = &sandbox.inner.config;
    // TikTok does not follow redirects: a 3xx is a failed pull, never a new location.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(config.pull_read_timeout)
        .build()
        .map_err(|error| error.to_string())?;
    let breaks_off = {
        let mut state = sandbox.inner.lock();
        let faults = &mut state.pull_faults;
        let fail = faults.fail_next > 0;
        faults.fail_next = faults.fail_next.saturating_sub(1);
        fail
    };
    let mut offset = 0u64;
    loop {
        let last = offset + config.pull_range_bytes.max(1) - 1;
        let response = http
            .get(url)
            .header(header::RANGE, format!("bytes={offset}-{last}"))
            .send()
            .await
            .map_err(|error| format!("the request failed: {}", error.without_url()))?;
        let status = response.status();
        if status.is_redirection() {
            return Err(format!("the URL redirected ({status}); TikTok does not follow redirects"));
        }
        let total = match status {
            StatusCode::PARTIAL_CONTENT => {
                let range = response
                    .headers()
                    .get(header::CONTENT_RANGE)
                    .and_then(|value| value.to_str().ok())
                    .and_then(parse_content_range);
                let Some((range, total)) = range else {
                    return Err("a 206 reply without a valid Content-Range".to_owned());
                };
                if range.first != offset {
                    return Err(format!("asked for bytes from {offset}, got {}", range.first));
                }
                total
            }
            // A server that ignores Range sends the whole file, which is fine from the start.
            StatusCode::OK if offset == 0 => response.content_length().ok_or("a 200 reply without a length")?,
            status => return Err(format!("the URL answered {status}")),
        };
        record_total(sandbox, publish_id, total)?;
        let mut body = response.bytes_stream();
        while let Some(piece) = body.next().await {
            let piece = piece.map_err(|error| format!("the download broke off: {}", error.without_url()))?;
            if offset + piece.len() as u64 > total {
                return Err("the URL sent more bytes than its length".to_owned());
            }
            offset += piece.len() as u64;
            let rate = take_piece(sandbox, publish_id, &piece)?;
            if let Some(rate) = rate {
                // Models a slow line: the download itself is slow, not a test's wait.
                tokio::time::sleep(Duration::from_secs_f64(piece.len() as f64 / rate.max(1) as f64)).await;
            }
        }
        if breaks_off {
            return Err("the connection to the URL broke (injected)".to_owned());
        }
        if offset >= total {
            return Ok(());
        }
        if status == StatusCode::OK {
            return Err("the reply ended before the whole file arrived".to_owned());
        }
    }
}

fn record_total(sandbox: &Sandbox, publish_id: &str, total: u64) -> Result<(), String> {
    let mut state = sandbox.inner.lock();
    let pull = state.publish_mut(publish_id).and_then(|publish| publish.pull.as_mut()).ok_or("the publish is gone")?;
    match pull.total {
        Some(known) if known != total => Err(format!("the file's length changed from {known} to {total}")),
        _ => {
            pull.total = Some(total);
            Ok(())
        }
    }
}

/// Counts, hashes and keeps (the head of) one piece; stops a cancelled download. Returns the
/// injected rate limit, if any.
pub(crate) fn take_piece(sandbox: &Sandbox, publish_id: &str, piece: &[u8]) -> Result<Option<u64>, String> {
    let mut state = sandbox.inner.lock();
    let rate = state.pull_faults.bytes_per_sec;
    let publish = state.publish_mut(publish_id).ok_or("the publish is gone")?;
    if publish.aborted.is_some() {
        return Err("the download was cancelled".to_owned());
    }
    let room = publish.upload.head_room().min(piece.len());
    publish.upload.head.extend_from_slice(&piece[..room]);
    publish.upload.hasher.update(piece);
    if let Some(pull) = publish.pull.as_mut() {
        pull.downloaded += piece.len() as u64;
    }
    Ok(rate)
}

/// Records how a download ended (`Err((fail_reason, what happened))`) and, once the status is
/// final, sends the webhooks; shared by video and photo pulls.
pub(crate) fn finish(sandbox: &Sandbox, publish_id: &str, outcome: Result<(), (&'static str, String)>) {
    let delay = sandbox.inner.config.processing_delay;
    let now = Instant::now();
    let final_at = {
        let mut state = sandbox.inner.lock();
        let latest_ms = state.publishes.iter().filter_map(|publish| publish.published_ms).max();
        let Some(publish) = state.publish_mut(publish_id) else {
            return;
        };
        let Some(creator) = sandbox.inner.creator(&publish.open_id).cloned() else {
            return;
        };
        if publish.aborted.is_some() {
            // Cancelled (or authorization removed): the status already says so.
            now
        } else {
            match outcome {
                Ok(()) if publish.photo.is_some() => {
                    publish.complete_photos(now, delay, latest_ms);
                    now + delay
                }
                Ok(()) => {
                    if let Some(pull) = publish.pull.as_mut() {
                        pull.complete = true;
                    }
                    publish.complete(&creator, now, delay, latest_ms);
                    now + delay
                }
                Err((fail_reason, detail)) => {
                    tracing::info!(publish_id, fail_reason, detail = %detail, "sandbox: PULL_FROM_URL download failed");
                    if let Some(pull) = publish.pull.as_mut() {
                        pull.fail_reason = Some(fail_reason.to_owned());
                    }
                    now
                }
            }
        }
    };
    announce_when_final(sandbox, publish_id, final_at);
}

/// Once a download's status is final (at `final_at`, and again after moderation), sends the
/// webhooks TikTok sends; shared by video and photo pulls.
pub(crate) fn announce_when_final(sandbox: &Sandbox, publish_id: &str, final_at: Instant) {
    let delay = sandbox.inner.config.processing_delay;
    let moderated_at = {
        let state = sandbox.inner.lock();
        state.publish(publish_id).and_then(|publish| publish.moderated_at(delay, sandbox.inner.config.moderation_delay))
    };
    notify_when_final(sandbox, publish_id.to_owned(), final_at, moderated_at);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(domains: &[&str], prefixes: &[&str], loopback: bool) -> SandboxConfig {
        SandboxConfig {
            verified_domains: domains.iter().map(|d| (*d).to_owned()).collect(),
            verified_url_prefixes: prefixes.iter().map(|p| (*p).to_owned()).collect(),
            allow_loopback_http_pulls: loopback,
            ..SandboxConfig::default()
        }
    }

    #[test]
    fn nothing_is_verified_by_default() {
        let config = SandboxConfig::default();
        assert_eq!(check_url(&config, "https://cadence.example/media/pull/abc"), Err(UrlRefusal::Unverified));
    }

    #[test]
    fn a_domain_covers_itself_and_its_subdomains_over_https_only() {
        let config = config(&["example.com"], &[], false);
        assert_eq!(check_url(&config, "https://example.com/v.mp4"), Ok(()));
        assert_eq!(check_url(&config, "https://media.example.com:8443/v.mp4"), Ok(()));
        assert_eq!(check_url(&config, "https://badexample.com/v.mp4"), Err(UrlRefusal::Unverified));
        assert_eq!(check_url(&config, "http://example.com/v.mp4"), Err(UrlRefusal::Unverified));
        assert_eq!(check_url(&config, "https://example.com.evil.net/v.mp4"), Err(UrlRefusal::Unverified));
        assert_eq!(check_url(&config, "https://user@example.com/v.mp4"), Err(UrlRefusal::NotAUrl));
        assert_eq!(check_url(&config, "ftp://example.com/v.mp4"), Err(UrlRefusal::NotAUrl));
    }

    #[test]
    fn a_verified_localhost_domain_takes_loopback_http_only_when_admitted() {
        let strict = config(&["localhost"], &[], false);
        assert_eq!(check_url(&strict, "http://localhost:4100/media/pull/abc"), Err(UrlRefusal::Unverified));
        let local = config(&["localhost"], &[], true);
        assert_eq!(check_url(&local, "http://localhost:4100/media/pull/abc"), Ok(()), "any port, as a domain property");
        assert_eq!(check_url(&local, "http://127.0.0.1:4100/media/pull/abc"), Err(UrlRefusal::Unverified), "another host");
        assert_eq!(check_url(&local, "http://cadence.example/media/pull/abc"), Err(UrlRefusal::Unverified), "not loopback");
    }

    #[test]
    fn a_prefix_covers_what_starts_with_it_and_must_name_a_host_not_an_ip() {
        let config = config(&[], &["https://cdn.example/media/pull/", "https://10.0.0.1/media/"], false);
        assert_eq!(check_url(&config, "https://cdn.example/media/pull/tok"), Ok(()));
        assert_eq!(check_url(&config, "https://cdn.example/media/other"), Err(UrlRefusal::Unverified));
        assert_eq!(check_url(&config, "https://10.0.0.1/media/tok"), Err(UrlRefusal::Unverified), "an IP prefix is not verifiable");
    }

    #[test]
    fn plain_http_loopback_only_when_allowed() {
        let prefix = ["http://127.0.0.1:4000/media/pull/"];
        assert_eq!(check_url(&config(&[], &prefix, false), "http://127.0.0.1:4000/media/pull/t"), Err(UrlRefusal::Unverified));
        assert_eq!(check_url(&config(&[], &prefix, true), "http://127.0.0.1:4000/media/pull/t"), Ok(()));
        let remote = ["http://cadence.example/media/pull/"];
        assert_eq!(check_url(&config(&[], &remote, true), "http://cadence.example/media/pull/t"), Err(UrlRefusal::Unverified));
    }
}
