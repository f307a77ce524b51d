use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::fix::recipes;
use crate::lock_model::{alter_cmds, column_constraints, column_def_of, constraint_checks_rows, constraint_of};
use crate::names::RelationName;
use crate::violation::{Certainty, HeldLock, Objects, Violation};
use pg_query::protobuf::{self as pg, node::Node as N, AlterTableType, ConstrType};

declare_rule! {
    /// ## What it does
    /// Flags a `CHECK` constraint added without `NOT VALID` to a table that this migration did
    /// not create, including a `CHECK` on a column added by `ADD COLUMN`.
    ///
    /// ## Why is this bad?
    /// PostgreSQL checks every existing row before the statement ends, and it holds an
    /// `ACCESS EXCLUSIVE` lock, which blocks reads and writes, for the length of that scan.
    ///
    /// ## Example
    /// ```sql
    /// ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total > 0);
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// SET lock_timeout = '2s';
    /// ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total > 0) NOT VALID;
    /// ```
    ///
    /// and `ALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;` in a later
    /// migration. `NOT VALID` makes the `ADD` brief and checks new writes at once;
    /// `VALIDATE CONSTRAINT` then scans under a `SHARE UPDATE EXCLUSIVE` lock, which lets
    /// reads and writes go on.
    ///
    /// ## Locks
    /// `ACCESS EXCLUSIVE` on the table, held during the validation scan.
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
    ///
    /// ## References
    /// - [ALTER TABLE: ADD table_constraint … NOT VALID](https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT)
    pub RULE = "add-check-constraint-validated", Warning, on, Some(check), fix = unsafe;
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    let N::AlterTableStmt(stmt) = cx.node() else { return };
    let Some(rv) = &stmt.relation else { return };
    let table = RelationName::from_range_var(rv);
    if cx.is_new(&table) {
        return;
    }
    for cmd in alter_cmds(stmt) {
        let (checks, on_new_column): (Vec<&pg::Constraint>, bool) = match cmd.subtype() {
            AlterTableType::AtAddConstraint => (constraint_of(cmd).into_iter().collect(), false),
            AlterTableType::AtAddColumn => {
                (column_def_of(cmd).map(|c| column_constraints(c).collect()).unwrap_or_default(), true)
            }
            _ => continue,
        };
        let column = column_def_of(cmd);
        let checks: Vec<&pg::Constraint> = checks
            .into_iter()
            .filter(|c| c.contype() == ConstrType::ConstrCheck && constraint_checks_rows(column, c))
            .collect();
        if checks.is_empty() {
            continue;
        }
        let effects = cx.alter_cmd_effects(cmd);
        let Some(scan) = Certainty::of(&effects.scans, &effects.may_scan) else { continue };
        let lock = HeldLock::new(cx.cmd_lock_on(&table, cmd), &table);
        for c in checks {
            let violation = ValidatedCheck { lock: lock.clone(), constraint: c.conname.clone(), scan, on_new_column };
            out.push(cx.report(&RULE, cx.item_span_at(c.location), &violation).with_fix(if on_new_column {
                Err("a column's own `CHECK` cannot be `NOT VALID`; add the column, then the constraint".to_owned())
            } else {
                recipes::not_valid_then_validate(cx, stmt, &table, c)
            }));
        }
    }
}

struct ValidatedCheck {
    lock: HeldLock,
    /// Empty when unnamed.
    constraint: String,
    scan: Certainty,
    /// The constraint belongs to a column the statement adds.
    on_new_column: bool,
}

impl Violation for ValidatedCheck {
    fn message(&self) -> String {
        let what = if self.constraint.is_empty() {
            "a `CHECK` constraint".to_owned()
        } else {
            format!("the `CHECK` constraint `{}`", self.constraint)
        };
        let scans = self.scan.verb("scans", "may scan");
        format!("adding {what} {scans} `{}` while holding {}", self.lock.relation, self.lock)
    }

    fn help(&self) -> Option<String> {
        Some(if self.on_new_column {
            "add the column first, then the `CHECK` with `NOT VALID`, and `VALIDATE CONSTRAINT` in a later transaction"
        } else {
            "add the constraint with `NOT VALID`, then `VALIDATE CONSTRAINT` in a later transaction"
        }
        .into())
    }

    fn objects(&self) -> Objects {
        Objects::relation(&self.lock.relation).with_constraint(&self.constraint)
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, messages};

    const ID: &str = "add-check-constraint-validated";

    #[test]
    fn flags_validated_checks() {
        assert_eq!(lines("ALTER TABLE o ADD CONSTRAINT c CHECK (total > 0);", ID), vec![1]);
        assert_eq!(lines("ALTER TABLE o\n  ADD CHECK (total > 0);", ID), vec![2]);
        assert_eq!(lines("ALTER TABLE o\n  ADD COLUMN n int CHECK (n > 0);", ID), vec![2]);
        assert_eq!(
            messages("ALTER TABLE o ADD CONSTRAINT c CHECK (total > 0);", ID),
            vec![
                "adding the `CHECK` constraint `c` scans `o` while holding an `ACCESS EXCLUSIVE` lock on `o` that \
                 blocks reads and writes"
            ]
        );
    }

    #[test]
    fn not_valid_other_constraints_and_new_tables_pass() {
        assert!(lines("ALTER TABLE o ADD CONSTRAINT c CHECK (total > 0) NOT VALID;", ID).is_empty());
        assert!(lines("ALTER TABLE o VALIDATE CONSTRAINT c;", ID).is_empty());
        assert!(lines("ALTER TABLE o ADD CONSTRAINT u UNIQUE (a);", ID).is_empty());
        assert!(lines("CREATE TABLE o (total int);\nALTER TABLE o ADD CONSTRAINT c CHECK (total > 0);", ID).is_empty());
    }
}
