//! What the lock model may know about the schema a statement runs against.
//!
//! Many answers depend on the existing schema: whether `ALTER COLUMN TYPE` is binary
//! coercible, which table an index belongs to, which tables a foreign key ties together,
//! which partitions a `CREATE INDEX` on a partitioned table visits. The [`Catalog`] holds
//! what a caller knows, and is empty by default: then the model answers "may rewrite" or
//! "may scan" instead of guessing, and locks only the relations the statement names.
//!
//! A caller fills it by feeding statements in order with [`Catalog::apply`], typically the
//! migrations that ran before the one being explained, or the earlier statements of the file.
//! A relation the catalog has seen created is *known*: its columns, indexes, constraints,
//! partitions and foreign keys are then taken to be exactly what the statements said.

use crate::names::RelationName;
use pg_query::protobuf::{self as pg, node::Node as N, AlterTableType as At, ConstrType, ObjectType};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Schema and name. Shared, so that copying a catalog's maps allocates no keys.
type Key = Arc<(String, String)>;

/// The kind of a relation, as `pg_class.relkind` tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelKind {
    Table,
    PartitionedTable,
    View,
    MaterializedView,
    Index,
    Sequence,
}

/// A function's volatility, as `pg_proc.provolatile` tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Volatility {
    Immutable,
    Stable,
    Volatile,
}

/// A column's declared type, by the last part of its name, lower case, with its modifiers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnType {
    pub name: String,
    pub typmods: Vec<i64>,
    pub array: bool,
}

#[derive(Clone, Debug)]
pub struct Column {
    pub name: String,
    pub ty: Option<ColumnType>,
    /// The `COLLATE` the column was declared with; `None` for its type's default.
    pub collation: Option<String>,
    pub not_null: bool,
    /// The default expression's tree, shared so that cloning the catalog stays cheap; see
    /// [`Column::default_sql`].
    pub default: Option<std::sync::Arc<pg::Node>>,
}

impl Column {
    /// The default as SQL, printed by PostgreSQL's own deparser.
    pub fn default_sql(&self) -> Option<String> {
        crate::parse::expression_sql(self.default.as_deref()?)
    }
}

/// A `CHECK (column IS NOT NULL)` on a table the catalog does not know.
#[derive(Clone, Debug)]
struct NotNullCheck {
    name: String,
    column: String,
    valid: bool,
}

#[derive(Clone, Debug)]
pub struct ConstraintInfo {
    pub name: String,
    pub kind: ConstrType,
    /// The referenced table of a foreign key.
    pub references: Option<RelationName>,
    /// For a `CHECK` that implies `col IS NOT NULL` (alone, or as a conjunct of an `AND`):
    /// the columns it proves not null.
    pub proves_not_null: Vec<String>,
    /// Validated and enforced: the rows there satisfy it.
    pub valid: bool,
    /// Not `NOT ENFORCED` (PostgreSQL 18): new rows are checked.
    pub enforced: bool,
    /// The columns of a primary key, unique or foreign key constraint (its own side).
    pub columns: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct RelationInfo {
    pub name: RelationName,
    pub kind: RelKind,
    pub columns: Vec<Column>,
    pub constraints: Vec<ConstraintInfo>,
    /// The partitioned (or inheritance) parent.
    pub parent: Option<RelationName>,
    pub is_default_partition: bool,
    /// For an index: its table.
    pub table: Option<RelationName>,
    /// For a view or materialized view: the relations its query reads.
    pub reads: Vec<RelationName>,
    /// For an index: the columns it covers (expressions left out).
    pub index_columns: Vec<String>,
    /// Whether the table has an index of its own, from a constraint or `CREATE INDEX`.
    pub has_constraint_index: bool,
    /// The table access method; `heap` unless created `USING` another.
    pub access_method: String,
    /// For a partitioned table: the columns of its partition key, `None` for a key with an
    /// expression.
    pub partition_key: Option<Vec<String>>,
    /// When the catalog first saw it, so that lists come out in creation order.
    created: u64,
}

/// The known schema; empty by default. See the module documentation.
///
/// Cloning is cheap: a clone shares everything until one side changes, and even then the
/// relations themselves stay shared, so a snapshot can be taken before every migration and
/// every statement of a long history.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    data: Arc<CatalogData>,
}

#[derive(Clone, Debug, Default)]
struct CatalogData {
    relations: HashMap<Key, Arc<RelationInfo>>,
    /// The next creation stamp.
    next_created: u64,
    /// What the current change set did; see [`ChangeLedger`].
    change: ChangeLedger,
    /// What the up migration that the linted down migration undoes created: dropping it
    /// again takes locks, but breaks no release (see [`Catalog::undo`]).
    undone: Arc<ChangeLedger>,
    functions: HashMap<String, Volatility>,
    /// Domains by name, with whether they carry constraints.
    domains: HashMap<String, bool>,
    /// Enum, composite and range types: never domains.
    types: HashSet<String>,
    /// Schemas the catalog saw created, whose every relation it therefore knows.
    schemas: HashSet<String>,
    /// Every relation ever named as another's parent: a table missing here has no
    /// partitions or children, which spares a scan of the whole catalog for each statement.
    parents: HashSet<Key>,
    /// `CHECK (column IS NOT NULL)` constraints on tables the catalog does not know (created
    /// before the history begins), by table: `(name, column, validated)`. What migrations do
    /// to such a table is otherwise unknown, but whether `SET NOT NULL` can use a validated
    /// proof only needs these.
    not_null_checks_elsewhere: HashMap<(String, String), Vec<NotNullCheck>>,
    /// Columns that migrations added `NOT NULL` to tables the catalog does not know, or set
    /// `NOT NULL` there: `SET NOT NULL` on them has nothing to check.
    not_null_columns_elsewhere: HashMap<(String, String), HashSet<String>>,
    /// Functions known to return `trigger`.
    trigger_functions: HashSet<String>,
    /// The types the migrations gave columns of tables the catalog does not know (added, or
    /// changed): what a later type change of the column starts from.
    column_types_elsewhere: HashMap<(String, String), Vec<(String, ColumnType)>>,
}

/// What the statements of the current change set (the files deployed together) created
/// and how data moved, as [`Catalog::apply`] saw it. Objects created in the change set are
/// new: empty, and unread by the application version that is running.
#[derive(Clone, Debug, Default)]
pub struct ChangeLedger {
    /// Relations created in the change set.
    created: HashSet<Key>,
    /// Columns added in the change set to tables that existed before it, with the columns
    /// their values were copied from (`UPDATE t SET new = old`, or a generated expression).
    added_columns: HashMap<Key, Vec<AddedColumn>>,
    /// New tables filled from older ones (`INSERT INTO new SELECT … FROM old`, `CREATE TABLE
    /// new AS SELECT … FROM old`): `(new, old)`.
    copies: Vec<(RelationName, RelationName)>,
}

/// A column the change set added to an existing table.
#[derive(Clone, Debug)]
pub struct AddedColumn {
    pub name: String,
    /// Columns of the same table its values were computed from.
    pub copied_from: Vec<String>,
}

impl ChangeLedger {
    fn is_empty(&self) -> bool {
        self.created.is_empty() && self.added_columns.is_empty() && self.copies.is_empty()
    }
}

impl Catalog {
    pub fn new() -> Self {
        Self::default()
    }

    /// The contents, to change: copied first if a snapshot shares them.
    fn data_mut(&mut self) -> &mut CatalogData {
        Arc::make_mut(&mut self.data)
    }

    /// Ends the current change set: everything created so far is now old schema, which may
    /// hold rows and be read by the running application. Returns what the change set
    /// created, for the down migration that undoes it (see [`Catalog::undo`]).
    pub fn settle(&mut self) -> ChangeLedger {
        // A file that created nothing leaves nothing to settle, and shared contents uncopied.
        if self.data.change.is_empty() {
            return ChangeLedger::default();
        }
        std::mem::take(&mut self.data_mut().change)
    }

    /// Marks what `up` (a settled up migration) created as undone by the migration linted
    /// next, its down migration. The release that runs after a rollback is the one from
    /// before `up`: it never used what `up` created, so dropping it breaks nothing, though
    /// the drop still takes its locks.
    pub fn undo(&mut self, up: ChangeLedger) {
        if !(up.is_empty() && self.data.undone.is_empty()) {
            self.data_mut().undone = Arc::new(up);
        }
    }

    /// Whether the down migration being linted undoes the up migration that created the
    /// relation.
    pub fn undoes_creation(&self, name: &RelationName) -> bool {
        self.data.undone.created.contains(&name.key())
    }

    /// Whether the down migration being linted undoes the up migration that added the
    /// column (or created its table).
    pub fn undoes_added_column(&self, table: &RelationName, column: &str) -> bool {
        self.undoes_creation(table)
            || self.data.undone.added_columns.get(&table.key()).is_some_and(|a| a.iter().any(|c| c.name == column))
    }

    /// Whether the relation was created in the current change set.
    /// Whether the current change set created anything yet: when not, nothing is new and
    /// callers skip the lookups.
    pub fn has_change_set(&self) -> bool {
        !self.data.change.is_empty()
    }

    pub fn is_new(&self, name: &RelationName) -> bool {
        self.data.change.created.contains(&name.key())
    }

    /// The columns the current change set added to a table that existed before it.
    pub fn added_columns(&self, table: &RelationName) -> &[AddedColumn] {
        self.data.change.added_columns.get(&table.key()).map_or(&[], Vec::as_slice)
    }

    /// The tables the current change set created and filled from `old`.
    pub fn copies_of(&self, old: &RelationName) -> Vec<&RelationName> {
        self.data.change.copies.iter().filter(|(_, from)| from.same_as(old)).map(|(to, _)| to).collect()
    }

    /// Every relation of a schema, in creation order, when the catalog saw the schema created
    /// and so knows all of them; `None` otherwise.
    pub fn relations_in_schema(&self, schema: &str) -> Option<Vec<RelationName>> {
        if !self.data.schemas.contains(schema) {
            return None;
        }
        Some(self.select(|r| r.name.resolved_schema() == schema))
    }

    /// How many relations are known.
    pub fn len(&self) -> usize {
        self.data.relations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.relations.is_empty() && self.data.functions.is_empty() && self.data.domains.is_empty()
    }

    pub fn relation(&self, name: &RelationName) -> Option<&RelationInfo> {
        self.data.relations.get(&name.key()).map(|r| &**r)
    }

    fn relation_mut(&mut self, name: &RelationName) -> Option<&mut RelationInfo> {
        let key = name.key();
        // An unknown relation changes nothing, so the contents need not be copied.
        if !self.data.relations.contains_key(&key) {
            return None;
        }
        self.data_mut().relations.get_mut(&key).map(Arc::make_mut)
    }

    pub fn kind(&self, name: &RelationName) -> Option<RelKind> {
        self.relation(name).map(|r| r.kind)
    }

    pub fn column(&self, table: &RelationName, column: &str) -> Option<&Column> {
        self.relation(table)?.columns.iter().find(|c| c.name == column)
    }

    /// The columns of a known table's primary key.
    pub fn primary_key(&self, table: &RelationName) -> Option<&[String]> {
        self.relation(table)?
            .constraints
            .iter()
            .find(|c| c.kind == ConstrType::ConstrPrimary)
            .map(|c| c.columns.as_slice())
    }

    /// The table an index belongs to.
    pub fn table_of_index(&self, index: &RelationName) -> Option<RelationName> {
        self.relation(index).filter(|r| r.kind == RelKind::Index).and_then(|r| r.table.clone())
    }

    /// The indexes of a known table, or `None` when the table is unknown.
    pub fn indexes_of(&self, table: &RelationName) -> Option<Vec<RelationName>> {
        self.relation(table)?;
        Some(self.select(|r| r.kind == RelKind::Index && r.table.as_ref().is_some_and(|t| t.same_as(table))))
    }

    /// An index of a known table (from `CREATE INDEX`) that covers `column`.
    pub fn index_on_column(&self, table: &RelationName, column: &str) -> Option<RelationName> {
        self.indexes_of(table)?
            .into_iter()
            .find(|i| self.relation(i).is_some_and(|r| r.index_columns.iter().any(|c| c == column)))
    }

    /// Whether a known table has any index: rebuilt, with a scan of the new storage,
    /// whenever the table gets new storage.
    pub fn has_indexes(&self, table: &RelationName) -> Option<bool> {
        let info = self.relation(table)?;
        Some(info.has_constraint_index || !self.indexes_of(table)?.is_empty())
    }

    /// The direct partitions or inheritance children of a known table.
    pub fn children(&self, table: &RelationName) -> Option<Vec<RelationName>> {
        self.relation(table)?;
        if !self.data.parents.contains(&table.key()) {
            return Some(Vec::new());
        }
        Some(self.select(|r| r.kind != RelKind::Index && r.parent.as_ref().is_some_and(|p| p.same_as(table))))
    }

    /// Every partition or child below a known table. A cycle (which only nonsense SQL can
    /// make) is cut where it closes.
    pub fn descendants(&self, table: &RelationName) -> Option<Vec<RelationName>> {
        let mut out: Vec<RelationName> = Vec::new();
        let mut todo = self.children(table)?;
        todo.reverse();
        while let Some(child) = todo.pop() {
            if child.same_as(table) || out.iter().any(|o| o.same_as(&child)) {
                continue;
            }
            let mut below = self.children(&child).unwrap_or_default();
            below.reverse();
            out.push(child);
            todo.extend(below);
        }
        Some(out)
    }

    /// The default partition of a known partitioned table, if it has one.
    pub fn default_partition(&self, parent: &RelationName) -> Option<Option<RelationName>> {
        self.relation(parent)?;
        if !self.data.parents.contains(&parent.key()) {
            return Some(None);
        }
        Some(
            self.select(|r| r.is_default_partition && r.parent.as_ref().is_some_and(|p| p.same_as(parent)))
                .into_iter()
                .next(),
        )
    }

    /// The tables a known table's foreign keys point at.
    pub fn references(&self, table: &RelationName) -> Option<Vec<RelationName>> {
        let info = self.relation(table)?;
        let mut out: Vec<RelationName> = Vec::new();
        for target in info.constraints.iter().filter_map(|c| c.references.as_ref()) {
            if !target.same_as(table) && !out.iter().any(|o| o.same_as(target)) {
                out.push(target.clone());
            }
        }
        Some(out)
    }

    /// The tables whose foreign keys point at a known table. Only tables the catalog knows
    /// can be listed, so this is exact when the whole schema went through the catalog.
    pub fn referenced_by(&self, table: &RelationName) -> Option<Vec<RelationName>> {
        self.relation(table)?;
        Some(self.select(|r| {
            !r.name.same_as(table)
                && r.constraints.iter().any(|c| c.references.as_ref().is_some_and(|t| t.same_as(table)))
        }))
    }

    /// The type of a column: from the table, or for a table the catalog does not know, from
    /// the statements that added or changed the column.
    pub fn column_type_of(&self, table: &RelationName, column: &str) -> Option<ColumnType> {
        if self.relation(table).is_some() {
            return self.column(table, column).and_then(|c| c.ty.clone());
        }
        let seen = self.data.column_types_elsewhere.get(&table.key())?;
        seen.iter().rev().find(|(name, _)| name == column).map(|(_, ty)| ty.clone())
    }

    /// A named constraint of a known table; `Some(None)` when the table has no such constraint.
    pub fn constraint(&self, table: &RelationName, name: &str) -> Option<Option<&ConstraintInfo>> {
        Some(self.relation(table)?.constraints.iter().find(|c| c.name == name))
    }

    /// Whether a valid `CHECK (column IS NOT NULL)` proves the column not null; `None` when
    /// the table is unknown and no such proof was seen for it.
    pub fn not_null_proven(&self, table: &RelationName, column: &str) -> Option<bool> {
        let Some(info) = self.relation(table) else {
            let key = table.key();
            if self.data.not_null_columns_elsewhere.get(&key).is_some_and(|c| c.contains(column)) {
                return Some(true);
            }
            let checks = self.data.not_null_checks_elsewhere.get(&key)?;
            return checks.iter().any(|c| c.valid && c.column == column).then_some(true);
        };
        Some(info.constraints.iter().any(|c| c.valid && c.proves_not_null.iter().any(|p| p == column)))
    }

    /// Whether a known table has any CHECK constraint.
    pub fn has_check_constraints(&self, table: &RelationName) -> Option<bool> {
        Some(self.relation(table)?.constraints.iter().any(|c| c.kind == ConstrType::ConstrCheck))
    }

    /// The tables with a column of the given domain.
    pub fn tables_using_type(&self, type_name: &str) -> Vec<RelationName> {
        self.select(|r| {
            matches!(r.kind, RelKind::Table | RelKind::MaterializedView)
                && r.columns.iter().any(|c| c.ty.as_ref().is_some_and(|t| t.name == type_name))
        })
    }

    /// Whether the history created `name` as a trigger function: no query calls it by name.
    pub fn is_trigger_function(&self, name: &str) -> bool {
        self.data.trigger_functions.contains(name)
    }

    pub fn function_volatility(&self, name: &str) -> Option<Volatility> {
        self.data.functions.get(name).copied()
    }

    /// `Some(true)` for a known domain with constraints, `Some(false)` without, `None` unknown.
    pub fn domain_has_constraints(&self, name: &str) -> Option<bool> {
        self.data.domains.get(name).copied()
    }

    /// A type created as an enum, composite or range type (so not a domain).
    pub fn is_known_type(&self, name: &str) -> bool {
        self.data.types.contains(name)
    }

    fn select(&self, keep: impl Fn(&RelationInfo) -> bool) -> Vec<RelationName> {
        let mut found: Vec<&RelationInfo> = self.data.relations.values().map(|r| &**r).filter(|r| keep(r)).collect();
        found.sort_unstable_by_key(|r| r.created);
        found.into_iter().map(|r| r.name.clone()).collect()
    }

    fn insert(&mut self, mut info: RelationInfo) {
        let key = Key::new(info.name.key());
        info.created = match self.data.relations.get(&key) {
            Some(old) => old.created,
            None => {
                self.data_mut().next_created += 1;
                self.data.next_created
            }
        };
        self.data_mut().change.created.insert(key.clone());
        self.data_mut().relations.insert(key, Arc::new(info));
    }

    fn remove(&mut self, name: &RelationName) {
        let key = name.key();
        if self.data_mut().relations.remove(&key).is_some() {
            self.data_mut().change.created.remove(&key);
            self.data_mut().change.added_columns.remove(&key);
            // Indexes go with their table.
            let orphans = self.select(|r| r.table.as_ref().is_some_and(|t| t.same_as(name)));
            for orphan in orphans {
                self.remove(&orphan);
            }
        }
    }

    /// Folds one statement into the catalog. Statements the catalog does not follow are
    /// ignored; it never fails.
    pub fn apply(&mut self, node: &N) {
        match node {
            N::CreateStmt(stmt) => self.apply_create(stmt),
            N::IndexStmt(stmt) => {
                let (Some(rv), false) = (&stmt.relation, stmt.idxname.is_empty()) else { return };
                let table = RelationName::from_range_var(rv);
                let name = RelationName::new(table.schema.as_deref(), &stmt.idxname);
                let mut info = relation(name, RelKind::Index, Some(table));
                info.index_columns = stmt
                    .index_params
                    .iter()
                    .filter_map(|p| match &p.node {
                        Some(N::IndexElem(e)) if !e.name.is_empty() => Some(e.name.clone()),
                        _ => None,
                    })
                    .collect();
                self.insert(info);
            }
            N::ViewStmt(stmt) => {
                let Some(rv) = &stmt.view else { return };
                let mut info = relation(RelationName::from_range_var(rv), RelKind::View, None);
                info.reads =
                    stmt.query.as_deref().and_then(|q| q.node.as_ref()).map(super::read_tables).unwrap_or_default();
                self.insert(info);
            }
            N::CreateTableAsStmt(stmt) => {
                let Some(rv) = stmt.into.as_ref().and_then(|i| i.rel.as_ref()) else { return };
                let kind = if stmt.objtype() == ObjectType::ObjectMatview {
                    RelKind::MaterializedView
                } else {
                    RelKind::Table
                };
                let name = RelationName::from_range_var(rv);
                let mut info = relation(name.clone(), kind, None);
                info.reads =
                    stmt.query.as_deref().and_then(|q| q.node.as_ref()).map(super::read_tables).unwrap_or_default();
                let reads = info.reads.clone();
                self.insert(info);
                if kind == RelKind::Table {
                    let old: Vec<RelationName> = reads.into_iter().filter(|old| !self.is_new(old)).collect();
                    self.data_mut().change.copies.extend(old.into_iter().map(|old| (name.clone(), old)));
                }
            }
            N::CreateSeqStmt(stmt) => {
                if let Some(rv) = &stmt.sequence {
                    self.insert(relation(RelationName::from_range_var(rv), RelKind::Sequence, None));
                }
            }
            N::CreateFunctionStmt(stmt) => {
                let Some(name) = last_string(&stmt.funcname) else { return };
                // A trigger function is called by its triggers, which name it by its OID.
                let returns_trigger = stmt
                    .return_type
                    .as_ref()
                    .and_then(|t| last_string(&t.names))
                    .is_some_and(|t| t == "trigger" || t == "event_trigger");
                if returns_trigger {
                    self.data_mut().trigger_functions.insert(name.clone());
                }
                let volatility = stmt
                    .options
                    .iter()
                    .find_map(|o| match &o.node {
                        Some(N::DefElem(d)) if d.defname == "volatility" => {
                            match d.arg.as_deref().and_then(|a| a.node.as_ref()) {
                                Some(N::String(s)) => match s.sval.as_str() {
                                    "immutable" => Some(Volatility::Immutable),
                                    "stable" => Some(Volatility::Stable),
                                    _ => Some(Volatility::Volatile),
                                },
                                _ => None,
                            }
                        }
                        _ => None,
                    })
                    .unwrap_or(Volatility::Volatile);
                let language = stmt.options.iter().find_map(|o| match &o.node {
                    Some(N::DefElem(d)) if d.defname == "language" => {
                        match d.arg.as_deref().and_then(|a| a.node.as_ref()) {
                            Some(N::String(s)) => Some(s.sval.clone()),
                            _ => None,
                        }
                    }
                    _ => None,
                });
                // PostgreSQL inlines a simple SQL function before it judges a default's
                // volatility, so `LANGUAGE sql VOLATILE AS 'SELECT 1'` is a constant there:
                // such a function's volatility is left unknown.
                if volatility == Volatility::Volatile && language.as_deref() == Some("sql") {
                    self.data_mut().functions.remove(&name);
                    return;
                }
                self.data_mut().functions.insert(name, volatility);
            }
            N::CreateDomainStmt(stmt) => {
                if let Some(name) = last_string(&stmt.domainname) {
                    let checks = stmt.constraints.iter().any(|c| {
                        matches!(&c.node, Some(N::Constraint(c)) if matches!(c.contype(), ConstrType::ConstrCheck | ConstrType::ConstrNotnull))
                    });
                    self.data_mut().domains.insert(name, checks);
                }
            }
            N::CreateEnumStmt(stmt) => {
                if let Some(name) = last_string(&stmt.type_name) {
                    self.data_mut().types.insert(name);
                }
            }
            N::CompositeTypeStmt(stmt) => {
                if let Some(rv) = &stmt.typevar {
                    self.data_mut().types.insert(rv.relname.clone());
                }
            }
            N::CreateRangeStmt(stmt) => {
                if let Some(name) = last_string(&stmt.type_name) {
                    self.data_mut().types.insert(name);
                }
            }
            N::AlterDomainStmt(stmt) if stmt.subtype == "C" => {
                if let Some(name) = last_string(&stmt.type_name) {
                    self.data_mut().domains.insert(name, true);
                }
            }
            N::AlterTableStmt(stmt) => self.apply_alter(stmt),
            N::CreateSchemaStmt(stmt) if !stmt.schemaname.is_empty() => {
                self.data_mut().schemas.insert(stmt.schemaname.clone());
            }
            N::DropStmt(stmt) if stmt.remove_type() == ObjectType::ObjectSchema => {
                for object in &stmt.objects {
                    if let Some(N::String(schema)) = &object.node {
                        self.data_mut().schemas.remove(&schema.sval);
                        for name in self.select(|r| r.name.resolved_schema() == schema.sval) {
                            self.remove(&name);
                        }
                    }
                }
            }
            N::DropStmt(stmt) => {
                if matches!(
                    stmt.remove_type(),
                    ObjectType::ObjectTable
                        | ObjectType::ObjectIndex
                        | ObjectType::ObjectView
                        | ObjectType::ObjectMatview
                        | ObjectType::ObjectSequence
                ) {
                    for object in &stmt.objects {
                        if let Some(N::List(list)) = &object.node {
                            if let Some(name) = RelationName::from_name_list(&list.items) {
                                self.remove(&name);
                            }
                        }
                    }
                }
            }
            N::RenameStmt(stmt) => {
                let Some(rv) = &stmt.relation else { return };
                let old = RelationName::from_range_var(rv);
                match stmt.rename_type() {
                    ObjectType::ObjectTable
                    | ObjectType::ObjectIndex
                    | ObjectType::ObjectView
                    | ObjectType::ObjectMatview => {
                        let new_name = RelationName::new(old.schema.as_deref(), &stmt.newname);
                        // Copies follow the rename even of a table the catalog does not know:
                        // the table copied from is often older than the history.
                        if self.data.change.copies.iter().any(|(to, from)| to.same_as(&old) || from.same_as(&old)) {
                            for (to, from) in &mut self.data_mut().change.copies {
                                for name in [to, from] {
                                    if name.same_as(&old) {
                                        name.clone_from(&new_name);
                                    }
                                }
                            }
                        }
                        let Some(info) = self.relation(&old) else { return };
                        // A rename under the same name keeps the entry; other tables' foreign
                        // keys would still name the old one, so only unreferenced tables move.
                        let mut info = info.clone();
                        info.name = new_name;
                        let was_new = self.is_new(&old);
                        let added = self.data_mut().change.added_columns.remove(&old.key());
                        self.data_mut().relations.remove(&old.key());
                        let key = Key::new(info.name.key());
                        self.data_mut().relations.insert(key.clone(), Arc::new(info));
                        if was_new {
                            self.data_mut().change.created.insert(key.clone());
                        }
                        if let Some(added) = added {
                            self.data_mut().change.added_columns.insert(key, added);
                        }
                    }
                    ObjectType::ObjectColumn => {
                        let Some(info) = self.relation_mut(&old) else { return };
                        if let Some(col) = info.columns.iter_mut().find(|c| c.name == stmt.subname) {
                            col.name = stmt.newname.clone();
                        }
                        if let Some(added) = self.data_mut().change.added_columns.get_mut(&old.key()) {
                            for column in added {
                                if column.name == stmt.subname {
                                    column.name = stmt.newname.clone();
                                }
                                for from in &mut column.copied_from {
                                    if *from == stmt.subname {
                                        from.clone_from(&stmt.newname);
                                    }
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
            N::UpdateStmt(stmt) => self.apply_update(stmt),
            N::InsertStmt(stmt) => {
                let (Some(rv), Some(query)) = (&stmt.relation, stmt.select_stmt.as_deref()) else { return };
                let Some(query) = query.node.as_ref() else { return };
                self.record_copies(&RelationName::from_range_var(rv), query);
            }
            _ => {}
        }
    }

    fn apply_create(&mut self, stmt: &pg::CreateStmt) {
        let Some(rv) = &stmt.relation else { return };
        let name = RelationName::from_range_var(rv);
        let kind = if stmt.partspec.is_some() { RelKind::PartitionedTable } else { RelKind::Table };
        let mut info = relation(name.clone(), kind, None);
        if let Some(spec) = &stmt.partspec {
            info.partition_key = spec
                .part_params
                .iter()
                .map(|p| match &p.node {
                    Some(N::PartitionElem(e)) if !e.name.is_empty() => Some(e.name.clone()),
                    _ => None,
                })
                .collect();
        }
        if !stmt.access_method.is_empty() {
            info.access_method = stmt.access_method.clone();
        }
        info.parent = stmt.inh_relations.iter().find_map(|p| match &p.node {
            Some(N::RangeVar(rv)) => Some(RelationName::from_range_var(rv)),
            _ => None,
        });
        if let Some(parent) = &info.parent {
            self.data_mut().parents.insert(Key::new(parent.key()));
        }
        info.is_default_partition = stmt.partbound.as_ref().is_some_and(|b| b.is_default);
        for elt in &stmt.table_elts {
            match &elt.node {
                Some(N::ColumnDef(col)) => add_column(&mut info, col),
                Some(N::Constraint(c)) => add_constraint(&mut info, c, &name),
                _ => {}
            }
        }
        // A partition inherits its parent's columns.
        if info.columns.is_empty() {
            if let Some(parent) = info.parent.as_ref().and_then(|p| self.relation(p)) {
                info.columns = parent.columns.clone();
            }
        }
        self.insert(info);
    }

    fn apply_alter(&mut self, stmt: &pg::AlterTableStmt) {
        let Some(rv) = &stmt.relation else { return };
        let table = RelationName::from_range_var(rv);
        for cmd in super::alter_cmds(stmt) {
            let def = cmd.def.as_deref().and_then(|d| d.node.as_ref());
            match (cmd.subtype(), def) {
                (At::AtAttachPartition, Some(N::PartitionCmd(p))) => {
                    if let Some(child) = p.name.as_ref().map(RelationName::from_range_var) {
                        if let Some(info) = self.relation_mut(&child) {
                            info.parent = Some(table.clone());
                            info.is_default_partition = p.bound.as_ref().is_some_and(|b| b.is_default);
                            self.data_mut().parents.insert(Key::new(table.key()));
                        }
                    }
                    continue;
                }
                (At::AtDetachPartition, Some(N::PartitionCmd(p))) => {
                    if let Some(child) = p.name.as_ref().map(RelationName::from_range_var) {
                        if let Some(info) = self.relation_mut(&child) {
                            info.parent = None;
                            info.is_default_partition = false;
                        }
                    }
                    continue;
                }
                _ => {}
            }
            self.record_change(&table, cmd, def);
            if self.relation(&table).is_none() {
                self.note_not_null_check(&table, cmd, def);
                continue;
            }
            let Some(info) = self.relation_mut(&table) else { continue };
            match (cmd.subtype(), def) {
                (At::AtAddColumn, Some(N::ColumnDef(col)))
                    if !(cmd.missing_ok && info.columns.iter().any(|c| c.name == col.colname)) =>
                {
                    add_column(info, col);
                }
                (At::AtAddConstraint, Some(N::Constraint(c))) => add_constraint(info, c, &table),
                (At::AtDropColumn, _) => info.columns.retain(|c| c.name != cmd.name),
                (At::AtDropConstraint, _) => info.constraints.retain(|c| c.name != cmd.name),
                (At::AtValidateConstraint, _) => {
                    if let Some(c) = info.constraints.iter_mut().find(|c| c.name == cmd.name) {
                        c.valid = true;
                    }
                }
                // PostgreSQL 18: `ENFORCED` validates the constraint, `NOT ENFORCED` leaves it
                // unchecked and not valid.
                (At::AtAlterConstraint, Some(N::AtalterConstraint(alter))) if alter.alter_enforceability => {
                    if let Some(c) = info.constraints.iter_mut().find(|c| c.name == alter.conname) {
                        if alter.is_enforced != c.enforced {
                            c.enforced = alter.is_enforced;
                            c.valid = alter.is_enforced;
                        }
                    }
                }
                (At::AtSetNotNull, _) => {
                    if let Some(c) = info.columns.iter_mut().find(|c| c.name == cmd.name) {
                        c.not_null = true;
                    }
                }
                (At::AtDropNotNull, _) => {
                    if let Some(c) = info.columns.iter_mut().find(|c| c.name == cmd.name) {
                        c.not_null = false;
                    }
                }
                (At::AtAlterColumnType, Some(N::ColumnDef(col))) => {
                    if let Some(c) = info.columns.iter_mut().find(|c| c.name == cmd.name) {
                        c.ty = col.type_name.as_ref().map(column_type);
                        c.collation = collation_of(col);
                    }
                }
                (At::AtColumnDefault, _) => {
                    if let Some(c) = info.columns.iter_mut().find(|c| c.name == cmd.name) {
                        c.default = cmd.def.as_deref().map(|d| std::sync::Arc::new(d.clone()));
                    }
                }
                _ => {}
            }
        }
    }
}

impl Catalog {
    /// Follows what proves columns of a table the catalog does not know `NOT NULL`: `CHECK
    /// (column IS NOT NULL)` constraints, and columns added or set `NOT NULL`.
    fn note_not_null_check(&mut self, table: &RelationName, cmd: &pg::AlterTableCmd, def: Option<&N>) {
        let key = table.key();
        let column = match (cmd.subtype(), def) {
            (At::AtAddColumn, Some(N::ColumnDef(col))) => Some((col.colname.clone(), declares_not_null(col))),
            (At::AtSetNotNull, _) => Some((cmd.name.clone(), true)),
            (At::AtDropNotNull | At::AtDropColumn, _) => Some((cmd.name.clone(), false)),
            _ => None,
        };
        if let Some((column, not_null)) = column {
            let known = self.data.not_null_columns_elsewhere.get(&key).is_some_and(|c| c.contains(&column));
            if not_null && !known {
                self.data_mut().not_null_columns_elsewhere.entry(key.clone()).or_default().insert(column);
            } else if !not_null && known {
                if let Some(columns) = self.data_mut().not_null_columns_elsewhere.get_mut(&key) {
                    columns.remove(&column);
                }
            }
        }
        match (cmd.subtype(), def) {
            (At::AtAddConstraint, Some(N::Constraint(c))) => {
                let columns = proves_not_null(c);
                let Some(first) = columns.first() else { return };
                let name =
                    if c.conname.is_empty() { format!("{}_{first}_check", table.name) } else { c.conname.clone() };
                let valid = super::checks_existing_rows(c);
                let checks = self.data_mut().not_null_checks_elsewhere.entry(key).or_default();
                checks.extend(columns.into_iter().map(|column| NotNullCheck { name: name.clone(), column, valid }));
            }
            (At::AtValidateConstraint, _) => {
                if let Some(checks) = self.data_mut().not_null_checks_elsewhere.get_mut(&key) {
                    checks.iter_mut().filter(|c| c.name == cmd.name).for_each(|c| c.valid = true);
                }
            }
            (At::AtDropConstraint, _) => {
                if let Some(checks) = self.data_mut().not_null_checks_elsewhere.get_mut(&key) {
                    checks.retain(|c| c.name != cmd.name);
                }
            }
            (At::AtAddColumn | At::AtAlterColumnType, Some(N::ColumnDef(col))) => {
                let name = if cmd.subtype() == At::AtAddColumn { &col.colname } else { &cmd.name };
                if let Some(ty) = col.type_name.as_ref().map(column_type) {
                    self.data_mut().column_types_elsewhere.entry(key).or_default().push((name.clone(), ty));
                }
            }
            (At::AtDropColumn, _) => {
                if let Some(seen) = self.data_mut().column_types_elsewhere.get_mut(&key) {
                    seen.retain(|(name, _)| *name != cmd.name);
                }
            }
            _ => {}
        }
    }

    /// Columns added to a table that existed before the change set (known or not), and
    /// dropped again.
    fn record_change(&mut self, table: &RelationName, cmd: &pg::AlterTableCmd, def: Option<&N>) {
        if self.is_new(table) {
            return;
        }
        match (cmd.subtype(), def) {
            (At::AtAddColumn, Some(N::ColumnDef(col))) => {
                if cmd.missing_ok && self.column(table, &col.colname).is_some() {
                    return;
                }
                let copied_from = super::column_constraints(col)
                    .filter(|c| c.contype() == ConstrType::ConstrGenerated)
                    .filter_map(|c| c.raw_expr.as_deref())
                    .flat_map(column_names)
                    .collect();
                let added = AddedColumn { name: col.colname.clone(), copied_from };
                self.data_mut().change.added_columns.entry(Key::new(table.key())).or_default().push(added);
            }
            (At::AtDropColumn, _) => {
                if let Some(added) = self.data_mut().change.added_columns.get_mut(&table.key()) {
                    added.retain(|c| c.name != cmd.name);
                }
            }
            _ => {}
        }
    }

    /// `UPDATE t SET new = f(old)` on a column the change set added: a backfill from `old`.
    fn apply_update(&mut self, stmt: &pg::UpdateStmt) {
        let Some(rv) = &stmt.relation else { return };
        let Some(added) = self.data_mut().change.added_columns.get_mut(&RelationName::from_range_var(rv).key()) else {
            return;
        };
        for target in &stmt.target_list {
            let Some(N::ResTarget(target)) = &target.node else { continue };
            let Some(column) = added.iter_mut().find(|c| c.name == target.name) else { continue };
            for source in target.val.as_deref().map(column_names).unwrap_or_default() {
                if source != column.name && !column.copied_from.contains(&source) {
                    column.copied_from.push(source);
                }
            }
        }
    }

    /// `INSERT INTO new SELECT … FROM old`: the new table takes over from the old one.
    fn record_copies(&mut self, target: &RelationName, query: &N) {
        if !self.is_new(target) {
            return;
        }
        for old in super::read_tables(query) {
            if !self.is_new(&old) && !self.data.change.copies.iter().any(|(t, o)| t.same_as(target) && o.same_as(&old))
            {
                self.data_mut().change.copies.push((target.clone(), old));
            }
        }
    }
}

/// The last name part of every column reference in an expression.
fn column_names(expr: &pg::Node) -> Vec<String> {
    let Some(node) = &expr.node else { return Vec::new() };
    let mut names = vec![];
    for (found, ..) in node.nodes() {
        if let pg_query::NodeRef::ColumnRef(r) = found {
            if let Some(name) = last_string(&r.fields) {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
    }
    names
}

fn relation(name: RelationName, kind: RelKind, table: Option<RelationName>) -> RelationInfo {
    RelationInfo {
        name,
        kind,
        columns: Vec::new(),
        constraints: Vec::new(),
        parent: None,
        is_default_partition: false,
        table,
        reads: Vec::new(),
        index_columns: Vec::new(),
        has_constraint_index: false,
        access_method: "heap".to_owned(),
        partition_key: None,
        created: 0,
    }
}

/// The collation a column definition names (`COLLATE "C"`), by its last name part.
pub fn collation_of(col: &pg::ColumnDef) -> Option<String> {
    col.coll_clause.as_ref().and_then(|c| last_string(&c.collname))
}

/// Whether a column definition makes the column `NOT NULL` (directly, or as a primary key).
fn declares_not_null(col: &pg::ColumnDef) -> bool {
    col.is_not_null
        || super::column_constraints(col)
            .any(|c| matches!(c.contype(), ConstrType::ConstrNotnull | ConstrType::ConstrPrimary))
}

fn add_column(info: &mut RelationInfo, col: &pg::ColumnDef) {
    let mut default = col.raw_default.as_deref();
    // The column's primary key and unique constraints, added once the column is there.
    let mut keys = Vec::new();
    let column_name = || pg::Node { node: Some(N::String(pg::String { sval: col.colname.clone() })) };
    for c in super::column_constraints(col) {
        match c.contype() {
            ConstrType::ConstrDefault => default = c.raw_expr.as_deref().or(default),
            ConstrType::ConstrPrimary | ConstrType::ConstrUnique => {
                info.has_constraint_index = true;
                let mut c = c.clone();
                c.keys = vec![column_name()];
                keys.push(c);
            }
            ConstrType::ConstrForeign | ConstrType::ConstrCheck => {
                let mut c = c.clone();
                if c.keys.is_empty() && c.fk_attrs.is_empty() {
                    c.fk_attrs.push(column_name());
                }
                add_constraint(info, &c, &info.name.clone());
            }
            _ => {}
        }
    }
    info.columns.push(Column {
        name: col.colname.clone(),
        ty: col.type_name.as_ref().map(column_type),
        collation: collation_of(col),
        not_null: declares_not_null(col),
        default: default.map(|d| std::sync::Arc::new(d.clone())),
    });
    for c in keys {
        add_constraint(info, &c, &info.name.clone());
    }
}

/// The columns a `CHECK` proves not null: `column IS NOT NULL`, alone or as a conjunct of an
/// `AND`, which PostgreSQL's `SET NOT NULL` accepts as proof (from 12) in place of a scan; and
/// the column of a `NOT NULL` constraint (PostgreSQL 18).
/// This is the one place that decides it.
pub fn proves_not_null(c: &pg::Constraint) -> Vec<String> {
    fn walk(expr: &pg::Node, out: &mut Vec<String>) {
        match &expr.node {
            Some(N::NullTest(t)) if t.nulltesttype() == pg::NullTestType::IsNotNull => {
                if let Some(N::ColumnRef(r)) = t.arg.as_deref().and_then(|a| a.node.as_ref()) {
                    out.extend(last_string(&r.fields));
                }
            }
            Some(N::BoolExpr(b)) if b.boolop() == pg::BoolExprType::AndExpr => {
                b.args.iter().for_each(|a| walk(a, out));
            }
            _ => {}
        }
    }
    let mut columns = Vec::new();
    match c.contype() {
        ConstrType::ConstrCheck => {
            if let Some(expr) = c.raw_expr.as_deref() {
                walk(expr, &mut columns);
            }
        }
        // PostgreSQL 18's `CONSTRAINT … NOT NULL column`, valid once validated.
        ConstrType::ConstrNotnull => {
            columns.extend(c.keys.iter().filter_map(crate::names::string_value).map(str::to_owned))
        }
        _ => {}
    }
    columns
}

fn add_constraint(info: &mut RelationInfo, c: &pg::Constraint, table: &RelationName) {
    let kind = c.contype();
    if matches!(kind, ConstrType::ConstrPrimary | ConstrType::ConstrUnique | ConstrType::ConstrExclusion) {
        info.has_constraint_index = true;
    }
    if kind == ConstrType::ConstrPrimary {
        for key in &c.keys {
            if let Some(N::String(s)) = &key.node {
                if let Some(col) = info.columns.iter_mut().find(|col| col.name == s.sval) {
                    col.not_null = true;
                }
            }
        }
    }
    let proves_not_null = proves_not_null(c);
    let name = if c.conname.is_empty() {
        // PostgreSQL's generated names: `<table>_<column>_fkey`, `_check`, `_key`, `_pkey`.
        let column = c.fk_attrs.iter().chain(&c.keys).find_map(|k| match &k.node {
            Some(N::String(s)) => Some(s.sval.clone()),
            _ => None,
        });
        match (kind, column) {
            (ConstrType::ConstrForeign, Some(col)) => format!("{}_{col}_fkey", table.name),
            (ConstrType::ConstrPrimary, _) => format!("{}_pkey", table.name),
            (ConstrType::ConstrUnique, Some(col)) => format!("{}_{col}_key", table.name),
            (ConstrType::ConstrCheck, _) => format!("{}_check", table.name),
            _ => String::new(),
        }
    } else {
        c.conname.clone()
    };
    info.constraints.push(ConstraintInfo {
        name,
        kind,
        references: super::foreign_table(c),
        proves_not_null,
        valid: super::checks_existing_rows(c),
        enforced: c.is_enforced || !matches!(kind, ConstrType::ConstrCheck | ConstrType::ConstrForeign),
        columns: c.fk_attrs.iter().chain(&c.keys).filter_map(crate::names::string_value).map(str::to_owned).collect(),
    });
}

/// The declared type, by its last name part (`pg_catalog.int4` is `int4`).
pub fn column_type(t: &pg::TypeName) -> ColumnType {
    let name = last_string(&t.names).unwrap_or_default();
    let typmods = t
        .typmods
        .iter()
        .filter_map(|m| match &m.node {
            Some(N::AConst(pg::AConst { val: Some(pg::a_const::Val::Ival(i)), .. })) => Some(i64::from(i.ival)),
            _ => None,
        })
        .collect();
    ColumnType { name, typmods, array: !t.array_bounds.is_empty() }
}

fn last_string(nodes: &[pg::Node]) -> Option<String> {
    nodes.iter().rev().find_map(|n| match &n.node {
        Some(N::String(s)) => Some(s.sval.clone()),
        _ => None,
    })
}
