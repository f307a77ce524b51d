//! The pre-commit hook (`.pre-commit-hooks.yaml`) run by pre-commit itself in a throwaway
//! repository whose `.pre-commit-config.yaml` points at this checkout at `HEAD`.
//!
//! Everything is the real thing: maturin builds the `ddlint` wheel from this checkout,
//! pre-commit clones the hook repository at the revision, installs the `language: python`
//! hook with pip (the root `pyproject.toml`, which depends on the wheel, found through
//! `PIP_FIND_LINKS`), and runs it on the staged files. The wheel's cargo target directory is
//! kept under `target/`, so only the first run builds the dependencies. With
//! `DDLINT_WHEEL_DIR` naming a folder that holds a wheel already built, none is built.
//!
//! pre-commit and maturin come from PyPI (`pip install pre-commit maturin`). Without them the
//! test says why and passes, except under CI, where it fails.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=ddlint", "-c", "user.email=ddlint@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

struct Hooked {
    code: i32,
    output: String,
}

fn pre_commit(repo: &Path, cache: &Path, wheels: &Path, files: &[&str]) -> Hooked {
    let output = Command::new("pre-commit")
        .current_dir(repo)
        .args(["run", "--color", "never", "--files"])
        .args(files)
        .env("PRE_COMMIT_HOME", cache)
        // The `ddlint` wheel of this checkout's version, which PyPI may not have yet.
        .env("PIP_FIND_LINKS", wheels)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("NO_COLOR")
        .output()
        .expect("run pre-commit");
    Hooked {
        code: output.status.code().unwrap_or(-1),
        output: String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr),
    }
}

/// A folder holding the `ddlint` wheel: `DDLINT_WHEEL_DIR`, or one maturin builds into `out`.
fn wheel_dir(out: &Path) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DDLINT_WHEEL_DIR") {
        return Some(PathBuf::from(dir));
    }
    if Command::new("maturin").arg("--version").output().is_err() {
        support::skip("`maturin` is not installed (pip install maturin)");
        return None;
    }
    let output = Command::new("maturin")
        .current_dir(repo_root().join("crates/ddlint"))
        .args(["build", "--release", "--locked", "--out"])
        .arg(out)
        // Reused across runs; a quicker release profile, as the hook's speed is not measured.
        .env("CARGO_TARGET_DIR", repo_root().join("target/pre-commit-wheel"))
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .output()
        .expect("run maturin");
    assert!(output.status.success(), "maturin build failed:\n{}", String::from_utf8_lossy(&output.stderr));
    Some(out.to_owned())
}

#[test]
fn hook_fails_on_unsafe_migrations_and_passes_safe_ones() {
    if Command::new("pre-commit").arg("--version").output().is_err() {
        support::skip("`pre-commit` is not installed (pip install pre-commit)");
        return;
    }
    let scratch = tempfile::Builder::new().prefix("ddlint-pre-commit").tempdir().expect("create a temporary directory");
    let hooks = repo_root();
    let rev = git(&hooks, &["rev-parse", "HEAD"]).expect("the checkout is a git repository");
    if git(&hooks, &["status", "--porcelain", "--", ".pre-commit-hooks.yaml", "pyproject.toml"])
        .is_some_and(|s| !s.is_empty())
    {
        println!("note: the hook is built from HEAD, not from the uncommitted working tree");
    }

    let project = scratch.path().join("project");
    fs::create_dir_all(project.join("db/migrations")).expect("create the project");
    fs::create_dir_all(project.join("scripts")).expect("create the project");
    let config = format!(
        "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: ddlint\n        files: ^db/migrations/.*\\.sql$\n",
        hooks.display()
    );
    fs::write(project.join(".pre-commit-config.yaml"), config).expect("write the config");
    let unsafe_sql = "SET lock_timeout = '2s';\nALTER TABLE users RENAME COLUMN name TO full_name;\n";
    fs::write(project.join("db/migrations/002_rename.sql"), unsafe_sql).expect("write");
    fs::write(project.join("db/migrations/001_create.sql"), "CREATE TABLE users (id bigint PRIMARY KEY);\n")
        .expect("write");
    fs::write(project.join("scripts/backfill.sql"), unsafe_sql).expect("write");
    git(&project, &["init", "-q"]).expect("git init");
    git(&project, &["add", "-A"]).expect("git add");
    let cache = scratch.path().join("cache");
    let Some(wheels) = wheel_dir(&scratch.path().join("wheels")) else { return };

    let failed =
        pre_commit(&project, &cache, &wheels, &["db/migrations/002_rename.sql", "db/migrations/001_create.sql"]);
    assert_eq!(failed.code, 1, "{}", failed.output);
    assert!(failed.output.contains("warning[rename-column]"), "{}", failed.output);
    assert!(failed.output.contains("db/migrations/002_rename.sql:2:"), "{}", failed.output);

    let passed = pre_commit(&project, &cache, &wheels, &["db/migrations/001_create.sql"]);
    assert_eq!(passed.code, 0, "{}", passed.output);
    assert!(passed.output.contains("Passed"), "{}", passed.output);

    // `files:` in the user's config keeps the hook to the migrations folder.
    let skipped = pre_commit(&project, &cache, &wheels, &["scripts/backfill.sql"]);
    assert_eq!(skipped.code, 0, "{}", skipped.output);
    assert!(skipped.output.contains("Skipped"), "{}", skipped.output);
}
