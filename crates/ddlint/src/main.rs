//! The `ddlint` command line: finds migration files, lints them with `ddlint-core` and
//! reports the findings.
//!
//! Exit status: 0 when no finding reaches `--fail-on`, 1 when some do, 2 for usage,
//! configuration and I/O errors, including a directory or glob named on the command line that
//! holds no file to lint (unless `--allow-no-files`). Errors go to stderr as
//! `error: <what>: <reason>`.

use clap::{Parser, ValueEnum};
use ddlint::cli::{CheckArgs, Cli, ColorWhen, Command, ExplainArgs, ExplainFormat, PlanArgs};
use ddlint::discover;
use ddlint::report::{self, Format, Run};
use ddlint::{changes, config, describe_io, history, pipeline, print_error};
use ddlint_core::registry;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

/// jemalloc rather than the C library's malloc: a run allocates and frees millions of parse
/// tree nodes across worker threads, and glibc's malloc made up a fifth of its time (see the
/// README's performance section). Not under AddressSanitizer (`scripts/sanitize.sh`), which
/// must see every allocation.
#[cfg(all(unix, not(ddlint_sanitize)))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// No finding reached `--fail-on`.
const SUCCESS: u8 = 0;
/// Some finding reached `--fail-on`.
const FINDINGS: u8 = 1;
/// A usage, configuration or I/O error, a file that could not be read, or a named directory or
/// glob with nothing to lint.
const FAILURE: u8 = 2;

/// At most this many rounds of `--fix`: each round's fixes can unblock others.
const FIX_ROUNDS: usize = 8;

/// Stack size of the linting threads. Only the pages a thread touches are committed.
const WORKER_STACK_SIZE: usize = ddlint_core::DEEP_STACK_SIZE;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` arrive here too, with status 0. Printing fails only
            // when the output is gone, and there is no one left to tell then.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(FAILURE));
        }
    };
    let status = match cli.command {
        Command::Check(args) => check(&args),
        Command::Rules => list_rules(),
        Command::Rule { id } => show_rule(&id),
        Command::Explain(args) => explain(&args),
        Command::Plan(args) => plan(&args),
    };
    ExitCode::from(status)
}

/// Writes through a buffer, treating a closed pipe (`ddlint … | head`) as a normal end.
fn write_stdout(color: bool, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), String> {
    let stdout = io::stdout().lock();
    let result = if color {
        let mut out = BufWriter::new(anstream::AutoStream::always(stdout));
        write(&mut out).and_then(|()| out.flush())
    } else {
        let mut out = BufWriter::new(stdout);
        write(&mut out).and_then(|()| out.flush())
    };
    match result {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write to standard output: {}", describe_io(&e)))
        }
        _ => Ok(()),
    }
}

fn check(args: &CheckArgs) -> u8 {
    let cwd = match std::env::current_dir() {
        Ok(cwd) => cwd,
        Err(e) => {
            print_error(&format!("cannot read the working directory: {}", describe_io(&e)));
            return FAILURE;
        }
    };
    let config_path = if args.no_config { None } else { args.config.clone().or_else(|| config::find(&cwd)) };
    let loaded = match config_path.map(|path| config::load(&path, &cwd)).transpose() {
        Ok(loaded) => loaded,
        Err(message) => {
            print_error(&message);
            return FAILURE;
        }
    };
    let resolved = match config::resolve(args, loaded.as_ref(), &cwd) {
        Ok(resolved) => resolved,
        Err(message) => {
            print_error(&message);
            return FAILURE;
        }
    };
    // The table is for people; the JSON summary's `rules` holds the same counts for tools, and
    // a machine format printing the table alone would no longer be its documented document.
    if args.statistics && resolved.format != Format::Human {
        print_error(&format!(
            "`--statistics` works with the human format only, not `{}`",
            resolved.format.to_possible_value().map_or_else(String::new, |v| v.get_name().to_owned())
        ));
        return FAILURE;
    }

    let Some(mut linted) = lint(args, &resolved, &cwd) else { return FAILURE };
    if args.fix || args.diff {
        let plan = ddlint::fix::plan(&linted.files, args.unsafe_fixes, &ddlint::fix::list_dir);
        if args.diff {
            for line in &plan.skipped {
                print_note(&format!("not fixed: {line}"));
            }
            if let Err(message) =
                write_stdout(false, |out| out.write_all(ddlint::fix::diff::unified(&plan.changes).as_bytes()))
            {
                print_error(&message);
                return FAILURE;
            }
            print_note(&fix_summary(&plan, "would fix", args.unsafe_fixes));
            return if linted.failed_paths > 0 {
                FAILURE
            } else if plan.changes.is_empty() {
                SUCCESS
            } else {
                FINDINGS
            };
        }
        // A fix can wait for another (two edit the same statement, or one moves a statement
        // that a later one names): rounds go on until nothing is left to fix, or a bound.
        let mut total = ddlint::fix::Plan::default();
        let mut plan = plan;
        let mut write_errors = 0;
        for round in 1..=FIX_ROUNDS {
            let errors = ddlint::fix::write(&plan);
            for message in &errors {
                print_error(message);
            }
            write_errors += errors.len();
            let done = plan.changes.is_empty() || !errors.is_empty();
            total.absorb(plan);
            if done {
                break;
            }
            // What remains is reported against the files as they now are.
            let Some(again) = lint(args, &resolved, &cwd) else { return FAILURE };
            linted = again;
            if round == FIX_ROUNDS {
                break;
            }
            plan = ddlint::fix::plan(&linted.files, args.unsafe_fixes, &ddlint::fix::list_dir);
            if plan.changes.is_empty() {
                total.skipped = plan.skipped;
                break;
            }
        }
        for line in &total.skipped {
            print_note(&format!("not fixed: {line}"));
        }
        print_note(&fix_summary(&total, "fixed", args.unsafe_fixes));
        linted.failed_paths += write_errors;
    }
    let Linted { files, notes, failed_paths } = linted;
    let threshold = resolved.fail_on.threshold();
    let status = if failed_paths > 0 || files.iter().any(|f| f.unreadable) {
        FAILURE
    } else if files.iter().flat_map(|f| &f.diagnostics).any(|d| d.severity >= threshold) {
        FINDINGS
    } else {
        SUCCESS
    };

    let color = resolved.format == Format::Human
        && match args.color {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => anstream::AutoStream::choice(&io::stdout()) != anstream::ColorChoice::Never,
        };
    let run = Run {
        files: &files,
        color,
        pg_version: resolved.settings.pg_version,
        assume_in_transaction: resolved.settings.assume_in_transaction,
        statistics: args.statistics,
        notes: &notes,
        failed_paths,
    };
    if let Err(message) = write_stdout(color, |out| report::render(resolved.format, &run, out)) {
        print_error(&message);
        return FAILURE;
    }
    status
}

/// The files linted, with what the run says about the rest.
struct Linted {
    files: Vec<ddlint_core::FileReport>,
    notes: Vec<String>,
    /// Paths that failed, each already reported as an error.
    failed_paths: usize,
}

/// Finds, plans and lints the files `args` name.
fn lint(args: &CheckArgs, resolved: &config::Resolved, cwd: &std::path::Path) -> Option<Linted> {
    let discovery = discover::discover(&args.paths, args.stdin_path.as_deref(), &resolved.filter, cwd);
    // Each path that failed has printed its error; the summary counts them so that it never
    // reads as a clean run.
    let mut failed_paths = discovery.errors.len();
    for message in &discovery.errors {
        print_error(message);
    }
    // A named directory or glob with nothing to lint is most often a mistyped path, which would
    // otherwise pass CI having checked nothing. It is about the paths, not the change set: a pull
    // request that changes no migration still finds the migrations there, reports none of them
    // and passes.
    if !resolved.allow_no_files {
        for message in &discovery.empty {
            print_error(&format!("{message} (pass `--allow-no-files` to allow this)"));
        }
        failed_paths += discovery.empty.len();
    }

    let change_set = if let Some(rev) = &args.changed_since {
        changes::since(rev, cwd).map(Some)
    } else if !args.changed.is_empty() {
        changes::listed(&args.changed, cwd).map(Some)
    } else {
        Ok(None)
    };
    let change_set = match change_set {
        Ok(change_set) => change_set,
        Err(message) => {
            print_error(&message);
            return None;
        }
    };
    let settings = &resolved.settings;
    let scope = history::Scope { history: resolved.history, change_set };
    let jobs = history::plan(discovery.inputs, &scope, settings.framework, &resolved.filter, cwd);
    let mut notes = discovery.skipped.notes();
    // Under `--no-history` every file is linted alone because the user asked, and standard
    // input has no directory: neither needs a note.
    if scope.history {
        notes.extend(
            dirs_without_history(&jobs)
                .iter()
                .map(|dir| format!("{dir}: no migration history recognised; its files were linted alone")),
        );
    }
    // rayon's global pool panics when it cannot start its threads; a pool of our own
    // reports that as an error instead, and the files are then linted on this thread.
    // Parsing recurses once per level of nesting (a long `a || b || …` chain nests deeply),
    // so the workers get a larger stack than the 2 MiB threads start with.
    let pool = rayon::ThreadPoolBuilder::new().stack_size(WORKER_STACK_SIZE).build().ok();
    // A runner that wraps the whole upgrade in one transaction makes the files linted together
    // one deploy, as a change set is: what an earlier one creates is new for the later ones.
    let one_deploy = scope.change_set.is_some() || resolved.per_upgrade;
    let schema = match schema_snapshot(&resolved.schema, settings) {
        Ok(schema) => schema,
        Err(message) => {
            print_error(&message);
            return None;
        }
    };
    let results = pipeline::lint(jobs, settings, one_deploy, &schema, pool.as_ref());
    let mut files = Vec::with_capacity(results.len());
    for result in results {
        match result {
            Ok(file) => files.push(file),
            Err(message) => {
                failed_paths += 1;
                print_error(&message);
            }
        }
    }

    // Reports come out in path order, whatever the history order and the number of threads.
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Some(Linted { files, notes, failed_paths })
}

/// The schema the `--schema` snapshots build, as history older than every migration: read
/// like any migration, with their statements folded in order and then settled (nothing in
/// them is new).
fn schema_snapshot(
    paths: &[std::path::PathBuf],
    settings: &ddlint_core::Settings,
) -> Result<ddlint_core::lock_model::Catalog, String> {
    let mut catalog = ddlint_core::lock_model::Catalog::default();
    for path in paths {
        let shown = path.to_string_lossy();
        let bytes = std::fs::read(path)
            .map_err(|e| format!("{shown}: cannot read the schema snapshot: {}", describe_io(&e)))?;
        let prepared = ddlint_core::prepare(&shown, &bytes, settings, ddlint_core::framework::FileHints::default());
        if !prepared.text().is_empty() || bytes.is_empty() {
            prepared.fold_into(&mut catalog);
            prepared.discard();
        } else {
            return Err(format!("{shown}: the schema snapshot is not UTF-8 text"));
        }
    }
    catalog.settle();
    Ok(catalog)
}

/// "fixed 3 findings (missing-lock-timeout: 2, set-not-null: 1), changed 2 files, added 1"
fn fix_summary(plan: &ddlint::fix::Plan, verb: &str, unsafe_fixes: bool) -> String {
    let count = plan.fixed_count();
    let rules: Vec<String> = plan.fixed.iter().map(|(rule, n)| format!("{rule}: {n}")).collect();
    let changed = plan.changes.iter().filter(|c| c.before.is_some()).count();
    let added = plan.changes.len() - changed;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    if count == 0 && unsafe_fixes {
        return format!("{verb} nothing: no finding has a fix that can be applied");
    }
    if count == 0 {
        return format!("{verb} nothing: no finding has a safe fix (unsafe ones need `--unsafe-fixes`)");
    }
    format!(
        "{verb} {} ({}); {} changed, {} added",
        plural(count, "finding"),
        rules.join(", "),
        plural(changed, "file"),
        plural(added, "file"),
    )
}

/// Prints `note: <message>` on stderr.
fn print_note(message: &str) {
    let _ = writeln!(io::stderr().lock(), "note: {message}");
}

/// The directories, as shown, of the files that are linted without the history of their
/// directory although the run replays history: their path does not fit the layout of the
/// framework they are read as, such as a sqitch script outside `deploy/`.
fn dirs_without_history(jobs: &[history::Job]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut dirs = Vec::new();
    for job in jobs.iter().filter(|j| j.report && !j.with_history) {
        let discover::Source::File(path) = &job.input.source else { continue };
        let dir = path.parent().map_or_else(String::new, |p| p.to_string_lossy().into_owned());
        let dir = if dir.is_empty() { ".".to_owned() } else { dir };
        if seen.insert(dir.clone()) {
            dirs.push(dir);
        }
    }
    dirs
}

/// `ddlint explain`: the lock model's view of each statement. Files go in path order through
/// one catalog, so each is explained against the schema the earlier ones built.
fn explain(args: &ExplainArgs) -> u8 {
    let cwd = match std::env::current_dir() {
        Ok(cwd) => cwd,
        Err(e) => {
            print_error(&format!("cannot read the working directory: {}", describe_io(&e)));
            return FAILURE;
        }
    };
    let discovery = discover::discover(&args.paths, args.stdin_path.as_deref(), &discover::Filter::default(), &cwd);
    // `explain` is run by hand, so a named path with nothing to explain is simply an error.
    let mut failed = !discovery.errors.is_empty() || !discovery.empty.is_empty();
    for message in discovery.errors.iter().chain(&discovery.empty) {
        print_error(message);
    }
    let settings = ddlint_core::Settings { pg_version: args.pg_version, ..ddlint_core::Settings::default() };
    let scope = history::Scope { history: true, change_set: None };
    let jobs = history::plan(discovery.inputs, &scope, None, &discover::Filter::default(), &cwd);
    let mut files = Vec::with_capacity(jobs.len());
    let schema = match schema_snapshot(&args.schema, &settings) {
        Ok(schema) => schema,
        Err(message) => {
            print_error(&message);
            return FAILURE;
        }
    };
    for outcome in pipeline::explain(jobs, &settings, &schema) {
        match outcome {
            Ok(file) => files.push(file),
            Err(message) => {
                failed = true;
                print_error(&message);
            }
        }
    }
    files.sort_by(|a, b| a.file.cmp(&b.file));
    let result = write_stdout(false, |out| match args.format {
        ExplainFormat::Human => out.write_all(ddlint_core::explain::render_table(&files).as_bytes()),
        ExplainFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &files).map_err(io::Error::other)?;
            writeln!(out)
        }
    });
    match (finish(result), failed) {
        (SUCCESS, false) => SUCCESS,
        _ => FAILURE,
    }
}

/// `ddlint plan`: the phased version of the migration's changes that need phases.
fn plan(args: &PlanArgs) -> u8 {
    let cwd = match std::env::current_dir() {
        Ok(cwd) => cwd,
        Err(e) => {
            print_error(&format!("cannot read the working directory: {}", describe_io(&e)));
            return FAILURE;
        }
    };
    // A plan reads the migration as `check` does: the same configuration, flags and history.
    let Some(mut check) = default_check_args() else {
        print_error("internal error: cannot build the check arguments");
        return FAILURE;
    };
    check.paths = vec![args.migration.clone()];
    check.pg_version = args.pg_version;
    check.framework = args.framework;
    check.schema.clone_from(&args.schema);
    check.config.clone_from(&args.config);
    check.no_config = args.no_config;
    let config_path = if check.no_config { None } else { check.config.clone().or_else(|| config::find(&cwd)) };
    let resolved = match config_path
        .map(|path| config::load(&path, &cwd))
        .transpose()
        .and_then(|loaded| config::resolve(&check, loaded.as_ref(), &cwd))
    {
        Ok(resolved) => resolved,
        Err(message) => {
            print_error(&message);
            return FAILURE;
        }
    };
    let settings = &resolved.settings;
    let bad_timeout = |t: &&str| ddlint_core::settings::timeout_ms(t).is_none_or(|ms| ms == 0);
    if let Some(timeout) = args.lock_timeout.as_deref().filter(bad_timeout) {
        print_error(&format!(
            "`--lock-timeout {timeout}` is not a timeout PostgreSQL reads: write a number above 0 with a unit, such as `2s`"
        ));
        return FAILURE;
    }
    let mut options =
        ddlint_core::plan::Options::new(args.lock_timeout.as_deref().unwrap_or(&settings.fix_lock_timeout));
    options.batch_size = args.batch_size;
    for fill in &args.fill {
        let Some((column, value)) = fill.split_once('=').filter(|(c, v)| !c.trim().is_empty() && !v.trim().is_empty())
        else {
            print_error(&format!("`--fill {fill}`: write it as COLUMN=SQL, such as `--fill currency=\"'EUR'\"`"));
            return FAILURE;
        };
        options.fills.push((column.trim().to_owned(), value.trim().to_owned()));
    }
    if !args.migration.is_file() {
        print_error(&format!("{}: not a migration file", args.migration.display()));
        return FAILURE;
    }
    let discovery = discover::discover(&check.paths, None, &resolved.filter, &cwd);
    for message in discovery.errors.iter().chain(&discovery.empty) {
        print_error(message);
    }
    if !discovery.errors.is_empty() || discovery.inputs.is_empty() {
        return FAILURE;
    }
    let scope = history::Scope { history: resolved.history, change_set: None };
    let jobs = history::plan(discovery.inputs, &scope, settings.framework, &resolved.filter, &cwd);
    let schema = match schema_snapshot(&resolved.schema, settings) {
        Ok(schema) => schema,
        Err(message) => {
            print_error(&message);
            return FAILURE;
        }
    };
    let mut status = SUCCESS;
    for outcome in pipeline::plan(jobs, settings, &schema, &options) {
        let (report, planned) = match outcome {
            Ok(outcome) => outcome,
            Err(message) => {
                print_error(&message);
                return FAILURE;
            }
        };
        if planned.is_empty() {
            print_note(&format!("{}: no change in it needs phases; nothing to plan", report.path));
            continue;
        }
        let written = match ddlint::plan::files(&report, planned, args.out.as_deref(), &ddlint::fix::list_dir) {
            Ok(written) => written,
            Err(message) => {
                print_error(&format!("{}: {message}", report.path));
                return FAILURE;
            }
        };
        for line in &written.refused {
            print_error(&format!("not planned: {line}"));
            status = FINDINGS;
        }
        if args.dry_run {
            let result = write_stdout(false, |out| {
                out.write_all(written.markdown.as_bytes())?;
                for change in &written.changes {
                    let verb = if change.before.is_some() { "change" } else { "write" };
                    writeln!(out, "would {verb} {}", change.path.display())?;
                }
                Ok(())
            });
            if finish(result) != SUCCESS {
                return FAILURE;
            }
            continue;
        }
        let errors = ddlint::fix::write(&ddlint::fix::Plan { changes: written.changes, ..Default::default() });
        for message in &errors {
            print_error(message);
        }
        if !errors.is_empty() {
            return FAILURE;
        }
        for plan in &written.plans {
            print_note(&format!("planned: {} ({} phases)", plan.title, plan.phases.len()));
        }
    }
    status
}

/// `check`'s arguments with every default, for commands that read migrations as it does.
fn default_check_args() -> Option<CheckArgs> {
    use clap::{Args as _, FromArgMatches as _};
    let matches = CheckArgs::augment_args(clap::Command::new("check")).try_get_matches_from(["check"]).ok()?;
    CheckArgs::from_arg_matches(&matches).ok()
}

/// `ddlint rules`: one line per rule, aligned in columns.
fn list_rules() -> u8 {
    let rules = registry::all();
    let width = rules.iter().map(|r| r.id.len()).max().unwrap_or(0);
    let result = write_stdout(false, |out| {
        for rule in &rules {
            let default = if rule.default_enabled { "on" } else { "opt-in" };
            let summary = ddlint_core::docs::summary(rule);
            writeln!(out, "{:width$}  {:7}  {:6}  {summary}", rule.id, rule.default_severity.as_str(), default)?;
        }
        Ok(())
    });
    finish(result)
}

/// `ddlint rule <id>`: the rule's page, as `rules/<id>.md` holds it.
fn show_rule(id: &str) -> u8 {
    let Some(rule) = registry::find(id) else {
        print_error(&format!("unknown rule `{id}` {}", ddlint::suggest::rule_hint(id)));
        return FAILURE;
    };
    let page = ddlint_core::docs::rule_page(rule);
    finish(write_stdout(false, |out| writeln!(out, "{}", page.trim_end())))
}

fn finish(result: Result<(), String>) -> u8 {
    match result {
        Ok(()) => SUCCESS,
        Err(message) => {
            print_error(&message);
            FAILURE
        }
    }
}
