//! The PostgreSQL reader of an unencrypted connection: message framing checked before the
//! client library reserves memory for a message, and the server's request for a cleartext
//! password held back.

use super::MAX_PG_MESSAGE;
use super::cut::{Cut, MessageKind};

const PG_SSL_REQUEST: u32 = 80_877_103;
const PG_GSSENC_REQUEST: u32 = 80_877_104;

/// PostgreSQL, server side: `S`/`N` after an SSLRequest, then messages (type, length, body).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum PgState {
    /// Reading messages (the connection is not encrypted).
    Plain,
    /// The client asked for TLS; the next server byte is the answer.
    AwaitSslAnswer,
    /// TLS (or something unreadable): only bytes are counted.
    Opaque,
}

pub(super) struct PgWire {
    allow_cleartext: bool,
    /// The first bytes the client sent (an SSLRequest is 8 bytes).
    client_head: Vec<u8>,
    state: PgState,
    /// Header bytes of the message being read (type, length and, for `R`, the code).
    header: Vec<u8>,
    /// Body bytes of the current message still to pass through.
    skip: u64,
    authenticated: bool,
}

impl PgWire {
    pub(super) fn new(allow_cleartext: bool) -> PgWire {
        PgWire {
            allow_cleartext,
            client_head: Vec::with_capacity(8),
            state: PgState::Plain,
            header: Vec::with_capacity(9),
            skip: 0,
            authenticated: false,
        }
    }

    pub(super) fn client(&mut self, chunk: &[u8]) {
        if self.client_head.len() >= 8 {
            return;
        }
        let take = (8 - self.client_head.len()).min(chunk.len());
        self.client_head.extend_from_slice(&chunk[..take]);
        if self.client_head.len() == 8 {
            let len = u32::from_be_bytes([
                self.client_head[0],
                self.client_head[1],
                self.client_head[2],
                self.client_head[3],
            ]);
            let code = u32::from_be_bytes([
                self.client_head[4],
                self.client_head[5],
                self.client_head[6],
                self.client_head[7],
            ]);
            // The server answers an SSLRequest with one byte; it has not answered yet.
            if len == 8
                && (code == PG_SSL_REQUEST || code == PG_GSSENC_REQUEST)
                && self.header.is_empty()
                && self.skip == 0
            {
                self.state = PgState::AwaitSslAnswer;
            }
        }
    }

    pub(super) fn server(&mut self, chunk: &[u8]) -> Result<(), Cut> {
        let mut rest = chunk;
        if self.state == PgState::AwaitSslAnswer {
            let Some((&first, tail)) = rest.split_first() else {
                return Ok(());
            };
            match first {
                // TLS (or GSSAPI encryption) follows: ciphertext from here on.
                b'S' | b'G' => {
                    self.state = PgState::Opaque;
                    return Ok(());
                }
                b'N' => {
                    self.state = PgState::Plain;
                    rest = tail;
                }
                other => {
                    return Err(Cut::PgTlsAnswer { byte: other });
                }
            }
        }
        if self.state == PgState::Opaque {
            return Ok(());
        }
        while !rest.is_empty() {
            if self.skip > 0 {
                let take = (self.skip.min(rest.len() as u64)) as usize;
                self.skip -= take as u64;
                rest = &rest[take..];
                continue;
            }
            let need = if self.header.first() == Some(&b'R') && !self.authenticated {
                9
            } else {
                5
            };
            let take = (need - self.header.len()).min(rest.len());
            self.header.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.header.len() < 5 {
                continue;
            }
            let kind = self.header[0];
            let len = u32::from_be_bytes([
                self.header[1],
                self.header[2],
                self.header[3],
                self.header[4],
            ]);
            if len < 4 {
                return Err(Cut::PgImpossibleLength {
                    kind: MessageKind(kind),
                    len,
                });
            }
            if len > MAX_PG_MESSAGE {
                return Err(Cut::PgTooLong {
                    kind: MessageKind(kind),
                    len,
                    limit_kib: MAX_PG_MESSAGE / 1024,
                });
            }
            if kind == b'R' && !self.authenticated {
                if len < 8 {
                    return Err(Cut::PgAuthWithoutMethod);
                }
                if self.header.len() < 9 {
                    continue;
                }
                let code = u32::from_be_bytes([
                    self.header[5],
                    self.header[6],
                    self.header[7],
                    self.header[8],
                ]);
                match code {
                    0 => self.authenticated = true,
                    3 if !self.allow_cleartext => {
                        return Err(Cut::CleartextRefused {
                            product: "postgres",
                            how: "AuthenticationCleartextPassword",
                        });
                    }
                    _ => {}
                }
                self.skip = u64::from(len) - 8;
            } else {
                self.skip = u64::from(len) - 4;
            }
            self.header.clear();
        }
        Ok(())
    }
}
