//! The relay itself: bytes both ways between the client library and the dependency, the byte
//! cap on what the dependency sends, and the protocol reader each chunk passes through.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::cut::Cut;
use super::mysql_wire::MyWire;
use super::pg_wire::PgWire;
use super::{Policy, Wire};

/// A byte stream either end of the relay can be.
pub(super) trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// State both directions of one relay share.
pub(super) struct Shared {
    pub(super) cut: Arc<Mutex<Option<String>>>,
    pub(super) inspector: Mutex<Inspector>,
    pub(super) max_bytes: u64,
    pub(super) kind: &'static str,
}

impl Shared {
    fn record_cut(&self, reason: Cut) {
        if let Ok(mut cut) = self.cut.lock()
            && cut.is_none()
        {
            *cut = Some(reason.to_string());
        }
    }

    fn inspect(&self, from_server: bool, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), Cut> {
        let Ok(mut inspector) = self.inspector.lock() else {
            return Err(Cut::Poisoned);
        };
        if from_server {
            inspector.server(chunk, out)
        } else {
            inspector.client(chunk, out)
        }
    }
}

/// Relays until either side closes or the guard cuts the connection.
pub(super) async fn relay<C: Stream>(client: C, server: Box<dyn Stream>, shared: Shared) {
    let (mut client_read, mut client_write) = tokio::io::split(client);
    let (mut server_read, mut server_write) = tokio::io::split(server);
    let shared = &shared;
    let upstream = async {
        let mut buf = vec![0u8; 16 * 1024];
        let mut out = Vec::with_capacity(16 * 1024);
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            out.clear();
            if let Err(reason) = shared.inspect(false, &buf[..n], &mut out) {
                shared.record_cut(reason);
                break;
            }
            if server_write.write_all(&out).await.is_err() {
                break;
            }
        }
        let _ = server_write.shutdown().await;
    };
    let downstream = async {
        let mut buf = vec![0u8; 16 * 1024];
        let mut out = Vec::with_capacity(16 * 1024);
        let mut total: u64 = 0;
        loop {
            let n = match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            total += n as u64;
            if total > shared.max_bytes {
                shared.record_cut(Cut::TooManyBytes {
                    kind: shared.kind,
                    limit_mib: shared.max_bytes / (1024 * 1024),
                });
                break;
            }
            out.clear();
            if let Err(reason) = shared.inspect(true, &buf[..n], &mut out) {
                shared.record_cut(reason);
                break;
            }
            if client_write.write_all(&out).await.is_err() {
                break;
            }
        }
        let _ = client_write.shutdown().await;
    };
    // One direction ending (or being cut) ends the relay: both sockets close.
    tokio::select! {
        _ = upstream => {}
        _ = downstream => {}
    }
}

/// The protocol reader of one connection.
pub(super) enum Inspector {
    Raw,
    Postgres(PgWire),
    MySql(MyWire),
}

impl Inspector {
    pub(super) fn new(policy: Policy) -> Inspector {
        match policy.wire {
            Wire::Raw => Inspector::Raw,
            Wire::Postgres => Inspector::Postgres(PgWire::new(policy.allow_cleartext_password)),
            Wire::MySql => Inspector::MySql(MyWire::new(policy.allow_cleartext_password)),
        }
    }

    fn client(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), Cut> {
        match self {
            Inspector::Raw => {
                out.extend_from_slice(chunk);
                Ok(())
            }
            Inspector::Postgres(pg) => {
                pg.client(chunk);
                out.extend_from_slice(chunk);
                Ok(())
            }
            Inspector::MySql(my) => my.client(chunk, out),
        }
    }

    fn server(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), Cut> {
        match self {
            Inspector::Raw => {}
            Inspector::Postgres(pg) => pg.server(chunk)?,
            Inspector::MySql(my) => return my.server(chunk, out),
        }
        out.extend_from_slice(chunk);
        Ok(())
    }
}
