//! `-- ddlint-ignore` directives, read from the scanner's comments.
//!
//! `-- ddlint-ignore id[, id…] [-- reason]` on a statement's line, or the line before it,
//! silences those rules there; `-- ddlint-ignore-file id…` silences them in the whole file.

use crate::diagnostic::Diagnostic;
use crate::registry;
use crate::rules::engine::{UNKNOWN_RULE, UNUSED_IGNORE};
use crate::settings::Settings;
use crate::source::{LineIndex, Span};

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
    for diagnostic in diagnostics {
        let lines = diagnostic_lines(index, &diagnostic);
        let mut suppressed = false;
        for directive in &mut directives {
            let applies = directive.whole_file || lines.iter().any(|&l| l == directive.line || l == directive.line + 1);
            if !applies {
                continue;
            }
            for (i, (id, _)) in directive.ids.iter().enumerate() {
                if registry::canonical_id(id) == Some(diagnostic.rule) {
                    directive.used[i] = true;
                    suppressed = true;
                }
            }
        }
        if !suppressed {
            kept.push(diagnostic);
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
