//! This workspace's `Cargo.lock` resolves every package it shares with the
//! root workspace to the root's version, so that `scripts/test`, which
//! builds the smoke test into the root `target/`, tests the core with the
//! dependencies it ships with (and reuses what the root build compiled).
//!
//! After `cargo update` at the root, bring this file along:
//! `cp Cargo.lock fuzz/Cargo.lock && cargo tree --manifest-path fuzz/Cargo.toml >/dev/null`
//! (cargo keeps the locked versions and drops what the fuzz crate does not
//! use), then add back the fuzz-only packages if cargo resolves them anew.

use std::collections::BTreeMap;
use std::path::Path;

/// Packages only the fuzz crate uses.
const FUZZ_ONLY: [&str; 3] = ["cdc-mask-fuzz", "libfuzzer-sys", "arbitrary"];

/// name → versions, from a `Cargo.lock`.
fn packages(path: &Path) -> BTreeMap<String, Vec<String>> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut packages: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for block in text.split("[[package]]").skip(1) {
        let field = |key: &str| {
            block
                .lines()
                .find_map(|line| line.strip_prefix(&format!("{key} = \"")))
                .and_then(|rest| rest.strip_suffix('"'))
                .unwrap_or_else(|| panic!("a package without {key} in {}", path.display()))
                .to_owned()
        };
        packages
            .entry(field("name"))
            .or_default()
            .push(field("version"));
    }
    packages
}

#[test]
fn shared_packages_have_the_root_workspace_versions() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fuzz = packages(&here.join("Cargo.lock"));
    let root = packages(&here.join("../Cargo.lock"));
    assert!(fuzz.contains_key("cdc-mask-core"));
    let mut differ = Vec::new();
    for (name, versions) in &fuzz {
        if FUZZ_ONLY.contains(&name.as_str()) {
            continue;
        }
        match root.get(name) {
            Some(root_versions) if versions.iter().all(|v| root_versions.contains(v)) => {}
            other => differ.push(format!("{name} {versions:?} (root: {other:?})")),
        }
    }
    assert!(
        differ.is_empty(),
        "fuzz/Cargo.lock differs from Cargo.lock: {differ:?}; see this file's doc"
    );
}
