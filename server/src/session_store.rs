//! A tower-sessions store on diesel-async, so sessions live in PostgreSQL and survive restarts
//! and load balancing across several servers. Rows are keyed by the SHA-256 of the session id,
//! so a database dump or a reader of the table holds no cookie that logs anyone in.

use app::{
    auth::live::{LIVE_ACCOUNT, SessionWithAccount},
    db::{DbPool, schema::sessions},
};
use async_trait::async_trait;
use diesel::{OptionalExtension as _, prelude::*};
use diesel_async::RunQueryDsl;
use time::OffsetDateTime;
use tower_sessions::{
    ExpiredDeletion, SessionStore,
    session::{Id, Record},
    session_store::{Error, Result},
};

/// Sessions in the `sessions` table; the cookie carries only the id.
#[derive(Clone)]
pub struct PgSessionStore {
    pool: DbPool,
}

impl std::fmt::Debug for PgSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgSessionStore")
    }
}

impl PgSessionStore {
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }

    async fn conn(&self) -> Result<app::db::DbConn> {
        self.pool.get().await.map_err(|e| Error::Backend(format!("{}: {e}", app::db::POOL_UNAVAILABLE)))
    }
}

/// The row key of a session id: its SHA-256 in hex. The id itself (128 random bits) only ever
/// lives in the browser's cookie; a hash that cannot be turned back is all the table needs.
pub fn row_key(id: &Id) -> String {
    use sha2::{Digest as _, Sha256};
    hex::encode(Sha256::digest(id.to_string().as_bytes()))
}

fn backend(error: diesel::result::Error) -> Error {
    Error::Backend(error.to_string())
}

/// The record's data as stored: without the account the store read with it.
fn encode(record: &Record) -> Result<serde_json::Value> {
    let mut data = serde_json::to_value(&record.data).map_err(|e| Error::Encode(e.to_string()))?;
    if let Some(data) = data.as_object_mut() {
        data.remove(LIVE_ACCOUNT);
    }
    Ok(data)
}

#[async_trait]
impl SessionStore for PgSessionStore {
    /// Inserts without overwriting: on an id collision a fresh id is drawn, so one visitor can
    /// never take over another's session.
    async fn create(&self, record: &mut Record) -> Result<()> {
        let mut conn = self.conn().await?;
        loop {
            let inserted = diesel::insert_into(sessions::table)
                .values((
                    sessions::id.eq(row_key(&record.id)),
                    sessions::data.eq(encode(record)?),
                    sessions::expiry_date.eq(record.expiry_date),
                ))
                .on_conflict_do_nothing()
                .execute(&mut conn)
                .await
                .map_err(backend)?;
            if inserted == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    /// Updates a session that still exists and never inserts one: a session deleted meanwhile
    /// (log-out, a password change ending every other session) stays deleted even when a
    /// request that loaded it before the deletion saves it afterwards. New sessions, and ids
    /// cycled at log-in, go through [`SessionStore::create`].
    async fn save(&self, record: &Record) -> Result<()> {
        let mut conn = self.conn().await?;
        let updated = diesel::update(sessions::table.filter(sessions::id.eq(row_key(&record.id))))
            .set((sessions::data.eq(encode(record)?), sessions::expiry_date.eq(record.expiry_date)))
            .execute(&mut conn)
            .await
            .map_err(backend)?;
        if updated == 0 {
            tracing::info!("a request saved a session that had ended meanwhile; it stays ended");
        }
        Ok(())
    }

    /// Reads the session and, in the same round trip, its user's account as it is now
    /// (`app::auth::live`), which the record carries under [`LIVE_ACCOUNT`].
    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let mut conn = self.conn().await?;
        let row: Option<(serde_json::Value, OffsetDateTime, Option<serde_json::Value>)> =
            SessionWithAccount { row_key: row_key(id), now: OffsetDateTime::now_utc() }
                .get_result(&mut conn)
                .await
                .optional()
                .map_err(backend)?;
        row.map(|(data, expiry_date, account)| {
            let mut data: std::collections::HashMap<String, serde_json::Value> =
                serde_json::from_value(data).map_err(|e| Error::Decode(e.to_string()))?;
            match account {
                Some(account) => data.insert(LIVE_ACCOUNT.to_owned(), account),
                None => data.remove(LIVE_ACCOUNT),
            };
            Ok(Record { id: *id, data, expiry_date })
        })
        .transpose()
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        let mut conn = self.conn().await?;
        diesel::delete(sessions::table.filter(sessions::id.eq(row_key(id))))
            .execute(&mut conn)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for PgSessionStore {
    async fn delete_expired(&self) -> Result<()> {
        let mut conn = self.conn().await?;
        diesel::delete(sessions::table.filter(sessions::expiry_date.le(OffsetDateTime::now_utc())))
            .execute(&mut conn)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_keyed_by_a_hash_that_is_not_the_cookie() {
        let id = Id::default();
        let key = row_key(&id);
        assert_eq!(key.len(), 64);
        assert_ne!(key, id.to_string());
        assert!(!key.contains(&id.to_string()));
        assert_eq!(key, row_key(&id), "the same id finds the same row");
        assert_ne!(key, row_key(&Id::default()));
    }
}
