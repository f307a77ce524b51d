//! Lints every file of the shared corpus of real migrations (`../shared/corpus`, beside the
//! repository). Each file must be linted without a panic and be accounted for: parsed into
//! statements, or reported with a diagnostic that says why not. Only the files that are
//! genuinely broken SQL may carry a syntax error: the ones the corpus's `PARSECHECK.tsv`
//! found broken even after normalising framework markers and placeholders. The tests are
//! skipped when the corpus is absent, and fail for it under CI.

mod support;

use ddlint_core::{lint_file, Settings};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// How many corpus files are genuinely broken SQL: a non-breaking space in code, a psql
/// meta-command PostgreSQL no longer accepts, statements missing their `;` or keywords.
const GENUINELY_BROKEN: usize = 8;

/// The files `PARSECHECK.tsv` marks as failing to parse after normalisation (column 4).
fn broken_per_parsecheck(dir: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(dir.join("PARSECHECK.tsv")).expect("the corpus has PARSECHECK.tsv");
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let columns: Vec<&str> = line.split('\t').collect();
            (columns.get(1) == Some(&"FAIL") && columns.get(3) == Some(&"FAIL")).then(|| columns[0].to_owned())
        })
        .collect()
}

fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    dir.is_dir().then_some(dir)
}

/// The corpus directory and its `.sql` files in path order, when the corpus is there.
fn corpus_files() -> Option<(PathBuf, Vec<PathBuf>)> {
    let dir = corpus_dir()?;
    let mut files = Vec::new();
    sql_files(&dir, &mut files);
    Some((dir, files))
}

fn sql_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sql_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "sql") {
            out.push(path);
        }
    }
}

/// True when the text holds nothing but comments and whitespace, so that no statement
/// and no diagnostic is the right outcome.
fn has_no_code(text: &str) -> bool {
    let settings = Settings::default();
    let report = lint_file("probe.sql", text.as_bytes(), &settings);
    report.statement_count == 0 && report.diagnostics.is_empty()
}

#[test]
fn every_corpus_file_is_linted_or_explained() {
    let Some((dir, files)) = corpus_files() else {
        support::skip("../shared/corpus is absent");
        return;
    };
    assert!(files.len() > 1000, "expected thousands of corpus files, found {}", files.len());

    let settings = Settings::default();
    let mut unaccounted = Vec::new();
    let mut panics = Vec::new();
    let mut with_syntax_errors = BTreeSet::new();
    for path in &files {
        let bytes = std::fs::read(path).expect("corpus file is readable");
        let name = path.to_string_lossy();
        let outcome = std::panic::catch_unwind(|| lint_file(&name, &bytes, &settings));
        let Ok(report) = outcome else {
            panics.push(name.into_owned());
            continue;
        };
        if report.diagnostics.iter().any(|d| d.rule == "syntax-error") {
            let relative = path.strip_prefix(&dir).unwrap_or(path);
            with_syntax_errors.insert(relative.to_string_lossy().replace('\\', "/"));
        }
        for d in &report.diagnostics {
            assert!(d.span.start <= d.span.end && d.span.end <= report.text.len(), "{name}: span out of range");
            assert!(report.text.is_char_boundary(d.span.start) && report.text.is_char_boundary(d.span.end));
        }
        if report.statement_count == 0 && report.diagnostics.is_empty() && !has_no_code(&report.text) {
            unaccounted.push(name.into_owned());
        }
    }
    assert!(panics.is_empty(), "panicked on: {panics:#?}");
    assert!(unaccounted.is_empty(), "neither linted nor explained: {unaccounted:#?}");
    assert_eq!(with_syntax_errors, broken_per_parsecheck(&dir), "files with syntax errors");
    assert_eq!(with_syntax_errors.len(), GENUINELY_BROKEN, "{with_syntax_errors:#?}");
    eprintln!("{} corpus files linted, {} with syntax errors", files.len(), with_syntax_errors.len());
}

/// ddlint writes PostgreSQL's parse tree to protobuf with its own encoder
/// (`csrc/tree_encoder.c`); decoded, it must be the very tree that libpg_query's encoder
/// gives, for every file of the corpus, and fail with the same error where that fails.
#[test]
fn the_tree_encoder_matches_libpg_query_over_the_corpus() {
    let Some((_, files)) = corpus_files() else {
        support::skip("../shared/corpus is absent");
        return;
    };
    let mut compared = 0;
    let mut failed_alike = 0;
    for path in &files {
        let Ok(text) = std::fs::read_to_string(path) else { continue };
        let name = path.display();
        // Deeply nested trees recurse deeply in the decoder and in `pg_query`'s own walk.
        let parsed = ddlint_core::with_deep_stack(|| (ddlint_core::pg_ffi::parse(&text), pg_query::parse(&text, 0)));
        match parsed {
            (Ok(ours), Ok(reference)) => assert!(ours == reference.protobuf, "{name}: the trees differ"),
            (Err(ours), Err(reference)) => {
                if let pg_query::Error::Parse(message) = reference {
                    assert_eq!(ours.message, message, "{name}");
                }
                failed_alike += 1;
            }
            (ours, reference) => panic!("{name}: ours {:?}, libpg_query's {:?}", ours.err(), reference.err()),
        }
        compared += 1;
    }
    assert!(compared > 1000, "expected thousands of corpus files, compared {compared}");
    eprintln!("{compared} corpus files parsed alike, {failed_alike} of them failing alike");
}

/// Files are parsed and scanned in one pass of PostgreSQL's scanner
/// (`pg_ffi::parse_and_scan_for_lint`); for every file of the corpus, as ddlint masks it,
/// that pass must give the tree of a parse of its own and the tokens of a scan of its own,
/// or fail where the parse fails.
#[test]
fn one_pass_parses_and_scans_the_corpus_as_two_passes_do() {
    let Some((_, files)) = corpus_files() else {
        support::skip("../shared/corpus is absent");
        return;
    };
    let (mut compared, mut failed) = (0, 0);
    for path in &files {
        let Ok(text) = std::fs::read_to_string(path) else { continue };
        let sql = ddlint_core::preprocess::mask(&text).text;
        let name = path.display();
        let (one_pass, tree) = ddlint_core::with_deep_stack(|| {
            (ddlint_core::pg_ffi::parse_and_scan_for_lint(&sql), ddlint_core::pg_ffi::parse_for_lint(&sql))
        });
        match (one_pass, tree) {
            (Ok((tree, tokens)), Ok(reference)) => {
                assert!(tree == reference, "{name}: the trees differ");
                assert!(Ok(tokens) == ddlint_core::pg_ffi::scan(&sql), "{name}: the tokens differ");
            }
            (Err(ours), Err(reference)) => {
                assert_eq!(ours, reference, "{name}");
                failed += 1;
            }
            (ours, reference) => panic!("{name}: one pass {:?}, the parse alone {:?}", ours.err(), reference.err()),
        }
        compared += 1;
    }
    assert!(compared > 1000, "expected thousands of corpus files, compared {compared}");
    eprintln!("{compared} corpus files parsed and scanned alike in one pass, {failed} failing alike");
}
