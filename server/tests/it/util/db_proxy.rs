//! A TCP proxy between one server's pool and PostgreSQL with a switch that pauses traffic, so
//! a test can stall that server's database connections (as a half-open connection or a
//! partition would) while everything else keeps working. It also counts round trips.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU64, Ordering},
};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
    sync::watch,
};

pub struct DbProxy {
    /// `host:port` to put in the server's `DATABASE_URL` instead of PostgreSQL's.
    pub addr: String,
    paused: Arc<watch::Sender<bool>>,
    round_trips: Arc<AtomicU64>,
}

impl DbProxy {
    /// Forwards to `upstream` (`host:port`) until the test ends.
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let paused = Arc::new(watch::channel(false).0);
        let round_trips = Arc::new(AtomicU64::new(0));
        let upstream = upstream.to_owned();
        let (switch, counter) = (paused.clone(), round_trips.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&upstream).await else { continue };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                let turns = Arc::new(Mutex::new(Turns { counter: counter.clone(), outstanding: 0 }));
                let requests = Messages::new(Side::Client, turns.clone());
                let replies = Messages::new(Side::Server, turns);
                tokio::spawn(pipe(client_read, server_write, switch.subscribe(), requests));
                tokio::spawn(pipe(server_read, client_write, switch.subscribe(), replies));
            }
        });
        Self { addr, paused, round_trips }
    }

    /// Round trips to PostgreSQL so far over every connection through this proxy: times a
    /// client sent a query (a `Sync` or a simple `Query`) while it waited for no answer, so a
    /// pipelined batch counts once and a prepare-then-execute counts twice.
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::SeqCst)
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
async fn pipe(
    mut from: impl tokio::io::AsyncRead + Unpin,
    mut to: impl tokio::io::AsyncWrite + Unpin,
    mut paused: watch::Receiver<bool>,
    mut messages: Messages,
) {
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
        messages.read(&buffer[..read]);
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}

/// One connection's round trips: queries sent and not yet answered by `ReadyForQuery`.
struct Turns {
    counter: Arc<AtomicU64>,
    outstanding: u64,
}

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Client,
    Server,
}

/// Splits one direction of PostgreSQL's wire protocol into messages (type byte, then a length
/// that counts itself) and tells [`Turns`] about queries and answers. The client's first
/// messages (start-up, SSL or GSS requests) have no type byte.
struct Messages {
    side: Side,
    turns: Arc<Mutex<Turns>>,
    untyped: bool,
    header: Vec<u8>,
    skip: usize,
}

impl Messages {
    fn new(side: Side, turns: Arc<Mutex<Turns>>) -> Self {
        Self { side, turns, untyped: side == Side::Client, header: Vec::new(), skip: 0 }
    }

    fn read(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.skip > 0 {
                let skipped = self.skip.min(bytes.len());
                self.skip -= skipped;
                bytes = &bytes[skipped..];
                continue;
            }
            let header_len = if self.untyped { 4 } else { 5 };
            let wanted = header_len - self.header.len();
            let taken = wanted.min(bytes.len());
            self.header.extend_from_slice(&bytes[..taken]);
            bytes = &bytes[taken..];
            if self.header.len() < header_len {
                return;
            }
            let length_at = header_len - 4;
            let length = u32::from_be_bytes(self.header[length_at..].try_into().unwrap()) as usize;
            let kind = (!self.untyped).then(|| self.header[0]);
            self.header.clear();
            self.skip = length.saturating_sub(4);
            match kind {
                // Start-up, SSL and GSS requests; typed messages follow the start-up packet.
                None => {
                    if length != 8 {
                        self.untyped = false;
                    }
                }
                Some(kind) => self.saw(kind),
            }
        }
    }

    fn saw(&self, kind: u8) {
        let mut turns = self.turns.lock().unwrap();
        match (self.side, kind) {
            (Side::Client, b'S' | b'Q') => {
                if turns.outstanding == 0 {
                    turns.counter.fetch_add(1, Ordering::SeqCst);
                }
                turns.outstanding += 1;
            }
            (Side::Server, b'Z') => turns.outstanding = turns.outstanding.saturating_sub(1),
            _ => {}
        }
    }
}
