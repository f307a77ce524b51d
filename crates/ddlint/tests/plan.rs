//! `ddlint plan` end to end: the phases it writes in each framework's conventions, that every
//! file it writes lints clean with ddlint itself, what `plan.json` and `PLAN.md` say, and the
//! changes it refuses with a reason. (`plan_under_load.rs` runs the plans on real servers.)

mod support;

use std::fs;
use support::project::Project;

/// The history every project starts from.
const BASE: &str =
    "CREATE TABLE users (id bigserial PRIMARY KEY, name text NOT NULL DEFAULT 'anonymous', email text, plan text, display_name text);
CREATE TABLE orders (id bigserial PRIMARY KEY, total int NOT NULL DEFAULT 0, note text);
CREATE TABLE legacy (id bigserial PRIMARY KEY, payload text);
";

/// One statement of every kind a plan covers.
const CHANGES: &str = "SET lock_timeout = '2s';
ALTER TABLE users RENAME COLUMN name TO full_name;
ALTER TABLE orders ADD COLUMN currency text NOT NULL;
ALTER TABLE orders ALTER COLUMN total TYPE bigint;
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
UPDATE users SET plan = 'free';
ALTER TABLE orders DROP COLUMN note;
DROP TABLE legacy;
CREATE TABLE user_profiles (user_id bigint PRIMARY KEY REFERENCES users (id), display_name text);
INSERT INTO user_profiles (user_id, display_name) SELECT id, display_name FROM users;
ALTER TABLE users DROP COLUMN display_name;
ALTER TABLE accounts RENAME TO customers;
";

/// The kinds of change `CHANGES` holds, in order; the last renames a table the history
/// creates under another name, so that the plans do not depend on one another.
const KINDS: [&str; 8] = [
    "rename-column",
    "add-not-null-column",
    "change-column-type",
    "set-not-null",
    "backfill",
    "drop-column",
    "drop-table",
    "move-columns",
];

const FILLS: [&str; 2] = ["--fill=currency='EUR'", "--fill=email='unknown@example.com'"];

/// A project in `framework`'s layout: the history, then `CHANGES`; returns the change's path.
fn layout(framework: &str) -> (Project, &'static str) {
    let project = Project::new();
    let base = format!("{BASE}CREATE TABLE accounts (id bigserial PRIMARY KEY);\n");
    let change = match framework {
        "goose" => {
            project.file("db/001_base.sql", &format!("-- +goose Up\n{base}-- +goose Down\nSELECT 1;\n"));
            project.file("db/002_change.sql", &format!("-- +goose Up\n{CHANGES}-- +goose Down\nSELECT 1;\n"));
            "db/002_change.sql"
        }
        "golang-migrate" => {
            project.file("db/1_base.up.sql", &base);
            project.file("db/1_base.down.sql", "SELECT 1;\n");
            project.file("db/2_change.up.sql", CHANGES);
            project.file("db/2_change.down.sql", "SELECT 1;\n");
            "db/2_change.up.sql"
        }
        "dbmate" => {
            project.file("db/migrations/20240101000000_base.sql", &format!("-- migrate:up\n{base}-- migrate:down\n"));
            project
                .file("db/migrations/20240102000000_change.sql", &format!("-- migrate:up\n{CHANGES}-- migrate:down\n"));
            "db/migrations/20240102000000_change.sql"
        }
        "sql-migrate" => {
            project.file("db/1_base.sql", &format!("-- +migrate Up\n{base}-- +migrate Down\nSELECT 1;\n"));
            project.file("db/2_change.sql", &format!("-- +migrate Up\n{CHANGES}-- +migrate Down\nSELECT 1;\n"));
            "db/2_change.sql"
        }
        "flyway" => {
            project.file("db/migration/V1__base.sql", &base);
            project.file("db/migration/V2__change.sql", CHANGES);
            "db/migration/V2__change.sql"
        }
        "diesel" => {
            project.file("migrations/2024-01-01-000000_base/up.sql", &base);
            project.file("migrations/2024-01-01-000000_base/down.sql", "SELECT 1;\n");
            project.file("migrations/2024-01-02-000000_change/up.sql", CHANGES);
            project.file("migrations/2024-01-02-000000_change/down.sql", "SELECT 1;\n");
            "migrations/2024-01-02-000000_change/up.sql"
        }
        other => panic!("no layout for {other}"),
    };
    (project, change)
}

fn plan(project: &Project, framework: &str, change: &str, extra: &[&str]) -> support::project::Run {
    let mut args = vec!["plan", "--no-config", "--framework", framework];
    args.extend_from_slice(&FILLS);
    args.extend_from_slice(extra);
    args.push(change);
    project.run(&args)
}

#[test]
fn every_file_a_plan_writes_lints_clean_in_every_framework() {
    for framework in ["goose", "golang-migrate", "dbmate", "sql-migrate", "flyway", "diesel"] {
        let (project, change) = layout(framework);
        let run = plan(&project, framework, change, &[]);
        assert_eq!(run.code, 0, "{framework}: {}", run.stderr);
        for kind in [
            "rename",
            "add `orders.currency`",
            "change `orders.total`",
            "set `users.email`",
            "write every row",
            "drop `orders.note`",
            "move `display_name` from `users` into `user_profiles`",
            "drop `legacy`",
        ] {
            assert!(
                run.stderr.contains(&format!("planned: {kind}")),
                "{framework}: no plan for {kind}:\n{}",
                run.stderr
            );
        }
        // The planned statements left the migration; what stays is safe.
        let left = fs::read_to_string(project.path().join(change)).unwrap();
        assert!(!left.contains("RENAME COLUMN") && !left.contains("DROP TABLE"), "{framework}:\n{left}");
        assert!(!left.contains("user_profiles"), "{framework}: the copy into the new table moved to the plan:\n{left}");
        // Every file, old and new, lints clean with the history before it.
        let dir = std::path::Path::new(change).parent().unwrap().to_str().unwrap();
        let dir = if framework == "diesel" { "migrations" } else { dir };
        let check = project.check(&["--framework", framework, dir]);
        let findings: Vec<_> = check.findings().into_iter().collect();
        assert!(findings.is_empty(), "{framework}: the planned files have findings: {findings:?}\n{}", check.stdout);
        assert!(check.files_checked() > 15, "{framework}: {}", check.stdout);

        let json_path = match framework {
            "diesel" => "migrations/2024-01-02-000000_change/up.plan.json".to_owned(),
            _ => change.rsplit_once('.').map(|(stem, _)| format!("{stem}.plan.json")).unwrap(),
        };
        let json: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(project.path().join(&json_path)).unwrap()).unwrap();
        let changes: Vec<&str> =
            json["plans"].as_array().unwrap().iter().map(|p| p["change"].as_str().unwrap()).collect();
        let mut expected = KINDS.to_vec();
        expected.push("rename-table");
        assert_eq!(changes, expected, "{framework}");
        for phase in json["plans"].as_array().unwrap().iter().flat_map(|p| p["phases"].as_array().unwrap()) {
            let up = phase["up"].as_str().unwrap();
            let base = if framework == "diesel" { "migrations" } else { dir };
            assert!(project.path().join(base).join(up).is_file(), "{framework}: no file {up}");
            if let Some(down) = phase["down"].as_str() {
                assert!(project.path().join(base).join(down).is_file(), "{framework}: no file {down}");
            }
            assert!(phase["release_before_next"].is_boolean(), "{phase}");
        }
    }
}

#[test]
fn phases_follow_the_framework_conventions() {
    let (project, change) = layout("golang-migrate");
    assert_eq!(plan(&project, "golang-migrate", change, &[]).code, 0);
    let read = |name: &str| fs::read_to_string(project.path().join("db").join(name)).unwrap();
    // The first plan: expand, backfill, contract, then the validated NOT NULL.
    assert!(read("3_add_full_name_beside_name.up.sql").contains("ADD COLUMN full_name"));
    assert!(read("3_add_full_name_beside_name.down.sql").contains("DROP COLUMN full_name"));
    let backfill = read("4_backfill_full_name.up.sql");
    assert!(backfill.starts_with("DO $ddlint$"), "a backfill is one statement, alone in its file:\n{backfill}");
    assert!(!project.path().join("db/4_backfill_full_name.down.sql").exists());
    assert!(read("6_validate_full_name_not_null.up.sql").contains("VALIDATE CONSTRAINT users_full_name_not_null"));

    let (project, change) = layout("goose");
    assert_eq!(plan(&project, "goose", change, &[]).code, 0);
    let backfill = fs::read_to_string(project.path().join("db/004_backfill_full_name.sql")).unwrap();
    assert!(
        backfill.starts_with("-- +goose NO TRANSACTION\n-- +goose Up\n-- +goose StatementBegin\nDO $ddlint$"),
        "{backfill}"
    );

    let (project, change) = layout("flyway");
    assert_eq!(plan(&project, "flyway", change, &[]).code, 0);
    let conf = project.path().join("db/migration/V2_2__backfill_full_name.sql.conf");
    assert_eq!(fs::read_to_string(conf).unwrap(), "executeInTransaction=false\n");

    let (project, change) = layout("diesel");
    assert_eq!(plan(&project, "diesel", change, &[]).code, 0);
    let metadata = project.path().join("migrations/2024-01-02-000002_backfill_full_name/metadata.toml");
    assert_eq!(fs::read_to_string(metadata).unwrap(), "run_in_transaction = false\n");

    let (project, change) = layout("dbmate");
    assert_eq!(plan(&project, "dbmate", change, &[]).code, 0);
    let backfill =
        fs::read_to_string(project.path().join("db/migrations/20240102000002_backfill_full_name.sql")).unwrap();
    assert!(backfill.starts_with("-- migrate:up transaction:false\n"), "{backfill}");
}

#[test]
fn plan_md_tells_the_releases_locks_checklist_and_what_cannot_be_undone() {
    let (project, change) = layout("goose");
    let run = plan(&project, "goose", change, &["--out", "plan"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // With --out the migration is left alone.
    assert!(fs::read_to_string(project.path().join(change)).unwrap().contains("RENAME COLUMN name TO full_name"));
    let md = fs::read_to_string(project.path().join("plan/PLAN.md")).unwrap();
    for expected in [
        "## Rename `users.name` to `full_name`",
        "| 1 | **expand**: add `full_name` beside `name`",
        "`ACCESS EXCLUSIVE` on `users`, briefly",
        "`SHARE UPDATE EXCLUSIVE` on `users`, while it scans `users`",
        "**deploy the release that reads and writes `full_name`",
        "SELECT count(*) FROM users WHERE full_name IS DISTINCT FROM \"name\";",
        "- [ ] No deployed code, report or job reads or writes `name`",
        "- [ ] One full deploy cycle has passed",
        "### What cannot be undone",
        "remove the planned statements from it",
    ] {
        assert!(md.contains(expected), "PLAN.md lacks `{expected}`:\n{md}");
    }
    assert!(project.path().join("plan/003_add_full_name_beside_name.sql").is_file());
    assert!(project.path().join("plan/plan.json").is_file());
}

#[test]
fn findings_point_to_the_plan_and_dry_runs_write_nothing() {
    let (project, change) = layout("goose");
    let check = project.check(&[change]);
    let json = check.json();
    let rename = json["diagnostics"].as_array().unwrap().iter().find(|d| d["rule"] == "rename-column").unwrap();
    assert_eq!(rename["plan"], format!("`ddlint plan {change}` writes the phased version"));
    assert_eq!(rename["phased"], "rename-column");
    let added = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["rule"] == "add-column-not-null-without-default")
        .unwrap();
    assert_eq!(added["plan"], format!("`ddlint plan {change} --fill currency=VALUE` writes the phased version"));

    let before = fs::read_to_string(project.path().join(change)).unwrap();
    let run = plan(&project, "goose", change, &["--dry-run"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("# Plan for `db/002_change.sql`") && run.stdout.contains("would write db/003_"),
        "{}",
        run.stdout
    );
    assert_eq!(fs::read_to_string(project.path().join(change)).unwrap(), before);
    assert!(!project.path().join("db/003_add_full_name_beside_name.sql").exists());
}

#[test]
fn changes_that_cannot_be_planned_say_why() {
    // No value for the existing rows of a new NOT NULL column.
    let (project, change) = layout("goose");
    let run = project.run(&["plan", "--no-config", change]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("give it with `--fill currency=EXPRESSION`"), "{}", run.stderr);
    assert!(
        run.stderr.contains("planned: rename `users.name` to `full_name`"),
        "the others are still planned:\n{}",
        run.stderr
    );

    // A table the history does not know.
    let project = Project::new();
    project.file("m/1_x.sql", "-- +goose Up\nALTER TABLE ghosts RENAME COLUMN a TO b;\n");
    let run = project.run(&["plan", "--no-config", "m/1_x.sql"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("do not create `ghosts`"), "{}", run.stderr);

    // Nothing to plan.
    project.file("m/2_y.sql", "-- +goose Up\nSET lock_timeout = '2s';\nCREATE TABLE t (id int);\n");
    let run = project.run(&["plan", "--no-config", "m/2_y.sql"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("nothing to plan"), "{}", run.stderr);

    // A missing file and a bad --fill are usage errors.
    assert_eq!(project.run(&["plan", "--no-config", "m/nope.sql"]).code, 2);
    assert_eq!(project.run(&["plan", "--no-config", "--fill", "currency", "m/1_x.sql"]).code, 2);
}
