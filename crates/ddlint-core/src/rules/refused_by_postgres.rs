use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lock_model::{alter_cmds, constraint_of};
use crate::names::RelationName;
use crate::violation::{Objects, Violation};
use pg_query::protobuf::{node::Node as N, AlterTableType, ConstrType, ObjectType};

declare_rule! {
    /// ## What it does
    /// Flags statements that PostgreSQL refuses for the version the migrations run on, on a
    /// table the history knows to be partitioned:
    /// - `CREATE INDEX CONCURRENTLY`, and before PostgreSQL 14 `REINDEX … CONCURRENTLY`;
    /// - `ADD CONSTRAINT … USING INDEX`;
    /// - a foreign key `NOT VALID`, before PostgreSQL 18;
    /// - `DROP INDEX CONCURRENTLY` of the table's index.
    ///
    /// ## Why is this bad?
    /// The migration fails at deploy time, often after earlier statements of it ran, and the
    /// usual safe form of a statement is what fails: it needs the partitioned form instead.
    ///
    /// ## Example
    /// ```sql
    /// CREATE TABLE IF NOT EXISTS measurements (taken date NOT NULL, value int) PARTITION BY RANGE (taken);
    /// CREATE INDEX CONCURRENTLY measurements_value_idx ON measurements (value);
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// SET lock_timeout = '2s';
    /// CREATE TABLE IF NOT EXISTS measurements (taken date NOT NULL, value int) PARTITION BY RANGE (taken);
    /// CREATE INDEX measurements_value_idx ON ONLY measurements (value);
    /// ```
    ///
    /// then, for each partition, `CREATE INDEX CONCURRENTLY` on it and `ALTER INDEX
    /// measurements_value_idx ATTACH PARTITION …`.
    ///
    /// ## PostgreSQL versions
    /// A foreign key `NOT VALID` on a partitioned table is accepted from PostgreSQL 18.
    pub RULE = "refused-by-postgres", Error, on, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    let refused = match cx.node() {
        N::IndexStmt(stmt) if stmt.concurrent => {
            let Some(table) = stmt.relation.as_ref().map(RelationName::from_range_var) else { return };
            cx.is_partitioned(&table).then_some(Refused { table, what: What::ConcurrentIndex })
        }
        // PostgreSQL 14 rebuilds a partitioned table's indexes concurrently, one partition at
        // a time.
        N::ReindexStmt(stmt) if crate::lock_model::reindex_concurrently(stmt) && cx.pg_version() < 14 => {
            let Some(table) = stmt.relation.as_ref().map(RelationName::from_range_var) else { return };
            let table = match stmt.kind() {
                pg_query::protobuf::ReindexObjectType::ReindexObjectTable => table,
                _ => match cx.with_catalog(|c| c.table_of_index(&table)) {
                    Some(table) => table,
                    None => return,
                },
            };
            cx.is_partitioned(&table).then_some(Refused { table, what: What::ConcurrentReindex })
        }
        N::DropStmt(stmt) if stmt.concurrent && stmt.remove_type() == ObjectType::ObjectIndex => {
            let index = stmt.objects.iter().find_map(|o| match &o.node {
                Some(N::List(list)) => RelationName::from_name_list(&list.items),
                _ => None,
            });
            let Some(table) = index.and_then(|i| cx.with_catalog(|c| c.table_of_index(&i))) else { return };
            cx.is_partitioned(&table).then_some(Refused { table, what: What::ConcurrentDrop })
        }
        N::AlterTableStmt(stmt) => {
            let Some(table) = stmt.relation.as_ref().map(RelationName::from_range_var) else { return };
            if !cx.is_partitioned(&table) {
                return;
            }
            alter_cmds(stmt).filter(|cmd| cmd.subtype() == AlterTableType::AtAddConstraint).find_map(|cmd| {
                let c = constraint_of(cmd)?;
                let what = match c.contype() {
                    ConstrType::ConstrUnique | ConstrType::ConstrPrimary if !c.indexname.is_empty() => What::UsingIndex,
                    ConstrType::ConstrForeign if c.skip_validation && cx.pg_version() < 18 => What::ForeignKeyNotValid,
                    _ => return None,
                };
                Some(Refused { table: table.clone(), what })
            })
        }
        _ => None,
    };
    if let Some(refused) = refused {
        out.push(cx.report(&RULE, cx.stmt.span, &refused));
    }
}

enum What {
    ConcurrentIndex,
    ConcurrentReindex,
    ConcurrentDrop,
    UsingIndex,
    ForeignKeyNotValid,
}

struct Refused {
    table: RelationName,
    what: What,
}

impl Violation for Refused {
    fn message(&self) -> String {
        let what = match self.what {
            What::ConcurrentIndex => "`CREATE INDEX CONCURRENTLY`",
            What::ConcurrentReindex => "`REINDEX … CONCURRENTLY`",
            What::ConcurrentDrop => "`DROP INDEX CONCURRENTLY`",
            What::UsingIndex => "`ADD CONSTRAINT … USING INDEX`",
            What::ForeignKeyNotValid => "a foreign key `NOT VALID` (before PostgreSQL 18)",
        };
        format!("PostgreSQL refuses {what} on the partitioned table `{}`: the migration fails", self.table)
    }

    fn help(&self) -> Option<String> {
        Some(
            match self.what {
                What::ConcurrentIndex | What::ConcurrentReindex => {
                    "build the index `ON ONLY` the partitioned table, each partition's `CONCURRENTLY`, then `ALTER INDEX … ATTACH PARTITION` each"
                }
                What::ConcurrentDrop => "drop it without `CONCURRENTLY`, in a quiet period",
                What::UsingIndex => {
                    "build a unique index on each partition `CONCURRENTLY`, then add the constraint without `USING INDEX`: it attaches them"
                }
                What::ForeignKeyNotValid => {
                    "add the foreign key `NOT VALID` on each partition, validate each, then add it on the partitioned table"
                }
            }
            .into(),
        )
    }

    fn objects(&self) -> Objects {
        Objects::relation(&self.table)
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lint_after, rule_lines};

    const ID: &str = "refused-by-postgres";
    const HISTORY: &str =
        "CREATE TABLE m (id bigint, taken date NOT NULL, user_id bigint, v int) PARTITION BY RANGE (taken);
CREATE TABLE m_2024 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE INDEX m_v_idx ON m (v);
CREATE TABLE users (id bigint PRIMARY KEY);";

    fn lines(sql: &str) -> Vec<usize> {
        rule_lines(&lint_after(HISTORY, sql), ID)
    }

    #[test]
    fn flags_what_postgres_refuses_on_partitioned_tables() {
        let sql = "CREATE INDEX CONCURRENTLY m_x ON m (id);
DROP INDEX CONCURRENTLY m_v_idx;
ALTER TABLE m ADD CONSTRAINT m_key UNIQUE USING INDEX m_key_idx;
ALTER TABLE m ADD CONSTRAINT m_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
REINDEX TABLE CONCURRENTLY m;";
        assert_eq!(lines(sql), vec![1, 2, 3, 4]);
    }

    #[test]
    fn what_postgres_accepts_passes() {
        let sql = "CREATE INDEX CONCURRENTLY m_x ON m_2024 (id);
CREATE INDEX m_y ON ONLY m (id);
ALTER TABLE m ADD CONSTRAINT m_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
CREATE INDEX CONCURRENTLY users_x ON users (id);";
        assert!(lines(sql).is_empty(), "{:?}", lines(sql));
    }
}
