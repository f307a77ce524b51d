//! The fixture harness: lints every file under `fixtures/` and compares the findings with
//! the markers written in the files.
//!
//! The convention:
//!
//! - `fixtures/<rule-id>/` holds at least one `bad*.sql` and one `good*.sql`.
//! - In a `bad*.sql`, every line where a diagnostic starts carries a trailing
//!   `-- expect: <rule-id>` (several ids separated by commas). For the folder's rule and for
//!   every rule named by a marker in the file, the `(line, rule)` pairs raised must be exactly
//!   the marked ones. Other rules, such as `missing-lock-timeout` in most bad files, may fire
//!   without a marker.
//! - A `good*.sql` has no markers and raises nothing at warning level or above, and nothing
//!   at all from the folder's rule.
//! - The folder's rule is enabled, so that opt-in rules run in their own folder; every other
//!   rule keeps its default.
//! - The leading comment lines may hold `-- ddlint-test:` directives, separated by spaces, to
//!   change the settings from the defaults: `assume-in-transaction`, `pg-version=<major>`,
//!   `framework=<name>` (read the file as that framework's migration, as `--framework` does),
//!   `enable=<id>[,<id>…]` and `disable=<id>[,<id>…]` (as the CLI's snapshot test reads them).
//! - `fixtures/examples/` holds sample migrations for the README; they are only linted,
//!   to prove that nothing panics.

mod support;

use ddlint_core::framework::Framework;
use ddlint_core::{lint_file, registry, LineIndex, Settings, Severity};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use support::{describe, diagnostic_lines, relative, repo_root};

const MARKER: &str = "-- expect:";
const DIRECTIVE: &str = "-- ddlint-test:";
const EXAMPLES: &str = "examples";

#[test]
fn fixtures_raise_exactly_their_markers() {
    let root = repo_root().join("fixtures");
    let mut problems = Vec::new();
    let mut checked = 0;
    for folder in sorted_entries(&root) {
        let Some(name) = file_name(&folder) else {
            continue;
        };
        if !folder.is_dir() {
            problems.push(format!("{}: expected only folders in fixtures/", relative(&folder)));
            continue;
        }
        if name == EXAMPLES {
            continue;
        }
        let Some(rule) = registry::find(&name).filter(|r| r.id == name) else {
            problems.push(format!("{}/: the folder name is not a rule id", relative(&folder)));
            continue;
        };
        let (mut bad, mut good) = (0, 0);
        for path in sorted_entries(&folder) {
            let file = file_name(&path).unwrap_or_default();
            let is_sql = file.ends_with(".sql");
            if is_sql && file.starts_with("bad") {
                bad += 1;
                check_bad(rule.id, &path, &mut problems);
            } else if is_sql && file.starts_with("good") {
                good += 1;
                check_good(rule.id, &path, &mut problems);
            } else {
                problems.push(format!("{}: fixtures are named `bad*.sql` or `good*.sql`", relative(&path)));
            }
            checked += 1;
        }
        if bad == 0 || good == 0 {
            problems.push(format!("{}/: needs at least one `bad*.sql` and one `good*.sql`", relative(&folder)));
        }
    }
    assert!(checked > 0, "no fixtures found under {}", root.display());
    assert!(
        problems.is_empty(),
        "{} fixture problem(s); see the convention at the top of crates/ddlint-core/tests/fixtures.rs\n\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn examples_lint_without_panicking() {
    let dir = repo_root().join("fixtures").join(EXAMPLES);
    let files: Vec<PathBuf> =
        sorted_entries(&dir).into_iter().filter(|p| p.extension().is_some_and(|e| e == "sql")).collect();
    assert!(files.len() >= 6, "expected at least six example migrations in {}", dir.display());
    let mut findings = 0;
    for path in &files {
        let bytes = read(path);
        let report = lint_file(&relative(path), &bytes, &Settings::default());
        findings += diagnostic_lines(&report).len();
    }
    assert!(findings > 0, "the example migrations should show some findings");
}

/// Checks a `bad*.sql` against its markers.
fn check_bad(folder_rule: &str, path: &Path, problems: &mut Vec<String>) {
    let bytes = read(path);
    let text = String::from_utf8_lossy(&bytes);
    let Some(settings) = settings_for(folder_rule, &text, path, problems) else {
        return;
    };
    let Some(expected) = markers(&text, path, problems) else {
        return;
    };
    if !expected.iter().any(|(_, rule)| rule == folder_rule) {
        problems.push(format!("{}: a bad fixture needs at least one `{MARKER} {folder_rule}`", relative(path)));
    }
    let checked: BTreeSet<&str> = expected.iter().map(|(_, rule)| rule.as_str()).chain([folder_rule]).collect();

    let report = lint_file(&relative(path), &bytes, &settings);
    let actual: BTreeSet<(usize, String)> = diagnostic_lines(&report)
        .into_iter()
        .filter(|(_, d)| checked.contains(d.rule))
        .map(|(line, d)| (line, d.rule.to_owned()))
        .collect();
    let mut mismatches = Vec::new();
    for (line, rule) in expected.difference(&actual) {
        mismatches.push(format!("{}:{line}: expected `{rule}`, which was not raised there", relative(path)));
    }
    for (line, rule) in actual.difference(&expected) {
        mismatches.push(format!("{}:{line}: `{rule}` was raised without a `{MARKER} {rule}` marker", relative(path)));
    }
    if !mismatches.is_empty() {
        problems.push(format!("{}\n  all diagnostics:\n{}", mismatches.join("\n"), describe(&report)));
    }
}

/// Checks that a `good*.sql` is clean.
fn check_good(folder_rule: &str, path: &Path, problems: &mut Vec<String>) {
    let bytes = read(path);
    let text = String::from_utf8_lossy(&bytes);
    let Some(settings) = settings_for(folder_rule, &text, path, problems) else {
        return;
    };
    if text.contains(MARKER) {
        problems.push(format!("{}: a good fixture has no `{MARKER}` markers", relative(path)));
    }
    let report = lint_file(&relative(path), &bytes, &settings);
    let raised: Vec<String> = diagnostic_lines(&report)
        .into_iter()
        .filter(|(_, d)| d.severity >= Severity::Warning || d.rule == folder_rule)
        .map(|(line, d)| format!("{}:{line}: `{}` ({}): {}", relative(path), d.rule, d.severity, d.message))
        .collect();
    if !raised.is_empty() {
        problems.push(format!("{}\n  (a good fixture raises nothing at warning level or above)", raised.join("\n")));
    }
}

/// The settings the file's leading `-- ddlint-test:` directives ask for, with the folder's
/// rule enabled.
fn settings_for(folder_rule: &str, text: &str, path: &Path, problems: &mut Vec<String>) -> Option<Settings> {
    let mut settings = Settings { enabled: vec![folder_rule.to_owned()], ..Settings::default() };
    let mut ok = true;
    let leading = text.lines().map(str::trim).take_while(|l| l.is_empty() || l.starts_with("--"));
    for line in leading {
        let Some(directives) = line.strip_prefix(DIRECTIVE) else {
            continue;
        };
        for directive in directives.split_whitespace() {
            let ids = |list: &str| list.split(',').filter(|id| !id.is_empty()).map(str::to_owned).collect::<Vec<_>>();
            match directive.split_once('=') {
                None if directive == "assume-in-transaction" => settings.assume_in_transaction = true,
                Some(("pg-version", version)) if version.parse::<u32>().is_ok() => {
                    settings.pg_version = version.parse().unwrap_or(settings.pg_version);
                }
                Some(("framework", name)) if Framework::from_name(name).is_some() => {
                    settings.framework = Framework::from_name(name);
                }
                Some(("enable", list)) => settings.enabled.extend(ids(list)),
                Some(("disable", list)) => settings.disabled.extend(ids(list)),
                _ => {
                    problems.push(format!(
                        "{}: unknown directive `{directive}` (expected `assume-in-transaction`, `pg-version=<major>`, \
                         `framework=<name>`, `enable=<ids>` or `disable=<ids>`)",
                        relative(path)
                    ));
                    ok = false;
                }
            }
        }
    }
    if let Err(err) = settings.validate() {
        problems.push(format!("{}: {err}", relative(path)));
        ok = false;
    }
    ok.then_some(settings)
}

/// The `(line, rule)` pairs the file's `-- expect:` markers name.
fn markers(text: &str, path: &Path, problems: &mut Vec<String>) -> Option<BTreeSet<(usize, String)>> {
    let index = LineIndex::new(text);
    let mut expected = BTreeSet::new();
    let mut ok = true;
    for line in 0..index.line_count() {
        let span = index.line_span(text, line);
        for marker in text[span.start..span.end].split(MARKER).skip(1) {
            let ids = marker.split("--").next().unwrap_or("");
            for id in ids.split([',', ' ']).filter(|id| !id.is_empty()) {
                if registry::find(id).is_none_or(|r| r.id != id) {
                    problems.push(format!("{}:{}: `{MARKER} {id}` names no rule", relative(path), line + 1));
                    ok = false;
                }
                expected.insert((line + 1, id.to_owned()));
            }
        }
    }
    ok.then_some(expected)
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    paths
}

fn file_name(path: &Path) -> Option<String> {
    path.file_name().map(|n| n.to_string_lossy().into_owned())
}
