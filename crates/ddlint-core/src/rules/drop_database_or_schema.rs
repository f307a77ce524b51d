use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::locks::LockMode;
use crate::violation::Violation;
use pg_query::protobuf::{self as pg, node::Node as N, ObjectType, Token};

declare_rule! {
    /// ## What it does
    /// Flags `DROP DATABASE`, and `DROP SCHEMA … CASCADE`, unless the database or schema was
    /// created earlier in the same file.
    ///
    /// ## Why is this bad?
    /// Both delete a whole namespace of tables and their data in one statement, which no deploy
    /// of the application can roll back. A migration is rarely the place for it: a typo in the
    /// name or a stale migration run against the wrong environment loses everything in it.
    /// `DROP SCHEMA … CASCADE` also takes an `ACCESS EXCLUSIVE` lock on every table in the schema.
    /// `DROP SCHEMA` without `CASCADE` refuses to drop a schema that still holds anything, and is
    /// not flagged.
    ///
    /// ## Example
    /// ```sql
    /// DROP SCHEMA reporting CASCADE;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// DROP SCHEMA reporting;
    /// ```
    ///
    /// after dropping the schema's objects one by one, each after the code that used it is gone.
    ///
    /// ## Locks
    /// `ACCESS EXCLUSIVE` on the schema and on every relation in it, and on the tables elsewhere
    /// that its tables reference or are referenced by and the views elsewhere that read them,
    /// all of which lose a trigger, a constraint or their existence.
    ///
    /// ## References
    /// - [DROP SCHEMA](https://www.postgresql.org/docs/current/sql-dropschema.html)
    /// - [DROP DATABASE](https://www.postgresql.org/docs/current/sql-dropdatabase.html)
    pub RULE = "drop-database-or-schema", Error, on, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    match cx.node() {
        N::DropdbStmt(stmt) => {
            if created_earlier(cx, |n| matches!(n, N::CreatedbStmt(c) if c.dbname == stmt.dbname)) {
                return;
            }
            let span = cx.find_tokens(&[Token::Drop, Token::Database]).unwrap_or(cx.stmt.span);
            out.push(cx.report(&RULE, span, &DropDatabase { database: stmt.dbname.clone() }));
        }
        N::DropStmt(stmt) if stmt.remove_type() == ObjectType::ObjectSchema => {
            if stmt.behavior() != pg::DropBehavior::DropCascade {
                return;
            }
            let span = cx.find_tokens(&[Token::Drop, Token::Schema]).unwrap_or(cx.stmt.span);
            for object in &stmt.objects {
                let Some(N::String(name)) = &object.node else { continue };
                let name = &name.sval;
                if created_earlier(cx, |n| matches!(n, N::CreateSchemaStmt(c) if &c.schemaname == name)) {
                    continue;
                }
                let lock = cx
                    .effects()
                    .schema_contents
                    .iter()
                    .find(|s| &s.schema == name)
                    .map_or(LockMode::AccessExclusive, |s| s.mode);
                out.push(cx.report(&RULE, span, &DropSchema { schema: name.clone(), lock }));
            }
        }
        _ => {}
    }
}

struct DropDatabase {
    database: String,
}

impl Violation for DropDatabase {
    fn message(&self) -> String {
        format!("`DROP DATABASE` deletes `{}` and all its data, which no rollback brings back", self.database)
    }

    fn help(&self) -> Option<String> {
        Some("drop databases by hand, outside the migrations, after a backup".into())
    }
}

struct DropSchema {
    schema: String,
    /// The lock on each table in it.
    lock: LockMode,
}

impl Violation for DropSchema {
    fn message(&self) -> String {
        format!(
            "`DROP SCHEMA … CASCADE` deletes every table in `{}` and its data, each under an `{}` lock that {}",
            self.schema,
            self.lock.sql_name(),
            self.lock.blocks_phrase()
        )
    }

    fn help(&self) -> Option<String> {
        Some("drop the schema's objects one by one once unused, then the empty schema without `CASCADE`".into())
    }
}

fn created_earlier(cx: &StatementCx<'_, '_>, is_creation: impl Fn(&N) -> bool) -> bool {
    cx.file.statements[..cx.index].iter().any(|s| is_creation(&s.node))
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, messages};

    const ID: &str = "drop-database-or-schema";

    #[test]
    fn flags_database_and_cascading_schema_drops() {
        assert_eq!(lines("SELECT 1;\nDROP DATABASE IF EXISTS app;", ID), vec![2]);
        assert_eq!(lines("DROP SCHEMA IF EXISTS a, b CASCADE;", ID), vec![1, 1]);
        assert_eq!(messages("DROP SCHEMA a, b CASCADE;", ID).len(), 2);
        assert_eq!(
            messages("DROP SCHEMA reporting CASCADE;", ID),
            vec!["`DROP SCHEMA … CASCADE` deletes every table in `reporting` and its data, each under an `ACCESS EXCLUSIVE` lock that blocks reads and writes"]
        );
    }

    #[test]
    fn restrict_and_new_objects_pass() {
        assert!(lines("DROP SCHEMA reporting;\nDROP SCHEMA reporting RESTRICT;", ID).is_empty());
        assert!(lines("CREATE SCHEMA tmp;\nDROP SCHEMA tmp CASCADE;", ID).is_empty());
        assert!(lines("CREATE DATABASE scratch;\nDROP DATABASE scratch;", ID).is_empty());
    }
}
