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
    expand_down.push(format!("ALTER TABLE {t} DROP COLUMN {n}"));
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
        removed: input.inverse_renames(old, new),
        change: None,
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
            // The table takes the place of the view in one transaction: its name never goes
            // missing, and nothing is reported.
            vec![format!("DROP VIEW {t}"), format!("ALTER TABLE {n} RENAME TO {}", quote_ident(&table.name))],
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
        removed: input.inverse_table_renames(&table, &new),
        change: None,
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
                vec![format!("ALTER TABLE {t} DROP COLUMN {s}")],
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
        removed: Vec::new(),
        change: None,
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
    // The table must be known before the user is asked for a value.
    let key = input.key(&table)?;
    let fill = input.fill(name)?;
    let (t, c) = (table.to_sql(), quote_ident(name));
    let (create_fill, drop_fill) = fill_trigger(input, &table, name, fill);
    let mut phases = vec![
        DraftPhase::transactional(
            PhaseKind::Expand,
            format!("add_{name}"),
            format!("add `{name}` nullable, filled with `{fill}` by a trigger where a write leaves it empty"),
            [vec![format!("ALTER TABLE {t} ADD COLUMN {c} {ty}")], create_fill.clone()].concat(),
            [drop_fill.clone(), vec![format!("ALTER TABLE {t} DROP COLUMN {c}")]].concat(),
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
        removed: input.inverse_drops(name),
        change: None,
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
        removed: Vec::new(),
        change: None,
    })
}

pub(super) fn backfill(input: &Input<'_, '_, '_>) -> Result<Draft, String> {
    let table = input.table()?;
    let key = input.key(&table)?;
    let t = table.to_sql();
    // The lint tree keeps no literal values of a data statement.
    let Some(node) = input.cx.whole_tree(input.cx.index) else { return Err(not_planned()) };
    let (work, title, pending) = match &node {
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
        removed: Vec::new(),
        change: None,
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
        removed: Vec::new(),
        change: None,
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
        removed: Vec::new(),
        change: None,
    })
}

/// Columns moved into a new table: `CREATE TABLE new (key …, …)`, then `INSERT INTO new (key,
/// …) SELECT id, … FROM old`, then `ALTER TABLE old DROP COLUMN …` in one section of the file.
/// `None` when the drop is no such move.
pub(super) fn move_columns(input: &Input<'_, '_, '_>) -> Option<Result<Draft, String>> {
    let N::AlterTableStmt(alter) = input.node() else { return None };
    let cmds = subcommands(alter);
    if cmds.is_empty() || cmds.iter().any(|c| c.subtype() != At::AtDropColumn) {
        return None;
    }
    let table = input.table().ok()?;
    let dropped: Vec<&str> = cmds.iter().map(|c| c.name.as_str()).collect();
    let file = input.cx.file;
    let start = file.section_start_of(input.cx.index);
    for copy_at in (start..input.cx.index).rev() {
        let stmt = file.statements[copy_at];
        // Only an insert into a table this section created can be the copy; the lint tree
        // names the target, so the few candidates alone are parsed again in full.
        let N::InsertStmt(lint) = &*stmt.node else { continue };
        let into_new =
            lint.relation.as_ref().is_some_and(|rv| file.is_new_relation(&RelationName::from_range_var(rv), copy_at));
        if stmt.nested_in.is_some() || !into_new {
            continue;
        }
        // The lint tree keeps no column lists of an `INSERT`.
        let Some(N::InsertStmt(insert)) = input.cx.whole_tree(copy_at) else { continue };
        let Some(copy) = Copy::read(&insert, &table) else { continue };
        if !dropped.iter().all(|d| copy.pairs.iter().any(|(_, source)| source == d)) {
            continue;
        }
        let Some(created_at) = (start..copy_at).find(|&i| {
            matches!(&*file.statements[i].node, N::CreateStmt(c)
                if c.relation.as_ref().is_some_and(|rv| copy.into.is_named_by(rv)))
        }) else {
            continue;
        };
        return Some(build_move(input, &table, &copy, &dropped, created_at, copy_at));
    }
    None
}

/// An `INSERT INTO new (…) SELECT … FROM old` that copies columns one for one.
struct Copy {
    into: RelationName,
    /// `(column of the new table, column of the old)`, in the statement's order.
    pairs: Vec<(String, String)>,
}

impl Copy {
    fn read(insert: &pg::InsertStmt, from: &RelationName) -> Option<Self> {
        let into = RelationName::from_range_var(insert.relation.as_ref()?);
        let N::SelectStmt(select) = insert.select_stmt.as_deref()?.node.as_ref()? else { return None };
        let [source] = select.from_clause.as_slice() else { return None };
        let Some(N::RangeVar(rv)) = &source.node else { return None };
        if !from.is_named_by(rv) || select.where_clause.is_some() || insert.cols.len() != select.target_list.len() {
            return None;
        }
        let mut pairs = Vec::new();
        for (column, target) in insert.cols.iter().zip(&select.target_list) {
            let (Some(N::ResTarget(column)), Some(N::ResTarget(target))) = (&column.node, &target.node) else {
                return None;
            };
            let Some(N::ColumnRef(source)) = target.val.as_deref().and_then(|v| v.node.as_ref()) else { return None };
            let source = source.fields.last().and_then(crate::names::string_value)?;
            pairs.push((column.name.clone(), source.to_owned()));
        }
        Some(Self { into, pairs })
    }
}

fn build_move(
    input: &Input<'_, '_, '_>,
    table: &RelationName,
    copy: &Copy,
    dropped: &[&str],
    created_at: usize,
    copy_at: usize,
) -> Result<Draft, String> {
    let key = input.key(table)?;
    let into = &copy.into;
    let Some((new_key, _)) = copy.pairs.iter().find(|(_, source)| *source == key) else {
        return Err(format!("the copy into `{into}` does not carry `{table}`'s key `{key}`"));
    };
    if input.catalog.primary_key(into) != Some(std::slice::from_ref(new_key)) {
        return Err(format!("`{into}` needs `{new_key}` as its primary key, for the sync trigger's upsert"));
    }
    let moved: Vec<(&str, &str)> = dropped
        .iter()
        .map(|d| copy.pairs.iter().find(|(_, s)| s == d).map(|(n, s)| (s.as_str(), n.as_str())))
        .collect::<Option<_>>()
        .ok_or_else(not_planned)?;
    let mut types = Vec::new();
    for (old, _) in &moved {
        let column = input.column(table, old)?;
        let ty = column.ty.as_ref().map(sql::column_type).ok_or_else(|| input.unknown_type(table, old))?;
        types.push((ty, column.default_sql(), column.not_null));
    }
    let (t, n, k, nk) = (table.to_sql(), into.to_sql(), quote_ident(&key), quote_ident(new_key));
    let olds: Vec<String> = moved.iter().map(|(o, _)| quote_ident(o).into_owned()).collect();
    let news: Vec<String> = moved.iter().map(|(_, n)| quote_ident(n).into_owned()).collect();
    let prefixed =
        |prefix: &str, names: &[String]| names.iter().map(|c| format!("{prefix}.{c}")).collect::<Vec<_>>().join(", ");

    let forward = sql::beside(table, &format!("{}_to_{}_sync", table.name, into.name));
    let backward = sql::beside(into, &format!("{}_to_{}_sync", into.name, table.name));
    let (forward_trigger, backward_trigger) =
        (format!("{}_to_{}_sync", table.name, into.name), format!("{}_to_{}_sync", into.name, table.name));
    let guard = "    IF pg_trigger_depth() > 1 THEN\n        RETURN NEW;\n    END IF;\n";
    let updates: Vec<String> = news.iter().map(|c| format!("{c} = EXCLUDED.{c}")).collect();
    let forward_body = format!(
        "{guard}    IF TG_OP = 'INSERT' AND ROW({}) IS NULL THEN\n        RETURN NEW;\n    END IF;\n    INSERT INTO {n} ({nk}, {}) VALUES (NEW.{k}, {})\n        ON CONFLICT ({nk}) DO UPDATE SET {};\n",
        prefixed("NEW", &olds),
        news.join(", "),
        prefixed("NEW", &olds),
        updates.join(", ")
    );
    let sets: Vec<String> = olds.iter().zip(&news).map(|(o, c)| format!("{o} = NEW.{c}")).collect();
    let backward_body = format!(
        "{guard}    UPDATE {t} SET {}\n        WHERE {k} = NEW.{nk} AND ({}) IS DISTINCT FROM ({});\n",
        sets.join(", "),
        olds.join(", "),
        prefixed("NEW", &news)
    );
    let pg = input.pg_version();
    // Each trigger is created and dropped in a transaction of its own: one that locked both
    // tables could deadlock with the releases, which write one table and then the other.
    let (forward_create, forward_drop) = (
        vec![
            sql::trigger_function(&forward, &forward_body),
            sql::row_trigger(
                &forward_trigger,
                &format!("AFTER INSERT OR UPDATE OF {}", olds.join(", ")),
                table,
                &forward,
                pg,
            ),
        ],
        vec![sql::drop_trigger(&forward_trigger, table), sql::drop_function(&forward)],
    );
    let (backward_create, backward_drop) = (
        vec![
            sql::trigger_function(&backward, &backward_body),
            sql::row_trigger(&backward_trigger, "AFTER INSERT OR UPDATE", into, &backward, pg),
        ],
        vec![sql::drop_trigger(&backward_trigger, into), sql::drop_function(&backward)],
    );
    let file = input.cx.file;
    let created = file.statements[created_at].span;
    let create = file.text.get(created.start..created.end).unwrap_or_default().to_owned();

    // Dropping the table drops its trigger; the function goes after it.
    let expand_down = vec![
        // What the phase's own up created: its down drops it without a finding.
        format!("DROP TABLE {n}"),
        sql::drop_function(&backward),
    ];
    let columns = format!("{nk}, {}", news.join(", "));
    let select = format!("{k}, {}", olds.join(", "));
    let filter = format!("NOT (ROW({}) IS NULL)", olds.join(", "));
    let work = BatchWork::Copy { into, columns: &columns, select: &select, filter: &filter, key: new_key };
    let backfill = DraftPhase::outside_transaction(
        PhaseKind::Backfill,
        format!("copy_into_{}", into.name),
        format!(
            "copy the columns into `{into}`, {} rows of `{table}` at a time in key order, each batch committed on its own",
            input.options.batch_size
        ),
        sql::batched(table, &key, &work, input.options.batch_size, &input.options.lock_timeout),
    )
    .released(format!(
        "deploy the release that reads and writes {} in `{into}` (with `INSERT … ON CONFLICT ({new_key}) DO UPDATE`, since the release still running may have written the row first)",
        moved.iter().map(|(_, c)| format!("`{c}`")).collect::<Vec<_>>().join(", ")
    ));

    let drops: Vec<String> = olds.iter().map(|c| format!("DROP COLUMN {c}")).collect();
    let mut contract_up = forward_drop.clone();
    contract_up.push(ignored(
        "drop-column",
        &format!("contract: the columns live in `{into}`, and no deployed release reads them here"),
        &format!("ALTER TABLE {t} {}", drops.join(", ")),
    ));
    let mut contract_down = Vec::new();
    for (old, (ty, default, _)) in olds.iter().zip(&types) {
        contract_down.push(format!("ALTER TABLE {t} ADD COLUMN {old} {ty}"));
        if let Some(default) = default {
            contract_down.push(format!("ALTER TABLE {t} ALTER COLUMN {old} SET DEFAULT {default}"));
        }
    }
    let copied_back: Vec<String> = olds.iter().zip(&news).map(|(o, c)| format!("{o} = copied.{c}")).collect();
    contract_down.push(ignored(
        "statements-after-access-exclusive",
        "a rollback copies the values back into the columns it re-creates",
        &format!("UPDATE {t} SET {} FROM {n} AS copied WHERE copied.{nk} = {t}.{k}", copied_back.join(", ")),
    ));
    contract_down.extend(forward_create.iter().cloned());
    for (old, (_, _, not_null)) in olds.iter().zip(&types) {
        if *not_null {
            contract_down.push(ignored(
                "set-not-null",
                "a rollback restores the old column's `NOT NULL`, with one scan",
                &format!("ALTER TABLE {t} ALTER COLUMN {old} SET NOT NULL"),
            ));
        }
    }
    let mut contract = DraftPhase::transactional(
        PhaseKind::Contract,
        format!("drop_moved_from_{}", table.name),
        format!("drop the trigger on `{table}`, and the columns"),
        contract_up,
        contract_down,
        input,
    );
    contract.irreversible = Some(format!(
        "the down re-creates the columns of `{table}` and copies the values back from `{into}`, in one statement"
    ));
    let phases = vec![
        DraftPhase::transactional(
            PhaseKind::Expand,
            format!("create_{}", into.name),
            format!("create `{into}`, with a trigger that writes what is written to it back to `{table}`"),
            [vec![create], backward_create.clone()].concat(),
            expand_down,
            input,
        ),
        DraftPhase::transactional(
            PhaseKind::Expand,
            format!("sync_{}_to_{}", table.name, into.name),
            format!("a trigger on `{table}` that writes the columns to `{into}` (inserts and updates; neither trigger fires the other again)"),
            forward_create,
            forward_drop,
            input,
        ),
        backfill,
        DraftPhase::transactional(
            PhaseKind::Contract,
            format!("drop_sync_{}_to_{}", into.name, table.name),
            format!("drop the trigger on `{into}`"),
            backward_drop,
            backward_create,
            input,
        ),
        contract,
    ];
    let mut removed = vec![created_at, copy_at];
    removed.extend(input.inverse_of_move(table, into, &moved.iter().map(|(o, _)| *o).collect::<Vec<_>>()));
    Ok(Draft {
        title: format!(
            "move {} from `{table}` into `{into}`",
            moved.iter().map(|(o, _)| format!("`{o}`")).collect::<Vec<_>>().join(", ")
        ),
        table: table.clone(),
        phases,
        verification: Some(format!(
            "SELECT count(*) FROM {t} AS old_row LEFT JOIN {n} AS new_row ON new_row.{nk} = old_row.{k} WHERE ({}) IS DISTINCT FROM ({})",
            prefixed("old_row", &olds),
            prefixed("new_row", &news)
        )),
        checklist: checklist(&[
            "the copy is complete: the verification query returns 0".to_owned(),
            format!("the release that reads and writes the columns in `{into}` serves all traffic"),
            format!("no deployed code, report or job reads or writes them in `{table}`"),
        ]),
        removed,
        change: Some(crate::violation::PhasedChange::MoveColumns),
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
