//! A real DynamoDB Local for tests, examples and benchmarks.
//!
//! [`endpoint`] returns the endpoint of a server shared by the whole process: the one named
//! by `EVENTOSAURUS_TEST_ENDPOINT` (set by `scripts/dynamodb-local.sh run`), or else one this
//! process starts through that script and that stops when the process exits.
//! [`DynamoLocal::start`] starts a private server, e.g. file-backed, that a test may kill.
//! [`test_store`] gives each test its own environment prefix, so tests run in parallel.

use std::path::PathBuf;

use crate::repository_root;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use eventosaurus::{Config, Store};

/// The variable naming an already running DynamoDB Local.
pub const ENDPOINT_VAR: &str = "EVENTOSAURUS_TEST_ENDPOINT";

/// The repository's `scripts/dynamodb-local.sh`.
pub fn script() -> PathBuf {
    repository_root().join("scripts").join("dynamodb-local.sh")
}

/// A DynamoDB Local process started by this helper. Dropping it stops that process only.
#[derive(Debug)]
pub struct DynamoLocal {
    port: u16,
    pid: u32,
    db_path: Option<PathBuf>,
}

/// How to start a private DynamoDB Local.
#[derive(Debug, Default, Clone)]
pub struct StartOptions {
    /// A fixed port; a free one when `None`.
    pub port: Option<u16>,
    /// Persist to this directory (`-dbPath`) instead of memory.
    pub db_path: Option<PathBuf>,
    /// Stop the server when this process exits, even without a `Drop`.
    pub stop_with_this_process: bool,
}

impl DynamoLocal {
    /// Starts a server and waits until it answers.
    ///
    /// # Panics
    /// If the script fails: tests cannot run without it, and the panic carries its output.
    pub fn start(options: StartOptions) -> DynamoLocal {
        let mut cmd = Command::new("bash");
        cmd.arg(script()).arg("start");
        if let Some(port) = options.port {
            cmd.args(["--port", &port.to_string()]);
        }
        if let Some(path) = &options.db_path {
            cmd.arg("--db-path").arg(path);
        }
        if options.stop_with_this_process {
            cmd.args(["--watch-pid", &std::process::id().to_string()]);
        }
        let output = cmd.output().expect("run scripts/dynamodb-local.sh");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "scripts/dynamodb-local.sh start failed:\n{}{}",
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
        let mut parts = stdout.split_whitespace();
        let port = parts
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port from script");
        let pid = parts
            .next()
            .and_then(|p| p.parse().ok())
            .expect("pid from script");
        DynamoLocal {
            port,
            pid,
            db_path: options.db_path,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The PID of the java process.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Kills the server with SIGKILL (a crash, not a shutdown).
    pub fn kill9(&self) {
        let _ = Command::new("kill")
            .args(["-9", &self.pid.to_string()])
            .status();
        // Wait until the process is gone (a zombie counts as gone: it no longer serves).
        while std::path::Path::new(&format!("/proc/{}", self.pid)).exists() {
            let state =
                std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap_or_default();
            if state.split_whitespace().nth(2) == Some("Z") || state.is_empty() {
                break;
            }
            std::thread::yield_now();
        }
    }

    /// Freezes the server (SIGSTOP): connections stay open but nothing is answered.
    pub fn pause(&self) {
        let _ = Command::new("kill")
            .args(["-STOP", &self.pid.to_string()])
            .status();
    }

    /// Resumes a [`pause`](Self::pause)d server (SIGCONT).
    pub fn resume(&self) {
        let _ = Command::new("kill")
            .args(["-CONT", &self.pid.to_string()])
            .status();
    }

    /// Starts a new server on the same port and storage as this one (after [`kill9`](Self::kill9)).
    pub fn restart(&mut self) {
        let again = DynamoLocal::start(StartOptions {
            port: Some(self.port),
            db_path: self.db_path.clone(),
            stop_with_this_process: true,
        });
        let old = std::mem::replace(self, again);
        std::mem::forget(old);
    }

    /// Stops the server (SIGTERM, then SIGKILL) through the script, which checks the PID is ours.
    pub fn stop(&self) {
        self.resume();
        let _ = Command::new("bash")
            .arg(script())
            .args(["stop", &self.pid.to_string()])
            .status();
    }
}

impl Drop for DynamoLocal {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The endpoint of the DynamoDB Local shared by this process (see the module docs).
pub fn endpoint() -> &'static str {
    static SHARED: OnceLock<String> = OnceLock::new();
    SHARED.get_or_init(|| match std::env::var(ENDPOINT_VAR) {
        Ok(endpoint) if !endpoint.is_empty() => endpoint,
        _ => {
            let server = DynamoLocal::start(StartOptions {
                stop_with_this_process: true,
                ..Default::default()
            });
            let endpoint = server.endpoint();
            // Lives until the process exits; the script's watcher then stops it.
            std::mem::forget(server);
            endpoint
        }
    })
}

/// A prefix no other test in this run uses: `t<pid>x<n>-<name>`.
pub fn unique_prefix(name: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    format!("t{}x{n}-{clean}", std::process::id())
}

/// A store on the shared DynamoDB Local with a prefix of its own.
pub async fn test_store(name: &str) -> Store {
    store_at(endpoint(), &unique_prefix(name)).await
}

/// Creates the tables of the example events (`PhoneCall`, `NeatEvent`) in `store`'s environment.
pub async fn create_example_tables(store: &Store) {
    use crate::events::{NeatEvent, PhoneCall};
    use eventosaurus::Storable;
    let defs = [PhoneCall::TABLE, NeatEvent::TABLE];
    eventosaurus::table::create_tables(store, defs, eventosaurus::table::Billing::OnDemand)
        .await
        .expect("create the example tables");
}

/// Counts the items of `def`'s table with a consistent, paginated Scan (raw SDK).
pub async fn count_items(store: &Store, def: &eventosaurus::TableDef) -> u64 {
    let mut total = 0u64;
    let mut start = None;
    loop {
        let page = store
            .client()
            .expect("a DynamoDB store")
            .scan()
            .table_name(store.table_name(def))
            .consistent_read(true)
            .select(aws_sdk_dynamodb::types::Select::Count)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        total += page.count() as u64;
        start = page.last_evaluated_key;
        if start.is_none() {
            return total;
        }
    }
}

/// A store on `endpoint` with `prefix`.
pub async fn store_at(endpoint: &str, prefix: &str) -> Store {
    let config = Config::builder()
        .environment_prefix(prefix)
        .endpoint(endpoint)
        .build()
        .expect("valid test config");
    Store::connect(config)
        .await
        .expect("connect to DynamoDB Local")
}
