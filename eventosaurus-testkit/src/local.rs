//! A real DynamoDB Local for tests, examples and benchmarks.
//!
//! [`endpoint`] returns the endpoint of a server shared by the whole process: the one named
//! by `EVENTOSAURUS_TEST_ENDPOINT` (set by `scripts/dynamodb-local.sh run`), or else one this
//! process starts through that script and that stops when the process exits.
//! [`DynamoLocal::start`] starts a private server, e.g. file-backed, that a test may kill.
//! [`test_store`] gives each test its own environment prefix, so tests run in parallel.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use crate::repository_root;
use crate::script_server::{shared_endpoint, ScriptServer};

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
    server: ScriptServer,
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
        let mut args: Vec<OsString> = Vec::new();
        if let Some(port) = options.port {
            args.extend(["--port".into(), port.to_string().into()]);
        }
        if let Some(path) = &options.db_path {
            args.extend(["--db-path".into(), path.into()]);
        }
        DynamoLocal {
            server: ScriptServer::start(script(), args, options.stop_with_this_process),
            db_path: options.db_path,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        self.server.endpoint()
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// The PID of the java process.
    pub fn pid(&self) -> u32 {
        self.server.pid()
    }

    /// Kills the server with SIGKILL (a crash, not a shutdown).
    pub fn kill9(&self) {
        let _ = Command::new("kill")
            .args(["-9", &self.pid().to_string()])
            .status();
        // Wait until the process is gone (a zombie counts as gone: it no longer serves).
        while std::path::Path::new(&format!("/proc/{}", self.pid())).exists() {
            let state =
                std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap_or_default();
            if state.split_whitespace().nth(2) == Some("Z") || state.is_empty() {
                break;
            }
            std::thread::yield_now();
        }
    }

    /// Freezes the server (SIGSTOP): connections stay open but nothing is answered.
    pub fn pause(&self) {
        let _ = Command::new("kill")
            .args(["-STOP", &self.pid().to_string()])
            .status();
    }

    /// Resumes a [`pause`](Self::pause)d server (SIGCONT).
    pub fn resume(&self) {
        let _ = Command::new("kill")
            .args(["-CONT", &self.pid().to_string()])
            .status();
    }

    /// Starts a new server on the same port and storage as this one (after [`kill9`](Self::kill9)).
    pub fn restart(&mut self) {
        let again = DynamoLocal::start(StartOptions {
            port: Some(self.port()),
            db_path: self.db_path.clone(),
            stop_with_this_process: true,
        });
        let old = std::mem::replace(self, again);
        std::mem::forget(old);
    }

    /// Stops the server (SIGTERM, then SIGKILL) through the script, which checks the PID is ours.
    pub fn stop(&self) {
        self.resume();
        self.server.stop();
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
    shared_endpoint(&SHARED, ENDPOINT_VAR, || {
        ScriptServer::start(script(), Vec::new(), true)
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
