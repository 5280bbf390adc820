//! Tests of `k8s`.

use serde_json::json;

use super::*;
use crate::checks::fixtures::{evidence_text, try_judge};
use crate::manifests::load::{Selection, from_text};
use crate::manifests::{LiveProbes, ProbeRequest};
use crate::observations::Probed;

/// A Deployment with the given container body (indented under `- name: web`) and pod-level
/// lines (under `spec:` of the template), plus `extra` documents.
fn manifest(replicas: &str, pod: &str, container: &str, extra: &str) -> KubeManifests {
    let indent = |text: &str, n: usize| {
        text.lines()
            .map(|l| format!("{}{l}\n", " ".repeat(n)))
            .collect::<String>()
    };
    let yaml = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n{replicas}  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n{}      containers:\n        - name: web\n{}{extra}",
        indent(pod, 6),
        indent(container, 10),
    );
    from_text("web.yaml", &yaml, &Selection::default()).expect("fixture manifest")
}

const PROBES: &str = "image: web:1.2.3\nports:\n  - {name: http, containerPort: 8080}\nreadinessProbe:\n  httpGet: {path: /readyz, port: http}\n  periodSeconds: 5\n  failureThreshold: 2\nlivenessProbe:\n  httpGet: {path: /livez, port: 8080}\n  timeoutSeconds: 2\n";

fn obs(m: KubeManifests) -> Observations {
    Observations {
        kubernetes: Probed::Observed(m),
        ..Observations::default()
    }
}

fn request(status: u16, ms: f64) -> ProbeRequest {
    ProbeRequest {
        elapsed_ms: ms,
        status: Some(status),
        location: None,
        error: None,
        timed_out: false,
    }
}

fn live(kind: ProbeKind, path: &str, chain: Vec<ProbeRequest>, ms: &[f64]) -> LiveProbe {
    LiveProbe {
        kind,
        path: path.to_string(),
        url: format!("https://app.example.com{path}"),
        chain,
        samples: ms.iter().map(|m| request(200, *m)).collect(),
    }
}

fn with_live(mut o: Observations, probes: Vec<LiveProbe>) -> Observations {
    o.kube_probes = Probed::Observed(LiveProbes {
        base: "https://app.example.com/".into(),
        timeout_ms: 10_000,
        probes,
    });
    o
}

/// A fault run cutting `database`, with readiness and liveness polls as (at_ms, status).
fn with_fault(mut o: Observations, ready: &[(u64, u16)], alive: &[(u64, u16)]) -> Observations {
    let polls = |p: &[(u64, u16)]| {
        p.iter()
            .map(|(at, s)| json!({"at_ms": at, "status": s, "error": null}))
            .collect::<Vec<_>>()
    };
    o.fault = serde_json::from_value(json!({"state": "observed", "value": [{
        "proxy": "database", "listen": "127.0.0.1:15432", "upstream": "db:5432",
        "readiness": "https://app.example.com/readyz",
        "liveness": "https://app.example.com/livez",
        "baseline_status": 200, "reset_connections": 1,
        "detect_window_ms": 3000, "recover_window_ms": 3000,
        "readiness_during": polls(ready), "liveness_during": polls(alive),
        "readiness_after": [], "cut_short": false
    }]}))
    .expect("fault fixture");
    o
}

/// A supervised shutdown: exit after `exit_ms`, readiness polls as (at_ms, status or none).
fn with_shutdown(mut o: Observations, exit_ms: u64, polls: &[(u64, Option<u16>)]) -> Observations {
    let polls: Vec<_> = polls
            .iter()
            .map(|(at, s)| json!({"at_ms": at, "status": s, "error": if s.is_none() { json!("refused") } else { json!(null) }}))
            .collect();
    o.shutdown = serde_json::from_value(json!({"state": "observed", "value": {
            "pid": 42, "grace_period_ms": 10000,
            "requests": [{"request": "GET https://app.example.com/slow", "finished_ms": 900, "status": 200, "error": null}],
            "readiness": "https://app.example.com/readyz",
            "readiness_polls": polls,
            "exit": {"kind": "exited", "after_ms": exit_ms, "code": 0, "signal": null},
            "pid_gone": true
        }}))
        .expect("shutdown fixture");
    o
}

fn outcome(check: &CheckMeta, o: &Observations) -> Outcome {
    match try_judge(check, o) {
        Ok(j) => j.outcome,
        Err(Unobserved::Failed(_)) => Outcome::Error,
        Err(Unobserved::Skipped(_)) => Outcome::Skipped,
    }
}

#[test]
fn no_manifest_skips_every_k8s_check() {
    for check in [
        &PROBES_DECLARED,
        &PROBE_PATHS_LIVE,
        &LIVENESS_NOT_READINESS,
        &PROBE_TIMEOUTS,
        &TERMINATION_GRACE,
        &RESOURCES,
        &REPLICAS_PDB,
        &IMAGE_PINNED,
    ] {
        assert_eq!(
            outcome(check, &Observations::default()),
            Outcome::Skipped,
            "{}",
            check.id
        );
    }
}

#[test]
fn probes_declared_fails_without_readiness_and_on_a_start_longer_than_liveness_allows() {
    let o = obs(manifest("", "", PROBES, ""));
    let j = try_judge(&PROBES_DECLARED, &o).unwrap();
    assert_eq!(j.outcome, Outcome::Pass, "{j:?}");
    assert!(evidence_text(&j).contains("time-to-ready not measured"));

    let only_liveness = "image: web:1.2.3\nlivenessProbe:\n  httpGet: {path: /livez, port: 8080}\n";
    let j = try_judge(&PROBES_DECLARED, &obs(manifest("", "", only_liveness, ""))).unwrap();
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(
        j.summary.contains("declares no readinessProbe"),
        "{}",
        j.summary
    );
    assert!(
        evidence_text(&j).contains("no readinessProbe (web.yaml:"),
        "{}",
        evidence_text(&j)
    );

    // Liveness allows 0 + 3 × 10 s; a 45 s start crash-loops, a 20 s start warns.
    let mut o = obs(manifest("", "", PROBES, ""));
    o.startup = serde_json::from_value(json!({"state": "observed", "value": {"readiness": "https://app.example.com/readyz", "ready_ms": 45000}})).unwrap();
    let j = try_judge(&PROBES_DECLARED, &o).unwrap();
    assert_eq!(j.outcome, Outcome::Fail, "{j:?}");
    assert!(j.summary.contains("crash-loop"), "{}", j.summary);
    o.startup = serde_json::from_value(
        json!({"state": "observed", "value": {"readiness": null, "ready_ms": 20000}}),
    )
    .unwrap();
    assert_eq!(outcome(&PROBES_DECLARED, &o), Outcome::Warn);
    // A startup probe covering the start makes it pass.
    let with_startup = format!(
        "{PROBES}startupProbe:\n  httpGet: {{path: /livez, port: 8080}}\n  failureThreshold: 30\n  periodSeconds: 2\n"
    );
    let mut o2 = obs(manifest("", "", &with_startup, ""));
    o2.startup = o.startup.clone();
    assert_eq!(outcome(&PROBES_DECLARED, &o2), Outcome::Pass);
}

#[test]
fn probe_paths_live_fails_on_404_redirect_and_unknown_port() {
    let m = manifest("", "", PROBES, "");
    let ok = with_live(
        obs(m.clone()),
        vec![
            live(
                ProbeKind::Readiness,
                "/readyz",
                vec![request(200, 3.0)],
                &[3.0],
            ),
            live(
                ProbeKind::Liveness,
                "/livez",
                vec![request(200, 2.0)],
                &[2.0],
            ),
        ],
    );
    assert_eq!(outcome(&PROBE_PATHS_LIVE, &ok), Outcome::Pass);

    let missing = with_live(
        obs(m.clone()),
        vec![
            live(
                ProbeKind::Readiness,
                "/readyz",
                vec![request(404, 3.0)],
                &[3.0],
            ),
            live(
                ProbeKind::Liveness,
                "/livez",
                vec![request(200, 2.0)],
                &[2.0],
            ),
        ],
    );
    let j = try_judge(&PROBE_PATHS_LIVE, &missing).unwrap();
    assert_eq!(j.outcome, Outcome::Fail);
    let text = evidence_text(&j);
    assert!(
        text.contains(
            "readinessProbe https://app.example.com/readyz → 404: the pod would never be ready"
        ),
        "{text}"
    );
    assert!(text.contains("web.yaml:"), "{text}");

    let mut moved = request(301, 1.0);
    moved.location = Some("https://login.example.com/".into());
    let redirected = with_live(
        obs(m.clone()),
        vec![
            live(ProbeKind::Readiness, "/readyz", vec![moved], &[1.0]),
            live(
                ProbeKind::Liveness,
                "/livez",
                vec![request(200, 2.0)],
                &[2.0],
            ),
        ],
    );
    let j = try_judge(&PROBE_PATHS_LIVE, &redirected).unwrap();
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(
        evidence_text(&j).contains("301 → https://login.example.com/: a redirect"),
        "{}",
        evidence_text(&j)
    );

    let bad_port = PROBES.replace("port: http}", "port: web}");
    let j = try_judge(
        &PROBE_PATHS_LIVE,
        &with_live(obs(manifest("", "", &bad_port, "")), vec![]),
    )
    .unwrap();
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(
        evidence_text(&j)
            .contains("port \"web\" is not a port of container web (ports: http:8080)"),
        "{}",
        evidence_text(&j)
    );

    // Not requested (a dependency-only audit): skipped with that reason, never a pass.
    let mut o = obs(m);
    o.kube_probes = Probed::Skipped("dependency-only audit".into());
    assert_eq!(
        try_judge(&PROBE_PATHS_LIVE, &o).unwrap_err(),
        Unobserved::Skipped("dependency-only audit".into())
    );
}

#[test]
fn liveness_must_stay_up_while_a_dependency_is_cut() {
    let m = manifest("", "", PROBES, "");
    let stable = with_fault(obs(m.clone()), &[(100, 503)], &[(100, 200), (300, 200)]);
    let j = try_judge(&LIVENESS_NOT_READINESS, &stable).unwrap();
    assert_eq!(j.outcome, Outcome::Pass, "{j:?}");
    assert!(
        evidence_text(&j).contains("/livez answered 200 ×2"),
        "{}",
        evidence_text(&j)
    );

    let cascading = with_fault(obs(m.clone()), &[(100, 503)], &[(100, 200), (300, 503)]);
    let j = try_judge(&LIVENESS_NOT_READINESS, &cascading).unwrap();
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(j.summary.contains("restart every pod"), "{}", j.summary);

    // Not measured: skipped when the paths differ, a warning when they are the same.
    assert_eq!(outcome(&LIVENESS_NOT_READINESS, &obs(m)), Outcome::Skipped);
    let same = PROBES.replace("path: /livez, port: 8080", "path: /readyz, port: http");
    let j = try_judge(&LIVENESS_NOT_READINESS, &obs(manifest("", "", &same, ""))).unwrap();
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(j.summary.contains("same endpoint /readyz"), "{}", j.summary);
}

#[test]
fn probe_timeouts_compare_p99_and_time_out_of_rotation() {
    let m = manifest("", "", PROBES, "");
    let fast = vec![
        live(
            ProbeKind::Readiness,
            "/readyz",
            vec![request(200, 3.0)],
            &[3.0, 4.0, 5.0],
        ),
        live(
            ProbeKind::Liveness,
            "/livez",
            vec![request(200, 2.0)],
            &[2.0, 3.0],
        ),
    ];
    let o = with_fault(with_live(obs(m.clone()), fast.clone()), &[(120, 503)], &[]);
    let j = try_judge(&PROBE_TIMEOUTS, &o).unwrap();
    assert_eq!(j.outcome, Outcome::Pass, "{j:?}");
    // readiness: 2 × 5 s + 0.12 s.
    assert!(
        evidence_text(&j).contains("the pod leaves the Service within 10.1 s"),
        "{}",
        evidence_text(&j)
    );

    // Liveness timeoutSeconds 2 vs a 2.4 s p99: fail; 1.7 s: within 20%, warn.
    let slow = vec![live(
        ProbeKind::Liveness,
        "/livez",
        vec![request(200, 2.0)],
        &[10.0, 2400.0],
    )];
    let j = try_judge(&PROBE_TIMEOUTS, &with_live(obs(m.clone()), slow)).unwrap();
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(
        j.summary
            .contains("livenessProbe times out at 2 s but /livez takes 2.40 s at p99"),
        "{}",
        j.summary
    );
    assert!(
        evidence_text(&j).contains("livenessProbe.timeoutSeconds: 2 (web.yaml:"),
        "{}",
        evidence_text(&j)
    );
    let close = vec![live(
        ProbeKind::Liveness,
        "/livez",
        vec![request(200, 2.0)],
        &[1700.0],
    )];
    assert_eq!(
        outcome(&PROBE_TIMEOUTS, &with_live(obs(m.clone()), close)),
        Outcome::Warn
    );

    // Out of rotation: 12 × 5 s after a 1 s detect = 61 s > 60 s.
    let lax = PROBES.replace("failureThreshold: 2", "failureThreshold: 12");
    let o = with_fault(
        with_live(obs(manifest("", "", &lax, "")), fast.clone()),
        &[(1000, 503)],
        &[],
    );
    assert_eq!(outcome(&PROBE_TIMEOUTS, &o), Outcome::Fail);
    // Readiness that never flips: a warning pointing at health.fault.readiness_flips.
    let o = with_fault(
        with_live(obs(m.clone()), fast),
        &[(100, 200), (3000, 200)],
        &[],
    );
    let j = try_judge(&PROBE_TIMEOUTS, &o).unwrap();
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(evidence_text(&j).contains("health.fault.readiness_flips"));
    // Nothing measured: skipped.
    assert_eq!(outcome(&PROBE_TIMEOUTS, &obs(m)), Outcome::Skipped);
}

#[test]
fn termination_grace_needs_a_prestop_or_a_readiness_flip_and_room_for_the_drain() {
    let m = manifest("", "terminationGracePeriodSeconds: 10\n", PROBES, "");
    // Exits at once, readiness never 503: no preStop → fail.
    let o = with_shutdown(obs(m.clone()), 5, &[(2, Some(200)), (110, None)]);
    let j = try_judge(&TERMINATION_GRACE, &o).unwrap();
    assert_eq!(j.outcome, Outcome::Fail, "{j:?}");
    let text = evidence_text(&j);
    assert!(
        text.contains("terminationGracePeriodSeconds: 10 (web.yaml:"),
        "{text}"
    );
    assert!(text.contains("no lifecycle.preStop ("), "{text}");
    assert!(text.contains("never answered non-2xx"), "{text}");
    // Readiness flips to 503 and the drain fits: pass.
    let o = with_shutdown(obs(m.clone()), 1600, &[(5, Some(503)), (1500, Some(503))]);
    assert_eq!(outcome(&TERMINATION_GRACE, &o), Outcome::Pass);
    // A preStop sleep covers a service that does not flip; 5 s + 9 s drain > 10 s: fail.
    let hook = format!("{PROBES}lifecycle:\n  preStop:\n    sleep: {{seconds: 5}}\n");
    let hooked = manifest("", "terminationGracePeriodSeconds: 10\n", &hook, "");
    let o = with_shutdown(obs(hooked.clone()), 300, &[(5, None)]);
    assert_eq!(outcome(&TERMINATION_GRACE, &o), Outcome::Pass);
    let o = with_shutdown(obs(hooked), 9000, &[(5, Some(503))]);
    let j = try_judge(&TERMINATION_GRACE, &o).unwrap();
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(j.summary.contains("SIGKILL"), "{}", j.summary);
    // Not supervised: skipped, never judged on the manifest alone.
    assert_eq!(outcome(&TERMINATION_GRACE, &obs(m)), Outcome::Skipped);
}

#[test]
fn resources_replicas_and_images_are_judged_from_the_manifest() {
    let bare = obs(manifest("", "", "image: web\n", ""));
    assert_eq!(outcome(&RESOURCES, &bare), Outcome::Fail);
    assert_eq!(outcome(&REPLICAS_PDB, &bare), Outcome::Fail);
    assert_eq!(outcome(&IMAGE_PINNED, &bare), Outcome::Fail);

    let requests = "image: web@sha256:abc\nresources:\n  requests: {cpu: 100m, memory: 64Mi}\n";
    assert_eq!(
        outcome(&RESOURCES, &obs(manifest("", "", requests, ""))),
        Outcome::Warn
    );
    let limited = format!("{requests}  limits: {{memory: 128Mi}}\n");
    assert_eq!(
        outcome(&RESOURCES, &obs(manifest("", "", &limited, ""))),
        Outcome::Pass
    );

    let pdb = "---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web}\nspec:\n  maxUnavailable: 1\n  selector: {matchLabels: {app: web}}\n";
    let three = "  replicas: 3\n";
    assert_eq!(
        outcome(
            &REPLICAS_PDB,
            &obs(manifest(three, "", "image: web:1.0.0\n", ""))
        ),
        Outcome::Warn
    );
    assert_eq!(
        outcome(
            &REPLICAS_PDB,
            &obs(manifest(three, "", "image: web:1.0.0\n", pdb))
        ),
        Outcome::Pass
    );
    let blocking = pdb.replace("maxUnavailable: 1", "minAvailable: 3");
    assert_eq!(
        outcome(
            &REPLICAS_PDB,
            &obs(manifest(three, "", "image: web:1.0.0\n", &blocking))
        ),
        Outcome::Warn
    );
    // One replica, but an HPA keeps at least two.
    let hpa = "---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  minReplicas: 2\n  maxReplicas: 5\n";
    let j = try_judge(
        &REPLICAS_PDB,
        &obs(manifest(
            "",
            "",
            "image: web:1.0.0\n",
            &format!("{pdb}{hpa}"),
        )),
    )
    .unwrap();
    assert_eq!(j.outcome, Outcome::Pass, "{j:?}");
    assert!(
        evidence_text(&j).contains("minReplicas: 2 (web.yaml:"),
        "{}",
        evidence_text(&j)
    );

    for (image, expected) in [
        ("registry:5000/web@sha256:0f", Outcome::Pass),
        ("registry:5000/web:1.4.2", Outcome::Pass),
        ("web:v2.0.0-rc1", Outcome::Pass),
        ("web:3f2a9c1", Outcome::Pass),
        ("registry:5000/web", Outcome::Fail),
        ("web:latest", Outcome::Fail),
        ("web:main", Outcome::Warn),
    ] {
        let m = obs(manifest("", "", &format!("image: {image}\n"), ""));
        assert_eq!(outcome(&IMAGE_PINNED, &m), expected, "{image}");
    }
}

#[test]
fn daemonsets_skip_replicas_and_bare_pods_fail_them() {
    let ds = from_text(
            "ds.yaml",
            "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent}\nspec:\n  selector: {matchLabels: {app: agent}}\n  template:\n    metadata: {labels: {app: agent}}\n    spec:\n      containers: [{name: agent, image: agent:1.0.0}]\n",
            &Selection::default(),
        )
        .unwrap();
    assert_eq!(outcome(&REPLICAS_PDB, &obs(ds)), Outcome::Skipped);
    let pod = from_text(
            "pod.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: one}\nspec:\n  containers: [{name: one, image: one:1.0.0}]\n",
            &Selection::default(),
        )
        .unwrap();
    assert_eq!(outcome(&REPLICAS_PDB, &obs(pod)), Outcome::Fail);
}
