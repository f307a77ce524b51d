//! End-to-end tests of migration history, change sets and framework conventions: the
//! earlier migrations of a directory are replayed before a file is linted, a change set is
//! one deploy, and each framework's ordering and transaction rules hold.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use support::project::{Project, BIN};

const CREATE_USERS: &str = "CREATE TABLE users (id bigint PRIMARY KEY, name varchar(50), email text);\n";
const WIDEN_NAME: &str = "SET lock_timeout = '2s';\nALTER TABLE users ALTER COLUMN name TYPE varchar(100);\n";

#[test]
fn earlier_migrations_are_replayed_before_a_file() {
    let project = Project::new();
    project.file("db/001_users.sql", CREATE_USERS).file("db/002_widen.sql", WIDEN_NAME);

    // The history knows `name` is varchar(50), so widening it is a catalog-only change.
    let run = project.check(&["db"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // Naming only the later file still replays the earlier one.
    let run = project.check(&["db/002_widen.sql"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // Without history the old type is unknown, so the change may rewrite the table.
    let run = project.check(&["--no-history", "db/002_widen.sql"]);
    assert!(run.has("db/002_widen.sql", "alter-column-type"), "{}", run.stdout);
}

#[test]
fn each_file_is_its_own_deploy_by_default() {
    let project = Project::new();
    project
        .file("db/001_users.sql", CREATE_USERS)
        .file("db/002_index.sql", "CREATE INDEX users_email_idx ON users (email);\n");
    // The table was created by an earlier deploy, so it may hold rows and serve traffic.
    let run = project.check(&["db"]);
    assert!(run.has("db/002_index.sql", "create-index-non-concurrently"), "{}", run.stdout);
}

#[test]
fn validated_check_in_an_earlier_file_proves_not_null() {
    let project = Project::new();
    project
        .file("db/001_users.sql", CREATE_USERS)
        .file(
            "db/002_check.sql",
            "SET lock_timeout = '2s';\nALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;\n",
        )
        .file("db/003_validate.sql", "SET lock_timeout = '2s';\nALTER TABLE users VALIDATE CONSTRAINT users_email_nn;\n")
        .file("db/004_not_null.sql", "SET lock_timeout = '2s';\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\n");
    let run = project.check(&["db/004_not_null.sql"]);
    assert!(!run.has("db/004_not_null.sql", "set-not-null"), "{}", run.stdout);
    let run = project.check(&["--no-history", "db/004_not_null.sql"]);
    assert!(run.has("db/004_not_null.sql", "set-not-null"), "{}", run.stdout);
}

#[test]
fn changed_files_form_one_change_set() {
    let project = Project::new();
    project
        .file("db/001_old.sql", "ALTER TABLE legacy RENAME COLUMN a TO b;\n")
        .file("db/002_users.sql", CREATE_USERS)
        .file("db/003_index.sql", "CREATE INDEX users_email_idx ON users (email);\n");
    let run = project.check(&["--changed", "db/002_users.sql", "--changed", "db/003_index.sql", "db"]);
    // The table is new in this change set, so indexing it blocks nobody; the file outside the
    // change set is history, not reported.
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.json()["files_checked"], 2);
    let run = project.check(&["--changed", "db/001_old.sql", "db"]);
    assert_eq!(run.paths(), BTreeSet::from(["db/001_old.sql".to_owned()]));
    let run = project.check(&["--changed", "db/missing.sql", "db"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--changed db/missing.sql: no such file or directory"), "{}", run.stderr);
}

#[test]
fn changed_since_reads_the_change_set_from_git() {
    let project = Project::new();
    project.file("db/001_users.sql", CREATE_USERS);
    project.git(&["init", "-q", "-b", "main"]);
    project.git(&["add", "."]);
    project.git(&["commit", "-q", "-m", "base"]);
    project.git(&["checkout", "-q", "-b", "feature"]);
    project
        .file("db/002_accounts.sql", "CREATE TABLE accounts (id bigint PRIMARY KEY, owner bigint);\n")
        .file("db/003_index.sql", "CREATE INDEX accounts_owner_idx ON accounts (owner);\n");
    // Editing a migration that already ran does not make its table new.
    project.file("db/001_users.sql", &format!("-- reviewed\n{CREATE_USERS}"));
    project.git(&["add", "db/002_accounts.sql", "db/001_users.sql"]);
    project.git(&["commit", "-q", "-m", "accounts"]);
    // 003 and 004 are untracked: still part of the change under review.
    project.file("db/004_users_index.sql", "CREATE INDEX users_email_idx ON users (email);\n");

    let run = project.check(&["--changed-since", "main", "db"]);
    assert_eq!(run.json()["files_checked"], 4, "{}", run.stdout);
    // `accounts` is created in the change set; `users` came from an earlier deploy.
    assert!(!run.has("db/003_index.sql", "create-index-non-concurrently"), "{}", run.stdout);
    assert!(run.has("db/004_users_index.sql", "create-index-non-concurrently"), "{}", run.stdout);
    let run = project.check(&["--changed-since", "HEAD", "db"]);
    assert_eq!(run.json()["files_checked"], 2, "only the untracked files: {}", run.stdout);

    let run = project.check(&["--changed-since", "no-such-branch", "db"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("`no-such-branch` is not a commit"), "{}", run.stderr);
}

#[test]
fn expand_and_contract_across_the_files_of_a_change_set() {
    let project = Project::new();
    project
        .file("db/001_users.sql", CREATE_USERS)
        .file(
            "db/002_full_name.sql",
            "SET lock_timeout = '2s';\nALTER TABLE users ADD COLUMN full_name text;\nUPDATE users SET full_name = name;\n",
        )
        .file("db/003_drop_name.sql", "SET lock_timeout = '2s';\nALTER TABLE users DROP COLUMN name;\n");
    let rule = "expand-and-contract-in-one-change";
    let run = project.check(&["--changed", "db/002_full_name.sql", "--changed", "db/003_drop_name.sql", "db"]);
    assert!(run.has("db/003_drop_name.sql", rule), "{}", run.stdout);
    // Deployed one by one, the drop comes after the expansion shipped.
    let run = project.check(&["db"]);
    assert!(!run.has("db/003_drop_name.sql", rule), "{}", run.stdout);
    assert!(run.has("db/003_drop_name.sql", "drop-column"), "{}", run.stdout);
}

#[test]
fn flyway_versions_are_ordered_numerically() {
    let project = Project::new();
    project
        .file("sql/V2__users.sql", CREATE_USERS)
        .file("sql/V10__widen.sql", WIDEN_NAME)
        .file("sql/V3__unrelated.sql", "SELECT 1;\n");
    // By name V10 sorts before V2; by version it comes after, once `users` exists.
    let run = project.check(&["sql/V10__widen.sql"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn diesel_metadata_can_turn_the_transaction_off() {
    let project = Project::new();
    let up = "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n";
    project.file("migrations/2024-01-01-000000_index/up.sql", up);
    let run = project.check(&["migrations"]);
    assert!(run.has("migrations/2024-01-01-000000_index/up.sql", "concurrently-in-transaction"), "{}", run.stdout);
    project.file("migrations/2024-01-01-000000_index/metadata.toml", "run_in_transaction = false\n");
    let run = project.check(&["migrations"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn sourcegraph_metadata_can_build_indexes_concurrently() {
    let project = Project::new();
    let up = "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n";
    project.file("migrations/frontend/1648115472_index/up.sql", up);
    project.file("migrations/frontend/1648115472_index/down.sql", "DROP INDEX IF EXISTS users_email_idx;\n");
    project.file("migrations/frontend/1648115472_index/metadata.yaml", "name: index\nparents: [1648051770]\n");
    let run = project.check(&["migrations"]);
    assert!(run.has("migrations/frontend/1648115472_index/up.sql", "concurrently-in-transaction"), "{}", run.stdout);
    project.file(
        "migrations/frontend/1648115472_index/metadata.yaml",
        "name: index\nparents: [1648051770]\ncreateIndexConcurrently: true # built outside a transaction\n",
    );
    let run = project.check(&["migrations"]);
    assert!(!run.has("migrations/frontend/1648115472_index/up.sql", "concurrently-in-transaction"), "{}", run.stdout);
}

#[test]
fn down_migration_severity_is_capped_and_configurable() {
    let project = Project::new();
    // Adding a NOT NULL column without a default is an error in an up migration.
    let sql = "SET lock_timeout = '2s';\nALTER TABLE users ADD COLUMN plan text NOT NULL;\n";
    project.file("db/001_plan.down.sql", sql).file("db/001_plan.up.sql", "SELECT 1;\n");
    let run = project.check(&["db"]);
    assert_eq!(run.severity_of("add-column-not-null-without-default"), ["warning"]);
    let run = project.check(&["--down-severity", "note", "db"]);
    assert_eq!(run.severity_of("add-column-not-null-without-default"), ["note"]);
    project.file("ddlint.toml", "down-severity = \"error\"\n");
    let run = project.run(&["check", "--format", "json", "db"]);
    assert_eq!(run.severity_of("add-column-not-null-without-default"), ["error"]);
}

#[test]
fn a_down_migration_runs_against_its_up_migration() {
    let project = Project::new();
    project
        .file("db/001_users.up.sql", CREATE_USERS)
        .file("db/001_users.down.sql", "DROP TABLE users;\n")
        .file("db/002_widen.up.sql", WIDEN_NAME);
    // The down file does not remove `users` from the history of the files after it.
    let run = project.check(&["db/002_widen.up.sql"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn a_down_migration_may_drop_what_its_own_up_migration_created() {
    let project = Project::new();
    let up = "SET lock_timeout = '2s';\nCREATE TABLE audit (id bigint);\nALTER TABLE users ADD COLUMN nickname text;\n";
    let down = "SET lock_timeout = '2s';\nDROP TABLE audit;\nALTER TABLE users DROP COLUMN nickname;\n\
                ALTER TABLE users DROP COLUMN email;\nDROP TABLE users;\n";
    project
        .file("gm/001_users.up.sql", CREATE_USERS)
        .file("gm/002_audit.up.sql", up)
        .file("gm/002_audit.down.sql", down)
        .file("diesel/2024-01-01_users/up.sql", CREATE_USERS)
        .file("diesel/2024-01-02_audit/up.sql", up)
        .file("diesel/2024-01-02_audit/down.sql", down)
        .file("flyway/V1__users.sql", CREATE_USERS)
        .file("flyway/V2__audit.sql", up)
        .file("flyway/U2__audit.sql", down)
        .file(
            "sqitch/sqitch.plan",
            "%project=x\nusers 2024-01-01T00:00:00Z a <a@b>\naudit 2024-01-02T00:00:00Z a <a@b>\n",
        )
        .file("sqitch/deploy/users.sql", CREATE_USERS)
        .file("sqitch/deploy/audit.sql", up)
        .file("sqitch/verify/audit.sql", "SELECT 1;\n")
        .file("sqitch/revert/audit.sql", down)
        .file(
            "goose/001_users.sql",
            &format!("-- +goose Up\n{CREATE_USERS}-- +goose Down\nSET lock_timeout = '2s';\nDROP TABLE users;\n"),
        )
        .file("goose/002_audit.sql", &format!("-- +goose Up\n{up}-- +goose Down\n{down}"));
    let run = project.check(&["gm", "diesel", "flyway", "sqitch", "goose"]);
    // What the up migration created goes without a finding; what existed before it does not.
    for down in
        ["gm/002_audit.down.sql", "diesel/2024-01-02_audit/down.sql", "flyway/U2__audit.sql", "sqitch/revert/audit.sql"]
    {
        assert_eq!(run.lines_of(down, "drop-table"), [5], "{down}: {}", run.stdout);
        assert_eq!(run.lines_of(down, "drop-column"), [4], "{down}: {}", run.stdout);
    }
    assert_eq!(run.lines_of("goose/002_audit.sql", "drop-table"), [10], "{}", run.stdout);
    assert_eq!(run.lines_of("goose/002_audit.sql", "drop-column"), [9], "{}", run.stdout);
    assert!(run.lines_of("goose/001_users.sql", "drop-table").is_empty(), "{}", run.stdout);

    // An up file paired with no down file is not undone by the next file's down.
    project.file("gm/003_other.down.sql", "SET lock_timeout = '2s';\nDROP TABLE audit;\n");
    let run = project.check(&["gm/003_other.down.sql"]);
    assert_eq!(run.lines_of("gm/003_other.down.sql", "drop-table"), [2], "{}", run.stdout);
}

#[test]
fn explain_replays_the_history_of_the_file() {
    let project = Project::new();
    project.file("db/001_users.sql", CREATE_USERS).file("db/002_widen.sql", WIDEN_NAME);
    let run = project.run(&["explain", "--format", "json", "db/002_widen.sql"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let files = json.as_array().expect("an array of files");
    assert_eq!(files.len(), 1, "only the named file is explained");
    let alter = &files[0]["statements"][1];
    assert_eq!(alter["rewrites"], serde_json::json!([]));
    assert_eq!(alter["may_rewrite"], serde_json::json!([]));
    assert_eq!(alter["locks"][0]["mode"], "AccessExclusiveLock");
}

#[test]
fn the_corpus_is_linted_with_its_history() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    if !corpus.is_dir() {
        support::skip("../shared/corpus is absent");
        return;
    }
    let output = Command::new(BIN)
        .args(["check", "--no-config", "--format", "json", "."])
        .current_dir(&corpus)
        .stdin(Stdio::null())
        .output()
        .expect("run ddlint");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let files = json["files_checked"].as_u64().expect("files_checked");
    assert!(files > 6000, "{files} files");
    // History only adds knowledge: every file is still reported once, in path order.
    let paths: Vec<&str> =
        json["diagnostics"].as_array().expect("diagnostics").iter().filter_map(|d| d["path"].as_str()).collect();
    assert!(paths.windows(2).all(|w| w[0] <= w[1]), "reports are in path order");
}

/// A pg_dump of the schema older than the migrations, as `pg_dump --schema-only` prints it.
const SCHEMA_DUMP: &str = r"--
-- PostgreSQL database dump
--
\restrict abc123
SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);

CREATE TABLE public.users (
    id bigint NOT NULL,
    name character varying(50),
    email text NOT NULL
);

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);
\unrestrict abc123
";

#[test]
fn a_schema_snapshot_is_the_history_before_the_migrations() {
    let project = Project::new();
    project.file("db/structure.sql", SCHEMA_DUMP).file(
        "migrations/001_change.sql",
        "SET lock_timeout = '2s';\nALTER TABLE users ALTER COLUMN name TYPE varchar(100);\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\n",
    );
    // Without the snapshot the old type and nullability are unknown.
    let run = project.check(&["migrations"]);
    assert!(run.has("migrations/001_change.sql", "alter-column-type"), "{}", run.stdout);
    assert!(run.has("migrations/001_change.sql", "set-not-null"), "{}", run.stdout);
    // With it, widening a varchar is a catalog change, and the column is already NOT NULL.
    let run = project.check(&["--schema", "db/structure.sql", "migrations"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // The same from the configuration file, relative to it.
    project.file("ddlint.toml", "schema = [\"db/structure.sql\"]\n");
    let run = project.run(&["check", "--format", "json", "migrations"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // A snapshot that cannot be read is an error, not an empty history.
    let run = project.check(&["--schema", "db/missing.sql", "migrations"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("db/missing.sql: cannot read the schema snapshot"), "{}", run.stderr);
}

#[test]
fn a_flyway_script_configuration_can_turn_the_transaction_off() {
    let project = Project::new();
    // Flyway runs a script of only concurrent statements outside a transaction by itself;
    // a transactional statement beside one makes the script mixed.
    let script = "SET lock_timeout = '2s';\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n";
    project.file("sql/V2__index.sql", script);
    let run = project.check(&["sql"]);
    assert!(run.has("sql/V2__index.sql", "flyway-mixed-transaction"), "{}", run.stdout);
    project.file("sql/V2__index.sql.conf", "# runs outside a transaction\nexecuteInTransaction=false\n");
    let run = project.check(&["sql"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}
