use super::*;
use crate::framework::FileHints;
use crate::settings::Settings;

const BASE: &str = "CREATE TABLE users (id bigserial PRIMARY KEY, name text NOT NULL DEFAULT 'x', email text);
CREATE TABLE pairs (a int, b int, v text, PRIMARY KEY (a, b));
CREATE INDEX users_email_idx ON users (email);
";

/// The plans of `migration` (a plain file), after `BASE` as its history.
fn plans(migration: &str, options: &Options) -> Vec<Planned> {
    plans_of("db/2_change.sql", migration, options)
}

fn plans_of(path: &str, migration: &str, options: &Options) -> Vec<Planned> {
    let settings = Settings::default();
    let mut catalog = Catalog::default();
    crate::prepare("db/1_base.sql", BASE.as_bytes(), &settings, FileHints::default()).fold_into(&mut catalog);
    catalog.settle();
    let prepared = crate::prepare(path, migration.as_bytes(), &settings, FileHints::default());
    prepared.plan(&settings, &catalog, options).1
}

fn refusal(migration: &str) -> String {
    let planned = plans(migration, &Options::new("2s"));
    assert_eq!(planned.len(), 1, "{migration}");
    match &planned[0].plan {
        Ok(plan) => panic!("planned {}: {migration}", plan.title),
        Err(reason) => reason.clone(),
    }
}

#[test]
fn a_rename_is_expand_backfill_contract_with_the_facts_of_each_phase() {
    let planned =
        plans("SET lock_timeout = '2s';\nALTER TABLE users RENAME COLUMN name TO full_name;\n", &Options::new("3s"));
    let plan = planned[0].plan.as_ref().expect("planned");
    let kinds: Vec<PhaseKind> = plan.phases.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, [PhaseKind::Expand, PhaseKind::Backfill, PhaseKind::Contract, PhaseKind::Contract]);
    let expand = &plan.phases[0];
    assert_eq!(expand.migration.up[0], "SET LOCAL lock_timeout = '3s'");
    assert_eq!(expand.locks[0].mode, Some("ACCESS EXCLUSIVE"));
    assert_eq!(expand.locks[0].holds, "briefly");
    let backfill = &plan.phases[1];
    assert!(!backfill.migration.transaction && backfill.migration.down.is_empty());
    assert!(backfill.release_after.is_some(), "the new release goes between backfill and contract");
    assert!(plan.phases[2].irreversible.is_some());
    let validate = &plan.phases[3];
    assert!(validate
        .locks
        .iter()
        .any(|l| l.mode == Some("SHARE UPDATE EXCLUSIVE") && l.holds.starts_with("while it scans")));
    // The plan takes the statement out of the file, and nothing else.
    assert_eq!(plan.edits.len(), 1);
    for sql in plan.phases.iter().flat_map(|p| p.migration.up.iter().chain(&p.migration.down)) {
        assert!(crate::pg_ffi::parse(sql).is_ok(), "{sql}");
    }
}

#[test]
fn what_a_plan_cannot_do_it_says() {
    assert!(refusal("UPDATE pairs SET v = 'x';").contains("several columns"));
    assert!(refusal("ALTER TABLE users RENAME COLUMN email TO mail;").contains("index `users_email_idx`"));
    assert!(refusal("ALTER TABLE users ALTER COLUMN name TYPE varchar(10) USING left(name, 10);").contains("USING"));
    assert!(refusal("ALTER TABLE users ADD COLUMN age int NOT NULL CHECK (age > 0);").contains("constraints beyond"));
    assert!(refusal("ALTER TABLE users ALTER COLUMN email SET NOT NULL, ALTER COLUMN name SET DEFAULT 'y';")
        .contains("does more"));
    assert!(refusal("ALTER TABLE ghosts RENAME COLUMN a TO b;").contains("do not create `ghosts`"));
}

#[test]
fn a_new_not_null_column_needs_its_value_for_existing_rows() {
    let planned = plans("ALTER TABLE users ADD COLUMN plan text NOT NULL;", &Options::new("2s"));
    assert_eq!(planned[0].fills_needed, ["plan"]);
    let mut options = Options::new("2s");
    options.fills.push(("plan".to_owned(), "'free'".to_owned()));
    let planned = plans("ALTER TABLE users ADD COLUMN plan text NOT NULL;", &options);
    let plan = planned[0].plan.as_ref().expect("planned");
    assert!(
        plan.phases[1].migration.up[0].contains("UPDATE users SET \"plan\" = 'free'"),
        "{}",
        plan.phases[1].migration.up[0]
    );
}

#[test]
fn generated_migrations_and_statements_in_do_blocks_are_not_planned() {
    let django = "BEGIN;\n--\n-- Rename field name on user to full_name\n--\nALTER TABLE users RENAME COLUMN name TO full_name;\nCOMMIT;\n";
    let planned = plans_of("app/migrations/0002_rename.sql", django, &Options::new("2s"));
    assert_eq!(planned.len(), 1);
    assert!(planned[0].plan.as_ref().is_err_and(|e| e.contains("Django")), "Django's output is written from Python");
    let nested = "DO $$ BEGIN ALTER TABLE users RENAME COLUMN name TO full_name; END $$;";
    assert!(plans(nested, &Options::new("2s")).is_empty());
}
