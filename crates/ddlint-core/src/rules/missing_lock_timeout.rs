use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::fix::{recipes, Applicability, Edit, Fix};
use crate::settings::show_ms;
use crate::violation::{HeldLock, Objects, Violation};
use pg_query::protobuf::node::Node as N;

declare_rule! {
    /// ## What it does
    /// Flags the first statement of a file that takes a lock stronger than
    /// `SHARE UPDATE EXCLUSIVE` on an existing table while no `lock_timeout` is in force.
    ///
    /// ## Why is this bad?
    /// A lock request waits behind every transaction that holds a conflicting lock, and every
    /// query that arrives after it waits behind the request. A migration stuck behind one long
    /// report query therefore blocks all traffic to the table until it gets its lock. With a
    /// `lock_timeout` the migration gives up quickly instead, and can be retried.
    ///
    /// ## Example
    /// ```sql
    /// ALTER TABLE users ADD COLUMN nickname text;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// SET lock_timeout = '2s';
    /// ALTER TABLE users ADD COLUMN nickname text;
    /// ```
    ///
    /// `SET LOCAL lock_timeout` lasts until the end of the current transaction; a plain `SET`
    /// lasts for the session. A timeout of `0` turns it off again, and `RESET lock_timeout`
    /// returns to what the session started with. A timeout longer than `max-lock-timeout` in
    /// `ddlint.toml` (10 seconds unless set) is no timeout: traffic queues behind the wait for
    /// all that time. Where the migration runner or the database role sets `lock_timeout`
    /// for every migration, `[runner] lock-timeout` in `ddlint.toml` says so, and each
    /// session starts guarded.
    ///
    /// ## Fix
    /// Inserts `SET lock_timeout = '2s'` before the statement, and before the first statement
    /// that needs it in each later section of the file (a goose or dbmate down part runs in a
    /// session of its own). In the runner's transaction it is `SET LOCAL`, so that the setting
    /// ends with it. The value is `[fix] lock-timeout` in `ddlint.toml`.
    ///
    /// ## Fix safety
    /// Safe: the schema and data are the same; the migration now fails, rather than queueing
    /// traffic, when it cannot get its lock in time, and can be run again.
    ///
    /// ## References
    /// - [lock_timeout](https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-LOCK-TIMEOUT)
    pub RULE = "missing-lock-timeout", Warning, on, Some(check), fix = safe;
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    if cx.file.first_unguarded_lock != Some(cx.index) {
        return;
    }
    let Some(lock) = cx.file.strongest_lock_on_existing(cx.index) else { return };
    let violation = Unguarded {
        lock: HeldLock::new(lock.mode, &lock.relation),
        over_max: cx.state.lock_timeout_over_max.map(|ms| (ms, cx.settings().max_lock_timeout_ms)),
    };
    out.push(cx.report(&RULE, cx.stmt.span, &violation).with_fix(match crate::fix::generated_by(cx.file.framework) {
        Some(reason) => Err(reason.to_owned()),
        None => Ok(fix(cx)),
    }));
}

/// The first statement of the file that waits for a lock that blocks traffic, with no timeout.
struct Unguarded {
    lock: HeldLock,
    /// The `lock_timeout` in force and the maximum it is longer than, in milliseconds.
    over_max: Option<(u64, u64)>,
}

impl Violation for Unguarded {
    fn message(&self) -> String {
        match self.over_max {
            None => format!(
                "statement takes {} with no `lock_timeout` set, so a wait for it queues all traffic behind it",
                self.lock
            ),
            Some((ms, max)) => format!(
                "statement takes {} with `lock_timeout` at {}, longer than the maximum of {}, so traffic can queue behind a wait for it that long",
                self.lock,
                show_ms(ms),
                show_ms(max)
            ),
        }
    }

    fn help(&self) -> Option<String> {
        Some("start the migration with `SET lock_timeout = '2s'` (or `SET LOCAL` inside its transaction)".into())
    }

    fn objects(&self) -> Objects {
        Objects::relation(&self.lock.relation)
    }
}

/// `SET lock_timeout` before the statement, and before the first such statement of each
/// later section of the file (each runs in a session or transaction of its own), so that one
/// fix guards the whole file.
fn fix(cx: &StatementCx<'_, '_>) -> Fix {
    let edits = cx
        .file
        .unguarded_locks_by_section()
        .into_iter()
        .filter(|&i| i >= cx.index)
        .map(|i| set_before(&StatementCx::new(cx.file, i)))
        .collect();
    let value = &cx.settings().fix_lock_timeout;
    Fix {
        title: format!("set `lock_timeout` to {value} before the statement"),
        applicability: Applicability::Safe,
        edits,
        new_migrations: Vec::new(),
        moved: Vec::new(),
        after_other_fixes: true,
    }
}

/// `SET lock_timeout` on a line of its own before the statement (before the `DO` block that
/// runs it, for a statement inside one). `SET LOCAL` in the runner's transaction, so that the
/// setting ends with it; a plain `SET` elsewhere, which outlives a `COMMIT` in the file.
fn set_before(cx: &StatementCx<'_, '_>) -> Edit {
    let start = cx.stmt.nested_in.map_or(cx.stmt.span.start, |outer| cx.file.statements[outer].span.start);
    let text = cx.file.text;
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let indent = &text[line_start..start];
    // A transaction the file ends itself would end a `SET LOCAL` with it.
    let ends_transaction = (cx.index..cx.file.section_end(cx.index))
        .any(|i| matches!(&*cx.file.statements[i].node, N::TransactionStmt(_)));
    let set = if cx.state.in_transaction
        && cx.state.runner_transaction
        && !cx.state.explicit_transaction
        && !ends_transaction
    {
        "SET LOCAL"
    } else {
        "SET"
    };
    let value = cx.settings().fix_lock_timeout.replace('\'', "''");
    if indent.trim().is_empty() {
        recipes::insert(line_start, &format!("{indent}{set} lock_timeout = '{value}';\n"))
    } else {
        recipes::insert(start, &format!("{set} lock_timeout = '{value}'; "))
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, lines_with, messages};
    use crate::settings::Settings;

    const ID: &str = "missing-lock-timeout";

    #[test]
    fn a_timeout_longer_than_the_maximum_is_none() {
        assert_eq!(lines("SET lock_timeout = '5min';\nALTER TABLE t ADD COLUMN a int;", ID), vec![2]);
        assert_eq!(lines("SET lock_timeout = 60000;\nALTER TABLE t ADD COLUMN a int;", ID), vec![2]);
        let message = &messages("SET lock_timeout = '5min';\nALTER TABLE t ADD COLUMN a int;", ID)[0];
        assert!(message.contains("with `lock_timeout` at 5min, longer than the maximum of 10s"), "{message}");
        assert!(lines("SET lock_timeout = '10s';\nALTER TABLE t ADD COLUMN a int;", ID).is_empty());
        assert!(lines("SET lock_timeout = '5min';\nSET lock_timeout = '1s';\nALTER TABLE t ADD COLUMN a int;", ID)
            .is_empty());
        let settings = Settings { max_lock_timeout_ms: 60_000, ..Settings::default() };
        assert!(lines_with("SET lock_timeout = '1min';\nALTER TABLE t ADD COLUMN a int;", ID, &settings).is_empty());
    }

    #[test]
    fn a_runner_that_sets_lock_timeout_guards_every_statement() {
        let add = "ALTER TABLE t ADD COLUMN a int;";
        let runner = |value: &str| Settings { runner_lock_timeout: Some(value.into()), ..Settings::default() };
        assert!(lines_with(add, ID, &runner("5s")).is_empty());
        // In every section and after a commit, too.
        assert!(lines_with(&format!("BEGIN;\n{add}\nCOMMIT;\n{add}"), ID, &runner("5s")).is_empty());
        // A runner's timeout longer than the maximum is none; the file can still set its own.
        assert_eq!(lines_with(add, ID, &runner("5min")), vec![1]);
        assert!(lines_with(&format!("SET lock_timeout = '2s';\n{add}"), ID, &runner("5min")).is_empty());
        // The file can switch it off; RESET returns to the runner's value.
        assert_eq!(lines_with(&format!("SET lock_timeout = 0;\n{add}"), ID, &runner("5s")), vec![2]);
        assert!(lines_with(&format!("SET lock_timeout = 0;\nRESET lock_timeout;\n{add}"), ID, &runner("5s")).is_empty());
    }

    #[test]
    fn flags_only_the_first_unguarded_lock() {
        assert_eq!(lines("SELECT 1;\nALTER TABLE a ADD COLUMN b int;\nALTER TABLE a ADD COLUMN c int;", ID), vec![2]);
    }

    #[test]
    fn lock_timeout_guards() {
        assert!(lines("SET lock_timeout = '2s';\nALTER TABLE a ADD COLUMN b int;", ID).is_empty());
        assert!(
            lines("BEGIN;\nSET LOCAL lock_timeout = '1s';\nALTER TABLE a ADD COLUMN b int;\nCOMMIT;", ID).is_empty()
        );
        assert!(lines("SELECT set_config('lock_timeout', '3s', false);\nDROP TABLE a;", ID).is_empty());
    }

    #[test]
    fn reset_zero_and_ended_local_settings_do_not_guard() {
        assert_eq!(lines("SET lock_timeout = 0;\nDROP TABLE a;", ID), vec![2]);
        assert_eq!(lines("SET lock_timeout TO '1s';\nRESET lock_timeout;\nDROP TABLE a;", ID), vec![3]);
        assert_eq!(lines("BEGIN;\nSET LOCAL lock_timeout = '1s';\nCOMMIT;\nDROP TABLE a;", ID), vec![4]);
        assert_eq!(lines("SET LOCAL lock_timeout = '1s';\nDROP TABLE a;", ID), vec![2]);
    }

    #[test]
    fn weak_locks_and_new_tables_pass() {
        assert!(lines("CREATE INDEX CONCURRENTLY i ON a (b);\nALTER TABLE a VALIDATE CONSTRAINT c;", ID).is_empty());
        assert!(lines("CREATE TABLE a (b int);\nALTER TABLE a ADD COLUMN c int;", ID).is_empty());
    }
}
