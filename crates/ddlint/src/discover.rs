//! Finding the files to lint: directories, quoted globs, named files and standard input.
//!
//! Directories are searched recursively for `*.sql` files, skipping hidden entries and
//! following symbolic links, but each real directory is entered once, so a link loop ends.
//! Only regular files are linted: a FIFO, socket or device is reported instead, since reading
//! one could block forever or never end. The descriptors this process already holds
//! (`/dev/stdin`, `/dev/fd/N`) are the exception, so `<(…)` still works.
//! A path that does not exist and contains one of `*?[{` is a glob: it is matched against
//! the files under its literal leading directories. `--include`/`--exclude` filter the files
//! that directories and globs turn up; a file named on the command line is always linted.
//! An `--include` glob that ends in a literal name part, such as `*.sql.postgres`, also adds
//! the files it matches that do not end in `.sql`; one that ends in a wildcard
//! (`migrations/**`) only filters, so that it never adds a directory's READMEs.
//! A search leaves out migrations written for another SQL dialect by their name
//! (`1_a.mysql.up.sql`, `1_a.sql.mysql`) and a popx migration that a `.postgres` file of the
//! same version replaces (see [`crate::dialect`]), and counts them.
//! A directory or glob named on the command line that turns up nothing at all is listed apart
//! from the errors, for the caller to decide: most often it is a mistyped path.

use crate::dialect::{self, Dialect};
use globset::{Glob, GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};
use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs;
use std::path::{Component, Path, PathBuf};

/// What `-` is reported as when `--stdin-path` does not name it.
pub const STDIN_NAME: &str = "<stdin>";

/// Where an input's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    Stdin,
}

/// One file to lint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The path as reports show it.
    pub shown: String,
    pub source: Source,
}

/// The inputs in path order, and a message per path that could not be searched.
#[derive(Debug, Default)]
pub struct Discovery {
    pub inputs: Vec<Input>,
    /// Each `path: reason`, in the order met.
    pub errors: Vec<String>,
    /// Each directory or glob named on the command line that held no file to lint, as
    /// `path: reason`, in the order given. Searching the working directory by default never
    /// lands here: nothing was typed that could be wrong.
    pub empty: Vec<String>,
    /// What `--include` and `--exclude` (or the config's lists) kept the searches from linting.
    pub skipped: Skipped,
}

/// What the filter dropped from the directory and glob searches. An excluded directory counts
/// once: it is not entered, so the files under it are never seen, let alone counted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Skipped {
    /// Files matching an `exclude` glob.
    pub excluded_files: usize,
    /// Directories matching an `exclude` glob.
    pub excluded_dirs: usize,
    /// Files matching no `include` glob (and no `exclude` glob).
    pub not_included: usize,
    /// Files written for another SQL dialect, such as `1_a.mysql.up.sql`.
    pub other_dialect: usize,
    /// Neutral popx migrations that a `.postgres` file of the same version replaces.
    pub replaced: usize,
}

impl Skipped {
    /// One line per kind of skip, for the human report, such as ``skipped 3 files and
    /// 1 directory matching `exclude` ``.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let excluded = match (self.excluded_files, self.excluded_dirs) {
            (0, 0) => None,
            (files, 0) => Some(count(files, "file", "files")),
            (0, dirs) => Some(count(dirs, "directory", "directories")),
            (files, dirs) => {
                Some(format!("{} and {}", count(files, "file", "files"), count(dirs, "directory", "directories")))
            }
        };
        if let Some(excluded) = excluded {
            notes.push(format!("skipped {excluded} matching `exclude`"));
        }
        if self.not_included > 0 {
            notes.push(format!("skipped {} matching no `include` glob", count(self.not_included, "file", "files")));
        }
        if self.other_dialect > 0 {
            notes.push(format!("skipped {} of another SQL dialect", count(self.other_dialect, "file", "files")));
        }
        if self.replaced > 0 {
            let files = count(self.replaced, "neutral file", "neutral files");
            notes.push(format!("skipped {files} that a `.postgres` migration of the same version replaces"));
        }
        notes
    }
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Globs relative to a base directory (the config file's, or the working directory).
#[derive(Debug)]
pub struct GlobList {
    set: GlobSet,
    /// The globs that end in a literal name part (`*.sql.postgres`), which add the files they
    /// match to a directory search as well as filter it; `None` when there are none.
    adding: Option<GlobSet>,
    base: PathBuf,
}

impl GlobList {
    /// `None` when there are no globs. `base` must be absolute.
    pub fn new(globs: &[String], base: &Path) -> Result<Option<Self>, String> {
        if globs.is_empty() {
            return Ok(None);
        }
        let mut builder = GlobSetBuilder::new();
        let mut adding = GlobSetBuilder::new();
        let mut any_adding = false;
        for glob in globs {
            let built = build_glob(glob)?;
            if adds_files(glob) {
                adding.add(built.clone());
                any_adding = true;
            }
            builder.add(built);
        }
        let set = builder.build().map_err(|e| format!("invalid glob: {e}"))?;
        let adding = if any_adding { Some(adding.build().map_err(|e| format!("invalid glob: {e}"))?) } else { None };
        Ok(Some(Self { set, adding, base: normalize(base) }))
    }

    /// Whether a glob that adds files matches this one, which does not end in `.sql`.
    fn adds(&self, absolute: &Path) -> bool {
        let Some(adding) = &self.adding else { return false };
        if let Ok(relative) = absolute.strip_prefix(&self.base) {
            if adding.is_match(relative) {
                return true;
            }
        }
        absolute.file_name().is_some_and(|name| adding.is_match(name))
    }

    /// Whether a glob matches the path relative to the base, or the file name alone, so
    /// that `*_old.sql` and `legacy` match at any depth as in `.gitignore`.
    fn is_match(&self, absolute: &Path) -> bool {
        if let Ok(relative) = absolute.strip_prefix(&self.base) {
            if self.set.is_match(relative) {
                return true;
            }
        }
        absolute.file_name().is_some_and(|name| self.set.is_match(name))
    }
}

/// Whether an `include` glob adds the non-`.sql` files it matches: it ends in a literal name
/// part, as `*.sql.postgres` and `*.sql.{postgres,pg}` do, rather than in a wildcard, as
/// `migrations/**` does, which is meant to narrow the search, not to lint every file there.
fn adds_files(glob: &str) -> bool {
    !glob.ends_with(['*', '?', '/', '\\'])
}

fn build_glob(glob: &str) -> Result<Glob, String> {
    GlobBuilder::new(glob).literal_separator(true).build().map_err(|e| format!("invalid glob `{glob}`: {}", e.kind()))
}

/// The `--include`/`--exclude` filter.
#[derive(Debug, Default)]
pub struct Filter {
    pub include: Option<GlobList>,
    pub exclude: Option<GlobList>,
}

impl Filter {
    /// Whether `--include` lets the file through; `--exclude` is asked apart, so that a note
    /// can say which of the two skipped a file.
    fn includes(&self, absolute: &Path) -> bool {
        self.include.as_ref().is_none_or(|g| g.is_match(absolute))
    }

    fn skips_dir(&self, absolute: &Path) -> bool {
        self.exclude.as_ref().is_some_and(|g| g.is_match(absolute))
    }

    /// Whether an `--include` glob adds this file, which does not end in `.sql`, to a
    /// directory search.
    fn adds(&self, absolute: &Path) -> bool {
        self.include.as_ref().is_some_and(|g| g.adds(absolute))
    }

    /// Whether a directory search would find the file, given relative to `cwd`, beside the
    /// `.sql` files: an `--include` glob adds it. The history of a directory replays these.
    pub fn adds_file(&self, path: &Path, cwd: &Path) -> bool {
        self.include.as_ref().is_some_and(|g| g.adding.is_some()) && self.adds(&normalize(&cwd.join(path)))
    }

    /// Whether neither `--include` nor `--exclude` was given: every path is kept, and need
    /// not be made absolute to be matched.
    fn keeps_all(&self) -> bool {
        self.include.is_none() && self.exclude.is_none()
    }

    /// Whether `--exclude` (or the config's `exclude`) names the path, given relative to `cwd`.
    pub fn excludes(&self, path: &Path, cwd: &Path) -> bool {
        if self.exclude.is_none() {
            return false;
        }
        let absolute = normalize(&cwd.join(path));
        absolute.ancestors().any(|a| self.skips_dir(a))
    }
}

/// Expands the command line's paths into the files to lint.
pub fn discover(paths: &[PathBuf], stdin_path: Option<&str>, filter: &Filter, cwd: &Path) -> Discovery {
    let mut walker = Walker {
        filter,
        cwd,
        visited: HashSet::new(),
        found: Vec::new(),
        found_links: false,
        skipped: Skipped::default(),
        errors: Vec::new(),
        empty: Vec::new(),
    };
    let default_path = [PathBuf::from(".")];
    let explicit = !paths.is_empty();
    let paths = match (paths.is_empty(), stdin_path) {
        // `--stdin-path` alone means the file comes on standard input.
        (true, Some(_)) => &[PathBuf::from("-")][..],
        (true, None) => &default_path[..],
        (false, _) => paths,
    };
    for path in paths {
        walker.visit_argument(path, stdin_path, explicit);
    }

    // The same file reached twice (named and inside a named directory, say) is linted once.
    // One search enters each real directory once, so only a second path or a link to a file
    // can reach a file again; otherwise no path needs resolving.
    let mut inputs = Vec::new();
    if paths.len() > 1 || walker.found_links {
        let mut seen = HashSet::new();
        let canonical = crate::history::Canonical::new(cwd);
        for input in walker.found {
            let key = match &input.source {
                Source::File(path) => canonical.of(path),
                Source::Stdin => PathBuf::from("-"),
            };
            if seen.insert(key) {
                inputs.push(input);
            }
        }
    } else {
        inputs = walker.found;
    }
    inputs.sort_by(|a, b| a.shown.cmp(&b.shown));
    Discovery { inputs, errors: walker.errors, empty: walker.empty, skipped: walker.skipped }
}

struct Walker<'a> {
    filter: &'a Filter,
    cwd: &'a Path,
    /// The directories the current argument's search has entered.
    visited: HashSet<DirIdentity>,
    found: Vec<Input>,
    /// Whether a search found a file through a symbolic link to it.
    found_links: bool,
    /// Files a search wanted and directories it would have entered, but `--include` or
    /// `--exclude` dropped.
    skipped: Skipped,
    errors: Vec<String>,
    empty: Vec<String>,
}

/// Which files a directory search keeps.
enum Want<'a> {
    Sql,
    /// Files a glob matches, at most `max_depth` levels below the search root.
    Glob {
        matcher: &'a GlobMatcher,
        max_depth: usize,
    },
}

impl Walker<'_> {
    fn visit_argument(&mut self, path: &Path, stdin_path: Option<&str>, explicit: bool) {
        if path.as_os_str() == "-" {
            let shown = stdin_path.unwrap_or(STDIN_NAME).to_owned();
            self.found.push(Input { shown, source: Source::Stdin });
            return;
        }
        // Each argument is searched afresh. The set only has to end link loops within one
        // search, and files found twice are merged afterwards; shared, it would let a glob's
        // search hide a directory's `.sql` files from a later argument, or the other way round.
        self.visited.clear();
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                let before = self.tally();
                self.walk(path, &Want::Sql);
                if explicit && self.tally() == before {
                    self.empty.push(format!("{}: no `.sql` files found", show(path)));
                }
            }
            // A named file is linted whatever its name.
            Ok(meta) if meta.is_file() || is_own_descriptor(path) => {
                self.found.push(Input { shown: show(path), source: Source::File(path.to_path_buf()) });
            }
            Ok(_) => self.not_regular(path),
            Err(_) if is_glob(path) => self.expand_glob(path),
            Err(e) => self.error(path, &e),
        }
    }

    fn expand_glob(&mut self, pattern: &Path) {
        let Some(text) = pattern.to_str() else {
            self.errors.push(format!("{}: glob is not valid UTF-8", show(pattern)));
            return;
        };
        let matcher = match build_glob(text) {
            Ok(glob) => glob.compile_matcher(),
            Err(e) => {
                self.errors.push(format!("{text}: {e}"));
                return;
            }
        };
        // Search from the leading components that hold no glob syntax.
        let mut root = PathBuf::new();
        let mut rest = pattern.components().peekable();
        while let Some(component) = rest.next_if(|c| !is_glob(Path::new(c.as_os_str()))) {
            root.push(component);
        }
        let rest: Vec<_> = rest.collect();
        let max_depth =
            if rest.iter().any(|c| c.as_os_str().to_string_lossy().contains("**")) { usize::MAX } else { rest.len() };
        if root.as_os_str().is_empty() {
            root.push(".");
        }
        let before = self.tally();
        match fs::metadata(&root) {
            Ok(meta) if meta.is_dir() => self.walk(&root, &Want::Glob { matcher: &matcher, max_depth }),
            Ok(_) => {}
            Err(e) => {
                self.error(&root, &e);
                return;
            }
        }
        if self.tally() == before {
            self.empty.push(format!("{text}: no files match this pattern"));
        }
    }

    /// What a search has turned up so far. A search that changes none of it found nothing
    /// at all: no file to lint, no file the filter dropped, and nothing it could not read,
    /// which has had its own message already.
    ///
    /// A path whose files `--include` or `--exclude` (or the config's lists) all drop is not
    /// counted as empty: it exists and holds migrations, and the user's own filter chose to
    /// skip them, as when a job names every package's migration directory and the config
    /// excludes an archived one. A mistyped path finds nothing at all.
    fn tally(&self) -> (usize, Skipped, usize) {
        (self.found.len(), self.skipped, self.errors.len())
    }

    fn walk(&mut self, root: &Path, want: &Want<'_>) {
        // An explicit stack rather than recursion, so deep trees cannot overflow it.
        let mut stack = vec![(root.to_path_buf(), 0usize)];
        while let Some((dir, depth)) = stack.pop() {
            match dir_identity(&dir) {
                Ok(identity) => {
                    if !self.visited.insert(identity) {
                        continue;
                    }
                }
                Err(e) => {
                    self.error(&dir, &e);
                    continue;
                }
            }
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) => {
                    self.error(&dir, &e);
                    continue;
                }
            };
            let mut children = Vec::new();
            for entry in entries {
                match entry {
                    Ok(entry) => children.push(entry),
                    Err(e) => self.error(&dir, &e),
                }
            }
            children.sort_by_key(fs::DirEntry::file_name);
            let names: Vec<std::ffi::OsString> = children.iter().map(fs::DirEntry::file_name).collect();
            let replaced = dialect::Replaced::new(names.iter().filter_map(|n| n.to_str()));
            let adding = self.filter.include.as_ref().is_some_and(|g| g.adding.is_some());
            let mut subdirs = Vec::new();
            for (entry, name) in children.iter().zip(&names) {
                if name.as_encoded_bytes().starts_with(b".") {
                    continue;
                }
                let path = child(&dir, name);
                let wanted_file = match want {
                    Want::Sql => is_sql(name) || (adding && self.filter.adds(&normalize(&self.cwd.join(&path)))),
                    Want::Glob { matcher, .. } => matcher.is_match(&path),
                };
                let (is_dir, is_file) = match entry.file_type() {
                    Ok(kind) if kind.is_symlink() => match fs::metadata(&path) {
                        Ok(meta) => {
                            self.found_links |= meta.is_file();
                            (meta.is_dir(), meta.is_file())
                        }
                        // A dangling link or a link loop is worth a message only where a file
                        // was wanted.
                        Err(e) => {
                            if wanted_file {
                                self.error(&path, &e);
                            }
                            continue;
                        }
                    },
                    Ok(kind) => (kind.is_dir(), kind.is_file()),
                    Err(e) => {
                        self.error(&path, &e);
                        continue;
                    }
                };
                let absolute = || normalize(&self.cwd.join(&path));
                if is_dir {
                    let deeper = match want {
                        Want::Sql => true,
                        Want::Glob { max_depth, .. } => depth + 1 < *max_depth,
                    };
                    if !deeper {
                        continue;
                    }
                    if self.filter.keeps_all() || !self.filter.skips_dir(&absolute()) {
                        subdirs.push((path, depth + 1));
                    } else {
                        self.skipped.excluded_dirs += 1;
                    }
                } else if wanted_file {
                    let skip = if self.filter.keeps_all() {
                        None
                    } else {
                        let absolute = absolute();
                        if self.filter.skips_dir(&absolute) {
                            Some(&mut self.skipped.excluded_files)
                        } else if !self.filter.includes(&absolute) {
                            Some(&mut self.skipped.not_included)
                        } else {
                            None
                        }
                    };
                    let text = name.to_str().unwrap_or("");
                    let skip = match skip {
                        Some(count) => Some(count),
                        None if dialect::of(text) == Dialect::Other => Some(&mut self.skipped.other_dialect),
                        None if replaced.contains(text) => Some(&mut self.skipped.replaced),
                        None => None,
                    };
                    if let Some(count) = skip {
                        *count += 1;
                    } else if is_file {
                        self.found.push(Input { shown: show(&path), source: Source::File(path) });
                    } else {
                        self.not_regular(&path);
                    }
                }
            }
            // Popped in name order.
            stack.extend(subdirs.into_iter().rev());
        }
    }

    fn error(&mut self, path: &Path, error: &std::io::Error) {
        self.errors.push(format!("{}: {}", show(path), crate::describe_io(error)));
    }

    fn not_regular(&mut self, path: &Path) {
        self.errors.push(format!("{}: not a regular file", show(path)));
    }
}

/// What tells one real directory from another: its device and inode, one `stat` (resolving
/// its canonical path would read every component of it).
#[cfg(unix)]
type DirIdentity = (u64, u64);
#[cfg(not(unix))]
type DirIdentity = PathBuf;

#[cfg(unix)]
fn dir_identity(dir: &Path) -> std::io::Result<DirIdentity> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(dir)?;
    Ok((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn dir_identity(dir: &Path) -> std::io::Result<DirIdentity> {
    fs::canonicalize(dir)
}

/// `/dev/stdin`, `/dev/fd/N` and `/proc/self/fd/N` name descriptors this process was given,
/// such as a pipe from the shell's `<(…)`, whose writer is already there.
fn is_own_descriptor(path: &Path) -> bool {
    let Some(path) = path.to_str() else { return false };
    path == "/dev/stdin"
        || ["/dev/fd/", "/proc/self/fd/"].iter().any(|prefix| {
            path.strip_prefix(prefix).is_some_and(|fd| !fd.is_empty() && fd.bytes().all(|b| b.is_ascii_digit()))
        })
}

fn is_sql(name: &OsStr) -> bool {
    let name = name.as_encoded_bytes();
    name.len() > 4 && name[name.len() - 4..].eq_ignore_ascii_case(b".sql")
}

fn is_glob(path: &Path) -> bool {
    path.as_os_str().as_encoded_bytes().iter().any(|b| matches!(b, b'*' | b'?' | b'[' | b'{'))
}

/// `dir/name`, without a leading `./` when searching the working directory.
fn child(dir: &Path, name: &OsStr) -> PathBuf {
    if dir == Path::new(".") {
        PathBuf::from(name)
    } else {
        dir.join(name)
    }
}

fn show(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// `path` with `.` components dropped and `..` folded into its parent where there is one,
/// without touching the filesystem; `..` above the root stays at the root.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else if !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_sql_files_and_globs() {
        assert!(is_sql(OsStr::new("001_init.sql")));
        assert!(is_sql(OsStr::new("001_init.SQL")));
        assert!(!is_sql(OsStr::new(".sql")));
        assert!(!is_sql(OsStr::new("notes.md")));
        assert!(is_glob(Path::new("migrations/*.sql")));
        assert!(is_glob(Path::new("m/{a,b}.sql")));
        assert!(!is_glob(Path::new("migrations/001.sql")));
    }

    #[test]
    fn own_descriptors_are_recognised() {
        assert!(is_own_descriptor(Path::new("/dev/stdin")));
        assert!(is_own_descriptor(Path::new("/dev/fd/63")));
        assert!(is_own_descriptor(Path::new("/proc/self/fd/0")));
        assert!(!is_own_descriptor(Path::new("/dev/fd/")));
        assert!(!is_own_descriptor(Path::new("/dev/zero")));
        assert!(!is_own_descriptor(Path::new("migrations/pipe.sql")));
    }

    #[test]
    fn skipped_files_become_one_note_per_filter() {
        assert!(Skipped::default().notes().is_empty());
        let skipped = Skipped { excluded_files: 3, excluded_dirs: 1, not_included: 1, ..Skipped::default() };
        assert_eq!(
            skipped.notes(),
            ["skipped 3 files and 1 directory matching `exclude`", "skipped 1 file matching no `include` glob"]
        );
        let dirs = Skipped { excluded_dirs: 2, ..Skipped::default() };
        assert_eq!(dirs.notes(), ["skipped 2 directories matching `exclude`"]);
    }

    #[test]
    fn skipped_dialects_get_notes_of_their_own() {
        let skipped = Skipped { other_dialect: 3, replaced: 1, ..Skipped::default() };
        assert_eq!(
            skipped.notes(),
            [
                "skipped 3 files of another SQL dialect",
                "skipped 1 neutral file that a `.postgres` migration of the same version replaces"
            ]
        );
    }

    #[test]
    fn include_globs_ending_in_a_name_add_files() {
        for glob in ["*.sql.postgres", "**/*.psql", "*.sql.{postgres,pg}", "db/001_init.sql.pg"] {
            assert!(adds_files(glob), "{glob}");
        }
        for glob in ["migrations/**", "*", "db/*", "*.sql.*", "db/00?", "db/"] {
            assert!(!adds_files(glob), "{glob}");
        }
        let filter = Filter {
            include: GlobList::new(&["*.sql.postgres".to_owned(), "db/**".to_owned()], Path::new("/repo"))
                .ok()
                .flatten(),
            exclude: None,
        };
        assert!(filter.adds_file(Path::new("db/001.sql.postgres"), Path::new("/repo")));
        assert!(!filter.adds_file(Path::new("db/README.md"), Path::new("/repo")));
        assert!(!Filter::default().adds_file(Path::new("db/001.sql.postgres"), Path::new("/repo")));
    }

    #[test]
    fn normalizes_lexically() {
        assert_eq!(normalize(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
        assert_eq!(normalize(Path::new("../../a")), PathBuf::from("../../a"));
        assert_eq!(normalize(Path::new("/../a")), PathBuf::from("/a"));
    }

    #[test]
    fn globs_match_relative_paths_or_names() -> Result<(), String> {
        let list = GlobList::new(&["legacy/**".to_owned(), "*_old.sql".to_owned()], Path::new("/repo"))?;
        let Some(list) = list else {
            return Err("no globs".to_owned());
        };
        assert!(list.is_match(Path::new("/repo/legacy/a/001.sql")));
        assert!(list.is_match(Path::new("/repo/deep/dir/x_old.sql")));
        assert!(!list.is_match(Path::new("/repo/current/legacy.sql")));
        Ok(())
    }
}
