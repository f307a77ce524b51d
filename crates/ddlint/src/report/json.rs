//! The JSON reporter: one versioned document for scripts and editors.
//!
//! The schema is described in `docs/output-formats.md`. Its `version` changes only when a
//! field is removed or changes meaning; new fields may appear in any release.
//!
//! The document is written as it is produced, one diagnostic per line, so memory stays
//! constant in the number of findings and the output can be read line by line as well.

use super::{stats, Run};
use ddlint_core::{FileReport, Position, Severity};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// The schema version. Bump it when a field is removed or changes meaning.
const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Header<'a> {
    version: u32,
    tool: Tool<'a>,
    files_checked: usize,
    summary: Summary,
}

#[derive(Serialize)]
struct Tool<'a> {
    name: &'a str,
    version: &'a str,
}

#[derive(Serialize, Default)]
struct Summary {
    errors: usize,
    warnings: usize,
    notes: usize,
    /// Findings by rule id, in id order; only rules with findings appear.
    rules: BTreeMap<&'static str, RuleSummary>,
}

#[derive(Serialize)]
struct RuleSummary {
    /// How many findings the rule raised.
    count: usize,
    /// In how many files.
    files: usize,
}

#[derive(Serialize)]
struct Diagnostic<'a> {
    path: &'a str,
    rule: &'a str,
    severity: &'a str,
    message: &'a str,
    help: Option<&'a str>,
    start: Position,
    /// The position just after the last character of the span.
    end: Position,
    /// Byte offsets into the file, end exclusive.
    byte_range: [usize; 2],
    /// The statement's safe form, where the rule has one for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<Fix<'a>>,
    /// Why a rule that has fixes has none for this statement.
    #[serde(skip_serializing_if = "Option::is_none")]
    no_fix: Option<&'a str>,
    /// The schema objects the finding is about.
    #[serde(skip_serializing_if = "Objects::is_empty")]
    objects: Objects,
    /// The phased change (expand, backfill, contract) that makes the statement safe, where no
    /// rewrite of it can.
    #[serde(skip_serializing_if = "Option::is_none")]
    phased: Option<&'static str>,
    /// The `ddlint plan` command that writes those phases, where it can.
    #[serde(skip_serializing_if = "Option::is_none")]
    plan: Option<&'a str>,
    /// What the lock model predicts for the statement, the facts the finding stands on.
    #[serde(skip_serializing_if = "Option::is_none")]
    effects: Option<Effects>,
}

#[derive(Serialize, Default, PartialEq)]
struct Objects {
    #[serde(skip_serializing_if = "Option::is_none")]
    relation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    constraint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<String>,
}

impl Objects {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

#[derive(Serialize)]
struct Effects {
    /// The strongest lock per relation, in the order the statement takes them.
    locks: Vec<Lock>,
    /// Tables whose storage the statement replaces.
    rewrites: Vec<String>,
    /// Tables it reads in full under its lock.
    scans: Vec<String>,
    /// Tables it may rewrite or scan, depending on what the history does not show.
    may_rewrite: Vec<String>,
    may_scan: Vec<String>,
}

#[derive(Serialize)]
struct Lock {
    relation: String,
    /// The lock mode as SQL names it: `ACCESS EXCLUSIVE`.
    mode: &'static str,
}

#[derive(Serialize)]
struct Fix<'a> {
    title: &'a str,
    /// `safe` or `unsafe`.
    applicability: &'a str,
    edits: Vec<Edit<'a>>,
    /// Migrations to add right after the file, in order; `ddlint check --diff` shows their
    /// file names in the framework's conventions.
    new_migrations: &'a [ddlint_core::fix::NewMigration],
}

#[derive(Serialize)]
struct Edit<'a> {
    start: Position,
    end: Position,
    byte_range: [usize; 2],
    content: &'a str,
}

pub fn render(run: &Run<'_>, out: &mut dyn Write) -> io::Result<()> {
    let header = Header {
        version: SCHEMA_VERSION,
        tool: Tool { name: "ddlint", version: env!("CARGO_PKG_VERSION") },
        files_checked: run.files.len(),
        summary: summarize(run.files),
    };
    // The header is serialized as an object and reopened, so that the field order is fixed
    // by the struct and `diagnostics` can still be streamed after it.
    let header = serde_json::to_string(&header)?;
    out.write_all(&header.as_bytes()[..header.len() - 1])?;
    out.write_all(b",\"diagnostics\":[")?;

    let mut first = true;
    for file in run.files {
        for diagnostic in &file.diagnostics {
            out.write_all(if first { b"\n" } else { b",\n" })?;
            first = false;
            serde_json::to_writer(&mut *out, &to_json(file, diagnostic))?;
        }
    }
    out.write_all(if first { b"]}\n" } else { b"\n]}\n" })?;
    Ok(())
}

fn summarize(files: &[FileReport]) -> Summary {
    let mut summary = Summary::default();
    for diagnostic in files.iter().flat_map(|f| &f.diagnostics) {
        match diagnostic.severity {
            Severity::Error => summary.errors += 1,
            Severity::Warning => summary.warnings += 1,
            Severity::Note => summary.notes += 1,
        }
    }
    summary.rules = stats::tally(files, |d| d.rule)
        .into_iter()
        .map(|(rule, tally)| (rule, RuleSummary { count: tally.count, files: tally.files }))
        .collect();
    summary
}

fn to_json<'a>(file: &'a FileReport, diagnostic: &'a ddlint_core::Diagnostic) -> Diagnostic<'a> {
    let span = diagnostic.span;
    Diagnostic {
        path: &file.path,
        rule: diagnostic.rule,
        severity: diagnostic.severity.as_str(),
        message: &diagnostic.message,
        help: diagnostic.help.as_deref(),
        start: position(file, span.start),
        end: position(file, span.end),
        byte_range: [span.start, span.end],
        fix: diagnostic.fix.as_ref().map(|fix| Fix {
            title: &fix.title,
            applicability: fix.applicability.as_str(),
            edits: fix
                .edits
                .iter()
                .map(|e| Edit {
                    start: position(file, e.span.start),
                    end: position(file, e.span.end),
                    byte_range: [e.span.start, e.span.end],
                    content: &e.replacement,
                })
                .collect(),
            new_migrations: &fix.new_migrations,
        }),
        no_fix: diagnostic.no_fix.as_deref(),
        objects: Objects {
            relation: diagnostic.objects.relation.as_ref().map(ToString::to_string),
            column: diagnostic.objects.column.clone(),
            constraint: diagnostic.objects.constraint.clone(),
            index: diagnostic.objects.index.as_ref().map(ToString::to_string),
        },
        phased: diagnostic.phased.map(|p| p.as_str()),
        plan: diagnostic.plan.as_deref(),
        effects: diagnostic.effects.as_deref().map(|effects| {
            let names = |list: &[ddlint_core::names::RelationName]| list.iter().map(ToString::to_string).collect();
            Effects {
                locks: effects
                    .locks
                    .iter()
                    .map(|l| Lock { relation: l.relation.to_string(), mode: l.mode.sql_name() })
                    .collect(),
                rewrites: names(&effects.rewrites),
                scans: names(&effects.scans),
                may_rewrite: names(&effects.may_rewrite),
                may_scan: names(&effects.may_scan),
            }
        }),
    }
}

/// The 1-based position of `offset` in the file. An unreadable file has no lines at all, so
/// its findings sit at 1:1.
fn position(file: &FileReport, offset: usize) -> Position {
    if file.line_index.line_count() == 0 {
        return Position { line: 1, column: 1 };
    }
    file.line_index.position(&file.text, offset)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap is a failed test.
mod tests {
    use super::*;
    use ddlint_core::{lint_file, Settings};
    use serde_json::{json, Value};

    fn run_of(files: &[FileReport]) -> Run<'_> {
        Run { files, color: false, pg_version: 15, ..Run::default() }
    }

    /// Lints each `(path, sql)` and returns the parsed JSON document.
    fn render_json(files: &[(&str, &str)]) -> Value {
        let reports: Vec<FileReport> =
            files.iter().map(|(path, sql)| lint_file(path, sql.as_bytes(), &Settings::default())).collect();
        let mut out = Vec::new();
        render(&run_of(&reports), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with("]}\n"), "{text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("invalid JSON ({e}):\n{text}"))
    }

    /// The diagnostics of `rule` in the document.
    fn of_rule<'a>(doc: &'a Value, rule: &str) -> Vec<&'a Value> {
        doc["diagnostics"].as_array().unwrap().iter().filter(|d| d["rule"] == rule).collect()
    }

    #[test]
    fn empty_run_is_a_complete_document() {
        let doc = render_json(&[]);
        assert_eq!(
            doc,
            json!({
                "version": 1,
                "tool": {"name": "ddlint", "version": env!("CARGO_PKG_VERSION")},
                "files_checked": 0,
                "summary": {"errors": 0, "warnings": 0, "notes": 0, "rules": {}},
                "diagnostics": [],
            })
        );
    }

    #[test]
    fn findings_carry_their_objects_lock_facts_and_phased_change() {
        let sql = "SET lock_timeout = '2s';\nALTER TABLE app.users RENAME COLUMN name TO full_name;\n";
        let doc = render_json(&[("a.sql", sql)]);
        let rename = of_rule(&doc, "rename-column");
        assert_eq!(rename.len(), 1, "{doc:#}");
        assert_eq!(rename[0]["objects"], json!({"relation": "app.users", "column": "name"}));
        assert_eq!(rename[0]["phased"], "rename-column");
        assert_eq!(rename[0]["effects"]["locks"], json!([{"relation": "app.users", "mode": "ACCESS EXCLUSIVE"}]));
        assert_eq!(rename[0]["effects"]["rewrites"], json!([]));

        let doc = render_json(&[("b.sql", "SET lock_timeout = '2s';\nCREATE INDEX orders_at ON orders (at);\n")]);
        let index = of_rule(&doc, "create-index-non-concurrently");
        assert_eq!(index[0]["objects"], json!({"relation": "orders", "index": "orders_at"}), "{doc:#}");
        assert_eq!(index[0].get("phased"), None);
        assert_eq!(index[0]["effects"]["locks"][0]["mode"], "SHARE");
    }

    #[test]
    fn clean_file_counts_as_checked() {
        let doc = render_json(&[("ok.sql", "SET lock_timeout = '2s';\nSELECT 1;\n")]);
        assert_eq!(doc["files_checked"], 1);
        assert_eq!(doc["diagnostics"], json!([]));
    }

    #[test]
    fn positions_are_one_based_and_end_exclusive() {
        let sql = "SELECT 1;\nSELEC 2;\n";
        let doc = render_json(&[("a.sql", sql)]);
        let errors = of_rule(&doc, "syntax-error");
        assert_eq!(errors.len(), 1, "{doc:#}");
        let d = errors[0];
        assert_eq!(d["path"], "a.sql");
        assert_eq!(d["severity"], "error");
        assert_eq!(d["help"], Value::Null);
        let [start, end] =
            [d["byte_range"][0].as_u64().unwrap() as usize, d["byte_range"][1].as_u64().unwrap() as usize];
        assert_eq!(&sql[start..end], "SELEC", "{d}");
        assert_eq!(d["start"], json!({"line": 2, "column": 1}));
        assert_eq!(d["end"], json!({"line": 2, "column": 6}));
        assert_eq!(doc["summary"]["errors"], 1);
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        // `é` and `€` are two and three bytes long but one column each.
        let sql = "SELECT 'é€' AS x; SELEC 1;\n";
        let doc = render_json(&[("m.sql", sql)]);
        let d = of_rule(&doc, "syntax-error")[0];
        let start = d["byte_range"][0].as_u64().unwrap() as usize;
        assert_eq!(&sql[start..start + 5], "SELEC");
        assert_eq!(start, 21);
        assert_eq!(d["start"], json!({"line": 1, "column": 19}));
        assert_eq!(d["end"], json!({"line": 1, "column": 24}));
    }

    #[test]
    fn crlf_files_keep_byte_offsets_and_lines() {
        let sql = "SELECT 1;\r\n\r\nSELEC 2;\r\n";
        let doc = render_json(&[("crlf.sql", sql)]);
        let d = of_rule(&doc, "syntax-error")[0];
        assert_eq!(d["byte_range"], json!([13, 18]));
        assert_eq!(d["start"], json!({"line": 3, "column": 1}));
        assert_eq!(d["end"], json!({"line": 3, "column": 6}));
    }

    #[test]
    fn notes_help_and_file_order() {
        let doc = render_json(&[
            ("a.sql", "\\set ON_ERROR_STOP on\nSELECT 1;\n"),
            ("b.sql", "ALTER TABLE users RENAME COLUMN name TO full_name;\n"),
        ]);
        assert_eq!(doc["files_checked"], 2);
        let note = of_rule(&doc, "psql-meta-command")[0];
        assert_eq!(note["severity"], "note");
        assert_eq!(note["path"], "a.sql");
        assert_eq!(note["start"], json!({"line": 1, "column": 1}));
        assert_eq!(doc["summary"]["notes"], 1);
        assert_eq!(
            doc["summary"]["rules"],
            json!({
                "missing-lock-timeout": {"count": 1, "files": 1},
                "psql-meta-command": {"count": 1, "files": 1},
                "rename-column": {"count": 1, "files": 1},
            })
        );

        let rename = of_rule(&doc, "rename-column");
        assert_eq!(rename.len(), 1, "{doc:#}");
        assert_eq!(rename[0]["path"], "b.sql");
        assert!(rename[0]["help"].is_string(), "{doc:#}");

        let paths: Vec<&str> =
            doc["diagnostics"].as_array().unwrap().iter().map(|d| d["path"].as_str().unwrap()).collect();
        let mut sorted = paths.clone();
        sorted.sort();
        assert_eq!(paths, sorted);
    }

    #[test]
    fn unreadable_file_points_at_the_start() {
        let report = lint_file("bin.sql", b"\xff\xfeS\0E\0", &Settings::default());
        let mut out = Vec::new();
        render(&run_of(std::slice::from_ref(&report)), &mut out).unwrap();
        let doc: Value = serde_json::from_slice(&out).unwrap();
        let d = of_rule(&doc, "unreadable-file")[0];
        assert_eq!(d["start"], json!({"line": 1, "column": 1}));
        assert_eq!(d["end"], json!({"line": 1, "column": 1}));
        assert_eq!(d["byte_range"], json!([0, 0]));
    }

    #[test]
    fn one_diagnostic_per_line() {
        let reports = [lint_file("a.sql", b"SELEC 1;\nSELEC 2;\n", &Settings::default())];
        let mut out = Vec::new();
        render(&run_of(&reports), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2 + reports[0].diagnostics.len(), "{text}");
        assert!(lines[1].starts_with("{\"path\":\"a.sql\",\"rule\":"), "{text}");
    }
}
