//! A video of hundreds of MB streamed through the server into the sandbox, with the process's
//! resident memory sampled throughout. A test binary of its own, so no other test's
//! allocations share the process while it measures.

#[allow(dead_code)]
#[path = "it/util/mod.rs"]
mod util;

use app::posts::types::PostState;
use sandbox::synthetic::SyntheticVideo;
use std::time::Duration;
use time::OffsetDateTime;
use util::{TestApp, sandbox::{TestSandbox, connect}, upload::Upload};

/// The resident memory of this process, in bytes (Linux).
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

#[tokio::test(flavor = "multi_thread")]
async fn a_video_of_hundreds_of_megabytes_streams_through_in_flat_memory() {
    let sandbox = TestSandbox::start_with(sandbox::SandboxConfig {
        processing_delay: Duration::from_millis(50),
        ..Default::default()
    })
    .await;
    let app = TestApp::with_sandbox(&sandbox).await;
    let mut owner = app.signed_up("Olga").await;
    connect(&sandbox, &mut owner, "Maya Public").await;
    let accounts: Vec<app::accounts::types::AccountView> = owner.call("accounts/list", &[]).await.unwrap();
    let account = accounts[0].id.to_string();
    const SIZE: u64 = 300_000_000;
    let baseline = resident_bytes();
    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(baseline));
    let sampler = {
        let (sampling, peak) = (sampling.clone(), peak.clone());
        std::thread::spawn(move || {
            while std::sync::atomic::AtomicBool::load(&sampling, std::sync::atomic::Ordering::Relaxed) {
                peak.fetch_max(resident_bytes(), std::sync::atomic::Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let outcome = Upload::post_now(&account, "SELF_ONLY", SyntheticVideo::mp4(120, SIZE)).send(&mut owner).await.expect("uploaded");
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    sampler.join().unwrap();
    let grew = std::sync::atomic::AtomicU64::load(&peak, std::sync::atomic::Ordering::Relaxed).saturating_sub(baseline);
    println!("300 MB upload: resident memory grew by {:.1} MiB", grew as f64 / 1048576.0);
    assert!(grew < 64 * 1024 * 1024, "memory grew by {grew} bytes while {SIZE} bytes streamed");
    tokio::time::sleep(Duration::from_millis(100)).await;
    app::publishing::status::check_due_statuses(&app.state, OffsetDateTime::now_utc() + time::Duration::minutes(10)).await.unwrap();
    let settled: app::posts::types::PostDetail =
        owner.call("posts/detail", &[("post_id", &outcome.post_id.to_string())]).await.unwrap();
    assert_eq!(settled.post.state, PostState::Published);
    assert!(settled.events.iter().any(|e| e.message.contains("30 chunks")), "{:?}", settled.events);
}
