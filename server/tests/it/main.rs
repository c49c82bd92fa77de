//! Integration tests: the real router, in process, against a real PostgreSQL database per test.
//! Needs `TEST_DATABASE_URL` (scripts/test starts a throw-away cluster and sets it).

mod abuse;
mod accounts;
mod analytics;
mod approvals;
mod audit;
mod backup_restore;
mod calendar;
mod comments;
mod connect;
mod editing;
mod email;
mod exactly_once;
mod auth;
mod following;
mod inbox_cap;
mod platform;
mod observability;
mod publishing;
mod posts_list;
mod pull;
mod round_trips;
mod sandbox_restart;
mod scheduling;
mod security;
mod signup;
mod sessions;
mod soak;
mod teams;
mod tiktok_posting;
mod token_safety;
mod upgrade;
mod util;
mod webhooks;
mod pg_restart;
mod token_breaker;
