//! Which relations a statement locks, and in which mode, keyed by PostgreSQL version.
//!
//! The ALTER TABLE levels follow `AlterTableGetLockLevel` in PostgreSQL's `tablecmds.c`.

use crate::locks::LockMode;
use crate::names::RelationName;
use pg_query::protobuf::{self as pg, node::Node as N, AlterTableType as At, ConstrType, ObjectType};

/// One relation lock a statement takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelationLock {
    pub relation: RelationName,
    pub mode: LockMode,
}

/// The lock level of one ALTER TABLE subcommand.
pub fn alter_table_cmd_lock(cmd: &pg::AlterTableCmd, pg_version: u32) -> LockMode {
    use LockMode::*;
    let Ok(subtype) = At::try_from(cmd.subtype) else {
        return AccessExclusive;
    };
    match subtype {
        At::AtEnableTrig
        | At::AtEnableAlwaysTrig
        | At::AtEnableReplicaTrig
        | At::AtEnableTrigAll
        | At::AtEnableTrigUser
        | At::AtDisableTrig
        | At::AtDisableTrigAll
        | At::AtDisableTrigUser => ShareRowExclusive,
        At::AtAddConstraint | At::AtReAddConstraint => match constraint_of(cmd).map(|c| c.contype()) {
            Some(ConstrType::ConstrForeign) => ShareRowExclusive,
            _ => AccessExclusive,
        },
        At::AtSetStatistics
        | At::AtClusterOn
        | At::AtDropCluster
        | At::AtSetOptions
        | At::AtResetOptions
        | At::AtValidateConstraint
        | At::AtDetachPartitionFinalize => ShareUpdateExclusive,
        At::AtSetRelOptions | At::AtResetRelOptions => rel_options_lock(cmd),
        At::AtAttachPartition if pg_version >= 12 => ShareUpdateExclusive,
        At::AtDetachPartition => match cmd.def.as_deref().and_then(|d| d.node.as_ref()) {
            Some(N::PartitionCmd(p)) if p.concurrent => ShareUpdateExclusive,
            _ => AccessExclusive,
        },
        _ => AccessExclusive,
    }
}

/// Storage parameters that only steer autovacuum and the planner take SHARE UPDATE
/// EXCLUSIVE; anything else takes ACCESS EXCLUSIVE.
fn rel_options_lock(cmd: &pg::AlterTableCmd) -> LockMode {
    let Some(N::List(list)) = cmd.def.as_deref().and_then(|d| d.node.as_ref()) else {
        return LockMode::AccessExclusive;
    };
    let light = list.items.iter().all(|item| match &item.node {
        Some(N::DefElem(d)) => {
            d.defname.starts_with("autovacuum_")
                || d.defname.starts_with("toast.autovacuum_")
                || matches!(d.defname.as_str(), "fillfactor" | "parallel_workers" | "vacuum_index_cleanup" | "vacuum_truncate")
        }
        _ => false,
    });
    if light {
        LockMode::ShareUpdateExclusive
    } else {
        LockMode::AccessExclusive
    }
}

pub fn constraint_of(cmd: &pg::AlterTableCmd) -> Option<&pg::Constraint> {
    match cmd.def.as_deref()?.node.as_ref()? {
        N::Constraint(c) => Some(c),
        _ => None,
    }
}

/// Every relation lock the statement takes, strongest per relation.
pub fn statement_locks(node: &N, pg_version: u32) -> Vec<RelationLock> {
    use LockMode::*;
    let mut locks = Vec::new();
    let mut add = |relation: RelationName, mode: LockMode| locks.push(RelationLock { relation, mode });
    match node {
        N::AlterTableStmt(stmt) => {
            let Some(rv) = &stmt.relation else { return Vec::new() };
            let table = RelationName::from_range_var(rv);
            for cmd in alter_cmds(stmt) {
                add(table.clone(), alter_table_cmd_lock(cmd, pg_version));
                for referenced in referenced_tables_of_cmd(cmd) {
                    add(referenced, ShareRowExclusive);
                }
                if let Some(partition) = partition_of(cmd) {
                    let mode = match cmd.subtype() {
                        At::AtDetachPartition | At::AtDetachPartitionFinalize => alter_table_cmd_lock(cmd, pg_version),
                        _ => AccessExclusive,
                    };
                    add(partition, mode);
                }
            }
        }
        N::IndexStmt(stmt) => {
            if let Some(rv) = &stmt.relation {
                add(RelationName::from_range_var(rv), if stmt.concurrent { ShareUpdateExclusive } else { Share });
            }
        }
        N::DropStmt(stmt) => {
            let mode = if stmt.concurrent { ShareUpdateExclusive } else { AccessExclusive };
            match stmt.remove_type() {
                ObjectType::ObjectTable
                | ObjectType::ObjectIndex
                | ObjectType::ObjectMatview
                | ObjectType::ObjectView
                | ObjectType::ObjectSequence
                | ObjectType::ObjectForeignTable => {
                    for object in &stmt.objects {
                        if let Some(N::List(list)) = &object.node {
                            if let Some(name) = RelationName::from_name_list(&list.items) {
                                add(name, mode);
                            }
                        }
                    }
                }
                ObjectType::ObjectTrigger | ObjectType::ObjectRule | ObjectType::ObjectPolicy => {
                    // The name list ends with the object's own name; the rest is the table.
                    for object in &stmt.objects {
                        if let Some(N::List(list)) = &object.node {
                            if let Some((_, table)) = list.items.split_last() {
                                if let Some(name) = RelationName::from_name_list(table) {
                                    add(name, AccessExclusive);
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        N::RenameStmt(stmt) => {
            if let Some(rv) = &stmt.relation {
                let mode = match stmt.rename_type() {
                    ObjectType::ObjectIndex if pg_version >= 12 => ShareUpdateExclusive,
                    _ => AccessExclusive,
                };
                add(RelationName::from_range_var(rv), mode);
            }
        }
        N::TruncateStmt(stmt) => {
            for rel in &stmt.relations {
                if let Some(N::RangeVar(rv)) = &rel.node {
                    add(RelationName::from_range_var(rv), AccessExclusive);
                }
            }
        }
        N::CreateTrigStmt(stmt) => {
            if let Some(rv) = &stmt.relation {
                add(RelationName::from_range_var(rv), ShareRowExclusive);
            }
        }
        N::LockStmt(stmt) => {
            let mode = lock_stmt_mode(stmt.mode);
            for rel in &stmt.relations {
                if let Some(N::RangeVar(rv)) = &rel.node {
                    add(RelationName::from_range_var(rv), mode);
                }
            }
        }
        N::VacuumStmt(stmt) => {
            let full = stmt.options.iter().any(|o| matches!(&o.node, Some(N::DefElem(d)) if d.defname == "full"));
            let mode = if full { AccessExclusive } else { ShareUpdateExclusive };
            for rel in &stmt.rels {
                if let Some(N::VacuumRelation(vr)) = &rel.node {
                    if let Some(rv) = &vr.relation {
                        add(RelationName::from_range_var(rv), mode);
                    }
                }
            }
        }
        N::ClusterStmt(stmt) => {
            if let Some(rv) = &stmt.relation {
                add(RelationName::from_range_var(rv), AccessExclusive);
            }
        }
        N::RefreshMatViewStmt(stmt) => {
            if let Some(rv) = &stmt.relation {
                add(RelationName::from_range_var(rv), if stmt.concurrent { Exclusive } else { AccessExclusive });
            }
        }
        N::ReindexStmt(stmt) => {
            let concurrent = stmt.params.iter().any(|o| matches!(&o.node, Some(N::DefElem(d)) if d.defname == "concurrently"));
            if let Some(rv) = &stmt.relation {
                let mode = match (concurrent, stmt.kind()) {
                    (true, _) => ShareUpdateExclusive,
                    (false, pg::ReindexObjectType::ReindexObjectIndex) => AccessExclusive,
                    (false, _) => Share,
                };
                add(RelationName::from_range_var(rv), mode);
            }
        }
        N::CreateStmt(stmt) => {
            for elt in &stmt.table_elts {
                for referenced in referenced_tables_of_element(elt) {
                    add(referenced, ShareRowExclusive);
                }
            }
            for parent in &stmt.inh_relations {
                if let Some(N::RangeVar(rv)) = &parent.node {
                    add(RelationName::from_range_var(rv), if stmt.partbound.is_some() { AccessExclusive } else { ShareUpdateExclusive });
                }
            }
        }
        N::InsertStmt(stmt) => {
            if let Some(rv) = &stmt.relation {
                add(RelationName::from_range_var(rv), RowExclusive);
            }
        }
        N::UpdateStmt(stmt) => {
            if let Some(rv) = &stmt.relation {
                add(RelationName::from_range_var(rv), RowExclusive);
            }
        }
        N::DeleteStmt(stmt) => {
            if let Some(rv) = &stmt.relation {
                add(RelationName::from_range_var(rv), RowExclusive);
            }
        }
        N::CommentStmt(stmt) => {
            if matches!(stmt.objtype(), ObjectType::ObjectTable | ObjectType::ObjectColumn) {
                if let Some(N::List(list)) = stmt.object.as_deref().and_then(|o| o.node.as_ref()) {
                    let items = if stmt.objtype() == ObjectType::ObjectColumn {
                        list.items.split_last().map_or(&[][..], |(_, rest)| rest)
                    } else {
                        &list.items[..]
                    };
                    if let Some(name) = RelationName::from_name_list(items) {
                        add(name, ShareUpdateExclusive);
                    }
                }
            }
        }
        _ => {}
    }
    strongest_per_relation(locks)
}

fn strongest_per_relation(locks: Vec<RelationLock>) -> Vec<RelationLock> {
    let mut merged: Vec<RelationLock> = Vec::with_capacity(locks.len());
    for lock in locks {
        match merged.iter_mut().find(|m| m.relation.same_as(&lock.relation)) {
            Some(existing) => existing.mode = existing.mode.max(lock.mode),
            None => merged.push(lock),
        }
    }
    merged
}

pub fn lock_stmt_mode(mode: i32) -> LockMode {
    match mode {
        1 => LockMode::AccessShare,
        2 => LockMode::RowShare,
        3 => LockMode::RowExclusive,
        4 => LockMode::ShareUpdateExclusive,
        5 => LockMode::Share,
        6 => LockMode::ShareRowExclusive,
        7 => LockMode::Exclusive,
        _ => LockMode::AccessExclusive,
    }
}

/// The subcommands of an ALTER TABLE, in order.
pub fn alter_cmds(stmt: &pg::AlterTableStmt) -> impl Iterator<Item = &pg::AlterTableCmd> {
    stmt.cmds.iter().filter_map(|c| match &c.node {
        Some(N::AlterTableCmd(cmd)) => Some(&**cmd),
        _ => None,
    })
}

/// The column definition an `ADD COLUMN` carries.
pub fn column_def_of(cmd: &pg::AlterTableCmd) -> Option<&pg::ColumnDef> {
    match cmd.def.as_deref()?.node.as_ref()? {
        N::ColumnDef(c) => Some(c),
        _ => None,
    }
}

/// The constraints attached to a column definition.
pub fn column_constraints(col: &pg::ColumnDef) -> impl Iterator<Item = &pg::Constraint> {
    col.constraints.iter().filter_map(|c| match &c.node {
        Some(N::Constraint(c)) => Some(&**c),
        _ => None,
    })
}

fn referenced_tables_of_cmd(cmd: &pg::AlterTableCmd) -> Vec<RelationName> {
    match cmd.def.as_deref().and_then(|d| d.node.as_ref()) {
        Some(N::Constraint(c)) => foreign_table(c).into_iter().collect(),
        Some(N::ColumnDef(col)) => column_constraints(col).filter_map(foreign_table).collect(),
        _ => Vec::new(),
    }
}

fn referenced_tables_of_element(elt: &pg::Node) -> Vec<RelationName> {
    match &elt.node {
        Some(N::Constraint(c)) => foreign_table(c).into_iter().collect(),
        Some(N::ColumnDef(col)) => column_constraints(col).filter_map(foreign_table).collect(),
        _ => Vec::new(),
    }
}

/// The table a FOREIGN KEY constraint points at.
pub fn foreign_table(c: &pg::Constraint) -> Option<RelationName> {
    if c.contype() != ConstrType::ConstrForeign {
        return None;
    }
    c.pktable.as_ref().map(RelationName::from_range_var)
}

fn partition_of(cmd: &pg::AlterTableCmd) -> Option<RelationName> {
    match cmd.def.as_deref()?.node.as_ref()? {
        N::PartitionCmd(p) => p.name.as_ref().map(RelationName::from_range_var),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locks(sql: &str) -> Vec<(String, LockMode)> {
        let tree = crate::pg_ffi::parse(sql).unwrap();
        let node = tree.stmts[0].stmt.as_ref().unwrap().node.as_ref().unwrap();
        statement_locks(node, 15).into_iter().map(|l| (l.relation.to_string(), l.mode)).collect()
    }

    #[test]
    fn foreign_key_locks_both_tables() {
        assert_eq!(
            locks("ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id)"),
            vec![("orders".into(), LockMode::ShareRowExclusive), ("users".into(), LockMode::ShareRowExclusive)]
        );
    }

    #[test]
    fn check_constraint_takes_access_exclusive() {
        assert_eq!(locks("ALTER TABLE t ADD CONSTRAINT c CHECK (x > 0)"), vec![("t".into(), LockMode::AccessExclusive)]);
    }

    #[test]
    fn strongest_subcommand_wins() {
        assert_eq!(
            locks("ALTER TABLE t VALIDATE CONSTRAINT c, ALTER COLUMN a SET NOT NULL"),
            vec![("t".into(), LockMode::AccessExclusive)]
        );
        assert_eq!(locks("ALTER TABLE t VALIDATE CONSTRAINT c"), vec![("t".into(), LockMode::ShareUpdateExclusive)]);
    }

    #[test]
    fn index_builds() {
        assert_eq!(locks("CREATE INDEX i ON public.t (a)"), vec![("public.t".into(), LockMode::Share)]);
        assert_eq!(locks("CREATE INDEX CONCURRENTLY i ON t (a)"), vec![("t".into(), LockMode::ShareUpdateExclusive)]);
    }
}
