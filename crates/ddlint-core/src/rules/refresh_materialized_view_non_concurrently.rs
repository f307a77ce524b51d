use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::fix::{recipes, Applicability, Fix, Needs, Proposal, Step};
use crate::locks::LockMode;
use crate::names::RelationName;
use crate::violation::{HeldLock, Objects, Violation};
use pg_query::protobuf::{self as pg, node::Node as N, Token};

declare_rule! {
    /// ## What it does
    /// Flags `REFRESH MATERIALIZED VIEW` without `CONCURRENTLY` on a materialized view that this
    /// migration did not create.
    ///
    /// ## Why is this bad?
    /// A plain refresh runs the view's query and replaces its contents while holding an
    /// `ACCESS EXCLUSIVE` lock on the view, which blocks every read of it until the query is done.
    /// `WITH NO DATA` is quick but leaves the view unreadable until the next refresh.
    ///
    /// ## Example
    /// ```sql
    /// REFRESH MATERIALIZED VIEW daily_sales;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// SET lock_timeout = '2s';
    /// REFRESH MATERIALIZED VIEW CONCURRENTLY daily_sales;
    /// ```
    ///
    /// `CONCURRENTLY` needs a unique index on the view (without a `WHERE` clause) covering all
    /// rows, and a view that has been populated once. It is slower, but reads go on meanwhile.
    ///
    /// ## Locks
    /// `ACCESS EXCLUSIVE` on the view; with `CONCURRENTLY`, `EXCLUSIVE`, which lets reads go on.
    ///
    /// ## Fix
    /// Adds `CONCURRENTLY`, in place: a concurrent refresh may run inside a transaction. No fix is
    /// offered for `WITH NO DATA`, which cannot be concurrent, nor when the history shows the view
    /// has no index (a concurrent refresh needs a unique index on it).
    ///
    /// ## Fix safety
    /// Unsafe: `REFRESH … CONCURRENTLY` fails when the view has no unique index that covers every
    /// row, which ddlint cannot always see, and it takes longer than a plain refresh.
    ///
    /// ## References
    /// - [REFRESH MATERIALIZED VIEW](https://www.postgresql.org/docs/current/sql-refreshmaterializedview.html)
    pub RULE = "refresh-materialized-view-non-concurrently", Warning, on, Some(check), fix = unsafe;
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    let N::RefreshMatViewStmt(stmt) = cx.node() else { return };
    if stmt.concurrent {
        return;
    }
    let Some(rv) = &stmt.relation else { return };
    let view = RelationName::from_range_var(rv);
    if cx.is_new(&view) {
        return;
    }
    let span = cx.find_tokens(&[Token::Refresh, Token::Materialized, Token::View]).unwrap_or(cx.stmt.span);
    let violation = Refresh {
        lock: HeldLock::new(cx.lock_on(&view).unwrap_or(LockMode::AccessExclusive), &view),
        with_no_data: stmt.skip_data,
    };
    out.push(cx.report(&RULE, span, &violation).with_fix(fix(cx, stmt, &view)));
}

struct Refresh {
    /// The lock on the view.
    lock: HeldLock,
    with_no_data: bool,
}

impl Violation for Refresh {
    fn message(&self) -> String {
        let Self { lock, .. } = self;
        if self.with_no_data {
            format!("`REFRESH MATERIALIZED VIEW … WITH NO DATA` takes {lock} and leaves `{}` unreadable", lock.relation)
        } else {
            format!("`REFRESH MATERIALIZED VIEW` without `CONCURRENTLY` runs the view's query while holding {lock}")
        }
    }

    fn help(&self) -> Option<String> {
        Some(
            if self.with_no_data {
                "refresh it `CONCURRENTLY` with data instead, so that it stays readable"
            } else {
                "give the view a unique index and use `REFRESH MATERIALIZED VIEW CONCURRENTLY`"
            }
            .into(),
        )
    }

    fn objects(&self) -> Objects {
        Objects::relation(&self.lock.relation)
    }
}

fn fix(cx: &StatementCx<'_, '_>, stmt: &pg::RefreshMatViewStmt, view: &RelationName) -> Result<Fix, String> {
    if stmt.skip_data {
        return Err("`WITH NO DATA` cannot be combined with `CONCURRENTLY`".to_owned());
    }
    if cx.with_catalog(|c| c.indexes_of(view)).is_some_and(|indexes| indexes.is_empty()) {
        return Err(format!("`{view}` has no index, and a concurrent refresh needs a unique one"));
    }
    let Some(keyword) = cx.first_token(&[Token::View]) else {
        return Err("ddlint could not find where `CONCURRENTLY` goes".to_owned());
    };
    let sql = cx.rewritten(&[recipes::insert(keyword.end, " CONCURRENTLY")]);
    cx.fix(
        Proposal::new("refresh the view `CONCURRENTLY`", Applicability::Unsafe, "")
            .step(Step::new(sql, Needs::SameTransaction)),
    )
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, messages};

    const ID: &str = "refresh-materialized-view-non-concurrently";

    #[test]
    fn flags_plain_refresh() {
        assert_eq!(lines("SELECT 1;\nREFRESH MATERIALIZED VIEW mv;", ID), vec![2]);
        assert_eq!(
            messages("REFRESH MATERIALIZED VIEW mv;", ID),
            vec!["`REFRESH MATERIALIZED VIEW` without `CONCURRENTLY` runs the view's query while holding an `ACCESS EXCLUSIVE` lock on `mv` that blocks reads and writes"]
        );
        assert_eq!(lines("REFRESH MATERIALIZED VIEW mv WITH NO DATA;", ID), vec![1]);
    }

    #[test]
    fn concurrently_and_new_views_pass() {
        assert!(lines("REFRESH MATERIALIZED VIEW CONCURRENTLY mv;", ID).is_empty());
        let new = "CREATE MATERIALIZED VIEW mv AS SELECT 1 AS a WITH NO DATA;\nREFRESH MATERIALIZED VIEW mv;";
        assert!(lines(new, ID).is_empty());
    }
}
