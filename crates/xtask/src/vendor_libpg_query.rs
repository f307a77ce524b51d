//! `cargo xtask vendor-libpg-query`: copies the part of libpg_query that ddlint's C compiles
//! against from the `pg_query` package in Cargo.lock into `crates/ddlint-core/libpg_query/`.
//!
//! ddlint-core's C reads PostgreSQL's parse tree structs and compiles a second instance of
//! PostgreSQL's grammar, so it must see exactly the sources that the `pg_query` crate compiles.
//! A build script cannot ask where a dependency's sources are without running cargo, which
//! fails on a cold cache, in a packaged crate and offline. So ddlint-core carries its own copy,
//! made by this command from the very package the lock file names, and the test
//! `the_copy_is_the_pg_query_package_s` below fails when the two differ (a test may ask cargo;
//! a build script may not). The upgrade procedure is in `docs/upgrading-pg-query.md`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the copy lives, relative to the workspace root.
const DESTINATION: &str = "crates/ddlint-core/libpg_query";

/// Directories copied whole: PostgreSQL's headers, including each platform's `port/` headers,
/// so that every release target finds what its compiler includes.
const DIRECTORIES: &[&str] = &["src/postgres/include"];

/// Single files, as `gcc -M` lists them for `crates/ddlint-core/csrc/*.c` outside the headers
/// above, plus the protobuf schema that `build.rs` reads field numbers from.
const FILES: &[&str] = &[
    "pg_query.h",
    "pg_query_scan_tokens.h",
    "postgres_deparse.h",
    "src/pg_query_internal.h",
    "src/include/pg_query_enum_defs.c",
    "src/include/pg_query_outfuncs_conds.c",
    "src/include/pg_query_outfuncs_defs.c",
    "src/postgres/src_backend_parser_gram.c",
    "src/postgres/src_backend_parser_parser.c",
    "protobuf/pg_query.proto",
];

/// Files of ddlint's own in the destination, which are not copies and are kept.
const OWN_FILES: &[&str] = &["README.md", "VERSION"];

pub fn run(root: &Path) -> Result<(), String> {
    let (version, package) = pg_query_package(root)?;
    let source = package.join("libpg_query");
    let destination = root.join(DESTINATION);

    let wanted = wanted_files(&source)?;
    let mut copied = 0;
    for relative in &wanted {
        let from = source.join(relative);
        let to = destination.join(relative);
        let contents = fs::read(&from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
        if fs::read(&to).is_ok_and(|old| old == contents) {
            continue;
        }
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        fs::write(&to, contents).map_err(|e| format!("cannot write {}: {e}", to.display()))?;
        copied += 1;
    }

    // Files that the new release no longer has, or that the lists no longer name.
    let present = if destination.exists() { copied_files(&destination)? } else { BTreeSet::new() };
    let mut removed = 0;
    for stale in present.difference(&wanted) {
        let path = destination.join(stale);
        fs::remove_file(&path).map_err(|e| format!("cannot delete {}: {e}", path.display()))?;
        removed += 1;
    }
    remove_empty_directories(&destination)?;

    fs::write(destination.join("VERSION"), format!("{version}\n"))
        .map_err(|e| format!("cannot write the VERSION file: {e}"))?;
    println!(
        "{DESTINATION}: libpg_query of pg_query {version}, {} files ({copied} written, {removed} deleted)",
        wanted.len()
    );
    Ok(())
}

/// The files of `source` (a package's `libpg_query/`) that the copy holds, relative to it.
fn wanted_files(source: &Path) -> Result<BTreeSet<PathBuf>, String> {
    let mut wanted = BTreeSet::new();
    for dir in DIRECTORIES {
        collect_files(source, &source.join(dir), &mut wanted)?;
    }
    wanted.extend(FILES.iter().map(PathBuf::from));
    Ok(wanted)
}

/// The files of the copy in `destination` that were copied, not ddlint's own.
fn copied_files(destination: &Path) -> Result<BTreeSet<PathBuf>, String> {
    let mut present = BTreeSet::new();
    collect_files(destination, destination, &mut present)?;
    present.retain(|file| !OWN_FILES.iter().any(|own| Path::new(own) == file));
    Ok(present)
}

/// The version and directory of the `pg_query` package that ddlint-core depends on in Cargo.lock.
fn pg_query_package(root: &Path) -> Result<(String, PathBuf), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .output()
        .map_err(|e| format!("cannot run `cargo metadata`: {e}"))?;
    if !output.status.success() {
        return Err(format!("`cargo metadata` failed:\n{}", String::from_utf8_lossy(&output.stderr)));
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|e| format!("`cargo metadata` printed no JSON: {e}"))?;
    let packages = metadata["packages"].as_array().ok_or("`cargo metadata` lists no packages")?;
    let core = packages
        .iter()
        .find(|p| p["name"] == "ddlint-core" && p["source"].is_null())
        .and_then(|p| p["id"].as_str())
        .ok_or("`cargo metadata` lists no ddlint-core package")?;
    let nodes = metadata["resolve"]["nodes"].as_array().ok_or("`cargo metadata` resolved nothing")?;
    let pg_query_id = nodes
        .iter()
        .find(|n| n["id"] == core)
        .and_then(|n| n["deps"].as_array())
        .and_then(|deps| deps.iter().find(|d| d["name"] == "pg_query"))
        .and_then(|d| d["pkg"].as_str())
        .ok_or("ddlint-core depends on no pg_query package")?;
    let package = packages.iter().find(|p| p["id"] == pg_query_id).ok_or("the pg_query package is not listed")?;
    let version = package["version"].as_str().ok_or("the pg_query package has no version")?;
    let manifest = package["manifest_path"].as_str().ok_or("the pg_query package has no manifest path")?;
    let dir = Path::new(manifest).parent().ok_or("the pg_query manifest path has no directory")?;
    Ok((version.to_owned(), dir.to_owned()))
}

/// Adds every file under `dir` to `files`, as paths relative to `base`.
fn collect_files(base: &Path, dir: &Path, files: &mut BTreeSet<PathBuf>) -> Result<(), String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if kind.is_dir() {
            collect_files(base, &path, files)?;
        } else if let Ok(relative) = path.strip_prefix(base) {
            files.insert(relative.to_owned());
        }
    }
    Ok(())
}

fn remove_empty_directories(dir: &Path) -> Result<bool, String> {
    let mut empty = true;
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?.path();
        if path.is_dir() && remove_empty_directories(&path)? {
            fs::remove_dir(&path).map_err(|e| format!("cannot delete {}: {e}", path.display()))?;
        } else {
            empty = false;
        }
    }
    Ok(empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ddlint-core compiles its C against the copy while the parser it links is the one the
    /// `pg_query` crate compiles: a struct that differs by one member would make the tree
    /// encoder write garbage without a compiler error. So the copy must be the package's,
    /// file for file and byte for byte, and hold exactly what this command copies.
    #[test]
    fn the_copy_is_the_pg_query_package_s() {
        let root = crate::repo_root();
        let (version, package) = match pg_query_package(&root) {
            Ok(found) => found,
            Err(why) => {
                // Under CI the check that guards an upgrade must run, never skip.
                let required = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
                    || std::env::var_os("DDLINT_REQUIRE_TOOLS").is_some();
                assert!(!required, "cannot run under CI: the pg_query package cannot be located: {why}");
                let message = format!("skipped: the pg_query package cannot be located: {why}\n");
                let _ = std::io::Write::write_all(&mut std::io::stderr(), message.as_bytes());
                return;
            }
        };
        let fix = "run `cargo xtask vendor-libpg-query` (docs/upgrading-pg-query.md)";
        let destination = root.join(DESTINATION);
        let upstream = package.join("libpg_query");

        let recorded = fs::read_to_string(destination.join("VERSION")).expect("libpg_query/VERSION");
        assert_eq!(
            recorded.trim(),
            version,
            "the copy is of pg_query {}, Cargo.lock has {version}: {fix}",
            recorded.trim()
        );

        let wanted = wanted_files(&upstream).expect("list the package's files");
        let copied = copied_files(&destination).expect("list the copy's files");
        let mut differing: Vec<String> = Vec::new();
        differing.extend(wanted.difference(&copied).map(|f| format!("{} is missing", f.display())));
        differing.extend(
            copied.difference(&wanted).map(|f| format!("{} is not copied from pg_query {version}", f.display())),
        );
        for file in wanted.intersection(&copied) {
            let ours = fs::read(destination.join(file)).expect("read the copy");
            let theirs = fs::read(upstream.join(file)).expect("read the package");
            if ours != theirs {
                differing.push(format!("{} differs", file.display()));
            }
        }
        assert!(differing.is_empty(), "libpg_query/ is not pg_query {version}'s: {fix}\n{}", differing.join("\n"));
        assert!(copied.len() > 500, "only {} files in the copy", copied.len());
    }
}
