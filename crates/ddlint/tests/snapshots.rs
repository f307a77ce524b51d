//! Renders every fixture with the human reporter in plain mode and snapshots the output.
//!
//! The binary runs from the repository root on the fixture's relative path, so snapshots
//! hold no machine-specific paths. A fixture's leading `-- ddlint-test: …` lines become flags:
//! `assume-in-transaction`, `pg-version=<major>`, `framework=<name>`, `enable=<ids>` and
//! `disable=<ids>`.
//! The rule a fixture folder is named after is enabled, so opt-in rules show in theirs.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::directive_flags;

fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

#[test]
fn fixtures() {
    let root = repo_root();
    insta::glob!("../../../fixtures", "**/*.sql", |path| {
        let relative = path.strip_prefix(&root).unwrap_or(path);
        let relative = relative.to_string_lossy().replace('\\', "/");
        let bytes = std::fs::read(path).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);

        let mut args: Vec<String> =
            ["check", "--no-config", "--format", "human", "--color", "never"].map(str::to_owned).into();
        let folder = relative.split('/').nth(1).unwrap_or_default();
        if ddlint_core::registry::find(folder).is_some() {
            args.extend(["--enable".to_owned(), folder.to_owned()]);
        }
        args.extend(directive_flags(&relative, &text));
        args.push(relative.clone());

        let output = Command::new(env!("CARGO_BIN_EXE_ddlint"))
            .current_dir(&root)
            .args(&args)
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .output()
            .unwrap_or_else(|e| panic!("{relative}: cannot run ddlint: {e}"));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{relative}: ddlint panicked:\n{stderr}");

        let mut snapshot = format!(
            "$ ddlint {}\nexit status: {}\n\n{}",
            args.join(" "),
            output.status.code().map_or_else(|| "none".to_owned(), |c| c.to_string()),
            String::from_utf8_lossy(&output.stdout),
        );
        if !stderr.is_empty() {
            snapshot.push_str("\n--- stderr ---\n");
            snapshot.push_str(&stderr);
        }
        insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(snapshot);
        });
    });
}

#[test]
fn directives_become_flags() {
    let text = "-- ddlint-test: assume-in-transaction\n-- ddlint-test: pg-version=11\n-- a comment\n\nSELECT 1;\n-- ddlint-test: pg-version=12\n";
    assert_eq!(directive_flags("x.sql", text), ["--assume-in-transaction", "--pg-version", "11"]);
    assert_eq!(
        directive_flags("x.sql", "-- ddlint-test: enable=a,b pg-version=13\n"),
        ["--enable", "a,b", "--pg-version", "13"]
    );
    assert!(directive_flags("x.sql", "SELECT 1;\n").is_empty());
}

/// A snapshot whose fixture was removed or renamed would otherwise linger unchecked.
#[test]
fn every_fixture_snapshot_has_its_fixture() {
    let root = repo_root();
    let snapshots = root.join("crates/ddlint/tests/snapshots");
    let mut orphans = Vec::new();
    for entry in std::fs::read_dir(&snapshots).expect("read the snapshot folder").filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        // `fixtures@<rule>__<file>` (this file) and `fix@<rule>__<file>` (tests/fixes.rs).
        let Some(fixture) =
            name.strip_prefix("fixtures@").or_else(|| name.strip_prefix("fix@")).and_then(|n| n.strip_suffix(".snap"))
        else {
            continue;
        };
        // insta names a glob snapshot after the path below the glob root, with `/` as `__`.
        let path = root.join("fixtures").join(fixture.replace("__", "/"));
        if !path.is_file() {
            orphans.push(name);
        }
    }
    assert!(orphans.is_empty(), "snapshots without a fixture (delete them): {orphans:#?}");
}
