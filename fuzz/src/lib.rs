//! Checks shared by the fuzz targets in `fuzz_targets/`: each target turns the fuzzer's bytes
//! into an input and calls one `check_*` function here, which panics (and so reports a crash)
//! when an invariant does not hold.
//!
//! The checks live in a library so that `cargo test` in this directory exercises them on
//! known inputs, without the fuzzer.

pub mod engine;
pub mod markdown;
pub mod reporters;
pub mod xml;

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Mutex, OnceLock, PoisonError};

/// Runs a check on a thread whose stack is big enough that `ddlint_core::with_deep_stack`
/// never switches to a stack of its own: AddressSanitizer loses track of a switched stack when
/// libpg_query longjmps out of a parse error, and then reports false overflows
/// (google/sanitizers#189). The thread is started once and reused, since AddressSanitizer
/// clears the shadow of a whole stack each time a thread starts. A panic in the check is a
/// panic of the caller.
pub fn on_big_stack(check: impl FnOnce() + Send + 'static) {
    static WORKER: OnceLock<Mutex<Worker>> = OnceLock::new();
    let worker = WORKER.get_or_init(|| Mutex::new(Worker::start()));
    let worker = worker.lock().unwrap_or_else(PoisonError::into_inner);
    if worker.jobs.send(Box::new(check)).is_err() {
        panic!("the fuzzing thread is gone");
    }
    match worker.done.recv() {
        Ok(Ok(())) => {}
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("the fuzzing thread is gone"),
    }
}

type Job = Box<dyn FnOnce() + Send>;

struct Worker {
    jobs: Sender<Job>,
    done: Receiver<std::thread::Result<()>>,
}

impl Worker {
    fn start() -> Self {
        let (jobs, incoming) = channel::<Job>();
        let (finished, done) = channel();
        let spawned = std::thread::Builder::new()
            .name("fuzz".to_owned())
            .stack_size(2 * ddlint_core::DEEP_STACK_SIZE)
            .spawn(move || {
                for job in incoming {
                    if finished.send(std::panic::catch_unwind(AssertUnwindSafe(job))).is_err() {
                        return;
                    }
                }
            });
        if let Err(e) = spawned {
            panic!("cannot start the fuzzing thread: {e}");
        }
        Self { jobs, done }
    }
}

/// FNV-1a over the input: a stable way to pick settings from the bytes themselves, so a
/// crashing input replays with the settings that made it crash.
pub fn selector(data: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in data {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The config target: any text parses into a config or an error that names a position
/// inside the text, and a parsed config resolves into valid settings or a clear error.
pub fn check_config(text: &str) {
    use clap::Parser as _;
    let config = match ddlint::config::parse(text) {
        Ok(config) => config,
        Err(message) => {
            assert!(message.starts_with(':'), "an error that cannot follow a file name: {message:?}");
            assert!(!message.ends_with('.'), "an error that ends with a period: {message:?}");
            if let Some((line, column)) = error_position(&message) {
                let lines = text.split('\n').count();
                assert!(1 <= line && line <= lines, "error at line {line} of {lines}: {message:?}");
                assert!(column >= 1, "error at column {column}: {message:?}");
            }
            return;
        }
    };
    let Ok(ddlint::cli::Cli { command: ddlint::cli::Command::Check(args) }) =
        ddlint::cli::Cli::try_parse_from(["ddlint", "check"])
    else {
        panic!("`ddlint check` does not parse");
    };
    let cwd = std::path::Path::new("/fuzz/project");
    let loaded = ddlint::config::Loaded { shown: "ddlint.toml".to_owned(), dir: cwd.to_path_buf(), config };
    if let Ok(resolved) = ddlint::config::resolve(&args, Some(&loaded), cwd) {
        assert!(resolved.settings.validate().is_ok(), "a resolved config with invalid settings");
    }
}

/// The `line` and `column` of an error that starts `:line:column: `.
fn error_position(message: &str) -> Option<(usize, usize)> {
    let mut parts = message.strip_prefix(':')?.splitn(3, ':');
    let line = parts.next()?.parse().ok()?;
    let column = parts.next()?.parse().ok()?;
    Some((line, column))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_errors_and_configs_pass() {
        for text in [
            "",
            "pg-version = 14\nfoo = 1\n",
            "pg-version = 9",
            "[rules]\nset-not-null = \"fatal\"",
            "include = [\"{\"]",
            "enable = [\"rename-column\"]\ndisable = [\"rename-column\"]",
            "\u{feff}x = \"\\u0000\"",
        ] {
            check_config(text);
        }
    }

    #[test]
    fn a_panic_on_the_big_stack_reaches_the_caller() {
        on_big_stack(|| {
            assert!(
                ddlint_core::lint_file("x.sql", b"SELEC 1;", &ddlint_core::Settings::default()).diagnostics.len() == 1
            )
        });
        assert!(std::panic::catch_unwind(|| on_big_stack(|| panic!("expected"))).is_err());
        on_big_stack(|| {});
    }

    #[test]
    fn reads_error_positions() {
        assert_eq!(error_position(":2:1: unknown field `foo`"), Some((2, 1)));
        assert_eq!(error_position(": unknown rule"), None);
    }
}
