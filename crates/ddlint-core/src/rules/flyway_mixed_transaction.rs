use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::framework::{flyway_runs_outside_transaction, Framework};
use crate::violation::Violation;
use pg_query::protobuf::Token;

declare_rule! {
    /// ## What it does
    /// Flags a Flyway migration that holds both a statement PostgreSQL refuses in a transaction
    /// block (`CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `VACUUM`, `CREATE DATABASE`,
    /// `ALTER SYSTEM`, …) and other statements.
    ///
    /// ## Why is this bad?
    /// Flyway runs a script outside a transaction when it finds such a statement, and inside one
    /// otherwise. A script with both kinds fails at deploy time with `Detected both transactional
    /// and non-transactional statements within the same migration` unless `flyway.mixed` is set.
    /// With `mixed=true` the whole script runs outside a transaction, so a failure half way leaves
    /// the statements before it applied and the migration marked failed. A script whose own
    /// configuration file (`V2__x.sql.conf`) says `executeInTransaction=false` runs outside a
    /// transaction as it is, and is not flagged.
    ///
    /// ## Example
    /// ```sql
    /// -- linted with --framework flyway
    /// ALTER TABLE orders ADD COLUMN shipped_at timestamptz;
    /// CREATE INDEX CONCURRENTLY orders_shipped_at_idx ON orders (shipped_at);
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// -- linted with --framework flyway
    /// CREATE INDEX CONCURRENTLY orders_shipped_at_idx ON orders (shipped_at);
    /// ```
    ///
    /// with the `ALTER TABLE` in the migration before it (`V41__add_shipped_at.sql`,
    /// `V42__index_shipped_at.sql`).
    ///
    /// ## References
    /// - [Flyway: mixed](https://documentation.red-gate.com/fd/flyway-mixed-setting-277579160.html)
    /// - [Flyway: transactions](https://documentation.red-gate.com/fd/migration-transaction-handling-273973399.html)
    pub RULE = "flyway-mixed-transaction", Error, on, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    // A script configured with `executeInTransaction=false` runs outside one as it is.
    if cx.file.framework != Some(Framework::Flyway) || cx.stmt.nested_in.is_some() || cx.file.hints.no_transaction {
        return;
    }
    let Some(refused) = flyway_runs_outside_transaction(cx.node(), cx.pg_version()) else { return };
    // One finding per script, at its first statement that must run outside a transaction.
    let first = cx
        .file
        .statements
        .iter()
        .take(cx.index)
        .all(|s| s.nested_in.is_some() || flyway_runs_outside_transaction(&s.node, cx.pg_version()).is_none());
    let others = cx
        .file
        .statements
        .iter()
        .any(|s| s.nested_in.is_none() && flyway_runs_outside_transaction(&s.node, cx.pg_version()).is_none());
    if !first || !others {
        return;
    }
    let what = refused.sql();
    let span =
        cx.find_tokens(&[Token::Concurrently]).or_else(|| cx.find_tokens(&[Token::Vacuum])).unwrap_or(cx.stmt.span);
    out.push(cx.report(&RULE, span, &MixedScript { what }));
}

struct MixedScript {
    /// The statement that runs outside a transaction, as its keywords.
    what: &'static str,
}

impl Violation for MixedScript {
    fn message(&self) -> String {
        format!(
            "`{}` makes Flyway run this script outside a transaction, which it refuses for a script with other statements unless `mixed` is set",
            self.what
        )
    }

    fn help(&self) -> Option<String> {
        Some(format!("move `{}` to a migration of its own", self.what))
    }
}

#[cfg(test)]
mod tests {
    use crate::framework::{Framework, Transaction};
    use crate::lint_file;
    use crate::settings::Settings;

    const ID: &str = "flyway-mixed-transaction";

    /// The lines at which the rule fires on a Flyway script, and the transaction of its section.
    fn flyway(sql: &str) -> (Vec<usize>, Transaction) {
        let report = lint_file("db/migration/V7__change.sql", sql.as_bytes(), &Settings::default());
        assert_eq!(report.framework, Some(Framework::Flyway));
        let lines = report
            .diagnostics
            .iter()
            .filter(|d| d.rule == ID)
            .map(|d| report.line_index.position(&report.text, d.span.start).line)
            .collect();
        (lines, report.sections[0].transaction)
    }

    #[test]
    fn one_finding_per_mixed_script() {
        let sql =
            "SET lock_timeout = '2s';\nCREATE INDEX CONCURRENTLY a ON t (a);\nCREATE INDEX CONCURRENTLY b ON t (b);";
        assert_eq!(flyway(sql), (vec![2], Transaction::None));
    }

    #[test]
    fn scripts_of_one_kind_are_fine() {
        assert_eq!(
            flyway("CREATE INDEX CONCURRENTLY a ON t (a);\nDROP INDEX CONCURRENTLY b;"),
            (vec![], Transaction::None)
        );
        assert_eq!(flyway("ALTER TABLE t ADD COLUMN c int;\nCREATE INDEX a ON t (c);"), (vec![], Transaction::Wrapped));
    }

    #[test]
    fn statements_flyway_does_not_recognise_stay_in_its_transaction() {
        // Flyway's parser misses these, wraps the script and the deploy fails;
        // `concurrently-in-transaction` reports it.
        let sql = "ALTER TABLE t ADD COLUMN c int;\nREINDEX INDEX CONCURRENTLY i;";
        assert_eq!(flyway(sql), (vec![], Transaction::Wrapped));
    }

    #[test]
    fn other_frameworks_are_left_alone() {
        let sql = "ALTER TABLE t ADD COLUMN c int;\nCREATE INDEX CONCURRENTLY a ON t (c);";
        let report = lint_file("db/0007_change.sql", sql.as_bytes(), &Settings::default());
        assert!(report.diagnostics.iter().all(|d| d.rule != ID));
    }
}
