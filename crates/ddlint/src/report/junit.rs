//! The JUnit XML reporter, for CI servers that show test reports: Jenkins, GitLab, Azure
//! Pipelines, CircleCI, Buildkite and others.
//!
//! Each linted file is one test case (`classname="ddlint"`, `name` the path). Every error or
//! warning is a `<failure>`; notes, which never fail a run, are listed in the test case's
//! `<system-out>`; a file that could not be read at all has an `<error>` instead. The document
//! is valid against the Jenkins/Ant `junit-4.xsd` schema, which the test suite checks.

use super::location::position;
use super::Run;
use ddlint_core::{Diagnostic, FileReport, Severity};
use std::io::{self, Write};

/// Where the rules' pages live, for the link in each failure.
const RULES_URL: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/blob/main/rules/");

/// How a test case ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Passed,
    Failed,
    Errored,
}

fn outcome(file: &FileReport) -> Outcome {
    if file.unreadable {
        Outcome::Errored
    } else if file.diagnostics.iter().any(|d| d.severity > Severity::Note) {
        Outcome::Failed
    } else {
        Outcome::Passed
    }
}

pub fn render(run: &Run<'_>, out: &mut dyn Write) -> io::Result<()> {
    let tests = run.files.len();
    let (mut failures, mut errors) = (0, 0);
    for file in run.files {
        match outcome(file) {
            Outcome::Passed => {}
            Outcome::Failed => failures += 1,
            Outcome::Errored => errors += 1,
        }
    }
    // `tests`, `failures` and `errors` count test cases, so that a file with many findings
    // is still one failed test and passed = tests - failures - errors holds.
    let counts = format!("tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\"");
    out.write_all(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")?;
    writeln!(out, "<testsuites name=\"ddlint\" {counts}>")?;
    writeln!(out, "  <testsuite name=\"ddlint\" {counts} skipped=\"0\">")?;
    writeln!(out, "    <properties>")?;
    writeln!(out, "      <property name=\"ddlint.version\" value=\"{}\"/>", env!("CARGO_PKG_VERSION"))?;
    writeln!(out, "      <property name=\"pg-version\" value=\"{}\"/>", run.pg_version)?;
    writeln!(out, "    </properties>")?;
    for file in run.files {
        write_case(file, out)?;
    }
    out.write_all(b"  </testsuite>\n</testsuites>\n")
}

fn write_case(file: &FileReport, out: &mut dyn Write) -> io::Result<()> {
    let name = escape(&file.path, true);
    if file.diagnostics.is_empty() {
        return writeln!(out, "    <testcase classname=\"ddlint\" name=\"{name}\"/>");
    }
    writeln!(out, "    <testcase classname=\"ddlint\" name=\"{name}\">")?;
    // The schema wants errors before failures before output.
    let element = if file.unreadable { "error" } else { "failure" };
    for diagnostic in file.diagnostics.iter().filter(|d| d.severity > Severity::Note) {
        write!(
            out,
            "      <{element} message=\"{}\" type=\"{}\">",
            escape(&diagnostic.message, true),
            escape(diagnostic.rule, true)
        )?;
        out.write_all(escape(&body(file, diagnostic), false).as_bytes())?;
        writeln!(out, "</{element}>")?;
    }
    let notes: Vec<&Diagnostic> = file.diagnostics.iter().filter(|d| d.severity == Severity::Note).collect();
    if !notes.is_empty() {
        out.write_all(b"      <system-out>")?;
        for note in notes {
            out.write_all(escape(&body(file, note), false).as_bytes())?;
        }
        out.write_all(b"</system-out>\n")?;
    }
    out.write_all(b"    </testcase>\n")
}

/// The text of a failure: where, what, what to do instead, and the rule's page.
///
/// ```text
/// db/001.sql:2:1: warning[rename-column]: renaming …
/// help: add the new column …
/// see: https://github.com/ddlint/ddlint/blob/main/rules/rename-column.md
/// ```
fn body(file: &FileReport, diagnostic: &Diagnostic) -> String {
    let at = position(file, diagnostic.span.start);
    let mut text = format!(
        "{}:{}:{}: {}[{}]: {}\n",
        file.path, at.line, at.column, diagnostic.severity, diagnostic.rule, diagnostic.message
    );
    if let Some(help) = &diagnostic.help {
        text.push_str(&format!("help: {help}\n"));
    }
    text.push_str(&format!("see: {RULES_URL}{}.md\n", diagnostic.rule));
    text
}

/// Escapes text for XML 1.0 character data, or for a double-quoted attribute value.
///
/// In attributes, tabs and line breaks are written as character references so that parsers
/// keep them instead of normalizing them to spaces. XML 1.0 cannot carry the other control
/// characters (below U+0020) nor U+FFFE and U+FFFF at all, not even as references: each is
/// replaced by a visible `\u{…}` escape.
fn escape(text: &str, attribute: bool) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' if attribute => escaped.push_str("&quot;"),
            '\t' if attribute => escaped.push_str("&#9;"),
            '\n' if attribute => escaped.push_str("&#10;"),
            // A literal CR is turned into LF by every parser, in content as in attributes.
            '\r' => escaped.push_str("&#13;"),
            '\t' | '\n' => escaped.push(c),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => escaped.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            _ => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use ddlint_core::{lint_file, Settings, Span};

    use crate::report::test_support::{lint, with_diagnostic};

    fn render_files(files: &[FileReport]) -> String {
        crate::report::test_support::render_with(render, files)
    }

    #[test]
    fn escapes_markup_quotes_and_control_characters() {
        assert_eq!(escape("a<b>&\"c\"", true), "a&lt;b&gt;&amp;&quot;c&quot;");
        assert_eq!(escape("a<b>&\"c\"", false), "a&lt;b&gt;&amp;\"c\"");
        assert_eq!(escape("l1\nl2\tx\r\n", true), "l1&#10;l2&#9;x&#13;&#10;");
        assert_eq!(escape("l1\nl2\tx\r\n", false), "l1\nl2\tx&#13;\n");
        assert_eq!(escape("nul\0 esc\u{1b} bell\u{7}", false), "nul\\u{0} esc\\u{1b} bell\\u{7}");
        assert_eq!(escape("\u{fffe}\u{ffff}é€😀\u{7f}", true), "\\u{fffe}\\u{ffff}é€😀\u{7f}");
    }

    #[test]
    fn empty_run_is_a_complete_document() {
        assert_eq!(
            render_files(&[]),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <testsuites name=\"ddlint\" tests=\"0\" failures=\"0\" errors=\"0\">\n  \
             <testsuite name=\"ddlint\" tests=\"0\" failures=\"0\" errors=\"0\" skipped=\"0\">\n    \
             <properties>\n      \
             <property name=\"ddlint.version\" value=\""
                .to_owned()
                + env!("CARGO_PKG_VERSION")
                + "\"/>\n      \
             <property name=\"pg-version\" value=\"15\"/>\n    \
             </properties>\n  \
             </testsuite>\n</testsuites>\n"
        );
    }

    #[test]
    fn one_case_per_file_and_one_failure_per_finding() {
        let out = render_files(&[
            lint("a.sql", "SELEC 1;\nSELEC 2;\n"),
            lint("b.sql", "SELECT 1;\n"),
            lint("c.sql", "\\set ON_ERROR_STOP on\nSELECT 1;\n"),
        ]);
        assert!(out.contains("<testsuites name=\"ddlint\" tests=\"3\" failures=\"1\" errors=\"0\">"), "{out}");
        assert_eq!(out.matches("<testcase ").count(), 3, "{out}");
        assert_eq!(out.matches("<failure ").count(), 2, "{out}");
        assert!(out.contains("<testcase classname=\"ddlint\" name=\"b.sql\"/>"), "{out}");
        assert!(out.contains("<failure message=\"syntax error at or near &quot;SELEC&quot;\" type=\"syntax-error\">a.sql:2:1: error[syntax-error]: "), "{out}");
        // A note passes: it is output, not a failure.
        assert!(out.contains("<testcase classname=\"ddlint\" name=\"c.sql\">\n      <system-out>c.sql:1:1: note[psql-meta-command]: "), "{out}");
    }

    #[test]
    fn failure_body_has_location_help_and_link() {
        let text = "SELECT 1;\nALTER TABLE t RENAME COLUMN a TO b;\n";
        let at = text.find("RENAME").unwrap();
        let diagnostic =
            Diagnostic::new("rename-column", Severity::Warning, Span::new(at, at + 6), "renaming `a` <breaks> \"x\"")
                .with_help("add a column & copy");
        let out = render_files(&[with_diagnostic("db/my <file>.sql", text, diagnostic)]);
        let expected = "    <testcase classname=\"ddlint\" name=\"db/my &lt;file&gt;.sql\">\n      \
            <failure message=\"renaming `a` &lt;breaks&gt; &quot;x&quot;\" type=\"rename-column\">\
            db/my &lt;file&gt;.sql:2:15: warning[rename-column]: renaming `a` &lt;breaks&gt; \"x\"\n\
            help: add a column &amp; copy\n\
            see: https://github.com/ddlint/ddlint/blob/main/rules/rename-column.md\n\
            </failure>\n    </testcase>\n";
        assert!(out.contains(expected), "{out}");
    }

    #[test]
    fn unreadable_file_is_an_error() {
        let out = render_files(&[lint_file("bin.sql", b"\xff\xfeS\0", &Settings::default()), lint("ok.sql", "")]);
        assert!(out.contains("tests=\"2\" failures=\"0\" errors=\"1\""), "{out}");
        assert!(out.contains("<error message=\""), "{out}");
        assert!(out.contains("type=\"unreadable-file\">bin.sql:1:1: error[unreadable-file]: "), "{out}");
        assert!(!out.contains("<failure"), "{out}");
    }

    #[test]
    fn control_characters_in_messages_stay_well_formed() {
        let diagnostic = Diagnostic::new("syntax-error", Severity::Error, Span::new(0, 1), "bad \u{1b}[31m\u{0} byte");
        let out = render_files(&[with_diagnostic("a\u{7}.sql", "x", diagnostic)]);
        assert!(out.contains("name=\"a\\u{7}.sql\""), "{out}");
        assert!(out.contains("message=\"bad \\u{1b}[31m\\u{0} byte\""), "{out}");
        assert!(!out.chars().any(|c| c < ' ' && c != '\n'), "{out:?}");
    }
}
