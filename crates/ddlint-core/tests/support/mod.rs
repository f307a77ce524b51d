//! Helpers shared by the integration tests that read the repository's files.

#![allow(dead_code)]

use ddlint_core::{Diagnostic, FileReport, LineIndex};
use std::path::{Path, PathBuf};

/// The workspace root, two levels above this crate.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A path relative to the workspace root, with `/` separators, for messages.
pub fn relative(path: &Path) -> String {
    let root = repo_root();
    let relative = path.strip_prefix(&root).unwrap_or(path);
    relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// Each diagnostic with the 1-based line it starts on.
pub fn diagnostic_lines(report: &FileReport) -> Vec<(usize, &Diagnostic)> {
    // An unreadable file's report carries an empty `LineIndex::default()`, which cannot map
    // even offset 0, so positions are taken from an index built over the (empty) text.
    let index = LineIndex::new(&report.text);
    report.diagnostics.iter().map(|d| (index.position(&report.text, d.span.start).line, d)).collect()
}

/// One line per diagnostic: `line: rule (severity): message`.
pub fn describe(report: &FileReport) -> String {
    diagnostic_lines(report)
        .iter()
        .map(|(line, d)| format!("    {line}: {} ({}): {}\n", d.rule, d.severity, d.message))
        .collect()
}

/// Says that a test cannot run here, and why. Under CI (`CI` or `DDLINT_REQUIRE_TOOLS` set)
/// it fails instead, so that a check that guards an upgrade never passes by skipping.
pub fn skip(reason: &str) {
    let required = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
        || std::env::var_os("DDLINT_REQUIRE_TOOLS").is_some();
    assert!(!required, "cannot run under CI: {reason}");
    // Straight to the stream: the test harness captures `eprintln!`, which would hide the skip.
    let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("skipped: {reason}\n").as_bytes());
}
