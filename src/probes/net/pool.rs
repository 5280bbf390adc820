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
use std::sync::{Arc, Mutex, MutexGuard};
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
use super::connect::{self, LimitedTcp, Stream};
use super::resolve::RunResolver;
use super::slot::{Slot, SlotOwner};
use super::trust::TlsCache;

mod lease;
mod state;

pub use lease::Lease;
use lease::LeaseConn;
use state::*;

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
    /// Host name or IP literal as in the URL (shared: the key is cloned for every lease).
    pub host: Arc<str>,
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

/// The run's (or the exporter's) connections, see the module doc.
#[derive(Debug)]
pub struct Pool {
    limit: usize,
    state: Mutex<State>,
    /// Something was freed: a slot, an idle connection, a stream, a finished connect.
    changed: Notify,
    ids: AtomicU64,
    opened: AtomicU64,
    /// The TLS client configurations of the connections, one set per trust: shared by every
    /// audit using this pool, so sessions resume across audits (see [`TlsCache`]).
    pub tls: TlsCache,
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
            tls: TlsCache::default(),
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
                    return self.wrap(permit, addr);
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
                        return self.wrap(permit, addr);
                    }
                }
                _ = &mut notified => {}
            }
        }
    }

    fn wrap(self: &Arc<Self>, permit: OwnedSemaphorePermit, addr: SocketAddr) -> Slot {
        let owner: Arc<dyn SlotOwner> = Arc::clone(self) as Arc<dyn SlotOwner>;
        Slot::new(permit, Arc::downgrade(&owner), addr)
    }

    /// A slot of `addr` was given back: it goes to the oldest request queued for that address,
    /// woken alone. Only when nobody is queued are all waiters woken (a connect waiting for any
    /// slot, a request that may now evict). Waking every waiter on every closed connection
    /// made each close cost as many checkout passes as there were queued requests (hundreds in
    /// a fleet): the profile's `Pool::checkout`, `notify_waiters` and `State::origin` frames.
    fn give_slot_back(&self, addr: SocketAddr) {
        // Never waits for the lock: a slot dropped where it is held just wakes everyone.
        let mut st = match self.state.try_lock() {
            Ok(st) => st,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                self.changed.notify_waiters();
                return;
            }
        };
        while let Some(waiter) = st.next_waiter(addr) {
            if waiter.tx.send(Handoff::SlotFreed).is_ok() {
                return;
            }
        }
        drop(st);
        self.changed.notify_waiters();
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
            .map_err(|e| NetError::Resolve(e.to_string()))?;
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
                            Step::Connect(self.wrap(permit, first), connecting)
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
        let budget = origin.budget.get();
        if let Some(c) = origin
            .h2
            .iter_mut()
            .find(|c| c.usable(want.avoid) && c.in_flight < c.capacity())
        {
            c.take_stream(budget);
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
                in_flight: 0,
                retired: false,
                since: Instant::now(),
                max_streams,
                parked: Vec::new(),
                started: 0,
                ended: 0,
                went_away: false,
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
            Opened::H2(mut conn) => {
                origin.proto = Proto::Http2;
                conn.take_stream(origin.budget.get());
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
            // A waiter can only be waiting for this connection if it was full (a request takes
            // any free stream itself) or, once it is idle, to close it for its slot.
            let was_full = conn.in_flight >= conn.capacity();
            conn.in_flight = conn.in_flight.saturating_sub(1);
            conn.ended += 1;
            if let Some(body) = parked {
                conn.retired = true;
                conn.parked.push(body);
            }
            if conn.in_flight == 0 {
                conn.since = Instant::now();
            }
            let wake = was_full || conn.in_flight == 0 || conn.retired;
            let closed = (conn.retired && conn.in_flight == 0).then(|| origin.h2.swap_remove(i));
            (closed, wake)
        };
        let (closed, wake) = closed;
        if let Some(conn) = closed {
            // The driver goes first, so the parked streams are dropped without a reset frame.
            drop(conn);
        }
        // Waking every waiter after every stream made each response cost a checkout pass per
        // waiting request (the profile's `notify_waiters` and `Pool::checkout` frames).
        if wake {
            self.changed.notify_waiters();
        }
    }

    /// The server went away on connection `id` (GOAWAY, or closed with requests queued): it
    /// takes no more streams, and the first time, the origin learns its stream budget.
    fn retire(&self, key: &OriginKey, id: u64) {
        let mut st = self.lock();
        if let Some(origin) = st.origins.get_mut(key)
            && let Some(conn) = origin.h2.iter_mut().find(|c| c.id == id)
        {
            if !conn.went_away {
                conn.went_away = true;
                origin.budget.learn(conn.ended);
            }
            conn.retired = true;
        }
    }
}

#[derive(Debug)]
enum Opened {
    H1(H1),
    H2(H2),
}

impl SlotOwner for Pool {
    fn slot_freed(&self, addr: SocketAddr) {
        self.give_slot_back(addr);
    }
}

/// A TCP connection to `host:port` under the per-address limit, and how long it waited for a
/// slot. Each resolved address is tried in turn.
pub async fn tcp(
    pool: &Arc<Pool>,
    resolver: &RunResolver,
    host: &str,
    port: u16,
) -> Result<(LimitedTcp, Duration), NetError> {
    let ips = resolver
        .lookup(host)
        .await
        .map_err(|e| NetError::Resolve(e.to_string()))?;
    let mut queued = Duration::ZERO;
    let mut last: Option<std::io::Error> = None;
    for ip in ips.iter() {
        let addr = SocketAddr::new(*ip, port);
        let waited = Instant::now();
        let slot = pool.slot(addr).await;
        queued += waited.elapsed();
        match tokio::net::TcpStream::connect(addr).await {
            Ok(tcp) => {
                let _ = tcp.set_nodelay(true);
                return Ok((connect::Limited::new(tcp, slot), queued));
            }
            Err(e) => last = Some(e),
        }
    }
    Err(NetError::Connect(match last {
        Some(e) => crate::probes::error_chain(&e),
        None => format!("{host}: no address to connect to"),
    }))
}
