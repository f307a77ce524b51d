//! PostgreSQL's eight table lock modes and what each one blocks.

use serde::Serialize;

/// A table-level lock mode, weakest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum LockMode {
    AccessShare,
    RowShare,
    RowExclusive,
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    Exclusive,
    AccessExclusive,
}

/// An everyday operation that a lock can hold up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Select,
    Insert,
    Update,
    Delete,
    Ddl,
}

impl Operation {
    pub const ALL: [Operation; 5] =
        [Operation::Select, Operation::Insert, Operation::Update, Operation::Delete, Operation::Ddl];

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Select => "select",
            Operation::Insert => "insert",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::Ddl => "ddl",
        }
    }

    /// The lock the operation itself takes. Schema changes and VACUUM take at least
    /// SHARE UPDATE EXCLUSIVE, so that stands for "ddl".
    fn lock(self) -> LockMode {
        match self {
            Operation::Select => LockMode::AccessShare,
            Operation::Insert | Operation::Update | Operation::Delete => LockMode::RowExclusive,
            Operation::Ddl => LockMode::ShareUpdateExclusive,
        }
    }
}

impl LockMode {
    pub const ALL: [LockMode; 8] = [
        LockMode::AccessShare,
        LockMode::RowShare,
        LockMode::RowExclusive,
        LockMode::ShareUpdateExclusive,
        LockMode::Share,
        LockMode::ShareRowExclusive,
        LockMode::Exclusive,
        LockMode::AccessExclusive,
    ];

    /// The name in SQL and in the manual: `ACCESS EXCLUSIVE`.
    pub fn sql_name(self) -> &'static str {
        match self {
            LockMode::AccessShare => "ACCESS SHARE",
            LockMode::RowShare => "ROW SHARE",
            LockMode::RowExclusive => "ROW EXCLUSIVE",
            LockMode::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            LockMode::Share => "SHARE",
            LockMode::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            LockMode::Exclusive => "EXCLUSIVE",
            LockMode::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }

    /// The name in `pg_locks.mode`: `AccessExclusiveLock`.
    pub fn pg_locks_name(self) -> &'static str {
        match self {
            LockMode::AccessShare => "AccessShareLock",
            LockMode::RowShare => "RowShareLock",
            LockMode::RowExclusive => "RowExclusiveLock",
            LockMode::ShareUpdateExclusive => "ShareUpdateExclusiveLock",
            LockMode::Share => "ShareLock",
            LockMode::ShareRowExclusive => "ShareRowExclusiveLock",
            LockMode::Exclusive => "ExclusiveLock",
            LockMode::AccessExclusive => "AccessExclusiveLock",
        }
    }

    pub fn from_pg_locks_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.pg_locks_name() == name)
    }

    /// PostgreSQL's conflict table (the manual's "Conflicting Lock Modes").
    pub fn conflicts_with(self, other: LockMode) -> bool {
        use LockMode::*;
        let conflicts: &[LockMode] = match self {
            AccessShare => &[AccessExclusive],
            RowShare => &[Exclusive, AccessExclusive],
            RowExclusive => &[Share, ShareRowExclusive, Exclusive, AccessExclusive],
            ShareUpdateExclusive => &[ShareUpdateExclusive, Share, ShareRowExclusive, Exclusive, AccessExclusive],
            Share => &[RowExclusive, ShareUpdateExclusive, ShareRowExclusive, Exclusive, AccessExclusive],
            ShareRowExclusive => {
                &[RowExclusive, ShareUpdateExclusive, Share, ShareRowExclusive, Exclusive, AccessExclusive]
            }
            Exclusive => {
                &[RowShare, RowExclusive, ShareUpdateExclusive, Share, ShareRowExclusive, Exclusive, AccessExclusive]
            }
            AccessExclusive => &LockMode::ALL,
        };
        conflicts.contains(&other)
    }

    /// The everyday operations that wait while this lock is held.
    pub fn blocks(self) -> Vec<Operation> {
        Operation::ALL.into_iter().filter(|op| self.conflicts_with(op.lock())).collect()
    }

    /// Stronger than SHARE UPDATE EXCLUSIVE: the lock blocks writes or reads, so waiting
    /// for it queues the application's traffic behind the migration.
    pub fn blocks_traffic(self) -> bool {
        self > LockMode::ShareUpdateExclusive
    }

    /// What the lock blocks, for a message: "blocks reads and writes".
    pub fn blocks_phrase(self) -> &'static str {
        match self {
            LockMode::AccessExclusive => "blocks reads and writes",
            LockMode::Exclusive => "blocks writes and row locks",
            LockMode::Share | LockMode::ShareRowExclusive => "blocks writes",
            LockMode::ShareUpdateExclusive => "blocks other schema changes and VACUUM",
            LockMode::RowExclusive => "blocks schema changes",
            LockMode::RowShare => "blocks exclusive locks",
            LockMode::AccessShare => "blocks only ACCESS EXCLUSIVE locks",
        }
    }
}

/// "an `ACCESS EXCLUSIVE` lock on `users` that blocks reads and writes"
pub fn describe_lock(mode: LockMode, relation: &impl std::fmt::Display) -> String {
    let article = if mode.sql_name().starts_with(['A', 'E']) { "an" } else { "a" };
    format!("{article} `{}` lock on `{relation}` that {}", mode.sql_name(), mode.blocks_phrase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_table_is_symmetric() {
        for a in LockMode::ALL {
            for b in LockMode::ALL {
                assert_eq!(a.conflicts_with(b), b.conflicts_with(a), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn what_each_lock_blocks() {
        use Operation::*;
        assert_eq!(LockMode::AccessExclusive.blocks(), vec![Select, Insert, Update, Delete, Ddl]);
        assert_eq!(LockMode::Share.blocks(), vec![Insert, Update, Delete, Ddl]);
        assert_eq!(LockMode::ShareUpdateExclusive.blocks(), vec![Ddl]);
        assert_eq!(LockMode::AccessShare.blocks(), Vec::<Operation>::new());
    }
}
