use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::locks::LockMode;
use crate::names::RelationName;
use crate::violation::{HeldLock, Objects, Violation};
use pg_query::protobuf::{self as pg, node::Node as N, Token};

declare_rule! {
    /// ## What it does
    /// Flags `TRUNCATE` of a table that this migration did not create.
    ///
    /// ## Why is this bad?
    /// `TRUNCATE` deletes every row at once, and the deployed application may still be reading and
    /// writing them. It takes an `ACCESS EXCLUSIVE` lock, which blocks every read and write of the
    /// table, and waits for every transaction using the table to finish before it can start. With
    /// `CASCADE` it also empties every table whose foreign keys point at it.
    ///
    /// ## Example
    /// ```sql
    /// TRUNCATE audit_log;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE created_at < '2024-01-01' LIMIT 5000);
    /// ```
    ///
    /// repeated until no rows are left, each batch in its own transaction. If emptying the table
    /// at once is intended and nothing uses it any more, allow the rule on that line.
    ///
    /// ## Locks
    /// `ACCESS EXCLUSIVE` on each table truncated, including those reached through `CASCADE`.
    ///
    /// ## References
    /// - [TRUNCATE](https://www.postgresql.org/docs/current/sql-truncate.html)
    pub RULE = "truncate", Warning, on, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    let N::TruncateStmt(stmt) = cx.node() else { return };
    let existing: Vec<RelationName> = stmt
        .relations
        .iter()
        .filter_map(|n| match &n.node {
            Some(N::RangeVar(rv)) => Some(RelationName::from_range_var(rv)),
            _ => None,
        })
        .filter(|t| !cx.is_new(t))
        .collect();
    let Some(first) = existing.first() else { return };
    let violation = Truncate {
        lock: HeldLock::new(cx.lock_on(first).unwrap_or(LockMode::AccessExclusive), first),
        others: existing.len() - 1,
        cascaded: (stmt.behavior() == pg::DropBehavior::DropCascade).then(|| cascaded_tables(cx, stmt)),
    };
    let span = cx.find_tokens(&[Token::Truncate]).unwrap_or(cx.stmt.span);
    out.push(cx.report(&RULE, span, &violation));
}

struct Truncate {
    /// The lock on the first table named that exists.
    lock: HeldLock,
    /// How many more tables that exist it names.
    others: usize,
    /// With `CASCADE`, the tables it also empties, where the history knows them.
    cascaded: Option<Vec<RelationName>>,
}

impl Violation for Truncate {
    fn message(&self) -> String {
        let others = match self.others {
            0 => String::new(),
            1 => " and 1 more table".to_owned(),
            n => format!(" and {n} more tables"),
        };
        let cascade = match self.cascaded.as_deref() {
            None => String::new(),
            Some([]) => ", and `CASCADE` also empties every table that references it".to_owned(),
            Some(tables) => format!(", and `CASCADE` also empties {} through their foreign keys", quoted_list(tables)),
        };
        format!("`TRUNCATE` empties `{}`{others} while holding {}{cascade}", self.lock.relation, self.lock)
    }

    fn help(&self) -> Option<String> {
        Some("delete in batches while the table is in use, or confirm that emptying it is intended".into())
    }

    fn objects(&self) -> Objects {
        Objects::relation(&self.lock.relation)
    }
}

/// The tables the lock model has `CASCADE` truncate beyond those named and their partitions
/// or children: the referencing tables that the earlier statements showed.
fn cascaded_tables(cx: &StatementCx<'_, '_>, stmt: &pg::TruncateStmt) -> Vec<RelationName> {
    let mut named: Vec<RelationName> = Vec::new();
    cx.with_catalog(|catalog| {
        for n in &stmt.relations {
            let Some(N::RangeVar(rv)) = &n.node else { continue };
            let table = RelationName::from_range_var(rv);
            if rv.inh {
                named.extend(catalog.descendants(&table).unwrap_or_default());
            }
            named.push(table);
        }
    });
    let locks = &cx.effects().locks;
    locks.iter().map(|l| &l.relation).filter(|r| !named.iter().any(|n| n.same_as(r))).cloned().collect()
}

/// "`a`", "`a` and `b`", "`a`, `b` and `c`".
fn quoted_list(names: &[RelationName]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, init)) => format!("{} and {last}", init.join(", ")),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, messages};

    const ID: &str = "truncate";

    #[test]
    fn flags_truncate_of_existing_tables() {
        assert_eq!(lines("SELECT 1;\nTRUNCATE TABLE a;", ID), vec![2]);
        assert_eq!(
            messages("TRUNCATE a, b CASCADE;", ID),
            vec!["`TRUNCATE` empties `a` and 1 more table while holding an `ACCESS EXCLUSIVE` lock on `a` that blocks reads and writes, and `CASCADE` also empties every table that references it"]
        );
    }

    #[test]
    fn cascade_names_the_tables_it_reaches() {
        let schema = "CREATE TABLE users (id int PRIMARY KEY);\n\
                      CREATE TABLE orders (id int PRIMARY KEY, user_id int REFERENCES users);\n\
                      CREATE TABLE refunds (order_id int REFERENCES orders);\n\
                      COMMIT;\n";
        // Tables created in the file are not flagged, so the schema comes from a down section.
        let sql = format!("-- +goose Up\n{schema}-- +goose Down\nTRUNCATE users CASCADE;\n");
        assert_eq!(
            messages(&sql, ID),
            vec!["`TRUNCATE` empties `users` while holding an `ACCESS EXCLUSIVE` lock on `users` that blocks reads and writes, and `CASCADE` also empties `orders` and `refunds` through their foreign keys"]
        );
    }

    #[test]
    fn new_tables_pass() {
        assert!(lines("CREATE TABLE a (x int);\nINSERT INTO a VALUES (1);\nTRUNCATE a;", ID).is_empty());
        assert_eq!(lines("CREATE TABLE a (x int);\nTRUNCATE a, b;", ID), vec![2]);
    }
}
