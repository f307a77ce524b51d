//! Which relations a statement locks and in which mode, which tables it rewrites and which
//! it scans, keyed by PostgreSQL version (11 to 18).
//!
//! Every answer here is checked against real servers (14 to 18) by the `lock-verify` crate:
//! see `verify/README.md`. The ALTER TABLE levels follow `AlterTableGetLockLevel` in
//! PostgreSQL's `tablecmds.c`.
//!
//! Terms, as the verification suite measures them:
//! - a *lock* is a relation lock the statement's backend holds or waits for (`pg_locks`),
//!   strongest mode per relation; relations the statement creates are left out;
//! - an *object lock* is the same for a schema or a type (`pg_locks` rows of type `object`),
//!   named where the statement is about that schema or type;
//! - a table is *rewritten* when its `relfilenode` changes (new storage, old rows copied or
//!   thrown away, as with `TRUNCATE`, or its files copied block by block, as with
//!   `SET TABLESPACE`);
//! - a table is *scanned* when the statement reads all of it sequentially under its lock
//!   (`pg_stat_get_xact_numscans`): validation scans, index builds, rewrites.
//!
//! Where the answer depends on schema the model cannot see, it says "may rewrite" or
//! "may scan" rather than guess; a [`Catalog`] fed with the earlier migrations turns most of
//! those into definite answers.

mod alter_table;
pub mod builtin_functions;
pub mod catalog;
pub mod exprs;
#[cfg(test)]
mod tests;

pub use alter_table::alter_table_cmd_lock;
pub use catalog::Catalog;
use exprs::Certainty;

use crate::locks::LockMode;
use crate::names::RelationName;
use pg_query::protobuf::{self as pg, node::Node as N, ConstrType, ObjectType};

/// One relation lock a statement takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelationLock {
    pub relation: RelationName,
    pub mode: LockMode,
}

/// A database object other than a relation that a statement locks: `pg_locks` rows of type
/// `object`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockedObject {
    Schema(String),
    /// An enum, domain or other type, named the way relations are.
    Type(RelationName),
}

impl LockedObject {
    fn same_as(&self, other: &LockedObject) -> bool {
        match (self, other) {
            (LockedObject::Schema(a), LockedObject::Schema(b)) => a == b,
            (LockedObject::Type(a), LockedObject::Type(b)) => a.same_as(b),
            _ => false,
        }
    }
}

/// One lock on a database object other than a relation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectLock {
    pub object: LockedObject,
    pub mode: LockMode,
}

/// Every relation of a schema locked in one mode, as `DROP SCHEMA … CASCADE` locks them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaContentsLock {
    pub schema: String,
    pub mode: LockMode,
    /// Whether [`StatementEffects::locks`] lists the schema's relations and the relations
    /// elsewhere that depend on them or that their foreign keys point at. When the catalog does
    /// not know what the schema holds, it does not: those are locked all the same, unnamed.
    pub listed: bool,
}

/// Everything the model predicts for one statement.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatementEffects {
    /// Strongest mode per relation, in the order the relations come up.
    pub locks: Vec<RelationLock>,
    /// Strongest mode per schema or type the statement locks, in the order they come up.
    pub objects: Vec<ObjectLock>,
    /// Schemas whose every relation the statement locks, whether `locks` names them or not.
    pub schema_contents: Vec<SchemaContentsLock>,
    /// Tables whose storage is replaced.
    pub rewrites: Vec<RelationName>,
    /// Tables read in full under the statement's lock; includes every rewritten table whose
    /// rows are copied.
    pub scans: Vec<RelationName>,
    /// Tables that are rewritten or not depending on schema the model did not see.
    pub may_rewrite: Vec<RelationName>,
    /// Tables that are scanned or not depending on schema or plans the model did not see.
    pub may_scan: Vec<RelationName>,
}

/// Accumulates effects while a statement is walked; [`Effects::finish`] tidies them.
#[derive(Default)]
pub(crate) struct Effects {
    locks: Vec<RelationLock>,
    objects: Vec<ObjectLock>,
    schema_contents: Vec<SchemaContentsLock>,
    rewrites: Vec<RelationName>,
    scans: Vec<RelationName>,
    may_rewrite: Vec<RelationName>,
    may_scan: Vec<RelationName>,
}

impl Effects {
    pub(crate) fn lock(&mut self, relation: &RelationName, mode: LockMode) {
        match self.locks.iter_mut().find(|l| l.relation.same_as(relation)) {
            Some(existing) => existing.mode = existing.mode.max(mode),
            None => self.locks.push(RelationLock { relation: relation.clone(), mode }),
        }
    }

    pub(crate) fn lock_object(&mut self, object: LockedObject, mode: LockMode) {
        match self.objects.iter_mut().find(|l| l.object.same_as(&object)) {
            Some(existing) => existing.mode = existing.mode.max(mode),
            None => self.objects.push(ObjectLock { object, mode }),
        }
    }

    pub(crate) fn rewrite_if(&mut self, relation: &RelationName, certainty: Certainty) {
        match certainty {
            Certainty::Yes => push_unique(&mut self.rewrites, relation),
            Certainty::Maybe => push_unique(&mut self.may_rewrite, relation),
            Certainty::No => {}
        }
    }

    pub(crate) fn scan_if(&mut self, relation: &RelationName, certainty: Certainty) {
        match certainty {
            Certainty::Yes => push_unique(&mut self.scans, relation),
            Certainty::Maybe => push_unique(&mut self.may_scan, relation),
            Certainty::No => {}
        }
    }

    fn finish(mut self) -> StatementEffects {
        let rewrites = self.rewrites.clone();
        let scans = self.scans.clone();
        self.may_rewrite.retain(|r| !rewrites.iter().any(|d| d.same_as(r)));
        self.may_scan.retain(|r| !scans.iter().any(|d| d.same_as(r)));
        StatementEffects {
            locks: self.locks,
            objects: self.objects,
            schema_contents: self.schema_contents,
            rewrites: self.rewrites,
            scans: self.scans,
            may_rewrite: self.may_rewrite,
            may_scan: self.may_scan,
        }
    }
}

fn push_unique(list: &mut Vec<RelationName>, relation: &RelationName) {
    if !list.iter().any(|r| r.same_as(relation)) {
        list.push(relation.clone());
    }
}

/// Every relation lock the statement takes, strongest per relation, knowing no schema.
pub fn statement_locks(node: &N, pg_version: u32) -> Vec<RelationLock> {
    statement_effects(node, pg_version, &Catalog::default()).locks
}

/// Everything the model predicts for a statement, given what the catalog knows.
pub fn statement_effects(node: &N, pg_version: u32, catalog: &Catalog) -> StatementEffects {
    let mut e = Effects::default();
    effects(&mut e, node, pg_version, catalog);
    e.finish()
}

fn effects(e: &mut Effects, node: &N, v: u32, cat: &Catalog) {
    use LockMode::*;
    match node {
        N::AlterTableStmt(stmt) => alter_table::alter_table(e, stmt, v, cat),
        N::IndexStmt(stmt) => {
            let Some(rv) = &stmt.relation else { return };
            let table = RelationName::from_range_var(rv);
            let mode = if stmt.concurrent { ShareUpdateExclusive } else { Share };
            e.lock(&table, mode);
            // `IF NOT EXISTS` on an existing index stops after locking the table.
            let name = RelationName::new(table.schema.as_deref(), &stmt.idxname);
            let builds = match (stmt.if_not_exists, cat.relation(&name).is_some()) {
                (false, _) => Certainty::Yes,
                (true, true) => return,
                (true, false) if cat.relation(&table).is_some() => Certainty::Yes,
                (true, false) => Certainty::Maybe,
            };
            scan_if_stored(e, cat, &table, builds);
            // On a partitioned table the index is built on every partition, unless `ON ONLY`.
            if rv.inh {
                for child in cat.descendants(&table).unwrap_or_default() {
                    e.lock(&child, mode);
                    scan_if_stored(e, cat, &child, Certainty::Yes);
                }
            }
        }
        N::DropStmt(stmt) => drop_stmt(e, stmt, cat),
        N::RenameStmt(stmt) => {
            let Some(rv) = &stmt.relation else { return };
            let rel = RelationName::from_range_var(rv);
            let mode = match stmt.rename_type() {
                ObjectType::ObjectIndex if v >= 12 => ShareUpdateExclusive,
                _ => AccessExclusive,
            };
            e.lock(&rel, mode);
            // Renaming a column renames it in every partition and child too.
            if stmt.rename_type() == ObjectType::ObjectColumn && rv.inh {
                for child in cat.descendants(&rel).unwrap_or_default() {
                    e.lock(&child, mode);
                }
            }
        }
        N::AlterObjectSchemaStmt(stmt) => {
            if let Some(rv) = &stmt.relation {
                e.lock(&RelationName::from_range_var(rv), AccessExclusive);
            }
        }
        N::TruncateStmt(stmt) => truncate(e, stmt, cat),
        N::CreateTrigStmt(stmt) => {
            let Some(rv) = &stmt.relation else { return };
            let table = RelationName::from_range_var(rv);
            e.lock(&table, ShareRowExclusive);
            if rv.inh && stmt.row {
                for child in cat.descendants(&table).unwrap_or_default() {
                    e.lock(&child, ShareRowExclusive);
                }
            }
        }
        N::LockStmt(stmt) => {
            let mode = lock_stmt_mode(stmt.mode);
            for rv in range_vars(&stmt.relations) {
                let rel = RelationName::from_range_var(rv);
                e.lock(&rel, mode);
                if rv.inh {
                    for child in cat.descendants(&rel).unwrap_or_default() {
                        e.lock(&child, mode);
                    }
                }
                // Locking a view locks the tables its query reads, in the same mode.
                if let Some(view) = cat.relation(&rel).filter(|r| r.kind == catalog::RelKind::View) {
                    for base in &view.reads {
                        e.lock(base, mode);
                    }
                }
            }
        }
        N::VacuumStmt(stmt) => {
            let full = vacuum_full(stmt);
            let mode = if full { AccessExclusive } else { ShareUpdateExclusive };
            for rel in &stmt.rels {
                let Some(N::VacuumRelation(vr)) = &rel.node else { continue };
                let Some(rv) = &vr.relation else { continue };
                let table = RelationName::from_range_var(rv);
                let mut tables = vec![table.clone()];
                tables.extend(cat.descendants(&table).unwrap_or_default());
                for t in &tables {
                    e.lock(t, mode);
                    if full && has_storage(cat, t) {
                        e.rewrite_if(t, Certainty::Yes);
                        e.scan_if(t, Certainty::Yes);
                    }
                }
            }
        }
        N::ClusterStmt(stmt) => {
            let Some(rv) = &stmt.relation else { return };
            let table = RelationName::from_range_var(rv);
            e.lock(&table, AccessExclusive);
            e.rewrite_if(&table, Certainty::Yes);
            // Every row is read, in index order: by a sort after a sequential scan, or by an
            // index scan where the planner finds that cheaper. Either way the whole table is
            // read under the lock (the servers chose the sort on every version).
            e.scan_if(&table, Certainty::Yes);
        }
        N::RefreshMatViewStmt(stmt) => {
            let Some(rv) = &stmt.relation else { return };
            let view = RelationName::from_range_var(rv);
            e.lock(&view, if stmt.concurrent { Exclusive } else { AccessExclusive });
            if stmt.concurrent {
                e.scan_if(&view, Certainty::Yes);
            } else {
                e.rewrite_if(&view, Certainty::Yes);
                rebuilds_indexes(e, cat, &view);
            }
            if stmt.skip_data {
                return;
            }
            for base in cat.relation(&view).map(|r| r.reads.clone()).unwrap_or_default() {
                e.lock(&base, AccessShare);
                e.scan_if(&base, Certainty::Maybe);
            }
        }
        N::ReindexStmt(stmt) => reindex(e, stmt, cat),
        N::CreateStmt(stmt) => create_table(e, stmt, cat),
        N::CreateTableAsStmt(stmt) => {
            // The new table (or materialized view) is locked by the statement that creates it.
            if let Some(rv) = stmt.into.as_ref().and_then(|i| i.rel.as_ref()) {
                e.lock(&RelationName::from_range_var(rv), AccessExclusive);
            }
            let skip = stmt.into.as_ref().is_some_and(|i| i.skip_data);
            if let Some(query) = stmt.query.as_deref().and_then(|q| q.node.as_ref()) {
                read_query(e, query, if skip { Certainty::No } else { Certainty::Maybe });
            }
        }
        N::ViewStmt(stmt) => {
            let Some(rv) = &stmt.view else { return };
            let view = RelationName::from_range_var(rv);
            if stmt.replace && cat.relation(&view).is_none_or(|r| r.kind == catalog::RelKind::View) {
                e.lock(&view, AccessExclusive);
            }
            if let Some(query) = stmt.query.as_deref().and_then(|q| q.node.as_ref()) {
                read_query(e, query, Certainty::No);
            }
        }
        N::InsertStmt(stmt) => {
            let Some(rv) = &stmt.relation else { return };
            let table = RelationName::from_range_var(rv);
            e.lock(&table, RowExclusive);
            if let Some(select) = stmt.select_stmt.as_deref().and_then(|s| s.node.as_ref()) {
                read_query(e, select, Certainty::Maybe);
            }
            // Foreign keys are checked with `SELECT … FOR KEY SHARE` on the referenced table.
            for parent in cat.references(&table).unwrap_or_default() {
                e.lock(&parent, RowShare);
            }
        }
        N::UpdateStmt(stmt) => {
            let Some(rv) = &stmt.relation else { return };
            let table = RelationName::from_range_var(rv);
            e.lock(&table, RowExclusive);
            scan_if_stored(e, cat, &table, if stmt.where_clause.is_none() { Certainty::Yes } else { Certainty::Maybe });
            for from in &stmt.from_clause {
                if let Some(node) = &from.node {
                    read_query(e, node, Certainty::Maybe);
                }
            }
        }
        N::DeleteStmt(stmt) => {
            let Some(rv) = &stmt.relation else { return };
            let table = RelationName::from_range_var(rv);
            e.lock(&table, RowExclusive);
            scan_if_stored(e, cat, &table, if stmt.where_clause.is_none() { Certainty::Yes } else { Certainty::Maybe });
            // Referencing rows are looked up with `SELECT … FOR KEY SHARE`.
            for child in cat.referenced_by(&table).unwrap_or_default() {
                e.lock(&child, RowShare);
                e.scan_if(&child, Certainty::Maybe);
            }
        }
        N::SelectStmt(select) => {
            let mode = if select.locking_clause.is_empty() { AccessShare } else { RowShare };
            for table in read_tables(node) {
                e.lock(&table, mode);
                e.scan_if(&table, Certainty::Maybe);
            }
        }
        N::CommentStmt(stmt) => {
            let Some(N::List(list)) = stmt.object.as_deref().and_then(|o| o.node.as_ref()) else { return };
            let items = match stmt.objtype() {
                ObjectType::ObjectTable
                | ObjectType::ObjectIndex
                | ObjectType::ObjectView
                | ObjectType::ObjectMatview
                | ObjectType::ObjectSequence
                | ObjectType::ObjectForeignTable => &list.items[..],
                ObjectType::ObjectColumn => list.items.split_last().map_or(&[][..], |(_, rest)| rest),
                _ => return,
            };
            if let Some(name) = RelationName::from_name_list(items) {
                e.lock(&name, ShareUpdateExclusive);
            }
        }
        N::AlterSeqStmt(stmt) => {
            let Some(rv) = &stmt.sequence else { return };
            let seq = RelationName::from_range_var(rv);
            e.lock(&seq, ShareRowExclusive);
            let rewrites =
                stmt.options.iter().any(|o| matches!(&o.node, Some(N::DefElem(d)) if d.defname != "owned_by"));
            if rewrites {
                e.rewrite_if(&seq, Certainty::Yes);
            }
            for o in &stmt.options {
                let Some(N::DefElem(d)) = &o.node else { continue };
                if d.defname != "owned_by" {
                    continue;
                }
                if let Some(N::List(list)) = d.arg.as_deref().and_then(|a| a.node.as_ref()) {
                    if let Some((_, table)) = list.items.split_last() {
                        if let Some(table) = RelationName::from_name_list(table) {
                            e.lock(&table, AccessShare);
                        }
                    }
                }
            }
        }
        N::AlterDomainStmt(stmt) => {
            // Adding a constraint (or NOT NULL) to a domain checks every column of that type.
            let checks = match (stmt.subtype.as_str(), stmt.def.as_deref().and_then(|d| d.node.as_ref())) {
                ("C", Some(N::Constraint(c))) => !c.skip_validation,
                // `O` is SET NOT NULL, `V` is VALIDATE CONSTRAINT.
                ("O", _) | ("V", _) => true,
                _ => false,
            };
            if !checks {
                return;
            }
            let Some(name) = stmt.type_name.iter().rev().find_map(|n| match &n.node {
                Some(N::String(s)) => Some(s.sval.clone()),
                _ => None,
            }) else {
                return;
            };
            for table in cat.tables_using_type(&name) {
                e.lock(&table, Share);
                e.scan_if(&table, Certainty::Yes);
            }
        }
        N::AlterEnumStmt(stmt) => {
            // Adding or renaming a label takes EXCLUSIVE on the type (`AddEnumLabel`,
            // `RenameEnumLabel`), and no lock on the tables that use it.
            if let Some(name) = RelationName::from_name_list(&stmt.type_name) {
                e.lock_object(LockedObject::Type(name), Exclusive);
            }
        }
        N::GrantStmt(stmt) => {
            // From PostgreSQL 18 on, GRANT and REVOKE lock each table they change.
            if v < 18 || stmt.targtype() != pg::GrantTargetType::AclTargetObject {
                return;
            }
            if matches!(stmt.objtype(), ObjectType::ObjectTable | ObjectType::ObjectSequence) {
                for rv in range_vars(&stmt.objects) {
                    e.lock(&RelationName::from_range_var(rv), AccessShare);
                }
            }
        }
        N::CreatePolicyStmt(stmt) => {
            if let Some(rv) = &stmt.table {
                e.lock(&RelationName::from_range_var(rv), AccessExclusive);
            }
        }
        N::AlterPolicyStmt(stmt) => {
            if let Some(rv) = &stmt.table {
                e.lock(&RelationName::from_range_var(rv), AccessExclusive);
            }
        }
        N::RuleStmt(stmt) => {
            if let Some(rv) = &stmt.relation {
                e.lock(&RelationName::from_range_var(rv), AccessExclusive);
            }
        }
        N::ExplainStmt(stmt) => {
            // Only EXPLAIN ANALYZE runs the statement; plain EXPLAIN still plans it.
            if let Some(query) = stmt.query.as_deref().and_then(|q| q.node.as_ref()) {
                effects(e, query, v, cat);
            }
        }
        _ => {}
    }
}

fn drop_stmt(e: &mut Effects, stmt: &pg::DropStmt, cat: &Catalog) {
    use LockMode::*;
    let cascade = stmt.behavior() == pg::DropBehavior::DropCascade;
    let names = || {
        stmt.objects.iter().filter_map(|object| match &object.node {
            Some(N::List(list)) => Some(&list.items[..]),
            _ => None,
        })
    };
    match stmt.remove_type() {
        ObjectType::ObjectTable
        | ObjectType::ObjectMatview
        | ObjectType::ObjectView
        | ObjectType::ObjectSequence
        | ObjectType::ObjectForeignTable => {
            for name in names().filter_map(RelationName::from_name_list) {
                drop_relation(e, &name, cascade, cat);
            }
        }
        ObjectType::ObjectIndex => {
            let mode = if stmt.concurrent { ShareUpdateExclusive } else { AccessExclusive };
            for name in names().filter_map(RelationName::from_name_list) {
                drop_index(e, &name, mode, cat);
            }
        }
        ObjectType::ObjectTrigger | ObjectType::ObjectRule | ObjectType::ObjectPolicy => {
            // The name list ends with the object's own name; the rest is the table.
            for list in names() {
                if let Some(table) = list.split_last().and_then(|(_, t)| RelationName::from_name_list(t)) {
                    e.lock(&table, AccessExclusive);
                }
            }
        }
        ObjectType::ObjectSchema => {
            // A schema's name is a bare string, not a name list.
            for object in &stmt.objects {
                let Some(N::String(schema)) = &object.node else { continue };
                e.lock_object(LockedObject::Schema(schema.sval.clone()), AccessExclusive);
                // Without CASCADE the schema must be empty, or the statement fails.
                if cascade {
                    drop_schema_contents(e, &schema.sval, cat.relations_in_schema(&schema.sval).as_deref(), cat);
                }
            }
        }
        _ => {}
    }
}

/// Dropping a table, view, materialized view or sequence, or, for a known index, the index.
fn drop_relation(e: &mut Effects, name: &RelationName, cascade: bool, cat: &Catalog) {
    use LockMode::*;
    if cat.kind(name) == Some(catalog::RelKind::Index) {
        drop_index(e, name, AccessExclusive, cat);
        return;
    }
    e.lock(name, AccessExclusive);
    // Its foreign keys' triggers on the referenced tables go too.
    for parent in cat.references(name).unwrap_or_default() {
        e.lock(&parent, AccessExclusive);
    }
    for child in cat.descendants(name).unwrap_or_default() {
        e.lock(&child, AccessExclusive);
    }
    // A partition leaves its parent's partition descriptor, and the default partition's
    // implicit constraint changes.
    if let Some(parent) = cat.relation(name).and_then(|r| r.parent.clone()) {
        if cat.kind(&parent) == Some(catalog::RelKind::PartitionedTable) {
            e.lock(&parent, AccessExclusive);
            if let Some(Some(default)) = cat.default_partition(&parent) {
                e.lock(&default, AccessExclusive);
            }
        }
    }
    if cascade {
        for child in cat.referenced_by(name).unwrap_or_default() {
            e.lock(&child, AccessExclusive);
        }
    }
}

fn drop_index(e: &mut Effects, name: &RelationName, mode: LockMode, cat: &Catalog) {
    e.lock(name, mode);
    if let Some(table) = cat.table_of_index(name) {
        e.lock(&table, mode);
    }
}

/// `DROP SCHEMA … CASCADE` locks the schema's every relation with ACCESS EXCLUSIVE, as it
/// drops each; and with each, what dropping it locks elsewhere: the tables its foreign keys
/// point at and those whose foreign keys point at it. `relations` is what the catalog knows
/// the schema holds, `None` when it cannot tell: then those relations go unnamed.
fn drop_schema_contents(e: &mut Effects, schema: &str, relations: Option<&[RelationName]>, cat: &Catalog) {
    for relation in relations.unwrap_or_default() {
        drop_relation(e, relation, true, cat);
    }
    if !e.schema_contents.iter().any(|s| s.schema == schema) {
        e.schema_contents.push(SchemaContentsLock {
            schema: schema.to_owned(),
            mode: LockMode::AccessExclusive,
            listed: relations.is_some(),
        });
    }
}

fn reindex(e: &mut Effects, stmt: &pg::ReindexStmt, cat: &Catalog) {
    use LockMode::*;
    let concurrent = reindex_concurrently(stmt);
    let Some(rv) = &stmt.relation else { return };
    let named = RelationName::from_range_var(rv);
    let (table, indexes) = match stmt.kind() {
        pg::ReindexObjectType::ReindexObjectIndex => (cat.table_of_index(&named), vec![named]),
        _ => (Some(named.clone()), cat.indexes_of(&named).unwrap_or_default()),
    };
    let (table_mode, index_mode) =
        if concurrent { (ShareUpdateExclusive, ShareUpdateExclusive) } else { (Share, AccessExclusive) };
    if let Some(table) = &table {
        e.lock(table, table_mode);
        scan_if_stored(e, cat, table, Certainty::Yes);
    }
    for index in &indexes {
        e.lock(index, index_mode);
        e.rewrite_if(index, Certainty::Yes);
    }
}

/// `TRUNCATE` locks the tables it names in order, each followed by its partitions or
/// inheritance children unless `ONLY` (`ExecuteTruncate`). With `CASCADE` it then adds, round
/// by round, the tables whose foreign keys point at those truncated so far
/// (`heap_truncate_find_FKs`): a partitioned one comes with its partitions, which carry clones of
/// its foreign keys, but not an inheritance child, which has none.
fn truncate(e: &mut Effects, stmt: &pg::TruncateStmt, cat: &Catalog) {
    fn add(e: &mut Effects, truncated: &mut Vec<RelationName>, cat: &Catalog, table: RelationName) {
        if truncated.iter().any(|t| t.same_as(&table)) {
            return;
        }
        e.lock(&table, LockMode::AccessExclusive);
        if has_storage(cat, &table) {
            e.rewrite_if(&table, Certainty::Yes);
            rebuilds_indexes(e, cat, &table);
        }
        truncated.push(table);
    }
    let mut truncated: Vec<RelationName> = Vec::new();
    for rv in range_vars(&stmt.relations) {
        let table = RelationName::from_range_var(rv);
        let children = if rv.inh { cat.descendants(&table).unwrap_or_default() } else { Vec::new() };
        add(e, &mut truncated, cat, table);
        for child in children {
            add(e, &mut truncated, cat, child);
        }
    }
    if stmt.behavior() != pg::DropBehavior::DropCascade {
        return;
    }
    // Tables before `looked_up` have had their referencing tables added.
    let mut looked_up = 0;
    while looked_up < truncated.len() {
        let frontier = truncated[looked_up..].to_vec();
        looked_up = truncated.len();
        for table in &frontier {
            for referencing in cat.referenced_by(table).unwrap_or_default() {
                let partitions = if cat.kind(&referencing) == Some(catalog::RelKind::PartitionedTable) {
                    cat.descendants(&referencing).unwrap_or_default()
                } else {
                    Vec::new()
                };
                add(e, &mut truncated, cat, referencing);
                for partition in partitions {
                    add(e, &mut truncated, cat, partition);
                }
            }
        }
    }
}

fn create_table(e: &mut Effects, stmt: &pg::CreateStmt, cat: &Catalog) {
    use LockMode::*;
    let own = stmt.relation.as_ref().map(RelationName::from_range_var);
    // The new table is locked by the statement that creates it, until the commit. With `IF
    // NOT EXISTS` the table may be there already, and then nothing is created or locked.
    if let Some(own) = own.as_ref().filter(|_| !stmt.if_not_exists) {
        e.lock(own, AccessExclusive);
    }
    let is_own = |r: &RelationName| own.as_ref().is_some_and(|o| o.same_as(r));
    for elt in stmt.table_elts.iter().chain(&stmt.constraints) {
        match &elt.node {
            Some(N::TableLikeClause(like)) => {
                if let Some(rv) = &like.relation {
                    e.lock(&RelationName::from_range_var(rv), AccessShare);
                }
            }
            Some(node) => {
                for parent in referenced_tables(node) {
                    if !is_own(&parent) {
                        e.lock(&parent, ShareRowExclusive);
                    }
                }
            }
            None => {}
        }
    }
    for parent in range_vars(&stmt.inh_relations).map(RelationName::from_range_var) {
        if stmt.partbound.is_none() {
            e.lock(&parent, ShareUpdateExclusive);
            continue;
        }
        e.lock(&parent, AccessExclusive);
        // A new partition takes rows' place from the default partition, which is checked.
        if let Some(Some(default)) = cat.default_partition(&parent) {
            if !stmt.partbound.as_ref().is_some_and(|b| b.is_default) {
                e.lock(&default, AccessExclusive);
                e.scan_if(&default, Certainty::Yes);
            }
        }
        // The parent's foreign keys are cloned onto the partition.
        for target in cat.references(&parent).unwrap_or_default() {
            e.lock(&target, ShareRowExclusive);
        }
    }
}

fn referenced_tables(elt: &N) -> Vec<RelationName> {
    match elt {
        N::Constraint(c) => foreign_table(c).into_iter().collect(),
        N::ColumnDef(col) => column_constraints(col).filter_map(foreign_table).collect(),
        _ => Vec::new(),
    }
}

fn has_storage(cat: &Catalog, rel: &RelationName) -> bool {
    !matches!(cat.kind(rel), Some(catalog::RelKind::PartitionedTable | catalog::RelKind::View))
}

/// New storage for a table means its indexes are built anew, and building an index scans
/// the (new) table: a scan of empty storage after `TRUNCATE`, but a scan all the same.
fn rebuilds_indexes(e: &mut Effects, cat: &Catalog, table: &RelationName) {
    let certainty = match cat.has_indexes(table) {
        Some(has) => Certainty::from_bool(has),
        None => Certainty::Maybe,
    };
    e.scan_if(table, certainty);
}

fn scan_if_stored(e: &mut Effects, cat: &Catalog, rel: &RelationName, certainty: Certainty) {
    if has_storage(cat, rel) {
        e.scan_if(rel, certainty);
    }
}

/// Locks the tables a query reads with ACCESS SHARE; `scan` says whether they are read in full.
fn read_query(e: &mut Effects, query: &N, scan: Certainty) {
    for table in read_tables(query) {
        e.lock(&table, LockMode::AccessShare);
        e.scan_if(&table, scan);
    }
}

/// The relations a query reads: the `RangeVar`s of its FROM clauses, joins, subqueries in
/// FROM, set operations and CTEs. Expressions are not walked (a subquery in WHERE is
/// missed), which keeps the walk shallow on machine-made queries with huge expressions.
pub(crate) fn read_tables(query: &N) -> Vec<RelationName> {
    enum Item<'a> {
        Node(&'a N),
        Select(&'a pg::SelectStmt),
    }
    fn node(n: &Option<Box<pg::Node>>) -> Option<Item<'_>> {
        n.as_deref().and_then(|n| n.node.as_ref()).map(Item::Node)
    }
    let mut ctes: Vec<&str> = Vec::new();
    let mut out: Vec<RelationName> = Vec::new();
    let mut stack: Vec<Item<'_>> = vec![Item::Node(query)];
    while let Some(item) = stack.pop() {
        let select = match item {
            Item::Select(s) => s,
            Item::Node(N::SelectStmt(s)) => &**s,
            Item::Node(N::JoinExpr(j)) => {
                stack.extend(node(&j.larg));
                stack.extend(node(&j.rarg));
                continue;
            }
            Item::Node(N::RangeSubselect(r)) => {
                stack.extend(node(&r.subquery));
                continue;
            }
            Item::Node(N::RangeVar(rv)) => {
                let name = RelationName::from_range_var(rv);
                let is_cte = name.schema.is_none() && ctes.contains(&name.name.as_str());
                if !is_cte && !out.iter().any(|o| o.same_as(&name)) {
                    out.push(name);
                }
                continue;
            }
            Item::Node(_) => continue,
        };
        if let Some(with) = &select.with_clause {
            for cte in &with.ctes {
                if let Some(N::CommonTableExpr(c)) = &cte.node {
                    ctes.push(&c.ctename);
                    stack.extend(node(&c.ctequery));
                }
            }
        }
        // Popped last-in first-out: push in reverse to read the FROM list in order.
        stack.extend(select.from_clause.iter().rev().filter_map(|n| n.node.as_ref()).map(Item::Node));
        stack.extend(select.rarg.as_deref().map(Item::Select));
        stack.extend(select.larg.as_deref().map(Item::Select));
    }
    out
}

fn range_vars(nodes: &[pg::Node]) -> impl Iterator<Item = &pg::RangeVar> {
    nodes.iter().filter_map(|n| match &n.node {
        Some(N::RangeVar(rv)) => Some(rv),
        _ => None,
    })
}

/// Whether a boolean option of a parenthesised option list (`VACUUM (FULL)`, `REINDEX
/// (CONCURRENTLY false)`) is on, as PostgreSQL's `defGetBoolean` reads it: on with no value,
/// with `true`, `on` or `1`, off with `false`, `off` or `0`. The grammar keeps those words
/// as strings (keywords or quoted) and the digits as integers. The last mention wins.
pub fn option_enabled(options: &[pg::Node], name: &str) -> bool {
    let Some(option) = options.iter().rev().find_map(|o| match &o.node {
        Some(N::DefElem(d)) if d.defname == name => Some(d),
        _ => None,
    }) else {
        return false;
    };
    match option.arg.as_deref().and_then(|a| a.node.as_ref()) {
        Some(N::Boolean(b)) => b.boolval,
        Some(N::Integer(i)) => i.ival != 0,
        Some(N::String(s)) => !(s.sval.eq_ignore_ascii_case("false") || s.sval.eq_ignore_ascii_case("off")),
        _ => true,
    }
}

/// Whether a `VACUUM` is `VACUUM FULL`.
pub fn vacuum_full(stmt: &pg::VacuumStmt) -> bool {
    stmt.is_vacuumcmd && option_enabled(&stmt.options, "full")
}

/// Whether a `REINDEX` runs `CONCURRENTLY`.
pub fn reindex_concurrently(stmt: &pg::ReindexStmt) -> bool {
    option_enabled(&stmt.params, "concurrently")
}

/// A statement that PostgreSQL refuses to run inside a transaction block
/// (`PreventInTransactionBlock`): it fails with `cannot run inside a transaction block`.
/// `concurrently-in-transaction` reports these inside a transaction, and frameworks that
/// decide per migration whether to open one (Flyway) read them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusedInTransaction {
    CreateIndexConcurrently,
    DropIndexConcurrently,
    /// `REINDEX … CONCURRENTLY` of an index or a table.
    ReindexConcurrently,
    /// `REINDEX SCHEMA`, with or without `CONCURRENTLY`; the same for the two below.
    ReindexSchema,
    ReindexDatabase,
    ReindexSystem,
    DetachPartitionConcurrently,
    Vacuum,
    CreateDatabase,
    DropDatabase,
    CreateTablespace,
    DropTablespace,
    /// `CREATE SUBSCRIPTION` that creates its replication slot (the default).
    CreateSubscription,
    DropSubscription,
    AlterSystem,
    DiscardAll,
    /// `ALTER TYPE … ADD VALUE` before PostgreSQL 12.
    AddEnumValue,
}

impl RefusedInTransaction {
    /// The statement as a message names it.
    pub fn sql(self) -> &'static str {
        match self {
            Self::CreateIndexConcurrently => "CREATE INDEX CONCURRENTLY",
            Self::DropIndexConcurrently => "DROP INDEX CONCURRENTLY",
            Self::ReindexConcurrently => "REINDEX CONCURRENTLY",
            Self::ReindexSchema => "REINDEX SCHEMA",
            Self::ReindexDatabase => "REINDEX DATABASE",
            Self::ReindexSystem => "REINDEX SYSTEM",
            Self::DetachPartitionConcurrently => "DETACH PARTITION CONCURRENTLY",
            Self::Vacuum => "VACUUM",
            Self::CreateDatabase => "CREATE DATABASE",
            Self::DropDatabase => "DROP DATABASE",
            Self::CreateTablespace => "CREATE TABLESPACE",
            Self::DropTablespace => "DROP TABLESPACE",
            Self::CreateSubscription => "CREATE SUBSCRIPTION",
            Self::DropSubscription => "DROP SUBSCRIPTION",
            Self::AlterSystem => "ALTER SYSTEM",
            Self::DiscardAll => "DISCARD ALL",
            Self::AddEnumValue => "ALTER TYPE … ADD VALUE",
        }
    }
}

/// Whether PostgreSQL `pg_version` refuses to run the statement inside a transaction block, and
/// which kind of statement it is. `DROP SUBSCRIPTION` is counted as refused, as it is when the
/// subscription has a replication slot (the usual case).
pub fn refused_in_transaction(node: &N, pg_version: u32) -> Option<RefusedInTransaction> {
    use RefusedInTransaction as R;
    let refused = match node {
        N::IndexStmt(s) if s.concurrent => R::CreateIndexConcurrently,
        N::DropStmt(s) if s.concurrent => R::DropIndexConcurrently,
        N::ReindexStmt(s) if s.kind() == pg::ReindexObjectType::ReindexObjectSchema => R::ReindexSchema,
        N::ReindexStmt(s) if s.kind() == pg::ReindexObjectType::ReindexObjectDatabase => R::ReindexDatabase,
        N::ReindexStmt(s) if s.kind() == pg::ReindexObjectType::ReindexObjectSystem => R::ReindexSystem,
        N::ReindexStmt(s) if reindex_concurrently(s) => R::ReindexConcurrently,
        N::AlterTableStmt(s)
            if s.cmds.iter().any(|c| matches!(&c.node, Some(N::AlterTableCmd(cmd)) if detaches_concurrently(cmd))) =>
        {
            R::DetachPartitionConcurrently
        }
        N::VacuumStmt(s) if s.is_vacuumcmd => R::Vacuum,
        N::CreatedbStmt(_) => R::CreateDatabase,
        N::DropdbStmt(_) => R::DropDatabase,
        N::CreateTableSpaceStmt(_) => R::CreateTablespace,
        N::DropTableSpaceStmt(_) => R::DropTablespace,
        N::CreateSubscriptionStmt(s) => {
            // `connect = false` implies `create_slot = false`; either leaves no slot to create.
            let given_off = |name: &str| {
                s.options.iter().any(|o| matches!(&o.node, Some(N::DefElem(d)) if d.defname == name))
                    && !option_enabled(&s.options, name)
            };
            if given_off("create_slot") || given_off("connect") {
                return None;
            }
            R::CreateSubscription
        }
        N::DropSubscriptionStmt(_) => R::DropSubscription,
        N::AlterSystemStmt(_) => R::AlterSystem,
        N::DiscardStmt(s) if s.target() == pg::DiscardMode::DiscardAll => R::DiscardAll,
        N::AlterEnumStmt(s) if pg_version < 12 && s.old_val.is_empty() && !s.new_val.is_empty() => R::AddEnumValue,
        _ => return None,
    };
    Some(refused)
}

fn detaches_concurrently(cmd: &pg::AlterTableCmd) -> bool {
    cmd.subtype() == pg::AlterTableType::AtDetachPartition
        && matches!(cmd.def.as_deref().and_then(|d| d.node.as_ref()), Some(N::PartitionCmd(p)) if p.concurrent)
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

pub fn constraint_of(cmd: &pg::AlterTableCmd) -> Option<&pg::Constraint> {
    match cmd.def.as_deref()?.node.as_ref()? {
        N::Constraint(c) => Some(c),
        _ => None,
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

/// Whether a constraint checks the rows already there, given the column definition it belongs
/// to, if any: as [`checks_existing_rows`], with the attributes written after it in the column
/// (`… REFERENCES t NOT ENFORCED`), which the parser gives as constraints of their own.
pub fn constraint_checks_rows(column: Option<&pg::ColumnDef>, c: &pg::Constraint) -> bool {
    let Some(col) = column else { return checks_existing_rows(c) };
    let following = col
        .constraints
        .iter()
        .skip_while(|n| !matches!(&n.node, Some(N::Constraint(x)) if std::ptr::eq(&**x, c)))
        .skip(1)
        .map_while(|n| match &n.node {
            Some(N::Constraint(x))
                if (ConstrType::ConstrAttrDeferrable as i32..=ConstrType::ConstrAttrNotEnforced as i32)
                    .contains(&x.contype) =>
            {
                Some(x.contype())
            }
            _ => None,
        });
    let mut not_enforced = false;
    for attribute in following {
        not_enforced = attribute == ConstrType::ConstrAttrNotEnforced;
    }
    checks_existing_rows(c) && !not_enforced
}

/// Whether adding the constraint checks the rows already there: not `NOT VALID`, and, for a
/// `CHECK` or foreign key, not `NOT ENFORCED` (PostgreSQL 18), which checks nothing at all.
/// (The parser leaves `is_enforced` unset on the kinds it does not apply to.)
pub fn checks_existing_rows(c: &pg::Constraint) -> bool {
    let enforced = c.is_enforced || !matches!(c.contype(), ConstrType::ConstrCheck | ConstrType::ConstrForeign);
    !c.skip_validation && enforced
}

/// The table a FOREIGN KEY constraint points at.
pub fn foreign_table(c: &pg::Constraint) -> Option<RelationName> {
    if c.contype() != ConstrType::ConstrForeign {
        return None;
    }
    c.pktable.as_ref().map(RelationName::from_range_var)
}
