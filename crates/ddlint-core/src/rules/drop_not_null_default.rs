use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lock_model::alter_cmds;
use crate::names::RelationName;
use crate::violation::{Objects, Violation};
use pg_query::protobuf::{self as pg, node::Node as N, AlterTableType};

declare_rule! {
    /// ## What it does
    /// Flags `ALTER COLUMN … DROP DEFAULT` on a `NOT NULL` column of a table that this
    /// migration did not create.
    ///
    /// ## Why is this bad?
    /// The release still running inserts rows without the column, relying on its default (a
    /// column added in this very migration is one it does not know at all). Once the default
    /// is gone, each of those inserts fails with a `NOT NULL` violation. Django writes this
    /// for every new field with a default: it adds the column with the default, to fill the
    /// existing rows, and drops the default at once.
    ///
    /// ## Example
    /// ```sql
    /// ALTER TABLE orders ADD COLUMN currency text DEFAULT 'EUR' NOT NULL;
    /// ALTER TABLE orders ALTER COLUMN currency DROP DEFAULT;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// SET lock_timeout = '2s';
    /// ALTER TABLE orders ADD COLUMN currency text DEFAULT 'EUR' NOT NULL;
    /// ```
    ///
    /// Keep the default until every deployed release writes the column, and drop it in a
    /// later migration.
    ///
    /// ## Locks
    /// `ACCESS EXCLUSIVE` on the table, briefly.
    pub RULE = "drop-not-null-default", Warning, on, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    let N::AlterTableStmt(stmt) = cx.node() else { return };
    let Some(rv) = &stmt.relation else { return };
    let table = RelationName::from_range_var(rv);
    if cx.is_new(&table) {
        return;
    }
    let cmds: Vec<&pg::AlterTableCmd> = alter_cmds(stmt).collect();
    let spans = cx.alter_cmd_spans(rv.location, cmds.len());
    for (i, cmd) in cmds.iter().enumerate() {
        // `DROP DEFAULT` is `ALTER COLUMN … SET DEFAULT` without an expression.
        if cmd.subtype() != AlterTableType::AtColumnDefault || cmd.def.is_some() {
            continue;
        }
        // The schema before the statement says whether the column is `NOT NULL`, or, for a
        // table the history does not know, the `ADD COLUMN` earlier in the file; where neither
        // knows the column, nothing is claimed.
        let added = added_in_file(cx, &table, &cmd.name);
        let known = cx.with_catalog(|c| c.column(&table, &cmd.name).map(|column| column.not_null));
        let not_null = known.or_else(|| added.map(declared_not_null));
        if not_null != Some(true) || restored(cx, &table, &cmd.name, &cmds) {
            continue;
        }
        let added_here = added.is_some();
        let span = spans.as_ref().map_or(cx.stmt.span, |s| s[i]);
        out.push(cx.report(
            &RULE,
            span,
            &DroppedDefault { table: table.clone(), column: cmd.name.clone(), added_here },
        ));
    }
}

/// Whether the migration makes the column safe again: the same statement drops its `NOT NULL`,
/// or makes it an identity, or a later statement of the section gives it a default again (a
/// type change often drops the default and sets it anew), an identity, or drops its `NOT NULL`.
fn restored(cx: &StatementCx<'_, '_>, table: &RelationName, column: &str, cmds: &[&pg::AlterTableCmd]) -> bool {
    // An identity fills the column as a default does.
    let makes_safe = |cmd: &pg::AlterTableCmd, later: bool| {
        cmd.name == column
            && (matches!(cmd.subtype(), AlterTableType::AtDropNotNull | AlterTableType::AtAddIdentity)
                || later && cmd.subtype() == AlterTableType::AtColumnDefault && cmd.def.is_some())
    };
    if cmds.iter().any(|cmd| makes_safe(cmd, false)) {
        return true;
    }
    let end = cx.file.section_end(cx.index);
    cx.file.statements[cx.index + 1..end].iter().any(|s| {
        matches!(&*s.node, N::AlterTableStmt(a) if a.relation.as_ref().is_some_and(|rv| table.is_named_by(rv))
            && alter_cmds(a).any(|cmd| makes_safe(cmd, true)))
    })
}

/// The `ADD COLUMN` of the column in an earlier statement of the file.
fn added_in_file<'s>(cx: &StatementCx<'s, '_>, table: &RelationName, column: &str) -> Option<&'s pg::ColumnDef> {
    cx.file.statements[..cx.index].iter().rev().find_map(|s| {
        let N::AlterTableStmt(a) = &*s.node else { return None };
        if !a.relation.as_ref().is_some_and(|rv| table.is_named_by(rv)) {
            return None;
        }
        alter_cmds(a)
            .filter(|c| c.subtype() == AlterTableType::AtAddColumn)
            .find_map(|c| crate::lock_model::column_def_of(c).filter(|d| d.colname == column))
    })
}

fn declared_not_null(column: &pg::ColumnDef) -> bool {
    column.is_not_null
        || crate::lock_model::column_constraints(column)
            .any(|c| matches!(c.contype(), pg::ConstrType::ConstrNotnull | pg::ConstrType::ConstrPrimary))
}

struct DroppedDefault {
    table: RelationName,
    column: String,
    /// The migration adds the column, so the running release does not know it.
    added_here: bool,
}

impl Violation for DroppedDefault {
    fn message(&self) -> String {
        let Self { table, column, added_here } = self;
        if *added_here {
            format!(
                "dropping the default of the new `NOT NULL` column `{table}.{column}` makes every insert from the release still running fail: that release does not know the column"
            )
        } else {
            format!(
                "dropping the default of `NOT NULL` column `{table}.{column}` makes every insert from the release still running that leaves the column out fail"
            )
        }
    }

    fn help(&self) -> Option<String> {
        Some("keep the default until every deployed release writes the column, and drop it in a later migration".into())
    }

    fn objects(&self) -> Objects {
        Objects::column(&self.table, &self.column)
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, messages};

    const ID: &str = "drop-not-null-default";

    #[test]
    fn flags_dropped_defaults_of_not_null_columns() {
        let django = "ALTER TABLE orders ADD COLUMN currency text DEFAULT 'EUR' NOT NULL;\nALTER TABLE orders ALTER COLUMN currency DROP DEFAULT;";
        assert_eq!(lines(django, ID), vec![2]);
        assert!(messages(django, ID)[0].contains("does not know the column"));
    }

    #[test]
    fn nullable_unknown_and_new_tables_pass() {
        assert!(lines(
            "ALTER TABLE orders ADD COLUMN note text DEFAULT 'x';\nALTER TABLE orders ALTER COLUMN note DROP DEFAULT;",
            ID
        )
        .is_empty());
        assert!(lines("ALTER TABLE orders ALTER COLUMN total DROP DEFAULT;", ID).is_empty());
        assert!(lines("CREATE TABLE t (a int NOT NULL DEFAULT 1);\nALTER TABLE t ALTER COLUMN a DROP DEFAULT;", ID)
            .is_empty());
        assert!(lines(
            "ALTER TABLE orders ADD COLUMN n int DEFAULT 0 NOT NULL;\nALTER TABLE orders ALTER COLUMN n SET DEFAULT 1;",
            ID
        )
        .is_empty());
    }
}
