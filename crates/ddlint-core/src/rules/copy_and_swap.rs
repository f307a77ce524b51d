use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::{Diagnostic, Severity};
use crate::locks::LockMode;
use crate::names::RelationName;
use crate::rules::shared::{dropped_by, swapped_for_copy};
use crate::violation::{Objects, Violation};
use pg_query::protobuf::{node::Node as N, ObjectType};

declare_rule! {
    /// ## What it does
    /// Flags a table replaced by a copy of itself: the migration creates `t_new`, copies the
    /// rows of `t` into it, drops `t` (or renames it away) and renames `t_new` to `t`.
    ///
    /// ## Why is this bad?
    /// The table keeps its name, so the release still running goes on working, but rows that
    /// it writes to `t` after the copy has read it never reach `t_new`: they are lost when `t`
    /// is dropped. Locking `t` against writes before the copy (`LOCK TABLE t IN SHARE MODE`,
    /// in the copy's transaction) keeps them, and blocks every write for as long as the copy
    /// takes. The finding is an error when writes can be lost, and a warning when the lock
    /// keeps them. A copy made before the lock and caught up under it (the rows written since,
    /// copied again after `LOCK TABLE`) loses nothing and holds the lock briefly: not flagged.
    ///
    /// ## Example
    /// ```sql
    /// CREATE TABLE events_new (id bigint PRIMARY KEY, payload jsonb);
    /// INSERT INTO events_new SELECT id, payload::jsonb FROM events;
    /// DROP TABLE events;
    /// ALTER TABLE events_new RENAME TO events;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// -- first migration: the copy, kept in step from now on
    /// SET lock_timeout = '2s';
    /// CREATE TABLE events_new (id bigint PRIMARY KEY, payload jsonb);
    /// CREATE FUNCTION events_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    /// BEGIN
    ///   INSERT INTO events_new VALUES (NEW.id, NEW.payload::jsonb)
    ///     ON CONFLICT (id) DO UPDATE SET payload = EXCLUDED.payload;
    ///   RETURN NEW;
    /// END $$;
    /// CREATE TRIGGER events_sync AFTER INSERT OR UPDATE ON events
    ///   FOR EACH ROW EXECUTE FUNCTION events_sync();
    /// -- then copy the older rows in batches (ON CONFLICT DO NOTHING); last, the swap:
    /// BEGIN;
    /// DROP TRIGGER events_sync ON events;
    /// DROP TABLE events;
    /// ALTER TABLE events_new RENAME TO events;
    /// COMMIT;
    /// ```
    ///
    /// Deletes need the trigger too. The swap holds its locks only for the drop and the rename.
    ///
    /// ## Locks
    /// The drop or rename takes `ACCESS EXCLUSIVE` on the table; a `LOCK TABLE` that keeps the
    /// copy whole holds its lock from the copy to the commit.
    pub RULE = "copy-and-swap", Warning, on, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    let (replaced, how) = match cx.node() {
        N::DropStmt(stmt) if stmt.remove_type() == ObjectType::ObjectTable => (dropped_by(cx.node()), "drops"),
        N::RenameStmt(stmt) if stmt.rename_type() == ObjectType::ObjectTable => {
            (stmt.relation.iter().map(RelationName::from_range_var).collect(), "renames")
        }
        _ => return,
    };
    for old in replaced.iter().filter(|t| !cx.is_new(t)) {
        let Some(copy) = swapped_for_copy(cx, old) else { continue };
        let copies = copy_statements(cx, &copy);
        let (Some(&copied_at), Some(&last_copy)) = (copies.first(), copies.last()) else { continue };
        let locked_at = write_lock_through(cx, old, last_copy);
        // Copied first, then locked and caught up with what was written meanwhile: nothing
        // is lost, and the lock lasts only for the last, short copy.
        if locked_at.is_some_and(|lock| copied_at < lock) {
            continue;
        }
        let line = |i: usize| cx.file.line_of(cx.file.statements[i].span.start);
        let violation = Swap {
            old: old.clone(),
            copy: copy.clone(),
            how,
            copy_line: line(copied_at),
            lock_line: locked_at.map(line),
        };
        let mut diagnostic = cx.report(&RULE, cx.stmt.span, &violation);
        if locked_at.is_none() {
            diagnostic.severity = diagnostic.severity.max(Severity::Error);
        }
        out.push(diagnostic);
    }
}

/// The statements before this one that fill `copy` (`INSERT INTO copy …`, `CREATE TABLE copy
/// AS …`), in order.
fn copy_statements(cx: &StatementCx<'_, '_>, copy: &RelationName) -> Vec<usize> {
    (0..cx.index)
        .filter(|&i| match &*cx.file.statements[i].node {
            N::InsertStmt(s) => s.relation.as_ref().is_some_and(|rv| copy.is_named_by(rv)),
            N::CreateTableAsStmt(s) => {
                s.into.as_ref().and_then(|i| i.rel.as_ref()).is_some_and(|rv| copy.is_named_by(rv))
            }
            _ => false,
        })
        .collect()
}

/// The statement that locked `old` against writes before the copy at `copied_at`, in the
/// transaction that also runs the copy and this statement: the lock then lasts from before
/// that copy until the swap.
fn write_lock_through(cx: &StatementCx<'_, '_>, old: &RelationName, copied_at: usize) -> Option<usize> {
    let states = &cx.file.states;
    let start = states[copied_at].transaction_start;
    if !states[copied_at].in_transaction || !cx.state.in_transaction || cx.state.transaction_start != start {
        return None;
    }
    (start..copied_at)
        .find(|&j| cx.file.effects[j].locks.iter().any(|l| l.relation.same_as(old) && l.mode >= LockMode::Share))
}

struct Swap {
    old: RelationName,
    copy: RelationName,
    /// "drops" or "renames": how this statement takes `old` out of service.
    how: &'static str,
    copy_line: usize,
    /// The line of the statement that locks `old` against writes for the whole copy.
    lock_line: Option<usize>,
}

impl Violation for Swap {
    fn message(&self) -> String {
        let Self { old, copy, how, copy_line, .. } = self;
        match self.lock_line {
            None => format!(
                "`{old}` is swapped for `{copy}`, copied from it on line {copy_line}: rows written to `{old}` \
                 after the copy read it are lost when this {how} it"
            ),
            Some(lock_line) => format!(
                "`{old}` is swapped for `{copy}`, copied from it on line {copy_line}: every write to `{old}` waits \
                 for the lock taken on line {lock_line} until the copy and the swap commit"
            ),
        }
    }

    fn help(&self) -> Option<String> {
        let Self { old, copy, .. } = self;
        Some(format!(
            "keep `{copy}` in step with a trigger on `{old}` from before the copy, copy in batches, then swap \
             the names in one short transaction"
        ))
    }

    fn objects(&self) -> Objects {
        Objects::relation(&self.old)
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, messages};

    const ID: &str = "copy-and-swap";
    const COPY: &str = "CREATE TABLE events_new (id bigint);\nINSERT INTO events_new SELECT id FROM events;\n";

    #[test]
    fn a_swap_without_a_lock_loses_writes() {
        let sql = format!("{COPY}DROP TABLE events;\nALTER TABLE events_new RENAME TO events;");
        assert_eq!(lines(&sql, ID), vec![3]);
        let message = &messages(&sql, ID)[0];
        assert!(message.contains("are lost when this drops it"), "{message}");
        assert!(lines(&sql, "drop-table").is_empty());
        assert!(lines(&sql, "expand-and-contract-in-one-change").is_empty());
        // Renamed away first, dropped after.
        let sql = format!(
            "{COPY}ALTER TABLE events RENAME TO events_old;\nALTER TABLE events_new RENAME TO events;\nDROP TABLE events_old;"
        );
        assert_eq!(lines(&sql, ID), vec![3]);
        assert!(lines(&sql, "rename-table").is_empty());
        assert!(lines(&sql, "drop-table").is_empty());
        assert!(lines(&sql, "expand-and-contract-in-one-change").is_empty());
    }

    #[test]
    fn a_lock_keeps_the_writes_and_blocks_them() {
        let sql = format!(
            "BEGIN;\nLOCK TABLE events IN SHARE MODE;\n{COPY}DROP TABLE events;\nALTER TABLE events_new RENAME TO events;\nCOMMIT;"
        );
        let message = &messages(&sql, ID)[0];
        assert!(message.contains("waits for the lock taken on line 2"), "{message}");
        // A lock in another transaction than the copy ends before it.
        let sql = format!(
            "LOCK TABLE events IN SHARE MODE;\n{COPY}DROP TABLE events;\nALTER TABLE events_new RENAME TO events;"
        );
        assert!(messages(&sql, ID)[0].contains("are lost"));
    }

    #[test]
    fn a_copy_caught_up_under_a_lock_loses_nothing() {
        let sql = format!(
            "BEGIN;\n{COPY}LOCK TABLE events IN SHARE MODE;\nINSERT INTO events_new SELECT id FROM events WHERE id > 1000;\n\
             DROP TABLE events;\nALTER TABLE events_new RENAME TO events;\nCOMMIT;"
        );
        assert!(lines(&sql, ID).is_empty());
    }

    #[test]
    fn a_copy_that_keeps_another_name_is_no_swap() {
        let sql = format!("{COPY}DROP TABLE events;");
        assert!(lines(&sql, ID).is_empty());
        assert_eq!(lines(&sql, "expand-and-contract-in-one-change"), vec![3]);
    }
}
