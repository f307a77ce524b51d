//! The throwaway PostgreSQL servers of `DDLINT_PG_CLUSTERS` (started by
//! `verify/start-clusters.sh`), for the tests that prove generated SQL on real servers.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Cluster {
    pub major: u32,
    pub conninfo: String,
}

/// The servers to prove on; `None` (after saying why, or failing under CI) when none is set.
pub fn clusters() -> Option<Vec<Cluster>> {
    let Some(spec) = std::env::var("DDLINT_PG_CLUSTERS").ok().filter(|s| !s.trim().is_empty()) else {
        super::skip("DDLINT_PG_CLUSTERS is not set (run verify/start-clusters.sh)");
        return None;
    };
    let clusters = parse(&spec);
    assert!(!clusters.is_empty(), "DDLINT_PG_CLUSTERS names no cluster: {spec}");
    Some(clusters)
}

/// `DDLINT_PG_CLUSTERS`: `14=host=/tmp/x port=54314 …,15=…`.
fn parse(spec: &str) -> Vec<Cluster> {
    spec.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            let (major, conninfo) =
                part.split_once('=').unwrap_or_else(|| panic!("cluster `{part}` is not MAJOR=CONNINFO"));
            let major = major.trim().parse().unwrap_or_else(|_| panic!("cluster `{part}` has no numeric major"));
            Cluster { major, conninfo: conninfo.trim().to_owned() }
        })
        .collect()
}

/// The bin directory of PostgreSQL `major`, as `verify/pg-bin.sh` says.
pub fn pg_bin(major: u32) -> Result<PathBuf, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let output = Command::new("bash")
        .arg("verify/pg-bin.sh")
        .arg(major.to_string())
        .current_dir(&root)
        .output()
        .map_err(|e| format!("cannot run verify/pg-bin.sh: {e}"))?;
    let bin = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    if !output.status.success() || !bin.join("pg_dump").is_file() {
        return Err(format!(
            "no pg_dump for PostgreSQL {major} in `{}` (run verify/install-postgres.sh)",
            bin.display()
        ));
    }
    Ok(bin)
}

/// A server error with its SQLSTATE, detail and hint.
pub fn describe(e: &postgres::Error) -> String {
    let Some(db) = e.as_db_error() else { return e.to_string() };
    let mut text = format!("{} {}: {}", db.severity(), db.code().code(), db.message());
    if let Some(detail) = db.detail() {
        let _ = write!(text, " (detail: {detail})");
    }
    if let Some(hint) = db.hint() {
        let _ = write!(text, " (hint: {hint})");
    }
    text
}
