//! rustc-style text: a title, the location, the source excerpt with the span underlined and
//! the help, for each finding, then a one-line summary.
//!
//! ```text
//! warning[set-not-null]: `SET NOT NULL` scans `users` while holding an `ACCESS EXCLUSIVE` lock
//!  --> migrations/002.sql:3:3
//!   |
//! 3 |   ALTER COLUMN email SET NOT NULL;
//!   |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
//!   |
//!   = help: add a `CHECK (email IS NOT NULL) NOT VALID` constraint and validate it first
//! ```
//!
//! The work per finding is bounded by the excerpt shown, never by the size of the file:
//! annotate-snippets sees only the lines under the span (at most [`MAX_LINES`] of them, and a
//! window of a very long line), and columns are counted from the previous finding on the
//! same line rather than from the line start.

use super::Run;
use annotate_snippets::renderer::{
    Style, DEFAULT_EMPHASIS_STYLE, DEFAULT_ERROR_STYLE, DEFAULT_LINE_NUM_STYLE, DEFAULT_NOTE_STYLE,
    DEFAULT_WARNING_STYLE,
};
use annotate_snippets::{normalize_untrusted_str, AnnotationKind, Group, Level, Renderer, Snippet};
use ddlint_core::{Diagnostic, LineIndex, Severity};
use std::borrow::Cow;
use std::io::{self, Write};
use std::ops::Range;

/// A span over more lines than this shows its first lines only.
const MAX_LINES: usize = 6;
/// An excerpt longer than this shows a window of the span's first line instead.
const MAX_EXCERPT_BYTES: usize = 2048;
/// Bytes of context either side of the span in such a window.
const WINDOW_CONTEXT: usize = 30;
/// The most of a span such a window underlines.
const WINDOW_SPAN: usize = 100;

/// The report, for a run in which `failed_paths` paths could not be linted.
pub fn render_partial(run: &Run<'_>, failed_paths: usize, out: &mut dyn Write) -> io::Result<()> {
    // Nothing was linted and the errors on stderr said why: a summary of no files would only
    // read as a clean run.
    if failed_paths > 0 && run.files.is_empty() {
        return Ok(());
    }
    let theme = Theme::new(run.color);
    let renderer = if run.color { Renderer::styled() } else { Renderer::plain() };
    let mut counts = [0usize; 3];
    let mut files_with_findings = 0;
    for file in run.files {
        if file.diagnostics.is_empty() {
            continue;
        }
        files_with_findings += 1;
        let shown_path = normalize_untrusted_str(&file.path);
        let mut columns = Columns::new(&file.text, &file.line_index);
        for diagnostic in &file.diagnostics {
            counts[severity_index(diagnostic.severity)] += 1;
            write_diagnostic(out, &renderer, &theme, &shown_path, &mut columns, diagnostic)?;
        }
    }
    let summary = summary(counts, files_with_findings, run.files.len(), failed_paths);
    writeln!(out, "{}{summary}{:#}", theme.emphasis, theme.emphasis)
}

fn write_diagnostic(
    out: &mut dyn Write,
    renderer: &Renderer,
    theme: &Theme,
    shown_path: &str,
    columns: &mut Columns<'_>,
    diagnostic: &Diagnostic,
) -> io::Result<()> {
    let (text, line_index) = (columns.text, columns.index);
    let start = floor_char_boundary(text, diagnostic.span.start.min(text.len()));
    let end = ceil_char_boundary(text, diagnostic.span.end.clamp(start, text.len()));
    let (line, column) = columns.position(start);
    let excerpt = (!text.is_empty()).then(|| Excerpt::new(text, line_index, start..end));

    // The title: `warning[rule-id]: message`, on one line whatever the message holds.
    let level_style = theme.level(diagnostic.severity);
    let message = normalize_untrusted_str(&diagnostic.message).replace('\n', " ");
    writeln!(
        out,
        "{level_style}{}[{}]{level_style:#}{emphasis}: {message}{emphasis:#}",
        diagnostic.severity,
        diagnostic.rule,
        emphasis = theme.emphasis,
    )?;

    let gutter_style = theme.line_num;
    let location = format!("{gutter_style}-->{gutter_style:#} {shown_path}:{line}:{column}");
    let help = diagnostic.help.as_deref().map(normalize_untrusted_str);
    let Some(excerpt) = excerpt else {
        writeln!(out, " {location}")?;
        if let Some(help) = help {
            let emphasis = theme.emphasis;
            writeln!(out, "  {gutter_style}={gutter_style:#} {emphasis}help{emphasis:#}: {help}")?;
        }
        return writeln!(out);
    };

    let level = level(diagnostic.severity);
    let mut annotation = AnnotationKind::Primary.span(excerpt.span.clone());
    if let Some(label) = excerpt.label {
        annotation = annotation.label(label);
    }
    let snippet = Snippet::source(excerpt.source).line_start(excerpt.first_line).annotation(annotation);
    let mut group = Group::with_level(level).element(snippet);
    if let Some(help) = help {
        group = group.element(Level::HELP.message(help));
    }
    let rendered = renderer.render(&[group]);
    // The location lines up with the excerpt's gutter as in rustc. The gutter is as wide as
    // the largest line number the renderer chose to show; its first line is `<gutter> |`.
    let gutter = rendered.bytes().take_while(|b| *b == b' ').count().saturating_sub(1);
    writeln!(out, "{:gutter$}{location}", "")?;
    writeln!(out, "{rendered}")?;
    writeln!(out)
}

/// The lines shown for one finding.
struct Excerpt<'a> {
    source: Cow<'a, str>,
    /// 1-based number of the first line shown.
    first_line: usize,
    /// The span, relative to `source`.
    span: Range<usize>,
    /// Says where a span that does not fit goes on to.
    label: Option<String>,
}

impl<'a> Excerpt<'a> {
    /// `span` must lie on character boundaries of `text`.
    fn new(text: &'a str, index: &LineIndex, span: Range<usize>) -> Self {
        let first = index.line_of(span.start);
        let last = index.line_of(if span.end > span.start { span.end - 1 } else { span.start });
        let mut shown_last = last.min(first + MAX_LINES - 1);
        if shown_last < last {
            // A cut excerpt ends on its last line with something on it.
            while shown_last > first {
                let line = index.line_span(text, shown_last);
                if !text[line.start..line.end].trim().is_empty() {
                    break;
                }
                shown_last -= 1;
            }
        }
        let label = (shown_last < last).then(|| format!("continues to line {}", last + 1));
        let window = index.line_start(first)..index.line_span(text, shown_last).end;
        if window.end.saturating_sub(window.start) > MAX_EXCERPT_BYTES {
            return Self::window(text, index, span, first, last);
        }
        // The span may start or end on a line terminator, which the excerpt leaves out.
        let start = span.start.clamp(window.start, window.end);
        let end = span.end.clamp(start, window.end);
        Self {
            source: lone_cr_to_lf(&text[window.clone()]),
            first_line: first + 1,
            span: start - window.start..end - window.start,
            label,
        }
    }

    /// A window of the span's first line, for very long lines such as minified SQL.
    fn window(text: &'a str, index: &LineIndex, span: Range<usize>, first: usize, last: usize) -> Self {
        let line = index.line_span(text, first);
        let start = span.start.clamp(line.start, line.end);
        let from = floor_char_boundary(text, start.saturating_sub(WINDOW_CONTEXT).max(line.start));
        let span_end = ceil_char_boundary(text, span.end.min(start + WINDOW_SPAN).min(line.end).max(start));
        let to = ceil_char_boundary(text, (span_end + WINDOW_CONTEXT).min(line.end));
        let mut source = String::with_capacity(to - from + 6);
        if from > line.start {
            source.push_str("...");
        }
        let offset = source.len();
        source.push_str(&text[from..to]);
        if to < line.end {
            source.push_str("...");
        }
        // A span cut short within the line shows it by the `...` that ends the excerpt.
        let label = (last > first).then(|| format!("continues to line {}", last + 1));
        Self {
            source: Cow::Owned(source),
            first_line: first + 1,
            span: start - from + offset..span_end - from + offset,
            label,
        }
    }
}

/// Turns a lone `\r` line ending into `\n` (same length, so offsets hold), because the
/// snippet renderer splits lines on `\n` only.
fn lone_cr_to_lf(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let lone = |i: usize| bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n');
    if !(0..bytes.len()).any(lone) {
        return Cow::Borrowed(text);
    }
    let fixed: String = text.char_indices().map(|(i, c)| if c == '\r' && lone(i) { '\n' } else { c }).collect();
    Cow::Owned(fixed)
}

/// 1-based positions of the increasing offsets of one file's findings, counting each
/// line's characters once however many findings it holds.
struct Columns<'a> {
    text: &'a str,
    index: &'a LineIndex,
    /// The 0-based line of the last offset seen, and its 0-based column.
    line: usize,
    offset: usize,
    column: usize,
}

impl<'a> Columns<'a> {
    fn new(text: &'a str, index: &'a LineIndex) -> Self {
        Self { text, index, line: usize::MAX, offset: 0, column: 0 }
    }

    /// Agrees with [`LineIndex::position`].
    fn position(&mut self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.index.line_of(offset);
        if line != self.line || offset < self.offset {
            self.line = line;
            self.offset = self.index.line_start(line).min(offset);
            self.column = 0;
        }
        // Counting the bytes that start a character counts characters, on any offsets.
        self.column += self.text.as_bytes()[self.offset..offset].iter().filter(|b| (**b as i8) >= -0x40).count();
        self.offset = offset;
        (line + 1, self.column + 1)
    }
}

/// The styles of the parts this module writes itself, matching annotate-snippets' own.
struct Theme {
    error: Style,
    warning: Style,
    note: Style,
    line_num: Style,
    emphasis: Style,
}

impl Theme {
    fn new(color: bool) -> Self {
        if color {
            Self {
                error: DEFAULT_ERROR_STYLE,
                warning: DEFAULT_WARNING_STYLE,
                note: DEFAULT_NOTE_STYLE,
                line_num: DEFAULT_LINE_NUM_STYLE,
                emphasis: DEFAULT_EMPHASIS_STYLE,
            }
        } else {
            let plain = Style::new();
            Self { error: plain, warning: plain, note: plain, line_num: plain, emphasis: plain }
        }
    }

    fn level(&self, severity: Severity) -> Style {
        match severity {
            Severity::Error => self.error,
            Severity::Warning => self.warning,
            Severity::Note => self.note,
        }
    }
}

fn level(severity: Severity) -> Level<'static> {
    match severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Note => Level::NOTE,
    }
}

fn severity_index(severity: Severity) -> usize {
    match severity {
        Severity::Error => 0,
        Severity::Warning => 1,
        Severity::Note => 2,
    }
}

/// `Found 3 errors and 5 warnings in 2 files (12 files checked)`, or `No problems found in 12 files`;
/// when some paths failed, `(12 files checked, 1 path failed)` or `No problems found in 12 files,
/// but 1 path failed`.
fn summary(counts: [usize; 3], files_with_findings: usize, files_checked: usize, failed_paths: usize) -> String {
    let parts: Vec<String> = counts
        .iter()
        .zip(["error", "warning", "note"])
        .filter(|(count, _)| **count > 0)
        .map(|(count, noun)| plural(*count, noun))
        .collect();
    let failed = format!("{} failed", plural(failed_paths, "path"));
    let checked = plural(files_checked, "file");
    let Some((last, rest)) = parts.split_last() else {
        return if failed_paths == 0 {
            format!("No problems found in {checked}")
        } else {
            format!("No problems found in {checked}, but {failed}")
        };
    };
    let findings = if rest.is_empty() { last.clone() } else { format!("{} and {last}", rest.join(", ")) };
    let with_findings = plural(files_with_findings, "file");
    if failed_paths == 0 {
        format!("Found {findings} in {with_findings} ({checked} checked)")
    } else {
        format!("Found {findings} in {with_findings} ({checked} checked, {failed})")
    }
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil_char_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;
    use ddlint_core::{FileReport, Settings, Span};

    /// Renders `sql` linted with default settings, in plain mode.
    fn render_sql(sql: &str) -> String {
        let file = ddlint_core::lint_file("m.sql", sql.as_bytes(), &Settings::default());
        render_files(&[file])
    }

    fn render_files(files: &[FileReport]) -> String {
        let mut out = Vec::new();
        let run = Run { files, color: false, pg_version: 15 };
        let result = render_partial(&run, 0, &mut out);
        assert!(result.is_ok());
        String::from_utf8(out).unwrap_or_default()
    }

    /// A report holding one finding at `span`, whatever the rules would say.
    fn file_with(text: &str, span: Span) -> FileReport {
        let mut file = ddlint_core::lint_file("m.sql", text.as_bytes(), &Settings::default());
        file.diagnostics = vec![Diagnostic::new("rename-column", Severity::Warning, span, "msg").with_help("do this")];
        file
    }

    #[test]
    fn summaries() {
        assert_eq!(summary([0, 0, 0], 0, 12, 0), "No problems found in 12 files");
        assert_eq!(summary([0, 0, 0], 0, 1, 0), "No problems found in 1 file");
        assert_eq!(summary([3, 5, 0], 2, 12, 0), "Found 3 errors and 5 warnings in 2 files (12 files checked)");
        assert_eq!(summary([1, 0, 0], 1, 1, 0), "Found 1 error in 1 file (1 file checked)");
        assert_eq!(summary([1, 2, 1], 1, 3, 0), "Found 1 error, 2 warnings and 1 note in 1 file (3 files checked)");
        assert_eq!(summary([0, 0, 0], 0, 1, 1), "No problems found in 1 file, but 1 path failed");
        assert_eq!(summary([0, 2, 0], 1, 3, 2), "Found 2 warnings in 1 file (3 files checked, 2 paths failed)");
    }

    #[test]
    fn renders_rustc_style() {
        let text = "SELECT 1;\nALTER TABLE users RENAME COLUMN a TO b;\n";
        let start = text.find("RENAME").unwrap_or(0);
        let out = render_files(&[file_with(text, Span::new(start, start + 6))]);
        assert_eq!(
            out,
            "warning[rename-column]: msg\n --> m.sql:2:19\n  |\n2 | ALTER TABLE users RENAME COLUMN a TO b;\n  |                   ^^^^^^\n  |\n  = help: do this\n\nFound 1 warning in 1 file (1 file checked)\n"
        );
    }

    #[test]
    fn clean_files_only_print_the_summary() {
        assert_eq!(render_sql("SELECT 1;\n"), "No problems found in 1 file\n");
    }

    #[test]
    fn nothing_linted_because_paths_failed_prints_no_summary() {
        let mut out = Vec::new();
        let result = render_partial(&Run { files: &[], color: false, pg_version: 15 }, 1, &mut out);
        assert!(result.is_ok());
        assert_eq!(String::from_utf8_lossy(&out), "");
        // With no failure, an empty run still says what it checked.
        let result = render_partial(&Run { files: &[], color: false, pg_version: 15 }, 0, &mut out);
        assert!(result.is_ok());
        assert_eq!(String::from_utf8_lossy(&out), "No problems found in 0 files\n");
    }

    #[test]
    fn columns_agree_with_the_line_index() {
        let text = "é€ x;\r\nab\rcd\n\n€";
        let index = LineIndex::new(text);
        let mut columns = Columns::new(text, &index);
        for offset in 0..=text.len() {
            let expected = index.position(text, offset);
            assert_eq!(columns.position(offset), (expected.line, expected.column), "offset {offset}");
        }
    }

    #[test]
    fn survives_any_span() {
        // Line endings of every kind, multibyte and wide characters, a tab, a zero-width
        // joiner, a bidirectional override and a control character.
        let texts = ["é\r\nab\rcd €\n\nx", "\u{feff}a\t字👩\u{200d}💻 e\u{301}\u{202e}z\u{7}\n"];
        for text in texts {
            for start in 0..=text.len() + 2 {
                for end in 0..=text.len() + 2 {
                    let out = render_files(&[file_with(text, Span::new(start, end))]);
                    assert!(out.contains("warning[rename-column]: msg"), "{start}..{end}: {out}");
                }
            }
        }
        let out = render_files(&[file_with("", Span::new(0, 0))]);
        assert_eq!(out, "warning[rename-column]: msg\n --> m.sql:1:1\n  = help: do this\n\nFound 1 warning in 1 file (1 file checked)\n");
    }

    #[test]
    fn long_spans_show_their_first_lines() {
        let text: String = (1..=40).map(|i| format!("line {i}\n")).collect();
        let out = render_files(&[file_with(&text, Span::new(0, text.len()))]);
        assert!(out.contains("continues to line 40"), "{out}");
        assert!(out.contains("6 | | line 6") && !out.contains("line 7"), "{out}");
    }

    #[test]
    fn long_lines_show_a_window() {
        let text = format!("{}ALTER TABLE t RENAME a TO b;{}", "x".repeat(100_000), "y".repeat(100_000));
        let start = 100_000 + "ALTER TABLE t ".len();
        let out = render_files(&[file_with(&text, Span::new(start, start + 6))]);
        assert!(out.contains(" --> m.sql:1:100015\n"), "{out}");
        assert!(out.contains("RENAME") && out.len() < 2000, "{out}");
    }

    #[test]
    fn escapes_are_not_passed_to_the_terminal() {
        let text = "SELECT '\u{1b}[31m';";
        let mut file = file_with(text, Span::new(0, text.len()));
        file.diagnostics[0].message = "bad \u{1b}[2J\nthing".to_owned();
        let out = render_files(&[file]);
        assert!(!out.contains('\u{1b}'), "{out}");
        assert!(out.starts_with("warning[rename-column]: bad ␛[2J thing\n"), "{out}");
    }
}
