//! Checks judged against a real Debian nginx (`nginx_conf`), configured the way sites really
//! are: plain HTTP only with a CSP that allows inline script and `X-RateLimit-*` headers on `/`,
//! and its contrast — HTTPS with a strict CSP and HSTS, plain HTTP redirecting to it. The real
//! `readyprobe audit` binary audits each one with no `[ratelimit]` section.

use std::collections::BTreeMap;

use crate::nginx_conf::{Nginx, pem};
use crate::util::{pki::TestCa, readyprobe};

/// Runs `readyprobe audit URL --format FORMAT` with the extra args; (exit code, stdout, stderr).
fn audit(url: &str, format: &str, extra: &[&str]) -> (i32, String, String) {
    let out = readyprobe()
        .args(["audit", url, "--format", format])
        .args(extra)
        .output()
        .expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn findings(json: &str) -> BTreeMap<String, serde_json::Value> {
    let report: serde_json::Value =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("not JSON ({e}): {json}"));
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["check_id"].as_str().unwrap_or_default().to_string(),
                f.clone(),
            )
        })
        .collect()
}

/// `outcome`, then summary and evidence, for assertion messages.
fn said(f: &BTreeMap<String, serde_json::Value>, id: &str) -> (String, String) {
    let finding = f.get(id).unwrap_or_else(|| panic!("{id} missing"));
    let mut text = finding["summary"].as_str().unwrap_or_default().to_string();
    for line in finding["evidence"].as_array().into_iter().flatten() {
        text.push('\n');
        text.push_str(line.as_str().unwrap_or_default());
    }
    (
        finding["outcome"].as_str().unwrap_or_default().to_string(),
        text,
    )
}

/// A shop served the way many are: plain HTTP only, a CSP that allows inline script, and the
/// quota advertised on every response.
const PLAIN_SHOP: &str = r#"
        location / {
            default_type text/html;
            add_header Content-Security-Policy "default-src 'self'; script-src 'self' 'unsafe-inline'; object-src 'none'" always;
            add_header X-RateLimit-Limit 100 always;
            add_header X-RateLimit-Remaining 99 always;
            add_header X-RateLimit-Reset 60 always;
            return 200 "<!doctype html>\n<html><body><h1>shop</h1><script>start()</script></body></html>\n";
        }
"#;

#[test]
fn plain_http_nginx_fails_redirect_hsts_and_inline_csp_and_passes_ratelimit_headers() {
    let Some(nginx) = Nginx::start(&[PLAIN_SHOP], &[]) else {
        return;
    };
    let url = format!("http://127.0.0.1:{}/", nginx.port(0));
    let (_, json, stderr) = audit(&url, "json", &[]);
    let f = findings(&json);

    let (outcome, text) = said(&f, "tls.http_redirect");
    assert_eq!(outcome, "fail", "{text}\n{stderr}\n{}", nginx.error_log());
    assert!(text.contains("served over plain HTTP"), "{text}");
    assert!(text.contains("no HTTPS was offered"), "{text}");
    assert!(text.contains(&format!("GET {url} → 200")), "{text}");

    let (outcome, text) = said(&f, "headers.hsts");
    assert_eq!(outcome, "fail", "{text}");
    assert!(text.contains("offers no HTTPS at all"), "{text}");

    let (outcome, text) = said(&f, "headers.csp");
    assert_eq!(outcome, "fail", "{text}");
    assert!(text.contains("'unsafe-inline'"), "{text}");

    // Judged on the responses already received: no [ratelimit] section, no burst.
    let (outcome, text) = said(&f, "ratelimit.headers");
    assert_eq!(outcome, "pass", "{text}");
    assert!(text.contains("X-RateLimit-*"), "{text}");
    assert!(text.contains("x-ratelimit-limit: 100"), "{text}");
    assert_eq!(said(&f, "ratelimit.enforced").0, "skipped");

    // The report names the problems, not the goals, in every human format.
    let (_, md, _) = audit(&url, "md", &[]);
    assert!(
        md.contains(
            "### Plain HTTP serves content instead of redirecting to HTTPS (`tls.http_redirect`, high)"
        ),
        "{md}"
    );
    assert!(
        md.contains("### The Content-Security-Policy is missing or lets injected scripts run"),
        "{md}"
    );
    let (_, text, _) = audit(&url, "terminal", &[]);
    assert!(
        text.contains(
            "fail  Plain HTTP serves content instead of redirecting to HTTPS (tls.http_redirect)"
        ),
        "{text}"
    );
}

#[test]
fn https_nginx_with_hsts_a_nonce_csp_and_a_redirect_passes_them() {
    let ca = TestCa::new("nginx test CA");
    let leaf = ca.localhost();
    let chain: Vec<&[u8]> = leaf.chain.iter().map(|c| c.as_ref()).collect();
    let cert = pem("CERTIFICATE", &chain);
    let key = pem("PRIVATE KEY", &[leaf.key.secret_der()]);
    let ca_pem = ca.pem();
    let tls = r#"
        listen 127.0.0.1:{port0} ssl;
        ssl_certificate {dir}/cert.pem;
        ssl_certificate_key {dir}/key.pem;
        location / {
            default_type text/html;
            add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;
            add_header Content-Security-Policy "default-src 'self'; script-src 'self' 'nonce-r4nd0m'; object-src 'none'; frame-ancestors 'none'" always;
            return 200 "<!doctype html>\n<html><body><h1>shop</h1></body></html>\n";
        }
"#;
    let redirect = "        return 301 https://127.0.0.1:{port0}$request_uri;\n";
    let Some(nginx) = Nginx::start(
        &[tls, redirect],
        &[
            ("cert.pem", cert.as_bytes()),
            ("key.pem", key.as_bytes()),
            ("ca.pem", ca_pem.as_bytes()),
        ],
    ) else {
        return;
    };
    let config = nginx.path("readyprobe.toml");
    std::fs::write(
        &config,
        format!(
            "[run]\nca_file = \"{}\"\nhttp_url = \"http://127.0.0.1:{}/\"\n",
            nginx.path("ca.pem").display(),
            nginx.port(1)
        ),
    )
    .expect("config");
    let url = format!("https://127.0.0.1:{}/", nginx.port(0));
    let config = config.display().to_string();
    let (_, json, stderr) = audit(&url, "json", &["--config", &config]);
    let f = findings(&json);
    for id in ["tls.http_redirect", "headers.hsts", "headers.csp"] {
        let (outcome, text) = said(&f, id);
        assert_eq!(
            outcome,
            "pass",
            "{id}: {text}\n{stderr}\n{}",
            nginx.error_log()
        );
    }
    // No quota advertised anywhere: noted, at info severity, never a pass.
    let (outcome, text) = said(&f, "ratelimit.headers");
    assert_eq!(outcome, "warn", "{text}");
    assert_eq!(f["ratelimit.headers"]["severity"], "info");
}

/// Kills a peer process when the test ends, however it ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A real Prometheus server on a loopback port (its own `/metrics` counts only its scrapes);
/// `None` (skip) when it is not installed outside CI.
fn start_prometheus(dir: &std::path::Path) -> Option<(KillOnDrop, u16)> {
    const PROMETHEUS: &str = "/usr/bin/prometheus";
    if !std::path::Path::new(PROMETHEUS).is_file() {
        if crate::util::in_ci() {
            panic!("{PROMETHEUS} is missing; CI=true requires it (.ci/run installs prometheus)");
        }
        eprintln!("skipping: {PROMETHEUS} is not installed (under CI=true this fails)");
        return None;
    }
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        "global:\n  scrape_interval: 1h\nscrape_configs: []\n",
    )
    .expect("yml");
    let port = crate::util::closed_port();
    let child = std::process::Command::new(PROMETHEUS)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start prometheus");
    let guard = KillOnDrop(child);
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "prometheus did not listen on {port}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Some((guard, port))
}

/// One plain `GET /metrics`, answer read to the end.
fn scrape_once(port: u16) {
    use std::io::{Read, Write};
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    tcp.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer).expect("read");
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer[..answer.len().min(200)])
    );
}

/// nginx serves the site and proxies `/metrics` to another service — a real Prometheus, whose
/// `prometheus_http_requests_total{handler="/metrics"}` moves with every scrape. The shape is
/// fine (`metrics.red` passes) but none of the requests readyprobe sent to the site is counted:
/// `metrics.red_live` must fail, not pass on the scrapes.
#[test]
fn a_metrics_endpoint_proxied_from_another_service_fails_red_live() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some((_prometheus, prom_port)) = start_prometheus(dir.path()) else {
        return;
    };
    let site = format!(
        r#"
        location = /metrics {{
            proxy_pass http://127.0.0.1:{prom_port}/metrics;
        }}
        location / {{
            default_type text/html;
            return 200 "<!doctype html>\n<html><body>shop</body></html>\n";
        }}
"#
    );
    let Some(nginx) = Nginx::start(&[&site], &[]) else {
        return;
    };
    // A service that has been running a while has been scraped before: its own counter exists.
    scrape_once(prom_port);
    let url = format!("http://127.0.0.1:{}/", nginx.port(0));
    let (_, json, stderr) = audit(&url, "json", &[]);
    let f = findings(&json);
    let (outcome, text) = said(&f, "metrics.format");
    assert_eq!(outcome, "pass", "{text}\n{stderr}\n{}", nginx.error_log());
    assert_eq!(
        said(&f, "metrics.red").0,
        "pass",
        "{}",
        said(&f, "metrics.red").1
    );
    let (outcome, text) = said(&f, "metrics.red_live");
    assert_eq!(outcome, "fail", "{text}");
    assert!(text.contains("Only the scrapes of /metrics"), "{text}");
    assert!(text.contains("prometheus_http_requests_total"), "{text}");
    assert!(
        text.contains("series counting scrapes of /metrics"),
        "{text}"
    );
}

/// An nginx that reflects any Origin with credentials on every path, with no `/api` of its own
/// design and no `[access]` configuration: CORS is probed on the target itself and on the paths
/// of its OpenAPI document (`docs.openapi` finds it), so the reflection is caught.
#[test]
fn origin_reflected_on_every_path_is_caught_without_configuration() {
    let site = r#"
        location = /openapi.json {
            default_type application/json;
            return 200 '{"openapi":"3.0.3","paths":{"/v1/orders":{"get":{}},"/v1/orders/{id}":{"get":{}}}}';
        }
        location / {
            default_type application/json;
            add_header Access-Control-Allow-Origin $http_origin always;
            add_header Access-Control-Allow-Credentials true always;
            add_header Vary Origin always;
            return 200 '{"ok":true}';
        }
"#;
    let Some(nginx) = Nginx::start(&[site], &[]) else {
        return;
    };
    let url = format!("http://127.0.0.1:{}/", nginx.port(0));
    let (code, json, stderr) = audit(&url, "json", &[]);
    let f = findings(&json);
    let (outcome, text) = said(&f, "cors.reflect_credentials");
    assert_eq!(outcome, "fail", "{text}\n{stderr}\n{}", nginx.error_log());
    assert!(
        text.contains(&format!("GET {url} → 200 (Origin: https://evil.example")),
        "{text}"
    );
    assert!(
        text.contains("/v1/orders → 200 (Origin: https://evil.example"),
        "{text}"
    );
    assert!(
        !text.contains("{id}"),
        "templated paths are not probed: {text}"
    );
    assert_eq!(code, 1, "a critical failure is NO-GO");
    // Bounded: the target, the discovered /api paths and the document's, six at most.
    let report: serde_json::Value = serde_json::from_str(&json).expect("json");
    let paths: std::collections::BTreeSet<String> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| {
            f["check_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("cors."))
        })
        .flat_map(|f| f["evidence"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| {
            e.as_str()
                .and_then(|l| l.split_whitespace().nth(1))
                .map(str::to_string)
        })
        .collect();
    assert!(paths.len() <= 6, "{paths:?}");
}
