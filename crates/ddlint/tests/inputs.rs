//! Input conventions of the migration streams teams really have, end to end: the built binary
//! runs on a temporary project and the findings it prints as JSON are checked.
//!
//! - psql's `COPY … FROM stdin` with its data rows up to a `\.` line, as pg_dump writes them
//!   into initial-schema migrations.
//! - Templating placeholders a project's runner substitutes, configured as `placeholders`
//!   patterns in `ddlint.toml`.

use serde_json::Value;
use std::fs;
use std::process::{Command, Stdio};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_ddlint");

/// What one run printed and how it exited.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// `(rule, line)` of each finding in `path`, in the reporter's order.
    fn findings(&self, path: &str) -> Vec<(String, u64)> {
        let json: Value = serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{self:#?}"));
        let Some(diagnostics) = json["diagnostics"].as_array() else { panic!("no diagnostics array: {self:#?}") };
        diagnostics
            .iter()
            .filter(|d| d["path"] == path)
            .map(|d| (d["rule"].as_str().unwrap_or_default().to_owned(), d["start"]["line"].as_u64().unwrap_or(0)))
            .collect()
    }

    fn messages(&self, path: &str, rule: &str) -> Vec<String> {
        let json: Value = serde_json::from_str(&self.stdout).unwrap_or_default();
        let diagnostics = json["diagnostics"].as_array().cloned().unwrap_or_default();
        diagnostics
            .iter()
            .filter(|d| d["path"] == path && d["rule"] == rule)
            .map(|d| d["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

/// Runs `ddlint check --format json <args>` in a directory holding `files`.
fn check(files: &[(&str, &str)], args: &[&str]) -> Run {
    let dir = tempfile::Builder::new().prefix("ddlint-inputs").tempdir().expect("create a temporary directory");
    write(&dir, files);
    let output = Command::new(BIN)
        .current_dir(dir.path())
        .env_remove("RAYON_NUM_THREADS")
        .args(["check", "--format", "json"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run ddlint");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn write(dir: &TempDir, files: &[(&str, &str)]) {
    for (name, contents) in files {
        fs::write(dir.path().join(name), contents).expect("write the file");
    }
}

/// An initial-schema migration as pg_dump writes it: the data rows hold `;`, quotes,
/// backslashes and a `\.` that does not stand alone, and after the `\.` line an index is
/// built on `users`, a table the migration did not create (line 22), and one on the table it
/// did (line 23).
const PG_DUMP: &str = "--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SET lock_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);

CREATE TABLE public.audit_log (
    id bigint NOT NULL,
    note text
);

COPY public.audit_log (id, note) FROM stdin;
1\tfirst; DROP TABLE users;
2\tit's a \\N \"quoted\" 'row' $$ /* -- \\.
3\t\\\\.;
\\.

CREATE INDEX users_email ON public.users (email);
CREATE INDEX audit_log_note ON public.audit_log (note);
";

#[test]
fn statements_after_copy_data_are_linted() {
    for (name, sql) in [("dump.sql", PG_DUMP.to_owned()), ("dump_crlf.sql", PG_DUMP.replace('\n', "\r\n"))] {
        let run = check(&[(name, &sql)], &[name]);
        let findings = run.findings(name);
        assert!(!findings.iter().any(|(rule, _)| rule == "syntax-error"), "{name}: {findings:?}\n{run:#?}");
        let index: Vec<u64> =
            findings.iter().filter(|(rule, _)| rule == "create-index-non-concurrently").map(|f| f.1).collect();
        assert_eq!(index, [22], "{name}: {run:#?}");
        assert!(!findings.iter().any(|(rule, _)| rule == "psql-meta-command"), "{name}: {findings:?}");
        assert!(!run.stderr.contains("panicked"), "{run:#?}");
    }
}

#[test]
fn copy_data_without_an_end_is_noted() {
    let sql = "SET lock_timeout = '2s';\nCOPY users (id) FROM stdin;\n1\n2\nDROP INDEX users_email;\n";
    let run = check(&[("load.sql", sql)], &["load.sql"]);
    assert_eq!(run.findings("load.sql"), [("psql-meta-command".to_owned(), 2)], "{run:#?}");
    let [message] = run.messages("load.sql", "psql-meta-command").try_into().unwrap_or_default();
    assert_eq!(
        message,
        "`COPY … FROM stdin` has no `\\.` line to end its data, so the rest of the file was read as data and not linted"
    );
    assert_eq!(run.code, Some(0), "a note does not fail the run\n{run:#?}");
}

/// Uses `$%…%$` (which no built-in convention masks) for a table prefix and a column type;
/// the placeholder inside the string stays.
const PLACEHOLDERS: &str = "SET lock_timeout = '2s';
CREATE TABLE $%prefix%$accounts (id $%AUTO_INCREMENT_PRIMARY_KEY%$, note text DEFAULT '$%not replaced%$');
DROP INDEX $%prefix%$accounts_note;
";

#[test]
fn configured_placeholders_are_masked() {
    let sql = ("a.sql", PLACEHOLDERS);
    let run = check(&[sql, ("ddlint.toml", "placeholders = [\"$%*%$\"]\n")], &["a.sql"]);
    assert_eq!(run.findings("a.sql"), [("drop-index-non-concurrently".to_owned(), 3)], "{run:#?}");

    // Without the pattern the placeholders are SQL the parser rejects.
    let run = check(&[sql, ("ddlint.toml", "placeholders = [\"{{*}}\"]\n")], &["a.sql"]);
    let rules: Vec<String> = run.findings("a.sql").into_iter().map(|f| f.0).collect();
    assert!(rules.contains(&"syntax-error".to_owned()), "{run:#?}");
}

#[test]
fn bad_placeholder_patterns_are_config_errors() {
    for (config, error) in [
        (
            "placeholders = [\"{{name}}\"]\n",
            "error: ddlint.toml:1:16: placeholder pattern `{{name}}` has no `*` where the name goes, such as `{{*}}` for `{{table_prefix}}`",
        ),
        ("placeholders = [\"*%\"]\n", "error: ddlint.toml:1:16: placeholder pattern `*%` needs text before the `*`"),
        ("placeholder = [\"{{*}}\"]\n", "error: ddlint.toml:1:1: unknown field `placeholder` (did you mean `placeholders`?)"),
    ] {
        let run = check(&[("a.sql", "SELECT 1;\n"), ("ddlint.toml", config)], &["a.sql"]);
        assert_eq!(run.code, Some(2), "{config:?}\n{run:#?}");
        assert!(run.stderr.lines().any(|line| line.starts_with(error)), "{config:?}: expected {error:?}\n{run:#?}");
    }
}
