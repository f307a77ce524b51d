use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::names::RelationName;
use crate::violation::{Objects, Violation};
use pg_query::protobuf::{node::Node as N, Token};

declare_rule! {
    /// ## What it does
    /// Flags `CREATE TABLE` and `CREATE INDEX` without `IF NOT EXISTS`.
    ///
    /// ## Why restrict this?
    /// Some teams want every migration to be safe to run again: after a partial failure outside a
    /// transaction (such as a `CREATE INDEX CONCURRENTLY` that timed out), or against a database
    /// where the object was created by hand. With `IF NOT EXISTS` the rerun skips what is already
    /// there instead of failing.
    ///
    /// `IF NOT EXISTS` only compares names: it silently keeps an existing object whatever its
    /// definition, including an `INVALID` index left behind by a failed concurrent build. Check
    /// for and drop such an index before retrying.
    ///
    /// ## Example
    /// ```sql
    /// CREATE TABLE audit_events (id bigint PRIMARY KEY, payload jsonb);
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// CREATE TABLE IF NOT EXISTS audit_events (id bigint PRIMARY KEY, payload jsonb);
    /// ```
    ///
    /// The rule is opt-in: enable it where migrations must be rerunnable.
    ///
    /// ## References
    /// - [CREATE TABLE](https://www.postgresql.org/docs/current/sql-createtable.html)
    /// - [CREATE INDEX](https://www.postgresql.org/docs/current/sql-createindex.html)
    pub RULE = "require-if-not-exists", Warning, opt_in, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    let violation = match cx.node() {
        N::CreateStmt(stmt) if !stmt.if_not_exists => {
            let Some(rv) = &stmt.relation else { return };
            Unguarded::Table(RelationName::from_range_var(rv))
        }
        N::IndexStmt(stmt) if !stmt.if_not_exists => {
            let schema = stmt.relation.as_ref().map(|rv| rv.schemaname.as_str());
            Unguarded::Index((!stmt.idxname.is_empty()).then(|| RelationName::new(schema, &stmt.idxname)))
        }
        _ => return,
    };
    let span = cx.find_tokens(&[Token::Create]).unwrap_or(cx.stmt.span);
    out.push(cx.report(&RULE, span, &violation));
}

/// A `CREATE` without `IF NOT EXISTS`.
enum Unguarded {
    Table(RelationName),
    /// The index's name, where it has one: `IF NOT EXISTS` needs a name to look for.
    Index(Option<RelationName>),
}

impl Violation for Unguarded {
    fn message(&self) -> String {
        let (kind, name) = match self {
            Unguarded::Table(table) => ("TABLE", format!(" `{table}`")),
            Unguarded::Index(Some(index)) => ("INDEX", format!(" `{}`", index.name)),
            Unguarded::Index(None) => ("INDEX", String::new()),
        };
        format!("`CREATE {kind}`{name} without `IF NOT EXISTS` fails when the migration runs again")
    }

    fn help(&self) -> Option<String> {
        Some(
            match self {
                Unguarded::Table(_) => "write `CREATE TABLE IF NOT EXISTS`",
                Unguarded::Index(Some(_)) => "write `CREATE INDEX IF NOT EXISTS`",
                Unguarded::Index(None) => "name the index and write `CREATE INDEX IF NOT EXISTS`",
            }
            .into(),
        )
    }

    fn objects(&self) -> Objects {
        match self {
            Unguarded::Table(table) => Objects::relation(table),
            Unguarded::Index(index) => Objects { index: index.clone(), ..Objects::default() },
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::lines_with;
    use crate::settings::Settings;

    const ID: &str = "require-if-not-exists";

    fn settings() -> Settings {
        Settings { enabled: vec![ID.to_owned()], ..Settings::default() }
    }

    #[test]
    fn flags_creates_without_if_not_exists() {
        let sql = "CREATE TABLE t (a int);\nCREATE UNIQUE INDEX CONCURRENTLY i ON t (a);\nCREATE INDEX ON t (a);";
        assert_eq!(lines_with(sql, ID, &settings()), vec![1, 2, 3]);
        assert!(crate::rules::test_support::lines(sql, ID).is_empty(), "opt-in");
    }

    #[test]
    fn if_not_exists_and_other_statements_pass() {
        let sql =
            "CREATE TABLE IF NOT EXISTS t (a int);\nCREATE INDEX IF NOT EXISTS i ON t (a);\nCREATE VIEW v AS SELECT 1;";
        assert!(lines_with(sql, ID, &settings()).is_empty());
    }
}
