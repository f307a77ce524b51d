//! ddlint-core compiles its C against its own copy of libpg_query's sources (`libpg_query/`),
//! while the parser it links is the one the `pg_query` crate compiles. The two must be the
//! same release, file for file: a struct that differs by one member would make the tree
//! encoder write garbage without a compiler error. This test compares the copy with the
//! `pg_query` package that Cargo.lock resolves, which `cargo metadata` locates (a test may ask
//! cargo; a build script may not).

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Files of ddlint's own in the copy; everything else must be the package's.
const OWN_FILES: &[&str] = &["README.md", "VERSION"];

fn copy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("libpg_query")
}

/// The version and directory of the `pg_query` package this crate depends on.
fn pg_query_package() -> Result<(String, PathBuf), String> {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked", "--manifest-path"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .output()
        .map_err(|e| format!("cannot run `cargo metadata`: {e}"))?;
    if !output.status.success() {
        return Err(format!("`cargo metadata` failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).map_err(|e| e.to_string())?;
    let packages = metadata["packages"].as_array().ok_or("no packages")?;
    let core = packages
        .iter()
        .find(|p| p["name"] == "ddlint-core" && p["source"].is_null())
        .and_then(|p| p["id"].as_str())
        .ok_or("no ddlint-core package")?;
    let nodes = metadata["resolve"]["nodes"].as_array().ok_or("no resolve graph")?;
    let pg_query = nodes
        .iter()
        .find(|n| n["id"] == core)
        .and_then(|n| n["deps"].as_array())
        .and_then(|deps| deps.iter().find(|d| d["name"] == "pg_query"))
        .and_then(|d| d["pkg"].as_str())
        .and_then(|id| packages.iter().find(|p| p["id"] == id))
        .ok_or("ddlint-core depends on no pg_query package")?;
    let version = pg_query["version"].as_str().ok_or("pg_query has no version")?.to_owned();
    let manifest = Path::new(pg_query["manifest_path"].as_str().ok_or("pg_query has no manifest path")?);
    Ok((version, manifest.parent().ok_or("pg_query's manifest has no directory")?.to_owned()))
}

fn files_under(base: &Path, dir: &Path, files: &mut BTreeSet<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files_under(base, &path, files);
        } else {
            files.insert(path.strip_prefix(base).expect("under the base").to_owned());
        }
    }
}

#[test]
fn vendored_libpg_query_is_the_pg_query_package_s() {
    let (version, package) = match pg_query_package() {
        Ok(found) => found,
        Err(why) => {
            support::skip(&format!("the pg_query package cannot be located: {why}"));
            return;
        }
    };
    let copy = copy_dir();
    let upstream = package.join("libpg_query");
    let fix = "run `cargo xtask vendor-libpg-query` (docs/upgrading-pg-query.md)";

    let recorded = std::fs::read_to_string(copy.join("VERSION")).expect("libpg_query/VERSION");
    assert_eq!(
        recorded.trim(),
        version,
        "the copy is of pg_query {}, Cargo.lock has {version}: {fix}",
        recorded.trim()
    );

    let mut copied = BTreeSet::new();
    files_under(&copy, &copy, &mut copied);
    let mut differing = Vec::new();
    for relative in copied.iter().filter(|f| !OWN_FILES.iter().any(|own| Path::new(own) == *f)) {
        let ours = std::fs::read(copy.join(relative)).expect("read the copy");
        match std::fs::read(upstream.join(relative)) {
            Ok(theirs) if theirs == ours => {}
            Ok(_) => differing.push(format!("{} differs", relative.display())),
            Err(_) => differing.push(format!("{} is not in pg_query {version}", relative.display())),
        }
    }
    // PostgreSQL's headers are copied whole, so that every platform's `port/` headers are there.
    let mut headers = BTreeSet::new();
    files_under(&upstream, &upstream.join("src/postgres/include"), &mut headers);
    differing.extend(headers.difference(&copied).map(|missing| format!("{} is missing", missing.display())));
    assert!(differing.is_empty(), "libpg_query/ is not pg_query {version}'s: {fix}\n{}", differing.join("\n"));
    assert!(copied.len() > 500, "only {} files in the copy", copied.len());
}
