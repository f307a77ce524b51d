//! Micro-benchmarks of the reporters: each output format rendering the same findings.
//!
//! Two runs are rendered: every fixture of the repository linted as a file of its own (many
//! files, a few findings each), and all the fixtures joined and repeated into one file with
//! thousands of findings, where a reporter that rescans the text per finding would show.

use clap::ValueEnum;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ddlint::report::{render, Format, Run};
use ddlint_core::{lint_file, FileReport, Settings};
use std::path::{Path, PathBuf};

/// How many copies of the joined fixtures make the dense file.
const COPIES: usize = 10;

fn fixture_files() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let mut paths = Vec::new();
    collect(&root, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .filter_map(|path| {
            let sql = std::fs::read_to_string(&path).ok()?;
            let shown = path.strip_prefix(&root).unwrap_or(&path).display().to_string();
            Some((shown, sql))
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "sql") {
            out.push(path);
        }
    }
}

fn reporters(c: &mut Criterion) {
    let settings = Settings::default();
    let files = fixture_files();
    let many: Vec<FileReport> = files.iter().map(|(path, sql)| lint_file(path, sql.as_bytes(), &settings)).collect();
    // An unreadable fixture or an unterminated quote would swallow the joined file.
    let joined: String = files
        .iter()
        .zip(&many)
        .filter(|(_, report)| !report.unreadable && report.diagnostics.iter().all(|d| d.rule != "syntax-error"))
        .map(|((_, sql), _)| format!("{sql}\n"))
        .collect::<String>()
        .repeat(COPIES);
    let dense = vec![lint_file("dense.sql", joined.as_bytes(), &settings)];

    let mut group = c.benchmark_group("reporter");
    group.sample_size(30);
    for (input, reports) in [("fixtures", &many), ("dense", &dense)] {
        let findings: usize = reports.iter().map(|f| f.diagnostics.len()).sum();
        group.throughput(Throughput::Elements(findings as u64));
        for format in Format::value_variants() {
            let name = format.to_possible_value().map_or_else(|| format!("{format:?}"), |v| v.get_name().to_owned());
            for color in [false, true] {
                // Only the human format has colours.
                if color && *format != Format::Human {
                    continue;
                }
                let id = if color { format!("{name}_color") } else { name.clone() };
                let run = Run { files: reports, color, pg_version: 15, ..Run::default() };
                group.bench_function(BenchmarkId::new(id, input), |b| {
                    b.iter(|| render(*format, &run, &mut std::io::sink()))
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, reporters);
criterion_main!(benches);
