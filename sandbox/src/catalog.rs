//! A creator's public videos as the Display API sees them: moderated public direct posts plus
//! videos posted in the TikTok app, each with counts that grow with its age.

use std::time::Instant;

use time::OffsetDateTime;

use crate::audience::{self, VideoCounts};
use crate::config::SandboxConfig;
use crate::fixtures::PrivacyLevel;
use crate::publish::{Publish, PublishKind};
use crate::state::State;

/// One listed video.
#[derive(Clone, Debug)]
pub struct Listed {
    pub post_id: i64,
    pub published_ms: i64,
    pub title: String,
    pub duration_secs: i64,
    pub width: u32,
    pub height: u32,
    pub counts: VideoCounts,
}

/// Wall-clock now in Unix milliseconds.
pub fn now_ms() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The Display API lists public videos only once moderation has passed, like the post id.
pub fn is_public_video_of(publish: &Publish, open_id: &str, now: Instant, config: &SandboxConfig) -> bool {
    publish.open_id == open_id
        && publish.kind == PublishKind::Direct
        && publish.settings.privacy == Some(PrivacyLevel::PublicToEveryone)
        && !publish.public_post_ids(now, config.processing_delay, config.moderation_delay).is_empty()
}

/// Every public video of `open_id`, newest first.
pub fn public_videos(state: &State, config: &SandboxConfig, open_id: &str, now: Instant) -> Vec<Listed> {
    let wall_ms = now_ms();
    let counts = |post_id: i64, published_ms: i64| {
        audience::video_counts(config.audience_seed, post_id, (wall_ms - published_ms) / 1000)
    };
    let mut listed: Vec<Listed> = state
        .publishes
        .iter()
        .filter(|publish| is_public_video_of(publish, open_id, now, config))
        .filter_map(|publish| {
            let (post_id, published_ms) = (publish.post_id?, publish.published_ms?);
            let media = publish.verdict.and_then(Result::ok);
            let (width, height) = media.and_then(|info| info.dimensions).unwrap_or((0, 0));
            Some(Listed {
                post_id,
                published_ms,
                title: publish.settings.title.clone(),
                duration_secs: media.and_then(|info| info.duration).map_or(0, |duration| i64::try_from(duration.whole_seconds()).unwrap_or(i64::MAX)),
                width,
                height,
                counts: counts(post_id, published_ms),
            })
        })
        .collect();
    listed.extend(state.app_videos.iter().filter(|video| video.open_id == open_id && video.published_ms <= wall_ms).map(
        |video| Listed {
            post_id: video.post_id,
            published_ms: video.published_ms,
            title: video.title.clone(),
            duration_secs: i64::from(video.duration_secs),
            width: 720,
            height: 1280,
            counts: counts(video.post_id, video.published_ms),
        },
    ));
    listed.sort_by_key(|video| std::cmp::Reverse(video.published_ms));
    listed
}
