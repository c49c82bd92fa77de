//! TikTok's OAuth scopes: which ones Cadence may ask for, and what a granted set allows.
//!
//! TikTok refuses the whole authorize request when the app is not approved for any one
//! requested scope (tiktok-api.md §2.8), so the requested set is the operator's explicit choice
//! (`CADENCE_TIKTOK_SCOPES`), and a person may still grant only part of it; every feature
//! follows the set that was actually granted.

/// Identity (open_id, display name, avatar); TikTok adds it to every Login Kit grant.
pub const USER_INFO_BASIC: &str = "user.info.basic";
/// Username and profile details.
pub const USER_INFO_PROFILE: &str = "user.info.profile";
/// Follower, following, like and video counts.
pub const USER_INFO_STATS: &str = "user.info.stats";
/// The creator's public videos (Display API).
pub const VIDEO_LIST: &str = "video.list";
/// Drafts sent to the creator's TikTok inbox.
pub const VIDEO_UPLOAD: &str = "video.upload";
/// Direct Post, and creator_info (what the creator may post).
pub const VIDEO_PUBLISH: &str = "video.publish";

/// Every scope Cadence knows what to do with, and what it lets Cadence do, in words.
pub const KNOWN: &[(&str, &str)] = &[
    (USER_INFO_BASIC, "see the account's name and avatar"),
    (USER_INFO_PROFILE, "see the account's username"),
    (USER_INFO_STATS, "read follower and like counts"),
    (VIDEO_LIST, "read the account's public videos"),
    (VIDEO_UPLOAD, "send drafts to the TikTok inbox"),
    (VIDEO_PUBLISH, "post directly to the profile"),
];

/// What a Content Posting app is approved for: identity, drafts and Direct Post. Nothing that
/// Cadence would not use, so an app approved for exactly the posting products can connect.
pub const DEFAULT_REQUESTED: &[&str] = &[USER_INFO_BASIC, VIDEO_UPLOAD, VIDEO_PUBLISH];

/// Parses a comma-separated scope list as configured: known names only, no repeats, and
/// `user.info.basic` always included (Cadence needs the open_id and a name to show).
pub fn parse_requested(list: &str) -> Result<Vec<String>, String> {
    let mut scopes: Vec<String> = Vec::new();
    for name in list.split(',').map(str::trim).filter(|name| !name.is_empty()) {
        if !KNOWN.iter().any(|(known, _)| *known == name) {
            let names: Vec<&str> = KNOWN.iter().map(|(known, _)| *known).collect();
            return Err(format!("unknown scope {name:?}; Cadence knows {}", names.join(", ")));
        }
        if !scopes.iter().any(|seen| seen == name) {
            scopes.push(name.to_owned());
        }
    }
    if !scopes.iter().any(|scope| scope == USER_INFO_BASIC) {
        return Err(format!("must include {USER_INFO_BASIC}, which TikTok grants with every log-in"));
    }
    if !scopes.iter().any(|scope| scope == VIDEO_UPLOAD || scope == VIDEO_PUBLISH) {
        return Err(format!("must include {VIDEO_PUBLISH} or {VIDEO_UPLOAD}, or Cadence cannot post"));
    }
    Ok(scopes)
}

/// The Display API scopes analytics reads with: the creator's videos and their counts, and
/// the creator's follower and like totals.
pub const ANALYTICS: &[&str] = &[VIDEO_LIST, USER_INFO_STATS];

/// `requested` plus the analytics scopes when analytics is on (`CADENCE_ANALYTICS`), without
/// repeats. Off, nothing is added: an app not approved for them could not connect anyone.
pub fn with_analytics(mut requested: Vec<String>, analytics: bool) -> Vec<String> {
    if analytics {
        for scope in ANALYTICS {
            if !requested.iter().any(|known| known == scope) {
                requested.push((*scope).to_owned());
            }
        }
    }
    requested
}

/// Splits a stored or received comma-separated list of granted scopes.
pub fn split(list: &str) -> Vec<String> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// What one granted set of scopes lets Cadence do for an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Allows {
    /// Post now and scheduled posts (Direct Post), and asking creator_info.
    pub direct_post: bool,
    /// Drafts to the creator's inbox.
    pub inbox: bool,
    /// The username (`user.info.profile`).
    pub profile: bool,
    /// The creator's public videos (`video.list`): how Cadence finds a post id TikTok's status
    /// replies never gave.
    pub video_list: bool,
}

impl Allows {
    pub fn from_granted(granted: &[String]) -> Self {
        let has = |scope: &str| granted.iter().any(|g| g == scope);
        Self {
            direct_post: has(VIDEO_PUBLISH),
            inbox: has(VIDEO_UPLOAD),
            profile: has(USER_INFO_PROFILE),
            video_list: has(VIDEO_LIST),
        }
    }

    /// Nothing to post with: neither Direct Post nor drafts were granted.
    pub fn cannot_post(self) -> bool {
        !self.direct_post && !self.inbox
    }
}

/// "post directly to the profile" for `video.publish`; the scope itself when unknown.
pub fn describe(scope: &str) -> &str {
    KNOWN.iter().find(|(known, _)| *known == scope).map(|(_, words)| *words).unwrap_or(scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_asks_only_for_what_posting_uses() {
        assert_eq!(DEFAULT_REQUESTED, &["user.info.basic", "video.upload", "video.publish"]);
        assert!(!DEFAULT_REQUESTED.contains(&VIDEO_LIST), "video.list is a Display API scope a posting app lacks");
        assert_eq!(parse_requested(&DEFAULT_REQUESTED.join(",")).unwrap(), DEFAULT_REQUESTED);
    }

    #[test]
    fn configured_lists_are_checked() {
        assert_eq!(parse_requested(" user.info.basic , video.upload,video.upload ").unwrap(), vec!["user.info.basic", "video.upload"]);
        assert!(parse_requested("user.info.basic,video.publish,video.delete").unwrap_err().contains("video.delete"));
        assert!(parse_requested("video.publish").unwrap_err().contains("user.info.basic"));
        assert!(parse_requested("user.info.basic,video.list").unwrap_err().contains("cannot post"));
    }

    #[test]
    fn analytics_scopes_are_added_only_when_on() {
        let base: Vec<String> = DEFAULT_REQUESTED.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(with_analytics(base.clone(), false), base);
        let on = with_analytics(base, true);
        assert_eq!(&on[3..], ["video.list", "user.info.stats"]);
        assert_eq!(with_analytics(on.clone(), true), on, "never twice");
    }

    #[test]
    fn a_granted_subset_allows_only_its_part() {
        let inbox_only = Allows::from_granted(&split("user.info.basic,video.upload"));
        assert_eq!(inbox_only, Allows { direct_post: false, inbox: true, profile: false, video_list: false });
        let everything = Allows::from_granted(&split("user.info.basic,user.info.profile,video.list,video.publish,video.upload"));
        assert!(everything.direct_post && everything.inbox && everything.profile && everything.video_list);
        assert!(Allows::from_granted(&split("user.info.basic")).cannot_post());
        assert_eq!(describe(VIDEO_UPLOAD), "send drafts to the TikTok inbox");
    }
}
