use crate::context::FileContext;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lock_model::{alter_cmds, column_constraints, column_def_of, constraint_of, Catalog};
use crate::names::{string_value, RelationName};
use crate::violation::{Objects, Violation};
use pg_query::protobuf::{self as pg, node::Node as N, AlterTableType, ConstrType};

declare_rule! {
    /// ## What it does
    /// Flags a foreign key the migration adds whose referencing columns no index of the table
    /// leads with, by the end of the migration.
    ///
    /// ## Why restrict this?
    /// Every `DELETE` of a referenced row, and every update of its key, looks for referencing
    /// rows: without an index on the referencing columns that is a scan of the whole
    /// referencing table, under the locks of the delete, once per row deleted. Parent deletes
    /// grow slow and pile up locks as the table grows.
    ///
    /// ## Example
    /// ```sql
    /// CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id));
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id));
    /// CREATE INDEX IF NOT EXISTS orders_user_id_idx ON orders (user_id);
    /// ```
    ///
    /// The rule is opt-in: enable it where referenced rows are deleted or their keys change.
    /// A table the history does not know is not judged.
    pub RULE = "foreign-key-without-index", Warning, opt_in, None, file = check_file;
}

fn check_file(file: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
    let end = file.statements.len();
    for index in 0..end {
        if file.statements[index].nested_in.is_some() {
            continue;
        }
        let (table, keys) = match &*file.statements[index].node {
            N::CreateStmt(create) => {
                let Some(rv) = &create.relation else { continue };
                (RelationName::from_range_var(rv), create_keys(create))
            }
            N::AlterTableStmt(alter) => {
                let Some(rv) = &alter.relation else { continue };
                (RelationName::from_range_var(rv), alter_keys(alter))
            }
            _ => continue,
        };
        for (columns, location) in keys {
            // Judged by the schema at the end of the file: an index built after the foreign
            // key, in the same migration, covers it.
            let covered = file.with_catalog_before(end, |c| covered(c, &table, &columns));
            if covered != Some(false) {
                continue;
            }
            let cx = crate::context::StatementCx::new(file, index);
            let span = cx.item_span_at(location);
            out.push(cx.report(&RULE, span, &Unindexed { table: table.clone(), columns }));
        }
    }
}

/// The referencing columns of each foreign key a `CREATE TABLE` declares, with its location.
fn create_keys(create: &pg::CreateStmt) -> Vec<(Vec<String>, i32)> {
    let mut keys = Vec::new();
    for element in &create.table_elts {
        match &element.node {
            Some(N::ColumnDef(col)) => keys.extend(column_keys(col)),
            Some(N::Constraint(c)) if c.contype() == ConstrType::ConstrForeign => {
                keys.push((c.fk_attrs.iter().filter_map(string_value).map(str::to_owned).collect(), c.location));
            }
            _ => {}
        }
    }
    keys
}

fn alter_keys(alter: &pg::AlterTableStmt) -> Vec<(Vec<String>, i32)> {
    let mut keys = Vec::new();
    for cmd in alter_cmds(alter) {
        match cmd.subtype() {
            AlterTableType::AtAddColumn => keys.extend(column_def_of(cmd).map(column_keys).unwrap_or_default()),
            AlterTableType::AtAddConstraint => {
                if let Some(c) = constraint_of(cmd).filter(|c| c.contype() == ConstrType::ConstrForeign) {
                    keys.push((c.fk_attrs.iter().filter_map(string_value).map(str::to_owned).collect(), c.location));
                }
            }
            _ => {}
        }
    }
    keys
}

fn column_keys(col: &pg::ColumnDef) -> Vec<(Vec<String>, i32)> {
    column_constraints(col)
        .filter(|c| c.contype() == ConstrType::ConstrForeign)
        .map(|c| (vec![col.colname.clone()], c.location))
        .collect()
}

/// Whether an index (or a key's) of the table leads with `columns`, in any order; `None`
/// for a table the catalog does not know.
fn covered(catalog: &Catalog, table: &RelationName, columns: &[String]) -> Option<bool> {
    let info = catalog.relation(table)?;
    let leads =
        |index: &[String]| index.len() >= columns.len() && index[..columns.len()].iter().all(|c| columns.contains(c));
    let by_constraint = info
        .constraints
        .iter()
        .filter(|c| matches!(c.kind, ConstrType::ConstrPrimary | ConstrType::ConstrUnique))
        .any(|c| leads(&c.columns));
    let by_index = catalog
        .indexes_of(table)
        .unwrap_or_default()
        .iter()
        .filter_map(|i| catalog.relation(i))
        .any(|i| leads(&i.index_columns));
    Some(by_constraint || by_index || columns.is_empty())
}

struct Unindexed {
    table: RelationName,
    columns: Vec<String>,
}

impl Violation for Unindexed {
    fn message(&self) -> String {
        format!(
            "no index of `{}` leads with the foreign key's `{}`, so each delete of a referenced row scans the table",
            self.table,
            self.columns.join("`, `")
        )
    }

    fn help(&self) -> Option<String> {
        Some(format!(
            "add `CREATE INDEX CONCURRENTLY` on `{}` ({}), in a migration of its own",
            self.table,
            self.columns.join(", ")
        ))
    }

    fn objects(&self) -> Objects {
        Objects { relation: Some(self.table.clone()), column: self.columns.first().cloned(), ..Objects::default() }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::lines_with;
    use crate::settings::Settings;

    const ID: &str = "foreign-key-without-index";

    fn lines(sql: &str) -> Vec<usize> {
        lines_with(sql, ID, &Settings { enabled: vec![ID.to_owned()], ..Settings::default() })
    }

    #[test]
    fn flags_foreign_keys_no_index_leads_with() {
        let sql = "CREATE TABLE users (id bigint PRIMARY KEY);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id));
ALTER TABLE orders ADD COLUMN buyer_id bigint, ADD CONSTRAINT orders_buyer_fk FOREIGN KEY (buyer_id) REFERENCES users (id);";
        assert_eq!(lines(sql), vec![2, 3]);
    }

    #[test]
    fn an_index_anywhere_in_the_file_or_a_key_covers_it() {
        let sql = "CREATE TABLE users (id bigint PRIMARY KEY);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id), shop_id bigint, UNIQUE (shop_id, id));
CREATE INDEX orders_user_idx ON orders (user_id, id);
ALTER TABLE orders ADD FOREIGN KEY (shop_id) REFERENCES users (id);
ALTER TABLE orders ADD FOREIGN KEY (id) REFERENCES users (id);
ALTER TABLE unknown ADD FOREIGN KEY (x) REFERENCES users (id);";
        assert!(lines(sql).is_empty(), "{:?}", lines(sql));
    }
}
