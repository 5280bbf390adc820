//! Integration tests: one binary, a module per theme.
//!
//! - `cli`: the real `readyprobe` binary — exit codes, config errors, formats, `checks`/`explain`/`init`.
//! - `demo_audit`: `audit --demo` end to end against the embedded demo target, both profiles.
//! - `deps`: dependency audits against the machine's PostgreSQL, MariaDB, Redis and RabbitMQ,
//!   redis-servers and a DNS responder started here, and hostile listeners; read-only proven on
//!   the wire.
//! - `engine_targets`: the engine against local servers started here (https with generated
//!   certificates, unreachable ports, hostile answers).
//! - `tls`: `tls.certificate` and `tls.protocols` against local TLS servers with generated
//!   certificates, Debian's `openssl s_server` offering TLS 1.0/1.1, and hostile TLS peers.
//!
//! Only loopback addresses are ever targeted. Tests that need a machine service (PostgreSQL,
//! MariaDB, Redis, RabbitMQ) call `util::require_service`: under `CI=true` a missing service is a
//! failure, elsewhere the test prints why it skips.

mod cli;
mod demo_audit;
mod deps;
mod engine_targets;
mod packs;
mod tls;
mod util;
