//! The GitLab Code Quality reporter: a JSON array of Code Climate issues, which GitLab shows
//! in the merge request widget and the changes tab when a job saves it as the
//! `artifacts:reports:codequality` report.
//!
//! ```json
//! [
//! {"type":"issue","check_name":"rename-column","description":"renaming … — add …","severity":"minor","fingerprint":"8ce5979322c1eee2","location":{"path":"db/001.sql","lines":{"begin":2,"end":2}}}
//! ]
//! ```
//!
//! Severities: error → `critical`, warning → `minor`, note → `info`. Paths are relative to
//! the working directory, which in a GitLab job is the repository's root. The fingerprint is
//! the SARIF reporter's (see `fingerprint.rs`), over this path.

use super::fingerprint::Occurrences;
use super::location::first_and_last;
use super::sarif::normalize;
use super::Run;
use ddlint_core::Severity;
use serde::Serialize;
use std::io::{self, Write};
use std::path::{Component, Path};

#[derive(Serialize)]
struct Issue<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    check_name: &'a str,
    description: String,
    severity: &'static str,
    fingerprint: String,
    location: Location<'a>,
}

#[derive(Serialize)]
struct Location<'a> {
    path: &'a str,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: usize,
    end: usize,
}

pub fn render(run: &Run<'_>, out: &mut dyn Write) -> io::Result<()> {
    let root = std::env::current_dir().ok();
    render_with_root(run, root.as_deref(), out)
}

/// Renders with paths relative to `root`, the directory the paths were given from.
fn render_with_root(run: &Run<'_>, root: Option<&Path>, out: &mut dyn Write) -> io::Result<()> {
    let root = root.map(normalize);
    out.write_all(b"[")?;
    let mut first = true;
    for file in run.files {
        let path = repo_path(&file.path, root.as_deref());
        let mut occurrences = Occurrences::default();
        for diagnostic in &file.diagnostics {
            let statement = diagnostic.statement.unwrap_or(diagnostic.span);
            let fingerprint = occurrences.next(diagnostic.rule, &path, &file.text, statement);
            let (begin, end) = first_and_last(file, diagnostic.span);
            let description = match &diagnostic.help {
                Some(help) => format!("{} — {help}", diagnostic.message),
                None => diagnostic.message.clone(),
            };
            let issue = Issue {
                kind: "issue",
                check_name: diagnostic.rule,
                description,
                severity: severity(diagnostic.severity),
                fingerprint: format!("{fingerprint:016x}"),
                location: Location { path: &path, lines: Lines { begin: begin.line, end: end.line } },
            };
            out.write_all(if first { b"\n" } else { b",\n" })?;
            first = false;
            serde_json::to_writer(&mut *out, &issue)?;
        }
    }
    out.write_all(if first { b"]\n" } else { b"\n]\n" })
}

/// GitLab's severities are `info`, `minor`, `major`, `critical` and `blocker`. An error is
/// `critical`: it breaks a deploy or the running application. A warning is `minor`: safe
/// to merge only with care. `blocker` is left for nothing, since ddlint cannot know that a
/// finding blocks everything.
fn severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "critical",
        Severity::Warning => "minor",
        Severity::Note => "info",
    }
}

/// The file's path relative to `root` with forward slashes, as GitLab wants it; a file
/// outside `root` keeps its absolute path. Paths are cleaned lexically, as for SARIF.
fn repo_path(path: &str, root: Option<&Path>) -> String {
    let path = Path::new(path);
    let cleaned = match root {
        Some(root) => {
            let absolute = normalize(&root.join(path));
            match absolute.strip_prefix(root) {
                Ok(relative) if !relative.as_os_str().is_empty() => relative.to_path_buf(),
                _ => absolute,
            }
        }
        None => normalize(path),
    };
    let mut out = String::new();
    for component in cleaned.components() {
        match component {
            Component::RootDir => out.push('/'),
            Component::Prefix(prefix) => out.push_str(&prefix.as_os_str().to_string_lossy()),
            other => {
                if !out.is_empty() && !out.ends_with('/') {
                    out.push('/');
                }
                out.push_str(&other.as_os_str().to_string_lossy());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::fingerprint::fingerprint_base;
    use super::*;
    use ddlint_core::{lint_file, FileReport, Settings, Span};
    use serde_json::{json, Value};

    const ROOT: &str = "/home/dev/app";

    use crate::report::test_support::lint;

    fn render_value(files: &[FileReport]) -> Value {
        let run = Run { files, color: false, pg_version: 15, ..Run::default() };
        let mut out = Vec::new();
        render_with_root(&run, Some(Path::new(ROOT)), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with("]\n"), "{text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("invalid JSON ({e}):\n{text}"))
    }

    fn issues(doc: &Value) -> &Vec<Value> {
        doc.as_array().unwrap()
    }

    #[test]
    fn empty_run_is_an_empty_array() {
        assert_eq!(render_value(&[]), json!([]));
        assert_eq!(render_value(&[lint("ok.sql", "SELECT 1;\n")]), json!([]));
    }

    #[test]
    fn issue_has_every_field_gitlab_reads() {
        let sql = "SET lock_timeout = '2s';\nALTER TABLE users\n  RENAME COLUMN name TO full_name;\n";
        let doc = render_value(&[lint("./db/001.sql", sql)]);
        let issue = &issues(&doc)[0];
        assert_eq!(issues(&doc).len(), 1, "{doc:#}");
        assert_eq!(issue["type"], "issue");
        assert_eq!(issue["check_name"], "rename-column");
        assert_eq!(issue["severity"], "minor");
        assert_eq!(issue["location"]["path"], "db/001.sql");
        let lines = &issue["location"]["lines"];
        assert!(lines["begin"].as_u64().unwrap() >= 2, "{issue}");
        assert!(lines["end"].as_u64().unwrap() >= lines["begin"].as_u64().unwrap(), "{issue}");
        let description = issue["description"].as_str().unwrap();
        assert!(description.starts_with("renaming `users.name`") && description.contains(" — "), "{description}");
        let fingerprint = issue["fingerprint"].as_str().unwrap();
        assert_eq!(fingerprint.len(), 16);
        assert!(fingerprint.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }

    #[test]
    fn severities_map_to_gitlab_levels() {
        assert_eq!(severity(Severity::Error), "critical");
        assert_eq!(severity(Severity::Warning), "minor");
        assert_eq!(severity(Severity::Note), "info");
        let doc = render_value(&[lint("a.sql", "\\set ON_ERROR_STOP on\nSELEC 1;\n")]);
        let by_rule = |rule: &str| issues(&doc).iter().find(|i| i["check_name"] == rule).unwrap().clone();
        assert_eq!(by_rule("psql-meta-command")["severity"], "info");
        assert_eq!(by_rule("syntax-error")["severity"], "critical");
        assert_eq!(by_rule("syntax-error")["location"]["lines"], json!({"begin": 2, "end": 2}));
    }

    #[test]
    fn fingerprint_follows_the_documented_recipe() {
        let text = "ALTER TABLE users RENAME COLUMN name TO full_name;\n";
        let report = lint("db/001.sql", text);
        let statement = report.diagnostics.iter().find(|d| d.rule == "rename-column").unwrap().statement.unwrap();
        assert_eq!(statement, Span::new(0, text.find(';').unwrap()));
        let doc = render_value(std::slice::from_ref(&report));
        let issue = issues(&doc).iter().find(|i| i["check_name"] == "rename-column").unwrap();
        let expected = fingerprint_base("rename-column", "db/001.sql", text, statement).finish(0);
        assert_eq!(issue["fingerprint"], format!("{expected:016x}"));
    }

    #[test]
    fn fingerprints_survive_line_shifts_and_tell_duplicates_apart() {
        let sql = "SELEC 1;\nSELEC 1;\n";
        let before = render_value(&[lint("a.sql", sql)]);
        let after = render_value(&[lint("a.sql", &format!("\n\n{}", sql.replace(' ', "\n  ")))]);
        let prints = |doc: &Value| issues(doc).iter().map(|i| i["fingerprint"].clone()).collect::<Vec<_>>();
        assert_eq!(prints(&before).len(), 2, "{before:#}");
        assert_ne!(prints(&before)[0], prints(&before)[1]);
        assert_eq!(prints(&before), prints(&after));
        let other = render_value(&[lint("b.sql", sql)]);
        assert_ne!(prints(&before)[0], prints(&other)[0]);
    }

    #[test]
    fn paths_are_relative_to_the_root() {
        let root = Some(Path::new(ROOT));
        assert_eq!(repo_path("db/001.sql", root), "db/001.sql");
        assert_eq!(repo_path("./db/../db/001.sql", root), "db/001.sql");
        assert_eq!(repo_path("/home/dev/app/db/my file.sql", root), "db/my file.sql");
        assert_eq!(repo_path("/srv/other.sql", root), "/srv/other.sql");
        assert_eq!(repo_path("../x.sql", root), "/home/dev/x.sql");
        assert_eq!(repo_path("./x.sql", None), "x.sql");
    }

    #[test]
    fn unreadable_file_is_at_line_one() {
        let doc = render_value(&[lint_file("bin.sql", b"\xff\xfeS\0", &Settings::default())]);
        let issue = issues(&doc).iter().find(|i| i["check_name"] == "unreadable-file").unwrap();
        assert_eq!(issue["location"]["lines"], json!({"begin": 1, "end": 1}));
        assert_eq!(issue["severity"], "critical");
    }
}
