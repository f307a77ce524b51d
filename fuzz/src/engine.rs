//! The engine target: any bytes, under varied settings, must give a report whose every span
//! lies inside the text on character boundaries, with a line index that agrees with the text.

use ddlint_core::framework::{FileHints, Framework};
use ddlint_core::settings::{MAX_PG_VERSION, MIN_PG_VERSION};
use ddlint_core::{lint_file, lint_file_with_hints, registry, FileReport, LineIndex, Settings, Severity, Span};

/// Paths that make each framework's detection fire, so its section splitting is exercised.
pub const PATHS: &[&str] = &[
    "x.sql",
    "db/001_x.up.sql",
    "db/001_x.down.sql",
    "V1__x.sql",
    "U1__x.sql",
    "R__x.sql",
    "migrations/2024_x/up.sql",
    "migrations/2024-01-01-000000_x/down.sql",
    "prisma/migrations/20240101000000_x/migration.sql",
    "deploy/x.sql",
    "revert/x.sql",
    "20240101000000_x.sql",
];

/// A path and settings picked from `selector`'s bits.
pub fn variant(selector: u64) -> (&'static str, Settings, FileHints) {
    let bits = |shift: u32, count: u64| (selector >> shift) % count;
    let path = PATHS[bits(0, PATHS.len() as u64) as usize];
    let versions = u64::from(MAX_PG_VERSION - MIN_PG_VERSION + 1);
    let mut settings = Settings {
        pg_version: MIN_PG_VERSION + bits(8, versions) as u32,
        assume_in_transaction: bits(16, 2) == 1,
        ..Settings::default()
    };
    // Half the time every rule runs, the opt-in ones included.
    if bits(17, 2) == 1 {
        settings.enabled = registry::all().iter().map(|r| r.id.to_owned()).collect();
    }
    if bits(18, 4) == 0 {
        settings.framework = Some(Framework::ALL[bits(20, Framework::ALL.len() as u64) as usize]);
    }
    settings.down_severity_cap = [Severity::Note, Severity::Warning, Severity::Error][bits(24, 3) as usize];
    let hints = FileHints { no_transaction: bits(28, 2) == 1 };
    (path, settings, hints)
}

/// Lints `data` with the defaults and with a variant picked from its hash, checks every
/// report, and checks that a second run gives the same findings.
pub fn check_engine(data: &[u8]) {
    let report = lint_file("x.sql", data, &Settings::default());
    check_report(&report, "x.sql", data);

    let (path, settings, hints) = variant(crate::selector(data));
    let report = lint_file_with_hints(path, data, &settings, hints);
    check_report(&report, path, data);
    let again = lint_file_with_hints(path, data, &settings, hints);
    assert_eq!(report.diagnostics, again.diagnostics, "two runs over the same input differ");
    assert_eq!(report.statement_count, again.statement_count);

    let explained = ddlint_core::explain::explain_file(path, data, &settings);
    assert_eq!(explained.file, path);
    if let Ok(text) = std::str::from_utf8(data) {
        check_parse(text);
        for statement in &explained.statements {
            assert!(statement.line <= statement.end_line, "explain: line after end line");
            assert!(text.contains(&statement.sql), "explain: statement text is not from the file");
        }
    }
}

/// The invariants of one report.
pub fn check_report(report: &FileReport, path: &str, data: &[u8]) {
    assert_eq!(report.path, path);
    let text = report.text.as_str();
    if report.unreadable {
        assert!(text.is_empty(), "an unreadable file keeps no text");
        assert_eq!(report.statement_count, 0);
        for d in &report.diagnostics {
            assert_eq!(d.rule, "unreadable-file");
        }
    } else {
        assert_eq!(text.as_bytes(), data, "the report's text is not the file as read");
    }
    check_line_index(text, &report.line_index);

    let mut previous: Option<(usize, usize, &str)> = None;
    for d in &report.diagnostics {
        assert!(registry::find(d.rule).is_some(), "unregistered rule `{}`", d.rule);
        assert!(!d.message.is_empty(), "`{}` raised an empty message", d.rule);
        check_span(text, d.span, d.rule);
        if let Some(statement) = d.statement {
            check_span(text, statement, d.rule);
        }
        for offset in [d.span.start, d.span.end] {
            check_position(text, &report.line_index, offset);
        }
        let key = (d.span.start, d.span.end, d.rule);
        if let Some(previous) = previous {
            assert!(previous <= key, "diagnostics out of order: {previous:?} before {key:?}");
        }
        previous = Some(key);
    }
}

/// A span lies inside the text and starts and ends on character boundaries.
pub fn check_span(text: &str, span: Span, what: &str) {
    assert!(span.start <= span.end, "{what}: span {span:?} is reversed");
    assert!(span.end <= text.len(), "{what}: span {span:?} ends past the text ({} bytes)", text.len());
    assert!(
        text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
        "{what}: span {span:?} splits a character"
    );
}

/// The line index agrees with a line split computed here: `\n`, `\r\n` and a lone `\r` end a
/// line, every line starts on a character boundary and lines tile the text.
pub fn check_line_index(text: &str, index: &LineIndex) {
    let bytes = text.as_bytes();
    // The first line's text starts after a byte order mark, which editors do not show.
    let mut starts = vec![if text.starts_with('\u{FEFF}') { '\u{FEFF}'.len_utf8() } else { 0 }];
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            i += 1;
        }
        if matches!(bytes[i], b'\n' | b'\r') {
            starts.push(i + 1);
        }
        i += 1;
    }
    assert_eq!(index.line_count(), starts.len(), "line count");
    for (line, &start) in starts.iter().enumerate() {
        assert_eq!(index.line_start(line), start, "start of line {line}");
        assert_eq!(index.line_of(start), line, "line of offset {start}");
        let span = index.line_span(text, line);
        check_span(text, span, "line span");
        assert_eq!(span.start, start);
        let content = &text[span.start..span.end];
        assert!(!content.contains(['\n', '\r']), "line {line} holds a line break");
        let next = starts.get(line + 1).copied().unwrap_or(text.len());
        assert!(span.end <= next);
    }
    assert_eq!(index.line_start(starts.len()), text.len(), "a line past the end starts at the end");
}

/// The position of an offset names the line that holds it and counts characters from its start.
pub fn check_position(text: &str, index: &LineIndex, offset: usize) {
    let position = index.position(text, offset);
    assert!(position.line >= 1 && position.line <= index.line_count(), "line {} out of range", position.line);
    let start = index.line_start(position.line - 1);
    assert!(start <= offset, "offset {offset} is before its line's start {start}");
    let characters = text[start..offset].chars().count();
    assert_eq!(position.column, characters + 1, "column of offset {offset}");
}

/// The parser's own output: statements, errors, tokens and meta-commands point into the text,
/// and masking keeps every offset.
pub fn check_parse(text: &str) {
    let masked = ddlint_core::preprocess::mask(text);
    assert_eq!(masked.text.len(), text.len(), "masking changed the text's length");

    let parsed = ddlint_core::with_deep_stack(|| ddlint_core::parse::parse_file(text));
    let mut end = 0;
    for token in &parsed.tokens {
        check_span(text, Span::new(token.start, token.end), "token");
        assert!(token.start >= end, "tokens overlap or are out of order");
        end = token.end;
    }
    for item in &parsed.items {
        match item {
            ddlint_core::parse::Item::Statement(statement) => {
                check_span(text, statement.span, "statement");
                assert!(parsed.statement_tokens(statement).len() == statement.tokens.len());
            }
            ddlint_core::parse::Item::SyntaxError(error) => {
                check_span(text, error.span, "syntax error");
                check_span(text, error.statement, "syntax error's statement");
            }
        }
    }
    for meta in &parsed.meta_commands {
        check_span(text, meta.span, "meta-command");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_framework_path_and_setting_is_reachable() {
        let mut paths = std::collections::HashSet::new();
        let mut all_rules = false;
        for selector in 0..4096u64 {
            let (path, settings, _) = variant(selector.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            paths.insert(path);
            all_rules |= !settings.enabled.is_empty();
            assert!(settings.validate().is_ok());
        }
        assert_eq!(paths.len(), PATHS.len());
        assert!(all_rules);
    }

    #[test]
    fn hostile_inputs_pass_the_checks() {
        for input in [
            &b""[..],
            b"SELECT 1;\r\nDROP INDEX i;\rALTER TABLE t RENAME a TO b;",
            b"\xef\xbb\xbfCREATE INDEX i ON t (a);",
            b"-- +goose Up\nCREATE INDEX i ON t (a);\n-- +goose Down\nDROP INDEX i;\n",
            b"\\set x 1\nSELECT :x;\n/* unterminated",
            b"SELECT '\xc3\xa9\xe2\x82\xac' FROM t; $$",
            b"\xff\xfe\x00S",
        ] {
            check_engine(input);
        }
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn line_index_check_catches_a_wrong_index() {
        let text = "a\nb";
        let wrong = LineIndex::new("a\r\n\nb");
        assert!(std::panic::catch_unwind(|| check_line_index(text, &wrong)).is_err());
        check_line_index(text, &LineIndex::new(text));
    }
}
