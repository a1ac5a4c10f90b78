//! `tail`: print the events of tables as they are stored (DynamoDB Streams), and the stream
//! parts of `create-tables` (`--enable-streams`, the lease table) and `check-tables`.

use std::future::Future;
use std::io::Write;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use clap::Args;
use eventosaurus::codec::Item;
use eventosaurus::consume::{
    create_lease_table, enable_stream, Consumer, EnableStreamOutcome, RawEvent, StartingPosition,
};
use eventosaurus::table::{self, CreateOutcome, TableDef, CREATED_AT, EVENT_UUID};
use eventosaurus::table_stream::live_stream;
use eventosaurus::Store;
use serde_json::Value;

use crate::CliError;

/// Options of `tail`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Reads the tables' DynamoDB streams (tables are created with one; see \
create-tables --enable-streams for older tables). With --group, the position is checkpointed \
in <prefix>_eventosaurus_leases, so that a restart with the same group resumes where it stopped, \
and several tails with one group share the tables' shards. SIGINT or SIGTERM stops after the \
current batch, with exit code 0."
)]
pub struct TailArgs {
    /// Logical table names, e.g. phone_call [default: every registered table]
    // Its own id: the global `--tables FILE` option is `tables`.
    #[arg(value_name = "TABLE", id = "tail_tables")]
    pub tables: Vec<String>,
    /// Where to start: trim-horizon (the oldest record, up to 24 h back), latest (new events
    /// only), or a time (ISO-8601, e.g. 2026-11-25T10:00:00Z or 2026-11-25, or milliseconds
    /// since the epoch): the first event created at or after it
    #[arg(long, value_name = "WHERE", default_value = "latest")]
    pub from: String,
    /// Print one JSON object per event and line: its attributes (with event_uuid and
    /// created_at) and "table"
    #[arg(long)]
    pub json: bool,
    /// Exit after N events
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Checkpoint under this consumer group name, and resume from its checkpoints
    #[arg(long, value_name = "NAME")]
    pub group: Option<String>,
    /// Pause after a read that found nothing new, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = 250)]
    pub poll_ms: u64,
}

/// Parses `--from`: `trim-horizon`, `latest`, ISO-8601 (a date is its midnight UTC), or
/// milliseconds since the epoch.
pub fn parse_from(text: &str) -> Result<StartingPosition, CliError> {
    let text = text.trim();
    let usage = || {
        CliError::Usage(format!(
            "--from {text:?}: expected trim-horizon, latest, an ISO-8601 time \
             (2026-11-25T10:00:00Z, 2026-11-25) or milliseconds since the epoch"
        ))
    };
    match text {
        "trim-horizon" => return Ok(StartingPosition::TrimHorizon),
        "latest" => return Ok(StartingPosition::Latest),
        _ => {}
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let millis: i64 = text.parse().map_err(|_| usage())?;
        return Utc
            .timestamp_millis_opt(millis)
            .single()
            .map(StartingPosition::At)
            .ok_or_else(usage);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(StartingPosition::At(t.with_timezone(&Utc)));
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let midnight = date.and_hms_opt(0, 0, 0).ok_or_else(usage)?;
        return Ok(StartingPosition::At(Utc.from_utc_datetime(&midnight)));
    }
    Err(usage())
}

/// One event as a JSON object: its attributes as plain JSON, plus `"table"` (logical name),
/// as the HTTP stream sends it.
pub fn event_json(table: &str, item: &Item) -> Value {
    eventosaurus_http::json::event_json(table, item)
}

/// One event as a readable line: `created_at table event_uuid name=value ...` (other
/// attributes by name).
pub fn event_line(table: &str, item: &Item) -> String {
    let text = |name: &str| {
        item.get(name)
            .map(crate::json::attribute_to_text)
            .unwrap_or_else(|| "-".to_owned())
    };
    let mut names: Vec<&String> = item
        .keys()
        .filter(|k| k.as_str() != EVENT_UUID && k.as_str() != CREATED_AT)
        .collect();
    names.sort();
    let mut line = format!("{} {table} {}", text(CREATED_AT), text(EVENT_UUID));
    for name in names {
        line.push_str(&format!(" {name}={}", text(name)));
    }
    line
}

/// `tail`: prints each new event of the tables until `shutdown` completes or `--limit` events
/// were printed, then stops gracefully (the current batch is finished and, with `--group`,
/// checkpointed). Returns the number of events printed.
pub async fn tail(
    store: &Store,
    defs: &[&'static TableDef],
    args: &TailArgs,
    shutdown: impl Future<Output = ()> + Send,
    out: &mut dyn Write,
) -> Result<u64, CliError> {
    let start = parse_from(&args.from)?;
    let tables: Vec<String> = if args.tables.is_empty() {
        defs.iter().map(|d| d.name.to_owned()).collect()
    } else {
        args.tables.clone()
    };
    if tables.is_empty() {
        return Err(CliError::NoRegisteredTables);
    }
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<RawEvent>(1024);
    let mut builder = Consumer::builder(store)
        .on_any(move |event: RawEvent| {
            let sender = sender.clone();
            async move {
                // The printer is gone only when tail is stopping: nothing to do then.
                let _ = sender.send(event).await;
                Ok(())
            }
        })
        .start_at(start)
        .poll_interval(std::time::Duration::from_millis(args.poll_ms));
    for table in &tables {
        builder = builder.table_named(table);
    }
    if let Some(group) = &args.group {
        builder = builder.group(group);
    }
    if let Some(limit) = args.limit {
        if limit == 0 {
            return Ok(0);
        }
        builder = builder.limit(limit);
    }
    let consumer = builder.build()?;
    let run = async move {
        let result = consumer.run_until(shutdown).await;
        // Dropping the consumer drops its handler, and with it the sender: the printer ends.
        drop(consumer);
        result
    };
    let print = async {
        let mut printed = 0u64;
        while let Some(event) = receiver.recv().await {
            let line = if args.json {
                event_json(&event.table, &event.item).to_string()
            } else {
                event_line(&event.table, &event.item)
            };
            writeln!(out, "{line}")?;
            out.flush()?;
            printed += 1;
        }
        Ok::<u64, std::io::Error>(printed)
    };
    let (ran, printed) = tokio::join!(run, print);
    ran?;
    Ok(printed?)
}

/// A future that completes on SIGINT or SIGTERM (SIGINT only where there is no SIGTERM).
pub async fn interrupted() {
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The stream part of `create-tables`: with `enable`, turns the stream on for the existing
/// tables that have none; otherwise names them. Then creates the lease table (unless the
/// tables were created without streams).
pub async fn create_tables_streams(
    store: &Store,
    created: &[(&'static TableDef, CreateOutcome)],
    enable: bool,
    no_streams: bool,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    if no_streams {
        return Ok(());
    }
    for (def, outcome) in created {
        if *outcome != CreateOutcome::AlreadyExists {
            continue;
        }
        let name = store.table_name(def);
        if enable {
            write!(out, "  {name}: stream ... ")?;
            out.flush()?;
            match enable_stream(store, def).await? {
                EnableStreamOutcome::AlreadyEnabled(view) => writeln!(out, "already on ({view})")?,
                EnableStreamOutcome::Enabled => writeln!(out, "turned on (NEW_IMAGE)")?,
                _ => writeln!(out, "done")?,
            }
        } else {
            let live = table::describe_table(store, def).await?;
            if live.as_ref().and_then(live_stream).is_none() {
                writeln!(
                    out,
                    "  {name}: has no stream; run create-tables --enable-streams to consume it"
                )?;
            }
        }
    }
    let lease_table = eventosaurus::consume::lease_table_name(store.environment_prefix());
    let outcome = create_lease_table(store).await?;
    writeln!(
        out,
        "lease table for stream consumers: {lease_table} ({})",
        match outcome {
            CreateOutcome::Created => "created",
            CreateOutcome::AlreadyExists => "was there",
        }
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;

    #[test]
    fn from_parses_every_form() {
        assert_eq!(
            parse_from("trim-horizon").unwrap(),
            StartingPosition::TrimHorizon
        );
        assert_eq!(parse_from("latest").unwrap(), StartingPosition::Latest);
        let at = |s: &str| match parse_from(s).unwrap() {
            StartingPosition::At(t) => t.timestamp_millis(),
            other => panic!("{other:?}"),
        };
        assert_eq!(at("1764064800000"), 1_764_064_800_000);
        assert_eq!(at("2025-11-25T10:00:00Z"), 1_764_064_800_000);
        assert_eq!(at("2025-11-25T11:00:00+01:00"), 1_764_064_800_000);
        assert_eq!(at("2025-11-25"), 1_764_028_800_000);
        for bad in ["", "yesterday", "2025-13-01", "12ab"] {
            assert!(matches!(parse_from(bad), Err(CliError::Usage(_))), "{bad}");
        }
    }

    #[test]
    fn events_print_as_json_and_lines() {
        let mut item = Item::new();
        item.insert("person_id".into(), AttributeValue::N("5".into()));
        item.insert("phone_number".into(), AttributeValue::S("555 0100".into()));
        item.insert(EVENT_UUID.into(), AttributeValue::S("u-1".into()));
        item.insert(
            CREATED_AT.into(),
            AttributeValue::S("2026-11-25T10:00:00.000Z".into()),
        );
        let json = event_json("phone_call", &item);
        assert_eq!(json["table"], "phone_call");
        assert_eq!(json["person_id"], 5);
        assert_eq!(json["event_uuid"], "u-1");
        assert_eq!(
            event_line("phone_call", &item),
            "2026-11-25T10:00:00.000Z phone_call u-1 person_id=5 phone_number=555 0100"
        );
    }
}
