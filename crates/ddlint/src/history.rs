//! Migration history: the earlier migrations of each linted file's directory, in the order
//! its framework applies them, and the change set under review.
//!
//! A file is linted against the schema that every migration before it built. [`plan`] lists
//! those migrations (reading the directory, so naming one file still replays its
//! predecessors) and orders them as the framework would: by version for Flyway, by
//! `sqitch.plan` for sqitch, by numeric-aware name otherwise, each down migration right
//! after its up migration.
//!
//! Sibling folders named by a number alone (`migrations/0/`, `1/`, `10/`) hold one stream
//! split across folders: they form one history, folder by folder in numeric order. A file
//! written for another SQL dialect, and a neutral popx migration that a `.postgres` one of the
//! same version replaces, are not replayed (see [`crate::dialect`]).

use crate::changes::ChangeSet;
use crate::dialect::{self, Dialect};
use crate::discover::{Filter, Input, Source};
use ddlint_core::framework::{self, FileHints, Framework};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

/// How the linted files relate to each other and to the files before them.
#[derive(Debug)]
pub struct Scope {
    /// Replay the earlier migrations of each file's directory; otherwise each file is linted
    /// alone.
    pub history: bool,
    /// The files deployed together, of which only these are reported. Without one, each
    /// linted file is its own deploy.
    pub change_set: Option<ChangeSet>,
}

/// One file of the plan, in the order the files must be folded.
#[derive(Debug)]
pub struct Job {
    pub input: Input,
    /// Files of one migration directory share a group and are contiguous in the plan.
    pub group: usize,
    /// Whether the file's findings are reported; the others are history only.
    pub report: bool,
    /// A new deploy of the change set: its creations stay new for the files after it.
    /// Without a change set, each linted file is one, and no history file is.
    pub in_change_set: bool,
    /// Whether the file is linted after the earlier migrations of its directory. It is not
    /// for standard input, under `--no-history`, and where the path does not fit its
    /// framework's layout (a sqitch script outside `deploy/`, `revert/` and `verify/`).
    pub with_history: bool,
    /// Where the file stands in an up/down pair of one migration version.
    pub pair: Pair,
}

/// An up migration and the down migration that undoes it, as their directory pairs them:
/// `1_a.up.sql` and `1_a.down.sql`, diesel's `up.sql` and `down.sql`, Flyway's `V1__` and
/// `U1__`, sqitch's `deploy/` and `revert/` scripts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pair {
    /// No other file of its version undoes it, or it is not an up or a down migration.
    Alone,
    /// An up migration whose down migration comes later in the plan.
    Up,
    /// The down migration of the up migration before it in the plan.
    Down,
}

/// Orders the linted files and the history they need. `framework` is the one the run was
/// told to assume, if any.
pub fn plan(inputs: Vec<Input>, scope: &Scope, framework: Option<Framework>, filter: &Filter, cwd: &Path) -> Vec<Job> {
    let canonical = Canonical::new(cwd);
    // Paths are resolved only to compare them with a change set.
    let reported = |input: &Input| {
        scope.change_set.as_ref().is_none_or(|set| file_of(input, &canonical).is_some_and(|p| set.files.contains(&p)))
    };
    let is_new = |input: &Input| {
        scope.change_set.as_ref().is_none_or(|set| file_of(input, &canonical).is_some_and(|p| set.added.contains(&p)))
    };
    let mut jobs = Vec::new();
    let mut groups: Vec<(Group, Vec<Input>)> = Vec::new();
    let mut group_of: HashMap<(PathBuf, Layout), usize> = HashMap::new();
    // Most files share their directory's spelling: resolve each spelling once.
    let mut canonical_roots: HashMap<PathBuf, PathBuf> = HashMap::new();
    for input in inputs.into_iter().filter(|i| reported(i)) {
        let group = match &input.source {
            Source::File(path) if scope.history => Group::of(path, framework),
            _ => None,
        };
        let Some(group) = group else {
            // Standard input and runs without history: the file alone, in a group of its own.
            let in_change_set = is_new(&input);
            jobs.push(Job {
                input,
                group: jobs.len(),
                report: true,
                in_change_set,
                with_history: false,
                pair: Pair::Alone,
            });
            continue;
        };
        // Discovery lists a directory's files together: most files join the previous one's
        // group, found without hashing their directory's path again.
        let index = match groups.last() {
            Some((last, _)) if last.root == group.root && last.layout == group.layout => groups.len() - 1,
            _ => {
                let root =
                    canonical_roots.entry(group.root.clone()).or_insert_with(|| canonical.of(&group.root)).clone();
                *group_of.entry((root, group.layout)).or_insert_with(|| {
                    groups.push((group, Vec::new()));
                    groups.len() - 1
                })
            }
        };
        groups[index].1.push(input);
    }
    let offset = jobs.len();
    for (index, (group, linted)) in groups.into_iter().enumerate() {
        // A member spelled as a linted file is that file; any other is compared by its
        // canonical path, resolved only then.
        // Compared as bytes, which hash far faster than paths do component by component.
        let linted_spelled: HashSet<&OsStr> = linted
            .iter()
            .filter_map(|i| match &i.source {
                Source::File(path) => Some(path.as_os_str()),
                Source::Stdin => None,
            })
            .collect();
        let linted_paths: std::cell::OnceCell<HashSet<PathBuf>> = std::cell::OnceCell::new();
        let is_linted = |path: &Path| {
            linted_spelled.contains(path.as_os_str())
                || linted_paths
                    .get_or_init(|| linted.iter().filter_map(|i| file_of(i, &canonical)).collect())
                    .contains(&canonical.of(path))
        };
        let mut members: Vec<(OrderKey, Input, bool)> = Vec::new();
        let plan_order = group.sqitch_plan();
        for path in group.members(filter, cwd) {
            if is_linted(&path) || filter.excludes(&path, cwd) {
                continue;
            }
            let key = group.order_key(&path, &plan_order);
            let shown = path.to_string_lossy().into_owned();
            members.push((key, Input { shown, source: Source::File(path) }, false));
        }
        for input in linted {
            let key = match &input.source {
                Source::File(path) => group.order_key(path, &plan_order),
                Source::Stdin => OrderKey::last(),
            };
            members.push((key, input, true));
        }
        members.sort_by(|a, b| (&a.0, &a.1.shown).cmp(&(&b.0, &b.1.shown)));
        // Files after the last linted one are not needed.
        let needed = members.iter().rposition(|m| m.2).map_or(0, |last| last + 1);
        members.truncate(needed);
        let pairs = group.pairs(members.iter().map(|m| &m.0));
        for ((_, input, report), pair) in members.into_iter().zip(pairs) {
            // Without a change set, the files linted together are the deploy: the history
            // before them ran earlier (this matters to a runner that wraps a whole upgrade).
            let in_change_set = if scope.change_set.is_some() { is_new(&input) } else { report };
            jobs.push(Job { input, group: offset + index, report, in_change_set, with_history: true, pair });
        }
    }
    jobs
}

/// What the runner needs to know of a file beyond its text: diesel's `metadata.toml`
/// beside `up.sql` can say `run_in_transaction = false`, sourcegraph's `metadata.yaml`
/// `createIndexConcurrently: true` (its `up.sql` then runs outside a transaction), and popx
/// runs a `<version>_<name>.autocommit.up.sql` outside a transaction.
pub fn hints(input: &Input) -> FileHints {
    let Source::File(path) = &input.source else { return FileHints::default() };
    let file = path.file_name().and_then(OsStr::to_str);
    // Flyway's per-script configuration, `V1__x.sql.conf`, can say `executeInTransaction=false`.
    if let Some(conf) = file.filter(|f| f.ends_with(".sql")).map(|f| path.with_file_name(format!("{f}.conf"))) {
        if flyway_outside_transaction(&conf) {
            return FileHints { no_transaction: true, ..FileHints::default() };
        }
    }
    let popx = file.and_then(dialect::popx);
    if popx.as_ref().is_some_and(|p| p.autocommit) {
        return FileHints { no_transaction: true, ..FileHints::default() };
    }
    // popx wraps its other files in a transaction; its names are golang-migrate's, so a
    // directory is popx's when one of its files says so (`.autocommit`, or a dialect).
    if popx.is_some() && path.parent().is_some_and(is_popx_dir) {
        return FileHints { wrapped: true, ..FileHints::default() };
    }
    if !matches!(file, Some("up.sql" | "down.sql")) {
        return FileHints::default();
    }
    let Some(dir) = path.parent() else { return FileHints::default() };
    if file == Some("up.sql") && sourcegraph_concurrent(&dir.join("metadata.yaml")) {
        return FileHints { no_transaction: true, ..FileHints::default() };
    }
    let metadata = dir.join("metadata.toml");
    let Ok(text) = fs::read_to_string(metadata) else { return FileHints::default() };
    let run_in_transaction =
        text.parse::<toml::Table>().ok().and_then(|t| t.get("run_in_transaction").and_then(toml::Value::as_bool));
    FileHints { no_transaction: run_in_transaction == Some(false), ..FileHints::default() }
}

/// Whether a directory holds popx migrations: a file named with `.autocommit` or a SQL
/// dialect, which golang-migrate's names never have. Asked once per directory.
fn is_popx_dir(dir: &Path) -> bool {
    use std::sync::{Mutex, OnceLock};
    static SEEN: OnceLock<Mutex<HashMap<PathBuf, bool>>> = OnceLock::new();
    let seen = SEEN.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(known) = seen.lock().ok().and_then(|s| s.get(dir).copied()) {
        return known;
    }
    let popx = fs::read_dir(dir).is_ok_and(|entries| {
        entries.filter_map(Result::ok).any(|e| {
            e.file_name()
                .to_str()
                .and_then(dialect::popx)
                .is_some_and(|p| p.autocommit || p.dialect != dialect::Dialect::Neutral)
        })
    });
    if let Ok(mut seen) = seen.lock() {
        seen.insert(dir.to_path_buf(), popx);
    }
    popx
}

/// Whether a Flyway script configuration file says `executeInTransaction=false`.
fn flyway_outside_transaction(conf: &Path) -> bool {
    let Ok(text) = fs::read_to_string(conf) else { return false };
    text.lines().any(|line| {
        line.split_once('=').is_some_and(|(key, value)| key.trim() == "executeInTransaction" && value.trim() == "false")
    })
}

/// Whether a sourcegraph `metadata.yaml` says `createIndexConcurrently: true`. The file is a
/// flat map of a few keys, read line by line rather than with a YAML parser.
fn sourcegraph_concurrent(metadata: &Path) -> bool {
    let Ok(text) = fs::read_to_string(metadata) else { return false };
    text.lines().any(|line| {
        let line = line.split('#').next().unwrap_or("").trim();
        line.split_once(':')
            .is_some_and(|(key, value)| key.trim() == "createIndexConcurrently" && value.trim() == "true")
    })
}

fn file_of(input: &Input, canonical: &Canonical<'_>) -> Option<PathBuf> {
    match &input.source {
        Source::File(path) => Some(canonical.of(path)),
        Source::Stdin => None,
    }
}

pub fn canonical(path: &Path, cwd: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| cwd.join(path))
}

/// Canonical paths for many files, each directory resolved once: canonicalizing reads every
/// component of a path, which over thousands of files is a good part of a run's system time.
pub struct Canonical<'a> {
    cwd: &'a Path,
    dirs: RefCell<HashMap<PathBuf, Option<PathBuf>>>,
}

impl<'a> Canonical<'a> {
    pub fn new(cwd: &'a Path) -> Self {
        Self { cwd, dirs: RefCell::new(HashMap::new()) }
    }

    /// The same as [`canonical`].
    pub fn of(&self, path: &Path) -> PathBuf {
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else { return canonical(path, self.cwd) };
        // A symbolic link resolves somewhere other than its directory.
        if !fs::symlink_metadata(path).is_ok_and(|m| !m.file_type().is_symlink()) {
            return canonical(path, self.cwd);
        }
        let parent = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
        let dir =
            self.dirs.borrow_mut().entry(parent.to_path_buf()).or_insert_with(|| fs::canonicalize(parent).ok()).clone();
        match dir {
            Some(dir) => dir.join(name),
            None => canonical(path, self.cwd),
        }
    }
}

/// How a framework lays out its migration directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Layout {
    /// `dir/<version>_name.sql` (and `.up.sql`/`.down.sql`, Flyway's `V1__x.sql`).
    Files(Framework),
    /// `dir/<n>/<version>_name.sql`: one stream of files split across folders named by a
    /// number alone, applied folder by folder in numeric order.
    Numbered(Framework),
    /// `dir/<timestamp>_name/up.sql` and `down.sql` (diesel) or `migration.sql` (Prisma).
    Folders,
    /// `dir/{deploy,revert,verify}/<change>.sql`, ordered by `dir/sqitch.plan`.
    Sqitch,
}

struct Group {
    root: PathBuf,
    layout: Layout,
}

impl Group {
    fn of(path: &Path, framework: Option<Framework>) -> Option<Self> {
        let shown = path.to_string_lossy();
        // `001_a.up.sql.postgres` is laid out as `001_a.up.sql` is.
        let framework = framework.unwrap_or_else(|| framework::detect(dialect::ordering_name(&shown), &[]));
        let parent = path.parent().map(|p| if p.as_os_str().is_empty() { Path::new(".") } else { p })?;
        let (root, layout) = match framework {
            Framework::Diesel | Framework::Prisma => (parent.parent()?, Layout::Folders),
            Framework::Sqitch => {
                let at = path
                    .ancestors()
                    .find(|a| matches!(a.file_name().and_then(OsStr::to_str), Some("deploy" | "revert" | "verify")))?;
                (at.parent()?, Layout::Sqitch)
            }
            // A folder named by a number alone is one part of a stream numbered across its
            // siblings. A diesel or Prisma folder holds one migration and is taken above.
            other => match parent.parent() {
                Some(grandparent) if is_number(parent) => (grandparent, Layout::Numbered(other)),
                _ => (parent, Layout::Files(other)),
            },
        };
        let root = if root.as_os_str().is_empty() { Path::new(".") } else { root };
        Some(Self { root: root.to_path_buf(), layout })
    }

    /// Every migration file of the directory: its `.sql` files and those `filter`'s `include`
    /// globs add, less those written for another dialect or replaced by a `.postgres` file.
    fn members(&self, filter: &Filter, cwd: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        match self.layout {
            Layout::Files(_) => out.extend(migration_files(&self.root, filter, cwd)),
            Layout::Numbered(_) => {
                for dir in entries(&self.root).filter(|e| e.is_dir() && is_number(&e.path)) {
                    out.extend(migration_files(&dir.path, filter, cwd));
                }
            }
            Layout::Folders => {
                for dir in entries(&self.root).filter(Entry::is_dir) {
                    for name in ["up.sql", "down.sql", "migration.sql"] {
                        let file = dir.path.join(name);
                        if file.is_file() {
                            out.push(file);
                        }
                    }
                }
            }
            Layout::Sqitch => {
                for kind in ["deploy", "revert", "verify"] {
                    let mut todo = vec![self.root.join(kind)];
                    // Bounded by the directory tree; symlinked directories are not followed.
                    while let Some(dir) = todo.pop() {
                        for entry in entries(&dir) {
                            match entry.kind {
                                Kind::Dir => todo.push(entry.path),
                                Kind::LinkToDir | Kind::LinkToFile | Kind::OtherLink => {}
                                Kind::File | Kind::Other if is_sql(&entry.path) => out.push(entry.path),
                                Kind::File | Kind::Other => {}
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// Change names in `sqitch.plan` order.
    fn sqitch_plan(&self) -> HashMap<String, usize> {
        if self.layout != Layout::Sqitch {
            return HashMap::new();
        }
        let Ok(text) = fs::read_to_string(self.root.join("sqitch.plan")) else { return HashMap::new() };
        let mut order = HashMap::new();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with(['%', '#', '@']) {
                continue;
            }
            if let Some(name) = line.split_whitespace().next() {
                let next = order.len();
                order.entry(name.to_owned()).or_insert(next);
            }
        }
        order
    }

    /// Pairs each down migration with the up migration of its version, given the members'
    /// keys in plan order.
    fn pairs<'k>(&self, keys: impl Iterator<Item = &'k OrderKey>) -> Vec<Pair> {
        // A sqitch change's verify script sits between its deploy and revert scripts.
        let undo = if self.layout == Layout::Sqitch { 2 } else { 1 };
        let keys: Vec<&OrderKey> = keys.collect();
        let mut pairs = vec![Pair::Alone; keys.len()];
        for (i, key) in keys.iter().enumerate().filter(|(_, k)| k.after == undo) {
            let up = keys[..i].iter().rposition(|k| k.same_version(key) && k.after == 0);
            if let Some(up) = up {
                pairs[up] = Pair::Up;
                pairs[i] = Pair::Down;
            }
        }
        pairs
    }

    fn order_key(&self, path: &Path, plan: &HashMap<String, usize>) -> OrderKey {
        let file = path.file_name().and_then(OsStr::to_str).unwrap_or("");
        // `001_init.sql.postgres` is ordered as `001_init.sql`.
        let file = dialect::ordering_name(file);
        match self.layout {
            Layout::Numbered(framework) => {
                let folder = path.parent().and_then(Path::file_name).and_then(OsStr::to_str).unwrap_or("");
                let key = file_key(framework, file);
                OrderKey { folder: natural(folder), ..key }
            }
            Layout::Folders => {
                let dir = path.parent().and_then(Path::file_name).and_then(OsStr::to_str).unwrap_or("");
                OrderKey { folder: Vec::new(), class: 0, version: natural(dir), after: u8::from(file == "down.sql") }
            }
            Layout::Sqitch => {
                let relative = path.strip_prefix(&self.root).unwrap_or(path);
                let mut parts = relative.components();
                let kind = parts.next().map(|c| c.as_os_str().to_string_lossy().into_owned()).unwrap_or_default();
                let change = parts.as_path().with_extension("").to_string_lossy().replace('\\', "/");
                let after = match kind.as_str() {
                    "deploy" => 0,
                    "verify" => 1,
                    _ => 2,
                };
                match plan.get(&change) {
                    Some(&index) => {
                        OrderKey { folder: Vec::new(), class: 0, version: vec![Part::Number(index)], after }
                    }
                    None => OrderKey { folder: Vec::new(), class: 1, version: natural(&change), after },
                }
            }
            Layout::Files(framework) => file_key(framework, file),
        }
    }
}

/// Where a file falls among the files of its directory.
fn file_key(framework: Framework, file: &str) -> OrderKey {
    if framework == Framework::Flyway {
        return flyway_key(file);
    }
    let (stem, after) = if let Some(stem) = strip_suffix_ignore_case(file, ".down.sql") {
        (stem, 1)
    } else if let Some(stem) = strip_suffix_ignore_case(file, ".up.sql") {
        (stem, 0)
    } else {
        (strip_suffix_ignore_case(file, ".sql").unwrap_or(file), 0)
    };
    OrderKey { folder: Vec::new(), class: 0, version: natural(stem), after }
}

/// Whether the path's last component is a number alone, such as `0` or `10`.
fn is_number(path: &Path) -> bool {
    path.file_name().and_then(OsStr::to_str).is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Where a migration falls in its directory's order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct OrderKey {
    /// The numbered folder of a stream split across folders; empty otherwise.
    folder: Vec<Part>,
    /// Flyway's repeatable migrations run after the versioned ones; unknown names go last.
    class: u8,
    version: Vec<Part>,
    /// 0 for the up migration, then its verify and down (revert) migrations.
    after: u8,
}

impl OrderKey {
    /// Whether both files belong to one migration version (its up, verify or down file).
    fn same_version(&self, other: &Self) -> bool {
        self.folder == other.folder && self.class == other.class && self.version == other.version
    }

    fn last() -> Self {
        Self { folder: Vec::new(), class: u8::MAX, version: Vec::new(), after: 0 }
    }
}

/// A run of digits compares as a number, so `2_x` comes before `10_x`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Number(usize),
    /// Digits beyond `usize`, compared by length, then text (leading zeros removed).
    BigNumber(usize, String),
    Text(String),
}

fn natural(text: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(first) = rest.chars().next() {
        let digit = first.is_ascii_digit();
        let end = rest.find(|c: char| c.is_ascii_digit() != digit).unwrap_or(rest.len());
        let (run, tail) = rest.split_at(end);
        parts.push(if digit {
            let trimmed = run.trim_start_matches('0');
            match trimmed.parse::<usize>() {
                Ok(n) => Part::Number(n),
                Err(_) if trimmed.is_empty() => Part::Number(0),
                Err(_) => Part::BigNumber(trimmed.len(), trimmed.to_owned()),
            }
        } else {
            Part::Text(run.to_ascii_lowercase())
        });
        rest = tail;
    }
    parts
}

/// `V1_2__x.sql` is version 1.2; `U1_2__x.sql` undoes it; `R__x.sql` runs after them all.
fn flyway_key(file: &str) -> OrderKey {
    let key = |class, version| OrderKey { folder: Vec::new(), class, version, after: 0 };
    let Some((prefix, _)) = file.split_once("__") else {
        return key(2, natural(file));
    };
    match prefix.as_bytes().first() {
        Some(b'V' | b'U') if prefix.len() > 1 => {
            let version = prefix[1..].split(['.', '_']).map(|p| natural(p).into_iter().next()).collect::<Option<_>>();
            match version {
                Some(version) => OrderKey { after: u8::from(prefix.starts_with('U')), ..key(0, version) },
                None => key(2, natural(file)),
            }
        }
        Some(b'R') => key(1, natural(file)),
        _ => key(2, natural(file)),
    }
}

fn strip_suffix_ignore_case<'a>(text: &'a str, suffix: &str) -> Option<&'a str> {
    let at = text.len().checked_sub(suffix.len())?;
    (text.is_char_boundary(at) && text[at..].eq_ignore_ascii_case(suffix)).then(|| &text[..at])
}

/// A directory's entries, hidden ones left out, in name order, with what they are: the type
/// comes with the listing, so only symbolic links cost a call to find what they point to.
fn entries(dir: &Path) -> impl Iterator<Item = Entry> {
    let mut found: Vec<(std::ffi::OsString, Entry)> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().as_encoded_bytes().starts_with(b"."))
        .map(|e| {
            let path = e.path();
            let kind = match e.file_type() {
                Ok(kind) if kind.is_symlink() => match fs::metadata(&path) {
                    Ok(target) if target.is_dir() => Kind::LinkToDir,
                    Ok(target) if target.is_file() => Kind::LinkToFile,
                    _ => Kind::OtherLink,
                },
                Ok(kind) if kind.is_dir() => Kind::Dir,
                Ok(kind) if kind.is_file() => Kind::File,
                _ => Kind::Other,
            };
            (e.file_name(), Entry { path, kind })
        })
        .collect();
    // Names are unique within a directory and order its entries as their paths would, at a
    // fraction of the cost of comparing paths component by component.
    found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    found.into_iter().map(|(_, entry)| entry)
}

struct Entry {
    path: PathBuf,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
    LinkToFile,
    LinkToDir,
    /// A link to something else, or to nothing.
    OtherLink,
    Other,
}

impl Entry {
    /// A file, or a symbolic link to one.
    fn is_file(&self) -> bool {
        matches!(self.kind, Kind::File | Kind::LinkToFile)
    }

    /// A directory, or a symbolic link to one.
    fn is_dir(&self) -> bool {
        matches!(self.kind, Kind::Dir | Kind::LinkToDir)
    }
}

/// The migrations of one directory: its `.sql` files and the files an `include` glob adds,
/// less those written for another dialect and the neutral popx files a `.postgres` file
/// replaces.
fn migration_files(dir: &Path, filter: &Filter, cwd: &Path) -> Vec<PathBuf> {
    let files: Vec<PathBuf> = entries(dir)
        .filter(|e| e.is_file() && (is_sql(&e.path) || filter.adds_file(&e.path, cwd)))
        .map(|e| e.path)
        .collect();
    let name = |path: &PathBuf| path.file_name().and_then(OsStr::to_str).unwrap_or("").to_owned();
    let names: Vec<String> = files.iter().map(name).collect();
    let replaced = dialect::Replaced::new(names.iter().map(String::as_str));
    files
        .into_iter()
        .zip(&names)
        .filter(|(_, name)| dialect::of(name) != Dialect::Other && !replaced.contains(name))
        .map(|(path, _)| path)
        .collect()
}

fn is_sql(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("sql"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(layout: Layout, names: &[&str]) -> Vec<String> {
        let group = Group { root: PathBuf::from("m"), layout };
        let mut paths: Vec<PathBuf> = names.iter().map(|n| Path::new("m").join(n)).collect();
        paths.sort_by_key(|p| group.order_key(p, &HashMap::new()));
        paths.iter().map(|p| p.strip_prefix("m").unwrap_or(p).to_string_lossy().replace('\\', "/")).collect()
    }

    #[cfg(unix)]
    #[test]
    fn members_follow_links_to_files_but_sqitch_skips_links() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().expect("temporary directory");
        let root = fs::canonicalize(dir.path()).expect("canonical temporary directory");
        let flat = root.join("flat");
        fs::create_dir_all(flat.join("nested.sql")).expect("mkdir");
        fs::write(root.join("elsewhere.sql"), "SELECT 1;").expect("write");
        fs::write(flat.join("001.sql"), "SELECT 1;").expect("write");
        fs::write(flat.join(".hidden.sql"), "SELECT 1;").expect("write");
        symlink(root.join("elsewhere.sql"), flat.join("002.sql")).expect("symlink a file");
        symlink(root.join("missing.sql"), flat.join("003.sql")).expect("dangling symlink");
        let group = Group { root: flat.clone(), layout: Layout::Files(Framework::Plain) };
        // The directory named `nested.sql` and the dangling link are not files.
        assert_eq!(group.members(&Filter::default(), &root), [flat.join("001.sql"), flat.join("002.sql")]);

        let sqitch = root.join("sqitch");
        fs::create_dir_all(sqitch.join("deploy/inner")).expect("mkdir");
        fs::write(sqitch.join("deploy/a.sql"), "SELECT 1;").expect("write");
        fs::write(sqitch.join("deploy/inner/b.sql"), "SELECT 1;").expect("write");
        symlink(root.join("elsewhere.sql"), sqitch.join("deploy/c.sql")).expect("symlink a file");
        symlink(sqitch.join("deploy/inner"), sqitch.join("deploy/loop")).expect("symlink a directory");
        let group = Group { root: sqitch.clone(), layout: Layout::Sqitch };
        assert_eq!(
            group.members(&Filter::default(), &root),
            [sqitch.join("deploy/a.sql"), sqitch.join("deploy/inner/b.sql")]
        );

        let folders = root.join("diesel");
        fs::create_dir_all(folders.join("2024-01-01_a")).expect("mkdir");
        fs::write(folders.join("2024-01-01_a/up.sql"), "SELECT 1;").expect("write");
        fs::write(folders.join("2024-01-01_a/down.sql"), "SELECT 1;").expect("write");
        symlink(folders.join("2024-01-01_a"), folders.join("2024-01-02_b")).expect("symlink a directory");
        let group = Group { root: folders.clone(), layout: Layout::Folders };
        assert_eq!(
            group.members(&Filter::default(), &root),
            [
                folders.join("2024-01-01_a/up.sql"),
                folders.join("2024-01-01_a/down.sql"),
                folders.join("2024-01-02_b/up.sql"),
                folders.join("2024-01-02_b/down.sql"),
            ]
        );
    }

    #[test]
    fn canonical_paths_agree_with_the_filesystem() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let root = fs::canonicalize(dir.path()).expect("canonical temporary directory");
        fs::create_dir_all(root.join("real/migrations")).expect("mkdir");
        fs::write(root.join("real/migrations/001.sql"), "SELECT 1;").expect("write");
        std::os::unix::fs::symlink(root.join("real"), root.join("linked")).expect("symlink a directory");
        std::os::unix::fs::symlink(root.join("real/migrations/001.sql"), root.join("one.sql")).expect("symlink a file");
        let canonical = Canonical::new(&root);
        let expected = root.join("real/migrations/001.sql");
        for path in
            ["real/migrations/001.sql", "linked/migrations/001.sql", "one.sql", "real/migrations/../migrations/001.sql"]
        {
            let path = root.join(path);
            assert_eq!(canonical.of(&path), expected, "{}", path.display());
            assert_eq!(canonical.of(&path), super::canonical(&path, &root), "{}", path.display());
        }
        // A path that does not exist is taken as it is, relative to the working directory.
        assert_eq!(canonical.of(Path::new("gone.sql")), root.join("gone.sql"));
    }

    #[test]
    fn numbers_in_names_compare_as_numbers() {
        let order = sorted(Layout::Files(Framework::Plain), &["10_c.sql", "2_b.sql", "1_a.sql", "002_a.sql"]);
        assert_eq!(order, ["1_a.sql", "002_a.sql", "2_b.sql", "10_c.sql"]);
    }

    #[test]
    fn down_migrations_follow_their_up_migration() {
        let order = sorted(
            Layout::Files(Framework::GolangMigrate),
            &["2_b.down.sql", "2_b.up.sql", "1_a.down.sql", "1_a.up.sql"],
        );
        assert_eq!(order, ["1_a.up.sql", "1_a.down.sql", "2_b.up.sql", "2_b.down.sql"]);
        let order = sorted(Layout::Folders, &["2024_b/down.sql", "2024_b/up.sql", "2023_a/up.sql"]);
        assert_eq!(order, ["2023_a/up.sql", "2024_b/up.sql", "2024_b/down.sql"]);
    }

    #[test]
    fn numbered_folders_are_one_stream_in_numeric_order() {
        let order = sorted(
            Layout::Numbered(Framework::Plain),
            &["10/001_a.sql", "2/001_a.sql", "0/010_c.sql", "0/002_b.sql", "1/001.sql"],
        );
        assert_eq!(order, ["0/002_b.sql", "0/010_c.sql", "1/001.sql", "2/001_a.sql", "10/001_a.sql"]);
        let order =
            sorted(Layout::Numbered(Framework::GolangMigrate), &["1/1_a.down.sql", "0/9_z.up.sql", "1/1_a.up.sql"]);
        assert_eq!(order, ["0/9_z.up.sql", "1/1_a.up.sql", "1/1_a.down.sql"]);
    }

    #[test]
    fn engine_suffixes_are_ordered_as_their_sql_name() {
        let order = sorted(Layout::Files(Framework::Plain), &["10_b.sql.postgres", "2_a.sql.postgres", "3.sql"]);
        assert_eq!(order, ["2_a.sql.postgres", "3.sql", "10_b.sql.postgres"]);
        let order = sorted(
            Layout::Files(Framework::GolangMigrate),
            &["2_b.up.sql", "1_a.down.sql.postgres", "1_a.up.sql.postgres"],
        );
        assert_eq!(order, ["1_a.up.sql.postgres", "1_a.down.sql.postgres", "2_b.up.sql"]);
    }

    #[test]
    fn members_leave_out_other_dialects_and_replaced_files() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let root = fs::canonicalize(dir.path()).expect("canonical temporary directory");
        for name in [
            "1_a.postgres.up.sql",
            "1_a.up.sql",
            "1_a.mysql.up.sql",
            "1_a.down.sql",
            "2_b.autocommit.up.sql",
            "2_b.cockroach.up.sql",
            "3_c.sql.postgres",
            "3_c.sql.mysql",
            "notes.md",
        ] {
            fs::write(root.join(name), "SELECT 1;").expect("write");
        }
        let names = |filter: &Filter| {
            let group = Group { root: root.clone(), layout: Layout::Files(Framework::GolangMigrate) };
            let members = group.members(filter, &root);
            members.iter().map(|p| p.file_name().unwrap_or_default().to_string_lossy().into_owned()).collect::<Vec<_>>()
        };
        assert_eq!(names(&Filter::default()), ["1_a.down.sql", "1_a.postgres.up.sql", "2_b.autocommit.up.sql"]);
        // An `include` glob that names a suffix adds the files it matches; another engine's
        // file stays out even so.
        let include =
            crate::discover::GlobList::new(&["*.sql.*".to_owned(), "*.sql.{postgres,mysql}".to_owned()], &root);
        let filter = Filter { include: include.ok().flatten(), exclude: None };
        assert_eq!(
            names(&filter),
            ["1_a.down.sql", "1_a.postgres.up.sql", "2_b.autocommit.up.sql", "3_c.sql.postgres"]
        );
    }

    #[test]
    fn popx_autocommit_files_run_outside_a_transaction() {
        let hint = |name: &str| hints(&Input { shown: name.to_owned(), source: Source::File(PathBuf::from(name)) });
        assert!(hint("m/20210410175418000002_x.autocommit.up.sql").no_transaction);
        assert!(hint("m/20210410175418000002_x.postgres.autocommit.down.sql").no_transaction);
        assert!(!hint("m/20210410175418000003_x.up.sql").no_transaction);
        assert!(!hint("m/autocommit.up.sql").no_transaction);
    }

    #[test]
    fn flyway_orders_by_version_then_repeatables() {
        let order = sorted(
            Layout::Files(Framework::Flyway),
            &["R__views.sql", "V1_10__c.sql", "V1_2__b.sql", "V1__a.sql", "U1_2__undo_b.sql", "V2__d.sql"],
        );
        assert_eq!(
            order,
            ["V1__a.sql", "V1_2__b.sql", "U1_2__undo_b.sql", "V1_10__c.sql", "V2__d.sql", "R__views.sql"]
        );
    }

    #[test]
    fn sqitch_follows_the_plan() {
        let group = Group { root: PathBuf::from("s"), layout: Layout::Sqitch };
        let plan: HashMap<String, usize> = [("users".to_owned(), 1), ("appschema".to_owned(), 0)].into();
        let mut paths = ["s/revert/users.sql", "s/deploy/users.sql", "s/deploy/appschema.sql", "s/verify/users.sql"]
            .map(PathBuf::from)
            .to_vec();
        paths.sort_by_key(|p| group.order_key(p, &plan));
        let names: Vec<_> = paths.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["s/deploy/appschema.sql", "s/deploy/users.sql", "s/verify/users.sql", "s/revert/users.sql"]);
    }

    #[test]
    fn groups_by_framework_layout() {
        let diesel = Group::of(Path::new("db/migrations/2024-01-01-000000_a/up.sql"), None);
        assert_eq!(diesel.map(|g| (g.root, g.layout)), Some((PathBuf::from("db/migrations"), Layout::Folders)));
        let sqitch = Group::of(Path::new("app/deploy/schema/users.sql"), None);
        assert_eq!(sqitch.map(|g| (g.root, g.layout)), Some((PathBuf::from("app"), Layout::Sqitch)));
        let plain = Group::of(Path::new("001_init.sql"), None);
        assert_eq!(plain.map(|g| g.root), Some(PathBuf::from(".")));
        // Folders named by a number alone are one stream under their parent.
        let numbered = Group::of(Path::new("migrations/postgres/10/001_x.sql"), None);
        assert_eq!(
            numbered.map(|g| (g.root, g.layout)),
            Some((PathBuf::from("migrations/postgres"), Layout::Numbered(Framework::Plain)))
        );
        let top = Group::of(Path::new("0/001_x.up.sql"), None);
        assert_eq!(
            top.map(|g| (g.root, g.layout)),
            Some((PathBuf::from("."), Layout::Numbered(Framework::GolangMigrate)))
        );
        // A diesel folder named by its timestamp alone is still one migration of its parent.
        let diesel = Group::of(Path::new("db/migrations/20240101000000/up.sql"), None);
        assert_eq!(diesel.map(|g| (g.root, g.layout)), Some((PathBuf::from("db/migrations"), Layout::Folders)));
        let named = Group::of(Path::new("db/v2/001_x.sql"), None);
        assert_eq!(named.map(|g| (g.root, g.layout)), Some((PathBuf::from("db/v2"), Layout::Files(Framework::Plain))));
        let engine = Group::of(Path::new("db/001_x.up.sql.postgres"), None);
        assert_eq!(engine.map(|g| g.layout), Some(Layout::Files(Framework::GolangMigrate)));
    }
}
