//! `eventosaurus-bench`: eventosaurus against the raw aws-sdk-dynamodb, side by side, on a
//! private DynamoDB Local. See BENCHMARKS.md for the method and the latest figures.
//!
//! ```text
//! cargo run --release -p eventosaurus-bench -- --all            # everything (~10 min)
//! cargo run --release -p eventosaurus-bench -- --scenario sync  # one scenario
//! cargo run --release -p eventosaurus-bench -- --scenario transaction
//! cargo run --release -p eventosaurus-bench -- --all --quick    # a short smoke run
//! cargo run --release -p eventosaurus-bench -- --all --json     # machine-readable
//! eventosaurus-bench --client-side encode --quick                # one side, for a profiler
//! ```

mod client;
mod consume;
mod query;
mod queue;
mod report;
mod scenarios;
mod stats;
mod transaction;

use clap::{Parser, ValueEnum};
use eventosaurus_testkit::local::{DynamoLocal, StartOptions};

use crate::scenarios::{Bench, Plan};

/// A scenario of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// Sync store (`event.store()`) vs raw conditional PutItem, at concurrency 1, 8 and 32.
    Sync,
    /// Async queue: enqueue latency and drain throughput vs raw BatchWriteItem / PutItem.
    Queue,
    /// Query `run` and `count` vs raw paginated Query and Select=COUNT.
    Query,
    /// Client-side cost of building an item, no network.
    Client,
    /// Transaction commit (app put + app update + event) vs raw TransactWriteItems, c=1 and 8.
    Transaction,
    /// Stream consumer throughput vs a raw GetRecords loop, and store-to-handler latency.
    Consume,
}

/// Benchmarks eventosaurus against the raw aws-sdk-dynamodb on a private DynamoDB Local.
///
/// Every comparison alternates raw and eventosaurus rounds on fresh tables after a
/// warm-up, and reports medians and ratios (≥1.0 = eventosaurus at least as fast).
#[derive(Debug, Parser)]
#[command(name = "eventosaurus-bench")]
struct Args {
    /// Run every scenario.
    #[arg(long)]
    all: bool,
    /// Run this scenario (repeatable).
    #[arg(long, value_enum)]
    scenario: Vec<Scenario>,
    /// Print the results as JSON on stdout (progress still goes to stderr).
    #[arg(long)]
    json: bool,
    /// A short smoke run: a tenth of the work, 2 rounds, 5 s warm-up (unless given).
    #[arg(long)]
    quick: bool,
    /// Seconds of mixed puts and queries before measuring [default: 60, --quick: 5].
    #[arg(long)]
    warmup_secs: Option<u64>,
    /// Alternating rounds per comparison [default: 5, --quick: 2].
    #[arg(long)]
    rounds: Option<usize>,
    /// Use this running DynamoDB Local instead of starting a private one.
    #[arg(long)]
    endpoint: Option<String>,
    /// Run only this side of the client-side scenario, once, and print its ns per event: for
    /// `valgrind --tool=callgrind` or `perf stat` (no server, no other scenario).
    #[arg(long, value_enum, conflicts_with_all = ["all", "scenario", "json"])]
    client_side: Option<client::Side>,
}

fn machine() -> serde_json::Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let nproc = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    serde_json::json!({
        "nproc": nproc,
        "cpu": cpu,
        "date": eventosaurus::CreatedAt::now().to_string(),
        "loadavg_at_start": load,
    })
}

fn main() {
    let args = Args::parse();
    let plan = Plan::new(args.quick, args.rounds);
    if let Some(side) = args.client_side {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("tokio runtime");
        let n = plan.client_events;
        let (wall, cpu) = runtime.block_on(client::profile(side, n));
        let cpu = cpu.map_or_else(|| "n/a".to_owned(), |ns| format!("{ns:.0}"));
        println!("{side:?}: {n} events, {wall:.0} ns/event wall-clock, {cpu} on-CPU");
        return;
    }
    let scenarios: Vec<Scenario> = if args.all || args.scenario.is_empty() {
        Scenario::value_variants().to_vec()
    } else {
        args.scenario.clone()
    };
    if !args.all && args.scenario.is_empty() {
        eprintln!("[bench] no --scenario given: running --all");
    }
    let warmup = args.warmup_secs.unwrap_or(if args.quick { 5 } else { 60 });
    let machine = machine();
    let needs_server = scenarios.iter().any(|s| *s != Scenario::Client);

    // Started before the runtime (it blocks until the server answers); stopped on drop.
    let (_server, endpoint) = match (&args.endpoint, needs_server) {
        (Some(endpoint), _) => (None, endpoint.clone()),
        (None, true) => {
            eprintln!("[bench] starting a private DynamoDB Local");
            let server = DynamoLocal::start(StartOptions {
                stop_with_this_process: true,
                ..Default::default()
            });
            let endpoint = server.endpoint();
            (Some(server), endpoint)
        }
        (None, false) => (None, "http://127.0.0.1:9".to_owned()),
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let rows = runtime.block_on(async {
        let bench = Bench::new(endpoint, plan.clone()).await;
        if needs_server {
            scenarios::warm_up(&bench, warmup).await;
        }
        let mut rows = Vec::new();
        for scenario in &scenarios {
            rows.extend(match scenario {
                Scenario::Sync => scenarios::sync_store(&bench).await,
                Scenario::Queue => queue::async_queue(&bench).await,
                Scenario::Query => query::query(&bench).await,
                Scenario::Client => client::client_side(&bench).await,
                Scenario::Transaction => transaction::transaction(&bench).await,
                Scenario::Consume => consume::consume(&bench).await,
            });
        }
        rows
    });

    if args.json {
        let out = serde_json::json!({
            "command": std::env::args().collect::<Vec<_>>().join(" "),
            "machine": machine,
            "warmup_secs": warmup,
            "rounds": plan.rounds,
            "ratio": "median eventosaurus / median raw for throughputs, raw / eventosaurus for latencies and ns/event: >= 1.0 means eventosaurus is at least as fast",
            "rows": report::json_rows(&rows),
        });
        println!("{}", serde_json::to_string_pretty(&out).expect("json"));
    } else {
        println!(
            "machine: {} × {}, {} (load at start {}); warm-up {warmup} s, {} rounds per comparison\n",
            machine["nproc"],
            machine["cpu"].as_str().unwrap_or(""),
            machine["date"].as_str().unwrap_or(""),
            machine["loadavg_at_start"].as_str().unwrap_or(""),
            plan.rounds
        );
        print!("{}", report::table(&rows));
    }
}
