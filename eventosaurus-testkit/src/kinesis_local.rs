//! A real kinesis-local (kinesis-mock, the npm package `kinesis-local`) for tests, like
//! [`local`](crate::local) for DynamoDB Local.
//!
//! [`kinesis_endpoint`] returns the endpoint of a server shared by the whole process: the one
//! named by `EVENTOSAURUS_TEST_KINESIS_ENDPOINT` (set by `scripts/kinesis-local.sh run`), or
//! else one this process starts through that script and that stops when the process exits.
//! [`KinesisLocal::start`] starts a private one that a test may stop. Streams live in memory;
//! give each test its own stream name ([`crate::local::unique_prefix`]).

use std::path::PathBuf;

use crate::repository_root;
use std::process::Command;
use std::sync::OnceLock;

/// The variable naming an already running kinesis-local.
pub const KINESIS_ENDPOINT_VAR: &str = "EVENTOSAURUS_TEST_KINESIS_ENDPOINT";

/// The repository's `scripts/kinesis-local.sh`.
pub fn script() -> PathBuf {
    repository_root().join("scripts").join("kinesis-local.sh")
}

/// A kinesis-local process started by this helper. Dropping it stops that process only.
#[derive(Debug)]
pub struct KinesisLocal {
    port: u16,
    pid: u32,
}

impl KinesisLocal {
    /// Starts a server on a free port and waits until it answers. With
    /// `stop_with_this_process`, it is also stopped when this process exits.
    ///
    /// # Panics
    /// If the script fails: tests cannot run without it, and the panic carries its output.
    pub fn start(stop_with_this_process: bool) -> KinesisLocal {
        let mut cmd = Command::new("bash");
        cmd.arg(script()).arg("start");
        if stop_with_this_process {
            cmd.args(["--watch-pid", &std::process::id().to_string()]);
        }
        let output = cmd.output().expect("run scripts/kinesis-local.sh");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "scripts/kinesis-local.sh start failed:\n{}{}",
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
        KinesisLocal { port, pid }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The PID of the node process.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Stops the server through the script, which checks the PID is a kinesis-local.
    pub fn stop(&self) {
        let _ = Command::new("bash")
            .arg(script())
            .args(["stop", &self.pid.to_string()])
            .status();
    }
}

impl Drop for KinesisLocal {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The endpoint of the kinesis-local shared by this process (see the module docs).
pub fn kinesis_endpoint() -> &'static str {
    static SHARED: OnceLock<String> = OnceLock::new();
    SHARED.get_or_init(|| match std::env::var(KINESIS_ENDPOINT_VAR) {
        Ok(endpoint) if !endpoint.is_empty() => endpoint,
        _ => {
            let server = KinesisLocal::start(true);
            let endpoint = server.endpoint();
            // Lives until the process exits; the script's watcher then stops it.
            std::mem::forget(server);
            endpoint
        }
    })
}
