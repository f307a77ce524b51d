//! `-- ddlint-ignore` directives, read from the scanner's comments.
//!
//! `-- ddlint-ignore id[, id…] [-- reason]` on a statement's line, or the line before it,
//! silences those rules there; `-- ddlint-ignore-file id…` silences them in the whole file.
//! A directive for a `DO` statement also covers the statements nested in its body.

use crate::diagnostic::Diagnostic;
use crate::parse;
use crate::pg_ffi::{self, RawToken};
use crate::preprocess::Placeholder;
use crate::registry;
use crate::rules::engine::{UNKNOWN_RULE, UNUSED_IGNORE};
use crate::settings::Settings;
use crate::source::{LineIndex, Span};
use pg_query::protobuf::Token;

#[derive(Debug)]
struct Directive {
    /// 0-based line of the comment.
    line: usize,
    whole_file: bool,
    ids: Vec<(String, Span)>,
    used: Vec<bool>,
}

/// Reads the directives from the comment spans, reports unknown ids, drops suppressed
/// diagnostics and reports directives that suppressed nothing.
pub fn apply(
    text: &str,
    index: &LineIndex,
    comments: &[Span],
    settings: &Settings,
    diagnostics: Vec<Diagnostic>,
) -> Vec<Diagnostic> {
    let mut directives: Vec<Directive> = comments.iter().filter_map(|c| parse_directive(text, index, *c)).collect();
    if directives.is_empty() {
        return diagnostics;
    }
    let mut kept = Vec::with_capacity(diagnostics.len());
    let by_line = DirectivesByLine::new(&directives);
    // Scanned for at most once, and only when a diagnostic outlives the directives on its lines.
    let mut do_blocks: Option<Vec<DoBlock>> = None;
    for diagnostic in diagnostics {
        let mut lines = diagnostic_lines(index, &diagnostic);
        if !suppress(&mut directives, &by_line, &lines, &diagnostic) {
            let at = diagnostic.statement.unwrap_or(diagnostic.span).start;
            let blocks = do_blocks.get_or_insert_with(|| find_do_blocks(text, index, &settings.placeholders));
            // The bodies are disjoint and in file order: only the last one starting before
            // `at` can hold it.
            let after = blocks.partition_point(|b| b.body.start < at);
            let Some(block) = after.checked_sub(1).map(|i| &blocks[i]).filter(|b| at < b.body.end) else {
                kept.push(diagnostic);
                continue;
            };
            lines.push(block.line);
            if !suppress(&mut directives, &by_line, &lines, &diagnostic) {
                kept.push(diagnostic);
            }
        }
    }
    for directive in &directives {
        for ((id, span), used) in directive.ids.iter().zip(&directive.used) {
            let finding = if registry::find(id).is_none() {
                (UNKNOWN_RULE.id, format!("unknown rule `{id}` in a `ddlint-ignore` directive"))
            } else if !used {
                (UNUSED_IGNORE.id, format!("`ddlint-ignore {id}` suppresses nothing"))
            } else {
                continue;
            };
            if settings.is_enabled(finding.0) {
                kept.push(Diagnostic::new(finding.0, settings.severity_of(finding.0), *span, finding.1).with_help(
                    if finding.0 == UNKNOWN_RULE.id {
                        "check the id against `ddlint rules`"
                    } else {
                        "remove the directive"
                    },
                ));
            }
        }
    }
    kept
}

/// Applies the directives that cover one of `lines` to the diagnostic, and says whether one
/// suppressed it.
fn suppress(
    directives: &mut [Directive],
    by_line: &DirectivesByLine,
    lines: &[usize],
    diagnostic: &Diagnostic,
) -> bool {
    // A directive covers its own line and the next one.
    let on_lines = lines.iter().flat_map(|&l| [Some(l), l.checked_sub(1)]).flatten();
    let covering = by_line.whole_file.iter().chain(on_lines.flat_map(|l| by_line.at(l)));
    let mut suppressed = false;
    for &d in covering {
        let directive = &mut directives[d];
        for (i, (id, _)) in directive.ids.iter().enumerate() {
            if registry::canonical_id(id) == Some(diagnostic.rule) {
                directive.used[i] = true;
                suppressed = true;
            }
        }
    }
    suppressed
}

/// The directives by the line they are on, so that a diagnostic meets only those near it.
struct DirectivesByLine {
    whole_file: Vec<usize>,
    /// `(line, index)` of the others, in line order.
    lines: Vec<(usize, usize)>,
}

impl DirectivesByLine {
    fn new(directives: &[Directive]) -> Self {
        let whole_file = (0..directives.len()).filter(|&d| directives[d].whole_file).collect();
        let mut lines: Vec<(usize, usize)> =
            directives.iter().enumerate().filter(|(_, d)| !d.whole_file).map(|(i, d)| (d.line, i)).collect();
        lines.sort_unstable();
        Self { whole_file, lines }
    }

    /// The indexes of the directives on `line`.
    fn at(&self, line: usize) -> impl Iterator<Item = &usize> {
        let first = self.lines.partition_point(|(l, _)| *l < line);
        self.lines[first..].iter().take_while(move |(l, _)| *l == line).map(|(_, d)| d)
    }
}

/// A `DO` statement: the string constant that holds its body, where the statements nested in
/// it are, and the 0-based line of its `DO` keyword, where a directive for it points.
struct DoBlock {
    body: Span,
    line: usize,
}

/// The file's `DO` blocks, from the scanner's tokens of the text as the parser reads it
/// (`DO [LANGUAGE name] 'body'`), masked as the parser's was, the project's placeholders
/// included. Up to a scanner error, as far as the parser got.
fn find_do_blocks(text: &str, index: &LineIndex, placeholders: &[Placeholder]) -> Vec<DoBlock> {
    let masked = crate::preprocess::mask_with(text, placeholders);
    let tokens = match pg_ffi::scan(&masked.text) {
        Ok(tokens) => tokens,
        Err(err) => {
            let at = err.offset.unwrap_or(0).min(masked.text.len());
            masked.text.get(..at).and_then(|head| pg_ffi::scan(head).ok()).unwrap_or_default()
        }
    };
    let code: Vec<&RawToken> = tokens.iter().filter(|t| !parse::is_comment(t.token)).collect();
    let mut blocks = Vec::new();
    for (i, token) in code.iter().enumerate() {
        if token.token != Token::Do {
            continue;
        }
        let body = match code.get(i + 1..) {
            Some([first, ..]) if first.token == Token::Sconst => first,
            Some([language, _, body, ..]) if language.token == Token::Language && body.token == Token::Sconst => body,
            _ => continue,
        };
        blocks.push(DoBlock { body: Span::new(body.start, body.end), line: index.line_of(token.start) });
    }
    blocks
}

/// The lines a diagnostic can be suppressed from: its own first line and its statement's.
fn diagnostic_lines(index: &LineIndex, diagnostic: &Diagnostic) -> Vec<usize> {
    let mut lines = vec![index.line_of(diagnostic.span.start)];
    if let Some(statement) = diagnostic.statement {
        lines.push(index.line_of(statement.start));
    }
    lines
}

fn parse_directive(text: &str, index: &LineIndex, comment: Span) -> Option<Directive> {
    let raw = text.get(comment.start..comment.end)?;
    let body = raw.strip_prefix("--").or_else(|| raw.strip_prefix("/*").map(|b| b.strip_suffix("*/").unwrap_or(b)))?;
    let leading = body.len() - body.trim_start().len();
    let body = body.trim_start();
    let (whole_file, rest) = if let Some(rest) = body.strip_prefix("ddlint-ignore-file") {
        (true, rest)
    } else {
        (false, body.strip_prefix("ddlint-ignore")?)
    };
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return None;
    }
    // Anything after a nested `--` is the reason.
    let list = rest.split("--").next().unwrap_or("");
    // Both comment openers, `--` and `/*`, are two bytes long.
    let list_start = comment.start + 2 + leading + (body.len() - rest.len());
    let mut ids = Vec::new();
    let mut offset = 0;
    for part in list.split(|c: char| c == ',' || c.is_whitespace()) {
        if !part.is_empty() {
            let start = list_start + offset;
            ids.push((part.to_owned(), Span::new(start, start + part.len())));
        }
        offset += part.len() + 1;
    }
    let used = vec![false; ids.len()];
    Some(Directive { line: index.line_of(comment.start), whole_file, ids, used })
}

#[cfg(test)]
mod tests {
    use crate::{lint_file, Settings};

    /// `(1-based line, rule)` of every finding.
    fn findings(sql: &str) -> Vec<(usize, &'static str)> {
        let report = lint_file("t.sql", sql.as_bytes(), &Settings::default());
        report.diagnostics.iter().map(|d| (report.line_index.line_of(d.span.start) + 1, d.rule)).collect()
    }

    const BODY: &str = "$$\nBEGIN\n  ALTER TABLE users ALTER COLUMN email SET NOT NULL;\nEND\n$$;";

    #[test]
    fn a_directive_for_a_do_statement_covers_its_nested_statements() {
        let sql = format!("SET lock_timeout = '1s';\n-- ddlint-ignore set-not-null\nDO {BODY}");
        assert_eq!(findings(&sql), []);
        let sql = format!(
            "SET lock_timeout = '1s';\n-- ddlint-ignore set-not-null -- checked by hand\nDO LANGUAGE plpgsql {BODY}"
        );
        assert_eq!(findings(&sql), []);
        // On the `DO` line itself, as for any statement.
        let sql = format!("SET lock_timeout = '1s';\nDO /* ddlint-ignore set-not-null */ {BODY}");
        assert_eq!(findings(&sql), []);
    }

    #[test]
    fn the_directive_still_names_the_rules_and_the_line() {
        let without = format!("SET lock_timeout = '1s';\nDO {BODY}");
        assert_eq!(findings(&without), [(4, "set-not-null")]);
        let other_rule = format!("SET lock_timeout = '1s';\n-- ddlint-ignore drop-table\nDO {BODY}");
        assert_eq!(findings(&other_rule), [(2, "unused-ignore"), (5, "set-not-null")]);
        let too_far = format!("SET lock_timeout = '1s';\n-- ddlint-ignore set-not-null\n\nDO {BODY}");
        assert_eq!(findings(&too_far), [(2, "unused-ignore"), (6, "set-not-null")]);
        // A directive for an earlier statement does not reach into a later block.
        let earlier = format!("-- ddlint-ignore set-not-null\nSET lock_timeout = '1s';\nDO {BODY}");
        assert_eq!(findings(&earlier), [(1, "unused-ignore"), (5, "set-not-null")]);
    }

    #[test]
    fn directives_inside_the_body_keep_working() {
        let sql = "SET lock_timeout = '1s';\nDO $$\nBEGIN\n  -- ddlint-ignore set-not-null\n  \
                   ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n  ALTER TABLE users RENAME COLUMN name TO full_name;\nEND\n$$;";
        assert_eq!(findings(sql), [(6, "rename-column")]);
    }
}
