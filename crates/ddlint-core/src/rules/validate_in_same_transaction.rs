use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::fix::{self, recipes, Needs};
use crate::lock_model::alter_cmds;
use crate::names::RelationName;
use crate::rules::shared::added_not_valid_earlier;
use crate::violation::{HeldLock, Objects, Violation};
use pg_query::protobuf::{self as pg, node::Node as N, AlterTableType};

declare_rule! {
    /// ## What it does
    /// Flags `VALIDATE CONSTRAINT` in the same transaction as the `ADD CONSTRAINT … NOT VALID`
    /// it validates, and `VALIDATE CONSTRAINT` in an `ALTER TABLE` whose other subcommands
    /// take a lock that blocks traffic.
    ///
    /// ## Why is this bad?
    /// `NOT VALID` exists so that the constraint can be added under a brief lock and validated
    /// later under a weaker one. In one transaction, the strong lock taken by `ADD CONSTRAINT`
    /// is still held while `VALIDATE` scans the table, so nothing is gained; beside another
    /// subcommand in one statement, the scan runs under that subcommand's lock.
    ///
    /// ## Example
    /// ```sql
    /// BEGIN;
    /// ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total > 0) NOT VALID;
    /// ALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;
    /// COMMIT;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// SET lock_timeout = '2s';
    /// ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total > 0) NOT VALID;
    /// ```
    ///
    /// and `ALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;` in a later migration.
    ///
    /// ## Locks
    /// The `ADD CONSTRAINT` lock (`ACCESS EXCLUSIVE` for a `CHECK`, `SHARE ROW EXCLUSIVE` for a
    /// foreign key) stays held through the validation scan.
    ///
    /// ## Fix
    /// Moves the `VALIDATE CONSTRAINT` to a later transaction: after the `COMMIT` of a transaction
    /// the file opens, or into a new migration right after the file when the runner wraps it in its
    /// transaction. Offered when the `ALTER TABLE` does nothing else.
    ///
    /// ## Fix safety
    /// Unsafe: a validation that fails no longer undoes the `ADD CONSTRAINT … NOT VALID` before it.
    pub RULE = "validate-in-same-transaction", Warning, on, Some(check), fix = unsafe;
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    let N::AlterTableStmt(stmt) = cx.node() else { return };
    let Some(rv) = &stmt.relation else { return };
    let table = RelationName::from_range_var(rv);
    let cmds: Vec<&pg::AlterTableCmd> = alter_cmds(stmt).collect();
    let spans = cx.alter_cmd_spans(rv.location, cmds.len());
    // Another subcommand of the same `ALTER TABLE` takes its stronger lock first, and the
    // validation then scans under it, in or out of a transaction.
    let held = cx.lock_on(&table).filter(|m| m.blocks_traffic() && cmds.len() > 1);
    if let Some(mode) = held.filter(|_| !cx.is_new(&table)) {
        for (i, cmd) in cmds.iter().enumerate().filter(|(_, c)| c.subtype() == AlterTableType::AtValidateConstraint) {
            let span = spans.as_ref().map_or(cx.stmt.span, |s| s[i]);
            let violation = ValidateUnderLock { lock: HeldLock::new(mode, &table), constraint: cmd.name.clone() };
            out.push(
                cx.report(&RULE, span, &violation).with_fix(Err(
                    "give `VALIDATE CONSTRAINT` a statement of its own, in a later transaction".to_owned(),
                )),
            );
        }
        return;
    }
    if !cx.state.in_transaction {
        return;
    }
    for (i, cmd) in cmds.iter().enumerate() {
        if cmd.subtype() != AlterTableType::AtValidateConstraint {
            continue;
        }
        if !added_not_valid_earlier(cx, &table, &cmd.name) {
            continue;
        }
        let span = spans.as_ref().map_or(cx.stmt.span, |s| s[i]);
        out.push(
            cx.report(&RULE, span, &ValidateTooSoon { table: table.clone(), constraint: cmd.name.clone() }).with_fix(
                if cmds.len() == 1 {
                    recipes::moved(
                        cx,
                        Needs::LaterTransaction,
                        "validate the constraint in a later transaction",
                        &fix::slug(&["validate", &cmd.name]),
                        &[],
                    )
                } else {
                    Err("the `ALTER TABLE` has other subcommands; give `VALIDATE CONSTRAINT` a statement of its own"
                        .to_owned())
                },
            ),
        );
    }
}

/// `VALIDATE CONSTRAINT` beside a subcommand that takes a lock blocking traffic.
struct ValidateUnderLock {
    lock: HeldLock,
    constraint: String,
}

impl Violation for ValidateUnderLock {
    fn message(&self) -> String {
        format!(
            "`VALIDATE CONSTRAINT {}` shares its `ALTER TABLE` with a subcommand that takes {}, which is held through the scan",
            self.constraint, self.lock
        )
    }

    fn help(&self) -> Option<String> {
        Some("give `VALIDATE CONSTRAINT` a statement of its own, in a later transaction".into())
    }

    fn objects(&self) -> Objects {
        Objects::relation(&self.lock.relation).with_constraint(&self.constraint)
    }
}

struct ValidateTooSoon {
    table: RelationName,
    constraint: String,
}

impl Violation for ValidateTooSoon {
    fn message(&self) -> String {
        format!(
            "`VALIDATE CONSTRAINT {}` runs in the transaction that added it, so the lock from `ADD CONSTRAINT` on `{}` is held through the scan",
            self.constraint, self.table
        )
    }

    fn help(&self) -> Option<String> {
        Some("commit after `ADD CONSTRAINT … NOT VALID` and validate in a later migration".into())
    }

    fn objects(&self) -> Objects {
        Objects::relation(&self.table).with_constraint(&self.constraint)
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, lines_with};
    use crate::settings::Settings;

    const ID: &str = "validate-in-same-transaction";

    const ADD: &str = "ALTER TABLE o ADD CONSTRAINT c CHECK (x > 0) NOT VALID;\n";
    const VALIDATE: &str = "ALTER TABLE o VALIDATE CONSTRAINT c;\n";

    #[test]
    fn validation_beside_a_stronger_subcommand_is_flagged() {
        let sql = "ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk, ADD COLUMN note text;";
        assert_eq!(lines(sql, ID), vec![1]);
        assert!(lines("ALTER TABLE orders VALIDATE CONSTRAINT a, VALIDATE CONSTRAINT b;", ID).is_empty());
        assert!(lines("ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;", ID).is_empty());
    }

    #[test]
    fn flags_validation_in_the_adding_transaction() {
        assert_eq!(lines(&format!("BEGIN;\n{ADD}{VALIDATE}COMMIT;"), ID), vec![3]);
        let assumed = Settings { assume_in_transaction: true, ..Settings::default() };
        assert_eq!(lines_with(&format!("{ADD}{VALIDATE}"), ID, &assumed), vec![2]);
    }

    #[test]
    fn separate_transactions_pass() {
        assert!(lines(&format!("BEGIN;\n{ADD}COMMIT;\nBEGIN;\n{VALIDATE}COMMIT;"), ID).is_empty());
        assert!(lines(&format!("{ADD}{VALIDATE}"), ID).is_empty());
    }
}
