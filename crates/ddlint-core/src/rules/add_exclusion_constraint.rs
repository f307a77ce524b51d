use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lock_model::{alter_cmds, constraint_of};
use crate::names::RelationName;
use crate::violation::{HeldLock, Objects, Violation};
use pg_query::protobuf::{node::Node as N, AlterTableType, ConstrType};

declare_rule! {
    /// ## What it does
    /// Flags `ALTER TABLE … ADD CONSTRAINT … EXCLUDE` on a table that this migration did not
    /// create.
    ///
    /// ## Why is this bad?
    /// The constraint's index is built by reading the whole table under the `ACCESS EXCLUSIVE`
    /// lock of `ALTER TABLE`, which blocks reads and writes until the build is done.
    /// Unlike a unique constraint, an exclusion constraint cannot be attached to an index
    /// built beforehand with `CREATE INDEX CONCURRENTLY`, so there is no online way to add one.
    ///
    /// ## Example
    /// ```sql
    /// ALTER TABLE bookings ADD CONSTRAINT bookings_no_overlap EXCLUDE USING gist (room_id WITH =, during WITH &&);
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// CREATE TABLE room_bookings (
    ///     room_id int NOT NULL,
    ///     during tstzrange NOT NULL,
    ///     EXCLUDE USING gist (room_id WITH =, during WITH &&)
    /// );
    /// ```
    ///
    /// Declare exclusion constraints when the table is created. On an existing busy table,
    /// schedule the change for a maintenance window, or move the data to a new table that has
    /// the constraint (write to both, backfill in batches, switch readers, drop the old one).
    ///
    /// ## Locks
    /// `ACCESS EXCLUSIVE` on the table for the whole index build.
    ///
    /// ## References
    /// - [CREATE TABLE: EXCLUDE](https://www.postgresql.org/docs/current/sql-createtable.html#SQL-CREATETABLE-EXCLUDE)
    pub RULE = "add-exclusion-constraint", Warning, on, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    let N::AlterTableStmt(stmt) = cx.node() else { return };
    let Some(rv) = &stmt.relation else { return };
    let table = RelationName::from_range_var(rv);
    if cx.is_new(&table) {
        return;
    }
    for cmd in alter_cmds(stmt) {
        if cmd.subtype() != AlterTableType::AtAddConstraint {
            continue;
        }
        let Some(c) = constraint_of(cmd).filter(|c| c.contype() == ConstrType::ConstrExclusion) else { continue };
        let effects = cx.alter_cmd_effects(cmd);
        if effects.scans.is_empty() && effects.may_scan.is_empty() {
            continue;
        }
        let violation = ExclusionConstraint {
            lock: HeldLock::new(cx.cmd_lock_on(&table, cmd), &table),
            constraint: c.conname.clone(),
        };
        out.push(cx.report(&RULE, cx.item_span_at(c.location), &violation));
    }
}

struct ExclusionConstraint {
    lock: HeldLock,
    /// Empty when unnamed.
    constraint: String,
}

impl Violation for ExclusionConstraint {
    fn message(&self) -> String {
        let what = if self.constraint.is_empty() {
            "an exclusion constraint".to_owned()
        } else {
            format!("the exclusion constraint `{}`", self.constraint)
        };
        format!("adding {what} builds its index on `{}` while holding {}", self.lock.relation, self.lock)
    }

    fn help(&self) -> Option<String> {
        Some("declare exclusion constraints with the table, or schedule this for a maintenance window".into())
    }

    fn objects(&self) -> Objects {
        Objects::relation(&self.lock.relation).with_constraint(&self.constraint)
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, messages};

    const ID: &str = "add-exclusion-constraint";

    #[test]
    fn flags_exclusion_constraints_on_existing_tables() {
        assert_eq!(lines("ALTER TABLE b\n  ADD CONSTRAINT x EXCLUDE USING gist (r WITH &&);", ID), vec![2]);
        assert_eq!(
            messages("ALTER TABLE b ADD EXCLUDE USING gist (r WITH &&);", ID),
            vec![
                "adding an exclusion constraint builds its index on `b` while holding an `ACCESS EXCLUSIVE` lock on \
                 `b` that blocks reads and writes"
            ]
        );
    }

    #[test]
    fn new_tables_and_other_constraints_pass() {
        assert!(
            lines("CREATE TABLE b (r tstzrange);\nALTER TABLE b ADD EXCLUDE USING gist (r WITH &&);", ID).is_empty()
        );
        assert!(lines("ALTER TABLE b ADD CONSTRAINT u UNIQUE (r);", ID).is_empty());
    }
}
