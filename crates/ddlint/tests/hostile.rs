//! Hostile inputs, end to end: each case runs the built binary on a directory holding one
//! hostile file (named `a_…` so that it also comes first in the sibling's migration history)
//! and `z_sibling.sql`, an ordinary migration with one known finding. The hostile file must
//! get a clear diagnostic or error, exit status 2 where it cannot be used at all, and the
//! sibling must still be linted and reported in the same run.
#![cfg(unix)]

use serde_json::Value;
use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_ddlint");
const SIBLING: &str = "z_sibling.sql";
/// Raises `rename-column` (a warning) and nothing else.
const SIBLING_SQL: &str = "SET lock_timeout = '2s';\nALTER TABLE users RENAME COLUMN name TO full_name;\n";
/// No run may take longer: a hang is a failure, not a stuck test suite.
const TIMEOUT: Duration = Duration::from_secs(120);

/// A temporary directory with the sibling migration in it.
struct Case {
    dir: TempDir,
}

/// What one run printed and how it ended.
#[derive(Debug)]
struct Outcome {
    /// `None` when the process was killed by a signal.
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Case {
    fn new() -> Self {
        let dir = tempfile::Builder::new().prefix("ddlint-hostile").tempdir().expect("create a temporary directory");
        // Readable by everyone, so that an unprivileged user can run in it (see `check_without_privileges`).
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("open up the directory");
        let case = Self { dir };
        case.write(SIBLING, SIBLING_SQL);
        case
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> &Self {
        fs::write(self.path(name), contents).expect("write the file");
        self
    }

    fn command(&self) -> Command {
        let mut command = Command::new(BIN);
        command.current_dir(self.dir.path()).env_remove("RAYON_NUM_THREADS");
        command
    }

    /// `ddlint check --format json <args>` with standard input closed.
    fn check(&self, args: &[&str]) -> Outcome {
        let mut command = self.command();
        command.arg("check").arg("--format").arg("json").args(args);
        run(command, None)
    }
}

/// Runs to completion, feeding `stdin` if given, and fails the test if it takes too long.
fn run(mut command: Command, stdin: Option<&[u8]>) -> Outcome {
    command.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        // The child may stop reading early; that is its business.
        let _ = pipe.write_all(bytes);
    }
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let code = wait(&mut child);
    Outcome { code, stdout: join(stdout), stderr: join(stderr) }
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn join(handle: std::thread::JoinHandle<String>) -> String {
    handle.join().expect("the reader thread does not panic")
}

/// Waits for the child, killing it and failing the test once [`TIMEOUT`] has passed.
fn wait(child: &mut Child) -> Option<i32> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("poll the child") {
            return status.code();
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ddlint did not finish within {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Outcome {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{self:#?}"))
    }

    /// `(rule, message, line, column)` of each finding in `path`.
    fn findings(&self, path: &str) -> Vec<(String, String, u64, u64)> {
        let json = self.json();
        let Some(diagnostics) = json["diagnostics"].as_array() else { panic!("no diagnostics array: {self:#?}") };
        diagnostics
            .iter()
            .filter(|d| d["path"] == path)
            .map(|d| {
                let text = |key: &str| d[key].as_str().unwrap_or_default().to_owned();
                let number = |key: &str| d["start"][key].as_u64().unwrap_or_default();
                (text("rule"), text("message"), number("line"), number("column"))
            })
            .collect()
    }

    fn rules(&self, path: &str) -> Vec<String> {
        self.findings(path).into_iter().map(|f| f.0).collect()
    }

    /// The one finding of `rule` in `path`.
    fn finding(&self, path: &str, rule: &str) -> (String, u64, u64) {
        let found: Vec<_> = self.findings(path).into_iter().filter(|f| f.0 == rule).collect();
        let [(_, message, line, column)] = found.as_slice() else {
            panic!("expected one `{rule}` in {path}, found {found:?}\n{self:#?}");
        };
        (message.clone(), *line, *column)
    }

    fn assert_code(&self, code: i32) {
        assert_eq!(self.code, Some(code), "unexpected exit status\n{self:#?}");
    }

    /// The sibling was linted in the same run, and nothing panicked.
    fn assert_sibling_linted(&self) {
        assert_eq!(self.rules(SIBLING), ["rename-column"], "the sibling was not linted\n{self:#?}");
        self.assert_no_panic();
    }

    fn assert_no_panic(&self) {
        assert!(!self.stderr.contains("panicked"), "ddlint panicked\n{self:#?}");
        assert!(!self.stderr.contains("RUST_BACKTRACE"), "ddlint panicked\n{self:#?}");
    }

    /// Standard error says exactly this, on one line.
    fn assert_error(&self, message: &str) {
        let line = format!("error: {message}");
        assert!(self.stderr.lines().any(|l| l == line), "expected `{line}` on stderr\n{self:#?}");
    }
}

/// A file `check` cannot use at all: one `unreadable-file` finding saying why, status 2.
fn assert_unreadable(name: &str, contents: &[u8], reason: &str) {
    let case = Case::new();
    case.write(name, contents);
    let outcome = case.check(&[name, SIBLING]);
    outcome.assert_code(2);
    let (message, line, column) = outcome.finding(name, "unreadable-file");
    assert!(message.contains(reason), "{message:?} does not say {reason:?}");
    assert_eq!((line, column), (1, 1));
    assert_eq!(outcome.rules(name), ["unreadable-file"]);
    outcome.assert_sibling_linted();
}

/// A file that is linted like any other: the findings' rules and positions.
fn lint_one(name: &str, contents: impl AsRef<[u8]>) -> Outcome {
    let case = Case::new();
    case.write(name, contents);
    let outcome = case.check(&[name, SIBLING]);
    outcome.assert_sibling_linted();
    outcome
}

#[test]
fn empty_and_comment_only_files_are_clean() {
    for contents in ["", "-- nothing to see\n/* at all */\n", "\n\n   \n"] {
        let outcome = lint_one("a_empty.sql", contents);
        assert_eq!(outcome.findings("a_empty.sql"), [], "{contents:?}");
        outcome.assert_code(1);
        assert_eq!(outcome.json()["files_checked"], 2);
    }
}

#[test]
fn a_50_mb_file_is_refused_without_exhausting_memory() {
    let mut sql = String::with_capacity(51 << 20);
    let mut n = 0;
    while sql.len() < 50 << 20 {
        sql.push_str(&format!("CREATE TABLE t_{n} (id bigint PRIMARY KEY, name text NOT NULL);\n"));
        n += 1;
    }
    let start = Instant::now();
    assert_unreadable("a_huge.sql", sql.as_bytes(), "file is too large to lint (over the limit of 16 MiB)");
    assert!(start.elapsed() < Duration::from_secs(60), "took {:?}", start.elapsed());
}

#[test]
fn a_one_megabyte_statement_is_linted() {
    let values: Vec<String> = (0..150_000).map(|i| i.to_string()).collect();
    let sql = format!("CREATE INDEX users_some ON users (id) WHERE id IN ({});\n", values.join(", "));
    assert!(sql.len() > 1 << 20);
    let outcome = lint_one("a_long.sql", &sql);
    assert_eq!(outcome.finding("a_long.sql", "create-index-non-concurrently").1, 1);
    outcome.assert_code(1);
}

#[test]
fn deep_nesting_is_a_syntax_error() {
    let sql = format!("SELECT {}1{};\n", "(".repeat(10_000), ")".repeat(10_000));
    let outcome = lint_one("a_nested.sql", sql);
    assert_eq!(outcome.rules("a_nested.sql"), ["syntax-error"]);
    let (message, line, _) = outcome.finding("a_nested.sql", "syntax-error");
    assert!(message.starts_with("statement is nested too deeply for PostgreSQL's parser ("), "{message}");
    assert_eq!(line, 1);
    outcome.assert_code(1);
}

#[test]
fn undecodable_files_are_unreadable() {
    assert_unreadable("a_latin1.sql", b"SELECT 'caf\xe9';\n", "not valid UTF-8 (invalid byte at offset 11)");
    let utf16: Vec<u8> =
        [0xFF, 0xFE].into_iter().chain("SELECT 1;\n".encode_utf16().flat_map(u16::to_le_bytes)).collect();
    assert_unreadable("a_utf16.sql", &utf16, "UTF-16");
    assert_unreadable("a_nul.sql", b"SELECT 1;\0\nSELECT 2;\n", "NUL byte at offset 9");
    let mut binary = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    binary.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    assert_unreadable("a_image.sql", &binary, "not valid UTF-8");
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let outcome = lint_one("a_bom.sql", "\u{feff}SET lock_timeout = '2s';\nALTER TABLE t RENAME COLUMN a TO b;\n");
    assert_eq!(outcome.finding("a_bom.sql", "rename-column").1, 2);
    assert_eq!(outcome.rules("a_bom.sql"), ["rename-column"]);
    // On the first line the mark is no column: editors do not show it.
    let outcome = lint_one("a_bom.sql", "\u{feff}ALTER TABLE t RENAME COLUMN a TO b;\n");
    assert_eq!(outcome.finding("a_bom.sql", "rename-column").1, 1);
    assert_eq!(outcome.finding("a_bom.sql", "rename-column").2, 15);
}

#[test]
fn crlf_and_cr_line_endings_keep_positions() {
    for ending in ["\r\n", "\r"] {
        let sql =
            format!("SET lock_timeout = '2s';{ending}SELECT 1;{ending}ALTER TABLE t{ending}  RENAME COLUMN a TO b;");
        let outcome = lint_one("a_endings.sql", sql);
        assert_eq!(outcome.findings("a_endings.sql").len(), 1, "{ending:?}: {outcome:#?}");
        let (_, line, column) = outcome.finding("a_endings.sql", "rename-column");
        assert_eq!((line, column), (4, 3), "{ending:?}");
    }
}

#[test]
fn unterminated_quotes_and_comments_are_syntax_errors() {
    let rename = "SET lock_timeout = '2s';\nALTER TABLE t RENAME COLUMN a TO b;\n";
    for (tail, message) in [
        ("SELECT 'abc;\n", "unterminated quoted string"),
        ("SELECT \"abc;\n", "unterminated quoted identifier"),
        ("DO $$ BEGIN\n  PERFORM 1;\n", "unterminated dollar-quoted string"),
        ("DO $body$ BEGIN END $other$;\n", "unterminated dollar-quoted string"),
        ("/* never closed\n", "unterminated /* comment"),
    ] {
        let outcome = lint_one("a_open.sql", format!("{rename}{tail}"));
        let (found, line, _) = outcome.finding("a_open.sql", "syntax-error");
        assert!(found.contains(message), "{tail:?}: {found}");
        assert_eq!(line, 3, "{tail:?}");
        // What comes before the unterminated token is still linted.
        assert_eq!(outcome.finding("a_open.sql", "rename-column").1, 2, "{tail:?}");
        outcome.assert_code(1);
    }
}

#[test]
fn psql_meta_commands_are_noted_and_skipped() {
    let sql = "\\set ON_ERROR_STOP on\n\\connect app\nSET lock_timeout = '2s';\n\\i other.sql\nALTER TABLE t RENAME COLUMN a TO b;\n";
    let outcome = lint_one("a_psql.sql", sql);
    let notes: Vec<u64> =
        outcome.findings("a_psql.sql").into_iter().filter(|f| f.0 == "psql-meta-command").map(|f| f.2).collect();
    assert_eq!(notes, [1, 2, 4]);
    assert_eq!(outcome.finding("a_psql.sql", "rename-column").1, 5);
}

#[test]
fn symlink_loops_are_reported() {
    let case = Case::new();
    std::os::unix::fs::symlink("a_self.sql", case.path("a_self.sql")).expect("make a link");
    std::os::unix::fs::symlink("a_pong.sql", case.path("a_ping.sql")).expect("make a link");
    std::os::unix::fs::symlink("a_ping.sql", case.path("a_pong.sql")).expect("make a link");
    // A directory that links back to its parent: searched once, not forever.
    fs::create_dir(case.path("a_dir")).expect("make a directory");
    std::os::unix::fs::symlink("..", case.path("a_dir/up")).expect("make a link");

    let outcome = case.check(&["."]);
    outcome.assert_code(2);
    for name in ["a_ping.sql", "a_pong.sql", "a_self.sql"] {
        outcome.assert_error(&format!("{name}: too many levels of symbolic links"));
    }
    outcome.assert_sibling_linted();
    assert_eq!(outcome.json()["files_checked"], 1);

    let outcome = case.check(&["a_self.sql", SIBLING]);
    outcome.assert_code(2);
    outcome.assert_error("a_self.sql: too many levels of symbolic links");
    outcome.assert_sibling_linted();
}

#[test]
fn a_fifo_is_rejected_without_blocking() {
    let case = Case::new();
    let status = Command::new("mkfifo").arg(case.path("a_pipe.sql")).status().expect("run mkfifo");
    assert!(status.success(), "mkfifo failed");
    // Nothing ever writes to the FIFO: opening it for reading would block forever.
    for args in [&["."][..], &["a_pipe.sql", SIBLING][..]] {
        let outcome = case.check(args);
        outcome.assert_code(2);
        outcome.assert_error("a_pipe.sql: not a regular file");
        outcome.assert_sibling_linted();
    }
}

#[test]
fn a_named_pipe_of_this_process_is_still_read() {
    // `ddlint check /dev/stdin` is how some wrappers pass a file; its writer is already there.
    let case = Case::new();
    let mut command = case.command();
    command.args(["check", "--format", "json", "/dev/stdin", SIBLING]);
    let outcome = run(command, Some(b"SET lock_timeout = '2s';\nDROP INDEX i;\n"));
    outcome.assert_sibling_linted();
    assert_eq!(outcome.rules("/dev/stdin"), ["drop-index-non-concurrently"]);
}

/// Runs `ddlint check` as an unprivileged user when the tests run as root, for whom file
/// permissions are no obstacle.
fn check_without_privileges(case: &Case, args: &[&str]) -> Outcome {
    let mut command = if is_root() {
        let mut command = Command::new("setpriv");
        command.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]).arg(BIN);
        command
    } else {
        Command::new(BIN)
    };
    command.current_dir(case.dir.path()).args(["check", "--format", "json"]).args(args);
    run(command, None)
}

fn is_root() -> bool {
    let output = Command::new("id").arg("-u").output().expect("run id -u");
    String::from_utf8_lossy(&output.stdout).trim() == "0"
}

#[test]
fn unreadable_files_and_directories_are_reported() {
    let case = Case::new();
    case.write("a_secret.sql", "DROP TABLE users;\n");
    fs::set_permissions(case.path("a_secret.sql"), fs::Permissions::from_mode(0o000)).expect("chmod");
    fs::create_dir(case.path("a_locked")).expect("make a directory");
    case.write("a_locked/001.sql", "DROP TABLE users;\n");
    fs::set_permissions(case.path("a_locked"), fs::Permissions::from_mode(0o000)).expect("chmod");

    let outcome = check_without_privileges(&case, &["."]);
    // Restore access first, so that the temporary directory can be removed whatever happens.
    fs::set_permissions(case.path("a_locked"), fs::Permissions::from_mode(0o755)).expect("chmod");
    outcome.assert_code(2);
    outcome.assert_error("a_secret.sql: permission denied");
    outcome.assert_error("a_locked: permission denied");
    outcome.assert_sibling_linted();
    assert!(outcome.findings("a_secret.sql").is_empty());
    assert!(outcome.findings("a_locked/001.sql").is_empty());

    let outcome = check_without_privileges(&case, &["a_secret.sql", SIBLING]);
    outcome.assert_code(2);
    outcome.assert_error("a_secret.sql: permission denied");
    outcome.assert_sibling_linted();
}

#[test]
fn an_endless_stdin_is_refused_not_read_into_memory() {
    let case = Case::new();
    let mut command = Command::new("sh");
    command.current_dir(case.dir.path()).args([
        "-c",
        "exec \"$0\" check --format json - \"$1\" < /dev/zero",
        BIN,
        SIBLING,
    ]);
    let outcome = run(command, None);
    outcome.assert_code(2);
    let (message, line, _) = outcome.finding("<stdin>", "unreadable-file");
    assert_eq!((message.as_str(), line), ("file is too large to lint (over the limit of 16 MiB)", 1));
    outcome.assert_sibling_linted();
}

#[test]
fn stdin_closed_early() {
    let case = Case::new();
    // The writer closes the pipe without sending anything: an empty file.
    let mut command = case.command();
    command.args(["check", "--format", "json", "-", SIBLING]);
    let outcome = run(command, Some(b""));
    outcome.assert_code(1);
    assert_eq!(outcome.findings("<stdin>"), []);
    outcome.assert_sibling_linted();

    // The writer stops in the middle of a statement: what arrived is linted.
    let mut command = case.command();
    command.args(["check", "--format", "json", "-", SIBLING]);
    let outcome = run(command, Some(b"SET lock_timeout = '2s';\nALTER TABLE t RENAME COLUMN a TO b;\nSELECT 'half"));
    outcome.assert_code(1);
    assert_eq!(outcome.rules("<stdin>"), ["rename-column", "syntax-error"]);
    outcome.assert_sibling_linted();

    // Standard input is not open at all.
    let mut command = Command::new("sh");
    command.current_dir(case.dir.path()).args(["-c", "exec \"$0\" check --format json - \"$1\" <&-", BIN, SIBLING]);
    let outcome = run(command, None);
    outcome.assert_code(1);
    assert_eq!(outcome.findings("<stdin>"), []);
    outcome.assert_sibling_linted();
}

#[test]
fn stdout_closed_early() {
    let case = Case::new();
    let many: String = (0..2000).map(|i| format!("ALTER TABLE t RENAME COLUMN a{i} TO b{i};\n")).collect();
    case.write("a_many.sql", format!("SET lock_timeout = '2s';\n{many}"));

    // The reader is gone before anything is written.
    let mut child = case
        .command()
        .args(["check", "a_many.sql", SIBLING])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ddlint");
    drop(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let code = wait(&mut child);
    let stderr = join(stderr);
    assert_eq!((code, stderr.as_str()), (Some(1), ""), "a closed stdout is a quiet end");

    // `ddlint check … | head -1`: the reader takes one line and leaves.
    let mut child = case
        .command()
        .args(["check", "--color", "never", "a_many.sql", SIBLING])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ddlint");
    let stderr = drain(child.stderr.take());
    let mut reader = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let mut first = String::new();
    reader.read_line(&mut first).expect("read the first line");
    drop(reader);
    let code = wait(&mut child);
    let stderr = join(stderr);
    // Over several files, the report opens with the first file's header.
    assert!(first.starts_with("a_many.sql ("), "{first}");
    assert_eq!((code, stderr.as_str()), (Some(1), ""), "a closed stdout is a quiet end");
}

#[test]
fn every_hostile_file_in_one_directory() {
    // All of the above at once, found by searching the directory: each file is accounted
    // for and the run still reports the sibling.
    let case = Case::new();
    case.write("a_empty.sql", "")
        .write("a_latin1.sql", b"SELECT 'caf\xe9';\n")
        .write("a_nul.sql", b"SELECT 1;\0")
        .write("a_open.sql", "SELECT 'abc;\n")
        .write("a_crlf.sql", "SET lock_timeout = '2s';\r\nDROP INDEX i;\r\n");
    std::os::unix::fs::symlink("a_self.sql", case.path("a_self.sql")).expect("make a link");
    let status = Command::new("mkfifo").arg(case.path("a_pipe.sql")).status().expect("run mkfifo");
    assert!(status.success());

    let outcome = case.check(&[]);
    outcome.assert_code(2);
    outcome.assert_error("a_pipe.sql: not a regular file");
    outcome.assert_error("a_self.sql: too many levels of symbolic links");
    assert_eq!(outcome.rules("a_latin1.sql"), ["unreadable-file"]);
    assert_eq!(outcome.rules("a_nul.sql"), ["unreadable-file"]);
    assert_eq!(outcome.rules("a_open.sql"), ["syntax-error"]);
    assert_eq!(outcome.finding("a_crlf.sql", "drop-index-non-concurrently").1, 2);
    assert_eq!(outcome.json()["files_checked"], 6);
    outcome.assert_sibling_linted();
}

#[test]
fn a_file_name_that_is_not_utf8_is_shown_lossily() {
    let case = Case::new();
    let name = OsStr::from_bytes(b"a_\xff.sql");
    fs::write(case.dir.path().join(name), "SET lock_timeout = '2s';\nDROP INDEX i;\n").expect("write");
    let outcome = case.check(&["."]);
    outcome.assert_code(1);
    assert_eq!(outcome.rules("a_\u{fffd}.sql"), ["drop-index-non-concurrently"]);
    outcome.assert_sibling_linted();
}
