//! The fingerprint an approval is bound to: a hash of everything of a post that reaches TikTok.

use crate::posts::ssr::Post;
use sha2::{Digest as _, Sha256};

/// Hex SHA-256 over the account, destination, video (its stored media, whose bytes never change,
/// and their size), caption, audience, interactions, disclosure, AI label, cover frame and the
/// minute it is due; a photo post's images, title, cover and music too. Any edit of those gives another fingerprint; the version tag lets a later
/// release change the recipe without matching old approvals by accident.
pub fn fingerprint(post: &Post) -> String {
    let canonical = serde_json::json!([
        "cadence-approval-v1",
        post.account_id,
        post.destination,
        post.media_id,
        post.video_bytes,
        post.caption,
        post.privacy_level,
        post.allow_comment,
        post.allow_duet,
        post.allow_stitch,
        post.your_brand,
        post.branded_content,
        post.is_aigc,
        post.cover_timestamp_ms,
        post.scheduled_at.map(|at| at.unix_timestamp().div_euclid(60)),
    ]);
    // A photo post adds its images and own choices; a video's recipe stays as it was, so
    // approvals given before photo posts existed still match.
    let canonical = match post.photo_choices() {
        Some(photo) => serde_json::json!([canonical, "photos", post.photo_media_ids, photo.title, photo.cover_index, post.auto_add_music]),
        None => canonical,
    };
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use uuid::Uuid;

    fn post() -> Post {
        let at = datetime!(2027-01-04 09:00 UTC);
        Post {
            id: Uuid::from_u128(1),
            team_id: Uuid::from_u128(2),
            account_id: Uuid::from_u128(3),
            created_by: None,
            destination: "profile".into(),
            state: "scheduled".into(),
            caption: "Launch".into(),
            privacy_level: Some("PUBLIC_TO_EVERYONE".into()),
            allow_comment: true,
            allow_duet: false,
            allow_stitch: false,
            your_brand: false,
            branded_content: false,
            is_aigc: false,
            cover_timestamp_ms: None,
            video_bytes: 1000,
            content_type: "video/mp4".into(),
            duration_ms: Some(20_000),
            media_id: Some(Uuid::from_u128(4)),
            scheduled_at: Some(at),
            publish_id: None,
            tiktok_post_id: None,
            fail_code: None,
            fail_message: None,
            attempts: 0,
            lease_owner: None,
            lease_expires_at: None,
            next_check_at: None,
            status_checks: 0,
            created_at: at,
            updated_at: at,
            follow_until: None,
            upload_started_at: None,
            approval: "pending".into(),
            approved_fingerprint: None,
            downloaded_bytes: None,
            has_thumbnail: false,
            photo_media_ids: None,
            photo_cover_index: None,
            photo_title: None,
            auto_add_music: false,
        }
    }

    #[test]
    fn a_photo_posts_images_title_cover_and_music_change_it_and_a_videos_recipe_stays() {
        // Pinned: a video post's fingerprint must not move, or approvals already given would lapse.
        assert_eq!(fingerprint(&post()), "c49c2bc2b453e95239d73e15eb4c6d723728db3fa218b82f91f9dfd6f3ddaeda");
        let photos = || Post {
            media_id: None,
            photo_media_ids: Some(vec![Uuid::from_u128(5), Uuid::from_u128(6)]),
            photo_cover_index: Some(0),
            photo_title: Some("Trip".into()),
            ..post()
        };
        let original = fingerprint(&photos());
        assert_ne!(original, fingerprint(&post()));
        let edits: [fn(&mut Post); 4] = [
            |p| p.photo_media_ids = Some(vec![Uuid::from_u128(6), Uuid::from_u128(5)]),
            |p| p.photo_title = Some("Trip!".into()),
            |p| p.photo_cover_index = Some(1),
            |p| p.auto_add_music = true,
        ];
        for (n, edit) in edits.into_iter().enumerate() {
            let mut changed = photos();
            edit(&mut changed);
            assert_ne!(fingerprint(&changed), original, "edit {n}");
        }
    }

    #[test]
    fn every_part_that_reaches_tiktok_changes_the_fingerprint() {
        let original = fingerprint(&post());
        assert_eq!(original.len(), 64);
        let edits: [fn(&mut Post); 12] = [
            |p| p.account_id = Uuid::from_u128(9),
            |p| p.destination = "inbox".into(),
            |p| p.media_id = Some(Uuid::from_u128(9)),
            |p| p.caption.push('!'),
            |p| p.privacy_level = Some("SELF_ONLY".into()),
            |p| p.allow_comment = false,
            |p| p.allow_duet = true,
            |p| p.your_brand = true,
            |p| p.branded_content = true,
            |p| p.is_aigc = true,
            |p| p.cover_timestamp_ms = Some(1500),
            |p| p.scheduled_at = Some(datetime!(2027-01-04 09:01 UTC)),
        ];
        for (n, edit) in edits.into_iter().enumerate() {
            let mut changed = post();
            edit(&mut changed);
            assert_ne!(fingerprint(&changed), original, "edit {n}");
        }
    }

    #[test]
    fn what_does_not_reach_tiktok_leaves_it_alone() {
        let mut other = post();
        other.state = "uploading".into();
        other.attempts = 3;
        other.updated_at = datetime!(2027-01-05 00:00 UTC);
        other.approval = "approved".into();
        other.scheduled_at = Some(datetime!(2027-01-04 09:00:30 UTC));
        assert_eq!(fingerprint(&other), fingerprint(&post()), "the same minute is the same time window");
    }
}
