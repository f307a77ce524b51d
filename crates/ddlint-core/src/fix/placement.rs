//! Where each step of a safe form goes, under the file's framework and transactions.

use super::{Edit, Fix, Needs, NewMigration, Proposal, Step};
use crate::context::StatementCx;
use crate::framework::{Direction, Framework, Transaction};
use crate::source::Span;
use pg_query::protobuf::{node::Node as N, Token, TransactionStmtKind as Tx};

/// Turns a rule's proposal into edits and new migrations, or says why the framework cannot
/// run the safe form.
pub(crate) fn place(cx: &StatementCx<'_, '_>, proposal: Proposal) -> Result<Fix, String> {
    let Proposal { title, applicability, steps, names, slug } = proposal;
    if let Some(reason) = super::generated_by(cx.file.framework) {
        return Err(reason.to_owned());
    }
    if cx.stmt.nested_in.is_some() {
        return Err("the statement runs inside a `DO` block, which is one transaction".to_owned());
    }
    let fix = |edits: Vec<Edit>, new_migrations: Vec<NewMigration>| Fix {
        title: title.clone(),
        applicability,
        // What the new migrations' downs undo; a step with no undo (a `VALIDATE`) leaves the
        // object to the file's own down.
        moved: if new_migrations.iter().any(|m| !m.down.is_empty()) { names.clone() } else { Vec::new() },
        edits,
        new_migrations,
        after_other_fixes: false,
    };
    let moving_from = steps.iter().position(|s| s.needs != Needs::SameTransaction).unwrap_or(steps.len());
    let (staying, moving) = steps.split_at(moving_from);
    let statement = cx.stmt.span;
    if moving.is_empty() {
        return Ok(fix(vec![replace(statement, staying)], Vec::new()));
    }
    let section = cx.file.section_of(cx.index);
    let framework = cx.file.framework.unwrap_or(Framework::Plain);
    let alone = cx.file.top_level_in_section(cx.index) == 1;
    let one_statement_per_file = matches!(framework, Framework::GolangMigrate | Framework::Flyway)
        || section.is_some_and(|s| s.transaction == Transaction::ImplicitWhenMultiStatement);

    // Statement by statement in autocommit: every step is its own transaction already.
    if !cx.state.in_transaction && (!one_statement_per_file || (alone && steps.len() == 1)) {
        return Ok(fix(vec![replace(statement, &steps)], Vec::new()));
    }
    if section.is_some_and(|s| s.direction == Direction::Down) {
        return Err("the statement is in a down migration, and ddlint adds only up migrations".to_owned());
    }
    // A transaction the file opens itself: the moved steps run after its `COMMIT`.
    if cx.state.explicit_transaction && !cx.state.runner_transaction {
        let Some(commit) = closing_commit(cx) else {
            return Err("the file's transaction around the statement has no `COMMIT` to move it after".to_owned());
        };
        refuse_later_uses(cx, &names, commit)?;
        let after = end_of_statement(cx, commit);
        let moved: String = moving.iter().map(|s| format!("\n{};", s.sql)).collect();
        let mut edits = vec![remove_or_replace(cx, staying), Edit { span: Span::empty(after), replacement: moved }];
        edits.sort_by_key(|e| e.span.start);
        return Ok(fix(edits, Vec::new()));
    }
    // The runner's transaction: a file marker can turn it off when the statement is alone.
    if alone && staying.is_empty() && !moving.iter().any(|s| s.needs == Needs::LaterTransaction) {
        if let Some(marker) = no_transaction_marker(cx, framework) {
            return Ok(fix(vec![marker, replace(statement, moving)], Vec::new()));
        }
    }
    if !framework.can_add_migrations() {
        return Err(format!(
            "the safe form needs a migration of its own, which ddlint cannot write for {}",
            framework.name()
        ));
    }
    // A plain file is run by a runner ddlint knows nothing of, which wraps every file.
    if framework == Framework::Plain && moving.iter().any(|s| s.needs == Needs::NoTransaction) {
        return Err("the runner wraps every file in a transaction (assume-in-transaction), so no new plain file could run it outside one".to_owned());
    }
    let section_end = cx.file.section_end(cx.index);
    refuse_later_uses(cx, &names, section_end)?;
    // Runners that send a file as one query need a migration per step that runs outside a
    // transaction (dbmate too, even with `transaction:false`).
    let one_per_step = one_statement_per_file || framework == Framework::Dbmate;
    let groups: Vec<&[Step]> = if one_per_step { moving.chunks(1).collect() } else { vec![moving] };
    let new_migrations = groups.into_iter().map(|steps| new_migration(cx, &slug, steps, one_per_step)).collect();
    let mut edits = vec![remove_or_replace(cx, staying)];
    // The new migration's down undoes what moved; the file's own down must not undo it again.
    if moving.iter().any(|s| s.undo.is_some()) {
        edits.extend(down_drops_of(cx, &names));
        edits.sort_by_key(|e| e.span.start);
    }
    Ok(fix(edits, new_migrations))
}

/// Removals of the statements in the file's down sections that drop exactly one of `names`.
fn down_drops_of(cx: &StatementCx<'_, '_>, names: &[String]) -> Vec<Edit> {
    (0..cx.file.statements.len())
        .filter(|&i| {
            let stmt = cx.file.statements[i];
            cx.file.section_of(i).is_some_and(|s| s.direction == Direction::Down)
                && stmt.nested_in.is_none()
                && super::drops_one_of(&stmt.node, names)
        })
        .map(|i| remove_statement(cx, i))
        .collect()
}

/// The statement's span replaced with the steps, the file's own `;` closing the last.
fn replace(statement: Span, steps: &[Step]) -> Edit {
    let sql: Vec<&str> = steps.iter().map(|s| s.sql.as_str()).collect();
    Edit { span: statement, replacement: sql.join(";\n") }
}

/// The staying steps in the statement's place, or the statement removed with its `;` and
/// the rest of its line when nothing stays.
fn remove_or_replace(cx: &StatementCx<'_, '_>, staying: &[Step]) -> Edit {
    if staying.is_empty() {
        remove_statement(cx, cx.index)
    } else {
        replace(cx.stmt.span, staying)
    }
}

/// Statement `index` removed with its `;`, and with its line when it is alone on it.
pub(crate) fn remove_statement(cx: &StatementCx<'_, '_>, index: usize) -> Edit {
    let span = super::whole_lines(cx.file.text, cx.file.statements[index].span.start, end_of_statement(cx, index));
    Edit { span, replacement: String::new() }
}

/// The offset just after statement `index`'s closing `;`, or after its last token.
fn end_of_statement(cx: &StatementCx<'_, '_>, index: usize) -> usize {
    let stmt = cx.file.statements[index];
    let tokens = &cx.file.parsed.tokens;
    tokens
        .get(stmt.tokens.end..)
        .unwrap_or_default()
        .iter()
        .find(|t| !crate::parse::is_comment(t.token))
        .filter(|t| t.token == Token::Ascii59)
        .map_or(stmt.span.end, |t| t.end)
}

/// The `COMMIT` that closes the transaction the statement runs in.
fn closing_commit(cx: &StatementCx<'_, '_>) -> Option<usize> {
    let end = cx.file.section_end(cx.index);
    (cx.index + 1..end).find(|&i| {
        let stmt = cx.file.statements[i];
        stmt.nested_in.is_none()
            && matches!(&*stmt.node, N::TransactionStmt(t) if matches!(t.kind(), Tx::TransStmtCommit) && !t.chain)
    })
}

/// Refuses to move a step past a later statement (before `until`) that names what it builds.
fn refuse_later_uses(cx: &StatementCx<'_, '_>, names: &[String], until: usize) -> Result<(), String> {
    let later = cx.index + 1..until;
    let Some(first) = names.iter().filter_map(|n| cx.file.first_use_of(n, later.clone())).min() else {
        return Ok(());
    };
    let line = cx.file.line_of(cx.file.statements[first].span.start);
    Err(format!("moving the statement would run it after line {line}, which uses `{}`", names.join("`, `")))
}

/// The edit that turns off the runner's transaction for the statement's section, where the
/// framework has a marker for it.
fn no_transaction_marker(cx: &StatementCx<'_, '_>, framework: Framework) -> Option<Edit> {
    let section = cx.file.section_of(cx.index)?;
    let comment = cx
        .file
        .parsed
        .comments()
        .filter(|t| section.span.start <= t.start && t.end <= cx.stmt.span.start)
        .map(|t| (t.start, t.end, cx.text(Span::new(t.start, t.end))))
        .find(|(_, _, text)| {
            let words: Vec<String> = text.trim_start_matches('-').split_whitespace().map(str::to_lowercase).collect();
            match framework {
                Framework::Goose => words == ["+goose", "up"],
                Framework::Dbmate => words.first().is_some_and(|w| w == "migrate:up"),
                Framework::SqlMigrate => words == ["+migrate", "up"],
                _ => false,
            }
        })?;
    let (start, end, _) = comment;
    Some(match framework {
        // goose reads the marker anywhere in the file; it applies to the whole file.
        Framework::Goose => Edit { span: Span::empty(start), replacement: "-- +goose NO TRANSACTION\n".to_owned() },
        Framework::Dbmate => Edit { span: Span::empty(end), replacement: " transaction:false".to_owned() },
        _ => Edit { span: Span::empty(end), replacement: " notransaction".to_owned() },
    })
}

/// A migration of `steps`. Where the runner sends a file as one query (golang-migrate), a
/// second statement would make it a transaction block, so a step that must run outside one
/// gets no `SET lock_timeout` before it (its lock does not block traffic anyway).
fn new_migration(cx: &StatementCx<'_, '_>, slug: &str, steps: &[Step], one_statement_per_file: bool) -> NewMigration {
    let transaction = steps.iter().all(|s| s.needs != Needs::NoTransaction);
    let guard = transaction || !one_statement_per_file;
    // A step that runs outside a transaction is a concurrent form (or an enum's `ADD VALUE`),
    // whose locks let traffic go on, as the lock-model verification shows for each
    // `CONCURRENTLY` case, and so is its undo; only the others are put to the lock model.
    let in_transaction = || steps.iter().filter(|s| s.needs != Needs::NoTransaction);
    let up_blocks = guard && in_transaction().any(|s| blocks_traffic(&s.sql, cx.pg_version()));
    let down: Vec<String> = steps.iter().rev().filter_map(|s| s.undo.clone()).collect();
    let down_blocks =
        guard && in_transaction().filter_map(|s| s.undo.as_deref()).any(|sql| blocks_traffic(sql, cx.pg_version()));
    NewMigration {
        slug: slug.to_owned(),
        up: with_lock_timeout(cx, steps.iter().map(|s| s.sql.clone()).collect(), transaction, up_blocks),
        down: with_lock_timeout(cx, down, transaction, down_blocks),
        transaction,
    }
}

/// `statements`, after `SET lock_timeout` when `blocks`: one of them takes a lock that blocks
/// traffic.
fn with_lock_timeout(
    cx: &StatementCx<'_, '_>,
    statements: Vec<String>,
    transaction: bool,
    blocks: bool,
) -> Vec<String> {
    if !blocks {
        return statements;
    }
    let set = if transaction { "SET LOCAL" } else { "SET" };
    let mut guarded = vec![format!("{set} lock_timeout = '{}'", cx.settings().fix_lock_timeout)];
    guarded.extend(statements);
    guarded
}

/// Whether the lock model says `sql` takes a lock that blocks reads or writes. SQL that does
/// not parse alone (a templating placeholder the file's masking hid) is taken as the author
/// wrote it, with no `SET` added.
fn blocks_traffic(sql: &str, pg_version: u32) -> bool {
    let Ok(parsed) = crate::pg_ffi::parse(sql) else { return false };
    parsed.stmts.iter().filter_map(|s| s.stmt.as_ref()?.node.as_ref()).any(|node| {
        let effects = crate::lock_model::statement_effects(node, pg_version, &crate::lock_model::Catalog::default());
        effects.locks.iter().any(|l| l.mode.blocks_traffic())
    })
}
