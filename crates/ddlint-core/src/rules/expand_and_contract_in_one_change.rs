use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lock_model::alter_cmds;
use crate::names::RelationName;
use crate::rules::shared::{swapped_for_copy, swapped_out_earlier};
use crate::violation::{Objects, PhasedChange, Violation};
use pg_query::protobuf::{node::Node as N, AlterTableType, ObjectType, Token};

declare_rule! {
    /// ## What it does
    /// Flags a change that both expands and contracts the same object: it adds a column and
    /// drops the column that the new one replaces (the new column is filled from the old one, or
    /// its name extends the old name, as `full_name` extends `name`), or it creates a table, copies
    /// an old table's rows into it and drops the old table.
    ///
    /// The change is one file, or with `--changed-since`/`--changed` every file of the change set,
    /// such as a pull request.
    ///
    /// ## Why is this bad?
    /// Expand and contract exists so that the application version still running keeps working
    /// while the schema changes under it: first add the new shape, then move data and code over,
    /// and remove the old shape only in a later deploy, once nothing reads it. Doing both in one
    /// deploy drops the old column or table while the running release still uses it, so it
    /// fails until the new code is out, and a rollback of the code finds the data gone.
    ///
    /// ## Example
    /// ```sql
    /// ALTER TABLE users ADD COLUMN full_name text;
    /// UPDATE users SET full_name = name;
    /// ALTER TABLE users DROP COLUMN name;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// -- this change: expand, and write both columns from the application
    /// SET lock_timeout = '2s';
    /// ALTER TABLE users ADD COLUMN full_name text;
    /// ```
    ///
    /// Backfill `full_name` in batches, deploy code that reads only `full_name`, and drop
    /// `name` in a later change.
    ///
    /// ## Locks
    /// `DROP COLUMN` and `DROP TABLE` take `ACCESS EXCLUSIVE` on the table.
    ///
    /// ## References
    /// - [Parallel change (expand and contract)](https://martinfowler.com/bliki/ParallelChange.html)
    pub RULE = "expand-and-contract-in-one-change", Warning, on, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    match cx.node() {
        N::AlterTableStmt(stmt) => {
            let Some(rv) = &stmt.relation else { return };
            let table = RelationName::from_range_var(rv);
            let cmds: Vec<_> = alter_cmds(stmt).collect();
            if !cmds.iter().any(|c| c.subtype() == AlterTableType::AtDropColumn) {
                return;
            }
            let spans = cx.alter_cmd_spans(rv.location, cmds.len());
            for (i, cmd) in cmds.iter().enumerate() {
                if cmd.subtype() != AlterTableType::AtDropColumn {
                    continue;
                }
                let replacement = cx.with_catalog(|catalog| {
                    catalog
                        .added_columns(&table)
                        .iter()
                        .find(|added| added.copied_from.contains(&cmd.name) || extends_name(&added.name, &cmd.name))
                        .map(|added| added.name.clone())
                });
                let Some(replacement) = replacement else { continue };
                let span = spans.as_ref().map_or(cx.stmt.span, |s| s[i]);
                let violation = Contracted::Column { table: table.clone(), column: cmd.name.clone(), replacement };
                out.push(cx.report(&RULE, span, &violation));
            }
        }
        N::DropStmt(stmt) if stmt.remove_type() == ObjectType::ObjectTable => {
            let span = cx.find_tokens(&[Token::Drop, Token::Table]).unwrap_or(cx.stmt.span);
            for object in &stmt.objects {
                let Some(N::List(list)) = &object.node else { continue };
                let Some(old) = RelationName::from_name_list(&list.items) else { continue };
                // A table swapped for a copy of itself keeps its name (`copy-and-swap`).
                if swapped_for_copy(cx, &old).is_some() || swapped_out_earlier(cx, &old) {
                    continue;
                }
                let copy = cx.with_catalog(|catalog| catalog.copies_of(&old).first().map(|new| (*new).clone()));
                let Some(new) = copy else { continue };
                out.push(cx.report(&RULE, span, &Contracted::Table { old, new }));
            }
        }
        _ => {}
    }
}

/// The old shape dropped in the change that adds its replacement.
enum Contracted {
    Column { table: RelationName, column: String, replacement: String },
    Table { old: RelationName, new: RelationName },
}

impl Violation for Contracted {
    fn message(&self) -> String {
        match self {
            Contracted::Column { table, column, replacement } => format!(
                "`{table}.{column}` is dropped in the same change that adds `{replacement}` to replace it, \
                 so the release still running loses the column it reads"
            ),
            Contracted::Table { old, new } => format!(
                "`{old}` is dropped in the same change that creates `{new}` from its rows, \
                 so the release still running loses the table it reads"
            ),
        }
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            Contracted::Column { column, replacement, .. } => {
                format!("ship `{replacement}` and the code that uses it first; drop `{column}` in a later change")
            }
            Contracted::Table { old, new } => {
                format!("ship `{new}` and the code that uses it first; drop `{old}` in a later change")
            }
        })
    }

    fn objects(&self) -> Objects {
        match self {
            Contracted::Column { table, column, .. } => Objects::column(table, column),
            Contracted::Table { old, .. } => Objects::relation(old),
        }
    }

    fn phased(&self) -> Option<PhasedChange> {
        Some(match self {
            Contracted::Column { .. } => PhasedChange::DropColumn,
            Contracted::Table { .. } => PhasedChange::DropTable,
        })
    }
}

/// `full_name` extends `name`, `email_address` extends `email`: the new name holds every
/// underscore-separated word of the old one, in order.
fn extends_name(new: &str, old: &str) -> bool {
    if new == old || old.is_empty() {
        return false;
    }
    let new_words: Vec<&str> = new.split('_').collect();
    let old_words: Vec<&str> = old.split('_').collect();
    new_words.windows(old_words.len()).any(|w| w == old_words.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::lines;

    #[test]
    fn new_names_that_extend_the_old_one() {
        assert!(extends_name("full_name", "name"));
        assert!(extends_name("email_address", "email"));
        assert!(extends_name("new_user_id", "user_id"));
        assert!(!extends_name("username", "name"));
        assert!(!extends_name("name", "name"));
        assert!(!extends_name("last_login", "legacy_flag"));
    }

    #[test]
    fn column_replaced_in_one_change() {
        let sql = "ALTER TABLE users ADD COLUMN display text;\nUPDATE users SET display = name;\nALTER TABLE users DROP COLUMN name;";
        assert_eq!(lines(sql, RULE.id), vec![3]);
    }

    #[test]
    fn unrelated_add_and_drop_are_fine() {
        let sql = "ALTER TABLE users ADD COLUMN last_login timestamptz;\nALTER TABLE users DROP COLUMN legacy_flag;";
        assert!(lines(sql, RULE.id).is_empty());
    }

    #[test]
    fn table_copied_then_dropped() {
        let sql = "CREATE TABLE accounts (id bigint);\nINSERT INTO accounts SELECT id FROM users;\nDROP TABLE users;";
        assert_eq!(lines(sql, RULE.id), vec![3]);
    }

    #[test]
    fn a_new_table_dropped_again_is_fine() {
        let sql = "CREATE TABLE tmp (id bigint);\nINSERT INTO tmp SELECT id FROM users;\nDROP TABLE tmp;";
        assert!(lines(sql, RULE.id).is_empty());
    }
}
