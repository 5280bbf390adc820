//! Loading manifests end to end from text: kinds, lines of fields, selection, hostile YAML.

use super::objects::sleep_of;
use super::*;
use crate::manifests::{PreStop, ProbeAction, ProbeKind};

const DEPLOYMENT: &str = "\
apiVersion: v1
kind: Service
metadata:
  name: orders
spec:
  ports:
    - port: 443
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders
spec:
  replicas: 2
  selector:
    matchLabels:
      app: orders
  template:
    metadata:
      labels:
        app: orders
    spec:
      terminationGracePeriodSeconds: 20
      containers:
        - name: orders
          image: ghcr.io/acme/orders:1.4.2
          ports:
            - name: https
              containerPort: 8443
          readinessProbe:
            httpGet:
              path: /readyz
              port: https
              scheme: HTTPS
            timeoutSeconds: 2
          livenessProbe:
            httpGet:
              path: livez
              port: 8443
          lifecycle:
            preStop:
              exec:
                command: [\"sh\", \"-c\", \"sleep 5\"]
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: orders
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      app: orders
";

fn load_text(text: &str, selection: &Selection) -> Result<KubeManifests, ManifestError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.yaml");
    std::fs::write(&path, text).unwrap();
    load(&[Source::Path(path)], selection)
}

#[test]
fn multi_document_file_gives_workload_probes_lines_and_skips_unknown_kinds() {
    let m = load_text(DEPLOYMENT, &Selection::default()).unwrap();
    let w = &m.workload;
    assert_eq!(w.id(), "deployment/orders");
    assert_eq!(w.replicas.value, Some(2));
    assert_eq!(w.replicas.at.line, Some(14));
    assert_eq!(w.at.document, 2);
    assert_eq!(w.termination_grace.value, Some(20));
    let ready = w.container.probe(ProbeKind::Readiness).unwrap();
    assert_eq!(ready.timeout(), 2);
    assert_eq!(ready.timeout_seconds.at.line, Some(35));
    assert_eq!(
        ready.timeout_seconds.at.path,
        "spec.template.spec.containers[0].readinessProbe.timeoutSeconds"
    );
    match &ready.action {
        ProbeAction::HttpGet {
            path,
            resolved_port,
            scheme,
            ..
        } => {
            assert_eq!(path, "/readyz");
            assert_eq!(*resolved_port, Some(8443));
            assert_eq!(scheme, "HTTPS");
        }
        other => panic!("{other:?}"),
    }
    let live = w.container.probe(ProbeKind::Liveness).unwrap();
    assert_eq!(
        live.http_path(),
        Some("/livez"),
        "the kubelet adds the slash"
    );
    // Unset: defaults, placed at the probe with `absent`.
    assert_eq!(live.period(), 10);
    assert!(live.period_seconds.at.absent);
    assert_eq!(live.period_seconds.at.line, Some(36));
    assert_eq!(
        w.container
            .pre_stop
            .as_ref()
            .and_then(PreStop::delay_seconds),
        Some(5.0)
    );
    assert_eq!(
        w.container.resources.requests_cpu.value.as_deref(),
        Some("100m")
    );
    assert!(w.container.resources.limits_memory.value.is_none());
    assert_eq!(m.pdbs.len(), 1);
    assert!(m.pdbs[0].selects(&w.pod_labels));
    assert_eq!(m.skipped.len(), 1);
    assert!(
        m.skipped[0].starts_with("Service orders ("),
        "{:?}",
        m.skipped
    );
    assert!(m.skipped[0].contains("m.yaml:1"), "{:?}", m.skipped);
}

#[test]
fn a_list_from_kubectl_get_is_unpacked() {
    let text = "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: api\n    spec:\n      selector: {matchLabels: {app: api}}\n      template:\n        metadata: {labels: {app: api}}\n        spec:\n          containers:\n            - name: api\n              image: api@sha256:0123\n";
    let m = load_text(text, &Selection::default()).unwrap();
    assert_eq!(m.workload.id(), "deployment/api");
    assert_eq!(m.workload.images[0].at.line, Some(15));
    assert_eq!(
        m.workload.images[0].at.path,
        "spec.template.spec.containers[0].image"
    );
}

#[test]
fn a_wrong_type_names_file_line_and_field() {
    let bad = DEPLOYMENT.replace("replicas: 2", "replicas: two");
    let err = load_text(&bad, &Selection::default()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("m.yaml:14 (document 2, Deployment orders): spec.replicas:"),
        "{text}"
    );
}

#[test]
fn an_alias_bomb_is_refused_with_the_file_named() {
    let mut bomb = String::from("a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n");
    let mut prev = 'a';
    for name in ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'] {
        bomb.push_str(&format!(
                "{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
            ));
        prev = name;
    }
    let err = load_text(&bomb, &Selection::default()).unwrap_err();
    match &err {
        ManifestError::Yaml { file, message } => {
            assert!(file.ends_with("m.yaml"));
            assert!(message.contains("limits"), "{message}");
        }
        other => panic!("expected a YAML error, got {other}"),
    }
}

#[test]
fn too_many_bytes_is_refused_before_parsing() {
    let selection = Selection {
        max_bytes: 1024,
        ..Selection::default()
    };
    let err = load_text(&"# padding\n".repeat(200), &selection).unwrap_err();
    assert!(
        matches!(err, ManifestError::TooLarge { limit: 1024, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("kubernetes.max_manifest_bytes"));
}

#[test]
fn workload_and_container_selection_errors_say_what_to_set() {
    let two = format!(
        "{DEPLOYMENT}---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\nspec:\n  serviceName: db\n  selector: {{matchLabels: {{app: db}}}}\n  template:\n    metadata: {{labels: {{app: db}}}}\n    spec:\n      containers:\n        - {{name: db, image: postgres:16}}\n        - {{name: exporter, image: exporter:1}}\n"
    );
    let err = load_text(&two, &Selection::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("2 workloads (deployment/orders, statefulset/db); set kubernetes.workload"),
        "{err}"
    );
    let pick = |workload: &str, container: Option<&str>| Selection {
        workload: Some(workload.to_string()),
        container: container.map(str::to_string),
        ..Selection::default()
    };
    let m = load_text(&two, &pick("orders", None)).unwrap();
    assert_eq!(m.other_workloads, vec!["statefulset/db"]);
    let err = load_text(&two, &pick("payments", None))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no workload named \"payments\""), "{err}");
    let err = load_text(&two, &pick("statefulset/db", None))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("has 2 containers (db, exporter); set kubernetes.container"),
        "{err}"
    );
    let m = load_text(&two, &pick("db", Some("exporter"))).unwrap();
    assert_eq!(m.workload.container.name, "exporter");
    assert_eq!(m.workload.other_containers, vec!["db"]);
    let err = load_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
        &Selection::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("no Deployment, StatefulSet, DaemonSet or Pod found (kinds seen: ConfigMap)"),
        "{err}"
    );
}

#[test]
fn invalid_yaml_does_not_quote_the_content() {
    let err = load_text("password: hunter2\n  bad: [\n", &Selection::default()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("m.yaml"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn sleep_commands_are_read_and_nothing_else_is_guessed() {
    let s = |v: &[&str]| sleep_of(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(s(&["sleep", "10"]), Some(10.0));
    assert_eq!(s(&["/bin/sh", "-c", "sleep 5"]), Some(5.0));
    assert_eq!(s(&["sh", "-c", "sleep 5 && nginx -s quit"]), None);
    assert_eq!(s(&["/app/drain"]), None);
}
