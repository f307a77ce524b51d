//! The pre-commit hook (`.pre-commit-hooks.yaml`) run by pre-commit itself in a throwaway
//! repository whose `.pre-commit-config.yaml` points at this checkout at `HEAD`.
//!
//! Everything is the real thing: pre-commit clones the hook repository at the revision,
//! builds the `language: rust` hook with `cargo install --path .` at its root, and runs it on
//! the staged files. The cargo target directory is kept under `target/`, so only the first
//! run builds the dependencies.
//!
//! pre-commit comes from PyPI (`pip install pre-commit`). Without it the test prints why and
//! passes, unless `DDLINT_REQUIRE_TOOLS` is set.

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

fn pre_commit(repo: &Path, cache: &Path, files: &[&str]) -> Hooked {
    let output = Command::new("pre-commit")
        .current_dir(repo)
        .args(["run", "--color", "never", "--files"])
        .args(files)
        .env("PRE_COMMIT_HOME", cache)
        // Reused across runs; a quicker release profile, as the hook's speed is not measured.
        .env("CARGO_TARGET_DIR", repo_root().join("target/pre-commit-install"))
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("NO_COLOR")
        .output()
        .expect("run pre-commit");
    Hooked {
        code: output.status.code().unwrap_or(-1),
        output: String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr),
    }
}

#[test]
fn hook_fails_on_unsafe_migrations_and_passes_safe_ones() {
    if Command::new("pre-commit").arg("--version").output().is_err() {
        assert!(std::env::var_os("DDLINT_REQUIRE_TOOLS").is_none(), "`pre-commit` is required but not installed");
        println!("skipped: `pre-commit` is not installed (pip install pre-commit)");
        return;
    }
    let scratch = tempfile::Builder::new().prefix("ddlint-pre-commit").tempdir().expect("create a temporary directory");
    let hooks = repo_root();
    let rev = git(&hooks, &["rev-parse", "HEAD"]).expect("the checkout is a git repository");
    if git(&hooks, &["status", "--porcelain", "--", ".pre-commit-hooks.yaml", "Cargo.toml"])
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

    let failed = pre_commit(&project, &cache, &["db/migrations/002_rename.sql", "db/migrations/001_create.sql"]);
    assert_eq!(failed.code, 1, "{}", failed.output);
    assert!(failed.output.contains("warning[rename-column]"), "{}", failed.output);
    assert!(failed.output.contains("db/migrations/002_rename.sql:2:"), "{}", failed.output);

    let passed = pre_commit(&project, &cache, &["db/migrations/001_create.sql"]);
    assert_eq!(passed.code, 0, "{}", passed.output);
    assert!(passed.output.contains("Passed"), "{}", passed.output);

    // `files:` in the user's config keeps the hook to the migrations folder.
    let skipped = pre_commit(&project, &cache, &["scripts/backfill.sql"]);
    assert_eq!(skipped.code, 0, "{}", skipped.output);
    assert!(skipped.output.contains("Skipped"), "{}", skipped.output);
}
