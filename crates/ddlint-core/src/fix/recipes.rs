//! The safe forms that several rules share, written once.

use super::{Applicability, Edit, Fix, Needs, Proposal, Step};
use crate::context::StatementCx;
use crate::names::{default_object_name, quote_ident, string_value, RelationName};
use crate::source::Span;
use pg_query::protobuf::{self as pg, node::Node as N, ConstrType, Token};

/// The statement with ` CONCURRENTLY` after the first of `after` (the keyword the grammar
/// puts it behind), run outside any transaction.
pub fn concurrently(
    cx: &StatementCx<'_, '_>,
    after: &[Token],
    what: &str,
    undo: Option<String>,
    names: &[&str],
) -> Result<Fix, String> {
    let Some(keyword) = cx.first_token(after) else {
        return Err("ddlint could not find where `CONCURRENTLY` goes".to_owned());
    };
    let sql = cx.rewritten(&[insert(keyword.end, " CONCURRENTLY")]);
    let mut step = Step::new(sql, Needs::NoTransaction);
    step.undo = undo;
    let mut proposal = Proposal::new(
        format!("{what} `CONCURRENTLY`, outside a transaction"),
        Applicability::Unsafe,
        super::slug(&["concurrently", names.first().copied().unwrap_or("")]),
    )
    .step(step);
    for name in names {
        proposal = proposal.names(*name);
    }
    cx.fix(proposal)
}

/// The statement moved as it is to where it can run: outside any transaction, or in a
/// transaction after the one it is in.
pub fn moved(cx: &StatementCx<'_, '_>, needs: Needs, title: &str, slug: &str, names: &[&str]) -> Result<Fix, String> {
    let sql = cx.text(cx.stmt.span).to_owned();
    let mut proposal = Proposal::new(title, Applicability::Unsafe, slug).step(Step::new(sql, needs));
    for name in names {
        proposal = proposal.names(*name);
    }
    cx.fix(proposal)
}

/// An insertion at `at`.
pub fn insert(at: usize, text: &str) -> Edit {
    Edit { span: Span::empty(at), replacement: text.to_owned() }
}

/// `ALTER TABLE … ADD CONSTRAINT` of a `CHECK` or foreign key with `NOT VALID`, then
/// `VALIDATE CONSTRAINT` in a later transaction. An unnamed constraint is given the name
/// PostgreSQL would choose, since `VALIDATE` must name it.
pub fn not_valid_then_validate(
    cx: &StatementCx<'_, '_>,
    stmt: &pg::AlterTableStmt,
    table: &RelationName,
    constraint: &pg::Constraint,
) -> Result<Fix, String> {
    if stmt.cmds.len() != 1 {
        return Err("the `ALTER TABLE` has other subcommands; give the constraint a statement of its own".to_owned());
    }
    let item = cx.item_span_at(constraint.location);
    let mut edits = Vec::new();
    let name = if constraint.conname.is_empty() {
        let name = free_constraint_name(cx, table, &default_name(table, constraint)?);
        edits.push(insert(item.start, &format!("CONSTRAINT {} ", quote_ident(&name))));
        name
    } else {
        constraint.conname.clone()
    };
    edits.push(insert(item.end, " NOT VALID"));
    let add = cx.rewritten(&edits);
    let validate = format!("ALTER TABLE {} VALIDATE CONSTRAINT {}", table.to_sql(), quote_ident(&name));
    let kind = match constraint.contype() {
        ConstrType::ConstrForeign => "foreign key",
        ConstrType::ConstrNotnull => "`NOT NULL` constraint",
        _ => "`CHECK` constraint",
    };
    cx.fix(
        Proposal::new(
            format!("add the {kind} `NOT VALID`, and validate it in a later transaction"),
            Applicability::Unsafe,
            super::slug(&["validate", &name]),
        )
        .step(Step::new(add, Needs::SameTransaction))
        .step(Step::new(validate, Needs::LaterTransaction))
        .names(name),
    )
}

/// `base`, or `base` with the smallest number after it that names no constraint of `table`
/// and no relation in its schema, as far as the history and the file before the statement
/// show: PostgreSQL numbers a generated name the same way when the first choice is taken.
pub fn free_constraint_name(cx: &StatementCx<'_, '_>, table: &RelationName, base: &str) -> String {
    let earlier = crate::rules::shared::earlier_alter_tables(cx, table);
    let named_earlier = |name: &str| {
        earlier.iter().any(|stmt| {
            let N::AlterTableStmt(alter) = &*stmt.node else { return false };
            // Added, or named by a subcommand (`VALIDATE`, `DROP`, `ALTER CONSTRAINT`) of a
            // constraint whose definition is elsewhere: either way the name is in use.
            crate::lock_model::alter_cmds(alter)
                .any(|cmd| cmd.name == name || crate::lock_model::constraint_of(cmd).is_some_and(|c| c.conname == name))
        })
    };
    let taken = |name: &str| {
        named_earlier(name)
            || cx.with_catalog(|c| {
                c.constraint(table, name).is_some_and(|found| found.is_some())
                    || c.relation(&RelationName::new(table.schema.as_deref(), name)).is_some()
            })
    };
    if !taken(base) {
        return base.to_owned();
    }
    (1..)
        .map(|n: u32| {
            let suffix = n.to_string();
            let mut cut = base.len().min(crate::names::MAX_IDENTIFIER_BYTES - suffix.len());
            while !base.is_char_boundary(cut) {
                cut -= 1;
            }
            format!("{}{suffix}", &base[..cut])
        })
        .find(|name| !taken(name))
        .unwrap_or_else(|| base.to_owned())
}

/// The name PostgreSQL gives an unnamed foreign key or `CHECK` constraint.
fn default_name(table: &RelationName, constraint: &pg::Constraint) -> Result<String, String> {
    match constraint.contype() {
        ConstrType::ConstrForeign => {
            let columns: Vec<&str> = constraint.fk_attrs.iter().filter_map(string_value).collect();
            Ok(default_object_name(&table.name, &columns, "fkey"))
        }
        ConstrType::ConstrCheck => {
            // One column referenced (any number of times) names it; otherwise just the table.
            let columns =
                constraint.raw_expr.as_ref().and_then(|e| e.node.as_ref()).map(columns_in).unwrap_or_default();
            let column: Vec<&str> = if columns.len() == 1 { vec![columns[0].as_str()] } else { Vec::new() };
            Ok(default_object_name(&table.name, &column, "check"))
        }
        ConstrType::ConstrNotnull => {
            let columns: Vec<&str> = constraint.keys.iter().filter_map(string_value).collect();
            Ok(default_object_name(&table.name, &columns, "not_null"))
        }
        _ => Err("ddlint names only foreign keys, `CHECK` and `NOT NULL` constraints".to_owned()),
    }
}

/// The distinct columns an expression references, by last name part.
fn columns_in(expr: &N) -> Vec<String> {
    let mut columns: Vec<String> = Vec::new();
    let root = match expr {
        N::ColumnRef(c) => Some(pg_query::NodeRef::ColumnRef(c)),
        _ => None,
    };
    for node in root.into_iter().chain(expr.nodes().into_iter().map(|(node, ..)| node)) {
        if let pg_query::NodeRef::ColumnRef(c) = node {
            if let Some(name) = c.fields.last().and_then(string_value) {
                if !columns.iter().any(|n| n == name) {
                    columns.push(name.to_owned());
                }
            }
        }
    }
    columns
}
