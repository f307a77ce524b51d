//! Fixes end to end. Every fixture of a rule with fixes is fixed in a copy: the diff is
//! snapshotted next to the rule's other snapshots (`fix@<rule>__<file>.snap`), the fixed file
//! re-lints without a finding that still has a fix, and a second `--fix` changes nothing.
//! Over the corpus, `--fix --unsafe-fixes` reaches a fixpoint and writes no SQL that
//! PostgreSQL's parser rejects.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::directive_flags;

fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

fn ddlint(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ddlint"))
        .current_dir(dir)
        .args(["check", "--no-config", "--color", "never"])
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run ddlint")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every file under `dir` with its contents, by relative path.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        for entry in fs::read_dir(&at).expect("read a directory").filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir).expect("inside").to_path_buf();
                files.insert(relative, fs::read(&path).expect("read a file"));
            }
        }
    }
    files
}

/// The findings of `rule` in a JSON report that still carry a fix.
fn fixable(report: &serde_json::Value, rule: &str) -> Vec<String> {
    report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["rule"] == rule && d.get("fix").is_some())
        .map(|d| format!("{}:{}", d["path"], d["start"]["line"]))
        .collect()
}

/// The fixture's flags, then `extra`.
fn with<'a>(args: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    args.iter().chain(extra).copied().collect()
}

#[test]
fn fixtures_are_fixed_and_stay_fixed() {
    let root = repo_root();
    let mut checked = 0;
    for rule in ddlint_core::registry::all().into_iter().filter(|r| r.fix.is_some()) {
        let folder = root.join("fixtures").join(rule.id);
        let mut fixtures: Vec<PathBuf> = fs::read_dir(&folder)
            .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
            .filter_map(|e| Some(e.ok()?.path()))
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("bad") && n.ends_with(".sql"))
            })
            .collect();
        fixtures.sort();
        for fixture in fixtures {
            let name = fixture.file_name().and_then(|n| n.to_str()).expect("a name").to_owned();
            let original = fs::read_to_string(&fixture).expect("read the fixture");
            let dir = tempfile::tempdir().expect("a temporary directory");
            fs::write(dir.path().join(&name), &original).expect("copy the fixture");
            let mut args: Vec<String> = vec!["--enable".to_owned(), rule.id.to_owned()];
            args.extend(directive_flags(&name, &original));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();

            let diff = ddlint(dir.path(), &with(&args, &["--diff", "--unsafe-fixes", &name]));
            let snapshot = format!(
                "$ ddlint check --diff --unsafe-fixes {}\nexit status: {}\n\n{}\n--- stderr ---\n{}",
                args.join(" "),
                diff.status.code().unwrap_or(-1),
                text(&diff.stdout),
                text(&diff.stderr)
            );
            let snapshot_name = format!("fix@{}__{}", rule.id, name);
            insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false, snapshot_path => "snapshots" }, {
                insta::assert_snapshot!(snapshot_name, snapshot);
            });
            assert_eq!(tree(dir.path()).len(), 1, "{name}: --diff wrote a file");

            let fixed = ddlint(dir.path(), &with(&args, &["--fix", "--unsafe-fixes", &name]));
            let notes = text(&fixed.stderr);
            assert!(!notes.contains("panicked"), "{notes}");
            let after = tree(dir.path());
            let report = ddlint(dir.path(), &with(&args, &["--format", "json", "."]));
            let report: serde_json::Value = serde_json::from_slice(&report.stdout).expect("a JSON report");
            // A fix the command line could not apply says why (a file name with no version to
            // number a new migration after, say).
            let unexplained: Vec<String> = fixable(&report, rule.id)
                .into_iter()
                .filter(|at| !notes.contains(&format!("not fixed: {}: {}", at.replace('"', ""), rule.id)))
                .collect();
            assert!(
                unexplained.is_empty(),
                "{}/{name}: findings with a fix remain after --fix: {unexplained:?}\n{notes}",
                rule.id
            );
            let again = ddlint(dir.path(), &with(&args, &["--fix", "--unsafe-fixes", "."]));
            assert_eq!(
                tree(dir.path()),
                after,
                "{}/{name}: a second --fix changed files: {}",
                rule.id,
                text(&again.stderr)
            );
            checked += 1;
        }
    }
    assert!(checked >= 12, "only {checked} fixtures with fixes");
}

#[test]
fn the_corpus_is_fixed_to_a_fixpoint_without_syntax_errors() {
    let corpus = repo_root().join("../shared/corpus");
    if !corpus.is_dir() {
        support::skip("../shared/corpus is absent");
        return;
    }
    let copy = tempfile::tempdir().expect("a temporary directory");
    let status = Command::new("cp").arg("-r").arg(&corpus).arg(copy.path().join("corpus")).status().expect("run cp");
    assert!(status.success(), "cannot copy the corpus");
    let dir = copy.path().join("corpus");
    let syntax_errors = |dir: &Path| -> BTreeMap<String, usize> {
        let report = ddlint(dir, &["--format", "json", "."]);
        let report: serde_json::Value = serde_json::from_slice(&report.stdout).expect("a JSON report");
        let mut counts = BTreeMap::new();
        for d in report["diagnostics"].as_array().expect("diagnostics") {
            if d["rule"] == "syntax-error" {
                *counts.entry(d["path"].as_str().unwrap_or_default().to_owned()).or_default() += 1;
            }
        }
        counts
    };
    let before = syntax_errors(&dir);

    let fixed = ddlint(&dir, &["--fix", "--unsafe-fixes", "--format", "json", "."]);
    let stderr = text(&fixed.stderr);
    assert!(!stderr.contains("panicked") && !stderr.contains("error:"), "{stderr}");
    let summary = stderr.lines().find(|l| l.starts_with("note: fixed ")).unwrap_or_default();
    // For the record: how many findings of each rule the corpus run fixed.
    let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("corpus: {summary}\n").as_bytes());
    assert!(summary.contains("create-index-non-concurrently"), "{stderr}");

    for (path, count) in syntax_errors(&dir) {
        let was = before.get(&path).copied().unwrap_or(0);
        assert!(count <= was, "{path}: the fixes left {count} syntax errors where there were {was}");
    }
    let diff = ddlint(&dir, &["--diff", "--unsafe-fixes", "."]);
    assert_eq!(diff.status.code(), Some(0), "a second round would still change:\n{}", text(&diff.stdout));
    assert!(diff.stdout.is_empty());
}

#[test]
fn diff_exits_1_only_when_there_is_something_to_fix() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    fs::write(dir.path().join("m.sql"), "ALTER TABLE t ADD COLUMN b int;\n").expect("write");
    let diff = ddlint(dir.path(), &["--diff", "m.sql"]);
    assert_eq!(diff.status.code(), Some(1));
    assert_eq!(
        text(&diff.stdout),
        "--- a/m.sql\n+++ b/m.sql\n@@ -1 +1,2 @@\n+SET lock_timeout = '2s';\n ALTER TABLE t ADD COLUMN b int;\n"
    );
    assert!(text(&diff.stderr).contains("would fix 1 finding (missing-lock-timeout: 1)"), "{}", text(&diff.stderr));
    // Unsafe fixes wait for `--unsafe-fixes`.
    fs::write(dir.path().join("m.sql"), "SET lock_timeout = '1s';\nCREATE INDEX i ON t (a);\n").expect("write");
    let diff = ddlint(dir.path(), &["--diff", "m.sql"]);
    assert_eq!((diff.status.code(), diff.stdout.is_empty()), (Some(0), true), "{}", text(&diff.stdout));
    let unsafe_diff = ddlint(dir.path(), &["--diff", "--unsafe-fixes", "m.sql"]);
    assert_eq!(unsafe_diff.status.code(), Some(1));
    assert!(text(&unsafe_diff.stdout).contains("+CREATE INDEX CONCURRENTLY i ON t (a);"));
}

#[test]
fn windows_line_endings_are_kept() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    fs::write(dir.path().join("m.sql"), "BEGIN;\r\nCREATE INDEX i ON t (a);\r\nCOMMIT;\r\n").expect("write");
    let fixed = ddlint(dir.path(), &["--fix", "--unsafe-fixes", "m.sql"]);
    assert!(text(&fixed.stderr).contains("fixed"), "{}", text(&fixed.stderr));
    assert_eq!(
        fs::read_to_string(dir.path().join("m.sql")).expect("read"),
        "BEGIN;\r\nCOMMIT;\r\nCREATE INDEX CONCURRENTLY i ON t (a);\r\n"
    );
}

#[test]
fn the_configured_lock_timeout_is_written() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    fs::write(dir.path().join("m.sql"), "ALTER TABLE t ADD COLUMN b int;\n").expect("write");
    fs::write(dir.path().join("ddlint.toml"), "[fix]\nlock-timeout = \"750ms\"\n").expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_ddlint"))
        .current_dir(dir.path())
        .args(["check", "--fix", "m.sql"])
        .output()
        .expect("run ddlint");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(
        fs::read_to_string(dir.path().join("m.sql")).expect("read"),
        "SET lock_timeout = '750ms';\nALTER TABLE t ADD COLUMN b int;\n"
    );
    fs::write(dir.path().join("ddlint.toml"), "[fix]\nlock-timeout = \"soon\"\n").expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_ddlint"))
        .current_dir(dir.path())
        .args(["check", "m.sql"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("lock-timeout = \"soon\" is not a timeout PostgreSQL reads"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn standard_input_is_not_fixed_in_place() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ddlint"))
        .args(["check", "--no-config", "--fix", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run ddlint");
    std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), b"ALTER TABLE t ADD COLUMN b int;\n")
        .expect("write");
    drop(child.stdin.take());
    let output = child.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("standard input cannot be fixed in place"), "{}", text(&output.stderr));
}

/// A framework's runner wraps the file: the safe forms go to new migrations named after it,
/// and the file's own down no longer undoes what moved.
#[test]
fn goose_migrations_get_their_safe_forms_as_new_files() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = dir.path().join("db");
    fs::create_dir(&db).expect("mkdir");
    fs::write(db.join("00001_init.sql"), "-- +goose Up\nCREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint);\n-- +goose Down\nDROP TABLE orders;\n").expect("write");
    fs::write(
        db.join("00002_idx.sql"),
        "-- +goose Up\nSET LOCAL lock_timeout = '1s';\nALTER TABLE orders ADD COLUMN note text;\nCREATE INDEX orders_user_id_idx ON orders (user_id);\n-- +goose Down\nDROP INDEX orders_user_id_idx;\nALTER TABLE orders DROP COLUMN note;\n",
    )
    .expect("write");
    let fixed = ddlint(dir.path(), &["--assume-in-transaction", "--fix", "--unsafe-fixes", "db"]);
    assert!(text(&fixed.stderr).contains("fixed"), "{}", text(&fixed.stderr));
    assert_eq!(
        fs::read_to_string(db.join("00002_idx.sql")).expect("read"),
        "-- +goose Up\nSET LOCAL lock_timeout = '1s';\nALTER TABLE orders ADD COLUMN note text;\n-- +goose Down\nSET LOCAL lock_timeout = '2s';\nALTER TABLE orders DROP COLUMN note;\n"
    );
    assert_eq!(
        fs::read_to_string(db.join("00003_concurrently_orders_user_id_idx.sql")).expect("the new migration"),
        "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY orders_user_id_idx ON orders (user_id);\n\n-- +goose Down\nDROP INDEX CONCURRENTLY IF EXISTS orders_user_id_idx;\n"
    );
    let report = ddlint(dir.path(), &["--assume-in-transaction", "--format", "json", "db"]);
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).expect("JSON");
    assert!(fixable(&report, "create-index-non-concurrently").is_empty());
}
