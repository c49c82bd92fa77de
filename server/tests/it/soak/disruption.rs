//! The soak's columns: what happens to the servers or the database while posts go out. Each
//! is stepped by the soak's loop and never blocks it for longer than one stop or start.

use super::Dice;
use crate::util::{
    TestApp, db_proxy::DbProxy, private_postgres::PrivatePostgres, sandbox::TestSandbox, server_process::ServerProcess,
};
use std::{path::Path, time::Duration};
use time::OffsetDateTime;
use tokio::time::Instant;

/// How long a stalled connection stays silent: past the servers' 4 s publish lease, so another
/// server takes the stalled one's posts over and the stalled one's late writes are fenced.
const STALL: Duration = Duration::from_secs(8);

/// Which fault a soak run applies, again and again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    /// A server process is SIGKILLed and replaced.
    Kills,
    /// One server's database connections go silent (a partition, a half-open connection).
    Stalls,
    /// PostgreSQL stops (`pg_ctl stop -m fast`) for a few seconds and starts again.
    Restarts,
}

impl Column {
    pub fn name(self) -> &'static str {
        match self {
            Self::Kills => "kills",
            Self::Stalls => "stalls",
            Self::Restarts => "restarts",
        }
    }
}

/// One column's fault in progress, with what it has done so far.
pub enum Disruption {
    Kills { killed_at: Vec<OffsetDateTime>, next: Instant },
    /// `stalled`: which server's proxy is paused, until when.
    Stalls { proxies: Vec<DbProxy>, stalled: Option<(usize, Instant)>, done: usize, next: Instant },
    /// `down_until`: PostgreSQL is stopped until then.
    Restarts { postgres: PrivatePostgres, down_until: Option<Instant>, done: usize, next: Instant },
}

impl Disruption {
    /// The column's set-up before the app exists: the restarts column's database lives on a
    /// cluster of its own, which it may stop without touching anyone else's.
    pub async fn private_postgres(column: Column) -> Option<PrivatePostgres> {
        if column == Column::Restarts { Some(PrivatePostgres::start().await) } else { None }
    }

    /// Starts the two servers the soak runs, wired for `column`.
    pub async fn start(
        column: Column,
        postgres: Option<PrivatePostgres>,
        app: &TestApp,
        sandbox: &TestSandbox,
        log: &Path,
    ) -> (Self, Vec<ServerProcess>) {
        let soon = Instant::now() + Duration::from_secs(3);
        match column {
            Column::Kills => {
                let pulling = started_pulling(ServerProcess::start_pulling_on(&app.db.url, app, sandbox, log, 8).await, sandbox).await;
                let servers = vec![pulling, ServerProcess::start(app, sandbox, log, 8).await];
                (Self::Kills { killed_at: Vec::new(), next: soon }, servers)
            }
            Column::Stalls => {
                // Each server reaches PostgreSQL through a proxy of its own, so one can be cut off.
                let mut proxies = Vec::new();
                let mut servers = Vec::new();
                for n in 0..2 {
                    let proxy = DbProxy::start(&DbProxy::upstream_of(&app.db.url)).await;
                    let database_url = proxy.url_for(&app.db.url);
                    servers.push(if n == 0 {
                        started_pulling(ServerProcess::start_pulling_on(&database_url, app, sandbox, log, 8).await, sandbox).await
                    } else {
                        ServerProcess::start_on(&database_url, app, sandbox, log, 8).await
                    });
                    proxies.push(proxy);
                }
                (Self::Stalls { proxies, stalled: None, done: 0, next: soon }, servers)
            }
            Column::Restarts => {
                let pulling = started_pulling(ServerProcess::start_pulling_on(&app.db.url, app, sandbox, log, 8).await, sandbox).await;
                let servers = vec![pulling, ServerProcess::start(app, sandbox, log, 8).await];
                let postgres = postgres.expect("the restarts column runs on a private cluster");
                (Self::Restarts { postgres, down_until: None, done: 0, next: soon }, servers)
            }
        }
    }

    /// Whether the database is stopped now (the soak then leaves it alone).
    pub fn database_down(&self) -> bool {
        matches!(self, Self::Restarts { down_until: Some(_), .. })
    }

    /// Faults applied so far (kills, stalls or restarts), counting one in progress.
    pub fn count(&self) -> usize {
        match self {
            Self::Kills { killed_at, .. } => killed_at.len(),
            Self::Stalls { done, stalled, .. } => done + usize::from(stalled.is_some()),
            Self::Restarts { done, down_until, .. } => done + usize::from(down_until.is_some()),
        }
    }

    /// Whether `wanted` faults were applied and the last one has ended.
    pub fn finished(&self, wanted: usize) -> bool {
        match self {
            Self::Kills { killed_at, .. } => killed_at.len() >= wanted,
            Self::Stalls { done, stalled, .. } => *done >= wanted && stalled.is_none(),
            Self::Restarts { done, down_until, .. } => *done >= wanted && down_until.is_none(),
        }
    }

    /// When servers were killed (a refresh token may be lost only to one of these).
    pub fn kills(&self) -> &[OffsetDateTime] {
        match self {
            Self::Kills { killed_at, .. } => killed_at,
            _ => &[],
        }
    }

    /// Applies or ends the next fault when its time has come.
    pub async fn step(
        &mut self,
        wanted: usize,
        dice: &mut Dice,
        servers: &mut [ServerProcess],
        app: &TestApp,
        sandbox: &TestSandbox,
        log: &Path,
    ) {
        let now = Instant::now();
        match self {
            Self::Kills { killed_at, next } => {
                if killed_at.len() < wanted && now >= *next {
                    let victim = dice.below(servers.len());
                    // Started as the victim was: a pulling server's posts keep being pulled.
                    let replacement = servers[victim].another_like(app, sandbox, log, 8).await;
                    std::mem::replace(&mut servers[victim], replacement).kill_9();
                    killed_at.push(OffsetDateTime::now_utc());
                    *next = Instant::now() + Duration::from_secs(2 + dice.below(6) as u64);
                }
            }
            Self::Stalls { proxies, stalled, done, next } => match *stalled {
                Some((which, until)) if now >= until => {
                    proxies[which].resume();
                    *stalled = None;
                    *done += 1;
                    *next = now + Duration::from_secs(2 + dice.below(6) as u64);
                }
                None if *done < wanted && now >= *next => {
                    let which = dice.below(proxies.len());
                    proxies[which].pause();
                    *stalled = Some((which, now + STALL));
                }
                _ => {}
            },
            Self::Restarts { postgres, down_until, done, next } => match *down_until {
                Some(until) if now >= until => {
                    postgres.start_again().await;
                    *down_until = None;
                    *done += 1;
                    *next = Instant::now() + Duration::from_secs(4 + dice.below(6) as u64);
                }
                None if *done < wanted && now >= *next => {
                    postgres.stop().await;
                    *down_until = Some(Instant::now() + Duration::from_secs(3 + dice.below(4) as u64));
                }
                _ => {}
            },
        }
    }

    /// Ends a fault in progress (the soak's checks need the database, and every server).
    pub async fn end(&mut self) {
        match self {
            Self::Kills { .. } => {}
            Self::Stalls { proxies, stalled, .. } => {
                if let Some((which, _)) = stalled.take() {
                    proxies[which].resume();
                }
            }
            Self::Restarts { postgres, down_until, .. } => {
                if down_until.take().is_some() {
                    postgres.start_again().await;
                }
            }
        }
    }
}

/// Returns `server` (the one whose scheduled videos TikTok pulls) once TikTok was asked to pull
/// one, before the second server starts: which server claims a due post is a race, so without
/// this head start a run could leave pulls out entirely.
async fn started_pulling(server: ServerProcess, sandbox: &TestSandbox) -> ServerProcess {
    let deadline = Instant::now() + Duration::from_secs(60);
    while sandbox.count("/v2/post/publish/video/init/", "PULL_FROM_URL") == 0 {
        assert!(Instant::now() < deadline, "the pulling server asked TikTok to pull nothing within a minute");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server
}
