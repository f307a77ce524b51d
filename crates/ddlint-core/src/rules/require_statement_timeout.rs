use crate::context::{FileContext, StatementCx};
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::locks::describe_lock;
use pg_query::protobuf::{self as pg, node::Node as N, VariableSetKind};

declare_rule! {
    /// ## What it does
    /// Flags the first statement of a file that takes a lock stronger than
    /// `SHARE UPDATE EXCLUSIVE` on an existing table while no `statement_timeout` is in force.
    ///
    /// ## Why restrict this?
    /// `lock_timeout` bounds how long a migration waits for its lock, but not how long it then
    /// holds it. A statement that turns out slower than expected (a scan of a bigger table than
    /// in staging, a rewrite nobody predicted) keeps the table blocked until it ends. With a
    /// `statement_timeout` it is cancelled instead and the migration fails fast, to be retried
    /// in a better way.
    ///
    /// ## Example
    /// ```sql
    /// SET lock_timeout = '2s';
    /// ALTER TABLE users ADD COLUMN nickname text;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// SET lock_timeout = '2s';
    /// SET statement_timeout = '30s';
    /// ALTER TABLE users ADD COLUMN nickname text;
    /// ```
    ///
    /// `SET LOCAL statement_timeout` lasts until the end of the current transaction; a plain `SET`
    /// lasts for the session. `RESET statement_timeout` and a timeout of `0` turn it off again.
    /// The rule is opt-in: enable it where every migration should bound its statements.
    ///
    /// ## References
    /// - [statement_timeout](https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-STATEMENT-TIMEOUT)
    pub RULE = "require-statement-timeout", Warning, opt_in, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    let Some(lock) = cx.file.strongest_lock_on_existing(cx.index) else { return };
    if first_unguarded(cx.file, cx.index) != Some(cx.index) {
        return;
    }
    out.push(
        cx.diagnostic(
            &RULE,
            cx.stmt.span,
            format!(
                "statement takes {} with no `statement_timeout` set, so nothing bounds how long it holds it",
                describe_lock(lock.mode, &lock.relation)
            ),
        )
        .with_help("set `statement_timeout` at the start of the migration, as well as `lock_timeout`"),
    );
}

/// The first statement up to `last` that takes a traffic-blocking lock on an existing table while
/// no `statement_timeout` is in force.
fn first_unguarded(file: &FileContext<'_>, last: usize) -> Option<usize> {
    let mut session = false;
    // A `SET LOCAL` value, and the transaction it belongs to.
    let mut local: Option<(usize, bool)> = None;
    for index in 0..=last {
        let state = file.states[index];
        let local_here = local.filter(|&(tx, _)| state.in_transaction && tx == state.transaction_start);
        let in_force = local_here.map_or(session, |(_, on)| on);
        if !in_force && file.strongest_lock_on_existing(index).is_some() {
            return Some(index);
        }
        for (on, is_local) in timeout_settings(&file.statements[index].node) {
            if is_local {
                // `SET LOCAL` outside a transaction block has no effect.
                if state.in_transaction {
                    local = Some((state.transaction_start, on));
                }
            } else {
                session = on;
                local = None;
            }
        }
    }
    None
}

/// The `statement_timeout` settings a statement makes: whether each turns it on, and whether it
/// is local to the transaction.
fn timeout_settings(node: &N) -> Vec<(bool, bool)> {
    match node {
        N::VariableSetStmt(set) if set.name == "statement_timeout" || set.kind() == VariableSetKind::VarResetAll => {
            let on = set.kind() == VariableSetKind::VarSetValue && set.args.iter().all(|a| !is_zero(a));
            vec![(on, set.is_local)]
        }
        N::SelectStmt(select) => select
            .target_list
            .iter()
            .filter_map(|target| {
                let Some(N::ResTarget(res)) = &target.node else { return None };
                let Some(N::FuncCall(call)) = res.val.as_deref().and_then(|v| v.node.as_ref()) else { return None };
                let is_set_config = matches!(call.funcname.last().and_then(|n| n.node.as_ref()), Some(N::String(s)) if s.sval == "set_config");
                let [name, value, local] = call.args.as_slice() else { return None };
                if !is_set_config || string(name)? != "statement_timeout" {
                    return None;
                }
                let is_local = matches!(&local.node, Some(N::AConst(pg::AConst { val: Some(pg::a_const::Val::Boolval(b)), .. })) if b.boolval);
                Some((!is_zero_text(string(value)?), is_local))
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn string(node: &pg::Node) -> Option<&str> {
    match &node.node {
        Some(N::AConst(pg::AConst { val: Some(pg::a_const::Val::Sval(s)), .. })) => Some(&s.sval),
        _ => None,
    }
}

fn is_zero(node: &pg::Node) -> bool {
    match &node.node {
        Some(N::AConst(c)) => match &c.val {
            Some(pg::a_const::Val::Ival(i)) => i.ival == 0,
            Some(pg::a_const::Val::Sval(s)) => is_zero_text(&s.sval),
            Some(pg::a_const::Val::Fval(f)) => is_zero_text(&f.fval),
            _ => false,
        },
        _ => false,
    }
}

fn is_zero_text(value: &str) -> bool {
    let digits = value.trim().trim_end_matches(|c: char| c.is_ascii_alphabetic()).trim();
    digits.parse::<f64>().is_ok_and(|v| v == 0.0)
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::lines_with;
    use crate::settings::Settings;

    const ID: &str = "require-statement-timeout";

    fn lines(sql: &str) -> Vec<usize> {
        lines_with(sql, ID, &Settings { enabled: vec![ID.to_owned()], ..Settings::default() })
    }

    const ALTER: &str = "ALTER TABLE a ADD COLUMN b int;";

    #[test]
    fn flags_only_the_first_unbounded_lock() {
        assert_eq!(lines(&format!("SELECT 1;\n{ALTER}\n{ALTER}")), vec![2]);
        assert!(crate::rules::test_support::lines(ALTER, ID).is_empty(), "opt-in");
    }

    #[test]
    fn statement_timeout_guards() {
        assert!(lines(&format!("SET statement_timeout = '30s';\n{ALTER}")).is_empty());
        assert!(lines(&format!("BEGIN;\nSET LOCAL statement_timeout = 5000;\n{ALTER}\nCOMMIT;")).is_empty());
        assert!(lines(&format!("SELECT set_config('statement_timeout', '1min', false);\n{ALTER}")).is_empty());
        assert!(lines(&format!(
            "CREATE TABLE n (x int);\nALTER TABLE n ADD COLUMN y int;\nSET statement_timeout = '1s';\n{ALTER}"
        ))
        .is_empty());
    }

    #[test]
    fn reset_zero_and_ended_local_settings_do_not_guard() {
        assert_eq!(lines(&format!("SET statement_timeout = 0;\n{ALTER}")), vec![2]);
        assert_eq!(lines(&format!("SET statement_timeout = '1s';\nRESET ALL;\n{ALTER}")), vec![3]);
        assert_eq!(lines(&format!("BEGIN;\nSET LOCAL statement_timeout = '1s';\nCOMMIT;\n{ALTER}")), vec![4]);
        assert_eq!(lines(&format!("SET LOCAL statement_timeout = '1s';\n{ALTER}")), vec![2]);
    }
}
