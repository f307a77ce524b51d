use crate::context::{FileContext, StatementCx};
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::parse::Item;
use crate::violation::{Objects, Violation};
use pg_query::protobuf::{node::Node as N, TransactionStmtKind as Tx};

declare_rule! {
    /// ## What it does
    /// Flags a `BEGIN` (or `START TRANSACTION`) that the file, or the section a migration runner
    /// runs as one migration, never ends with `COMMIT` or `ROLLBACK`, where the runner does not
    /// wrap the file in a transaction of its own.
    ///
    /// ## Why is this bad?
    /// Nothing the transaction did is committed when the file ends. `psql -f` ends the session,
    /// which rolls the whole migration back, and still exits with status 0; a runner that keeps
    /// the session runs its own bookkeeping, and maybe the next migration, inside the open
    /// transaction, holding every lock the migration took until something commits.
    ///
    /// ## Example
    /// ```sql
    /// SET lock_timeout = '2s';
    /// BEGIN;
    /// ALTER TABLE users ADD COLUMN nickname text;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// SET lock_timeout = '2s';
    /// BEGIN;
    /// ALTER TABLE users ADD COLUMN nickname text;
    /// COMMIT;
    /// ```
    pub RULE = "unclosed-transaction", Warning, on, None, file = check_file;
}

fn check_file(file: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
    // Past a syntax error the statements that would end the transaction may be unread.
    if file.parsed.items.iter().any(|item| matches!(item, Item::SyntaxError(_))) {
        return;
    }
    let top: Vec<usize> = (0..file.statements.len()).filter(|&i| file.statements[i].nested_in.is_none()).collect();
    for (n, &last) in top.iter().enumerate() {
        let section = file.section_of(last).map(|s| s.span);
        let next = top.get(n + 1).map(|&i| file.section_of(i));
        // The last statement of its section, unless the next section goes on in its session.
        let ends_session = match next {
            None => true,
            Some(next) => next.map(|s| s.span) != section && !next.is_some_and(|s| s.continues_session),
        };
        if !ends_session {
            continue;
        }
        let state = &file.states[last];
        let open = match &*file.statements[last].node {
            N::TransactionStmt(tx) => match tx.kind() {
                Tx::TransStmtBegin | Tx::TransStmtStart => !state.in_transaction || state.explicit_transaction,
                Tx::TransStmtCommit | Tx::TransStmtRollback | Tx::TransStmtPrepare => tx.chain,
                _ => state.explicit_transaction,
            },
            _ => state.explicit_transaction,
        };
        if !open || state.runner_transaction {
            continue;
        }
        let begin = state.transaction_start.min(last).saturating_sub(1);
        let opened = (begin..=last)
            .find(|&i| matches!(&*file.statements[i].node, N::TransactionStmt(tx) if matches!(tx.kind(), Tx::TransStmtBegin | Tx::TransStmtStart)))
            .unwrap_or(begin);
        let cx = StatementCx::new(file, opened);
        out.push(cx.report(&RULE, cx.stmt.span, &Unclosed { ends_line: file.line_of(file.statements[last].span.end) }));
    }
}

struct Unclosed {
    /// The line of the last statement, where the transaction is still open.
    ends_line: usize,
}

impl Violation for Unclosed {
    fn message(&self) -> String {
        format!(
            "this transaction is still open when the migration ends on line {}: psql rolls it back as it disconnects, \
             and a runner that keeps the session goes on inside it",
            self.ends_line
        )
    }

    fn help(&self) -> Option<String> {
        Some("end it with `COMMIT`".into())
    }

    fn objects(&self) -> Objects {
        Objects::default()
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, lines_with};
    use crate::settings::Settings;

    const ID: &str = "unclosed-transaction";

    #[test]
    fn a_transaction_left_open_is_flagged_at_its_begin() {
        assert_eq!(lines("SELECT 1;\nBEGIN;\nALTER TABLE t ADD COLUMN a int;", ID), vec![2]);
        assert_eq!(lines("START TRANSACTION;\nALTER TABLE t ADD COLUMN a int;", ID), vec![1]);
        assert_eq!(lines("BEGIN;\nSELECT 1;\nCOMMIT;\nBEGIN;\nSELECT 2;", ID), vec![4]);
        assert_eq!(lines("SELECT 1;\nBEGIN;", ID), vec![2]);
        assert_eq!(lines("BEGIN;\nSELECT 1;\nCOMMIT AND CHAIN;", ID), vec![1]);
    }

    #[test]
    fn closed_or_wrapped_transactions_pass() {
        assert!(lines("BEGIN;\nALTER TABLE t ADD COLUMN a int;\nCOMMIT;", ID).is_empty());
        assert!(lines("BEGIN;\nSELECT 1;\nROLLBACK;\nSELECT 2;", ID).is_empty());
        assert!(lines("ALTER TABLE t ADD COLUMN a int;", ID).is_empty());
        // A syntax error may hide the COMMIT.
        assert!(lines("BEGIN;\nSELEC 1;\nCOMMIT;", ID).is_empty());
        // The runner's transaction ends with the runner.
        let wrapped = Settings { assume_in_transaction: true, ..Settings::default() };
        assert!(lines_with("BEGIN;\nALTER TABLE t ADD COLUMN a int;", ID, &wrapped).is_empty());
        // goose sections each end their own transaction.
        let goose = "-- +goose Up\n-- +goose NO TRANSACTION\nBEGIN;\nSELECT 1;\nCOMMIT;\n-- +goose Down\nSELECT 2;";
        assert!(lines(goose, ID).is_empty());
        let open = "-- +goose Up\n-- +goose NO TRANSACTION\nBEGIN;\nSELECT 1;\n-- +goose Down\nSELECT 2;";
        assert_eq!(lines(open, ID), vec![3]);
    }
}
