//! The caller's account as it is now (epoch, profile, teams and roles), read in the same round
//! trip as the session itself.
//!
//! Every server function must know who calls and with which role, fresh from the database, so a
//! password change, a removal or a role change takes effect on the next request. Asking for it
//! separately cost two round trips per server function (eight to ten on a page); the session
//! store instead reads it with the session row ([`SessionWithAccount`]) and hands it over
//! under [`LIVE_ACCOUNT`], a key of the loaded session that is never written back.

use crate::{
    auth::types::UserView,
    error::{AppError, AppResult},
    teams::types::{Role, TeamView},
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use uuid::Uuid;

/// The loaded session's key for the account read with it. The store strips it before writing.
pub const LIVE_ACCOUNT: &str = "_live_account";

/// The session row with its user's account: its data, expiry and the account (null when
/// nobody is logged in or the user is gone), if the session exists and has not expired.
///
/// A query of its own rather than `sql_query`, so that its statement is prepared once per
/// connection: diesel never caches a raw query's statement, and preparing it again cost a
/// round trip on every request.
#[derive(diesel::query_builder::QueryId)]
pub struct SessionWithAccount {
    pub row_key: String,
    pub now: time::OffsetDateTime,
}

const SESSION_WITH_ACCOUNT: &str = "\
SELECT s.data, s.expiry_date, (
    SELECT jsonb_build_object(
        'epoch', u.session_epoch,
        'user', jsonb_build_object('id', u.id, 'email', u.email, 'display_name', u.display_name, 'time_zone', u.time_zone),
        'teams', COALESCE((
            SELECT jsonb_agg(jsonb_build_object('id', t.id, 'name', t.name, 'role', m.role) ORDER BY m.created_at, t.name)
            FROM memberships m JOIN teams t ON t.id = m.team_id
            WHERE m.user_id = u.id), '[]'::jsonb))
    FROM users u
    WHERE jsonb_typeof(s.data -> 'user_id') = 'string' AND u.id = (s.data ->> 'user_id')::uuid
) AS account
FROM sessions s
WHERE s.id = ";

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for SessionWithAccount {
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>) -> diesel::QueryResult<()> {
        out.push_sql(SESSION_WITH_ACCOUNT);
        out.push_bind_param::<diesel::sql_types::Text, _>(&self.row_key)?;
        out.push_sql(" AND s.expiry_date > ");
        out.push_bind_param::<diesel::sql_types::Timestamptz, _>(&self.now)?;
        Ok(())
    }
}

impl diesel::query_builder::Query for SessionWithAccount {
    type SqlType = (diesel::sql_types::Jsonb, diesel::sql_types::Timestamptz, diesel::sql_types::Nullable<diesel::sql_types::Jsonb>);
}

/// A user's account as the session store read it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LiveAccount {
    /// `users.session_epoch`: sessions from an older epoch have ended.
    pub epoch: i32,
    pub user: UserView,
    /// Oldest membership first.
    pub teams: Vec<LiveTeam>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LiveTeam {
    pub id: Uuid,
    pub name: String,
    pub role: String,
}

impl LiveAccount {
    /// The account read with this request's session, if it was loaded from the store (a
    /// session created during this request has none; callers then ask the database).
    pub async fn of(session: &Session) -> AppResult<Option<LiveAccount>> {
        Ok(session.get::<LiveAccount>(LIVE_ACCOUNT).await?)
    }

    /// The account read with the current request's session, outside a request `None` (jobs).
    pub async fn of_request() -> AppResult<Option<LiveAccount>> {
        if leptos::prelude::use_context::<http::request::Parts>().is_none() {
            return Ok(None);
        }
        Self::of(&crate::state::session().await?).await
    }

    /// The user's teams with their roles, oldest membership first.
    pub fn teams(&self) -> AppResult<Vec<(TeamView, Role)>> {
        self.teams
            .iter()
            .map(|team| {
                let role = team.role.parse().map_err(|e| AppError::internal("unknown role stored in the database", e))?;
                Ok((TeamView { id: team.id, name: team.name.clone() }, role))
            })
            .collect()
    }
}
