//! A per-server cache of the team analytics page: its figures change only when collection
//! writes (hourly per account, or when a person asks), yet reducing a year of snapshots for
//! dozens of accounts costs tens of milliseconds of PostgreSQL time on every view.
//!
//! An entry is served while the team's accounts look as they did when it was computed (how
//! many, when one last changed, when one was last collected) and for at most a minute, which
//! bounds how stale a page read during a collection can be. Each server keeps its own; the
//! version comes from the database, so what one server collects the others see at once.

use crate::{analytics::types::TeamAnalytics, db::schema::tiktok_accounts};
use diesel::{dsl::{count_star, max}, prelude::*};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};
use time::OffsetDateTime;
use uuid::Uuid;

/// How long an entry may be served at most.
const FRESH_FOR: Duration = Duration::from_secs(60);
/// Entries kept at most (a year's page is tens of kilobytes).
const CAPACITY: usize = 64;

/// What the page depends on besides the snapshots: the team's accounts as the database sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    accounts: i64,
    changed: Option<OffsetDateTime>,
    collected: Option<OffsetDateTime>,
}

/// The version of `team_id`'s analytics now: one aggregate over the team's accounts.
pub async fn version_of(conn: &mut AsyncPgConnection, team_id: Uuid) -> QueryResult<Version> {
    let (accounts, changed, collected) = tiktok_accounts::table
        .filter(tiktok_accounts::team_id.eq(team_id))
        .select((count_star(), max(tiktok_accounts::updated_at), max(tiktok_accounts::analytics_collected_at)))
        .first(conn)
        .await?;
    Ok(Version { accounts, changed, collected })
}

/// Whose page, over which range, on which clock.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub team_id: Uuid,
    pub range_days: i64,
    pub zone: String,
}

struct Entry {
    version: Version,
    stored: Instant,
    page: TeamAnalytics,
}

/// The cache itself, one per process (in [`crate::state::AppState`]).
#[derive(Default)]
pub struct TeamCache {
    entries: Mutex<HashMap<Key, Entry>>,
}

impl TeamCache {
    /// The page stored for `key` if it is of `version` and less than a minute old.
    pub fn get(&self, key: &Key, version: &Version, now: Instant) -> Option<TeamAnalytics> {
        let entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = entries.get(key)?;
        (entry.version == *version && now.saturating_duration_since(entry.stored) < FRESH_FOR).then(|| entry.page.clone())
    }

    /// Stores `page` for `key`; when full, drops what has expired, then the oldest.
    pub fn put(&self, key: Key, version: Version, page: TeamAnalytics, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= CAPACITY && !entries.contains_key(&key) {
            entries.retain(|_, entry| now.saturating_duration_since(entry.stored) < FRESH_FOR);
            if entries.len() >= CAPACITY {
                if let Some(oldest) = entries.iter().min_by_key(|(_, entry)| entry.stored).map(|(key, _)| key.clone()) {
                    entries.remove(&oldest);
                }
            }
        }
        entries.insert(key, Entry { version, stored: now, page });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(days: i64) -> TeamAnalytics {
        TeamAnalytics { time_zone: "UTC".into(), range_days: days, accounts: Vec::new(), followers: Vec::new(), top: Vec::new() }
    }

    fn key(team: u128, days: i64) -> Key {
        Key { team_id: Uuid::from_u128(team), range_days: days, zone: "UTC".into() }
    }

    fn version(accounts: i64) -> Version {
        Version { accounts, changed: None, collected: None }
    }

    #[test]
    fn an_entry_serves_only_its_version_and_only_for_a_minute() {
        let cache = TeamCache::default();
        let start = Instant::now();
        cache.put(key(1, 30), version(2), page(30), start);
        assert_eq!(cache.get(&key(1, 30), &version(2), start + Duration::from_secs(59)).map(|p| p.range_days), Some(30));
        assert!(cache.get(&key(1, 30), &version(3), start).is_none(), "an account came or changed");
        assert!(cache.get(&key(1, 30), &version(2), start + Duration::from_secs(60)).is_none(), "a minute old");
        assert!(cache.get(&key(1, 7), &version(2), start).is_none(), "another range");
        assert!(cache.get(&key(2, 30), &version(2), start).is_none(), "another team");
    }

    #[test]
    fn a_full_cache_drops_the_oldest_entry() {
        let cache = TeamCache::default();
        let start = Instant::now();
        for team in 0..CAPACITY as u128 {
            cache.put(key(team, 30), version(1), page(30), start + Duration::from_millis(team as u64));
        }
        cache.put(key(999, 30), version(1), page(30), start + Duration::from_secs(1));
        assert!(cache.get(&key(0, 30), &version(1), start + Duration::from_secs(1)).is_none(), "the oldest went");
        assert!(cache.get(&key(1, 30), &version(1), start + Duration::from_secs(1)).is_some());
        assert!(cache.get(&key(999, 30), &version(1), start + Duration::from_secs(1)).is_some());
        assert_eq!(cache.entries.lock().unwrap().len(), CAPACITY);
    }
}
