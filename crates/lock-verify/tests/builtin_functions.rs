//! The checked-in table of built-in function volatility
//! (`ddlint_core::lock_model::builtin_functions`) says what each server's `pg_proc` says.
//! The table is written by `cargo xtask builtin-functions`, which aggregates the overloads in
//! SQL; this test reads every overload and aggregates them here, so the two check each other.
//!
//! Without `DDLINT_PG_CLUSTERS`, or without a server for one of the table's versions, the
//! check skips and says so, except under CI (`CI` or `DDLINT_REQUIRE_TOOLS` set), where it
//! fails. No libtest harness (`harness = false`), so that the skip shows in `cargo test` output.

use ddlint_core::lock_model::builtin_functions::{FUNCTIONS, VERSIONS};
use lock_verify::{parse_clusters, Cluster};
use postgres::{Client, NoTls};
use std::collections::BTreeMap;

fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
        || std::env::var_os("DDLINT_REQUIRE_TOOLS").is_some()
}

fn main() {
    let Ok(spec) = std::env::var("DDLINT_PG_CLUSTERS") else {
        assert!(!required(), "builtin-functions: no clusters under CI (scripts/test.sh starts them)");
        println!("builtin-functions: skipped: no clusters (set DDLINT_PG_CLUSTERS, or run verify/run.sh)");
        return;
    };
    let clusters = parse_clusters(&spec).unwrap_or_else(|e| panic!("DDLINT_PG_CLUSTERS: {e}"));
    let mut problems = Vec::new();
    let mut errors = Vec::new();
    let mut skipped = Vec::new();
    for (column, &version) in VERSIONS.iter().enumerate() {
        let Some(cluster) = clusters.iter().find(|c| c.version == version) else {
            skipped.push(version);
            continue;
        };
        let server = match server_functions(cluster) {
            Ok(server) => server,
            Err(e) => {
                errors.push(format!("PostgreSQL {version}: {e}"));
                continue;
            }
        };
        let table: BTreeMap<&str, u8> =
            FUNCTIONS.iter().filter(|(_, c)| c[column] != b'-').map(|(name, c)| (*name, c[column])).collect();
        for (name, &volatility) in &server {
            match table.get(name.as_str()) {
                Some(&listed) if listed == volatility => {}
                Some(&listed) => problems.push(format!(
                    "PostgreSQL {version}: `{name}` is `{}` in the table, `{}` on the server",
                    char::from(listed),
                    char::from(volatility)
                )),
                None => problems.push(format!("PostgreSQL {version}: `{name}` is missing from the table")),
            }
        }
        for name in table.keys().filter(|name| !server.contains_key(**name)) {
            problems.push(format!("PostgreSQL {version}: `{name}` is in the table but not on the server"));
        }
        println!("builtin-functions: PostgreSQL {version}: {} functions compared", server.len());
    }
    if !skipped.is_empty() {
        let list = skipped.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
        assert!(!required(), "builtin-functions: no cluster for PostgreSQL {list} under CI");
        println!("builtin-functions: skipped PostgreSQL {list}: not in DDLINT_PG_CLUSTERS");
    }
    if !errors.is_empty() {
        println!("builtin-functions: failed:\n{}", errors.join("\n"));
    }
    if !problems.is_empty() {
        println!(
            "the built-in function table differs from the servers (run `cargo xtask builtin-functions`):\n{}",
            problems.join("\n")
        );
    }
    if !errors.is_empty() || !problems.is_empty() {
        std::process::exit(1);
    }
}

/// Each plain function in the server's `pg_catalog` by name, its overloads summed up as the
/// table does: `v` all volatile, `?` some volatile and some not, `s` some stable, `i` all
/// immutable.
fn server_functions(cluster: &Cluster) -> Result<BTreeMap<String, u8>, String> {
    let conninfo = format!("{} application_name=lock-verify-builtin-functions", cluster.conninfo);
    let mut client = Client::connect(&conninfo, NoTls).map_err(|e| format!("cannot connect: {e}"))?;
    let major: i32 = client
        .query_one("SELECT current_setting('server_version_num')::int / 10000", &[])
        .map_err(|e| e.to_string())?
        .get(0);
    if u32::try_from(major).ok() != Some(cluster.version) {
        return Err(format!("the server runs PostgreSQL {major}"));
    }
    let rows = client
        .query(
            "SELECT proname::text, provolatile::text FROM pg_catalog.pg_proc \
             WHERE pronamespace = 'pg_catalog'::regnamespace AND prokind = 'f'",
            &[],
        )
        .map_err(|e| e.to_string())?;
    let mut overloads: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for row in rows {
        let name: String = row.get(0);
        let volatility: String = row.get(1);
        overloads.entry(name).or_default().extend(volatility.bytes());
    }
    Ok(overloads
        .into_iter()
        .map(|(name, all)| {
            let summary = if all.iter().all(|&v| v == b'v') {
                b'v'
            } else if all.contains(&b'v') {
                b'?'
            } else if all.contains(&b's') {
                b's'
            } else {
                b'i'
            };
            (name, summary)
        })
        .collect())
}
