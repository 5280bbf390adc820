//! The MySQL/MariaDB reader of an unencrypted connection's authentication: the server's
//! handshake validated (a truncated one makes the client library panic), the client's answer to
//! `mysql_clear_password` withheld, plugin switches counted.

use super::MAX_AUTH_SWITCHES;
use super::cut::Cut;

/// The largest MySQL packet inspected during authentication (a handshake is ~100 bytes).
pub(super) const MAX_MYSQL_AUTH_PACKET: usize = 64 * 1024;

/// MySQL capability bits the guard reads.
pub(super) const MY_SSL: u32 = 0x800;
pub(super) const MY_PLUGIN_AUTH: u32 = 1 << 19;
pub(super) const MY_SECURE_CONNECTION: u32 = 1 << 15;
const MY_CLEAR_PASSWORD: &[u8] = b"mysql_clear_password";

/// MySQL/MariaDB: the authentication phase of an unencrypted connection.
pub(super) struct MyWire {
    allow_cleartext: bool,
    /// TLS was requested by the client: ciphertext from here on.
    pub(super) encrypted: bool,
    /// The server said OK (or the connection is past authentication).
    pub(super) done: bool,
    /// Bytes of the server packet being assembled.
    server_buf: Vec<u8>,
    /// Server packets seen.
    server_packets: u32,
    /// Plugin switches asked for.
    switches: u32,
    /// The server's last authentication request is `mysql_clear_password`.
    cleartext_asked: bool,
    /// The start of a client packet, held back until it can be judged.
    client_buf: Vec<u8>,
    /// Bytes of the current client packet still to pass through.
    client_skip: usize,
    /// Client packets seen (only the first can be an SSLRequest).
    client_packets: u32,
}

impl MyWire {
    pub(super) fn new(allow_cleartext: bool) -> MyWire {
        MyWire {
            allow_cleartext,
            encrypted: false,
            done: false,
            server_buf: Vec::new(),
            server_packets: 0,
            switches: 0,
            cleartext_asked: false,
            client_buf: Vec::with_capacity(8),
            client_skip: 0,
            client_packets: 0,
        }
    }

    fn inspecting(&self) -> bool {
        !self.encrypted && !self.done
    }

    pub(super) fn client(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), Cut> {
        let mut rest = chunk;
        while !rest.is_empty() {
            if !self.inspecting() {
                out.append(&mut self.client_buf);
                out.extend_from_slice(rest);
                return Ok(());
            }
            if self.client_skip > 0 {
                let take = self.client_skip.min(rest.len());
                out.extend_from_slice(&rest[..take]);
                self.client_skip -= take;
                rest = &rest[take..];
                continue;
            }
            // A packet starts: hold back its header and first 4 payload bytes (an SSLRequest's
            // capabilities) until it can be judged.
            let need = if self.client_buf.len() < 4 {
                4
            } else {
                let len = packet_len(&self.client_buf);
                (4 + len).min(8)
            };
            let take = need.saturating_sub(self.client_buf.len()).min(rest.len());
            self.client_buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.client_buf.len() < 4 {
                continue;
            }
            let len = packet_len(&self.client_buf);
            if self.client_buf.len() < (4 + len).min(8) {
                continue;
            }
            let first = self.client_packets == 0;
            self.client_packets += 1;
            // An SSLRequest is a 32-byte payload with CLIENT_SSL (the shortest handshake
            // response is longer): TLS follows and the password travels inside it.
            let ssl = first
                && len == 32
                && u32::from_le_bytes([
                    self.client_buf[4],
                    self.client_buf[5],
                    self.client_buf[6],
                    self.client_buf[7],
                ]) & MY_SSL
                    != 0;
            if ssl {
                self.encrypted = true;
            } else if self.cleartext_asked && !self.allow_cleartext {
                // This packet carries the password in cleartext: it never leaves the process.
                self.client_buf.clear();
                return Err(Cut::CleartextRefused {
                    product: "mysql",
                    how: "mysql_clear_password",
                });
            }
            self.client_skip = 4 + len - self.client_buf.len();
            out.append(&mut self.client_buf);
        }
        Ok(())
    }

    pub(super) fn server(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), Cut> {
        if !self.inspecting() {
            out.extend_from_slice(chunk);
            return Ok(());
        }
        self.server_buf.extend_from_slice(chunk);
        loop {
            if !self.inspecting() {
                out.append(&mut self.server_buf);
                return Ok(());
            }
            if self.server_buf.len() < 4 {
                return Ok(());
            }
            let len = usize::from(self.server_buf[0])
                | usize::from(self.server_buf[1]) << 8
                | usize::from(self.server_buf[2]) << 16;
            if len > MAX_MYSQL_AUTH_PACKET {
                return Err(Cut::MyAuthPacketTooLong { len });
            }
            if self.server_buf.len() < 4 + len {
                return Ok(());
            }
            let packet: Vec<u8> = self.server_buf.drain(..4 + len).collect();
            self.server_packet(&packet[4..])?;
            out.extend_from_slice(&packet);
        }
    }

    fn server_packet(&mut self, payload: &[u8]) -> Result<(), Cut> {
        let first = self.server_packets == 0;
        self.server_packets += 1;
        match payload.first() {
            None => Err(Cut::MyEmptyPacket),
            // An error packet: the client reports it.
            Some(0xff) => Ok(()),
            Some(_) if first => {
                let plugin =
                    handshake_plugin(payload).map_err(|why| Cut::MyMalformedHandshake { why })?;
                self.cleartext_asked = plugin.as_deref() == Some(MY_CLEAR_PASSWORD);
                Ok(())
            }
            Some(0x00) => {
                self.done = true;
                Ok(())
            }
            Some(0xfe) => {
                self.switches += 1;
                if self.switches > MAX_AUTH_SWITCHES {
                    return Err(Cut::MyTooManySwitches {
                        switches: self.switches,
                        limit: MAX_AUTH_SWITCHES,
                    });
                }
                let name = &payload[1..];
                let end = name.iter().position(|b| *b == 0).unwrap_or(name.len());
                self.cleartext_asked = &name[..end] == MY_CLEAR_PASSWORD;
                Ok(())
            }
            // caching_sha2_password's fast-auth result or key: the client reads a second byte.
            Some(0x01) if payload.len() < 2 => Err(Cut::MyTruncatedAuth),
            Some(_) => Ok(()),
        }
    }
}

/// The payload length of a MySQL packet whose 4-byte header starts `buf`.
fn packet_len(buf: &[u8]) -> usize {
    usize::from(buf[0]) | usize::from(buf[1]) << 8 | usize::from(buf[2]) << 16
}

/// Reads a MySQL initial handshake the way the client library does, with every length checked
/// (the library does not check them, and a truncated handshake would make it panic), and
/// returns the authentication plugin it names.
pub(super) fn handshake_plugin(p: &[u8]) -> Result<Option<Vec<u8>>, &'static str> {
    struct Reader<'a>(&'a [u8]);
    impl<'a> Reader<'a> {
        fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
            if self.0.len() < n {
                return Err("truncated");
            }
            let (head, tail) = self.0.split_at(n);
            self.0 = tail;
            Ok(head)
        }
        fn nul(&mut self) -> Result<&'a [u8], &'static str> {
            let end = self
                .0
                .iter()
                .position(|b| *b == 0)
                .ok_or("a string without its NUL")?;
            let s = &self.0[..end];
            self.0 = &self.0[end + 1..];
            Ok(s)
        }
    }
    let mut r = Reader(p);
    r.take(1)?; // protocol version
    r.nul()?; // server version
    r.take(4)?; // connection id
    r.take(8)?; // auth data, part 1
    r.take(1)?; // filler
    let low = r.take(2)?;
    let mut caps = u32::from(u16::from_le_bytes([low[0], low[1]]));
    r.take(1)?; // collation
    r.take(2)?; // status
    let high = r.take(2)?;
    caps |= u32::from(u16::from_le_bytes([high[0], high[1]])) << 16;
    let auth_len = r.take(1)?[0];
    let auth_len = if caps & MY_PLUGIN_AUTH != 0 {
        auth_len
    } else {
        0
    };
    r.take(6)?; // reserved
    r.take(4)?; // reserved (MySQL) or MariaDB's extended capabilities
    if caps & MY_SECURE_CONNECTION != 0 {
        let len = usize::from(auth_len.saturating_sub(9)).max(12);
        r.take(len)?;
        r.take(1)?; // NUL
    }
    if caps & MY_PLUGIN_AUTH != 0 {
        return Ok(Some(r.nul()?.to_vec()));
    }
    Ok(None)
}
