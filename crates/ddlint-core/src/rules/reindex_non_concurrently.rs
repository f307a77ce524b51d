use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::fix::{recipes, Fix};
use crate::lock_model::reindex_concurrently;
use crate::locks::LockMode;
use crate::names::RelationName;
use crate::violation::{HeldLock, Objects, Violation};
use pg_query::protobuf::{self as pg, node::Node as N, ReindexObjectType as Kind, Token};

declare_rule! {
    /// ## What it does
    /// Flags `REINDEX` without `CONCURRENTLY` on an index or table that this migration did not
    /// create, and on a whole schema or database.
    ///
    /// ## Why is this bad?
    /// A plain `REINDEX` holds a `SHARE` lock on the table, which blocks writes, and an
    /// `ACCESS EXCLUSIVE` lock on each index it rebuilds. The planner locks every index of a table
    /// it plans a query for, so reads of the table wait too. Both last until the index build ends,
    /// which on a large table takes minutes.
    ///
    /// ## Example
    /// ```sql
    /// REINDEX INDEX orders_user_id_idx;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// REINDEX INDEX CONCURRENTLY orders_user_id_idx;
    /// ```
    ///
    /// `CONCURRENTLY` cannot run inside a transaction block, so give it a migration of its own.
    /// Before PostgreSQL 12, build a replacement with `CREATE INDEX CONCURRENTLY`, drop the old
    /// index with `DROP INDEX CONCURRENTLY` and rename the new one.
    ///
    /// ## Locks
    /// `SHARE` on the table and `ACCESS EXCLUSIVE` on the indexes; with `CONCURRENTLY`,
    /// `SHARE UPDATE EXCLUSIVE` on both.
    ///
    /// ## PostgreSQL versions
    /// `REINDEX … CONCURRENTLY` exists from PostgreSQL 12; the help names the older recipe before
    /// that. `REINDEX SYSTEM` has no concurrent form: it is flagged with the advice to run it by
    /// hand in a quiet period.
    ///
    /// ## Fix
    /// On PostgreSQL 12 and later, adds `CONCURRENTLY` and runs it outside any transaction: in place when the statement already runs in autocommit,
    /// after the `COMMIT` of a transaction the file opens, or, when the runner wraps the file in its
    /// transaction, in a new migration right after it in the framework's conventions.
    /// `REINDEX SYSTEM` has no concurrent form and gets no fix.
    ///
    /// ## Fix safety
    /// Unsafe: a concurrent rebuild that fails leaves an `INVALID` copy of the index (named with
    /// `_ccnew`) behind, and the rebuild leaves the migration's transaction.
    ///
    /// ## References
    /// - [REINDEX](https://www.postgresql.org/docs/current/sql-reindex.html)
    pub RULE = "reindex-non-concurrently", Warning, on, Some(check), fix = unsafe;
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    let N::ReindexStmt(stmt) = cx.node() else { return };
    if reindex_concurrently(stmt) {
        return;
    }
    let span = cx.find_tokens(&[Token::Reindex]).unwrap_or(cx.stmt.span);
    let target = match stmt.kind() {
        Kind::ReindexObjectIndex | Kind::ReindexObjectTable => {
            let Some(rv) = &stmt.relation else { return };
            let named = RelationName::from_range_var(rv);
            let table = match stmt.kind() {
                Kind::ReindexObjectTable => Some(&named),
                _ => cx.file.created_index(&named, cx.index),
            };
            if table.is_some_and(|t| cx.is_new(t)) {
                return;
            }
            // The strongest lock first: the index's, which the planner of every query on the table
            // waits for, then the table's, which blocks writes.
            let mut locks: Vec<_> = cx.effects().locks.iter().collect();
            locks.sort_by_key(|l| std::cmp::Reverse(l.mode));
            let held = locks.iter().take(2).map(|l| HeldLock::new(l.mode, &l.relation)).collect();
            let table = table.cloned();
            if stmt.kind() == Kind::ReindexObjectTable {
                Target::Table { table: named, held }
            } else {
                Target::Index { index: named, table, held }
            }
        }
        Kind::ReindexObjectSchema => Target::Schema(stmt.name.clone()),
        Kind::ReindexObjectDatabase => Target::Database(stmt.name.clone()),
        Kind::ReindexObjectSystem => Target::System,
        _ => return,
    };
    let violation = Reindex { target, concurrently_available: cx.pg_version() >= 12 };
    out.push(cx.report(&RULE, span, &violation).with_fix(fix(cx, stmt)));
}

/// What a `REINDEX` rebuilds.
enum Target {
    /// An index, its table where the file created the index, and the two strongest locks.
    Index {
        index: RelationName,
        table: Option<RelationName>,
        held: Vec<HeldLock>,
    },
    /// Every index of a table, and the two strongest locks.
    Table {
        table: RelationName,
        held: Vec<HeldLock>,
    },
    Schema(String),
    /// The database named, or the current one (PostgreSQL 15 lets the name go).
    Database(String),
    /// The system catalogs, which have no concurrent rebuild.
    System,
}

struct Reindex {
    target: Target,
    /// `REINDEX … CONCURRENTLY` exists (PostgreSQL 12).
    concurrently_available: bool,
}

impl Violation for Reindex {
    fn message(&self) -> String {
        let (target, held) = match &self.target {
            Target::Index { index, held, .. } => (format!("`{index}`"), held),
            Target::Table { table, held } => (format!("every index of `{table}`"), held),
            Target::System => {
                return "`REINDEX SYSTEM` rebuilds every index of the system catalogs, locking each catalog so that every query that reads it waits".to_owned();
            }
            Target::Schema(name) | Target::Database(name) => {
                let kind = if matches!(self.target, Target::Schema(_)) { "SCHEMA" } else { "DATABASE" };
                let name = if name.is_empty() { "the current database".to_owned() } else { format!("`{name}`") };
                // The lock model does not list the tables of a schema; each one is locked as
                // `REINDEX TABLE` locks it.
                let lock = LockMode::Share;
                return format!(
                    "`REINDEX {kind}` without `CONCURRENTLY` rebuilds every index in {name}, each table under a `{}` lock that {}",
                    lock.sql_name(),
                    lock.blocks_phrase()
                );
            }
        };
        match held.as_slice() {
            [] => format!("`REINDEX` without `CONCURRENTLY` rebuilds {target} under locks that block traffic"),
            [one] => format!("`REINDEX` without `CONCURRENTLY` rebuilds {target} while holding {one}"),
            [one, two, ..] => {
                format!("`REINDEX` without `CONCURRENTLY` rebuilds {target} while holding {one}, and {two}")
            }
        }
    }

    fn help(&self) -> Option<String> {
        if matches!(self.target, Target::System) {
            return Some("run it by hand in a quiet period, outside the migrations: it has no concurrent form".into());
        }
        Some(
            if self.concurrently_available {
                "use `REINDEX … CONCURRENTLY`, alone in a migration that runs outside a transaction"
            } else {
                "build a replacement with `CREATE INDEX CONCURRENTLY`, then drop the old index concurrently"
            }
            .into(),
        )
    }

    fn objects(&self) -> Objects {
        match &self.target {
            Target::Index { index, table, .. } => Objects { relation: table.clone(), ..Objects::index(index) },
            Target::Table { table, .. } => Objects::relation(table),
            Target::Schema(_) | Target::Database(_) | Target::System => Objects::default(),
        }
    }
}

fn fix(cx: &StatementCx<'_, '_>, stmt: &pg::ReindexStmt) -> Result<Fix, String> {
    if stmt.kind() == Kind::ReindexObjectSystem {
        return Err("`REINDEX SYSTEM` has no concurrent form".to_owned());
    }
    if cx.pg_version() < 12 {
        return Err("`REINDEX CONCURRENTLY` needs PostgreSQL 12".to_owned());
    }
    let name = stmt.relation.as_ref().map_or(stmt.name.as_str(), |rv| rv.relname.as_str());
    recipes::concurrently(cx, &[Token::Index, Token::Table, Token::Schema, Token::Database], "rebuild", None, &[name])
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, lines_with, messages};
    use crate::settings::Settings;

    const ID: &str = "reindex-non-concurrently";

    #[test]
    fn flags_plain_reindex() {
        assert_eq!(lines("REINDEX INDEX i;", ID), vec![1]);
        assert_eq!(lines("SELECT 1;\nREINDEX TABLE t;", ID), vec![2]);
        assert_eq!(lines("REINDEX SCHEMA app;\nREINDEX DATABASE app;", ID), vec![1, 2]);
        assert_eq!(
            messages("REINDEX TABLE t;", ID),
            vec!["`REINDEX` without `CONCURRENTLY` rebuilds every index of `t` while holding a `SHARE` lock on `t` that blocks writes"]
        );
        assert_eq!(
            messages("REINDEX INDEX i;", ID),
            vec!["`REINDEX` without `CONCURRENTLY` rebuilds `i` while holding an `ACCESS EXCLUSIVE` lock on `i` that blocks reads and writes"]
        );
    }

    #[test]
    fn system_and_unnamed_databases_are_flagged() {
        assert_eq!(lines("REINDEX SYSTEM app;\nREINDEX SYSTEM;\nREINDEX DATABASE;", ID), vec![1, 2, 3]);
        let system = messages("REINDEX SYSTEM;", ID);
        assert!(system[0].starts_with("`REINDEX SYSTEM` rebuilds every index of the system catalogs"), "{system:?}");
        assert!(messages("REINDEX DATABASE;", ID)[0].contains("every index in the current database"));
    }

    #[test]
    fn concurrently_and_new_tables_pass() {
        assert!(lines("REINDEX INDEX CONCURRENTLY i;\nREINDEX (CONCURRENTLY) TABLE t;", ID).is_empty());
        assert_eq!(lines("REINDEX (CONCURRENTLY false) INDEX i;\nREINDEX (CONCURRENTLY off) TABLE t;", ID), vec![1, 2]);
        assert_eq!(lines("REINDEX (CONCURRENTLY 0) INDEX i;\nREINDEX (CONCURRENTLY 1) INDEX i;", ID), vec![1]);
        assert_eq!(
            messages("REINDEX (CONCURRENTLY false) TABLE t;", ID),
            vec!["`REINDEX` without `CONCURRENTLY` rebuilds every index of `t` while holding a `SHARE` lock on `t` that blocks writes"]
        );
        assert!(lines("CREATE TABLE t (a int);\nCREATE INDEX i ON t (a);\nREINDEX INDEX i;\nREINDEX TABLE t;", ID)
            .is_empty());
    }

    #[test]
    fn help_follows_the_version() {
        let help = |version| {
            let settings = Settings { pg_version: version, ..Settings::default() };
            let report = crate::lint_file("t.sql", b"REINDEX INDEX i;", &settings);
            report.diagnostics.into_iter().find(|d| d.rule == ID).and_then(|d| d.help).unwrap_or_default()
        };
        assert!(help(11).contains("CREATE INDEX CONCURRENTLY"));
        assert!(help(12).contains("REINDEX … CONCURRENTLY"));
        assert_eq!(lines_with("REINDEX INDEX i;", ID, &Settings { pg_version: 11, ..Settings::default() }), vec![1]);
    }
}
