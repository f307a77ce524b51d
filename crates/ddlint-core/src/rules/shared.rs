//! What several rules need to know of a statement or of the statements before it, decided
//! here once. A rule never imports another rule (`tests/tidy.rs` checks it): a fact two rules
//! share lives here.

use crate::context::StatementCx;
use crate::lock_model::{alter_cmds, column_def_of, constraint_of};
use crate::names::{string_value, RelationName};
use pg_query::protobuf::{self as pg, node::Node as N, AlterTableType, ObjectType};

/// Whose transaction a statement runs in, as messages say it.
pub fn transaction_owner(explicit_transaction: bool) -> &'static str {
    if explicit_transaction {
        "the file's transaction block"
    } else {
        "the runner's transaction"
    }
}

/// The table a `CREATE TABLE` or `ALTER TABLE` is about.
pub fn table_of(node: &N) -> Option<RelationName> {
    match node {
        N::CreateStmt(stmt) => stmt.relation.as_ref().map(RelationName::from_range_var),
        N::AlterTableStmt(stmt) => stmt.relation.as_ref().map(RelationName::from_range_var),
        _ => None,
    }
}

/// The columns a statement gives a type, with that type: the columns of `CREATE TABLE`, and
/// `ADD COLUMN` and `ALTER COLUMN … TYPE` in `ALTER TABLE`.
pub fn column_types(node: &N) -> Vec<(&str, &pg::TypeName)> {
    match node {
        N::CreateStmt(stmt) => stmt
            .table_elts
            .iter()
            .filter_map(|e| match &e.node {
                Some(N::ColumnDef(col)) => col.type_name.as_ref().map(|t| (col.colname.as_str(), t)),
                _ => None,
            })
            .collect(),
        N::AlterTableStmt(stmt) => alter_cmds(stmt)
            .filter_map(|cmd| {
                let col = column_def_of(cmd)?;
                let ty = col.type_name.as_ref()?;
                match cmd.subtype() {
                    AlterTableType::AtAddColumn => Some((col.colname.as_str(), ty)),
                    AlterTableType::AtAlterColumnType => Some((cmd.name.as_str(), ty)),
                    _ => None,
                }
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The type's own name, without a `pg_catalog.` qualifier: `int4` for `integer`.
pub fn base_name(ty: &pg::TypeName) -> Option<&str> {
    string_value(ty.names.last()?)
}

/// The relations a `DROP` statement drops.
pub fn dropped_by(node: &N) -> Vec<RelationName> {
    let N::DropStmt(stmt) = node else { return Vec::new() };
    let relations = matches!(
        stmt.remove_type(),
        ObjectType::ObjectTable
            | ObjectType::ObjectView
            | ObjectType::ObjectMatview
            | ObjectType::ObjectSequence
            | ObjectType::ObjectForeignTable
            | ObjectType::ObjectIndex
    );
    if !relations {
        return Vec::new();
    }
    stmt.objects
        .iter()
        .filter_map(|o| match &o.node {
            Some(N::List(list)) => RelationName::from_name_list(&list.items),
            _ => None,
        })
        .collect()
}

/// Whether an earlier statement of the same transaction added the constraint `name` (or an
/// unnamed one) to `table` as `NOT VALID`.
pub fn added_not_valid_earlier(cx: &StatementCx<'_, '_>, table: &RelationName, name: &str) -> bool {
    cx.earlier_in_transaction().iter().any(|stmt| {
        let N::AlterTableStmt(alter) = &*stmt.node else { return false };
        let same_table = alter.relation.as_ref().is_some_and(|rv| RelationName::from_range_var(rv).same_as(table));
        same_table
            && alter_cmds(alter)
                .filter_map(constraint_of)
                .any(|c| c.skip_validation && (c.conname == name || c.conname.is_empty()))
    })
}

/// The `ALTER TABLE` statements on `table` before the one being checked, in file order.
pub fn earlier_alter_tables<'a>(cx: &StatementCx<'_, 'a>, table: &RelationName) -> Vec<&'a crate::parse::Statement> {
    cx.file.alter_tables_before(table, cx.index).iter().map(|&i| cx.file.statements[i]).collect()
}

/// The table a statement renames to `name` (`ALTER TABLE t RENAME TO name`), by its old name.
fn table_renamed_to(node: &N, name: &str) -> Option<RelationName> {
    let N::RenameStmt(rename) = node else { return None };
    if rename.rename_type() != ObjectType::ObjectTable || rename.newname != name {
        return None;
    }
    rename.relation.as_ref().map(RelationName::from_range_var)
}

/// A copy-and-swap: the table `old`, which this statement drops or renames away, is replaced
/// by a copy the file made of its rows (`CREATE TABLE t_new …; INSERT INTO t_new SELECT … FROM
/// t`) that a later statement renames to `old`'s name. The table keeps its name, so this is
/// no contract step: its hazard is the rows written to `old` during the copy. Returns the
/// copy's name.
pub fn swapped_for_copy(cx: &StatementCx<'_, '_>, old: &RelationName) -> Option<RelationName> {
    let copies: Vec<RelationName> = cx.with_catalog(|c| c.copies_of(old).into_iter().cloned().collect());
    if copies.is_empty() {
        return None;
    }
    cx.file.statements[cx.index + 1..].iter().find_map(|s| {
        let from = table_renamed_to(&s.node, &old.name)?;
        copies.iter().find(|c| c.same_as(&from)).cloned()
    })
}

/// Whether dropping `table` ends a copy-and-swap (see [`swapped_for_copy`]) that renamed it
/// away: earlier in the file it was renamed from the name that a copy of its rows now has.
pub fn swapped_out_earlier(cx: &StatementCx<'_, '_>, table: &RelationName) -> bool {
    let copies: Vec<RelationName> = cx.with_catalog(|c| c.copies_of(table).into_iter().cloned().collect());
    !copies.is_empty()
        && cx.file.statements[..cx.index]
            .iter()
            .filter_map(|s| table_renamed_to(&s.node, &table.name))
            .any(|from| copies.iter().any(|c| c.same_as(&from)))
}

/// Whether a later statement of this statement's transaction renames another table to
/// `dropped`'s name: the name the running release uses never goes missing (the swap of a
/// copy kept in step by a trigger ends this way).
pub fn renamed_into_place(cx: &StatementCx<'_, '_>, dropped: &RelationName) -> bool {
    if !cx.state.in_transaction {
        return false;
    }
    let transaction = cx.file.transaction_from(cx.state.transaction_start.min(cx.index));
    cx.file.statements[cx.index + 1..transaction.end.max(cx.index + 1)]
        .iter()
        .filter_map(|s| table_renamed_to(&s.node, &dropped.name))
        .any(|from| from.resolved_schema() == dropped.resolved_schema())
}
