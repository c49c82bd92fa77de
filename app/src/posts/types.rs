//! A post as the browser sees it: its state, the choices it carries and its timeline.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Where a post is on its way to TikTok.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostState {
    /// Waiting in the media store for its time.
    Scheduled,
    /// TikTok gave a publish id and the bytes are on their way.
    Uploading,
    /// TikTok has the whole video and is processing it.
    Processing,
    /// Delivered to the creator's TikTok inbox; they finish it in the app.
    InInbox,
    Published,
    Failed,
    Cancelled,
    /// Cadence cannot tell whether TikTok received the post; a person decides.
    Unconfirmed,
}

impl PostState {
    pub const ALL: [Self; 8] = [
        Self::Scheduled,
        Self::Uploading,
        Self::Processing,
        Self::InInbox,
        Self::Published,
        Self::Failed,
        Self::Cancelled,
        Self::Unconfirmed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Uploading => "uploading",
            Self::Processing => "processing",
            Self::InInbox => "in_inbox",
            Self::Published => "published",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Unconfirmed => "unconfirmed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == value)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Scheduled => "Scheduled",
            Self::Uploading => "Uploading",
            Self::Processing => "Processing on TikTok",
            Self::InInbox => "Sent to TikTok inbox",
            Self::Published => "Published",
            Self::Failed => "Failed",
            Self::Cancelled => "Cancelled",
            Self::Unconfirmed => "Unconfirmed",
        }
    }

    /// Whether nothing more will happen to the post by itself.
    pub fn is_settled(self) -> bool {
        matches!(self, Self::InInbox | Self::Published | Self::Failed | Self::Cancelled | Self::Unconfirmed)
    }
}

/// Where on TikTok the video goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    /// Direct Post: straight onto the creator's profile.
    Profile,
    /// Upload to the creator's inbox as a draft they finish in the TikTok app.
    Inbox,
}

impl Destination {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Profile => "profile",
            Self::Inbox => "inbox",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Profile, Self::Inbox].into_iter().find(|d| d.as_str() == value)
    }
}

/// The three buttons of the composer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublishMode {
    /// Stream the browser's bytes straight into TikTok's Direct Post.
    PostNow,
    /// Stream them into the creator's TikTok inbox.
    SendToInbox,
    /// Keep the video in the media store until `scheduled_at`.
    Schedule,
}

impl PublishMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PostNow => "post_now",
            Self::SendToInbox => "send_to_inbox",
            Self::Schedule => "schedule",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::PostNow, Self::SendToInbox, Self::Schedule].into_iter().find(|m| m.as_str() == value)
    }

    pub fn destination(self) -> Destination {
        match self {
            Self::SendToInbox => Destination::Inbox,
            Self::PostNow | Self::Schedule => Destination::Profile,
        }
    }
}

/// One post of the team.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostView {
    pub id: Uuid,
    pub account_id: Uuid,
    pub account_name: String,
    pub account_username: Option<String>,
    pub destination: Destination,
    pub state: PostState,
    pub approval: crate::approvals::types::Approval,
    pub caption: String,
    pub privacy_level: Option<String>,
    pub video_bytes: i64,
    /// The video's length, when its container said (WebM does not).
    pub duration_ms: Option<i32>,
    /// While TikTok downloads a pulled video: how much it said it has (`downloaded_bytes`).
    pub downloaded_bytes: Option<i64>,
    pub scheduled_at: Option<OffsetDateTime>,
    /// When it is (or was) due, on the member's wall clock: `Mon 30 Nov 2026, 09:00 CET`.
    pub when_label: String,
    /// The scheduled time for a `datetime-local` input, in the member's zone.
    pub wall_clock: Option<String>,
    /// TikTok's public post id (19 digits, kept as text).
    pub tiktok_post_id: Option<String>,
    /// What went wrong and what to do, for failed or unconfirmed posts, and for published posts
    /// TikTok no longer shows.
    pub fail_message: Option<String>,
    /// Published, public, and TikTok has not given its public id yet (moderation).
    pub awaiting_moderation: bool,
    /// Published, then TikTok said it is no longer public.
    pub no_longer_public: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// The frame the lists show, when one is stored (see `media::thumbnail`).
    pub thumbnail_url: Option<String>,
    /// The stored video, for members (gone after the grace period; never stored for "Post now").
    pub video_url: Option<String>,
    /// A photo post's images for members, in order (empty for a video), and its own choices
    /// (title, cover, music).
    #[serde(default)]
    pub photo_urls: Vec<String>,
    #[serde(default)]
    pub photo: Option<crate::posts::photo_rules::PhotoChoices>,
}

impl PostView {
    /// The public TikTok page of the published video, when TikTok gave its id.
    pub fn tiktok_url(&self) -> Option<String> {
        let id = self.tiktok_post_id.as_ref()?;
        let user = self.account_username.as_deref().unwrap_or("_");
        Some(format!("https://www.tiktok.com/@{user}/video/{id}"))
    }

    /// See [`status_label`].
    pub fn status_label(&self) -> &'static str {
        status_label(self.state, self.tiktok_post_id.is_some(), self.awaiting_moderation, self.no_longer_public)
    }

    /// The sentence under the badge once TikTok published the post, when there is more to say.
    pub fn published_note(&self) -> Option<&'static str> {
        if self.state != PostState::Published || self.no_longer_public || self.tiktok_post_id.is_some() {
            return None;
        }
        Some(if self.awaiting_moderation {
            "TikTok published the video and is checking it before showing it to everyone. This usually takes a minute, sometimes a few hours; the link appears here once it is public."
        } else if self.destination == Destination::Inbox {
            "The creator posted the draft from the TikTok app. TikTok gives a public link only if they made the post public."
        } else if self.destination == Destination::Profile && self.privacy_level.as_deref() == Some("PUBLIC_TO_EVERYONE") {
            "TikTok has not said that the post is public yet. Check the creator's TikTok profile."
        } else {
            "TikTok gives no public link for posts that are not public."
        })
    }
}

/// What a post's badge says, on its page and in lists: the state, told more precisely once
/// TikTok has published the post.
pub fn status_label(state: PostState, has_link: bool, awaiting_moderation: bool, no_longer_public: bool) -> &'static str {
    match state {
        PostState::Published if no_longer_public => "No longer public on TikTok",
        PostState::Published if has_link => "Live on TikTok",
        PostState::Published if awaiting_moderation => "Published — waiting for TikTok's moderation",
        state => state.label(),
    }
}

/// One line of a post's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostEventView {
    pub at: OffsetDateTime,
    pub kind: String,
    pub message: String,
}

/// A post with its whole timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostDetail {
    pub post: PostView,
    /// What the composer chose, for the edit form of a scheduled post.
    pub choices: crate::posts::rules::ComposerChoices,
    pub approval: crate::approvals::types::ApprovalPanel,
    /// The team's thread on the post, oldest first.
    pub comments: Vec<crate::comments::types::CommentView>,
    pub events: Vec<PostEventView>,
}

/// One page of the team's posts, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostListPage {
    pub posts: Vec<PostView>,
    /// Where the next, older page starts ([`ListCursor`] as text), if there is one.
    pub older: Option<String>,
}

/// A place in the team's history: the list continues with posts listed before it. Posts sit
/// at their time (or when they were made) and, at the same microsecond, by id, so every post
/// has one place and a page never repeats or skips one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListCursor {
    pub at: time::OffsetDateTime,
    pub id: Uuid,
}

impl ListCursor {
    /// `<microseconds since 1970>_<id>`, for a link's `before=`.
    pub fn encode(&self) -> String {
        format!("{}_{}", self.at.unix_timestamp_nanos() / 1000, self.id)
    }

    pub fn decode(text: &str) -> Option<ListCursor> {
        let (micros, id) = text.split_once('_')?;
        let at = time::OffsetDateTime::from_unix_timestamp_nanos(micros.parse::<i128>().ok()?.checked_mul(1000)?).ok()?;
        Some(ListCursor { at, id: id.parse().ok()? })
    }
}

/// The dashboard's view of the team's posts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostSummary {
    /// Posts by state: every post still moving, settled ones of the last 30 days.
    pub counts: Vec<(PostState, i64)>,
    /// The next scheduled posts, soonest first.
    pub upcoming: Vec<PostView>,
    /// Scheduled posts waiting for an approver (or sent back with changes asked).
    pub awaiting_approval: i64,
}

impl PostSummary {
    pub fn count(&self, state: PostState) -> i64 {
        self.counts.iter().find(|(s, _)| *s == state).map_or(0, |(_, n)| *n)
    }
}

/// What the upload answers once the server has taken the video.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadOutcome {
    /// The post's id, or the draft's when `draft`.
    pub post_id: Uuid,
    pub state: PostState,
    /// Saved as a draft (see `drafts`), not as a post.
    #[serde(default)]
    pub draft: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_cursor_reads_back_as_written_and_refuses_anything_else() {
        let cursor = ListCursor { at: time::macros::datetime!(2026-12-01 09:30:00.123456 UTC), id: Uuid::from_u128(7) };
        assert_eq!(ListCursor::decode(&cursor.encode()), Some(cursor));
        for broken in ["", "123", "abc_00000000-0000-0000-0000-000000000007", "1_not-a-uuid", "99999999999999999999999_00000000-0000-0000-0000-000000000007"] {
            assert_eq!(ListCursor::decode(broken), None, "{broken}");
        }
    }

    #[test]
    fn states_round_trip_through_their_names() {
        for state in PostState::ALL {
            assert_eq!(PostState::parse(state.as_str()), Some(state));
        }
        assert_eq!(PostState::parse("posted"), None);
    }

    #[test]
    fn only_posts_that_can_still_move_are_unsettled() {
        let moving: Vec<_> = PostState::ALL.into_iter().filter(|s| !s.is_settled()).collect();
        assert_eq!(moving, [PostState::Scheduled, PostState::Uploading, PostState::Processing]);
    }

    #[test]
    fn a_published_post_says_whether_it_is_live_waiting_or_gone() {
        assert_eq!(status_label(PostState::Published, true, false, false), "Live on TikTok");
        assert_eq!(status_label(PostState::Published, false, true, false), "Published — waiting for TikTok's moderation");
        assert_eq!(status_label(PostState::Published, true, false, true), "No longer public on TikTok");
        assert_eq!(status_label(PostState::Published, false, false, false), "Published", "a private post");
        assert_eq!(status_label(PostState::Processing, false, true, false), "Processing on TikTok");
    }

    #[test]
    fn the_inbox_button_sends_to_the_inbox_and_the_others_to_the_profile() {
        assert_eq!(PublishMode::SendToInbox.destination(), Destination::Inbox);
        assert_eq!(PublishMode::PostNow.destination(), Destination::Profile);
        assert_eq!(PublishMode::parse("schedule"), Some(PublishMode::Schedule));
    }
}

