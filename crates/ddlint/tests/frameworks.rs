//! End-to-end tests of the migration streams ddlint recognises by their marks (morph, Django's
//! `sqlmigrate` output, Alembic's offline SQL) and of Flyway's choice of transaction per
//! script: realistic files in a temporary tree, linted by the built binary.

mod support;

use std::collections::BTreeSet;
use support::project::Project;

const MORPH_TEAMS: &str = "CREATE TABLE IF NOT EXISTS teams (id varchar(26) PRIMARY KEY, name varchar(64));\n";
const MORPH_INDEX: &str =
    "-- morph:nontransactional\nCREATE INDEX CONCURRENTLY IF NOT EXISTS idx_teams_name ON teams(name);\n";
const MORPH_BOTH: &str = "-- morph:nontransactional\nALTER TABLE teams ADD COLUMN IF NOT EXISTS deleteat bigint;\nCREATE INDEX idx_teams_deleteat ON teams(deleteat);\n";

#[test]
fn morph_runs_a_nontransactional_file_outside_a_transaction() {
    let project = Project::new();
    project
        .file("db/migrations/postgres/000001_create_teams.up.sql", MORPH_TEAMS)
        .file("db/migrations/postgres/000002_index_teams_name.up.sql", MORPH_INDEX)
        .file("db/migrations/postgres/000003_teams_deleteat.up.sql", MORPH_BOTH);
    let run = project.check(&["db"]);
    assert!(run.rules_of("db/migrations/postgres/000002_index_teams_name.up.sql").is_empty(), "{}", run.stdout);
    let both = "db/migrations/postgres/000003_teams_deleteat.up.sql";
    assert!(run.rules_of(both).contains("create-index-non-concurrently"), "{}", run.stdout);
    assert_eq!(project.header(&["db"], both), format!("{both} (morph, not wrapped in a transaction)"));
}

#[test]
fn morph_wraps_a_file_without_the_marker() {
    let project = Project::new();
    let index = "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_teams_name ON teams(name);\n";
    project
        .file("postgres/000001_create_teams.up.sql", MORPH_TEAMS)
        .file("postgres/000002_index_teams_name.up.sql", index);
    // Read by its name alone the file is golang-migrate's, whose single statement runs alone.
    let run = project.check(&["postgres"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // morph opens a transaction around every file without `-- morph:nontransactional`.
    let run = project.check(&["--framework", "morph", "postgres"]);
    let rules = run.rules_of("postgres/000002_index_teams_name.up.sql");
    assert!(rules.contains("concurrently-in-transaction"), "{}", run.stdout);
}

/// `python manage.py sqlmigrate shop 0042` of an atomic migration.
const DJANGO_ATOMIC: &str = "BEGIN;
--
-- Add field status to order
--
ALTER TABLE \"shop_order\" ADD COLUMN \"status\" varchar(20) DEFAULT 'new' NOT NULL;
ALTER TABLE \"shop_order\" ALTER COLUMN \"status\" DROP DEFAULT;
--
-- Create index shop_order_status_idx on field(s) status of model order
--
CREATE INDEX CONCURRENTLY \"shop_order_status_idx\" ON \"shop_order\" (\"status\");
COMMIT;
";

/// `sqlmigrate` of a migration with `atomic = False` and `AddIndexConcurrently`.
const DJANGO_NOT_ATOMIC: &str = "--
-- Concurrently create index shop_order_created_idx on field(s) created of model order
--
CREATE INDEX CONCURRENTLY \"shop_order_created_idx\" ON \"shop_order\" (\"created\");
";

#[test]
fn django_sqlmigrate_runs_as_printed() {
    let project = Project::new();
    project.file("sql/0042_order_status.sql", DJANGO_ATOMIC).file("sql/0043_order_created_idx.sql", DJANGO_NOT_ATOMIC);
    let run = project.check(&["sql"]);
    // The printed `BEGIN` is the transaction the concurrent build cannot run in.
    let atomic = run.findings_with_lines();
    assert!(
        atomic.contains(&("sql/0042_order_status.sql".to_owned(), 10, "concurrently-in-transaction".to_owned())),
        "{}",
        run.stdout
    );
    assert!(run.rules_of("sql/0043_order_created_idx.sql").is_empty(), "{}", run.stdout);
    assert_eq!(
        project.header(&["sql"], "sql/0042_order_status.sql"),
        "sql/0042_order_status.sql (django, not wrapped in a transaction)"
    );
}

#[test]
fn flyway_decides_the_transaction_per_script() {
    let project = Project::new();
    project
        .file("db/migration/V1__orders.sql", "CREATE TABLE orders (id bigint PRIMARY KEY, status text, shipped_at timestamptz);\n")
        .file("db/migration/V2__orders_status_idx.sql", "CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);\n")
        .file(
            "db/migration/V3__orders_shipped.sql",
            "ALTER TABLE orders ADD COLUMN carrier text;\nCREATE INDEX CONCURRENTLY orders_shipped_at_idx ON orders (shipped_at);\n",
        )
        .file("db/migration/V4__orders_reindex.sql", "REINDEX INDEX CONCURRENTLY orders_status_idx;\n");
    let run = project.check(&["db"]);
    // A script of index builds alone runs outside a transaction.
    assert!(run.rules_of("db/migration/V2__orders_status_idx.sql").is_empty(), "{}", run.stdout);
    // A mixed script is refused at deploy time.
    let mixed = run.rules_of("db/migration/V3__orders_shipped.sql");
    assert!(mixed.contains("flyway-mixed-transaction"), "{}", run.stdout);
    assert!(!mixed.contains("concurrently-in-transaction"), "{}", run.stdout);
    // Flyway does not recognise `REINDEX … CONCURRENTLY`, so it runs in its transaction and fails.
    let reindex = run.rules_of("db/migration/V4__orders_reindex.sql");
    assert!(reindex.contains("concurrently-in-transaction"), "{}", run.stdout);
    assert_ne!(run.code, 0);
    assert_eq!(
        project.header(&["db"], "db/migration/V3__orders_shipped.sql"),
        "db/migration/V3__orders_shipped.sql (flyway, not wrapped in a transaction)"
    );
    assert_eq!(
        project.header(&["db"], "db/migration/V4__orders_reindex.sql"),
        "db/migration/V4__orders_reindex.sql (flyway, wrapped in a transaction)"
    );
}

/// `alembic upgrade base:4d5e6f --sql`, one transaction around the run (the default).
const ALEMBIC_ONE_TRANSACTION: &str = "BEGIN;

CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL, 
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

-- Running upgrade  -> 1a2b3c

CREATE TABLE orders (
    id BIGSERIAL NOT NULL, 
    status VARCHAR(20) NOT NULL, 
    PRIMARY KEY (id)
);

CREATE INDEX ix_orders_id ON orders (id);

INSERT INTO alembic_version (version_num) VALUES ('1a2b3c') RETURNING alembic_version.version_num;

-- Running upgrade 1a2b3c -> 4d5e6f

CREATE INDEX ix_orders_status ON orders (status);

UPDATE alembic_version SET version_num='4d5e6f' WHERE alembic_version.version_num = '1a2b3c';

COMMIT;

";

/// `alembic downgrade 4d5e6f:base --sql` with `transaction_per_migration = True`.
const ALEMBIC_DOWNGRADE: &str = "-- Running downgrade 4d5e6f -> 1a2b3c

BEGIN;

DROP INDEX ix_orders_status;

UPDATE alembic_version SET version_num='1a2b3c' WHERE alembic_version.version_num = '4d5e6f';

COMMIT;

-- Running downgrade 1a2b3c -> 

BEGIN;

DROP INDEX ix_orders_id;

DROP TABLE orders;

DELETE FROM alembic_version WHERE alembic_version.version_num = '1a2b3c';

DROP TABLE alembic_version;

COMMIT;

";

#[test]
fn alembic_offline_sql_is_a_deploy_per_revision() {
    let project = Project::new();
    project.file("offline/upgrade.sql", ALEMBIC_ONE_TRANSACTION).file("offline/downgrade.sql", ALEMBIC_DOWNGRADE);
    let run = project.check(&["offline/upgrade.sql"]);
    // The index on the table of the revision before is built on a table in use by then; the
    // index in the revision that creates the table is not, and the bookkeeping is silent.
    let lines: BTreeSet<u64> = run
        .findings_with_lines()
        .into_iter()
        .filter(|(p, _, _)| p == "offline/upgrade.sql")
        .map(|(_, line, _)| line)
        .collect();
    assert_eq!(lines, BTreeSet::from([22]), "{}", run.stdout);
    assert!(run.rules_of("offline/upgrade.sql").contains("create-index-non-concurrently"), "{}", run.stdout);

    // A downgrade's findings are capped as down migrations' are, and the bookkeeping
    // (`DELETE FROM`, `DROP TABLE alembic_version`) raises nothing.
    let run = project.check(&["offline/downgrade.sql"]);
    let findings = run.findings_with_lines();
    assert!(findings.iter().all(|(_, line, _)| ![7, 19, 21].contains(line)), "{}", run.stdout);
    assert!(run.rules_of("offline/downgrade.sql").contains("drop-table"), "{}", run.stdout);
    assert_eq!(
        project.header(&["offline"], "offline/downgrade.sql"),
        "offline/downgrade.sql (alembic, down, not wrapped in a transaction)"
    );
}

#[test]
fn the_new_frameworks_can_be_named() {
    let project = Project::new();
    project.file("a.sql", "SELECT 1;\n");
    for name in ["morph", "django", "alembic"] {
        let run = project.check(&["--framework", name, "a.sql"]);
        assert_eq!(run.code, 0, "{name}: {}{}", run.stdout, run.stderr);
    }
}
