//! Keeps the files around the registry in step with it: generated rule pages and README
//! table, one registered rule per rule file, a fixture folder per rule, and rule docs that
//! have the fixed sections and whose examples behave as they say.

mod support;

use ddlint_core::framework::Framework;
use ddlint_core::{docs, lint_file, registry, Settings, Severity};
use std::fs;
use std::path::Path;
use support::{describe, relative, repo_root};

const REGENERATE: &str = "run `cargo xtask codegen` to regenerate";

#[test]
fn rule_pages_are_up_to_date() {
    let dir = repo_root().join("rules");
    let mut problems = Vec::new();
    for rule in registry::all() {
        let path = dir.join(format!("{}.md", rule.id));
        match fs::read_to_string(&path) {
            Ok(page) if page == docs::rule_page(rule) => {}
            Ok(_) => problems.push(format!("{} is stale", relative(&path))),
            Err(_) => problems.push(format!("{} is missing", relative(&path))),
        }
    }
    for path in entries(&dir) {
        let Some(id) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".md")) else {
            continue;
        };
        if !registry::all().iter().any(|r| r.id == id) {
            problems.push(format!("{} belongs to no registered rule", relative(&path)));
        }
    }
    assert!(problems.is_empty(), "{}\n\n{REGENERATE}", problems.join("\n"));
}

/// A rule with a fix says what it writes and how safe it is; a rule without one says nothing
/// of fixes.
#[test]
fn rules_with_fixes_document_them() {
    let mut problems = Vec::new();
    for rule in registry::all() {
        let sections =
            ["## Fix\n", "## Fix safety\n"].map(|s| rule.docs.lines().any(|l| format!("{}\n", l.trim()) == s));
        match (rule.fix, sections) {
            (Some(_), [true, true]) | (None, [false, false]) => {}
            (Some(_), _) => problems.push(format!("{} has a fix but no `## Fix` and `## Fix safety`", rule.id)),
            (None, _) => problems.push(format!("{} documents a fix it does not declare (`fix = …`)", rule.id)),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn readme_rules_table_is_up_to_date() {
    let path = repo_root().join("README.md");
    let Ok(readme) = fs::read_to_string(&path) else {
        return;
    };
    let Some(expected) = docs::replace_between_markers(&readme, &docs::rules_table()) else {
        return;
    };
    assert!(
        readme == expected,
        "the rules table between `{}` and `{}` in README.md is stale\n\n{REGENERATE}",
        docs::TABLE_START,
        docs::TABLE_END
    );
}

/// A rule reads what it shares with others from `rules/shared.rs` (or the lock model and
/// the context), never from another rule's file, so that each rule can change alone.
#[test]
fn no_rule_imports_another_rule() {
    let dir = repo_root().join("crates/ddlint-core/src/rules");
    let rule_modules: Vec<String> = registry::all().iter().map(|r| r.id.replace('-', "_")).collect();
    let mut problems = Vec::new();
    for path in entries(&dir) {
        let Some(stem) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".rs")) else {
            continue;
        };
        let text = fs::read_to_string(&path).unwrap_or_default();
        for module in rule_modules.iter().filter(|m| *m != stem) {
            if text.contains(&format!("rules::{module}::")) {
                problems
                    .push(format!("{} uses rule `{module}`: move what they share to rules/shared.rs", relative(&path)));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A rule describes what it found as a typed violation (`violation::Violation`), from which the
/// message, help and objects are derived; it never writes a finding's text at the call site.
#[test]
fn rules_report_typed_violations() {
    let dir = repo_root().join("crates/ddlint-core/src/rules");
    let mut problems = Vec::new();
    for path in entries(&dir) {
        let text = fs::read_to_string(&path).unwrap_or_default();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for written in ["Diagnostic::new(", ".with_help(", ".message = ", ".help = "] {
            if code.contains(written) {
                problems
                    .push(format!("{} writes a finding's text (`{written}`): give it a `Violation`", relative(&path)));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_rule_file_is_registered_under_its_name() {
    let dir = repo_root().join("crates/ddlint-core/src/rules");
    let mut problems = Vec::new();
    for path in entries(&dir) {
        let Some(stem) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".rs")) else {
            continue;
        };
        if matches!(stem, "mod" | "engine" | "shared") {
            continue;
        }
        let id = stem.replace('_', "-");
        if !registry::all().iter().any(|r| r.id == id) {
            problems.push(format!("{} declares no rule registered as `{id}` in registry.rs", relative(&path)));
        }
    }
    for rule in registry::all().into_iter().filter(|r| r.check.is_some()) {
        let path = dir.join(format!("{}.rs", rule.id.replace('-', "_")));
        if !path.is_file() {
            problems.push(format!("`{}` has a check but no file {}", rule.id, relative(&path)));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_rule_has_a_fixture_folder() {
    let dir = repo_root().join("fixtures");
    let missing: Vec<String> = registry::all()
        .into_iter()
        .map(|r| dir.join(r.id))
        .filter(|folder| !folder.is_dir())
        .map(|folder| format!("{}/ is missing", relative(&folder)))
        .collect();
    assert!(
        missing.is_empty(),
        "{}\n\nadd `bad*.sql` and `good*.sql` there (see crates/ddlint-core/tests/fixtures.rs)",
        missing.join("\n")
    );
}

#[test]
fn rule_docs_have_the_fixed_sections() {
    let mut problems = Vec::new();
    for rule in registry::all() {
        let lines: Vec<&str> = rule.docs.lines().map(str::trim).collect();
        let at = |headings: &[&str]| lines.iter().position(|l| headings.contains(l));
        let sections = [
            at(&["## What it does"]).ok_or("`## What it does`"),
            at(&["## Why is this bad?", "## Why restrict this?"])
                .ok_or("`## Why is this bad?` or `## Why restrict this?`"),
            at(&["## Example"]).ok_or("`## Example`"),
            at(&["Use instead:"]).ok_or("`Use instead:`"),
        ];
        for missing in sections.iter().filter_map(|s| s.err()) {
            problems.push(format!("`{}`: the docs lack {missing}", rule.id));
        }
        let found: Vec<usize> = sections.iter().filter_map(|s| s.ok()).collect();
        if found.windows(2).any(|w| w[0] > w[1]) {
            problems.push(format!("`{}`: the sections are out of order", rule.id));
        }
        for heading in ["## Example", "Use instead:"] {
            if rule.doc_example(heading).is_none() {
                problems.push(format!("`{}`: `{heading}` is not followed by a ```sql block", rule.id));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The examples are tests (biome): for every rule with a check, the `## Example` block
/// raises the rule and the `Use instead:` block raises nothing at warning level or above.
///
/// Examples are linted with the default settings and the rule under test enabled, so that
/// opt-in rules are checked too. A block whose first line is a comment naming
/// `--assume-in-transaction` is linted as if the runner wrapped it in a transaction.
#[test]
fn rule_doc_examples_behave_as_documented() {
    let mut problems = Vec::new();
    for rule in registry::all().into_iter().filter(|r| r.check.is_some()) {
        if let Some(sql) = rule.doc_example("## Example") {
            let report = lint_file("example.sql", sql.as_bytes(), &example_settings(rule.id, sql));
            if !report.diagnostics.iter().any(|d| d.rule == rule.id) {
                problems.push(format!(
                    "`{}`: its `## Example` does not raise it; it raises:\n{}",
                    rule.id,
                    describe(&report)
                ));
            }
        }
        if let Some(sql) = rule.doc_example("Use instead:") {
            let report = lint_file("use-instead.sql", sql.as_bytes(), &example_settings(rule.id, sql));
            if report.diagnostics.iter().any(|d| d.severity >= Severity::Warning) {
                problems.push(format!("`{}`: its `Use instead:` block is not clean:\n{}", rule.id, describe(&report)));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{}\n\nfix the examples in the rules' doc comments, then {REGENERATE} the pages",
        problems.join("\n")
    );
}

#[test]
fn example_settings_follow_the_flag_comment() {
    let assumed = "-- linted with --assume-in-transaction: the runner wraps the file\nVACUUM t;";
    assert!(example_settings("vacuum-full", assumed).assume_in_transaction);
    assert!(!example_settings("vacuum-full", "VACUUM t; -- --assume-in-transaction").assume_in_transaction);
    assert!(!example_settings("vacuum-full", "VACUUM t;").assume_in_transaction);
}

#[test]
fn example_settings_follow_the_framework_comment() {
    let flyway = "-- linted with --framework flyway\nCREATE INDEX CONCURRENTLY i ON t (a);";
    assert_eq!(example_settings("flyway-mixed-transaction", flyway).framework, Some(Framework::Flyway));
    assert_eq!(example_settings("vacuum-full", "VACUUM t;").framework, None);
}

#[test]
fn example_settings_enable_the_rule_under_test() {
    let settings = example_settings("prefer-text", "CREATE TABLE t (a varchar(10));");
    assert!(settings.is_enabled("prefer-text"));
    assert!(!Settings::default().is_enabled("prefer-text"), "`prefer-text` is opt-in");
    assert!(!settings.is_enabled("prefer-bigint"), "only the rule under test is enabled");
}

fn example_settings(rule: &str, sql: &str) -> Settings {
    let first = sql.lines().next().unwrap_or("");
    let assume_in_transaction = first.starts_with("--") && first.contains("--assume-in-transaction");
    // `-- linted with --framework flyway`: the block is read as that framework's migration.
    let framework = first
        .strip_prefix("--")
        .and_then(|c| c.split_once("--framework "))
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(Framework::from_name);
    Settings { assume_in_transaction, framework, enabled: vec![rule.to_owned()], ..Settings::default() }
}

fn entries(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    paths
}
