use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lock_model::alter_cmds;
use crate::locks::LockMode;
use crate::names::RelationName;
use crate::violation::{Certainty, HeldLock, Objects, Violation};
use pg_query::protobuf::{self as pg, node::Node as N, AlterTableType as At};

declare_rule! {
    /// ## What it does
    /// Flags `ALTER TABLE` subcommands that copy an existing table into new storage:
    /// `SET LOGGED`, `SET UNLOGGED`, `SET TABLESPACE` and `SET ACCESS METHOD`, `SET EXPRESSION`
    /// on a stored generated column (PostgreSQL 17 and later), and `ADD COLUMN` of a domain
    /// type with constraints, which PostgreSQL checks by rewriting every row, with a default or
    /// without (a type the history does not know may be such a domain: "may rewrite"; built-in
    /// types and the base types of common extensions such as `citext`, PostGIS and pgvector
    /// are not). A column's volatile default, and serial, identity and stored generated columns,
    /// have rules of their own: `add-column-volatile-default` and `add-generated-column`.
    ///
    /// ## Why is this bad?
    /// Each of them writes the whole table while holding an `ACCESS EXCLUSIVE` lock, which blocks
    /// every read and write of the table until the copy is done; all but `SET TABLESPACE` also
    /// rebuild its indexes. On a large table that is minutes of downtime. `SET LOGGED` also writes the whole table
    /// to the WAL, which replicas must replay.
    ///
    /// ## Example
    /// ```sql
    /// ALTER TABLE events SET TABLESPACE fast_ssd;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// CREATE TABLE events_new (LIKE events INCLUDING ALL) TABLESPACE fast_ssd;
    /// ```
    ///
    /// then copy the rows over in batches, keep them in step with a trigger, and swap the names
    /// in a short transaction. A tool such as `pg_repack` does the same online, or the change
    /// can wait for a maintenance window. Tables created earlier in the same file are not flagged.
    ///
    /// ## Locks
    /// `ACCESS EXCLUSIVE` on the table for the whole copy. `ALTER INDEX … SET TABLESPACE` and
    /// `ALTER MATERIALIZED VIEW … SET TABLESPACE` copy the relation under the same lock.
    ///
    /// ## PostgreSQL versions
    /// `SET ACCESS METHOD` exists from PostgreSQL 15; setting a table's own access method again
    /// does nothing and is not flagged when the file shows it.
    ///
    /// ## References
    /// - [ALTER TABLE](https://www.postgresql.org/docs/current/sql-altertable.html)
    pub RULE = "table-rewrite", Warning, on, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    let N::AlterTableStmt(stmt) = cx.node() else { return };
    let Some(rv) = &stmt.relation else { return };
    let table = RelationName::from_range_var(rv);
    if cx.is_new(&table) {
        return;
    }
    let cmds: Vec<&pg::AlterTableCmd> = alter_cmds(stmt).collect();
    let spans = cx.alter_cmd_spans(rv.location, cmds.len());
    for (i, cmd) in cmds.iter().enumerate() {
        let (what, help) = match cmd.subtype() {
            At::AtSetLogged => ("SET LOGGED", COPY_AND_SWAP),
            At::AtSetUnLogged => ("SET UNLOGGED", COPY_AND_SWAP),
            At::AtSetTableSpace => ("SET TABLESPACE", "move it online with `pg_repack`, or in a maintenance window"),
            At::AtSetAccessMethod => ("SET ACCESS METHOD", COPY_AND_SWAP),
            At::AtSetExpression => ("SET EXPRESSION", NEW_GENERATED_COLUMN),
            At::AtAddColumn => ("ADD COLUMN", DOMAIN_COLUMN),
            _ => continue,
        };
        // Other subcommands of the statement may rewrite too; this one is judged on its own.
        let own;
        let effects = match cmd.subtype() {
            At::AtAddColumn => {
                let Some(bare) = type_of_added_column(cmd) else { continue };
                own = cx.alter_cmd_effects(&bare);
                &own
            }
            At::AtSetExpression => {
                own = cx.alter_cmd_effects(cmd);
                &own
            }
            _ => cx.effects(),
        };
        let certain = effects.rewrites.iter().any(|r| r.same_as(&table));
        let maybe = effects.may_rewrite.iter().any(|r| r.same_as(&table));
        let rewrite = match (certain, maybe) {
            (true, _) => Certainty::Certain,
            (false, true) => Certainty::Possible,
            (false, false) => continue,
        };
        let lock = HeldLock::new(cx.lock_on(&table).unwrap_or(LockMode::AccessExclusive), &table);
        let span = spans.as_ref().map_or(cx.stmt.span, |s| s[i]);
        out.push(cx.report(&RULE, span, &Rewrite { what, help, lock, rewrite }));
    }
}

struct Rewrite {
    /// The subcommand, as its keywords: `SET LOGGED`.
    what: &'static str,
    help: &'static str,
    lock: HeldLock,
    rewrite: Certainty,
}

impl Violation for Rewrite {
    fn message(&self) -> String {
        let verb = self.rewrite.verb("rewrites", "may rewrite");
        format!("`{}` {verb} `{}` while holding {}", self.what, self.lock.relation, self.lock)
    }

    fn help(&self) -> Option<String> {
        Some(self.help.into())
    }

    fn objects(&self) -> Objects {
        Objects::relation(&self.lock.relation)
    }
}

const COPY_AND_SWAP: &str = "copy into a new table in batches and swap the names, or schedule downtime";
const NEW_GENERATED_COLUMN: &str =
    "add a new generated column with the new expression, move the readers to it, then drop the old one";
const DOMAIN_COLUMN: &str = "add the column with the domain's base type, add its check as a `CHECK … NOT VALID` constraint, validate it in a later transaction, and change the type in a quiet period";

/// An `ADD COLUMN` whose type may itself rewrite the table (a domain with constraints, or a
/// type the history does not know), with the subcommand as the lock model should judge the
/// type alone: without its default, which `add-column-volatile-default` judges. Serial,
/// identity and generated columns are `add-generated-column`'s.
fn type_of_added_column(cmd: &pg::AlterTableCmd) -> Option<pg::AlterTableCmd> {
    use crate::lock_model::{catalog::column_type, column_constraints, column_def_of, exprs};
    use pg_query::protobuf::ConstrType;
    let column = column_def_of(cmd)?;
    let ty = column.type_name.as_ref().map(column_type)?;
    if exprs::is_base_type(&ty) || exprs::is_serial(&ty) {
        return None;
    }
    if column_constraints(column)
        .any(|c| matches!(c.contype(), ConstrType::ConstrGenerated | ConstrType::ConstrIdentity))
        || !column.identity.is_empty()
    {
        return None;
    }
    let mut bare = column.clone();
    bare.raw_default = None;
    bare.constraints.retain(|c| !matches!(&c.node, Some(N::Constraint(c)) if c.contype() == ConstrType::ConstrDefault));
    let mut cmd = cmd.clone();
    cmd.def = Some(Box::new(pg::Node { node: Some(N::ColumnDef(Box::new(bare))) }));
    Some(cmd)
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, messages};

    const ID: &str = "table-rewrite";

    #[test]
    fn a_serial_column_is_add_generated_columns_and_a_default_spares_no_domain() {
        assert!(lines("ALTER TABLE t ADD COLUMN id serial;", ID).is_empty());
        assert!(lines("ALTER TABLE t ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;", ID).is_empty());
        let domain = "CREATE DOMAIN posint AS int CHECK (VALUE > 0);\n";
        assert_eq!(lines(&format!("{domain}ALTER TABLE t ADD COLUMN x posint DEFAULT 1;"), ID), vec![2]);
        assert!(lines("ALTER TABLE t ADD COLUMN c citext DEFAULT 'x';", ID).is_empty());
    }

    #[test]
    fn flags_each_rewriting_subcommand() {
        assert_eq!(lines("ALTER TABLE t SET LOGGED;", ID), vec![1]);
        assert_eq!(lines("SELECT 1;\nALTER TABLE t SET UNLOGGED;", ID), vec![2]);
        assert_eq!(lines("ALTER TABLE t\n  ADD COLUMN a int,\n  SET TABLESPACE ssd;", ID), vec![3]);
        assert_eq!(lines("ALTER TABLE t SET ACCESS METHOD columnar;", ID), vec![1]);
        assert_eq!(lines("ALTER INDEX i SET TABLESPACE ssd;", ID), vec![1]);
    }

    #[test]
    fn names_the_lock() {
        assert_eq!(
            messages("ALTER TABLE t SET LOGGED;", ID),
            vec!["`SET LOGGED` rewrites `t` while holding an `ACCESS EXCLUSIVE` lock on `t` that blocks reads and writes"]
        );
        assert_eq!(
            messages("ALTER TABLE t SET ACCESS METHOD columnar;", ID),
            vec!["`SET ACCESS METHOD` may rewrite `t` while holding an `ACCESS EXCLUSIVE` lock on `t` that blocks reads and writes"]
        );
        assert_eq!(
            messages("ALTER TABLE t SET TABLESPACE ssd;\nALTER TABLE t SET TABLESPACE pg_default;", ID),
            vec![
                "`SET TABLESPACE` rewrites `t` while holding an `ACCESS EXCLUSIVE` lock on `t` that blocks reads and writes",
                "`SET TABLESPACE` may rewrite `t` while holding an `ACCESS EXCLUSIVE` lock on `t` that blocks reads and writes",
            ]
        );
    }

    #[test]
    fn columns_of_a_checked_domain_and_new_expressions_rewrite() {
        let domain = "CREATE DOMAIN positive AS int CHECK (VALUE > 0);\nALTER TABLE t ADD COLUMN p positive;";
        assert_eq!(lines(domain, ID), vec![2]);
        assert!(lines("CREATE DOMAIN plain AS int;\nALTER TABLE t ADD COLUMN p plain;", ID).is_empty());
        assert!(lines("ALTER TABLE t ADD COLUMN p int;", ID).is_empty());
        let pg17 = crate::settings::Settings { pg_version: 17, ..Default::default() };
        let expression = "ALTER TABLE t ALTER COLUMN b SET EXPRESSION AS (a * 3);";
        assert_eq!(crate::rules::test_support::lines_with(expression, ID, &pg17), vec![1]);
    }

    #[test]
    fn new_tables_and_light_options_pass() {
        assert!(lines("CREATE TABLE t (a int);\nALTER TABLE t SET LOGGED;", ID).is_empty());
        assert!(lines("CREATE UNLOGGED TABLE t (a int);\nALTER TABLE t SET TABLESPACE ssd;", ID).is_empty());
        assert!(lines("ALTER TABLE t SET (fillfactor = 70);", ID).is_empty());
    }
}
