use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::violation::{HeldLock, Objects, Violation};
use pg_query::protobuf::{node::Node as N, Token};

declare_rule! {
    /// ## What it does
    /// Flags an explicit `LOCK TABLE` in a mode that blocks reads or writes, on a table that this
    /// migration did not create.
    ///
    /// ## Why is this bad?
    /// An explicit lock is held until the end of the transaction, not the statement, so everything
    /// the migration does after it runs with the table's traffic stopped. `LOCK TABLE` with no mode
    /// takes `ACCESS EXCLUSIVE`, which blocks even reads. The statements that follow take the locks
    /// they need on their own, each for as short a time as PostgreSQL can manage.
    ///
    /// ## Example
    /// ```sql
    /// BEGIN;
    /// LOCK TABLE orders;
    /// UPDATE orders SET status = 'archived' WHERE placed_at < '2020-01-01';
    /// COMMIT;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// BEGIN;
    /// UPDATE orders SET status = 'archived' WHERE placed_at < '2020-01-01';
    /// COMMIT;
    /// ```
    ///
    /// When a lock is needed to keep a multi-statement change consistent, take the weakest mode
    /// that does it, with `NOWAIT` or under a short `lock_timeout`, and keep the transaction short.
    ///
    /// ## Locks
    /// The mode named in the statement, `ACCESS EXCLUSIVE` by default, until the transaction ends.
    ///
    /// ## References
    /// - [LOCK](https://www.postgresql.org/docs/current/sql-lock.html)
    /// - [Table-level locks](https://www.postgresql.org/docs/current/explicit-locking.html#LOCKING-TABLES)
    pub RULE = "lock-table", Warning, on, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    let N::LockStmt(_) = cx.node() else { return };
    let Some(lock) =
        cx.effects().locks.iter().filter(|l| l.mode.blocks_traffic() && !cx.is_new(&l.relation)).max_by_key(|l| l.mode)
    else {
        return;
    };
    let span = cx.find_tokens(&[Token::LockP]).unwrap_or(cx.stmt.span);
    out.push(cx.report(&RULE, span, &ExplicitLock { lock: HeldLock::new(lock.mode, &lock.relation) }));
}

struct ExplicitLock {
    /// The strongest lock the statement takes on a table that exists.
    lock: HeldLock,
}

impl Violation for ExplicitLock {
    fn message(&self) -> String {
        format!("`LOCK TABLE` takes {} and holds it until the transaction ends", self.lock)
    }

    fn help(&self) -> Option<String> {
        Some("drop the explicit lock and let each statement take the lock it needs".into())
    }

    fn objects(&self) -> Objects {
        Objects::relation(&self.lock.relation)
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, messages};

    const ID: &str = "lock-table";

    #[test]
    fn flags_explicit_locks_that_block_traffic() {
        assert_eq!(lines("BEGIN;\nLOCK TABLE orders;\nCOMMIT;", ID), vec![2]);
        assert_eq!(lines("BEGIN;\nLOCK orders IN SHARE MODE NOWAIT;\nCOMMIT;", ID), vec![2]);
        assert_eq!(
            messages("LOCK TABLE orders IN EXCLUSIVE MODE;", ID),
            vec!["`LOCK TABLE` takes an `EXCLUSIVE` lock on `orders` that blocks writes and row locks and holds it until the transaction ends"]
        );
    }

    #[test]
    fn weak_modes_and_new_tables_pass() {
        assert!(lines("LOCK TABLE orders IN SHARE UPDATE EXCLUSIVE MODE;", ID).is_empty());
        assert!(lines("LOCK TABLE orders IN ACCESS SHARE MODE;", ID).is_empty());
        assert!(lines("CREATE TABLE t (a int);\nLOCK TABLE t;", ID).is_empty());
    }
}
