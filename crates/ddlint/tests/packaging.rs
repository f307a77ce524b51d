//! The files that package ddlint for Python and pre-commit name the release they belong to.
//! pre-commit installs the root `pyproject.toml` of the hook's revision, which pins the `ddlint`
//! wheel; a pin that lags the crate's version would install another release's binary.

use std::path::Path;

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The value of `key = "…"` on a line of its own.
fn string_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|line| {
        line.strip_prefix(key)?.trim_start().strip_prefix('=')?.trim().strip_prefix('"')?.strip_suffix('"')
    })
}

#[test]
fn the_pre_commit_package_pins_this_release_s_wheel() {
    let version = env!("CARGO_PKG_VERSION");
    let shim = read("pyproject.toml");
    assert_eq!(string_value(&shim, "version"), Some(version), "pyproject.toml: version");
    assert!(
        shim.contains(&format!("dependencies = [\"ddlint=={version}\"]")),
        "pyproject.toml must depend on ddlint=={version}:\n{shim}"
    );
}

#[test]
fn the_wheel_carries_the_binary_and_its_source_distribution_builds() {
    let wheel = read("crates/ddlint/pyproject.toml");
    assert_eq!(string_value(&wheel, "name"), Some("ddlint"));
    assert_eq!(string_value(&wheel, "bindings"), Some("bin"));
    // The source distribution's workspace is smaller than the checkout's, so its Cargo.lock
    // loses entries when cargo reads it: `locked` would make every build from it fail.
    assert!(!wheel.lines().any(|line| line.trim().starts_with("locked")), "maturin's sdist cannot build --locked");
    // The version is the crate's, so it cannot drift.
    assert!(wheel.contains("dynamic = [\"version\"]"));
}

#[test]
fn the_pre_commit_hook_runs_the_wheel_s_binary() {
    let hooks = read(".pre-commit-hooks.yaml");
    let hook = hooks.split("- id: ").find(|h| h.starts_with("ddlint\n")).expect("a hook with id `ddlint`");
    assert!(hook.contains("language: python"), "{hook}");
    assert!(hook.contains("entry: ddlint check"), "{hook}");
}
