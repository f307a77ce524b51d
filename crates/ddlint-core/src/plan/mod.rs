//! `ddlint plan`: the phased form of a change that no single migration makes safe.
//!
//! Renames, rewriting type changes, `NOT NULL` on a table with rows, whole-table backfills
//! and drops break the release still running, or lock a hot table for a long time, however
//! the statement is written. The safe way is told over releases: **expand** (add the new
//! shape beside the old, kept in step by a trigger), **backfill** (fill it in batches, each
//! committed on its own), **contract** (remove the old shape once no release uses it). A
//! finding whose violation names such a change ([`PhasedChange`]) gets a plan here: the
//! migrations of each phase with their downs, the release that goes between phases, and what
//! each phase locks, from the lock model. The command line writes them in the framework's
//! conventions.

mod changes;
pub mod sql;

use crate::context::{FileContext, StatementCx};
use crate::diagnostic::Diagnostic;
use crate::fix::{Edit, NewMigration};
use crate::framework::{Direction, Framework};
use crate::lock_model::catalog::Column;
use crate::lock_model::{self, Catalog};
use crate::names::RelationName;
use crate::source::Span;
use crate::violation::{Objects, PhasedChange};
use pg_query::protobuf::{self as pg, node::Node as N, AlterTableType as At, ObjectType};
use serde::Serialize;
use std::cell::RefCell;

/// What the user decides for a plan.
#[derive(Clone, Debug)]
pub struct Options {
    /// Rows per backfill batch.
    pub batch_size: u32,
    /// The `lock_timeout` of every phase.
    pub lock_timeout: String,
    /// The value existing rows get, by column: `("currency", "'EUR'")`.
    pub fills: Vec<(String, String)>,
    /// Work out what each phase locks, for `PLAN.md` and `plan.json`. A finding's hint only
    /// needs to know whether a plan can be written, and skips it.
    pub lock_facts: bool,
}

impl Options {
    pub fn new(lock_timeout: &str) -> Self {
        Self { batch_size: 1000, lock_timeout: lock_timeout.to_owned(), fills: Vec::new(), lock_facts: true }
    }

    /// The options of a finding's hint, which says whether `ddlint plan` can write a plan.
    pub fn hint(lock_timeout: &str) -> Self {
        Self { lock_facts: false, ..Self::new(lock_timeout) }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PhaseKind {
    Expand,
    Backfill,
    Contract,
}

impl PhaseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PhaseKind::Expand => "expand",
            PhaseKind::Backfill => "backfill",
            PhaseKind::Contract => "contract",
        }
    }
}

/// One migration of a plan.
#[derive(Clone, Debug, Serialize)]
pub struct Phase {
    pub kind: PhaseKind,
    /// What the phase does.
    pub summary: String,
    pub migration: NewMigration,
    /// The application release to deploy after this phase and before the next.
    pub release_after: Option<String>,
    /// What each statement of the phase locks, and for how long, from the lock model.
    pub locks: Vec<StepLock>,
    /// What the phase's down cannot bring back.
    pub irreversible: Option<String>,
}

/// The strongest lock a statement of a phase takes.
#[derive(Clone, Debug, Serialize)]
pub struct StepLock {
    /// The statement's first line, as the phase writes it.
    pub statement: String,
    /// The mode as SQL names it, where the statement takes a table lock.
    pub mode: Option<&'static str>,
    pub relation: Option<String>,
    /// What the mode blocks: "blocks reads and writes".
    pub blocks: Option<&'static str>,
    /// How long it is held: "briefly", "while it scans `t`", "one batch at a time".
    pub holds: String,
}

/// The phased form of one statement.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    /// The kind of change: `rename-column`.
    pub change: &'static str,
    /// What the plan does: "rename `users.name` to `full_name`".
    pub title: String,
    pub table: String,
    pub phases: Vec<Phase>,
    /// A query that must return 0 before contract, where the plan backfills.
    pub verification: Option<String>,
    /// What must be true before contract.
    pub checklist: Vec<String>,
    /// Edits to the source file: the statement removed, and the statements of its down that
    /// undid it.
    #[serde(skip)]
    pub edits: Vec<Edit>,
}

/// A finding's plan, or why it has none.
#[derive(Clone, Debug)]
pub struct Planned {
    pub rule: &'static str,
    /// The finding's span.
    pub span: Span,
    /// The statement the plan replaces.
    pub statement: Span,
    pub plan: Result<Plan, String>,
    /// Columns whose value for existing rows the user must give (`--fill`).
    pub fills_needed: Vec<String>,
}

/// The plans of the file's findings that name a phased change, one per statement and change.
pub(crate) fn plan_findings(file: &FileContext<'_>, diagnostics: &[Diagnostic], options: &Options) -> Vec<Planned> {
    let mut planned: Vec<Planned> = Vec::new();
    let mut seen: Vec<(Span, PhasedChange)> = Vec::new();
    // Top-level statements by span, looked up once per finding.
    let top_level: std::collections::HashMap<Span, usize> =
        file.statements.iter().enumerate().filter(|(_, s)| s.nested_in.is_none()).map(|(i, s)| (s.span, i)).collect();
    for diagnostic in diagnostics {
        let (Some(change), Some(statement)) = (diagnostic.phased, diagnostic.statement) else { continue };
        if seen.contains(&(statement, change)) {
            continue;
        }
        seen.push((statement, change));
        let Some(&index) = top_level.get(&statement) else { continue };
        // A down migration undoes the up, whose plan takes the undo out with the statement.
        if file.section_of(index).is_some_and(|s| s.direction == Direction::Down) {
            continue;
        }
        let cx = StatementCx::new(file, index);
        let fills_needed = RefCell::new(Vec::new());
        let plan = file.with_catalog_before(index, |catalog| {
            let input = Input { cx: &cx, catalog, objects: &diagnostic.objects, options, fills_needed: &fills_needed };
            build(&input, change)
        });
        planned.push(Planned {
            rule: diagnostic.rule,
            span: diagnostic.span,
            statement,
            plan,
            fills_needed: fills_needed.into_inner(),
        });
    }
    planned
}

fn build(input: &Input<'_, '_, '_>, change: PhasedChange) -> Result<Plan, String> {
    let cx = input.cx;
    if let Some(reason) = crate::fix::generated_by(cx.file.framework) {
        return Err(reason.to_owned());
    }
    let framework = cx.file.framework.unwrap_or(Framework::Plain);
    if !framework.can_add_migrations() {
        return Err(format!("ddlint cannot write new migrations for {}", framework.name()));
    }
    let draft = match change {
        PhasedChange::RenameColumn => changes::rename_column(input),
        PhasedChange::RenameTable => changes::rename_table(input),
        PhasedChange::ChangeColumnType => changes::change_column_type(input),
        PhasedChange::AddNotNullColumn => changes::add_not_null_column(input),
        PhasedChange::SetNotNull => changes::set_not_null(input),
        PhasedChange::Backfill => changes::backfill(input),
        PhasedChange::DropColumn => changes::move_columns(input).unwrap_or_else(|| changes::drop_column(input)),
        PhasedChange::DropTable => changes::drop_table(input),
        // Named by a plan from a drop, never by a finding.
        PhasedChange::MoveColumns => Err("ddlint does not plan this form of the statement".to_owned()),
    }?;
    if framework == Framework::Plain
        && cx.settings().assume_in_transaction
        && draft.phases.iter().any(|p| !p.transaction)
    {
        return Err("the runner wraps every file in a transaction (assume-in-transaction), and a backfill commits batch by batch".to_owned());
    }
    let mut edits = vec![crate::fix::placement::remove_statement(cx, cx.index)];
    edits.extend(draft.removed.iter().map(|&i| crate::fix::placement::remove_statement(cx, i)));
    edits.sort_by_key(|e| e.span.start);
    // Folding the phases into a copy of the schema costs a copy of the catalog per plan.
    let mut catalog = input.options.lock_facts.then(|| input.catalog.clone());
    let phases = draft
        .phases
        .into_iter()
        .map(|mut p| {
            let locks = match &mut catalog {
                Some(catalog) => {
                    p.up.iter().flat_map(|sql| step_locks(sql, &draft.table, cx.pg_version(), catalog)).collect()
                }
                None => Vec::new(),
            };
            let (up, down) = (std::mem::take(&mut p.up), std::mem::take(&mut p.down));
            let (up, down) = (p.guarded(up), p.guarded(down));
            Phase {
                kind: p.kind,
                summary: p.summary,
                migration: NewMigration { slug: p.slug, up, down, transaction: p.transaction },
                release_after: p.release_after,
                locks,
                irreversible: p.irreversible,
            }
        })
        .collect();
    Ok(Plan {
        change: draft.change.unwrap_or(change).as_str(),
        title: draft.title,
        table: draft.table.to_string(),
        phases,
        verification: draft.verification,
        checklist: draft.checklist,
        edits,
    })
}

/// What each statement of `sql` locks, with the schema the plan's earlier statements built;
/// folds them into `catalog`.
fn step_locks(sql: &str, table: &RelationName, pg_version: u32, catalog: &mut Catalog) -> Vec<StepLock> {
    let Ok(parsed) = crate::pg_ffi::parse(sql) else { return Vec::new() };
    let first_line = sql.lines().find(|l| !l.trim_start().starts_with("--")).unwrap_or(sql).trim().to_owned();
    let mut locks = Vec::new();
    for node in parsed.stmts.iter().filter_map(|s| s.stmt.as_ref()?.node.as_ref()) {
        if matches!(node, N::VariableSetStmt(_)) {
            continue;
        }
        if matches!(node, N::DoStmt(_)) {
            locks.push(StepLock {
                statement: first_line.clone(),
                mode: Some(crate::locks::LockMode::RowExclusive.sql_name()),
                relation: Some(table.to_string()),
                blocks: Some(crate::locks::LockMode::RowExclusive.blocks_phrase()),
                holds: "one batch of rows at a time, each batch committed on its own".to_owned(),
            });
            continue;
        }
        let effects = lock_model::statement_effects(node, pg_version, catalog);
        catalog.apply(node);
        let strongest = effects.locks.iter().max_by_key(|l| l.mode);
        let holds = if let Some(t) = effects.rewrites.first() {
            format!("while it rewrites `{t}`")
        } else if let Some(t) = effects.scans.first() {
            format!("while it scans `{t}`")
        } else {
            "briefly".to_owned()
        };
        locks.push(StepLock {
            statement: first_line.clone(),
            mode: strongest.map(|l| l.mode.sql_name()),
            relation: strongest.map(|l| l.relation.to_string()),
            blocks: strongest.map(|l| l.mode.blocks_phrase()),
            holds,
        });
    }
    locks
}

/// What a plan is built from: the statement, the schema before it, the finding's objects.
pub(crate) struct Input<'a, 'f, 'c> {
    cx: &'a StatementCx<'f, 'c>,
    catalog: &'a Catalog,
    objects: &'a Objects,
    options: &'a Options,
    fills_needed: &'a RefCell<Vec<String>>,
}

impl Input<'_, '_, '_> {
    fn node(&self) -> &N {
        self.cx.node()
    }

    fn pg_version(&self) -> u32 {
        self.cx.pg_version()
    }

    fn table(&self) -> Result<RelationName, String> {
        self.objects.relation.clone().ok_or_else(|| "the finding names no table".to_owned())
    }

    fn column(&self, table: &RelationName, name: &str) -> Result<&Column, String> {
        if self.catalog.relation(table).is_none() {
            return Err(self.unknown_table(table));
        }
        self.catalog
            .column(table, name)
            .ok_or_else(|| format!("the migrations before this one do not create `{table}.{name}`"))
    }

    fn unknown_table(&self, table: &RelationName) -> String {
        format!("the migrations before this one do not create `{table}`; lint it with its history, or give `--schema`")
    }

    fn unknown_type(&self, table: &RelationName, column: &str) -> String {
        format!("the history does not say the type of `{table}.{column}`")
    }

    /// The single-column primary key the batches walk.
    fn key(&self, table: &RelationName) -> Result<String, String> {
        if self.catalog.relation(table).is_none() {
            return Err(self.unknown_table(table));
        }
        changes::single_key(self.catalog.primary_key(table).unwrap_or_default(), table)
    }

    /// The value existing rows get in `column`, from `--fill`.
    fn fill(&self, column: &str) -> Result<&str, String> {
        if let Some((_, fill)) = self.options.fills.iter().find(|(c, _)| c == column) {
            return Ok(fill);
        }
        self.fills_needed.borrow_mut().push(column.to_owned());
        Err(format!("existing rows need a value for `{column}`: give it with `--fill {column}=EXPRESSION`"))
    }

    /// Refuses a column that a key, constraint or index covers: a new column would need its
    /// own, built concurrently, which the plan does not write.
    fn refuse_keys_and_indexes(&self, table: &RelationName, column: &str) -> Result<(), String> {
        let info = self.catalog.relation(table).ok_or_else(|| self.unknown_table(table))?;
        if let Some(c) = info.constraints.iter().find(|c| c.columns.iter().any(|k| k == column)) {
            return Err(format!("`{column}` is in the constraint `{}`, which the plan does not move", c.name));
        }
        if let Some(index) = self.catalog.index_on_column(table, column) {
            return Err(format!("`{column}` is in the index `{index}`, which the plan does not move"));
        }
        Ok(())
    }

    /// The table and the subcommand of an `ALTER TABLE` that does only this.
    fn only_subcommand(&self, kind: At) -> Result<(RelationName, &pg::AlterTableCmd), String> {
        let N::AlterTableStmt(stmt) = self.node() else {
            return Err("ddlint does not plan this form of the statement".to_owned());
        };
        let table = self.table()?;
        match changes::subcommands(stmt).as_slice() {
            [cmd] if cmd.subtype() == kind => Ok((table, cmd)),
            _ => Err("the `ALTER TABLE` does more than this; give the change a statement of its own".to_owned()),
        }
    }

    /// The top-level statements of the file's down sections.
    fn down_statements(&self) -> Vec<(usize, &N)> {
        let file = self.cx.file;
        (0..file.statements.len())
            .filter(|&i| {
                file.section_of(i).is_some_and(|s| s.direction == Direction::Down)
                    && file.statements[i].nested_in.is_none()
            })
            .map(|i| (i, &*file.statements[i].node))
            .collect()
    }

    /// Down statements that rename the column back from `new` to `old`.
    fn inverse_renames(&self, old: &str, new: &str) -> Vec<usize> {
        let Ok(table) = self.table() else { return Vec::new() };
        self.down_statements()
            .into_iter()
            .filter(|(_, node)| {
                matches!(node, N::RenameStmt(r) if r.rename_type() == ObjectType::ObjectColumn
                    && r.subname == new && r.newname == old
                    && r.relation.as_ref().is_some_and(|rv| table.is_named_by(rv)))
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Down statements that rename the table back from `new` to `table`.
    fn inverse_table_renames(&self, table: &RelationName, new: &RelationName) -> Vec<usize> {
        self.down_statements()
            .into_iter()
            .filter(|(_, node)| {
                matches!(node, N::RenameStmt(r) if r.rename_type() == ObjectType::ObjectTable
                    && r.newname == table.name
                    && r.relation.as_ref().is_some_and(|rv| new.is_named_by(rv)))
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Down statements that undo a move of `columns` from `table` into `into`: dropping
    /// `into`, adding the columns back, copying them back.
    fn inverse_of_move(&self, table: &RelationName, into: &RelationName, columns: &[&str]) -> Vec<usize> {
        self.down_statements()
            .into_iter()
            .filter(|(_, node)| match node {
                N::DropStmt(d) => d.objects.iter().any(|o| {
                    matches!(&o.node, Some(N::List(l)) if RelationName::from_name_list(&l.items).is_some_and(|r| r.same_as(into)))
                }),
                N::AlterTableStmt(a) => {
                    a.relation.as_ref().is_some_and(|rv| table.is_named_by(rv))
                        && changes::subcommands(a).iter().all(|cmd| {
                            cmd.subtype() == At::AtAddColumn
                                && crate::lock_model::column_def_of(cmd).is_some_and(|c| columns.contains(&c.colname.as_str()))
                        })
                }
                N::UpdateStmt(u) => u.relation.as_ref().is_some_and(|rv| table.is_named_by(rv)),
                _ => false,
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Down statements that drop the column `name` the statement adds, and nothing else.
    fn inverse_drops(&self, name: &str) -> Vec<usize> {
        let Ok(table) = self.table() else { return Vec::new() };
        self.down_statements()
            .into_iter()
            .filter(|(_, node)| {
                matches!(node, N::AlterTableStmt(a)
                    if a.relation.as_ref().is_some_and(|rv| table.is_named_by(rv))
                    && matches!(changes::subcommands(a).as_slice(), [cmd] if changes::drops_column(cmd, name)))
            })
            .map(|(i, _)| i)
            .collect()
    }
}

/// A phase as a change builds it, before the lock model reads it.
pub(crate) struct DraftPhase {
    kind: PhaseKind,
    slug: String,
    summary: String,
    up: Vec<String>,
    down: Vec<String>,
    /// The `lock_timeout` each direction starts with, where it runs in a transaction.
    lock_timeout: Option<String>,
    transaction: bool,
    release_after: Option<String>,
    irreversible: Option<String>,
}

impl DraftPhase {
    /// `statements` after the phase's `SET LOCAL lock_timeout`, where it has one.
    fn guarded(&self, statements: Vec<String>) -> Vec<String> {
        match &self.lock_timeout {
            Some(timeout) if !statements.is_empty() => {
                [vec![sql::lock_timeout(self.transaction, timeout)], statements].concat()
            }
            _ => statements,
        }
    }

    /// A phase that runs in one transaction, each direction after `SET LOCAL lock_timeout`
    /// (added when the plan is built, so that builders can still edit both directions).
    fn transactional(
        kind: PhaseKind,
        slug: String,
        summary: String,
        up: Vec<String>,
        down: Vec<String>,
        input: &Input<'_, '_, '_>,
    ) -> Self {
        Self {
            kind,
            slug: crate::fix::slug(&[&slug]),
            summary,
            up,
            down,
            lock_timeout: Some(input.options.lock_timeout.clone()),
            transaction: true,
            release_after: None,
            irreversible: None,
        }
    }

    /// A phase of one statement that must run outside a transaction block (a `DO` that
    /// commits batch by batch).
    fn outside_transaction(kind: PhaseKind, slug: String, summary: String, statement: String) -> Self {
        Self {
            kind,
            slug: crate::fix::slug(&[&slug]),
            summary,
            up: vec![statement],
            down: Vec::new(),
            lock_timeout: None,
            transaction: false,
            release_after: None,
            irreversible: None,
        }
    }

    fn released(mut self, release: String) -> Self {
        self.release_after = Some(release);
        self
    }
}

/// A plan as a change builds it.
pub(crate) struct Draft {
    title: String,
    table: RelationName,
    phases: Vec<DraftPhase>,
    verification: Option<String>,
    checklist: Vec<String>,
    /// Other statements of the file the plan takes out: those of its down sections that undid
    /// the planned one, and those the plan folds into its phases.
    removed: Vec<usize>,
    /// The change the plan makes, where it is not the finding's (a drop that moves columns).
    change: Option<PhasedChange>,
}

#[cfg(test)]
mod tests;
