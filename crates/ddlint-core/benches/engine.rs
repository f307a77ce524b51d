//! Micro-benchmarks of the engine's stages: scanning and parsing one statement, a whole file's
//! parse, the file context (transactions, lock model), each rule over a file, and
//! `lint_file` from bytes to sorted findings.
//!
//! The input is the repository's own fixtures: every `fixtures/**/*.sql` file joined into one
//! migration, and that migration repeated so that a rule whose cost grows faster than the
//! file shows it. `bench/compare.sh` measures whole runs of the command instead.

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use ddlint_core::context::{FileContext, StatementCx};
use ddlint_core::{parse, pg_ffi, registry, Settings};
use std::hint::black_box;
use std::path::Path;

/// One statement of each shape that dominates real migrations.
const STATEMENTS: &[(&str, &str)] = &[
    ("alter_table", "ALTER TABLE orders ADD COLUMN region text NOT NULL DEFAULT 'eu', ADD CONSTRAINT orders_region_check CHECK (region IN ('eu', 'us')) NOT VALID"),
    ("create_table", "CREATE TABLE IF NOT EXISTS invoices (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders (id), issued_on date NOT NULL DEFAULT current_date, amount_cents bigint NOT NULL CHECK (amount_cents >= 0))"),
    ("create_index", "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_key ON users (lower(email)) WHERE deleted_at IS NULL"),
    ("update", "UPDATE AD_Column SET AD_Element_ID=1884, AD_Reference_ID=13, ColumnName='A_Asset_ID', Description='Asset used internally or by customers', EntityType='D', FieldLength=22, IsActive='Y', IsKey='Y', IsMandatory='Y', Name='Asset', Version=1, Updated=TO_TIMESTAMP('2010-06-17 15:12:03','YYYY-MM-DD HH24:MI:SS'), UpdatedBy=0 WHERE AD_Column_ID=8095"),
    ("insert", "INSERT INTO AD_Element (AD_Element_ID, AD_Client_ID, AD_Org_ID, IsActive, Created, CreatedBy, Updated, UpdatedBy, ColumnName, EntityType, Name, PrintName) VALUES (55321, 0, 0, 'Y', TO_TIMESTAMP('2010-06-17','YYYY-MM-DD'), 100, TO_TIMESTAMP('2010-06-17','YYYY-MM-DD'), 100, 'A_Asset_Group_ID', 'D', 'Asset Group', 'Asset Group')"),
];

/// How many copies of the joined fixtures make the large file.
const COPIES: usize = 10;

/// Every fixture, joined into one migration. Fixtures that are unreadable or hold a syntax
/// error are left out: an unterminated quote would swallow all that follows it.
fn fixtures() -> String {
    let mut files = Vec::new();
    collect(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures"), &mut files);
    files.sort();
    let mut text = String::new();
    for file in files {
        let Ok(sql) = std::fs::read_to_string(&file) else { continue };
        let report = ddlint_core::lint_file("fixture.sql", sql.as_bytes(), &Settings::default());
        if report.unreadable || report.diagnostics.iter().any(|d| d.rule == "syntax-error") {
            continue;
        }
        text.push_str(&sql);
        text.push('\n');
    }
    text
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
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

fn statements(c: &mut Criterion) {
    let mut group = c.benchmark_group("statement");
    for (name, sql) in STATEMENTS {
        group.throughput(Throughput::Bytes(sql.len() as u64));
        group.bench_with_input(BenchmarkId::new("scan", name), sql, |b, sql| b.iter(|| pg_ffi::scan(black_box(sql))));
        group.bench_with_input(BenchmarkId::new("parse", name), sql, |b, sql| b.iter(|| pg_ffi::parse(black_box(sql))));
    }
    group.finish();
}

fn file(c: &mut Criterion) {
    let settings = Settings::default();
    let small = fixtures();
    let large = small.repeat(COPIES);
    let mut group = c.benchmark_group("file");
    group.sample_size(20);
    for (name, text) in [("fixtures", &small), ("fixtures_x10", &large)] {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(BenchmarkId::new("parse", name), |b| b.iter(|| parse::parse_file(black_box(text))));
        let parsed = parse::parse_file(text);
        group.bench_function(BenchmarkId::new("context", name), |b| {
            b.iter(|| FileContext::new(black_box(text), &parsed, &settings).states.len())
        });
        group.bench_function(BenchmarkId::new("lint_file", name), |b| {
            b.iter(|| ddlint_core::lint_file("bench.sql", black_box(text.as_bytes()), &settings))
        });
    }
    group.finish();
}

/// Each rule over every statement of the large file, with a fresh context (the rules keep
/// per-file state in it) built outside the measurement. A rule that asks for the schema built
/// so far pays here for replaying the file's catalog, which a real run shares among the rules.
fn rules(c: &mut Criterion) {
    let settings = Settings::default();
    let text = fixtures().repeat(COPIES);
    let parsed = parse::parse_file(&text);
    let mut group = c.benchmark_group("rule");
    group.sample_size(20);
    for rule in registry::all() {
        let Some(check) = rule.check else { continue };
        group.bench_function(rule.id, |b| {
            b.iter_batched_ref(
                || FileContext::new(&text, &parsed, &settings),
                |file| {
                    let mut out = Vec::new();
                    for index in 0..file.statements.len() {
                        check(&StatementCx::new(file, index), &mut out);
                    }
                    out
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, statements, file, rules);
criterion_main!(benches);
