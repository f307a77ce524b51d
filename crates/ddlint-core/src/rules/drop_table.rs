use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::locks::LockMode;
use crate::names::RelationName;
use crate::rules::shared::{renamed_into_place, swapped_for_copy, swapped_out_earlier};
use crate::violation::{HeldLock, Objects, PhasedChange, Violation};
use pg_query::protobuf::{node::Node as N, ObjectType, Token};

declare_rule! {
    /// ## What it does
    /// Flags `DROP TABLE` of a table that this migration did not create.
    ///
    /// ## Why is this bad?
    /// Dropping a table is the contract step of a schema change: it is only safe once no deployed
    /// code reads or writes the table. Migrations usually run before the new code is rolled out,
    /// so the old code, still serving traffic, starts failing the moment the table is gone, and a
    /// rollback of the code cannot bring the data back. The drop also takes an `ACCESS EXCLUSIVE`
    /// lock, which waits for every transaction using the table and blocks everything behind it.
    ///
    /// ## Example
    /// ```sql
    /// DROP TABLE legacy_sessions;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// -- in a later release, once no deployed code uses the table:
    /// SET lock_timeout = '2s';
    /// DROP TABLE legacy_sessions; -- ddlint-ignore drop-table -- unused since release 42
    /// ```
    ///
    /// First deploy code that no longer uses the table, then drop it in a later migration and
    /// allow the rule there, saying why it is safe. Tables created earlier in the same file are not
    /// flagged, nor, in a down migration, tables that its own up migration created: the release
    /// that runs after the rollback never used them (`missing-lock-timeout` still guards the
    /// drop's lock). Nor is a table that another takes the place of, renamed to its name in the
    /// same transaction (a copy made in the same file is `copy-and-swap`'s).
    ///
    /// ## Locks
    /// `ACCESS EXCLUSIVE` on the table, and on the tables its foreign keys point at.
    ///
    /// ## References
    /// - [DROP TABLE](https://www.postgresql.org/docs/current/sql-droptable.html)
    pub RULE = "drop-table", Warning, on, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    let N::DropStmt(stmt) = cx.node() else { return };
    if stmt.remove_type() != ObjectType::ObjectTable {
        return;
    }
    let existing: Vec<RelationName> = stmt
        .objects
        .iter()
        .filter_map(|o| match &o.node {
            Some(N::List(list)) => RelationName::from_name_list(&list.items),
            _ => None,
        })
        .filter(|t| !cx.is_new(t) && !cx.undoes_creation(t))
        // A table swapped for another keeps its name; a copy's swap is `copy-and-swap`'s.
        .filter(|t| swapped_for_copy(cx, t).is_none() && !swapped_out_earlier(cx, t) && !renamed_into_place(cx, t))
        .collect();
    let span = cx.find_tokens(&[Token::Drop, Token::Table]).unwrap_or(cx.stmt.span);
    for table in &existing {
        let lock = HeldLock::new(cx.lock_on(table).unwrap_or(LockMode::AccessExclusive), table);
        out.push(cx.report(&RULE, span, &DropTable { lock }));
    }
}

struct DropTable {
    lock: HeldLock,
}

impl Violation for DropTable {
    fn message(&self) -> String {
        format!(
            "dropping `{}` breaks any deployed code that still uses it, and takes {}",
            self.lock.relation, self.lock
        )
    }

    fn help(&self) -> Option<String> {
        Some(format!(
            "deploy code that no longer uses `{}` first, then drop it in a later migration",
            self.lock.relation
        ))
    }

    fn objects(&self) -> Objects {
        Objects::relation(&self.lock.relation)
    }

    fn phased(&self) -> Option<PhasedChange> {
        Some(PhasedChange::DropTable)
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, messages};

    const ID: &str = "drop-table";

    #[test]
    fn flags_drops_of_existing_tables() {
        assert_eq!(lines("SELECT 1;\nDROP TABLE IF EXISTS a;", ID), vec![2]);
        assert_eq!(
            messages("DROP TABLE app.a;", ID),
            vec!["dropping `app.a` breaks any deployed code that still uses it, and takes an `ACCESS EXCLUSIVE` lock on `app.a` that blocks reads and writes"]
        );
        assert_eq!(messages("DROP TABLE a, b;", ID).len(), 2);
    }

    #[test]
    fn new_tables_and_other_objects_pass() {
        assert!(lines("CREATE TABLE a (x int);\nDROP TABLE a;", ID).is_empty());
        assert_eq!(messages("CREATE TABLE a (x int);\nDROP TABLE a, b;", ID).len(), 1);
        assert!(lines("DROP VIEW v;\nDROP INDEX CONCURRENTLY i;", ID).is_empty());
    }
}
