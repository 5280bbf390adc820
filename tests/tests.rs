//! Integration tests: one binary, a module per theme.
//!
//! - `cli`: the real `readyprobe` binary — exit codes, config errors, formats, `checks`/`explain`/`init`.
//! - `demo_audit`: `audit --demo` end to end against the embedded demo target, both profiles.
//! - `engine_targets`: the engine against local servers started here (https with generated
//!   certificates, unreachable ports, hostile answers).
//!
//! Only loopback addresses are ever targeted. Tests that need a machine service (PostgreSQL,
//! MariaDB, Redis, RabbitMQ) call `util::require_service`: under `CI=true` a missing service is a
//! failure, elsewhere the test prints why it skips.

mod cli;
mod demo_audit;
mod engine_targets;
mod packs;
mod util;
