//! The app as registered in TikTok's developer portal: its approved scopes and redirect URIs.

use crate::config::SandboxConfig;

/// TikTok's limit on registered redirect URIs (§2.1).
const MAX_REDIRECT_URI: usize = 512;
/// Plain http is allowed only for these hosts (desktop apps, §2.1), and only with a port.
const LOOPBACK_HOSTS: [&str; 3] = ["127.0.0.1", "localhost", "[::1]"];

/// Whether `uri` could be registered at all: https, or plain-http loopback with a port; static
/// (no query), no fragment, no userinfo, under 512 characters.
pub fn is_registrable_redirect(uri: &str) -> bool {
    let unsafe_char = |c: char| c.is_whitespace() || c.is_control();
    if uri.len() >= MAX_REDIRECT_URI || uri.contains(['?', '#']) || uri.chars().any(unsafe_char) {
        return false;
    }
    let (secure, rest) = match (uri.strip_prefix("https://"), uri.strip_prefix("http://")) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        (None, None) => return false,
    };
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return false;
    }
    let (host, port) = split_port(authority);
    if host.is_empty() || port.is_some_and(|port| port.parse::<u16>().map_or(true, |port| port == 0)) {
        return false;
    }
    secure || (LOOPBACK_HOSTS.contains(&host) && port.is_some())
}

/// `host:port` into its parts; an IPv6 literal keeps its brackets.
fn split_port(authority: &str) -> (&str, Option<&str>) {
    let host_end =
        if authority.starts_with('[') { authority.find(']').map_or(authority.len(), |end| end + 1) } else { 0 };
    match authority[host_end..].rfind(':') {
        Some(colon) => (&authority[..host_end + colon], Some(&authority[host_end + colon + 1..])),
        None => (authority, None),
    }
}

/// An exact match with a registered URI that TikTok would have let the developer register.
pub fn is_registered_redirect(config: &SandboxConfig, uri: &str) -> bool {
    is_registrable_redirect(uri) && config.registered_redirect_uris.iter().any(|registered| registered == uri)
}

/// The first of `scopes` the app is not approved for.
pub fn unapproved_scope<'a>(config: &SandboxConfig, scopes: &'a [String]) -> Option<&'a str> {
    scopes.iter().find(|scope| !config.approved_scopes.contains(scope)).map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_uris_can_be_registered() {
        assert!(is_registrable_redirect("https://app.example/callback/"));
        assert!(is_registrable_redirect("https://app.example:8443/callback"));
        assert!(is_registrable_redirect("https://app.example"));
    }

    #[test]
    fn plain_http_only_for_loopback_with_a_port() {
        assert!(is_registrable_redirect("http://127.0.0.1:3000/oauth/tiktok/callback"));
        assert!(is_registrable_redirect("http://localhost:8080/cb"));
        assert!(is_registrable_redirect("http://[::1]:3000/cb"));
        assert!(!is_registrable_redirect("http://127.0.0.1/cb"), "loopback needs a port");
        assert!(!is_registrable_redirect("http://app.example:3000/cb"), "not loopback");
        assert!(!is_registrable_redirect("http://localhost.evil.example:3000/cb"));
        assert!(!is_registrable_redirect("http://[::1]/cb"));
    }

    #[test]
    fn static_uris_only() {
        assert!(!is_registrable_redirect("https://app.example/callback?next=/home"));
        assert!(!is_registrable_redirect("https://app.example/callback#frag"));
        assert!(!is_registrable_redirect("https://user@app.example/callback"));
        assert!(!is_registrable_redirect("https:///no-host"));
        assert!(!is_registrable_redirect("https://app.example:0/cb"));
        assert!(!is_registrable_redirect("https://app.example:99999/cb"));
        assert!(!is_registrable_redirect("ftp://app.example/callback"));
        assert!(!is_registrable_redirect("/relative/callback"));
        assert!(!is_registrable_redirect("https://app.example/a b"));
        assert!(!is_registrable_redirect(&format!("https://app.example/{}", "a".repeat(500))));
    }

    #[test]
    fn registered_means_an_exact_match() {
        let config = SandboxConfig::default();
        assert!(is_registered_redirect(&config, "http://127.0.0.1:3000/oauth/tiktok/callback"));
        assert!(!is_registered_redirect(&config, "http://127.0.0.1:3000/oauth/tiktok/callback/"));
        assert!(!is_registered_redirect(&config, "http://127.0.0.1:3001/oauth/tiktok/callback"));
        // A registration TikTok would never have accepted does not count either.
        let config = SandboxConfig { registered_redirect_uris: vec!["http://app.example/cb".to_owned()], ..config };
        assert!(!is_registered_redirect(&config, "http://app.example/cb"));
    }

    #[test]
    fn only_approved_scopes_pass() {
        let config = SandboxConfig::default();
        let asked = |names: &[&str]| names.iter().map(|name| (*name).to_owned()).collect::<Vec<_>>();
        assert_eq!(unapproved_scope(&config, &asked(&["user.info.basic", "video.publish", "video.upload"])), None);
        assert_eq!(unapproved_scope(&config, &asked(&["user.info.basic", "video.list"])), Some("video.list"));
        assert_eq!(unapproved_scope(&config, &asked(&["user.info.profile"])), Some("user.info.profile"));
    }
}
