//! `ddlint check --fix` and `--diff`: the fixes the findings carry, applied to the files.
//!
//! One round: the fixes of one lint are chosen (safe ones, and unsafe ones when asked),
//! those whose edits overlap an earlier chosen fix of the same file wait for the next run,
//! and the migrations they add are named after their file's framework. Nothing here decides
//! what a fix writes; the engine did.

pub mod diff;
pub mod naming;

use ddlint_core::fix::{Applicability, Edit};
use ddlint_core::framework::Framework;
use ddlint_core::FileReport;
use naming::NewFile;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A file the fixes change or create.
#[derive(Debug, PartialEq, Eq)]
pub struct Change {
    pub path: PathBuf,
    /// The text before, or `None` for a file the fixes create.
    pub before: Option<String>,
    pub after: String,
}

/// What one round of fixes does.
#[derive(Debug, Default)]
pub struct Plan {
    pub changes: Vec<Change>,
    /// How many findings of each rule are fixed.
    pub fixed: BTreeMap<&'static str, usize>,
    /// Fixes not applied, with why: `path:line: rule: reason`.
    pub skipped: Vec<String>,
}

impl Plan {
    pub fn fixed_count(&self) -> usize {
        self.fixed.values().sum()
    }

    /// Adds a later round's plan: its counts, the files it changed or created (a file changed
    /// twice counts once), and what it skipped in place of what this one skipped.
    pub fn absorb(&mut self, later: Plan) {
        for (rule, n) in later.fixed {
            *self.fixed.entry(rule).or_default() += n;
        }
        for change in later.changes {
            match self.changes.iter_mut().find(|c| c.path == change.path) {
                Some(earlier) => earlier.after = change.after,
                None => self.changes.push(change),
            }
        }
        self.skipped = later.skipped;
    }
}

/// The fixes to apply to `files` (as linted), with unsafe ones when `unsafe_fixes`.
/// `siblings` lists a directory's entries, for naming new migrations.
pub fn plan(files: &[FileReport], unsafe_fixes: bool, siblings: &dyn Fn(&Path) -> Vec<String>) -> Plan {
    let mut plan = Plan::default();
    let mut created: Vec<PathBuf> = Vec::new();
    // Down migrations in files of their own, with the names whose drops leave them.
    let mut downs: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
    for file in files {
        let mut wanted: Vec<_> = file
            .diagnostics
            .iter()
            .filter_map(|d| Some((d, d.fix.as_ref()?)))
            .filter(|(_, fix)| unsafe_fixes || fix.applicability == Applicability::Safe)
            .collect();
        // A fix that depends on the file's final statements comes after the others.
        wanted.sort_by_key(|(_, fix)| fix.after_other_fixes);
        if wanted.is_empty() {
            continue;
        }
        let line = |offset: usize| file.line_index.position(&file.text, offset).line;
        if file.path == "-" || file.path.starts_with('<') {
            for (d, _) in &wanted {
                plan.skipped.push(format!(
                    "{}:{}: {}: standard input cannot be fixed in place",
                    file.path,
                    line(d.span.start),
                    d.rule
                ));
            }
            continue;
        }
        let source = Path::new(&file.path);
        let framework = file.framework.unwrap_or(Framework::Plain);
        let mut edits: Vec<&Edit> = Vec::new();
        let mut nth = 0;
        // Migrations added after other files; this file's own follow each other by `nth`.
        let others = created.clone();
        for (diagnostic, fix) in wanted {
            if fix.after_other_fixes && !edits.is_empty() {
                let at = line(diagnostic.span.start);
                plan.skipped.push(format!(
                    "{}:{at}: {}: waits for the next run (it applies once the file's other fixes are in)",
                    file.path, diagnostic.rule
                ));
                continue;
            }
            let overlaps = fix.edits.iter().any(|e| edits.iter().any(|taken| overlap(e, taken)));
            if overlaps {
                let at = line(diagnostic.span.start);
                plan.skipped.push(format!(
                    "{}:{at}: {}: waits for the next run (another fix edits the same text)",
                    file.path, diagnostic.rule
                ));
                continue;
            }
            let dir =
                if framework == Framework::Diesel { source.parent().and_then(Path::parent) } else { source.parent() };
            let mut listing = siblings(dir.unwrap_or(Path::new(".")));
            listing.extend(others.iter().filter_map(|p| {
                Some(p.strip_prefix(dir?).ok()?.components().next()?.as_os_str().to_str()?.to_owned())
            }));
            let named: Result<Vec<Vec<NewFile>>, String> = fix
                .new_migrations
                .iter()
                .enumerate()
                .map(|(i, m)| naming::new_files(source, framework, &listing, nth + i, m))
                .collect();
            match named {
                Ok(named) => {
                    nth += named.len();
                    for new in named.into_iter().flatten() {
                        created.push(new.path.clone());
                        plan.changes.push(Change { path: new.path, before: None, after: new.text });
                    }
                    edits.extend(&fix.edits);
                    if !fix.moved.is_empty() {
                        if let Some(down) = own_down_file(source, framework) {
                            downs.entry(down).or_default().extend(fix.moved.iter().cloned());
                        }
                    }
                    *plan.fixed.entry(diagnostic.rule).or_default() += 1;
                }
                Err(reason) => plan.skipped.push(format!(
                    "{}:{}: {}: {reason}",
                    file.path,
                    line(diagnostic.span.start),
                    diagnostic.rule
                )),
            }
        }
        edits.sort_by_key(|e| (e.span.start, e.span.end));
        let after = apply_in_file_style(&file.text, &edits);
        if after != file.text {
            plan.changes.push(Change { path: source.to_path_buf(), before: Some(file.text.clone()), after });
        }
    }
    // The new migrations' own downs drop what moved, and rolling back runs them first: the
    // file's separate down must no longer drop it. That file may have fixes of its own in this
    // round, whose result is the text to edit.
    for (path, moved) in downs {
        let without_drops = |text: &str| {
            let removals = ddlint_core::fix::drops_of(text, &moved);
            ddlint_core::fix::apply_edits(text, &removals.iter().collect::<Vec<_>>())
        };
        match plan.changes.iter_mut().find(|c| c.path == path) {
            Some(change) => change.after = without_drops(&change.after),
            None => {
                let Ok(before) = std::fs::read_to_string(&path) else { continue };
                let after = without_drops(&before);
                if after != before {
                    plan.changes.push(Change { path, before: Some(before), after });
                }
            }
        }
    }
    plan.changes.sort_by(|a, b| a.path.cmp(&b.path));
    plan
}

/// The down migration of `source` that lives in a file of its own: golang-migrate's
/// `N_name.down.sql` beside `N_name.up.sql`, diesel's `down.sql` beside `up.sql`.
fn own_down_file(source: &Path, framework: Framework) -> Option<PathBuf> {
    let name = source.file_name()?.to_str()?;
    let down = match framework {
        Framework::GolangMigrate => format!("{}.down.sql", name.strip_suffix(".up.sql")?),
        Framework::Diesel if name == "up.sql" => "down.sql".to_owned(),
        _ => return None,
    };
    Some(source.with_file_name(down))
}

/// What one finding's fix alone would change: its edits to the file, and its new migrations
/// named as `--fix` would name them were it the file's only fix. `None` when the finding
/// has no fix; an error when its new migrations cannot be named.
pub fn preview(file: &FileReport, diagnostic: &ddlint_core::Diagnostic) -> Option<Result<Vec<Change>, String>> {
    let fix = diagnostic.fix.as_ref()?;
    let source = Path::new(&file.path);
    let framework = file.framework.unwrap_or(Framework::Plain);
    let mut changes = Vec::new();
    // Only new migrations need the directory's other names, to number themselves after the file.
    let listing = if fix.new_migrations.is_empty() {
        Vec::new()
    } else {
        let dir = if framework == Framework::Diesel { source.parent().and_then(Path::parent) } else { source.parent() };
        list_dir(dir.unwrap_or(Path::new(".")))
    };
    for (nth, migration) in fix.new_migrations.iter().enumerate() {
        match naming::new_files(source, framework, &listing, nth, migration) {
            Ok(files) => {
                changes.extend(files.into_iter().map(|f| Change { path: f.path, before: None, after: f.text }))
            }
            Err(reason) => return Some(Err(reason)),
        }
    }
    let mut edits: Vec<&Edit> = fix.edits.iter().collect();
    edits.sort_by_key(|e| (e.span.start, e.span.end));
    let after = apply_in_file_style(&file.text, &edits);
    changes.insert(0, Change { path: source.to_path_buf(), before: Some(file.text.clone()), after });
    Some(Ok(changes))
}

/// `text` with `edits` applied, their line breaks written as the file writes its own: a
/// file with Windows line endings keeps them.
pub fn apply_in_file_style(text: &str, edits: &[&Edit]) -> String {
    if !text.contains("\r\n") {
        return ddlint_core::fix::apply_edits(text, edits);
    }
    let crlf: Vec<Edit> = edits
        .iter()
        .map(|e| Edit { span: e.span, replacement: e.replacement.replace("\r\n", "\n").replace('\n', "\r\n") })
        .collect();
    ddlint_core::fix::apply_edits(text, &crlf.iter().collect::<Vec<_>>())
}

/// Whether two edits touch the same text. Insertions never do: at one offset they go in the
/// order of their findings (the file's order), and where a replacement starts or ends, before
/// or after it.
fn overlap(a: &Edit, b: &Edit) -> bool {
    match (a.span.is_empty(), b.span.is_empty()) {
        (true, true) => false,
        (true, false) => b.span.start < a.span.start && a.span.start < b.span.end,
        (false, true) => a.span.start < b.span.start && b.span.start < a.span.end,
        (false, false) => a.span.start < b.span.end && b.span.start < a.span.end,
    }
}

/// The entries of `dir`, for naming new migrations beside the existing ones.
pub fn list_dir(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
        .unwrap_or_default()
}

/// Writes the plan: files the fixes change are replaced, new ones created (never over an
/// existing file). Returns one error line per file that could not be written.
pub fn write(plan: &Plan) -> Vec<String> {
    let mut errors = Vec::new();
    for change in &plan.changes {
        let result = match change.before {
            Some(_) => std::fs::write(&change.path, &change.after),
            None => change
                .path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::OpenOptions::new().write(true).create_new(true).open(&change.path))
                .and_then(|mut f| std::io::Write::write_all(&mut f, change.after.as_bytes())),
        };
        if let Err(e) = result {
            errors.push(format!("{}: cannot write it: {}", change.path.display(), crate::describe_io(&e)));
        }
    }
    errors
}
