//! Lints the planned files in parallel while their history is replayed in order.
//!
//! Each file is parsed once. Workers read and parse files ahead of time; this thread folds
//! each parsed file into its directory's catalog in migration order, hands a linted file's
//! worker a snapshot of the schema before it, and keeps only a bounded window of parsed
//! files in memory. Catalog snapshots share their relations, so taking one is cheap.

use crate::history::{Job, Pair};
use ddlint_core::explain::FileExplanation;
use ddlint_core::lock_model::catalog::ChangeLedger;
use ddlint_core::lock_model::Catalog;
use ddlint_core::{FileReport, PreparedFile, Settings};
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::mpsc;

use crate::discover::{Input, Source};

/// The reports (or read errors) of the jobs marked `report`, in job order.
/// `schema` is what every directory's history starts from: empty, or a schema snapshot
/// (`--schema`).
pub fn lint(
    jobs: Vec<Job>,
    settings: &Settings,
    change_set: bool,
    schema: &Catalog,
    pool: Option<&rayon::ThreadPool>,
) -> Vec<Outcome> {
    match pool {
        // Folding walks parse trees, so the coordinating thread gets the deep stack the
        // workers have, rather than growing one for every file.
        Some(pool) => std::thread::scope(|scope| {
            let coordinator = std::thread::Builder::new()
                .name("ddlint-history".to_owned())
                .stack_size(ddlint_core::DEEP_STACK_SIZE)
                .spawn_scoped(scope, || lint_parallel(jobs, settings, change_set, schema, pool));
            match coordinator.map(std::thread::ScopedJoinHandle::join) {
                Ok(Ok(outcomes)) => outcomes,
                Ok(Err(panic)) => std::panic::resume_unwind(panic),
                Err(e) => vec![Err(format!("cannot start a thread: {}", crate::describe_io(&e)))],
            }
        }),
        None => in_order(jobs, settings, change_set, schema, |prepared, history| prepared.lint(settings, history)),
    }
}

/// `ddlint explain`: each reported file explained against the history before it.
pub fn explain(jobs: Vec<Job>, settings: &Settings, schema: &Catalog) -> Vec<Result<FileExplanation, String>> {
    in_order(jobs, settings, false, schema, |prepared, history| {
        let explanation = ddlint_core::explain::explain_prepared(&prepared, settings, history);
        prepared.discard();
        explanation
    })
}

/// `ddlint plan`: each reported file linted against the history before it, with the plans of
/// its findings that need phases.
pub fn plan(
    jobs: Vec<Job>,
    settings: &Settings,
    schema: &Catalog,
    options: &ddlint_core::plan::Options,
) -> Vec<Result<(FileReport, Vec<ddlint_core::plan::Planned>), String>> {
    in_order(jobs, settings, false, schema, |prepared, history| prepared.plan(settings, history, options))
}

/// Runs the jobs one after another on this thread, handing each reported file and the
/// history before it to `f`.
fn in_order<R>(
    jobs: Vec<Job>,
    settings: &Settings,
    change_set: bool,
    schema: &Catalog,
    mut f: impl FnMut(PreparedFile, &Catalog) -> R,
) -> Vec<Result<R, String>> {
    let mut replay = Replay::new(change_set, schema);
    let mut outcomes = Vec::new();
    for job in jobs {
        let prepared = prepare(&job.input, settings);
        match replay.next(&job, prepared) {
            Step::Lint(job) => {
                let (prepared, history) = *job;
                outcomes.push(Ok(f(prepared, &history)));
            }
            Step::Failed(message) => outcomes.push(Err(message)),
            Step::Done => {}
        }
    }
    outcomes
}

/// A file's report, or why it could not be read.
pub type Outcome = Result<FileReport, String>;

fn lint_parallel(
    jobs: Vec<Job>,
    settings: &Settings,
    change_set: bool,
    schema: &Catalog,
    pool: &rayon::ThreadPool,
) -> Vec<Outcome> {
    // Enough parsed files ahead to keep every worker busy, few enough to bound memory.
    let window = 4 * pool.current_num_threads().max(1) + 4;
    let (parsed_tx, parsed_rx) = mpsc::channel::<(usize, Result<PreparedFile, String>)>();
    let (done_tx, done_rx) = mpsc::channel::<(usize, Outcome)>();
    let inputs: Vec<Input> = jobs.iter().map(|j| j.input.clone()).collect();
    let mut next_to_parse = 0;
    let mut parsed: BTreeMap<usize, Result<PreparedFile, String>> = BTreeMap::new();
    let mut replay = Replay::new(change_set, schema);
    let mut expected = 0;
    for (index, job) in jobs.iter().enumerate() {
        while next_to_parse < jobs.len() && next_to_parse < index + window {
            let (tx, input, settings) = (parsed_tx.clone(), inputs[next_to_parse].clone(), settings.clone());
            let at = next_to_parse;
            pool.spawn(move || {
                // The receiver lives until every job is handed out.
                let _ = tx.send((at, prepare(&input, &settings)));
            });
            next_to_parse += 1;
        }
        let prepared = loop {
            if let Some(prepared) = parsed.remove(&index) {
                break prepared;
            }
            match parsed_rx.recv() {
                Ok((at, prepared)) => {
                    parsed.insert(at, prepared);
                }
                // Only a worker that panicked loses its file; say so rather than hang.
                Err(_) => break Err(format!("{}: internal error while parsing", job.input.shown)),
            }
        };
        match replay.next(job, prepared) {
            Step::Lint(job) => {
                let (tx, settings) = (done_tx.clone(), settings.clone());
                pool.spawn(move || {
                    let (prepared, history) = *job;
                    let _ = tx.send((index, Ok(prepared.lint(&settings, &history))));
                });
                expected += 1;
            }
            Step::Failed(message) => {
                let _ = done_tx.send((index, Err(message)));
                expected += 1;
            }
            Step::Done => {}
        }
    }
    drop(done_tx);
    let mut outcomes: Vec<(usize, Outcome)> = done_rx.iter().take(expected).collect();
    outcomes.sort_by_key(|(index, _)| *index);
    outcomes.into_iter().map(|(_, outcome)| outcome).collect()
}

/// Folds files into their directory's catalog in order.
struct Replay {
    catalog: Catalog,
    /// What each directory's history starts from.
    schema: Catalog,
    group: Option<usize>,
    change_set: bool,
    /// A file of the change set was folded into this group's catalog.
    change_started: bool,
    /// What the last up migration with a down migration after it created.
    up: ChangeLedger,
}

enum Step {
    /// Lint this file against this history.
    Lint(Box<(PreparedFile, Catalog)>),
    /// The file to report could not be read.
    Failed(String),
    /// A history file, folded.
    Done,
}

impl Replay {
    fn new(change_set: bool, schema: &Catalog) -> Self {
        Self {
            catalog: schema.clone(),
            schema: schema.clone(),
            group: None,
            change_set,
            change_started: false,
            up: ChangeLedger::default(),
        }
    }

    fn next(&mut self, job: &Job, prepared: Result<PreparedFile, String>) -> Step {
        if self.group != Some(job.group) {
            self.group = Some(job.group);
            self.catalog = self.schema.clone();
            self.change_started = false;
        }
        let up = match job.pair {
            Pair::Up | Pair::Down => std::mem::take(&mut self.up),
            Pair::Alone => ChangeLedger::default(),
        };
        let prepared = match prepared {
            Ok(prepared) => prepared,
            // A history file that cannot be read leaves a gap in the history, nothing worse.
            Err(message) => return if job.report { Step::Failed(message) } else { Step::Done },
        };
        let history = job.report.then(|| {
            let mut history = self.catalog.clone();
            if job.pair == Pair::Down {
                history.undo(up);
            }
            history
        });
        prepared.fold_into(&mut self.catalog);
        // Outside a change set each file is its own deploy; in one, what the change set
        // creates stays new until the end, and only the history before it is settled.
        if !self.change_set || (!job.in_change_set && !self.change_started) {
            let created = self.catalog.settle();
            if job.pair == Pair::Up {
                self.up = created;
            }
        }
        self.change_started |= self.change_set && job.in_change_set;
        match history {
            Some(history) => Step::Lint(Box::new((prepared, history))),
            None => {
                prepared.discard();
                Step::Done
            }
        }
    }
}

fn prepare(input: &Input, settings: &Settings) -> Result<PreparedFile, String> {
    let bytes = read(input)?;
    Ok(ddlint_core::prepare(&input.shown, &bytes, settings, crate::history::hints(input)))
}

/// The bytes of a file or of standard input, up to one byte past the largest file the engine
/// lints: enough for it to refuse the file, without reading an endless stream such as
/// `/dev/zero` into memory.
pub fn read(input: &Input) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let limit = ddlint_core::MAX_FILE_BYTES as u64 + 1;
    let result = match &input.source {
        Source::File(path) => std::fs::File::open(path).and_then(|file| {
            // Sized up front, a file is read in one call and a final empty one; a `Take`
            // hides the file's size from `read_to_end`, which would otherwise start small.
            let size = file.metadata().map_or(0, |m| m.len()).min(limit);
            bytes.reserve_exact(usize::try_from(size).unwrap_or(0) + 1);
            file.take(limit).read_to_end(&mut bytes)
        }),
        Source::Stdin => io::stdin().lock().take(limit).read_to_end(&mut bytes),
    };
    match result {
        Ok(_) => Ok(bytes),
        Err(e) => Err(format!("{}: {}", input.shown, crate::describe_io(&e))),
    }
}
