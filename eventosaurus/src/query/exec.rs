//! Executing a [`Plan`] against DynamoDB: paginated Query or Scan, following
//! `LastEvaluatedKey` until done, with `limit` applied to the items *returned*. A test-mode
//! store evaluates the same plan in memory ([`memory`](super::memory)).

use std::collections::HashMap;
use std::marker::PhantomData;

use aws_sdk_dynamodb::types::{AttributeValue, Select as SdkSelect};

use crate::codec::{self, Item, StoredEvent};
use crate::error::{classify, Error, Result};
use crate::plan::matches_all;
use crate::plan::memory::evaluate_request;
use crate::plan::Cursor;
use crate::plan::{Operation, Plan, Select};
use crate::{Storable, Store};

/// One DynamoDB response, untyped: the matching items (or just their number) and where to
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
#[derive(Debug)]
pub struct RawPages {
    store: Store,
    plan: Plan,
    next_start: Option<Item>,
    returned: u64,
    requests: u64,
    finished: bool,
}

impl RawPages {
    /// The pages of `plan`, starting at its `exclusive_start_key`.
    pub fn new(store: &Store, plan: Plan) -> RawPages {
        let next_start = plan.exclusive_start_key.clone();
        let finished = plan.limit == Some(0);
        RawPages {
            store: store.clone(),
            plan,
            next_start,
            returned: 0,
            requests: 0,
            finished,
        }
    }

    /// The plan being executed.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// How many requests have been sent so far.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// The next page, `None` when there are no more. After an error, `None`.
    pub async fn next_page(&mut self) -> Option<Result<RawPage>> {
        while !self.finished {
            let response = match self.send().await {
                Ok(response) => response,
                Err(error) => {
                    self.finished = true;
                    return Some(Err(error));
                }
            };
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
            // Where to resume: after the last item DynamoDB evaluated, or, when the limit
            // cuts this page short, after the last item returned.
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
            if count == 0 {
                // Nothing matched in this request: fetch the next one (or stop if finished).
                continue;
            }
            return Some(Ok(RawPage {
                items,
                count,
                scanned: response.scanned,
                cursor,
            }));
        }
        None
    }

    async fn send(&mut self) -> Result<Response> {
        let plan = &self.plan;
        if let Some(memory) = self.store.memory() {
            // Test mode: the same plan, evaluated on the in-memory table.
            self.requests += 1;
            let response =
                evaluate_request(plan, memory.items(&plan.table), self.next_start.as_ref());
            tracing::debug!(
                table = %plan.table,
                request = self.requests,
                items = response.items.len(),
                scanned = response.scanned,
                "evaluated request in memory"
            );
            let count = response.items.len() as u64;
            return Ok(Response {
                items: match (plan.select, plan.client_filter.is_empty()) {
                    (Select::Count, true) => None,
                    _ => Some(response.items),
                },
                count,
                scanned: response.scanned,
                last_evaluated_key: response.last_evaluated_key,
            });
        }
        let at = self.store.call_site(plan.operation.as_str(), &plan.table);
        // A count with client-side conditions must see the items to count them.
        let select = match (plan.select, plan.client_filter.is_empty()) {
            (Select::Count, true) => Some(SdkSelect::Count),
            _ => None,
        };
        let names: Option<HashMap<String, String>> = Some(
            plan.expressions
                .names
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<HashMap<_, _>>(),
        )
        .filter(|m| !m.is_empty());
        let values: Option<HashMap<String, AttributeValue>> = Some(
            plan.expressions
                .values
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<HashMap<_, _>>(),
        )
        .filter(|m| !m.is_empty());
        let limit = plan.page_size.map(|n| i32::try_from(n).unwrap_or(i32::MAX));
        self.requests += 1;
        tracing::debug!(
            table = %plan.table,
            operation = plan.operation.as_str(),
            index = ?plan.index,
            key_condition = ?plan.expressions.key_condition_expression,
            filter = ?plan.expressions.filter_expression,
            page_size = ?plan.page_size,
            request = self.requests,
            resuming = self.next_start.is_some(),
            "sending request"
        );
        let response = match plan.operation {
            Operation::Query => {
                let output = self
                    .store
                    .client()
                    .query()
                    .table_name(&plan.table)
                    .set_index_name(plan.index.clone())
                    .set_key_condition_expression(plan.expressions.key_condition_expression.clone())
                    .set_filter_expression(plan.expressions.filter_expression.clone())
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    // Only what differs from DynamoDB's defaults, so the request is the
                    // one a hand-written Query would send.
                    .set_scan_index_forward(plan.descending.then_some(false))
                    .set_consistent_read(plan.consistent_read.then_some(true))
                    .set_limit(limit)
                    .set_select(select.clone())
                    .set_exclusive_start_key(self.next_start.clone())
                    .send()
                    .await
                    .map_err(|err| classify(err, at).into_error(at))?;
                Response::new(
                    output.items,
                    output.count,
                    output.scanned_count,
                    output.last_evaluated_key,
                    select.is_some(),
                )
            }
            Operation::Scan => {
                let output = self
                    .store
                    .client()
                    .scan()
                    .table_name(&plan.table)
                    .set_index_name(plan.index.clone())
                    .set_filter_expression(plan.expressions.filter_expression.clone())
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .set_consistent_read(plan.consistent_read.then_some(true))
                    .set_limit(limit)
                    .set_select(select.clone())
                    .set_exclusive_start_key(self.next_start.clone())
                    .send()
                    .await
                    .map_err(|err| classify(err, at).into_error(at))?;
                Response::new(
                    output.items,
                    output.count,
                    output.scanned_count,
                    output.last_evaluated_key,
                    select.is_some(),
                )
            }
        };
        tracing::debug!(
            table = %plan.table,
            request = self.requests,
            items = response.items.as_ref().map_or(response.count, |items| items.len() as u64),
            scanned = response.scanned,
            more = response.last_evaluated_key.as_ref().is_some_and(|k| !k.is_empty()),
            "received page"
        );
        Ok(response)
    }
}

struct Response {
    /// `None` for `Select=COUNT`.
    items: Option<Vec<Item>>,
    count: u64,
    scanned: u64,
    last_evaluated_key: Option<Item>,
}

impl Response {
    /// A Query's or Scan's output (the same fields on both) as a [`Response`].
    fn new(
        items: Option<Vec<Item>>,
        count: i32,
        scanned: i32,
        last_evaluated_key: Option<Item>,
        counting_only: bool,
    ) -> Response {
        Response {
            items: if counting_only {
                None
            } else {
                Some(items.unwrap_or_default())
            },
            count: u64::try_from(count).unwrap_or(0),
            scanned: u64::try_from(scanned).unwrap_or(0),
            last_evaluated_key,
        }
    }
}

/// Every matching item of a plan, across all pages (up to its `limit`).
pub async fn collect_items(store: &Store, plan: Plan) -> Result<Vec<Item>> {
    let mut pages = RawPages::new(store, plan);
    let mut items = Vec::new();
    while let Some(page) = pages.next_page().await {
        items.extend(page?.items);
    }
    Ok(items)
}

/// How many items match a plan, summed over all pages with `Select=COUNT` (up to its `limit`).
pub async fn count_items(store: &Store, mut plan: Plan) -> Result<u64> {
    plan.select = Select::Count;
    let mut pages = RawPages::new(store, plan);
    let mut total = 0;
    while let Some(page) = pages.next_page().await {
        total += page?.count;
    }
    Ok(total)
}

/// One page of typed results, with the cursor that resumes after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<E> {
    /// The events of this page, in range key order (reversed by `descending()`).
    pub events: Vec<StoredEvent<E>>,
    /// Pass to `.after(cursor)` to continue after this page; `None` when nothing follows.
    ///
    /// With a filter, a page can carry a cursor although no later item matches (DynamoDB
    /// cannot know before reading on); resuming from it then yields no events.
    pub cursor: Option<Cursor>,
}

/// The pages of a typed query, fetched lazily: see [`Query::stream`](super::Query::stream).
pub struct Pages<E> {
    state: PagesState,
    event: PhantomData<fn() -> E>,
}

impl<E> std::fmt::Debug for Pages<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("event", &std::any::type_name::<E>())
            .field("state", &self.state)
            .finish()
    }
}

#[derive(Debug)]
enum PagesState {
    Running(Box<RawPages>),
    /// Planning failed: the error is yielded once.
    Failed(Option<Error>),
}

impl<E: Storable> Pages<E> {
    pub(crate) fn new(store: &Store, plan: Result<Plan>) -> Pages<E> {
        let state = match plan {
            Ok(plan) => PagesState::Running(Box::new(RawPages::new(store, plan))),
            Err(error) => PagesState::Failed(Some(error)),
        };
        Pages {
            state,
            event: PhantomData,
        }
    }

    /// The plan being executed (`None` if planning failed).
    pub fn plan(&self) -> Option<&Plan> {
        match &self.state {
            PagesState::Running(raw) => Some(raw.plan()),
            PagesState::Failed(_) => None,
        }
    }

    /// The next page of events; `None` when there are no more.
    pub async fn next_page(&mut self) -> Option<Result<Page<E>>> {
        let raw = match &mut self.state {
            PagesState::Running(raw) => raw,
            PagesState::Failed(error) => return error.take().map(Err),
        };
        let page = match raw.next_page().await? {
            Ok(page) => page,
            Err(error) => return Some(Err(error)),
        };
        let table = &raw.plan().table;
        let events = page
            .items
            .into_iter()
            .map(|item| codec::decode::<E>(item, table))
            .collect::<Result<Vec<_>>>();
        Some(events.map(|events| Page {
            events,
            cursor: page.cursor,
        }))
    }
}
