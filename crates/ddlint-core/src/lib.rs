//! The ddlint engine: PostgreSQL migration analysis with no I/O.
//!
//! [`lint_file`] takes a file's bytes and the run's [`Settings`] and returns every finding
//! for that file. It never panics on input and never fails: a file it cannot read, or SQL
//! the parser rejects, is reported as a diagnostic like any other.

pub mod context;
pub mod diagnostic;
pub mod docs;
pub mod explain;
pub mod fix;
pub mod framework;
pub mod lock_model;
pub mod locks;
pub mod names;
pub mod parse;
/// Raw access to libpg_query's parser and scanner, for benchmarks and tools built on the engine.
pub mod pg_ffi;
pub mod plan;
mod plpgsql;
pub mod preprocess;
pub mod registry;
pub mod rules;
pub mod settings;
pub mod source;
mod suppress;
pub mod violation;

pub use diagnostic::{Diagnostic, Severity};
pub use settings::Settings;
pub use source::{LineIndex, Position, Span};

use context::{FileContext, StatementCx};
use framework::{Direction, FileHints, Section};
use lock_model::Catalog;
use parse::{Item, ParsedFile};
use rules::engine::{PSQL_META_COMMAND, SYNTAX_ERROR, UNREADABLE_FILE};

/// The findings for one file, with the text they point into.
#[derive(Debug)]
pub struct FileReport {
    pub path: String,
    /// The file's text; empty when it could not be decoded.
    pub text: String,
    pub line_index: LineIndex,
    /// Sorted by position, then rule id.
    pub diagnostics: Vec<Diagnostic>,
    /// The file could not be linted at all (see `unreadable-file`).
    pub unreadable: bool,
    /// How many statements were parsed.
    pub statement_count: usize,
    /// The migration framework the file was read as (recognised, or as the settings say);
    /// `None` when the file could not be decoded.
    pub framework: Option<framework::Framework>,
    /// The runs of the file its framework executes as units, each with its direction and how
    /// the runner wraps it in a transaction, in file order; empty when it could not be decoded.
    pub sections: Vec<Section>,
}

/// Lints one file.
pub fn lint_file(path: &str, bytes: &[u8], settings: &Settings) -> FileReport {
    lint_file_with_hints(path, bytes, settings, FileHints::default())
}

/// Lints one file, with what the caller knows of it beyond its path and bytes (such as a
/// diesel `metadata.toml` beside it).
pub fn lint_file_with_hints(path: &str, bytes: &[u8], settings: &Settings, hints: FileHints) -> FileReport {
    prepare(path, bytes, settings, hints).lint(settings, &Catalog::default())
}

/// Deeply nested SQL gives deeply nested parse trees, which are decoded, walked and dropped
/// recursively. This runs `f` on a stack big enough for the deepest tree libpg_query will
/// serialize (unoptimised builds use several kilobytes a level); a caller whose thread
/// already has [`DEEP_STACK_SIZE`] pays nothing. The stack is reserved address space, and
/// only the pages a deep tree touches are ever backed by memory.
pub fn with_deep_stack<R>(f: impl FnOnce() -> R) -> R {
    const RED_ZONE: usize = DEEP_STACK_SIZE / 2;
    stacker::maybe_grow(RED_ZONE, DEEP_STACK_SIZE, f)
}

/// The stack a thread that lints files should have.
pub const DEEP_STACK_SIZE: usize = 256 << 20;

/// A file decoded, split into its framework's sections and parsed, ready to be folded into
/// a migration history and linted against the history before it. Parsing is the expensive
/// part, so a caller replaying a migration directory parses each file once.
pub struct PreparedFile {
    path: String,
    /// The file's text; empty when it could not be decoded.
    text: String,
    /// Why the file could not be decoded, and what to do about it.
    unreadable: Option<(String, String)>,
    parsed: ParsedFile,
    sections: Vec<Section>,
    framework: Option<framework::Framework>,
    /// What the caller said of the file beyond its text.
    hints: FileHints,
}

/// Decodes and parses one file; see [`PreparedFile`].
pub fn prepare(path: &str, bytes: &[u8], settings: &Settings, hints: FileHints) -> PreparedFile {
    with_deep_stack(|| {
        let text = match decode(bytes) {
            Ok(text) => text,
            Err(unreadable) => {
                return PreparedFile {
                    path: path.to_owned(),
                    text: String::new(),
                    unreadable: Some(unreadable),
                    parsed: ParsedFile::default(),
                    sections: Vec::new(),
                    framework: None,
                    hints,
                }
            }
        };
        let mut sections = Vec::new();
        let mut detected = None;
        let parsed = parse::parse_file_in_sections(text, &settings.placeholders, |tokens| {
            let comments: Vec<&str> =
                tokens.iter().filter(|t| parse::is_comment(t.token)).filter_map(|t| text.get(t.start..t.end)).collect();
            let framework = settings.framework.unwrap_or_else(|| framework::detect(path, &comments));
            sections = framework::sections(framework, path, text, tokens, hints);
            detected = Some(framework);
            sections.iter().map(|s| s.span).collect()
        });
        if let Some(framework) = detected {
            framework::settle_transactions(framework, &mut sections, parsed.statements(), settings.pg_version);
        }
        PreparedFile {
            path: path.to_owned(),
            text: text.to_owned(),
            unreadable: None,
            parsed,
            sections,
            framework: detected,
            hints,
        }
    })
}

impl PreparedFile {
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The decoded text; empty when the file could not be decoded.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn parsed(&self) -> &ParsedFile {
        &self.parsed
    }

    /// Folds what the file's up sections build into `catalog`, the schema the next migration
    /// of the directory runs against. Down sections undo the file, so they are left out.
    pub fn fold_into(&self, catalog: &mut Catalog) {
        with_deep_stack(|| {
            for stmt in self.parsed.statements() {
                let direction = self.sections.iter().rev().find(|s| s.span.start <= stmt.span.start);
                if direction.is_none_or(|s| s.direction == Direction::Up) {
                    catalog.apply(&stmt.node);
                }
            }
        });
    }

    /// Drops the parse trees on a stack deep enough for them.
    pub fn discard(self) {
        with_deep_stack(move || drop(self));
    }

    /// Lints the file against `history`, the schema the migrations before it built.
    pub fn lint(self, settings: &Settings, history: &Catalog) -> FileReport {
        with_deep_stack(move || lint(self, settings, history, None).0)
    }

    /// Lints the file against `history`, and plans the phased form of each finding that
    /// needs one (see [`plan`]).
    pub fn plan(
        self,
        settings: &Settings,
        history: &Catalog,
        options: &plan::Options,
    ) -> (FileReport, Vec<plan::Planned>) {
        with_deep_stack(move || lint(self, settings, history, Some(options)))
    }
}

fn lint(
    prepared: PreparedFile,
    settings: &Settings,
    history: &Catalog,
    plan_options: Option<&plan::Options>,
) -> (FileReport, Vec<plan::Planned>) {
    let PreparedFile { path, text, unreadable, parsed, sections, framework, hints } = prepared;
    if let Some((message, help)) = unreadable {
        let mut diagnostics = Vec::new();
        if settings.is_enabled(UNREADABLE_FILE.id) {
            diagnostics.push(
                Diagnostic::new(UNREADABLE_FILE.id, settings.severity_of(UNREADABLE_FILE.id), Span::empty(0), message)
                    .with_help(help),
            );
        }
        let report = FileReport {
            path,
            text: String::new(),
            line_index: LineIndex::default(),
            diagnostics,
            unreadable: true,
            statement_count: 0,
            framework: None,
            sections: Vec::new(),
        };
        return (report, Vec::new());
    }
    let line_index = LineIndex::new(&text);
    let mut diagnostics = Vec::new();

    for item in &parsed.items {
        if let Item::SyntaxError(err) = item {
            if settings.is_enabled(SYNTAX_ERROR.id) {
                diagnostics.push(
                    Diagnostic::new(SYNTAX_ERROR.id, settings.severity_of(SYNTAX_ERROR.id), err.span, &err.message)
                        .with_statement(err.statement),
                );
            }
        }
    }
    if settings.is_enabled(PSQL_META_COMMAND.id) {
        for meta in &parsed.meta_commands {
            diagnostics.push(Diagnostic::new(
                PSQL_META_COMMAND.id,
                settings.severity_of(PSQL_META_COMMAND.id),
                meta.span,
                meta.message(),
            ));
        }
    }

    let mut file = FileContext::with_sections(&text, &parsed, settings, framework, &sections, history);
    file.hints = hints;
    let running: Vec<_> = registry::all().into_iter().filter(|r| settings.runs(r)).collect();
    let checks: Vec<_> = running.iter().filter_map(|r| r.check).collect();
    for index in 0..file.statements.len() {
        let cx = StatementCx::new(&file, index);
        for check in &checks {
            check(&cx, &mut diagnostics);
        }
    }
    for check_file in running.iter().filter_map(|r| r.check_file) {
        check_file(&file, &mut diagnostics);
    }
    // A finding that only phases make safe says so when `ddlint plan` can write them.
    let mut planned = Vec::new();
    if diagnostics.iter().any(|d| d.phased.is_some()) {
        let defaults = plan::Options::hint(&settings.fix_lock_timeout);
        planned = plan::plan_findings(&file, &diagnostics, plan_options.unwrap_or(&defaults));
        for diagnostic in &mut diagnostics {
            let Some(planned) = planned.iter().find(|p| p.rule == diagnostic.rule && p.span == diagnostic.span) else {
                continue;
            };
            let fills: String = planned.fills_needed.iter().map(|c| format!(" --fill {c}=VALUE")).collect();
            if planned.plan.is_ok() || !fills.is_empty() {
                diagnostic.plan = Some(format!("`ddlint plan {}{fills}` writes the phased version", shell_word(&path)));
            }
        }
    }
    let statement_count = file.statements.len();
    drop(file);

    // The runner's own record of which migrations ran is no schema change to review.
    if let Some(table) = framework.and_then(framework::Framework::bookkeeping_table) {
        let bookkeeping: Vec<Span> = parsed
            .statements()
            .filter(|s| s.nested_in.is_none() && writes_table(&s.node, table))
            .map(|s| s.span)
            .collect();
        diagnostics.retain(|d| d.statement.is_none_or(|at| !bookkeeping.contains(&at)));
    }
    let comments: Vec<Span> = parsed.comments().map(|t| Span::new(t.start, t.end)).collect();
    let mut diagnostics = suppress::apply(&text, &line_index, &comments, settings, diagnostics);
    // A down migration runs only when a deploy is rolled back, so its findings are capped.
    for diagnostic in &mut diagnostics {
        let at = diagnostic.statement.unwrap_or(diagnostic.span).start;
        let down = sections.iter().rev().find(|s| s.span.start <= at).is_some_and(|s| s.direction == Direction::Down);
        if down {
            diagnostic.severity = diagnostic.severity.min(settings.down_severity_cap);
        }
    }
    diagnostics.sort_by(|a, b| (a.span.start, a.span.end, a.rule).cmp(&(b.span.start, b.span.end, b.rule)));
    if plan_options.is_some() {
        planned.retain(|p| diagnostics.iter().any(|d| d.rule == p.rule && d.span == p.span));
    } else {
        planned.clear();
    }
    let report =
        FileReport { path, text, line_index, diagnostics, unreadable: false, statement_count, framework, sections };
    (report, planned)
}

/// `path` as a shell word: quoted when it holds anything but plain path characters.
fn shell_word(path: &str) -> String {
    if !path.is_empty() && path.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c)) {
        path.to_owned()
    } else {
        format!("'{}'", path.replace('\'', "'\\''"))
    }
}

/// Whether the statement creates, fills, changes or empties the table `name` (unqualified, or
/// in `public`).
fn writes_table(node: &pg_query::protobuf::node::Node, name: &str) -> bool {
    use names::RelationName;
    use pg_query::protobuf::node::Node as N;
    let table = RelationName::new(None, name);
    let relation = match node {
        N::CreateStmt(s) => s.relation.as_ref(),
        N::InsertStmt(s) => s.relation.as_ref(),
        N::UpdateStmt(s) => s.relation.as_ref(),
        N::DeleteStmt(s) => s.relation.as_ref(),
        N::DropStmt(s) => {
            return s.objects.iter().any(|o| {
                matches!(&o.node, Some(N::List(list))
                    if RelationName::from_name_list(&list.items).is_some_and(|r| r.same_as(&table)))
            })
        }
        _ => None,
    };
    relation.is_some_and(|rv| RelationName::from_range_var(rv).same_as(&table))
}

/// The largest file ddlint lints. Parse trees take up to a few hundred bytes of memory per
/// byte of dense DDL, so a bigger file could exhaust a CI runner's memory; it is reported as
/// `unreadable-file` instead.
pub const MAX_FILE_BYTES: usize = 16 << 20;

/// Decodes a migration file, or says why it cannot be read and what to do about it.
fn decode(bytes: &[u8]) -> Result<&str, (String, String)> {
    let save_as_utf8 = |at: usize| format!("save the file as UTF-8 text (first bad byte at offset {at})");
    if bytes.len() > MAX_FILE_BYTES {
        // Callers may stop reading just past the limit, so the size is not known here.
        let message = format!("file is too large to lint (over the limit of {} MiB)", MAX_FILE_BYTES >> 20);
        return Err((message, "split the migration into smaller files, or exclude it".to_owned()));
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(("file is UTF-16 encoded, not UTF-8".to_owned(), save_as_utf8(0)));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        (format!("file is not valid UTF-8 (invalid byte at offset {})", e.valid_up_to()), save_as_utf8(e.valid_up_to()))
    })?;
    if let Some(nul) = text.find('\0') {
        return Err((format!("file contains a NUL byte at offset {nul}; it looks binary"), save_as_utf8(nul)));
    }
    Ok(text)
}

#[cfg(test)]
mod hostile_input_tests {
    use super::*;

    fn rules(bytes: &[u8]) -> Vec<&'static str> {
        lint_file("x.sql", bytes, &Settings::default()).diagnostics.iter().map(|d| d.rule).collect()
    }

    #[test]
    fn deep_nesting_is_a_syntax_error_not_a_crash() {
        let sql = format!("SELECT {}1{};\nDROP INDEX i;", "(".repeat(10_000), ")".repeat(10_000));
        let found = rules(sql.as_bytes());
        assert!(found.contains(&"syntax-error"), "{found:?}");
        assert!(found.contains(&"drop-index-non-concurrently"), "{found:?}");
    }

    #[test]
    fn long_expression_chains_are_linted() {
        let chain = vec!["'a'"; 3000].join(" || ");
        let sql = format!("SELECT {chain};\nDROP INDEX i;");
        assert!(rules(sql.as_bytes()).contains(&"drop-index-non-concurrently"));
    }

    #[test]
    fn unreadable_bytes_are_one_diagnostic() {
        assert_eq!(rules(b"SELECT 1;\xff\xfe"), vec!["unreadable-file"]);
        assert_eq!(rules(b"SELECT 1;\0"), vec!["unreadable-file"]);
        assert_eq!(rules(b"\xff\xfeS\0E\0"), vec!["unreadable-file"]);
    }

    #[test]
    fn oversized_files_are_refused_before_parsing() {
        let at_limit = format!("--{}", "x".repeat(MAX_FILE_BYTES - 2));
        assert!(rules(at_limit.as_bytes()).is_empty());
        let over = format!("{at_limit}x");
        let report = lint_file("x.sql", over.as_bytes(), &Settings::default());
        assert!(report.unreadable);
        assert_eq!(report.diagnostics.len(), 1);
        assert_eq!(report.diagnostics[0].message, "file is too large to lint (over the limit of 16 MiB)");
    }

    #[test]
    fn empty_and_comment_only_files_are_clean() {
        assert!(rules(b"").is_empty());
        assert!(rules(b"-- nothing here\n/* at all */").is_empty());
    }

    #[test]
    fn unterminated_comment_and_dollar_quote_are_syntax_errors() {
        assert_eq!(rules(b"SELECT 1;\n/* never closed"), vec!["syntax-error"]);
        assert_eq!(rules(b"DO $$ BEGIN"), vec!["syntax-error"]);
    }
}
