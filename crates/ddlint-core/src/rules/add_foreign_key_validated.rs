use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::fix::{recipes, Fix};
use crate::lock_model::{alter_cmds, column_constraints, column_def_of, constraint_checks_rows, constraint_of};
use crate::locks::LockMode;
use crate::names::RelationName;
use crate::violation::{Certainty, HeldLock, Objects, Violation};
use pg_query::protobuf::{self as pg, node::Node as N, AlterTableType, ConstrType};

declare_rule! {
    /// ## What it does
    /// Flags a `FOREIGN KEY` added to an existing table without `NOT VALID`, including the
    /// `ADD COLUMN … REFERENCES` form, and, on PostgreSQL 18, `ALTER CONSTRAINT … ENFORCED` of a
    /// foreign key that was `NOT ENFORCED`, which validates it under an `ACCESS EXCLUSIVE` lock
    /// ("may" when the history does not hold the constraint).
    ///
    /// ## Why is this bad?
    /// Adding the constraint validates every existing row while holding `SHARE ROW EXCLUSIVE`
    /// locks on both the table and the table it references. Both locks block writes, so inserts
    /// and updates on two tables wait for the whole scan.
    ///
    /// ## Example
    /// ```sql
    /// ALTER TABLE orders ADD CONSTRAINT orders_user_id_fk FOREIGN KEY (user_id) REFERENCES users (id);
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// SET lock_timeout = '2s';
    /// ALTER TABLE orders ADD CONSTRAINT orders_user_id_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
    /// ```
    ///
    /// Then, in a later migration, `ALTER TABLE orders VALIDATE CONSTRAINT orders_user_id_fk;`,
    /// which scans under `SHARE UPDATE EXCLUSIVE` and lets writes go on.
    ///
    /// ## Locks
    /// `SHARE ROW EXCLUSIVE` on both tables, held during the validation scan.
    ///
    /// ## Fix
    /// Adds the constraint `NOT VALID`, in its place, and `VALIDATE CONSTRAINT` in a later
    /// transaction: right after, when the statement runs in autocommit; after the `COMMIT` of a
    /// transaction the file opens; or in a new migration right after the file when the runner wraps
    /// it in its transaction. An unnamed constraint is given the name PostgreSQL would choose, since
    /// `VALIDATE` must name it. Offered when the constraint is the `ALTER TABLE`'s only subcommand;
    /// a constraint declared with a new column cannot be `NOT VALID`.
    ///
    /// ## Fix safety
    /// Unsafe: when rows break the constraint, the original fails whole, while the fixed migration
    /// leaves the constraint in place `NOT VALID`, enforced for new rows only, until it is fixed
    /// and validated.
    pub RULE = "add-foreign-key-validated", Warning, on, Some(check), fix = unsafe;
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    let N::AlterTableStmt(stmt) = cx.node() else { return };
    let Some(rv) = &stmt.relation else { return };
    let table = RelationName::from_range_var(rv);
    if cx.is_new(&table) {
        return;
    }
    for cmd in alter_cmds(stmt) {
        if cmd.subtype() == AlterTableType::AtAlterConstraint {
            check_enforced(cx, &table, cmd, out);
            continue;
        }
        let foreign_keys: Vec<&pg::Constraint> = match cmd.subtype() {
            AlterTableType::AtAddConstraint => constraint_of(cmd).into_iter().collect(),
            AlterTableType::AtAddColumn => {
                column_def_of(cmd).map(|c| column_constraints(c).collect()).unwrap_or_default()
            }
            _ => continue,
        };
        // A new column without a default holds only NULLs, which the foreign key does not
        // check: the lock model knows whether the subcommand reads the table.
        if cmd.subtype() == AlterTableType::AtAddColumn {
            let effects = cx.alter_cmd_effects(cmd);
            if effects.scans.is_empty() && effects.may_scan.is_empty() {
                continue;
            }
        }
        let column = column_def_of(cmd);
        for fk in foreign_keys {
            if fk.contype() != ConstrType::ConstrForeign || !constraint_checks_rows(column, fk) {
                continue;
            }
            let violation = ValidatedForeignKey {
                lock: HeldLock::new(cx.lock_on(&table).unwrap_or(LockMode::ShareRowExclusive), &table),
                referenced_lock: fk.pktable.as_ref().map(RelationName::from_range_var).map(|referenced| {
                    HeldLock::new(cx.lock_on(&referenced).unwrap_or(LockMode::ShareRowExclusive), &referenced)
                }),
                constraint: fk.conname.clone(),
                enforced_again: None,
            };
            out.push(
                cx.report(&RULE, cx.item_span_at(fk.location), &violation).with_fix(fix(cx, stmt, &table, cmd, fk)),
            );
        }
    }
}

/// PostgreSQL 18's `ALTER CONSTRAINT … ENFORCED` of a foreign key that was `NOT ENFORCED`:
/// it validates the rows of both tables under the statement's `ACCESS EXCLUSIVE` lock.
fn check_enforced(cx: &StatementCx<'_, '_>, table: &RelationName, cmd: &pg::AlterTableCmd, out: &mut Vec<Diagnostic>) {
    let Some(N::AtalterConstraint(alter)) = cmd.def.as_deref().and_then(|d| d.node.as_ref()) else { return };
    if !alter.alter_enforceability || !alter.is_enforced {
        return;
    }
    let effects = cx.alter_cmd_effects(cmd);
    let Some(scan) = Certainty::of(&effects.scans, &effects.may_scan) else { return };
    let referenced = effects.locks.iter().find(|l| !l.relation.same_as(table)).map(|l| l.relation.clone());
    let violation = ValidatedForeignKey {
        lock: HeldLock::new(cx.lock_on(table).unwrap_or(LockMode::AccessExclusive), table),
        referenced_lock: referenced.map(|r| HeldLock::new(cx.lock_on(&r).unwrap_or(LockMode::ShareRowExclusive), &r)),
        constraint: alter.conname.clone(),
        enforced_again: Some(scan),
    };
    out.push(cx.report(&RULE, cx.stmt.span, &violation));
}

struct ValidatedForeignKey {
    lock: HeldLock,
    referenced_lock: Option<HeldLock>,
    /// Empty when unnamed.
    constraint: String,
    /// `ALTER CONSTRAINT … ENFORCED` rather than `ADD`: whether it certainly scans (the
    /// history knows the constraint was not enforced) or may.
    enforced_again: Option<Certainty>,
}

impl Violation for ValidatedForeignKey {
    fn message(&self) -> String {
        let referenced = match &self.referenced_lock {
            Some(lock) => lock.to_string(),
            None => "a lock on the referenced table".to_owned(),
        };
        match self.enforced_again {
            None => format!(
                "adding a validated foreign key scans `{}` while holding {}, and {referenced}",
                self.lock.relation, self.lock
            ),
            Some(scan) => format!(
                "enforcing `{}` validates the foreign key: it {} `{}` while holding {}, and {referenced}",
                self.constraint,
                scan.verb("scans", "may scan"),
                self.lock.relation,
                self.lock
            ),
        }
    }

    fn help(&self) -> Option<String> {
        Some(match self.enforced_again {
            None => "add the foreign key with `NOT VALID`, then `VALIDATE CONSTRAINT` in a separate transaction".into(),
            Some(_) => format!(
                "drop `{}` and add it again with `NOT VALID` (enforced for new rows), then `VALIDATE CONSTRAINT` in a \
                 separate transaction",
                self.constraint
            ),
        })
    }

    fn objects(&self) -> Objects {
        Objects::relation(&self.lock.relation).with_constraint(&self.constraint)
    }
}

fn fix(
    cx: &StatementCx<'_, '_>,
    stmt: &pg::AlterTableStmt,
    table: &RelationName,
    cmd: &pg::AlterTableCmd,
    fk: &pg::Constraint,
) -> Result<Fix, String> {
    if cmd.subtype() != AlterTableType::AtAddConstraint {
        return Err(
            "a column's own `REFERENCES` cannot be `NOT VALID`; add the column, then the foreign key".to_owned()
        );
    }
    recipes::not_valid_then_validate(cx, stmt, table, fk)
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::lines;

    const ID: &str = "add-foreign-key-validated";

    #[test]
    fn flags_validated_foreign_keys() {
        assert_eq!(lines("ALTER TABLE o ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES users (id);", ID), vec![1]);
        // A new column with a default holds values to check.
        assert_eq!(lines("ALTER TABLE o\n  ADD COLUMN u bigint DEFAULT 1 REFERENCES users (id);", ID), vec![2]);
    }

    #[test]
    fn enforcing_an_unenforced_foreign_key_validates_it_on_18() {
        let history = "CREATE TABLE users (id int PRIMARY KEY);\nCREATE TABLE o (id int, u int);\n\
                       ALTER TABLE o ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES users (id) NOT ENFORCED;";
        let settings = crate::Settings { pg_version: 18, ..crate::Settings::default() };
        let messages = |sql: &str| -> Vec<String> {
            let report = crate::rules::test_support::lint_after_with(history, sql, &settings);
            report.diagnostics.into_iter().filter(|d| d.rule == ID).map(|d| d.message).collect()
        };
        let enforce = "ALTER TABLE o ALTER CONSTRAINT f ENFORCED;";
        let found = messages(enforce);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("enforcing `f` validates the foreign key: it scans `o`"), "{}", found[0]);
        assert!(found[0].contains("`SHARE ROW EXCLUSIVE` lock on `users`"), "{}", found[0]);
        assert!(messages("ALTER TABLE o ALTER CONSTRAINT f NOT ENFORCED;").is_empty());
        assert!(messages("ALTER TABLE o ALTER CONSTRAINT f DEFERRABLE;").is_empty());
        // An enforced constraint is enforced already: nothing to validate.
        assert!(messages(&format!("ALTER TABLE o ALTER CONSTRAINT f ENFORCED;\n{enforce}"))[1..].is_empty());
    }

    /// The lock model (and the server) say a new column without a default is not read: it
    /// holds only NULLs, which a foreign key does not check.
    #[test]
    fn a_new_column_of_nulls_is_not_scanned() {
        assert!(lines("ALTER TABLE o ADD COLUMN u bigint REFERENCES users (id);", ID).is_empty());
    }

    #[test]
    fn not_valid_and_new_tables_pass() {
        assert!(lines("ALTER TABLE o ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES users (id) NOT VALID;", ID).is_empty());
        assert!(
            lines("CREATE TABLE o (u int);\nALTER TABLE o ADD FOREIGN KEY (u) REFERENCES users (id);", ID).is_empty()
        );
    }
}
