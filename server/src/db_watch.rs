//! Watches whether PostgreSQL answers and logs each change once (unreachable, reachable again),
//! so the log says when an outage began and ended instead of only a stream of failed jobs.
//!
//! The probe keeps one connection of its own, outside the pools: a pool that is merely busy
//! (every connection lent out) is not an outage, and a probe must not take a connection pages
//! need.

use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use std::time::Duration;
use tokio::time::Instant;

/// How often the database is asked.
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// A probe that gets no answer within this counts as a failure: a stalled connection or a
/// partition looks like silence, not like an error. Generous, so a busy machine's slow answer
/// is not reported as an outage (a stopped database refuses at once).
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// A change worth one log line.
#[derive(Debug, PartialEq, Eq)]
enum Change {
    Lost,
    Back { after: Duration },
}

/// What the watcher last saw.
#[derive(Debug, Default)]
enum Reachability {
    /// Before the first probe.
    #[default]
    Unknown,
    Reachable,
    Unreachable { since: Instant },
}

impl Reachability {
    /// Records one probe's outcome; returns the change it makes, if any. The first success is
    /// the normal start and says nothing.
    fn observe(&mut self, reachable: bool, now: Instant) -> Option<Change> {
        let (next, change) = match (&*self, reachable) {
            (Self::Unreachable { since }, true) => (Self::Reachable, Some(Change::Back { after: now - *since })),
            (_, true) => (Self::Reachable, None),
            (Self::Unreachable { since }, false) => (Self::Unreachable { since: *since }, None),
            (_, false) => (Self::Unreachable { since: now }, Some(Change::Lost)),
        };
        *self = next;
        change
    }
}

/// Starts the watcher for the database at `url`; it runs until the process ends.
pub fn spawn(url: String) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut reachability = Reachability::default();
        let mut conn: Option<AsyncPgConnection> = None;
        let mut ticks = tokio::time::interval(PROBE_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let outcome = tokio::time::timeout(PROBE_TIMEOUT, probe(&url, &mut conn))
                .await
                .unwrap_or_else(|_| Err(format!("no answer within {} s", PROBE_TIMEOUT.as_secs())));
            match reachability.observe(outcome.is_ok(), Instant::now()) {
                Some(Change::Lost) => tracing::warn!(
                    error = %outcome.err().unwrap_or_default(),
                    "the database is unreachable; pages answer 503 and background jobs retry until it is back"
                ),
                Some(Change::Back { after }) => {
                    tracing::info!(down_secs = after.as_secs(), "the database is reachable again");
                }
                None => {}
            }
        }
    })
}

/// One `SELECT 1` on the watcher's connection (opened first if there is none). The connection
/// is kept only once it answered: one that failed, or went silent and was given up on, is
/// never asked again.
async fn probe(url: &str, kept: &mut Option<AsyncPgConnection>) -> Result<(), String> {
    let mut conn = match kept.take() {
        Some(conn) => conn,
        None => AsyncPgConnection::establish(url).await.map_err(|e| e.to_string())?,
    };
    diesel::sql_query("SELECT 1").execute(&mut conn).await.map_err(|e| e.to_string())?;
    *kept = Some(conn);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_outage_is_reported_once_when_it_starts_and_once_when_it_ends() {
        let start = Instant::now();
        let mut reachability = Reachability::default();
        assert_eq!(reachability.observe(true, start), None, "a normal start says nothing");
        assert_eq!(reachability.observe(true, start + Duration::from_secs(1)), None);
        assert_eq!(reachability.observe(false, start + Duration::from_secs(2)), Some(Change::Lost));
        assert_eq!(reachability.observe(false, start + Duration::from_secs(3)), None, "said once");
        assert_eq!(reachability.observe(false, start + Duration::from_secs(4)), None);
        assert_eq!(
            reachability.observe(true, start + Duration::from_secs(9)),
            Some(Change::Back { after: Duration::from_secs(7) }),
            "measured from the first failed probe"
        );
        assert_eq!(reachability.observe(true, start + Duration::from_secs(10)), None);
        assert_eq!(reachability.observe(false, start + Duration::from_secs(11)), Some(Change::Lost), "a new outage");
    }

    #[test]
    fn a_database_down_from_the_start_is_reported() {
        let start = Instant::now();
        let mut reachability = Reachability::default();
        assert_eq!(reachability.observe(false, start), Some(Change::Lost));
        assert_eq!(reachability.observe(true, start + Duration::from_secs(2)), Some(Change::Back { after: Duration::from_secs(2) }));
    }
}
