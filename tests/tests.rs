//! Integration tests: one binary, a module per theme.
//!
//! - `cli`: the real `readyprobe` binary — exit codes, config errors, formats, `checks`/`explain`/`init`.
//! - `demo_audit`: `audit --demo` end to end against the embedded demo target, both profiles.
//! - `deps`: dependency audits against the machine's PostgreSQL, MariaDB, Redis and RabbitMQ,
//!   redis-servers and a DNS responder started here, and hostile listeners; read-only proven on
//!   the wire.
//! - `engine_targets`: the engine against local servers started here (https with generated
//!   certificates, unreachable ports, hostile answers).
//! - `hostile`: the real binary against servers that each misbehave one way (silence, trickled
//!   headers, endless bodies, gzip bomb, resets, junk bytes, SMTP, an unresolvable name): in time,
//!   no panic, bounded memory, `error` findings with reasons, documented exit codes.
//! - `fuzz`: property tests feeding arbitrary input to every parser that reads target data or
//!   configuration (CSP, Set-Cookie, health JSON, JWKS/JWT, TOML config, metrics exposition,
//!   legacy TLS answers, redaction); `PROPTEST_CASES` raises the case count.
//! - `canary`: planted secrets (headers, `env:` values, URL passwords, DSNs) appear in no output
//!   format, log or error message.
//! - `fault`: supervised runs of the real `readyprobe demo` process with the machine's PostgreSQL
//!   behind the fault proxy (`health.fault.*`, `ops.graceful_shutdown`, `ops.fail_fast_config`,
//!   `logging.*`), and supervision's bad inputs; every test proves no port or process is left.
//! - `metrics`: `metrics.*` against Debian's `prometheus-node-exporter` (zero parse errors), local
//!   servers answering `/metrics` with HTML, oversized or raw-path-labelled expositions, and the
//!   exposition parser's property tests (never panics; valid expositions round-trip).
//! - `ratelimit`: the bounded rate-limit burst against local logins (limited, unlimited,
//!   degrading), its caps counted on the server side, recovery after `Retry-After`.
//! - `runmodes`: CI gate (waivers, category minimums, JUnit, `--wait-ready`, the GitHub Actions
//!   example run as written), history on SQLite and PostgreSQL with `diff` and the webhook, fleets,
//!   record/replay, the HTML report in headless Chromium, `serve` scraped by a real Prometheus.
//! - `tls`: `tls.certificate` and `tls.protocols` against local TLS servers with generated
//!   certificates, Debian's `openssl s_server` offering TLS 1.0/1.1, and hostile TLS peers.
//! - `http_client`: the HTTP client against Debian nginx (HTTP/2 with a 16 KiB-header limit, 64
//!   worker connections under a fleet of 300, expired and self-signed certificates with a
//!   credential that must never reach them), a DNS server on loopback counting its questions,
//!   and writes to a closed pipe. `nginx_harness` starts and stops that nginx.
//!
//! Only loopback addresses are ever targeted. Tests that need a machine service (PostgreSQL,
//! MariaDB, Redis, RabbitMQ) call `util::require_service`: under `CI=true` a missing service is a
//! failure, elsewhere the test prints why it skips.

mod canary;
mod cli;
mod demo_audit;
mod deps;
mod engine_targets;
mod fault;
mod fuzz;
mod hostile;
mod http_client;
mod metrics;
mod nginx_harness;
mod packs;
mod ratelimit;
mod runmodes;
mod tls;
mod util;
