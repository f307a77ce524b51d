//! End-to-end tests of the migration layouts teams really have: one stream split across
//! numbered folders, one file per engine (`001_init.sql.postgres`), ory/popx's dialect and
//! autocommit names, and runners that wrap a whole upgrade in one transaction.

mod support;

use support::project::Project;

const CREATE_USERS: &str = "CREATE TABLE users (id bigint PRIMARY KEY, name varchar(50), email text);\n";
const WIDEN_NAME: &str = "SET lock_timeout = '2s';\nALTER TABLE users ALTER COLUMN name TYPE varchar(100);\n";
/// MySQL that PostgreSQL's grammar rejects: a `syntax-error` wherever it is linted.
const MYSQL: &str = "CREATE TABLE users (id int AUTO_INCREMENT PRIMARY KEY) ENGINE=InnoDB;\n";

#[test]
fn numbered_folders_are_one_stream_in_numeric_order() {
    let project = Project::new();
    project
        .file("migrations/postgres/0/001_init.sql", "CREATE TABLE settings (key text PRIMARY KEY);\n")
        .file("migrations/postgres/2/001_users.sql", CREATE_USERS)
        .file("migrations/postgres/10/001_widen.sql", WIDEN_NAME);
    let widen = "migrations/postgres/10/001_widen.sql";
    // By name `10` sorts before `2`; by number it comes after, once `users` exists, so widening
    // `name` is a catalog-only change.
    let run = project.check(&[widen]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.files_checked(), 1);
    let run = project.check(&["migrations"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.files_checked(), 3);
    // Without history the old type is unknown, so the change may rewrite the table.
    let run = project.check(&["--no-history", widen]);
    assert!(run.has(widen, "alter-column-type"), "{}", run.stdout);
}

#[test]
fn folders_not_named_by_a_number_stay_apart() {
    let project = Project::new();
    project.file("db/tenant/001_users.sql", CREATE_USERS).file("db/billing/002_widen.sql", WIDEN_NAME);
    // Two named folders are two streams: `billing` never saw `tenant`'s table.
    let run = project.check(&["db/billing/002_widen.sql"]);
    assert!(run.has("db/billing/002_widen.sql", "alter-column-type"), "{}", run.stdout);
    // Files beside the numbered folders are a stream of their own, as are other parents'.
    project.file("db/tenant/1/003_widen.sql", WIDEN_NAME);
    let run = project.check(&["db/tenant/1/003_widen.sql"]);
    assert!(run.has("db/tenant/1/003_widen.sql", "alter-column-type"), "{}", run.stdout);
    project.file("db/tenant/0/001_users.sql", CREATE_USERS);
    let run = project.check(&["db/tenant/1/003_widen.sql"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn diesel_folders_named_by_a_timestamp_alone_are_still_diesel() {
    let project = Project::new();
    project
        .file("migrations/20240101000000/up.sql", CREATE_USERS)
        .file("migrations/20240101000000/down.sql", "DROP TABLE users;\n")
        .file("migrations/20240202000000/up.sql", WIDEN_NAME)
        .file("migrations/20240202000000/down.sql", "SELECT 1;\n");
    let run = project.check(&["migrations/20240202000000/up.sql"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn an_include_glob_adds_engine_specific_files() {
    let project = Project::new();
    project
        .file("db/001_users.sql.postgres", CREATE_USERS)
        .file("db/001_users.sql.mysql", MYSQL)
        .file("db/002_widen.sql.postgres", WIDEN_NAME)
        .file("db/010_index.sql.postgres", "CREATE INDEX users_email_idx ON users (email);\n")
        .file("db/README.md", "# migrations\n");
    // Directories are searched for `.sql` files only, unless an include glob names others.
    let run = project.check(&["db"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("db: no `.sql` files found"), "{}", run.stderr);
    let run = project.check(&["--include", "*.sql.postgres", "db"]);
    assert_eq!(run.files_checked(), 3, "{}{}", run.stdout, run.stderr);
    // `010` comes after `002` and `001`: `users` exists and `name` was varchar(50).
    assert!(run.has("db/010_index.sql.postgres", "create-index-non-concurrently"), "{}", run.stdout);
    assert!(!run.rules().contains("alter-column-type"), "{}", run.stdout);
    // Named alone, a file still replays the engine's earlier files.
    let run = project.check(&["--include", "*.sql.postgres", "db/002_widen.sql.postgres"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);

    // An include glob that names another engine too: that engine's files are skipped, and said so.
    let run = project.run(&["check", "--no-config", "--include", "*.sql.{postgres,mysql}", "db"]);
    assert!(run.stdout.contains("skipped 1 file of another SQL dialect"), "{}", run.stdout);
    assert!(!run.stdout.contains("syntax-error"), "{}", run.stdout);

    // A glob ending in a wildcard only narrows the search: it does not add `README.md`.
    let run = project.check(&["--include", "db/**", "db"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("db: no `.sql` files found"), "{}", run.stderr);

    // The config's `include` does the same as the flag.
    project.file("ddlint.toml", "include = [\"*.sql.postgres\"]\n");
    let run = project.run(&["check", "--format", "json", "db"]);
    assert_eq!(run.files_checked(), 3, "{}{}", run.stdout, run.stderr);
}

#[test]
fn popx_skips_other_dialects_and_prefers_the_postgres_file() {
    let project = Project::new();
    let dir = "persistence/sql/migrations";
    let file = |name: &str, sql: &str| {
        project.file(&format!("{dir}/{name}"), sql);
    };
    file("20210410175418000000_users.postgres.up.sql", CREATE_USERS);
    file("20210410175418000000_users.postgres.down.sql", "SELECT 1;\n");
    file("20210410175418000000_users.mysql.up.sql", MYSQL);
    file("20210410175418000000_users.mysql.down.sql", "DROP TABLE users;\n");
    file(
        "20210410175418000000_users.cockroach.up.sql",
        "CREATE TABLE users (id UUID PRIMARY KEY, name STRING(50)) ;\n",
    );
    file("20210410175418000000_users.cockroach.down.sql", "DROP TABLE users;\n");
    file("20210410175418000000_users.sqlite3.up.sql", "CREATE TABLE users (id TEXT PRIMARY KEY) WITHOUT ROWID;\n");
    file("20210410175418000000_users.sqlite3.down.sql", "DROP TABLE users;\n");
    // The neutral file of a version that has a PostgreSQL one is never run on PostgreSQL.
    let neutral = "20210410175418000001_rename.up.sql";
    file(neutral, "SET lock_timeout = '2s';\nALTER TABLE users RENAME COLUMN email TO mail;\n");
    file("20210410175418000001_rename.down.sql", "SELECT 1;\n");
    file("20210410175418000001_rename.postgres.up.sql", "SELECT 1;\n");
    file("20210410175418000002_widen.up.sql", WIDEN_NAME);
    file("20210410175418000002_widen.down.sql", "SELECT 1;\n");

    let run = project.check(&[dir]);
    // Both PostgreSQL files of `…000`, the PostgreSQL up file and the neutral down file of
    // `…001` (which has no PostgreSQL down file), and both neutral files of `…002`.
    assert_eq!(run.files_checked(), 6, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let run = project.run(&["check", "--no-config", dir]);
    assert!(run.stdout.contains("skipped 6 files of another SQL dialect"), "{}", run.stdout);
    assert!(
        run.stdout.contains("skipped 1 neutral file that a `.postgres` migration of the same version replaces"),
        "{}",
        run.stdout
    );
    // Named alone, the widening replays only the PostgreSQL history, and knows `name`.
    let widen = format!("{dir}/20210410175418000002_widen.up.sql");
    let run = project.check(&[&widen]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // A replaced file named on the command line is linted, as any named file is.
    let named = format!("{dir}/{neutral}");
    let run = project.check(&[&named]);
    assert!(run.has(&named, "rename-column"), "{}", run.stdout);
    // So is another dialect's file: naming it says it is meant to be read.
    let mysql = format!("{dir}/20210410175418000000_users.mysql.up.sql");
    let run = project.check(&[&mysql]);
    assert!(run.has(&mysql, "syntax-error"), "{}", run.stdout);
    // A glob is a search: it skips them.
    let run = project.check(&[&format!("{dir}/*.up.sql")]);
    assert_eq!(run.files_checked(), 3, "{}{}", run.stdout, run.stderr);
}

#[test]
fn popx_transactions() {
    let project = Project::new();
    let dir = "migrations";
    project.file(&format!("{dir}/20210410175418000000_users.up.sql"), CREATE_USERS);
    // An autocommit file runs outside popx's transaction, and is read as golang-migrate's one
    // query: PostgreSQL runs a query of several statements as one implicit transaction, which
    // `CONCURRENTLY` refuses.
    let several = format!("{dir}/20210410175418000001_index.autocommit.up.sql");
    project.file(
        &several,
        "SET lock_timeout = '2s';\nCREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);\n",
    );
    let alone = format!("{dir}/20210410175418000002_index.autocommit.up.sql");
    project.file(&alone, "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_name_idx ON users (name);\n");
    // popx wraps every other file in a transaction (`tx.Exec(content)`).
    let wrapped = format!("{dir}/20210410175418000003_index.up.sql");
    project.file(&wrapped, "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_id_name_idx ON users (id, name);\n");
    let run = project.check(&[dir]);
    assert!(run.has(&several, "concurrently-in-transaction"), "{}", run.stdout);
    assert!(!run.has(&alone, "concurrently-in-transaction"), "{}", run.stdout);
    assert!(run.has(&wrapped, "concurrently-in-transaction"), "{}", run.stdout);
    // Without a sign of popx in the directory, the same names are golang-migrate's, which
    // sends a one-statement file on its own.
    let plain = Project::new();
    plain.file("migrations/20210410175418000003_index.up.sql", "CREATE INDEX CONCURRENTLY i ON users (id, name);\n");
    let run = plain.check(&["migrations"]);
    assert!(!run.has("migrations/20210410175418000003_index.up.sql", "concurrently-in-transaction"), "{}", run.stdout);
}

#[test]
fn a_per_upgrade_transaction_makes_the_run_one_deploy() {
    let project = Project::new();
    project
        .file("db/001_users.sql", CREATE_USERS)
        .file("db/002_index.sql", "CREATE INDEX users_email_idx ON users (email);\n")
        .file(
            "db/003_concurrently.sql",
            "SET lock_timeout = '2s';\nCREATE INDEX CONCURRENTLY users_name_idx ON users (name);\n",
        );
    let index = "db/002_index.sql";
    let concurrently = "db/003_concurrently.sql";
    // Each file its own deploy: `users` may hold rows by the time it is indexed.
    let run = project.run(&["check", "--format", "json", "db"]);
    assert!(run.has(index, "create-index-non-concurrently"), "{}", run.stdout);
    assert!(!run.has(concurrently, "concurrently-in-transaction"), "{}", run.stdout);

    project.file("ddlint.toml", "transaction = \"per-upgrade\"\n");
    let run = project.run(&["check", "--format", "json", "db"]);
    // One upgrade in one transaction: `users` is new to the later files, and `CONCURRENTLY`
    // cannot run inside the upgrade's transaction.
    assert!(!run.has(index, "create-index-non-concurrently"), "{}", run.stdout);
    assert!(run.has(concurrently, "concurrently-in-transaction"), "{}", run.stdout);
    // The upgrade is the files linted together: named alone, the index follows an older deploy.
    let run = project.run(&["check", "--format", "json", index]);
    assert!(run.has(index, "create-index-non-concurrently"), "{}", run.stdout);
    // A change set is the upgrade when there is one.
    let run = project.run(&["check", "--format", "json", "--changed", "db/001_users.sql", "--changed", index, "db"]);
    assert!(!run.has(index, "create-index-non-concurrently"), "{}", run.stdout);
    // The command line still wins over the file.
    let run = project.run(&["check", "--format", "json", "--no-assume-in-transaction", "db"]);
    assert!(!run.has(concurrently, "concurrently-in-transaction"), "{}", run.stdout);

    // The upgrade's transaction wraps every file, whatever its framework would do alone:
    // golang-migrate's one-statement query too.
    project.file("db/004_more.up.sql", "CREATE INDEX CONCURRENTLY users_id_idx ON users (id);\n");
    let run = project.run(&["check", "--format", "json", "db"]);
    assert!(run.has("db/004_more.up.sql", "concurrently-in-transaction"), "{}", run.stdout);

    project.file("ddlint.toml", "transaction = \"per-upgrade\"\nassume-in-transaction = false\n");
    let run = project.run(&["check", "db"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("contradicts"), "{}", run.stderr);
}
