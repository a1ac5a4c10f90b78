//! One client's stream: an optional catch-up from its start position (read from the
//! tables' streams), then the live broadcast of each table, deduplicated against what the
//! catch-up delivered, as SSE or NDJSON frames.
//!
//! The join is exact: for each table the client subscribes to the live broadcast and takes
//! the live reader's position at that instant, reads the stream from its own position up to
//! that one (shards the reader has nothing of: up to their newest record), then takes the
//! broadcast, passing an event only if it is past the client's position in its shard. If the
//! broadcast overflowed during a long catch-up, the client subscribes again and catches up to
//! the newer position: nothing is lost and nothing is sent twice.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use eventosaurus::consume::reader::{table_shards, ReadFrom, ShardReader};
use eventosaurus::consume::shards::{compare_sequence_numbers, ready_shards, ShardInfo};
use eventosaurus::consume::RawEvent;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use crate::feed::{Feed, LiveEvent};
use crate::position::TableCursor;
use crate::Shared;

/// The response format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `text/event-stream`.
    Sse,
    /// Newline-delimited JSON.
    Ndjson,
}

/// Counts a client while it is connected.
pub(crate) struct ClientSlot(Arc<AtomicUsize>);

impl ClientSlot {
    /// Takes a slot under `max`, or `None` when all are taken.
    pub(crate) fn take(count: &Arc<AtomicUsize>, max: usize) -> Option<ClientSlot> {
        count
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| ClientSlot(count.clone()))
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One requested table.
pub(crate) struct TableState {
    feed: Arc<Feed>,
    /// The broadcast; `None` until the catch-up subscribes.
    rx: Option<broadcast::Receiver<Arc<LiveEvent>>>,
    /// The client's position.
    cursor: TableCursor,
    /// The live reader's position when this client subscribed: the catch-up reads up to it.
    target: TableCursor,
    /// Shards still to catch up, in parent-before-child order; `None`: not planned yet.
    plan: Option<VecDeque<ShardInfo>>,
    /// The shard being caught up.
    reader: Option<ShardReader>,
    /// Empty reads in a row of that shard.
    empty_reads: u32,
}

impl TableState {
    /// A table joined live now: no catch-up.
    pub(crate) fn live(feed: Arc<Feed>) -> TableState {
        let (rx, cursor) = feed.subscribe();
        TableState {
            feed,
            rx: Some(rx),
            target: cursor.clone(),
            cursor,
            plan: Some(VecDeque::new()),
            reader: None,
            empty_reads: 0,
        }
    }

    /// A table that starts at `cursor` (from `since` or `Last-Event-ID`): caught up first.
    pub(crate) fn from(feed: Arc<Feed>, cursor: TableCursor) -> TableState {
        TableState {
            feed,
            rx: None,
            target: TableCursor::default(),
            cursor,
            plan: None,
            reader: None,
            empty_reads: 0,
        }
    }
}

/// A client's stream of frames.
pub(crate) struct ClientStream {
    shared: Arc<Shared>,
    format: Format,
    tables: Vec<TableState>,
    /// The table being caught up; `tables.len()`: live.
    catching_up: usize,
    pending: VecDeque<Bytes>,
    next_heartbeat: Instant,
    shutdown: watch::Receiver<bool>,
    done: bool,
    _slot: ClientSlot,
}

impl ClientStream {
    pub(crate) fn new(
        shared: Arc<Shared>,
        format: Format,
        tables: Vec<TableState>,
        notices: Vec<String>,
        slot: ClientSlot,
    ) -> ClientStream {
        let shutdown = shared.shutdown.subscribe();
        let next_heartbeat = Instant::now() + shared.options.heartbeat;
        // Tables joined live need no catch-up: a client of live tables only is live at once
        // (and a lag is a lag, not a reason to catch up).
        let catching_up = tables
            .iter()
            .position(|t| t.plan.as_ref().is_none_or(|plan| !plan.is_empty()))
            .unwrap_or(tables.len());
        let mut stream = ClientStream {
            shared,
            format,
            tables,
            catching_up,
            pending: VecDeque::new(),
            next_heartbeat,
            shutdown,
            done: false,
            _slot: slot,
        };
        let names: Vec<&str> = stream.tables.iter().map(|t| t.feed.table()).collect();
        let opening = format!("eventosaurus stream of {}", names.join(","));
        stream.comment(&opening);
        for notice in notices {
            stream.comment(&notice);
        }
        stream
    }

    /// The frames as a body stream.
    pub(crate) fn into_body(self) -> axum::body::Body {
        let stream = futures_util::stream::unfold(self, |mut client| async move {
            client
                .next_frame()
                .await
                .map(|frame| (Ok::<_, std::convert::Infallible>(frame), client))
        });
        axum::body::Body::from_stream(stream)
    }

    fn comment(&mut self, text: &str) {
        if self.format == Format::Sse {
            let mut frame = String::with_capacity(text.len() + 4);
            for line in text.lines() {
                frame.push_str(": ");
                frame.push_str(line);
                frame.push('\n');
            }
            frame.push('\n');
            self.pending.push_back(Bytes::from(frame));
        }
    }

    /// Ends the stream after a last comment.
    fn finish(&mut self, why: &str) {
        self.comment(why);
        self.done = true;
    }

    fn heartbeat(&mut self) {
        let frame = match self.format {
            Format::Sse => ": heartbeat\n\n",
            Format::Ndjson => "\n",
        };
        self.pending.push_back(Bytes::from_static(frame.as_bytes()));
    }

    /// The id of the client's position now.
    fn id(&self) -> String {
        crate::position::encode(
            &self.shared.environment,
            self.tables.iter().map(|t| (t.feed.table(), &t.cursor)),
        )
    }

    /// Passes an event if it is past the client's position, as a frame.
    fn deliver(
        &mut self,
        index: usize,
        shard: &str,
        sequence_number: &str,
        created_at: Option<&str>,
        data: &str,
    ) {
        if !self.tables[index]
            .cursor
            .admit(shard, sequence_number, created_at)
        {
            return;
        }
        let frame = match self.format {
            Format::Sse => format!(
                "event: {}\nid: {}\ndata: {data}\n\n",
                self.tables[index].feed.table(),
                self.id()
            ),
            Format::Ndjson => format!("{data}\n"),
        };
        self.pending.push_back(Bytes::from(frame));
    }

    async fn next_frame(&mut self) -> Option<Bytes> {
        loop {
            if self.pending.len() > 1 {
                // One chunk for what is ready: fewer writes for a client behind by a few.
                let size = self.pending.iter().map(Bytes::len).sum();
                let mut chunk = Vec::with_capacity(size);
                for frame in self.pending.drain(..) {
                    chunk.extend_from_slice(&frame);
                }
                return Some(Bytes::from(chunk));
            }
            if let Some(frame) = self.pending.pop_front() {
                return Some(frame);
            }
            if self.done {
                return None;
            }
            if *self.shutdown.borrow() {
                self.finish("the server is shutting down; reconnect with Last-Event-ID to resume");
                continue;
            }
            if Instant::now() >= self.next_heartbeat {
                self.next_heartbeat = Instant::now() + self.shared.options.heartbeat;
                self.heartbeat();
                continue;
            }
            if self.catching_up < self.tables.len() {
                self.catch_up_step().await;
            } else {
                self.live_step().await;
            }
        }
    }

    /// One step of the catch-up of the current table: plan it, or read one batch.
    async fn catch_up_step(&mut self) {
        let index = self.catching_up;
        if self.tables[index].plan.is_none() {
            self.plan_catch_up(index).await;
            return;
        }
        if self.tables[index].reader.is_none() && !self.open_next_shard(index) {
            return;
        }
        self.read_catch_up_batch(index).await;
    }

    /// Subscribes to the table's live feed first, then plans the shards to read up to the
    /// position of that instant.
    async fn plan_catch_up(&mut self, index: usize) {
        let table = &mut self.tables[index];
        let (rx, target) = table.feed.subscribe();
        table.rx = Some(rx);
        table.target = target;
        let cursor = table.cursor.clone();
        let name = table.feed.table().to_owned();
        if cursor
            .not_before
            .is_some_and(|t| t > chrono::Utc::now().timestamp_millis())
            && cursor.shards.is_empty()
        {
            // Nothing stored yet is at or after a time in the future: go live.
            table.plan = Some(VecDeque::new());
            return;
        }
        match self.plan(&name, &cursor).await {
            Ok(plan) => self.tables[index].plan = Some(plan),
            Err(error) => self.finish(&format!(
                "error: reading the stream of {name} failed: {error}; reconnect to retry"
            )),
        }
    }

    /// Opens a reader on the next planned shard of the table, from the client's position in
    /// it. With no shard left, moves on to the next table (or live, after the last one) and
    /// returns `false`.
    fn open_next_shard(&mut self, index: usize) -> bool {
        let table = &mut self.tables[index];
        let Some(shard) = table.plan.as_mut().and_then(VecDeque::pop_front) else {
            self.catching_up += 1;
            if self.catching_up == self.tables.len() {
                self.join_live();
            }
            return false;
        };
        let from = match table.cursor.shards.get(&shard.shard_id) {
            Some(seq) => ReadFrom::After(seq.clone()),
            None => ReadFrom::TrimHorizon,
        };
        table.reader = Some(ShardReader::new(
            &self.shared.store,
            &self.shared.streams,
            shard,
            from,
        ));
        true
    }

    /// Reads one batch of the shard being caught up and delivers it; closes the reader where
    /// the catch-up of that shard ends.
    async fn read_catch_up_batch(&mut self, index: usize) {
        let table = &mut self.tables[index];
        let Some(reader) = table.reader.as_mut() else {
            return;
        };
        let shard_id = reader.shard().shard_id.clone();
        let closed = reader.shard().closed;
        let target = table.target.shards.get(&shard_id).cloned();
        let batch = tokio::select! {
            batch = reader.next_batch(1000) => batch,
            _ = self.shutdown.changed() => return,
        };
        let batch = match batch {
            Ok(batch) => batch,
            Err(error) if error.is_retryable() => {
                tracing::warn!(%error, "catch-up read failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
                return;
            }
            Err(error) => {
                let name = self.tables[index].feed.table().to_owned();
                self.finish(&format!(
                    "error: reading the stream of {name} failed: {error}; reconnect to retry"
                ));
                return;
            }
        };
        if batch.trimmed {
            let name = self.tables[index].feed.table().to_owned();
            self.comment(&format!(
                "the position in {name} (shard {shard_id}) is older than the stream's \
                 retention: resuming at the oldest retained event; events were missed"
            ));
        }
        let last = batch
            .events
            .last()
            .map(|e| e.position.sequence_number.clone());
        let reached_target = match (&target, &last) {
            (Some(target), Some(last)) => compare_sequence_numbers(last, target).is_ge(),
            _ => false,
        };
        // Where the catch-up of this shard ends: at the live reader's position when it has one
        // here (the broadcast has the rest); a closed shard at its end; an open one the live
        // reader holds nothing of at its newest record, taken as two empty reads in a row (one
        // may come early), after which the live reader's events are deduplicated against what
        // was sent.
        let empty = batch.events.is_empty();
        let table = &mut self.tables[index];
        table.empty_reads = if empty { table.empty_reads + 1 } else { 0 };
        let at_head = target.is_none() && !closed && table.empty_reads >= 2;
        let done = batch.ended || reached_target || at_head;
        for event in &batch.events {
            self.deliver_raw(index, event);
        }
        if done {
            self.tables[index].reader = None;
            self.tables[index].empty_reads = 0;
        } else if empty {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                _ = self.shutdown.changed() => {}
            }
        }
    }

    fn deliver_raw(&mut self, index: usize, event: &RawEvent) {
        let data = crate::json::event_json(&event.table, &event.item).to_string();
        self.deliver(
            index,
            &event.position.shard_id,
            &event.position.sequence_number,
            event.created_at(),
            &data,
        );
    }

    /// The shards to read from the client's position, parents first; shards the client
    /// already holds a position past the target in are left out, and so are the ancestors of
    /// shards it holds a position in (read to their end before).
    async fn plan(&self, table: &str, cursor: &TableCursor) -> crate::Result<VecDeque<ShardInfo>> {
        let shards = table_shards(&self.shared.store, &self.shared.streams, table).await?;
        let by_id: HashMap<&str, &ShardInfo> =
            shards.iter().map(|s| (s.shard_id.as_str(), s)).collect();
        let mut done: HashSet<String> = HashSet::new();
        for shard in shards
            .iter()
            .filter(|s| cursor.shards.contains_key(&s.shard_id))
        {
            let mut parent = shard.parent_shard_id.as_deref();
            while let Some(id) = parent {
                let Some(p) = by_id.get(id) else { break };
                if !done.insert(p.key()) {
                    break;
                }
                parent = p.parent_shard_id.as_deref();
            }
        }
        let target = &self.tables[self.catching_up].target;
        let mut order = VecDeque::new();
        loop {
            let ready: Vec<ShardInfo> = ready_shards(&shards, &done).into_iter().cloned().collect();
            if ready.is_empty() {
                break;
            }
            for shard in ready {
                done.insert(shard.key());
                let caught_up = target
                    .shards
                    .get(&shard.shard_id)
                    .is_some_and(|t| cursor.reached(&shard.shard_id, t));
                if !caught_up {
                    order.push_back(shard);
                }
            }
        }
        Ok(order)
    }

    /// After the catch-up: a table whose broadcast overflowed meanwhile is caught up again
    /// from a new subscription; otherwise the client is live.
    fn join_live(&mut self) {
        let mut again = None;
        for (index, table) in self.tables.iter_mut().enumerate() {
            let lagged = table
                .rx
                .as_ref()
                .is_some_and(|rx| rx.len() > table.feed.capacity());
            if lagged {
                table.rx = None;
                table.plan = None;
                again.get_or_insert(index);
            }
        }
        if let Some(index) = again {
            self.catching_up = index;
        }
    }

    fn deliver_live(&mut self, index: usize, event: &LiveEvent) {
        self.deliver(
            index,
            &event.shard,
            &event.sequence_number,
            event.created_at.as_deref(),
            &event.data,
        );
    }

    /// Takes the events already waiting (up to a batch) without waiting again; a lag is
    /// left to the next [`live_step`](Self::live_step), which reports it.
    fn drain_ready(&mut self) {
        const BATCH: usize = 256;
        let mut taken = 0;
        for index in 0..self.tables.len() {
            while taken < BATCH {
                let Some(rx) = self.tables[index].rx.as_mut() else {
                    break;
                };
                match rx.try_recv() {
                    Ok(event) => {
                        self.deliver_live(index, &event);
                        taken += 1;
                    }
                    Err(_) => break,
                }
            }
        }
    }

    /// Waits for the next live event of any table (or a heartbeat, or shutdown).
    async fn live_step(&mut self) {
        let heartbeat = tokio::time::sleep_until(self.next_heartbeat);
        let received = {
            let receivers: Vec<_> = self
                .tables
                .iter_mut()
                .enumerate()
                .filter_map(|(i, t)| t.rx.as_mut().map(|rx| (i, rx)))
                .map(|(i, rx)| Box::pin(async move { (i, rx.recv().await) }))
                .collect();
            if receivers.is_empty() {
                drop(receivers);
                self.finish("no stream to follow");
                return;
            }
            let all = futures_util::future::select_all(receivers);
            tokio::select! {
                ((index, result), _, _) = all => Some((index, result)),
                _ = heartbeat => None,
                _ = self.shutdown.changed() => None,
            }
        };
        match received {
            None => {}
            Some((index, Ok(event))) => {
                self.deliver_live(index, &event);
                self.drain_ready();
            }
            Some((index, Err(RecvError::Lagged(missed)))) => {
                let table = self.tables[index].feed.table().to_owned();
                let capacity = self.tables[index].feed.capacity();
                tracing::info!(table, missed, "client too slow; disconnected");
                self.finish(&format!(
                    "disconnected: this client fell more than {capacity} events behind in {table} \
                     (it reads too slowly for the stream); reconnect with Last-Event-ID to resume \
                     after the last event received"
                ));
            }
            Some((_, Err(RecvError::Closed))) => {
                self.finish("the server is shutting down; reconnect with Last-Event-ID to resume");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;
    use eventosaurus::consume::StreamPosition;

    fn shared() -> Arc<Shared> {
        let config = aws_sdk_dynamodbstreams::Config::builder()
            .behavior_version(aws_sdk_dynamodbstreams::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodbstreams::config::Region::new("us-east-1"))
            .build();
        Arc::new(Shared {
            store: eventosaurus::Store::test(),
            streams: aws_sdk_dynamodbstreams::Client::from_conf(config),
            environment: "test".into(),
            tables: Vec::new(),
            feeds: Default::default(),
            options: crate::Options::default(),
            clients: Arc::new(AtomicUsize::new(0)),
            shutdown: watch::channel(false).0,
        })
    }

    fn event(n: u64) -> RawEvent {
        let mut item = eventosaurus::codec::Item::new();
        item.insert("event_uuid".into(), AttributeValue::S(format!("uuid-{n}")));
        item.insert("person_id".into(), AttributeValue::N(n.to_string()));
        RawEvent {
            table: "phone_call".into(),
            table_name: "test_phone_call".into(),
            item,
            position: StreamPosition {
                shard_id: "shard-1".into(),
                sequence_number: format!("{}", 100 + n),
            },
        }
    }

    fn client(shared: &Arc<Shared>, feed: &Arc<Feed>) -> ClientStream {
        let slot = ClientSlot::take(&shared.clients, 10).expect("a slot");
        let state = TableState::live(feed.clone());
        ClientStream::new(shared.clone(), Format::Sse, vec![state], Vec::new(), slot)
    }

    async fn text(client: &mut ClientStream) -> String {
        let frame = tokio::time::timeout(Duration::from_secs(5), client.next_frame())
            .await
            .expect("a frame in time")
            .expect("a frame");
        String::from_utf8(frame.to_vec()).expect("UTF-8")
    }

    /// A client more than its buffer behind is cut off with a comment saying why; one that
    /// keeps up gets every event; publishing never waits for either.
    #[tokio::test]
    async fn a_slow_client_is_cut_off_and_the_others_are_not_slowed() {
        let shared = shared();
        let feed = Feed::detached("phone_call", 8);
        let mut slow = client(&shared, &feed);
        let mut fast = client(&shared, &feed);
        assert!(text(&mut slow)
            .await
            .starts_with(": eventosaurus stream of phone_call"));
        assert!(text(&mut fast)
            .await
            .starts_with(": eventosaurus stream of phone_call"));
        let mut seen = 0;
        for n in 0..40 {
            feed.publish(&[event(n)]);
            let frame = text(&mut fast).await;
            assert!(frame.starts_with("event: phone_call\nid: "), "{frame}");
            assert!(
                frame.contains(&format!("\"event_uuid\":\"uuid-{n}\"")),
                "{frame}"
            );
            seen += 1;
        }
        assert_eq!(seen, 40);
        let last = text(&mut slow).await;
        assert!(
            last.starts_with(
                ": disconnected: this client fell more than 8 events behind in phone_call"
            ),
            "{last}"
        );
        assert!(slow.next_frame().await.is_none(), "the stream ends");
        drop(slow);
        assert_eq!(
            shared.clients.load(Ordering::SeqCst),
            1,
            "its slot is free again"
        );
    }

    /// Events already delivered (by sequence number) are not sent again: the join of a
    /// catch-up with the broadcast.
    #[tokio::test]
    async fn the_broadcast_is_deduplicated_by_sequence_number() {
        let shared = shared();
        let feed = Feed::detached("phone_call", 64);
        let mut client = client(&shared, &feed);
        text(&mut client).await;
        client.tables[0]
            .cursor
            .shards
            .insert("shard-1".into(), "105".into());
        feed.publish(&(3..8).map(event).collect::<Vec<_>>());
        let frames = text(&mut client).await;
        assert!(!frames.contains("uuid-5"), "{frames}");
        assert_eq!(frames.matches("event: phone_call").count(), 2, "{frames}");
        assert!(
            frames.contains("uuid-6") && frames.contains("uuid-7"),
            "{frames}"
        );
    }
}
