//! `cargo xtask builtin-functions`: writes the volatility of PostgreSQL's built-in functions,
//! as each server in `DDLINT_PG_CLUSTERS` reports it in `pg_proc`, to
//! `crates/ddlint-core/src/lock_model/builtin_functions.rs`; with `--check`, fails when that
//! file's table differs from what the servers report.
//!
//! The servers are queried with `psql` (or the client named by `PSQL`), which works against
//! any server version, so that xtask needs no PostgreSQL driver.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;

/// Where the table goes, from the workspace root.
pub const OUTPUT: &str = "crates/ddlint-core/src/lock_model/builtin_functions.rs";

/// The release, as `version()` words it: `PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on …`.
const VERSION_QUERY: &str = "SELECT split_part(version(), ' ', 2)";

/// Each plain function's name in `pg_catalog` with the volatility of its overloads. A call is
/// judged by its name alone, so a name is stable when any overload is, and `?` when some
/// overloads are volatile and others not: on PostgreSQL 14, `timezone(text, timetz)` is
/// volatile while `now() AT TIME ZONE 'UTC'` calls the immutable `timezone(text, timestamptz)`.
const FUNCTIONS_QUERY: &str = "\
SELECT proname,
       CASE WHEN bool_and(provolatile = 'v') THEN 'v'
            WHEN bool_or(provolatile = 'v') THEN '?'
            WHEN bool_or(provolatile = 's') THEN 's'
            ELSE 'i' END
FROM pg_catalog.pg_proc
WHERE pronamespace = 'pg_catalog'::regnamespace AND prokind = 'f'
GROUP BY proname";

/// What one server reported.
struct Server {
    major: u32,
    /// `major.minor` as the server reports it, e.g. `17.11`.
    release: String,
    /// Function name to `i`, `s`, `v` or `?`.
    functions: BTreeMap<String, u8>,
}

pub fn run(root: &Path, check: bool) -> Result<(), String> {
    let spec = std::env::var("DDLINT_PG_CLUSTERS")
        .map_err(|_| "DDLINT_PG_CLUSTERS is not set (verify/start-clusters.sh prints it)".to_owned())?;
    let mut servers = parse_clusters(&spec)?
        .into_iter()
        .map(|(major, conninfo)| query(major, &conninfo))
        .collect::<Result<Vec<_>, _>>()?;
    servers.sort_by_key(|s| s.major);
    if let Some(pair) = servers.windows(2).find(|w| w[0].major == w[1].major) {
        return Err(format!("DDLINT_PG_CLUSTERS names PostgreSQL {} twice", pair[0].major));
    }
    let generated = render(&servers);
    let path = root.join(OUTPUT);
    let current = fs::read_to_string(&path).unwrap_or_default();
    if !check {
        if current == generated {
            println!("{OUTPUT} is up to date");
        } else {
            fs::write(&path, &generated).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            println!("updated {OUTPUT}");
        }
        return Ok(());
    }
    let (old_header, old_body) = split_header(&current);
    let (new_header, new_body) = split_header(&generated);
    if old_body == new_body {
        // pg_proc does not change within a major release: a new minor release only changes the header.
        if old_header != new_header {
            println!("{OUTPUT}: the table matches; its header names other minor releases than these servers");
        }
        println!("{OUTPUT} matches the servers");
        return Ok(());
    }
    let old: BTreeSet<&str> = old_body.lines().collect();
    let new: BTreeSet<&str> = new_body.lines().collect();
    let mut diff = String::new();
    for line in old.difference(&new) {
        let _ = writeln!(diff, "- {}", line.trim());
    }
    for line in new.difference(&old) {
        let _ = writeln!(diff, "+ {}", line.trim());
    }
    Err(format!("{OUTPUT} differs from the servers (run `cargo xtask builtin-functions`):\n{}", diff.trim_end()))
}

/// `DDLINT_PG_CLUSTERS`: `14=host=/tmp/x port=54314,15=…`.
fn parse_clusters(spec: &str) -> Result<Vec<(u32, String)>, String> {
    let clusters = spec
        .split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            let (version, conninfo) =
                part.split_once('=').ok_or_else(|| format!("cluster `{part}` is not VERSION=CONNINFO"))?;
            let version = version.trim().parse().map_err(|_| format!("cluster `{part}` has no numeric version"))?;
            Ok((version, conninfo.trim().to_owned()))
        })
        .collect::<Result<Vec<_>, String>>()?;
    if clusters.is_empty() {
        return Err("DDLINT_PG_CLUSTERS names no cluster".to_owned());
    }
    Ok(clusters)
}

fn query(major: u32, conninfo: &str) -> Result<Server, String> {
    let release = psql(conninfo, VERSION_QUERY)?.trim().to_owned();
    let reported: u32 = release
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|m| m.parse().ok())
        .ok_or_else(|| format!("PostgreSQL {major}: cannot read the version `{release}`"))?;
    if reported != major {
        return Err(format!("the cluster listed as PostgreSQL {major} runs PostgreSQL {release}"));
    }
    let mut functions = BTreeMap::new();
    for line in psql(conninfo, FUNCTIONS_QUERY)?.lines().filter(|l| !l.is_empty()) {
        let parsed = line.split_once('\t').and_then(|(name, v)| match v {
            "i" | "s" | "v" | "?" => Some((name.to_owned(), v.as_bytes()[0])),
            _ => None,
        });
        let (name, volatility) = parsed.ok_or_else(|| format!("PostgreSQL {major}: unexpected row `{line}`"))?;
        functions.insert(name, volatility);
    }
    Ok(Server { major, release, functions })
}

/// Runs `sql` and returns its rows, unaligned, tab-separated, without headers.
fn psql(conninfo: &str, sql: &str) -> Result<String, String> {
    let client = std::env::var("PSQL").unwrap_or_else(|_| "psql".to_owned());
    let output = Command::new(&client)
        .args(["-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c", sql])
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .map_err(|e| format!("cannot run `{client}` (set PSQL to a psql binary): {e}"))?;
    if !output.status.success() {
        return Err(format!("`{client}` on `{conninfo}`: {}", String::from_utf8_lossy(&output.stderr).trim()));
    }
    String::from_utf8(output.stdout).map_err(|_| format!("`{client}` on `{conninfo}`: output is not UTF-8"))
}

/// The generated file: a header naming the releases, then the table.
fn render(servers: &[Server]) -> String {
    let releases: Vec<&str> = servers.iter().map(|s| s.release.as_str()).collect();
    let releases = match releases.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    };
    let names: BTreeSet<&str> = servers.iter().flat_map(|s| s.functions.keys().map(String::as_str)).collect();
    let n = servers.len();
    let majors: Vec<String> = servers.iter().map(|s| s.major.to_string()).collect();

    let mut out = String::new();
    out.push_str("//! The volatility of PostgreSQL's built-in functions, by name, on each supported major version.\n");
    out.push_str("//!\n");
    out.push_str("//! Generated by `cargo xtask builtin-functions` from the `pg_proc` of\n");
    let _ = writeln!(out, "//! PostgreSQL {releases}: do not edit.");
    out.push_str("//! `cargo xtask builtin-functions --check` compares it with running servers.\n");
    out.push('\n');
    out.push_str("/// The major versions that the columns of [`FUNCTIONS`] stand for, in order.\n");
    let _ = writeln!(out, "pub const VERSIONS: [u32; {n}] = [{}];", majors.join(", "));
    out.push('\n');
    out.push_str(
        "/// Every plain function in `pg_catalog` (`prokind = 'f'`) by name, sorted for binary search, with\n",
    );
    out.push_str("/// one byte per version of [`VERSIONS`] for the name's overloads: `i` all immutable, `s` some\n");
    out.push_str("/// stable and none volatile, `v` all volatile, `?` some volatile and some not, `-` none there.\n");
    let _ = writeln!(out, "pub static FUNCTIONS: &[(&str, &[u8; {n}])] = &[");
    for name in names {
        let column: String = servers.iter().map(|s| s.functions.get(name).map_or('-', |&v| char::from(v))).collect();
        let _ = writeln!(out, "    ({name:?}, b\"{column}\"),");
    }
    out.push_str("];\n");
    out
}

/// The leading `//!` lines, and the rest.
fn split_header(text: &str) -> (&str, &str) {
    let mut end = 0;
    for line in text.split_inclusive('\n') {
        if !line.starts_with("//!") {
            break;
        }
        end += line.len();
    }
    text.split_at(end)
}
