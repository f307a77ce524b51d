use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::locks::LockMode;
use crate::names::RelationName;
use crate::violation::{HeldLock, Objects, Violation};
use pg_query::protobuf::{node::Node as N, Token};

declare_rule! {
    /// ## What it does
    /// Flags `CLUSTER` on a table that this migration did not create, and `CLUSTER` with no
    /// table, which reclusters every table clustered before.
    ///
    /// ## Why is this bad?
    /// `CLUSTER` rewrites the whole table in index order and rebuilds its indexes while holding
    /// an `ACCESS EXCLUSIVE` lock, which blocks every read and write of the table until it is
    /// done. On a large table that is minutes of downtime, and the order it makes decays as soon
    /// as rows are written again.
    ///
    /// ## Example
    /// ```sql
    /// CLUSTER orders USING orders_placed_at_idx;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// ALTER TABLE orders CLUSTER ON orders_placed_at_idx;
    /// ```
    ///
    /// and reorder the rows online, outside the migration, with a tool such as `pg_repack`
    /// (which honours the clustering index), or run `CLUSTER` in a maintenance window.
    ///
    /// ## Locks
    /// `ACCESS EXCLUSIVE` on the table for the whole rewrite.
    ///
    /// ## References
    /// - [CLUSTER](https://www.postgresql.org/docs/current/sql-cluster.html)
    pub RULE = "cluster", Warning, on, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    let N::ClusterStmt(stmt) = cx.node() else { return };
    let span = cx.find_tokens(&[Token::Cluster]).unwrap_or(cx.stmt.span);
    let Some(rv) = &stmt.relation else {
        // The lock model cannot know which tables were clustered before; each one is rewritten
        // under the same lock as a named table.
        out.push(cx.report(&RULE, span, &Cluster { lock: None }));
        return;
    };
    let table = RelationName::from_range_var(rv);
    if cx.is_new(&table) {
        return;
    }
    let lock = HeldLock::new(cx.lock_on(&table).unwrap_or(LockMode::AccessExclusive), &table);
    out.push(cx.report(&RULE, span, &Cluster { lock: Some(lock) }));
}

struct Cluster {
    /// The lock on the table named; none for a bare `CLUSTER`.
    lock: Option<HeldLock>,
}

impl Violation for Cluster {
    fn message(&self) -> String {
        match &self.lock {
            Some(lock) => format!("`CLUSTER` rewrites `{}` in index order while holding {lock}", lock.relation),
            None => {
                let mode = LockMode::AccessExclusive;
                format!(
                    "`CLUSTER` with no table rewrites every table clustered before, each under an `{}` lock that {}",
                    mode.sql_name(),
                    mode.blocks_phrase()
                )
            }
        }
    }

    fn help(&self) -> Option<String> {
        Some("reorder the rows online with `pg_repack`, outside the migration, or in a maintenance window".into())
    }

    fn objects(&self) -> Objects {
        self.lock.as_ref().map_or_else(Objects::default, |lock| Objects::relation(&lock.relation))
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, messages};

    const ID: &str = "cluster";

    #[test]
    fn flags_cluster_on_existing_tables() {
        assert_eq!(lines("SELECT 1;\nCLUSTER orders USING orders_pkey;", ID), vec![2]);
        assert_eq!(lines("CLUSTER orders;", ID), vec![1]);
        assert_eq!(lines("CLUSTER;", ID), vec![1]);
        assert_eq!(
            messages("CLUSTER public.orders;", ID),
            vec!["`CLUSTER` rewrites `public.orders` in index order while holding an `ACCESS EXCLUSIVE` lock on `public.orders` that blocks reads and writes"]
        );
    }

    #[test]
    fn new_tables_and_cluster_on_pass() {
        assert!(lines("CREATE TABLE t (a int PRIMARY KEY);\nCLUSTER t USING t_pkey;", ID).is_empty());
        assert!(lines("ALTER TABLE t CLUSTER ON t_pkey;", ID).is_empty());
    }
}
