use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::names::RelationName;
use crate::violation::{Objects, PhasedChange, Violation};
use pg_query::protobuf::{node::Node as N, ObjectType, Token};

declare_rule! {
    /// ## What it does
    /// Flags `ALTER TABLE … RENAME COLUMN` on a table that this migration did not create.
    ///
    /// ## Why is this bad?
    /// The application version that is still running reads and writes the old name. From the
    /// moment the rename commits until every instance runs the new code, its queries fail.
    /// The rename also takes an `ACCESS EXCLUSIVE` lock that blocks reads and writes while it waits.
    ///
    /// ## Example
    /// ```sql
    /// ALTER TABLE users RENAME COLUMN name TO full_name;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// SET lock_timeout = '2s';
    /// ALTER TABLE users ADD COLUMN full_name text;
    /// ```
    ///
    /// Expand, migrate, contract: add the new column, write to both and backfill in batches,
    /// move reads to the new column, and drop the old one in a later release.
    ///
    /// ## Locks
    /// `ACCESS EXCLUSIVE` on the table, briefly.
    pub RULE = "rename-column", Warning, on, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    let N::RenameStmt(stmt) = cx.node() else { return };
    if stmt.rename_type() != ObjectType::ObjectColumn {
        return;
    }
    let Some(rv) = &stmt.relation else { return };
    let table = RelationName::from_range_var(rv);
    if cx.is_new(&table) {
        return;
    }
    let span = cx.find_tokens(&[Token::Rename]).map_or(cx.stmt.span, |s| s.cover(Span::new(s.start, cx.stmt.span.end)));
    out.push(cx.report(
        &RULE,
        span,
        &RenameColumn { table, column: stmt.subname.clone(), new_name: stmt.newname.clone() },
    ));
}

struct RenameColumn {
    table: RelationName,
    column: String,
    new_name: String,
}

impl Violation for RenameColumn {
    fn message(&self) -> String {
        let Self { table, column, new_name } = self;
        format!(
            "renaming `{table}.{column}` to `{new_name}` breaks the application version that still uses the old name"
        )
    }

    fn help(&self) -> Option<String> {
        Some(
            "add the new column, backfill and switch the code to it, then drop the old column in a later release"
                .into(),
        )
    }

    fn objects(&self) -> Objects {
        Objects::column(&self.table, &self.column)
    }

    fn phased(&self) -> Option<PhasedChange> {
        Some(PhasedChange::RenameColumn)
    }
}

use crate::source::Span;

#[cfg(test)]
mod tests {
    use crate::rules::test_support::lines;

    const ID: &str = "rename-column";

    #[test]
    fn flags_renames_of_existing_columns() {
        assert_eq!(lines("ALTER TABLE users RENAME COLUMN name TO full_name;", ID), vec![1]);
        assert_eq!(lines("ALTER TABLE users RENAME name TO full_name;", ID), vec![1]);
    }

    #[test]
    fn new_tables_and_other_renames_pass() {
        assert!(lines("CREATE TABLE users (name text);\nALTER TABLE users RENAME COLUMN name TO n;", ID).is_empty());
        assert!(lines("ALTER TABLE users RENAME TO people;", ID).is_empty());
    }
}
