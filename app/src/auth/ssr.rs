//! Server side of accounts: rows, password hashing, the log-in limiter and session keys.

use crate::{
    auth::types::UserView,
    config::LoginLimits,
    db::schema::{login_failures, users},
    error::{AppError, AppResult},
};
use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use std::{net::IpAddr, sync::LazyLock};
use time::OffsetDateTime;
use tower_sessions::Session;
use uuid::Uuid;

/// Session key holding the logged-in user's id.
pub const SESSION_USER_ID: &str = "user_id";
/// Session key holding the team the user is working in.
pub const SESSION_TEAM_ID: &str = "team_id";
/// Session key holding `users.session_epoch` as it was at log-in.
pub const SESSION_EPOCH: &str = "epoch";
/// Session key holding when the session ends at the latest (Unix seconds), whatever its use.
pub const SESSION_ENDS_AT: &str = "ends_at";
/// Session key holding when the idle expiry was last moved (Unix seconds).
pub const SESSION_TOUCHED_AT: &str = "touched_at";
/// tower-sessions writes a session back (moving its idle expiry) only when it changed; touching
/// it at most this often keeps the idle expiry moving without a write on every page view.
pub const SESSION_TOUCH_EVERY: time::Duration = time::Duration::minutes(5);

/// A row of `users`. Not serialisable: it holds the password hash.
#[derive(Queryable, Selectable, Identifiable, Debug)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub display_name: String,
    pub time_zone: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub session_epoch: i32,
}

impl User {
    pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<User> {
        users::table.find(id).select(User::as_select()).first(conn).await
    }

    pub async fn find_by_email(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<Option<User>> {
        users::table
            .filter(users::email.eq(email))
            .select(User::as_select())
            .first(conn)
            .await
            .optional()
    }

    pub fn view(&self) -> UserView {
        UserView {
            id: self.id,
            email: self.email.clone(),
            display_name: self.display_name.clone(),
            time_zone: self.time_zone.clone(),
        }
    }
}

/// A user about to be inserted.
#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub display_name: &'a str,
    pub time_zone: &'a str,
}

impl NewUser<'_> {
    /// Inserts the user; a taken e-mail becomes a validation error on the `email` field.
    pub async fn insert(&self, conn: &mut AsyncPgConnection) -> AppResult<User> {
        diesel::insert_into(users::table)
            .values(self)
            .returning(User::as_returning())
            .get_result(conn)
            .await
            .map_err(|error| match error {
                diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                ) => AppError::invalid("email", "An account with this e-mail already exists. Log in instead."),
                other => other.into(),
            })
    }
}

/// Argon2 runs at most this many at once (one per core, at least two): each takes ~19 MiB and
/// tens of milliseconds, so a burst of sign-ups or log-ins waits its turn instead of taking
/// every core and the memory with it.
static HASHING: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| {
    tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get().max(2)))
});

/// Hashes a password with argon2id off the async threads (it takes tens of milliseconds).
pub async fn hash_password(password: String) -> AppResult<String> {
    let _turn = HASHING.acquire().await.map_err(|e| AppError::internal("password hashing is closed", e))?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|hash| hash.to_string())
    })
    .await
    .map_err(|e| AppError::internal("password hashing task failed", e))?
    .map_err(|e| AppError::internal("password hashing failed", e))
}

/// Checks a password against a stored hash. With `None` it still does the work of a real check,
/// so the response time does not reveal whether an e-mail has an account.
pub async fn verify_password(password: String, stored_hash: Option<String>) -> bool {
    static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"cadence-timing-equaliser", &salt)
            .map(|hash| hash.to_string())
            .unwrap_or_default()
    });
    let known_user = stored_hash.is_some();
    let Ok(_turn) = HASHING.acquire().await else { return false };
    let result = tokio::task::spawn_blocking(move || {
        let hash = stored_hash.unwrap_or_else(|| DUMMY_HASH.clone());
        PasswordHash::new(&hash)
            .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false);
    result && known_user
}

/// The rate-limit subjects of one log-in attempt. The account limit counts per (account,
/// address) pair, so a stranger guessing from elsewhere cannot lock the owner out; a ten times
/// larger limit across all addresses still bounds guessing spread over many machines.
pub fn login_subjects(email: &str, ip: Option<IpAddr>) -> Vec<(String, LimitKind)> {
    let mut subjects = vec![(format!("account:{email}"), LimitKind::AccountAnywhere)];
    if let Some(ip) = ip {
        let address = address_group(ip);
        subjects.push((format!("account:{email}|ip:{address}"), LimitKind::AccountFromAddress));
        subjects.push((format!("ip:{address}"), LimitKind::Ip));
    }
    subjects
}

/// The rate-limit subjects of a log-in from a known device (`auth::known_devices`): its own
/// failures and its address, but not the account's, so a flood of wrong passwords for the
/// account elsewhere does not pause its owner's browser.
pub fn known_device_subjects(device_key: &str, ip: Option<IpAddr>) -> Vec<(String, LimitKind)> {
    let mut subjects = vec![(format!("device:{device_key}"), LimitKind::KnownDevice)];
    if let Some(ip) = ip {
        subjects.push((format!("ip:{}", address_group(ip)), LimitKind::Ip));
    }
    subjects
}

/// IPv4 addresses count one by one; IPv6 by their /64, which one household or host controls.
pub fn address_group(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Which limit a subject counts against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitKind {
    AccountFromAddress,
    AccountAnywhere,
    Ip,
    /// Sign-ups from one address (every attempt counts, successful or not).
    SignupFromAddress,
    /// Failures from one known device, whichever address it is at.
    KnownDevice,
}

impl LimitKind {
    fn max(self, limits: &LoginLimits) -> i64 {
        match self {
            Self::AccountFromAddress | Self::KnownDevice => limits.max_failures_per_account,
            Self::AccountAnywhere => limits.max_failures_per_account * 10,
            Self::Ip => limits.max_failures_per_ip,
            Self::SignupFromAddress => limits.max_signups_per_ip,
        }
    }
}

/// One log-in attempt, recorded before the password is checked.
pub struct LoginAttempt {
    rows: Vec<i64>,
}

/// Records the attempt against every subject first, then checks the limits. Recording first is
/// what stops parallel guesses: each one counts every attempt stored before it, so at most
/// `max` of them can get through. A refused attempt is removed again, so hammering a paused
/// account does not extend the pause; it always ends a window after the failures that caused it.
pub async fn begin_login_attempt(
    conn: &mut AsyncPgConnection,
    limits: &LoginLimits,
    subjects: &[(String, LimitKind)],
    now: OffsetDateTime,
) -> AppResult<LoginAttempt> {
    let values: Vec<_> = subjects
        .iter()
        .map(|(subject, _)| (login_failures::subject.eq(subject), login_failures::failed_at.eq(now)))
        .collect();
    let rows: Vec<i64> =
        diesel::insert_into(login_failures::table).values(values).returning(login_failures::id).get_results(conn).await?;
    let attempt = LoginAttempt { rows };
    let cutoff = now - limits.window;
    for (subject, kind) in subjects {
        let max = kind.max(limits);
        // This attempt plus the `max` before it.
        let recent: Vec<OffsetDateTime> = login_failures::table
            .filter(login_failures::subject.eq(subject))
            .filter(login_failures::failed_at.gt(cutoff))
            .order((login_failures::failed_at.desc(), login_failures::id.desc()))
            .limit(max + 1)
            .select(login_failures::failed_at)
            .load(conn)
            .await?;
        if recent.len() as i64 > max {
            forget(conn, &attempt.rows).await?;
            let oldest = recent.last().copied().unwrap_or(now);
            let retry_after = (oldest + limits.window - now).whole_seconds().max(1) as u64;
            return Err(AppError::RateLimited { retry_after_secs: retry_after });
        }
    }
    Ok(attempt)
}

impl LoginAttempt {
    /// The password was right: the attempt is not a failure, and this address's (or this
    /// device's) failures for the account are forgiven.
    pub async fn succeeded(self, conn: &mut AsyncPgConnection, subjects: &[(String, LimitKind)]) -> AppResult<()> {
        forget(conn, &self.rows).await?;
        let pair: Vec<&str> = subjects
            .iter()
            .filter(|(_, kind)| matches!(kind, LimitKind::AccountFromAddress | LimitKind::KnownDevice))
            .map(|(subject, _)| subject.as_str())
            .collect();
        diesel::delete(login_failures::table.filter(login_failures::subject.eq_any(pair))).execute(conn).await?;
        Ok(())
    }
}

async fn forget(conn: &mut AsyncPgConnection, rows: &[i64]) -> QueryResult<usize> {
    diesel::delete(login_failures::table.filter(login_failures::id.eq_any(rows))).execute(conn).await
}

/// Deletes failures older than the window; run by the clean-up job.
pub async fn prune_login_failures(
    conn: &mut AsyncPgConnection,
    limits: &LoginLimits,
    now: OffsetDateTime,
) -> QueryResult<usize> {
    diesel::delete(login_failures::table.filter(login_failures::failed_at.le(now - limits.window)))
        .execute(conn)
        .await
}

/// Logs `user_id` in, working in `team_id`, for at most `lifetime`. The session id is cycled
/// first, so an id planted before log-in (session fixation) is worthless afterwards. `epoch` is
/// the user's `session_epoch` now; the session ends when it moves on.
pub async fn start_session(
    session: &Session,
    user_id: Uuid,
    team_id: Uuid,
    epoch: i32,
    lifetime: std::time::Duration,
) -> AppResult<()> {
    let now = OffsetDateTime::now_utc();
    session.cycle_id().await?;
    session.insert(SESSION_USER_ID, user_id).await?;
    session.insert(SESSION_TEAM_ID, team_id).await?;
    session.insert(SESSION_EPOCH, epoch).await?;
    session.insert(SESSION_ENDS_AT, (now + lifetime).unix_timestamp()).await?;
    session.insert(SESSION_TOUCHED_AT, now.unix_timestamp()).await?;
    Ok(())
}

/// Deletes every stored session of a user (their browsers are logged out on the next request).
pub async fn end_sessions_of(conn: &mut AsyncPgConnection, user_id: Uuid) -> AppResult<usize> {
    use crate::db::schema::sessions;
    use diesel::dsl::sql;
    use diesel::sql_types::{Bool, Text};
    // tower-sessions stores the session's data as JSON; the user id sits under SESSION_USER_ID.
    let user_is = sql::<Bool>("data ->> 'user_id' = ").bind::<Text, _>(user_id.to_string());
    Ok(diesel::delete(sessions::table.filter(user_is)).execute(conn).await?)
}

/// The logged-in user's id, if the session is still good: within its absolute lifetime and
/// from the user's current epoch (no password change since log-in). A session that is no
/// longer good is emptied, which logs the browser out. Moves the idle expiry now and then.
pub async fn session_user_id(conn: &mut AsyncPgConnection, session: &Session) -> AppResult<Option<Uuid>> {
    let Some(user_id) = session.get::<Uuid>(SESSION_USER_ID).await? else {
        return Ok(None);
    };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let ends_at = session.get::<i64>(SESSION_ENDS_AT).await?;
    let epoch = session.get::<i32>(SESSION_EPOCH).await?;
    // Read with the session when it came from the store. Asked for when the session began in
    // this request, or when this request itself moved the epoch on (a password change keeps
    // the session that made it).
    let current: Option<i32> = match crate::auth::live::LiveAccount::of(session).await? {
        Some(account) if account.user.id == user_id && Some(account.epoch) == epoch => Some(account.epoch),
        _ => users::table.find(user_id).select(users::session_epoch).first(conn).await.optional()?,
    };
    // A session from before epochs and lifetimes existed has neither and ends too.
    let good = ends_at.is_some_and(|end| now < end) && epoch.is_some() && epoch == current;
    if !good {
        tracing::info!(user.id = %user_id, "session ended: past its lifetime or the password changed");
        // Emptied rather than deleted here: the store would take a second connection while
        // this request holds one (how a small pool deadlocked before).
        session.clear().await;
        return Ok(None);
    }
    let touched = session.get::<i64>(SESSION_TOUCHED_AT).await?;
    if touched.is_none_or(|at| now - at >= SESSION_TOUCH_EVERY.whole_seconds()) {
        session.insert(SESSION_TOUCHED_AT, now).await?;
    }
    Ok(Some(user_id))
}

/// Where to go after log-in: only plain local paths, so `?next=` cannot send people elsewhere.
/// Browsers drop tabs and newlines inside URLs and read `\\` as `/`, so `/\t/evil.example` would
/// become `//evil.example`; anything but printable ASCII without a backslash is refused.
pub fn safe_next_path(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse battery".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery".into(), Some(hash.clone())).await);
        assert!(!verify_password("wrong horse battery".into(), Some(hash)).await);
        assert!(!verify_password("cadence-timing-equaliser".into(), None).await);
    }

    #[test]
    fn next_paths_stay_on_this_site() {
        assert_eq!(safe_next_path(Some("/team")), "/team");
        assert_eq!(safe_next_path(Some("//evil.example")), "/");
        assert_eq!(safe_next_path(Some("https://evil.example")), "/");
        assert_eq!(safe_next_path(Some("/\\evil.example")), "/");
        assert_eq!(safe_next_path(Some("/\t/evil.example")), "/");
        assert_eq!(safe_next_path(Some("/team?x=ü")), "/", "non-ASCII would break the Location header");
        assert_eq!(safe_next_path(Some("/invite/abc?next=1")), "/invite/abc?next=1");
        assert_eq!(safe_next_path(None), "/");
    }

    #[test]
    fn subjects_name_the_account_the_pair_and_the_address() {
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let subjects = login_subjects("ana@example.com", Some(ip));
        assert_eq!(subjects[0], ("account:ana@example.com".into(), LimitKind::AccountAnywhere));
        assert_eq!(subjects[1], ("account:ana@example.com|ip:203.0.113.7".into(), LimitKind::AccountFromAddress));
        assert_eq!(subjects[2], ("ip:203.0.113.7".into(), LimitKind::Ip));
        assert_eq!(login_subjects("a@b.co", None).len(), 1);
    }

    #[test]
    fn a_known_device_counts_its_own_failures_and_its_address_but_not_the_account() {
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let subjects = known_device_subjects("abc", Some(ip));
        assert_eq!(subjects, [("device:abc".to_owned(), LimitKind::KnownDevice), ("ip:203.0.113.7".to_owned(), LimitKind::Ip)]);
        assert!(subjects.iter().all(|(subject, _)| !subject.starts_with("account:")));
    }

    #[test]
    fn ipv6_addresses_are_grouped_by_their_64_bit_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(address_group(a), address_group(b));
        assert_eq!(address_group(a), "2001:db8:1:2::/64");
        assert_eq!(address_group("::ffff:192.0.2.1".parse().unwrap()), "192.0.2.1");
    }
}
