//! ALTER TABLE: the lock of each subcommand, and what it rewrites and scans.
//!
//! The lock levels follow `AlterTableGetLockLevel` in PostgreSQL's `tablecmds.c`; what each
//! subcommand does to the table's storage follows the phase-3 decisions in the same file
//! (`tab->rewrite`, `tab->verify_new_notnull`, constraints queued for validation).

use super::catalog::{column_type, Catalog, RelKind};
use super::exprs::{self, Certainty};
use super::{column_constraints, column_def_of, constraint_of, foreign_table, Effects};
use crate::locks::LockMode;
use crate::names::RelationName;
use pg_query::protobuf::{self as pg, node::Node as N, AlterTableType as At, ConstrType};

/// The lock level of one ALTER TABLE subcommand on the altered table.
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

/// Storage parameters that only steer autovacuum, the planner and vacuum take SHARE UPDATE
/// EXCLUSIVE (their `lockmode` in `reloptions.c`); anything else takes ACCESS EXCLUSIVE.
fn rel_options_lock(cmd: &pg::AlterTableCmd) -> LockMode {
    let Some(N::List(list)) = cmd.def.as_deref().and_then(|d| d.node.as_ref()) else {
        return LockMode::AccessExclusive;
    };
    let light = list.items.iter().all(|item| match &item.node {
        Some(N::DefElem(d)) => {
            let name = d.defname.as_str();
            (d.defnamespace.is_empty() || d.defnamespace == "toast")
                && (name.starts_with("autovacuum_")
                    || matches!(
                        name,
                        "fillfactor"
                            | "parallel_workers"
                            | "vacuum_index_cleanup"
                            | "vacuum_truncate"
                            | "toast_tuple_target"
                            | "log_autovacuum_min_duration"
                            | "vacuum_max_eager_freeze_failure_rate"
                    ))
        }
        _ => false,
    });
    if light {
        LockMode::ShareUpdateExclusive
    } else {
        LockMode::AccessExclusive
    }
}

/// Subcommands that PostgreSQL applies to the table alone, never to its partitions or
/// inheritance children.
fn recurses(subtype: At) -> bool {
    !matches!(
        subtype,
        At::AtAttachPartition
            | At::AtDetachPartition
            | At::AtDetachPartitionFinalize
            | At::AtAddInherit
            | At::AtDropInherit
            | At::AtClusterOn
            | At::AtDropCluster
            | At::AtReplicaIdentity
            | At::AtEnableRowSecurity
            | At::AtDisableRowSecurity
            | At::AtForceRowSecurity
            | At::AtNoForceRowSecurity
            | At::AtChangeOwner
            | At::AtSetRelOptions
            | At::AtResetRelOptions
            | At::AtReplaceRelOptions
            | At::AtGenericOptions
            | At::AtAddOf
            | At::AtDropOf
            | At::AtSetLogged
            | At::AtSetUnLogged
            | At::AtSetTableSpace
            | At::AtSetAccessMethod
            | At::AtEnableRule
            | At::AtEnableAlwaysRule
            | At::AtEnableReplicaRule
            | At::AtDisableRule
    )
}

/// The effects of one ALTER TABLE statement.
pub(super) fn alter_table(e: &mut Effects, stmt: &pg::AlterTableStmt, v: u32, cat: &Catalog) {
    let Some(rv) = &stmt.relation else { return };
    let table = RelationName::from_range_var(rv);
    for cmd in super::alter_cmds(stmt) {
        subcommand(e, &table, cmd, v, cat);
        if rv.inh && recurses(cmd.subtype()) {
            for child in cat.descendants(&table).unwrap_or_default() {
                subcommand(e, &child, cmd, v, cat);
            }
        }
    }
}

/// Whether the relation has storage of its own: not a partitioned table, a view, or an index
/// of a partitioned table (a partitioned index).
fn has_storage(cat: &Catalog, rel: &RelationName) -> bool {
    match cat.kind(rel) {
        Some(RelKind::PartitionedTable | RelKind::View) => false,
        Some(RelKind::Index) => {
            cat.table_of_index(rel).is_none_or(|table| cat.kind(&table) != Some(RelKind::PartitionedTable))
        }
        _ => true,
    }
}

fn subcommand(e: &mut Effects, table: &RelationName, cmd: &pg::AlterTableCmd, v: u32, cat: &Catalog) {
    use LockMode::*;
    let lock = alter_table_cmd_lock(cmd, v);
    e.lock(table, lock);
    let storage = has_storage(cat, table);
    let def = cmd.def.as_deref().and_then(|d| d.node.as_ref());
    match cmd.subtype() {
        At::AtAddColumn => {
            let Some(col) = column_def_of(cmd) else { return };
            let (rewrite, scan) = add_column(col, v, cat);
            if storage {
                e.rewrite_if(table, rewrite);
                e.scan_if(table, scan);
            }
            let has_default =
                col.raw_default.is_some() || column_constraints(col).any(|c| c.contype() == ConstrType::ConstrDefault);
            for c in column_constraints(col) {
                if let Some(parent) = foreign_table(c) {
                    if !parent.same_as(table) {
                        e.lock(&parent, ShareRowExclusive);
                        // Validated only when a default fills the column; the referenced
                        // table is then read by a join the planner chooses.
                        if has_default && has_storage(cat, &parent) {
                            e.scan_if(&parent, Certainty::Maybe);
                        }
                    }
                }
            }
        }
        At::AtAlterColumnType => {
            let Some(N::ColumnDef(col)) = def else { return };
            let new = col.type_name.as_ref().map(column_type);
            let old = cat.column_type_of(table, &cmd.name);
            // `USING` with anything but the column itself (or the column cast to the new
            // type, which is what no `USING` means) computes new values: a rewrite.
            let using = col.raw_default.as_deref().and_then(|d| d.node.as_ref());
            let plain_using = match using {
                None => true,
                Some(N::TypeCast(cast)) => is_column(cast.arg.as_deref(), &cmd.name),
                Some(N::ColumnRef(_)) => is_column(col.raw_default.as_deref(), &cmd.name),
                Some(_) => false,
            };
            let rewrite = match (old, new) {
                _ if !plain_using => Certainty::Yes,
                (Some(old), Some(new)) => exprs::type_change_rewrites(&old, &new, v),
                _ => Certainty::Maybe,
            };
            if storage {
                e.rewrite_if(table, rewrite);
                e.scan_if(table, rewrite);
            }
            // A new collation without new storage still rebuilds every index on the column,
            // each built by reading the whole table under the statement's lock.
            if rewrite != Certainty::Yes && storage {
                e.scan_if(table, collation_rebuild(table, &cmd.name, col, cat));
            }
        }
        At::AtSetNotNull => {
            let known = cat.column(table, &cmd.name);
            let proven = v >= 12 && cat.not_null_proven(table, &cmd.name) == Some(true);
            let scan = if known.is_some_and(|c| c.not_null) || proven {
                Certainty::No
            } else if known.is_some() {
                Certainty::Yes
            } else {
                // The column may be NOT NULL already, or a CHECK may prove it.
                Certainty::Maybe
            };
            if storage {
                e.scan_if(table, scan);
            }
        }
        At::AtAddConstraint | At::AtReAddConstraint => {
            let Some(c) = constraint_of(cmd) else { return };
            add_constraint(e, table, c, storage, cat);
        }
        At::AtValidateConstraint => {
            let known = cat.constraint(table, &cmd.name);
            if known.flatten().is_some_and(|c| c.valid) {
                return;
            }
            if storage {
                e.scan_if(table, if known.is_some() { Certainty::Yes } else { Certainty::Maybe });
            }
            if let Some(parent) = known.flatten().and_then(|c| c.references.clone()) {
                e.lock(&parent, RowShare);
                e.scan_if(&parent, Certainty::Maybe);
            }
        }
        // PostgreSQL 18: a foreign key's triggers live on both tables. `NOT ENFORCED` drops
        // them, which locks the referenced table as a drop does; `ENFORCED` creates them and
        // validates the rows of both tables, as `VALIDATE CONSTRAINT` does, under the
        // statement's `ACCESS EXCLUSIVE` lock.
        At::AtAlterConstraint if v >= 18 => {
            let Some(N::AtalterConstraint(alter)) = def else { return };
            if !alter.alter_enforceability {
                return;
            }
            let known = cat.constraint(table, &alter.conname);
            let Some(constraint) = known.flatten() else {
                if alter.is_enforced && storage {
                    e.scan_if(table, Certainty::Maybe);
                }
                return;
            };
            if constraint.enforced == alter.is_enforced {
                return;
            }
            let parent = constraint.references.clone();
            if !alter.is_enforced {
                if let Some(parent) = parent {
                    e.lock(&parent, AccessExclusive);
                }
                return;
            }
            if storage {
                e.scan_if(table, Certainty::Yes);
            }
            if let Some(parent) = parent {
                e.lock(&parent, ShareRowExclusive);
                e.scan_if(&parent, Certainty::Maybe);
            }
        }
        At::AtDropConstraint => {
            // Dropping a foreign key drops its triggers on the referenced table too.
            if let Some(parent) = cat.constraint(table, &cmd.name).flatten().and_then(|c| c.references.clone()) {
                e.lock(&parent, AccessExclusive);
            }
        }
        // SET LOGGED and SET UNLOGGED copy the table into new storage; so does a new
        // generation expression, which recomputes the column.
        At::AtSetLogged | At::AtSetUnLogged | At::AtSetExpression if storage => {
            e.rewrite_if(table, Certainty::Yes);
            e.scan_if(table, Certainty::Yes);
        }
        // The relation's files are copied block by block into the new tablespace: new
        // storage, but no scan. The indexes of a table stay where they are. Moving to the
        // tablespace the relation is in does nothing, and `pg_default` is where most are.
        At::AtSetTableSpace if storage => {
            let rewrite = if cmd.name == "pg_default" { Certainty::Maybe } else { Certainty::Yes };
            e.rewrite_if(table, rewrite);
        }
        At::AtSetAccessMethod => {
            // The table's own access method again is a no-op.
            let rewrite = match cat.relation(table) {
                Some(info) => Certainty::from_bool(info.access_method != cmd.name && !cmd.name.is_empty()),
                None => Certainty::Maybe,
            };
            if storage {
                e.rewrite_if(table, rewrite);
                e.scan_if(table, rewrite);
            }
        }
        At::AtAddInherit => {
            if let Some(N::RangeVar(parent)) = def {
                e.lock(&RelationName::from_range_var(parent), ShareUpdateExclusive);
            }
        }
        At::AtDropInherit => {
            if let Some(N::RangeVar(parent)) = def {
                e.lock(&RelationName::from_range_var(parent), AccessShare);
            }
        }
        At::AtAttachPartition => {
            let Some(N::PartitionCmd(p)) = def else { return };
            let Some(partition) = p.name.as_ref().map(RelationName::from_range_var) else { return };
            e.lock(&partition, AccessExclusive);
            // The partition's rows are checked against the bound unless a CHECK proves it.
            let scan = match cat.has_check_constraints(&partition) {
                Some(false) => Certainty::Yes,
                _ => Certainty::Maybe,
            };
            if has_storage(cat, &partition) {
                e.scan_if(&partition, scan);
            }
            // The default partition's rows must not fall into the new bound.
            if let Some(Some(default)) = cat.default_partition(table) {
                e.lock(&default, AccessExclusive);
                e.scan_if(&default, Certainty::Yes);
            }
        }
        At::AtDetachPartition | At::AtDetachPartitionFinalize => {
            let Some(N::PartitionCmd(p)) = def else { return };
            let Some(partition) = p.name.as_ref().map(RelationName::from_range_var) else { return };
            // Even `CONCURRENTLY` ends with a second transaction that takes ACCESS EXCLUSIVE
            // on the partition (once no one uses the partitioned table any more).
            e.lock(&partition, AccessExclusive);
            if let Some(Some(default)) = cat.default_partition(table) {
                if !default.same_as(&partition) {
                    e.lock(&default, AccessExclusive);
                }
            }
        }
        _ => {}
    }
}

fn is_column(node: Option<&pg::Node>, column: &str) -> bool {
    match node.and_then(|n| n.node.as_ref()) {
        Some(N::ColumnRef(r)) => {
            matches!(r.fields.as_slice(), [f] if matches!(&f.node, Some(N::String(s)) if s.sval == column))
        }
        _ => false,
    }
}

/// Whether `ADD COLUMN` rewrites and whether it scans the table.
/// Whether `ALTER COLUMN … TYPE … COLLATE` rebuilds indexes: when the collation changes and
/// an index covers the column. `Maybe` where the catalog does not know the column or its
/// indexes.
fn collation_rebuild(table: &RelationName, column: &str, col: &pg::ColumnDef, cat: &Catalog) -> Certainty {
    let Some(new) = super::catalog::collation_of(col) else { return Certainty::No };
    let Some(known) = cat.column(table, column) else { return Certainty::Maybe };
    if known.collation.as_deref() == Some(new.as_str()) {
        return Certainty::No;
    }
    let indexed = cat.index_on_column(table, column).is_some();
    // Constraint indexes (keys, unique) are not listed as indexes of their own.
    let keyed = cat.relation(table).is_some_and(|t| {
        t.constraints.iter().any(|c| {
            matches!(c.kind, ConstrType::ConstrPrimary | ConstrType::ConstrUnique | ConstrType::ConstrExclusion)
                && c.columns.iter().any(|c| c == column)
        })
    });
    Certainty::from_bool(indexed || keyed)
}

fn add_column(col: &pg::ColumnDef, v: u32, cat: &Catalog) -> (Certainty, Certainty) {
    let ty = col.type_name.as_ref().map(column_type);
    let constraints: Vec<&pg::Constraint> = column_constraints(col).collect();
    let default = col.raw_default.as_deref().or_else(|| {
        constraints.iter().find(|c| c.contype() == ConstrType::ConstrDefault).and_then(|c| c.raw_expr.as_deref())
    });
    let generated_stored =
        constraints.iter().any(|c| c.contype() == ConstrType::ConstrGenerated && (c.generated_kind != "v" || v < 18));
    let identity = constraints.iter().any(|c| c.contype() == ConstrType::ConstrIdentity) || !col.identity.is_empty();
    let serial = ty.as_ref().is_some_and(exprs::is_serial);
    let domain = match &ty {
        Some(t) if exprs::is_base_type(t) || exprs::is_serial(t) || cat.is_known_type(&t.name) => Some(false),
        Some(t) => cat.domain_has_constraints(&t.name),
        None => None,
    };
    let volatile_default = match default {
        None => Certainty::No,
        Some(expr) => match exprs::volatility(expr, cat, v) {
            Some(super::catalog::Volatility::Volatile) => Certainty::Yes,
            Some(_) => Certainty::No,
            None => Certainty::Maybe,
        },
    };
    let rewrite = if generated_stored || identity || serial || v < 11 && default.is_some() {
        Certainty::Yes
    } else {
        let domain = match domain {
            Some(true) => Certainty::Yes,
            Some(false) => Certainty::No,
            None => Certainty::Maybe,
        };
        volatile_default.max(domain)
    };
    let not_null = col.is_not_null || constraints.iter().any(|c| c.contype() == ConstrType::ConstrNotnull);
    let validates = constraints.iter().any(|c| match c.contype() {
        ConstrType::ConstrCheck => super::constraint_checks_rows(Some(col), c),
        ConstrType::ConstrPrimary | ConstrType::ConstrUnique | ConstrType::ConstrExclusion => true,
        // A foreign key on a new column is not validated: the column is all NULL (the
        // parser marks it `skip_validation`), unless a default fills it.
        ConstrType::ConstrForeign => default.is_some() && super::constraint_checks_rows(Some(col), c),
        _ => false,
    });
    let scan = if validates || (not_null && default.is_none()) { Certainty::Yes } else { rewrite };
    (rewrite, scan.max(rewrite))
}

fn add_constraint(e: &mut Effects, table: &RelationName, c: &pg::Constraint, storage: bool, cat: &Catalog) {
    match c.contype() {
        // `ADD CONSTRAINT … NOT NULL col` (PostgreSQL 18) checks the column like SET NOT NULL.
        ConstrType::ConstrNotnull if storage && !c.skip_validation => {
            let column = c.keys.iter().find_map(|k| match &k.node {
                Some(N::String(s)) => Some(s.sval.as_str()),
                _ => None,
            });
            let known = column.and_then(|col| cat.column(table, col));
            let scan = match known {
                Some(col) if col.not_null => Certainty::No,
                Some(_) => Certainty::Yes,
                None => Certainty::Maybe,
            };
            e.scan_if(table, scan);
        }
        ConstrType::ConstrCheck if storage && super::checks_existing_rows(c) => e.scan_if(table, Certainty::Yes),
        ConstrType::ConstrPrimary | ConstrType::ConstrUnique | ConstrType::ConstrExclusion if storage => {
            if c.indexname.is_empty() {
                e.scan_if(table, Certainty::Yes);
            } else if c.contype() == ConstrType::ConstrPrimary {
                // A primary key on an existing index makes its columns NOT NULL, which
                // scans the table unless they are already.
                let index = RelationName::new(table.schema.as_deref(), &c.indexname);
                let columns = cat.relation(&index).map(|i| i.index_columns.clone()).unwrap_or_default();
                let nullable: Vec<Option<bool>> =
                    columns.iter().map(|col| cat.column(table, col).map(|c| !c.not_null)).collect();
                let scan = if columns.is_empty() || nullable.iter().any(Option::is_none) {
                    Certainty::Maybe
                } else {
                    Certainty::from_bool(nullable.contains(&Some(true)))
                };
                e.scan_if(table, scan);
            }
        }
        ConstrType::ConstrForeign => {
            let Some(parent) = foreign_table(c) else { return };
            if !parent.same_as(table) {
                e.lock(&parent, LockMode::ShareRowExclusive);
            }
            if super::checks_existing_rows(c) {
                if storage {
                    e.scan_if(table, Certainty::Yes);
                }
                if !parent.same_as(table) && has_storage(cat, &parent) {
                    e.scan_if(&parent, Certainty::Maybe);
                }
            }
        }
        _ => {}
    }
}
