//! The client-side scenario: the cost of building an item and of reading one back, no network.
//!
//! Every side is one function over `n` events, so that the scenario can alternate them round by
//! round and a profiler can run exactly one of them (`--client-side SIDE`, see BENCHMARKS.md:
//! `valgrind --tool=callgrind` or `perf stat -e instructions` on one side at a time).

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

use aws_sdk_dynamodb::types::AttributeValue;
use clap::ValueEnum;
use eventosaurus::persist::{EventWrite, PersistFuture, Persistor};
use eventosaurus::{codec, CreatedAt, Storable, Store};
use eventosaurus_testkit::events::PhoneCall;

use crate::report::Row;
use crate::scenarios::{phone_call, progress, raw_item, Bench};

/// One side of the client-side scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum Side {
    /// The hand-built `HashMap` (fresh UUID v4 and `created_at` included).
    Raw,
    /// `PhoneCall` + `event_uuid()` + `CreatedAt::now()` + `codec::encode`.
    Encode,
    /// `PhoneCall` + the whole `store()` path into a persistor that discards the write.
    Store,
    /// `serde_dynamo::from_items` of stored items into bare `PhoneCall`s.
    SerdeDecode,
    /// `codec::decode` of the same items into `StoredEvent<PhoneCall>`s.
    Decode,
}

/// A persistor that writes nothing: it isolates the client-side cost of `store()`.
struct Discard;

impl Persistor for Discard {
    fn persist<'a>(
        &'a self,
        _backend: &'a dyn eventosaurus::backend::Backend,
        write: EventWrite,
    ) -> PersistFuture<'a> {
        Box::pin(async move { Ok(write.stored()) })
    }
}

/// What every side works on: a store that discards writes, its table name, and stored items.
struct Setup {
    discard: Store,
    table: String,
    items: Vec<HashMap<String, AttributeValue>>,
}

impl Setup {
    fn new(n: usize, with_items: bool) -> Setup {
        let discard = Store::test().with_persistor(Discard);
        let table = discard.table_name(PhoneCall::TABLE);
        let items = if with_items {
            (0..n).map(|i| stored_item(i, &table)).collect()
        } else {
            Vec::new()
        };
        Setup {
            discard,
            table,
            items,
        }
    }

    /// Runs `side` over `n` events (or the stored items): wall-clock and on-CPU ns per event.
    async fn run(&self, side: Side, n: usize) -> Sample {
        // The items to decode are copied before the clocks start.
        let copy = match side {
            Side::SerdeDecode | Side::Decode => self.items.clone(),
            _ => Vec::new(),
        };
        let cpu_before = thread_cpu_ns();
        let started = Instant::now();
        match side {
            Side::Raw => build_raw(n),
            Side::Encode => encode(n, &self.table),
            Side::Store => store(n, &self.discard).await,
            Side::SerdeDecode => serde_decode(copy),
            Side::Decode => decode(copy, &self.table),
        }
        let wall = started.elapsed().as_nanos() as f64;
        let cpu = cpu_before
            .zip(thread_cpu_ns())
            .map(|(before, after)| after.saturating_sub(before) as f64);
        let per_event = |ns: f64| ns / n.max(1) as f64;
        Sample {
            wall: per_event(wall),
            cpu: cpu.map(per_event),
        }
    }
}

/// One side's cost per event in one round.
#[derive(Debug, Clone, Copy)]
struct Sample {
    /// Wall-clock ns per event.
    wall: f64,
    /// On-CPU ns per event of the thread that ran the side, where the OS tells it.
    cpu: Option<f64>,
}

/// The time the calling thread has spent on a CPU, in ns, from Linux's
/// `/proc/thread-self/schedstat` (its first field); `None` elsewhere. On a shared machine this
/// leaves out the time the thread waited for a core, which wall-clock time counts. The kernel
/// updates it at least once per scheduler tick (a few ms), small against a round of
/// hundreds of ms.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn stored_item(i: usize, table: &str) -> HashMap<String, AttributeValue> {
    let event = phone_call(i, 0);
    codec::encode(&event, table, &event.event_uuid(), &CreatedAt::now()).expect("encode")
}

fn build_raw(n: usize) {
    for i in 0..n {
        black_box(raw_item(black_box(i), 0));
    }
}

fn encode(n: usize, table: &str) {
    for i in 0..n {
        let event = phone_call(black_box(i), 0);
        let event_uuid = event.event_uuid();
        let created_at = CreatedAt::now();
        let item = codec::encode(&event, table, &event_uuid, &created_at).expect("encode");
        black_box(item);
    }
}

async fn store(n: usize, discard: &Store) {
    for i in 0..n {
        let event = phone_call(black_box(i), 0);
        black_box(event.store(discard).await.expect("store"));
    }
}

fn serde_decode(items: Vec<HashMap<String, AttributeValue>>) {
    let events: Vec<PhoneCall> = serde_dynamo::from_items(black_box(items)).expect("from_items");
    black_box(events);
}

fn decode(items: Vec<HashMap<String, AttributeValue>>, table: &str) {
    let events = black_box(items)
        .into_iter()
        .map(|item| codec::decode::<PhoneCall>(item, table))
        .collect::<Result<Vec<_>, _>>()
        .expect("decode");
    black_box(events);
}

/// Runs one side once over `n` events, for a profiler: wall-clock and on-CPU ns per event.
pub async fn profile(side: Side, n: usize) -> (f64, Option<f64>) {
    let decoding = matches!(side, Side::SerdeDecode | Side::Decode);
    let sample = Setup::new(n, decoding).run(side, n).await;
    (sample.wall, sample.cpu)
}

/// Building the item, no network: ours (`event_uuid` + `created_at` + `codec::encode`, and
/// the whole `store()` path into a discarding persistor) against a hand-built item; and
/// reading items back, `codec::decode` against `serde_dynamo::from_items`. Each comparison
/// twice: in wall-clock time, and in the on-CPU time of the thread (where Linux tells it),
/// which a loaded machine disturbs less.
pub async fn client_side(bench: &Bench) -> Vec<Row> {
    let n = bench.plan.client_events;
    let setup = Setup::new(n, true);
    let mut samples: HashMap<Side, Vec<Sample>> = HashMap::new();
    // Building: three sides in a rotating order; reading: two, alternating.
    let groups: [&[Side]; 2] = [
        &[Side::Raw, Side::Encode, Side::Store],
        &[Side::SerdeDecode, Side::Decode],
    ];
    for group in groups {
        for round in 0..bench.plan.rounds * 2 {
            let mut sides = group.to_vec();
            sides.rotate_left(round % group.len());
            for side in sides {
                let sample = setup.run(side, n).await;
                samples.entry(side).or_default().push(sample);
            }
        }
    }
    let wall = |side| -> Vec<f64> { samples[&side].iter().map(|s| s.wall).collect() };
    let cpu = |side| -> Vec<f64> { samples[&side].iter().filter_map(|s| s.cpu).collect() };
    let median = crate::stats::median;
    progress(format!(
        "client-side (wall-clock): raw {:.0} ns, encode {:.0} ns, store() {:.0} ns; decode: serde_dynamo::from_items {:.0} ns, codec::decode {:.0} ns",
        median(&wall(Side::Raw)),
        median(&wall(Side::Encode)),
        median(&wall(Side::Store)),
        median(&wall(Side::SerdeDecode)),
        median(&wall(Side::Decode)),
    ));
    let comparisons = [
        (
            "build item: event_uuid + created_at + codec::encode vs hand-built HashMap",
            Side::Raw,
            Side::Encode,
            Some(1.0),
        ),
        (
            "whole store() path into a discarding persistor vs hand-built HashMap",
            Side::Raw,
            Side::Store,
            None,
        ),
        (
            "read items: codec::decode (event + event_uuid + created_at) vs serde_dynamo::from_items",
            Side::SerdeDecode,
            Side::Decode,
            Some(1.0),
        ),
    ];
    let mut rows = Vec::new();
    for (clock, on_cpu) in [("", false), (" (on-CPU time)", true)] {
        for (work, raw, ours, target) in comparisons {
            let (raw, ours) = if on_cpu {
                (cpu(raw), cpu(ours))
            } else {
                (wall(raw), wall(ours))
            };
            if raw.is_empty() {
                continue; // no on-CPU clock on this OS
            }
            rows.push(Row {
                scenario: "client",
                work: format!("{work}{clock}"),
                concurrency: "1".to_owned(),
                unit: "ns/ev",
                higher_is_better: false,
                raw,
                ours,
                target,
                note: None,
            });
        }
    }
    rows
}
