use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::{Diagnostic, Severity};
use crate::names::RelationName;
use crate::registry;
use crate::violation::{HeldLock, Objects, PhasedChange, Violation};
use pg_query::protobuf::{node::Node as N, Token};

declare_rule! {
    /// ## What it does
    /// Flags `UPDATE` and `DELETE` without a `WHERE` clause on a table that this migration did not
    /// create. It is reported as an error when an earlier statement of the same transaction took a
    /// lock that blocks reads or writes on an existing table, unless a severity is configured for
    /// the rule.
    ///
    /// ## Why is this bad?
    /// One statement that writes every row of a large table runs for a long time, holds a row lock
    /// on every row it touched until the transaction commits (blocking the application's updates
    /// of those rows), writes a dead copy of each row that vacuum must clean up, and floods the WAL
    /// that replicas replay. When the same transaction has already taken a strong lock, such as
    /// the `ACCESS EXCLUSIVE` lock of the `ADD COLUMN` the backfill fills, that lock is held for
    /// the whole backfill and the table is unavailable until it ends.
    ///
    /// ## Example
    /// ```sql
    /// UPDATE users SET plan = 'free';
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// UPDATE users SET plan = 'free'
    /// WHERE id IN (SELECT id FROM users WHERE plan IS NULL ORDER BY id LIMIT 5000);
    /// ```
    ///
    /// repeated until it updates no rows, each batch in its own transaction, in a migration of its
    /// own (or a background job) after the schema change has committed.
    ///
    /// ## Locks
    /// `ROW EXCLUSIVE` on the table and a row lock on every row written, until the transaction
    /// ends; plus whatever earlier statements of the transaction hold.
    ///
    /// ## References
    /// - [UPDATE](https://www.postgresql.org/docs/current/sql-update.html)
    /// - [DELETE](https://www.postgresql.org/docs/current/sql-delete.html)
    pub RULE = "backfill-without-where", Warning, on, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    // A `WHERE` that holds for every row (`WHERE true`, `WHERE 1 = 1`) filters nothing.
    let whole = |where_clause: &Option<Box<pg_query::protobuf::Node>>| where_clause.is_none() || always_true_where(cx);
    let (verb, rv, span, filter) = match cx.node() {
        N::UpdateStmt(s) if whole(&s.where_clause) => {
            ("UPDATE", &s.relation, cx.find_tokens(&[Token::Update]), s.where_clause.is_some())
        }
        N::DeleteStmt(s) if whole(&s.where_clause) => {
            ("DELETE", &s.relation, cx.find_tokens(&[Token::DeleteP]), s.where_clause.is_some())
        }
        _ => return,
    };
    let Some(rv) = rv else { return };
    let table = RelationName::from_range_var(rv);
    if cx.is_new(&table) {
        return;
    }
    let span = span.unwrap_or(cx.stmt.span);
    let held = if cx.state.in_transaction {
        let start = cx.state.transaction_start.min(cx.index);
        (start..cx.index).find_map(|i| cx.file.strongest_lock_on_existing(i))
    } else {
        None
    };
    let Some(held) = held else {
        out.push(cx.report(&RULE, span, &WholeTable { verb, table, held: None, filter }));
        return;
    };
    let held = Some(HeldLock::new(held.mode, &held.relation));
    let mut diagnostic = cx.report(&RULE, span, &WholeTable { verb, table, held, filter });
    let configured = cx.settings().severities.keys().any(|k| registry::canonical_id(k) == Some(RULE.id));
    if !configured {
        diagnostic.severity = Severity::Error;
    }
    out.push(diagnostic);
}

/// Whether the statement's own `WHERE` (not one of a subquery) is a conjunction of terms that
/// hold for every row: `true`, or a literal equal to itself (`1 = 1`, `'a' = 'a'`). The lint
/// tree keeps no condition of a data statement, so the tokens are read.
fn always_true_where(cx: &StatementCx<'_, '_>) -> bool {
    let tokens: Vec<_> = cx.tokens().iter().filter(|t| !crate::parse::is_comment(t.token)).collect();
    let mut depth = 0usize;
    let mut condition = None;
    for (i, token) in tokens.iter().enumerate() {
        match token.token {
            Token::Ascii40 => depth += 1,
            Token::Ascii41 => depth = depth.saturating_sub(1),
            Token::Where if depth == 0 => {
                let rest = &tokens[i + 1..];
                let end = rest.iter().position(|t| t.token == Token::Returning).unwrap_or(rest.len());
                condition = Some(&rest[..end]);
                break;
            }
            _ => {}
        }
    }
    let Some(condition) = condition.filter(|c| !c.is_empty()) else { return false };
    let text = |t: &&crate::pg_ffi::RawToken| cx.text(crate::source::Span::new(t.start, t.end));
    condition.split(|t| t.token == Token::And).all(|mut term| {
        while let [first, inner @ .., last] = term {
            if first.token == Token::Ascii40 && last.token == Token::Ascii41 {
                term = inner;
            } else {
                break;
            }
        }
        let literal = |t: &&crate::pg_ffi::RawToken| matches!(t.token, Token::Iconst | Token::Sconst | Token::Fconst);
        match term {
            [only] => only.token == Token::TrueP,
            [a, eq, b] => eq.token == Token::Ascii61 && literal(a) && literal(b) && text(a) == text(b),
            _ => false,
        }
    })
}

/// An `UPDATE` or `DELETE` of every row.
struct WholeTable {
    /// `UPDATE` or `DELETE`.
    verb: &'static str,
    table: RelationName,
    /// The strongest lock an earlier statement of the transaction holds on a table that exists.
    held: Option<HeldLock>,
    /// It has a `WHERE`, one that holds for every row.
    filter: bool,
}

impl Violation for WholeTable {
    fn message(&self) -> String {
        let Self { verb, table, held, filter } = self;
        let does = if *verb == "UPDATE" { "writes every row of" } else { "deletes every row of" };
        let what = if *filter {
            format!("`{verb}` with a `WHERE` that holds for every row")
        } else {
            format!("`{verb}` without `WHERE`")
        };
        match held {
            None => format!("{what} {does} `{table}` in one transaction"),
            Some(lock) => format!("{what} {does} `{table}` while this transaction holds {lock}"),
        }
    }

    fn help(&self) -> Option<String> {
        Some(
            match self.held {
                None => "write it in batches of a few thousand rows by key, each in its own transaction",
                Some(_) => "commit the schema change first, then write in batches, each in its own transaction",
            }
            .into(),
        )
    }

    fn objects(&self) -> Objects {
        Objects::relation(&self.table)
    }

    fn phased(&self) -> Option<PhasedChange> {
        Some(PhasedChange::Backfill)
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::Severity;
    use crate::rules::test_support::{lines, messages};
    use crate::settings::Settings;

    const ID: &str = "backfill-without-where";

    fn severities(sql: &str, settings: &Settings) -> Vec<Severity> {
        let report = crate::lint_file("t.sql", sql.as_bytes(), settings);
        report.diagnostics.iter().filter(|d| d.rule == ID).map(|d| d.severity).collect()
    }

    #[test]
    fn a_where_that_always_holds_is_no_where() {
        let sql = "UPDATE users SET plan = 'free' WHERE true;\nDELETE FROM events WHERE 1 = 1;\nUPDATE users SET a = 1 WHERE (1=1) AND TRUE AND 'x' = 'x' RETURNING id;";
        assert_eq!(lines(sql, ID), vec![1, 2, 3]);
        let filtered = "UPDATE users SET plan = 'free' WHERE 1 = 1 AND id < 100;\nDELETE FROM events WHERE 1 = 2;\nUPDATE users SET a = (SELECT 1 FROM t WHERE true) WHERE id = 1;\nUPDATE users SET a = 1 WHERE id BETWEEN 1 AND 2;";
        assert!(lines(filtered, ID).is_empty(), "{:?}", lines(filtered, ID));
    }

    #[test]
    fn flags_whole_table_writes() {
        assert_eq!(lines("SELECT 1;\nUPDATE users SET plan = 'free';\nDELETE FROM sessions;", ID), vec![2, 3]);
        assert_eq!(
            messages("UPDATE users SET plan = 'free';", ID),
            vec!["`UPDATE` without `WHERE` writes every row of `users` in one transaction"]
        );
        assert_eq!(severities("DELETE FROM sessions;", &Settings::default()), vec![Severity::Warning]);
    }

    #[test]
    fn worse_after_a_strong_lock_in_the_same_transaction() {
        let sql = "BEGIN;\nALTER TABLE users ADD COLUMN plan text;\nUPDATE users SET plan = 'free';\nCOMMIT;";
        assert_eq!(
            messages(sql, ID),
            vec!["`UPDATE` without `WHERE` writes every row of `users` while this transaction holds an `ACCESS EXCLUSIVE` lock on `users` that blocks reads and writes"]
        );
        assert_eq!(severities(sql, &Settings::default()), vec![Severity::Error]);
        let mut configured = Settings::default();
        configured.severities.insert(ID.to_owned(), Severity::Note);
        assert_eq!(severities(sql, &configured), vec![Severity::Note]);
        // Committed before the backfill: the lock is gone.
        let committed = "BEGIN;\nALTER TABLE users ADD COLUMN plan text;\nCOMMIT;\nUPDATE users SET plan = 'free';";
        assert_eq!(severities(committed, &Settings::default()), vec![Severity::Warning]);
    }

    #[test]
    fn where_clauses_and_new_tables_pass() {
        assert!(lines("UPDATE users SET plan = 'free' WHERE id < 1000;\nDELETE FROM s WHERE done;", ID).is_empty());
        assert!(lines("CREATE TABLE t (a int);\nINSERT INTO t VALUES (1);\nUPDATE t SET a = 2;", ID).is_empty());
    }
}
