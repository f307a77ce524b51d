use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::fix::{self, recipes, Applicability, Fix, Needs, Proposal, Step};
use crate::locks::LockMode;
use crate::names::{default_object_name, RelationName};
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
    /// On a partitioned table, where PostgreSQL refuses `CONCURRENTLY`, the fix writes the
    /// recipe instead: the index `ON ONLY` the partitioned table where the statement was, then
    /// each partition's index built `CONCURRENTLY` and attached with `ALTER INDEX … ATTACH
    /// PARTITION`, under the names PostgreSQL would have given them. The partitions come from
    /// the history; without it there is no fix.
    ///
    /// ## Fix safety
    /// Unsafe: a concurrent build that fails (a duplicate value for a unique index, a deadlock,
    /// a cancelled statement) leaves an `INVALID` index behind, which must be dropped by hand,
    /// and moving the build out of the migration's transaction means the rest of the
    /// migration no longer rolls back with it. On a partitioned table, the parent's index stays
    /// invalid until the last partition's is attached.
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
        partitioned: cx.is_partitioned(&table),
        index: (!stmt.idxname.is_empty()).then(|| RelationName::new(table.schema.as_deref(), &stmt.idxname)),
    };
    out.push(cx.report(&RULE, span, &violation).with_fix(fix(cx, stmt, &table)));
}

struct IndexBuild {
    lock: HeldLock,
    unique: bool,
    /// PostgreSQL refuses `CONCURRENTLY` on a partitioned table.
    partitioned: bool,
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
        if self.partitioned {
            return Some(format!(
                "build it `ON ONLY` `{}`, build each partition's index `CONCURRENTLY`, then `ALTER INDEX … ATTACH PARTITION` each",
                self.lock.relation
            ));
        }
        Some(format!("use `{} CONCURRENTLY`, alone in a migration that runs outside a transaction", self.what()))
    }

    fn objects(&self) -> Objects {
        Objects { index: self.index.clone(), ..Objects::relation(&self.lock.relation) }
    }
}

fn fix(cx: &StatementCx<'_, '_>, stmt: &pg::IndexStmt, table: &RelationName) -> Result<Fix, String> {
    if cx.is_partitioned(table) {
        return partitioned_fix(cx, table);
    }
    let undo = (!stmt.idxname.is_empty()).then(|| {
        let index = RelationName::new(table.schema.as_deref(), &stmt.idxname);
        format!("DROP INDEX CONCURRENTLY IF EXISTS {}", index.to_sql())
    });
    let names: Vec<&str> = [stmt.idxname.as_str()].into_iter().filter(|n| !n.is_empty()).collect();
    recipes::concurrently(cx, &[Token::Index], "build the index", undo, &names)
}

/// PostgreSQL refuses `CREATE INDEX CONCURRENTLY` on a partitioned table. The recipe: the
/// parent's index `ON ONLY` the parent (instant, and invalid until every partition has its
/// own), each partition's index built `CONCURRENTLY`, then each attached, which makes the
/// parent's index valid once the last is.
fn partitioned_fix(cx: &StatementCx<'_, '_>, table: &RelationName) -> Result<Fix, String> {
    let partitions = cx
        .with_catalog(|c| c.children(table))
        .filter(|p| !p.is_empty())
        .ok_or_else(|| format!("the history does not list the partitions of `{table}`"))?;
    if let Some(nested) = partitions.iter().find(|p| cx.is_partitioned(p)) {
        return Err(format!("`{nested}` is partitioned too; build its partitions' indexes first"));
    }
    // The lint tree is enough to move `CONCURRENTLY`, not to rebuild the statement, which
    // PostgreSQL's deparser prints from the whole tree.
    let Some(N::IndexStmt(index)) = cx.whole_tree(cx.index) else {
        return Err("ddlint could not read the statement again".to_owned());
    };
    // The names PostgreSQL gives the indexes it would have built itself: the table's (or
    // the partition's) name, the columns (`expr` for an expression), `idx`.
    let columns: Vec<&str> = index
        .index_params
        .iter()
        .map(|p| match &p.node {
            Some(N::IndexElem(e)) if !e.name.is_empty() => e.name.as_str(),
            _ => "expr",
        })
        .collect();
    let name = if index.idxname.is_empty() {
        default_object_name(&table.name, &columns, "idx")
    } else {
        index.idxname.clone()
    };
    let deparse = |stmt: pg::IndexStmt| {
        N::IndexStmt(Box::new(stmt)).deparse(pg_query::DeparseOptions::default()).map_err(|e| e.to_string())
    };
    let parent_index = RelationName::new(table.schema.as_deref(), &name);
    let mut on_only = (*index).clone();
    on_only.idxname.clone_from(&name);
    on_only.concurrent = false;
    if let Some(rv) = on_only.relation.as_mut() {
        rv.inh = false;
    }
    let on_only = deparse(on_only)?;
    let mut proposal = Proposal::new(
        "build the index `ON ONLY` the partitioned table, each partition's `CONCURRENTLY`, and attach them",
        Applicability::Unsafe,
        fix::slug(&["concurrently", &name]),
    )
    // The parent's index stays where the statement was (with the file's own down); the
    // partitions' indexes move, and their names are what later statements must not use.
    .step(Step::new(on_only.clone(), Needs::SameTransaction));
    let mut attaches = Vec::new();
    for partition in &partitions {
        let own = default_object_name(&partition.name, &columns, "idx");
        let own_index = RelationName::new(partition.schema.as_deref(), &own);
        let mut build = (*index).clone();
        build.idxname.clone_from(&own);
        build.concurrent = true;
        build.relation = Some(pg::RangeVar {
            schemaname: partition.schema.clone().unwrap_or_default(),
            relname: partition.name.clone(),
            inh: true,
            relpersistence: "p".to_owned(),
            ..Default::default()
        });
        proposal = proposal
            .step(
                Step::new(deparse(build)?, Needs::NoTransaction)
                    .with_undo(format!("DROP INDEX CONCURRENTLY IF EXISTS {}", own_index.to_sql())),
            )
            .names(own.clone());
        attaches.push(Step::new(
            format!("ALTER INDEX {} ATTACH PARTITION {}", parent_index.to_sql(), own_index.to_sql()),
            Needs::LaterTransaction,
        ));
    }
    // An attached index cannot be detached or dropped alone: the way back drops the parent's
    // index, with every partition's, and builds it `ON ONLY` again, as the file left it.
    let rebuild = format!("DROP INDEX IF EXISTS {};\n{on_only}", parent_index.to_sql());
    for (n, mut attach) in attaches.into_iter().enumerate() {
        if n == 0 {
            attach.undo = Some(rebuild.clone());
        }
        proposal = proposal.step(attach);
    }
    cx.fix(proposal)
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, messages};

    const ID: &str = "create-index-non-concurrently";

    const PARTITIONED: &str = "CREATE TABLE m (id bigint, taken date NOT NULL, v int) PARTITION BY RANGE (taken);
CREATE TABLE m_2024 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE m_2025 PARTITION OF m FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');";

    #[test]
    fn a_partitioned_table_gets_the_on_only_recipe() {
        let report =
            crate::rules::test_support::lint_after(PARTITIONED, "SET lock_timeout = '2s';\nCREATE INDEX ON m (v);");
        let finding = report.diagnostics.iter().find(|d| d.rule == ID).expect("flagged");
        assert!(finding.help.as_deref().is_some_and(|h| h.contains("`ON ONLY`")), "{:?}", finding.help);
        // In autocommit every step runs in place, in order.
        let fix = finding.fix.as_ref().expect("a fix");
        assert_eq!(
            fix.edits[0].replacement,
            "CREATE INDEX m_v_idx ON ONLY m USING btree (v);
CREATE INDEX CONCURRENTLY m_2024_v_idx ON m_2024 USING btree (v);
CREATE INDEX CONCURRENTLY m_2025_v_idx ON m_2025 USING btree (v);
ALTER INDEX m_v_idx ATTACH PARTITION m_2024_v_idx;
ALTER INDEX m_v_idx ATTACH PARTITION m_2025_v_idx"
        );
    }

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
