//! The lock model against real servers. Without `DDLINT_PG_CLUSTERS` the run is skipped,
//! and says so, except under CI (`CI` or `DDLINT_REQUIRE_TOOLS` set), where it fails;
//! `verify/run.sh` installs and starts the servers and sets it.
//!
//! This test has no libtest harness (`harness = false`), so that what it prints, the skip
//! above all, shows in `cargo test` output instead of being captured.

use lock_verify::{parse_clusters, render_mismatches, run_cluster, Catalogue};

fn catalogue() -> Catalogue {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../verify/cases.toml");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    Catalogue::parse(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn main() {
    let Ok(spec) = std::env::var("DDLINT_PG_CLUSTERS") else {
        let required = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
            || std::env::var_os("DDLINT_REQUIRE_TOOLS").is_some();
        assert!(!required, "lock-verify: no clusters under CI (scripts/test.sh starts them)");
        println!("lock-verify: skipped: no clusters (set DDLINT_PG_CLUSTERS, or run verify/run.sh)");
        return;
    };
    let clusters = parse_clusters(&spec).unwrap_or_else(|e| panic!("DDLINT_PG_CLUSTERS: {e}"));
    assert!(!clusters.is_empty(), "DDLINT_PG_CLUSTERS names no cluster");
    let catalogue = catalogue();
    let filter = std::env::var("DDLINT_VERIFY_FILTER").ok();
    let reports: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = clusters
            .iter()
            .map(|cluster| scope.spawn(|| run_cluster(&catalogue, cluster, filter.as_deref())))
            .collect();
        handles.into_iter().map(|h| h.join().expect("a cluster's thread panicked")).collect()
    });

    let mut mismatches = Vec::new();
    let (mut passed, mut failed) = (0, 0);
    for report in &reports {
        let ok = report.ran - report.failed_cases;
        println!(
            "lock-verify: PostgreSQL {}: {} cases, {ok} passed, {} failed, {} not applicable",
            report.version, report.ran, report.failed_cases, report.skipped
        );
        passed += ok;
        failed += report.failed_cases;
        mismatches.extend(report.mismatches.iter().cloned());
    }
    if std::env::var_os("DDLINT_VERIFY_VERBOSE").is_some() {
        for report in &reports {
            for line in &report.resolved_mays {
                println!("lock-verify: {line}");
            }
        }
    }
    println!("lock-verify: {passed} passed, {failed} failed");
    if !mismatches.is_empty() {
        println!("the lock model disagrees with the server:\n{}", render_mismatches(&mismatches));
        std::process::exit(1);
    }
}
