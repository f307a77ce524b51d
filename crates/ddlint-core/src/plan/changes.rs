//! One builder per kind of phased change: what each phase runs, what undoes it, and which
//! release goes between the phases.

use super::sql::{self, BatchWork};
use super::{Draft, DraftPhase, Input, PhaseKind};
use crate::lock_model::{alter_cmds, column_constraints, column_def_of};
use crate::names::{quote_ident, RelationName};
use pg_query::protobuf::{self as pg, node::Node as N, AlterTableType as At, ConstrType, ObjectType};

pub(super) fn rename_column(input: &Input<'_, '_, '_>) -> Result<Draft, String> {
    let N::RenameStmt(stmt) = input.node() else { return Err(not_planned()) };
    let table = input.table()?;
    let (old, new) = (stmt.subname.as_str(), stmt.newname.as_str());
    let column = input.column(&table, old)?;
    input.refuse_keys_and_indexes(&table, old)?;
    let ty = column.ty.as_ref().map(sql::column_type).ok_or_else(|| input.unknown_type(&table, old))?;
    let key = input.key(&table)?;
    let (t, o, n) = (table.to_sql(), quote_ident(old), quote_ident(new));
    let function = sql::beside(&table, &format!("{}_{old}_to_{new}_sync", table.name));
    let trigger = format!("{old}_to_{new}_sync");
    let sync_body = format!(
        "    IF TG_OP = 'INSERT' THEN
        IF NEW.{n} IS NULL THEN
            NEW.{n} := NEW.{o};
        ELSE
            NEW.{o} := NEW.{n};
        END IF;
    ELSIF NEW.{o} IS DISTINCT FROM OLD.{o} THEN
        NEW.{n} := NEW.{o};
    ELSIF NEW.{n} IS DISTINCT FROM OLD.{n} THEN
        NEW.{o} := NEW.{n};
    END IF;
"
    );
    let create_sync = vec![
        sql::trigger_function(&function, &sync_body),
        sql::trigger(&trigger, &table, &function, input.pg_version()),
    ];
    let drop_sync = vec![sql::drop_trigger(&trigger, &table), sql::drop_function(&function)];
    let default = column.default_sql();

    let mut expand_down = drop_sync.clone();
    expand_down.push(input.undo_own(
        "drop-column",
        "the column this phase added, unused by any release yet",
        &format!("ALTER TABLE {t} DROP COLUMN {n}"),
    ));
    let mut contract_up = drop_sync.clone();
    contract_up.push(ignored(
        "drop-column",
        &format!("contract: no deployed release reads `{old}` any more"),
        &format!("ALTER TABLE {t} DROP COLUMN {o}"),
    ));
    let mut contract_down = vec![format!("ALTER TABLE {t} ADD COLUMN {o} {ty}")];
    if let Some(default) = &default {
        contract_up.push(format!("ALTER TABLE {t} ALTER COLUMN {n} SET DEFAULT {default}"));
        contract_down.push(format!("ALTER TABLE {t} ALTER COLUMN {n} DROP DEFAULT"));
        contract_down.push(format!("ALTER TABLE {t} ALTER COLUMN {o} SET DEFAULT {default}"));
    }
    contract_down.extend(create_sync.iter().cloned());
    contract_down.push(ignored(
        "statements-after-access-exclusive",
        "a rollback copies the values back into the column it re-creates",
        &format!("UPDATE {t} SET {o} = {n} WHERE {o} IS DISTINCT FROM {n}"),
    ));

    let mut phases = vec![
        DraftPhase::transactional(
            PhaseKind::Expand,
            format!("add_{new}_beside_{old}"),
            format!("add `{new}` beside `{old}`, kept in step with it by a trigger in both directions"),
            [vec![format!("ALTER TABLE {t} ADD COLUMN {n} {ty}")], create_sync.clone()].concat(),
            expand_down,
            input,
        ),
        backfill_phase(input, &table, &key, &format!("{n} = {o}"), &format!("{n} IS DISTINCT FROM {o}"), new)
            .released(format!(
                "deploy the release that reads and writes `{new}`; the trigger keeps `{old}` in step for the release still running"
            )),
    ];
    let mut contract = DraftPhase::transactional(
        PhaseKind::Contract,
        format!("drop_{old}"),
        format!("drop the trigger and `{old}`, and give `{new}` its default"),
        contract_up,
        contract_down,
        input,
    );
    contract.irreversible =
        Some(format!("the down re-creates `{old}` and copies the values back from `{new}` in one statement"));
    if column.not_null {
        // The down re-creates the column nullable; the values it copies back are all there,
        // so it may say `NOT NULL` again, at the cost of one scan.
        contract.down.push(ignored(
            "set-not-null",
            "a rollback restores the old column's `NOT NULL`, with one scan",
            &format!("ALTER TABLE {t} ALTER COLUMN {o} SET NOT NULL"),
        ));
    }
    push_contract(&mut phases, contract, input, &table, new, column.not_null);
    Ok(Draft {
        title: format!("rename `{table}.{old}` to `{new}`"),
        table,
        phases,
        verification: Some(format!("SELECT count(*) FROM {t} WHERE {n} IS DISTINCT FROM {o}")),
        checklist: checklist(&[
            "the backfill is complete: the verification query returns 0".to_owned(),
            format!("the release that reads and writes `{new}` serves all traffic"),
            format!("no deployed code, report or job reads or writes `{old}`"),
        ]),
        inverse: input.inverse_renames(old, new),
    })
}

pub(super) fn rename_table(input: &Input<'_, '_, '_>) -> Result<Draft, String> {
    let N::RenameStmt(stmt) = input.node() else { return Err(not_planned()) };
    if stmt.rename_type() != ObjectType::ObjectTable {
        return Err("only a table's rename is planned; a view can be re-created under the new name".to_owned());
    }
    let table = input.table()?;
    let new = sql::beside(&table, &stmt.newname);
    let (t, n) = (table.to_sql(), new.to_sql());
    let view = format!("CREATE VIEW {t} AS SELECT * FROM {n}");
    let phases = vec![
        DraftPhase::transactional(
            PhaseKind::Expand,
            format!("rename_{}_to_{}", table.name, new.name),
            format!("rename `{table}` to `{}`, and keep the old name as a view over it", new.name),
            vec![
                ignored(
                    "rename-table",
                    "the old name stays readable and writable as a view until contract",
                    &format!("ALTER TABLE {t} RENAME TO {}", quote_ident(&new.name)),
                ),
                view.clone(),
            ],
            vec![
                format!("DROP VIEW {t}"),
                ignored(
                    "rename-table",
                    "a rollback gives the table its old name back",
                    &format!("ALTER TABLE {n} RENAME TO {}", quote_ident(&table.name)),
                ),
            ],
            input,
        )
        .released(format!("deploy the release that uses `{}`; the view serves the release still running", new.name)),
        DraftPhase::transactional(
            PhaseKind::Contract,
            format!("drop_view_{}", table.name),
            format!("drop the view `{table}`"),
            vec![format!("DROP VIEW {t}")],
            vec![view],
            input,
        ),
    ];
    Ok(Draft {
        title: format!("rename `{table}` to `{}`", new.name),
        table: table.clone(),
        phases,
        verification: None,
        checklist: checklist(&[
            format!("the release that uses `{}` serves all traffic", new.name),
            format!("no deployed code, report or job uses `{table}`"),
        ]),
        inverse: input.inverse_table_renames(&table, &new),
    })
}

pub(super) fn change_column_type(input: &Input<'_, '_, '_>) -> Result<Draft, String> {
    let (table, cmd) = input.only_subcommand(At::AtAlterColumnType)?;
    let name = cmd.name.as_str();
    let Some(def) = column_def_of(cmd) else { return Err(not_planned()) };
    if def.raw_default.is_some() {
        return Err("a `USING` expression is not planned; keep the sync trigger's cast by hand".to_owned());
    }
    let ty = def.type_name.as_ref().and_then(crate::parse::type_sql).ok_or_else(|| input.unknown_type(&table, name))?;
    let column = input.column(&table, name)?;
    input.refuse_keys_and_indexes(&table, name)?;
    let old_ty = column.ty.as_ref().map(sql::column_type).ok_or_else(|| input.unknown_type(&table, name))?;
    let key = input.key(&table)?;
    let staged = format!("{name}_new");
    let (t, c, s) = (table.to_sql(), quote_ident(name), quote_ident(&staged));
    let function = sql::beside(&table, &format!("{}_{name}_retype_sync", table.name));
    let trigger = format!("{name}_retype_sync");
    let body = format!("    NEW.{s} := NEW.{c};\n");
    let create_sync =
        vec![sql::trigger_function(&function, &body), sql::trigger(&trigger, &table, &function, input.pg_version())];
    let drop_sync = vec![sql::drop_trigger(&trigger, &table), sql::drop_function(&function)];
    let default = column.default_sql();

    let mut contract_up = drop_sync.clone();
    contract_up.push(ignored(
        "drop-column",
        &format!("contract: `{staged}` holds every value of `{name}` in the new type"),
        &format!("ALTER TABLE {t} DROP COLUMN {c}"),
    ));
    contract_up.push(ignored(
        "rename-column",
        "the new column takes the old name in the transaction that drops the old one",
        &format!("ALTER TABLE {t} RENAME COLUMN {s} TO {c}"),
    ));
    let mut contract_down = vec![
        ignored(
            "rename-column",
            "a rollback moves the new column back beside the old one",
            &format!("ALTER TABLE {t} RENAME COLUMN {c} TO {s}"),
        ),
        format!("ALTER TABLE {t} ADD COLUMN {c} {old_ty}"),
    ];
    if let Some(default) = &default {
        contract_up.push(format!("ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT {default}"));
        contract_down.push(format!("ALTER TABLE {t} ALTER COLUMN {s} DROP DEFAULT"));
        contract_down.push(format!("ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT {default}"));
    }
    contract_down.push(ignored(
        "statements-after-access-exclusive",
        "a rollback copies the values back into the column it re-creates",
        &format!("UPDATE {t} SET {c} = {s} WHERE {c} IS DISTINCT FROM {s}"),
    ));
    contract_down.extend(create_sync.iter().cloned());
    if column.not_null {
        contract_down.push(ignored(
            "set-not-null",
            "a rollback restores the old column's `NOT NULL`, with one scan",
            &format!("ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL"),
        ));
    }
    let mut phases = vec![
        DraftPhase::transactional(
            PhaseKind::Expand,
            format!("add_{staged}"),
            format!("add `{staged}` of type `{ty}`, filled from `{name}` by a trigger on every write"),
            [vec![format!("ALTER TABLE {t} ADD COLUMN {s} {ty}")], create_sync.clone()].concat(),
            [
                drop_sync,
                vec![input.undo_own(
                    "drop-column",
                    "the column this phase added, unused by any release",
                    &format!("ALTER TABLE {t} DROP COLUMN {s}"),
                )],
            ]
            .concat(),
            input,
        ),
        backfill_phase(input, &table, &key, &format!("{s} = {c}"), &format!("{s} IS DISTINCT FROM {c}"), &staged)
            .released(format!(
                "deploy the release that works with `{name}` as `{ty}` and reads it cast to `{ty}` (`{name}::{ty}`), so that its prepared statements keep their result types through the swap"
            )),
    ];
    let mut contract = DraftPhase::transactional(
        PhaseKind::Contract,
        format!("swap_{name}"),
        format!("drop the trigger and the old `{name}`, and give `{staged}` its name"),
        contract_up,
        contract_down,
        input,
    );
    contract.irreversible =
        Some(format!("the down re-creates `{name}` as `{old_ty}` and copies the values back, in one statement"));
    push_contract(&mut phases, contract, input, &table, name, column.not_null);
    Ok(Draft {
        title: format!("change `{table}.{name}` from `{old_ty}` to `{ty}`"),
        table,
        phases,
        verification: Some(format!("SELECT count(*) FROM {t} WHERE {s} IS DISTINCT FROM {c}")),
        checklist: checklist(&[
            "the backfill is complete: the verification query returns 0".to_owned(),
            format!("every deployed release works with `{name}` as `{ty}`; prepared statements are re-planned after the swap"),
        ]),
        inverse: Vec::new(),
    })
}

pub(super) fn add_not_null_column(input: &Input<'_, '_, '_>) -> Result<Draft, String> {
    let (table, cmd) = input.only_subcommand(At::AtAddColumn)?;
    let Some(def) = column_def_of(cmd) else { return Err(not_planned()) };
    let name = def.colname.as_str();
    if column_constraints(def).any(|c| !matches!(c.contype(), ConstrType::ConstrNotnull)) {
        return Err("the column has constraints beyond `NOT NULL`; add them after the plan".to_owned());
    }
    let ty = def.type_name.as_ref().and_then(crate::parse::type_sql).ok_or_else(|| input.unknown_type(&table, name))?;
    let fill = input.fill(name)?;
    let key = input.key(&table)?;
    let (t, c) = (table.to_sql(), quote_ident(name));
    let (create_fill, drop_fill) = fill_trigger(input, &table, name, fill);
    let mut phases = vec![
        DraftPhase::transactional(
            PhaseKind::Expand,
            format!("add_{name}"),
            format!("add `{name}` nullable, filled with `{fill}` by a trigger where a write leaves it empty"),
            [vec![format!("ALTER TABLE {t} ADD COLUMN {c} {ty}")], create_fill.clone()].concat(),
            [
                drop_fill.clone(),
                vec![input.undo_own(
                    "drop-column",
                    "the column this phase added",
                    &format!("ALTER TABLE {t} DROP COLUMN {c}"),
                )],
            ]
            .concat(),
            input,
        )
        .released(format!("deploy the release that writes `{name}`")),
        backfill_phase(input, &table, &key, &format!("{c} = {fill}"), &format!("{c} IS NULL"), name),
    ];
    let contract = DraftPhase::transactional(
        PhaseKind::Contract,
        format!("drop_{name}_fill"),
        "drop the fill trigger".to_owned(),
        drop_fill,
        create_fill,
        input,
    );
    push_contract(&mut phases, contract, input, &table, name, true);
    Ok(Draft {
        title: format!("add `{table}.{name}` as `NOT NULL`"),
        table,
        phases,
        verification: Some(format!("SELECT count(*) FROM {t} WHERE {c} IS NULL")),
        checklist: checklist(&[
            "the backfill is complete: the verification query returns 0".to_owned(),
            format!("every deployed release writes `{name}`"),
        ]),
        inverse: input.inverse_drops(name),
    })
}

pub(super) fn set_not_null(input: &Input<'_, '_, '_>) -> Result<Draft, String> {
    let (table, cmd) = input.only_subcommand(At::AtSetNotNull)?;
    let name = cmd.name.as_str();
    input.column(&table, name)?;
    let (t, c) = (table.to_sql(), quote_ident(name));
    let mut phases = Vec::new();
    let mut contract_up = Vec::new();
    let mut contract_down = Vec::new();
    if let Some(fill) = input.options.fills.iter().find(|(c, _)| c == name).map(|(_, f)| f.as_str()) {
        let key = input.key(&table)?;
        let (create_fill, drop_fill) = fill_trigger(input, &table, name, fill);
        phases.push(DraftPhase::transactional(
            PhaseKind::Expand,
            format!("fill_{name}"),
            format!("fill `{name}` with `{fill}` by a trigger where a write leaves it empty"),
            create_fill.clone(),
            drop_fill.clone(),
            input,
        ));
        phases.push(backfill_phase(input, &table, &key, &format!("{c} = {fill}"), &format!("{c} IS NULL"), name));
        contract_up = drop_fill;
        contract_down = create_fill;
    }
    let contract = DraftPhase::transactional(
        PhaseKind::Contract,
        format!("check_{name}_not_null"),
        format!("add `CHECK ({name} IS NOT NULL) NOT VALID`, which new writes must pass"),
        contract_up,
        contract_down,
        input,
    );
    push_contract(&mut phases, contract, input, &table, name, true);
    Ok(Draft {
        title: format!("set `{table}.{name}` `NOT NULL`"),
        table,
        phases,
        verification: Some(format!("SELECT count(*) FROM {t} WHERE {c} IS NULL")),
        checklist: checklist(&[
            "no row holds `NULL`: the verification query returns 0".to_owned(),
            format!("every deployed release writes `{name}`"),
        ]),
        inverse: Vec::new(),
    })
}

pub(super) fn backfill(input: &Input<'_, '_, '_>) -> Result<Draft, String> {
    let table = input.table()?;
    let key = input.key(&table)?;
    let t = table.to_sql();
    // The lint tree keeps no literal values of a data statement: the statement is read again
    // in full.
    let text = input.cx.file.text.get(input.cx.stmt.span.start..input.cx.stmt.span.end).unwrap_or_default();
    let parsed = crate::pg_ffi::parse(text).map_err(|e| e.message)?;
    let Some(node) = parsed.stmts.first().and_then(|s| s.stmt.as_ref()?.node.as_ref()) else {
        return Err(not_planned());
    };
    let (work, title, pending) = match node {
        N::UpdateStmt(update) => {
            if !update.from_clause.is_empty()
                || update.returning_clause.as_ref().is_some_and(|r| !r.exprs.is_empty())
                || update.with_clause.is_some()
            {
                return Err("an `UPDATE` with `FROM`, `WITH` or `RETURNING` is not planned".to_owned());
            }
            let mut columns = Vec::new();
            let mut values = Vec::new();
            for target in &update.target_list {
                let Some(N::ResTarget(target)) = &target.node else { return Err(not_planned()) };
                if !target.indirection.is_empty() {
                    return Err("a `SET` of part of a column, or of several from one row, is not planned".to_owned());
                }
                let value = target.val.as_deref().and_then(crate::parse::expression_sql).ok_or_else(not_planned)?;
                columns.push(quote_ident(&target.name).into_owned());
                values.push(value);
            }
            let set: Vec<String> = columns.iter().zip(&values).map(|(c, v)| format!("{c} = {v}")).collect();
            let pending = format!("({}) IS DISTINCT FROM ({})", row(&columns), row(&values));
            (set.join(", "), format!("write every row of `{table}` in batches"), Some(pending))
        }
        N::DeleteStmt(delete) => {
            if !delete.using_clause.is_empty()
                || delete.returning_clause.as_ref().is_some_and(|r| !r.exprs.is_empty())
                || delete.with_clause.is_some()
            {
                return Err("a `DELETE` with `USING`, `WITH` or `RETURNING` is not planned".to_owned());
            }
            (String::new(), format!("delete every row of `{table}` in batches"), None)
        }
        _ => return Err(not_planned()),
    };
    let batch = match &pending {
        Some(pending) => BatchWork::Update { set: &work, pending },
        None => BatchWork::Delete,
    };
    let sql = sql::batched(&table, &key, &batch, input.options.batch_size, &input.options.lock_timeout);
    let mut phase = DraftPhase::outside_transaction(
        PhaseKind::Backfill,
        format!("backfill_{}", table.name),
        format!("{title}, each batch of {} rows committed on its own", input.options.batch_size),
        sql,
    );
    phase.irreversible = Some("the rows keep what the batches wrote; there is no down".to_owned());
    Ok(Draft {
        title,
        table,
        phases: vec![phase],
        verification: pending.map(|p| format!("SELECT count(*) FROM {t} WHERE {p}")),
        checklist: Vec::new(),
        inverse: Vec::new(),
    })
}

pub(super) fn drop_column(input: &Input<'_, '_, '_>) -> Result<Draft, String> {
    let (table, cmd) = input.only_subcommand(At::AtDropColumn)?;
    let name = cmd.name.as_str();
    let column = input.column(&table, name)?;
    let ty = column.ty.as_ref().map(sql::column_type).ok_or_else(|| input.unknown_type(&table, name))?;
    let (t, c) = (table.to_sql(), quote_ident(name));
    let mut down = format!("ALTER TABLE {t} ADD COLUMN {c} {ty}");
    if let Some(default) = column.default_sql() {
        down.push_str(&format!(" DEFAULT {default}"));
        if column.not_null {
            down.push_str(" NOT NULL");
        }
    }
    let mut phase = DraftPhase::transactional(
        PhaseKind::Contract,
        format!("drop_{name}"),
        format!("drop `{name}`"),
        vec![ignored(
            "drop-column",
            &format!("contract: no deployed release uses `{name}`"),
            &format!("ALTER TABLE {t} DROP COLUMN {c}"),
        )],
        vec![down],
        input,
    );
    phase.irreversible = Some(format!("the values of `{name}` are gone; the down re-creates the column empty"));
    Ok(Draft {
        title: format!("drop `{table}.{name}`"),
        table,
        phases: vec![phase],
        verification: None,
        checklist: checklist(&[format!("no deployed code, report or job reads or writes `{name}`")]),
        inverse: Vec::new(),
    })
}

pub(super) fn drop_table(input: &Input<'_, '_, '_>) -> Result<Draft, String> {
    let N::DropStmt(stmt) = input.node() else { return Err(not_planned()) };
    if stmt.objects.len() != 1 {
        return Err("the statement drops several tables; give each its own statement".to_owned());
    }
    let table = input.table()?;
    let info = input.catalog.relation(&table).ok_or_else(|| input.unknown_table(&table))?;
    let mut columns = Vec::new();
    for column in &info.columns {
        let ty = column.ty.as_ref().map(sql::column_type).ok_or_else(|| input.unknown_type(&table, &column.name))?;
        let mut def = format!("{} {ty}", quote_ident(&column.name));
        if let Some(default) = column.default_sql() {
            def.push_str(&format!(" DEFAULT {default}"));
        }
        if column.not_null {
            def.push_str(" NOT NULL");
        }
        columns.push(def);
    }
    if let Some(key) = input.catalog.primary_key(&table).filter(|k| !k.is_empty()) {
        let key: Vec<String> = key.iter().map(|k| quote_ident(k).into_owned()).collect();
        columns.push(format!("PRIMARY KEY ({})", key.join(", ")));
    }
    let t = table.to_sql();
    let mut phase = DraftPhase::transactional(
        PhaseKind::Contract,
        format!("drop_{}", table.name),
        format!("drop `{table}`"),
        vec![ignored(
            "drop-table",
            &format!("contract: no deployed release uses `{table}`"),
            &format!("DROP TABLE {t}"),
        )],
        vec![format!("CREATE TABLE {t} ({})", columns.join(", "))],
        input,
    );
    phase.irreversible = Some(format!("the rows of `{table}` are gone; the down re-creates the table empty"));
    Ok(Draft {
        title: format!("drop `{table}`"),
        table: table.clone(),
        phases: vec![phase],
        verification: None,
        checklist: checklist(&[format!("no deployed code, report or job uses `{table}`")]),
        inverse: Vec::new(),
    })
}

/// The backfill phase: `set` on every row where `pending` holds, in batches.
fn backfill_phase(
    input: &Input<'_, '_, '_>,
    table: &RelationName,
    key: &str,
    set: &str,
    pending: &str,
    column: &str,
) -> DraftPhase {
    let work = BatchWork::Update { set, pending };
    DraftPhase::outside_transaction(
        PhaseKind::Backfill,
        format!("backfill_{column}"),
        format!(
            "fill `{column}` on the existing rows, {} at a time in key order, each batch committed on its own",
            input.options.batch_size
        ),
        sql::batched(table, key, &work, input.options.batch_size, &input.options.lock_timeout),
    )
}

/// A trigger that writes `fill` into `column` wherever a write leaves it `NULL`, and what
/// drops it.
fn fill_trigger(
    input: &Input<'_, '_, '_>,
    table: &RelationName,
    column: &str,
    fill: &str,
) -> (Vec<String>, Vec<String>) {
    let function = sql::beside(table, &format!("{}_{column}_fill", table.name));
    let trigger = format!("{column}_fill");
    let c = quote_ident(column);
    let body = format!("    IF NEW.{c} IS NULL THEN\n        NEW.{c} := {fill};\n    END IF;\n");
    (
        vec![sql::trigger_function(&function, &body), sql::trigger(&trigger, table, &function, input.pg_version())],
        vec![sql::drop_trigger(&trigger, table), sql::drop_function(&function)],
    )
}

/// Pushes `contract`, and where `column` must end `NOT NULL`, the `CHECK … NOT VALID` in it
/// and a last phase that validates it, sets `NOT NULL` and drops it.
fn push_contract(
    phases: &mut Vec<DraftPhase>,
    mut contract: DraftPhase,
    input: &Input<'_, '_, '_>,
    table: &RelationName,
    column: &str,
    not_null: bool,
) {
    if !not_null {
        phases.push(contract);
        return;
    }
    let check = sql::add_not_null_check(table, column);
    let drop_check = format!(
        "ALTER TABLE {} DROP CONSTRAINT {}",
        table.to_sql(),
        quote_ident(&sql::not_null_check_name(table, column))
    );
    contract.up.push(check.clone());
    contract.down.insert(0, drop_check);
    phases.push(contract);
    phases.push(DraftPhase::transactional(
        PhaseKind::Contract,
        format!("validate_{column}_not_null"),
        format!("validate the `CHECK`, which lets reads and writes go on, then set `{column}` `NOT NULL` and drop the `CHECK`"),
        sql::validate_not_null(table, column),
        vec![format!("ALTER TABLE {} ALTER COLUMN {} DROP NOT NULL", table.to_sql(), quote_ident(column)), check],
        input,
    ));
}

/// `sql` after a `ddlint-ignore` of `rule`, with the reason.
pub(super) fn ignored(rule: &str, reason: &str, sql: &str) -> String {
    format!("-- ddlint-ignore {rule} -- {reason}\n{sql}")
}

fn row(items: &[String]) -> String {
    items.join(", ")
}

fn checklist(items: &[String]) -> Vec<String> {
    let mut list = items.to_vec();
    list.push(
        "one full deploy cycle has passed since that release went out, so no instance of the release before it is left"
            .to_owned(),
    );
    list
}

fn not_planned() -> String {
    "ddlint does not plan this form of the statement".to_owned()
}

/// The single column a plan's keyset batches walk.
pub(super) fn single_key(key: &[String], table: &RelationName) -> Result<String, String> {
    match key {
        [one] => Ok(one.clone()),
        [] => Err(format!("`{table}` has no primary key for the batches to walk")),
        _ => Err(format!("`{table}`'s primary key has several columns; the batches walk a single-column key")),
    }
}

/// Whether `cmd` drops the column `name`.
pub(super) fn drops_column(cmd: &pg::AlterTableCmd, name: &str) -> bool {
    cmd.subtype() == At::AtDropColumn && cmd.name == name
}

/// The subcommands of an `ALTER TABLE`.
pub(super) fn subcommands(stmt: &pg::AlterTableStmt) -> Vec<&pg::AlterTableCmd> {
    alter_cmds(stmt).collect()
}
