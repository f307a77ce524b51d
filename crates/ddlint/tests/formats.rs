//! End-to-end tests of the CI-oriented formats (`markdown`, `gitlab`, `junit`): run the built
//! binary on a small temporary project, snapshot what it prints, and check each document
//! with the tools its consumers use where they are installed (`xmllint` for JUnit).
//!
//! A test that needs a tool which is missing says why and passes, except under CI (`CI` or
//! `DDLINT_REQUIRE_TOOLS` set), where it fails, so that nothing is skipped unseen.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_ddlint");

/// A warning (`rename-column`) with a lock, and an error on the next file.
const PROJECT: &[(&str, &str)] = &[
    ("db/001_create.sql", "CREATE TABLE users (id bigint PRIMARY KEY, name text);\n"),
    (
        "db/002_rename.sql",
        "SET lock_timeout = '2s';\n\nALTER TABLE users\n    RENAME COLUMN name TO full_name;\n",
    ),
    (
        "db/003_not_null.sql",
        "-- <b>needs</b> a default & more\n\\set ON_ERROR_STOP on\nSET lock_timeout = '2s';\nALTER TABLE users ADD COLUMN email text NOT NULL;\nSELEC 1;\n",
    ),
];

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn project(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::Builder::new().prefix("ddlint-formats").tempdir().expect("create a temporary directory");
    for (path, text) in files {
        let path = dir.path().join(path);
        fs::create_dir_all(path.parent().expect("a parent")).expect("create the parent directory");
        fs::write(path, text).expect("write the file");
    }
    dir
}

fn run(dir: &Path, args: &[&str]) -> Output {
    let output = Command::new(BIN)
        .current_dir(dir)
        .args(["check", "--no-config"])
        .args(args)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .output()
        .expect("run ddlint");
    Output {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).expect("UTF-8 output"),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The output of `--format <format>` over [`PROJECT`], which must exit with 1.
fn project_output(format: &str) -> String {
    let dir = project(PROJECT);
    let out = run(dir.path(), &["--format", format, "db"]);
    assert_eq!(out.code, 1, "{format}: {}\n{}", out.stdout, out.stderr);
    assert_eq!(out.stderr, "", "{format}");
    out.stdout.replace(env!("CARGO_PKG_VERSION"), "[VERSION]")
}

/// Whether `tool` can be run; when it cannot, says so, and fails if tools are required.
fn have(tool: &str) -> bool {
    let found = Command::new(tool).arg("--version").output().is_ok();
    if !found {
        support::skip(&format!("`{tool}` is not installed"));
    }
    found
}

fn junit_schema() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/junit-4.xsd")
}

/// Validates `xml` against the Jenkins/Ant JUnit schema with xmllint.
fn assert_valid_junit(xml: &str) {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let path = dir.path().join("report.xml");
    fs::write(&path, xml).expect("write the report");
    let output = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(junit_schema())
        .arg(&path)
        .output()
        .expect("run xmllint");
    assert!(
        output.status.success(),
        "xmllint rejected the report:\n{}\n{xml}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn markdown_report() {
    let out = project_output("markdown");
    insta::assert_snapshot!("markdown", out);
}

#[test]
fn gitlab_report() {
    let out = project_output("gitlab");
    let issues: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    for issue in issues.as_array().expect("an array") {
        for key in ["description", "check_name", "fingerprint", "severity"] {
            assert!(issue[key].is_string(), "{key}: {issue}");
        }
        assert!(issue["location"]["path"].as_str().expect("path").starts_with("db/"), "{issue}");
        assert!(issue["location"]["lines"]["begin"].as_u64().expect("begin") >= 1, "{issue}");
    }
    insta::assert_snapshot!("gitlab", out);
}

#[test]
fn gitlab_fingerprints_are_stable_across_runs_and_line_shifts() {
    let first = project_output("gitlab");
    assert_eq!(first, project_output("gitlab"));
    // Blank lines and comments above the statements move them but keep their fingerprints.
    let shifted: Vec<(&str, String)> = PROJECT.iter().map(|(path, text)| (*path, format!("\n\n{text}"))).collect();
    let shifted: Vec<(&str, &str)> = shifted.iter().map(|(p, t)| (*p, t.as_str())).collect();
    let dir = project(&shifted);
    let second = run(dir.path(), &["--format", "gitlab", "db"]).stdout;
    let prints = |text: &str| -> Vec<serde_json::Value> {
        let doc: serde_json::Value = serde_json::from_str(text).expect("JSON");
        doc.as_array().expect("array").iter().map(|i| i["fingerprint"].clone()).collect()
    };
    assert_eq!(prints(&first), prints(&second));
    assert_ne!(first, second.replace(env!("CARGO_PKG_VERSION"), "[VERSION]"), "the lines moved");
}

#[test]
fn junit_report() {
    let out = project_output("junit");
    insta::assert_snapshot!("junit", out);
    if have("xmllint") {
        assert_valid_junit(&out);
    }
}

#[test]
fn junit_is_valid_for_clean_empty_and_unreadable_runs() {
    let clean = project(&[("db/001.sql", "CREATE TABLE t (id bigint);\n")]);
    let out = run(clean.path(), &["--format", "junit", "db"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("tests=\"1\" failures=\"0\" errors=\"0\""), "{}", out.stdout);

    let empty = project(&[("db/README", "")]);
    let none = run(empty.path(), &["--format", "junit", "db"]);
    assert!(none.stdout.contains("<testsuites name=\"ddlint\" tests=\"0\""), "{}", none.stdout);

    // A file name with markup and a control character, and a file that is not text.
    let odd = project(&[("db/a&<b>\"\u{7}.sql", "SELEC 1;\n")]);
    fs::write(odd.path().join("db/bin.sql"), b"\xff\xfe\0\0").expect("write");
    let broken = run(odd.path(), &["--format", "junit", "db"]);
    assert_eq!(broken.code, 2, "{}", broken.stderr);
    assert!(broken.stdout.contains("name=\"db/a&amp;&lt;b&gt;&quot;\\u{7}.sql\""), "{}", broken.stdout);
    assert!(broken.stdout.contains("tests=\"2\" failures=\"1\" errors=\"1\""), "{}", broken.stdout);

    if have("xmllint") {
        for xml in [&out.stdout, &none.stdout, &broken.stdout] {
            assert_valid_junit(xml);
        }
    }
}

#[test]
fn junit_schema_rejects_what_it_should() {
    // The schema check must be able to fail: an element out of order is invalid.
    if !have("xmllint") {
        return;
    }
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let path = dir.path().join("bad.xml");
    let bad = "<testsuites><testsuite name=\"x\" tests=\"1\"><testcase name=\"a\">\
               <failure/><error/></testcase></testsuite></testsuites>";
    fs::write(&path, bad).expect("write");
    let status = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(junit_schema())
        .arg(&path)
        .output()
        .expect("run xmllint")
        .status;
    assert!(!status.success());
}

#[test]
fn formats_agree_on_the_exit_code() {
    let dir = project(&[("db/001.sql", "SET lock_timeout = '2s';\nALTER TABLE users RENAME COLUMN a TO b;\n")]);
    for format in ["markdown", "gitlab", "junit"] {
        assert_eq!(run(dir.path(), &["--format", format, "db"]).code, 1, "{format}");
        assert_eq!(run(dir.path(), &["--format", format, "--fail-on", "error", "db"]).code, 0, "{format}");
    }
}
