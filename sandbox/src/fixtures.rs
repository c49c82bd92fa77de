//! The seeded TikTok accounts a person (or a test) can sign in as, each exercising one rule.

use serde::{Deserialize, Serialize};

/// TikTok's `privacy_level` values (§4.2 of the API notes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PrivacyLevel {
    PublicToEveryone,
    MutualFollowFriends,
    FollowerOfCreator,
    SelfOnly,
}

impl PrivacyLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PublicToEveryone => "PUBLIC_TO_EVERYONE",
            Self::MutualFollowFriends => "MUTUAL_FOLLOW_FRIENDS",
            Self::FollowerOfCreator => "FOLLOWER_OF_CREATOR",
            Self::SelfOnly => "SELF_ONLY",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::PublicToEveryone, Self::MutualFollowFriends, Self::FollowerOfCreator, Self::SelfOnly]
            .into_iter()
            .find(|level| level.as_str() == value)
    }

    /// The options TikTok offers a public or a private account.
    pub fn options_for(is_private: bool) -> Vec<Self> {
        if is_private {
            vec![Self::FollowerOfCreator, Self::MutualFollowFriends, Self::SelfOnly]
        } else {
            vec![Self::PublicToEveryone, Self::MutualFollowFriends, Self::SelfOnly]
        }
    }
}

/// Why a creator cannot post right now, as creator_info and the init endpoints report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostingCondition {
    /// Posting works until the sandbox's own caps are reached.
    Normal,
    /// TikTok's per-creator daily cap is already used up (`spam_risk_too_many_posts`).
    TooManyPosts,
    /// The creator may not post at all (`spam_risk_user_banned_from_posting`).
    Banned,
    /// The app's daily quota of active publishers is used up (`reached_active_user_cap`).
    ActiveUserCap,
}

impl PostingCondition {
    /// The TikTok error code this condition produces, if it blocks posting.
    pub fn error_code(self) -> Option<&'static str> {
        match self {
            Self::Normal => None,
            Self::TooManyPosts => Some("spam_risk_too_many_posts"),
            Self::Banned => Some("spam_risk_user_banned_from_posting"),
            Self::ActiveUserCap => Some("reached_active_user_cap"),
        }
    }
}

/// One seeded TikTok account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatorFixture {
    pub open_id: String,
    pub union_id: String,
    pub display_name: String,
    pub username: String,
    pub bio_description: String,
    pub is_verified: bool,
    pub is_private: bool,
    pub privacy_level_options: Vec<PrivacyLevel>,
    pub comment_disabled: bool,
    pub duet_disabled: bool,
    pub stitch_disabled: bool,
    pub max_video_post_duration_sec: u32,
    pub posting_condition: PostingCondition,
    pub follower_count: u64,
    pub following_count: u64,
    pub likes_count: u64,
    /// Background colour of the generated avatar, so accounts are told apart at a glance.
    pub avatar_color: String,
}

impl CreatorFixture {
    pub fn avatar_path(&self) -> String {
        format!("/_sandbox/avatars/{}.svg", self.open_id)
    }
}

struct Seed {
    open_id: &'static str,
    display_name: &'static str,
    username: &'static str,
    bio: &'static str,
    is_verified: bool,
    is_private: bool,
    comment_disabled: bool,
    duet_disabled: bool,
    stitch_disabled: bool,
    max_duration: u32,
    condition: PostingCondition,
    followers: u64,
    color: &'static str,
}

/// Open ids are fixed so that a restarted sandbox still recognises the accounts Cadence stored;
/// they imitate the `_000…` shape seen in real webhook payloads.
const SEEDS: &[Seed] = &[
    Seed {
        open_id: "_000sbxMayaPublic0000001",
        display_name: "Maya Public",
        username: "maya.public",
        bio: "Public account; every option enabled.",
        is_verified: true,
        is_private: false,
        comment_disabled: false,
        duet_disabled: false,
        stitch_disabled: false,
        max_duration: 600,
        condition: PostingCondition::Normal,
        followers: 12_400,
        color: "#e4405f",
    },
    Seed {
        open_id: "_000sbxLeoPrivate0000002",
        display_name: "Leo Private",
        username: "leo.private",
        bio: "Private account; duet and stitch are off.",
        is_verified: false,
        is_private: true,
        comment_disabled: false,
        duet_disabled: true,
        stitch_disabled: true,
        max_duration: 300,
        condition: PostingCondition::Normal,
        followers: 87,
        color: "#3b82f6",
    },
    Seed {
        open_id: "_000sbxShortSam00000003",
        display_name: "Short Clips Sam",
        username: "shortclips.sam",
        bio: "Only clips up to one minute; comments turned off.",
        is_verified: false,
        is_private: false,
        comment_disabled: true,
        duet_disabled: false,
        stitch_disabled: false,
        max_duration: 60,
        condition: PostingCondition::Normal,
        followers: 3_150,
        color: "#10b981",
    },
    Seed {
        open_id: "_000sbxCappedCarla00004",
        display_name: "Capped Carla",
        username: "capped.carla",
        bio: "Has already used today's posting cap.",
        is_verified: false,
        is_private: false,
        comment_disabled: false,
        duet_disabled: false,
        stitch_disabled: false,
        max_duration: 180,
        condition: PostingCondition::TooManyPosts,
        followers: 940,
        color: "#f59e0b",
    },
    Seed {
        open_id: "_000sbxBannedBen0000005",
        display_name: "Banned Ben",
        username: "banned.ben",
        bio: "Banned from posting.",
        is_verified: false,
        is_private: false,
        comment_disabled: false,
        duet_disabled: false,
        stitch_disabled: false,
        max_duration: 180,
        condition: PostingCondition::Banned,
        followers: 12,
        color: "#6b7280",
    },
    Seed {
        open_id: "_000sbxQuotaQuinn000006",
        display_name: "Quota Quinn",
        username: "quota.quinn",
        bio: "Arrives after the app's daily active-publisher quota is used up.",
        is_verified: false,
        is_private: true,
        comment_disabled: false,
        duet_disabled: true,
        stitch_disabled: true,
        max_duration: 300,
        condition: PostingCondition::ActiveUserCap,
        followers: 230,
        color: "#8b5cf6",
    },
];

/// The accounts every new sandbox starts with.
pub fn seeded_creators() -> Vec<CreatorFixture> {
    SEEDS
        .iter()
        .map(|seed| CreatorFixture {
            open_id: seed.open_id.to_owned(),
            union_id: format!("sbx-union-{}", seed.username.replace('.', "-")),
            display_name: seed.display_name.to_owned(),
            username: seed.username.to_owned(),
            bio_description: seed.bio.to_owned(),
            is_verified: seed.is_verified,
            is_private: seed.is_private,
            privacy_level_options: PrivacyLevel::options_for(seed.is_private),
            comment_disabled: seed.comment_disabled,
            // TikTok reports duet/stitch as disabled for every private account.
            duet_disabled: seed.duet_disabled || seed.is_private,
            stitch_disabled: seed.stitch_disabled || seed.is_private,
            max_video_post_duration_sec: seed.max_duration,
            posting_condition: seed.condition,
            follower_count: seed.followers,
            following_count: seed.followers / 10 + 3,
            likes_count: seed.followers * 17,
            avatar_color: seed.color.to_owned(),
        })
        .collect()
}

/// `count` ordinary public creators after the seeded ones, for load tests: "Creator 0001"
/// (`_000sbxGenerated00000001`), … Each can post up to ten minutes and has every option on.
pub fn generated_creators(count: usize) -> Vec<CreatorFixture> {
    const COLORS: [&str; 4] = ["#0ea5e9", "#14b8a6", "#f97316", "#a855f7"];
    (1..=count)
        .map(|n| CreatorFixture {
            open_id: format!("_000sbxGenerated{n:08}"),
            union_id: format!("sbx-union-generated-{n}"),
            display_name: format!("Creator {n:04}"),
            username: format!("creator.{n:04}"),
            bio_description: "A generated creator for load tests.".to_owned(),
            is_verified: false,
            is_private: false,
            privacy_level_options: PrivacyLevel::options_for(false),
            comment_disabled: false,
            duet_disabled: false,
            stitch_disabled: false,
            max_video_post_duration_sec: 600,
            posting_condition: PostingCondition::Normal,
            follower_count: 100 + n as u64,
            following_count: 10,
            likes_count: 1_000,
            avatar_color: COLORS[n % COLORS.len()].to_owned(),
        })
        .collect()
}

/// A small SVG avatar: the creator's initials on their colour.
pub fn avatar_svg(creator: &CreatorFixture) -> String {
    let initials: String =
        creator.display_name.split_whitespace().filter_map(|word| word.chars().next()).take(2).collect();
    format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="168" height="168" viewBox="0 0 168 168">"#,
            r#"<rect width="168" height="168" rx="84" fill="{color}"/>"#,
            r##"<text x="84" y="100" font-family="sans-serif" font-size="56" fill="#fff" text-anchor="middle">{initials}</text>"##,
            "</svg>"
        ),
        color = crate::html::escape(&creator.avatar_color),
        initials = crate::html::escape(&initials),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_accounts_get_the_private_option_set_and_no_duet_or_stitch() {
        for creator in seeded_creators() {
            assert_eq!(creator.privacy_level_options, PrivacyLevel::options_for(creator.is_private));
            if creator.is_private {
                assert!(creator.duet_disabled && creator.stitch_disabled, "{}", creator.display_name);
                assert!(!creator.privacy_level_options.contains(&PrivacyLevel::PublicToEveryone));
            }
        }
    }

    #[test]
    fn open_ids_are_unique() {
        let mut creators = seeded_creators();
        creators.extend(generated_creators(1_500));
        let mut ids: Vec<_> = creators.iter().map(|c| c.open_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), creators.len());
    }

    #[test]
    fn privacy_levels_round_trip_through_their_wire_names() {
        for level in PrivacyLevel::options_for(false).into_iter().chain(PrivacyLevel::options_for(true)) {
            assert_eq!(PrivacyLevel::parse(level.as_str()), Some(level));
            assert_eq!(serde_json::to_value(level).unwrap(), level.as_str());
        }
        assert_eq!(PrivacyLevel::parse("PUBLIC"), None);
    }
}
