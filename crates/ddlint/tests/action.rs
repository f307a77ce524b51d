//! Tests of the GitHub Action: `action.yml` passes inputs safely, and `scripts/action.sh`
//! run end to end under a simulated GitHub Actions environment (a temporary git repository
//! with a pull request, the event payload, the summary and output files) with the binary
//! under test as `DDLINT_BIN`, so nothing is downloaded.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn action_yml() -> String {
    fs::read_to_string(repo_root().join("action.yml")).expect("read action.yml")
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The text of every `run:` value in a YAML file: the inline value, or the lines of a block
/// scalar (everything indented deeper than the key).
fn run_blocks(yaml: &str) -> Vec<String> {
    let lines: Vec<&str> = yaml.lines().collect();
    let mut blocks = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let key = line.trim_start().trim_start_matches("- ");
        let Some(value) = key.strip_prefix("run:") else { continue };
        let mut block = value.to_owned();
        let key_indent = indent(line) + (line.trim_start().len() - key.len());
        for next in &lines[i + 1..] {
            if !next.trim().is_empty() && indent(next) <= key_indent {
                break;
            }
            block.push('\n');
            block.push_str(next);
        }
        blocks.push(block);
    }
    blocks
}

#[test]
fn no_expression_is_spliced_into_a_run_block() {
    let yaml = action_yml();
    let blocks = run_blocks(&yaml);
    assert!(!blocks.is_empty(), "action.yml has no `run:`");
    for block in &blocks {
        assert!(!block.contains("${{"), "an expression inside `run:` can inject shell code:\n{block}");
    }
    // The checker itself finds an expression in inline and block values.
    let bad = "steps:\n  - run: echo ${{ inputs.x }}\n  - shell: bash\n    run: |\n      echo ok\n      echo ${{ inputs.y }}\n    env: {}\n";
    assert_eq!(run_blocks(bad).iter().filter(|b| b.contains("${{")).count(), 2);
}

#[test]
fn every_input_reaches_the_script_through_env() {
    let yaml = action_yml();
    let inputs_at = yaml.find("\ninputs:\n").expect("an `inputs:` section");
    let mut names = Vec::new();
    for line in yaml[inputs_at + 1..].lines().skip(1) {
        if !line.is_empty() && indent(line) == 0 {
            break;
        }
        if indent(line) == 2 && line.trim_end().ends_with(':') && !line.trim_start().starts_with('#') {
            names.push(line.trim().trim_end_matches(':').to_owned());
        }
    }
    assert_eq!(names, ["paths", "pg-version", "config", "fail-on", "changed-only", "sarif-file", "summary", "version"]);
    for name in &names {
        let variable = format!("INPUT_{}", name.to_uppercase().replace('-', "_"));
        let line = format!("{variable}: ${{{{ inputs.{name} }}}}");
        assert!(yaml.contains(&line), "`{line}` is missing from the step's env");
        let script = fs::read_to_string(repo_root().join("scripts/action.sh")).expect("read the script");
        assert!(script.contains(&variable), "scripts/action.sh ignores {variable}");
    }
}

/// A temporary repository with a base commit and a pull request on top of it.
struct PullRequest {
    dir: TempDir,
    base: String,
}

impl PullRequest {
    fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=ddlint", "-c", "user.email=ddlint@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("run git");
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn write(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = root.join(path);
        fs::create_dir_all(path.parent().expect("a parent")).expect("create the directory");
        fs::write(path, text).expect("write the file");
    }
}

const CREATE: &str = "CREATE TABLE users (id bigint PRIMARY KEY, name text);\n";
/// `rename-column`, a warning.
const OLD_UNSAFE: &str = "SET lock_timeout = '2s';\nALTER TABLE users RENAME COLUMN name TO full_name;\n";
/// `add-column-not-null-without-default`, an error.
const NEW_UNSAFE: &str = "SET lock_timeout = '2s';\nALTER TABLE users ADD COLUMN email text NOT NULL;\n";

/// The base holds a safe and an unsafe migration; the pull request adds `changes`.
fn pull_request(changes: &[(&str, &str)]) -> PullRequest {
    let dir = tempfile::Builder::new().prefix("ddlint-action").tempdir().expect("create a temporary directory");
    let repo = dir.path().join("repo");
    fs::create_dir(&repo).expect("create the repository");
    git(&repo, &["init", "-q", "-b", "main"]);
    write(&repo, &[("db/migrations/001_create.sql", CREATE), ("db/migrations/002_rename.sql", OLD_UNSAFE)]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "base"]);
    let base = git(&repo, &["rev-parse", "HEAD"]);
    write(&repo, changes);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "--allow-empty", "-m", "pull request"]);
    let event = format!("{{\"pull_request\":{{\"number\":7,\"base\":{{\"ref\":\"main\",\"sha\":\"{base}\"}}}}}}");
    fs::write(dir.path().join("event.json"), event).expect("write the event");
    fs::write(dir.path().join("summary.md"), "").expect("create the summary");
    fs::write(dir.path().join("output"), "").expect("create the output file");
    PullRequest { dir, base }
}

/// A pull request that adds an unsafe migration, touches a safe one, and changes files that
/// are not migrations.
fn typical_pull_request() -> PullRequest {
    pull_request(&[
        ("db/migrations/003_add_email.sql", NEW_UNSAFE),
        ("db/migrations/001_create.sql", &format!("{CREATE}-- reviewed\n")),
        ("scripts/backfill.sql", "UPDATE users SET name = 'x';\n"),
        ("README.md", "docs\n"),
    ])
}

struct ActionRun {
    code: i32,
    stdout: String,
    stderr: String,
    summary: String,
    output: String,
}

/// Runs the action's script in `repo` as GitHub would for a `pull_request` event, with only
/// the environment given here.
fn run_action(pr: &PullRequest, repo: &Path, inputs: &[(&str, &str)]) -> ActionRun {
    let mut command = Command::new("bash");
    command
        .arg(repo_root().join("scripts/action.sh"))
        .current_dir(repo)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", pr.dir.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", pr.path("event.json"))
        .env("GITHUB_STEP_SUMMARY", pr.path("summary.md"))
        .env("GITHUB_OUTPUT", pr.path("output"))
        .env("GITHUB_ACTION_PATH", repo_root())
        .env("RUNNER_TEMP", pr.dir.path())
        .env("DDLINT_BIN", env!("CARGO_BIN_EXE_ddlint"));
    for (name, value) in inputs {
        command.env(name, value);
    }
    let output = command.output().expect("run bash");
    ActionRun {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        summary: fs::read_to_string(pr.path("summary.md")).expect("read the summary"),
        output: fs::read_to_string(pr.path("output")).expect("read the outputs"),
    }
}

impl ActionRun {
    fn assert_code(&self, code: i32) {
        assert_eq!(self.code, code, "--- stdout\n{}\n--- stderr\n{}", self.stdout, self.stderr);
    }

    /// The files the annotations point at.
    fn annotated(&self) -> Vec<&str> {
        let mut files: Vec<&str> = self
            .stdout
            .lines()
            .filter_map(|l| l.split_once(" file=").map(|(_, rest)| rest.split(',').next().unwrap_or("")))
            .collect();
        files.dedup();
        files
    }
}

fn sarif_results(path: &Path) -> Vec<serde_json::Value> {
    let text = fs::read_to_string(path).expect("read the SARIF log");
    let log: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("invalid SARIF ({e}):\n{text}"));
    assert_eq!(log["version"], "2.1.0");
    log["runs"][0]["results"].as_array().expect("results").clone()
}

#[test]
fn pull_request_lints_only_the_migrations_it_changes() {
    let pr = typical_pull_request();
    let run = run_action(&pr, &pr.repo(), &[("INPUT_SARIF_FILE", "reports/ddlint.sarif")]);
    run.assert_code(1);

    // Annotations only for the new migration: the old unsafe one and the script are left out.
    assert_eq!(run.annotated(), ["db/migrations/003_add_email.sql"], "{}", run.stdout);
    assert!(
        run.stdout.starts_with("::error file=db/migrations/003_add_email.sql,line=2,")
            && run.stdout.contains("title=add-column-not-null-without-default::"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("linting the 2 .sql file(s) this pull request adds or changes"), "{}", run.stderr);

    assert!(run.summary.starts_with("# ddlint: 1 error\n"), "{}", run.summary);
    assert!(run.summary.contains("Checked 2 files"), "{}", run.summary);
    assert!(run.summary.contains("## `db/migrations/003_add_email.sql`"), "{}", run.summary);
    assert!(!run.summary.contains("002_rename"), "{}", run.summary);

    let results = sarif_results(&pr.repo().join("reports/ddlint.sarif"));
    assert_eq!(results.len(), 1, "{results:#?}");
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "db/migrations/003_add_email.sql"
    );
    assert!(run.output.contains("exit-code=1\n"), "{}", run.output);
    assert!(run.output.contains("sarif-file=reports/ddlint.sarif\n"), "{}", run.output);
}

#[test]
fn changed_only_off_lints_every_migration() {
    let pr = typical_pull_request();
    let run = run_action(&pr, &pr.repo(), &[("INPUT_CHANGED_ONLY", "false"), ("INPUT_SUMMARY", "false")]);
    run.assert_code(1);
    assert_eq!(run.annotated(), ["db/migrations/002_rename.sql", "db/migrations/003_add_email.sql"], "{}", run.stdout);
    assert_eq!(run.summary, "", "summary: false writes nothing");
}

#[test]
fn flags_reach_ddlint() {
    let pr = pull_request(&[("db/migrations/003_rename_again.sql", OLD_UNSAFE)]);
    // Only a warning: `fail-on: error` lets it pass, and the annotation is still shown.
    let run = run_action(&pr, &pr.repo(), &[("INPUT_FAIL_ON", "error"), ("INPUT_PG_VERSION", "11")]);
    run.assert_code(0);
    assert_eq!(run.annotated(), ["db/migrations/003_rename_again.sql"], "{}", run.stdout);
    assert!(run.summary.contains("for PostgreSQL 11"), "{}", run.summary);
    assert!(run.output.contains("exit-code=0\n"), "{}", run.output);

    // Explicit paths replace the detection, and globs are passed to ddlint unexpanded.
    let run = run_action(
        &pr,
        &pr.repo(),
        &[("INPUT_PATHS", "db/migrations/*.sql"), ("INPUT_CHANGED_ONLY", "false"), ("INPUT_SUMMARY", "no")],
    );
    run.assert_code(1);
    assert_eq!(run.annotated(), ["db/migrations/002_rename.sql", "db/migrations/003_rename_again.sql"]);

    // A configuration error is ddlint's exit status 2.
    let run = run_action(&pr, &pr.repo(), &[("INPUT_CONFIG", "missing.toml")]);
    run.assert_code(2);
    assert!(run.stderr.contains("missing.toml"), "{}", run.stderr);
    assert!(run.output.contains("exit-code=2\n"), "{}", run.output);
}

#[test]
fn pull_request_without_migrations_passes() {
    let pr = pull_request(&[("README.md", "docs\n"), ("scripts/backfill.sql", "UPDATE users SET name = 'x';\n")]);
    let run = run_action(&pr, &pr.repo(), &[("INPUT_SARIF_FILE", "ddlint.sarif")]);
    run.assert_code(0);
    assert_eq!(run.stdout, "");
    assert!(run.summary.contains("changes no migration"), "{}", run.summary);
    assert_eq!(sarif_results(&pr.repo().join("ddlint.sarif")), Vec::<serde_json::Value>::new());
}

#[test]
fn repository_without_migration_directories_warns() {
    let pr = pull_request(&[]);
    let empty = pr.path("empty");
    fs::create_dir(&empty).expect("create a directory");
    git(&empty, &["init", "-q"]);
    let run = run_action(&pr, &empty, &[]);
    run.assert_code(0);
    assert!(run.stdout.starts_with("::warning title=ddlint::no migration directory found"), "{}", run.stdout);
}

#[test]
fn shallow_checkout_fetches_the_base_commit() {
    let pr = typical_pull_request();
    // A depth-1 clone, as actions/checkout makes, lacks the base commit; the origin allows
    // fetching it by its hash, as GitHub does.
    git(&pr.repo(), &["config", "uploadpack.allowAnySHA1InWant", "true"]);
    let url = format!("file://{}", pr.repo().display());
    git(pr.dir.path(), &["clone", "-q", "--depth", "1", &url, "shallow"]);
    let shallow = pr.path("shallow");
    assert!(Command::new("git")
        .current_dir(&shallow)
        .args(["cat-file", "-e", &format!("{}^{{commit}}", pr.base)])
        .output()
        .expect("run git")
        .status
        .code()
        .is_some_and(|c| c != 0));
    let run = run_action(&pr, &shallow, &[]);
    run.assert_code(1);
    assert!(run.stderr.contains(&format!("fetching the base commit {}", pr.base)), "{}", run.stderr);
    assert_eq!(run.annotated(), ["db/migrations/003_add_email.sql"], "{}\n{}", run.stdout, run.stderr);
}
