//! The SQL the phases are made of: sync triggers, keyset batches, the validated path to
//! `NOT NULL`. Every name is quoted where PostgreSQL needs it.

use crate::lock_model::catalog::ColumnType;
use crate::names::{quote_ident, RelationName};

/// The dollar quote of every function body and `DO` block the plan writes.
const QUOTE: &str = "$ddlint$";

/// `SET LOCAL lock_timeout` in a phase that runs in a transaction, `SET` otherwise.
pub fn lock_timeout(transaction: bool, value: &str) -> String {
    let set = if transaction { "SET LOCAL" } else { "SET" };
    format!("{set} lock_timeout = {}", literal(value))
}

/// `text` as an SQL string literal.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A name in `table`'s schema: where the plan's functions and constraints live.
pub fn beside(table: &RelationName, name: &str) -> RelationName {
    RelationName::new(table.schema.as_deref(), name)
}

/// A trigger function whose body is `body` (PL/pgSQL statements, before `RETURN NEW`).
pub fn trigger_function(function: &RelationName, body: &str) -> String {
    format!(
        "CREATE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS {QUOTE}\nBEGIN\n{body}    RETURN NEW;\nEND\n{QUOTE}",
        function.to_sql()
    )
}

/// A row trigger that runs `function` before every insert and update of `table`.
pub fn trigger(name: &str, table: &RelationName, function: &RelationName, pg_version: u32) -> String {
    row_trigger(name, "BEFORE INSERT OR UPDATE", table, function, pg_version)
}

/// A row trigger that runs `function` at `when` (`AFTER INSERT OR UPDATE OF a, b`) on `table`.
pub fn row_trigger(name: &str, when: &str, table: &RelationName, function: &RelationName, pg_version: u32) -> String {
    // `EXECUTE FUNCTION` from PostgreSQL 11; `PROCEDURE` still works everywhere.
    let keyword = if pg_version >= 11 { "FUNCTION" } else { "PROCEDURE" };
    format!(
        "CREATE TRIGGER {} {when} ON {} FOR EACH ROW EXECUTE {keyword} {}()",
        quote_ident(name),
        table.to_sql(),
        function.to_sql()
    )
}

pub fn drop_trigger(name: &str, table: &RelationName) -> String {
    format!("DROP TRIGGER {} ON {}", quote_ident(name), table.to_sql())
}

pub fn drop_function(function: &RelationName) -> String {
    format!("DROP FUNCTION {}()", function.to_sql())
}

/// How a batch changes its rows.
pub enum BatchWork<'a> {
    /// `UPDATE … SET <set>`, only on the rows where `pending` holds, so that a batch run again
    /// after a stop skips the rows it already wrote.
    Update {
        set: &'a str,
        pending: &'a str,
    },
    Delete,
    /// `INSERT INTO <into> (<columns>) SELECT <select> FROM` the table, skipping the rows that
    /// are there already (`ON CONFLICT (<key>) DO NOTHING`).
    Copy {
        into: &'a RelationName,
        columns: &'a str,
        select: &'a str,
        filter: &'a str,
        key: &'a str,
    },
}

/// A `DO` block that walks `table` in key order, `batch` rows at a time, and commits after
/// each batch. It must run alone and outside a transaction block (a `COMMIT` in `DO` needs
/// it); run again after a stop, it starts over and skips what is done.
pub fn batched(table: &RelationName, key: &str, work: &BatchWork<'_>, batch: u32, lock_timeout: &str) -> String {
    let t = table.to_sql();
    let k = quote_ident(key);
    let change = match work {
        BatchWork::Update { set, pending } => {
            format!("UPDATE {t} SET {set}\n            WHERE {k} BETWEEN lower_key AND upper_key AND ({pending});")
        }
        BatchWork::Delete => format!("DELETE FROM {t} WHERE {k} BETWEEN lower_key AND upper_key;"),
        BatchWork::Copy { into, columns, select, filter, key } => format!(
            "INSERT INTO {} ({columns})\n            SELECT {select} FROM {t} WHERE {k} BETWEEN lower_key AND upper_key AND ({filter})\n            ON CONFLICT ({}) DO NOTHING;",
            into.to_sql(),
            quote_ident(key)
        ),
    };
    format!(
        "DO {QUOTE}
DECLARE
    lower_key {t}.{k}%TYPE;
    upper_key {t}.{k}%TYPE;
BEGIN
    PERFORM set_config('lock_timeout', {timeout}, false);
    SELECT min({k}) INTO lower_key FROM {t};
    WHILE lower_key IS NOT NULL LOOP
        SELECT max({k}) INTO upper_key
            FROM (SELECT {k} FROM {t} WHERE {k} >= lower_key ORDER BY {k} LIMIT {batch}) AS batch;
        {change}
        COMMIT;
        SELECT min({k}) INTO lower_key FROM {t} WHERE {k} > upper_key;
    END LOOP;
END
{QUOTE}",
        timeout = literal(lock_timeout),
    )
}

/// The name of the `CHECK (column IS NOT NULL)` that proves a column before `SET NOT NULL`.
pub fn not_null_check_name(table: &RelationName, column: &str) -> String {
    crate::names::default_object_name(&table.name, &[column], "not_null")
}

/// The first step of the validated path to `NOT NULL`: a `CHECK` that new rows must pass at
/// once, and old rows only when it is validated.
pub fn add_not_null_check(table: &RelationName, column: &str) -> String {
    let c = quote_ident(column);
    format!(
        "ALTER TABLE {} ADD CONSTRAINT {} CHECK ({c} IS NOT NULL) NOT VALID",
        table.to_sql(),
        quote_ident(&not_null_check_name(table, column))
    )
}

/// The rest of the validated path, in a later transaction: validate the `CHECK` (a scan that
/// lets reads and writes go on), `SET NOT NULL` (which the valid `CHECK` spares a scan), and
/// drop the `CHECK`.
pub fn validate_not_null(table: &RelationName, column: &str) -> Vec<String> {
    let name = not_null_check_name(table, column);
    let (t, c, n) = (table.to_sql(), quote_ident(column), quote_ident(&name));
    vec![
        format!("ALTER TABLE {t} VALIDATE CONSTRAINT {n}"),
        format!("ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL"),
        format!("ALTER TABLE {t} DROP CONSTRAINT {n}"),
    ]
}

/// A type the catalog recorded, as SQL: `varchar(20)`, `int4[]`.
pub fn column_type(ty: &ColumnType) -> String {
    let mods: Vec<String> = ty.typmods.iter().map(i64::to_string).collect();
    let mods = if mods.is_empty() { String::new() } else { format!("({})", mods.join(", ")) };
    let array = if ty.array { "[]" } else { "" };
    format!("{}{mods}{array}", quote_ident(&ty.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pg_query::protobuf::node::Node as N;

    #[test]
    fn types_print_as_sql() {
        let parsed = crate::pg_ffi::parse("ALTER TABLE t ALTER COLUMN a TYPE varchar(20)[], ADD COLUMN b app.money")
            .expect("parses");
        let Some(N::AlterTableStmt(alter)) = parsed.stmts[0].stmt.as_ref().and_then(|s| s.node.as_ref()) else {
            panic!("not an ALTER TABLE")
        };
        let types: Vec<String> = crate::lock_model::alter_cmds(alter)
            .filter_map(|cmd| {
                crate::lock_model::column_def_of(cmd)?.type_name.as_ref().and_then(crate::parse::type_sql)
            })
            .collect();
        assert_eq!(types, vec!["varchar(20)[]", "app.money"]);
        let ty = ColumnType { name: "Weird".into(), typmods: vec![10, 2], array: false };
        assert_eq!(column_type(&ty), "\"Weird\"(10, 2)");
    }

    #[test]
    fn batches_walk_the_key_and_commit_each() {
        let table = RelationName::new(Some("app"), "users");
        let work = BatchWork::Update { set: "plan = 'free'", pending: "plan IS DISTINCT FROM 'free'" };
        let sql = batched(&table, "id", &work, 500, "2s");
        assert!(sql.contains("lower_key app.users.id%TYPE;"), "{sql}");
        assert!(sql.contains("LIMIT 500"), "{sql}");
        assert!(sql.contains("AND (plan IS DISTINCT FROM 'free');\n        COMMIT;"), "{sql}");
        assert!(crate::pg_ffi::parse(&sql).is_ok(), "{sql}");
        assert_eq!(lock_timeout(true, "2s"), "SET LOCAL lock_timeout = '2s'");
    }
}
