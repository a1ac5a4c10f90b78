//! `serve`: the HTTP stream of the registered tables (`eventosaurus-http`): SSE and NDJSON
//! at `/v2/stream/{tables}`, the live page at `/`, until SIGINT or SIGTERM.

use std::future::Future;
use std::io::Write;
use std::time::Duration;

use clap::Args;
use eventosaurus::table::TableDef;
use eventosaurus::Store;
use eventosaurus_http::StreamServer;

use crate::CliError;

/// Options of `serve`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Routes: GET /v2/stream/{tables} (SSE; NDJSON with Accept: \
application/json; ?since=; Last-Event-ID), /v2/streams, /openapi.json, /healthz, and the live \
page at /. Read-only. SIGINT or SIGTERM ends every stream with a comment and exits 0."
)]
pub struct ServeArgs {
    /// The address to listen on (port 0: any free port, printed at start)
    #[arg(long, value_name = "ADDR", default_value = eventosaurus_http::DEFAULT_LISTEN)]
    pub listen: String,
    /// Serve only these registered tables (logical names, comma-separated)
    #[arg(long, value_name = "TABLE,...", value_delimiter = ',')]
    pub allow: Vec<String>,
    /// Answer cross-origin requests from this origin (`*` for any) [default: no CORS]
    #[arg(long, value_name = "ORIGIN")]
    pub cors: Option<String>,
    /// Seconds between heartbeat comments on an idle stream
    #[arg(long, value_name = "SECONDS", default_value_t = 15)]
    pub heartbeat: u64,
    /// The most stream clients at once (more get 503)
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub max_clients: usize,
    /// Events a client may fall behind before it is disconnected
    #[arg(long, value_name = "EVENTS", default_value_t = 4096)]
    pub client_buffer: usize,
}

/// `serve`: serves until `shutdown` completes, then ends the streams and returns.
pub async fn serve(
    store: &Store,
    defs: &[&'static TableDef],
    args: &ServeArgs,
    shutdown: impl Future<Output = ()> + Send + 'static,
    out: &mut impl Write,
) -> Result<(), CliError> {
    if defs.is_empty() {
        return Err(CliError::NoRegisteredTables);
    }
    let usage = |e: eventosaurus_http::Error| CliError::Usage(e.to_string());
    let mut builder = StreamServer::builder(store)
        .tables(defs.iter().copied())
        .heartbeat(Duration::from_secs(args.heartbeat.max(1)))
        .max_clients(args.max_clients)
        .client_buffer(args.client_buffer);
    if !args.allow.is_empty() {
        builder = builder.allow(args.allow.iter().map(|a| a.trim()));
    }
    if let Some(origin) = &args.cors {
        builder = builder.cors(origin);
    }
    let server = builder.build().map_err(usage)?;
    let listener = eventosaurus_http::bind(&args.listen).await.map_err(usage)?;
    let addr = listener.local_addr()?;
    writeln!(
        out,
        "serving {} on http://{addr} (live page at /; SIGINT or SIGTERM stops)",
        server.tables().join(",")
    )?;
    out.flush()?;
    server
        .serve(listener, shutdown)
        .await
        .map_err(|e| CliError::Io(std::io::Error::other(e.to_string())))
}
