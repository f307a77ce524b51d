use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lock_model::{alter_cmds, column_constraints, column_def_of};
use crate::names::RelationName;
use crate::violation::{Objects, PhasedChange, Violation};
use pg_query::protobuf::{node::Node as N, AlterTableType, ColumnDef, ConstrType};

declare_rule! {
    /// ## What it does
    /// Flags `ALTER TABLE … ADD COLUMN … NOT NULL` (or `PRIMARY KEY`) without a `DEFAULT`
    /// on a table that this migration did not create, or did create and then filled. A table
    /// that a `TRUNCATE` earlier in the same transaction emptied stays empty until the commit,
    /// and is not flagged.
    ///
    /// ## Why is this bad?
    /// Every existing row gets `NULL` in the new column, which the constraint forbids, so the
    /// statement fails on any table that holds rows. It works on an empty development database
    /// and fails in production.
    ///
    /// ## Example
    /// ```sql
    /// ALTER TABLE users ADD COLUMN status text NOT NULL;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// SET lock_timeout = '2s';
    /// ALTER TABLE users ADD COLUMN status text NOT NULL DEFAULT 'active';
    /// ```
    ///
    /// From PostgreSQL 11 a constant default is stored in the catalog and costs no rewrite.
    /// Where no default fits, add the column as nullable, backfill it in batches, and then add
    /// the constraint (see `set-not-null`).
    ///
    /// ## Locks
    /// `ACCESS EXCLUSIVE` on the table.
    pub RULE = "add-column-not-null-without-default", Error, on, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    let N::AlterTableStmt(stmt) = cx.node() else { return };
    let Some(rv) = &stmt.relation else { return };
    let table = RelationName::from_range_var(rv);
    // A table created in this deploy is empty, until rows go in: then the statement fails
    // there too.
    let filled_at = if cx.is_new(&table) {
        match filled_earlier(cx, &table) {
            Some(at) => Some(at),
            None => return,
        }
    } else if cx.emptied_in_transaction(&table) {
        return;
    } else {
        None
    };
    for cmd in alter_cmds(stmt) {
        if cmd.subtype() != AlterTableType::AtAddColumn {
            continue;
        }
        let Some(col) = column_def_of(cmd) else { continue };
        if !requires_value(col) || has_value_source(col) {
            continue;
        }
        let violation = NotNullWithoutDefault {
            table: table.clone(),
            column: col.colname.clone(),
            filled_at: filled_at.map(|i| cx.file.line_of(cx.file.statements[i].span.start)),
        };
        out.push(cx.report(&RULE, cx.item_span_at(col.location), &violation));
    }
}

/// The statement, earlier in the section, that puts rows into a table the section created.
fn filled_earlier(cx: &StatementCx<'_, '_>, table: &RelationName) -> Option<usize> {
    (cx.file.section_start_of(cx.index)..cx.index).find(|&i| match &*cx.file.statements[i].node {
        N::InsertStmt(s) => s.relation.as_ref().is_some_and(|rv| table.is_named_by(rv)),
        N::CopyStmt(s) => s.is_from && s.relation.as_ref().is_some_and(|rv| table.is_named_by(rv)),
        _ => false,
    })
}

struct NotNullWithoutDefault {
    /// The 1-based line of the statement that put rows into a table this deploy created.
    filled_at: Option<usize>,
    table: RelationName,
    column: String,
}

impl Violation for NotNullWithoutDefault {
    fn message(&self) -> String {
        match self.filled_at {
            Some(line) => format!(
                "adding `{}` as `NOT NULL` without a default fails: `{}` holds the rows line {line} put in",
                self.column, self.table
            ),
            None => format!(
                "adding `{}` as `NOT NULL` without a default fails on any non-empty `{}`",
                self.column, self.table
            ),
        }
    }

    fn help(&self) -> Option<String> {
        Some(
            match self.filled_at {
                Some(_) => "add the column with the table, before the rows go in, or give it a constant `DEFAULT`",
                None => {
                    "give the column a constant `DEFAULT`, or add it nullable, backfill in batches, then set `NOT NULL`"
                }
            }
            .into(),
        )
    }

    fn objects(&self) -> Objects {
        Objects::column(&self.table, &self.column)
    }

    fn phased(&self) -> Option<PhasedChange> {
        // A table of this deploy needs no phases, only the column before its rows.
        self.filled_at.is_none().then_some(PhasedChange::AddNotNullColumn)
    }
}

fn requires_value(col: &ColumnDef) -> bool {
    col.is_not_null
        || column_constraints(col).any(|c| matches!(c.contype(), ConstrType::ConstrNotnull | ConstrType::ConstrPrimary))
}

/// A default, identity, generated expression or serial type fills existing rows.
fn has_value_source(col: &ColumnDef) -> bool {
    let serial = col.type_name.as_ref().is_some_and(|t| {
        t.names.last().is_some_and(|n| {
            matches!(&n.node, Some(N::String(s)) if matches!(s.sval.as_str(), "serial" | "bigserial" | "smallserial" | "serial2" | "serial4" | "serial8"))
        })
    });
    serial
        || col.raw_default.as_deref().is_some_and(|d| !is_null_literal(d))
        || !col.identity.is_empty()
        || !col.generated.is_empty()
        || column_constraints(col).any(|c| {
            matches!(c.contype(), ConstrType::ConstrIdentity | ConstrType::ConstrGenerated)
                || c.contype() == ConstrType::ConstrDefault
                    && c.raw_expr.as_deref().is_some_and(|d| !is_null_literal(d))
        })
}

/// `DEFAULT NULL` fills existing rows with nothing.
fn is_null_literal(expr: &pg_query::protobuf::Node) -> bool {
    matches!(&expr.node, Some(N::AConst(c)) if c.isnull)
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, messages};

    const ID: &str = "add-column-not-null-without-default";

    #[test]
    fn a_new_table_with_rows_is_no_longer_empty() {
        let sql = "CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\nALTER TABLE t ADD COLUMN a int NOT NULL;";
        assert_eq!(lines(sql, ID), vec![3]);
        let copy = "CREATE TABLE t (id int);\nCOPY t FROM '/data/t.csv';\nALTER TABLE t ADD COLUMN a int NOT NULL;";
        assert_eq!(lines(copy, ID), vec![3]);
        assert!(messages(sql, ID)[0].contains("holds the rows line 2 put in"));
        let empty = "CREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN a int NOT NULL;\nINSERT INTO t VALUES (1, 2);";
        assert!(lines(empty, ID).is_empty());
    }

    #[test]
    fn flags_not_null_without_default() {
        assert_eq!(lines("ALTER TABLE users ADD COLUMN status text NOT NULL;", ID), vec![1]);
        assert_eq!(lines("ALTER TABLE users\n  ADD COLUMN a int,\n  ADD COLUMN b int PRIMARY KEY;", ID), vec![3]);
        assert_eq!(
            messages("ALTER TABLE users ADD COLUMN status text NOT NULL;", ID),
            vec!["adding `status` as `NOT NULL` without a default fails on any non-empty `users`"]
        );
    }

    #[test]
    fn defaults_and_generated_values_pass() {
        assert!(lines("ALTER TABLE users ADD COLUMN s text NOT NULL DEFAULT 'a';", ID).is_empty());
        assert!(lines("ALTER TABLE users ADD COLUMN id bigserial NOT NULL;", ID).is_empty());
        assert!(lines("ALTER TABLE users ADD COLUMN id int GENERATED ALWAYS AS IDENTITY NOT NULL;", ID).is_empty());
        assert!(lines("ALTER TABLE users ADD COLUMN s text;", ID).is_empty());
        assert_eq!(lines("ALTER TABLE users ADD COLUMN s text NOT NULL DEFAULT NULL;", ID), vec![1]);
        assert!(lines("CREATE TABLE users (id int);\nALTER TABLE users ADD COLUMN s text NOT NULL;", ID).is_empty());
    }
}
