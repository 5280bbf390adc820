//! The hostile-dependency suite: the real `readyprobe` binary, with a well-behaved target, and a
//! `[dependencies]` entry pointing at a local server that misbehaves one way — PostgreSQL
//! (silent after startup, an unsupported or cleartext authentication, an error storm, 100 MB
//! of rows or one 100 MB row, a close mid-row, garbage for the TLS answer), MySQL/MariaDB (an
//! unknown plugin, a plugin-switch loop, five million rows, `mysql_clear_password`), Redis
//! (200 MB of `INFO`, an endlessly nested array, a bulk string of 2^62 bytes, `-NOAUTH` after a
//! successful `AUTH`, a stall after `HELLO`), RabbitMQ (a stall after `Connection.Start`, a
//! 4 GiB frame-max, 50 MB of queues, a JSON bomb, a redirect to another host) and DNS (truncated
//! UDP answers and a TCP stall, a CNAME loop).
//!
//! Every case asserts what `tests/hostile.rs` asserts for HTTP targets, with the same bounds
//! ([`BOUND`]: the `--deadline` of 5 s plus 3 s of slack for a loaded CI machine; peak RSS under
//! [`RSS_LIMIT_KB`]): the run ends in time, no panic, exit 0 or 1 from the gate (the target
//! answered; a dependency never makes it "unreachable"), a JSON report in which the affected
//! dependency's checks carry the reason (its `reachable` check `fail` — critical — when the
//! dependency could not be inspected at all, the others `error`), every other check is still
//! judged, and the password appears in no output and reaches no server it was not configured
//! for (nor the configured one, when it would have travelled in cleartext).

mod servers;

use std::net::SocketAddr;
use std::process::Command;

use serde_json::Value;

use crate::hostile::{
    BOUND, Behaviour, RSS_LIMIT_KB, Run, assert_judged, assert_memory_bounded, assert_sane,
    finding, raw_server, run_command, summary,
};
use servers::{Amqp, Dns, Mgmt, My, Pg, Rd, Seen};

/// The password every case configures (long enough for the redactor).
fn password() -> String {
    format!("rp-hostile-{}-s3cret", std::process::id())
}

/// Audits a well-behaved local target with `[dependencies]` set to `deps` (TOML lines).
async fn audit_with(deps: &str) -> (Run, Value) {
    audit_inner(deps, false).await
}

/// [`audit_with`]; `contained_panic`: a client library is expected to panic (and the probe to
/// contain it), so the panic hook's message on stderr is allowed.
async fn audit_inner(deps: &str, contained_panic: bool) -> (Run, Value) {
    let target = raw_server("127.0.0.1", None, |path| {
        if path == "/" {
            Behaviour::Normal
        } else {
            Behaviour::NotFound
        }
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("readyprobe.toml");
    std::fs::write(&config, format!("[dependencies]\n{deps}\n")).expect("write config");
    let url = format!("http://{}/", target.addr);
    let run = tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_readyprobe"));
        cmd.args(["audit", &url, "--deadline", "5s", "--timeout", "2s"])
            .args(["--profile", "production", "--format", "json", "--config"])
            .arg(&config);
        if contained_panic {
            // The panic hook would symbolise a backtrace from the debug binary's DWARF (300 MB).
            cmd.env("RUST_BACKTRACE", "0");
        }
        run_command(cmd)
    })
    .await
    .expect("audit task");
    eprintln!(
        "audit finished in {:?} (bound {:?}), exit {:?}, peak RSS {} KiB (limit {} KiB)",
        run.elapsed, BOUND, run.code, run.peak_rss_kb, RSS_LIMIT_KB
    );
    let report = if contained_panic {
        assert!(run.elapsed < BOUND, "took {:?}", run.elapsed);
        assert!(
            matches!(run.code, Some(0 | 1)),
            "exit {:?}: {}",
            run.code,
            run.stderr
        );
        run.report()
    } else {
        assert_sane(&run, false)
    };
    assert_memory_bounded(&run);
    // The target itself was fine: its checks are judged whatever the dependency did.
    assert_judged(&report, "headers.csp");
    assert!(
        !run.stdout.contains(&password()) && !run.stderr.contains(&password()),
        "the password is in the output"
    );
    (run, report)
}

fn has_reason(text: &str, reasons: &[&str]) -> bool {
    reasons.iter().any(|r| text.contains(r))
}

/// The dependency could not be inspected: `reachable` fails with one of `reasons`, and every
/// other check of the dependency (ids starting with `prefix`) is an `error` with it.
fn assert_dependency_down(report: &Value, prefix: &str, reachable: &str, reasons: &[&str]) {
    let f = finding(report, reachable);
    assert_eq!(f["outcome"], "fail", "{reachable}: {f}");
    let text = summary(report, reachable);
    assert!(
        has_reason(&text, reasons),
        "{reachable}: expected one of {reasons:?} in {text:?}"
    );
    let mut others = 0;
    for f in report["findings"].as_array().expect("findings") {
        let id = f["check_id"].as_str().unwrap_or_default();
        if !id.starts_with(prefix) || id == reachable {
            continue;
        }
        others += 1;
        assert_eq!(f["outcome"], "error", "{id}: {f}");
        let text = f["summary"].as_str().unwrap_or_default();
        assert!(
            has_reason(text, reasons),
            "{id}: expected one of {reasons:?} in {text:?}"
        );
    }
    assert!(others > 0, "no other {prefix} checks in the report");
}

/// `id` is an `error` naming one of `reasons`.
fn assert_error_with(report: &Value, id: &str, reasons: &[&str]) {
    let f = finding(report, id);
    assert_eq!(f["outcome"], "error", "{id}: {f}");
    let text = summary(report, id);
    assert!(
        has_reason(&text, reasons),
        "{id}: expected one of {reasons:?} in {text:?}"
    );
}

/// A failing critical check makes the verdict NO-GO, and the default gate fails on it.
fn assert_gate_failed(run: &Run) {
    assert_eq!(
        run.code,
        Some(1),
        "a critical dependency failure fails the gate"
    );
}

fn no_password(seen: &Seen, what: &str) {
    assert!(
        !seen.received(&password()),
        "{what}: the password reached the server"
    );
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

async fn postgres_case(how: Pg, sslmode: &str, extra: &str) -> (Run, Value, Seen) {
    let (addr, seen) = servers::postgres(how).await;
    let (run, report) = audit_with(&format!(
        "postgres = \"postgres://app:{}@{addr}/app?sslmode={sslmode}\"\n{extra}",
        password()
    ))
    .await;
    assert!(seen.connections() > 0, "the probe never connected");
    (run, report, seen)
}

const PG_TIMEOUT: &[&str] = &["no answer within", "deadline"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_that_never_asks_for_authentication() {
    let (run, report, _) = postgres_case(Pg::NoAuthRequest, "disable", "").await;
    assert_dependency_down(&report, "db.postgres.", "db.postgres.reachable", PG_TIMEOUT);
    assert_gate_failed(&run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_asking_for_an_unsupported_authentication_method() {
    let (_, report, seen) = postgres_case(Pg::UnsupportedAuth, "disable", "").await;
    assert_dependency_down(
        &report,
        "db.postgres.",
        "db.postgres.reachable",
        &["authentication method: 7"],
    );
    no_password(&seen, "GSSAPI request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_cleartext_password_over_a_plain_connection_is_not_sent() {
    // sslmode=prefer: the server declines TLS (N), then asks for the password in cleartext.
    let (run, report, seen) = postgres_case(Pg::Cleartext, "prefer", "").await;
    assert_dependency_down(
        &report,
        "db.postgres.",
        "db.postgres.reachable",
        &["asked for the password in cleartext"],
    );
    assert!(
        summary(&report, "db.postgres.reachable").contains("allow_cleartext_password"),
        "the reason names the setting"
    );
    no_password(&seen, "cleartext request");
    assert_gate_failed(&run);

    // Configured to allow it: the password is sent (proving the refusal above was the guard).
    let (_, report, seen) =
        postgres_case(Pg::Cleartext, "disable", "allow_cleartext_password = true").await;
    assert!(
        seen.received(&password()),
        "allow_cleartext_password = true sends the password"
    );
    assert_dependency_down(
        &report,
        "db.postgres.",
        "db.postgres.reachable",
        &["password authentication failed"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_error_response_storm() {
    let (_, report, _) = postgres_case(Pg::ErrorStorm, "disable", "").await;
    assert_dependency_down(
        &report,
        "db.postgres.",
        "db.postgres.reachable",
        &["storm of errors"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_100_mb_of_rows() {
    let (_, report, _) = postgres_case(Pg::HugeRows, "disable", "").await;
    assert_dependency_down(
        &report,
        "db.postgres.",
        "db.postgres.reachable",
        &["more than 8 MiB"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_one_row_of_100_mb() {
    let (_, report, _) = postgres_case(Pg::HugeRow, "disable", "").await;
    assert_dependency_down(
        &report,
        "db.postgres.",
        "db.postgres.reachable",
        &["over the 1024 KiB"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_closing_mid_row() {
    let (_, report, _) = postgres_case(Pg::ClosesMidRow, "disable", "").await;
    assert_dependency_down(
        &report,
        "db.postgres.",
        "db.postgres.reachable",
        &["EOF", "connection", "closed"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_answering_the_tls_request_with_garbage() {
    let (_, report, seen) = postgres_case(Pg::SslGarbage, "prefer", "").await;
    assert_dependency_down(
        &report,
        "db.postgres.",
        "db.postgres.reachable",
        &["answered the TLS request with 0x9c"],
    );
    no_password(&seen, "garbage TLS answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_answer_that_makes_the_client_library_panic_is_contained() {
    // sqlx reads a ParameterDescription's count without checking the message is long enough;
    // the panic (printed by the panic hook) must become this dependency's error, not end the run.
    let (addr, _) = servers::postgres(Pg::TruncatedParameterDescription).await;
    let dsn = format!("postgres://app:{}@{addr}/app?sslmode=disable", password());
    let err = readyprobe::probes::deps::postgres::inspect(&crate::util::probe_cx(Vec::new()), &dsn)
        .await
        .expect_err("a truncated ParameterDescription cannot be inspected");
    let text = err.to_string();
    assert!(
        text.contains("the postgres client library failed on the server's answer"),
        "{text}"
    );
    assert!(!text.contains(&password()), "{text}");

    // Through the binary: the run goes on and reports it.
    let (run, report) = audit_inner(&format!("postgres = \"{dsn}\""), true).await;
    assert_dependency_down(
        &report,
        "db.postgres.",
        "db.postgres.reachable",
        &["client library failed on the server's answer"],
    );
    assert_gate_failed(&run);
}

// ---------------------------------------------------------------------------------------------
// MySQL / MariaDB

async fn mysql_case(how: My) -> (Run, Value, Seen) {
    let (addr, seen) = servers::mysql(how).await;
    let (run, report) = audit_with(&format!(
        "mysql = \"mysql://app:{}@{addr}/app?ssl-mode=disabled\"",
        password()
    ))
    .await;
    assert!(seen.connections() > 0, "the probe never connected");
    (run, report, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_handshake_with_an_unknown_plugin() {
    let (_, report, _) = mysql_case(My::UnknownPlugin).await;
    assert_dependency_down(
        &report,
        "db.mysql.",
        "db.mysql.reachable",
        &["unknown authentication plugin"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_authentication_switch_loop() {
    let (_, report, _) = mysql_case(My::AuthSwitchLoop).await;
    assert_dependency_down(
        &report,
        "db.mysql.",
        "db.mysql.reachable",
        &["switch the authentication method"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_result_set_of_millions_of_rows() {
    let (_, report, _) = mysql_case(My::MillionsOfRows).await;
    assert_dependency_down(
        &report,
        "db.mysql.",
        "db.mysql.reachable",
        &["more than 1000 rows", "more than 8 MiB"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_clear_password_over_a_plain_connection_is_not_sent() {
    let (_, report, seen) = mysql_case(My::ClearPassword).await;
    assert_dependency_down(
        &report,
        "db.mysql.",
        "db.mysql.reachable",
        &["asked for the password in cleartext"],
    );
    no_password(&seen, "mysql_clear_password");
}

// ---------------------------------------------------------------------------------------------
// Redis

async fn redis_case(how: Rd, query: &str) -> (Run, Value, Seen) {
    let (addr, seen) = servers::redis(how).await;
    let (run, report) = audit_with(&format!(
        "redis = {{ url = \"redis://:{}@{addr}/0{query}\", role = \"store\" }}",
        password()
    ))
    .await;
    assert!(seen.connections() > 0, "the probe never connected");
    (run, report, seen)
}

const REDIS_INFO_CHECKS: &[&str] = &["redis.memory", "redis.clients", "redis.persistence"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_info_of_200_mb() {
    let (_, report, _) = redis_case(Rd::HugeInfo, "").await;
    assert_judged(&report, "redis.reachable");
    for id in REDIS_INFO_CHECKS {
        assert_error_with(&report, id, &["more than 8 MiB"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_endlessly_nested_array() {
    let (_, report, _) = redis_case(Rd::NestedArray, "").await;
    assert_judged(&report, "redis.reachable");
    for id in REDIS_INFO_CHECKS {
        assert_error_with(&report, id, &["recursion", "more than 8 MiB", "parse"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_bulk_string_of_2_pow_62_bytes() {
    let (_, report, _) = redis_case(Rd::BulkOf2Pow62, "").await;
    assert_judged(&report, "redis.reachable");
    for id in REDIS_INFO_CHECKS {
        assert_error_with(&report, id, &["more than 8 MiB"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_noauth_after_a_successful_auth() {
    let (_, report, _) = redis_case(Rd::NoAuthAfterAuth, "").await;
    let reachable = finding(&report, "redis.reachable");
    assert_eq!(reachable["outcome"], "fail", "{reachable}");
    assert!(summary(&report, "redis.reachable").contains("NOAUTH"));
    // Without credentials it said NOAUTH too: authentication is required, which is judged.
    assert_judged(&report, "redis.auth");
    for id in REDIS_INFO_CHECKS {
        assert_error_with(&report, id, &["NOAUTH"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_that_stalls_after_hello() {
    let (_, report, _) = redis_case(Rd::StallAfterHello, "?protocol=resp3").await;
    let reachable = finding(&report, "redis.reachable");
    assert_eq!(reachable["outcome"], "fail", "{reachable}");
    assert!(has_reason(&summary(&report, "redis.reachable"), PG_TIMEOUT));
    // PING without credentials answered PONG: judged (and failed) on what was seen.
    assert_judged(&report, "redis.auth");
    for id in REDIS_INFO_CHECKS {
        assert_error_with(&report, id, PG_TIMEOUT);
    }
}

// ---------------------------------------------------------------------------------------------
// RabbitMQ

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_that_stalls_after_connection_start() {
    let (addr, seen) = servers::amqp(Amqp::StallAfterStart).await;
    let (run, report) = audit_with(&format!(
        "rabbitmq = \"amqp://app:{}@{addr}/%2f\"",
        password()
    ))
    .await;
    assert!(seen.connections() > 0);
    let reachable = finding(&report, "rabbitmq.reachable");
    assert_eq!(reachable["outcome"], "fail", "{reachable}");
    assert!(has_reason(
        &summary(&report, "rabbitmq.reachable"),
        PG_TIMEOUT
    ));
    assert_gate_failed(&run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_offering_a_frame_max_of_4_gib() {
    let (addr, seen) = servers::amqp(Amqp::FrameMax4GiB).await;
    let (_, report) = audit_with(&format!(
        "rabbitmq = \"amqp://app:{}@{addr}/%2f\"",
        password()
    ))
    .await;
    assert!(seen.connections() > 0);
    // lapin sizes its buffers from the negotiated frame size: bounded, it connects and closes.
    assert_eq!(
        finding(&report, "rabbitmq.reachable")["outcome"],
        "pass",
        "{}",
        finding(&report, "rabbitmq.reachable")
    );
}

async fn management_case(how: Mgmt, other: Option<SocketAddr>) -> (Run, Value, Seen) {
    let (addr, seen) = servers::management("127.0.0.1", how, other).await;
    let (run, report) = audit_with(&format!(
        "rabbitmq_management = {{ url = \"http://{addr}\", username = \"app\", password = \"{}\" }}",
        password()
    ))
    .await;
    assert!(seen.connections() > 0);
    (run, report, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn management_api_with_50_mb_of_queues() {
    let (_, report, _) = management_case(Mgmt::HugeQueues, None).await;
    assert_error_with(&report, "rabbitmq.dlx", &["larger than the 64 KiB"]);
    assert_judged(&report, "rabbitmq.reachable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn management_api_answering_a_json_bomb() {
    let (_, report, _) = management_case(Mgmt::JsonBomb, None).await;
    assert_error_with(&report, "rabbitmq.dlx", &["not JSON", "recursion"]);
    assert_judged(&report, "rabbitmq.reachable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn management_api_redirecting_to_another_host() {
    let (other, other_seen) = servers::management("127.0.0.2", Mgmt::JsonBomb, None).await;
    let (_, report, seen) = management_case(Mgmt::RedirectOffHost, Some(other)).await;
    assert_eq!(
        other_seen.connections(),
        0,
        "the prober followed a redirect to a host it was not configured for"
    );
    // Basic credentials went to the configured API only.
    assert!(seen.received("authorization: Basic") || seen.received("Authorization: Basic"));
    let reachable = finding(&report, "rabbitmq.reachable");
    assert_eq!(reachable["outcome"], "fail", "{reachable}");
    assert!(summary(&report, "rabbitmq.reachable").contains("302"));
}

// ---------------------------------------------------------------------------------------------
// DNS

async fn dns_case(how: Dns, name: &str) -> (Run, Value, Seen) {
    let (addr, seen) = servers::dns(how).await;
    let (run, report) = audit_with(&format!(
        "[dependencies.dns]\nnameserver = \"{addr}\"\nnames = [\"{name}\"]"
    ))
    .await;
    (run, report, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_truncated_over_udp_and_stalled_over_tcp() {
    let (_, report, seen) = dns_case(Dns::TruncatedThenTcpStall, "app.test").await;
    assert!(seen.connections() > 0, "the resolver retried over TCP");
    assert_error_with(
        &report,
        "dns.records",
        &["no answer within", "timed out", "deadline"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_cname_loop() {
    let (_, report, _) = dns_case(Dns::CnameLoop, "a.test").await;
    assert_error_with(
        &report,
        "dns.records",
        &["CNAME loop (a.test → b.test → a.test)"],
    );
}
