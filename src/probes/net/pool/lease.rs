//! A connection lent to one request, and how it goes back to the pool (kept, retired or closed)
//! when the request ends, however it ends.

use super::*;

/// A connection lent to one request.
#[derive(Debug)]
pub struct Lease {
    pub(super) pool: Arc<Pool>,
    pub(super) key: OriginKey,
    pub(super) conn: LeaseConn,
    /// The connection carried a request before this one.
    pub reused: bool,
    /// The connection's id (to avoid it on a retry).
    pub id: u64,
    pub(super) alone: bool,
    pub(super) done: bool,
}

#[derive(Debug)]
pub(super) enum LeaseConn {
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
