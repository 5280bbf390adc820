//! The pool's bookkeeping: the connections of each origin (idle HTTP/1.1, shared HTTP/2), the
//! requests waiting for a slot, and which idle connection to close when every slot is taken.
//! Kept apart from [`super::Pool`]'s checkout logic so each stays readable.

use super::*;

#[derive(Debug)]
pub(super) struct H1 {
    pub(super) id: u64,
    pub(super) addr: SocketAddr,
    pub(super) sender: http1::SendRequest<Body>,
    pub(super) driver: Driver,
}

#[derive(Debug)]
pub(super) struct IdleH1 {
    pub(super) conn: H1,
    pub(super) since: Instant,
}

#[derive(Debug)]
pub(super) struct H2 {
    pub(super) id: u64,
    pub(super) addr: SocketAddr,
    pub(super) sender: http2::SendRequest<Body>,
    pub(super) driver: Driver,
    pub(super) in_flight: usize,
    pub(super) retired: bool,
    pub(super) since: Instant,
    /// The server's `SETTINGS_MAX_CONCURRENT_STREAMS`, as the driver last saw it.
    pub(super) max_streams: Arc<AtomicUsize>,
    /// Bodies past the cap, kept unread (not reset) until the connection closes.
    pub(super) parked: Vec<Incoming>,
    /// Streams started on it, and streams that ended (answered or not), so far.
    pub(super) started: usize,
    pub(super) ended: usize,
    /// The server went away on it (not just drained by us).
    pub(super) went_away: bool,
}

impl H2 {
    /// Streams this connection may carry at once: below the server's limit.
    pub(super) fn capacity(&self) -> usize {
        self.max_streams
            .load(Ordering::SeqCst)
            .saturating_sub(1)
            .max(1)
    }

    pub(super) fn usable(&self, avoid: Option<u64>) -> bool {
        !self.retired && avoid != Some(self.id) && !self.sender.is_closed()
    }

    /// Takes one more stream; past the origin's learned budget the connection drains: it takes
    /// no more and closes once its streams end, and the next request opens a new one.
    pub(super) fn take_stream(&mut self, budget: Option<usize>) {
        self.in_flight += 1;
        self.started += 1;
        if budget.is_some_and(|b| self.started >= b) {
            self.retired = true;
        }
    }
}

/// How long a learned stream budget holds (a restarted server may allow more again).
const BUDGET_FOR: Duration = Duration::from_secs(300);

/// The most streams one HTTP/2 connection of an origin carries, learned from the server: how
/// many had ended on a connection when the server first went away on it (nginx's
/// `keepalive_requests`, 1,000 by default, ends a connection with GOAWAY). Staying below it
/// means no stream is refused and no request waits in a queue that will be cancelled: a fleet
/// sharing one connection otherwise had hundreds of requests sent again per connection.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct StreamBudget(Option<(usize, Instant)>);

impl StreamBudget {
    /// The budget, if one was learned recently.
    pub(super) fn get(&self) -> Option<usize> {
        self.0
            .filter(|(_, at)| at.elapsed() < BUDGET_FOR)
            .map(|(b, _)| b)
    }

    /// Learns from a connection the server went away on after `ended` streams; fewer than two
    /// teach nothing (a server shutting down, or one that refuses every stream).
    pub(super) fn learn(&mut self, ended: usize) {
        if ended >= 2 {
            self.0 = Some((ended, Instant::now()));
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) enum Proto {
    #[default]
    Unknown,
    Http1,
    Http2,
}

pub(super) type Outcome = Option<Result<(), NetError>>;

#[derive(Debug, Default)]
pub(super) struct Origin {
    pub(super) idle: Vec<IdleH1>,
    pub(super) h2: Vec<H2>,
    pub(super) proto: Proto,
    /// A connection that may turn out HTTP/2 is being opened (its id and outcome).
    pub(super) connecting: Option<(u64, watch::Receiver<Outcome>)>,
    /// Last checkout, so an origin nobody asked for in a while is forgotten (`serve` meets
    /// targets without end).
    pub(super) used: Option<Instant>,
    /// Streams per HTTP/2 connection the server allows, once learned.
    pub(super) budget: StreamBudget,
}

impl Origin {
    pub(super) fn is_empty(&self) -> bool {
        self.idle.is_empty() && self.h2.is_empty() && self.connecting.is_none()
    }
}

#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) slots: HashMap<SocketAddr, Arc<Semaphore>>,
    pub(super) origins: HashMap<OriginKey, Origin>,
    /// Requests waiting for a connection to an address, oldest first (see [`Waiter`]).
    pub(super) queues: HashMap<SocketAddr, VecDeque<Waiter>>,
    pub(super) reaped: Option<Instant>,
}

/// A request waiting for a connection to an address when every slot is taken. Waiters are
/// served in arrival order, whatever their origin: a connection given back goes to the oldest
/// waiter — as is if it wants that origin, else closed so its slot serves the waiter — so many
/// targets behind one address share it fairly and none starves.
#[derive(Debug)]
pub(super) struct Waiter {
    pub(super) id: u64,
    pub(super) key: OriginKey,
    /// May take an idle HTTP/1.1 connection of its origin (not a hostile request, not a retry).
    pub(super) reuses: bool,
    pub(super) tx: oneshot::Sender<Handoff>,
}

/// What a waiter is handed.
#[derive(Debug)]
pub(super) enum Handoff {
    /// A connection of its origin, ready for its request.
    Reuse(H1),
    /// A connection was closed for it: its slot is free for this waiter to take.
    SlotFreed,
}

/// A connection closed to free its slot.
#[derive(Debug)]
pub(super) enum Victim {
    H1(H1),
    H2(H2),
}

impl Victim {
    pub(super) async fn close(self) {
        match self {
            Victim::H1(c) => c.driver.close().await,
            Victim::H2(c) => c.driver.close().await,
        }
    }
}

impl State {
    pub(super) fn origin(&mut self, key: &OriginKey) -> &mut Origin {
        self.origins.entry(key.clone()).or_default()
    }

    /// Drops idle connections past the timeout and connections the server closed.
    pub(super) fn reap(&mut self, now: Instant) {
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
    pub(super) fn first_in_line(&mut self, addr: SocketAddr, ticket: Option<u64>) -> bool {
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
    pub(super) fn leave(&mut self, addr: SocketAddr, ticket: Option<u64>) {
        if let (Some(id), Some(queue)) = (ticket, self.queues.get_mut(&addr)) {
            queue.retain(|w| w.id != id);
            if queue.is_empty() {
                self.queues.remove(&addr);
            }
        }
    }

    /// The oldest live waiter for `addr`, taken out of the queue.
    pub(super) fn next_waiter(&mut self, addr: SocketAddr) -> Option<Waiter> {
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

    pub(super) fn take_idle_at(&mut self, addr: SocketAddr) -> Option<Victim> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_budget_is_learned_from_two_streams_up_and_replaced() {
        let mut budget = StreamBudget::default();
        assert_eq!(budget.get(), None);
        budget.learn(1);
        assert_eq!(budget.get(), None, "one stream teaches nothing");
        budget.learn(40);
        assert_eq!(budget.get(), Some(40));
        budget.learn(1000);
        assert_eq!(budget.get(), Some(1000), "the latest connection wins");
        if let Some(long_ago) = Instant::now().checked_sub(BUDGET_FOR) {
            budget.0 = Some((40, long_ago));
            assert_eq!(budget.get(), None, "an old budget is forgotten");
        }
    }
}
