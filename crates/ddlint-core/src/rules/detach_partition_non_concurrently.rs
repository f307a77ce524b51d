use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::fix::{self, recipes, Applicability, Fix, Needs, Proposal, Step};
use crate::lock_model::{alter_cmds, alter_table_cmd_lock};
use crate::names::RelationName;
use crate::source::Span;
use crate::violation::{HeldLock, Objects, Violation};
use pg_query::protobuf::{self as pg, node::Node as N, AlterTableType as At};

declare_rule! {
    /// ## What it does
    /// Flags `ALTER TABLE … DETACH PARTITION` without `CONCURRENTLY` on a partitioned table that
    /// this migration did not create, when the target is PostgreSQL 14 or later.
    ///
    /// ## Why is this bad?
    /// A plain detach takes an `ACCESS EXCLUSIVE` lock on the partitioned table, which blocks
    /// every read and write of every partition. The detach itself is quick, but waiting for the
    /// lock queues all traffic to the table behind the longest running query on any partition.
    /// `DETACH PARTITION … CONCURRENTLY` takes only a `SHARE UPDATE EXCLUSIVE` lock on it.
    ///
    /// ## Example
    /// ```sql
    /// ALTER TABLE measurements DETACH PARTITION measurements_2019;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// SET lock_timeout = '2s';
    /// ALTER TABLE measurements DETACH PARTITION measurements_2019 CONCURRENTLY;
    /// ```
    ///
    /// `CONCURRENTLY` cannot run inside a transaction block, so give it a migration of its own. It
    /// is not allowed when the partitioned table has a default partition.
    ///
    /// ## Locks
    /// `ACCESS EXCLUSIVE` on the partitioned table and the partition; with `CONCURRENTLY`,
    /// `SHARE UPDATE EXCLUSIVE` on the partitioned table, and, in the second of its two
    /// transactions, `ACCESS EXCLUSIVE` on the partition alone (so keep a `lock_timeout`).
    ///
    /// ## PostgreSQL versions
    /// `CONCURRENTLY` exists from PostgreSQL 14; before that there is no alternative and the rule
    /// stays silent.
    ///
    /// ## Fix
    /// Adds `CONCURRENTLY` and runs it outside any transaction: in place when the statement already runs in autocommit,
    /// after the `COMMIT` of a transaction the file opens, or, when the runner wraps the file in its
    /// transaction, in a new migration right after it in the framework's conventions.
    /// Offered when the `ALTER TABLE` does nothing else and the history shows no default partition,
    /// as PostgreSQL requires. A concurrent detach leaves the partition's bound on it as a
    /// `CHECK` constraint, which the fix drops again so that the schema ends as the original
    /// leaves it; PostgreSQL names that constraint after the partition key, so the fix is
    /// offered only when the history shows the key.
    ///
    /// ## Fix safety
    /// Unsafe: a concurrent detach that is interrupted leaves the partition half detached, to be
    /// finished with `DETACH PARTITION … FINALIZE`, and the detach leaves the migration's transaction.
    ///
    /// ## References
    /// - [ALTER TABLE](https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DETACH-PARTITION)
    pub RULE = "detach-partition-non-concurrently", Warning, on, Some(check), fix = unsafe;
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    if cx.pg_version() < 14 {
        return;
    }
    let N::AlterTableStmt(stmt) = cx.node() else { return };
    let Some(rv) = &stmt.relation else { return };
    let parent = RelationName::from_range_var(rv);
    if cx.is_new(&parent) {
        return;
    }
    let cmds: Vec<&pg::AlterTableCmd> = alter_cmds(stmt).collect();
    let spans = cx.alter_cmd_spans(rv.location, cmds.len());
    for (i, cmd) in cmds.iter().enumerate() {
        let Some(N::PartitionCmd(p)) = cmd.def.as_deref().and_then(|d| d.node.as_ref()) else { continue };
        if cmd.subtype() != At::AtDetachPartition || p.concurrent {
            continue;
        }
        let mode = cx.lock_on(&parent).unwrap_or_else(|| alter_table_cmd_lock(cmd, cx.pg_version()));
        let span = spans.as_ref().map_or(cx.stmt.span, |s| s[i]);
        out.push(cx.report(&RULE, span, &Detach { lock: HeldLock::new(mode, &parent) }).with_fix(fix(
            cx,
            &parent,
            p.name.as_ref().map(RelationName::from_range_var),
            cmds.len(),
            span,
        )));
    }
}

struct Detach {
    /// The lock on the parent.
    lock: HeldLock,
}

impl Violation for Detach {
    fn message(&self) -> String {
        format!("`DETACH PARTITION` without `CONCURRENTLY` takes {}", self.lock)
    }

    fn help(&self) -> Option<String> {
        Some("use `DETACH PARTITION … CONCURRENTLY`, alone in a migration that runs outside a transaction".into())
    }

    fn objects(&self) -> Objects {
        Objects::relation(&self.lock.relation)
    }
}

fn fix(
    cx: &StatementCx<'_, '_>,
    parent: &RelationName,
    partition: Option<RelationName>,
    subcommands: usize,
    cmd: Span,
) -> Result<Fix, String> {
    if subcommands != 1 || cmd == cx.stmt.span {
        return Err("`DETACH PARTITION CONCURRENTLY` must be the only subcommand of its `ALTER TABLE`".to_owned());
    }
    let (default, key) =
        cx.with_catalog(|c| (c.default_partition(parent), c.relation(parent).map(|p| p.partition_key.clone())));
    if default.is_some_and(|d| d.is_some()) {
        return Err(format!("`{parent}` has a default partition, which `DETACH … CONCURRENTLY` does not allow"));
    }
    let Some(partition) = partition else { return Err("ddlint could not read the partition's name".to_owned()) };
    // A concurrent detach leaves the partition's bound behind as a `CHECK` constraint, named
    // as PostgreSQL names one over the key's columns; dropping it ends in the schema the
    // original would have. Without the key, the name is unknown.
    let Some(Some(key)) = key else {
        return Err(format!(
            "a concurrent detach adds the partition bound to `{partition}` as a `CHECK` constraint, named after `{parent}`'s partition key, which the history does not show"
        ));
    };
    let columns: Vec<&str> = if key.len() == 1 { vec![key[0].as_str()] } else { Vec::new() };
    let name = recipes::free_constraint_name(
        cx,
        &partition,
        &crate::names::default_object_name(&partition.name, &columns, "check"),
    );
    let sql = cx.rewritten(&[recipes::insert(cmd.end, " CONCURRENTLY")]);
    let drop =
        format!("ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}", partition.to_sql(), crate::names::quote_ident(&name));
    cx.fix(
        Proposal::new(
            "detach the partition `CONCURRENTLY`, outside a transaction, then drop the bound it leaves as a constraint",
            Applicability::Unsafe,
            fix::slug(&["detach", &parent.name]),
        )
        .step(Step::new(sql, Needs::NoTransaction))
        .step(Step::new(drop, Needs::LaterTransaction)),
    )
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, lines_with, messages};
    use crate::settings::Settings;

    const ID: &str = "detach-partition-non-concurrently";

    #[test]
    fn flags_plain_detach_from_pg14() {
        let sql = "SELECT 1;\nALTER TABLE m DETACH PARTITION m1;";
        assert_eq!(lines(sql, ID), vec![2]);
        assert_eq!(
            messages("ALTER TABLE m DETACH PARTITION m1;", ID),
            vec!["`DETACH PARTITION` without `CONCURRENTLY` takes an `ACCESS EXCLUSIVE` lock on `m` that blocks reads and writes"]
        );
        assert!(lines_with(sql, ID, &Settings { pg_version: 13, ..Settings::default() }).is_empty());
        assert_eq!(lines_with(sql, ID, &Settings { pg_version: 14, ..Settings::default() }), vec![2]);
    }

    #[test]
    fn concurrently_finalize_and_new_tables_pass() {
        assert!(lines("ALTER TABLE m DETACH PARTITION m1 CONCURRENTLY;", ID).is_empty());
        assert!(lines("ALTER TABLE m DETACH PARTITION m1 FINALIZE;", ID).is_empty());
        let new = "CREATE TABLE m (a int) PARTITION BY LIST (a);\nALTER TABLE m DETACH PARTITION m1;";
        assert!(lines(new, ID).is_empty());
    }
}
