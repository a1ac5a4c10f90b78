//! Optional deduplication by `event_uuid` within a time window.
//!
//! Delivery is at least once: after a crash, the records after the last checkpoint are read
//! again. Within one process, a window of recently handled ids drops such repeats (and any
//! other repeat of an `event_uuid`, for example two shards' leases moving back and forth).

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use tokio::time::Instant;
use uuid::Uuid;

/// The ids handled within the last `window`.
pub(crate) struct DedupWindow {
    window: Duration,
    seen: HashSet<Uuid>,
    order: VecDeque<(Instant, Uuid)>,
}

impl DedupWindow {
    pub(crate) fn new(window: Duration) -> DedupWindow {
        DedupWindow {
            window,
            seen: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    fn expire(&mut self, now: Instant) {
        while let Some((at, id)) = self.order.front() {
            if now.duration_since(*at) <= self.window {
                break;
            }
            self.seen.remove(id);
            self.order.pop_front();
        }
    }

    /// Whether `id` was recorded within the window.
    pub(crate) fn contains(&mut self, id: &Uuid, now: Instant) -> bool {
        self.expire(now);
        self.seen.contains(id)
    }

    /// Records `id` as handled at `now`.
    pub(crate) fn insert(&mut self, id: Uuid, now: Instant) {
        self.expire(now);
        if self.seen.insert(id) {
            self.order.push_back((now, id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_forgotten_after_the_window() {
        let mut dedup = DedupWindow::new(Duration::from_secs(10));
        let t0 = Instant::now();
        let a = Uuid::new_v4();
        assert!(!dedup.contains(&a, t0));
        dedup.insert(a, t0);
        assert!(dedup.contains(&a, t0 + Duration::from_secs(5)));
        assert!(!dedup.contains(&a, t0 + Duration::from_secs(11)));
        dedup.insert(a, t0 + Duration::from_secs(11));
        assert!(dedup.contains(&a, t0 + Duration::from_secs(12)));
    }
}
