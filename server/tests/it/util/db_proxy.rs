//! A TCP proxy between one server's pool and PostgreSQL with a switch that pauses traffic, so
//! a test can stall that server's database connections (as a half-open connection or a
//! partition would) while everything else keeps working.

use std::sync::Arc;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
    sync::watch,
};

pub struct DbProxy {
    /// `host:port` to put in the server's `DATABASE_URL` instead of PostgreSQL's.
    pub addr: String,
    paused: Arc<watch::Sender<bool>>,
}

impl DbProxy {
    /// Forwards to `upstream` (`host:port`) until the test ends.
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let paused = Arc::new(watch::channel(false).0);
        let upstream = upstream.to_owned();
        let switch = paused.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&upstream).await else { continue };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(pipe(client_read, server_write, switch.subscribe()));
                tokio::spawn(pipe(server_read, client_write, switch.subscribe()));
            }
        });
        Self { addr, paused }
    }

    /// Stops forwarding in both directions; bytes wait (in the proxy or the kernel) until
    /// [`Self::resume`].
    pub fn pause(&self) {
        self.paused.send_replace(true);
    }

    pub fn resume(&self) {
        self.paused.send_replace(false);
    }

    /// `database_url` with its host and port replaced by the proxy's.
    /// The `host:port` a database URL points at, for [`DbProxy::start`].
    pub fn upstream_of(database_url: &str) -> String {
        let rest = database_url.split_once("://").map_or(database_url, |(_, rest)| rest);
        let authority = rest.split('/').next().unwrap_or_default();
        authority.rsplit_once('@').map_or(authority, |(_, host)| host).to_owned()
    }

    pub fn url_for(&self, database_url: &str) -> String {
        let (scheme, rest) = database_url.split_once("://").unwrap();
        let (authority, path) = rest.split_once('/').unwrap();
        let user = authority.rsplit_once('@').map(|(user, _)| format!("{user}@")).unwrap_or_default();
        format!("{scheme}://{user}{}/{path}", self.addr)
    }
}

/// Copies one direction, holding each piece while paused (before reading and before writing).
async fn pipe(mut from: impl tokio::io::AsyncRead + Unpin, mut to: impl tokio::io::AsyncWrite + Unpin, mut paused: watch::Receiver<bool>) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        if paused.wait_for(|paused| !paused).await.is_err() {
            return;
        }
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        if paused.wait_for(|paused| !paused).await.is_err() {
            return;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}
