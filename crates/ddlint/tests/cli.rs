//! End-to-end tests: run the built binary on temporary projects and check its output and
//! exit status.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_ddlint");

/// Raises `rename-column` (a warning) and nothing else.
const WARNING_SQL: &str = "SET lock_timeout = '2s';\nALTER TABLE users RENAME COLUMN name TO full_name;\n";
/// Raises `add-column-not-null-without-default` (an error) and nothing else.
const ERROR_SQL: &str = "SET lock_timeout = '2s';\nALTER TABLE users ADD COLUMN email text NOT NULL;\n";
const CLEAN_SQL: &str = "CREATE TABLE users (id bigint PRIMARY KEY);\n";

/// A temporary project directory to run ddlint in.
struct Project {
    dir: TempDir,
}

/// What one run printed and how it exited.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Project {
    fn new() -> Self {
        let dir = tempfile::Builder::new().prefix("ddlint-cli").tempdir().expect("create a temporary directory");
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn file(&self, path: &str, contents: impl AsRef<[u8]>) -> &Self {
        let path = self.path().join(path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create the parent directory");
        }
        fs::write(path, contents).expect("write the file");
        self
    }

    fn dir(&self, path: &str) -> &Self {
        fs::create_dir_all(self.path().join(path)).expect("create the directory");
        self
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_in(".", args, None)
    }

    fn run_in(&self, subdir: &str, args: &[&str], stdin: Option<&str>) -> Run {
        let mut command = command(&self.path().join(subdir));
        command.args(args).stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("start ddlint");
        if let Some(text) = stdin {
            let mut pipe = child.stdin.take().expect("stdin is piped");
            pipe.write_all(text.as_bytes()).expect("write stdin");
        }
        let output = child.wait_with_output().expect("wait for ddlint");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// The binary, run in `dir`, with the colour environment cleared.
fn command(dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.current_dir(dir);
    for var in ["NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "RAYON_NUM_THREADS"] {
        command.env_remove(var);
    }
    command
}

fn assert_status(run: &Run, code: i32) {
    assert_eq!(run.code, code, "unexpected exit status\n--- stdout\n{}\n--- stderr\n{}", run.stdout, run.stderr);
}

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", run.stdout))
}

#[test]
fn clean_files_exit_zero_in_every_format() {
    let project = Project::new();
    project.file("migrations/001.sql", CLEAN_SQL);
    for format in ["human", "json", "sarif", "github", "gitlab"] {
        let run = project.run(&["check", "--format", format, "migrations"]);
        assert_status(&run, 0);
        assert_eq!(run.stderr, "", "{format}");
        match format {
            "human" => assert_eq!(run.stdout, "No problems found in 1 file\n"),
            "json" | "sarif" | "gitlab" => {
                json(&run);
            }
            _ => assert!(!run.stdout.contains("::warning") && !run.stdout.contains("::error"), "{}", run.stdout),
        }
    }
}

#[test]
fn findings_exit_one_in_every_format() {
    let project = Project::new();
    project.file("migrations/001.sql", WARNING_SQL);
    for format in ["human", "json", "sarif", "github", "gitlab"] {
        let run = project.run(&["check", "--format", format, "migrations"]);
        assert_status(&run, 1);
        assert!(run.stdout.contains("rename-column"), "{format}: {}", run.stdout);
        assert!(run.stdout.contains("migrations/001.sql"), "{format}: {}", run.stdout);
        if matches!(format, "json" | "sarif" | "gitlab") {
            json(&run);
        }
    }
}

#[test]
fn human_output_is_rustc_style() {
    let project = Project::new();
    project.file("001.sql", WARNING_SQL);
    let run = project.run(&["check", "--color", "never", "001.sql"]);
    assert_status(&run, 1);
    let expected_start = "warning[rename-column]: ";
    assert!(run.stdout.starts_with(expected_start), "{}", run.stdout);
    assert!(
        run.stdout.contains("\n --> 001.sql:2:19\n  |\n2 | ALTER TABLE users RENAME COLUMN name TO full_name;\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("  = help: "), "{}", run.stdout);
    assert!(run.stdout.ends_with("\nFound 1 warning in 1 file (1 file checked)\n"), "{}", run.stdout);
    assert!(!run.stdout.contains('\u{1b}'));
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let project = Project::new();
    project.file("001.sql", WARNING_SQL);
    // Standard output is a pipe here, so `auto` means no colour.
    assert!(!project.run(&["check"]).stdout.contains('\u{1b}'));
    assert!(!project.run(&["check", "--color", "never"]).stdout.contains('\u{1b}'));
    assert!(project.run(&["check", "--color", "always"]).stdout.contains("\u{1b}["));
    // An explicit `--color always` wins over `NO_COLOR`; `auto` honours it.
    let mut forced = command(project.path());
    let output = forced.args(["check", "--color", "always"]).env("NO_COLOR", "1").output().expect("run ddlint");
    assert!(String::from_utf8_lossy(&output.stdout).contains("\u{1b}["));
    let mut auto = command(project.path());
    let output = auto.args(["check"]).env("NO_COLOR", "1").env("CLICOLOR_FORCE", "1").output().expect("run ddlint");
    assert!(!String::from_utf8_lossy(&output.stdout).contains('\u{1b}'));
    // Colour is for people: machine formats never get it.
    assert!(!project.run(&["check", "--color", "always", "--format", "json"]).stdout.contains('\u{1b}'));
}

#[test]
fn fail_on_error_ignores_warnings() {
    let project = Project::new();
    project.file("warn.sql", WARNING_SQL);
    assert_status(&project.run(&["check", "--fail-on", "error"]), 0);
    assert_status(&project.run(&["check", "--fail-on", "warning"]), 1);
    project.file("err.sql", ERROR_SQL);
    let run = project.run(&["check", "--fail-on", "error"]);
    assert_status(&run, 1);
    assert!(run.stdout.contains("Found 1 error and 1 warning in 2 files (2 files checked)"), "{}", run.stdout);
}

#[test]
fn a_missing_path_is_an_error_but_the_rest_is_still_linted() {
    let project = Project::new();
    project.file("001.sql", WARNING_SQL);
    let run = project.run(&["check", "missing.sql", "001.sql"]);
    assert_status(&run, 2);
    assert_eq!(run.stderr, "error: missing.sql: no such file or directory\n");
    assert!(run.stdout.contains("warning[rename-column]"), "{}", run.stdout);
    assert!(run.stdout.ends_with("\nFound 1 warning in 1 file (1 file checked, 1 path failed)\n"), "{}", run.stdout);
}

#[test]
fn a_missing_path_never_reads_as_a_clean_run() {
    let project = Project::new();
    project.file("001.sql", CLEAN_SQL);
    // Nothing was linted: the error is the whole story, with no summary of zero files.
    let run = project.run(&["check", "does/not/exist"]);
    assert_status(&run, 2);
    assert_eq!(run.stderr, "error: does/not/exist: no such file or directory\n");
    assert_eq!(run.stdout, "");
    // The clean file is linted, and the summary says a path failed.
    let run = project.run(&["check", "gone", "001.sql", "missing.sql"]);
    assert_status(&run, 2);
    assert_eq!(run.stderr, "error: gone: no such file or directory\nerror: missing.sql: no such file or directory\n");
    assert_eq!(run.stdout, "No problems found in 1 file, but 2 paths failed\n");
    // The Markdown report, which lands away from the log, says so too.
    let run = project.run(&["check", "--format", "markdown", "gone", "001.sql"]);
    assert_status(&run, 2);
    assert!(
        run.stdout.contains("Checked 1 file for PostgreSQL 15. 1 path failed: see the errors in the log.\n"),
        "{}",
        run.stdout
    );
    // Machine formats still print a whole document for the tools that read it.
    let run = project.run(&["check", "--format", "json", "gone"]);
    assert_status(&run, 2);
    assert_eq!(json(&run)["files_checked"], 0);
}

#[test]
fn an_unreadable_file_exits_two() {
    let project = Project::new();
    project.file("001.sql", CLEAN_SQL);
    project.file("002.sql", b"SELECT 1;\xff\xfe\n");
    let run = project.run(&["check"]);
    assert_status(&run, 2);
    assert!(run.stdout.contains("error[unreadable-file]: "), "{}", run.stdout);
    assert!(run.stdout.contains(" --> 002.sql:1:1\n"), "{}", run.stdout);
    // Even with the diagnostic switched off, the file was not checked.
    assert_status(&project.run(&["check", "--disable", "unreadable-file"]), 2);
}

#[test]
fn stdin_is_linted_under_the_given_name() {
    let project = Project::new();
    let run = project.run_in(".", &["check", "-", "--stdin-path", "db/042_rename.sql"], Some(WARNING_SQL));
    assert_status(&run, 1);
    assert!(run.stdout.contains(" --> db/042_rename.sql:2:19"), "{}", run.stdout);

    let run = project.run_in(".", &["check", "--stdin-path", "x.sql"], Some(CLEAN_SQL));
    assert_status(&run, 0);
    assert_eq!(run.stdout, "No problems found in 1 file\n");

    let run = project.run_in(".", &["check", "-", "--format", "json"], Some(WARNING_SQL));
    assert_status(&run, 1);
    assert!(run.stdout.contains("\"<stdin>\""), "{}", run.stdout);
}

#[test]
fn directories_are_searched_for_sql_files_in_path_order() {
    let project = Project::new();
    project.file("b/002.sql", WARNING_SQL);
    project.file("a/sub/003.sql", WARNING_SQL);
    project.file("a/001.sql", WARNING_SQL);
    project.file("a/README.md", "not sql");
    project.file(".hidden/004.sql", WARNING_SQL);
    let run = project.run(&["check", "--format", "github"]);
    assert_status(&run, 1);
    let files: Vec<&str> = run.stdout.lines().filter_map(|l| l.split("file=").nth(1)?.split(',').next()).collect();
    assert_eq!(files, ["a/001.sql", "a/sub/003.sql", "b/002.sql"]);
}

#[test]
fn no_sql_files_without_a_path_is_not_an_error() {
    let project = Project::new();
    project.file("README.md", "nothing to lint");
    // No path was typed, so none can be mistyped.
    let run = project.run(&["check"]);
    assert_status(&run, 0);
    assert_eq!(run.stderr, "");
    assert_eq!(run.stdout, "No problems found in 0 files\n");
    // Naming the same directory is another matter.
    let run = project.run(&["check", "."]);
    assert_status(&run, 2);
    assert_eq!(run.stderr, "error: .: no `.sql` files found (pass `--allow-no-files` to allow this)\n");
}

#[test]
fn a_named_directory_without_migrations_fails() {
    let project = Project::new();
    project.dir("empty").file("docs/README.md", "not sql").file(".hidden/001.sql", WARNING_SQL);
    project.file("m/001.sql", WARNING_SQL);
    for path in ["empty", "docs"] {
        let run = project.run(&["check", path]);
        assert_status(&run, 2);
        assert_eq!(
            run.stderr,
            format!("error: {path}: no `.sql` files found (pass `--allow-no-files` to allow this)\n")
        );
        assert_eq!(run.stdout, "");
    }
    // A hidden directory is skipped when searching, but named it is searched.
    assert_status(&project.run(&["check", ".hidden"]), 1);
    // Each empty path is named; the others are still linted, and the run fails.
    let run = project.run(&["check", "empty", "m", "docs"]);
    assert_status(&run, 2);
    assert_eq!(
        run.stderr,
        "error: empty: no `.sql` files found (pass `--allow-no-files` to allow this)\n\
         error: docs: no `.sql` files found (pass `--allow-no-files` to allow this)\n"
    );
    assert!(run.stdout.contains("warning[rename-column]"), "{}", run.stdout);
    assert!(run.stdout.ends_with("(1 file checked, 2 paths failed)\n"), "{}", run.stdout);
    // A directory named twice is searched twice, and its files linted once.
    let run = project.run(&["check", "m", "m", "./m"]);
    assert_status(&run, 1);
    assert!(run.stdout.ends_with("(1 file checked)\n"), "{}", run.stdout);
}

#[test]
fn allow_no_files_passes_a_run_with_nothing_to_lint() {
    let project = Project::new();
    project.dir("empty");
    let run = project.run(&["check", "--allow-no-files", "empty"]);
    assert_status(&run, 0);
    assert_eq!(run.stderr, "");
    assert_eq!(run.stdout, "No problems found in 0 files\n");
    project.file("ddlint.toml", "allow-no-files = true\n");
    let run = project.run(&["check", "empty"]);
    assert_status(&run, 0);
    assert_eq!(run.stderr, "");
    // It allows empty paths, not missing ones.
    let run = project.run(&["check", "--allow-no-files", "empyt"]);
    assert_status(&run, 2);
    assert_eq!(run.stderr, "error: empyt: no such file or directory\n");
}

#[test]
fn a_directory_whose_migrations_are_all_excluded_is_not_empty() {
    let project = Project::new();
    project.file("m/legacy/001.sql", WARNING_SQL).file("m/002_old.sql", WARNING_SQL);
    // The user's own filter dropped real migrations: nothing here was mistyped.
    // The report says what the filter skipped, so that an empty run does not read as a clean one.
    for (args, note) in [
        (
            &["check", "--exclude", "legacy", "--exclude", "*_old.sql", "m"][..],
            "1 file and 1 directory matching `exclude`",
        ),
        (&["check", "--include", "x/**", "m"], "2 files matching no `include` glob"),
    ] {
        let run = project.run(args);
        assert_status(&run, 0);
        assert_eq!(run.stderr, "", "{args:?}");
        assert_eq!(run.stdout, format!("note: skipped {note}\nNo problems found in 0 files\n"), "{args:?}");
    }
    project.file("ddlint.toml", "exclude = [\"legacy\", \"*_old.sql\"]\n");
    let run = project.run(&["check", "m", "m/*.sql"]);
    assert_status(&run, 0);
    assert_eq!(run.stderr, "");
}

#[test]
fn a_change_set_without_migrations_passes_quietly() {
    let project = Project::new();
    project.file("m/001.sql", WARNING_SQL).file("README.md", "docs");
    // A pull request that only touches the README: the migrations are history, none is reported.
    let run = project.run(&["check", "--changed", "README.md", "m"]);
    assert_status(&run, 0);
    assert_eq!(run.stderr, "");
    assert_eq!(run.stdout, "No problems found in 0 files\n");
}

#[test]
fn the_same_file_twice_is_linted_once() {
    let project = Project::new();
    project.file("m/001.sql", WARNING_SQL);
    let run = project.run(&["check", "m", "m/001.sql", "./m/001.sql"]);
    assert_status(&run, 1);
    assert!(run.stdout.contains("(1 file checked)"), "{}", run.stdout);
}

#[test]
fn quoted_globs_are_expanded() {
    let project = Project::new();
    project.file("m/001.sql", WARNING_SQL);
    project.file("m/002.sql", WARNING_SQL);
    project.file("m/deep/003.sql", WARNING_SQL);
    project.file("m/notes.txt", "x");
    let run = project.run(&["check", "m/*.sql"]);
    assert_status(&run, 1);
    assert!(run.stdout.contains("in 2 files (2 files checked)"), "{}", run.stdout);
    let run = project.run(&["check", "m/**/*.sql"]);
    assert!(run.stdout.contains("in 3 files (3 files checked)"), "{}", run.stdout);
    let run = project.run(&["check", "m/00{1,2}.sql"]);
    assert!(run.stdout.contains("(2 files checked)"), "{}", run.stdout);
    // A glob and a directory over the same files each find theirs, in either order.
    for args in [["check", "m/*.txt", "m"], ["check", "m", "m/*.txt"]] {
        let run = project.run(&args);
        assert_eq!(run.stderr, "", "{args:?}");
        assert!(run.stdout.contains(" --> m/notes.txt:1:1\n"), "{args:?}: {}", run.stdout);
        assert!(run.stdout.contains("(4 files checked)"), "{args:?}: {}", run.stdout);
    }

    let run = project.run(&["check", "m/*.psql"]);
    assert_status(&run, 2);
    assert_eq!(run.stderr, "error: m/*.psql: no files match this pattern (pass `--allow-no-files` to allow this)\n");
    assert_eq!(run.stdout, "");
    let run = project.run(&["check", "--allow-no-files", "m/*.psql"]);
    assert_status(&run, 0);
    assert_eq!(run.stderr, "");
}

#[test]
fn include_and_exclude_filter_discovered_files() {
    let project = Project::new();
    project.file("m/001_old.sql", WARNING_SQL);
    project.file("m/002.sql", WARNING_SQL);
    project.file("m/legacy/003.sql", WARNING_SQL);
    let checked = |args: &[&str]| {
        let mut all = vec!["check", "--format", "github"];
        all.extend_from_slice(args);
        let run = project.run(&all);
        let mut files: Vec<String> =
            run.stdout.lines().filter_map(|l| Some(l.split("file=").nth(1)?.split(',').next()?.to_owned())).collect();
        files.dedup();
        files
    };
    assert_eq!(checked(&["--exclude", "*_old.sql"]), ["m/002.sql", "m/legacy/003.sql"]);
    assert_eq!(checked(&["--exclude", "legacy"]), ["m/001_old.sql", "m/002.sql"]);
    assert_eq!(checked(&["--exclude", "m/legacy/**"]), ["m/001_old.sql", "m/002.sql"]);
    assert_eq!(checked(&["--include", "m/legacy/*.sql"]), ["m/legacy/003.sql"]);
    assert_eq!(
        checked(&["--include", "*_old.sql", "--include", "**/legacy/**"]),
        ["m/001_old.sql", "m/legacy/003.sql"]
    );
    // A file named on the command line is linted even when excluded.
    assert_eq!(checked(&["--exclude", "*.sql", "m/002.sql"]), ["m/002.sql"]);

    let run = project.run(&["check", "--exclude", "[oops"]);
    assert_status(&run, 2);
    assert!(run.stderr.starts_with("error: invalid glob `[oops`"), "{}", run.stderr);
}

#[test]
fn config_is_discovered_from_parent_directories() {
    let project = Project::new();
    project.file("ddlint.toml", "disable = [\"rename-column\"]\nexclude = [\"legacy\"]\n");
    project.file("db/migrations/001.sql", WARNING_SQL);
    project.file("db/legacy/002.sql", ERROR_SQL);
    let run = project.run_in("db", &["check"], None);
    assert_status(&run, 0);
    assert_eq!(run.stdout, "note: skipped 1 directory matching `exclude`\nNo problems found in 1 file\n");
    // `--no-config` ignores it, `--config` picks another.
    let run = project.run_in("db", &["check", "--no-config"], None);
    assert_status(&run, 1);
    assert!(run.stdout.contains("(2 files checked)"), "{}", run.stdout);
    project.file("other.toml", "fail-on = \"error\"\n");
    let run = project.run_in("db", &["check", "--config", "../other.toml", "migrations"], None);
    assert_status(&run, 0);
    assert!(run.stdout.contains("warning[rename-column]"), "{}", run.stdout);
}

#[test]
fn a_runner_that_sets_lock_timeout_is_configured_once() {
    let project = Project::new();
    project.file("db/001.sql", "ALTER TABLE users ADD COLUMN nickname text;\n");
    let run = project.run(&["check", "db"]);
    assert!(run.stdout.contains("warning[missing-lock-timeout]"), "{}", run.stdout);
    project.file("ddlint.toml", "[runner]\nlock-timeout = \"5s\"\n");
    let run = project.run(&["check", "db"]);
    assert_status(&run, 0);
    // A runner's value longer than the maximum is no guard.
    project.file("ddlint.toml", "[runner]\nlock-timeout = \"5min\"\n");
    let run = project.run(&["check", "db"]);
    assert!(run.stdout.contains("with `lock_timeout` at 5min, longer than the maximum of 10s"), "{}", run.stdout);
}

/// The `(level, rule)` of each GitHub annotation printed.
fn annotations(run: &Run) -> Vec<(String, String)> {
    run.stdout
        .lines()
        .filter_map(|line| {
            let (level, rest) = line.strip_prefix("::")?.split_once(' ')?;
            let rule = rest.split("title=").nth(1)?.split("::").next()?;
            Some((level.to_owned(), rule.to_owned()))
        })
        .collect()
}

#[test]
fn config_keys_apply_and_flags_override_them() {
    let project = Project::new();
    project.file(
        "ddlint.toml",
        r#"
pg-version = 11
assume-in-transaction = true
fail-on = "error"
format = "github"
enable = []
disable = ["missing-lock-timeout"]

[rules]
rename-column = "error"
set-not-null = "off"
"#,
    );
    project.file(
        "001.sql",
        "ALTER TABLE users RENAME COLUMN name TO full_name;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\n",
    );
    let run = project.run(&["check"]);
    // `fail-on = "error"`: the only error is `rename-column`, raised to error by `[rules]`.
    assert_status(&run, 1);
    let findings = annotations(&run);
    assert!(findings.contains(&("error".to_owned(), "rename-column".to_owned())), "{findings:?}");
    assert_eq!(findings.iter().filter(|(level, _)| level == "error").count(), 1, "{findings:?}");
    assert!(!findings.iter().any(|(_, rule)| rule == "set-not-null" || rule == "missing-lock-timeout"), "{findings:?}");

    let run = project.run(&["check", "--format", "human", "--enable", "set-not-null,missing-lock-timeout"]);
    assert_status(&run, 1);
    assert!(run.stdout.contains("error[rename-column]"), "{}", run.stdout);
    assert!(run.stdout.contains("warning[set-not-null]"), "{}", run.stdout);
    assert!(run.stdout.contains("warning[missing-lock-timeout]"), "{}", run.stdout);

    let run = project.run(&["check", "--disable", "rename-column"]);
    assert_status(&run, 0);
}

#[test]
fn a_bad_config_exits_two_naming_the_file() {
    let project = Project::new();
    project.file("001.sql", CLEAN_SQL);
    let cases = [
        ("pg-version = 15\ncolour = true\n", "error: ddlint.toml:2:1: unknown field `colour`"),
        (
            "[rules]\nrename-colum = \"error\"\n",
            "error: ddlint.toml: unknown rule `rename-colum` in `[rules]` (did you mean `rename-column`?)\n",
        ),
        ("pg_version = 15\n", "error: ddlint.toml:1:1: unknown field `pg_version` (did you mean `pg-version`?)\n"),
        (
            "pg-version = 15\nfail_on = \"error\"\n",
            "error: ddlint.toml:2:1: unknown field `fail_on` (did you mean `fail-on`?)\n",
        ),
        (
            "disable = [\"set_not_null\"]\n",
            "error: ddlint.toml: unknown rule `set_not_null` in `disable` (did you mean `set-not-null`?)\n",
        ),
        ("enable = [\"nope\"]\n", "error: ddlint.toml: unknown rule `nope` in `enable` (see `ddlint rules`)\n"),
        ("[rules]\nrename-column = \"fatal\"\n", "error: ddlint.toml:2:17: unknown variant `fatal`"),
        ("pg-version = 9\n", "error: ddlint.toml: unsupported `pg-version` 9: ddlint knows 11 to 18\n"),
        ("include = [\"{a\"]\n", "error: ddlint.toml: invalid glob `{a`"),
        ("pg-version = \n", "error: ddlint.toml:1:"),
    ];
    for (config, expected) in cases {
        project.file("ddlint.toml", config);
        let run = project.run(&["check"]);
        assert_status(&run, 2);
        assert!(run.stderr.starts_with(expected), "{config:?}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{config:?}");
    }
    fs::remove_file(project.path().join("ddlint.toml")).expect("remove the config");
    let run = project.run(&["check", "--config", "missing.toml"]);
    assert_status(&run, 2);
    assert_eq!(run.stderr, "error: missing.toml: no such file or directory\n");
}

#[test]
fn bad_flags_exit_two() {
    let project = Project::new();
    project.file("001.sql", CLEAN_SQL);
    let run = project.run(&["check", "--enable", "nope"]);
    assert_status(&run, 2);
    assert_eq!(run.stderr, "error: unknown rule `nope` (see `ddlint rules`)\n");
    let run = project.run(&["check", "--enable", "set-not-nul"]);
    assert_status(&run, 2);
    assert_eq!(run.stderr, "error: unknown rule `set-not-nul` (did you mean `set-not-null`?)\n");
    let run = project.run(&["check", "--disable", "rename-column,rename_table"]);
    assert_status(&run, 2);
    assert_eq!(run.stderr, "error: unknown rule `rename_table` (did you mean `rename-table`?)\n");
    assert_status(&project.run(&["check", "--pg-version", "10"]), 2);
    assert_status(&project.run(&["check", "--pg-version", "19"]), 2);
    assert_status(&project.run(&["check", "--pg-version", "11"]), 0);
    assert_status(&project.run(&["check", "--format", "xml"]), 2);
    assert_status(&project.run(&["check", "--fail-on", "note"]), 2);
    assert_status(&project.run(&["frobnicate"]), 2);
    assert_status(&project.run(&[]), 2);
    assert_status(&project.run(&["--version"]), 0);
    assert_status(&project.run(&["check", "--help"]), 0);
}

#[test]
fn rules_lists_every_rule() {
    let run = Project::new().run(&["rules"]);
    assert_status(&run, 0);
    let ids: Vec<&str> = run.stdout.lines().filter_map(|l| l.split_whitespace().next()).collect();
    let expected: Vec<&str> = ddlint_core::registry::all().iter().map(|r| r.id).collect();
    assert_eq!(ids, expected);
    let line = run.stdout.lines().find(|l| l.starts_with("rename-column ")).expect("rename-column is listed");
    let columns: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(columns[1..3], ["warning", "on"]);
    assert!(columns.len() > 3, "a summary follows: {line}");
}

#[test]
fn rule_prints_the_docs() {
    let project = Project::new();
    let run = project.run(&["rule", "rename-column"]);
    assert_status(&run, 0);
    assert!(run.stdout.starts_with("# rename-column\n"), "{}", run.stdout);
    assert!(run.stdout.contains("## What it does"), "{}", run.stdout);
    assert!(run.stdout.contains("```sql"), "{}", run.stdout);

    let run = project.run(&["rule", "rename-colum"]);
    assert_status(&run, 2);
    assert_eq!(run.stderr, "error: unknown rule `rename-colum` (did you mean `rename-column`?)\n");
    assert_eq!(run.stdout, "");
    let run = project.run(&["rule", "set-not-nul"]);
    assert_status(&run, 2);
    assert_eq!(run.stderr, "error: unknown rule `set-not-nul` (did you mean `set-not-null`?)\n");
    let run = project.run(&["rule", "frobnicate"]);
    assert_status(&run, 2);
    assert_eq!(run.stderr, "error: unknown rule `frobnicate` (see `ddlint rules`)\n");
}

#[test]
fn output_does_not_depend_on_the_thread_count() {
    let project = Project::new();
    for i in 0..40 {
        let sql = if i % 3 == 0 { ERROR_SQL } else { WARNING_SQL };
        project.file(&format!("m/{}/{i:03}.sql", i % 7), sql);
    }
    let outputs: Vec<Vec<u8>> = ["1", "2", "8"]
        .iter()
        .map(|threads| {
            let output = command(project.path())
                .args(["check", "--format", "json"])
                .env("RAYON_NUM_THREADS", threads)
                .output()
                .expect("run ddlint");
            output.stdout
        })
        .collect();
    assert!(!outputs[0].is_empty());
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], outputs[2]);
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let project = Project::new();
    let sql: String = (0..5000).map(|i| format!("CREATE INDEX i{i} ON t (a);\n")).collect();
    project.file("big.sql", sql);
    let mut child = command(project.path())
        .args(["check", "--color", "never"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ddlint");
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut first = [0u8; 64];
    stdout.read_exact(&mut first).expect("read the first bytes");
    drop(stdout);
    let mut stderr = String::new();
    child.stderr.take().expect("stderr is piped").read_to_string(&mut stderr).expect("read stderr");
    let status = child.wait().expect("wait for ddlint");
    assert_eq!(stderr, "");
    assert_eq!(status.code(), Some(1));
}

#[cfg(unix)]
#[test]
fn symlink_loops_end() {
    let project = Project::new();
    project.file("m/001.sql", WARNING_SQL);
    std::os::unix::fs::symlink(project.path().join("m"), project.path().join("m/again")).expect("make a symlink");
    std::os::unix::fs::symlink(project.path().join("m/001.sql"), project.path().join("m/link.sql"))
        .expect("make a symlink");
    std::os::unix::fs::symlink(project.path().join("gone.sql"), project.path().join("m/dangling.sql"))
        .expect("make a symlink");
    let run = project.run(&["check", "m"]);
    assert_status(&run, 2);
    assert_eq!(run.stderr, "error: m/dangling.sql: no such file or directory\n");
    assert!(run.stdout.contains("(1 file checked, 1 path failed)"), "{}", run.stdout);
}

#[test]
fn no_path_lints_the_working_directory() {
    let project = Project::new();
    project.file("001.sql", WARNING_SQL);
    project.file("sub/002.sql", CLEAN_SQL);
    let run = project.run(&["check"]);
    assert_status(&run, 1);
    assert!(run.stdout.contains(" --> 001.sql:2:19"), "{}", run.stdout);
    assert!(run.stdout.contains("(2 files checked)"), "{}", run.stdout);
}

#[test]
fn explain_json_has_the_documented_shape_and_replays_earlier_files() {
    let project = Project::new();
    project.file("m/001.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email varchar(50));\n").file(
        "m/002.sql",
        "\nALTER TABLE users\n  ALTER COLUMN email TYPE varchar(100);\nCREATE INDEX i ON users (email);\n",
    );
    let run = project.run(&["explain", "--format", "json", "m"]);
    assert_status(&run, 0);
    let files = json(&run);
    assert_eq!(files[0]["file"], "m/001.sql");
    let second = &files[1];
    assert_eq!(second["file"], "m/002.sql");
    let alter = &second["statements"][0];
    assert_eq!(alter["line"], 2);
    assert_eq!(alter["end_line"], 3);
    assert!(alter["sql"].as_str().is_some_and(|s| s.starts_with("ALTER TABLE users")));
    assert_eq!(alter["locks"][0]["relation"], "users");
    assert_eq!(alter["locks"][0]["mode"], "AccessExclusiveLock");
    assert_eq!(alter["locks"][0]["blocks"], serde_json::json!(["select", "insert", "update", "delete", "ddl"]));
    // 001 made `email` a varchar(50), so widening it is known to be free.
    assert_eq!(alter["rewrites"], serde_json::json!([]));
    assert_eq!(alter["may_rewrite"], serde_json::json!([]));
    let index = &second["statements"][1];
    assert_eq!(index["locks"][0]["mode"], "ShareLock");
    assert_eq!(index["scans"], serde_json::json!(["users"]));
}

#[test]
fn explain_human_is_a_table_per_file() {
    let project = Project::new();
    project.file("a.sql", "ALTER TABLE t ADD CONSTRAINT c CHECK (x > 0);\n");
    let run = project.run(&["explain", "--pg-version", "16", "a.sql"]);
    assert_status(&run, 0);
    assert!(run.stdout.contains("a.sql"), "{}", run.stdout);
    assert!(run.stdout.contains("AccessExclusiveLock"), "{}", run.stdout);
    assert_status(&project.run(&["explain", "missing.sql"]), 2);
    project.dir("empty");
    let run = project.run(&["explain", "empty"]);
    assert_status(&run, 2);
    assert_eq!(run.stderr, "error: empty: no `.sql` files found\n");
}

/// Two files with `rename-column` (a warning), one with `add-column-not-null-without-default`
/// (an error) and a clean one.
fn project_with_findings() -> Project {
    let project = Project::new();
    project
        .file("m/001.sql", WARNING_SQL)
        .file("m/002.sql", WARNING_SQL)
        .file("m/003.sql", ERROR_SQL)
        .file("m/004.sql", CLEAN_SQL);
    project
}

#[test]
fn statistics_print_the_rule_table_and_exit_as_a_normal_run() {
    let project = project_with_findings();
    for fail_on in ["warning", "error"] {
        let normal = project.run(&["check", "--fail-on", fail_on, "m"]);
        let statistics = project.run(&["check", "--fail-on", fail_on, "--statistics", "m"]);
        assert_status(&statistics, normal.code);
        assert_eq!(statistics.stderr, "");
        let lines: Vec<&str> = statistics.stdout.lines().collect();
        assert_eq!(lines.len(), 3, "{}", statistics.stdout);
        // Most findings first, the columns aligned, then the summary of the normal run.
        assert!(
            lines[0].starts_with("  2  rename-column                        warning  2 files  `ALTER TABLE"),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].starts_with("  1  add-column-not-null-without-default  error    1 file   `ALTER TABLE"),
            "{}",
            lines[1]
        );
        assert_eq!(lines[2], "Found 1 error and 2 warnings in 3 files (4 files checked)");
        assert_eq!(normal.stdout.lines().last(), Some(lines[2]));
        // Three findings fit on a screen: the normal report has no table.
        assert!(!normal.stdout.contains(lines[0]), "{}", normal.stdout);
    }
    // Without findings, only the summary is left.
    let run = project.run(&["check", "--statistics", "m/004.sql"]);
    assert_status(&run, 0);
    assert_eq!(run.stdout, "No problems found in 1 file\n");
}

#[test]
fn statistics_need_the_human_format() {
    let project = project_with_findings();
    let run = project.run(&["check", "--statistics", "--format", "json", "m"]);
    assert_status(&run, 2);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, "error: `--statistics` works with the human format only, not `json`\n");
    project.file("ddlint.toml", "format = \"sarif\"\n");
    let run = project.run(&["check", "--statistics", "m"]);
    assert_status(&run, 2);
    assert_eq!(run.stderr, "error: `--statistics` works with the human format only, not `sarif`\n");
    assert_status(&project.run(&["check", "--statistics", "--format", "human", "m"]), 1);
}

#[test]
fn json_summary_counts_findings_by_rule() {
    let project = project_with_findings();
    let run = project.run(&["check", "--format", "json", "m"]);
    assert_status(&run, 1);
    let doc = json(&run);
    assert_eq!(
        doc["summary"],
        serde_json::json!({
            "errors": 1,
            "warnings": 2,
            "notes": 0,
            "rules": {
                "add-column-not-null-without-default": {"count": 1, "files": 1},
                "rename-column": {"count": 2, "files": 2},
            },
        })
    );
}

#[test]
fn findings_are_grouped_under_a_header_per_file() {
    let project = Project::new();
    project.file("m/001.sql", WARNING_SQL).file("m/002_add.up.sql", ERROR_SQL).file("m/003.sql", CLEAN_SQL);
    let run = project.run(&["check", "m"]);
    assert_status(&run, 1);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let after = |header: &str| lines.iter().position(|l| *l == header).map(|at| lines[at + 1]);
    assert_eq!(after("m/001.sql (plain, assumed not wrapped in a transaction)"), Some("warning[rename-column]: renaming `users.name` to `full_name` breaks the application version that still uses the old name"), "{}", run.stdout);
    let golang = after("m/002_add.up.sql (golang-migrate, one implicit transaction)");
    assert!(golang.is_some_and(|l| l.starts_with("error[add-column-not-null-without-default]")), "{}", run.stdout);
    // A clean file has no header.
    assert!(!run.stdout.contains("m/003.sql"), "{}", run.stdout);
    let run = project.run(&["check", "--assume-in-transaction", "m"]);
    assert!(run.stdout.starts_with("m/001.sql (plain, assumed wrapped in a transaction)\n"), "{}", run.stdout);
    // Over one file, the locations name it and there is no header.
    let run = project.run(&["check", "m/001.sql"]);
    assert!(run.stdout.starts_with("warning[rename-column]"), "{}", run.stdout);
}

#[test]
fn skipped_files_are_noted_in_the_human_report_only() {
    let project = Project::new();
    project.file("m/001.sql", WARNING_SQL).file("m/legacy/002.sql", ERROR_SQL).file("m/003_old.sql", ERROR_SQL);
    let args = ["check", "--exclude", "legacy", "--exclude", "*_old.sql", "m"];
    let run = project.run(&args);
    assert_status(&run, 1);
    assert_eq!(run.stderr, "");
    assert!(
        run.stdout.ends_with(
            "note: skipped 1 file and 1 directory matching `exclude`\nFound 1 warning in 1 file (1 file checked)\n"
        ),
        "{}",
        run.stdout
    );
    for format in ["json", "sarif", "github", "gitlab", "junit", "markdown"] {
        let run = project.run(&[&args[..], &["--format", format]].concat());
        assert_status(&run, 1);
        assert_eq!(run.stderr, "", "{format}");
        assert!(!run.stdout.contains("matching `exclude`"), "{format}: {}", run.stdout);
        if matches!(format, "json" | "sarif" | "gitlab") {
            json(&run);
        }
    }
    // Nothing skipped, nothing noted.
    let run = project.run(&["check", "m/001.sql"]);
    assert!(!run.stdout.contains("note:"), "{}", run.stdout);
}

#[test]
fn files_that_do_not_fit_their_frameworks_layout_are_noted_as_linted_alone() {
    let project = Project::new();
    project.file("m/001.sql", WARNING_SQL).file("m/002.sql", CLEAN_SQL);
    // sqitch replays `deploy/` in `sqitch.plan` order; `m/` is not such a project.
    let run = project.run(&["check", "--framework", "sqitch", "m"]);
    assert_status(&run, 1);
    assert!(
        run.stdout.ends_with(
            "note: m: no migration history recognised; its files were linted alone\nFound 1 warning in 1 file (2 files checked)\n"
        ),
        "{}",
        run.stdout
    );
    // Asked for, linting alone needs no note; and a recognised layout is replayed.
    for args in [&["check", "--framework", "sqitch", "--no-history", "m"][..], &["check", "m"]] {
        let run = project.run(args);
        assert!(!run.stdout.contains("note:"), "{args:?}: {}", run.stdout);
    }
    let run = project.run(&["check", "--framework", "sqitch", "--format", "json", "m"]);
    assert!(!run.stdout.contains("linted alone"), "{}", run.stdout);
    json(&run);
}
