//! The PostgreSQL pool and the diesel schema.

pub mod schema;

use crate::config::DatabaseConfig;
use diesel_async::{
    AsyncPgConnection,
    pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod, deadpool},
};

/// The pool every server function and job draws connections from.
pub type DbPool = deadpool::Pool<AsyncPgConnection>;
/// A connection checked out of [`DbPool`].
pub type DbConn = deadpool::Object<AsyncPgConnection>;

/// Starts the message of a session-store error that means "no connection in time", so it can
/// become [`crate::error::AppError::Unavailable`] (503) rather than an internal error.
pub const POOL_UNAVAILABLE: &str = "database pool unavailable";

/// Builds a pool of `max_size` connections; they are opened lazily, so this does not touch the
/// network.
///
/// Every wait is bounded: a request that finds all connections busy gives up after
/// `wait_timeout` (and answers 503) instead of queueing forever behind a stuck one, and opening
/// or re-checking a connection to an unreachable host gives up after `connect_timeout`.
pub fn build_pool(database: &DatabaseConfig, max_size: usize) -> Result<DbPool, deadpool::BuildError> {
    // No test query at every check-out: it was a round trip per server function (a page calls
    // several). A connection whose socket closed (PostgreSQL restarted) is still found broken
    // and replaced; one that dies unnoticed fails its first query, which callers retry or
    // report like any other database error.
    let mut setup = ManagerConfig::default();
    setup.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(&database.url, setup);
    deadpool::Pool::builder(manager)
        .max_size(max_size)
        .runtime(::deadpool::Runtime::Tokio1)
        .wait_timeout(Some(database.wait_timeout))
        .create_timeout(Some(database.connect_timeout))
        .recycle_timeout(Some(database.connect_timeout))
        .build()
}
