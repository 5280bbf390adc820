//! `serve` scaled out the way blackbox_exporter is: Prometheus is the scheduler. A real Debian
//! Prometheus runs `examples/prometheus-sharded.yml` (loaded from the file, only addresses, the
//! target list and the interval substituted) against two real `readyprobe serve` replicas and 20
//! in-process demo targets: every target is audited by exactly one replica, each replica only its
//! shard (Prometheus's series and targets agree with the replicas' own probe counters), losing a
//! replica loses only its shard, and the documented reload with one replica left brings the lost
//! shard back. Also: the example's structure (and `promtool check config`), the Kubernetes
//! example of `examples/kubernetes/serve/` read by readyprobe's own manifest loader, and every
//! YAML file under `examples/` parses.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use readyprobe::demo::{self, DemoProfile};
use serde_json::{Value, json};

use crate::runmodes::{ChildGuard, http_get, prometheus_bin, wait_port};
use crate::util;

/// The replicas (and shard jobs) `examples/prometheus-sharded.yml` describes.
const REPLICAS: usize = 2;
/// Demo targets sharded across them.
const TARGETS: usize = 20;
/// Scrape interval and timeout: short for a test, long enough for a round of 20 audits (about
/// 0.2 s of CPU each in a debug build, plus the demo targets' side and serve's per-scrape setup)
/// on a two-core machine shared with other work: at 10 s scrapes timed out under a load of 12,
/// at 20 s some still did under 19. Each audit's budget is this minus serve's 500 ms offset.
const INTERVAL: &str = "30s";
/// The longest any wait below may take.
const WAIT: Duration = Duration::from_secs(200);
/// Prometheus's regex for the shard jobs.
const SHARD_JOBS: &str = r#"job=~"readyprobe-shard-.+""#;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn example() -> Value {
    let path = repo().join("examples/prometheus-sharded.yml");
    let text = std::fs::read_to_string(&path).expect("examples/prometheus-sharded.yml");
    serde_saphyr::from_str(&text).expect("examples/prometheus-sharded.yml is YAML")
}

/// The example's address for replica `i`.
fn placeholder(i: usize) -> String {
    format!("readyprobe-{i}:9797")
}

/// The scrape jobs that probe targets (`metrics_path: /probe`), in file order.
fn shard_jobs(cfg: &Value) -> Vec<&Value> {
    cfg["scrape_configs"]
        .as_array()
        .expect("scrape_configs")
        .iter()
        .filter(|j| j["metrics_path"] == "/probe")
        .collect()
}

/// The index of the first relabel rule of `job` with `action` (Prometheus's default: replace)
/// writing `target` (when given).
fn rule(job: &Value, action: &str, target: Option<&str>) -> Option<(usize, Value)> {
    job["relabel_configs"]
        .as_array()?
        .iter()
        .enumerate()
        .find(|(_, r)| {
            r["action"].as_str().unwrap_or("replace") == action
                && target.is_none_or(|t| r["target_label"] == t)
        })
        .map(|(i, r)| (i, r.clone()))
}

/// Checks the shard jobs of a scrape config: `n` jobs reading the same targets, job `i` hashing
/// the target URL into `n` shards, keeping shard `i` and scraping it through `addr(i)`, labelled
/// `replica(i)` — so every target is kept by exactly one job.
fn check_shards(
    cfg: &Value,
    n: usize,
    addr: impl Fn(usize) -> String,
    replica: impl Fn(usize) -> String,
) {
    let jobs = shard_jobs(cfg);
    assert_eq!(jobs.len(), n, "one shard job per replica: {cfg}");
    let files: BTreeSet<String> = jobs
        .iter()
        .map(|j| j["file_sd_configs"].to_string())
        .collect();
    assert_eq!(files.len(), 1, "every shard job reads the same targets");
    let mut kept = BTreeSet::new();
    for (i, job) in jobs.iter().enumerate() {
        assert_eq!(job["job_name"], format!("readyprobe-shard-{i}"));
        let (p, param) = rule(job, "replace", Some("__param_target")).expect("__param_target");
        assert_eq!(param["source_labels"], json!(["__address__"]));
        let (_, inst) = rule(job, "replace", Some("instance")).expect("instance");
        assert_eq!(inst["source_labels"], json!(["__param_target"]));
        let (h, hash) = rule(job, "hashmod", None).expect("a hashmod rule");
        assert_eq!(
            hash["source_labels"],
            json!(["__param_target"]),
            "on the URL"
        );
        assert_eq!(hash["target_label"], "__tmp_shard");
        assert_eq!(hash["modulus"], json!(n), "modulus = replicas");
        let (k, keep) = rule(job, "keep", None).expect("a keep rule");
        assert_eq!(keep["source_labels"], json!(["__tmp_shard"]));
        let regex = keep["regex"].as_str().expect("keep regex").to_string();
        assert!(kept.insert(regex.clone()), "shard {regex} kept twice");
        assert_eq!(regex, i.to_string());
        let (a, to) = rule(job, "replace", Some("__address__")).expect("__address__");
        assert_eq!(to["replacement"], addr(i).as_str());
        let (_, label) = rule(job, "replace", Some("replica")).expect("replica");
        assert_eq!(label["replacement"], replica(i).as_str());
        assert!(
            p < a && h < k,
            "the URL is taken before the address is replaced"
        );
    }
}

/// Runs `promtool check config` on `path` when promtool is installed (required under CI).
fn promtool_check(path: &Path) {
    let promtool = Path::new("/usr/bin/promtool");
    if !promtool.exists() {
        assert!(!util::in_ci(), "promtool is missing; CI=true requires it");
        eprintln!("skipping promtool: /usr/bin/promtool is not installed");
        return;
    }
    let out = Command::new(promtool)
        .args(["check", "config"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}{}",
        path.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sharded_example_keeps_every_shard_in_exactly_one_job() {
    let cfg = example();
    check_shards(&cfg, REPLICAS, placeholder, |i| format!("readyprobe-{i}"));
    let exporter = cfg["scrape_configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["job_name"] == "readyprobe-exporter")
        .expect("the exporter job");
    let addrs: Vec<String> = (0..REPLICAS).map(placeholder).collect();
    assert_eq!(exporter["static_configs"][0]["targets"], json!(addrs));
    promtool_check(&repo().join("examples/prometheus-sharded.yml"));
}

/// Every YAML document of `path`.
fn yaml_documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_saphyr::from_multiple(&text)
        .unwrap_or_else(|e| panic!("{}: not valid YAML: {e}", path.display()))
}

/// The Prometheus Operator's camelCase fields under the scrape-config names [`check_shards`]
/// reads.
fn operator_to_prometheus(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let k = match k.as_str() {
                        "jobName" => "job_name",
                        "metricsPath" => "metrics_path",
                        "fileSDConfigs" => "file_sd_configs",
                        "relabelings" => "relabel_configs",
                        "sourceLabels" => "source_labels",
                        "targetLabel" => "target_label",
                        other => other,
                    };
                    (k.to_string(), operator_to_prometheus(v))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(operator_to_prometheus).collect()),
        other => other.clone(),
    }
}

#[test]
fn kubernetes_serve_example_is_read_by_the_manifest_loader_and_shards_by_pod_name() {
    use readyprobe::manifests::load::{Selection, Source, load};
    let dir = repo().join("examples/kubernetes/serve");
    // What `audit --kube-manifest examples/kubernetes/serve/` reads.
    let selection = Selection {
        workload: Some("readyprobe-serve".into()),
        ..Selection::default()
    };
    let manifests = load(&[Source::Path(dir.clone())], &selection)
        .unwrap_or_else(|e| panic!("the manifest loader refused the example: {e}"));
    let workload = &manifests.workload;
    assert_eq!(workload.kind, "StatefulSet");
    assert_eq!(workload.container.name, "serve");
    let n = workload.replicas.value.expect("replicas set") as usize;
    assert!(n >= 2, "{n} replicas");
    assert_eq!(manifests.pdbs.len(), 1);
    for kind in ["Service", "ConfigMap", "ScrapeConfig", "ServiceMonitor"] {
        assert!(
            manifests.skipped.iter().any(|s| s.starts_with(kind)),
            "{kind} read and skipped: {:?}",
            manifests.skipped
        );
    }
    let pod = |i: usize| format!("readyprobe-serve-{i}");
    let dns = |i: usize| format!("readyprobe-serve-{i}.readyprobe-serve.monitoring.svc:9797");
    let docs: Vec<Value> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .flat_map(|p| yaml_documents(&p))
        .collect();
    let find = |kind: &str, name: &str| {
        docs.iter()
            .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{kind} {name}"))
    };
    let service = find("Service", "readyprobe-serve");
    assert_eq!(
        service["spec"]["clusterIP"], "None",
        "headless: one name per pod"
    );
    let statefulset = find("StatefulSet", "readyprobe-serve");
    assert_eq!(statefulset["spec"]["serviceName"], "readyprobe-serve");

    // Plain Prometheus: the scrape config in the ConfigMap.
    let tmp = tempfile::tempdir().unwrap();
    let prom = find("ConfigMap", "prometheus-readyprobe");
    let text = prom["data"]["prometheus.yml"]
        .as_str()
        .expect("prometheus.yml");
    let cfg: Value = serde_saphyr::from_str(text).expect("prometheus.yml is YAML");
    check_shards(&cfg, n, dns, pod);
    let path = tmp.path().join("prometheus.yml");
    std::fs::write(&path, text).unwrap();
    promtool_check(&path);
    let targets = prom["data"]["targets.yml"].as_str().expect("targets.yml");
    let targets: Value = serde_saphyr::from_str(targets).expect("targets.yml is YAML");
    assert!(
        targets[0]["targets"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
    );

    // The Prometheus Operator: one ScrapeConfig per replica, the same rules.
    let specs: Vec<Value> = docs
        .iter()
        .filter(|d| d["kind"] == "ScrapeConfig")
        .map(|d| operator_to_prometheus(&d["spec"]))
        .collect();
    check_shards(&json!({ "scrape_configs": specs }), n, dns, pod);

    // serve's base configuration passes `readyprobe config check`.
    let base = find("ConfigMap", "readyprobe-serve")["data"]["readyprobe.toml"]
        .as_str()
        .expect("readyprobe.toml");
    let path = tmp.path().join("readyprobe.toml");
    std::fs::write(&path, base).unwrap();
    let out = util::readyprobe()
        .args(["config", "check"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_yaml_example_parses() {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&repo().join("examples"), &mut files);
    assert!(files.len() >= 10, "{files:?}");
    for file in files {
        assert!(
            !yaml_documents(&file).is_empty(),
            "{}: empty",
            file.display()
        );
    }
}

/// `examples/prometheus-sharded.yml` made runnable here: replica `i`'s placeholder address
/// becomes `replicas[i]`, the target list `targets_file`, every interval [`INTERVAL`]. With fewer
/// replicas than the example, the shard jobs past them are dropped and the modulus lowered —
/// what its comments tell an operator to do when a replica is gone for good.
fn scrape_config(example: &Value, replicas: &[String], targets_file: &Path) -> String {
    let mut cfg = example.clone();
    let n = replicas.len();
    cfg["global"]["scrape_interval"] = json!(INTERVAL);
    cfg["global"]["scrape_timeout"] = json!(INTERVAL);
    let jobs = cfg["scrape_configs"]
        .as_array_mut()
        .expect("scrape_configs");
    jobs.retain(|j| {
        j["job_name"]
            .as_str()
            .and_then(|n| n.strip_prefix("readyprobe-shard-"))
            .and_then(|i| i.parse::<usize>().ok())
            .is_none_or(|i| i < n)
    });
    for job in jobs.iter_mut() {
        let job = job.as_object_mut().expect("a job is a map");
        job.remove("scrape_interval");
        job.remove("scrape_timeout");
        if job.get("metrics_path").is_some_and(|p| p == "/probe") {
            job.insert(
                "file_sd_configs".into(),
                json!([{ "files": [targets_file.display().to_string()] }]),
            );
            for r in job["relabel_configs"].as_array_mut().expect("relabel") {
                if r["action"] == "hashmod" {
                    r["modulus"] = json!(n);
                }
            }
        } else if let Some(targets) = job
            .get_mut("static_configs")
            .and_then(|s| s[0]["targets"].as_array_mut())
        {
            targets.truncate(n);
        }
    }
    // JSON is YAML: Prometheus reads it as is.
    let mut text = serde_json::to_string_pretty(&cfg).unwrap();
    for (i, addr) in replicas.iter().enumerate() {
        text = text.replace(&format!("\"{}\"", placeholder(i)), &format!("\"{addr}\""));
    }
    assert!(
        !text.contains(":9797\""),
        "an example address was left: {text}"
    );
    text
}

/// One `readyprobe serve` replica (the real binary), killed on drop.
struct Replica {
    _child: ChildGuard,
    addr: String,
}

impl Replica {
    fn start(ca: &Path, log: &Path) -> Replica {
        let addr = format!("127.0.0.1:{}", util::closed_port());
        let child = Command::new(assert_cmd::cargo::cargo_bin("readyprobe"))
            .args(["serve", "--listen", &addr, "--max-concurrent", "10"])
            .arg("--ca-file")
            .arg(ca)
            .env_remove("READYPROBE_CONFIG")
            .env_remove("READYPROBE_LISTEN")
            .env_remove("READYPROBE_CA_FILE")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        let guard = ChildGuard(child);
        assert!(
            wait_port(&addr, Duration::from_secs(20)),
            "serve did not listen on {addr}"
        );
        Replica {
            _child: guard,
            addr,
        }
    }

    /// Probes served (every result: each `/probe` request counts once) and audits in flight,
    /// from the replica's own `/metrics`.
    fn probes(&self) -> (u64, u64) {
        let (status, body) = http_get(&format!("http://{}/metrics", self.addr));
        assert_eq!(status, 200, "{body}");
        let value = |line: &str| {
            line.rsplit(' ')
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or_else(|| panic!("a counter: {line}"))
        };
        let served = body
            .lines()
            .filter(|l| l.starts_with("readyprobe_exporter_probes_total{"))
            .map(value)
            .sum();
        let in_flight = body
            .lines()
            .find(|l| l.starts_with("readyprobe_exporter_probes_in_flight "))
            .map(value)
            .expect("in-flight gauge");
        (served, in_flight)
    }
}

/// A real Prometheus on a free loopback port, killed on drop.
struct Prometheus {
    child: std::cell::RefCell<ChildGuard>,
    base: String,
    log: PathBuf,
}

/// One series of an instant-query answer: its labels and value.
type Series = (BTreeMap<String, String>, f64);

impl Prometheus {
    fn start(bin: &Path, dir: &Path, config: &Path) -> Prometheus {
        let port = util::closed_port();
        let log = dir.join("prometheus.log");
        let child = Command::new(bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--web.enable-lifecycle")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let prom = Prometheus {
            child: std::cell::RefCell::new(ChildGuard(child)),
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        prom.wait("Prometheus to answer", || {
            let (status, body) = http_get(&format!("{}/-/ready", prom.base));
            (status == 200).then_some(()).ok_or(body)
        });
        prom
    }

    fn fail(&self, what: &str, last: &str) -> ! {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let errors = self.scrape_errors();
        panic!("{what}: {last}\n--- last scrapes ---\n{errors}--- prometheus log ---\n{log}");
    }

    /// Polls `check` every 250 ms until it is `Ok`, for at most [`WAIT`]; fails with its last
    /// reason and Prometheus's log.
    fn wait<T>(&self, what: &str, mut check: impl FnMut() -> Result<T, String>) -> T {
        let deadline = Instant::now() + WAIT;
        loop {
            // A Prometheus that exited (a config it refused) will not come round.
            if let Ok(Some(status)) = self.child.borrow_mut().0.try_wait() {
                self.fail(
                    &format!("Prometheus exited ({status}) while waiting for {what}"),
                    "",
                );
            }
            match check() {
                Ok(v) => return v,
                Err(last) if Instant::now() > deadline => {
                    self.fail(&format!("timed out waiting for {what}"), &last)
                }
                Err(_) => std::thread::sleep(Duration::from_millis(250)),
            }
        }
    }

    /// An instant query's series.
    fn query(&self, expr: &str) -> Vec<Series> {
        let q: String = url::form_urlencoded::byte_serialize(expr.as_bytes()).collect();
        let (status, body) = http_get(&format!("{}/api/v1/query?query={q}", self.base));
        if status != 200 {
            self.fail(&format!("query {expr} answered {status}"), &body);
        }
        let json: Value = serde_json::from_str(&body).unwrap_or_default();
        let Some(result) = json["data"]["result"].as_array() else {
            self.fail(&format!("query {expr}: no result"), &body)
        };
        result
            .iter()
            .map(|r| {
                let labels = r["metric"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
                let value = r["value"][1]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(f64::NAN);
                (labels, value)
            })
            .collect()
    }

    /// The active targets of `job`: (instance, the host:port the scrape goes to).
    fn targets(&self, job: &str) -> Vec<(String, String)> {
        let (status, body) = http_get(&format!("{}/api/v1/targets?state=active", self.base));
        assert_eq!(status, 200, "{body}");
        let json: Value = serde_json::from_str(&body).unwrap_or_default();
        json["data"]["activeTargets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["labels"]["job"] == job)
            .map(|t| {
                let url = url::Url::parse(t["scrapeUrl"].as_str().unwrap_or("")).unwrap();
                let target: Vec<String> = url
                    .query_pairs()
                    .filter(|(k, _)| k == "target")
                    .map(|(_, v)| v.into_owned())
                    .collect();
                let instance = t["labels"]["instance"].as_str().unwrap_or("").to_string();
                assert_eq!(
                    target,
                    std::slice::from_ref(&instance),
                    "?target= is the instance"
                );
                let host = format!(
                    "{}:{}",
                    url.host_str().unwrap_or(""),
                    url.port().unwrap_or(0)
                );
                (instance, host)
            })
            .collect()
    }

    /// Every target's last scrape (health, duration, error), for failure messages.
    fn scrape_errors(&self) -> String {
        let (_, body) = http_get(&format!("{}/api/v1/targets?state=active", self.base));
        let json: Value = serde_json::from_str(&body).unwrap_or_default();
        json["data"]["activeTargets"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| {
                format!(
                    "{} {} {} {}s {}\n",
                    t["labels"]["job"],
                    t["labels"]["instance"],
                    t["health"],
                    t["lastScrapeDuration"],
                    t["lastError"]
                )
            })
            .collect()
    }

    fn reload(&self) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (status, body) = rt.block_on(async {
            let r = reqwest::Client::new()
                .post(format!("{}/-/reload", self.base))
                .timeout(Duration::from_secs(30))
                .send()
                .await
                .expect("POST /-/reload");
            (r.status().as_u16(), r.text().await.unwrap_or_default())
        });
        if status != 200 {
            self.fail("reload refused", &body);
        }
    }
}

fn label<'a>(s: &'a Series, name: &str) -> &'a str {
    s.0.get(name).map(String::as_str).unwrap_or("")
}

#[test]
fn prometheus_shards_twenty_targets_across_two_serve_replicas() {
    let Some(bin) = prometheus_bin() else { return };
    util::crypto();
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fleet = rt
        .block_on(demo::start_many(DemoProfile::Hardened, TARGETS))
        .expect("demo targets");
    let urls: BTreeSet<String> = fleet.iter().map(|t| t.https_url.to_string()).collect();
    assert_eq!(urls.len(), TARGETS);
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &fleet[0].ca_pem).unwrap();
    let targets_file = dir.path().join("targets.json");
    std::fs::write(&targets_file, json!([{ "targets": urls }]).to_string()).unwrap();

    let mut replicas: Vec<Option<Replica>> = (0..REPLICAS)
        .map(|i| {
            Some(Replica::start(
                &ca,
                &dir.path().join(format!("serve-{i}.log")),
            ))
        })
        .collect();
    let addrs: Vec<String> = replicas.iter().flatten().map(|r| r.addr.clone()).collect();
    let example = example();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(&config, scrape_config(&example, &addrs, &targets_file)).unwrap();
    let prom = Prometheus::start(&bin, dir.path(), &config);

    // Two scrape rounds: every target has been scored at least twice.
    let rounds = "count_over_time(readyprobe_overall_score[1h]) >= 2";
    prom.wait("two scrape rounds of all 20 targets", || {
        let got = prom.query(rounds).len();
        (got >= TARGETS)
            .then_some(())
            .ok_or(format!("{got} targets scored twice"))
    });

    // Every scrape succeeded and every target has exactly one score series over the whole run:
    // a target scraped through two replicas would have two (different job and replica labels).
    let up = prom.query(&format!("up{{{SHARD_JOBS}}}"));
    assert_eq!(up.len(), TARGETS, "{up:?}");
    if !up.iter().all(|s| s.1 == 1.0) {
        prom.fail("a scrape failed", "");
    }
    let scores = prom.query("count_over_time(readyprobe_overall_score[1h])");
    let per_target: BTreeMap<&str, usize> = scores.iter().fold(BTreeMap::new(), |mut m, s| {
        *m.entry(label(s, "instance")).or_default() += 1;
        m
    });
    assert_eq!(
        per_target
            .keys()
            .map(|k| k.to_string())
            .collect::<BTreeSet<_>>(),
        urls,
        "one score per demo target"
    );
    assert!(
        per_target.values().all(|n| *n == 1),
        "a target has more than one readyprobe_overall_score series: {scores:?}"
    );
    assert!(
        scores.iter().all(|s| s.1 >= 2.0),
        "two scores each: {scores:?}"
    );

    // The shards: Prometheus sends each job's targets to its replica only, the jobs split the
    // targets between them, and the score series say the same.
    let mut shards: Vec<BTreeSet<String>> = Vec::new();
    for (i, addr) in addrs.iter().enumerate() {
        let job = format!("readyprobe-shard-{i}");
        let active = prom.targets(&job);
        assert!(
            active.iter().all(|(_, host)| host == addr),
            "{job} scrapes only replica {i} ({addr}): {active:?}"
        );
        let shard: BTreeSet<String> = active.into_iter().map(|(inst, _)| inst).collect();
        let from_series: BTreeSet<String> = scores
            .iter()
            .filter(|s| label(s, "job") == job)
            .inspect(|s| assert_eq!(label(s, "replica"), format!("readyprobe-{i}")))
            .map(|s| label(s, "instance").to_string())
            .collect();
        assert_eq!(shard, from_series, "{job}: targets and series agree");
        assert!(
            !shard.is_empty(),
            "{job} owns some of the {TARGETS} targets"
        );
        shards.push(shard);
    }
    assert!(shards[0].is_disjoint(&shards[1]), "{shards:?}");
    assert_eq!(
        shards[0]
            .union(&shards[1])
            .cloned()
            .collect::<BTreeSet<_>>(),
        urls
    );

    // Each replica served exactly its job's scrapes: its own probe counter equals the `up`
    // samples Prometheus recorded for its job. Read at a quiet moment (nothing in flight, no
    // scrape recorded meanwhile) so the two sides count the same scrapes.
    let per_job = format!("sum by (job) (count_over_time(up{{{SHARD_JOBS}}}[1h]))");
    let recorded = || -> BTreeMap<String, u64> {
        prom.query(&per_job)
            .iter()
            .map(|s| (label(s, "job").to_string(), s.1 as u64))
            .collect()
    };
    let (counted, scraped) = prom.wait("replica counters equal to the scrapes", || {
        let before = recorded();
        let counted: Vec<(u64, u64)> = replicas.iter().flatten().map(Replica::probes).collect();
        let after = recorded();
        let scraped: Vec<u64> = (0..REPLICAS)
            .map(|i| {
                after
                    .get(&format!("readyprobe-shard-{i}"))
                    .copied()
                    .unwrap_or(0)
            })
            .collect();
        let quiet = before == after && counted.iter().all(|(_, in_flight)| *in_flight == 0);
        let served: Vec<u64> = counted.iter().map(|(n, _)| *n).collect();
        if quiet && served == scraped {
            Ok((served, scraped))
        } else {
            Err(format!(
                "replicas served {served:?}, Prometheus scraped {scraped:?} (quiet: {quiet})"
            ))
        }
    });
    assert!(scraped.iter().all(|n| *n >= 2), "{scraped:?}");
    eprintln!(
        "shards {:?} targets; replicas served {counted:?} probes = Prometheus's scrapes {scraped:?}",
        shards.iter().map(BTreeSet::len).collect::<Vec<_>>()
    );

    // Losing replica 1 loses its shard only: shard 1 goes down, shard 0 keeps being audited.
    let shard0_up = r#"count_over_time(up{job="readyprobe-shard-0"}[1h])"#;
    let before: BTreeMap<String, f64> = prom
        .query(shard0_up)
        .iter()
        .map(|s| (label(s, "instance").to_string(), s.1))
        .collect();
    replicas[1] = None;
    prom.wait("shard 1 down after its replica stopped", || {
        let down = prom.query(r#"up{job="readyprobe-shard-1"} == 0"#).len();
        (down == shards[1].len())
            .then_some(())
            .ok_or(format!("{down} of {} down", shards[1].len()))
    });
    prom.wait("shard 0 audited again", || {
        let again = prom
            .query(shard0_up)
            .iter()
            .filter(|s| s.1 > before.get(label(s, "instance")).copied().unwrap_or(0.0))
            .count();
        (again == shards[0].len())
            .then_some(())
            .ok_or(format!("{again} of {} scraped again", shards[0].len()))
    });
    let up0 = prom.query(r#"up{job="readyprobe-shard-0"}"#);
    assert!(up0.iter().all(|s| s.1 == 1.0), "shard 0 still up: {up0:?}");
    let live: BTreeSet<String> = prom
        .query("readyprobe_overall_score")
        .iter()
        .map(|s| label(s, "instance").to_string())
        .collect();
    assert_eq!(live, shards[0], "only shard 0 still has a score");

    // The reload the example documents (one replica left: its job only, modulus 1) brings the
    // lost shard back, now on replica 0.
    let survivors = [addrs[0].clone()];
    std::fs::write(&config, scrape_config(&example, &survivors, &targets_file)).unwrap();
    prom.reload();
    prom.wait(
        "all 20 targets scored by replica 0 after the reload",
        || {
            let scores = prom.query("readyprobe_overall_score");
            let on_0: BTreeSet<String> = scores
                .iter()
                .filter(|s| label(s, "replica") == "readyprobe-0")
                .map(|s| label(s, "instance").to_string())
                .collect();
            (on_0 == urls && scores.len() == TARGETS)
                .then_some(())
                .ok_or(format!(
                    "{} series, {} on replica 0",
                    scores.len(),
                    on_0.len()
                ))
        },
    );

    drop(prom);
    drop(replicas);
    rt.block_on(futures_util::future::join_all(
        fleet.into_iter().map(demo::DemoTarget::shutdown),
    ));
}
