//! Secret canaries: credentials, tokens and DSNs carrying unique canary strings are configured
//! every way readyprobe accepts them (`-H`, `http.headers` with `env:` values, a password in the
//! target URL, dependency DSNs, the JWT of `access.token_env`), audits run against a server that
//! **echoes every request header back** in its response headers and bodies (so only redaction
//! can keep a canary out) and against the demo target, and no canary may appear in stdout,
//! stderr or any written file: every report format, `--out` files, `--record` recordings, the
//! `--store` history database and what `history`, `diff` and `judge` read back from them, logs at
//! trace level, and the error messages of probes that fail.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use axum::Router;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::util::{self, servers};

/// Every canary; none may appear in any output.
const CANARIES: &[&str] = &[
    BEARER, ENV_KEY, ENV_CUSTOM, URL_PASS, PG_PASS, REDIS_PASS, AMQP_PASS, MYSQL_PASS, MGMT_PASS,
    JWT_SIG, CLI_BAD,
];
const BEARER: &str = "CANARYbearerT0k3nQx7";
const ENV_KEY: &str = "CANARYenvApiKeyW2p9";
const ENV_CUSTOM: &str = "CANARYcustomHdrZ5k1";
const URL_PASS: &str = "CANARYurlPassM4n8";
const PG_PASS: &str = "CANARYpgPassR6t2";
const REDIS_PASS: &str = "CANARYredisPassY3u5";
const AMQP_PASS: &str = "CANARYamqpPassH8j4";
const MYSQL_PASS: &str = "CANARYmysqlPassF1d6";
const MGMT_PASS: &str = "CANARYmgmtPassB9c3";
const JWT_SIG: &str = "CANARYjwtSignatureK7v2";
const CLI_BAD: &str = "CANARYbadHeaderArgN5s8";

/// Echoes the request: each header as `x-echo-<name>` and inside the headers checks quote
/// (`server`, CSP, `x-powered-by`), the bare credential after an auth scheme too, and all of it
/// in the body — HTML on pages, JSON on health paths.
async fn echo(uri: Uri, headers: HeaderMap) -> Response {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in &headers {
        seen.insert(
            name.as_str().to_string(),
            String::from_utf8_lossy(value.as_bytes()).into_owned(),
        );
    }
    let all: Vec<String> = seen.iter().map(|(n, v)| format!("{n}: {v}")).collect();
    // A server that strips the scheme and prints the bare token.
    let bare: Vec<String> = seen
        .values()
        .filter_map(|v| v.split_once(' ').map(|(_, t)| t.to_string()))
        .collect();
    let path = uri.path().to_string();
    let mut out = HeaderMap::new();
    for (name, value) in &seen {
        if let (Ok(n), Ok(v)) = (
            HeaderName::try_from(format!("x-echo-{name}")),
            HeaderValue::from_str(value),
        ) {
            out.insert(n, v);
        }
    }
    let joined = format!("{} {}", all.join(" "), bare.join(" "));
    let joined = joined.replace(['\r', '\n'], " ");
    if let Ok(v) = HeaderValue::from_str(&format!("echo/1.0 ({joined})")) {
        out.insert("server", v.clone());
        out.insert("x-powered-by", v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("default-src 'self' https://{joined}")) {
        out.insert("content-security-policy", v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("echo={}; Path=/", bare.join("_"))) {
        out.insert("set-cookie", v);
    }
    let is_health = ["/livez", "/healthz", "/readyz", "/health"].contains(&path.as_str());
    if is_health {
        out.insert("content-type", HeaderValue::from_static("application/json"));
        let body = serde_json::json!({
            "status": "UP",
            "components": {"echo": {"status": "UP", "details": {"headers": seen, "bare": bare}}},
        });
        return (StatusCode::OK, out, body.to_string()).into_response();
    }
    out.insert("content-type", HeaderValue::from_static("text/html"));
    let status = if path == "/" || path == "/api/admin" {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    let body = format!(
        "<!doctype html><html><body><pre>{path}\n{}\n{}</pre></body></html>",
        all.join("\n"),
        bare.join("\n")
    );
    (status, out, body).into_response()
}

/// A JWT whose signature is the canary (claims are not secret; the signature part is).
fn canary_jwt() -> String {
    use base64::Engine as _;
    let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.{JWT_SIG}",
        b.encode(br#"{"alg":"RS256","typ":"JWT"}"#),
        b.encode(br#"{"sub":"canary-user","exp":4102444800}"#)
    )
}

/// The config: env-valued headers, dependency DSNs with passwords (ports with nothing
/// listening, so their probes fail and their error messages are rendered too).
fn write_config(dir: &Path) -> std::path::PathBuf {
    let closed = util::closed_port();
    let text = format!(
        r#"
[http.headers]
X-Api-Key = "env:RP_CANARY_KEY"
X-Custom-Thing = "env:RP_CANARY_CUSTOM"

[access]
protected = ["/api/admin"]
token_env = "RP_CANARY_TOKEN"

[dependencies]
postgres = "postgres://app:{PG_PASS}@127.0.0.1:{closed}/app"
mysql = "mysql://app:{MYSQL_PASS}@127.0.0.1:{closed}/app"
redis = "redis://:{REDIS_PASS}@127.0.0.1:{closed}/0"
rabbitmq = "amqp://app:{AMQP_PASS}@127.0.0.1:{closed}/%2f"
rabbitmq_management = {{ url = "http://127.0.0.1:{closed}", username = "admin", password = "{MGMT_PASS}" }}
"#
    );
    let path = dir.join("canary.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// Every `--out` extension the CLI knows.
const OUT_FILES: &[&str] = &[
    "report.md",
    "report.json",
    "report.txt",
    "report.html",
    "report.xml",
    "report.prom",
];

fn base_command(config: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_readyprobe"));
    for (key, _) in std::env::vars() {
        if key.starts_with("READYPROBE_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    cmd.env("NO_COLOR", "1")
        .env("RP_CANARY_KEY", ENV_KEY)
        .env("RP_CANARY_CUSTOM", ENV_CUSTOM)
        .env("RP_CANARY_TOKEN", canary_jwt())
        .arg("audit")
        .arg("--config")
        .arg(config)
        .args(["-H", &format!("Authorization: Bearer {BEARER}")])
        .args(["--deadline", "30s", "--timeout", "3s"]);
    cmd
}

/// Asserts no canary in `what`.
fn assert_clean(label: &str, what: &str) {
    for canary in CANARIES {
        if let Some(at) = what.find(canary) {
            let start = what[..at]
                .char_indices()
                .rev()
                .nth(120)
                .map(|(i, _)| i)
                .unwrap_or(0);
            let end = (at + canary.len() + 60).min(what.len());
            let end = (end..=what.len())
                .find(|i| what.is_char_boundary(*i))
                .unwrap_or(what.len());
            panic!("{label} leaks {canary}: …{}…", &what[start..end]);
        }
    }
}

/// Runs `cmd`, writing every `--out` file into `dir`, and checks stdout, stderr and the files.
fn run_and_check(label: &str, mut cmd: Command, dir: &Path, expect_files: bool) -> String {
    if expect_files {
        for f in OUT_FILES {
            cmd.arg("--out").arg(dir.join(f));
        }
    }
    let out = cmd.output().expect("run readyprobe");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{label}: {stderr}");
    assert_clean(&format!("{label} stdout"), &stdout);
    assert_clean(&format!("{label} stderr"), &stderr);
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let bytes = std::fs::read(entry.path()).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert_clean(&format!("{label} {}", entry.path().display()), &text);
    }
    if expect_files {
        for f in OUT_FILES {
            assert!(dir.join(f).exists(), "{label}: --out {f} was written");
        }
    }
    format!("{stdout}\n{stderr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_canary_in_any_output_against_an_echoing_server() {
    let addr = servers::http(Router::new().fallback(echo)).await;
    let target = format!("http://canary-user:{URL_PASS}@{addr}/");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path());
    // Every stdout format, each run also writing every --out format; logs at debug (-vv) and
    // at trace for every crate (RUST_LOG=trace).
    let formats = ["terminal", "md", "json", "html", "junit", "prometheus"];
    let runs: Vec<_> = formats
        .iter()
        .enumerate()
        .map(|(i, format)| {
            let out_dir = dir.path().join(format!("run-{format}"));
            std::fs::create_dir(&out_dir).expect("mkdir");
            let mut cmd = base_command(&config);
            cmd.arg(&target).args(["--format", format, "-vv"]);
            if i % 2 == 0 {
                cmd.env("RUST_LOG", "trace");
            }
            // Every run records its observations and lands in the history store (its own, so
            // the runs do not contend for one SQLite file).
            cmd.arg("--record")
                .arg(out_dir.join("recording.json"))
                .arg("--store")
                .arg(format!(
                    "sqlite:{}",
                    out_dir.join("history.sqlite").display()
                ));
            let label = format!("echo server, --format {format}");
            std::thread::spawn(move || run_and_check(&label, cmd, &out_dir, true))
        })
        .collect();
    let mut combined = String::new();
    for run in runs {
        combined.push_str(
            &tokio::task::spawn_blocking(move || run.join())
                .await
                .expect("join")
                .expect("run"),
        );
    }
    // What reads the stored runs back: `history`, `diff` and `judge` of a recording.
    let first = dir.path().join("run-terminal");
    let store = format!("sqlite:{}", first.join("history.sqlite").display());
    let recording = first.join("recording.json");
    let reads: Vec<(String, Vec<String>)> = vec![
        (
            "history".into(),
            vec!["history".into(), "--store".into(), store.clone()],
        ),
        (
            "diff".into(),
            vec![
                "diff".into(),
                "--store".into(),
                store,
                "--format".into(),
                "json".into(),
            ],
        ),
        (
            "judge".into(),
            vec![
                "judge".into(),
                recording.display().to_string(),
                "--format".into(),
                "json".into(),
            ],
        ),
    ];
    for (label, args) in reads {
        let out_dir = dir.path().join(format!("read-{label}"));
        std::fs::create_dir(&out_dir).expect("mkdir");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_readyprobe"));
        cmd.args(&args)
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "trace");
        let all = tokio::task::spawn_blocking(move || run_and_check(&label, cmd, &out_dir, false))
            .await
            .expect("run");
        combined.push_str(&all);
    }
    // The echo really reflected the credentials (the test would prove nothing otherwise), and the
    // failing dependency probes were rendered.
    assert!(combined.contains("***"), "masks are shown");
    assert!(
        combined.contains("x-echo-") || combined.contains("echo/1.0"),
        "the echoed headers reached the report"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_canary_when_the_target_is_unreachable_or_the_config_is_wrong() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path());
    // Unreachable target: every probe fails, exit 3, the error names the (redacted) URL.
    let port = util::closed_port();
    let out_dir = dir.path().join("unreachable");
    std::fs::create_dir(&out_dir).expect("mkdir");
    let mut cmd = base_command(&config);
    cmd.arg(format!("http://canary-user:{URL_PASS}@127.0.0.1:{port}/"))
        .args(["--format", "json", "-vv"])
        .env("RUST_LOG", "trace");
    let all = tokio::task::spawn_blocking(move || {
        run_and_check("unreachable target", cmd, &out_dir, true)
    })
    .await
    .expect("run");
    assert!(all.contains("could not be reached"), "{all}");

    // Usage errors that quote what they reject.
    let bad_dir = dir.path().join("usage");
    std::fs::create_dir(&bad_dir).expect("mkdir");
    let mut cmd = base_command(&config);
    cmd.arg(format!("http://canary-user:{URL_PASS}@127.0.0.1:{port}/"))
        .args(["-H", &format!("NoColonHere{CLI_BAD}")]);
    let bad_dir2 = bad_dir.clone();
    tokio::task::spawn_blocking(move || run_and_check("bad -H", cmd, &bad_dir2, false))
        .await
        .expect("run");
    let bad_config = dir.path().join("bad.toml");
    std::fs::write(
        &bad_config,
        format!(
            "[dependencies]\npostgres = \"mongodb://app:{PG_PASS}@127.0.0.1/app\"\nredis = \"localhost:{REDIS_PASS}@6379\"\n"
        ),
    )
    .expect("write");
    let mut cmd = base_command(&bad_config);
    cmd.arg(format!("http://canary-user:{URL_PASS}@127.0.0.1:{port}/"));
    tokio::task::spawn_blocking(move || run_and_check("bad DSN config", cmd, &bad_dir, false))
        .await
        .expect("run");
}

#[test]
fn no_canary_in_any_output_of_the_demo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path());
    for format in ["terminal", "json", "html"] {
        let out_dir = dir.path().join(format!("demo-{format}"));
        std::fs::create_dir(&out_dir).expect("mkdir");
        let mut cmd = base_command(&config);
        cmd.args(["--demo", "--format", format, "-vv"])
            .env("RUST_LOG", "trace");
        run_and_check(&format!("demo, --format {format}"), cmd, &out_dir, true);
    }
}

#[test]
fn redactor_masks_the_bare_credential_of_an_auth_scheme() {
    let mut r = readyprobe::redact::Redactor::new();
    r.add(&format!("Bearer {BEARER}"));
    let shown = r.scrub(&format!("token={BEARER}; full=Bearer {BEARER}"));
    assert_eq!(shown, "token=***; full=***");
}
