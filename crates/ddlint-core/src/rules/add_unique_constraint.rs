use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::fix::{self, Applicability, Fix, Needs, Proposal, Step};
use crate::lock_model::{alter_cmds, column_constraints, column_def_of, constraint_of};
use crate::names::{default_object_name, quote_ident, string_value, RelationName};
use crate::violation::{HeldLock, Objects, Violation};
use pg_query::protobuf::{self as pg, node::Node as N, AlterTableType, ConstrType};

declare_rule! {
    /// ## What it does
    /// Flags `ADD CONSTRAINT … UNIQUE` and `ADD CONSTRAINT … PRIMARY KEY` (and `ADD COLUMN …
    /// UNIQUE` or `PRIMARY KEY`) that build their index while altering a table that this
    /// migration did not create, rather than attach one built beforehand with `USING INDEX`.
    ///
    /// ## Why is this bad?
    /// The constraint's index is built by reading the whole table, and the build runs under
    /// the `ACCESS EXCLUSIVE` lock of `ALTER TABLE`, which blocks reads and writes until it is
    /// done.
    ///
    /// ## Example
    /// ```sql
    /// ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);
    /// SET lock_timeout = '2s';
    /// ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;
    /// ```
    ///
    /// `CREATE INDEX CONCURRENTLY` builds the index under a `SHARE UPDATE EXCLUSIVE` lock,
    /// which lets reads and writes go on; it cannot run inside a transaction block, so give it
    /// a migration of its own. Attaching the finished index is a catalog change.
    /// For a primary key, make the columns `NOT NULL` first (see `set-not-null`), or
    /// `ADD PRIMARY KEY USING INDEX` scans the table to check them.
    ///
    /// ## Locks
    /// `ACCESS EXCLUSIVE` on the table for the whole index build.
    ///
    /// ## Fix
    /// Writes the recipe above: `CREATE UNIQUE INDEX CONCURRENTLY` under the constraint's name (the
    /// one PostgreSQL would choose when the constraint has none), outside any transaction, then
    /// `ADD CONSTRAINT … USING INDEX` in a later transaction, under the configured `lock_timeout`.
    /// When the runner wraps the file in its transaction, both go to a new migration right after it
    /// (one per step for golang-migrate and Flyway), whose down migration drops them again. Offered
    /// for a constraint over plain columns that is its `ALTER TABLE`'s only subcommand, on a table
    /// not known to be partitioned (where `USING INDEX` is refused).
    ///
    /// ## Fix safety
    /// Unsafe: a concurrent build that fails on a duplicate value leaves an `INVALID` index
    /// behind, and the constraint is no longer added in the migration's transaction.
    ///
    /// ## References
    /// - [ALTER TABLE: ADD table_constraint_using_index](https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT-USING-INDEX)
    pub RULE = "add-unique-constraint", Warning, on, Some(check), fix = unsafe;
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    let N::AlterTableStmt(stmt) = cx.node() else { return };
    let Some(rv) = &stmt.relation else { return };
    let table = RelationName::from_range_var(rv);
    if cx.is_new(&table) {
        return;
    }
    for cmd in alter_cmds(stmt) {
        let (constraints, on_new_column): (Vec<&pg::Constraint>, bool) = match cmd.subtype() {
            AlterTableType::AtAddConstraint => (constraint_of(cmd).into_iter().collect(), false),
            AlterTableType::AtAddColumn => {
                (column_def_of(cmd).map(|c| column_constraints(c).collect()).unwrap_or_default(), true)
            }
            _ => continue,
        };
        if let Some(c) =
            constraints.iter().find(|c| c.contype() == ConstrType::ConstrPrimary && !c.indexname.is_empty())
        {
            primary_key_using_index(cx, &table, cmd, c, out);
            continue;
        }
        let builds: Vec<&pg::Constraint> = constraints
            .into_iter()
            .filter(|c| {
                matches!(c.contype(), ConstrType::ConstrUnique | ConstrType::ConstrPrimary) && c.indexname.is_empty()
            })
            .collect();
        if builds.is_empty() {
            continue;
        }
        let effects = cx.alter_cmd_effects(cmd);
        if effects.scans.is_empty() && effects.may_scan.is_empty() {
            continue;
        }
        let lock = HeldLock::new(cx.cmd_lock_on(&table, cmd), &table);
        for c in builds {
            let violation = UniqueIndexBuild {
                lock: lock.clone(),
                primary_key: c.contype() == ConstrType::ConstrPrimary,
                constraint: c.conname.clone(),
                on_new_column,
                partitioned: cx.is_partitioned(&table),
                without_overlaps: c.without_overlaps,
            };
            out.push(cx.report(&RULE, cx.item_span_at(c.location), &violation).with_fix(if on_new_column {
                Err("the constraint comes with a new column; add the column first".to_owned())
            } else {
                fix(cx, stmt, &table, c)
            }));
        }
    }
}

/// `ADD PRIMARY KEY USING INDEX` on columns that may hold `NULL`: PostgreSQL sets them
/// `NOT NULL` first, which scans the table under the `ALTER TABLE`'s lock.
fn primary_key_using_index(
    cx: &StatementCx<'_, '_>,
    table: &RelationName,
    cmd: &pg::AlterTableCmd,
    c: &pg::Constraint,
    out: &mut Vec<Diagnostic>,
) {
    let effects = cx.alter_cmd_effects(cmd);
    // Only when the history shows a nullable column: columns ddlint cannot see are most
    // often `NOT NULL` already, as a key's columns should be.
    if effects.scans.is_empty() {
        return;
    }
    let violation =
        PrimaryKeyScan { lock: HeldLock::new(cx.cmd_lock_on(table, cmd), table), index: c.indexname.clone() };
    out.push(
        cx.report(&RULE, cx.item_span_at(c.location), &violation)
            .with_fix(Err("the columns must be proven `NOT NULL` first; `set-not-null`'s fix writes that".to_owned())),
    );
}

/// `ADD UNIQUE` or `ADD PRIMARY KEY` that builds its index under the `ALTER TABLE`'s lock.
struct UniqueIndexBuild {
    lock: HeldLock,
    primary_key: bool,
    /// Empty when unnamed.
    constraint: String,
    on_new_column: bool,
    /// On a partitioned table, neither a concurrent build nor `USING INDEX` is allowed.
    partitioned: bool,
    /// `WITHOUT OVERLAPS` (PostgreSQL 18) is a GiST index no `CREATE UNIQUE INDEX` builds.
    without_overlaps: bool,
}

impl UniqueIndexBuild {
    fn keyword(&self) -> &'static str {
        if self.primary_key {
            "PRIMARY KEY"
        } else {
            "UNIQUE"
        }
    }
}

impl Violation for UniqueIndexBuild {
    fn message(&self) -> String {
        let keyword = self.keyword();
        let what = if self.constraint.is_empty() {
            format!("a `{keyword}` constraint")
        } else {
            format!("the `{keyword}` constraint `{}`", self.constraint)
        };
        format!("adding {what} builds its index on `{}` while holding {}", self.lock.relation, self.lock)
    }

    fn help(&self) -> Option<String> {
        let keyword = self.keyword();
        if self.without_overlaps {
            return Some(format!(
                "a `{keyword} … WITHOUT OVERLAPS` index cannot be built concurrently: declare it with the table, or add it in a quiet period"
            ));
        }
        if self.partitioned {
            return Some(format!(
                "build a unique index on each partition `CONCURRENTLY` first: `ADD {keyword}` on the partitioned table then attaches them instead of building"
            ));
        }
        Some(if self.on_new_column {
            format!(
                "add the column first, build the index with `CREATE UNIQUE INDEX CONCURRENTLY`, then `ADD {keyword} USING INDEX`"
            )
        } else {
            format!("build the index with `CREATE UNIQUE INDEX CONCURRENTLY`, then `ADD CONSTRAINT … {keyword} USING INDEX`")
        })
    }

    fn objects(&self) -> Objects {
        Objects::relation(&self.lock.relation).with_constraint(&self.constraint)
    }
}

/// `ADD PRIMARY KEY USING INDEX` that sets nullable columns `NOT NULL` with a scan.
struct PrimaryKeyScan {
    lock: HeldLock,
    index: String,
}

impl Violation for PrimaryKeyScan {
    fn message(&self) -> String {
        let table = &self.lock.relation;
        format!(
            "`ADD PRIMARY KEY USING INDEX` scans `{table}` to set its columns `NOT NULL` while holding {}",
            self.lock
        )
    }

    fn help(&self) -> Option<String> {
        Some("make the columns `NOT NULL` first, through a `CHECK … NOT VALID` validated in a later transaction (see `set-not-null`)".into())
    }

    fn objects(&self) -> Objects {
        let table = &self.lock.relation;
        Objects { index: Some(RelationName::new(table.schema.as_deref(), &self.index)), ..Objects::relation(table) }
    }
}

fn fix(
    cx: &StatementCx<'_, '_>,
    stmt: &pg::AlterTableStmt,
    table: &RelationName,
    c: &pg::Constraint,
) -> Result<Fix, String> {
    if stmt.cmds.len() != 1 {
        return Err("the `ALTER TABLE` has other subcommands; give the constraint a statement of its own".to_owned());
    }
    if cx.is_partitioned(table) {
        return Err(format!("`{table}` is partitioned, where `ADD CONSTRAINT … USING INDEX` is refused"));
    }
    let columns: Vec<&str> = c.keys.iter().filter_map(string_value).collect();
    if columns.len() != c.keys.len()
        || columns.is_empty()
        || !c.including.is_empty()
        || !c.options.is_empty()
        || !c.indexspace.is_empty()
        || c.without_overlaps
    {
        return Err("the constraint has options a unique index cannot take over as they are".to_owned());
    }
    let primary = c.contype() == ConstrType::ConstrPrimary;
    let name = match (c.conname.as_str(), primary) {
        ("", true) => default_object_name(&table.name, &[], "pkey"),
        ("", false) => default_object_name(&table.name, &columns, "key"),
        (name, _) => name.to_owned(),
    };
    let quoted: Vec<String> = columns.iter().map(|col| quote_ident(col).into_owned()).collect();
    let index = quote_ident(&name);
    let nulls = if c.nulls_not_distinct { " NULLS NOT DISTINCT" } else { "" };
    let build =
        format!("CREATE UNIQUE INDEX CONCURRENTLY {index} ON {} ({}){nulls}", table.to_sql(), quoted.join(", "));
    let keyword = if primary { "PRIMARY KEY" } else { "UNIQUE" };
    let deferrable = match (c.deferrable, c.initdeferred) {
        (true, true) => " DEFERRABLE INITIALLY DEFERRED",
        (true, false) => " DEFERRABLE",
        _ => "",
    };
    let attach =
        format!("ALTER TABLE {} ADD CONSTRAINT {index} {keyword} USING INDEX {index}{deferrable}", table.to_sql());
    let qualified = RelationName::new(table.schema.as_deref(), &name).to_sql();
    cx.fix(
        Proposal::new(
            "build the unique index `CONCURRENTLY`, then add the constraint `USING INDEX`",
            Applicability::Unsafe,
            fix::slug(&["unique", &name]),
        )
        .step(
            Step::new(build, Needs::NoTransaction).with_undo(format!("DROP INDEX CONCURRENTLY IF EXISTS {qualified}")),
        )
        .step(
            Step::new(attach, Needs::LaterTransaction)
                .with_undo(format!("ALTER TABLE {} DROP CONSTRAINT IF EXISTS {index}", table.to_sql())),
        )
        .names(name),
    )
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, messages};

    const ID: &str = "add-unique-constraint";

    #[test]
    fn partitioned_tables_and_without_overlaps_get_help_that_works() {
        let history = "CREATE TABLE m (id bigint, taken date NOT NULL) PARTITION BY RANGE (taken);
CREATE TABLE m_2024 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');";
        let report = crate::rules::test_support::lint_after(
            history,
            "SET lock_timeout = '2s';\nALTER TABLE m ADD CONSTRAINT m_key UNIQUE (id, taken);",
        );
        let finding = report.diagnostics.iter().find(|d| d.rule == ID).expect("flagged");
        assert!(finding.help.as_deref().is_some_and(|h| h.contains("attaches them")), "{:?}", finding.help);
        assert!(finding.no_fix.as_deref().is_some_and(|r| r.contains("partitioned")), "{:?}", finding.no_fix);
        let history = "CREATE TABLE r (id int, during tstzrange);";
        let report = crate::rules::test_support::lint_after(
            history,
            "SET lock_timeout = '2s';\nALTER TABLE r ADD CONSTRAINT r_key UNIQUE (id, during WITHOUT OVERLAPS);",
        );
        if let Some(finding) = report.diagnostics.iter().find(|d| d.rule == ID) {
            assert!(finding.help.as_deref().is_some_and(|h| h.contains("WITHOUT OVERLAPS")), "{:?}", finding.help);
        }
    }

    #[test]
    fn flags_constraints_that_build_their_index() {
        assert_eq!(lines("ALTER TABLE users ADD CONSTRAINT k UNIQUE (email);", ID), vec![1]);
        assert_eq!(lines("ALTER TABLE users\n  ADD PRIMARY KEY (id);", ID), vec![2]);
        assert_eq!(lines("ALTER TABLE users\n  ADD COLUMN code text UNIQUE;", ID), vec![2]);
        assert_eq!(
            messages("ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY (id);", ID),
            vec![
                "adding the `PRIMARY KEY` constraint `users_pkey` builds its index on `users` while holding an \
                 `ACCESS EXCLUSIVE` lock on `users` that blocks reads and writes"
            ]
        );
    }

    #[test]
    fn using_index_and_new_tables_pass() {
        assert!(lines("ALTER TABLE users ADD CONSTRAINT k UNIQUE USING INDEX k;", ID).is_empty());
        assert!(lines("ALTER TABLE users ADD CONSTRAINT p PRIMARY KEY USING INDEX p;", ID).is_empty());
        assert!(lines("CREATE TABLE users (id int);\nALTER TABLE users ADD PRIMARY KEY (id);", ID).is_empty());
    }
}
