use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::fix::{self, recipes, Fix, Needs};
use crate::lock_model::{refused_in_transaction, RefusedInTransaction};
use crate::rules::shared;
use crate::violation::Violation;
use pg_query::protobuf::{node::Node as N, Token};

declare_rule! {
    /// ## What it does
    /// Flags `CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `REINDEX … CONCURRENTLY`,
    /// `ALTER TABLE … DETACH PARTITION … CONCURRENTLY`, `VACUUM` and the other statements
    /// PostgreSQL refuses in a transaction block inside one, whether the file opens it with `BEGIN`
    /// or the migration runner wraps the file (`--assume-in-transaction`).
    ///
    /// The other statements are `REINDEX SCHEMA`, `DATABASE` and `SYSTEM`, `CREATE` and `DROP`
    /// of a `DATABASE` or `TABLESPACE`, `CREATE SUBSCRIPTION` (unless it creates no replication
    /// slot), `DROP SUBSCRIPTION`, `ALTER SYSTEM` and `DISCARD ALL`. `ALTER TYPE … ADD VALUE` is
    /// left to `enum-add-value-in-transaction`.
    ///
    /// ## Why is this bad?
    /// PostgreSQL refuses to run these statements in a transaction block: the migration fails at
    /// deploy time with `cannot run inside a transaction block`, and everything before it in the
    /// transaction is rolled back.
    ///
    /// ## Example
    /// ```sql
    /// BEGIN;
    /// CREATE INDEX CONCURRENTLY orders_user_id_idx ON orders (user_id);
    /// COMMIT;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// CREATE INDEX CONCURRENTLY orders_user_id_idx ON orders (user_id);
    /// ```
    ///
    /// Put the statement in a migration of its own and disable the framework's transaction for it
    /// (for example `-- +goose NO TRANSACTION` or `-- migrate:up transaction:false`).
    /// Flyway runs a script outside a transaction by itself when it holds one of these statements
    /// (all but `REINDEX … CONCURRENTLY` of an index or table and `DETACH PARTITION CONCURRENTLY`,
    /// which Flyway does not recognise).
    ///
    /// ## Fix
    /// Moves the statement where it can run: after the `COMMIT` of a transaction the file opens, or,
    /// when the runner wraps the file in its transaction, into a new migration right after it, in the
    /// framework's conventions.
    ///
    /// ## Fix safety
    /// Unsafe: the statement no longer rolls back with the rest of the migration.
    ///
    /// ## References
    /// - [CREATE INDEX](https://www.postgresql.org/docs/current/sql-createindex.html)
    /// - [VACUUM](https://www.postgresql.org/docs/current/sql-vacuum.html)
    pub RULE = "concurrently-in-transaction", Error, on, Some(check), fix = unsafe;
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    if !cx.state.in_transaction {
        return;
    }
    let Some(refused) = refused_in_transaction(cx.node(), cx.pg_version()) else { return };
    if refused == RefusedInTransaction::AddEnumValue {
        // `enum-add-value-in-transaction` reports it, with the use of the new value.
        return;
    }
    let what = refused.sql();
    let span =
        cx.find_tokens(&[Token::Concurrently]).or_else(|| cx.find_tokens(&[Token::Vacuum])).unwrap_or(cx.stmt.span);
    let violation = InTransaction { what, explicit_transaction: cx.state.explicit_transaction };
    out.push(cx.report(&RULE, span, &violation).with_fix(fix(cx, what)));
}

/// A statement PostgreSQL refuses inside a transaction block, inside one.
struct InTransaction {
    /// The statement, as its keywords: `CREATE INDEX CONCURRENTLY`.
    what: &'static str,
    /// The file opens the transaction itself, rather than the runner.
    explicit_transaction: bool,
}

impl Violation for InTransaction {
    fn message(&self) -> String {
        let wrapper = shared::transaction_owner(self.explicit_transaction);
        format!("`{}` cannot run inside a transaction block, and this one runs in {wrapper}", self.what)
    }

    fn help(&self) -> Option<String> {
        Some("move it to a migration of its own that runs outside a transaction".into())
    }
}

fn fix(cx: &StatementCx<'_, '_>, what: &str) -> Result<Fix, String> {
    let index = match cx.node() {
        N::IndexStmt(index) => index.idxname.as_str(),
        _ => "",
    };
    let names: Vec<&str> = [index].into_iter().filter(|n| !n.is_empty()).collect();
    let title = format!("run `{what}` outside the transaction");
    recipes::moved(cx, Needs::NoTransaction, &title, &fix::slug(&[what, index]), &names)
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, lines_with};
    use crate::settings::Settings;

    const ID: &str = "concurrently-in-transaction";

    #[test]
    fn explicit_transaction_blocks() {
        assert_eq!(lines("BEGIN;\nCREATE INDEX CONCURRENTLY i ON t (a);\nCOMMIT;", ID), vec![2]);
        assert_eq!(lines("START TRANSACTION;\nVACUUM t;\nEND;\nVACUUM t;", ID), vec![2]);
        assert_eq!(lines("BEGIN;\nALTER TABLE p DETACH PARTITION c CONCURRENTLY;\nROLLBACK;", ID), vec![2]);
    }

    #[test]
    fn assumed_transaction_ends_at_commit() {
        let settings = Settings { assume_in_transaction: true, ..Settings::default() };
        let sql = "DROP INDEX CONCURRENTLY i;\nCOMMIT;\nREINDEX INDEX CONCURRENTLY i;";
        assert_eq!(lines_with(sql, ID, &settings), vec![1]);
        assert!(lines(sql, ID).is_empty());
    }

    #[test]
    fn reindex_with_concurrently_off_runs_in_a_transaction() {
        let sql = "BEGIN;\nREINDEX (CONCURRENTLY false) INDEX i;\nREINDEX (CONCURRENTLY) INDEX i;\nCOMMIT;";
        assert_eq!(lines(sql, ID), vec![3]);
    }

    #[test]
    fn other_statements_postgresql_refuses_in_a_transaction_block() {
        let sql = "BEGIN;\nCREATE DATABASE d;\nALTER SYSTEM SET work_mem = '8MB';\nREINDEX SCHEMA s;\nDISCARD ALL;\nDISCARD PLANS;\nREINDEX INDEX i;\nCOMMIT;";
        assert_eq!(lines(sql, ID), vec![2, 3, 4, 5]);
        let subscriptions = "BEGIN;\nCREATE SUBSCRIPTION s CONNECTION 'x' PUBLICATION p;\nCREATE SUBSCRIPTION s CONNECTION 'x' PUBLICATION p WITH (create_slot = false);\nCOMMIT;";
        assert_eq!(lines(subscriptions, ID), vec![2]);
    }

    #[test]
    fn enum_values_are_left_to_their_own_rule() {
        let settings = Settings { pg_version: 11, ..Settings::default() };
        assert!(lines_with("BEGIN;\nALTER TYPE e ADD VALUE 'x';\nCOMMIT;", ID, &settings).is_empty());
    }

    #[test]
    fn analyze_alone_is_fine() {
        assert!(lines("BEGIN;\nANALYZE t;\nCOMMIT;", ID).is_empty());
    }
}
