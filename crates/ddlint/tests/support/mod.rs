//! Helpers shared by the CLI's integration tests.

// Each test crate uses part of these.
#![allow(dead_code)]

pub mod project;

/// Says that a test cannot run here, and why. Under CI (`CI` or `DDLINT_REQUIRE_TOOLS` set)
/// it fails instead, so that a missing tool, server or corpus never reads as a pass.
pub fn skip(reason: &str) {
    let required = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
        || std::env::var_os("DDLINT_REQUIRE_TOOLS").is_some();
    assert!(!required, "cannot run under CI: {reason}");
    // Straight to the stream: the test harness captures `eprintln!`, which would hide the skip.
    let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("skipped: {reason}\n").as_bytes());
}
