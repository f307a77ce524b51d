//! The GitHub Actions reporter: one workflow command per finding, which the runner turns
//! into an annotation on the pull request's diff.
//!
//! ```text
//! ::warning file=db/001.sql,line=3,col=1,endLine=3,endColumn=49,title=rename-column::renaming … — add the new column …
//! ```
//!
//! Errors become `::error`, warnings `::warning` and notes `::notice`. GitHub accepts
//! columns only when the annotation starts and ends on the same line, so a finding that
//! spans lines carries `line` and `endLine` alone. `endColumn` is inclusive, as in GitHub's
//! annotations API: it is the column of the span's last character.

use super::Run;
use ddlint_core::{Diagnostic, FileReport, Position, Severity};
use std::io::{self, Write};

pub fn render(run: &Run<'_>, out: &mut dyn Write) -> io::Result<()> {
    for file in run.files {
        let path = escape_property(&file.path);
        for diagnostic in &file.diagnostics {
            write_command(file, &path, diagnostic, out)?;
        }
    }
    Ok(())
}

fn write_command(file: &FileReport, path: &str, diagnostic: &Diagnostic, out: &mut dyn Write) -> io::Result<()> {
    let command = match diagnostic.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "notice",
    };
    let (start, last) = annotation_range(file, diagnostic);
    write!(out, "::{command} file={path},line={}", start.line)?;
    if start.line == last.line {
        write!(out, ",col={},endLine={},endColumn={}", start.column, last.line, last.column)?;
    } else {
        write!(out, ",endLine={}", last.line)?;
    }
    write!(out, ",title={}::{}", escape_property(diagnostic.rule), escape_data(&diagnostic.message))?;
    if let Some(help) = &diagnostic.help {
        write!(out, " — {}", escape_data(help))?;
    }
    out.write_all(b"\n")
}

/// The positions of the span's first and last characters. Line terminators at the end of
/// the span are left out, so that a span running to the end of its line does not spill into
/// the next one; an empty span is its own first and last character.
fn annotation_range(file: &FileReport, diagnostic: &Diagnostic) -> (Position, Position) {
    let text = &file.text;
    let span = diagnostic.span;
    let start = position(file, span.start);
    let Some(covered) = text.get(span.start..span.end) else {
        return (start, start);
    };
    let Some((offset, _)) = covered.trim_end_matches(['\r', '\n']).char_indices().next_back() else {
        return (start, start);
    };
    (start, position(file, span.start + offset))
}

/// The 1-based position of `offset` in the file. An unreadable file has no lines at all, so
/// its findings sit at 1:1.
fn position(file: &FileReport, offset: usize) -> Position {
    if file.line_index.line_count() == 0 {
        return Position { line: 1, column: 1 };
    }
    file.line_index.position(&file.text, offset)
}

/// Escapes a workflow command's message, which ends at the line's end.
fn escape_data(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => escaped.push_str("%25"),
            '\r' => escaped.push_str("%0D"),
            '\n' => escaped.push_str("%0A"),
            _ => escaped.push(c),
        }
    }
    escaped
}

/// Escapes a property value, which also ends at `,` and, in front of the message, `::`.
fn escape_property(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => escaped.push_str("%25"),
            '\r' => escaped.push_str("%0D"),
            '\n' => escaped.push_str("%0A"),
            ':' => escaped.push_str("%3A"),
            ',' => escaped.push_str("%2C"),
            _ => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap is a failed test.
mod tests {
    use super::*;
    use ddlint_core::{lint_file, Settings, Span};

    fn run_of(files: &[FileReport]) -> Run<'_> {
        Run { files, color: false, pg_version: 15, ..Run::default() }
    }

    fn render_to_string(files: &[FileReport]) -> String {
        let mut out = Vec::new();
        render(&run_of(files), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Renders one hand-made diagnostic over `text`.
    fn render_one(path: &str, text: &str, diagnostic: Diagnostic) -> String {
        let mut report = lint_file(path, text.as_bytes(), &Settings { disabled: all_rules(), ..Settings::default() });
        assert!(report.diagnostics.is_empty());
        report.diagnostics.push(diagnostic);
        render_to_string(std::slice::from_ref(&report))
    }

    fn all_rules() -> Vec<String> {
        ddlint_core::registry::all().iter().map(|r| r.id.to_owned()).collect()
    }

    #[test]
    fn escapes_data() {
        assert_eq!(escape_data("100% done\r\nnext: a,b"), "100%25 done%0D%0Anext: a,b");
        assert_eq!(escape_data("`é` — ok"), "`é` — ok");
    }

    #[test]
    fn escapes_properties() {
        assert_eq!(escape_property("C:\\db\\a,b%.sql"), "C%3A\\db\\a%2Cb%25.sql");
        assert_eq!(escape_property("line\nbreak\r"), "line%0Abreak%0D");
        assert_eq!(escape_property("db/001_init.sql"), "db/001_init.sql");
    }

    #[test]
    fn severities_map_to_commands() {
        let text = "SELECT 1;\n";
        for (severity, command) in
            [(Severity::Error, "::error "), (Severity::Warning, "::warning "), (Severity::Note, "::notice ")]
        {
            let out = render_one("a.sql", text, Diagnostic::new("syntax-error", severity, Span::new(0, 6), "m"));
            assert!(out.starts_with(command), "{out}");
        }
    }

    #[test]
    fn single_line_span_has_inclusive_columns() {
        let text = "SELECT 1;\nALTER TABLE t RENAME COLUMN a TO b;\n";
        let start = text.find("RENAME").unwrap();
        let diagnostic =
            Diagnostic::new("rename-column", Severity::Warning, Span::new(start, start + 6), "renaming `a`")
                .with_help("add a column, copy, then drop");
        assert_eq!(
            render_one("db/001.sql", text, diagnostic),
            "::warning file=db/001.sql,line=2,col=15,endLine=2,endColumn=20,title=rename-column::renaming `a` — add a column, copy, then drop\n"
        );
    }

    #[test]
    fn multi_line_span_has_no_columns() {
        let text = "ALTER TABLE t\n  RENAME COLUMN a TO b;\n";
        let diagnostic = Diagnostic::new("rename-column", Severity::Error, Span::new(0, text.len()), "m");
        assert_eq!(
            render_one("a.sql", text, diagnostic),
            "::error file=a.sql,line=1,endLine=2,title=rename-column::m\n"
        );
    }

    #[test]
    fn trailing_newline_does_not_reach_the_next_line() {
        let text = "SELECT 1;\r\nSELECT 2;\r\n";
        let diagnostic = Diagnostic::new("syntax-error", Severity::Error, Span::new(0, 11), "m");
        assert_eq!(
            render_one("a.sql", text, diagnostic),
            "::error file=a.sql,line=1,col=1,endLine=1,endColumn=9,title=syntax-error::m\n"
        );
    }

    #[test]
    fn empty_span_and_multibyte_columns() {
        let text = "SELECT 'é€', 1;\n";
        let at = text.find(", 1").unwrap();
        let diagnostic = Diagnostic::new("syntax-error", Severity::Error, Span::empty(at), "m");
        assert_eq!(
            render_one("a.sql", text, diagnostic),
            "::error file=a.sql,line=1,col=12,endLine=1,endColumn=12,title=syntax-error::m\n"
        );
        let last = text.find('€').unwrap();
        let diagnostic = Diagnostic::new("syntax-error", Severity::Error, Span::new(8, last + '€'.len_utf8()), "m");
        assert!(render_one("a.sql", text, diagnostic).contains(",col=9,endLine=1,endColumn=10,"));
    }

    #[test]
    fn escapes_message_help_and_path() {
        let diagnostic = Diagnostic::new("syntax-error", Severity::Error, Span::new(0, 1), "50% of\nlines")
            .with_help("fix: this, then\r\nthat");
        assert_eq!(
            render_one("odd, name:1.sql", "x", diagnostic),
            "::error file=odd%2C name%3A1.sql,line=1,col=1,endLine=1,endColumn=1,title=syntax-error::50%25 of%0Alines — fix: this, then%0D%0Athat\n"
        );
    }

    #[test]
    fn renders_real_findings_in_file_order() {
        let settings = Settings::default();
        let reports = [
            lint_file("a.sql", b"\\set ON_ERROR_STOP on\nSELEC 1;\n", &settings),
            lint_file("b.sql", b"SELECT 1;\n", &settings),
        ];
        let out = render_to_string(&reports);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), reports.iter().map(|r| r.diagnostics.len()).sum::<usize>(), "{out}");
        assert!(lines.contains(&"::notice file=a.sql,line=1,col=1,endLine=1,endColumn=21,title=psql-meta-command::psql meta-command `\\set` is not SQL and was skipped"), "{out}");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("::error file=a.sql,line=2,col=1,") && l.contains("title=syntax-error::")),
            "{out}"
        );
    }

    #[test]
    fn empty_run_prints_nothing() {
        assert_eq!(render_to_string(&[]), "");
    }
}
