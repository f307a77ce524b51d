use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lock_model::reindex_concurrently;
use pg_query::protobuf::{node::Node as N, AlterTableType, Token};

declare_rule! {
    /// ## What it does
    /// Flags `CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `REINDEX … CONCURRENTLY`,
    /// `ALTER TABLE … DETACH PARTITION … CONCURRENTLY` and `VACUUM` inside a transaction block,
    /// whether the file opens it with `BEGIN` or the migration runner wraps the file
    /// (`--assume-in-transaction`).
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
    ///
    /// ## References
    /// - [CREATE INDEX](https://www.postgresql.org/docs/current/sql-createindex.html)
    /// - [VACUUM](https://www.postgresql.org/docs/current/sql-vacuum.html)
    pub RULE = "concurrently-in-transaction", Error, on, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    if !cx.state.in_transaction {
        return;
    }
    let what = match cx.node() {
        N::IndexStmt(s) if s.concurrent => "CREATE INDEX CONCURRENTLY",
        N::DropStmt(s) if s.concurrent => "DROP INDEX CONCURRENTLY",
        N::ReindexStmt(s) if reindex_concurrently(s) => "REINDEX CONCURRENTLY",
        N::AlterTableStmt(s)
            if s.cmds.iter().any(|c| {
                matches!(&c.node, Some(N::AlterTableCmd(cmd))
            if cmd.subtype() == AlterTableType::AtDetachPartition
                && matches!(cmd.def.as_deref().and_then(|d| d.node.as_ref()), Some(N::PartitionCmd(p)) if p.concurrent))
            }) =>
        {
            "DETACH PARTITION CONCURRENTLY"
        }
        N::VacuumStmt(s) if s.is_vacuumcmd => "VACUUM",
        _ => return,
    };
    let span =
        cx.find_tokens(&[Token::Concurrently]).or_else(|| cx.find_tokens(&[Token::Vacuum])).unwrap_or(cx.stmt.span);
    let wrapper =
        if cx.state.explicit_transaction { "the file's transaction block" } else { "the runner's transaction" };
    out.push(
        cx.diagnostic(
            &RULE,
            span,
            format!("`{what}` cannot run inside a transaction block, and this one runs in {wrapper}"),
        )
        .with_help("move it to a migration of its own that runs outside a transaction"),
    );
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
    fn analyze_alone_is_fine() {
        assert!(lines("BEGIN;\nANALYZE t;\nCOMMIT;", ID).is_empty());
    }
}
