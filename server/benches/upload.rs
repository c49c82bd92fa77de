//! Upload benchmark: streams 256 MiB, 1 GiB and 2 GiB videos through a running Cadence server
//! ("Post now") into the sandbox's chunked upload, and the same bytes straight to the sandbox
//! with Cadence's TikTok client as the baseline, in the same run. Reports throughput of both,
//! their ratio, and the server's idle and peak resident memory (sampled from /proc every 20 ms).
//!
//! Run with `scripts/bench upload` (it starts PostgreSQL and sets `BENCH_DATABASE_URL`).
//! Then sixteen 256 MiB uploads at once, each to a creator of its own, for the server's peak
//! memory under concurrent uploads.
//! Targets (issue 14): peak RSS flat in file size and ≤ 64 MiB; throughput ≥ 0.9× direct; idle
//! ≤ 40 MiB; sixteen concurrent uploads ≤ 128 MiB.

// Each benchmark uses part of what the benchmarks share.
#[allow(dead_code)]
mod common;

use app::tiktok::{
    chunks::ChunkPlan,
    client::{PostInfo, TikTokClient, TikTokEndpoints},
};
use common::{Server, connect, consent, free_port, sign_up, wait_healthy};
use sandbox::{Sandbox, SandboxConfig, synthetic::SyntheticVideo};
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

const MIB: u64 = 1024 * 1024;
const SIZES: [u64; 3] = [256 * MIB, 1024 * MIB, 2048 * MIB];
const PIECE: u64 = 256 * 1024;
const BOUNDARY: &str = "cadence-bench-boundary-1b3c5";
/// Uploads at once in the last run, and the size of each.
const CONCURRENT: usize = 16;
const CONCURRENT_SIZE: u64 = 256 * MIB;
/// Where the baseline client says TikTok should send its creator back (nothing listens).
const DIRECT_REDIRECT: &str = "http://127.0.0.1:1/oauth/tiktok/callback";

#[tokio::main]
async fn main() {
    let database_url = std::env::var("BENCH_DATABASE_URL").expect("BENCH_DATABASE_URL (scripts/bench sets it)");
    let sizes: Vec<u64> = match std::env::var("BENCH_UPLOAD_MIB") {
        Ok(list) => list.split(',').map(|m| m.trim().parse::<u64>().expect("sizes in MiB") * MIB).collect(),
        Err(_) => SIZES.to_vec(),
    };

    // The sandbox in this process, so the server's memory is Cadence's alone.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sandbox_url = format!("http://{}", listener.local_addr().unwrap());
    let port = free_port();
    let sandbox = Sandbox::new(SandboxConfig {
        public_base_url: sandbox_url.clone(),
        // The server's callback, and the baseline client's (it never receives the redirect).
        registered_redirect_uris: vec![format!("http://127.0.0.1:{port}/oauth/tiktok/callback"), DIRECT_REDIRECT.to_owned()],
        processing_delay: Duration::from_millis(50),
        daily_post_cap: 1000,
        generated_creators: CONCURRENT,
        ..SandboxConfig::default()
    });
    tokio::spawn(sandbox::serve(listener, sandbox.clone()));

    let data_dir = std::env::temp_dir().join(format!("cadence-bench-{}", std::process::id()));
    let config = sandbox.config().clone();
    let server = Server::start(&database_url, &sandbox_url, &config, &data_dir, port, &[]);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    wait_healthy(&http, &base).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = resident(server.pid(), "VmRSS");

    let session = sign_up(&http, &base, "bench@example.com").await;
    let account = connect(&http, &base, &session, &sandbox, &sandbox_url, "Maya Public").await;

    // The baseline client talks to the sandbox directly, as a second creator (own rate limits).
    let direct = TikTokClient::new(TikTokEndpoints {
        api_base: sandbox_url.clone(),
        authorize_base: sandbox_url.clone(),
        client_key: config.client_key.clone(),
        client_secret: config.client_secret.clone().into(),
        scopes: app::tiktok::scopes::DEFAULT_REQUESTED.iter().map(|s| (*s).to_owned()).collect(),
    })
    .unwrap();
    let direct_token = direct_token(&direct, &sandbox_url, &sandbox, "Leo Private").await;

    println!("Upload benchmark: {} cores, server idle RSS {:.1} MiB", num_cpus(), idle as f64 / MIB as f64);
    println!("| size | through Cadence | direct to the sandbox | ratio | server peak RSS | server CPU per GiB |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for size in sizes {
        let video = SyntheticVideo::mp4(60, size);
        let sampler = PeakSampler::start(server.pid());
        let cpu_before = cpu_seconds(server.pid());
        let started = Instant::now();
        upload_through_cadence(&http, &base, &session, &account, &video).await;
        let through = started.elapsed();
        let cpu = cpu_seconds(server.pid()) - cpu_before;
        let peak = sampler.finish();

        let started = Instant::now();
        upload_direct(&direct, &direct_token, &video).await;
        let straight = started.elapsed();

        let mb_s = |d: Duration| size as f64 / MIB as f64 / d.as_secs_f64();
        println!(
            "| {} MiB | {:.0} MiB/s | {:.0} MiB/s | {:.2}× | {:.1} MiB | {:.2} s |",
            size / MIB,
            mb_s(through),
            mb_s(straight),
            straight.as_secs_f64() / through.as_secs_f64(),
            peak as f64 / MIB as f64,
            cpu / (size as f64 / (1024 * MIB) as f64)
        );
        // TikTok's 6 inits a minute per token: space the runs.
        tokio::time::sleep(Duration::from_secs(11)).await;
    }

    // Sixteen people posting at once, each to a creator of its own (one creator's inits are
    // limited to 6 a minute).
    for n in 1..=CONCURRENT {
        common::authorize(&http, &base, &session, &sandbox, &sandbox_url, &format!("Creator {n:04}")).await;
    }
    let listed: serde_json::Value =
        http.post(format!("{base}/api/accounts/list")).header("origin", &base).header("cookie", &session).send().await.unwrap().json().await.unwrap();
    let creators: Vec<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|account| account["display_name"].as_str().is_some_and(|name| name.starts_with("Creator ")))
        .map(|account| account["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(creators.len(), CONCURRENT, "{listed}");
    let video = SyntheticVideo::mp4(60, CONCURRENT_SIZE);
    let sampler = PeakSampler::start(server.pid());
    let cpu_before = cpu_seconds(server.pid());
    let started = Instant::now();
    futures_util::future::join_all(creators.iter().map(|creator| upload_through_cadence(&http, &base, &session, creator, &video))).await;
    let together = started.elapsed();
    let cpu = cpu_seconds(server.pid()) - cpu_before;
    let peak = sampler.finish();
    let total = CONCURRENT as u64 * CONCURRENT_SIZE;
    println!(
        "{CONCURRENT} uploads of {} MiB at once through Cadence: {:.0} MiB/s in all, server peak RSS {:.1} MiB, server CPU {:.2} s per GiB",
        CONCURRENT_SIZE / MIB,
        total as f64 / MIB as f64 / together.as_secs_f64(),
        peak as f64 / MIB as f64,
        cpu / (total as f64 / (1024 * MIB) as f64)
    );
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// The server's peak resident memory while it runs, sampled from /proc every 20 ms.
struct PeakSampler {
    peak: Arc<AtomicU64>,
    sampling: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl PeakSampler {
    fn start(pid: u32) -> Self {
        let peak = Arc::new(AtomicU64::new(0));
        let sampling = Arc::new(AtomicBool::new(true));
        let thread = {
            let (peak, sampling) = (peak.clone(), sampling.clone());
            std::thread::spawn(move || {
                while sampling.load(Ordering::Relaxed) {
                    peak.fetch_max(resident(pid, "VmRSS"), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        };
        Self { peak, sampling, thread }
    }

    fn finish(self) -> u64 {
        self.sampling.store(false, Ordering::Relaxed);
        self.thread.join().unwrap();
        self.peak.load(Ordering::Relaxed)
    }
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// The CPU time the process has used so far, all threads, user and system: fields 14 and 15 of
/// /proc/PID/stat, in clock ticks of 1/100 s (USER_HZ on Linux). Unlike throughput, it does not
/// change with what else the two cores are doing, so it shows what the server's hop costs.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name (field 2) may hold spaces; the fields after it follow its closing ')'.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |index: usize| fields.get(index).and_then(|value| value.parse::<u64>().ok()).unwrap_or(0);
    // After the name, field 3 (state) is index 0, so utime (14) and stime (15) are 11 and 12.
    (ticks(11) + ticks(12)) as f64 / 100.0
}

/// A field of /proc/PID/status in bytes (VmRSS, VmHWM).
fn resident(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|line| line.starts_with(field))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

async fn direct_token(client: &TikTokClient, sandbox_url: &str, sandbox: &Sandbox, creator: &str) -> app::crypto::SecretToken {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let redirect = DIRECT_REDIRECT;
    let location = consent(&http, &client.authorize_url(redirect, "bench"), sandbox_url, sandbox, creator).await;
    let url = reqwest::Url::parse(&location).unwrap();
    let code = url.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    client.exchange_code(&code, redirect).await.unwrap().access_token
}

/// The composer's multipart upload, streamed from a generator (the bench holds no video).
async fn upload_through_cadence(http: &reqwest::Client, base: &str, session: &str, account: &str, video: &SyntheticVideo) {
    let choices = serde_json::to_string(&app::posts::rules::ComposerChoices {
        caption: "bench".into(),
        privacy_level: Some("SELF_ONLY".into()),
        ..Default::default()
    })
    .unwrap();
    let mut head = String::new();
    for (name, value) in [
        ("account_id", account.to_owned()),
        ("mode", "post_now".to_owned()),
        ("choices", choices),
        ("video_size", video.size.to_string()),
    ] {
        head.push_str(&format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"));
    }
    head.push_str(&format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"video\"; filename=\"bench.mp4\"\r\nContent-Type: video/mp4\r\n\r\n"
    ));
    let tail = format!("\r\n--{BOUNDARY}--\r\n");
    let pieces = video.pieces(0, video.size - 1, PIECE);
    let stream = futures_util::stream::iter(
        std::iter::once(bytes::Bytes::from(head))
            .chain(pieces)
            .chain(std::iter::once(bytes::Bytes::from(tail)))
            .map(Ok::<_, std::io::Error>),
    );
    let response = http
        .post(format!("{base}/api/posts/upload"))
        .header("origin", base)
        .header("cookie", session)
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(reqwest::Body::wrap_stream(stream))
        .timeout(Duration::from_secs(3600))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    assert!(status.is_success(), "upload through Cadence: {status} {body}");
}

async fn upload_direct(client: &TikTokClient, token: &app::crypto::SecretToken, video: &SyntheticVideo) {
    let plan = ChunkPlan::for_size(video.size).unwrap();
    let post = PostInfo {
        title: "bench".into(),
        privacy_level: "SELF_ONLY".into(),
        disable_duet: true,
        disable_stitch: true,
        disable_comment: true,
        video_cover_timestamp_ms: None,
        brand_content_toggle: false,
        brand_organic_toggle: false,
        is_aigc: false,
    };
    let init = client.init_direct_post(token, &post, &plan).await.unwrap();
    let pieces = futures_util::stream::iter(video.pieces(0, video.size - 1, PIECE).map(Ok::<_, std::io::Error>));
    let policy = app::config::UploadConfig::default();
    let data_dir = std::env::temp_dir();
    let target = app::publishing::stream::UploadTarget {
        client,
        upload_url: &init.upload_url,
        content_type: "video/mp4",
        policy: &policy,
        data_dir: &data_dir,
    };
    app::publishing::stream::stream_upload(&target, &plan, pieces).await.unwrap();
}
