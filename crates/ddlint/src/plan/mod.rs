//! `ddlint plan`: the files a plan writes. The phases become migrations in the framework's
//! conventions, numbered to run right after the planned migration; the planned statements
//! leave it; `PLAN.md` tells the story and `plan.json` holds it for tools.

mod markdown;

use crate::fix::{naming, Change};
use ddlint_core::framework::Framework;
use ddlint_core::plan::{Plan, Planned};
use ddlint_core::FileReport;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Everything a plan writes, and what it could not plan.
#[derive(Debug, Default)]
pub struct Written {
    pub changes: Vec<Change>,
    /// The plans, in file order.
    pub plans: Vec<Plan>,
    /// Findings that need phases but got no plan: `path:line: rule: reason`.
    pub refused: Vec<String>,
    /// `PLAN.md`, as written.
    pub markdown: String,
}

/// The files the plans of `report` write: next to the migration (which then loses the
/// planned statements), or into `out` (which leaves it alone). `siblings` lists a
/// directory's entries, for numbering the new migrations.
pub fn files(
    report: &FileReport,
    planned: Vec<Planned>,
    out: Option<&Path>,
    siblings: &dyn Fn(&Path) -> Vec<String>,
) -> Result<Written, String> {
    let source = Path::new(&report.path);
    let framework = report.framework.unwrap_or(Framework::Plain);
    // Diesel's migrations are folders; every other framework's are files in one directory.
    let base = if framework == Framework::Diesel { source.parent().and_then(Path::parent) } else { source.parent() }
        .unwrap_or(Path::new(""));
    let listing = siblings(if base.as_os_str().is_empty() { Path::new(".") } else { base });
    let mut written = Written::default();
    let mut phase_files: Vec<Vec<PhaseFiles>> = Vec::new();
    let mut nth = 0;
    for planned in planned {
        let plan = match planned.plan {
            Ok(plan) => plan,
            Err(reason) => {
                let line = report.line_index.position(&report.text, planned.span.start).line;
                written.refused.push(format!("{}:{line}: {}: {reason}", report.path, planned.rule));
                continue;
            }
        };
        let mut files = Vec::new();
        for phase in &plan.phases {
            let new = naming::new_files(source, framework, &listing, nth, &phase.migration)?;
            nth += 1;
            let placed: Vec<PathBuf> = new.iter().map(|f| relocated(&f.path, base, out)).collect();
            files.push(PhaseFiles {
                up: placed.first().cloned().unwrap_or_default(),
                // Frameworks with a file per direction write the down second; goose, dbmate
                // and sql-migrate keep both directions in one file; Flyway has no downs.
                down: match framework {
                    _ if phase.migration.down.is_empty() => None,
                    Framework::GolangMigrate | Framework::Diesel => placed.get(1).cloned(),
                    Framework::Goose | Framework::Dbmate | Framework::SqlMigrate => placed.first().cloned(),
                    _ => None,
                },
            });
            for (file, path) in new.into_iter().zip(placed) {
                written.changes.push(Change { path, before: None, after: file.text });
            }
        }
        phase_files.push(files);
        written.plans.push(plan);
    }
    if written.plans.is_empty() {
        return Ok(written);
    }
    let (markdown_path, json_path) = match out {
        Some(dir) => (dir.join("PLAN.md"), dir.join("plan.json")),
        None => (with_suffix(source, ".plan.md"), with_suffix(source, ".plan.json")),
    };
    let shown = |path: &Path| path.strip_prefix(out.unwrap_or(base)).unwrap_or(path).display().to_string();
    written.markdown = markdown::render(report, &written.plans, &phase_files, &shown, out.is_none());
    written.changes.push(Change { path: markdown_path, before: None, after: written.markdown.clone() });
    let json = serde_json::to_string_pretty(&Document::new(report, &written.plans, &phase_files, &shown))
        .map_err(|e| format!("cannot write plan.json: {e}"))?;
    written.changes.push(Change { path: json_path, before: None, after: json + "\n" });
    if out.is_none() {
        let mut edits: Vec<&ddlint_core::fix::Edit> = written.plans.iter().flat_map(|p| &p.edits).collect();
        edits.sort_by_key(|e| (e.span.start, e.span.end));
        edits.dedup_by_key(|e| e.span);
        let after = crate::fix::apply_in_file_style(&report.text, &edits);
        written.changes.insert(0, Change { path: source.to_path_buf(), before: Some(report.text.clone()), after });
    }
    Ok(written)
}

/// The up and down files of one phase (the same file where the framework keeps both).
pub(crate) struct PhaseFiles {
    pub up: PathBuf,
    pub down: Option<PathBuf>,
}

/// `path`, moved from `base` into `out` when there is one.
fn relocated(path: &Path, base: &Path, out: Option<&Path>) -> PathBuf {
    match out {
        Some(out) => out.join(path.strip_prefix(base).unwrap_or(path)),
        None => path.to_path_buf(),
    }
}

/// `source` with its extension replaced by `suffix`: `0042_rename.sql` → `0042_rename.plan.md`.
fn with_suffix(source: &Path, suffix: &str) -> PathBuf {
    let stem = source.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    source.with_file_name(format!("{stem}{suffix}"))
}

/// `plan.json`.
#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    /// The planned migration.
    migration: &'a str,
    plans: Vec<PlanJson<'a>>,
}

#[derive(Serialize)]
struct PlanJson<'a> {
    change: &'a str,
    title: &'a str,
    table: &'a str,
    /// The phases in the order they run.
    phases: Vec<PhaseJson<'a>>,
    /// Must return 0 before contract.
    verification: Option<&'a str>,
    checklist: &'a [String],
}

#[derive(Serialize)]
struct PhaseJson<'a> {
    kind: &'a str,
    summary: &'a str,
    /// The file that runs the phase, relative to the migrations directory (or `--out`).
    up: String,
    /// The file that undoes it; `null` when nothing can (a backfill).
    down: Option<String>,
    /// The runner may wrap it in a transaction.
    transaction: bool,
    /// An application release must be deployed before the next phase.
    release_before_next: bool,
    /// What that release does.
    release: Option<&'a str>,
    locks: &'a [ddlint_core::plan::StepLock],
    irreversible: Option<&'a str>,
}

impl<'a> Document<'a> {
    fn new(
        report: &'a FileReport,
        plans: &'a [Plan],
        files: &[Vec<PhaseFiles>],
        shown: &dyn Fn(&Path) -> String,
    ) -> Self {
        let plans = plans
            .iter()
            .zip(files)
            .map(|(plan, files)| PlanJson {
                change: plan.change,
                title: &plan.title,
                table: &plan.table,
                phases: plan
                    .phases
                    .iter()
                    .zip(files)
                    .map(|(phase, files)| PhaseJson {
                        kind: phase.kind.as_str(),
                        summary: &phase.summary,
                        up: shown(&files.up),
                        down: files.down.as_deref().map(shown),
                        transaction: phase.migration.transaction,
                        release_before_next: phase.release_after.is_some(),
                        release: phase.release_after.as_deref(),
                        locks: &phase.locks,
                        irreversible: phase.irreversible.as_deref(),
                    })
                    .collect(),
                verification: plan.verification.as_deref(),
                checklist: &plan.checklist,
            })
            .collect();
        Self { version: 1, migration: &report.path, plans }
    }
}
