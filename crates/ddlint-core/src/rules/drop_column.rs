use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lock_model::{alter_cmds, column_def_of};
use crate::names::RelationName;
use crate::rules::shared::earlier_alter_tables;
use crate::violation::{HeldLock, Objects, PhasedChange, Violation};
use pg_query::protobuf::{self as pg, node::Node as N, AlterTableType};

declare_rule! {
    /// ## What it does
    /// Flags `ALTER TABLE … DROP COLUMN` on a table that this migration did not create, unless the
    /// column was added earlier in the same file, or the drop is in a down migration that undoes
    /// the up migration that added it (the release that runs after the rollback never used it).
    ///
    /// ## Why is this bad?
    /// Dropping a column is the contract step of a schema change: it is only safe once no deployed
    /// code reads or writes the column. Migrations usually run before the new code is rolled out,
    /// so the old code, still serving traffic, fails on the missing column; ORMs that list every
    /// column they know of in `INSERT` and `SELECT` fail even where the code never names it. The
    /// drop also takes an `ACCESS EXCLUSIVE` lock, which blocks reads and writes while it waits.
    ///
    /// ## Example
    /// ```sql
    /// ALTER TABLE users DROP COLUMN legacy_token;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// -- in a later release, once no deployed code (or ORM column cache) uses the column:
    /// SET lock_timeout = '2s';
    /// ALTER TABLE users DROP COLUMN legacy_token; -- ddlint-ignore drop-column -- unused since release 42
    /// ```
    ///
    /// First stop using the column in the application (for example Rails' `ignored_columns`) and
    /// deploy, then drop it in a later migration and allow the rule there, saying why it is safe.
    ///
    /// ## Locks
    /// `ACCESS EXCLUSIVE` on the table. The drop itself is quick: the column's data stays on disk
    /// until rows are rewritten.
    ///
    /// ## References
    /// - [ALTER TABLE](https://www.postgresql.org/docs/current/sql-altertable.html)
    pub RULE = "drop-column", Warning, on, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    let N::AlterTableStmt(stmt) = cx.node() else { return };
    let Some(rv) = &stmt.relation else { return };
    let table = RelationName::from_range_var(rv);
    if cx.is_new(&table) || cx.undoes_creation(&table) {
        return;
    }
    let cmds: Vec<&pg::AlterTableCmd> = alter_cmds(stmt).collect();
    let spans = cx.alter_cmd_spans(rv.location, cmds.len());
    for (i, cmd) in cmds.iter().enumerate() {
        if cmd.subtype() != AlterTableType::AtDropColumn
            || added_earlier(cx, &table, &cmd.name)
            || cx.undoes_added_column(&table, &cmd.name)
        {
            continue;
        }
        // Added by an earlier file of the change set: no deployed code knows of it either.
        if cx.with_catalog(|c| c.added_columns(&table).iter().any(|a| a.name == cmd.name)) {
            continue;
        }
        let mode = cx.cmd_lock_on(&table, cmd);
        let span = spans.as_ref().map_or(cx.stmt.span, |s| s[i]);
        out.push(cx.report(&RULE, span, &DropColumn { lock: HeldLock::new(mode, &table), column: cmd.name.clone() }));
    }
}

struct DropColumn {
    lock: HeldLock,
    column: String,
}

impl Violation for DropColumn {
    fn message(&self) -> String {
        let Self { lock, column } = self;
        format!(
            "dropping `{column}` breaks any deployed code that still uses `{}.{column}`, and takes {lock}",
            lock.relation
        )
    }

    fn help(&self) -> Option<String> {
        Some("stop using the column in the application and deploy, then drop it in a later migration".into())
    }

    fn objects(&self) -> Objects {
        Objects::column(&self.lock.relation, &self.column)
    }

    fn phased(&self) -> Option<PhasedChange> {
        Some(PhasedChange::DropColumn)
    }
}

/// Whether an earlier statement of the file added the column to the table, so no deployed code
/// can know of it.
fn added_earlier(cx: &StatementCx<'_, '_>, table: &RelationName, column: &str) -> bool {
    earlier_alter_tables(cx, table).iter().any(|stmt| {
        let N::AlterTableStmt(alter) = &*stmt.node else { return false };
        alter.relation.as_ref().is_some_and(|rv| table.is_named_by(rv))
            && alter_cmds(alter)
                .filter(|c| c.subtype() == AlterTableType::AtAddColumn)
                .filter_map(column_def_of)
                .any(|col| col.colname == column)
    })
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, messages};

    const ID: &str = "drop-column";

    #[test]
    fn flags_drops_of_existing_columns() {
        assert_eq!(lines("SELECT 1;\nALTER TABLE users DROP COLUMN IF EXISTS token;", ID), vec![2]);
        assert_eq!(lines("ALTER TABLE users\n  ADD COLUMN a int,\n  DROP b;", ID), vec![3]);
        assert_eq!(
            messages("ALTER TABLE users DROP COLUMN token;", ID),
            vec!["dropping `token` breaks any deployed code that still uses `users.token`, and takes an `ACCESS EXCLUSIVE` lock on `users` that blocks reads and writes"]
        );
    }

    #[test]
    fn new_tables_and_new_columns_pass() {
        assert!(lines("CREATE TABLE users (a int, b int);\nALTER TABLE users DROP COLUMN b;", ID).is_empty());
        assert!(lines("ALTER TABLE users ADD COLUMN b int;\nALTER TABLE users DROP COLUMN b;", ID).is_empty());
        assert_eq!(lines("ALTER TABLE orders ADD COLUMN b int;\nALTER TABLE users DROP COLUMN b;", ID), vec![2]);
    }
}
