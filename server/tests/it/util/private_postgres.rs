//! A PostgreSQL cluster of the test's own (initdb in a temporary directory, a free port), so a
//! test can stop and restart the database under running servers without disturbing the shared
//! one every other test uses. Flags as in `scripts/lib.sh` `start_private_postgres`.

use std::path::{Path, PathBuf};
use tokio::process::Command;

pub struct PrivatePostgres {
    /// Owns the data directory, the socket and the server log.
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    /// Creates and starts a cluster; trust authentication for user `postgres`.
    pub async fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("cadence-test-pg-{}-{}", std::process::id(), uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        if is_root() {
            // PostgreSQL refuses to run as root: the cluster belongs to the `postgres` user.
            let mut chown = std::process::Command::new("chown");
            chown.arg("postgres").arg(&dir);
            run(chown).await;
        }
        let bin = bin_dir();
        let mut initdb = as_postgres(bin.join("initdb"));
        initdb.arg("-D").arg(dir.join("data")).args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions"]);
        run(initdb).await;
        let mut cluster = Self { dir, bin, port: 0 };
        // A port free a moment ago may be taken before PostgreSQL binds it: try a few.
        for attempt in 1..=5 {
            cluster.port = quiet_port();
            if cluster.pg_ctl_start().await {
                return cluster;
            }
            eprintln!("private PostgreSQL did not start on port {} (attempt {attempt})", cluster.port);
        }
        panic!("private PostgreSQL would not start; see {}", cluster.log().display());
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`, for creating databases on it.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// PostgreSQL's own log.
    pub fn log(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// `pg_ctl stop -m fast`: open transactions are rolled back and every connection is cut.
    pub async fn stop(&self) {
        let mut stop = as_postgres(self.bin.join("pg_ctl"));
        stop.arg("-D").arg(self.dir.join("data")).args(["-m", "fast", "-w", "-t", "60", "stop"]);
        run(stop).await;
    }

    /// Starts the stopped cluster again on the same port (the servers' URLs stay valid).
    pub async fn start_again(&self) {
        for _ in 0..5 {
            if self.pg_ctl_start().await {
                return;
            }
        }
        panic!("private PostgreSQL would not start again; see {}", self.log().display());
    }

    async fn pg_ctl_start(&self) -> bool {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
             -c max_connections=200",
            self.port,
            self.dir.display()
        );
        let mut start = as_postgres(self.bin.join("pg_ctl"));
        start.arg("-D").arg(self.dir.join("data")).arg("-l").arg(self.log()).args(["-w", "-t", "60", "-o", &options, "start"]);
        start.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
        Command::from(start).status().await.is_ok_and(|status| status.success())
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = as_postgres(self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free port below the kernel's ephemeral range, drawn at random. The kernel never hands such
/// a port out by itself (to a `bind` on port 0 or an outgoing connection), so while the cluster
/// is stopped nothing else takes it, and PostgreSQL starts again on it.
fn quiet_port() -> u16 {
    let ephemeral_start: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768);
    let (low, high) = (10_000u16, ephemeral_start.max(10_001));
    loop {
        let port = low + (uuid::Uuid::new_v4().as_u128() % u128::from(high - low)) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// The effective user owns its own `/proc/self`.
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

/// The newest installed PostgreSQL's binaries (Debian's layout), else `/usr/local/bin`.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| Some((entry.file_name().to_str()?.parse().ok()?, entry.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, bin)) => bin,
        None if Path::new("/usr/local/bin/initdb").exists() => PathBuf::from("/usr/local/bin"),
        None => panic!("PostgreSQL's initdb and pg_ctl were not found; install them with: apt-get install postgresql"),
    }
}

/// `program`, run as the `postgres` user when the tests run as root.
fn as_postgres(program: PathBuf) -> std::process::Command {
    if is_root() {
        let mut command = std::process::Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        std::process::Command::new(program)
    }
}

async fn run(command: std::process::Command) {
    let mut command = Command::from(command);
    let output = command.output().await.unwrap();
    assert!(output.status.success(), "{command:?} failed: {}", String::from_utf8_lossy(&output.stderr));
}
