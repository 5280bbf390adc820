//! Why the guard cut a connection: one variant per rule it enforces, each message naming the
//! server and what it did. The text is what the probe reports in place of the client library's
//! bare "connection closed", so it must say enough to act on.

use std::fmt;

/// Why the guard stopped relaying a connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Cut {
    /// The guard's shared state was poisoned by a panic in the other direction.
    #[error("the guard's state is poisoned")]
    Poisoned,
    /// The dependency sent more than the byte cap on one connection.
    #[error(
        "the {kind} server sent more than {limit_mib} MiB on one connection; readyprobe stopped \
         reading there (a probe's queries return kilobytes)"
    )]
    TooManyBytes {
        /// The dependency kind (`postgres`, `redis`).
        kind: &'static str,
        /// The cap, in MiB.
        limit_mib: u64,
    },
    /// The server asked for the password in cleartext on an unencrypted connection.
    #[error(
        "the {product} server asked for the password in cleartext ({how}) over a connection that \
         is not encrypted; readyprobe did not send it. Require TLS for this connection, make the \
         server use a hashed method, or set dependencies.allow_cleartext_password = true to \
         send it anyway"
    )]
    CleartextRefused {
        /// `postgres` or `mysql`.
        product: &'static str,
        /// The protocol's name for the request (`AuthenticationCleartextPassword`).
        how: &'static str,
    },
    /// A PostgreSQL server answered the SSLRequest with something other than `S` or `N`.
    #[error(
        "the postgres server answered the TLS request with 0x{byte:02x} instead of S or N: not a \
         PostgreSQL server"
    )]
    PgTlsAnswer {
        /// The byte it answered.
        byte: u8,
    },
    /// A PostgreSQL message claiming a length below its own length field.
    #[error(
        "the postgres server sent a message ({kind}) with an impossible length {len}: not a \
         PostgreSQL server"
    )]
    PgImpossibleLength {
        /// The message type.
        kind: MessageKind,
        /// The length it claimed.
        len: u32,
    },
    /// A PostgreSQL message longer than the guard accepts.
    #[error(
        "the postgres server sent a message ({kind}) of {len} bytes, over the {limit_kib} KiB \
         readyprobe accepts; the connection was cut before reading it"
    )]
    PgTooLong {
        /// The message type.
        kind: MessageKind,
        /// The length it claimed.
        len: u32,
        /// The limit, in KiB.
        limit_kib: u32,
    },
    /// A PostgreSQL authentication request too short to hold its method.
    #[error(
        "the postgres server sent an authentication request without a method: not a PostgreSQL \
         server"
    )]
    PgAuthWithoutMethod,
    /// A MySQL packet during authentication far larger than any handshake.
    #[error(
        "the mysql server sent a {len}-byte packet during authentication (a handshake is about \
         100 bytes): not a MySQL/MariaDB server"
    )]
    MyAuthPacketTooLong {
        /// The packet's payload length.
        len: usize,
    },
    /// An empty MySQL packet during authentication.
    #[error("the mysql server sent an empty packet during authentication")]
    MyEmptyPacket,
    /// A MySQL initial handshake that does not read.
    #[error("the mysql server's handshake is malformed ({why}): not a MySQL/MariaDB server")]
    MyMalformedHandshake {
        /// Which part is missing.
        why: &'static str,
    },
    /// More authentication-plugin switches than the guard allows.
    #[error(
        "the mysql server asked to switch the authentication method {switches} times; readyprobe \
         stopped after {limit}"
    )]
    MyTooManySwitches {
        /// Switches asked for so far.
        switches: u32,
        /// The most allowed.
        limit: u32,
    },
    /// A `caching_sha2_password` result packet without its second byte.
    #[error("the mysql server sent a truncated authentication packet: not a MySQL/MariaDB server")]
    MyTruncatedAuth,
}

/// A PostgreSQL message type byte, shown as `'R'` when printable, else as `0x9c`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageKind(pub u8);

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_ascii_graphic() {
            write!(f, "'{}'", self.0 as char)
        } else {
            write!(f, "0x{:02x}", self.0)
        }
    }
}
