//! What a rule found, as a typed value.
//!
//! Each rule describes a finding with a violation type of its own: the objects it is about,
//! the lock facts it stands on (taken from the lock model), and what it changes. The message,
//! the help, the objects that reports and `ddlint plan` read, and the phased change that makes
//! it safe are all derived from that one value, so no view of a finding can say something the
//! finding does not.

use crate::locks::{describe_lock, LockMode};
use crate::names::RelationName;
use std::fmt;

/// One kind of finding of one rule.
pub trait Violation {
    /// What is wrong, in one line.
    fn message(&self) -> String;
    /// What to do instead, where there is something to say.
    fn help(&self) -> Option<String>;
    /// The schema objects the finding is about.
    fn objects(&self) -> Objects {
        Objects::default()
    }
    /// The phased change (expand, migrate, contract) that makes the statement safe, for
    /// findings that no single rewritten statement can fix.
    fn phased(&self) -> Option<PhasedChange> {
        None
    }
}

/// The schema objects a finding is about: which table, column, constraint or index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Objects {
    pub relation: Option<RelationName>,
    pub column: Option<String>,
    pub constraint: Option<String>,
    pub index: Option<RelationName>,
}

impl Objects {
    pub fn relation(relation: &RelationName) -> Self {
        Self { relation: Some(relation.clone()), ..Self::default() }
    }

    pub fn column(relation: &RelationName, column: &str) -> Self {
        Self { column: Some(column.to_owned()), ..Self::relation(relation) }
    }

    pub fn index(index: &RelationName) -> Self {
        Self { index: Some(index.clone()), ..Self::default() }
    }

    /// Adds the constraint's name, where it has one.
    pub fn with_constraint(mut self, name: &str) -> Self {
        self.constraint = (!name.is_empty()).then(|| name.to_owned());
        self
    }
}

/// A lock the statement holds, as the lock model predicts it; it prints as the phrase the
/// messages use ("an `ACCESS EXCLUSIVE` lock on `t` that blocks reads and writes").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldLock {
    pub mode: LockMode,
    pub relation: RelationName,
}

impl HeldLock {
    pub fn new(mode: LockMode, relation: &RelationName) -> Self {
        Self { mode, relation: relation.clone() }
    }
}

impl fmt::Display for HeldLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&describe_lock(self.mode, &self.relation))
    }
}

/// A change that is safe only as a story told over releases: add the new shape beside the
/// old, keep both in step and backfill, then remove the old shape in a later release.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhasedChange {
    RenameColumn,
    RenameTable,
    /// A type change that rewrites the table.
    ChangeColumnType,
    AddNotNullColumn,
    SetNotNull,
    /// An `UPDATE` or `DELETE` of the whole table.
    Backfill,
    DropColumn,
    DropTable,
    /// Columns copied into a new table and dropped from the old one: a plan names it, from
    /// the drop and the copy before it.
    MoveColumns,
}

impl PhasedChange {
    /// The change's name in reports and in `plan.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            PhasedChange::RenameColumn => "rename-column",
            PhasedChange::RenameTable => "rename-table",
            PhasedChange::ChangeColumnType => "change-column-type",
            PhasedChange::AddNotNullColumn => "add-not-null-column",
            PhasedChange::SetNotNull => "set-not-null",
            PhasedChange::Backfill => "backfill",
            PhasedChange::DropColumn => "drop-column",
            PhasedChange::DropTable => "drop-table",
            PhasedChange::MoveColumns => "move-columns",
        }
    }
}

/// Whether the lock model knows an effect happens, or that it depends on what it cannot see
/// (then the message says "may", and why).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Certainty {
    Certain,
    Possible,
}

impl Certainty {
    /// The verb for the effect: `verb("scans", "may scan")`.
    pub fn verb(self, certain: &'static str, possible: &'static str) -> &'static str {
        match self {
            Certainty::Certain => certain,
            Certainty::Possible => possible,
        }
    }

    /// `Certain` when `certain` names something, `Possible` when only `possible` does.
    pub fn of<T>(certain: &[T], possible: &[T]) -> Option<Self> {
        if !certain.is_empty() {
            Some(Certainty::Certain)
        } else if !possible.is_empty() {
            Some(Certainty::Possible)
        } else {
            None
        }
    }
}

/// The worst thing the lock model says a statement does to a table's rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableEffect {
    Rewrites,
    Scans,
    MayRewrite,
    MayScan,
}

impl TableEffect {
    /// The worst of `effects`, where there is one.
    pub fn of(effects: &crate::lock_model::StatementEffects) -> Option<Self> {
        if !effects.rewrites.is_empty() {
            Some(TableEffect::Rewrites)
        } else if !effects.scans.is_empty() {
            Some(TableEffect::Scans)
        } else if !effects.may_rewrite.is_empty() {
            Some(TableEffect::MayRewrite)
        } else if !effects.may_scan.is_empty() {
            Some(TableEffect::MayScan)
        } else {
            None
        }
    }

    pub fn verb(self) -> &'static str {
        match self {
            TableEffect::Rewrites => "rewrites",
            TableEffect::Scans => "scans",
            TableEffect::MayRewrite => "may rewrite",
            TableEffect::MayScan => "may scan",
        }
    }

    pub fn is_certain(self) -> bool {
        matches!(self, TableEffect::Rewrites | TableEffect::Scans)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_reads_as_the_messages_say_it() {
        let lock = HeldLock::new(LockMode::AccessExclusive, &RelationName::new(Some("app"), "users"));
        assert_eq!(lock.to_string(), "an `ACCESS EXCLUSIVE` lock on `app.users` that blocks reads and writes");
    }

    #[test]
    fn certainty_says_may_only_when_the_model_is_unsure() {
        let t = [RelationName::new(None, "t")];
        assert_eq!(Certainty::of(&t, &[]), Some(Certainty::Certain));
        assert_eq!(Certainty::of(&[], &t), Some(Certainty::Possible));
        assert_eq!(Certainty::of::<RelationName>(&[], &[]), None);
        assert_eq!(Certainty::Possible.verb("scans", "may scan"), "may scan");
    }

    #[test]
    fn the_worst_table_effect_wins() {
        let t = RelationName::new(None, "t");
        let mut effects = crate::lock_model::StatementEffects { may_scan: vec![t.clone()], ..Default::default() };
        assert_eq!(TableEffect::of(&effects), Some(TableEffect::MayScan));
        effects.scans.push(t.clone());
        assert_eq!(TableEffect::of(&effects), Some(TableEffect::Scans));
        effects.rewrites.push(t);
        assert_eq!(TableEffect::of(&effects).map(TableEffect::verb), Some("rewrites"));
        assert_eq!(TableEffect::of(&Default::default()), None);
    }

    #[test]
    fn objects_drop_an_empty_constraint_name() {
        let t = RelationName::new(None, "t");
        assert_eq!(Objects::relation(&t).with_constraint("").constraint, None);
        assert_eq!(Objects::column(&t, "c").with_constraint("t_c_check").constraint.as_deref(), Some("t_c_check"));
    }
}
