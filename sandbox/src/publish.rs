//! A publish task and its upload; the status is computed from timestamps, so nothing needs polling.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

use crate::Sandbox;
use crate::chunks::{ChunkPlan, progress_header};
use crate::fixtures::{CreatorFixture, PrivacyLevel};
use crate::ids;
use crate::media::{self, HEAD_LIMIT, MediaInfo};
use crate::webhooks;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublishKind {
    /// `/v2/post/publish/video/init/`
    Direct,
    /// `/v2/post/publish/inbox/video/init/` (a draft the creator finishes in the app)
    Inbox,
}

impl PublishKind {
    /// The `publish_type` of webhook content.
    pub fn publish_type(self) -> &'static str {
        match self {
            Self::Direct => "DIRECT_PUBLISH",
            Self::Inbox => "INBOX_SHARE",
        }
    }
}

/// The post settings as they will apply (TikTok forces some of them off, §4.3).
#[derive(Clone, Debug, Default)]
pub struct PostSettings {
    pub title: String,
    /// `None` for inbox drafts: the creator picks it in the app.
    pub privacy: Option<PrivacyLevel>,
    pub disable_comment: bool,
    pub disable_duet: bool,
    pub disable_stitch: bool,
    pub brand_content_toggle: bool,
    pub brand_organic_toggle: bool,
    pub is_aigc: bool,
}

/// The upload URL's task: progress, an incremental hash and the first MiB for inspection.
pub struct UploadTask {
    pub upload_id: String,
    pub token: String,
    pub expires_at: Instant,
    pub plan: ChunkPlan,
    pub received: u64,
    /// When each chunk was acknowledged, with `received` after it; oldest first.
    pub acknowledged: Vec<(Instant, u64)>,
    pub hasher: Sha256,
    pub head: Vec<u8>,
    /// A chunk is being received; a concurrent PUT is out of order.
    pub in_flight: bool,
    /// Hex SHA-256 of the whole video once complete.
    pub sha256: Option<String>,
    /// Resumed after a restart: the running hash was lost, so no checksum is given.
    pub hash_lost: bool,
}

impl UploadTask {
    pub fn new(plan: ChunkPlan, ttl: Duration, now: Instant) -> Self {
        Self {
            upload_id: ids::nineteen_digits().to_string(),
            token: ids::upload_token(),
            expires_at: now + ttl,
            plan,
            received: 0,
            acknowledged: Vec::new(),
            hasher: Sha256::new(),
            head: Vec::new(),
            in_flight: false,
            sha256: None,
            hash_lost: false,
        }
    }

    pub fn progress(&self) -> String {
        progress_header(self.received, self.plan.video_size)
    }

    pub fn head_room(&self) -> usize {
        HEAD_LIMIT.saturating_sub(self.head.len())
    }

    pub fn is_complete(&self) -> bool {
        self.received == self.plan.video_size
    }

    /// Counts a chunk just acknowledged with 206 or 201.
    pub fn acknowledge(&mut self, length: u64, now: Instant) {
        self.received += length;
        self.acknowledged.push((now, self.received));
    }

    /// The status reply's `uploaded_bytes`: only chunks acknowledged at least `lag` ago count.
    /// TikTok defines the field loosely, so the sandbox reports a lower bound that lags behind
    /// the 206s, and a client cannot read "TikTok lacks these bytes" into a low number.
    pub fn reported_bytes(&self, now: Instant, lag: Duration) -> u64 {
        let settled = |(at, _): &&(Instant, u64)| now.checked_duration_since(*at).is_some_and(|age| age >= lag);
        self.acknowledged.iter().rev().find(settled).map_or(0, |(_, received)| *received)
    }
}

/// TikTok's status values (§4.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    ProcessingUpload,
    /// PULL_FROM_URL only: TikTok is still downloading the file.
    ProcessingDownload,
    SendToUserInbox,
    PublishComplete,
    Failed(&'static str),
}

impl Status {
    /// Not final yet: processing, by upload or by download.
    pub fn is_processing(self) -> bool {
        matches!(self, Self::ProcessingUpload | Self::ProcessingDownload)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProcessingUpload => "PROCESSING_UPLOAD",
            Self::ProcessingDownload => "PROCESSING_DOWNLOAD",
            Self::SendToUserInbox => "SEND_TO_USER_INBOX",
            Self::PublishComplete => "PUBLISH_COMPLETE",
            Self::Failed(_) => "FAILED",
        }
    }
}

pub struct Publish {
    pub id: String,
    pub kind: PublishKind,
    pub open_id: String,
    pub settings: PostSettings,
    pub created_at: Instant,
    pub created: OffsetDateTime,
    pub upload: UploadTask,
    /// PULL_FROM_URL: the download. Its bytes are counted and kept in `upload`'s hash and head,
    /// whose URL is never handed out.
    pub pull: Option<crate::pull::PullTask>,
    /// A photo post's images and fields (its download is `pull`).
    pub photo: Option<crate::photos::PhotoPost>,
    /// When the last byte arrived.
    pub completed_at: Option<Instant>,
    /// Processing's verdict, decided when the last byte arrives and revealed after the delay.
    pub verdict: Option<Result<MediaInfo, &'static str>>,
    /// Ended early: `publish_cancelled` or `auth_removed`.
    pub aborted: Option<&'static str>,
    /// Assigned at completion to public direct posts only.
    pub post_id: Option<i64>,
    /// Wall-clock time the post goes live, in Unix milliseconds (the video list's cursor unit).
    pub published_ms: Option<i64>,
    /// The final-state webhook has been sent, so it is sent once.
    pub notified: bool,
    /// `post.publish.publicly_available` has been sent, so it is sent once.
    pub announced_public: bool,
    /// A draft the creator finished in the TikTok app: no longer pending, `PUBLISH_COMPLETE`.
    pub posted_from_inbox: bool,
}

impl Publish {
    pub fn new(kind: PublishKind, open_id: String, settings: PostSettings, upload: UploadTask, now: Instant) -> Self {
        let id = match kind {
            PublishKind::Direct => ids::direct_publish_id(),
            PublishKind::Inbox => ids::inbox_publish_id(),
        };
        Self {
            id,
            kind,
            open_id,
            settings,
            created_at: now,
            created: OffsetDateTime::now_utc(),
            upload,
            pull: None,
            photo: None,
            completed_at: None,
            verdict: None,
            aborted: None,
            post_id: None,
            published_ms: None,
            notified: false,
            announced_public: false,
            posted_from_inbox: false,
        }
    }

    /// A publish whose file TikTok downloads from `url`: its upload task is closed (expired at
    /// birth, its URL never given out), so only the download can bring bytes.
    pub fn pulled(kind: PublishKind, open_id: String, settings: PostSettings, url: String, now: Instant) -> Self {
        let closed = UploadTask::new(
            ChunkPlan::new(1, 1, 1).expect("a one-byte plan is valid"),
            Duration::ZERO,
            now,
        );
        let mut publish = Self::new(kind, open_id, settings, closed, now);
        publish.id = match kind {
            PublishKind::Direct => ids::direct_pull_publish_id(),
            PublishKind::Inbox => ids::inbox_pull_publish_id(),
        };
        publish.pull = Some(crate::pull::PullTask { url, ..Default::default() });
        publish
    }

    /// TikTok holds the whole file (uploaded or downloaded), so it will publish or fail it.
    pub fn has_every_byte(&self) -> bool {
        match &self.pull {
            Some(pull) => pull.complete,
            None => self.upload.is_complete(),
        }
    }

    pub fn status(&self, now: Instant, processing_delay: Duration) -> Status {
        if let Some(reason) = self.aborted {
            return Status::Failed(reason);
        }
        let processing = match &self.pull {
            Some(pull) if pull.fail_reason.is_some() => return Status::Failed(crate::pull::fail_reason_of(pull)),
            Some(_) => Status::ProcessingDownload,
            None => Status::ProcessingUpload,
        };
        let Some(completed_at) = self.completed_at else {
            return processing;
        };
        if now < completed_at + processing_delay {
            return processing;
        }
        match (self.verdict, self.kind) {
            (Some(Err(reason)), _) => Status::Failed(reason),
            (_, PublishKind::Direct) => Status::PublishComplete,
            (_, PublishKind::Inbox) if self.posted_from_inbox => Status::PublishComplete,
            (_, PublishKind::Inbox) => Status::SendToUserInbox,
        }
    }

    /// When moderation passes a public post: `moderation_delay` after `PUBLISH_COMPLETE`.
    /// `None` for posts that never get a public id (private, drafts, failed, unfinished).
    pub fn moderated_at(&self, processing_delay: Duration, moderation_delay: Duration) -> Option<Instant> {
        self.post_id?;
        Some(self.completed_at? + processing_delay + moderation_delay)
    }

    /// `publicaly_available_post_id`: the id once a public post is live and moderated, else
    /// nothing. TikTok usually reports `PUBLISH_COMPLETE` with an empty list first.
    pub fn public_post_ids(&self, now: Instant, processing_delay: Duration, moderation_delay: Duration) -> Vec<i64> {
        let moderated = self.moderated_at(processing_delay, moderation_delay).is_some_and(|at| now >= at);
        if moderated && self.status(now, processing_delay) == Status::PublishComplete {
            self.post_id.into_iter().collect()
        } else {
            Vec::new()
        }
    }

    /// Records the last byte: decides the processing verdict from the kept head and, for a
    /// public direct post that passes, the post id and go-live time. `latest_ms` is the newest
    /// go-live time among the creator's other posts, kept strictly increasing so the video
    /// list's millisecond cursor never skips a tie.
    pub fn complete(
        &mut self,
        creator: &CreatorFixture,
        now: Instant,
        processing_delay: Duration,
        latest_ms: Option<i64>,
    ) {
        let sha256 = hex::encode(self.upload.hasher.finalize_reset());
        self.upload.sha256 = (!self.upload.hash_lost).then_some(sha256);
        self.completed_at = Some(now);
        // Drafts may run ten minutes whatever the creator's Direct Post maximum: the creator
        // trims them in the app (media-transfer guide, video restrictions).
        let max_duration = match self.kind {
            PublishKind::Direct => creator.max_video_post_duration_sec,
            PublishKind::Inbox => media::INBOX_MAX_DURATION_SEC,
        };
        let verdict = media::inspect(&self.upload.head).and_then(|info| media::check(&info, max_duration).map(|()| info));
        if verdict.is_ok() && self.kind == PublishKind::Direct {
            let delay_ms = i64::try_from(processing_delay.as_millis()).unwrap_or(i64::MAX);
            let now_ms =
                i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
            let live_ms = now_ms.saturating_add(delay_ms);
            self.published_ms = Some(latest_ms.map_or(live_ms, |latest| live_ms.max(latest + 1)));
            if self.settings.privacy == Some(PrivacyLevel::PublicToEveryone) {
                self.post_id = Some(ids::nineteen_digits());
            }
        }
        self.verdict = Some(verdict);
        // The kept bytes were only needed for the verdict.
        self.upload.head = Vec::new();
    }

    /// Records that every image of a photo post arrived and passed: like [`Self::complete`],
    /// without a video to inspect.
    pub fn complete_photos(&mut self, now: Instant, processing_delay: Duration, latest_ms: Option<i64>) {
        self.upload.sha256 = Some(hex::encode(self.upload.hasher.finalize_reset()));
        self.completed_at = Some(now);
        if let Some(pull) = self.pull.as_mut() {
            pull.complete = true;
        }
        if self.kind == PublishKind::Direct {
            let delay_ms = i64::try_from(processing_delay.as_millis()).unwrap_or(i64::MAX);
            let now_ms = i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
            let live_ms = now_ms.saturating_add(delay_ms);
            self.published_ms = Some(latest_ms.map_or(live_ms, |latest| live_ms.max(latest + 1)));
            if self.settings.privacy == Some(PrivacyLevel::PublicToEveryone) {
                self.post_id = Some(ids::nineteen_digits());
            }
        }
        self.upload.head = Vec::new();
    }

    /// The creator posts a draft waiting in their inbox from the TikTok app. False unless the
    /// draft is in the inbox (not still processing, failed or already posted).
    pub fn post_from_inbox(&mut self, now: Instant, processing_delay: Duration) -> bool {
        if self.kind != PublishKind::Inbox || self.status(now, processing_delay) != Status::SendToUserInbox {
            return false;
        }
        self.posted_from_inbox = true;
        true
    }

    /// A share that counts toward the pending-inbox cap: a draft not failed and not yet posted.
    pub fn is_pending_share(&self, now: Instant, processing_delay: Duration) -> bool {
        self.kind == PublishKind::Inbox
            && !matches!(self.status(now, processing_delay), Status::Failed(_) | Status::PublishComplete)
    }

    /// Ends the task early (revoked authorization; a PULL_FROM_URL cancel would too). Returns
    /// false if it had already reached a final state, which cannot be undone.
    pub fn abort(&mut self, reason: &'static str, now: Instant, processing_delay: Duration) -> bool {
        if !self.status(now, processing_delay).is_processing() {
            return false;
        }
        self.aborted = Some(reason);
        true
    }

    /// The webhook events announcing a final status.
    pub fn final_events(&self, status: Status) -> Vec<(&'static str, Value)> {
        let publish_type = self.kind.publish_type();
        match status {
            Status::ProcessingUpload | Status::ProcessingDownload => Vec::new(),
            Status::Failed(reason) => vec![(
                "post.publish.failed",
                json!({ "publish_id": self.id, "reason": reason, "publish_type": publish_type }),
            )],
            Status::SendToUserInbox => {
                vec![("post.publish.inbox_delivered", json!({ "publish_id": self.id, "publish_type": publish_type }))]
            }
            // The public id follows after moderation, in its own event (see `public_event`).
            Status::PublishComplete => {
                vec![("post.publish.complete", json!({ "publish_id": self.id, "publish_type": publish_type }))]
            }
        }
    }

    /// `post.publish.publicly_available`, for a post that has a public id.
    pub fn public_event(&self) -> Option<(&'static str, Value)> {
        let post_id = self.post_id?;
        let content = json!({ "publish_id": self.id, "post_id": post_id, "publish_type": self.kind.publish_type() });
        Some(("post.publish.publicly_available", content))
    }
}

/// Sends the final-status webhooks once the status has become final (`final_at`), and for a
/// public post `post.publish.publicly_available` once moderation has passed (`moderated_at`).
pub fn notify_when_final(sandbox: &Sandbox, publish_id: String, final_at: Instant, moderated_at: Option<Instant>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        notify_if_final(sandbox, &publish_id);
        announce_if_public(sandbox, &publish_id);
        return;
    };
    let sandbox = sandbox.clone();
    runtime.spawn(async move {
        tokio::time::sleep_until(tokio::time::Instant::from_std(final_at)).await;
        notify_if_final(&sandbox, &publish_id);
        if let Some(moderated_at) = moderated_at {
            tokio::time::sleep_until(tokio::time::Instant::from_std(moderated_at)).await;
            announce_if_public(&sandbox, &publish_id);
        }
    });
}

/// Emits `post.publish.publicly_available` if the post's id is out and it was not sent yet.
pub fn announce_if_public(sandbox: &Sandbox, publish_id: &str) {
    let config = &sandbox.inner.config;
    let (open_id, (event, content)) = {
        let mut state = sandbox.inner.lock();
        let Some(publish) = state.publish_mut(publish_id) else {
            return;
        };
        let now = Instant::now();
        let public = !publish.public_post_ids(now, config.processing_delay, config.moderation_delay).is_empty();
        let withheld = config.withhold_post_ids;
        let Some(event) = publish.public_event().filter(|_| public && !withheld && !publish.announced_public) else {
            return;
        };
        publish.announced_public = true;
        (publish.open_id.clone(), event)
    };
    webhooks::emit(sandbox, &open_id, event, content);
}

/// Emits the final-state events if the status is final and they were not sent yet.
pub fn notify_if_final(sandbox: &Sandbox, publish_id: &str) {
    let delay = sandbox.inner.config.processing_delay;
    let (open_id, events) = {
        let mut state = sandbox.inner.lock();
        let Some(publish) = state.publish_mut(publish_id) else {
            return;
        };
        let status = publish.status(Instant::now(), delay);
        if publish.notified || status.is_processing() {
            return;
        }
        publish.notified = true;
        (publish.open_id.clone(), publish.final_events(status))
    };
    for (event, content) in events {
        webhooks::emit(sandbox, &open_id, event, content);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::seeded_creators;

    fn tiny_mp4() -> Vec<u8> {
        let mut file = vec![0, 0, 0, 16];
        file.extend_from_slice(b"ftypisom\0\0\0\0");
        file
    }

    fn publish(kind: PublishKind, privacy: Option<PrivacyLevel>, now: Instant) -> Publish {
        let plan = ChunkPlan::new(16, 16, 1).unwrap();
        let settings = PostSettings { privacy, ..PostSettings::default() };
        Publish::new(kind, "_000x".to_owned(), settings, UploadTask::new(plan, Duration::from_secs(60), now), now)
    }

    #[test]
    fn status_moves_from_processing_to_complete_after_the_delay() {
        let creator = &seeded_creators()[0];
        let now = Instant::now();
        let delay = Duration::from_secs(2);
        let mut direct = publish(PublishKind::Direct, Some(PrivacyLevel::PublicToEveryone), now);
        assert_eq!(direct.status(now, delay), Status::ProcessingUpload);
        direct.upload.head = tiny_mp4();
        direct.complete(creator, now, delay, None);
        assert_eq!(direct.status(now + Duration::from_secs(1), delay), Status::ProcessingUpload);
        assert!(direct.public_post_ids(now + Duration::from_secs(1), delay, Duration::ZERO).is_empty());
        assert_eq!(direct.status(now + delay, delay), Status::PublishComplete);
        assert_eq!(direct.public_post_ids(now + delay, delay, Duration::ZERO).len(), 1);
        let events = direct.final_events(Status::PublishComplete);
        assert_eq!(events.iter().map(|(name, _)| *name).collect::<Vec<_>>(), ["post.publish.complete"]);
        assert_eq!(direct.public_event().map(|(name, _)| name), Some("post.publish.publicly_available"));
        assert!(!direct.abort("publish_cancelled", now + delay, delay), "a final status stays final");
    }

    #[test]
    fn private_posts_get_no_post_id_and_drafts_land_in_the_inbox() {
        let creator = &seeded_creators()[0];
        let now = Instant::now();
        let mut private = publish(PublishKind::Direct, Some(PrivacyLevel::SelfOnly), now);
        private.upload.head = tiny_mp4();
        private.complete(creator, now, Duration::ZERO, None);
        assert_eq!(private.status(now, Duration::ZERO), Status::PublishComplete);
        assert!(private.public_post_ids(now, Duration::ZERO, Duration::ZERO).is_empty());
        assert_eq!(private.moderated_at(Duration::ZERO, Duration::ZERO), None);
        assert!(private.public_event().is_none());

        let mut draft = publish(PublishKind::Inbox, None, now);
        draft.upload.head = tiny_mp4();
        draft.complete(creator, now, Duration::ZERO, None);
        assert_eq!(draft.status(now, Duration::ZERO), Status::SendToUserInbox);
        assert_eq!(draft.final_events(Status::SendToUserInbox)[0].0, "post.publish.inbox_delivered");
    }

    #[test]
    fn drafts_may_run_ten_minutes_whatever_the_direct_post_maximum() {
        let sam = seeded_creators().into_iter().find(|c| c.max_video_post_duration_sec == 60).unwrap();
        let now = Instant::now();
        let video = |secs: u32| crate::synthetic::mp4_header(secs * 1000, Some((720, 1280)), 1_000_000);
        let mut draft = publish(PublishKind::Inbox, None, now);
        draft.upload.head = video(300);
        draft.complete(&sam, now, Duration::ZERO, None);
        assert_eq!(draft.status(now, Duration::ZERO), Status::SendToUserInbox, "five minutes: a draft Sam trims");
        let mut direct = publish(PublishKind::Direct, Some(PrivacyLevel::PublicToEveryone), now);
        direct.upload.head = video(300);
        direct.complete(&sam, now, Duration::ZERO, None);
        assert_eq!(direct.status(now, Duration::ZERO), Status::Failed("duration_check_failed"));
        let mut long = publish(PublishKind::Inbox, None, now);
        long.upload.head = video(660);
        long.complete(&sam, now, Duration::ZERO, None);
        assert_eq!(long.status(now, Duration::ZERO), Status::Failed("duration_check_failed"), "drafts stop at ten minutes");
    }

    #[test]
    fn the_public_id_waits_for_moderation_after_publish_complete() {
        let creator = &seeded_creators()[0];
        let now = Instant::now();
        let (delay, moderation) = (Duration::from_secs(2), Duration::from_secs(5));
        let mut direct = publish(PublishKind::Direct, Some(PrivacyLevel::PublicToEveryone), now);
        direct.upload.head = tiny_mp4();
        direct.complete(creator, now, delay, None);
        assert_eq!(direct.moderated_at(delay, moderation), Some(now + delay + moderation));
        let in_moderation = now + delay + Duration::from_secs(4);
        assert_eq!(direct.status(in_moderation, delay), Status::PublishComplete);
        assert!(direct.public_post_ids(in_moderation, delay, moderation).is_empty());
        let moderated = direct.public_post_ids(now + delay + moderation, delay, moderation);
        assert_eq!(moderated, direct.post_id.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn non_video_bytes_fail_processing() {
        let creator = &seeded_creators()[0];
        let now = Instant::now();
        let mut direct = publish(PublishKind::Direct, Some(PrivacyLevel::PublicToEveryone), now);
        direct.upload.head = b"not a video at all".to_vec();
        direct.complete(creator, now, Duration::ZERO, None);
        assert_eq!(direct.status(now, Duration::ZERO), Status::Failed("file_format_check_failed"));
        assert_eq!(direct.post_id, None);
    }

    #[test]
    fn go_live_times_are_strictly_increasing() {
        let creator = &seeded_creators()[0];
        let now = Instant::now();
        let mut direct = publish(PublishKind::Direct, Some(PrivacyLevel::PublicToEveryone), now);
        direct.upload.head = tiny_mp4();
        let far_future = i64::MAX / 2;
        direct.complete(creator, now, Duration::ZERO, Some(far_future));
        assert_eq!(direct.published_ms, Some(far_future + 1));
    }

    #[test]
    fn uploaded_bytes_lag_behind_the_acknowledgements() {
        let now = Instant::now();
        let lag = Duration::from_secs(2);
        let mut upload = UploadTask::new(ChunkPlan::new(15, 15, 1).unwrap(), Duration::from_secs(60), now);
        upload.acknowledge(5, now);
        upload.acknowledge(5, now + Duration::from_secs(1));
        assert_eq!(upload.reported_bytes(now + Duration::from_millis(1999), lag), 0);
        assert_eq!(upload.reported_bytes(now + lag, lag), 5);
        assert_eq!(upload.reported_bytes(now + Duration::from_secs(3), lag), 10);
        assert_eq!(upload.received, 10, "the truth is kept apart from what is reported");
        assert_eq!(upload.reported_bytes(now + Duration::from_secs(1), Duration::ZERO), 10);
    }

    #[test]
    fn an_unfinished_upload_can_be_aborted() {
        let now = Instant::now();
        let mut direct = publish(PublishKind::Direct, Some(PrivacyLevel::SelfOnly), now);
        assert!(direct.abort("publish_cancelled", now, Duration::ZERO));
        assert_eq!(direct.status(now, Duration::ZERO), Status::Failed("publish_cancelled"));
    }
}
