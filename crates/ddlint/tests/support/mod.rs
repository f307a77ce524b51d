//! Helpers shared by the CLI's integration tests.

// Each test crate uses part of these.
#![allow(dead_code)]

pub mod project;
pub mod servers;

/// Says that a test cannot run here, and why. Under CI (`CI` or `DDLINT_REQUIRE_TOOLS` set)
/// it fails instead, so that a missing tool, server or corpus never reads as a pass.
pub fn skip(reason: &str) {
    let required = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
        || std::env::var_os("DDLINT_REQUIRE_TOOLS").is_some();
    assert!(!required, "cannot run under CI: {reason}");
    // Straight to the stream: the test harness captures `eprintln!`, which would hide the skip.
    let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("skipped: {reason}\n").as_bytes());
}

/// The `ddlint check` flags a fixture asks for in its leading comment lines.
pub fn directive_flags(fixture: &str, text: &str) -> Vec<String> {
    let mut flags = Vec::new();
    for line in text.lines().map(str::trim) {
        let Some(directives) = line.strip_prefix("-- ddlint-test:") else {
            if line.is_empty() || line.starts_with("--") {
                continue;
            }
            break;
        };
        for directive in directives.split([' ', '\t']).filter(|d| !d.is_empty()) {
            match directive.split_once('=') {
                None if directive == "assume-in-transaction" => flags.push("--assume-in-transaction".to_owned()),
                Some(("pg-version", major)) => flags.extend(["--pg-version".to_owned(), major.to_owned()]),
                Some(("framework", name)) => flags.extend(["--framework".to_owned(), name.to_owned()]),
                Some(("enable", ids)) => flags.extend(["--enable".to_owned(), ids.to_owned()]),
                Some(("disable", ids)) => flags.extend(["--disable".to_owned(), ids.to_owned()]),
                _ => panic!("{fixture}: unknown `ddlint-test` directive `{directive}`"),
            }
        }
    }
    flags
}
