//! What a server does when it runs a statement: the relation locks of its backend, the
//! tables whose storage changed and the tables it read sequentially.

use crate::{Case, Method};
use ddlint_core::locks::LockMode;
use postgres::{Client, NoTls};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// One server to verify against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    pub version: u32,
    /// A libpq connection string: `host=/tmp/ddlint-pg/15 port=54315 user=postgres`.
    pub conninfo: String,
}

/// What the server did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observation {
    /// Strongest mode per relation, by `pg_locks` name, held or waited for.
    pub locks: BTreeMap<String, String>,
    /// Relations whose `relfilenode` changed.
    pub rewrites: Vec<String>,
    /// Relations whose sequential-scan counter went up.
    pub scans: Vec<String>,
    /// The tables, partitioned tables, views and materialized views that existed before.
    pub tables: Vec<String>,
    /// Every relation in the case's schemas before the statement.
    pub existing: Vec<String>,
    /// The partitioned tables and indexes among them, which have no storage of their own.
    pub partitioned: Vec<String>,
    /// The schema of each relation that existed before.
    pub schemas: BTreeMap<String, String>,
    /// Strongest mode per schema or type, held or waited for, keyed `schema NAME` or
    /// `type NAME`.
    pub objects: BTreeMap<String, String>,
    /// The schemas and types that existed before, keyed as in `objects`.
    pub existing_objects: Vec<String>,
    /// The relations whose lock the statement was still waiting for (blocked cases).
    pub waiting: Vec<String>,
    /// The tables, partitioned tables and materialized views the statement created, with
    /// the strongest mode it holds on each (`-` for none).
    pub created: BTreeMap<String, String>,
}

impl Observation {
    pub fn is_table(&self, relation: &str) -> bool {
        self.tables.iter().any(|t| t == relation)
    }

    pub fn existed(&self, relation: &str) -> bool {
        self.existing.iter().any(|t| t == relation)
    }

    pub fn object_existed(&self, key: &str) -> bool {
        self.existing_objects.iter().any(|o| o == key)
    }
}

/// The schemas every case lives in; both are dropped and made anew before each case.
const SCHEMAS: &str = "('lv', 'lv2')";

const RESET: &str = "DROP SCHEMA IF EXISTS lv CASCADE; DROP SCHEMA IF EXISTS lv2 CASCADE; \
     CREATE SCHEMA lv; CREATE SCHEMA lv2; SET search_path = lv";

/// A tablespace for the `SET TABLESPACE` cases. Tablespaces are cluster-wide, so it outlives the
/// schemas; in place (a directory under `pg_tblspc`), so that no directory must be made for it.
const TABLESPACE: &str = "lv_space";

#[derive(Clone, Debug)]
struct Relation {
    oid: u32,
    name: String,
    kind: String,
    filenode: u32,
    scans: i64,
    schema: String,
}

/// A schema or type, as the object locks name them.
#[derive(Clone, Debug)]
struct Object {
    class: String,
    oid: u32,
    key: String,
}

/// One row of `pg_locks`: `class` is `relation`, `schema` or `type`.
#[derive(Clone, Debug)]
struct Lock {
    class: String,
    oid: u32,
    mode: String,
    granted: bool,
}

/// Three sessions on one server: A runs the statement, B blocks it, C watches.
pub(crate) struct Sessions {
    version: u32,
    a: Client,
    a_pid: i32,
    b: Client,
    c: Client,
}

fn connect(cluster: &Cluster, name: &str) -> Result<Client, String> {
    let conninfo = format!("{} application_name=lock-verify-{name}", cluster.conninfo);
    let mut client =
        Client::connect(&conninfo, NoTls).map_err(|e| format!("cannot connect to {}: {e}", cluster.conninfo))?;
    // A statement that waits on something unforeseen fails instead of hanging the suite.
    client
        .batch_execute("SET statement_timeout = '60s'; SET search_path = lv; SET client_min_messages = warning")
        .map_err(|e| e.to_string())?;
    Ok(client)
}

fn err(e: postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => e.to_string(),
    }
}

impl Sessions {
    pub(crate) fn connect(cluster: &Cluster) -> Result<Self, String> {
        let mut a = connect(cluster, "a")?;
        let b = connect(cluster, "b")?;
        let c = connect(cluster, "c")?;
        let row = a
            .query_one("SELECT pg_backend_pid(), current_setting('server_version_num')::int / 10000", &[])
            .map_err(err)?;
        let (a_pid, major): (i32, i32) = (row.get(0), row.get(1));
        if u32::try_from(major).ok() != Some(cluster.version) {
            return Err(format!("cluster said to be PostgreSQL {} is PostgreSQL {major}", cluster.version));
        }
        // A role for the GRANT cases; roles are cluster-wide, so it outlives the schemas.
        a.batch_execute(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lv_reader') THEN CREATE ROLE lv_reader; END IF; END $$",
        )
        .map_err(err)?;
        create_tablespace(&mut a)?;
        Ok(Self { version: cluster.version, a, a_pid, b, c })
    }

    /// Runs a case's setup and statement and reports what the server did.
    pub(crate) fn observe(&mut self, setup: &str, case: &Case) -> Result<Observation, String> {
        self.a.batch_execute(RESET).map_err(|e| format!("reset failed: {}", err(e)))?;
        self.a.batch_execute(setup).map_err(|e| format!("setup failed: {}", err(e)))?;
        match case.method {
            Method::Transaction => self.in_transaction(&case.sql),
            Method::Blocked => self.blocked(&case.sql, &case.blocker),
        }
    }

    fn in_transaction(&mut self, sql: &str) -> Result<Observation, String> {
        self.a.batch_execute("BEGIN").map_err(err)?;
        let result = (|| {
            let before = relations(&mut self.a, "pg_stat_get_xact_numscans")?;
            let objects = objects(&mut self.a)?;
            self.a.batch_execute(sql).map_err(|e| format!("statement failed: {}", err(e)))?;
            let held = locks(&mut self.a, self.a_pid)?;
            let after = relations(&mut self.a, "pg_stat_get_xact_numscans")?;
            Ok(observation(&before, &objects, &after, &held))
        })();
        self.a.batch_execute("ROLLBACK").map_err(err)?;
        result
    }

    fn blocked(&mut self, sql: &str, blocker: &str) -> Result<Observation, String> {
        self.flush_stats()?;
        let before = self.cumulative()?;
        let objects = objects(&mut self.c)?;
        self.b
            .batch_execute(&format!("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1; {blocker}"))
            .map_err(|e| format!("blocker failed: {}", err(e)))?;
        let Sessions { a, a_pid, b, c, .. } = self;
        let a_pid = *a_pid;
        let (held, outcome) = std::thread::scope(|scope| {
            let statement = scope.spawn(|| a.batch_execute(sql));
            let held = wait_until_blocked(c, a_pid, || statement.is_finished());
            let released = b.batch_execute("ROLLBACK").map_err(err);
            let outcome = statement.join().unwrap_or_else(|_| Ok(()));
            (held.and_then(|h| released.map(|()| h)), outcome)
        });
        outcome.map_err(|e| format!("statement failed: {}", err(e)))?;
        let held = held?;
        self.flush_stats()?;
        let after = self.cumulative()?;
        Ok(observation(&before, &objects, &after, &held))
    }

    /// Makes session A send its pending statistics, so session C sees its scans.
    fn flush_stats(&mut self) -> Result<(), String> {
        if self.version >= 15 {
            // Flushed before the server answers the next query (at idle, before ReadyForQuery).
            self.a.batch_execute("SELECT pg_stat_force_next_flush()").map_err(err)
        } else {
            // PostgreSQL 14 sends statistics at idle at most every 500 ms.
            self.a.batch_execute("SELECT pg_sleep(0.6)").map_err(err)
        }
    }

    /// Relations with the cumulative scan counters, as session C sees them.
    fn cumulative(&mut self) -> Result<Vec<Relation>, String> {
        if self.version >= 15 {
            self.c.batch_execute("SELECT pg_stat_clear_snapshot()").map_err(err)?;
            return relations(&mut self.c, "pg_stat_get_numscans");
        }
        // PostgreSQL 14's collector writes its file at most every 500 ms: read until stable.
        let mut last: Option<Vec<Relation>> = None;
        for _ in 0..10 {
            std::thread::sleep(Duration::from_millis(600));
            self.c.batch_execute("SELECT pg_stat_clear_snapshot()").map_err(err)?;
            let now = relations(&mut self.c, "pg_stat_get_numscans")?;
            if let Some(previous) = &last {
                if previous.iter().map(|r| r.scans).eq(now.iter().map(|r| r.scans)) {
                    return Ok(now);
                }
            }
            last = Some(now);
        }
        last.ok_or_else(|| "statistics never settled".to_owned())
    }
}

/// Creates the `SET TABLESPACE` cases' tablespace unless it exists (made by an earlier run, or
/// by a run beside this one).
fn create_tablespace(client: &mut Client) -> Result<(), String> {
    let exists = |client: &mut Client| {
        client
            .query_opt("SELECT 1 FROM pg_tablespace WHERE spcname = $1", &[&TABLESPACE])
            .map(|row| row.is_some())
            .map_err(|e| format!("cannot look for the tablespace: {}", err(e)))
    };
    if exists(client)? {
        return Ok(());
    }
    // CREATE TABLESPACE refuses to run in a transaction block or a multi-statement string.
    client.batch_execute("SET allow_in_place_tablespaces = on").map_err(err)?;
    let created = client.batch_execute(&format!("CREATE TABLESPACE {TABLESPACE} LOCATION ''"));
    client.batch_execute("RESET allow_in_place_tablespaces").map_err(err)?;
    match created {
        Ok(()) => Ok(()),
        Err(_) if exists(client)? => Ok(()),
        Err(e) => Err(format!("cannot create the tablespace: {}", err(e))),
    }
}

/// Polls until the statement waits for a lock, then returns the relation locks it holds or
/// requests.
fn wait_until_blocked(c: &mut Client, pid: i32, finished: impl Fn() -> bool) -> Result<Vec<Lock>, String> {
    let start = Instant::now();
    loop {
        let row = c.query_one("SELECT count(*) FROM pg_locks WHERE pid = $1 AND NOT granted", &[&pid]).map_err(err)?;
        if row.get::<_, i64>(0) > 0 {
            return locks(c, pid);
        }
        if finished() {
            return Err("the statement finished without waiting for the blocker, so its locks were not seen".to_owned());
        }
        if start.elapsed() > Duration::from_secs(20) {
            return Err("the statement neither waited nor finished within 20 s".to_owned());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn relations(client: &mut Client, counter: &str) -> Result<Vec<Relation>, String> {
    let sql = format!(
        "SELECT c.oid, c.relname::text, c.relkind::text, c.relfilenode, {counter}(c.oid), n.nspname::text \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname IN {SCHEMAS} ORDER BY c.oid"
    );
    let rows = client.query(&sql, &[]).map_err(err)?;
    Ok(rows
        .iter()
        .map(|r| Relation {
            oid: r.get(0),
            name: r.get(1),
            kind: r.get(2),
            filenode: r.get(3),
            scans: r.get(4),
            schema: r.get(5),
        })
        .collect())
}

/// The case's schemas and the types in them, read before the statement: a schema or type it
/// drops has no name afterwards.
fn objects(client: &mut Client) -> Result<Vec<Object>, String> {
    let sql = format!(
        "SELECT 'schema', n.oid, n.nspname::text FROM pg_namespace n WHERE n.nspname IN {SCHEMAS} \
         UNION ALL \
         SELECT 'type', t.oid, t.typname::text FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
         WHERE n.nspname IN {SCHEMAS}"
    );
    let rows = client.query(&sql, &[]).map_err(err)?;
    Ok(rows
        .iter()
        .map(|r| {
            let class: String = r.get(0);
            let name: String = r.get(2);
            Object { key: format!("{class} {name}"), class, oid: r.get(1) }
        })
        .collect())
}

/// The relation locks and the schema and type locks of a backend, held or requested.
fn locks(client: &mut Client, pid: i32) -> Result<Vec<Lock>, String> {
    let rows = client
        .query(
            "SELECT CASE WHEN l.locktype = 'relation' THEN 'relation' \
                         WHEN l.classid = 'pg_namespace'::regclass THEN 'schema' ELSE 'type' END, \
                    coalesce(l.relation, l.objid), l.mode, l.granted \
             FROM pg_locks l WHERE l.pid = $1 \
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND (l.locktype = 'relation' OR (l.locktype = 'object' \
                  AND l.classid IN ('pg_namespace'::regclass, 'pg_type'::regclass)))",
            &[&pid],
        )
        .map_err(err)?;
    Ok(rows.iter().map(|r| Lock { class: r.get(0), oid: r.get(1), mode: r.get(2), granted: r.get(3) }).collect())
}

/// Keeps the stronger of two `pg_locks` modes in `entry`.
fn strongest(entry: &mut String, mode: LockMode) {
    if LockMode::from_pg_locks_name(entry).is_some_and(|m| m < mode) {
        *entry = mode.pg_locks_name().to_owned();
    }
}

/// Tables, partitioned tables and materialized views: the relations whose creation locks
/// are compared.
fn is_table_like(kind: &str) -> bool {
    matches!(kind, "r" | "p" | "m")
}

fn observation(before: &[Relation], objects: &[Object], after: &[Relation], held: &[Lock]) -> Observation {
    let mut out = Observation::default();
    for lock in held {
        let Some(mode) = LockMode::from_pg_locks_name(&lock.mode) else { continue };
        if lock.class == "relation" {
            // Relations the statement created are invisible to everyone else: kept apart.
            let Some(rel) = before.iter().find(|r| r.oid == lock.oid) else {
                if let Some(new) = after.iter().find(|r| r.oid == lock.oid && is_table_like(&r.kind)) {
                    let entry = out.created.entry(new.name.clone()).or_insert_with(|| mode.pg_locks_name().to_owned());
                    strongest(entry, mode);
                }
                continue;
            };
            let entry = out.locks.entry(rel.name.clone()).or_insert_with(|| mode.pg_locks_name().to_owned());
            strongest(entry, mode);
            if !lock.granted && !out.waiting.contains(&rel.name) {
                out.waiting.push(rel.name.clone());
            }
        } else if let Some(object) = objects.iter().find(|o| o.class == lock.class && o.oid == lock.oid) {
            let entry = out.objects.entry(object.key.clone()).or_insert_with(|| mode.pg_locks_name().to_owned());
            strongest(entry, mode);
        }
    }
    for new in after.iter().filter(|a| is_table_like(&a.kind) && !before.iter().any(|b| b.oid == a.oid)) {
        out.created.entry(new.name.clone()).or_insert_with(|| "-".to_owned());
    }
    out.existing_objects = objects.iter().map(|o| o.key.clone()).collect();
    for rel in before {
        out.existing.push(rel.name.clone());
        out.schemas.insert(rel.name.clone(), rel.schema.clone());
        if matches!(rel.kind.as_str(), "p" | "I") {
            out.partitioned.push(rel.name.clone());
        }
        if matches!(rel.kind.as_str(), "r" | "p" | "m" | "v" | "f") {
            out.tables.push(rel.name.clone());
        }
        // Storage is matched by name, so that an index rebuilt concurrently under a new oid
        // counts as rewritten; scans by oid, as the counters are kept.
        if let Some(now) = after.iter().find(|a| a.name == rel.name) {
            if now.filenode != rel.filenode && rel.filenode != 0 {
                out.rewrites.push(rel.name.clone());
            }
        }
        if let Some(now) = after.iter().find(|a| a.oid == rel.oid) {
            if now.scans > rel.scans {
                out.scans.push(rel.name.clone());
            }
        }
    }
    out
}
