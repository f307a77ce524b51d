//! Fixes keep the schema, proved on real servers. On each PostgreSQL server named in
//! `DDLINT_PG_CLUSTERS`, a migration stream and the same stream after `ddlint check --fix
//! --unsafe-fixes` are applied, each to a fresh database that starts from the same tables and
//! rows, the way the stream's framework runs its files. Both must end in the same schema (by
//! `pg_dump --schema-only`) and the same rows, every statement of the fixed stream must run
//! without an error or a warning the original did not raise, no index may be left invalid, and
//! the fix must have changed something. Where the framework has down migrations, both streams
//! are then rolled back, newest first, and must again end in the same schema.
//!
//! Without `DDLINT_PG_CLUSTERS` the test skips, except under CI (see `support::skip`). Start
//! servers with `bash verify/install-postgres.sh && bash verify/start-clusters.sh`.

mod support;

use support::servers::{self, describe, pg_bin, Cluster};

use ddlint_core::framework::{Direction, FileHints, Framework, Transaction};
use ddlint_core::parse::Item;
use ddlint_core::Settings;
use postgres::error::Severity;
use postgres::{Client, NoTls};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The schema every case starts from, with rows in its tables, so that a scan, a validation
/// or a concurrent build has something to read. The rows satisfy every constraint the cases
/// add: emails are present and unique, every `user_id` names a user, totals are not negative.
const BASE: &str = "
CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped');
CREATE TABLE users (id bigint PRIMARY KEY, email text, name text);
CREATE TABLE orders (
    id bigint PRIMARY KEY,
    user_id bigint,
    total int,
    status order_status NOT NULL DEFAULT 'new'
);
CREATE INDEX orders_status_idx ON orders (status);
CREATE INDEX orders_total_idx ON orders (total);
-- No primary key yet, and the key column is nullable.
CREATE TABLE events (id bigint, kind text);
-- Partitioned, without a default partition, so that a partition can be detached concurrently.
CREATE TABLE measurements (id bigint, taken date NOT NULL, value int) PARTITION BY RANGE (taken);
CREATE TABLE measurements_2023 PARTITION OF measurements FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE measurements_2024 PARTITION OF measurements FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');

INSERT INTO users SELECT g, 'user' || g || '@example.com', 'user ' || g FROM generate_series(1, 2000) g;
INSERT INTO orders
    SELECT g, g % 2000 + 1, g % 500, (ARRAY['new', 'paid', 'shipped'])[g % 3 + 1]::order_status
    FROM generate_series(1, 5000) g;
INSERT INTO events SELECT g, 'kind ' || g % 7 FROM generate_series(1, 3000) g;
INSERT INTO measurements SELECT g, date '2023-01-01' + g % 700, g FROM generate_series(1, 3000) g;

-- A unique index, so that the view can be refreshed concurrently.
CREATE MATERIALIZED VIEW order_totals AS
    SELECT user_id, count(*) AS orders, sum(total) AS total FROM orders GROUP BY user_id;
CREATE UNIQUE INDEX order_totals_user_id_idx ON order_totals (user_id);
";

/// A migration stream of one framework.
struct Case {
    /// Names the case's databases: `fixeq_<name>_orig` and `fixeq_<name>_fixed`.
    name: &'static str,
    /// File names and contents. Versions leave gaps, so that the fixes have room to number
    /// the migrations they add right after a file.
    files: &'static [(&'static str, &'static str)],
    /// The runner wraps each file in a transaction (`--assume-in-transaction`).
    assume_in_transaction: bool,
    /// The SQLSTATE PostgreSQL refuses the original with, for a stream whose hazard is that it
    /// cannot run as written. Its fixed stream is compared with what the author meant: the
    /// original run statement by statement, each committed on its own.
    original_fails_with: Option<&'static str>,
}

const CASES: &[Case] = &[
    Case {
        name: "plain",
        files: &[(
            "0001_everything.sql",
            "CREATE INDEX orders_user_id_idx ON orders (user_id);
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE orders ADD CHECK (total >= 0);
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);
ALTER TABLE events ADD PRIMARY KEY (id);
DROP INDEX orders_status_idx;
REINDEX INDEX orders_total_idx;
ALTER TABLE orders ADD COLUMN note text;
",
        )],
        assume_in_transaction: false,
        original_fails_with: None,
    },
    Case {
        name: "plain_transaction",
        files: &[(
            "0001_in_transaction.sql",
            "BEGIN;
CREATE INDEX orders_user_id_idx ON orders (user_id);
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
ALTER TABLE orders ADD CHECK (total >= 0);
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);
DROP INDEX orders_status_idx;
ALTER TABLE orders ADD COLUMN note text;
COMMIT;
",
        )],
        assume_in_transaction: false,
        original_fails_with: None,
    },
    Case {
        // A runner that wraps each plain file: what must run later goes to new files.
        name: "plain_wrapped",
        files: &[
            (
                "0010_constraints.sql",
                "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
ALTER TABLE orders ADD CHECK (total >= 0);
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
",
            ),
            ("0020_note.sql", "ALTER TABLE orders ADD COLUMN note text;\n"),
        ],
        assume_in_transaction: true,
        original_fails_with: None,
    },
    Case {
        name: "goose",
        files: &[
            (
                "00010_orders_user_index.sql",
                "-- +goose Up
CREATE INDEX orders_user_id_idx ON orders (user_id);

-- +goose Down
DROP INDEX orders_user_id_idx;
",
            ),
            (
                "00020_constraints.sql",
                "-- +goose Up
ALTER TABLE orders ADD COLUMN note text;
CREATE INDEX orders_total_status_idx ON orders (total, status);
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);

-- +goose Down
ALTER TABLE users DROP CONSTRAINT users_email_key;
ALTER TABLE users ALTER COLUMN email DROP NOT NULL;
ALTER TABLE orders DROP CONSTRAINT orders_user_fk;
DROP INDEX orders_total_status_idx;
ALTER TABLE orders DROP COLUMN note;
",
            ),
        ],
        assume_in_transaction: true,
        original_fails_with: None,
    },
    Case {
        name: "golang_migrate",
        files: &[
            (
                "10_constraints.up.sql",
                "ALTER TABLE orders ADD COLUMN note text;
CREATE INDEX orders_total_status_idx ON orders (total, status);
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);
",
            ),
            (
                "10_constraints.down.sql",
                "ALTER TABLE users DROP CONSTRAINT users_email_key;
ALTER TABLE users ALTER COLUMN email DROP NOT NULL;
ALTER TABLE orders DROP CONSTRAINT orders_user_fk;
DROP INDEX orders_total_status_idx;
ALTER TABLE orders DROP COLUMN note;
",
            ),
        ],
        assume_in_transaction: false,
        original_fails_with: None,
    },
    Case {
        name: "dbmate",
        files: &[
            (
                "20240101000000_constraints.sql",
                "-- migrate:up
CREATE INDEX orders_total_status_idx ON orders (total, status);
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);
ALTER TABLE orders ADD CHECK (total >= 0);

-- migrate:down
ALTER TABLE orders DROP CONSTRAINT orders_total_check;
ALTER TABLE users DROP CONSTRAINT users_email_key;
DROP INDEX orders_total_status_idx;
",
            ),
            (
                "20240102000000_orders_user_index.sql",
                "-- migrate:up
CREATE INDEX orders_user_id_idx ON orders (user_id);

-- migrate:down
DROP INDEX orders_user_id_idx;
",
            ),
        ],
        assume_in_transaction: false,
        original_fails_with: None,
    },
    Case {
        // A new enum value cannot be used in the transaction that adds it (55P04,
        // `unsafe_new_enum_value_usage`); the fix moves the use after the `COMMIT`.
        name: "enum",
        files: &[(
            "0001_archive.sql",
            "BEGIN;
ALTER TYPE order_status ADD VALUE 'archived';
UPDATE orders SET status = 'archived' WHERE id % 10 = 0;
COMMIT;
",
        )],
        assume_in_transaction: false,
        original_fails_with: Some("55P04"),
    },
    Case {
        name: "refresh_detach",
        files: &[(
            "0001_refresh_detach.sql",
            "REFRESH MATERIALIZED VIEW order_totals;
ALTER TABLE measurements DETACH PARTITION measurements_2023;
",
        )],
        assume_in_transaction: false,
        original_fails_with: None,
    },
    Case {
        // PostgreSQL refuses `CREATE INDEX CONCURRENTLY` on a partitioned table: the fix builds
        // the parent's index `ON ONLY`, each partition's concurrently, and attaches them, under
        // the names PostgreSQL would have chosen.
        name: "goose_partitioned_index",
        files: &[(
            "00010_index.sql",
            "-- +goose Up
SET lock_timeout = '2s';
CREATE INDEX ON measurements (value);
-- +goose Down
DROP INDEX measurements_value_idx;
",
        )],
        assume_in_transaction: false,
        original_fails_with: None,
    },
];

#[test]
fn fixed_streams_end_in_the_same_schema_on_real_servers() {
    let Some(clusters) = servers::clusters() else { return };
    let started = Instant::now();
    // One thread per server: the servers are independent, and each case spends most of its
    // time waiting on its server or on pg_dump.
    let threads: Vec<_> = clusters
        .into_iter()
        .map(|cluster| (cluster.major, std::thread::spawn(move || check_cluster(&cluster))))
        .collect();
    let mut summary = String::from("fix equivalence, per server:\n");
    let mut failures = Vec::new();
    for (major, thread) in threads {
        let result = thread.join().unwrap_or_else(|_| ClusterResult {
            setup_error: Some("the thread panicked".to_owned()),
            ..ClusterResult::default()
        });
        let matched = result.cases.iter().filter(|(_, problems)| problems.is_empty()).count();
        let failed: Vec<&str> =
            result.cases.iter().filter(|(_, problems)| !problems.is_empty()).map(|(name, _)| *name).collect();
        let _ = write!(summary, "  PostgreSQL {major}: {matched} of {} cases matched", CASES.len());
        if !failed.is_empty() {
            let _ = write!(summary, " (failed: {})", failed.join(", "));
        }
        let _ = writeln!(summary, " in {:.1}s", result.seconds);
        if let Some(error) = result.setup_error {
            let _ = writeln!(summary, "    cannot run: {error}");
            failures.push(format!("PostgreSQL {major}: cannot run: {error}"));
        }
        for (name, problems) in result.cases {
            if !problems.is_empty() {
                failures.push(format!("PostgreSQL {major}, case `{name}`:\n{}", problems.join("\n")));
            }
        }
    }
    let _ = writeln!(summary, "  wall time {:.1}s", started.elapsed().as_secs_f64());
    // Straight to the stream: the harness captures `eprintln!`.
    let _ = std::io::stderr().write_all(summary.as_bytes());
    assert!(failures.is_empty(), "fixed streams that differ from the originals:\n\n{}", failures.join("\n\n"));
}

#[derive(Default)]
struct ClusterResult {
    /// Each case with what went wrong; empty when the streams matched.
    cases: Vec<(&'static str, Vec<String>)>,
    /// Why no case could run.
    setup_error: Option<String>,
    seconds: f64,
}

fn check_cluster(cluster: &Cluster) -> ClusterResult {
    let started = Instant::now();
    let mut result = ClusterResult::default();
    match Server::open(cluster) {
        Ok(mut server) => {
            for case in CASES {
                let problems = check_case(&mut server, case).unwrap_or_else(|e| vec![format!("cannot run: {e}")]);
                result.cases.push((case.name, problems));
            }
            let _ = server.admin.batch_execute("DROP DATABASE IF EXISTS fixeq_base WITH (FORCE)");
        }
        Err(e) => result.setup_error = Some(e),
    }
    result.seconds = started.elapsed().as_secs_f64();
    result
}

/// One server: a session on its maintenance database, its `pg_dump`, and the base database
/// every case's databases are copied from.
struct Server<'c> {
    cluster: &'c Cluster,
    admin: Client,
    pg_dump: PathBuf,
}

impl<'c> Server<'c> {
    fn open(cluster: &'c Cluster) -> Result<Self, String> {
        let mut admin = connect(&cluster.conninfo, None, None)?;
        let major: i32 = admin
            .query_one("SELECT current_setting('server_version_num')::int / 10000", &[])
            .map_err(|e| describe(&e))?
            .get(0);
        if u32::try_from(major).ok() != Some(cluster.major) {
            return Err(format!("the cluster said to be PostgreSQL {} is PostgreSQL {major}", cluster.major));
        }
        let pg_dump = pg_bin(cluster.major)?.join("pg_dump");
        let mut server = Self { cluster, admin, pg_dump };
        // Every database of a case is a copy of this one, so both streams start from the same
        // rows, and the rows are written once per server.
        server.recreate("fixeq_base", None)?;
        let mut base = connect(&cluster.conninfo, Some("fixeq_base"), None)?;
        base.batch_execute(BASE).map_err(|e| format!("the base schema: {}", describe(&e)))?;
        drop(base);
        Ok(server)
    }

    /// Drops `name` (left over from an earlier run, say) and creates it afresh.
    fn recreate(&mut self, name: &str, template: Option<&str>) -> Result<(), String> {
        let template = template.map(|t| format!(" TEMPLATE {t}")).unwrap_or_default();
        // Two queries: in one they would form a transaction block, which both refuse.
        for sql in [format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"), format!("CREATE DATABASE {name}{template}")]
        {
            self.admin.batch_execute(&sql).map_err(|e| format!("cannot create database {name}: {}", describe(&e)))?;
        }
        Ok(())
    }

    /// A fresh copy of the base database, and a session on it.
    fn fresh(&mut self, name: &str) -> Result<Session, String> {
        self.recreate(name, Some("fixeq_base"))?;
        Session::open(&self.cluster.conninfo, name)
    }

    fn drop_database(&mut self, name: &str) {
        let _ = self.admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }

    /// The database's schema as `pg_dump` prints it, without what differs between two dumps
    /// of the same schema: comments, settings, blank lines and the random key of `\restrict`.
    fn schema(&self, database: &str) -> Result<String, String> {
        let output = Command::new(&self.pg_dump)
            .args(["--schema-only", "--no-owner", "--no-privileges", "-d"])
            .arg(format!("{} dbname={database}", self.cluster.conninfo))
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.pg_dump.display()))?;
        if !output.status.success() {
            return Err(format!("pg_dump {database}: {}", String::from_utf8_lossy(&output.stderr).trim()));
        }
        let text = String::from_utf8_lossy(&output.stdout);
        // Two dumps of the wrong database would match and prove nothing.
        if !text.contains("CREATE TABLE public.orders") {
            return Err(format!("pg_dump {database} printed no `orders` table:\n{text}"));
        }
        Ok(text
            .lines()
            .filter(|line| {
                !(line.trim().is_empty()
                    || line.starts_with("--")
                    || line.starts_with("SET ")
                    || line.starts_with("SELECT pg_catalog.set_config")
                    || line.starts_with("\\restrict")
                    || line.starts_with("\\unrestrict"))
            })
            .map(|line| format!("{line}\n"))
            .collect())
    }
}

fn connect(
    conninfo: &str,
    database: Option<&str>,
    warnings: Option<Arc<Mutex<Vec<String>>>>,
) -> Result<Client, String> {
    let mut config: postgres::Config = conninfo.parse().map_err(|e| format!("bad conninfo `{conninfo}`: {e}"))?;
    config.application_name("ddlint-fix-equivalence");
    if let Some(database) = database {
        config.dbname(database);
    }
    config.notice_callback(move |notice| {
        if notice.parsed_severity() == Some(Severity::Warning) {
            if let Some(sink) = &warnings {
                sink.lock().expect("the warnings lock").push(notice.message().to_owned());
            }
        }
    });
    let mut client = config.connect(NoTls).map_err(|e| format!("cannot connect to `{conninfo}`: {e}"))?;
    // A statement that waits on something unforeseen (a concurrent build waiting for a
    // transaction left open) fails instead of hanging the test.
    client.batch_execute("SET statement_timeout = '60s'").map_err(|e| describe(&e))?;
    Ok(client)
}

/// The server's error with its SQLSTATE, detail and hint.
/// What happened to a case: every problem found, empty when both streams matched.
fn check_case(server: &mut Server<'_>, case: &Case) -> Result<Vec<String>, String> {
    let major = server.cluster.major;
    let dir = tempfile::Builder::new().prefix("ddlint-fixeq").tempdir().map_err(|e| e.to_string())?;
    let (original_dir, fixed_dir) = (dir.path().join("original"), dir.path().join("fixed"));
    for folder in [&original_dir, &fixed_dir] {
        fs::create_dir(folder).map_err(|e| e.to_string())?;
        for (name, text) in case.files {
            fs::write(folder.join(name), text).map_err(|e| e.to_string())?;
        }
    }
    let mut problems = Vec::new();
    // The fixes know the base schema as the history before the stream, as a team gives it
    // with `--schema`: a partitioned table's partitions, say.
    let schema = dir.path().join("schema.sql");
    fs::write(&schema, BASE).map_err(|e| e.to_string())?;
    let notes = fix(&fixed_dir, &schema, major, case.assume_in_transaction, &mut problems);
    let (original_files, fixed_files) = (tree(&original_dir)?, tree(&fixed_dir)?);
    // The fix must do something, or the comparison below proves nothing.
    if original_files == fixed_files {
        problems.push(format!("`ddlint check --fix` changed nothing: {}", notes.trim()));
    }
    let settings =
        Settings { pg_version: major, assume_in_transaction: case.assume_in_transaction, ..Settings::default() };
    let original = load(&original_dir, &settings)?;
    let fixed = match load(&fixed_dir, &settings) {
        Ok(fixed) => fixed,
        Err(e) => {
            problems.push(format!("the fixed stream: {e}"));
            return Ok(with_fixed_files(problems, &original_files, &fixed_files));
        }
    };
    let runner = How::AsTheRunnerDoes { assume_in_transaction: case.assume_in_transaction };
    let (original_db, fixed_db) = (format!("fixeq_{}_orig", case.name), format!("fixeq_{}_fixed", case.name));
    let mut databases = vec![original_db.clone(), fixed_db.clone()];

    let original_how = match case.original_fails_with {
        None => runner,
        Some(sqlstate) => {
            // The original as written must fail, or the case does not show the hazard.
            let as_is = format!("fixeq_{}_asis", case.name);
            databases.push(as_is.clone());
            let run = server.fresh(&as_is)?.apply(&original, Direction::Up, runner);
            match &run.failure {
                Some(failure) if failure.sqlstate == sqlstate => {}
                Some(failure) => {
                    problems.push(format!("the original failed, but not with {sqlstate}: {}", failure.report));
                }
                None => problems.push(format!("the original ran, where PostgreSQL should refuse it with {sqlstate}")),
            }
            How::EachStatementCommitted
        }
    };
    let mut original_session = server.fresh(&original_db)?;
    let mut fixed_session = server.fresh(&fixed_db)?;
    let original_run = original_session.apply(&original, Direction::Up, original_how);
    let fixed_run = fixed_session.apply(&fixed, Direction::Up, runner);
    if let Some(failure) = &original_run.failure {
        problems.push(format!("the original stream failed (the case is wrong): {}", failure.report));
    }
    if let Some(failure) = &fixed_run.failure {
        problems.push(format!("the fixed stream failed: {}", failure.report));
    }
    new_warnings("stream", &original_run, &fixed_run, &mut problems);
    let invalid = fixed_session.invalid_indexes()?;
    if !invalid.is_empty() {
        problems.push(format!("the fixed stream left invalid indexes: {}", invalid.join(", ")));
    }
    let original_rows = original_session.rows()?;
    let fixed_rows = fixed_session.rows()?;
    compare("schema after up", &server.schema(&original_db)?, &server.schema(&fixed_db)?, &mut problems);
    compare("rows after up", &original_rows, &fixed_rows, &mut problems);

    // Rollback: every down migration, newest first, in both streams.
    let has_down = original.iter().flat_map(|m| &m.sections).any(|s| s.direction == Direction::Down);
    if has_down && original_run.failure.is_none() && fixed_run.failure.is_none() {
        let original_down = original_session.apply(&original, Direction::Down, runner);
        let fixed_down = fixed_session.apply(&fixed, Direction::Down, runner);
        if let Some(failure) = &original_down.failure {
            problems.push(format!("the original rollback failed (the case is wrong): {}", failure.report));
        }
        if let Some(failure) = &fixed_down.failure {
            problems.push(format!("the fixed rollback failed: {}", failure.report));
        }
        new_warnings("rollback", &original_down, &fixed_down, &mut problems);
        compare("schema after rollback", &server.schema(&original_db)?, &server.schema(&fixed_db)?, &mut problems);
    } else if has_down {
        problems.push("rollback not checked: the up migrations failed".to_owned());
    }
    drop((original_session, fixed_session));
    // A failed case's databases stay for inspection; the next run drops them.
    if problems.is_empty() {
        for database in &databases {
            server.drop_database(database);
        }
        Ok(problems)
    } else {
        problems.push(format!("databases left for inspection: {}", databases.join(", ")));
        Ok(with_fixed_files(problems, &original_files, &fixed_files))
    }
}

/// Adds the warnings of the fixed run that the original did not draw to `problems`: such a
/// warning means the fix wrote SQL the server ignores, such as `SET LOCAL` outside a
/// transaction block.
fn new_warnings(what: &str, original: &Run, fixed: &Run, problems: &mut Vec<String>) {
    for warning in &fixed.warnings {
        if !original.warnings.iter().any(|w| w.message == warning.message) {
            problems.push(format!("the fixed {what} drew a warning: {}\n    WARNING: {}", warning.at, warning.message));
        }
    }
}

/// Runs `ddlint check --fix --unsafe-fixes` in `dir` for PostgreSQL `major`; returns its notes.
fn fix(dir: &Path, schema: &Path, major: u32, assume_in_transaction: bool, problems: &mut Vec<String>) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_ddlint"))
        .current_dir(dir)
        .args(["check", "--no-config", "--color", "never", "--fix", "--unsafe-fixes", "--pg-version"])
        .arg(major.to_string())
        .arg("--schema")
        .arg(schema)
        .args(assume_in_transaction.then_some("--assume-in-transaction"))
        .arg(".")
        .env("NO_COLOR", "1")
        .output()
        .expect("run ddlint");
    let notes = String::from_utf8_lossy(&output.stderr).into_owned();
    // 0 and 1 say whether findings remain; 2 is an error.
    if !matches!(output.status.code(), Some(0 | 1)) || notes.contains("panicked") {
        problems.push(format!("`ddlint check --fix` failed ({}): {}", output.status, notes.trim()));
    }
    notes
}

/// Every file of `dir` with its text, by name.
fn tree(dir: &Path) -> Result<BTreeMap<String, String>, String> {
    let mut files = BTreeMap::new();
    for entry in fs::read_dir(dir).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        files.insert(name, fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?);
    }
    Ok(files)
}

/// `problems`, then the files the fix changed or added, to read the failure without rerunning.
fn with_fixed_files(
    mut problems: Vec<String>,
    original: &BTreeMap<String, String>,
    fixed: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut listing = String::from("the fixed files:");
    for (name, text) in fixed.iter().filter(|(name, text)| original.get(*name) != Some(text)) {
        let _ = write!(listing, "\n  --- {name}\n{}", indent(text));
    }
    problems.push(listing);
    problems
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("    {line}\n")).collect::<String>().trim_end().to_owned()
}

/// Adds a line diff of `original` and `fixed` to `problems` when they differ.
fn compare(what: &str, original: &str, fixed: &str, problems: &mut Vec<String>) {
    if original == fixed {
        return;
    }
    let diff = similar::TextDiff::from_lines(original, fixed);
    let diff = diff.unified_diff().context_radius(2).header("original", "fixed").to_string();
    problems.push(format!("{what} differs:\n{}", indent(&diff)));
}

/// One migration file as its framework runs it.
struct Migration {
    name: String,
    framework: Framework,
    sections: Vec<Unit>,
}

/// A section of a file: what the runner executes as a unit.
struct Unit {
    direction: Direction,
    transaction: Transaction,
    /// The section's whole text, for a runner that sends it as one query.
    text: String,
    /// Its top-level statements, each without its `;`.
    statements: Vec<String>,
}

/// The migrations of `dir` in the order their runner applies them, split by the engine's own
/// parser into sections and statements.
fn load(dir: &Path, settings: &Settings) -> Result<Vec<Migration>, String> {
    let mut names: Vec<String> = tree(dir)?.into_keys().filter(|n| n.ends_with(".sql")).collect();
    // By version number, then name: the order of goose, golang-migrate, dbmate and a plain
    // runner for the names of these cases.
    let version = |name: &str| -> u128 {
        name.chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap_or_default()
    };
    names.sort_by(|a, b| version(a).cmp(&version(b)).then_with(|| a.cmp(b)));
    let mut migrations = Vec::new();
    for name in names {
        let bytes = fs::read(dir.join(&name)).map_err(|e| format!("{name}: {e}"))?;
        let prepared = ddlint_core::prepare(&name, &bytes, settings, FileHints::default());
        let text = prepared.text();
        if let Some(error) = prepared.parsed().items.iter().find_map(|item| match item {
            Item::SyntaxError(error) => Some(error),
            Item::Statement(_) => None,
        }) {
            let statement = &text[error.statement.start..error.statement.end];
            return Err(format!("{name}: `{statement}` does not parse: {}", error.message));
        }
        // Statements inside a `DO` body run as part of the `DO`.
        let statements: Vec<_> =
            prepared.parsed().statements().filter(|s| s.nested_in.is_none()).map(|s| s.span).collect();
        let report = ddlint_core::lint_file(&name, &bytes, settings);
        let sections = report
            .sections
            .iter()
            .map(|section| Unit {
                direction: section.direction,
                transaction: section.transaction,
                text: text[section.span.start..section.span.end].to_owned(),
                statements: statements
                    .iter()
                    .filter(|s| section.span.start <= s.start && s.start < section.span.end)
                    .map(|s| text[s.start..s.end].to_owned())
                    .collect(),
            })
            .collect();
        migrations.push(Migration { name, framework: report.framework.unwrap_or(Framework::Plain), sections });
    }
    Ok(migrations)
}

/// How a stream is run.
#[derive(Clone, Copy)]
enum How {
    /// As its framework's runner runs it; `assume_in_transaction` says whether the runner
    /// wraps a file whose transaction the framework leaves to it (`AsConfigured`).
    AsTheRunnerDoes { assume_in_transaction: bool },
    /// Each statement committed on its own, the file's own `BEGIN` and `COMMIT` left out.
    EachStatementCommitted,
}

/// How one section is executed.
enum Mode {
    /// `BEGIN`, each statement, `COMMIT`.
    Wrapped,
    /// The whole section as one simple query, which PostgreSQL runs as one implicit
    /// transaction when it holds several statements.
    OneQuery,
    /// Each statement on its own in autocommit, the file's own `BEGIN` and `COMMIT` included,
    /// as `psql -f` does.
    EachStatement,
    /// Each statement on its own in autocommit, the file's own `BEGIN` and `COMMIT` left out.
    EachStatementCommitted,
}

fn mode(framework: Framework, transaction: Transaction, how: How) -> Mode {
    let How::AsTheRunnerDoes { assume_in_transaction } = how else { return Mode::EachStatementCommitted };
    match transaction {
        Transaction::Wrapped => Mode::Wrapped,
        Transaction::AsConfigured if assume_in_transaction => Mode::Wrapped,
        // golang-migrate sends a file as one `Exec`.
        Transaction::ImplicitWhenMultiStatement => Mode::OneQuery,
        // dbmate sends a section as one `Exec` too, with its `transaction:false` as without it
        // (`execMigration` in its `pkg/dbmate/db.go`; lib/pq's `Exec` without arguments is one
        // simple query), so that several statements still form one implicit transaction block.
        Transaction::None if framework == Framework::Dbmate => Mode::OneQuery,
        Transaction::None | Transaction::AsConfigured => Mode::EachStatement,
    }
}

/// One database with the session a runner applies a stream in.
struct Session {
    client: Client,
    /// The warnings the server sent and nobody took yet.
    warnings: Arc<Mutex<Vec<String>>>,
}

/// A stream applied.
#[derive(Default)]
struct Run {
    /// The first statement the server refused; the runner stops there, as a migration runner does.
    failure: Option<Failure>,
    warnings: Vec<Warning>,
}

struct Failure {
    sqlstate: String,
    /// The file, the SQL and the server's error.
    report: String,
}

struct Warning {
    /// The file and the SQL.
    at: String,
    message: String,
}

impl Session {
    fn open(conninfo: &str, database: &str) -> Result<Self, String> {
        let warnings = Arc::new(Mutex::new(Vec::new()));
        let client = connect(conninfo, Some(database), Some(Arc::clone(&warnings)))?;
        Ok(Self { client, warnings })
    }

    /// Applies the `direction` sections of `migrations`: up oldest first, down newest first.
    fn apply(&mut self, migrations: &[Migration], direction: Direction, how: How) -> Run {
        let mut run = Run::default();
        let ordered: Vec<&Migration> = match direction {
            Direction::Up => migrations.iter().collect(),
            Direction::Down => migrations.iter().rev().collect(),
        };
        for migration in ordered {
            for unit in migration.sections.iter().filter(|u| u.direction == direction && !u.statements.is_empty()) {
                if let Err(failure) = self.run_unit(migration, unit, how, &mut run.warnings) {
                    // Whatever transaction the failure left open is rolled back, so that the
                    // database can be dumped and compared.
                    let _ = self.client.batch_execute("ROLLBACK");
                    self.take_warnings();
                    run.failure = Some(failure);
                    return run;
                }
            }
        }
        run
    }

    fn run_unit(
        &mut self,
        migration: &Migration,
        unit: &Unit,
        how: How,
        warnings: &mut Vec<Warning>,
    ) -> Result<(), Failure> {
        let file = &migration.name;
        match mode(migration.framework, unit.transaction, how) {
            Mode::OneQuery => self.execute(file, &unit.text, warnings),
            Mode::Wrapped => {
                self.execute(file, "BEGIN", warnings)?;
                for statement in &unit.statements {
                    self.execute(file, statement, warnings)?;
                }
                self.execute(file, "COMMIT", warnings)
            }
            Mode::EachStatement => {
                unit.statements.iter().try_for_each(|statement| self.execute(file, statement, warnings))
            }
            Mode::EachStatementCommitted => unit
                .statements
                .iter()
                .filter(|s| {
                    !matches!(s.to_ascii_uppercase().as_str(), "BEGIN" | "START TRANSACTION" | "COMMIT" | "END")
                })
                .try_for_each(|statement| self.execute(file, statement, warnings)),
        }
    }

    /// Runs `sql` as one simple query, as `psql` and the Go runners send it.
    fn execute(&mut self, file: &str, sql: &str, warnings: &mut Vec<Warning>) -> Result<(), Failure> {
        let result = self.client.batch_execute(sql);
        let at = format!("{file}: `{}`", sql.trim());
        for message in self.take_warnings() {
            warnings.push(Warning { at: at.clone(), message });
        }
        result.map_err(|e| Failure {
            sqlstate: e.code().map(|c| c.code().to_owned()).unwrap_or_default(),
            report: format!("{at}\n    {}", describe(&e)),
        })
    }

    fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut *self.warnings.lock().expect("the warnings lock"))
    }

    fn invalid_indexes(&mut self) -> Result<Vec<String>, String> {
        let rows = self
            .client
            .query("SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid ORDER BY 1", &[])
            .map_err(|e| describe(&e))?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    /// Each table's and materialized view's row count and a digest of its rows: a fix is safe
    /// only if it leaves the data as the original does.
    fn rows(&mut self) -> Result<String, String> {
        let relations = self
            .client
            .query(
                "SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'm') ORDER BY 1",
                &[],
            )
            .map_err(|e| describe(&e))?;
        let mut digest = String::new();
        for relation in relations {
            let name: String = relation.get(0);
            let row = self
                .client
                .query_one(
                    &format!(
                        "SELECT count(*), coalesce(md5(string_agg(r::text, E'\\n' ORDER BY r::text)), '') FROM {name} r"
                    ),
                    &[],
                )
                .map_err(|e| describe(&e))?;
            let (count, md5): (i64, String) = (row.get(0), row.get(1));
            let _ = writeln!(digest, "{name}: {count} rows, md5 {md5}");
        }
        Ok(digest)
    }
}
