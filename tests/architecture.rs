//! The wall: "probes observe, checks judge, one report model, many renderers" kept by a test.
//!
//! Reads the source text only (no build of anything, no extra crate):
//! - no file under `src/checks/` or `src/report/` names the probing or engine side
//!   ([`FORBIDDEN_IN_JUDGES`]): judges and renderers see observations and the report model only;
//! - `src/observations/**` and `src/model.rs` import nothing of the crate but each other (and the
//!   pure [`FLOOR_MAY_USE`] helpers): the floor between probing and judging depends on nothing;
//! - `python3 tools/modgraph.py` finds no module cycle, apart from the edges in
//!   [`CYCLE_EDGES_OWNED_ELSEWHERE`] that other branches are removing;
//! - no file in `src/` is longer than [`MAX_LINES`], apart from [`LONG_FILES_BEING_SPLIT`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Names a judge or renderer must not mention: the probing side, the engine, supervision and the
/// network/database clients.
const FORBIDDEN_IN_JUDGES: &[&str] = &[
    "crate::probes",
    "crate::engine",
    "crate::supervise",
    "reqwest",
    "sqlx",
    "lapin",
    "tokio::net",
];

/// Crate modules the observation floor may use: itself, the report model, and two leaf
/// libraries that import nothing of the crate but each other ([`LEAVES`]): `exposition` (the
/// metrics parser, whose `Exposition` a scrape records) and `text` (the one `clip`).
const FLOOR_MAY_USE: &[&str] = &["observations", "model", "exposition", "text"];

/// Leaf modules the floor may use: they import nothing of the crate outside this list.
const LEAVES: &[(&str, &[&str])] = &[
    ("src/exposition", &["exposition", "text"]),
    ("src/text.rs", &[]),
];

/// Module-graph edges (`from` prefix, `to` prefix) that close a cycle owned by another branch,
/// ignored by the cycle assertion until that branch lands. The lead empties this at merge; do not
/// add to it.
const CYCLE_EDGES_OWNED_ELSEWHERE: &[(&str, &str)] = &[];

/// The longest a source file may be, in lines.
const MAX_LINES: usize = 800;

/// Files over [`MAX_LINES`] that another branch is splitting. The lead empties this at merge; do
/// not add to it.
const LONG_FILES_BEING_SPLIT: &[&str] = &[];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources(sub: &str) -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(&root().join(sub), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(root()).unwrap_or(&p).display().to_string();
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{rel}: {e}"));
            (rel, text)
        })
        .collect()
}

/// The text without `//` and `/* */` comments (doc comments included), strings kept.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("//") {
            rest = after.find('\n').map_or("", |i| &after[i..]);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.find("*/").map_or("", |i| &after[i + 2..]);
        } else {
            let c = rest.chars().next().unwrap_or_default();
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// `redis::` as the external crate's path: not preceded by `::` or an identifier character (the
/// judges' own `checks::redis` module and `observations::redis` are fine).
fn names_redis_crate(text: &str) -> bool {
    text.match_indices("redis::").any(|(i, _)| {
        let before = text[..i].chars().next_back();
        !before.is_some_and(|c| c == ':' || c == '_' || c.is_alphanumeric())
    })
}

#[test]
fn judges_and_renderers_name_no_probe_engine_or_client() {
    let mut hits = Vec::new();
    for dir in ["src/checks", "src/report"] {
        for (file, text) in sources(dir) {
            for (n, line) in text.lines().enumerate() {
                for name in FORBIDDEN_IN_JUDGES {
                    if line.contains(name) {
                        hits.push(format!("{file}:{}: mentions `{name}`", n + 1));
                    }
                }
                if names_redis_crate(line) {
                    hits.push(format!("{file}:{}: mentions `redis::`", n + 1));
                }
            }
        }
    }
    assert!(
        hits.is_empty(),
        "the wall is breached:\n{}",
        hits.join("\n")
    );
}

/// The crate modules `code` names (`crate::x::…` → `x`).
fn crate_modules(code: &str) -> Vec<String> {
    code.match_indices("crate::")
        .map(|(i, _)| {
            code[i + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

fn one_source(file: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    vec![(file.to_string(), text)]
}

#[test]
fn observation_floor_imports_only_itself_and_the_model() {
    let mut files = sources("src/observations");
    let model = "src/model.rs";
    files.extend(one_source(model));
    let mut hits = Vec::new();
    for (file, text) in files {
        let code = strip_comments(&text);
        for module in crate_modules(&code) {
            if !FLOOR_MAY_USE.contains(&module.as_str()) {
                hits.push(format!("{file}: imports `crate::{module}`"));
            }
        }
        if file.ends_with("observations/mod.rs") || file == model {
            // `super::` from the floor's root reaches the crate root.
            for line in code.lines().filter(|l| l.contains("super::")) {
                if !line.trim_start().starts_with("use super::*") {
                    hits.push(format!("{file}: `{}` leaves the floor", line.trim()));
                }
            }
        }
    }
    for (leaf, may) in LEAVES {
        let files = if leaf.ends_with(".rs") {
            one_source(leaf)
        } else {
            sources(leaf)
        };
        for (file, text) in files {
            for module in crate_modules(&strip_comments(&text)) {
                if !may.contains(&module.as_str()) {
                    hits.push(format!("{file}: a leaf imports `crate::{module}`"));
                }
            }
        }
    }
    assert!(
        hits.is_empty(),
        "the observation floor depends on the crate:\n{}",
        hits.join("\n")
    );
}

/// Whether `module` is `prefix` or inside it.
fn under(module: &str, prefix: &str) -> bool {
    module == prefix || module.starts_with(&format!("{prefix}::"))
}

/// Strongly connected components with more than one module (Tarjan, iterative enough for a
/// graph of a few hundred modules).
fn cycles(edges: &BTreeSet<(String, String)>) -> Vec<Vec<String>> {
    struct State<'a> {
        adj: BTreeMap<&'a str, Vec<&'a str>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on.insert(v);
        for w in s.adj.get(v).cloned().unwrap_or_default() {
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s = State {
        adj: BTreeMap::new(),
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for (a, b) in edges {
        s.adj.entry(a).or_default().push(b);
        s.adj.entry(b).or_default();
    }
    let nodes: Vec<&str> = s.adj.keys().copied().collect();
    for v in nodes {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out
}

fn modgraph(arg: Option<&str>) -> Option<String> {
    let mut cmd = Command::new("python3");
    cmd.arg(root().join("tools/modgraph.py"));
    cmd.args(arg);
    match cmd.output() {
        Ok(out) => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "python3 is needed to run tools/modgraph.py under CI: {e}"
            );
            eprintln!("skipped: python3 is missing ({e})");
            None
        }
    }
}

#[test]
fn module_graph_has_no_cycle_but_the_ones_owned_elsewhere() {
    let Some(report) = modgraph(None) else {
        return;
    };
    eprintln!("tools/modgraph.py:\n{report}");
    let Some(listing) = modgraph(Some("--edges")) else {
        return;
    };
    let edges: BTreeSet<(String, String)> = listing
        .lines()
        .filter_map(|l| l.split_once(" -> "))
        .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
        .collect();
    assert!(
        !edges.is_empty(),
        "tools/modgraph.py --edges printed no edge"
    );
    let kept: BTreeSet<(String, String)> = edges
        .into_iter()
        .filter(|(a, b)| {
            !CYCLE_EDGES_OWNED_ELSEWHERE
                .iter()
                .any(|(from, to)| under(a, from) && under(b, to))
        })
        .collect();
    let left = cycles(&kept);
    assert!(
        left.is_empty(),
        "module cycles (besides CYCLE_EDGES_OWNED_ELSEWHERE):\n{}",
        left.iter()
            .map(|c| c.join(" ↔ "))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn no_source_file_is_over_the_line_limit() {
    let mut long = Vec::new();
    for (file, text) in sources("src") {
        let lines = text.lines().count();
        if lines > MAX_LINES && !LONG_FILES_BEING_SPLIT.contains(&file.as_str()) {
            long.push(format!("{file}: {lines} lines"));
        }
    }
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_wall_sees_what_it_guards() {
    assert!(names_redis_crate("use redis::aio::Connection;"));
    assert!(names_redis_crate("let c = &redis::Client::open(u);"));
    assert!(!names_redis_crate(
        "use crate::observations::redis::RedisObservation;"
    ));
    assert!(!names_redis_crate("&self::redis::AUTH,"));
    assert_eq!(
        strip_comments("a // crate::x\nb /* crate::y */ c"),
        "a \nb  c"
    );
    let edges: BTreeSet<(String, String)> = [("a", "b"), ("b", "a"), ("b", "c")]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(cycles(&edges), vec![vec!["a".to_string(), "b".to_string()]]);
    assert!(under("probes::net::pool", "probes::net") && !under("probesx", "probes"));
}
