use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lock_model::alter_cmds;
use crate::lock_model::catalog::{collation_of, column_type, ColumnType};
use crate::names::RelationName;
use crate::violation::{HeldLock, Objects, PhasedChange, TableEffect, Violation};
use pg_query::protobuf::{self as pg, node::Node as N, AlterTableType};

declare_rule! {
    /// ## What it does
    /// Flags `ALTER TABLE … ALTER COLUMN … TYPE` that rewrites or scans a table that this
    /// migration did not create, including a new `COLLATE` for the same type, which keeps the
    /// table but rebuilds every index on the column.
    ///
    /// ## Why is this bad?
    /// Most type changes convert every stored value: PostgreSQL rewrites the whole table and
    /// rebuilds its indexes while it holds an `ACCESS EXCLUSIVE` lock that blocks reads and
    /// writes.
    /// Only a change that keeps the stored bytes is a brief catalog update: `varchar(n)` to a
    /// longer `varchar` or to `text`, `numeric(p, s)` to a higher precision at the same scale,
    /// dropping a length limit.
    /// When the migration does not show the column's current type, ddlint cannot tell the two
    /// apart and reports that the change may rewrite.
    ///
    /// ## Example
    /// ```sql
    /// ALTER TABLE orders ALTER COLUMN quantity TYPE bigint;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// SET lock_timeout = '2s';
    /// ALTER TABLE orders ADD COLUMN quantity_big bigint;
    /// ```
    ///
    /// Keep the new column in step with the old one for new writes (a trigger, or the
    /// application), backfill the existing rows in batches, each in its own transaction, move
    /// readers to the new column, and drop the old one in a later migration.
    ///
    /// ## Locks
    /// `ACCESS EXCLUSIVE` on the table, held while every row is rewritten and every index
    /// rebuilt.
    ///
    /// ## PostgreSQL versions
    /// From PostgreSQL 12, `timestamp` to `timestamptz` (or back) keeps the stored bytes when
    /// the session time zone is UTC; ddlint reports it as one that may rewrite.
    ///
    /// ## References
    /// - [ALTER TABLE: Notes](https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES)
    pub RULE = "alter-column-type", Warning, on, Some(check);
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
        if cmd.subtype() != AlterTableType::AtAlterColumnType {
            continue;
        }
        let effects = cx.alter_cmd_effects(cmd);
        let Some(effect) = TableEffect::of(&effects) else { continue };
        let (new, collation) = match cmd.def.as_deref().and_then(|d| d.node.as_ref()) {
            Some(N::ColumnDef(col)) => (col.type_name.as_ref().map(column_type), collation_of(col)),
            _ => (None, None),
        };
        let old = cx.with_catalog(|catalog| catalog.column_type_of(&table, &cmd.name));
        // The same type in a new collation: only the column's indexes are rebuilt.
        let collation = collation.filter(|_| old.is_some() && old == new);
        let violation = TypeChange {
            lock: HeldLock::new(cx.cmd_lock_on(&table, cmd), &table),
            column: cmd.name.clone(),
            old,
            new,
            collation,
            effect,
        };
        let span = spans.as_ref().map_or(cx.stmt.span, |s| s[i]);
        out.push(cx.report(&RULE, span, &violation));
    }
}

struct TypeChange {
    lock: HeldLock,
    column: String,
    /// The type the history records, where it does.
    old: Option<ColumnType>,
    new: Option<ColumnType>,
    /// A new collation for the same type, which rebuilds the column's indexes.
    collation: Option<String>,
    effect: TableEffect,
}

impl Violation for TypeChange {
    fn message(&self) -> String {
        let column = &self.column;
        if let Some(collation) = &self.collation {
            return format!(
                "changing the collation of `{column}` to `{collation}` rebuilds its indexes, which {} `{}` while holding {}",
                self.effect.verb(),
                self.lock.relation,
                self.lock
            );
        }
        let change = match (&self.old, &self.new) {
            (Some(old), Some(new)) => format!("changing `{column}` from `{}` to `{}`", show(old), show(new)),
            (None, Some(new)) => format!("changing `{column}` to `{}`", show(new)),
            _ => format!("changing the type of `{column}`"),
        };
        format!("{change} {} `{}` while holding {}", self.effect.verb(), self.lock.relation, self.lock)
    }

    fn help(&self) -> Option<String> {
        if self.collation.is_some() {
            return Some(
                "if only queries need the collation, build an index on `(column COLLATE …)` `CONCURRENTLY` instead; \
                 otherwise add a column in the new collation, backfill and index it concurrently, then switch over"
                    .into(),
            );
        }
        Some(if self.effect.is_certain() {
            "add a column of the new type, backfill it in batches, switch readers over, then drop the old column later"
        } else {
            "unless the change keeps the stored bytes (`varchar` to `text`), add a new column, backfill it in batches, then switch over"
        }
        .into())
    }

    fn objects(&self) -> Objects {
        Objects::column(&self.lock.relation, &self.column)
    }

    fn phased(&self) -> Option<PhasedChange> {
        // The plan's type change writes no collation.
        self.collation.is_none().then_some(PhasedChange::ChangeColumnType)
    }
}

/// A type as people write it: `integer`, `varchar(20)`, `text[]`.
fn show(ty: &ColumnType) -> String {
    let name = match ty.name.as_str() {
        "int2" => "smallint",
        "int4" => "integer",
        "int8" => "bigint",
        "float4" => "real",
        "float8" => "double precision",
        "bool" => "boolean",
        "bpchar" => "char",
        other => other,
    };
    let mods: Vec<String> = ty.typmods.iter().map(i64::to_string).collect();
    let mods = if mods.is_empty() { String::new() } else { format!("({})", mods.join(", ")) };
    let array = if ty.array { "[]" } else { "" };
    format!("{name}{mods}{array}")
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, lines_with, messages};
    use crate::settings::Settings;

    const ID: &str = "alter-column-type";

    #[test]
    fn a_new_collation_rebuilds_the_columns_indexes() {
        use crate::rules::test_support::lint_after;
        let history = "CREATE TABLE users (id int PRIMARY KEY, name text, nick text, code text UNIQUE);\n\
                       CREATE INDEX users_name_idx ON users (name);";
        let found = |sql: &str| -> Vec<String> {
            lint_after(history, sql).diagnostics.into_iter().filter(|d| d.rule == ID).map(|d| d.message).collect()
        };
        let indexed = found("ALTER TABLE users ALTER COLUMN name TYPE text COLLATE \"C\";");
        assert_eq!(indexed.len(), 1);
        assert!(indexed[0].starts_with("changing the collation of `name` to `C` rebuilds its indexes, which scans"));
        assert_eq!(found("ALTER TABLE users ALTER COLUMN code TYPE text COLLATE \"C\";").len(), 1);
        assert!(found("ALTER TABLE users ALTER COLUMN nick TYPE text COLLATE \"C\";").is_empty());
        // The collation it has already changes nothing.
        let twice = "ALTER TABLE users ALTER COLUMN name TYPE text COLLATE \"C\";\n\
                     ALTER TABLE users ALTER COLUMN name TYPE text COLLATE \"C\";";
        assert_eq!(found(twice).len(), 1);
    }

    #[test]
    fn unknown_old_type_may_rewrite() {
        assert_eq!(lines("ALTER TABLE users ALTER COLUMN email TYPE text;", ID), vec![1]);
        assert_eq!(
            messages("ALTER TABLE users ALTER COLUMN n TYPE bigint;", ID),
            vec![
                "changing `n` to `bigint` may rewrite `users` while holding an `ACCESS EXCLUSIVE` lock on `users` \
                 that blocks reads and writes"
            ]
        );
        assert_eq!(
            lines("ALTER TABLE users\n  ALTER COLUMN a SET DEFAULT 1,\n  ALTER COLUMN b TYPE int8;", ID),
            vec![3]
        );
    }

    #[test]
    fn using_an_expression_rewrites() {
        assert_eq!(
            messages("ALTER TABLE users ALTER COLUMN n TYPE int USING n::text::int + 1;", ID),
            vec![
                "changing `n` to `integer` rewrites `users` while holding an `ACCESS EXCLUSIVE` lock on `users` \
                 that blocks reads and writes"
            ]
        );
    }

    /// Types come from the catalog, which knows the tables the file made; a table made in an
    /// up section exists, with rows, when its down section runs.
    fn known(old: &str, new: &str) -> Vec<String> {
        let sql = format!(
            "-- migrate:up\nCREATE TABLE users (c {old});\n-- migrate:down\nALTER TABLE users ALTER COLUMN c TYPE {new};\n"
        );
        let report = crate::lint_file("db/migrations/1_x.sql", sql.as_bytes(), &Settings::default());
        report.diagnostics.into_iter().filter(|d| d.rule == ID).map(|d| d.message).collect()
    }

    #[test]
    fn known_old_types_are_named_and_binary_coercible_changes_pass() {
        assert_eq!(
            known("int4", "int8"),
            vec![
                "changing `c` from `integer` to `bigint` rewrites `users` while holding an `ACCESS EXCLUSIVE` lock on \
                 `users` that blocks reads and writes"
            ]
        );
        assert_eq!(known("varchar(20)", "varchar(10)").len(), 1);
        assert!(known("varchar(20)", "varchar(40)").is_empty());
        assert!(known("varchar(20)", "text").is_empty());
        assert!(known("numeric(10, 2)", "numeric(12, 2)").is_empty());
        assert_eq!(known("numeric(10, 2)", "numeric(12, 4)").len(), 1);
    }

    #[test]
    fn new_tables_pass() {
        assert!(lines("CREATE TABLE users (n int);\nALTER TABLE users ALTER COLUMN n TYPE bigint;", ID).is_empty());
        let pg11 = Settings { pg_version: 11, ..Settings::default() };
        assert!(lines_with("CREATE TABLE u (n int);\nALTER TABLE u ALTER n TYPE text;", ID, &pg11).is_empty());
    }
}
