//! The PostgreSQL pool and the diesel schema.

pub mod schema;

use diesel_async::{
    AsyncPgConnection,
    pooled_connection::{AsyncDieselConnectionManager, deadpool},
};

/// The pool every server function and job draws connections from.
pub type DbPool = deadpool::Pool<AsyncPgConnection>;
/// A connection checked out of [`DbPool`].
pub type DbConn = deadpool::Object<AsyncPgConnection>;

/// Builds the pool; connections are opened lazily, so this does not touch the network.
pub fn build_pool(database_url: &str, max_size: usize) -> Result<DbPool, deadpool::BuildError> {
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(database_url);
    deadpool::Pool::builder(manager)
        .max_size(max_size)
        .build()
}
