//! Executing a [`Plan`] on a [`Backend`]: page after page, following `LastEvaluatedKey`
//! until done, with `limit` applied to the items *returned* and the plan's client-side
//! conditions applied to each page.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;

use super::{Backend, BackendFuture, PageResponse};
use crate::codec::Item;
use crate::error::Result;
use crate::plan::{matches_all, Cursor, Plan, Select};

/// One page of a plan, untyped: the matching items (or just their number) and where to
/// resume.
#[derive(Debug, Clone, PartialEq)]
pub struct RawPage {
    /// The matching items; empty for a [`Select::Count`] plan.
    pub items: Vec<Item>,
    /// How many items matched on this page (after every filter and the `limit`).
    pub count: u64,
    /// How many items DynamoDB evaluated for this page (before filtering).
    pub scanned: u64,
    /// Where this page ended; `None` on the last page.
    pub cursor: Option<Cursor>,
}

/// The pages of a plan, fetched lazily one DynamoDB request at a time.
///
/// Requests that match nothing (possible with filters) are skipped, so every page but a
/// [`Select::Count`] one holds at least one item.
///
/// It is a [`Stream`] of pages, driven by its consumer: a request is sent only when the
/// consumer asks for a page (polls) and the previous request has been turned into a page,
/// so at most one request is in flight and nothing is fetched ahead. [`next_page`](Self::next_page)
/// is the same as `StreamExt::next`, and is cancel-safe: a request in flight when its future
/// is dropped is kept, and the next call resumes it.
pub struct RawPages {
    backend: Arc<dyn Backend>,
    plan: Arc<Plan>,
    next_start: Option<Item>,
    returned: u64,
    requests: u64,
    finished: bool,
    in_flight: Option<BackendFuture<'static, PageResponse>>,
}

impl std::fmt::Debug for RawPages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawPages")
            .field("backend", &self.backend.label())
            .field("table", &self.plan.table)
            .field("returned", &self.returned)
            .field("requests", &self.requests)
            .field("finished", &self.finished)
            .field("in_flight", &self.in_flight.is_some())
            .finish_non_exhaustive()
    }
}

impl RawPages {
    /// The pages of `plan` on `backend`, starting at its `exclusive_start_key`.
    pub fn new(backend: Arc<dyn Backend>, plan: Plan) -> RawPages {
        let next_start = plan.exclusive_start_key.clone();
        let finished = plan.limit == Some(0);
        RawPages {
            backend,
            plan: Arc::new(plan),
            next_start,
            returned: 0,
            requests: 0,
            finished,
            in_flight: None,
        }
    }

    /// The plan being executed.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// How many requests have been sent so far (the one in flight included).
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// The next page, `None` when there are no more. After an error, `None`.
    pub async fn next_page(&mut self) -> Option<Result<RawPage>> {
        std::future::poll_fn(|cx| self.poll_page(cx)).await
    }

    /// Polls for the next page: sends the next request if none is in flight, and turns its
    /// response into a page (or, when nothing matched, sends the next request).
    pub fn poll_page(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<RawPage>>> {
        loop {
            if self.in_flight.is_none() && !self.finished {
                let request = self.send();
                self.in_flight = Some(request);
            }
            let Some(request) = self.in_flight.as_mut() else {
                return Poll::Ready(None);
            };
            let response = std::task::ready!(request.as_mut().poll(cx));
            self.in_flight = None;
            match response {
                Ok(response) => {
                    if let Some(page) = self.accept(response) {
                        return Poll::Ready(Some(Ok(page)));
                    }
                }
                Err(error) => {
                    self.finished = true;
                    return Poll::Ready(Some(Err(error)));
                }
            }
        }
    }

    /// Turns a response into a page; `None` when nothing in it matched.
    fn accept(&mut self, response: PageResponse) -> Option<RawPage> {
        tracing::debug!(
            table = %self.plan.table,
            request = self.requests,
            items = response.items.as_ref().map_or(response.count, |items| items.len() as u64),
            scanned = response.scanned,
            more = response.last_evaluated_key.as_ref().is_some_and(|k| !k.is_empty()),
            "received page"
        );
        let last_key = response.last_evaluated_key.filter(|key| !key.is_empty());
        let remaining = self.plan.limit.map(|limit| limit as u64 - self.returned);
        let counting_only = response.items.is_none();
        let mut items: Vec<Item> = response.items.unwrap_or_default();
        items.retain(|item| matches_all(&self.plan.client_filter, item));
        let mut count = if counting_only {
            response.count
        } else {
            items.len() as u64
        };
        // Where to resume: after the last item DynamoDB evaluated, or, when the limit cuts
        // this page short, after the last item returned.
        let mut cursor = last_key.as_ref().map(Cursor::encode);
        if last_key.is_none() {
            self.finished = true;
        }
        if let Some(remaining) = remaining {
            if count >= remaining {
                if count > remaining {
                    items.truncate(remaining as usize);
                    cursor = items.last().and_then(|item| self.plan.cursor_of(item));
                }
                count = remaining;
                self.finished = true;
            }
        }
        if self.plan.select == Select::Count {
            items.clear();
        }
        self.returned += count;
        self.next_start = last_key;
        // Nothing matched in this request: the caller fetches the next one (or stops).
        (count > 0).then_some(RawPage {
            items,
            count,
            scanned: response.scanned,
            cursor,
        })
    }

    /// Starts the next request. The future owns what it needs, so that it can be kept
    /// across polls.
    fn send(&mut self) -> BackendFuture<'static, PageResponse> {
        self.requests += 1;
        let plan = &self.plan;
        tracing::debug!(
            table = %plan.table,
            operation = plan.operation.as_str(),
            index = ?plan.index,
            key_condition = ?plan.expressions.key_condition_expression,
            filter = ?plan.expressions.filter_expression,
            page_size = ?plan.page_size,
            request = self.requests,
            resuming = self.next_start.is_some(),
            backend = self.backend.label(),
            "sending request"
        );
        let backend = self.backend.clone();
        let plan = self.plan.clone();
        let start = self.next_start.clone();
        Box::pin(async move { backend.query_page(&plan, start).await })
    }
}

impl Stream for RawPages {
    type Item = Result<RawPage>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_page(cx)
    }
}

/// Every matching item of a plan, across all pages (up to its `limit`).
pub async fn collect_items(backend: Arc<dyn Backend>, plan: Plan) -> Result<Vec<Item>> {
    let mut pages = RawPages::new(backend, plan);
    let mut items = Vec::new();
    while let Some(page) = pages.next_page().await {
        items.extend(page?.items);
    }
    Ok(items)
}

/// How many items match a plan, summed over all pages with `Select=COUNT` (up to its `limit`).
pub async fn count_items(backend: Arc<dyn Backend>, mut plan: Plan) -> Result<u64> {
    plan.select = Select::Count;
    let mut pages = RawPages::new(backend, plan);
    let mut total = 0;
    while let Some(page) = pages.next_page().await {
        total += page?.count;
    }
    Ok(total)
}
