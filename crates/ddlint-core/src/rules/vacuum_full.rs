use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lock_model::vacuum_full;
use crate::locks::LockMode;
use crate::names::RelationName;
use crate::violation::{HeldLock, Objects, Violation};
use pg_query::protobuf::{node::Node as N, Token};

declare_rule! {
    /// ## What it does
    /// Flags `VACUUM FULL` on tables that this migration did not create, and on the whole
    /// database when it names no table.
    ///
    /// ## Why is this bad?
    /// `VACUUM FULL` writes a new copy of the table without its dead rows and rebuilds its indexes
    /// while holding an `ACCESS EXCLUSIVE` lock, which blocks every read and write of the table
    /// until the copy is done. It also needs room for a second copy of the table on disk.
    ///
    /// ## Example
    /// ```sql
    /// VACUUM FULL orders;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// VACUUM (ANALYZE) orders;
    /// ```
    ///
    /// Plain `VACUUM` makes the space of dead rows reusable without blocking reads or writes. To
    /// give space back to the operating system online, use a tool such as `pg_repack` outside the
    /// migration.
    ///
    /// ## Locks
    /// `ACCESS EXCLUSIVE` on each table for its whole rewrite; plain `VACUUM` takes
    /// `SHARE UPDATE EXCLUSIVE`.
    ///
    /// ## References
    /// - [VACUUM](https://www.postgresql.org/docs/current/sql-vacuum.html)
    /// - [Recovering disk space](https://www.postgresql.org/docs/current/routine-vacuuming.html#VACUUM-FOR-SPACE-RECOVERY)
    pub RULE = "vacuum-full", Warning, on, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    let N::VacuumStmt(stmt) = cx.node() else { return };
    if !vacuum_full(stmt) {
        return;
    }
    let span = cx.find_tokens(&[Token::Vacuum]).unwrap_or(cx.stmt.span);
    let tables: Vec<RelationName> = stmt
        .rels
        .iter()
        .filter_map(|r| match &r.node {
            Some(N::VacuumRelation(vr)) => vr.relation.as_ref().map(RelationName::from_range_var),
            _ => None,
        })
        .collect();
    if stmt.rels.is_empty() {
        out.push(cx.report(&RULE, span, &VacuumFull { lock: None, others: 0 }));
        return;
    }
    let existing: Vec<&RelationName> = tables.iter().filter(|t| !cx.is_new(t)).collect();
    let Some(first) = existing.first() else { return };
    let lock = HeldLock::new(cx.lock_on(first).unwrap_or(LockMode::AccessExclusive), first);
    out.push(cx.report(&RULE, span, &VacuumFull { lock: Some(lock), others: existing.len() - 1 }));
}

struct VacuumFull {
    /// The lock on the first table named that exists; none for a `VACUUM FULL` of every table.
    lock: Option<HeldLock>,
    /// How many more tables that exist it names.
    others: usize,
}

impl Violation for VacuumFull {
    fn message(&self) -> String {
        let Some(lock) = &self.lock else {
            let mode = LockMode::AccessExclusive;
            return format!(
                "`VACUUM FULL` with no table rewrites every table in the database, each under an `{}` lock that {}",
                mode.sql_name(),
                mode.blocks_phrase()
            );
        };
        let more = match self.others {
            0 => String::new(),
            1 => " (and 1 more table under the same lock)".to_owned(),
            n => format!(" (and {n} more tables under the same lock)"),
        };
        format!("`VACUUM FULL` rewrites `{}` while holding {lock}{more}", lock.relation)
    }

    fn help(&self) -> Option<String> {
        Some("use plain `VACUUM`, or `pg_repack` outside the migration to give space back online".into())
    }

    fn objects(&self) -> Objects {
        self.lock.as_ref().map_or_else(Objects::default, |lock| Objects::relation(&lock.relation))
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, messages};

    const ID: &str = "vacuum-full";

    #[test]
    fn flags_vacuum_full() {
        assert_eq!(lines("VACUUM FULL orders;", ID), vec![1]);
        assert_eq!(lines("SELECT 1;\nVACUUM (FULL, ANALYZE) orders;", ID), vec![2]);
        assert_eq!(lines("VACUUM FULL;", ID), vec![1]);
        assert_eq!(
            messages("VACUUM FULL a, b;", ID),
            vec!["`VACUUM FULL` rewrites `a` while holding an `ACCESS EXCLUSIVE` lock on `a` that blocks reads and writes (and 1 more table under the same lock)"]
        );
    }

    #[test]
    fn a_full_that_is_off_takes_the_plain_lock() {
        // Plain `VACUUM` takes `SHARE UPDATE EXCLUSIVE`, which blocks no reads or writes.
        for sql in ["VACUUM (FULL false) orders;", "VACUUM (FULL off, ANALYZE) orders;"] {
            assert!(crate::rules::test_support::lines(sql, "missing-lock-timeout").is_empty(), "{sql}");
        }
        assert_eq!(crate::rules::test_support::lines("VACUUM (FULL) orders;", "missing-lock-timeout"), vec![1]);
    }

    #[test]
    fn plain_vacuum_and_new_tables_pass() {
        assert!(lines("VACUUM orders;\nVACUUM (ANALYZE) orders;\nVACUUM (FULL false) orders;", ID).is_empty());
        assert!(
            lines("VACUUM (FULL off) orders;\nVACUUM (FULL 0) orders;\nVACUUM (FULL 'FALSE') orders;", ID).is_empty()
        );
        assert_eq!(
            lines("VACUUM (FULL true) orders;\nVACUUM (FULL on) orders;\nVACUUM (FULL 1) orders;", ID),
            vec![1, 2, 3]
        );
        // The last mention of an option wins, as in PostgreSQL.
        assert!(lines("VACUUM (FULL, FULL false) orders;", ID).is_empty());
        assert_eq!(lines("VACUUM (FULL false, FULL) orders;", ID), vec![1]);
        assert!(lines("ANALYZE orders;", ID).is_empty());
        assert!(lines("CREATE TABLE t (a int);\nVACUUM FULL t;", ID).is_empty());
    }
}
