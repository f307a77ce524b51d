use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::violation::{HeldLock, Objects, Violation};

declare_rule! {
    /// ## What it does
    /// Flags the first statement of a file that takes a lock stronger than
    /// `SHARE UPDATE EXCLUSIVE` on an existing table while no `statement_timeout` is in force.
    ///
    /// ## Why restrict this?
    /// `lock_timeout` bounds how long a migration waits for its lock, but not how long it then
    /// holds it. A statement that turns out slower than expected (a scan of a bigger table than
    /// in staging, a rewrite nobody predicted) keeps the table blocked until it ends. With a
    /// `statement_timeout` it is cancelled instead and the migration fails fast, to be retried
    /// in a better way.
    ///
    /// ## Example
    /// ```sql
    /// SET lock_timeout = '2s';
    /// ALTER TABLE users ADD COLUMN nickname text;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// SET lock_timeout = '2s';
    /// SET statement_timeout = '30s';
    /// ALTER TABLE users ADD COLUMN nickname text;
    /// ```
    ///
    /// `SET LOCAL statement_timeout` lasts until the end of the current transaction; a plain `SET`
    /// lasts for the session. `RESET statement_timeout` and a timeout of `0` turn it off again.
    /// The rule is opt-in: enable it where every migration should bound its statements.
    ///
    /// ## References
    /// - [statement_timeout](https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-STATEMENT-TIMEOUT)
    pub RULE = "require-statement-timeout", Warning, opt_in, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    if cx.file.first_unbounded_lock != Some(cx.index) {
        return;
    }
    let Some(lock) = cx.file.strongest_lock_on_existing(cx.index) else { return };
    out.push(cx.report(&RULE, cx.stmt.span, &Unbounded { lock: HeldLock::new(lock.mode, &lock.relation) }));
}

/// The first statement of the file that holds a lock that blocks traffic, with no statement timeout.
struct Unbounded {
    lock: HeldLock,
}

impl Violation for Unbounded {
    fn message(&self) -> String {
        format!("statement takes {} with no `statement_timeout` set, so nothing bounds how long it holds it", self.lock)
    }

    fn help(&self) -> Option<String> {
        Some("set `statement_timeout` at the start of the migration, as well as `lock_timeout`".into())
    }

    fn objects(&self) -> Objects {
        Objects::relation(&self.lock.relation)
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::lines_with;
    use crate::settings::Settings;

    const ID: &str = "require-statement-timeout";

    fn lines(sql: &str) -> Vec<usize> {
        lines_with(sql, ID, &Settings { enabled: vec![ID.to_owned()], ..Settings::default() })
    }

    const ALTER: &str = "ALTER TABLE a ADD COLUMN b int;";

    #[test]
    fn flags_only_the_first_unbounded_lock() {
        assert_eq!(lines(&format!("SELECT 1;\n{ALTER}\n{ALTER}")), vec![2]);
        assert!(crate::rules::test_support::lines(ALTER, ID).is_empty(), "opt-in");
    }

    #[test]
    fn statement_timeout_guards() {
        assert!(lines(&format!("SET statement_timeout = '30s';\n{ALTER}")).is_empty());
        assert!(lines(&format!("BEGIN;\nSET LOCAL statement_timeout = 5000;\n{ALTER}\nCOMMIT;")).is_empty());
        assert!(lines(&format!("SELECT set_config('statement_timeout', '1min', false);\n{ALTER}")).is_empty());
        assert!(lines(&format!(
            "CREATE TABLE n (x int);\nALTER TABLE n ADD COLUMN y int;\nSET statement_timeout = '1s';\n{ALTER}"
        ))
        .is_empty());
    }

    #[test]
    fn reset_zero_and_ended_local_settings_do_not_guard() {
        assert_eq!(lines(&format!("SET statement_timeout = 0;\n{ALTER}")), vec![2]);
        assert_eq!(lines(&format!("SET statement_timeout = '1s';\nRESET ALL;\n{ALTER}")), vec![3]);
        assert_eq!(lines(&format!("BEGIN;\nSET LOCAL statement_timeout = '1s';\nCOMMIT;\n{ALTER}")), vec![4]);
        assert_eq!(lines(&format!("SET LOCAL statement_timeout = '1s';\n{ALTER}")), vec![2]);
    }
}
