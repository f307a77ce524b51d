//! The Markdown reporter, for GitHub's job summary (`$GITHUB_STEP_SUMMARY`), pull and merge
//! request comments, and anything else that renders GitHub-flavoured Markdown.
//!
//! A heading with the counts, then one section per file with findings and, for each finding,
//! its severity, rule (linked to the rule's page), line and message, the statement it is
//! about, the locks the lock model predicts for that statement and the help.
//!
//! Text that comes from the migration (paths, SQL, names in messages) is escaped so that it
//! cannot turn into Markdown or HTML of its own: SQL sits in a fence longer than any run of
//! backticks it holds, and plain text outside code spans has its punctuation escaped.

use super::location::first_and_last;
use super::Run;
use ddlint_core::lock_model::StatementEffects;
use ddlint_core::names::RelationName;
use ddlint_core::{Diagnostic, FileReport, Severity};
use std::io::{self, Write};

/// Where the rules' pages live.
const RULES_URL: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/blob/main/rules/");
/// A statement excerpt longer than this many lines is cut.
const MAX_EXCERPT_LINES: usize = 20;
/// A statement excerpt longer than this many bytes is cut, at a character boundary.
const MAX_EXCERPT_BYTES: usize = 2000;

/// The report; when some paths could not be linted (`Run::failed_paths`), the errors went to
/// the log, so the report points there rather than read as a clean run.
pub fn render(run: &Run<'_>, out: &mut dyn Write) -> io::Result<()> {
    let failed_paths = run.failed_paths;
    let (mut errors, mut warnings, mut notes) = (0, 0, 0);
    for diagnostic in run.files.iter().flat_map(|f| &f.diagnostics) {
        match diagnostic.severity {
            Severity::Error => errors += 1,
            Severity::Warning => warnings += 1,
            Severity::Note => notes += 1,
        }
    }
    let total = notes + warnings + errors;
    let with_findings = run.files.iter().filter(|f| !f.diagnostics.is_empty()).count();

    let mut parts = Vec::new();
    for (count, noun) in [(errors, "error"), (warnings, "warning"), (notes, "note")] {
        if count > 0 {
            parts.push(plural(count, noun));
        }
    }
    match parts.as_slice() {
        [] => writeln!(out, "# ddlint: no findings")?,
        [one] => writeln!(out, "# ddlint: {one}")?,
        [init @ .., last] => writeln!(out, "# ddlint: {} and {last}", init.join(", "))?,
    }
    writeln!(out)?;
    write!(out, "Checked {} for PostgreSQL {}", plural(run.files.len(), "file"), run.pg_version)?;
    if total > 0 {
        write!(out, ": {} in {}", plural(total, "finding"), plural(with_findings, "file"))?;
    }
    write!(out, ".")?;
    if failed_paths > 0 {
        write!(out, " {} failed: see the errors in the log.", plural(failed_paths, "path"))?;
    }
    writeln!(out)?;

    for file in run.files.iter().filter(|f| !f.diagnostics.is_empty()) {
        writeln!(out)?;
        writeln!(out, "## {}", code(&file.path))?;
        for diagnostic in &file.diagnostics {
            write_finding(file, diagnostic, out)?;
        }
    }
    Ok(())
}

fn write_finding(file: &FileReport, diagnostic: &Diagnostic, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out)?;
    writeln!(
        out,
        "### {}: [{}]({RULES_URL}{}.md)",
        severity(diagnostic.severity),
        code(diagnostic.rule),
        diagnostic.rule
    )?;
    writeln!(out)?;
    let (first, last) = first_and_last(file, diagnostic.span);
    let lines = if first.line == last.line {
        format!("Line {}", first.line)
    } else {
        format!("Lines {}–{}", first.line, last.line)
    };
    writeln!(out, "{lines}: {}", inline(&diagnostic.message))?;

    let excerpt_span = diagnostic.statement.unwrap_or(diagnostic.span);
    let excerpt = file.text.get(excerpt_span.start..excerpt_span.end).unwrap_or("").trim();
    if !excerpt.is_empty() {
        writeln!(out)?;
        write_sql(excerpt, out)?;
    }

    // The lock model's facts the finding stands on, as the engine computed them with the
    // migration history: never computed again here, so the two cannot disagree.
    let mut items = diagnostic.effects.as_deref().map(describe_effects).unwrap_or_default();
    if let Some(help) = &diagnostic.help {
        items.push(format!("**Help:** {}", inline(help)));
    }
    if let Some(fix) = &diagnostic.fix {
        let how = match fix.applicability {
            ddlint_core::fix::Applicability::Safe => "`ddlint check --fix`",
            ddlint_core::fix::Applicability::Unsafe => "unsafe: `ddlint check --fix --unsafe-fixes`",
        };
        items.push(format!("**Fix:** {} ({how})", inline(&fix.title)));
    } else if let Some(plan) = &diagnostic.plan {
        items.push(format!("**Plan:** {}", inline(plan)));
    } else if let Some(reason) = &diagnostic.no_fix {
        items.push(format!("**No fix:** {}", inline(reason)));
    }
    if !items.is_empty() {
        writeln!(out)?;
        for item in items {
            writeln!(out, "- {item}")?;
        }
    }
    if let Some(Ok(changes)) = crate::fix::preview(file, diagnostic) {
        let diff = crate::fix::diff::unified(&changes);
        if !diff.is_empty() {
            writeln!(out)?;
            let fence = "`".repeat(longest_run(&diff, '`').max(2) + 1);
            writeln!(out, "{fence}diff\n{}{fence}", diff)?;
        }
    }
    Ok(())
}

fn severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "Error",
        Severity::Warning => "Warning",
        Severity::Note => "Note",
    }
}

/// One list item per lock, then the tables rewritten and scanned.
fn describe_effects(effects: &StatementEffects) -> Vec<String> {
    let mut items: Vec<String> = effects
        .locks
        .iter()
        .map(|lock| {
            format!(
                "**Lock:** {} on {}, which {}",
                code(lock.mode.sql_name()),
                code(&lock.relation.to_string()),
                lock.mode.blocks_phrase()
            )
        })
        .collect();
    let names = |relations: &[RelationName]| -> String {
        relations.iter().map(|r| code(&r.to_string())).collect::<Vec<_>>().join(", ")
    };
    for (label, relations) in [
        ("Rewrites", &effects.rewrites),
        ("May rewrite", &effects.may_rewrite),
        ("Scans", &effects.scans),
        ("May scan", &effects.may_scan),
    ] {
        if !relations.is_empty() {
            items.push(format!("**{label}:** {}", names(relations)));
        }
    }
    items
}

/// Writes `sql` in a fenced block, cut after [`MAX_EXCERPT_LINES`] lines or
/// [`MAX_EXCERPT_BYTES`] bytes with a comment saying how much was left out.
fn write_sql(sql: &str, out: &mut dyn Write) -> io::Result<()> {
    let mut end = sql.len().min(MAX_EXCERPT_BYTES);
    while !sql.is_char_boundary(end) {
        end -= 1;
    }
    if let Some((at, _)) = sql.match_indices('\n').nth(MAX_EXCERPT_LINES - 1) {
        end = end.min(at);
    }
    let shown = sql[..end].trim_end();
    let fence = "`".repeat(longest_run(shown, '`').max(2) + 1);
    writeln!(out, "{fence}sql")?;
    for line in shown.lines() {
        writeln!(out, "{line}")?;
    }
    if end < sql.len() {
        let total = sql.lines().count();
        let left = total - shown.lines().count();
        if left > 0 {
            writeln!(out, "-- … {} not shown ({total} in all)", plural(left, "more line"))?;
        } else {
            writeln!(out, "-- … cut after {MAX_EXCERPT_BYTES} bytes")?;
        }
    }
    writeln!(out, "{fence}")
}

/// `text` as a code span, whatever backticks it holds.
fn code(text: &str) -> String {
    let text = text.replace(['\r', '\n'], " ");
    let fence = "`".repeat(longest_run(&text, '`') + 1);
    // A span that starts or ends with a backtick, or with spaces on both sides, is padded
    // with one space, which CommonMark strips again.
    let pad = text.starts_with('`') || text.ends_with('`') || (text.starts_with(' ') && text.ends_with(' '));
    let pad = if pad && !text.trim().is_empty() { " " } else { "" };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// A message or help as inline Markdown: its code spans (balanced backticks) kept as they
/// are, every other character that Markdown or HTML would act on escaped, and line breaks
/// turned into spaces.
fn inline(text: &str) -> String {
    let text = text.replace("\r\n", " ").replace(['\r', '\n'], " ");
    let balanced = text.matches('`').count() % 2 == 0;
    let mut out = String::with_capacity(text.len() + 8);
    for (i, part) in text.split('`').enumerate() {
        if balanced && i % 2 == 1 {
            out.push_str(&code(part));
            continue;
        }
        if !balanced && i > 0 {
            out.push_str("\\`");
        }
        for c in part.chars() {
            if matches!(c, '\\' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~' | '&' | '!') {
                out.push('\\');
            }
            out.push(c);
        }
    }
    // A paragraph that starts like a list item or a setext underline would become one.
    if out.starts_with(['-', '+', '=']) {
        out.insert(0, '\\');
    }
    out
}

/// The length of the longest run of `c` in `text`.
fn longest_run(text: &str, c: char) -> usize {
    let (mut longest, mut current) = (0, 0);
    for d in text.chars() {
        current = if d == c { current + 1 } else { 0 };
        longest = longest.max(current);
    }
    longest
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ddlint_core::{lint_file, Settings, Span};

    use crate::report::test_support::{lint, with_diagnostic};

    fn render_files(files: &[FileReport]) -> String {
        crate::report::test_support::render_with(|run, out| render(run, out), files)
    }

    #[test]
    fn clean_run_says_so() {
        assert_eq!(render_files(&[]), "# ddlint: no findings\n\nChecked 0 files for PostgreSQL 15.\n");
        assert_eq!(
            render_files(&[lint("a.sql", "SELECT 1;\n")]),
            "# ddlint: no findings\n\nChecked 1 file for PostgreSQL 15.\n"
        );
    }

    #[test]
    fn failed_paths_point_to_the_log() {
        let run = Run { files: &[], color: false, pg_version: 15, failed_paths: 2, ..Run::default() };
        let mut out = Vec::new();
        assert!(render(&run, &mut out).is_ok());
        assert_eq!(
            String::from_utf8_lossy(&out),
            "# ddlint: no findings\n\nChecked 0 files for PostgreSQL 15. 2 paths failed: see the errors in the log.\n"
        );
    }

    #[test]
    fn heading_counts_every_severity() {
        let out = render_files(&[lint("a.sql", "\\set ON_ERROR_STOP on\nSELEC 1;\nSELEC 2;\n"), lint("b.sql", "")]);
        assert!(
            out.starts_with(
                "# ddlint: 2 errors and 1 note\n\nChecked 2 files for PostgreSQL 15: 3 findings in 1 file.\n"
            ),
            "{out}"
        );
        assert!(out.contains("\n## `a.sql`\n"), "{out}");
        assert!(!out.contains("b.sql"), "{out}");
    }

    #[test]
    fn finding_has_rule_link_statement_locks_and_help() {
        let sql = "SET lock_timeout = '2s';\nALTER TABLE users\n  RENAME COLUMN name TO full_name;\n";
        let out = render_files(&[lint("db/001.sql", sql)]);
        let expected =
            "### Warning: [`rename-column`](https://github.com/ddlint/ddlint/blob/main/rules/rename-column.md)\n";
        assert!(out.contains(expected), "{out}");
        assert!(out.contains("\n```sql\nALTER TABLE users\n  RENAME COLUMN name TO full_name\n```\n"), "{out}");
        assert!(out.contains("- **Lock:** `ACCESS EXCLUSIVE` on `users`, which blocks reads and writes\n"), "{out}");
        assert!(out.contains("- **Help:** "), "{out}");
    }

    #[test]
    fn rewrites_and_scans_are_listed() {
        let sql = "SET lock_timeout = '2s';\nALTER TABLE users ALTER COLUMN id TYPE bigint;\n";
        let out = render_files(&[lint("a.sql", sql)]);
        assert!(out.contains("- **Rewrites:** `users`\n") || out.contains("- **May rewrite:** `users`\n"), "{out}");
    }

    #[test]
    fn syntax_error_has_no_lock_line() {
        let out = render_files(&[lint("a.sql", "SELEC 1;\n")]);
        assert!(out.contains("Line 1: syntax error at or near \"SELEC\"\n\n```sql\nSELEC 1\n```\n"), "{out}");
        assert!(!out.contains("**Lock:**"), "{out}");
    }

    #[test]
    fn long_statements_are_cut() {
        let body: Vec<String> = (0..50).map(|i| format!("  c{i} int,")).collect();
        let sql = format!("CREATE TABLE t (\n{}\n  id int\n);\n", body.join("\n"));
        let diagnostic = Diagnostic::new("prefer-bigint", Severity::Warning, Span::new(0, 5), "m")
            .with_statement(Span::new(0, sql.len() - 2));
        let out = render_files(&[with_diagnostic("a.sql", &sql, diagnostic)]);
        assert!(out.contains("  c18 int,\n-- … 33 more lines not shown (53 in all)\n```\n"), "{out}");
        assert!(!out.contains("c19"), "{out}");

        let wide = format!("SELECT '{}';", "é".repeat(3000));
        let diagnostic = Diagnostic::new("prefer-bigint", Severity::Note, Span::new(0, 6), "m")
            .with_statement(Span::new(0, wide.len()));
        let out = render_files(&[with_diagnostic("b.sql", &wide, diagnostic)]);
        assert!(out.contains("-- … cut after 2000 bytes\n```\n"), "{out}");
    }

    #[test]
    fn fences_outgrow_backticks_in_the_sql() {
        let sql = "SELECT '```' AS x;";
        let diagnostic =
            Diagnostic::new("syntax-error", Severity::Error, Span::new(0, 6), "m").with_statement(Span::new(0, 17));
        let out = render_files(&[with_diagnostic("a.sql", sql, diagnostic)]);
        assert!(out.contains("\n````sql\nSELECT '```' AS x\n````\n"), "{out}");
    }

    #[test]
    fn escapes_text_but_keeps_code_spans() {
        assert_eq!(inline("renaming `users.name` breaks *it*"), "renaming `users.name` breaks \\*it\\*");
        assert_eq!(inline("a <b> & [c](d) | e_f"), "a \\<b\\> \\& \\[c\\](d) \\| e\\_f");
        assert_eq!(inline("- starts\nlike a list"), "\\- starts like a list");
        assert_eq!(inline("odd ` tick"), "odd \\` tick");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(code("db/my file.sql"), "`db/my file.sql`");
        assert_eq!(code("line\nbreak"), "`line break`");
    }

    #[test]
    fn path_with_markup_is_a_code_span() {
        let out = render_files(&[lint("db/<b>`x`.sql", "SELEC 1;\n")]);
        assert!(out.contains("\n## ``db/<b>`x`.sql``\n"), "{out}");
    }

    #[test]
    fn unreadable_file_has_no_excerpt() {
        let out = render_files(&[lint_file("bin.sql", b"\xff\xfeS\0", &Settings::default())]);
        assert!(out.contains("### Error: [`unreadable-file`]"), "{out}");
        assert!(!out.contains("```sql"), "{out}");
        assert!(out.contains("Line 1: "), "{out}");
    }
}
