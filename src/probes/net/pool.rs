//! The connection pool: which connection a request goes on, and how many connections each
//! server address gets.
//!
//! - **A per-address limit** (`run.max_connections_per_host`, 6 by default, like browsers). A
//!   slot is a semaphore permit held by the socket ([`super::connect::Limited`]); one pool serves
//!   every audit of a fleet run or of `serve`, so a thousand targets behind one ingress share six
//!   connections. A request that needs a connection when every slot is taken closes an *idle*
//!   connection to that address (of any origin) or waits in line: a connection given back goes
//!   to the oldest waiter for its address (as is for its origin, else closed to free the slot),
//!   so no target behind a shared address starves.
//! - **HTTP/2 is shared**: one connection per origin carries many streams, never more at once
//!   than one less than the server's `SETTINGS_MAX_CONCURRENT_STREAMS`. While the first
//!   connection to an origin that may speak HTTP/2 is being opened, the other requests wait for
//!   it instead of each opening their own (and share its failure, so a refused or untrusted
//!   server is not dialled fifty times).
//! - **HTTP/1.1 connections are kept alive** and reused once their answer was read to the end.
//! - **Hostile requests go alone** ([`Checkout::alone`]): a fresh HTTP/1.1 connection that
//!   carries nothing else and is closed after the answer. **A group** (the rate-limit burst) has
//!   connections of its own, closed when the group ends.
//! - **A body longer than the cap** closes its connection rather than resetting the stream: an
//!   HTTP/1.1 connection is dropped; an HTTP/2 connection is retired (no new stream goes on it),
//!   the unread stream is parked without a reset, and the connection is closed as soon as its
//!   other streams are done — servers treat a client resetting stream after stream as an attack.
//! - Idle connections are closed after [`IDLE_TIMEOUT`].

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::NetError;
use super::connect::{self, Stream};
use super::resolve::RunResolver;

/// The request body type of every connection.
pub type Body = Full<Bytes>;

/// How long an idle connection is kept for reuse (servers close theirs after 5–75 s; closing
/// first spares a request the race with the server's close).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(20);

/// The connection limit per address when nothing is configured, as browsers do.
pub const DEFAULT_LIMIT: usize = crate::config::DEFAULT_MAX_CONNECTIONS_PER_HOST;

/// Streams assumed allowed on a new HTTP/2 connection until the server's SETTINGS arrive
/// (RFC 9113 §6.5.2 recommends servers allow at least 100).
const INITIAL_STREAMS: usize = 100;

/// Which pool a connection belongs to: same scheme, host, port, trust and group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OriginKey {
    /// `https://`.
    pub https: bool,
    /// Host name or IP literal as in the URL.
    pub host: String,
    /// Port.
    pub port: u16,
    /// 0 for plain HTTP, 1 for unverified TLS, else the id of the trust that verified it.
    pub tls: u64,
    /// 0 for shared connections, else the id of the group owning them.
    pub group: u64,
}

/// How a request wants its connection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Checkout {
    /// A fresh HTTP/1.1 connection that carries nothing else and is closed afterwards.
    pub alone: bool,
    /// Do not reuse an idle HTTP/1.1 connection (a retry after one closed under us).
    pub new_http1: bool,
    /// Do not use this connection (a retry after its GOAWAY).
    pub avoid: Option<u64>,
}

/// What a new connection needs: the resolver and, for `https://`, the TLS configuration.
#[derive(Debug)]
pub struct Dial<'a> {
    /// The run's resolver.
    pub resolver: &'a RunResolver,
    /// The client configuration (ALPN included); `None` for `http://`.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

/// A slot of the per-address limit; waking waiters when it is given back.
#[derive(Debug)]
pub struct Slot {
    permit: Option<OwnedSemaphorePermit>,
    pool: Weak<Pool>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        drop(self.permit.take());
        if let Some(pool) = self.pool.upgrade() {
            pool.changed.notify_waiters();
        }
    }
}

/// The task driving a connection; dropping it closes the connection.
#[derive(Debug)]
struct Driver(Option<JoinHandle<()>>);

impl Driver {
    /// Closes the connection and waits until its socket (and slot) is gone.
    async fn close(mut self) {
        if let Some(handle) = self.0.take() {
            handle.abort();
            let _ = handle.await;
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            handle.abort();
        }
    }
}

#[derive(Debug)]
struct H1 {
    id: u64,
    addr: SocketAddr,
    sender: http1::SendRequest<Body>,
    driver: Driver,
}

#[derive(Debug)]
struct IdleH1 {
    conn: H1,
    since: Instant,
}

#[derive(Debug)]
struct H2 {
    id: u64,
    addr: SocketAddr,
    sender: http2::SendRequest<Body>,
    driver: Driver,
    in_flight: usize,
    retired: bool,
    since: Instant,
    /// The server's `SETTINGS_MAX_CONCURRENT_STREAMS`, as the driver last saw it.
    max_streams: Arc<AtomicUsize>,
    /// Bodies past the cap, kept unread (not reset) until the connection closes.
    parked: Vec<Incoming>,
}

impl H2 {
    /// Streams this connection may carry at once: below the server's limit.
    fn capacity(&self) -> usize {
        self.max_streams
            .load(Ordering::SeqCst)
            .saturating_sub(1)
            .max(1)
    }

    fn usable(&self, avoid: Option<u64>) -> bool {
        !self.retired && avoid != Some(self.id) && !self.sender.is_closed()
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Proto {
    #[default]
    Unknown,
    Http1,
    Http2,
}

type Outcome = Option<Result<(), NetError>>;

#[derive(Debug, Default)]
struct Origin {
    idle: Vec<IdleH1>,
    h2: Vec<H2>,
    proto: Proto,
    /// A connection that may turn out HTTP/2 is being opened (its id and outcome).
    connecting: Option<(u64, watch::Receiver<Outcome>)>,
    /// Last checkout, so an origin nobody asked for in a while is forgotten (`serve` meets
    /// targets without end).
    used: Option<Instant>,
}

impl Origin {
    fn is_empty(&self) -> bool {
        self.idle.is_empty() && self.h2.is_empty() && self.connecting.is_none()
    }
}

#[derive(Debug, Default)]
struct State {
    slots: HashMap<SocketAddr, Arc<Semaphore>>,
    origins: HashMap<OriginKey, Origin>,
    /// Requests waiting for a connection to an address, oldest first (see [`Waiter`]).
    queues: HashMap<SocketAddr, VecDeque<Waiter>>,
    reaped: Option<Instant>,
}

/// A request waiting for a connection to an address when every slot is taken. Waiters are
/// served in arrival order, whatever their origin: a connection given back goes to the oldest
/// waiter — as is if it wants that origin, else closed so its slot serves the waiter — so many
/// targets behind one address share it fairly and none starves.
#[derive(Debug)]
struct Waiter {
    id: u64,
    key: OriginKey,
    /// May take an idle HTTP/1.1 connection of its origin (not a hostile request, not a retry).
    reuses: bool,
    tx: oneshot::Sender<Handoff>,
}

/// What a waiter is handed.
#[derive(Debug)]
enum Handoff {
    /// A connection of its origin, ready for its request.
    Reuse(H1),
    /// A connection was closed for it: its slot is free for this waiter to take.
    SlotFreed,
}

/// A connection closed to free its slot.
#[derive(Debug)]
enum Victim {
    H1(H1),
    H2(H2),
}

impl Victim {
    async fn close(self) {
        match self {
            Victim::H1(c) => c.driver.close().await,
            Victim::H2(c) => c.driver.close().await,
        }
    }
}

impl State {
    fn origin(&mut self, key: &OriginKey) -> &mut Origin {
        self.origins.entry(key.clone()).or_default()
    }

    /// Drops idle connections past the timeout and connections the server closed.
    fn reap(&mut self, now: Instant) {
        if self
            .reaped
            .is_some_and(|at| now.duration_since(at) < Duration::from_secs(1))
        {
            return;
        }
        self.reaped = Some(now);
        for origin in self.origins.values_mut() {
            origin.idle.retain(|c| {
                now.duration_since(c.since) < IDLE_TIMEOUT && !c.conn.sender.is_closed()
            });
            origin.h2.retain(|c| {
                c.in_flight > 0
                    || (!c.retired
                        && !c.sender.is_closed()
                        && now.duration_since(c.since) < IDLE_TIMEOUT)
            });
        }
        self.origins.retain(|_, o| {
            !o.is_empty()
                || o.used
                    .is_some_and(|at| now.duration_since(at) < IDLE_TIMEOUT)
        });
    }

    /// An idle connection to `addr` whose slot can be taken back: the oldest HTTP/1.1 one, else
    /// an HTTP/2 connection with no stream.
    /// True when the request holding `ticket` may take a free slot of `addr` now: nobody waits
    /// before it.
    fn first_in_line(&mut self, addr: SocketAddr, ticket: Option<u64>) -> bool {
        let Some(queue) = self.queues.get_mut(&addr) else {
            return true;
        };
        while queue.front().is_some_and(|w| w.tx.is_closed()) {
            queue.pop_front();
        }
        match queue.front() {
            None => true,
            Some(w) => Some(w.id) == ticket,
        }
    }

    /// Leaves the queue of `addr`.
    fn leave(&mut self, addr: SocketAddr, ticket: Option<u64>) {
        if let (Some(id), Some(queue)) = (ticket, self.queues.get_mut(&addr)) {
            queue.retain(|w| w.id != id);
            if queue.is_empty() {
                self.queues.remove(&addr);
            }
        }
    }

    /// The oldest live waiter for `addr`, taken out of the queue.
    fn next_waiter(&mut self, addr: SocketAddr) -> Option<Waiter> {
        let queue = self.queues.get_mut(&addr)?;
        let waiter = loop {
            match queue.pop_front() {
                Some(w) if w.tx.is_closed() => continue,
                other => break other,
            }
        };
        if queue.is_empty() {
            self.queues.remove(&addr);
        }
        waiter
    }

    fn take_idle_at(&mut self, addr: SocketAddr) -> Option<Victim> {
        let mut oldest: Option<(&OriginKey, usize, Instant)> = None;
        for (key, origin) in &self.origins {
            for (i, c) in origin.idle.iter().enumerate() {
                if c.conn.addr == addr && oldest.is_none_or(|(_, _, since)| c.since < since) {
                    oldest = Some((key, i, c.since));
                }
            }
        }
        if let Some((key, i, _)) = oldest {
            let key = key.clone();
            let origin = self.origins.get_mut(&key)?;
            return Some(Victim::H1(origin.idle.swap_remove(i).conn));
        }
        let key = self.origins.iter().find_map(|(key, origin)| {
            origin
                .h2
                .iter()
                .any(|c| c.addr == addr && c.in_flight == 0)
                .then(|| key.clone())
        })?;
        let origin = self.origins.get_mut(&key)?;
        let i = origin
            .h2
            .iter()
            .position(|c| c.addr == addr && c.in_flight == 0)?;
        Some(Victim::H2(origin.h2.swap_remove(i)))
    }
}

/// A connection lent to one request.
#[derive(Debug)]
pub struct Lease {
    pool: Arc<Pool>,
    key: OriginKey,
    conn: LeaseConn,
    /// The connection carried a request before this one.
    pub reused: bool,
    /// The connection's id (to avoid it on a retry).
    pub id: u64,
    alone: bool,
    done: bool,
}

#[derive(Debug)]
enum LeaseConn {
    H1(Option<H1>),
    H2(http2::SendRequest<Body>),
}

impl Lease {
    /// True for an HTTP/2 stream.
    pub fn is_h2(&self) -> bool {
        matches!(self.conn, LeaseConn::H2(_))
    }

    /// Sends the request on this connection and waits for the response head; `None` when the
    /// connection was already given back (cannot happen: giving back consumes the lease).
    pub async fn send(
        &mut self,
        request: http::Request<Body>,
    ) -> Option<Result<http::Response<Incoming>, hyper::Error>> {
        Some(match &mut self.conn {
            LeaseConn::H1(Some(conn)) => match conn.sender.ready().await {
                Ok(()) => conn.sender.send_request(request).await,
                Err(e) => Err(e),
            },
            LeaseConn::H1(None) => return None,
            LeaseConn::H2(sender) => sender.send_request(request).await,
        })
    }

    /// The answer was read to its end: the connection goes back to the pool (an HTTP/1.1
    /// connection once it is ready for the next request; a hostile request's is closed).
    pub async fn finish(mut self) {
        self.done = true;
        match &mut self.conn {
            LeaseConn::H1(slot) => {
                let Some(mut conn) = slot.take() else { return };
                if self.alone {
                    return;
                }
                let ready = tokio::time::timeout(Duration::from_secs(1), conn.sender.ready()).await;
                if matches!(ready, Ok(Ok(()))) {
                    self.pool.give_back(&self.key, conn).await;
                }
            }
            LeaseConn::H2(_) => self.pool.end_stream(&self.key, self.id, None),
        }
    }

    /// The body was longer than the cap: close the connection instead of resetting the stream
    /// (see the module doc).
    pub fn overflow(mut self, body: Incoming) {
        self.done = true;
        match &mut self.conn {
            // Dropping an HTTP/1.1 connection mid-body closes it.
            LeaseConn::H1(slot) => drop(slot.take()),
            LeaseConn::H2(_) => self.pool.end_stream(&self.key, self.id, Some(body)),
        }
    }

    /// The server is going away on this connection (GOAWAY): no new stream goes on it.
    pub fn retire(&self) {
        if self.is_h2() {
            self.pool.retire(&self.key, self.id);
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        match &mut self.conn {
            // A request that failed or was cut: its connection is in an unknown state, close it.
            LeaseConn::H1(slot) => drop(slot.take()),
            LeaseConn::H2(_) => self.pool.end_stream(&self.key, self.id, None),
        }
    }
}

/// The run's (or the exporter's) connections, see the module doc.
#[derive(Debug)]
pub struct Pool {
    limit: usize,
    state: Mutex<State>,
    /// Something was freed: a slot, an idle connection, a stream, a finished connect.
    changed: Notify,
    ids: AtomicU64,
    opened: AtomicU64,
}

enum Step {
    Connect(Slot, Option<Connecting>),
    Evict(Victim),
    WaitConnecting(watch::Receiver<Outcome>),
    Wait,
}

/// The right to open the connection the origin's other requests wait for.
struct Connecting {
    pool: Arc<Pool>,
    key: OriginKey,
    id: u64,
    tx: watch::Sender<Outcome>,
}

impl Drop for Connecting {
    fn drop(&mut self) {
        {
            let mut st = self.pool.lock();
            if let Some(origin) = st.origins.get_mut(&self.key)
                && origin
                    .connecting
                    .as_ref()
                    .is_some_and(|(id, _)| *id == self.id)
            {
                origin.connecting = None;
            }
        }
        self.pool.changed.notify_waiters();
    }
}

impl Pool {
    /// A pool allowing `limit` connections per server address.
    pub fn new(limit: usize) -> Arc<Pool> {
        Arc::new(Pool {
            limit: limit.max(1),
            state: Mutex::new(State::default()),
            changed: Notify::new(),
            ids: AtomicU64::new(1),
            opened: AtomicU64::new(0),
        })
    }

    /// Connections allowed per address.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Connections opened so far.
    pub fn opened(&self) -> u64 {
        self.opened.load(Ordering::SeqCst)
    }

    /// A fresh id for a connection or a group.
    pub fn next_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::SeqCst)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind: keep using it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn semaphore(&self, st: &mut State, addr: SocketAddr) -> Arc<Semaphore> {
        st.slots
            .entry(addr)
            .or_insert_with(|| Arc::new(Semaphore::new(self.limit)))
            .clone()
    }

    /// A slot for `addr`, closing idle connections to it or waiting as needed.
    pub async fn slot(self: &Arc<Self>, addr: SocketAddr) -> Slot {
        // As in `checkout`: one idle connection closed at a time, its slot awaited.
        let mut evicted_at: Option<Instant> = None;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (victim, semaphore) = {
                let mut st = self.lock();
                let semaphore = self.semaphore(&mut st, addr);
                if let Ok(permit) = semaphore.clone().try_acquire_owned() {
                    return self.wrap(permit);
                }
                let may_evict = evicted_at.is_none_or(|at| at.elapsed() > connect::LINGER);
                (
                    may_evict.then(|| st.take_idle_at(addr)).flatten(),
                    semaphore,
                )
            };
            if let Some(victim) = victim {
                evicted_at = Some(Instant::now());
                victim.close().await;
                continue;
            }
            tokio::select! {
                permit = semaphore.acquire_owned() => {
                    if let Ok(permit) = permit {
                        return self.wrap(permit);
                    }
                }
                _ = &mut notified => {}
            }
        }
    }

    fn wrap(self: &Arc<Self>, permit: OwnedSemaphorePermit) -> Slot {
        Slot {
            permit: Some(permit),
            pool: Arc::downgrade(self),
        }
    }

    /// Closes the connections of a group.
    pub fn close_group(&self, group: u64) {
        let removed: Vec<Origin> = {
            let mut st = self.lock();
            let keys: Vec<OriginKey> = st
                .origins
                .keys()
                .filter(|k| k.group == group)
                .cloned()
                .collect();
            keys.iter().filter_map(|k| st.origins.remove(k)).collect()
        };
        drop(removed);
        self.changed.notify_waiters();
    }

    /// A connection for one request to `key` (and how long it waited for a slot or a stream).
    pub async fn checkout(
        self: &Arc<Self>,
        key: &OriginKey,
        want: Checkout,
        dial: &Dial<'_>,
    ) -> Result<(Lease, Duration), NetError> {
        let mut waited = Duration::ZERO;
        let ips = dial
            .resolver
            .lookup(&key.host)
            .await
            .map_err(NetError::Resolve)?;
        let Some(first) = ips.first().map(|ip| SocketAddr::new(*ip, key.port)) else {
            return Err(NetError::Resolve(format!("{}: no address", key.host)));
        };
        // Our place in the address's queue once we have to wait, and whether a connection was
        // just closed for us (then the freed slot is ours, queue or not).
        let mut ticket: Option<(u64, oneshot::Receiver<Handoff>)> = None;
        // A waiter that gives up (its deadline) drops its receiver: the queue skips it.
        let mut granted = false;
        // When we last closed an idle connection for its slot: the slot comes back once the
        // server has seen the close (see `connect::Limited`); closing another meanwhile would
        // empty the pool for nothing.
        let mut evicted_at: Option<Instant> = None;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let step = {
                let mut st = self.lock();
                let now = Instant::now();
                st.reap(now);
                st.origin(key).used = Some(now);
                if let Some(lease) = self.reuse(&mut st, key, want) {
                    return Ok((lease, waited));
                }
                let may_be_h2 = key.https && !want.alone && st.origin(key).proto != Proto::Http1;
                let pending = st.origin(key).connecting.as_ref().map(|(_, rx)| rx.clone());
                let my_turn = granted || st.first_in_line(first, ticket.as_ref().map(|t| t.0));
                let semaphore = self.semaphore(&mut st, first);
                let permit = if my_turn {
                    semaphore.try_acquire_owned().ok()
                } else {
                    None
                };
                match pending {
                    Some(rx) if may_be_h2 => Step::WaitConnecting(rx),
                    _ => match permit {
                        Some(permit) => {
                            st.leave(first, ticket.take().map(|t| t.0));
                            let connecting = may_be_h2.then(|| {
                                let id = self.next_id();
                                let (tx, rx) = watch::channel(None);
                                st.origin(key).connecting = Some((id, rx));
                                Connecting {
                                    pool: Arc::clone(self),
                                    key: key.clone(),
                                    id,
                                    tx,
                                }
                            });
                            Step::Connect(self.wrap(permit), connecting)
                        }
                        None => match (my_turn
                            && evicted_at.is_none_or(|at| at.elapsed() > connect::LINGER))
                        .then(|| st.take_idle_at(first))
                        .flatten()
                        {
                            Some(victim) => Step::Evict(victim),
                            None => {
                                if ticket.is_none() {
                                    let id = self.next_id();
                                    let (tx, rx) = oneshot::channel();
                                    let waiter = Waiter {
                                        id,
                                        key: key.clone(),
                                        reuses: !want.alone && !want.new_http1,
                                        tx,
                                    };
                                    let queue = st.queues.entry(first).or_default();
                                    // A slot freed for us and taken by another: first again.
                                    if granted {
                                        queue.push_front(waiter);
                                    } else {
                                        queue.push_back(waiter);
                                    }
                                    ticket = Some((id, rx));
                                }
                                Step::Wait
                            }
                        },
                    },
                }
            };
            match step {
                Step::Connect(slot, connecting) => {
                    let opened = self.open(key, &ips, slot, dial, want.alone).await;
                    let result = opened.map(|conn| self.register(key, conn, want.alone));
                    if let Some(connecting) = connecting {
                        let _ = connecting
                            .tx
                            .send(Some(result.as_ref().map(|_| ()).map_err(Clone::clone)));
                    }
                    return result.map(|lease| (lease, waited));
                }
                Step::Evict(victim) => {
                    evicted_at = Some(Instant::now());
                    victim.close().await;
                }
                Step::WaitConnecting(mut rx) => {
                    let started = Instant::now();
                    tokio::select! {
                        _ = rx.changed() => {}
                        _ = &mut notified => {}
                    }
                    waited += started.elapsed();
                    if let Some(Err(err)) = rx.borrow().as_ref() {
                        return Err(err.clone());
                    }
                }
                Step::Wait => {
                    let started = Instant::now();
                    let handoff = match ticket.as_mut() {
                        Some((_, rx)) => tokio::select! {
                            handoff = rx => Some(handoff),
                            _ = &mut notified => None,
                        },
                        None => {
                            notified.await;
                            None
                        }
                    };
                    waited += started.elapsed();
                    match handoff {
                        Some(Ok(Handoff::Reuse(conn))) => {
                            return Ok((self.lend_h1(key, conn), waited));
                        }
                        // Out of the queue with the right to the slot freed for it.
                        Some(Ok(Handoff::SlotFreed)) => {
                            ticket = None;
                            granted = true;
                        }
                        Some(Err(_)) => ticket = None,
                        None => {}
                    }
                }
            }
        }
    }

    fn lend_h1(self: &Arc<Self>, key: &OriginKey, conn: H1) -> Lease {
        Lease {
            pool: Arc::clone(self),
            key: key.clone(),
            id: conn.id,
            conn: LeaseConn::H1(Some(conn)),
            reused: true,
            alone: false,
            done: false,
        }
    }

    /// A stream on a live HTTP/2 connection with room, or an idle HTTP/1.1 connection.
    fn reuse(self: &Arc<Self>, st: &mut State, key: &OriginKey, want: Checkout) -> Option<Lease> {
        if want.alone {
            return None;
        }
        let origin = st.origins.get_mut(key)?;
        if let Some(c) = origin
            .h2
            .iter_mut()
            .find(|c| c.usable(want.avoid) && c.in_flight < c.capacity())
        {
            c.in_flight += 1;
            return Some(Lease {
                pool: Arc::clone(self),
                key: key.clone(),
                conn: LeaseConn::H2(c.sender.clone()),
                reused: true,
                id: c.id,
                alone: false,
                done: false,
            });
        }
        if want.new_http1 {
            return None;
        }
        let now = Instant::now();
        while let Some(idle) = origin.idle.pop() {
            if now.duration_since(idle.since) < IDLE_TIMEOUT
                && Some(idle.conn.id) != want.avoid
                && idle.conn.sender.is_ready()
            {
                return Some(Lease {
                    pool: Arc::clone(self),
                    key: key.clone(),
                    id: idle.conn.id,
                    conn: LeaseConn::H1(Some(idle.conn)),
                    reused: true,
                    alone: false,
                    done: false,
                });
            }
        }
        None
    }

    /// Connects (TCP, TLS, HTTP handshake), trying each address in turn.
    async fn open(
        self: &Arc<Self>,
        key: &OriginKey,
        ips: &[std::net::IpAddr],
        first_slot: Slot,
        dial: &Dial<'_>,
        alone: bool,
    ) -> Result<Opened, NetError> {
        let mut slot = Some(first_slot);
        let mut last = String::new();
        for ip in ips {
            let addr = SocketAddr::new(*ip, key.port);
            let slot = match slot.take() {
                Some(s) => s,
                None => self.slot(addr).await,
            };
            match tokio::net::TcpStream::connect(addr).await {
                Ok(tcp) => {
                    let _ = tcp.set_nodelay(true);
                    let tcp = connect::Limited::new(tcp, slot);
                    let stream = match &dial.tls {
                        Some(config) => connect::tls(tcp, &key.host, Arc::clone(config)).await?,
                        None => Stream::Plain(tcp),
                    };
                    self.opened.fetch_add(1, Ordering::SeqCst);
                    return self.handshake(addr, stream, alone).await;
                }
                Err(e) => last = format!("{addr}: {}", crate::probes::error_chain(&e)),
            }
        }
        Err(NetError::Connect(last))
    }

    async fn handshake(
        self: &Arc<Self>,
        addr: SocketAddr,
        stream: Stream,
        alone: bool,
    ) -> Result<Opened, NetError> {
        let id = self.next_id();
        let handshake_error = |e: hyper::Error| {
            NetError::Http(format!(
                "HTTP handshake: {}",
                crate::probes::error_chain(&e)
            ))
        };
        if stream.is_h2() && !alone {
            let (sender, conn) = http2::Builder::new(TokioExecutor::new())
                .initial_max_send_streams(INITIAL_STREAMS)
                .handshake(TokioIo::new(stream))
                .await
                .map_err(handshake_error)?;
            let max_streams = Arc::new(AtomicUsize::new(INITIAL_STREAMS));
            let seen = Arc::clone(&max_streams);
            // The server's SETTINGS arrive on the connection: publish its stream limit each time
            // the connection makes progress.
            let driver = Driver(Some(tokio::spawn(async move {
                tokio::pin!(conn);
                let _ = std::future::poll_fn(|task| {
                    let polled = conn.as_mut().poll(task);
                    seen.store(conn.current_max_send_streams(), Ordering::SeqCst);
                    polled
                })
                .await;
            })));
            Ok(Opened::H2(H2 {
                id,
                addr,
                sender,
                driver,
                in_flight: 1,
                retired: false,
                since: Instant::now(),
                max_streams,
                parked: Vec::new(),
            }))
        } else {
            let (sender, conn) = http1::Builder::new()
                .handshake(TokioIo::new(stream))
                .await
                .map_err(handshake_error)?;
            let driver = Driver(Some(tokio::spawn(async move {
                let _ = conn.await;
            })));
            Ok(Opened::H1(H1 {
                id,
                addr,
                sender,
                driver,
            }))
        }
    }

    /// Records a new connection in its origin and lends it to the request that opened it.
    fn register(self: &Arc<Self>, key: &OriginKey, opened: Opened, alone: bool) -> Lease {
        let mut st = self.lock();
        let origin = st.origin(key);
        match opened {
            Opened::H2(conn) => {
                origin.proto = Proto::Http2;
                let lease = Lease {
                    pool: Arc::clone(self),
                    key: key.clone(),
                    conn: LeaseConn::H2(conn.sender.clone()),
                    reused: false,
                    id: conn.id,
                    alone: false,
                    done: false,
                };
                origin.h2.push(conn);
                lease
            }
            Opened::H1(conn) => {
                if !alone {
                    origin.proto = Proto::Http1;
                }
                Lease {
                    pool: Arc::clone(self),
                    key: key.clone(),
                    id: conn.id,
                    conn: LeaseConn::H1(Some(conn)),
                    reused: false,
                    alone,
                    done: false,
                }
            }
        }
    }

    /// An HTTP/1.1 connection whose answer was read: to the oldest waiter for its address (as
    /// is when it wants this origin, else closed to free the slot for it), else idle.
    async fn give_back(&self, key: &OriginKey, mut conn: H1) {
        loop {
            let waiter = {
                let mut st = self.lock();
                match st.next_waiter(conn.addr) {
                    Some(w) => w,
                    None => {
                        // A group that ended has no origin left: its connection is closed.
                        if key.group == 0 || st.origins.contains_key(key) {
                            st.origin(key).idle.push(IdleH1 {
                                conn,
                                since: Instant::now(),
                            });
                        }
                        break;
                    }
                }
            };
            if waiter.reuses && waiter.key == *key {
                match waiter.tx.send(Handoff::Reuse(conn)) {
                    Ok(()) => return,
                    // It gave up meanwhile: the next one.
                    Err(Handoff::Reuse(back)) => conn = back,
                    Err(Handoff::SlotFreed) => return,
                }
            } else {
                conn.driver.close().await;
                let _ = waiter.tx.send(Handoff::SlotFreed);
                return;
            }
        }
        self.changed.notify_waiters();
    }

    /// A stream of connection `id` ended; `parked` is a body left unread (past the cap).
    fn end_stream(&self, key: &OriginKey, id: u64, parked: Option<Incoming>) {
        let closed = {
            let mut st = self.lock();
            let Some(origin) = st.origins.get_mut(key) else {
                return;
            };
            let Some(i) = origin.h2.iter().position(|c| c.id == id) else {
                return;
            };
            let conn = &mut origin.h2[i];
            conn.in_flight = conn.in_flight.saturating_sub(1);
            if let Some(body) = parked {
                conn.retired = true;
                conn.parked.push(body);
            }
            if conn.in_flight == 0 {
                conn.since = Instant::now();
            }
            (conn.retired && conn.in_flight == 0).then(|| origin.h2.swap_remove(i))
        };
        if let Some(conn) = closed {
            // The driver goes first, so the parked streams are dropped without a reset frame.
            drop(conn);
        }
        self.changed.notify_waiters();
    }

    fn retire(&self, key: &OriginKey, id: u64) {
        let mut st = self.lock();
        if let Some(conn) = st
            .origins
            .get_mut(key)
            .and_then(|o| o.h2.iter_mut().find(|c| c.id == id))
        {
            conn.retired = true;
        }
    }
}

#[derive(Debug)]
enum Opened {
    H1(H1),
    H2(H2),
}
