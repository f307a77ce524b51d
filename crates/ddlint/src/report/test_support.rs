//! Helpers the reporters' unit tests share.

use super::Run;
use ddlint_core::{lint_file, Diagnostic, FileReport, Settings};
use std::io::{self, Write};

/// The report for `sql` under default settings.
pub fn lint(path: &str, sql: &str) -> FileReport {
    lint_file(path, sql.as_bytes(), &Settings::default())
}

/// What `render` prints for these files, in plain mode for PostgreSQL 15.
pub fn render_with(render: fn(&Run<'_>, &mut dyn Write) -> io::Result<()>, files: &[FileReport]) -> String {
    let run = Run { files, color: false, pg_version: 15, ..Run::default() };
    let mut out = Vec::new();
    render(&run, &mut out).expect("rendering into memory cannot fail");
    String::from_utf8(out).expect("reporters write UTF-8")
}

/// A file whose only finding is the hand-made `diagnostic`.
pub fn with_diagnostic(path: &str, text: &str, diagnostic: Diagnostic) -> FileReport {
    let all = ddlint_core::registry::all().iter().map(|r| r.id.to_owned()).collect();
    let mut report = lint_file(path, text.as_bytes(), &Settings { disabled: all, ..Settings::default() });
    assert!(report.diagnostics.is_empty());
    report.diagnostics.push(diagnostic);
    report
}
