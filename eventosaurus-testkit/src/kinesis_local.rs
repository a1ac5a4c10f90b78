//! A real kinesis-local (kinesis-mock, the npm package `kinesis-local`) for tests, like
//! [`local`](crate::local) for DynamoDB Local.
//!
//! [`kinesis_endpoint`] returns the endpoint of a server shared by the whole process: the one
//! named by `EVENTOSAURUS_TEST_KINESIS_ENDPOINT` (set by `scripts/kinesis-local.sh run`), or
//! else one this process starts through that script and that stops when the process exits.
//! [`KinesisLocal::start`] starts a private one that a test may stop. Streams live in memory;
//! give each test its own stream name ([`crate::local::unique_prefix`]).

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::repository_root;
use crate::script_server::{shared_endpoint, ScriptServer};

/// The variable naming an already running kinesis-local.
pub const KINESIS_ENDPOINT_VAR: &str = "EVENTOSAURUS_TEST_KINESIS_ENDPOINT";

/// The repository's `scripts/kinesis-local.sh`.
pub fn script() -> PathBuf {
    repository_root().join("scripts").join("kinesis-local.sh")
}

/// A kinesis-local process started by this helper. Dropping it stops that process only.
#[derive(Debug)]
pub struct KinesisLocal {
    server: ScriptServer,
}

impl KinesisLocal {
    /// Starts a server on a free port and waits until it answers. With
    /// `stop_with_this_process`, it is also stopped when this process exits.
    ///
    /// # Panics
    /// If the script fails: tests cannot run without it, and the panic carries its output.
    pub fn start(stop_with_this_process: bool) -> KinesisLocal {
        KinesisLocal {
            server: ScriptServer::start(script(), Vec::new(), stop_with_this_process),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        self.server.endpoint()
    }

    /// The PID of the node process.
    pub fn pid(&self) -> u32 {
        self.server.pid()
    }

    /// Stops the server through the script, which checks the PID is a kinesis-local.
    pub fn stop(&self) {
        self.server.stop();
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
    shared_endpoint(&SHARED, KINESIS_ENDPOINT_VAR, || {
        ScriptServer::start(script(), Vec::new(), true)
    })
}
