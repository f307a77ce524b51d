use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::names::RelationName;
use crate::source::Span;
use crate::violation::{Objects, PhasedChange, Violation};
use pg_query::protobuf::{node::Node as N, ObjectType, Token};

declare_rule! {
    /// ## What it does
    /// Flags renaming a table (or view or materialized view) that this migration did not create.
    ///
    /// ## Why is this bad?
    /// The application version that is still running queries the old name and fails from the
    /// moment the rename commits until every instance runs the new code.
    ///
    /// ## Example
    /// ```sql
    /// ALTER TABLE users RENAME TO accounts;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// CREATE VIEW accounts AS SELECT * FROM users;
    /// ```
    ///
    /// Expand, migrate, contract: give the table its new name through a view (or the reverse:
    /// rename and leave a view under the old name), move the code over, and drop the alias in a
    /// later release.
    ///
    /// ## Locks
    /// `ACCESS EXCLUSIVE` on the table, briefly.
    pub RULE = "rename-table", Warning, on, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    let N::RenameStmt(stmt) = cx.node() else { return };
    let kind = match stmt.rename_type() {
        ObjectType::ObjectTable => "table",
        ObjectType::ObjectView => "view",
        ObjectType::ObjectMatview => "materialized view",
        _ => return,
    };
    let Some(rv) = &stmt.relation else { return };
    let table = RelationName::from_range_var(rv);
    if cx.is_new(&table) {
        return;
    }
    let span = cx.find_tokens(&[Token::Rename]).map_or(cx.stmt.span, |s| Span::new(s.start, cx.stmt.span.end));
    out.push(cx.report(&RULE, span, &RenameTable { kind, table, new_name: stmt.newname.clone() }));
}

struct RenameTable {
    /// `table`, `view` or `materialized view`.
    kind: &'static str,
    table: RelationName,
    new_name: String,
}

impl Violation for RenameTable {
    fn message(&self) -> String {
        let Self { kind, table, new_name } = self;
        format!(
            "renaming {kind} `{table}` to `{new_name}` breaks the application version that still queries the old name"
        )
    }

    fn help(&self) -> Option<String> {
        Some("keep the old name working through a view until no deployed code uses it, then drop it".into())
    }

    fn objects(&self) -> Objects {
        Objects::relation(&self.table)
    }

    fn phased(&self) -> Option<PhasedChange> {
        (self.kind == "table").then_some(PhasedChange::RenameTable)
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::lines;

    const ID: &str = "rename-table";

    #[test]
    fn flags_table_renames() {
        assert_eq!(lines("ALTER TABLE users RENAME TO accounts;", ID), vec![1]);
        assert_eq!(lines("ALTER VIEW v RENAME TO w;", ID), vec![1]);
        assert!(lines("ALTER TABLE users RENAME COLUMN a TO b;", ID).is_empty());
        assert!(lines("CREATE TABLE users (a int);\nALTER TABLE users RENAME TO accounts;", ID).is_empty());
    }
}
