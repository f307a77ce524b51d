//! Project chores: `cargo xtask codegen` regenerates the rule pages and the README's rules table;
//! `cargo xtask builtin-functions` regenerates the volatility of PostgreSQL's built-in functions
//! from running servers; `cargo xtask corpus-report` counts findings over the corpus of real migrations;
//! `cargo xtask vendor-libpg-query` refreshes ddlint-core's copy of libpg_query's sources.

mod builtin_functions;
mod corpus_report;
mod vendor_libpg_query;

use ddlint_core::{docs, registry};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::{env, fs, io};

const USAGE: &str = "usage: cargo xtask codegen
       cargo xtask builtin-functions [--check]
       cargo xtask corpus-report [CORPUS] [--sample N]
       cargo xtask vendor-libpg-query

commands:
  codegen        write rules/<id>.md for every rule, delete pages of removed rules, and refresh the
                 rules table between the README's `<!-- rules:start -->` and `<!-- rules:end -->`
  builtin-functions
                 write crates/ddlint-core/src/lock_model/builtin_functions.rs, the volatility of
                 every function in pg_catalog on each server of DDLINT_PG_CLUSTERS
                 (`14=host=/tmp/ddlint-pg/14 port=54314 user=postgres dbname=postgres,15=…`, as
                 verify/start-clusters.sh prints it), queried with psql (or the client named by
                 PSQL); with --check, write nothing and fail when the file's table differs
  corpus-report  lint CORPUS (default ../shared/corpus) with a release build three ways: as plain
                 files, with framework conventions, and with migration history too; print findings
                 per rule as a Markdown table and a sample of N (default 20) findings added and
                 removed by that awareness
  vendor-libpg-query
                 copy the libpg_query sources that ddlint-core's C compiles against from the
                 pg_query package in Cargo.lock into crates/ddlint-core/libpg_query (see
                 docs/upgrading-pg-query.md)";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["codegen"] => match codegen(&repo_root()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: {err}");
                ExitCode::from(2)
            }
        },
        ["builtin-functions", flags @ ..] if matches!(flags, [] | ["--check"]) => {
            match builtin_functions::run(&repo_root(), !flags.is_empty()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("error: {err}");
                    ExitCode::from(2)
                }
            }
        }
        ["corpus-report", rest @ ..] => {
            let mut corpus = repo_root().join("../shared/corpus");
            let mut sample = 20;
            let mut rest = rest.iter();
            while let Some(arg) = rest.next() {
                match (*arg, rest.clone().next()) {
                    ("--sample", Some(n)) => {
                        let Ok(n) = n.parse() else {
                            eprintln!("error: --sample takes a number");
                            return ExitCode::from(2);
                        };
                        sample = n;
                        rest.next();
                    }
                    (path, _) => corpus = PathBuf::from(path),
                }
            }
            match corpus_report::run(&repo_root(), &corpus, sample) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("error: {err}");
                    ExitCode::from(2)
                }
            }
        }
        ["vendor-libpg-query"] => match vendor_libpg_query::run(&repo_root()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: {err}");
                ExitCode::from(2)
            }
        },
        ["help" | "-h" | "--help"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// The workspace root, two levels above this crate.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn codegen(root: &Path) -> Result<(), String> {
    let rules_dir = root.join("rules");
    fs::create_dir_all(&rules_dir).map_err(|e| format!("cannot create {}: {e}", rules_dir.display()))?;

    let mut wanted = BTreeSet::new();
    for rule in registry::all() {
        let file = format!("{}.md", rule.id);
        update(&rules_dir.join(&file), &docs::rule_page(rule))?;
        wanted.insert(file);
    }

    let entries = fs::read_dir(&rules_dir).map_err(|e| format!("cannot read {}: {e}", rules_dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| format!("cannot read {}: {e}", rules_dir.display()))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if path.extension().is_some_and(|e| e == "md") && !wanted.contains(name) {
            fs::remove_file(&path).map_err(|e| format!("cannot delete {}: {e}", path.display()))?;
            println!("deleted {}", display(root, &path));
        }
    }

    // The lead owns the README; codegen only refreshes the marked section when there is one.
    let readme = root.join("README.md");
    match fs::read_to_string(&readme) {
        Ok(text) => match docs::replace_between_markers(&text, &docs::rules_table()) {
            Some(updated) => update(&readme, &updated)?,
            None => println!("skipped README.md: no `{}` … `{}` markers", docs::TABLE_START, docs::TABLE_END),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            println!("skipped README.md: it does not exist")
        }
        Err(e) => return Err(format!("cannot read {}: {e}", readme.display())),
    }
    Ok(())
}

/// Writes `contents` to `path` unless the file already holds exactly that.
fn update(path: &Path, contents: &str) -> Result<(), String> {
    if fs::read_to_string(path).is_ok_and(|old| old == contents) {
        return Ok(());
    }
    fs::write(path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("updated {}", display(&repo_root(), path));
    Ok(())
}

fn display(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}
