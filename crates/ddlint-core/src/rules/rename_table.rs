use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::names::RelationName;
use crate::rules::shared::{dropped_by, swapped_for_copy};
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
    // A table renamed away for a copy of itself to take its name is `copy-and-swap`'s; one
    // renamed into the place of a table this transaction dropped ends a swap, and the name the
    // running release uses is there again.
    if cx.is_new(&table) || swapped_for_copy(cx, &table).is_some() || takes_place_of_dropped(cx, &stmt.newname) {
        return;
    }
    let span = cx.find_tokens(&[Token::Rename]).map_or(cx.stmt.span, |s| Span::new(s.start, cx.stmt.span.end));
    out.push(cx.report(&RULE, span, &RenameTable { kind, table, new_name: stmt.newname.clone() }));
}

/// Whether an earlier statement of this statement's transaction dropped the table `name` (in
/// the renamed table's schema).
fn takes_place_of_dropped(cx: &StatementCx<'_, '_>, name: &str) -> bool {
    let N::RenameStmt(stmt) = cx.node() else { return false };
    let Some(rv) = &stmt.relation else { return false };
    let target = RelationName::new(RelationName::from_range_var(rv).schema.as_deref(), name);
    cx.state.in_transaction
        && cx.file.statements[cx.state.transaction_start.min(cx.index)..cx.index]
            .iter()
            .any(|s| dropped_by(&s.node).iter().any(|d| d.same_as(&target)))
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

    #[test]
    fn a_swap_into_the_place_of_a_dropped_table_passes() {
        let swap = "DROP TABLE users;\nALTER TABLE users_v2 RENAME TO users;\n";
        assert!(lines(&format!("BEGIN;\n{swap}COMMIT;"), ID).is_empty());
        assert!(lines(&format!("BEGIN;\n{swap}COMMIT;"), "drop-table").is_empty());
        // Outside a transaction the name goes missing between the two statements.
        assert_eq!(lines(swap, ID), vec![2]);
        assert_eq!(lines(swap, "drop-table"), vec![1]);
    }
}
