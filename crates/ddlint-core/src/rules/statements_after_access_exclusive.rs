use crate::context::{FileContext, StatementCx};
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lock_model::alter_cmds;
use crate::locks::{describe_lock, LockMode};
use crate::names::RelationName;
use crate::rules::shared::{added_not_valid_earlier, dropped_by};
use crate::violation::{Objects, Violation};
use pg_query::protobuf::{node::Node as N, AlterTableType};

declare_rule! {
    /// ## What it does
    /// Flags the first statement that can take long, because it reads or rewrites an existing
    /// table or may wait for a lock, after an earlier statement of the same transaction took an
    /// `ACCESS EXCLUSIVE` lock on an existing table. One finding per transaction: it counts the
    /// slow statements that follow before the transaction ends and names their lines.
    ///
    /// ## Why is this bad?
    /// A lock is held until the transaction ends, not the statement that took it. Everything the
    /// transaction does after an `ACCESS EXCLUSIVE` lock runs while every read and write of that
    /// table waits: an index build, a validation scan or a data fix-up turns a brief schema
    /// change into an outage as long as the slowest statement after it.
    ///
    /// Quick statements are not flagged: `SET`, `COMMENT`, schema changes that only touch the
    /// catalog, work on tables created in the same file, and locks the transaction already holds.
    /// A wait for another lock counts only when the lock blocks reads or writes and no
    /// `lock_timeout` bounds the wait. A second
    /// `ACCESS EXCLUSIVE` lock is left to `multiple-access-exclusive-locks`, a whole-table
    /// `UPDATE` or `DELETE` to `backfill-without-where`, and the validation of a constraint added
    /// in the same transaction to `validate-in-same-transaction`.
    ///
    /// ## Example
    /// ```sql
    /// BEGIN;
    /// SET LOCAL lock_timeout = '2s';
    /// ALTER TABLE orders ADD COLUMN region text;
    /// CREATE INDEX orders_region_idx ON orders (region);
    /// COMMIT;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// BEGIN;
    /// SET LOCAL lock_timeout = '2s';
    /// ALTER TABLE orders ADD COLUMN region text;
    /// COMMENT ON COLUMN orders.region IS 'Sales region, filled by the nightly import';
    /// COMMIT;
    /// CREATE INDEX CONCURRENTLY orders_region_idx ON orders (region);
    /// ```
    ///
    /// Commit right after the statement that takes the `ACCESS EXCLUSIVE` lock, and run the slow
    /// work in a later transaction or migration. The finding sits on the first slow statement;
    /// moving it out of the transaction moves the finding to the next one, if any.
    ///
    /// ## Locks
    /// The earlier `ACCESS EXCLUSIVE` lock, held until the transaction commits.
    ///
    /// ## References
    /// - [Table-level locks](https://www.postgresql.org/docs/current/explicit-locking.html#LOCKING-TABLES)
    pub RULE = "statements-after-access-exclusive", Warning, on, None, file = check_file;
}

/// One finding per transaction, on the first slow statement that runs while it holds an
/// `ACCESS EXCLUSIVE` lock, counting the others.
fn check_file(file: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
    for start in file.transaction_starts() {
        let slow = slow_statements(file, start);
        let Some((first, later)) = slow.split_first() else { continue };
        let cx = StatementCx::new(file, first.index);
        if !cx.state.in_transaction {
            continue;
        }
        let lines = file.line_index();
        let violation = SlowUnderLock {
            reason: first.reason.clone(),
            locked: first.locked.clone(),
            later_lines: later
                .iter()
                .take(SHOWN_LINES)
                .map(|s| lines.line_of(file.statements[s.index].span.start) + 1)
                .collect(),
            later_count: later.len(),
        };
        out.push(cx.report(&RULE, cx.stmt.span, &violation));
    }
}

/// A slow statement while the transaction holds an `ACCESS EXCLUSIVE` lock, and the slow
/// statements after it.
struct SlowUnderLock {
    /// What makes it slow: "scans `orders`".
    reason: String,
    locked: RelationName,
    /// The lines of the first few later slow statements, 1-based.
    later_lines: Vec<usize>,
    later_count: usize,
}

impl Violation for SlowUnderLock {
    fn message(&self) -> String {
        let mut message = format!(
            "statement {} while this transaction still holds {}",
            self.reason,
            describe_lock(LockMode::AccessExclusive, &self.locked)
        );
        if self.later_count > 0 {
            message.push_str(&later_statements(&self.later_lines, self.later_count));
        }
        message
    }

    fn help(&self) -> Option<String> {
        Some(if self.later_count == 0 {
            "commit right after the statement that takes the `ACCESS EXCLUSIVE` lock, and do this later"
        } else {
            "commit right after the statement that takes the `ACCESS EXCLUSIVE` lock, and move this and the slow statements after it to a later transaction"
        }
        .into())
    }

    fn objects(&self) -> Objects {
        Objects::relation(&self.locked)
    }
}

/// How many of the later slow statements a finding names by line.
const SHOWN_LINES: usize = 3;

/// ", and 2 more slow statements follow before it ends (lines 7 and 9)", for the `count` slow
/// statements after the first, of which `shown` holds the first lines.
fn later_statements(shown: &[usize], count: usize) -> String {
    let mut lines: Vec<String> = shown.iter().map(ToString::to_string).collect();
    if count > shown.len() {
        lines.push(format!("{} more", count - shown.len()));
    }
    let which = match lines.split_last() {
        Some((last, [])) if count == 1 => format!("line {last}"),
        Some((last, [])) => format!("lines {last}"),
        Some((last, init)) => format!("lines {} and {last}", init.join(", ")),
        None => String::new(),
    };
    let follow = if count == 1 {
        "1 more slow statement follows".to_owned()
    } else {
        format!("{count} more slow statements follow")
    };
    format!(", and {follow} before it ends ({which})")
}

struct SlowStatement {
    index: usize,
    /// What makes it slow: "scans `orders`".
    reason: String,
    /// The relation under the `ACCESS EXCLUSIVE` lock it holds up.
    locked: RelationName,
}

/// The slow statements of the transaction that starts at `start` which run while it holds an
/// `ACCESS EXCLUSIVE` lock: it keeps the strongest lock per existing relation that the
/// statements so far took. A relation that a statement drops is left out: nothing may use it
/// any more (which `drop-table` is about), so its lock holds up no one.
fn slow_statements(file: &FileContext<'_>, start: usize) -> Vec<SlowStatement> {
    let mut held: Vec<(RelationName, LockMode)> = Vec::new();
    let mut slow = Vec::new();
    for index in file.transaction_from(start) {
        if file.states[index].in_transaction {
            slow.extend(slow_statement(&StatementCx::new(file, index), &held));
        }
        let dropped = dropped_by(&file.statements[index].node);
        for lock in &file.effects[index].locks {
            if file.is_new_relation(&lock.relation, index) || dropped.iter().any(|d| d.same_as(&lock.relation)) {
                continue;
            }
            match held.iter_mut().find(|(r, _)| r.same_as(&lock.relation)) {
                Some((_, mode)) => *mode = (*mode).max(lock.mode),
                None => held.push((lock.relation.clone(), lock.mode)),
            }
        }
    }
    slow
}

/// The statement, if it is slow while `held` includes an `ACCESS EXCLUSIVE` lock.
fn slow_statement(cx: &StatementCx<'_, '_>, held: &[(RelationName, LockMode)]) -> Option<SlowStatement> {
    let exclusive: Vec<&RelationName> =
        held.iter().filter(|(_, mode)| *mode == LockMode::AccessExclusive).map(|(r, _)| r).collect();
    let first = *exclusive.first()?;
    if reported_elsewhere(cx) {
        return None;
    }
    let (reason, relation) = slow_because(cx, held)?;
    let locked = exclusive.iter().copied().find(|r| r.same_as(&relation)).unwrap_or(first).clone();
    Some(SlowStatement { index: cx.index, reason, locked })
}

/// Statements that a more specific rule reports along with the lock held: a whole-table
/// `UPDATE` or `DELETE` (`backfill-without-where`), and the validation of a constraint added in
/// the same transaction (`validate-in-same-transaction`).
fn reported_elsewhere(cx: &StatementCx<'_, '_>) -> bool {
    match cx.node() {
        N::UpdateStmt(s) => s.where_clause.is_none(),
        N::DeleteStmt(s) => s.where_clause.is_none(),
        N::AlterTableStmt(s) => {
            let Some(table) = s.relation.as_ref().map(RelationName::from_range_var) else { return false };
            let mut cmds = alter_cmds(s).peekable();
            cmds.peek().is_some()
                && cmds.all(|c| {
                    c.subtype() == AlterTableType::AtValidateConstraint && added_not_valid_earlier(cx, &table, &c.name)
                })
        }
        _ => false,
    }
}

/// Why the statement can take long, and the relation it is about: it rewrites or reads an existing
/// table, or, with no `lock_timeout` in force, it may wait for a lock that blocks traffic and that
/// the transaction does not hold. (Waits for weaker locks are short in practice: autovacuum
/// cancels itself when it is in the way.)
fn slow_because(cx: &StatementCx<'_, '_>, held: &[(RelationName, LockMode)]) -> Option<(String, RelationName)> {
    let effects = cx.effects();
    // A new table, or one this transaction emptied, is scanned or rewritten at once.
    let existing = |r: &&RelationName| !cx.is_new(r) && !cx.emptied_in_transaction(r);
    let work = [
        ("rewrites", &effects.rewrites),
        ("scans", &effects.scans),
        ("may rewrite", &effects.may_rewrite),
        ("may scan", &effects.may_scan),
    ];
    for (verb, relations) in work {
        if let Some(r) = relations.iter().find(existing) {
            return Some((format!("{verb} `{r}`"), r.clone()));
        }
    }
    if cx.state.lock_timeout {
        return None;
    }
    let covered = |r: &RelationName, mode: LockMode| {
        held.iter().any(|(h, m)| h.same_as(r) && (*m == LockMode::AccessExclusive || *m >= mode))
    };
    effects
        .locks
        .iter()
        .filter(|l| l.mode.blocks_traffic() && l.mode < LockMode::AccessExclusive)
        .filter(|l| !cx.is_new(&l.relation) && !covered(&l.relation, l.mode))
        .map(|l| (format!("may wait for {}", describe_lock(l.mode, &l.relation)), l.relation.clone()))
        .next()
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, lines_with, messages};
    use crate::settings::Settings;

    const ID: &str = "statements-after-access-exclusive";

    fn in_tx(body: &str) -> String {
        format!("BEGIN;\n{body}COMMIT;")
    }

    const ADD: &str = "ALTER TABLE orders ADD COLUMN region text;\n";

    #[test]
    fn flags_slow_work_under_the_lock() {
        let index = "CREATE INDEX i ON orders (region);\n";
        assert_eq!(lines(&in_tx(&format!("{ADD}{index}")), ID), vec![3]);
        assert_eq!(
            messages(&in_tx(&format!("{ADD}{index}")), ID),
            vec!["statement scans `orders` while this transaction still holds an `ACCESS EXCLUSIVE` lock on `orders` that blocks reads and writes"]
        );
        let fix_up = "UPDATE orders SET region = 'eu' WHERE country = 'de';\n";
        assert_eq!(lines(&in_tx(&format!("{ADD}SET LOCAL work_mem = '1GB';\n{fix_up}")), ID), vec![4]);
        let assumed = Settings { assume_in_transaction: true, ..Settings::default() };
        assert_eq!(lines_with(&format!("{ADD}{index}"), ID, &assumed), vec![2]);
    }

    #[test]
    fn a_table_this_transaction_emptied_is_quick_to_scan() {
        let emptied = "TRUNCATE orders;\nALTER TABLE orders ADD COLUMN region text NOT NULL;\n";
        assert!(lines(&in_tx(emptied), ID).is_empty());
        // Rows put back make the scan slow again.
        let refilled = "TRUNCATE orders;\nINSERT INTO orders SELECT * FROM old_orders;\n\
                        ALTER TABLE orders ADD COLUMN region text NOT NULL;\n";
        assert_eq!(lines(&in_tx(refilled), ID), vec![3]);
    }

    #[test]
    fn one_finding_per_transaction_counts_the_rest() {
        let slow = "CREATE INDEX i ON orders (region);\n\
                    UPDATE orders SET region = 'eu' WHERE country = 'de';\n\
                    COMMENT ON COLUMN orders.region IS 'x';\n\
                    ALTER TABLE orders VALIDATE CONSTRAINT older;\n";
        let sql = in_tx(&format!("{ADD}{slow}"));
        assert_eq!(lines(&sql, ID), vec![3]);
        assert_eq!(
            messages(&sql, ID),
            vec!["statement scans `orders` while this transaction still holds an `ACCESS EXCLUSIVE` lock on `orders` that blocks reads and writes, and 2 more slow statements follow before it ends (lines 4 and 6)"]
        );
        // Each transaction gets its own finding.
        let two = format!("{}\n{}", in_tx(&format!("{ADD}{slow}")), in_tx(&format!("{ADD}{slow}")));
        assert_eq!(lines(&two, ID), vec![3, 10]);
    }

    #[test]
    fn long_tails_are_cut_short() {
        let index = |n: usize| format!("CREATE INDEX i{n} ON orders (region);\n");
        let one_more = in_tx(&format!("{ADD}{}{}", index(1), index(2)));
        assert_eq!(
            messages(&one_more, ID),
            vec!["statement scans `orders` while this transaction still holds an `ACCESS EXCLUSIVE` lock on `orders` that blocks reads and writes, and 1 more slow statement follows before it ends (line 4)"]
        );
        let many = in_tx(&format!("{ADD}{}", (1..=6).map(index).collect::<String>()));
        let message = messages(&many, ID).join("\n");
        assert!(
            message.ends_with("and 5 more slow statements follow before it ends (lines 4, 5, 6 and 2 more)"),
            "{message}"
        );
    }

    #[test]
    fn lock_waits_count_without_a_lock_timeout() {
        let fk = "ALTER TABLE invoices ADD CONSTRAINT fk FOREIGN KEY (c) REFERENCES customers NOT VALID;\n";
        assert_eq!(
            messages(&in_tx(&format!("{ADD}{fk}")), ID),
            vec!["statement may wait for a `SHARE ROW EXCLUSIVE` lock on `invoices` that blocks writes while this transaction still holds an `ACCESS EXCLUSIVE` lock on `orders` that blocks reads and writes"]
        );
        assert!(lines(&in_tx(&format!("SET LOCAL lock_timeout = '2s';\n{ADD}{fk}")), ID).is_empty());
    }

    #[test]
    fn quick_statements_pass() {
        let quick = "SET LOCAL statement_timeout = '5s';\n\
                     RESET work_mem;\n\
                     COMMENT ON COLUMN orders.region IS 'x';\n\
                     ALTER TABLE orders ALTER COLUMN region SET DEFAULT 'eu';\n\
                     CREATE TABLE regions (code text PRIMARY KEY);\n\
                     CREATE INDEX regions_idx ON regions (code);\n\
                     INSERT INTO regions VALUES ('eu');\n\
                     INSERT INTO audit_log (event) VALUES ('regions added');\n";
        assert!(lines(&in_tx(&format!("{ADD}{quick}")), ID).is_empty());
    }

    #[test]
    fn leaves_backfills_and_validations_to_their_rules() {
        assert!(lines(&in_tx(&format!("{ADD}UPDATE orders SET region = 'eu';\n")), ID).is_empty());
        let validate = "ALTER TABLE orders ADD CONSTRAINT c CHECK (total > 0) NOT VALID;\n\
                        ALTER TABLE orders VALIDATE CONSTRAINT c;\n";
        assert!(lines(&in_tx(validate), ID).is_empty());
        let older = "ALTER TABLE orders VALIDATE CONSTRAINT older;\n";
        assert_eq!(lines(&in_tx(&format!("{ADD}{older}")), ID), vec![3]);
    }

    #[test]
    fn locks_on_dropped_relations_hold_up_no_one() {
        let sql = in_tx("DROP TABLE legacy_orders;\nDROP VIEW legacy_report;\nCREATE INDEX i ON orders (region);\n");
        assert!(lines(&sql, ID).is_empty());
    }

    #[test]
    fn no_transaction_or_no_exclusive_lock_passes() {
        assert!(lines(&format!("{ADD}CREATE INDEX i ON orders (region);"), ID).is_empty());
        let share = "CREATE INDEX i ON orders (region);\nCREATE INDEX j ON orders (placed_at);\n";
        assert!(lines(&in_tx(share), ID).is_empty());
        let new = "CREATE TABLE t (a int);\nALTER TABLE t ADD COLUMN b int;\nCREATE INDEX ON t (b);\n";
        assert!(lines(&in_tx(new), ID).is_empty());
        assert!(lines(&in_tx(&format!("{ADD}COMMIT;\nBEGIN;\nCREATE INDEX i ON orders (region);\n")), ID).is_empty());
    }
}
