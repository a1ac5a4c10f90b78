//! Typed results as streams: a plan's raw pages ([`RawPages`], executed by the store's
//! backend) decoded into [`Page`]s ([`Pages`]) or into single events ([`Events`]).
//!
//! Both are [`Stream`]s driven by their consumer (back-pressure): a request is sent only when
//! the consumer polls for more and everything fetched before has been handed over, so a
//! stream holds at most one page and never fetches ahead.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::backend::RawPages;
use crate::codec::{self, Item};
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

/// Where a typed stream is: running a plan, or failed to plan (the error is yielded once).
#[derive(Debug)]
enum Source {
    Running(Box<RawPages>),
    Failed(Option<Error>),
}

impl Source {
    fn new(store: &Store, plan: Result<Plan>) -> Source {
        match plan {
            Ok(plan) => Source::Running(Box::new(RawPages::new(store.backend().clone(), plan))),
            Err(error) => Source::Failed(Some(error)),
        }
    }

    fn raw(&self) -> Option<&RawPages> {
        match self {
            Source::Running(raw) => Some(raw),
            Source::Failed(_) => None,
        }
    }

    fn requests(&self) -> u64 {
        self.raw().map_or(0, |raw| raw.requests())
    }
}

/// The pages of a typed query, fetched lazily: see [`Query::pages`](super::Query::pages).
///
/// A [`Stream`] of `Result<Page<E>>`; [`next_page`](Pages::next_page) is the same without
/// `StreamExt`. Each page is one DynamoDB request (requests that matched nothing are
/// skipped), sent when the consumer asks for the page, never earlier. After an error the
/// stream ends, except for a page that could not be decoded: that page is an error and the
/// next one follows.
///
/// ```
/// # #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
/// # #[eventosaurus(table = "phone_call", partition_key = person_id)]
/// # pub struct PhoneCall { pub person_id: u64, pub phone_number: String }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> eventosaurus::Result<()> {
/// use eventosaurus::Storable;
/// use futures_util::StreamExt; // or `futures::StreamExt`
///
/// let store = eventosaurus::Store::test();
/// for n in 0..5 {
///     PhoneCall { person_id: 5, phone_number: format!("555-010{n}") }.store(&store).await?;
/// }
/// let mut pages = PhoneCall::query().by_person_id(5).page_size(2).pages(&store);
/// let mut sizes = Vec::new();
/// while let Some(page) = pages.next().await {
///     sizes.push(page?.events.len());
/// }
/// assert_eq!(sizes, [2, 2, 1]);
/// assert_eq!(pages.requests(), 3);
/// # Ok(()) }
/// ```
pub struct Pages<E> {
    source: Source,
    event: PhantomData<fn() -> E>,
}

impl<E> std::fmt::Debug for Pages<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("event", &std::any::type_name::<E>())
            .field("source", &self.source)
            .finish()
    }
}

impl<E: Storable> Pages<E> {
    pub(crate) fn new(store: &Store, plan: Result<Plan>) -> Pages<E> {
        Pages {
            source: Source::new(store, plan),
            event: PhantomData,
        }
    }

    /// The plan being executed (`None` if planning failed).
    pub fn plan(&self) -> Option<&Plan> {
        self.source.raw().map(RawPages::plan)
    }

    /// How many requests have been sent so far (the one in flight included).
    pub fn requests(&self) -> u64 {
        self.source.requests()
    }

    /// The next page of events; `None` when there are no more. Cancel-safe: a request in
    /// flight when the returned future is dropped is resumed by the next call.
    pub async fn next_page(&mut self) -> Option<Result<Page<E>>> {
        std::future::poll_fn(|cx| self.poll_page(cx)).await
    }

    fn poll_page(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Page<E>>>> {
        let raw = match &mut self.source {
            Source::Running(raw) => raw,
            Source::Failed(error) => return Poll::Ready(error.take().map(Err)),
        };
        let page = match std::task::ready!(raw.poll_page(cx)) {
            None => return Poll::Ready(None),
            Some(Err(error)) => return Poll::Ready(Some(Err(error))),
            Some(Ok(page)) => page,
        };
        let table = &raw.plan().table;
        let events = page
            .items
            .into_iter()
            .map(|item| codec::decode::<E>(item, table))
            .collect::<Result<Vec<_>>>();
        Poll::Ready(Some(events.map(|events| Page {
            events,
            cursor: page.cursor,
        })))
    }
}

impl<E: Storable> Stream for Pages<E> {
    type Item = Result<Page<E>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_page(cx)
    }
}

/// The events of a typed query one by one, fetched a page at a time: see
/// [`Query::events`](super::Query::events).
///
/// A [`Stream`] of `Result<StoredEvent<E>>`. It keeps the items of at most one page
/// ([`buffered_items`](Events::buffered_items)) and sends the next request only when they have all been
/// taken and the consumer polls for more: a slow consumer slows the requests down. Without a
/// filter, after `k` events with a page size of `p` at most `ceil(k / p) + 1` requests have
/// been sent ([`requests`](Events::requests); the `+ 1` is DynamoDB's possible empty last
/// page). With a filter, requests whose items all fail it are skipped, so more may be sent,
/// but still one at a time and never more than one page held.
///
/// Items are decoded as they are taken: an item that cannot be decoded is an
/// `Err(Error::Decode)` and the stream goes on with the next. A request that fails is an
/// error, and ends the stream.
///
/// ```
/// # #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
/// # #[eventosaurus(table = "phone_call", partition_key = person_id)]
/// # pub struct PhoneCall { pub person_id: u64, pub phone_number: String }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> eventosaurus::Result<()> {
/// use eventosaurus::Storable;
/// use futures_util::{StreamExt, TryStreamExt};
///
/// let store = eventosaurus::Store::test();
/// for n in 0..5 {
///     PhoneCall { person_id: 5, phone_number: format!("555-010{n}") }.store(&store).await?;
/// }
/// let mut events = PhoneCall::query().by_person_id(5).page_size(2).events(&store);
/// let first = events.next().await.transpose()?;
/// assert_eq!(first.map(|e| e.person_id), Some(5));
/// assert_eq!((events.requests(), events.buffered_items()), (1, 1)); // one page fetched, one item left
/// let rest: Vec<_> = events.try_collect().await?;
/// assert_eq!(rest.len(), 4);
/// # Ok(()) }
/// ```
pub struct Events<E> {
    source: Source,
    buffer: VecDeque<Item>,
    event: PhantomData<fn() -> E>,
}

impl<E> std::fmt::Debug for Events<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("event", &std::any::type_name::<E>())
            .field("source", &self.source)
            .field("buffered", &self.buffer.len())
            .finish()
    }
}

impl<E: Storable> Events<E> {
    pub(crate) fn new(store: &Store, plan: Result<Plan>) -> Events<E> {
        Events {
            source: Source::new(store, plan),
            buffer: VecDeque::new(),
            event: PhantomData,
        }
    }

    /// The plan being executed (`None` if planning failed).
    pub fn plan(&self) -> Option<&Plan> {
        self.source.raw().map(RawPages::plan)
    }

    /// How many requests have been sent so far (the one in flight included).
    pub fn requests(&self) -> u64 {
        self.source.requests()
    }

    /// How many fetched items are waiting to be taken: at most one page. (Not `buffered`,
    /// which `StreamExt` has for another purpose.)
    pub fn buffered_items(&self) -> usize {
        self.buffer.len()
    }

    /// The next event; `None` when there are no more. Cancel-safe, like
    /// [`Pages::next_page`].
    pub async fn next_event(&mut self) -> Option<Result<StoredEvent<E>>> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<StoredEvent<E>>>> {
        let raw = match &mut self.source {
            Source::Running(raw) => raw,
            Source::Failed(error) => return Poll::Ready(error.take().map(Err)),
        };
        if self.buffer.is_empty() {
            match std::task::ready!(raw.poll_page(cx)) {
                None => return Poll::Ready(None),
                Some(Err(error)) => return Poll::Ready(Some(Err(error))),
                Some(Ok(page)) => self.buffer = page.items.into(),
            }
        }
        // Pages other than a count's hold at least one item.
        Poll::Ready(
            self.buffer
                .pop_front()
                .map(|item| codec::decode::<E>(item, &raw.plan().table)),
        )
    }
}

impl<E: Storable> Stream for Events<E> {
    type Item = Result<StoredEvent<E>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_event(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.buffer.len(), None)
    }
}
