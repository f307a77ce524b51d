use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lock_model::catalog::{Catalog, Volatility};
use crate::lock_model::{alter_cmds, column_constraints, column_def_of, exprs};
use crate::names::{string_value, RelationName};
use crate::violation::{Certainty, HeldLock, Objects, Violation};
use pg_query::protobuf::{self as pg, node::Node as N, AlterTableType, ConstrType};

declare_rule! {
    /// ## What it does
    /// Flags `ALTER TABLE … ADD COLUMN … DEFAULT` with a volatile default, such as `random()`,
    /// `gen_random_uuid()`, `clock_timestamp()` or `nextval(…)`, on a table that this migration
    /// did not create.
    ///
    /// ## Why is this bad?
    /// A volatile default has to be computed for every existing row, so PostgreSQL rewrites the
    /// whole table, and rebuilds its indexes, while it holds an `ACCESS EXCLUSIVE` lock that
    /// blocks reads and writes.
    /// A constant or stable default (`0`, `'active'`, `now()`) is instead stored once in the
    /// catalog and costs no rewrite from PostgreSQL 11 on.
    ///
    /// ## Example
    /// ```sql
    /// ALTER TABLE users ADD COLUMN public_id uuid DEFAULT gen_random_uuid();
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// SET lock_timeout = '2s';
    /// ALTER TABLE users ADD COLUMN public_id uuid;
    /// ALTER TABLE users ALTER COLUMN public_id SET DEFAULT gen_random_uuid();
    /// ```
    ///
    /// `SET DEFAULT` applies to new rows only and does not touch the table.
    /// Then fill the existing rows in batches, each in its own transaction
    /// (`UPDATE users SET public_id = gen_random_uuid() WHERE id BETWEEN … AND … AND public_id IS NULL`),
    /// and add `NOT NULL` afterwards if the column needs it (see `set-not-null`).
    ///
    /// A default that calls a function ddlint does not know, and that the migration did not
    /// create, is reported as one that may rewrite.
    ///
    /// ## Locks
    /// `ACCESS EXCLUSIVE` on the table, held while every row is rewritten.
    ///
    /// ## PostgreSQL versions
    /// Before PostgreSQL 11 every non-null default rewrote the table; from 11 on only volatile
    /// ones do.
    ///
    /// ## References
    /// - [ALTER TABLE: Notes](https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES)
    pub RULE = "add-column-volatile-default", Warning, on, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    let N::AlterTableStmt(stmt) = cx.node() else { return };
    let Some(rv) = &stmt.relation else { return };
    let table = RelationName::from_range_var(rv);
    if cx.is_new(&table) {
        return;
    }
    for cmd in alter_cmds(stmt) {
        if cmd.subtype() != AlterTableType::AtAddColumn {
            continue;
        }
        let Some(col) = column_def_of(cmd) else { continue };
        let Some(default) = default_of(col) else { continue };
        let cause = cx.with_catalog(|catalog| Cause::of(default, catalog, cx.pg_version()));
        let Some(cause) = cause else { continue };
        let effects = cx.alter_cmd_effects(cmd);
        let Some(rewrite) = Certainty::of(&effects.rewrites, &effects.may_rewrite) else { continue };
        let lock = HeldLock::new(cx.cmd_lock_on(&table, cmd), &table);
        let violation = RewritingDefault { lock, column: col.colname.clone(), cause, rewrite };
        out.push(cx.report(&RULE, cx.item_span_at(col.location), &violation));
    }
}

struct RewritingDefault {
    lock: HeldLock,
    column: String,
    cause: Cause,
    rewrite: Certainty,
}

impl Violation for RewritingDefault {
    fn message(&self) -> String {
        let Self { lock, column, cause, rewrite } = self;
        let rewrites = rewrite.verb("rewrites", "may rewrite");
        let table = &lock.relation;
        match cause {
            Cause::Volatile(call) => {
                format!("adding `{column}` with the volatile default `{call}` {rewrites} `{table}` while holding {lock}")
            }
            Cause::Unknown(Some(call)) => format!(
                "adding `{column}` with a default that calls `{call}`, of unknown volatility, {rewrites} `{table}` while holding {lock}"
            ),
            Cause::Unknown(None) => format!(
                "adding `{column}` with a default of unknown volatility {rewrites} `{table}` while holding {lock}"
            ),
            Cause::BeforeFastDefaults => format!(
                "adding `{column}` with a default {rewrites} `{table}` before PostgreSQL 11, while holding {lock}"
            ),
        }
    }

    fn help(&self) -> Option<String> {
        Some("add the column without a default, `SET DEFAULT` in a separate statement, then backfill existing rows in batches".into())
    }

    fn objects(&self) -> Objects {
        Objects::column(&self.lock.relation, &self.column)
    }
}

/// Why a default makes `ADD COLUMN` rewrite the table.
enum Cause {
    /// The default calls a volatile function, shown as written: `gen_random_uuid()`.
    Volatile(String),
    /// The default calls a function, or uses an expression, the model cannot judge.
    Unknown(Option<String>),
    /// Before PostgreSQL 11 every non-null default is written into each row.
    BeforeFastDefaults,
}

impl Cause {
    fn of(default: &pg::Node, catalog: &Catalog, pg_version: u32) -> Option<Self> {
        match exprs::volatility(default, catalog, pg_version) {
            Some(Volatility::Volatile) => {
                Some(Cause::Volatile(first_call(default, catalog, pg_version, Some(Volatility::Volatile))?))
            }
            None => Some(Cause::Unknown(first_call(default, catalog, pg_version, None))),
            Some(_) if pg_version < 11 => Some(Cause::BeforeFastDefaults),
            Some(_) => None,
        }
    }
}

/// The column's default expression, unless it is `DEFAULT NULL`.
fn default_of(col: &pg::ColumnDef) -> Option<&pg::Node> {
    let default = col.raw_default.as_deref().or_else(|| {
        column_constraints(col).find(|c| c.contype() == ConstrType::ConstrDefault).and_then(|c| c.raw_expr.as_deref())
    })?;
    let is_null = matches!(&default.node, Some(N::AConst(c)) if c.isnull);
    (!is_null).then_some(default)
}

/// The first function call in `expr` whose own volatility (its arguments aside) is
/// `wanted`, or unknown for `None`, as `name()` or `name(…)`.
fn first_call(expr: &pg::Node, catalog: &Catalog, pg_version: u32, wanted: Option<Volatility>) -> Option<String> {
    // Bounded, so that machine-made expressions cannot make this slow.
    const MAX_NODES: usize = 1000;
    let mut stack = vec![expr];
    let mut visited = 0;
    while let Some(node) = stack.pop() {
        visited += 1;
        if visited > MAX_NODES {
            return None;
        }
        let Some(inner) = &node.node else { continue };
        match inner {
            N::FuncCall(call) => {
                let bare = pg::Node {
                    node: Some(N::FuncCall(Box::new(pg::FuncCall { args: Vec::new(), ..(**call).clone() }))),
                };
                if exprs::volatility(&bare, catalog, pg_version) == wanted {
                    let name = call.funcname.iter().rev().find_map(string_value)?;
                    let args = if call.args.is_empty() { "" } else { "…" };
                    return Some(format!("{name}({args})"));
                }
                stack.extend(call.args.iter().rev());
            }
            N::TypeCast(c) => stack.extend(c.arg.as_deref()),
            N::CollateClause(c) => stack.extend(c.arg.as_deref()),
            N::AExpr(e) => stack.extend(e.rexpr.as_deref().into_iter().chain(e.lexpr.as_deref())),
            N::BoolExpr(e) => stack.extend(e.args.iter().rev()),
            N::CoalesceExpr(e) => stack.extend(e.args.iter().rev()),
            N::MinMaxExpr(e) => stack.extend(e.args.iter().rev()),
            N::AArrayExpr(e) => stack.extend(e.elements.iter().rev()),
            N::RowExpr(e) => stack.extend(e.args.iter().rev()),
            N::NullTest(t) => stack.extend(t.arg.as_deref()),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, lines_with, messages};
    use crate::settings::Settings;

    const ID: &str = "add-column-volatile-default";

    #[test]
    fn flags_volatile_defaults() {
        for default in ["random()", "gen_random_uuid()", "clock_timestamp()", "nextval('s')", "uuid_generate_v4()"] {
            let sql = format!("ALTER TABLE users ADD COLUMN c text DEFAULT {default};");
            assert_eq!(lines(&sql, ID), vec![1], "{default}");
        }
        assert_eq!(
            lines("ALTER TABLE users\n  ADD COLUMN a int,\n  ADD COLUMN b float8 DEFAULT random() * 10;", ID),
            vec![3]
        );
        assert_eq!(
            messages("ALTER TABLE users ADD COLUMN public_id uuid DEFAULT gen_random_uuid();", ID),
            vec![
                "adding `public_id` with the volatile default `gen_random_uuid()` rewrites `users` while holding an \
                 `ACCESS EXCLUSIVE` lock on `users` that blocks reads and writes"
            ]
        );
        assert_eq!(
            messages("ALTER TABLE t ADD COLUMN n bigint DEFAULT nextval('t_n_seq'::regclass);", ID),
            vec![
                "adding `n` with the volatile default `nextval(…)` rewrites `t` while holding an `ACCESS EXCLUSIVE` \
                 lock on `t` that blocks reads and writes"
            ]
        );
    }

    #[test]
    fn constant_and_stable_defaults_pass_from_pg11() {
        for default in ["0", "'active'", "now()", "CURRENT_TIMESTAMP", "NULL", "'{}'::jsonb", "lower('A')"] {
            let sql = format!("ALTER TABLE users ADD COLUMN c text DEFAULT {default};");
            assert!(lines(&sql, ID).is_empty(), "{default}");
        }
        assert!(lines("ALTER TABLE users ADD COLUMN c uuid;", ID).is_empty());
    }

    #[test]
    fn unknown_functions_may_rewrite() {
        assert_eq!(
            messages("ALTER TABLE users ADD COLUMN c text DEFAULT my_func(1);", ID),
            vec![
                "adding `c` with a default that calls `my_func(…)`, of unknown volatility, may rewrite `users` while \
                 holding an `ACCESS EXCLUSIVE` lock on `users` that blocks reads and writes"
            ]
        );
        // A function the file declared is judged by its declaration.
        let stable = "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN 1; END $$;\n\
                      ALTER TABLE users ADD COLUMN c int DEFAULT f();";
        assert!(lines(stable, ID).is_empty());
        let volatile = "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;\n\
                        ALTER TABLE users ADD COLUMN c int DEFAULT f();";
        assert_eq!(lines(volatile, ID), vec![2]);
    }

    #[test]
    fn new_tables_pass() {
        let sql = "CREATE TABLE users (id int);\nALTER TABLE users ADD COLUMN c uuid DEFAULT gen_random_uuid();";
        assert!(lines(sql, ID).is_empty());
    }

    #[test]
    fn any_default_rewrote_before_pg11() {
        // Settings validation keeps users on PostgreSQL 11 and later; the model still answers
        // for older versions.
        let pg10 = Settings { pg_version: 10, ..Settings::default() };
        assert_eq!(lines_with("ALTER TABLE users ADD COLUMN c int DEFAULT 0;", ID, &pg10), vec![1]);
        assert!(lines_with("ALTER TABLE users ADD COLUMN c int DEFAULT NULL;", ID, &pg10).is_empty());
    }
}
