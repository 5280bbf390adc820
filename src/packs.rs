//! Reading check packs from disk (`--probes DIR`): the I/O half of the catalogue. Parsing a
//! pack and judging it are pure and live in [`crate::checks::pack`]; this module only lists and
//! reads the files, so `checks` does no I/O.

use std::path::{Path, PathBuf};

use crate::checks::pack::{PackCheck, PackError, add_unique, parse};
use crate::checks::{Catalogue, CatalogueError};

impl Catalogue {
    /// Built-in checks, the embedded packs, and the packs in each of `dirs` (`--probes`). A pack
    /// id that collides with another check is an error unless the pack says `overrides = true`.
    pub fn load(dirs: &[PathBuf]) -> Result<Catalogue, CatalogueError> {
        let mut user = Vec::new();
        for dir in dirs {
            user.extend(load_dir(dir)?);
        }
        Catalogue::with_user_packs(user)
    }
}

/// Every `*.toml` pack in `dir`, files in name order (a single `.toml` file is accepted too).
/// A missing or unreadable directory, a directory without packs, a malformed pack or an id used
/// twice is an error; nothing is half-loaded.
pub fn load_dir(dir: &Path) -> Result<Vec<PackCheck>, PackError> {
    let shown = dir.display().to_string();
    let files: Vec<PathBuf> = if dir.is_file() {
        vec![dir.to_path_buf()]
    } else {
        let entries = std::fs::read_dir(dir).map_err(|e| PackError::Dir {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| PackError::Dir {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
            let path = entry.path();
            if path.extension().is_some_and(|ext| ext == "toml") && path.is_file() {
                files.push(path);
            }
        }
        files.sort();
        files
    };
    if files.is_empty() {
        return Err(PackError::Empty { path: shown });
    }
    let mut checks = Vec::new();
    for file in files {
        let origin = file.display().to_string();
        let text = std::fs::read_to_string(&file).map_err(|e| PackError::Read {
            path: origin.clone(),
            reason: e.to_string(),
        })?;
        let parsed = parse(&text, &origin)?;
        add_unique(&mut checks, parsed, &origin)?;
    }
    Ok(checks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> (String, String) {
        let path = format!("{}/tests/fixtures/packs/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        (text, format!("tests/fixtures/packs/{name}"))
    }

    #[test]
    fn load_dir_reads_sorted_packs_and_refuses_ids_used_twice() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (text, _) = fixture("valid-basic.toml");
        std::fs::write(
            dir.path().join("b.toml"),
            text.replace("myapp.health", "myapp.b"),
        )
        .expect("write");
        std::fs::write(dir.path().join("a.toml"), &text).expect("write");
        std::fs::write(dir.path().join("notes.md"), "ignored").expect("write");
        let ids: Vec<String> = load_dir(dir.path())
            .expect("loads")
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(ids, vec!["myapp.health", "myapp.b"]);

        std::fs::write(dir.path().join("c.toml"), &text).expect("write");
        let err = load_dir(dir.path()).expect_err("duplicate across files");
        let a = dir.path().join("a.toml").display().to_string();
        let c = dir.path().join("c.toml").display().to_string();
        assert_eq!(
            err.to_string(),
            format!(
                "{c}: check[0].id: duplicate id \"myapp.health\"; {a} already defines it (line 2)"
            )
        );
    }

    #[test]
    fn load_dir_names_a_missing_or_empty_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope");
        let err = load_dir(&missing).expect_err("missing");
        assert!(
            err.to_string().starts_with(&format!(
                "{}: cannot read the probes directory: ",
                missing.display()
            )),
            "{err}"
        );
        assert_eq!(
            load_dir(dir.path()).expect_err("empty").to_string(),
            format!(
                "{}: no *.toml check packs in this directory",
                dir.path().display()
            )
        );
    }
}
