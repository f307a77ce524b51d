//! Fixes: the edits that turn a finding's statement into its safe form.
//!
//! A rule builds its safe form as [`Step`]s, SQL in the order it must run, each saying which
//! transaction it may share. [`placement`] then decides where each step goes, following the
//! file's framework: in place when the statement already runs outside a transaction, after
//! the `COMMIT` of a transaction the file opens itself, or in new migrations that run right
//! after the file when the runner wraps the file in its transaction. The result is a [`Fix`]:
//! edits to the file's text at token spans, and the migrations to add. Where the framework
//! cannot express the safe form, the finding carries the reason instead of a fix.

pub(crate) mod placement;
pub mod recipes;

use crate::source::Span;
use serde::Serialize;

/// Whether applying a fix can change what the migration does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    /// Same schema, same data, on success and on failure: only the locking changes.
    /// `ddlint check --fix` applies it.
    Safe,
    /// The schema is the same when every step succeeds, but a failure can leave a state the
    /// original could not (a concurrent build leaves an invalid index; a constraint added
    /// `NOT VALID` stays when its validation fails), or the fix moves a statement out of its
    /// transaction. Applied only with `--unsafe-fixes`.
    Unsafe,
}

impl Applicability {
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::Safe => "safe",
            Applicability::Unsafe => "unsafe",
        }
    }
}

/// One replacement in the file's text. An insertion has an empty span.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Edit {
    pub span: Span,
    pub replacement: String,
}

/// A migration a fix adds, to run right after the file the finding is in. The CLI names it
/// and writes it in the framework's conventions (file name, transaction marker, down part).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NewMigration {
    /// Lower-case words joined by `_` for the file name, such as `concurrently_orders_idx`.
    pub slug: String,
    /// The statements to run, each without its closing `;`.
    pub up: Vec<String>,
    /// The statements that undo `up`, in the order they run; empty when there is no undo.
    pub down: Vec<String>,
    /// The runner may wrap the migration in a transaction; `false` when a step cannot run
    /// in a transaction block.
    pub transaction: bool,
}

/// The safe form of a finding's statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fix {
    /// What the fix does, as an imperative sentence: "build the index `CONCURRENTLY` in a
    /// migration of its own".
    pub title: String,
    pub applicability: Applicability,
    /// Edits to the file, not overlapping, in file order.
    pub edits: Vec<Edit>,
    /// Migrations to add after the file, in the order they run.
    pub new_migrations: Vec<NewMigration>,
    /// Names of what moved to the new migrations, whose down parts now undo it: a down
    /// migration in a file of its own (golang-migrate's `.down.sql`, diesel's `down.sql`)
    /// that drops one of them must stop doing so. (A down section in the same file is edited
    /// by `edits`.)
    pub moved: Vec<String>,
    /// The fix depends on the file's final statements (where a `SET lock_timeout` goes, and
    /// whether it is `LOCAL`), so it is applied only in a round where no other fix changes
    /// the file.
    pub after_other_fixes: bool,
}

/// Which transaction a step of a safe form may run in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// Wherever the original statement ran, in its transaction if it had one.
    SameTransaction,
    /// A transaction that begins after the statement's transaction committed, such as
    /// `VALIDATE CONSTRAINT` after `ADD CONSTRAINT … NOT VALID`.
    LaterTransaction,
    /// Outside any transaction block (`CONCURRENTLY`, `ADD VALUE` before PostgreSQL 12).
    NoTransaction,
}

/// One statement of a safe form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The statement, without its closing `;`.
    pub sql: String,
    pub needs: Needs,
    /// The statement that undoes it in a down migration, where one can be written.
    pub undo: Option<String>,
}

impl Step {
    pub fn new(sql: impl Into<String>, needs: Needs) -> Self {
        Self { sql: sql.into(), needs, undo: None }
    }

    pub fn with_undo(mut self, undo: impl Into<String>) -> Self {
        self.undo = Some(undo.into());
        self
    }
}

/// What a rule proposes for a statement: its safe form, what the fix is called and how safe
/// it is, and the names the moved steps create or drop (a later statement of the file that
/// names one of them would run before the moved step, so the fix is then refused).
#[derive(Clone, Debug)]
pub struct Proposal {
    pub title: String,
    pub applicability: Applicability,
    pub steps: Vec<Step>,
    pub names: Vec<String>,
    /// Words for a new migration's file name.
    pub slug: String,
}

impl Proposal {
    pub fn new(title: impl Into<String>, applicability: Applicability, slug: impl Into<String>) -> Self {
        Self { title: title.into(), applicability, steps: Vec::new(), names: Vec::new(), slug: slug.into() }
    }

    pub fn step(mut self, step: Step) -> Self {
        self.steps.push(step);
        self
    }

    /// A name (index, constraint, type value) whose use by a later statement forbids moving.
    pub fn names(mut self, name: impl Into<String>) -> Self {
        self.names.push(name.into());
        self
    }
}

/// Why a file of this framework is not the place for a fix, when it is SQL that a tool
/// printed from code: the fix belongs in the code, and the reason says where.
pub fn generated_by(framework: Option<crate::framework::Framework>) -> Option<&'static str> {
    use crate::framework::Framework;
    match framework? {
        Framework::Django => Some(
            "this is Django's `sqlmigrate` output: make the change in the migration's Python (for an index, `AddIndexConcurrently` in a migration with `atomic = False`)",
        ),
        Framework::Alembic => Some(
            "this is Alembic's offline SQL: make the change in the revision's Python (for an index, `postgresql_concurrently=True` inside `op.get_context().autocommit_block()`)",
        ),
        _ => None,
    }
}

/// Lower-case words of `parts` joined by `_`, for a file name.
pub fn slug(parts: &[&str]) -> String {
    let mut slug = String::new();
    for part in parts {
        for c in part.chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if !slug.ends_with('_') && !slug.is_empty() {
                slug.push('_');
            }
        }
        if !slug.ends_with('_') && !slug.is_empty() {
            slug.push('_');
        }
    }
    slug.trim_end_matches('_').chars().take(60).collect::<String>().trim_end_matches('_').to_owned()
}

/// Removals of the statements of `text` (a down migration of its own) that drop exactly
/// one of `names`: `DROP INDEX name` or `ALTER TABLE … DROP CONSTRAINT name`.
pub fn drops_of(text: &str, names: &[String]) -> Vec<Edit> {
    let parsed = crate::parse::parse_file(text);
    parsed
        .statements()
        .filter(|s| s.nested_in.is_none() && drops_one_of(&s.node, names))
        .map(|s| {
            let after = text[s.span.end..].trim_start();
            let end = if after.starts_with(';') { text.len() - after.len() + 1 } else { s.span.end };
            Edit { span: whole_lines(text, s.span.start, end), replacement: String::new() }
        })
        .collect()
}

/// Whether the statement drops exactly one object, named one of `names`.
pub(crate) fn drops_one_of(node: &pg_query::protobuf::node::Node, names: &[String]) -> bool {
    use pg_query::protobuf::{node::Node as N, AlterTableType};
    match node {
        N::DropStmt(drop) if drop.objects.len() == 1 => drop.objects.first().is_some_and(|o| match &o.node {
            Some(N::List(list)) => {
                crate::names::RelationName::from_name_list(&list.items).is_some_and(|n| names.contains(&n.name))
            }
            _ => false,
        }),
        N::AlterTableStmt(alter) if alter.cmds.len() == 1 => crate::lock_model::alter_cmds(alter)
            .any(|c| c.subtype() == AlterTableType::AtDropConstraint && names.contains(&c.name)),
        _ => false,
    }
}

/// `start..end`, widened to whole lines when nothing else shares them.
pub(crate) fn whole_lines(text: &str, start: usize, end: usize) -> Span {
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
    if text[line_start..start].trim().is_empty() && text[end..line_end].trim().is_empty() {
        Span::new(line_start, line_end)
    } else {
        Span::new(start, end)
    }
}

/// The text of `text` with `edits` applied; edits must be in order and not overlap.
pub fn apply_edits(text: &str, edits: &[&Edit]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for edit in edits {
        out.push_str(&text[at..edit.span.start]);
        out.push_str(&edit.replacement);
        at = edit.span.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests;
