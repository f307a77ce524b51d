use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::fix::{recipes, Fix};
use crate::locks::{describe_lock, LockMode};
use crate::names::RelationName;
use crate::violation::{Objects, Violation};
use pg_query::protobuf::{self as pg, node::Node as N, ObjectType, Token};

declare_rule! {
    /// ## What it does
    /// Flags `DROP INDEX` without `CONCURRENTLY`.
    ///
    /// ## Why is this bad?
    /// A plain `DROP INDEX` takes an `ACCESS EXCLUSIVE` lock on the index's table, which blocks
    /// every read and write of the table. The drop itself is quick, but waiting for the lock
    /// queues all traffic behind the longest running query on the table.
    ///
    /// ## Example
    /// ```sql
    /// DROP INDEX orders_user_id_idx;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// DROP INDEX CONCURRENTLY orders_user_id_idx;
    /// ```
    ///
    /// `CONCURRENTLY` cannot run inside a transaction block, so give it a migration of its own.
    ///
    /// ## Locks
    /// `ACCESS EXCLUSIVE` on the table and the index; with `CONCURRENTLY`, `SHARE UPDATE EXCLUSIVE`.
    ///
    /// ## Fix
    /// Adds `CONCURRENTLY` and runs it outside any transaction: in place when the statement already runs in autocommit,
    /// after the `COMMIT` of a transaction the file opens, or, when the runner wraps the file in its
    /// transaction, in a new migration right after it in the framework's conventions.
    /// Offered for a single index without `CASCADE`, which is all `DROP INDEX CONCURRENTLY` accepts,
    /// and not for a partitioned table's index, which PostgreSQL cannot drop concurrently.
    ///
    /// ## Fix safety
    /// Unsafe: the drop leaves the migration's transaction, so the rest of the migration no longer
    /// rolls back with it, and a concurrent drop that fails leaves the index `INVALID`.
    ///
    /// ## References
    /// - [DROP INDEX](https://www.postgresql.org/docs/current/sql-dropindex.html)
    pub RULE = "drop-index-non-concurrently", Warning, on, Some(check), fix = unsafe;
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    let N::DropStmt(stmt) = cx.node() else { return };
    if stmt.remove_type() != ObjectType::ObjectIndex || stmt.concurrent {
        return;
    }
    let names: Vec<RelationName> = stmt
        .objects
        .iter()
        .filter_map(|o| match &o.node {
            Some(N::List(list)) => RelationName::from_name_list(&list.items),
            _ => None,
        })
        .collect();
    // An index built on a table this file created is dropped from an empty, unread table.
    let existing: Vec<&RelationName> = names.iter().filter(|index| !cx.is_new(index)).collect();
    let Some(first) = existing.first() else { return };
    let span = cx.find_tokens(&[Token::Drop, Token::Index]).unwrap_or(cx.stmt.span);
    // The lock model keys the lock by the index; the table behind it gets the same mode.
    let mode = cx.lock_on(first).unwrap_or(LockMode::AccessExclusive);
    let table =
        cx.file.created_index(first, cx.index).cloned().or_else(|| cx.with_catalog(|c| c.table_of_index(first)));
    let partitioned = table.as_ref().is_some_and(|t| cx.is_partitioned(t));
    let violation = IndexDrop { mode, index: (*first).clone(), table, partitioned };
    out.push(cx.report(&RULE, span, &violation).with_fix(fix(cx, stmt, &names)));
}

struct IndexDrop {
    mode: LockMode,
    index: RelationName,
    /// The index's table, where the file or the history says it.
    table: Option<RelationName>,
    /// The table is partitioned, whose index cannot be dropped concurrently.
    partitioned: bool,
}

impl Violation for IndexDrop {
    fn message(&self) -> String {
        let lock = match &self.table {
            Some(table) => describe_lock(self.mode, table),
            None => describe_lock(self.mode, &self.index).replacen(" lock on `", " lock on the table of `", 1),
        };
        format!("`DROP INDEX` without `CONCURRENTLY` takes {lock}")
    }

    fn help(&self) -> Option<String> {
        Some(
            if self.partitioned {
                "drop it in a quiet period: PostgreSQL cannot drop a partitioned table's index concurrently"
            } else {
                "use `DROP INDEX CONCURRENTLY`, alone in a migration that runs outside a transaction"
            }
            .into(),
        )
    }

    fn objects(&self) -> Objects {
        Objects { relation: self.table.clone(), ..Objects::index(&self.index) }
    }
}

fn fix(cx: &StatementCx<'_, '_>, stmt: &pg::DropStmt, names: &[RelationName]) -> Result<Fix, String> {
    let [index] = names else {
        return Err("`DROP INDEX CONCURRENTLY` drops one index; give each its own statement".to_owned());
    };
    if stmt.behavior() == pg::DropBehavior::DropCascade {
        return Err("`DROP INDEX CONCURRENTLY` cannot `CASCADE`".to_owned());
    }
    if cx.with_catalog(|c| c.table_of_index(index)).is_some_and(|t| cx.is_partitioned(&t)) {
        return Err("PostgreSQL cannot drop a partitioned table's index concurrently".to_owned());
    }
    recipes::concurrently(cx, &[Token::Index], "drop the index", None, &[index.name.as_str()])
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::lines;

    const ID: &str = "drop-index-non-concurrently";

    #[test]
    fn flags_plain_drops() {
        assert_eq!(lines("SELECT 1;\nDROP INDEX IF EXISTS i;", ID), vec![2]);
        assert_eq!(
            crate::rules::test_support::messages("DROP INDEX i;", ID),
            vec!["`DROP INDEX` without `CONCURRENTLY` takes an `ACCESS EXCLUSIVE` lock on the table of `i` that blocks reads and writes"]
        );
        assert!(lines("DROP INDEX CONCURRENTLY i;", ID).is_empty());
    }

    #[test]
    fn indexes_of_new_tables_are_free_to_drop() {
        assert!(lines("CREATE TABLE t (a int);\nCREATE INDEX i ON t (a);\nDROP INDEX i;", ID).is_empty());
    }
}
