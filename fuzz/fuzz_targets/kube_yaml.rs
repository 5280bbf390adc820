//! Kubernetes manifests (multi-document YAML, `List`s, Deployments, StatefulSets, PDBs, HPAs)
//! through the same reader as `--kube-manifest`: never panics (errors are fine), with and
//! without a workload selected.
#![no_main]

use libfuzzer_sys::fuzz_target;
use readyprobe::manifests::load::{Selection, from_text};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = from_text("fuzz.yaml", text, &Selection::default());
    let one = Selection {
        workload: Some("deployment/orders".to_string()),
        container: Some("orders".to_string()),
        max_bytes: 0,
    };
    let _ = from_text("fuzz.yaml", text, &one);
});
