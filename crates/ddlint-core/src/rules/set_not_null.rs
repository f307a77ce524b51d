use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::fix::{self, recipes, Applicability, Fix, Needs, Proposal, Step};
use crate::lock_model::{alter_cmds, alter_table_cmd_lock, constraint_of};
use crate::names::{default_object_name, quote_ident, string_value, RelationName};
use crate::violation::{Certainty, HeldLock, Objects, PhasedChange, Violation};
use pg_query::protobuf::{self as pg, node::Node as N, AlterTableType, ConstrType};

declare_rule! {
    /// ## What it does
    /// Flags `ALTER TABLE … ALTER COLUMN … SET NOT NULL` on a table that this migration did not
    /// create, unless a validated `CHECK (col IS NOT NULL)` on that table was seen earlier and
    /// the target is PostgreSQL 12 or later, or the column is already `NOT NULL`. On PostgreSQL
    /// 18, `ADD CONSTRAINT … NOT NULL column` without `NOT VALID` is flagged too.
    ///
    /// ## Why is this bad?
    /// PostgreSQL scans the whole table to prove that no row holds `NULL`, and it holds an
    /// `ACCESS EXCLUSIVE` lock, which blocks reads and writes, for the length of the scan.
    ///
    /// ## Example
    /// ```sql
    /// ALTER TABLE users ALTER COLUMN email SET NOT NULL;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// SET lock_timeout = '2s';
    /// ALTER TABLE users ADD CONSTRAINT users_email_not_null CHECK (email IS NOT NULL) NOT VALID;
    /// -- in a later migration, outside the first one's transaction:
    /// SET lock_timeout = '2s';
    /// ALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;
    /// ALTER TABLE users ALTER COLUMN email SET NOT NULL;
    /// ALTER TABLE users DROP CONSTRAINT users_email_not_null;
    /// ```
    ///
    /// `VALIDATE CONSTRAINT` scans under a `SHARE UPDATE EXCLUSIVE` lock, which lets reads and
    /// writes go on. From PostgreSQL 12, `SET NOT NULL` then uses the validated constraint
    /// instead of scanning.
    ///
    /// Where the file validates a constraint whose definition neither the history nor the file
    /// holds (it was added outside the migrations ddlint reads), that constraint may be the
    /// proof: the finding then says the statement may scan, names the constraint, and is a
    /// note.
    ///
    /// ## Locks
    /// `ACCESS EXCLUSIVE` on the table, held during a full scan.
    ///
    /// ## PostgreSQL versions
    /// The `CHECK` shortcut needs PostgreSQL 12 or later.
    ///
    /// ## Fix
    /// On PostgreSQL 18, adds the constraint `NOT NULL … NOT VALID` in the statement's place and
    /// validates it in a later transaction, which sets the column `NOT NULL` without a scan under a
    /// blocking lock. On 12 to 17, writes the recipe above: the `CHECK … NOT VALID` in place, then,
    /// in a later transaction, `VALIDATE CONSTRAINT`, the `SET NOT NULL` and `DROP CONSTRAINT`. The
    /// later transaction is the statement's own when it runs in autocommit, follows the `COMMIT` of
    /// a transaction the file opens, or is a new migration right after the file when the runner
    /// wraps it in its transaction. Offered when `SET NOT NULL` is the `ALTER TABLE`'s only
    /// subcommand.
    ///
    /// ## Fix safety
    /// Unsafe: when a row holds `NULL`, the original fails whole, while the fixed migration leaves a
    /// `NOT VALID` constraint behind that new rows must already satisfy.
    pub RULE = "set-not-null", Warning, on, Some(check), fix = unsafe;
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
        if cmd.subtype() == AlterTableType::AtAddConstraint {
            check_not_null_constraint(cx, stmt, &table, cmd, spans.as_ref().map_or(cx.stmt.span, |s| s[i]), out);
            continue;
        }
        if cmd.subtype() != AlterTableType::AtSetNotNull {
            continue;
        }
        // The lock model knows when there is nothing to prove (the column is already
        // `NOT NULL`, or the history holds a validated proof).
        let effects = cx.alter_cmd_effects(cmd);
        if effects.scans.is_empty() && effects.may_scan.is_empty() {
            continue;
        }
        // A validated CHECK proving the column not null, from an earlier migration or earlier
        // in this file: the catalog decides (`catalog::proves_not_null`).
        if cx.pg_version() >= 12 && cx.with_catalog(|c| c.not_null_proven(&table, &cmd.name) == Some(true)) {
            continue;
        }
        let span = spans.as_ref().map_or(cx.stmt.span, |s| s[i]);
        let unknown_proof = if cx.pg_version() >= 12 { validated_unknown_constraint(cx, &table) } else { None };
        let violation = NotNullScan {
            lock: HeldLock::new(alter_table_cmd_lock(cmd, cx.pg_version()), &table),
            column: cmd.name.clone(),
            change: NotNullChange::SetNotNull { not_valid_not_null: cx.pg_version() >= 18 },
            // The lock model's word, unless a constraint the file validates may prove it.
            scan: if unknown_proof.is_some() {
                Certainty::Possible
            } else {
                Certainty::of(&effects.scans, &effects.may_scan).unwrap_or(Certainty::Certain)
            },
            unknown_proof,
        };
        let mut diagnostic = cx.report(&RULE, span, &violation);
        if violation.unknown_proof.is_some() {
            // Whether it scans depends on a definition ddlint cannot see: a lower severity.
            diagnostic.severity = diagnostic.severity.min(crate::diagnostic::Severity::Note);
        }
        out.push(diagnostic.with_fix(fix(cx, &table, &cmd.name, cmds.len())));
    }
}

/// A constraint of `table` that an earlier statement of the file validates, whose definition
/// neither the history nor the file holds: a `CHECK (column IS NOT NULL)` among them would
/// spare `SET NOT NULL` its scan. Its name and the 1-based line of the validation.
fn validated_unknown_constraint(cx: &StatementCx<'_, '_>, table: &RelationName) -> Option<(String, usize)> {
    let named_here = |stmt: &pg::AlterTableStmt| stmt.relation.as_ref().is_some_and(|rv| table.is_named_by(rv));
    let defined_in_file = |name: &str| {
        cx.file.statements[..cx.index].iter().any(|s| match &*s.node {
            N::AlterTableStmt(stmt) if named_here(stmt) => {
                alter_cmds(stmt).filter_map(constraint_of).any(|c| c.conname == name)
            }
            _ => false,
        })
    };
    let known = |name: &str| {
        cx.with_catalog(|c| c.relation(table).is_some_and(|r| r.constraints.iter().any(|k| k.name == name)))
    };
    cx.file.statements[..cx.index].iter().rev().find_map(|s| {
        let N::AlterTableStmt(stmt) = &*s.node else { return None };
        if !named_here(stmt) {
            return None;
        }
        let name = alter_cmds(stmt)
            .filter(|c| c.subtype() == AlterTableType::AtValidateConstraint)
            .map(|c| c.name.as_str())
            .find(|name| !known(name) && !defined_in_file(name))?;
        Some((name.to_owned(), cx.file.line_of(s.span.start)))
    })
}

/// PostgreSQL 18's `ADD CONSTRAINT … NOT NULL column` without `NOT VALID`, which scans the
/// table as `SET NOT NULL` does.
fn check_not_null_constraint(
    cx: &StatementCx<'_, '_>,
    stmt: &pg::AlterTableStmt,
    table: &RelationName,
    cmd: &pg::AlterTableCmd,
    span: crate::source::Span,
    out: &mut Vec<Diagnostic>,
) {
    let Some(c) = constraint_of(cmd) else { return };
    if c.contype() != ConstrType::ConstrNotnull || c.skip_validation {
        return;
    }
    let effects = cx.alter_cmd_effects(cmd);
    if effects.scans.is_empty() && effects.may_scan.is_empty() {
        return;
    }
    let column = c.keys.iter().find_map(string_value);
    let violation = NotNullScan {
        lock: HeldLock::new(cx.cmd_lock_on(table, cmd), table),
        column: column.unwrap_or("?").to_owned(),
        change: NotNullChange::AddConstraint(c.conname.clone()),
        scan: if effects.scans.is_empty() { Certainty::Possible } else { Certainty::Certain },
        unknown_proof: None,
    };
    out.push(cx.report(&RULE, span, &violation).with_fix(recipes::not_valid_then_validate(cx, stmt, table, c)));
}

/// How the statement makes the column `NOT NULL`.
enum NotNullChange {
    /// `SET NOT NULL`; on PostgreSQL 18 the safe form is a `NOT NULL … NOT VALID` constraint.
    SetNotNull { not_valid_not_null: bool },
    /// PostgreSQL 18's `ADD CONSTRAINT name NOT NULL column`, validated; the name may be empty.
    AddConstraint(String),
}

struct NotNullScan {
    lock: HeldLock,
    column: String,
    change: NotNullChange,
    scan: Certainty,
    /// A constraint validated earlier in the file, of a definition ddlint cannot see, that
    /// may prove the column: its name and the line of the validation.
    unknown_proof: Option<(String, usize)>,
}

impl Violation for NotNullScan {
    fn message(&self) -> String {
        let Self { lock, column, .. } = self;
        let table = &lock.relation;
        let scans = self.scan.verb("scans", "may scan");
        match self.change {
            NotNullChange::SetNotNull { .. } => match &self.unknown_proof {
                Some((name, line)) => format!(
                    "`SET NOT NULL` on `{column}` {scans} `{table}` while holding {lock}: it does not if `{name}`, \
                     validated on line {line}, is `CHECK ({column} IS NOT NULL)`, but neither the history nor the file \
                     holds its definition"
                ),
                None => format!("`SET NOT NULL` on `{column}` {scans} `{table}` while holding {lock}"),
            },
            NotNullChange::AddConstraint(_) => {
                format!("adding the `NOT NULL` constraint on `{column}` {scans} `{table}` while holding {lock}")
            }
        }
    }

    fn help(&self) -> Option<String> {
        Some(match self.change {
            NotNullChange::SetNotNull { not_valid_not_null: true } => format!(
                "add `CONSTRAINT … NOT NULL {} NOT VALID`, then `VALIDATE CONSTRAINT` in a later transaction",
                self.column
            ),
            NotNullChange::SetNotNull { not_valid_not_null: false } => format!(
                "add `CHECK ({} IS NOT NULL) NOT VALID`, validate it in a later migration, then set `NOT NULL`",
                self.column
            ),
            NotNullChange::AddConstraint(_) => {
                "add it `NOT VALID`, then `VALIDATE CONSTRAINT` in a later transaction".to_owned()
            }
        })
    }

    fn objects(&self) -> Objects {
        let objects = Objects::column(&self.lock.relation, &self.column);
        match &self.change {
            NotNullChange::AddConstraint(name) => objects.with_constraint(name),
            NotNullChange::SetNotNull { .. } => objects,
        }
    }

    fn phased(&self) -> Option<PhasedChange> {
        matches!(self.change, NotNullChange::SetNotNull { .. }).then_some(PhasedChange::SetNotNull)
    }
}

fn fix(cx: &StatementCx<'_, '_>, table: &RelationName, column: &str, subcommands: usize) -> Result<Fix, String> {
    if subcommands != 1 {
        return Err("the `ALTER TABLE` has other subcommands; give `SET NOT NULL` a statement of its own".to_owned());
    }
    if cx.pg_version() < 12 {
        return Err("before PostgreSQL 12, `SET NOT NULL` scans whatever constraints the table has".to_owned());
    }
    let name = recipes::free_constraint_name(cx, table, &default_object_name(&table.name, &[column], "not_null"));
    let (t, c, n) = (table.to_sql(), quote_ident(column), quote_ident(&name));
    let validate = Step::new(format!("ALTER TABLE {t} VALIDATE CONSTRAINT {n}"), Needs::LaterTransaction);
    let proposal = if cx.pg_version() >= 18 {
        Proposal::new(
            "add the constraint `NOT NULL … NOT VALID`, and validate it in a later transaction",
            Applicability::Unsafe,
            fix::slug(&["validate", &name]),
        )
        .step(Step::new(format!("ALTER TABLE {t} ADD CONSTRAINT {n} NOT NULL {c} NOT VALID"), Needs::SameTransaction))
        .step(validate)
    } else {
        Proposal::new(
            "prove `NOT NULL` with a `CHECK` validated in a later transaction, then set it",
            Applicability::Unsafe,
            fix::slug(&["not_null", &table.name, column]),
        )
        .step(Step::new(
            format!("ALTER TABLE {t} ADD CONSTRAINT {n} CHECK ({c} IS NOT NULL) NOT VALID"),
            Needs::SameTransaction,
        ))
        .step(validate)
        .step(Step::new(cx.text(cx.stmt.span), Needs::LaterTransaction))
        .step(Step::new(format!("ALTER TABLE {t} DROP CONSTRAINT {n}"), Needs::LaterTransaction))
    };
    cx.fix(proposal.names(name))
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, lines_with};
    use crate::settings::Settings;

    const ID: &str = "set-not-null";

    #[test]
    fn help_teaches_the_safe_form_of_the_target_version() {
        use crate::rules::test_support::helps_with;
        use crate::settings::Settings;
        let sql = "ALTER TABLE users ALTER COLUMN email SET NOT NULL;";
        let on = |pg_version| helps_with(sql, ID, &Settings { pg_version, ..Settings::default() });
        assert_eq!(
            on(18),
            vec!["add `CONSTRAINT … NOT NULL email NOT VALID`, then `VALIDATE CONSTRAINT` in a later transaction"]
        );
        assert_eq!(
            on(17),
            vec!["add `CHECK (email IS NOT NULL) NOT VALID`, validate it in a later migration, then set `NOT NULL`"]
        );
    }

    #[test]
    fn a_validated_constraint_of_unknown_definition_may_prove_the_column() {
        use crate::diagnostic::Severity;
        let sql = "ALTER TABLE orders VALIDATE CONSTRAINT orders_user_id_nn;\n\
                   ALTER TABLE orders ALTER COLUMN user_id SET NOT NULL;";
        let report = crate::lint_file("test.sql", sql.as_bytes(), &crate::Settings::default());
        let found: Vec<_> = report.diagnostics.iter().filter(|d| d.rule == ID).collect();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].severity, Severity::Note);
        assert!(found[0].message.contains("may scan `orders`"), "{}", found[0].message);
        assert!(found[0].message.contains("`orders_user_id_nn`, validated on line 1"), "{}", found[0].message);
        // A constraint whose definition the history holds is judged on it: this one proves nothing.
        let history = "CREATE TABLE orders (id int, user_id int, CONSTRAINT positive CHECK (id > 0) NOT VALID);";
        let sql = "ALTER TABLE orders VALIDATE CONSTRAINT positive;\n\
                   ALTER TABLE orders ALTER COLUMN user_id SET NOT NULL;";
        let report = crate::rules::test_support::lint_after(history, sql);
        let found: Vec<_> = report.diagnostics.iter().filter(|d| d.rule == ID).collect();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].severity, Severity::Warning);
        assert!(found[0].message.contains("` scans `orders`"), "{}", found[0].message);
        // So is one the file adds.
        let sql = "ALTER TABLE orders ADD CONSTRAINT positive CHECK (id > 0) NOT VALID;\n\
                   ALTER TABLE orders VALIDATE CONSTRAINT positive;\n\
                   ALTER TABLE orders ALTER COLUMN user_id SET NOT NULL;";
        let report = crate::lint_file("test.sql", sql.as_bytes(), &crate::Settings::default());
        assert!(report.diagnostics.iter().any(|d| d.rule == ID && d.severity == Severity::Warning));
    }

    #[test]
    fn flags_set_not_null_on_existing_tables() {
        assert_eq!(lines("ALTER TABLE users ALTER COLUMN email SET NOT NULL;", ID), vec![1]);
        assert_eq!(
            lines("ALTER TABLE users\n  ALTER COLUMN a DROP DEFAULT,\n  ALTER COLUMN b SET NOT NULL;", ID),
            vec![3]
        );
    }

    #[test]
    fn validated_check_proves_not_null_from_pg12() {
        let recipe = "ALTER TABLE users ADD CONSTRAINT c CHECK (email IS NOT NULL) NOT VALID;\n\
                      ALTER TABLE users VALIDATE CONSTRAINT c;\n\
                      ALTER TABLE users ALTER COLUMN email SET NOT NULL;";
        assert!(lines(recipe, ID).is_empty());
        let pg11 = Settings { pg_version: 11, ..Settings::default() };
        assert_eq!(lines_with(recipe, ID, &pg11), vec![3]);
    }

    #[test]
    fn unvalidated_or_other_checks_do_not_prove() {
        let not_valid = "ALTER TABLE users ADD CONSTRAINT c CHECK (email IS NOT NULL) NOT VALID;\n\
                         ALTER TABLE users ALTER COLUMN email SET NOT NULL;";
        assert_eq!(lines(not_valid, ID), vec![2]);
        let other = "ALTER TABLE users ADD CONSTRAINT c CHECK (name IS NOT NULL AND email <> '');\n\
                     ALTER TABLE users ALTER COLUMN email SET NOT NULL;";
        assert_eq!(lines(other, ID), vec![2]);
        let conjunct = "ALTER TABLE public.users ADD CONSTRAINT c CHECK (email IS NOT NULL AND email <> '');\n\
                        ALTER TABLE users ALTER COLUMN email SET NOT NULL;";
        assert!(lines(conjunct, ID).is_empty());
    }
}
