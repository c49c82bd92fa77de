//! E-mail notifications by SMTP: settings, the outbox written with each notification, what the
//! e-mails say, sending them from a job, reminders, and each member's choices.

pub mod compose;
pub mod delivery;
pub mod outbox;
pub mod preferences;
pub mod reminders;
pub mod settings;
