//! The process handling [`local`](crate::local) and [`kinesis_local`](crate::kinesis_local)
//! share: a server started by one of the repository's scripts (`start` prints `PORT PID`),
//! stopped through the same script, and one server shared by a whole test process.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// A server process started by `script start`.
#[derive(Debug)]
pub(crate) struct ScriptServer {
    script: PathBuf,
    port: u16,
    pid: u32,
}

impl ScriptServer {
    /// Runs `script start ARGS..` (plus `--watch-pid` with this process's id when
    /// `stop_with_this_process`) and reads the `PORT PID` it prints.
    ///
    /// # Panics
    /// If the script fails: tests cannot run without the server, and the panic carries the
    /// script's output.
    pub(crate) fn start(
        script: PathBuf,
        args: Vec<OsString>,
        stop_with_this_process: bool,
    ) -> ScriptServer {
        let name = script
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut cmd = Command::new("bash");
        cmd.arg(&script).arg("start").args(args);
        if stop_with_this_process {
            cmd.args(["--watch-pid", &std::process::id().to_string()]);
        }
        let output = cmd
            .output()
            .unwrap_or_else(|e| panic!("run scripts/{name}: {e}"));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "scripts/{name} start failed:\n{}{}",
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
        let mut parts = stdout.split_whitespace();
        let mut number = |what: &str| {
            parts
                .next()
                .and_then(|p| p.parse().ok())
                .unwrap_or_else(|| panic!("scripts/{name} start printed no {what}: {stdout}"))
        };
        let port: u32 = number("port");
        let pid = number("pid");
        let port = u16::try_from(port)
            .unwrap_or_else(|_| panic!("scripts/{name} start printed a bad port: {stdout}"));
        ScriptServer { script, port, pid }
    }

    /// `http://127.0.0.1:<port>`.
    pub(crate) fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// Stops the server through `script stop PID`, which checks the PID is one of its servers.
    pub(crate) fn stop(&self) {
        let _ = Command::new("bash")
            .arg(&self.script)
            .args(["stop", &self.pid.to_string()])
            .status();
    }
}

/// The endpoint of the server shared by this process: the one the variable `var` names (set
/// by the script's `run`), or else one `start` starts, which lives until the process exits
/// (the script's watcher then stops it).
pub(crate) fn shared_endpoint(
    cell: &'static OnceLock<String>,
    var: &str,
    start: impl FnOnce() -> ScriptServer,
) -> &'static str {
    cell.get_or_init(|| match std::env::var(var) {
        Ok(endpoint) if !endpoint.is_empty() => endpoint,
        _ => {
            let server = start();
            let endpoint = server.endpoint();
            // Not stopped on drop: it serves the whole process.
            std::mem::forget(server);
            endpoint
        }
    })
}
