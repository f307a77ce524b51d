use crate::context::{FileContext, StatementCx};
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::locks::{describe_lock, LockMode};
use crate::names::RelationName;
use crate::rules::shared::dropped_by;
use crate::violation::{Objects, Violation};
use pg_query::protobuf::{self as pg, node::Node as N, ObjectType, ReindexObjectType};

declare_rule! {
    /// ## What it does
    /// Flags a statement that takes an `ACCESS EXCLUSIVE` lock on an existing table when an
    /// earlier statement of the same transaction already holds one on another existing table.
    ///
    /// ## Why is this bad?
    /// Locks are held until the transaction ends, so every table the transaction has locked stays
    /// unavailable while it waits for the next lock: the outage of each table lasts as long as the
    /// whole sequence. Taking the locks one after another, in an order the application does not
    /// share, also invites deadlocks with application transactions that touch the same tables,
    /// which PostgreSQL resolves by cancelling one side.
    ///
    /// The rule reports once per transaction, at the statement that locks a second table. Locks
    /// taken by one statement (a partitioned table and its partitions) are not flagged, nor locks
    /// on indexes, views and sequences, on tables created in the same file, on tables being dropped
    /// (nothing may use them any more, which is `drop-table`'s concern), or on a table the
    /// transaction has already locked.
    ///
    /// ## Example
    /// ```sql
    /// BEGIN;
    /// SET LOCAL lock_timeout = '2s';
    /// ALTER TABLE orders ADD COLUMN region text;
    /// ALTER TABLE customers ADD COLUMN region text;
    /// COMMIT;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// BEGIN;
    /// SET LOCAL lock_timeout = '2s';
    /// ALTER TABLE orders ADD COLUMN region text;
    /// COMMIT;
    /// BEGIN;
    /// SET LOCAL lock_timeout = '2s';
    /// ALTER TABLE customers ADD COLUMN region text;
    /// COMMIT;
    /// ```
    ///
    /// ## Locks
    /// `ACCESS EXCLUSIVE` on each table, all held until the transaction commits.
    ///
    /// ## References
    /// - [Deadlocks](https://www.postgresql.org/docs/current/explicit-locking.html#LOCKING-DEADLOCKS)
    pub RULE = "multiple-access-exclusive-locks", Warning, on, None, file = check_file;
}

/// Reported once per transaction, at the statement that locks a second table.
fn check_file(file: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
    let created = views_and_sequences(file);
    for start in file.transaction_starts() {
        let Some(finding) = analyse(file, start, &created) else { continue };
        let cx = StatementCx::new(file, finding.at);
        if !cx.state.in_transaction {
            continue;
        }
        out.push(cx.report(&RULE, cx.stmt.span, &finding));
    }
}

#[derive(Clone)]
struct Finding {
    /// The statement that locks the second table.
    at: usize,
    first: RelationName,
    next: RelationName,
    /// How many tables the transaction locks by its end.
    total: usize,
}

/// Walks the transaction that starts at `start` once.
fn analyse(file: &FileContext<'_>, start: usize, created: &[(RelationName, usize)]) -> Option<Finding> {
    let cx = &StatementCx::new(file, start);
    let mut held: Vec<&RelationName> = Vec::new();
    let mut found: Option<(usize, RelationName, RelationName)> = None;
    for index in file.transaction_from(start) {
        let new = fresh(&held, exclusive_on_tables(cx, index, created));
        if found.is_none() && !held.is_empty() && !new.is_empty() {
            found = Some((index, held[0].clone(), new[0].clone()));
        }
        held.extend(new);
    }
    found.map(|(at, first, next)| Finding { at, first, next, total: held.len() })
}

fn views_and_sequences(file: &FileContext<'_>) -> Vec<(RelationName, usize)> {
    file.statements
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match &*s.node {
            N::ViewStmt(v) => v.view.as_ref().map(|rv| (RelationName::from_range_var(rv), i)),
            N::CreateSeqStmt(q) => q.sequence.as_ref().map(|rv| (RelationName::from_range_var(rv), i)),
            _ => None,
        })
        .collect()
}

/// The relations of `locked` not in `held`, each once.
fn fresh<'f>(held: &[&RelationName], locked: Vec<&'f RelationName>) -> Vec<&'f RelationName> {
    let mut new: Vec<&RelationName> = Vec::new();
    for relation in locked {
        if !held.iter().chain(&new).any(|h| h.same_as(relation)) {
            new.push(relation);
        }
    }
    new
}

/// The existing tables that statement `index` locks in `ACCESS EXCLUSIVE`. Indexes, views and
/// sequences are left out, and so are the relations the statement drops: nothing may use them any more (which
/// `drop-table` is about), so their locks hold up no one.
fn exclusive_on_tables<'f>(
    cx: &StatementCx<'f, '_>,
    index: usize,
    created: &[(RelationName, usize)],
) -> Vec<&'f RelationName> {
    let file = cx.file;
    let dropped = dropped_by(&file.statements[index].node);
    file.effects[index]
        .locks
        .iter()
        .filter(|l| l.mode == LockMode::AccessExclusive)
        .map(|l| &l.relation)
        .filter(|r| !file.is_new_relation(r, index) && !dropped.iter().any(|d| d.same_as(r)))
        .filter(|r| !is_index(cx, index, r) && !is_view_or_sequence(cx, index, r, created))
        .collect()
}

/// Whether statement `index` names `relation` as a view or a sequence, or an earlier statement
/// created it as one.
fn is_view_or_sequence(
    cx: &StatementCx<'_, '_>,
    index: usize,
    relation: &RelationName,
    created: &[(RelationName, usize)],
) -> bool {
    let named =
        |rv: &Option<pg::RangeVar>| rv.as_ref().is_some_and(|rv| RelationName::from_range_var(rv).same_as(relation));
    let kind = |t: ObjectType| matches!(t, ObjectType::ObjectView | ObjectType::ObjectSequence);
    created.iter().any(|(name, at)| *at < index && name.same_as(relation))
        || match &*cx.file.statements[index].node {
            N::ViewStmt(v) => named(&v.view),
            N::AlterSeqStmt(q) => named(&q.sequence),
            N::AlterTableStmt(s) => kind(s.objtype()) && named(&s.relation),
            N::RenameStmt(s) => (kind(s.rename_type()) || kind(s.relation_type())) && named(&s.relation),
            N::AlterObjectSchemaStmt(s) => kind(s.object_type()) && named(&s.relation),
            _ => false,
        }
}

/// Whether statement `index` names `relation` as an index, or the file created it as one. The
/// table of an index the file did not create is unknown, and may well be one already locked.
fn is_index(cx: &StatementCx<'_, '_>, index: usize, relation: &RelationName) -> bool {
    if cx.file.created_index(relation, index).is_some() {
        return true;
    }
    match &*cx.file.statements[index].node {
        N::DropStmt(s) if s.remove_type() == ObjectType::ObjectIndex => s.objects.iter().any(|o| {
            matches!(&o.node, Some(N::List(l)) if RelationName::from_name_list(&l.items).is_some_and(|n| n.same_as(relation)))
        }),
        N::AlterTableStmt(s) if s.objtype() == ObjectType::ObjectIndex => {
            s.relation.as_ref().is_some_and(|rv| RelationName::from_range_var(rv).same_as(relation))
        }
        N::RenameStmt(s) if s.rename_type() == ObjectType::ObjectIndex => {
            s.relation.as_ref().is_some_and(|rv| RelationName::from_range_var(rv).same_as(relation))
        }
        N::ReindexStmt(s) if s.kind() == ReindexObjectType::ReindexObjectIndex => {
            s.relation.as_ref().is_some_and(|rv| RelationName::from_range_var(rv).same_as(relation))
        }
        _ => false,
    }
}

impl Violation for Finding {
    fn message(&self) -> String {
        let more = match self.total {
            2 => String::new(),
            n => format!(" ({n} tables in all by its end)"),
        };
        format!(
            "statement takes {} while this transaction already holds one on `{}`{more}",
            describe_lock(LockMode::AccessExclusive, &self.next),
            self.first
        )
    }

    fn help(&self) -> Option<String> {
        Some("change one table per transaction, and commit before locking the next".into())
    }

    fn objects(&self) -> Objects {
        Objects::relation(&self.next)
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, lines_with, messages};
    use crate::settings::Settings;

    const ID: &str = "multiple-access-exclusive-locks";

    fn in_tx(body: &str) -> String {
        format!("BEGIN;\n{body}COMMIT;")
    }

    #[test]
    fn flags_the_second_table() {
        let sql =
            in_tx("ALTER TABLE a ADD COLUMN x int;\nALTER TABLE a ADD COLUMN y int;\nALTER TABLE b DROP COLUMN z;\n");
        assert_eq!(lines(&sql, ID), vec![4]);
        assert_eq!(
            messages(&sql, ID),
            vec!["statement takes an `ACCESS EXCLUSIVE` lock on `b` that blocks reads and writes while this transaction already holds one on `a`"]
        );
        let assumed = Settings { assume_in_transaction: true, ..Settings::default() };
        assert_eq!(lines_with("LOCK TABLE a;\nTRUNCATE b;\nTRUNCATE c;\nCOMMIT;\nTRUNCATE d;", ID, &assumed), vec![2]);
        assert_eq!(
            messages(&in_tx("LOCK TABLE a;\nTRUNCATE b;\nTRUNCATE a, c;\nCOMMIT;\nBEGIN;\nTRUNCATE d;\n"), ID),
            vec!["statement takes an `ACCESS EXCLUSIVE` lock on `b` that blocks reads and writes while this transaction already holds one on `a` (3 tables in all by its end)"]
        );
    }

    #[test]
    fn one_statement_indexes_and_new_tables_pass() {
        assert!(lines(&in_tx("DROP TABLE a, b;\n"), ID).is_empty());
        assert!(lines(&in_tx("DROP TABLE a;\nDROP TABLE b;\nALTER TABLE c ADD COLUMN x int;\n"), ID).is_empty());
        let views = "CREATE OR REPLACE VIEW v AS SELECT 1;\nDROP VIEW w;\nALTER TABLE c ADD COLUMN x int;\n\
                     CREATE VIEW w AS SELECT 2;\nCREATE OR REPLACE VIEW w AS SELECT 3;\nALTER VIEW u RENAME TO u2;\n\
                     ALTER SEQUENCE s RENAME TO s2;\nALTER SEQUENCE t OWNED BY NONE;\n";
        assert!(lines(&in_tx(views), ID).is_empty());
        assert!(lines(&in_tx("ALTER TABLE a ADD COLUMN x int;\nDROP INDEX a_x_idx;\n"), ID).is_empty());
        let rename = in_tx("ALTER TABLE a ADD COLUMN x int;\nALTER INDEX a_idx RENAME TO a_x_idx;\n");
        assert!(lines_with(&rename, ID, &Settings { pg_version: 11, ..Settings::default() }).is_empty());
        let new = "CREATE TABLE n (x int);\nALTER TABLE a ADD COLUMN x int;\nALTER TABLE n ADD COLUMN y int;\n";
        assert!(lines(&in_tx(new), ID).is_empty());
        assert!(lines("ALTER TABLE a ADD COLUMN x int;\nALTER TABLE b ADD COLUMN x int;", ID).is_empty());
    }
}
