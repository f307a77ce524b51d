//! `ddlint plan` proved under load on real servers. For each kind of plan and each PostgreSQL
//! server named in `DDLINT_PG_CLUSTERS`, a table of tens of thousands of rows gets the plan's
//! phases, applied as golang-migrate applies files, while two workloads run: the release
//! that still uses the old shape, and the release that uses the new one. The test asserts
//! that:
//! - the old release sees no error from the start through the backfill, and the new one none
//!   from expand on;
//! - while both run, a write through either is visible through the other;
//! - after the backfill the plan's verification query returns 0;
//! - no phase waits for a lock beyond its `lock_timeout` (it would fail), and no workload
//!   statement waits longer than that timeout and the hold after it;
//! - after contract, the schema equals what the one-step migration gives, column set for
//!   column set;
//! - each down, applied after its phase, gives back the schema from before that phase, and
//!   the old release works again once the contract is rolled back.
//!
//! It prints, per kind and server, the statements each workload ran, its errors and its
//! longest statement. Without `DDLINT_PG_CLUSTERS` the test skips, except under CI.

mod support;

use postgres::{Client, NoTls};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use support::servers::{self, describe, Cluster};

/// Rows in the table each plan changes.
const ROWS: i64 = 20_000;
/// The plans' `lock_timeout`: a phase that waits longer fails.
const LOCK_TIMEOUT: Duration = Duration::from_millis(1500);
/// How long the workloads run between two phases.
const WINDOW: Duration = Duration::from_millis(150);

/// The tables every case starts from; `{rows}` is [`ROWS`].
const SCHEMA: &str = "
CREATE TABLE users (
    id bigserial PRIMARY KEY, name text NOT NULL DEFAULT 'anonymous', email text, plan text, display_name text, bio text
);
CREATE TABLE orders (id bigserial PRIMARY KEY, total int NOT NULL DEFAULT 0, note text);
CREATE TABLE legacy (id bigserial PRIMARY KEY, payload text);
";
const ROWS_SQL: &str = "
INSERT INTO users (name, email, display_name, bio)
    SELECT 'user ' || g, CASE WHEN g % 10 = 0 THEN NULL ELSE 'u' || g || '@example.com' END,
           CASE WHEN g % 3 = 0 THEN NULL ELSE 'User ' || g END, CASE WHEN g % 4 = 0 THEN NULL ELSE 'bio ' || g END
    FROM generate_series(1, {rows}) g;
INSERT INTO orders (total, note) SELECT g % 1000, 'note ' || g FROM generate_series(1, {rows}) g;
INSERT INTO legacy (payload) SELECT 'payload ' || g FROM generate_series(1, 100) g;
-- Rows no workload touches (they write ids 1 to 20000 and new rows): the visibility checks
-- update these, so that no concurrent write can overwrite what they read back.
INSERT INTO users (id, name) VALUES (0, 'visibility');
INSERT INTO orders (id, total) VALUES (0, 0);
";

/// One kind of plan: the migration, and what each release runs.
struct Case {
    name: &'static str,
    /// The migration `ddlint plan` plans.
    migration: &'static str,
    fills: &'static [&'static str],
    /// Statements of the release that uses the old shape, run in turn; `$1` is a counter.
    old: &'static [&'static str],
    /// Statements of the release that uses the new shape.
    new: &'static [&'static str],
    /// Writes through one release read back through the other: `(writer is old, write
    /// returning an id, read of that id as text, the text expected)`.
    visible: &'static [(bool, &'static str, &'static str, &'static str)],
}

const CASES: &[Case] = &[
    Case {
        name: "rename-column",
        migration: "ALTER TABLE users RENAME COLUMN name TO full_name;",
        fills: &[],
        old: &[
            "INSERT INTO users (name, email) VALUES ('old ' || $1::bigint, 'o@example.com')",
            "UPDATE users SET name = 'old ' || $1::bigint WHERE id = 1 + $1::bigint * 7919 % 20000",
            "SELECT name FROM users WHERE id = 1 + $1::bigint * 104729 % 20000 AND $1::bigint IS NOT NULL",
        ],
        new: &[
            "INSERT INTO users (full_name, email) VALUES ('new ' || $1::bigint, 'n@example.com')",
            "UPDATE users SET full_name = 'new ' || $1::bigint WHERE id = 1 + $1::bigint * 7907 % 20000",
            "SELECT full_name FROM users WHERE id = 1 + $1::bigint * 104723 % 20000 AND $1::bigint IS NOT NULL",
        ],
        visible: &[
            (
                true,
                "INSERT INTO users (name) VALUES ('seen by new') RETURNING id",
                "SELECT full_name FROM users WHERE id = $1",
                "seen by new",
            ),
            (
                false,
                "INSERT INTO users (full_name) VALUES ('seen by old') RETURNING id",
                "SELECT name FROM users WHERE id = $1",
                "seen by old",
            ),
            (
                false,
                "UPDATE users SET full_name = 'updated by new' WHERE id = 0 RETURNING id",
                "SELECT name FROM users WHERE id = $1",
                "updated by new",
            ),
        ],
    },
    Case {
        name: "rename-table",
        migration: "ALTER TABLE users RENAME TO accounts;",
        fills: &[],
        old: &[
            "INSERT INTO users (name, email) VALUES ('old ' || $1::bigint, 'o@example.com')",
            "UPDATE users SET email = 'old' || $1::bigint WHERE id = 1 + $1::bigint * 7919 % 20000",
            "SELECT name FROM users WHERE id = 1 + $1::bigint * 104729 % 20000 AND $1::bigint IS NOT NULL",
        ],
        new: &[
            "INSERT INTO accounts (name, email) VALUES ('new ' || $1::bigint, 'n@example.com')",
            "UPDATE accounts SET email = 'new' || $1::bigint WHERE id = 1 + $1::bigint * 7907 % 20000",
            "SELECT name FROM accounts WHERE id = 1 + $1::bigint * 104723 % 20000 AND $1::bigint IS NOT NULL",
        ],
        visible: &[
            (
                true,
                "INSERT INTO users (name) VALUES ('seen by new') RETURNING id",
                "SELECT name FROM accounts WHERE id = $1",
                "seen by new",
            ),
            (
                false,
                "INSERT INTO accounts (name) VALUES ('seen by old') RETURNING id",
                "SELECT name FROM users WHERE id = $1",
                "seen by old",
            ),
        ],
    },
    Case {
        name: "change-column-type",
        migration: "ALTER TABLE orders ALTER COLUMN total TYPE bigint;",
        fills: &[],
        old: &[
            "INSERT INTO orders (total) VALUES ($1::bigint % 1000)",
            "UPDATE orders SET total = $1::bigint % 1000 WHERE id = 1 + $1::bigint * 7919 % 20000",
            "SELECT total FROM orders WHERE id = 1 + $1::bigint * 104729 % 20000 AND $1::bigint IS NOT NULL",
        ],
        new: &[
            "INSERT INTO orders (total) VALUES ($1::bigint % 1000 + 1)",
            "UPDATE orders SET total = total + 1 WHERE id = 1 + $1::bigint * 7907 % 20000",
            // Cast to the new type, as the plan asks of this release: its result type stays
            // the same through the swap.
            "SELECT sum(total::bigint) FROM orders WHERE id BETWEEN 1 + $1::bigint % 20000 AND 50 + $1::bigint % 20000",
        ],
        visible: &[
            (
                true,
                "INSERT INTO orders (total) VALUES (4242) RETURNING id",
                "SELECT total::text FROM orders WHERE id = $1",
                "4242",
            ),
            (
                false,
                "UPDATE orders SET total = 777 WHERE id = 0 RETURNING id",
                "SELECT total::text FROM orders WHERE id = $1",
                "777",
            ),
        ],
    },
    Case {
        name: "add-not-null-column",
        migration: "ALTER TABLE orders ADD COLUMN currency text NOT NULL;",
        fills: &["currency='EUR'"],
        old: &[
            "INSERT INTO orders (total) VALUES ($1::bigint % 1000)",
            "UPDATE orders SET total = $1::bigint % 1000 WHERE id = 1 + $1::bigint * 7919 % 20000",
            "SELECT total FROM orders WHERE id = 1 + $1::bigint * 104729 % 20000 AND $1::bigint IS NOT NULL",
        ],
        new: &[
            "INSERT INTO orders (total, currency) VALUES ($1::bigint % 1000, 'USD')",
            "UPDATE orders SET currency = 'GBP' WHERE id = 1 + $1::bigint * 7907 % 20000",
            "SELECT currency FROM orders WHERE id = 1 + $1::bigint * 104723 % 20000 AND $1::bigint IS NOT NULL",
        ],
        visible: &[
            (
                true,
                "INSERT INTO orders (total) VALUES (1) RETURNING id",
                "SELECT currency FROM orders WHERE id = $1",
                "EUR",
            ),
            (
                false,
                "INSERT INTO orders (total, currency) VALUES (31, 'USD') RETURNING id",
                "SELECT total::text FROM orders WHERE id = $1",
                "31",
            ),
        ],
    },
    Case {
        name: "set-not-null",
        migration: "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
        fills: &["email='unknown@example.com'"],
        old: &[
            "INSERT INTO users (name) VALUES ('old ' || $1::bigint)",
            "UPDATE users SET email = NULL WHERE id = 1 + $1::bigint * 7919 % 20000",
            "SELECT email FROM users WHERE id = 1 + $1::bigint * 104729 % 20000 AND $1::bigint IS NOT NULL",
        ],
        new: &[
            "INSERT INTO users (name, email) VALUES ('new ' || $1::bigint, 'n@example.com')",
            "UPDATE users SET email = 'n' || $1::bigint WHERE id = 1 + $1::bigint * 7907 % 20000",
            "SELECT email FROM users WHERE id = 1 + $1::bigint * 104723 % 20000 AND $1::bigint IS NOT NULL",
        ],
        visible: &[
            (
                true,
                "INSERT INTO users (name) VALUES ('no email') RETURNING id",
                "SELECT email FROM users WHERE id = $1",
                "unknown@example.com",
            ),
            (
                false,
                "INSERT INTO users (name, email) VALUES ('x', 'x@example.com') RETURNING id",
                "SELECT email FROM users WHERE id = $1",
                "x@example.com",
            ),
        ],
    },
    Case {
        name: "backfill",
        migration: "UPDATE users SET plan = 'free';",
        fills: &[],
        old: &[
            "INSERT INTO users (name, plan) VALUES ('old ' || $1::bigint, 'free')",
            "SELECT plan FROM users WHERE id = 1 + $1::bigint * 104729 % 20000 AND $1::bigint IS NOT NULL",
            "UPDATE users SET email = 'o' || $1::bigint WHERE id = 1 + $1::bigint * 7919 % 20000",
        ],
        new: &[
            "INSERT INTO users (name, plan) VALUES ('new ' || $1::bigint, 'free')",
            "UPDATE users SET name = 'n' || $1::bigint WHERE id = 1 + $1::bigint * 7907 % 20000",
        ],
        visible: &[(
            true,
            "INSERT INTO users (name, plan) VALUES ('v', 'free') RETURNING id",
            "SELECT plan FROM users WHERE id = $1",
            "free",
        )],
    },
    Case {
        name: "drop-column",
        migration: "ALTER TABLE orders DROP COLUMN note;",
        fills: &[],
        old: &[
            "INSERT INTO orders (total, note) VALUES ($1::bigint % 1000, 'old')",
            "SELECT note FROM orders WHERE id = 1 + $1::bigint * 104729 % 20000 AND $1::bigint IS NOT NULL",
        ],
        new: &[
            "INSERT INTO orders (total) VALUES ($1::bigint % 1000)",
            "SELECT total FROM orders WHERE id = 1 + $1::bigint * 104723 % 20000 AND $1::bigint IS NOT NULL",
        ],
        visible: &[(
            true,
            "INSERT INTO orders (total, note) VALUES (55, 'n') RETURNING id",
            "SELECT total::text FROM orders WHERE id = $1",
            "55",
        )],
    },
    Case {
        name: "move-columns",
        migration: "CREATE TABLE user_profiles (
    user_id bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE, display_name text, about text
);
INSERT INTO user_profiles (user_id, display_name, about) SELECT id, display_name, bio FROM users;
ALTER TABLE users DROP COLUMN display_name, DROP COLUMN bio;",
        fills: &[],
        old: &[
            "INSERT INTO users (name, display_name, bio) VALUES ('old ' || $1::bigint, 'Old ' || $1::bigint, 'bio')",
            "UPDATE users SET display_name = 'old ' || $1::bigint WHERE id = 1 + $1::bigint * 7919 % 20000",
            "SELECT display_name, bio FROM users WHERE id = 1 + $1::bigint * 104729 % 20000 AND $1::bigint IS NOT NULL",
        ],
        new: &[
            "INSERT INTO user_profiles (user_id, display_name, about) VALUES (1 + $1::bigint * 7907 % 20000, 'new ' || $1::bigint, 'about')
             ON CONFLICT (user_id) DO UPDATE SET display_name = EXCLUDED.display_name, about = EXCLUDED.about",
            "SELECT p.display_name FROM users u LEFT JOIN user_profiles p ON p.user_id = u.id
             WHERE u.id = 1 + $1::bigint * 104723 % 20000 AND $1::bigint IS NOT NULL",
            "UPDATE user_profiles SET about = 'n' || $1::bigint WHERE user_id = 1 + $1::bigint * 104723 % 20000",
        ],
        visible: &[
            (true, "UPDATE users SET display_name = 'seen by new' WHERE id = 0 RETURNING id", "SELECT display_name FROM user_profiles WHERE user_id = $1", "seen by new"),
            (false, "INSERT INTO user_profiles (user_id, display_name) VALUES (0, 'seen by old') ON CONFLICT (user_id) DO UPDATE SET display_name = EXCLUDED.display_name RETURNING user_id", "SELECT display_name FROM users WHERE id = $1", "seen by old"),
        ],
    },
    Case {
        name: "drop-table",
        migration: "DROP TABLE legacy;",
        fills: &[],
        old: &[
            "INSERT INTO legacy (payload) VALUES ('old ' || $1::bigint)",
            "SELECT payload FROM legacy WHERE id = 1 + $1::bigint % 100",
        ],
        new: &["SELECT name FROM users WHERE id = 1 + $1::bigint * 104723 % 20000 AND $1::bigint IS NOT NULL"],
        visible: &[],
    },
];

#[test]
fn plans_keep_both_releases_working_on_real_servers() {
    let Some(clusters) = servers::clusters() else { return };
    let started = Instant::now();
    let threads: Vec<_> = clusters
        .into_iter()
        .map(|cluster| (cluster.major, thread::spawn(move || CASES.iter().map(|case| prove(&cluster, case)).collect())))
        .collect();
    let mut summary = String::from(
        "plans under load: per kind and server, statements run by the old and new release, their errors, the longest statement\n",
    );
    let mut failures = Vec::new();
    for (major, thread) in threads {
        let outcomes: Vec<Outcome> =
            thread.join().unwrap_or_else(|_| vec![Outcome::failed("the server's thread panicked".to_owned())]);
        for (case, outcome) in CASES.iter().zip(&outcomes) {
            let _ = writeln!(
                summary,
                "  {:<20} PostgreSQL {major}: old {} statements, {} errors; new {} statements, {} errors; longest {} ms; {:.1}s",
                case.name,
                outcome.old.statements,
                outcome.old.errors.len(),
                outcome.new.statements,
                outcome.new.errors.len(),
                outcome.old.longest.max(outcome.new.longest).as_millis(),
                outcome.seconds,
            );
            if !outcome.problems.is_empty() {
                failures.push(format!("{} on PostgreSQL {major}:\n  {}", case.name, outcome.problems.join("\n  ")));
            }
        }
    }
    let _ = writeln!(summary, "  wall time {:.1}s", started.elapsed().as_secs_f64());
    let _ = std::io::stderr().write_all(summary.as_bytes());
    assert!(failures.is_empty(), "plans that failed under load:\n\n{}", failures.join("\n\n"));
}

#[derive(Default)]
struct Outcome {
    old: Tally,
    new: Tally,
    problems: Vec<String>,
    seconds: f64,
}

impl Outcome {
    fn failed(problem: String) -> Self {
        Self { problems: vec![problem], ..Self::default() }
    }
}

/// What a workload did.
#[derive(Clone, Default)]
struct Tally {
    statements: u64,
    errors: Vec<String>,
    longest: Duration,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.statements += other.statements;
        self.errors.extend(other.errors);
        self.longest = self.longest.max(other.longest);
    }
}

fn prove(cluster: &Cluster, case: &Case) -> Outcome {
    let started = Instant::now();
    let mut outcome = match run_case(cluster, case) {
        Ok(outcome) => outcome,
        Err(e) => Outcome::failed(e),
    };
    outcome.seconds = started.elapsed().as_secs_f64();
    outcome
}

/// A phase's files, as `plan.json` names them.
struct Phase {
    kind: String,
    up: String,
    down: Option<String>,
}

fn run_case(cluster: &Cluster, case: &Case) -> Result<Outcome, String> {
    let dir = tempfile::Builder::new().prefix("ddlint-plan").tempdir().map_err(|e| e.to_string())?;
    let (migrations, out) = (dir.path().join("migrations"), dir.path().join("plan"));
    fs::create_dir(&migrations).map_err(|e| e.to_string())?;
    let rows = ROWS_SQL.replace("{rows}", &ROWS.to_string());
    fs::write(migrations.join("1_base.up.sql"), format!("{SCHEMA}{rows}")).map_err(|e| e.to_string())?;
    fs::write(migrations.join("2_change.up.sql"), case.migration).map_err(|e| e.to_string())?;
    let phases = plan(&migrations.join("2_change.up.sql"), &out, cluster.major, case.fills)?;
    let read = |name: &str| fs::read_to_string(out.join(name)).map_err(|e| format!("{name}: {e}"));

    let database = format!("plan_{}", case.name.replace('-', "_"));
    let one_step = format!("{database}_one_step");
    let mut admin = connect(&cluster.conninfo, None)?;
    for (name, setup) in [(&database, format!("{SCHEMA}{rows}")), (&one_step, SCHEMA.to_owned())] {
        for sql in [format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"), format!("CREATE DATABASE {name}")] {
            admin.batch_execute(&sql).map_err(|e| describe(&e))?;
        }
        connect(&cluster.conninfo, Some(name))?.batch_execute(&setup).map_err(|e| describe(&e))?;
    }
    let mut ddl = connect(&cluster.conninfo, Some(&database))?;
    let mut outcome = Outcome::default();
    let conninfo = format!("{} dbname={database}", cluster.conninfo);

    // Up: the old release from the start until contract, the new one from expand on.
    let mut old = Some(Workload::start(&conninfo, case.old));
    let mut new = None;
    let mut before: Vec<String> = Vec::new();
    thread::sleep(WINDOW);
    for (n, phase) in phases.iter().enumerate() {
        if phase.kind == "contract" {
            if let Some(old) = old.take() {
                outcome.old.add(old.stop());
            }
        }
        if new.is_none() && phase.kind != "expand" {
            new = Some(Workload::start(&conninfo, case.new));
        }
        before.push(schema(&mut ddl)?);
        ddl.batch_execute(&read(&phase.up)?)
            .map_err(|e| format!("phase {} ({}): {}", n + 1, phase.up, describe(&e)))?;
        if new.is_none() {
            new = Some(Workload::start(&conninfo, case.new));
        }
        thread::sleep(WINDOW);
        if phase.kind == "backfill" || (phase.kind == "expand" && !phases.iter().any(|p| p.kind == "backfill")) {
            check_visible(&conninfo, case, &mut outcome.problems);
        }
        if phase.kind == "backfill" {
            let query = verification(&out)?;
            if let Some(query) = query {
                let left: i64 = ddl.query_one(query.as_str(), &[]).map_err(|e| describe(&e))?.get(0);
                if left != 0 {
                    outcome.problems.push(format!("after the backfill the verification query returns {left}: {query}"));
                }
            }
        }
    }
    if let Some(old) = old.take() {
        outcome.old.add(old.stop());
    }
    let after = schema(&mut ddl)?;
    connect(&cluster.conninfo, Some(&one_step))?.batch_execute(case.migration).map_err(|e| describe(&e))?;
    let expected = schema(&mut connect(&cluster.conninfo, Some(&one_step))?)?;
    if after != expected {
        outcome.problems.push(format!(
            "after contract the schema differs from the one-step migration's:\n{}",
            diff(&expected, &after)
        ));
    }

    // Down, newest first: the new release until expand is undone, the old one again from
    // the moment the contract is undone.
    for (n, phase) in phases.iter().enumerate().rev() {
        if phase.kind == "expand" {
            if let Some(new) = new.take() {
                outcome.new.add(new.stop());
            }
        }
        if let Some(down) = &phase.down {
            ddl.batch_execute(&read(down)?)
                .map_err(|e| format!("down of phase {} ({down}): {}", n + 1, describe(&e)))?;
        }
        let now = schema(&mut ddl)?;
        if now != before[n] {
            outcome.problems.push(format!(
                "the down of phase {} ({}) does not give back the schema before it:\n{}",
                n + 1,
                phase.kind,
                diff(&before[n], &now)
            ));
        }
        if phase.kind == "contract" && phases.get(n.wrapping_sub(1)).is_none_or(|p| p.kind != "contract") {
            old = Some(Workload::start(&conninfo, case.old));
        }
        thread::sleep(WINDOW);
    }
    if let Some(old) = old.take() {
        outcome.old.add(old.stop());
    }
    if let Some(new) = new.take() {
        outcome.new.add(new.stop());
    }
    for (who, tally) in [("old", &outcome.old), ("new", &outcome.new)] {
        if let Some(first) = tally.errors.first() {
            outcome.problems.push(format!("the {who} release saw {} errors, the first: {first}", tally.errors.len()));
        }
        if tally.longest > LOCK_TIMEOUT * 2 {
            outcome.problems.push(format!("a statement of the {who} release waited {} ms", tally.longest.as_millis()));
        }
    }
    drop(ddl);
    for name in [&database, &one_step] {
        let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }
    Ok(outcome)
}

/// Runs `ddlint plan` into `out`, and reads the phases from `plan.json`.
fn plan(migration: &Path, out: &Path, major: u32, fills: &[&str]) -> Result<Vec<Phase>, String> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ddlint"));
    command.args(["plan", "--no-config", "--framework", "golang-migrate", "--batch-size", "2000"]);
    command.arg(format!("--lock-timeout={}ms", LOCK_TIMEOUT.as_millis()));
    command.args(["--pg-version", &major.to_string(), "--out"]).arg(out).arg(migration);
    for fill in fills {
        command.arg(format!("--fill={fill}"));
    }
    let output = command.output().map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!("ddlint plan failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("plan.json")).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    let phases: Vec<Phase> = json["plans"][0]["phases"]
        .as_array()
        .ok_or("plan.json has no phases")?
        .iter()
        .map(|p| Phase {
            kind: p["kind"].as_str().unwrap_or_default().to_owned(),
            up: p["up"].as_str().unwrap_or_default().to_owned(),
            down: p["down"].as_str().map(str::to_owned),
        })
        .collect();
    if phases.is_empty() {
        return Err("the plan has no phases".to_owned());
    }
    Ok(phases)
}

fn verification(out: &Path) -> Result<Option<String>, String> {
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("plan.json")).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    Ok(json["plans"][0]["verification"].as_str().map(str::to_owned))
}

/// Each write through one release, read back through the other.
fn check_visible(conninfo: &str, case: &Case, problems: &mut Vec<String>) {
    for (by_old, write, read, expected) in case.visible {
        let result = (|| -> Result<String, String> {
            let mut writer = connect(conninfo, None)?;
            let mut reader = connect(conninfo, None)?;
            let id: i64 = writer.query_one(*write, &[]).map_err(|e| describe(&e))?.get(0);
            let seen: Option<String> = reader.query_one(*read, &[&id]).map_err(|e| describe(&e))?.get(0);
            Ok(seen.unwrap_or_default())
        })();
        let (writer, reader) = if *by_old { ("old", "new") } else { ("new", "old") };
        match result {
            Ok(seen) if seen == *expected => {}
            Ok(seen) => {
                problems.push(format!("the {reader} release read `{seen}` where the {writer} wrote `{expected}`"))
            }
            Err(e) => problems.push(format!("a write by the {writer} release, read by the {reader}: {e}")),
        }
    }
}

/// One release's traffic: a session that runs its statements in turn until stopped.
struct Workload {
    stop: Arc<AtomicBool>,
    thread: thread::JoinHandle<Tally>,
}

impl Workload {
    fn start(conninfo: &str, statements: &'static [&'static str]) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, conninfo) = (Arc::clone(&stop), conninfo.to_owned());
        let thread = thread::spawn(move || {
            let mut tally = Tally::default();
            let mut client = match connect(&conninfo, None) {
                Ok(client) => client,
                Err(e) => {
                    tally.errors.push(e);
                    return tally;
                }
            };
            let mut counter: i64 = 0;
            while !flag.load(Ordering::Relaxed) {
                for sql in statements {
                    counter += 1;
                    let at = Instant::now();
                    if let Err(e) = client.execute(*sql, &[&counter]) {
                        tally.errors.push(format!("{sql}: {}", describe(&e)));
                    }
                    tally.longest = tally.longest.max(at.elapsed());
                    tally.statements += 1;
                }
            }
            tally
        });
        Self { stop, thread }
    }

    fn stop(self) -> Tally {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .join()
            .unwrap_or_else(|_| Tally { errors: vec!["the workload panicked".to_owned()], ..Tally::default() })
    }
}

fn connect(conninfo: &str, database: Option<&str>) -> Result<Client, String> {
    let mut config: postgres::Config = conninfo.parse().map_err(|e| format!("bad conninfo `{conninfo}`: {e}"))?;
    config.application_name("ddlint-plan-under-load");
    if let Some(database) = database {
        config.dbname(database);
    }
    let mut client = config.connect(NoTls).map_err(|e| format!("cannot connect to `{conninfo}`: {e}"))?;
    client.batch_execute("SET statement_timeout = '60s'").map_err(|e| describe(&e))?;
    Ok(client)
}

/// The public schema as sets: columns with their types, nullability and defaults, and the
/// constraints (`NOT NULL` ones aside, which PostgreSQL 18 names after the column), indexes,
/// views, triggers and functions. Column order is left out: a re-added column goes last.
fn schema(client: &mut Client) -> Result<String, String> {
    const QUERY: &str = "
SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
       || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
   AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND contype <> 'n'
UNION ALL
SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
UNION ALL
SELECT 'view ' || viewname || ' ' || definition FROM pg_views WHERE schemaname = 'public'
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE NOT t.tgisinternal AND c.relnamespace = 'public'::regnamespace
UNION ALL
SELECT 'function ' || proname || ' ' || md5(prosrc) FROM pg_proc WHERE pronamespace = 'public'::regnamespace
ORDER BY 1";
    let rows = client.query(QUERY, &[]).map_err(|e| describe(&e))?;
    Ok(rows.iter().map(|r| format!("{}\n", r.get::<_, String>(0))).collect())
}

/// The lines only one of two schemas has.
fn diff(expected: &str, actual: &str) -> String {
    let mut lines: BTreeMap<&str, (bool, bool)> = BTreeMap::new();
    for line in expected.lines() {
        lines.entry(line).or_default().0 = true;
    }
    for line in actual.lines() {
        lines.entry(line).or_default().1 = true;
    }
    lines
        .into_iter()
        .filter_map(|(line, (e, a))| match (e, a) {
            (true, false) => Some(format!("  - {line}\n")),
            (false, true) => Some(format!("  + {line}\n")),
            _ => None,
        })
        .collect()
}
