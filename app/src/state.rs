//! The state shared by every request, and the helpers server functions use to reach it.

use crate::{
    config::Config,
    crypto::TokenCipher,
    db::{DbConn, DbPool},
    error::{AppError, AppResult},
    media::store::MediaStore,
    tiktok::client::TikTokApp,
};
use axum::extract::FromRef;
use leptos::prelude::{LeptosOptions, use_context};
use std::{net::IpAddr, sync::Arc};
use tower_sessions::Session;

/// One per process; cloned into every request's context by `leptos_routes_with_context`.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: DbPool,
    pub config: Arc<Config>,
    pub cipher: Arc<TokenCipher>,
    pub tiktok: Arc<TikTokApp>,
    /// Where scheduled posts' videos wait.
    pub media: Arc<MediaStore>,
    /// Team analytics pages computed since the team's last collection.
    pub analytics_cache: Arc<crate::analytics::cache::TeamCache>,
}

/// The state of the running server, from the request context.
pub fn app_state() -> AppResult<AppState> {
    use_context::<AppState>()
        .ok_or_else(|| AppError::internal("AppState is missing from the request context", "no context"))
}

/// A pooled database connection.
///
/// The session is loaded first: the session store takes a pooled connection of its own the
/// first time a request reads the session, and a request that held one connection while
/// waiting for a second deadlocked the pool under load (the pages benchmark found it: 32
/// concurrent dashboards and no request ever finished).
pub async fn db() -> AppResult<DbConn> {
    if use_context::<http::request::Parts>().is_some() {
        session().await?.get::<serde_json::Value>(LOAD_SESSION_PROBE).await?;
    }
    Ok(app_state()?.pool.get().await?)
}

/// A key nobody writes; reading it makes the session store load the session.
const LOAD_SESSION_PROBE: &str = "_loaded";

/// The visitor's session (created lazily by the session layer).
///
/// Outside a request there is no caller, so this fails closed with `Unauthorized`.
pub async fn session() -> AppResult<Session> {
    if use_context::<http::request::Parts>().is_none() {
        tracing::warn!("no request context; treating the caller as anonymous");
        return Err(AppError::Unauthorized);
    }
    leptos_axum::extract::<Session>()
        .await
        .map_err(|e| AppError::internal("the session layer is missing", e))
}

/// The client's address: the connection's peer, or, when the peer is a trusted proxy, the
/// address [`forwarded_client`] finds in `X-Forwarded-For`.
pub fn client_ip() -> Option<IpAddr> {
    let parts = use_context::<http::request::Parts>()?;
    let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|info| info.0.ip())?;
    let trusted = app_state().map(|state| state.config.http.trusted_proxies.clone()).unwrap_or_default();
    let forwarded = parts.headers.get_all("x-forwarded-for").iter().filter_map(|value| value.to_str().ok());
    Some(forwarded_client(peer, forwarded, &trusted))
}

/// Who a request is from, given its peer, its `X-Forwarded-For` headers (in order) and the
/// trusted proxies. A peer that is not a trusted proxy is the client, whatever the header says
/// (anyone can send one). From a trusted proxy, the header is read from the right, since each
/// proxy appends the address it saw: the first address that is not a trusted proxy is the
/// client; the entries left of it were written by the client and prove nothing.
pub fn forwarded_client<'a>(
    peer: IpAddr,
    forwarded: impl Iterator<Item = &'a str>,
    trusted: &[ipnet::IpNet],
) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    // A dual-stack listener sees IPv4 peers as `::ffff:a.b.c.d`.
    let peer = peer.to_canonical();
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = forwarded
        .flat_map(|value| value.split(','))
        .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
        .collect();
    // Every hop a trusted proxy: the request started inside, at the left-most of them.
    hops.iter().rev().find(|ip| !is_trusted(ip)).or(hops.first()).copied().unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<ipnet::IpNet> {
        list.iter().map(|net| net.parse().unwrap()).collect()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_proxy() {
        let none = nets(&[]);
        assert_eq!(forwarded_client(ip("203.0.113.9"), ["198.51.100.1"].into_iter(), &none), ip("203.0.113.9"));
        let proxies = nets(&["10.0.0.0/8"]);
        assert_eq!(
            forwarded_client(ip("203.0.113.9"), ["198.51.100.1"].into_iter(), &proxies),
            ip("203.0.113.9"),
            "a client talking to Cadence directly cannot name another address"
        );
        assert_eq!(forwarded_client(ip("10.0.0.5"), ["198.51.100.1"].into_iter(), &proxies), ip("198.51.100.1"));
        assert_eq!(forwarded_client(ip("10.0.0.5"), std::iter::empty(), &proxies), ip("10.0.0.5"));
    }

    #[test]
    fn the_right_most_address_that_is_not_a_proxy_is_the_client() {
        let proxies = nets(&["10.0.0.0/8", "fd00::/8"]);
        // The client forged the first entry; the outer proxy appended the real one, the inner
        // proxy appended the outer one.
        let header = ["1.2.3.4, 198.51.100.7", "10.1.1.1"];
        assert_eq!(forwarded_client(ip("10.0.0.5"), header.into_iter(), &proxies), ip("198.51.100.7"));
        assert_eq!(forwarded_client(ip("fd00::2"), ["garbage, 2001:db8::1, fd00::9"].into_iter(), &proxies), ip("2001:db8::1"));
        assert_eq!(forwarded_client(ip("10.0.0.5"), ["10.2.2.2, 10.3.3.3"].into_iter(), &proxies), ip("10.2.2.2"));
        assert_eq!(forwarded_client(ip("::ffff:10.0.0.5"), ["::ffff:198.51.100.7"].into_iter(), &nets(&["10.0.0.0/8"])), ip("198.51.100.7"));
    }
}
