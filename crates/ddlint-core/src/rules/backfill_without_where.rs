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
    let (verb, rv, span) = match cx.node() {
        N::UpdateStmt(s) if s.where_clause.is_none() => ("UPDATE", &s.relation, cx.find_tokens(&[Token::Update])),
        N::DeleteStmt(s) if s.where_clause.is_none() => ("DELETE", &s.relation, cx.find_tokens(&[Token::DeleteP])),
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
        out.push(cx.report(&RULE, span, &WholeTable { verb, table, held: None }));
        return;
    };
    let held = Some(HeldLock::new(held.mode, &held.relation));
    let mut diagnostic = cx.report(&RULE, span, &WholeTable { verb, table, held });
    let configured = cx.settings().severities.keys().any(|k| registry::canonical_id(k) == Some(RULE.id));
    if !configured {
        diagnostic.severity = Severity::Error;
    }
    out.push(diagnostic);
}

/// An `UPDATE` or `DELETE` of every row.
struct WholeTable {
    /// `UPDATE` or `DELETE`.
    verb: &'static str,
    table: RelationName,
    /// The strongest lock an earlier statement of the transaction holds on a table that exists.
    held: Option<HeldLock>,
}

impl Violation for WholeTable {
    fn message(&self) -> String {
        let Self { verb, table, held } = self;
        let does = if *verb == "UPDATE" { "writes every row of" } else { "deletes every row of" };
        match held {
            None => format!("`{verb}` without `WHERE` {does} `{table}` in one transaction"),
            Some(lock) => format!("`{verb}` without `WHERE` {does} `{table}` while this transaction holds {lock}"),
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
        assert!(lines("UPDATE users SET plan = 'free' WHERE id < 1000;\nDELETE FROM s WHERE true;", ID).is_empty());
        assert!(lines("CREATE TABLE t (a int);\nINSERT INTO t VALUES (1);\nUPDATE t SET a = 2;", ID).is_empty());
    }
}
