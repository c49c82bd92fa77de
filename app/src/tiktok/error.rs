//! The typed error of every TikTok call; callers decide what to do from the variant, never
//! from strings.

use std::time::Duration;

/// Why a TikTok call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TikTokError {
    /// The token is invalid, expired or revoked, or a scope is missing: refresh or reconnect.
    #[error("TikTok refused the authorization ({code}): {message}")]
    Unauthorized { code: String, message: String },
    /// Throttled; `retry_after` when TikTok said how long to wait.
    #[error("TikTok rate limit reached")]
    RateLimited { retry_after: Option<Duration> },
    /// TikTok understood and said no; retrying the same request will not help.
    #[error("TikTok rejected the request ({code}): {message}")]
    Rejected { status: u16, code: String, message: String, log_id: Option<String> },
    /// 5xx, timeout or a broken connection: the same request may succeed later.
    #[error("TikTok is unavailable: {0}")]
    Transient(String),
    /// A request that changes something went out but no answer came back (timeout or broken
    /// connection after sending): TikTok may or may not have acted on it.
    #[error("TikTok did not answer: {0}")]
    ReplyLost(String),
    /// The reply did not have the documented shape.
    #[error("unexpected reply from TikTok: {0}")]
    Protocol(String),
}


/// The sentence a person sees for a TikTok failure, with what to do about it.
pub fn for_people(error: &TikTokError) -> crate::error::AppError {
    use crate::error::AppError;
    let message = match error {
        TikTokError::Unauthorized { .. } => "TikTok no longer accepts this account's connection. Reconnect it on the Accounts page.".to_owned(),
        TikTokError::RateLimited { retry_after } => match retry_after {
            Some(wait) => format!("TikTok asked us to slow down. Try again in {} seconds.", wait.as_secs().max(1)),
            None => "TikTok asked us to slow down. Try again in a minute.".to_owned(),
        },
        TikTokError::Rejected { code, message, .. } => match code.as_str() {
            "spam_risk_too_many_posts" => "This creator has reached TikTok's daily posting limit. Try again tomorrow.".to_owned(),
            "spam_risk_user_banned_from_posting" => "TikTok does not allow this creator to post right now.".to_owned(),
            "reached_active_user_cap" => "TikTok's daily limit of creators posting through Cadence is reached. Try again tomorrow.".to_owned(),
            "privacy_level_option_mismatch" => "This account no longer offers the audience you picked. Choose who can see the post again.".to_owned(),
            "unaudited_client_can_only_post_to_private_accounts" => "Until TikTok has audited this Cadence app, it may only post to private TikTok accounts. Make the account private in TikTok, or send the video to the inbox instead.".to_owned(),
            "spam_risk_too_many_pending_share" => "This creator already has 5 videos waiting in their TikTok inbox. Ask them to post or delete those in the TikTok app, then try again.".to_owned(),
            "url_ownership_unverified" => "TikTok refused to download the video: CADENCE_MEDIA_PUBLIC_URL is not verified for this app. Verify it as a URL prefix (or its domain) in TikTok's developer portal, or unset it to upload videos instead.".to_owned(),
            "upload_url_expired" => "The upload took longer than the hour TikTok allows. Try again on a faster connection.".to_owned(),
            "invalid_param" | "invalid_params" => format!("TikTok refused the post's settings: {message}"),
            _ => format!("TikTok refused the request ({code}): {message}"),
        },
        TikTokError::Transient(_) | TikTokError::Protocol(_) => "TikTok could not be reached. Please try again in a moment.".to_owned(),
        TikTokError::ReplyLost(_) => "TikTok did not answer when Cadence started the post. No video was sent, so nothing can appear on the profile; send it again.".to_owned(),
    };
    AppError::Conflict(message)
}
