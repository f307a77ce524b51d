//! Static SQL inside `DO` blocks, brought out as statements of their own.
//!
//! A `DO` block is one string constant to the SQL grammar, so the DDL it runs would go
//! unseen. libpg_query compiles the block's PL/pgSQL body; each static SQL statement in it
//! (`PLpgSQL_stmt_execsql`) comes back as query text with the line it starts on. The query
//! text is a verbatim slice of the body, so it is found on that line, parsed, and added as
//! a [`Statement`] right after the `DO` statement, with `nested_in` pointing at it and its
//! `base` and tokens placed at the body's offsets in the file. Rules then see it like any
//! other statement, and their diagnostics point inside the block.
//!
//! Dynamic SQL (`EXECUTE 'ALTER TABLE …'`) is left alone: its text is only known when the
//! block runs. A body that PL/pgSQL cannot compile, or whose string constant has escapes
//! that would shift offsets, adds nothing.

use crate::parse::{push_statement, Item, Statement, COMPACT_BYTES};
use crate::pg_ffi::{self, RawToken};
use pg_query::protobuf::{self as pg, node::Node as N};
use serde_json::Value;

/// Inserts the static SQL statements of every `DO` block after the block's statement. Their
/// tokens, and the other tokens of the block bodies, are appended to `nested_tokens`.
pub(crate) fn expand_do_blocks(
    items: Vec<Item>,
    tokens: &[RawToken],
    text: &str,
    nested_tokens: &mut Vec<RawToken>,
) -> Vec<Item> {
    if !items.iter().any(|item| matches!(item, Item::Statement(s) if matches!(*s.node, N::DoStmt(_)))) {
        return items;
    }
    let mut out = Vec::with_capacity(items.len());
    let mut statement_count = 0;
    for item in items {
        let Item::Statement(stmt) = item else {
            out.push(item);
            continue;
        };
        let outer = statement_count;
        let mut nested = Vec::new();
        if let N::DoStmt(do_stmt) = &*stmt.node {
            nested = nested_statements(do_stmt, &stmt, tokens, text, nested_tokens);
        }
        out.push(Item::Statement(stmt));
        statement_count += 1;
        for mut inner in nested {
            inner.nested_in = Some(outer);
            out.push(Item::Statement(inner));
            statement_count += 1;
        }
    }
    out
}

/// The static SQL statements of one `DO` block, in order.
fn nested_statements(
    do_stmt: &pg::DoStmt,
    stmt: &Statement,
    tokens: &[RawToken],
    text: &str,
    nested_tokens: &mut Vec<RawToken>,
) -> Vec<Statement> {
    let Some((body_start, body)) = body(do_stmt, stmt, tokens, text) else {
        return Vec::new();
    };
    let Some(source) = text.get(stmt.span.start..stmt.span.end) else {
        return Vec::new();
    };
    let Ok(compiled) = pg_query::parse_plpgsql(source) else {
        return Vec::new();
    };
    let mut queries = static_queries(&compiled);
    if queries.is_empty() {
        return Vec::new();
    }
    let Ok(body_tokens) = pg_ffi::scan(body) else {
        return Vec::new();
    };
    let line_starts: Vec<usize> = std::iter::once(0).chain(body.match_indices('\n').map(|(at, _)| at + 1)).collect();
    let mut located: Vec<(usize, &str)> = Vec::new();
    for (lineno, query) in queries.drain(..) {
        let Some(at) = locate(body, &line_starts, lineno, &query) else { continue };
        if let Some(found) = body.get(at..at + query.len()) {
            located.push((at, found));
        }
    }
    located.sort_by_key(|(at, _)| *at);
    located.dedup_by_key(|(at, _)| *at);

    nested_tokens.extend(body_tokens.iter().map(|t| RawToken {
        start: t.start + body_start,
        end: t.end + body_start,
        ..*t
    }));
    let mut items = Vec::new();
    for (at, query) in located {
        let Ok(tree) = pg_ffi::parse_for_lint(query) else { continue };
        let base = body_start + at;
        for raw in tree.stmts {
            push_statement(&mut items, nested_tokens, raw, base, base + query.len(), text.len() >= COMPACT_BYTES);
        }
    }
    items
        .into_iter()
        .filter_map(|item| match item {
            Item::Statement(s) => Some(s),
            Item::SyntaxError(_) => None,
        })
        .collect()
}

/// The body of a PL/pgSQL `DO` block and its offset in the file, when the string constant
/// holds it verbatim (dollar quoted, or single quoted without escapes).
fn body<'t>(do_stmt: &pg::DoStmt, stmt: &Statement, tokens: &[RawToken], text: &'t str) -> Option<(usize, &'t str)> {
    let mut code = None;
    for arg in &do_stmt.args {
        let Some(N::DefElem(d)) = &arg.node else { continue };
        let value = match d.arg.as_deref().and_then(|a| a.node.as_ref()) {
            Some(N::String(s)) => s.sval.as_str(),
            _ => continue,
        };
        match d.defname.as_str() {
            "language" if !value.eq_ignore_ascii_case("plpgsql") => return None,
            "as" => code = Some((value, d.location)),
            _ => {}
        }
    }
    let (value, location) = code?;
    let at = stmt.base + usize::try_from(location).ok()?;
    let token = tokens.get(stmt.tokens.clone())?.iter().find(|t| t.start == at)?;
    let quoted = text.get(token.start..token.end)?;
    let quote_len = if let Some(after_dollar) = quoted.strip_prefix('$') {
        let tag_len = after_dollar.find('$')? + 2;
        let tag = quoted.get(..tag_len)?;
        if quoted.len() < 2 * tag_len || !quoted.ends_with(tag) {
            return None;
        }
        tag_len
    } else if quoted.starts_with('\'') && quoted.len() >= 2 && quoted.ends_with('\'') {
        1
    } else {
        return None;
    };
    let inner = quoted.get(quote_len..quoted.len() - quote_len)?;
    (inner == value).then_some((token.start + quote_len, inner))
}

/// The `(line, query)` of every static SQL statement in a compiled PL/pgSQL function, the
/// line counted from 1 at the start of the body.
fn static_queries(compiled: &Value) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut stack = vec![compiled];
    while let Some(value) = stack.pop() {
        match value {
            Value::Array(values) => stack.extend(values),
            Value::Object(map) => {
                if let Some(exec) = map.get("PLpgSQL_stmt_execsql") {
                    let line = exec.get("lineno").and_then(Value::as_u64).and_then(|l| usize::try_from(l).ok());
                    let query = exec.pointer("/sqlstmt/PLpgSQL_expr/query").and_then(Value::as_str);
                    if let (Some(line), Some(query)) = (line, query) {
                        out.push((line, query.to_owned()));
                    }
                }
                stack.extend(map.values());
            }
            _ => {}
        }
    }
    out
}

/// Where `query` starts in `body`: on line `lineno` (1-based), where its first token is.
/// `None` when PL/pgSQL changed the text (it cuts the `INTO` clause out of a query).
fn locate(body: &str, line_starts: &[usize], lineno: usize, query: &str) -> Option<usize> {
    if query.is_empty() {
        return None;
    }
    let line_start = *line_starts.get(lineno.checked_sub(1)?)?;
    let line_end = line_starts.get(lineno).copied().unwrap_or(body.len());
    let at = line_start + body.get(line_start..)?.find(query)?;
    (at < line_end).then_some(at)
}

#[cfg(test)]
mod tests {
    use crate::parse::parse_file;
    use crate::rules::test_support::lines;

    /// The text of each statement nested in a `DO` block, with its 1-based line.
    fn nested(sql: &str) -> Vec<(usize, &str)> {
        let parsed = parse_file(sql);
        parsed
            .statements()
            .filter(|s| s.nested_in.is_some())
            .map(|s| (sql[..s.span.start].matches('\n').count() + 1, &sql[s.span.start..s.span.end]))
            .collect()
    }

    #[test]
    fn static_statements_come_out_at_their_lines() {
        let sql = "SELECT 1;\nDO $$\nDECLARE n int;\nBEGIN\n  ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n  \
                   IF true THEN\n    CREATE INDEX i ON t (a) ;\n  ELSE\n    DROP INDEX j;\n  END IF;\n  \
                   SELECT count(*) INTO n FROM t;\n  PERFORM 1;\n  EXECUTE 'DROP TABLE x';\nEND $$;\nSELECT 2;";
        assert_eq!(
            nested(sql),
            vec![
                (5, "ALTER TABLE users ALTER COLUMN email SET NOT NULL"),
                (7, "CREATE INDEX i ON t (a)"),
                (9, "DROP INDEX j"),
            ]
        );
        let parsed = parse_file(sql);
        let outer: Vec<Option<usize>> = parsed.statements().map(|s| s.nested_in).collect();
        assert_eq!(outer, vec![None, None, Some(1), Some(1), Some(1), None]);
    }

    #[test]
    fn quoting_and_language_forms() {
        let tagged = "DO LANGUAGE plpgsql $body$\nBEGIN\n  DROP TABLE a;\nEND\n$body$;";
        assert_eq!(nested(tagged), vec![(3, "DROP TABLE a")]);
        let quoted = "DO 'BEGIN DROP TABLE a; END';";
        assert_eq!(nested(quoted), vec![(1, "DROP TABLE a")]);
        // Escaped quotes would shift every offset, so such a body is left alone.
        assert!(nested("DO 'BEGIN DROP TABLE a; PERFORM ''x''; END';").is_empty());
        assert!(nested("DO LANGUAGE plperl $$ 1; $$;").is_empty());
        assert!(nested("DO $$ BEGIN SELECT 1 INTO undeclared; DROP TABLE a; END $$;").is_empty());
    }

    #[test]
    fn crlf_and_multibyte_text_keep_offsets() {
        let sql = "-- é\r\nDO $$ BEGIN\r\n  -- ünïcode\r\n  ALTER TABLE users\r\n    ALTER COLUMN email SET NOT NULL;\r\nEND $$;";
        assert_eq!(nested(sql), vec![(4, "ALTER TABLE users\r\n    ALTER COLUMN email SET NOT NULL")]);
        assert_eq!(lines(sql, "set-not-null"), vec![5]);
    }

    #[test]
    fn rules_run_on_nested_statements() {
        let sql = "DO $$ BEGIN\n  ALTER TABLE users ALTER COLUMN email SET NOT NULL;\nEND $$;";
        assert_eq!(lines(sql, "set-not-null"), vec![2]);
        assert_eq!(lines(sql, "missing-lock-timeout"), vec![2]);
        let logic_only = "DO $$\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_class WHERE relname = 'x') THEN\n    \
                          PERFORM pg_sleep(0);\n  END IF;\n  RAISE NOTICE 'done';\nEND\n$$;";
        let report = crate::lint_file("t.sql", logic_only.as_bytes(), &crate::Settings::default());
        assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    }

    #[test]
    fn nested_statements_share_the_do_blocks_transaction() {
        // Autocommit: the block is its own transaction, so the `VALIDATE` runs in the one
        // that added the constraint.
        let sql = "DO $$ BEGIN\n  ALTER TABLE o ADD CONSTRAINT c CHECK (x > 0) NOT VALID;\n  \
                   ALTER TABLE o VALIDATE CONSTRAINT c;\nEND $$;\nALTER TABLE o VALIDATE CONSTRAINT c;";
        assert_eq!(lines(sql, "validate-in-same-transaction"), vec![3]);
        let concurrently = "DO $$ BEGIN\n  CREATE INDEX CONCURRENTLY i ON t (a);\nEND $$;";
        assert_eq!(lines(concurrently, "concurrently-in-transaction"), vec![2]);
    }

    #[test]
    fn ignore_comments_inside_the_body_apply() {
        let sql = "SET lock_timeout = '1s';\nDO $$ BEGIN\n  -- ddlint-ignore set-not-null\n  \
                   ALTER TABLE users ALTER COLUMN email SET NOT NULL;\nEND $$;";
        let report = crate::lint_file("t.sql", sql.as_bytes(), &crate::Settings::default());
        assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    }
}
