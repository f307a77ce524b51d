//! The pre-commit hook (`.pre-commit-hooks.yaml`) run by pre-commit itself in a throwaway
//! repository whose `.pre-commit-config.yaml` points at this checkout.
//!
//! The hook's script is given the binary under test as `DDLINT_BIN`, so the test does not
//! spend minutes building ddlint again; everything else (the manifest, pre-commit's clone of
//! the hook repository at a revision, the file filter, the exit status) is the real thing.
//!
//! pre-commit comes from PyPI (`pip install pre-commit`). Without it the test prints why and
//! passes, unless `DDLINT_REQUIRE_TOOLS` is set.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const HOOK_FILES: [&str; 2] = [".pre-commit-hooks.yaml", "scripts/pre-commit-hook.sh"];

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

/// The hook repository and revision for `.pre-commit-config.yaml`: this checkout at `HEAD`
/// when `HEAD` holds the hook files as they are in the working tree, or else a scratch
/// repository with the working tree's hook files committed.
fn hook_repo(scratch: &Path) -> (PathBuf, String) {
    let root = repo_root();
    let committed = HOOK_FILES.iter().all(|file| {
        let head = git(&root, &["show", &format!("HEAD:{file}")]);
        let work = fs::read_to_string(root.join(file)).ok();
        head.is_some() && head.as_deref().map(str::trim) == work.as_deref().map(str::trim)
    });
    if committed {
        if let Some(head) = git(&root, &["rev-parse", "HEAD"]) {
            return (root, head);
        }
    }
    println!("note: HEAD lacks the working tree's hook files; using a scratch hook repository");
    let repo = scratch.join("hooks");
    for file in HOOK_FILES {
        let to = repo.join(file);
        fs::create_dir_all(to.parent().expect("a parent")).expect("create the directory");
        fs::copy(root.join(file), &to).expect("copy the hook file");
    }
    git(&repo, &["init", "-q"]).expect("git init");
    git(&repo, &["add", "-A"]).expect("git add");
    git(&repo, &["commit", "-q", "-m", "hooks"]).expect("git commit");
    let head = git(&repo, &["rev-parse", "HEAD"]).expect("a HEAD");
    (repo, head)
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
        .env("DDLINT_BIN", env!("CARGO_BIN_EXE_ddlint"))
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
    let (hooks, rev) = hook_repo(scratch.path());

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
