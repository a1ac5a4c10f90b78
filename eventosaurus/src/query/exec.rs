//! Typed pages: a plan's raw pages ([`RawPages`], executed by the store's backend) decoded
//! into events.

use std::marker::PhantomData;

use crate::backend::RawPages;
use crate::codec;
use crate::error::{Error, Result};
use crate::model::{Storable, StoredEvent};
use crate::plan::{Cursor, Plan};
use crate::store::Store;

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
            Ok(plan) => PagesState::Running(Box::new(RawPages::new(store.backend().clone(), plan))),
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
