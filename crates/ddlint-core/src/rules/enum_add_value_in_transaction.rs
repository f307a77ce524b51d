use crate::context::{FileContext, StatementCx};
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::fix::{self, recipes, Needs};
use crate::names::RelationName;
use crate::parse::Statement;
use crate::rules::shared;
use crate::source::Span;
use crate::violation::Violation;
use pg_query::protobuf::{self as pg, node::Node as N, Token};

declare_rule! {
    /// ## What it does
    /// Flags `ALTER TYPE … ADD VALUE` inside a transaction block before PostgreSQL 12, and, on any
    /// version, the first use of the new value later in the same transaction. An enum type created
    /// in the same transaction is exempt from both.
    ///
    /// ## Why is this bad?
    /// Before PostgreSQL 12, `ALTER TYPE … ADD VALUE` cannot run inside a transaction block at all.
    /// From PostgreSQL 12 it can, but the new value cannot be used until the transaction commits:
    /// the statement that uses it fails with `unsafe use of new value`. Either way the migration
    /// fails at deploy time, and everything before it in the transaction is rolled back.
    ///
    /// ## Example
    /// ```sql
    /// BEGIN;
    /// ALTER TYPE order_status ADD VALUE 'refunded';
    /// UPDATE orders SET status = 'refunded' WHERE refunded_at IS NOT NULL;
    /// COMMIT;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'refunded';
    /// ```
    ///
    /// in a migration of its own that runs outside a transaction (or commits right after it), and
    /// the `UPDATE` in a later migration.
    ///
    /// ## Locks
    /// Adding a value takes an `EXCLUSIVE` lock on the type, which only other changes to the type
    /// wait for, and locks no table.
    ///
    /// ## PostgreSQL versions
    /// Before 12, the `ADD VALUE` itself is flagged inside a transaction; from 12, only a use of the
    /// new value in the same transaction is.
    ///
    /// ## Fix
    /// Moves the statement the finding is on to where it can run: the first use of the new value to
    /// a later transaction, or, before PostgreSQL 12, the `ADD VALUE` itself out of the transaction.
    /// That is after the `COMMIT` of a transaction the file opens, or a new migration right after the
    /// file when the runner wraps it in its transaction.
    ///
    /// ## Fix safety
    /// Unsafe: the moved statement no longer rolls back with the rest of the migration.
    ///
    /// ## References
    /// - [ALTER TYPE](https://www.postgresql.org/docs/current/sql-altertype.html)
    pub RULE = "enum-add-value-in-transaction", Error, on, Some(check), file = check_file, fix = unsafe;
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    if !cx.state.in_transaction {
        return;
    }
    let start = cx.state.transaction_start.min(cx.index);
    let transaction = &cx.file.statements[start..cx.index];
    // Before PostgreSQL 12, `ADD VALUE` itself cannot run in a transaction block.
    if let N::AlterEnumStmt(stmt) = cx.node() {
        if cx.pg_version() < 12 && added_value(stmt).is_some() && !created_in(transaction, stmt) {
            let span = cx.find_tokens(&[Token::AddP, Token::ValueP]).unwrap_or(cx.stmt.span);
            out.push(
                cx.report(&RULE, span, &AddValueInTransaction { explicit_transaction: cx.state.explicit_transaction })
                    .with_fix(recipes::moved(
                        cx,
                        Needs::NoTransaction,
                        "add the value outside the transaction",
                        &fix::slug(&["add_value", added_value(stmt).unwrap_or_default()]),
                        &[added_value(stmt).unwrap_or_default()],
                    )),
            );
        }
    }
}

/// The first use of each value an earlier `ADD VALUE` of the same transaction added, walking
/// each transaction once.
fn check_file(file: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
    if file.settings.pg_version < 12 {
        // The `ADD VALUE` itself fails first.
        return;
    }
    for start in file.transaction_starts() {
        // The values added so far in this transaction and not used yet, with the `ALTER TYPE`.
        let mut unused: Vec<(String, &pg::AlterEnumStmt)> = Vec::new();
        for index in file.transaction_from(start) {
            let stmt = file.statements[index];
            if let N::AlterEnumStmt(add) = &*stmt.node {
                // Naming a new value in another `ALTER TYPE` (such as `ADD VALUE … BEFORE`) is
                // allowed, and a type created in the transaction takes new values freely.
                if let Some(value) = added_value(add) {
                    if !created_in(&file.statements[start..index], add) {
                        unused.push((quote(value), add));
                    }
                }
                continue;
            }
            let cx = StatementCx::new(file, index);
            if !cx.state.in_transaction {
                continue;
            }
            // Only the first use fails; the transaction is aborted after it.
            let mut used = Vec::new();
            for (i, (literal, add)) in unused.iter().enumerate() {
                let Some(span) = literal_in(&cx, stmt, literal) else { continue };
                used.push(i);
                let value = added_value(add).unwrap_or_default();
                let violation = UseBeforeCommit { literal: literal.to_string(), ty: type_name(add) };
                out.push(cx.report(&RULE, span, &violation).with_fix(recipes::moved(
                    &cx,
                    Needs::LaterTransaction,
                    "use the value in a later transaction",
                    &fix::slug(&["use", value]),
                    &[],
                )));
            }
            for i in used.into_iter().rev() {
                unused.remove(i);
            }
        }
    }
}

/// The value an `ALTER TYPE … ADD VALUE` adds; `None` for `RENAME VALUE`.
fn added_value(stmt: &pg::AlterEnumStmt) -> Option<&str> {
    (stmt.old_val.is_empty() && !stmt.new_val.is_empty()).then_some(stmt.new_val.as_str())
}

fn type_name(stmt: &pg::AlterEnumStmt) -> Option<RelationName> {
    RelationName::from_name_list(&stmt.type_name)
}

/// Whether one of `earlier` creates the enum type that `add` alters.
fn created_in(earlier: &[&Statement], add: &pg::AlterEnumStmt) -> bool {
    let Some(ty) = type_name(add) else { return false };
    earlier.iter().any(|s| {
        matches!(&*s.node, N::CreateEnumStmt(c) if RelationName::from_name_list(&c.type_name).is_some_and(|t| t.same_as(&ty)))
    })
}

/// The value as a standard SQL string literal.
fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// The first string literal in the statement spelled exactly `literal`.
fn literal_in(cx: &StatementCx<'_, '_>, stmt: &Statement, literal: &str) -> Option<Span> {
    cx.file.parsed.tokens[stmt.tokens.clone()]
        .iter()
        .filter(|t| t.token == Token::Sconst)
        .map(|t| Span::new(t.start, t.end))
        .find(|span| cx.text(*span) == literal)
}

/// `ALTER TYPE … ADD VALUE` in a transaction block, before PostgreSQL 12.
struct AddValueInTransaction {
    explicit_transaction: bool,
}

impl Violation for AddValueInTransaction {
    fn message(&self) -> String {
        let wrapper = shared::transaction_owner(self.explicit_transaction);
        format!("`ALTER TYPE … ADD VALUE` cannot run inside a transaction block before PostgreSQL 12, and this one runs in {wrapper}")
    }

    fn help(&self) -> Option<String> {
        Some("move it to a migration of its own that runs outside a transaction".into())
    }
}

/// A value used in the transaction that added it.
struct UseBeforeCommit {
    literal: String,
    /// The enum type, where the statement names it.
    ty: Option<RelationName>,
}

impl Violation for UseBeforeCommit {
    fn message(&self) -> String {
        let ty = self.ty.as_ref().map_or_else(String::new, |t| format!(" to `{t}`"));
        format!("`{}` was added{ty} earlier in this transaction and cannot be used until it commits", self.literal)
    }

    fn help(&self) -> Option<String> {
        Some("commit after `ALTER TYPE … ADD VALUE` and use the value in a later migration".into())
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, lines_with};
    use crate::settings::Settings;

    const ID: &str = "enum-add-value-in-transaction";

    const ADD: &str = "ALTER TYPE status ADD VALUE 'done';\n";
    const USE: &str = "UPDATE t SET s = 'done' WHERE s = 'finished';\n";

    fn pg(version: u32, assume: bool) -> Settings {
        Settings { pg_version: version, assume_in_transaction: assume, ..Settings::default() }
    }

    #[test]
    fn adding_in_a_transaction_fails_before_pg12() {
        assert_eq!(lines_with(&format!("BEGIN;\n{ADD}COMMIT;"), ID, &pg(11, false)), vec![2]);
        assert_eq!(lines_with(ADD, ID, &pg(11, true)), vec![1]);
        assert!(lines_with(ADD, ID, &pg(11, false)).is_empty());
        assert!(lines_with(&format!("BEGIN;\n{ADD}COMMIT;"), ID, &pg(12, false)).is_empty());
    }

    #[test]
    fn using_the_new_value_in_the_same_transaction_fails() {
        assert_eq!(lines(&format!("BEGIN;\n{ADD}{USE}{USE}COMMIT;"), ID), vec![3]);
        assert_eq!(lines_with(&format!("{ADD}SELECT 1;\n{USE}"), ID, &pg(16, true)), vec![3]);
        assert!(lines(&format!("BEGIN;\n{ADD}COMMIT;\n{USE}"), ID).is_empty());
        assert!(lines(&format!("{ADD}{USE}"), ID).is_empty());
        // Another `ALTER TYPE` may name the new value.
        let before = "ALTER TYPE status ADD VALUE 'started' BEFORE 'done';\n";
        assert!(lines(&format!("BEGIN;\n{ADD}{before}COMMIT;"), ID).is_empty());
    }

    #[test]
    fn a_type_created_in_the_transaction_is_exempt() {
        let sql = format!("BEGIN;\nCREATE TYPE status AS ENUM ('new');\n{ADD}{USE}COMMIT;");
        assert!(lines(&sql, ID).is_empty());
        assert!(lines_with(&sql, ID, &pg(11, false)).is_empty());
    }
}
