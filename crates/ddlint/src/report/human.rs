//! rustc-style text: a title, the location, the source excerpt with the span underlined and
//! the help, for each finding, grouped under a header per file that names its framework and
//! how it runs; then, for a long report, a table of the findings by rule; then notes on what
//! the run skipped, and a one-line summary. `--statistics` prints only the table, the notes
//! and the summary.
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

use super::{stats, Run};
use annotate_snippets::renderer::{
    Style, DEFAULT_EMPHASIS_STYLE, DEFAULT_ERROR_STYLE, DEFAULT_LINE_NUM_STYLE, DEFAULT_NOTE_STYLE,
    DEFAULT_WARNING_STYLE,
};
use annotate_snippets::{normalize_untrusted_str, AnnotationKind, Group, Level, Renderer, Snippet};
use ddlint_core::framework::{Direction, Transaction};
use ddlint_core::{Diagnostic, FileReport, LineIndex, Severity};
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
/// The fewest findings for which the report ends with the table of findings by rule. A finding
/// takes about nine lines, so from five on the first ones have scrolled off a 40-line terminal
/// by the time the summary prints, and the table is the overview that is left. Fewer fit on one
/// screen above the summary, and a table would only repeat them; how many files they are in
/// does not matter, since the summary line already says that.
const TABLE_MIN_FINDINGS: usize = 5;
/// The width the table's lines are cut to: each rule's summary (a sentence of up to 300
/// characters) is shortened to what the other columns leave of it, but never below
/// [`MIN_SUMMARY_WIDTH`]; `ddlint rule <id>` has the rest. A wide terminal shows enough of the
/// summary to tell what the rule is about, and a narrow one wraps fewer lines than whole
/// sentences would.
const TABLE_WIDTH: usize = 120;
const MIN_SUMMARY_WIDTH: usize = 40;

/// The report; when some paths could not be linted (`Run::failed_paths`), the summary says so.
pub fn render(run: &Run<'_>, out: &mut dyn Write) -> io::Result<()> {
    let failed_paths = run.failed_paths;
    // Nothing was linted and the errors on stderr said why: a summary of no files would only
    // read as a clean run.
    if failed_paths > 0 && run.files.is_empty() {
        return Ok(());
    }
    let theme = Theme::new(run.color);
    let renderer = if run.color { Renderer::styled() } else { Renderer::plain() };
    let mut counts = [0usize; 3];
    let mut files_with_findings = 0;
    // A run over one file leaves the header out: every finding's location names the file, and
    // a one-finding run stays as short as it was. Over several files the header groups each
    // file's findings and says how its runner executes it, which is what many findings turn on.
    let headers = run.files.len() > 1;
    for file in run.files {
        if file.diagnostics.is_empty() {
            continue;
        }
        files_with_findings += 1;
        for diagnostic in &file.diagnostics {
            counts[severity_index(diagnostic.severity)] += 1;
        }
        if run.statistics {
            continue;
        }
        if headers {
            let header = file_header(file, run.assume_in_transaction);
            writeln!(out, "{}{header}{:#}", theme.emphasis, theme.emphasis)?;
        }
        let shown_path = normalize_untrusted_str(&file.path);
        let mut columns = Columns::new(&file.text, &file.line_index);
        for diagnostic in &file.diagnostics {
            write_diagnostic(out, &renderer, &theme, &shown_path, &mut columns, diagnostic)?;
        }
    }
    if run.statistics || counts.iter().sum::<usize>() >= TABLE_MIN_FINDINGS {
        for line in rule_table(run.files, &theme) {
            writeln!(out, "{line}")?;
        }
    }
    for note in run.notes {
        let note = normalize_untrusted_str(note).replace('\n', " ");
        writeln!(out, "{}note{:#}: {note}", theme.note, theme.note)?;
    }
    let summary = summary(counts, files_with_findings, run.files.len(), failed_paths);
    writeln!(out, "{}{summary}{:#}", theme.emphasis, theme.emphasis)
}

/// `db/0004_index.up.sql (golang-migrate, one implicit transaction)`: the file, its framework,
/// `down` for a down (revert) migration, and how its runner executes it, per direction when
/// its sections differ. An unreadable file has only its path.
fn file_header(file: &FileReport, assume_in_transaction: bool) -> String {
    let path = normalize_untrusted_str(&file.path);
    let Some(framework) = file.framework else { return path };
    let mut parts = vec![framework.name().to_owned()];
    let sections = &file.sections;
    if !sections.is_empty() && sections.iter().all(|s| s.direction == Direction::Down) {
        parts.push("down".to_owned());
    }
    let mut modes: Vec<(Direction, &str)> = Vec::new();
    for section in sections {
        let mode = (section.direction, transaction_mode(section.transaction, assume_in_transaction));
        if !modes.contains(&mode) {
            modes.push(mode);
        }
    }
    match modes.as_slice() {
        [] => {}
        [(_, mode), rest @ ..] if rest.iter().all(|(_, m)| m == mode) => parts.push((*mode).to_owned()),
        _ => {
            let each = modes.iter().map(|(direction, mode)| {
                let direction = if *direction == Direction::Up { "up" } else { "down" };
                format!("{direction} {mode}")
            });
            parts.push(each.collect::<Vec<_>>().join(", "));
        }
    }
    format!("{path} ({})", parts.join(", "))
}

/// How the runner executes a section, in the words of a file header. It speaks of the
/// runner's transaction: a file may still open one of its own with `BEGIN`.
fn transaction_mode(transaction: Transaction, assume_in_transaction: bool) -> &'static str {
    match transaction {
        Transaction::Wrapped => "wrapped in a transaction",
        Transaction::None => "not wrapped in a transaction",
        Transaction::ImplicitWhenMultiStatement => "one implicit transaction",
        Transaction::AsConfigured if assume_in_transaction => "assumed wrapped in a transaction",
        Transaction::AsConfigured => "assumed not wrapped in a transaction",
    }
}

/// The findings by rule and severity, one line each, most frequent first (then by rule id),
/// in aligned columns: the count, the rule, the severity, the number of files and the rule's
/// summary as `ddlint rules` gives it, shortened to fit.
///
/// ```text
///   12  create-index-non-concurrently  warning  7 files  `CREATE [UNIQUE] INDEX` without …
///    3  rename-column                  warning  3 files  `ALTER TABLE … RENAME COLUMN` …
/// ```
fn rule_table(files: &[FileReport], theme: &Theme) -> Vec<String> {
    let mut rows: Vec<((&str, Severity), stats::Tally)> =
        stats::tally(files, |d| (d.rule, d.severity)).into_iter().collect();
    rows.sort_by(|((rule_a, sev_a), a), ((rule_b, sev_b), b)| {
        b.count.cmp(&a.count).then(rule_a.cmp(rule_b)).then(sev_b.cmp(sev_a))
    });
    let count_width = rows.iter().map(|(_, t)| digits(t.count)).max().unwrap_or(0);
    let rule_width = rows.iter().map(|((rule, _), _)| rule.len()).max().unwrap_or(0);
    let severity_width = rows.iter().map(|((_, s), _)| s.as_str().len()).max().unwrap_or(0);
    let files_digits = rows.iter().map(|(_, t)| digits(t.files)).max().unwrap_or(0);
    let files_cell = |n: usize| format!("{n:>files_digits$} {}", if n == 1 { "file" } else { "files" });
    let files_width = rows.iter().map(|(_, t)| files_cell(t.files).len()).max().unwrap_or(0);
    let prefix_width = 2 + count_width + 2 + rule_width + 2 + severity_width + 2 + files_width + 2;
    let summary_width = TABLE_WIDTH.saturating_sub(prefix_width).max(MIN_SUMMARY_WIDTH);
    let mut lines = Vec::with_capacity(rows.len());
    for ((rule, severity), tally) in rows {
        let summary = ddlint_core::registry::find(rule).map(ddlint_core::docs::summary).unwrap_or_default();
        let summary = shorten(table_summary(&summary), summary_width);
        let level = theme.level(severity);
        let line = format!(
            "  {:>count_width$}  {rule:rule_width$}  {level}{:severity_width$}{level:#}  {:files_width$}  {summary}",
            tally.count,
            severity.as_str(),
            files_cell(tally.files),
        );
        lines.push(line.trim_end().to_owned());
    }
    lines
}

fn digits(n: usize) -> usize {
    n.to_string().len()
}

/// A rule's summary as a table cell: without the verb that starts each (`Flags`, `Reports`,
/// `Notes`: every line of the table is what a rule flagged) and without the final period.
fn table_summary(summary: &str) -> &str {
    let summary = summary.trim();
    let summary =
        ["Flags ", "Reports ", "Notes "].iter().find_map(|verb| summary.strip_prefix(verb)).unwrap_or(summary);
    summary.strip_suffix('.').unwrap_or(summary)
}

/// `text` cut to at most `width` characters at a space outside backquotes, ending in `…`, so
/// that no code span is left open.
fn shorten(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut = None;
    let mut in_code = false;
    for (chars, (at, c)) in text.char_indices().enumerate() {
        // Room for the ellipsis after the cut.
        if chars + 1 > width {
            break;
        }
        match c {
            '`' => in_code = !in_code,
            ' ' if !in_code => cut = Some(at),
            _ => {}
        }
    }
    match cut {
        Some(at) => format!("{}…", text[..at].trim_end_matches([',', ';', ':'])),
        // One long code span: cut it anywhere rather than print it all.
        None => format!("{}…", text.chars().take(width.saturating_sub(1)).collect::<String>()),
    }
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
    let fix = fix_line(diagnostic);
    let Some(excerpt) = excerpt else {
        writeln!(out, " {location}")?;
        let emphasis = theme.emphasis;
        if let Some(help) = help {
            writeln!(out, "  {gutter_style}={gutter_style:#} {emphasis}help{emphasis:#}: {help}")?;
        }
        if let Some((label, text)) = &fix {
            writeln!(out, "  {gutter_style}={gutter_style:#} {emphasis}{label}{emphasis:#}: {text}")?;
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
    if let Some((label, text)) = &fix {
        group = group.element(Level::HELP.with_name(Some(*label)).message(text.as_str()));
    }
    let rendered = renderer.render(&[group]);
    // The location lines up with the excerpt's gutter as in rustc. The gutter is as wide as
    // the largest line number the renderer chose to show; its first line is `<gutter> |`.
    let gutter = rendered.bytes().take_while(|b| *b == b' ').count().saturating_sub(1);
    writeln!(out, "{:gutter$}{location}", "")?;
    writeln!(out, "{rendered}")?;
    writeln!(out)
}

/// The line that says how to fix a finding, or which `ddlint plan` writes its phases, or why
/// ddlint cannot: `("fix", "build the index `CONCURRENTLY` … (unsafe: `--fix --unsafe-fixes`)")`.
fn fix_line(diagnostic: &ddlint_core::Diagnostic) -> Option<(&'static str, String)> {
    if let Some(fix) = &diagnostic.fix {
        let how = match fix.applicability {
            ddlint_core::fix::Applicability::Safe => "`ddlint check --fix`",
            ddlint_core::fix::Applicability::Unsafe => "unsafe: `ddlint check --fix --unsafe-fixes`",
        };
        return Some(("fix", format!("{} ({how})", normalize_untrusted_str(&fix.title))));
    }
    if let Some(plan) = &diagnostic.plan {
        return Some(("plan", normalize_untrusted_str(plan)));
    }
    diagnostic.no_fix.as_deref().map(|reason| ("no fix", normalize_untrusted_str(reason)))
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
        let run = Run { files, color: false, pg_version: 15, ..Run::default() };
        let result = render(&run, &mut out);
        assert!(result.is_ok());
        String::from_utf8(out).unwrap_or_default()
    }

    /// A report holding one finding at `span`, whatever the rules would say.
    fn file_with(text: &str, span: Span) -> FileReport {
        let mut file = ddlint_core::lint_file("m.sql", text.as_bytes(), &Settings::default());
        file.diagnostics = vec![Diagnostic::new("rename-column", Severity::Warning, span, "msg").with_help("do this")];
        file
    }

    /// A report of `path` (linted, so that it has its framework and sections) whose findings
    /// are the given rules at the given severities, whatever the rules would say.
    fn file_of(path: &str, text: &str, rules: &[(&'static str, Severity)]) -> FileReport {
        let mut file = ddlint_core::lint_file(path, text.as_bytes(), &Settings::default());
        file.diagnostics =
            rules.iter().map(|(rule, severity)| Diagnostic::new(rule, *severity, Span::new(0, 6), "msg")).collect();
        file
    }

    fn render_run(run: &Run<'_>) -> String {
        let mut out = Vec::new();
        assert!(render(run, &mut out).is_ok());
        String::from_utf8(out).unwrap_or_default()
    }

    /// The files of the table tests: `rename-column` three times in two files, `truncate` once
    /// as an error and once as a note, and `drop-index-non-concurrently` once.
    fn table_files() -> Vec<FileReport> {
        use Severity::{Error, Note, Warning};
        vec![
            file_of(
                "a.sql",
                "SELECT 1;\n",
                &[("rename-column", Warning), ("truncate", Error), ("rename-column", Warning)],
            ),
            file_of(
                "b.sql",
                "SELECT 1;\n",
                &[("drop-index-non-concurrently", Warning), ("rename-column", Warning), ("truncate", Note)],
            ),
        ]
    }

    #[test]
    fn statistics_print_the_table_sorted_and_aligned() {
        let files = table_files();
        let out = render_run(&Run { files: &files, statistics: true, ..Run::default() });
        assert_eq!(
            out,
            "  3  rename-column                warning  2 files  `ALTER TABLE … RENAME COLUMN` on a table that this migration did…
  1  drop-index-non-concurrently  warning  1 file   `DROP INDEX` without `CONCURRENTLY`
  1  truncate                     error    1 file   `TRUNCATE` of a table that this migration did not create
  1  truncate                     note     1 file   `TRUNCATE` of a table that this migration did not create
Found 1 error, 4 warnings and 1 note in 2 files (2 files checked)
"
        );
    }

    #[test]
    fn statistics_of_a_clean_run_are_the_summary() {
        let files = [file_of("a.sql", "SELECT 1;\n", &[])];
        let out = render_run(&Run { files: &files, statistics: true, ..Run::default() });
        assert_eq!(out, "No problems found in 1 file\n");
    }

    #[test]
    fn the_table_follows_the_findings_of_a_long_report_only() {
        let findings = |n: usize| vec![("rename-column", Severity::Warning); n];
        let short = [file_of("a.sql", "SELECT 1;\n", &findings(TABLE_MIN_FINDINGS - 1))];
        let out = render_run(&Run { files: &short, ..Run::default() });
        assert!(!out.contains("  rename-column  "), "{out}");
        let long = [file_of("a.sql", "SELECT 1;\n", &findings(TABLE_MIN_FINDINGS))];
        let out = render_run(&Run { files: &long, ..Run::default() });
        let table = format!("  {TABLE_MIN_FINDINGS}  rename-column  warning  1 file  `ALTER TABLE");
        let (findings, tail) = out.split_once(&table).unwrap_or_else(|| panic!("no table in:\n{out}"));
        assert_eq!(findings.matches("warning[rename-column]").count(), TABLE_MIN_FINDINGS);
        assert!(tail.ends_with(" did not create\nFound 5 warnings in 1 file (1 file checked)\n"), "{out}");
    }

    #[test]
    fn summaries_are_shortened_at_a_word_outside_code() {
        assert_eq!(shorten("short enough", 12), "short enough");
        assert_eq!(shorten("one two three", 10), "one two…");
        // Never inside a code span, and no comma before the ellipsis.
        assert_eq!(shorten("`CREATE INDEX`, `DROP INDEX` and more", 30), "`CREATE INDEX`, `DROP INDEX`…");
        assert_eq!(shorten("`CREATE INDEX`, `DROP INDEX` and more", 20), "`CREATE INDEX`…");
        assert_eq!(shorten("`a_very_long_code_span` x", 6), "`a_ve…");
        assert_eq!(table_summary("Flags `DROP INDEX` without `CONCURRENTLY`."), "`DROP INDEX` without `CONCURRENTLY`");
        assert_eq!(table_summary("Reports SQL that PostgreSQL rejects."), "SQL that PostgreSQL rejects");
    }

    #[test]
    fn headers_name_the_framework_and_the_transaction() {
        let header = |path: &str, text: &str, assume: bool| file_header(&file_of(path, text, &[]), assume);
        assert_eq!(
            header("db/1_a.up.sql", "SELECT 1;", false),
            "db/1_a.up.sql (golang-migrate, one implicit transaction)"
        );
        assert_eq!(
            header("db/1_a.down.sql", "SELECT 1;", false),
            "db/1_a.down.sql (golang-migrate, down, one implicit transaction)"
        );
        assert_eq!(header("db/V1__a.sql", "SELECT 1;", false), "db/V1__a.sql (flyway, wrapped in a transaction)");
        assert_eq!(header("m.sql", "SELECT 1;", false), "m.sql (plain, assumed not wrapped in a transaction)");
        assert_eq!(header("m.sql", "SELECT 1;", true), "m.sql (plain, assumed wrapped in a transaction)");
        let goose = "-- +goose Up\nSELECT 1;\n-- +goose Down\nSELECT 2;\n";
        assert_eq!(header("m/1.sql", goose, false), "m/1.sql (goose, wrapped in a transaction)");
        let dbmate = "-- migrate:up transaction:false\nSELECT 1;\n-- migrate:down\nSELECT 2;\n";
        assert_eq!(
            header("m/1.sql", dbmate, false),
            "m/1.sql (dbmate, up one implicit transaction, down wrapped in a transaction)"
        );
        let unreadable = ddlint_core::lint_file("bin.sql", b"\xff\xfe", &Settings::default());
        assert_eq!(file_header(&unreadable, false), "bin.sql");
    }

    #[test]
    fn findings_are_grouped_under_file_headers_over_several_files() {
        let files = [
            file_of("db/1_a.up.sql", "SELECT 1;\n", &[("rename-column", Severity::Warning)]),
            file_of("db/2_b.up.sql", "SELECT 1;\n", &[]),
            file_of("db/3_c.up.sql", "SELECT 1;\n", &[("truncate", Severity::Error)]),
        ];
        let out = render_run(&Run { files: &files, ..Run::default() });
        let headers: Vec<&str> = out.lines().filter(|l| l.starts_with("db/")).collect();
        assert_eq!(
            headers,
            [
                "db/1_a.up.sql (golang-migrate, one implicit transaction)",
                "db/3_c.up.sql (golang-migrate, one implicit transaction)"
            ]
        );
        assert!(
            out.contains("one implicit transaction)\nwarning[rename-column]: msg\n --> db/1_a.up.sql:1:1\n"),
            "{out}"
        );
        // One file: its findings' locations name it, and there is no header.
        let out = render_run(&Run { files: &files[..1], ..Run::default() });
        assert!(out.starts_with("warning[rename-column]"), "{out}");
    }

    #[test]
    fn notes_come_just_before_the_summary() {
        let files = [file_of("a.sql", "SELECT 1;\n", &[])];
        let notes = ["skipped 2 files matching `exclude`".to_owned(), "db: linted \u{1b}[2J\nalone".to_owned()];
        let out = render_run(&Run { files: &files, notes: &notes, ..Run::default() });
        assert_eq!(
            out,
            "note: skipped 2 files matching `exclude`\nnote: db: linted ␛[2J alone\nNo problems found in 1 file\n"
        );
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
        let result =
            render(&Run { files: &[], color: false, pg_version: 15, failed_paths: 1, ..Run::default() }, &mut out);
        assert!(result.is_ok());
        assert_eq!(String::from_utf8_lossy(&out), "");
        // With no failure, an empty run still says what it checked.
        let result = render(&Run { files: &[], color: false, pg_version: 15, ..Run::default() }, &mut out);
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
