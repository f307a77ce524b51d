//! Where fixes put the safe form, per transaction setting and framework.

use super::*;
use crate::settings::Settings;

/// The file after the fixes of `rule`, and the migrations they add.
fn fixed_with(path: &str, sql: &str, rule: &str, settings: &Settings) -> (String, Vec<NewMigration>) {
    let report = crate::lint_file(path, sql.as_bytes(), settings);
    let fixes: Vec<&Fix> =
        report.diagnostics.iter().filter(|d| d.rule == rule).filter_map(|d| d.fix.as_ref()).collect();
    assert!(!fixes.is_empty(), "no fix for {rule}: {:?}", report.diagnostics);
    let mut edits: Vec<&Edit> = fixes.iter().flat_map(|f| &f.edits).collect();
    edits.sort_by_key(|e| e.span.start);
    let migrations = fixes.iter().flat_map(|f| f.new_migrations.clone()).collect();
    (apply_edits(sql, &edits), migrations)
}

fn fixed(path: &str, sql: &str, rule: &str) -> (String, Vec<NewMigration>) {
    fixed_with(path, sql, rule, &Settings::default())
}

fn no_fix(path: &str, sql: &str, rule: &str) -> String {
    let report = crate::lint_file(path, sql.as_bytes(), &Settings::default());
    let finding = report.diagnostics.iter().find(|d| d.rule == rule).expect("the rule fires");
    assert!(finding.fix.is_none());
    finding.no_fix.clone().expect("a reason")
}

#[test]
fn autocommit_statements_are_fixed_in_place() {
    let (text, new) = fixed("m.sql", "CREATE INDEX i ON t (a);\n", "create-index-non-concurrently");
    assert_eq!(text, "CREATE INDEX CONCURRENTLY i ON t (a);\n");
    assert!(new.is_empty());
    let (text, _) = fixed("m.sql", "create unique index if not exists \"I\" on t(a);", "create-index-non-concurrently");
    assert_eq!(text, "create unique index CONCURRENTLY if not exists \"I\" on t(a);");
}

#[test]
fn a_transaction_the_file_opens_is_committed_first() {
    let sql = "BEGIN;\nALTER TABLE t ADD COLUMN b int;\nCREATE INDEX i ON t (a);\nCOMMIT;\n";
    let (text, new) = fixed("m.sql", sql, "create-index-non-concurrently");
    assert_eq!(text, "BEGIN;\nALTER TABLE t ADD COLUMN b int;\nCOMMIT;\nCREATE INDEX CONCURRENTLY i ON t (a);\n");
    assert!(new.is_empty());
}

#[test]
fn a_statement_alone_in_a_goose_file_gets_the_no_transaction_marker() {
    let sql = "-- +goose Up\nCREATE INDEX i ON t (a);\n-- +goose Down\nDROP INDEX i;\n";
    let settings = Settings { assume_in_transaction: true, ..Settings::default() };
    let (text, new) = fixed_with("db/00002_idx.sql", sql, "create-index-non-concurrently", &settings);
    assert_eq!(text, "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY i ON t (a);\n-- +goose Down\nDROP INDEX i;\n");
    assert!(new.is_empty());
    let dbmate = "-- migrate:up\nCREATE INDEX i ON t (a);\n-- migrate:down\nDROP INDEX i;\n";
    let (text, _) = fixed_with("db/migrations/2_idx.sql", dbmate, "create-index-non-concurrently", &settings);
    assert!(text.starts_with("-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i"), "{text}");
}

#[test]
fn the_runner_s_transaction_sends_the_safe_form_to_a_new_migration() {
    let sql = "-- +goose Up\nALTER TABLE t ADD COLUMN b int;\nCREATE INDEX i ON s.t (b);\n-- +goose Down\nALTER TABLE t DROP COLUMN b;\n";
    let settings = Settings { assume_in_transaction: true, ..Settings::default() };
    let (text, new) = fixed_with("db/00002_b.sql", sql, "create-index-non-concurrently", &settings);
    assert_eq!(text, "-- +goose Up\nALTER TABLE t ADD COLUMN b int;\n-- +goose Down\nALTER TABLE t DROP COLUMN b;\n");
    assert_eq!(
        new,
        vec![NewMigration {
            slug: "concurrently_i".to_owned(),
            up: vec!["CREATE INDEX CONCURRENTLY i ON s.t (b)".to_owned()],
            down: vec!["DROP INDEX CONCURRENTLY IF EXISTS s.i".to_owned()],
            transaction: false,
        }]
    );
    // golang-migrate runs a file of several statements as one implicit transaction.
    let (text, new) =
        fixed("db/2_b.up.sql", "ALTER TABLE t ADD b int;\nCREATE INDEX i ON t (b);\n", "create-index-non-concurrently");
    assert_eq!(text, "ALTER TABLE t ADD b int;\n");
    assert_eq!(new.len(), 1);
}

#[test]
fn a_later_statement_that_uses_the_moved_object_forbids_the_move() {
    let sql =
        "BEGIN;\nCREATE UNIQUE INDEX i ON t (a);\nALTER TABLE t ADD CONSTRAINT k UNIQUE USING INDEX i;\nCOMMIT;\n";
    let reason = no_fix("m.sql", sql, "create-index-non-concurrently");
    assert_eq!(reason, "moving the statement would run it after line 3, which uses `i`");
}

#[test]
fn frameworks_without_an_order_of_files_get_the_reason() {
    let sql = "-- Deploy app:idx to pg\nBEGIN;\nCREATE INDEX i ON t (a);\nCOMMIT;\n";
    // Sqitch's own transaction is the file's, so the move stays inside the file.
    let (text, _) = fixed("deploy/idx.sql", sql, "create-index-non-concurrently");
    assert!(text.contains("COMMIT;\nCREATE INDEX CONCURRENTLY i ON t (a);"), "{text}");
    let prisma = "ALTER TABLE t ADD b int;\nCREATE INDEX i ON t (a);\n";
    let reason = no_fix("prisma/migrations/20240101_x/migration.sql", prisma, "create-index-non-concurrently");
    assert!(reason.contains("cannot write for prisma"), "{reason}");
}

#[test]
fn constraints_are_added_not_valid_and_validated_later() {
    let (text, _) = fixed(
        "m.sql",
        "ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users (id);",
        "add-foreign-key-validated",
    );
    assert_eq!(
        text,
        "ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_user_id_fkey;"
    );
    let (text, _) = fixed(
        "m.sql",
        "ALTER TABLE \"Order\" ADD CHECK (total > 0 AND total < 1e9);",
        "add-check-constraint-validated",
    );
    assert_eq!(
        text,
        "ALTER TABLE \"Order\" ADD CONSTRAINT \"Order_total_check\" CHECK (total > 0 AND total < 1e9) NOT VALID;\nALTER TABLE \"Order\" VALIDATE CONSTRAINT \"Order_total_check\";"
    );
}

#[test]
fn set_not_null_follows_the_server_version() {
    let sql = "ALTER TABLE users ALTER COLUMN email SET NOT NULL;";
    let (text, _) = fixed("m.sql", sql, "set-not-null");
    assert_eq!(
        text,
        "ALTER TABLE users ADD CONSTRAINT users_email_not_null CHECK (email IS NOT NULL) NOT VALID;\n\
         ALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;\n\
         ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n\
         ALTER TABLE users DROP CONSTRAINT users_email_not_null;"
    );
    let pg18 = Settings { pg_version: 18, ..Settings::default() };
    let (text, _) = fixed_with("m.sql", sql, "set-not-null", &pg18);
    assert_eq!(
        text,
        "ALTER TABLE users ADD CONSTRAINT users_email_not_null NOT NULL email NOT VALID;\n\
         ALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;"
    );
}

#[test]
fn unique_constraints_are_built_concurrently_then_attached() {
    let sql = "-- +goose Up\nALTER TABLE users ADD UNIQUE (email);\n";
    let settings = Settings { assume_in_transaction: true, ..Settings::default() };
    let (text, new) = fixed_with("db/00003_u.sql", sql, "add-unique-constraint", &settings);
    assert_eq!(text, "-- +goose Up\n");
    assert_eq!(
        new[0].up,
        [
            "SET lock_timeout = '2s'",
            "CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email)",
            "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key",
        ]
    );
    assert_eq!(
        new[0].down,
        [
            "SET lock_timeout = '2s'",
            "ALTER TABLE users DROP CONSTRAINT IF EXISTS users_email_key",
            "DROP INDEX CONCURRENTLY IF EXISTS users_email_key"
        ]
    );
    assert!(!new[0].transaction);
}

#[test]
fn lock_timeout_goes_before_the_statement() {
    let sql = "-- add b\n  ALTER TABLE t ADD COLUMN b int;\n";
    let (text, _) = fixed("m.sql", sql, "missing-lock-timeout");
    assert_eq!(text, "-- add b\n  SET lock_timeout = '2s';\n  ALTER TABLE t ADD COLUMN b int;\n");
    let (text, _) = fixed("m.sql", "BEGIN; ALTER TABLE t ADD COLUMN b int; COMMIT;", "missing-lock-timeout");
    // A `SET LOCAL` would end at the file's own `COMMIT`, leaving what follows unguarded.
    assert_eq!(text, "BEGIN; SET lock_timeout = '2s'; ALTER TABLE t ADD COLUMN b int; COMMIT;");
    let settings = Settings { assume_in_transaction: true, ..Settings::default() };
    let goose = "-- +goose Up\nALTER TABLE t ADD COLUMN b int;\n-- +goose Down\nALTER TABLE t DROP COLUMN b;\n";
    let (text, _) = fixed_with("db/1_b.sql", goose, "missing-lock-timeout", &settings);
    assert_eq!(
        text,
        "-- +goose Up\nSET LOCAL lock_timeout = '2s';\nALTER TABLE t ADD COLUMN b int;\n-- +goose Down\nSET LOCAL lock_timeout = '2s';\nALTER TABLE t DROP COLUMN b;\n"
    );
}

#[test]
fn statements_inside_do_blocks_are_not_moved() {
    let sql = "BEGIN;\nDO $$ BEGIN CREATE INDEX i ON t (a); END $$;\nCOMMIT;\n";
    let reason = no_fix("m.sql", sql, "create-index-non-concurrently");
    assert!(reason.contains("`DO` block"), "{reason}");
}

#[test]
fn slugs_are_file_name_words() {
    assert_eq!(slug(&["concurrently", "Orders.user-id idx"]), "concurrently_orders_user_id_idx");
    assert_eq!(slug(&["", "x"]), "x");
}

#[test]
fn sql_printed_from_code_is_not_fixed_in_place() {
    let alembic = "BEGIN;\n\n-- Running upgrade 1a2b -> 3c4d\n\nCREATE INDEX ix ON users (email);\n\nCOMMIT;\n";
    let reason = no_fix("alembic.sql", alembic, "create-index-non-concurrently");
    assert!(reason.contains("revision's Python"), "{reason}");
    let reason = no_fix("alembic.sql", alembic, "missing-lock-timeout");
    assert!(reason.contains("Alembic's offline SQL"), "{reason}");
}
