use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::fix::{recipes, Fix};
use crate::locks::LockMode;
use crate::names::RelationName;
use crate::violation::{HeldLock, Objects, Violation};
use pg_query::protobuf::{self as pg, node::Node as N, Token};

declare_rule! {
    /// ## What it does
    /// Flags `CREATE [UNIQUE] INDEX` without `CONCURRENTLY` on a table that this migration did not create.
    ///
    /// ## Why is this bad?
    /// A plain index build holds a `SHARE` lock on the table for the whole build, which blocks every
    /// `INSERT`, `UPDATE` and `DELETE`. On a large table that is minutes of failed writes.
    /// `CREATE INDEX CONCURRENTLY` takes `SHARE UPDATE EXCLUSIVE` instead, which lets reads and writes go on.
    ///
    /// ## Example
    /// ```sql
    /// CREATE INDEX orders_user_id_idx ON orders (user_id);
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// CREATE INDEX CONCURRENTLY orders_user_id_idx ON orders (user_id);
    /// ```
    ///
    /// `CONCURRENTLY` cannot run inside a transaction block, so give it a migration of its own
    /// and turn off the framework's wrapping transaction. If the build fails it leaves an `INVALID`
    /// index behind: drop it and build again.
    ///
    /// ## Locks
    /// `SHARE` on the table for the whole build; with `CONCURRENTLY`, `SHARE UPDATE EXCLUSIVE`.
    ///
    /// ## Fix
    /// Adds `CONCURRENTLY` and runs the build outside any transaction: in place when the
    /// statement already runs in autocommit, after the `COMMIT` of a transaction the file opens,
    /// or, when the runner wraps the file in its transaction, in a new migration right after it
    /// in the framework's conventions (goose `NO TRANSACTION`, dbmate `transaction:false`, a
    /// file of its own for golang-migrate and Flyway), whose down migration drops the index
    /// `CONCURRENTLY IF EXISTS`. A statement alone in its goose, dbmate or sql-migrate file gets
    /// the framework's no-transaction marker instead.
    ///
    /// ## Fix safety
    /// Unsafe: a concurrent build that fails (a duplicate value for a unique index, a deadlock,
    /// a cancelled statement) leaves an `INVALID` index behind, which must be dropped by hand,
    /// and moving the build out of the migration's transaction means the rest of the
    /// migration no longer rolls back with it. No fix is offered on a partitioned table, where
    /// PostgreSQL refuses `CONCURRENTLY`.
    ///
    /// ## References
    /// - [CREATE INDEX: Building Indexes Concurrently](https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY)
    pub RULE = "create-index-non-concurrently", Warning, on, Some(check), fix = unsafe;
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    let N::IndexStmt(stmt) = cx.node() else { return };
    let Some(rv) = &stmt.relation else { return };
    let table = RelationName::from_range_var(rv);
    // `ON ONLY` builds an invalid index on a partitioned parent alone, instantly; the
    // partitions' indexes are built concurrently and attached afterwards.
    if stmt.concurrent || !rv.inh || cx.is_new(&table) {
        return;
    }
    let span = cx
        .find_tokens(&[Token::Create, Token::Unique, Token::Index])
        .or_else(|| cx.find_tokens(&[Token::Create, Token::Index]))
        .unwrap_or(cx.stmt.span);
    let violation = IndexBuild {
        lock: HeldLock::new(cx.lock_on(&table).unwrap_or(LockMode::Share), &table),
        unique: stmt.unique,
        index: (!stmt.idxname.is_empty()).then(|| RelationName::new(table.schema.as_deref(), &stmt.idxname)),
    };
    out.push(cx.report(&RULE, span, &violation).with_fix(fix(cx, stmt, &table)));
}

struct IndexBuild {
    lock: HeldLock,
    unique: bool,
    /// The index's name, where the statement gives one.
    index: Option<RelationName>,
}

impl IndexBuild {
    fn what(&self) -> &'static str {
        if self.unique {
            "CREATE UNIQUE INDEX"
        } else {
            "CREATE INDEX"
        }
    }
}

impl Violation for IndexBuild {
    fn message(&self) -> String {
        format!("`{}` without `CONCURRENTLY` holds {} for the whole build", self.what(), self.lock)
    }

    fn help(&self) -> Option<String> {
        Some(format!("use `{} CONCURRENTLY`, alone in a migration that runs outside a transaction", self.what()))
    }

    fn objects(&self) -> Objects {
        Objects { index: self.index.clone(), ..Objects::relation(&self.lock.relation) }
    }
}

fn fix(cx: &StatementCx<'_, '_>, stmt: &pg::IndexStmt, table: &RelationName) -> Result<Fix, String> {
    if recipes::is_partitioned(cx, table) {
        return Err(format!("`{table}` is partitioned, and PostgreSQL refuses `CREATE INDEX CONCURRENTLY` on it"));
    }
    let undo = (!stmt.idxname.is_empty()).then(|| {
        let index = RelationName::new(table.schema.as_deref(), &stmt.idxname);
        format!("DROP INDEX CONCURRENTLY IF EXISTS {}", index.to_sql())
    });
    let names: Vec<&str> = [stmt.idxname.as_str()].into_iter().filter(|n| !n.is_empty()).collect();
    recipes::concurrently(cx, &[Token::Index], "build the index", undo, &names)
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, messages};

    const ID: &str = "create-index-non-concurrently";

    #[test]
    fn flags_plain_builds_on_existing_tables() {
        assert_eq!(lines("CREATE INDEX i ON t (a);", ID), vec![1]);
        assert_eq!(
            messages("CREATE UNIQUE INDEX i ON t (a);", "create-index-non-concurrently"),
            vec!["`CREATE UNIQUE INDEX` without `CONCURRENTLY` holds a `SHARE` lock on `t` that blocks writes for the whole build"]
        );
    }

    #[test]
    fn tables_created_in_the_file_are_empty() {
        assert!(lines("CREATE TABLE public.t (a int);\nCREATE INDEX i ON t (a);", ID).is_empty());
        assert_eq!(lines("CREATE TABLE t2 (a int);\nCREATE INDEX i ON t (a);", ID), vec![2]);
    }

    #[test]
    fn new_tables_count_within_their_framework_section() {
        let goose = "-- +goose Up\nCREATE TABLE a (id int);\nCREATE INDEX i ON a (id);\n-- +goose Down\nCREATE INDEX j ON a (id);\n";
        assert_eq!(lines(goose, ID), vec![5]);
    }

    #[test]
    fn concurrent_builds_and_partitioned_parents_pass() {
        assert!(lines("CREATE INDEX CONCURRENTLY i ON t (a);", ID).is_empty());
        assert!(lines("CREATE INDEX i ON ONLY measurements (ts);", ID).is_empty());
    }
}
