//! The parse-only floor: how long PostgreSQL's parser alone takes over a set of files.
//!
//! No linter built on libpg_query can be faster than parsing its input once, so this is the
//! yardstick `bench/compare.sh` holds ddlint to. All files are read first; only the parsing
//! is timed, spread over a rayon pool the size of the machine's cores (or `--threads N`).
//! The median of `--runs N` runs is printed, one line per measurement: `<name>\t<seconds>`.
//!
//! ```text
//! cargo run --release -p ddlint-core --example parse_floor -- [--threads N] [--runs N] [--only NAME] <paths>…
//! ```
//!
//! `--only` runs just the measurements whose name contains NAME, so that a profiler or
//! `/usr/bin/time` sees one of them alone.
//!
//! - `pg_query::parse`: the `pg_query` crate's whole-file parse (protobuf encode, decode and
//!   the crate's own walk over the tree).
//! - `pg_ffi::parse`: the same tree without that walk, through ddlint's own protobuf encoder
//!   of the tree instead of libpg_query's (upb's).
//! - `pg_ffi::parse_for_lint`: as ddlint parses, with data statements trimmed to what its
//!   rules read as the tree is encoded.
//! - `pg_ffi::parse_and_scan_for_lint`: as ddlint parses a file, trimmed, with its tokens
//!   from the same pass of the scanner.
//! - `pg_ffi::scan`: libpg_query's scanner alone, which ddlint runs first over a file with a
//!   syntax error.
//! - `pg_ffi::scan+parse each statement`: the scanner, then the parser on each statement
//!   alone: what ddlint does where a batch of statements of such a file fails to parse.
//! - `raw_parser`: PostgreSQL's grammar alone, through libpg_query's internal
//!   `pg_query_raw_parse`, without the protobuf encoding and decoding that every public
//!   entry point adds. No tree reaches Rust: this is the floor of any libpg_query linter.

use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn main() {
    let mut threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut runs = 5;
    let mut only = String::new();
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => threads = args.next().and_then(|n| n.parse().ok()).unwrap_or(threads),
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(runs),
            "--only" => only = args.next().unwrap_or_default(),
            _ => paths.push(PathBuf::from(arg)),
        }
    }
    if paths.is_empty() {
        eprintln!("usage: parse_floor [--threads N] [--runs N] [--only NAME] <files or directories>…");
        std::process::exit(2);
    }

    let mut files = Vec::new();
    for path in &paths {
        collect(path, &mut files);
    }
    files.sort();
    let mut texts: Vec<String> = files.iter().filter_map(|f| std::fs::read_to_string(f).ok()).collect();
    // Large files first, so that none of them starts last and runs alone: the floor is the
    // best schedule, not the path order.
    texts.sort_by_key(|t| std::cmp::Reverse(t.len()));
    let bytes: usize = texts.iter().map(String::len).sum();
    eprintln!("{} files, {:.1} MB, {threads} threads, median of {runs} runs", texts.len(), bytes as f64 / 1e6);

    // The parser recurses once per level of nesting, as in the linter's own workers.
    let pool =
        match rayon::ThreadPoolBuilder::new().num_threads(threads).stack_size(ddlint_core::DEEP_STACK_SIZE).build() {
            Ok(pool) => pool,
            Err(e) => {
                eprintln!("error: cannot start the thread pool: {e}");
                std::process::exit(2);
            }
        };
    let measure = |name: &str, parse: &(dyn Fn(&str) -> usize + Sync)| {
        if !name.contains(&only) {
            return;
        }
        let mut times: Vec<Duration> = (0..runs.max(1))
            .map(|_| {
                let start = Instant::now();
                let statements: usize = pool.install(|| texts.par_iter().map(|t| parse(t)).sum());
                std::hint::black_box(statements);
                start.elapsed()
            })
            .collect();
        times.sort();
        println!("{name}\t{:.3}", times[times.len() / 2].as_secs_f64());
    };
    measure("pg_query::parse", &|text| pg_query::parse(text, 0).map_or(0, |r| r.protobuf.stmts.len()));
    measure("pg_ffi::parse", &|text| ddlint_core::pg_ffi::parse(text).map_or(0, |r| r.stmts.len()));
    measure("pg_ffi::parse_for_lint", &|text| ddlint_core::pg_ffi::parse_for_lint(text).map_or(0, |r| r.stmts.len()));
    measure("pg_ffi::parse_and_scan_for_lint", &|text| {
        ddlint_core::pg_ffi::parse_and_scan_for_lint(text).map_or(0, |(r, _)| r.stmts.len())
    });
    measure("raw_parser", &raw_parse);
    measure("pg_ffi::scan", &|text| ddlint_core::pg_ffi::scan(text).map_or(0, |t| t.len()));
    measure("pg_ffi::scan+parse each statement", &|text| {
        let Ok(tokens) = ddlint_core::pg_ffi::scan(text) else { return 0 };
        let pieces = ddlint_core::parse::split_statements(&tokens);
        pieces
            .iter()
            .filter(|p| {
                ddlint_core::pg_ffi::parse_for_lint(&text[tokens[p.start].start..tokens[p.end - 1].end]).is_ok()
            })
            .count()
    });
}

/// libpg_query's internal entry point (`pg_query_internal.h`): the `List *` of `RawStmt`
/// that PostgreSQL's `raw_parser` returns, allocated in the memory context entered before.
#[repr(C)]
struct RawParseResult {
    tree: *mut std::ffi::c_void,
    stderr_buffer: *mut std::ffi::c_char,
    error: *mut std::ffi::c_void,
}

extern "C" {
    fn pg_query_enter_memory_context() -> *mut std::ffi::c_void;
    fn pg_query_exit_memory_context(context: *mut std::ffi::c_void);
    fn pg_query_raw_parse(input: *const std::ffi::c_char, parser_options: std::ffi::c_int) -> RawParseResult;
    fn pg_query_free_error(error: *mut std::ffi::c_void);
    fn free(pointer: *mut std::ffi::c_void);
}

/// Parses `text` with PostgreSQL's grammar and frees the tree; 1 when it parsed.
fn raw_parse(text: &str) -> usize {
    let Ok(input) = std::ffi::CString::new(text) else { return 0 };
    // SAFETY: the same sequence as libpg_query's own `pg_query_parse_protobuf_opts`: enter a
    // memory context, parse into it, free the malloc'd buffers, delete the context.
    unsafe {
        let context = pg_query_enter_memory_context();
        let result = pg_query_raw_parse(input.as_ptr(), 0);
        let parsed = result.error.is_null();
        if !result.error.is_null() {
            pg_query_free_error(result.error);
        }
        free(result.stderr_buffer.cast());
        pg_query_exit_memory_context(context);
        usize::from(parsed)
    }
}

/// The `*.sql` files under `path`, or `path` itself when it is a file.
fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(path) else {
        out.push(path.to_owned());
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "sql") {
            out.push(path);
        }
    }
}
