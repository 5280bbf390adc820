//! The configuration reference: `readyprobe config schema` and `readyprobe config check`.
//!
//! What belongs here: the JSON Schema validates every config file the project ships (`config/`,
//! `examples/`, checked with a maintained JSON Schema validator, not with readyprobe's own
//! loader), `config check` accepts the same files and refuses bad ones naming file and field, and
//! the annotated starter file documents every section the schema knows.

use std::path::{Path, PathBuf};

use predicates::prelude::*;

use crate::util::readyprobe;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `*.toml` under `dir`, recursively, sorted.
fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn shipped_configs() -> Vec<PathBuf> {
    let mut files = toml_files(&repo().join("config"));
    files.extend(toml_files(&repo().join("examples")));
    files
}

/// The schema as the binary prints it.
fn schema() -> serde_json::Value {
    let out = readyprobe()
        .args(["config", "schema"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the schema is JSON")
}

fn toml_as_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("read");
    let value: toml::Value =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{} is not TOML: {e}", path.display()));
    serde_json::to_value(value).expect("TOML converts to JSON")
}

#[test]
fn the_schema_validates_every_shipped_config_file() {
    let schema = schema();
    let validator = jsonschema::draft7::new(&schema).expect("a valid draft-07 schema");
    let files = shipped_configs();
    assert!(
        files.len() >= 5,
        "expected config/*.toml and examples/**/*.toml, found {files:?}"
    );
    for path in &files {
        let instance = toml_as_json(path);
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
}

#[test]
fn config_check_accepts_every_shipped_config_file() {
    for path in shipped_configs() {
        let out = readyprobe()
            .current_dir(path.parent().expect("parent"))
            .args(["config", "check"])
            .arg(&path)
            .output()
            .expect("run");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {stdout}{}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
        assert!(stdout.contains(": OK"), "{stdout}");
    }
}

#[test]
fn the_schema_refuses_what_config_check_refuses_for_shape() {
    let schema = schema();
    let validator = jsonschema::draft7::new(&schema).expect("schema");
    for (bad, field) in [
        ("[run]\ndedline = \"5s\"\n", "run.dedline"),
        ("profile = \"prod\"\n", "profile"),
        ("[gate]\nfail_on = \"severe\"\n", "gate.fail_on"),
        ("[access]\nprotected = \"/api/admin\"\n", "access.protected"),
    ] {
        let value: toml::Value = toml::from_str(bad).expect("toml");
        let instance = serde_json::to_value(value).expect("json");
        assert!(
            !validator.is_valid(&instance),
            "the schema accepted {bad:?}"
        );
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, bad).expect("write");
        readyprobe()
            .args(["config", "check"])
            .arg(&path)
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains("bad.toml").and(predicate::str::contains(field)));
    }
}

#[test]
fn config_check_runs_the_audit_validation_not_just_the_shape() {
    let dir = tempfile::tempdir().expect("tmp");
    for (bad, expected) in [
        (
            "target = \"ftp://user:hunter2@example.com\"\n",
            "target: expected an http:// or https:// URL",
        ),
        (
            "[checks]\ndisable = [\"headers.hstz\"]\n",
            "checks.disable: unknown check id \"headers.hstz\"",
        ),
        (
            "[dependencies]\nredis = \"http://cache:6379\"\n",
            "dependencies.redis",
        ),
    ] {
        let path = dir.path().join("semantic.toml");
        std::fs::write(&path, bad).expect("write");
        let out = readyprobe()
            .args(["config", "check"])
            .arg(&path)
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert!(stderr.contains("semantic.toml"), "{stderr}");
        assert!(stderr.contains(expected), "{bad}: {stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
    let missing = dir.path().join("missing.toml");
    readyprobe()
        .args(["config", "check"])
        .arg(&missing)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.toml: cannot read"));
}

/// Every top-level key of the schema appears in the annotated starter file (`readyprobe init`),
/// set or commented out, so no section goes undocumented.
#[test]
fn the_starter_file_documents_every_section_of_the_schema() {
    let schema = schema();
    let starter =
        std::fs::read_to_string(repo().join("config/readyprobe.toml")).expect("starter config");
    for key in schema["properties"].as_object().expect("properties").keys() {
        let documented = starter.lines().any(|line| {
            let line = line.trim_start_matches(['#', ' ']);
            line.starts_with(&format!("[{key}]"))
                || line.starts_with(&format!("[{key}."))
                || line.starts_with(&format!("[[{key}"))
                || line.starts_with(&format!("{key} ="))
        });
        assert!(
            documented,
            "config/readyprobe.toml does not document `{key}`"
        );
    }
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README");
    for key in schema["properties"].as_object().expect("properties").keys() {
        assert!(
            readme.contains(&format!("`{key}")) || readme.contains(&format!("[{key}")),
            "README.md's configuration reference does not mention `{key}`"
        );
    }
}
