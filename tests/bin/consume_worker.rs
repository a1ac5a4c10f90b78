//! A stream consumer process for the lease and restart tests (`tests/consume_group.rs`).
//!
//! ```text
//! consume_worker --endpoint URL --prefix P --group G --tables a,b [--worker-id ID]
//!                [--lease-expiry-ms N] [--poll-ms N] [--batch N] [--handler-delay-ms N]
//! ```
//!
//! Prints one JSON object per line on standard output, flushed at once:
//! `{"kind":"lease","key":..,"change":"acquired|released|handed_over|lost","from":seq|null,"t":ms}`
//! (`from`: the checkpoint an acquired lease resumes after),
//! `{"kind":"event","key":..,"seq":..,"event_uuid":..,"t":ms}` after each handled event,
//! `{"kind":"checkpoint","key":..,"seq":..,"t":ms}` after each checkpoint written, and
//! `{"kind":"stopped","handled":N}` after a graceful shutdown (SIGTERM or SIGINT).

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use eventosaurus::consume::{Checkpoint, Consumer, LeaseChangeKind, RawEvent};
use eventosaurus::{Config, Store};
use serde_json::json;

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

fn emit(value: serde_json::Value) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn millis(args: &[String], name: &str, default: u64) -> Duration {
    Duration::from_millis(
        arg(args, name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default),
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let required = |name: &str| arg(&args, name).ok_or(format!("{name} is required"));
    let config = Config::builder()
        .environment_prefix(required("--prefix")?)
        .endpoint(required("--endpoint")?)
        .build()?;
    let store = Store::connect(config).await?;
    let delay = millis(&args, "--handler-delay-ms", 0);
    let mut builder = Consumer::builder(&store)
        .group(required("--group")?)
        .on_any(move |event: RawEvent| async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            emit(json!({
                "kind": "event",
                "key": format!("{}/{}", event.table, event.position.shard_id),
                "seq": event.position.sequence_number,
                "event_uuid": event.event_uuid().map(|u| u.to_string()),
                "t": now_ms(),
            }));
            Ok(())
        })
        .on_lease_change(|change| {
            let kind = match &change.kind {
                LeaseChangeKind::Acquired => "acquired",
                LeaseChangeKind::Released => "released",
                LeaseChangeKind::HandedOver { .. } => "handed_over",
                LeaseChangeKind::Lost => "lost",
                _ => "other",
            };
            let from = match &change.checkpoint {
                Some(Checkpoint::Sequence(seq)) => Some(seq.clone()),
                Some(Checkpoint::ShardEnd) => Some("SHARD_END".to_owned()),
                _ => None,
            };
            emit(json!({"kind": "lease", "key": change.key, "change": kind, "from": from, "t": now_ms()}));
        })
        .on_checkpoint(|key, checkpoint| {
            let seq = match checkpoint {
                Checkpoint::Sequence(seq) => seq.clone(),
                Checkpoint::ShardEnd => "SHARD_END".to_owned(),
            };
            emit(json!({"kind": "checkpoint", "key": key, "seq": seq, "t": now_ms()}));
        })
        .lease_expiry(millis(&args, "--lease-expiry-ms", 1500))
        .poll_interval(millis(&args, "--poll-ms", 50))
        .batch_size(
            arg(&args, "--batch")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1000),
        );
    for table in required("--tables")?.split(',') {
        builder = builder.table_named(table);
    }
    if let Some(id) = arg(&args, "--worker-id") {
        builder = builder.worker_id(id);
    }
    let consumer = builder.build()?;
    emit(json!({"kind": "started", "worker_id": consumer.worker_id(), "t": now_ms()}));
    let signal = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    let stats = consumer.run_until(signal).await?;
    emit(json!({"kind": "stopped", "handled": stats.handled, "t": now_ms()}));
    Ok(())
}
