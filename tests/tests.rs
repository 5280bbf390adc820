//! Integration tests: one binary, a module per theme.
//!
//! - `architecture`: the wall between probing and judging, module cycles and file length, read
//!   from the source text (`tools/modgraph.py`).
//! - `cli`: the real `readyprobe` binary — exit codes, config errors, formats, `checks`/`explain`/`init`.
//! - `config_reference`: `config schema` validates every shipped config file (with the
//!   `jsonschema` crate), `config check` accepts them and names file and field in bad ones, and
//!   the starter file and README document every section.
//! - `demo_audit`: `audit --demo` end to end against the embedded demo target, both profiles.
//! - `deps`: dependency audits against the machine's PostgreSQL, MariaDB, Redis and RabbitMQ,
//!   redis-servers and a DNS responder started here, and hostile listeners; read-only proven on
//!   the wire.
//! - `deps_only`: `audit postgres://… redis://… amqp://…` with no HTTP target against the
//!   machine's services: HTTP categories not assessed with the reason, exit 3 only when nothing
//!   answered, passwords in no output.
//! - `engine_targets`: the engine against local servers started here (https with generated
//!   certificates, unreachable ports, hostile answers).
//! - `hostile`: the real binary against servers that each misbehave one way (silence, trickled
//!   headers, endless bodies, gzip bomb, resets, junk bytes, SMTP, an unresolvable name): in time,
//!   no panic, bounded memory, `error` findings with reasons, documented exit codes.
//! - `hostile_deps`: the real binary with `[dependencies]` pointing at local PostgreSQL, MySQL,
//!   Redis, AMQP, management-API and DNS servers that each misbehave one way: same bounds, the
//!   dependency's checks carry the reason, no credential reaches a server it must not.
//! - `hostile_h2`: the real binary against HTTPS servers that negotiate `h2` and then misbehave
//!   over raw frames (SETTINGS flood, endless CONTINUATION, a zero flow-control window, GOAWAY on
//!   every stream, PING flood): same bounds as `hostile`, the configured credential in no output.
//! - `fuzz`: property tests feeding arbitrary input to every parser that reads target data or
//!   configuration (CSP, Set-Cookie, health JSON, JWKS/JWT, TOML config, metrics exposition,
//!   legacy TLS answers, redaction); `PROPTEST_CASES` raises the case count.
//! - `canary`: planted secrets (headers, `env:` values, URL passwords, DSNs) appear in no output
//!   format, log or error message.
//! - `fault`: supervised runs of the real `readyprobe demo` process with the machine's PostgreSQL
//!   behind the fault proxy (`health.fault.*`, `ops.graceful_shutdown`, `ops.fail_fast_config`,
//!   `logging.*`), and supervision's bad inputs; every test proves no port or process is left.
//! - `kube`: `--kube-manifest` and `[kubernetes]`: hostile manifests (alias bomb, 50 MB, no
//!   matching workload) refused with exit 2 and bounded memory; the supervised demo audited with
//!   `examples/kubernetes/` (flawed fails the manifest-vs-live checks, hardened passes them).
//! - `metrics`: `metrics.*` against Debian's `prometheus-node-exporter` (zero parse errors), local
//!   servers answering `/metrics` with HTML, oversized or raw-path-labelled expositions, and the
//!   exposition parser's property tests (never panics; valid expositions round-trip).
//! - `nginx_harness`: a real Debian nginx started on loopback ports with a config written to a
//!   temporary directory (no daemon, one process, killed on drop) — the helper, not tests.
//! - `nginx_checks`: checks judged against that nginx: plain HTTP only (`tls.http_redirect`,
//!   `headers.hsts`), a CSP allowing inline script, `X-RateLimit-*` on `/` with no `[ratelimit]`,
//!   and the hardened contrast over HTTPS.
//! - `ratelimit`: the bounded rate-limit burst against local logins (limited, unlimited,
//!   degrading), its caps counted on the server side, recovery after `Retry-After`.
//! - `readiness`: `health.ready_now` against the real `readyprobe demo` process with its database
//!   unreachable: NO-GO with the failing component in every output format and in `serve`.
//! - `runmodes`: CI gate (waivers, category minimums, JUnit, `--wait-ready`, the GitHub Actions
//!   example run as written), history on SQLite and PostgreSQL with `diff` and the webhook, fleets,
//!   record/replay, the HTML report in headless Chromium, `serve` scraped by a real Prometheus.
//! - `serve`: the real `readyprobe serve` scraped as Prometheus does: a bad pack stops it at
//!   start, concurrent scrapes of one target share one audit, `--min-interval` answers from the
//!   last audit with its age, a short scrape timeout gets a partial report in time, and the soak
//!   (600 probes across 50 targets, 10,000 with `READYPROBE_FULL_SOAK=1`; RSS and fds flat,
//!   `/healthz` answering throughout).
//! - `shard`: `serve` scaled out by Prometheus — a real Prometheus runs
//!   `examples/prometheus-sharded.yml` against two real `serve` replicas and 20 demo targets:
//!   every target audited by exactly one replica (Prometheus's series and targets and the
//!   replicas' own probe counters agree), a lost replica loses only its shard until the reload;
//!   `examples/kubernetes/serve/` read by the manifest loader; every YAML under `examples/` parses.
//! - `store`: the history store under `kill -9` at random points (20 per backend, 200 with
//!   `READYPROBE_FULL_SOAK=1`), ten concurrent cron runs on one store, and stores written by the
//!   pre-migration schema — SQLite and the machine's PostgreSQL.
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

mod architecture;
mod canary;
mod cli;
mod config_reference;
mod demo_audit;
mod deps;
mod deps_only;
mod engine_targets;
mod fault;
mod fuzz;
mod hostile;
mod hostile_deps;
mod hostile_h2;
mod http_client;
mod kube;
mod metrics;
mod nginx_checks;
mod nginx_conf;
mod nginx_harness;
mod packs;
mod ratelimit;
mod readiness;
mod runmodes;
mod serve;
mod shard;
mod store;
mod tls;
mod util;
