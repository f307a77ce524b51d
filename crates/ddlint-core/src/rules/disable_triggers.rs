use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lock_model::alter_cmds;
use crate::names::RelationName;
use crate::violation::{Objects, Violation};
use pg_query::protobuf::{node::Node as N, AlterTableType, Token, VariableSetKind};

declare_rule! {
    /// ## What it does
    /// Flags what switches off a table's foreign keys and triggers: `ALTER TABLE …
    /// DISABLE TRIGGER ALL` or `DISABLE TRIGGER USER` on a table this migration did not create,
    /// and `SET session_replication_role = replica`.
    ///
    /// ## Why is this bad?
    /// `DISABLE TRIGGER ALL` turns off the triggers that enforce foreign keys, and
    /// `DISABLE TRIGGER USER` the application's own triggers (audit rows, counters, sync
    /// triggers), for every session, until the table is enabled again: rows written meanwhile,
    /// by the migration or by the release still running, are never checked. If the migration
    /// fails before `ENABLE TRIGGER`, they stay off. `session_replication_role = replica` does
    /// the same for the migration's own session.
    ///
    /// ## Example
    /// ```sql
    /// SET lock_timeout = '2s';
    /// ALTER TABLE orders DISABLE TRIGGER ALL;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// SET lock_timeout = '2s';
    /// ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
    /// ```
    ///
    /// Keep enforcement on: add a new constraint `NOT VALID` and validate it later, and write
    /// data changes so that the triggers may fire.
    ///
    /// ## Locks
    /// `DISABLE TRIGGER` takes `SHARE ROW EXCLUSIVE` on the table, which blocks writes.
    pub RULE = "disable-triggers", Warning, on, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    match cx.node() {
        N::AlterTableStmt(stmt) => {
            let Some(rv) = &stmt.relation else { return };
            let table = RelationName::from_range_var(rv);
            if cx.is_new(&table) {
                return;
            }
            let cmds: Vec<_> = alter_cmds(stmt).collect();
            let spans = cx.alter_cmd_spans(rv.location, cmds.len());
            for (i, cmd) in cmds.iter().enumerate() {
                let which = match cmd.subtype() {
                    AlterTableType::AtDisableTrigAll => Which::All,
                    AlterTableType::AtDisableTrigUser => Which::User,
                    _ => continue,
                };
                let span = spans.as_ref().map_or(cx.stmt.span, |s| s[i]);
                out.push(cx.report(&RULE, span, &Disabled::Table { table: table.clone(), which }));
            }
        }
        N::VariableSetStmt(set)
            if set.name == "session_replication_role" && set.kind() == VariableSetKind::VarSetValue =>
        {
            let replica = set.args.iter().any(|a| {
                matches!(&a.node, Some(N::AConst(c)) if matches!(&c.val, Some(pg_query::protobuf::a_const::Val::Sval(s)) if s.sval.eq_ignore_ascii_case("replica")))
            });
            if replica {
                let span = cx.find_tokens(&[Token::Set]).unwrap_or(cx.stmt.span);
                out.push(cx.report(&RULE, span, &Disabled::Session));
            }
        }
        _ => {}
    }
}

#[derive(Clone, Copy)]
enum Which {
    /// `ALL`: the foreign keys' internal triggers too.
    All,
    /// `USER`: the application's triggers.
    User,
}

enum Disabled {
    Table {
        table: RelationName,
        which: Which,
    },
    /// `session_replication_role = replica`.
    Session,
}

impl Violation for Disabled {
    fn message(&self) -> String {
        match self {
            Disabled::Table { table, which: Which::All } => format!(
                "`DISABLE TRIGGER ALL` stops the foreign keys and triggers of `{table}` for every session until they are enabled again"
            ),
            Disabled::Table { table, which: Which::User } => format!(
                "`DISABLE TRIGGER USER` stops the triggers of `{table}` for every session until they are enabled again"
            ),
            Disabled::Session => {
                "`session_replication_role = replica` stops foreign keys and triggers for the rest of the session".to_owned()
            }
        }
    }

    fn help(&self) -> Option<String> {
        Some(
            "keep enforcement on: write the data change so that the triggers may fire, or add the constraint `NOT VALID` and validate it later"
                .into(),
        )
    }

    fn objects(&self) -> Objects {
        match self {
            Disabled::Table { table, .. } => Objects::relation(table),
            Disabled::Session => Objects::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::lines;

    const ID: &str = "disable-triggers";

    #[test]
    fn flags_switched_off_enforcement() {
        let sql = "ALTER TABLE orders DISABLE TRIGGER ALL;\nALTER TABLE orders DISABLE TRIGGER USER;\nSET session_replication_role = replica;\nSET session_replication_role TO 'replica';";
        assert_eq!(lines(sql, ID), vec![1, 2, 3, 4]);
    }

    #[test]
    fn one_trigger_new_tables_and_origin_pass() {
        assert!(
            lines("ALTER TABLE orders DISABLE TRIGGER audit;\nALTER TABLE orders ENABLE TRIGGER ALL;", ID).is_empty()
        );
        assert!(lines("CREATE TABLE t (a int);\nALTER TABLE t DISABLE TRIGGER ALL;", ID).is_empty());
        assert!(lines("SET session_replication_role = origin;\nRESET session_replication_role;", ID).is_empty());
    }
}
