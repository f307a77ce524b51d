//! Migration frameworks: how ddlint recognises each one, how it splits a file into up and
//! down sections, and whether the runner wraps a section in a transaction.

use crate::lock_model::{refused_in_transaction, RefusedInTransaction};
use crate::parse::Statement;
use crate::pg_ffi::RawToken;
use crate::source::Span;
use pg_query::protobuf::Token;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Framework {
    GolangMigrate,
    Goose,
    Dbmate,
    Flyway,
    Sqitch,
    Diesel,
    Prisma,
    SqlMigrate,
    /// Mattermost's morph: golang-migrate's file names, each file in a transaction unless it
    /// says `-- morph:nontransactional`.
    Morph,
    /// The SQL of one migration as Django's `manage.py sqlmigrate` prints it, run as shown.
    Django,
    /// Alembic's offline SQL (`alembic upgrade A:B --sql`): one section per revision, run as
    /// one script.
    Alembic,
    /// Numbered or timestamped `.sql` files run as they are.
    Plain,
}

impl Framework {
    pub const ALL: [Framework; 12] = [
        Framework::GolangMigrate,
        Framework::Goose,
        Framework::Dbmate,
        Framework::Flyway,
        Framework::Sqitch,
        Framework::Diesel,
        Framework::Prisma,
        Framework::SqlMigrate,
        Framework::Morph,
        Framework::Django,
        Framework::Alembic,
        Framework::Plain,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Framework::GolangMigrate => "golang-migrate",
            Framework::Goose => "goose",
            Framework::Dbmate => "dbmate",
            Framework::Flyway => "flyway",
            Framework::Sqitch => "sqitch",
            Framework::Diesel => "diesel",
            Framework::Prisma => "prisma",
            Framework::SqlMigrate => "sql-migrate",
            Framework::Morph => "morph",
            Framework::Django => "django",
            Framework::Alembic => "alembic",
            Framework::Plain => "plain",
        }
    }

    /// The table in which the runner records which migrations ran, when the file itself writes
    /// to it (Alembic's offline SQL does). Statements on it are bookkeeping, not schema changes.
    pub fn bookkeeping_table(self) -> Option<&'static str> {
        match self {
            Framework::Alembic => Some("alembic_version"),
            _ => None,
        }
    }

    /// Whether ddlint can add a migration that runs right after a given one: the framework
    /// orders files by a version in their name. Sqitch orders by its plan, Prisma by its
    /// lock of applied migrations, and Django's and Alembic's SQL is generated from code.
    pub fn can_add_migrations(self) -> bool {
        !matches!(
            self,
            Framework::Sqitch | Framework::Prisma | Framework::Django | Framework::Alembic | Framework::Morph
        )
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Up,
    Down,
}

/// How the runner executes a section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transaction {
    /// Wrapped in `BEGIN … COMMIT` by the runner.
    Wrapped,
    /// Sent as one multi-statement query, which PostgreSQL runs as an implicit transaction
    /// block when it holds more than one statement.
    ImplicitWhenMultiStatement,
    /// Run statement by statement in autocommit.
    None,
    /// Unknown: follow `--assume-in-transaction`.
    AsConfigured,
}

/// A run of the file that is executed as a unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Section {
    pub span: Span,
    pub direction: Direction,
    pub transaction: Transaction,
    /// The section runs in the database session of the section before it, so a transaction
    /// or a setting it left open carries over (Alembic's revisions, printed as one script).
    /// Each section is still a deploy of its own: what earlier sections created is not new.
    pub continues_session: bool,
}

/// What the caller knows beyond the file's path and text, such as diesel's `metadata.toml`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileHints {
    /// `run_in_transaction = false` (diesel) or an equivalent setting.
    pub no_transaction: bool,
    /// The runner wraps the file in a transaction whatever its framework would do: popx
    /// (`tx.Exec(content)`) for its files without `.autocommit`.
    pub wrapped: bool,
}

/// Recognises the framework from the file's path and its marker comments.
pub fn detect(path: &str, comments: &[&str]) -> Framework {
    let has = |prefix: &str| comments.iter().any(|c| c.trim_start_matches('-').trim_start().starts_with(prefix));
    if has("+goose ") {
        return Framework::Goose;
    }
    if has("migrate:up") || has("migrate:down") {
        return Framework::Dbmate;
    }
    if has("+migrate ") {
        return Framework::SqlMigrate;
    }
    if comments.iter().any(|c| is_morph_no_transaction(c)) {
        return Framework::Morph;
    }
    if comments.iter().any(|c| alembic_marker(c).is_some()) {
        return Framework::Alembic;
    }
    if is_django_sqlmigrate(comments) {
        return Framework::Django;
    }
    let normalized = path.replace('\\', "/");
    let mut components = normalized.rsplit('/');
    let file = components.next().unwrap_or("");
    let parent = components.next().unwrap_or("");
    if matches!(file, "up.sql" | "down.sql") && starts_with_digits(parent) {
        return Framework::Diesel;
    }
    if file == "migration.sql" && starts_with_digits(parent) {
        return Framework::Prisma;
    }
    if is_flyway_name(file) {
        return Framework::Flyway;
    }
    if (file.ends_with(".up.sql") || file.ends_with(".down.sql")) && starts_with_digits(file) {
        return Framework::GolangMigrate;
    }
    if normalized.split('/').any(|c| matches!(c, "deploy" | "revert" | "verify")) {
        return Framework::Sqitch;
    }
    Framework::Plain
}

/// morph's `-- morph:nontransactional`.
fn is_morph_no_transaction(comment: &str) -> bool {
    comment.strip_prefix("--").is_some_and(|body| body.trim().eq_ignore_ascii_case("morph:nontransactional"))
}

/// Alembic's `-- Running upgrade  -> 1a2b3c` or `-- Running downgrade 4d5e6f -> 1a2b3c`, which
/// begins each revision of its offline SQL.
fn alembic_marker(comment: &str) -> Option<Direction> {
    let body = comment.strip_prefix("--")?.trim_start();
    let (direction, rest) = if let Some(rest) = body.strip_prefix("Running upgrade ") {
        (Direction::Up, rest)
    } else {
        (Direction::Down, body.strip_prefix("Running downgrade ")?)
    };
    rest.contains("->").then_some(direction)
}

/// How Django's operations describe themselves (`Operation.describe()`), which `sqlmigrate`
/// prints between two bare `--` lines before each operation's SQL.
const DJANGO_OPERATIONS: &[&str] = &[
    "Create model ",
    "Create proxy model ",
    "Delete model ",
    "Rename model ",
    "Rename table for ",
    "Add field ",
    "Alter field ",
    "Remove field ",
    "Rename field ",
    "Create index ",
    "Add index ",
    "Remove index ",
    "Rename index ",
    "Rename unnamed index ",
    "Create constraint ",
    "Add constraint ",
    "Remove constraint ",
    "Alter constraint ",
    "Create not valid constraint ",
    "Validate constraint ",
    "Alter unique_together ",
    "Alter index_together ",
    "Raw SQL operation",
    "Raw Python operation",
    "Change Meta options on ",
    "Change managers on ",
    "Set order_with_respect_to ",
    "Custom state/database change combination",
    "Creates extension ",
    "Concurrently create index ",
    "Concurrently remove index ",
    "Create collation ",
    "Remove collation ",
];

/// Whether the comments hold `sqlmigrate`'s `--`, `-- <operation>`, `--` around an operation
/// Django names (with its `-- MIGRATION NOW PERFORMS OPERATION THAT CANNOT BE WRITTEN AS SQL:`
/// line between the first two for an operation that has no SQL).
fn is_django_sqlmigrate(comments: &[&str]) -> bool {
    let bare = |c: &&str| c.trim_end() == "--";
    comments.windows(3).enumerate().any(|(i, w)| {
        let opened = bare(&w[0])
            || (w[0].contains("MIGRATION NOW PERFORMS OPERATION") && i > 0 && comments.get(i - 1).is_some_and(bare));
        let described = w[1].strip_prefix("-- ").is_some_and(|d| DJANGO_OPERATIONS.iter().any(|op| d.starts_with(op)));
        opened && described && bare(&w[2])
    })
}

fn starts_with_digits(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_digit())
}

/// `V1__init.sql`, `V2_1__add.sql`, `U2__undo.sql`, `R__views.sql`.
fn is_flyway_name(file: &str) -> bool {
    let Some((prefix, rest)) = file.split_once("__") else { return false };
    if rest.is_empty() {
        return false;
    }
    match prefix.as_bytes().first() {
        Some(b'R') => prefix.len() == 1,
        Some(b'V' | b'U') => {
            prefix.len() > 1 && prefix[1..].chars().all(|c| c.is_ascii_digit() || c == '_' || c == '.')
        }
        _ => false,
    }
}

/// Whether the whole file is a down (revert) migration by its name.
fn file_direction(framework: Framework, path: &str) -> Direction {
    let normalized = path.replace('\\', "/");
    let file = normalized.rsplit('/').next().unwrap_or("");
    let down = match framework {
        Framework::GolangMigrate | Framework::Morph => file.ends_with(".down.sql"),
        Framework::Diesel => file == "down.sql",
        Framework::Flyway => file.starts_with('U'),
        Framework::Sqitch => normalized.split('/').any(|c| c == "revert"),
        _ => file.ends_with(".down.sql"),
    };
    if down {
        Direction::Down
    } else {
        Direction::Up
    }
}

/// Splits the file into the sections its framework runs as units, using the scanner's
/// comment tokens for the markers.
pub fn sections(framework: Framework, path: &str, text: &str, tokens: &[RawToken], hints: FileHints) -> Vec<Section> {
    let whole = Span::new(0, text.len());
    let comments = || {
        tokens
            .iter()
            .filter(|t| t.token == Token::SqlComment)
            .filter_map(|t| Some((t.start, text.get(t.start..t.end)?)))
    };
    let default_transaction = match framework {
        _ if hints.wrapped => Transaction::Wrapped,
        Framework::GolangMigrate | Framework::Prisma => Transaction::ImplicitWhenMultiStatement,
        Framework::Diesel | Framework::Flyway if hints.no_transaction => Transaction::None,
        // Flyway's choice depends on the statements; see `settle_transactions`.
        Framework::Diesel | Framework::Flyway => Transaction::Wrapped,
        Framework::Morph if comments().any(|(_, c)| is_morph_no_transaction(c)) => Transaction::None,
        Framework::Morph => Transaction::Wrapped,
        // The file's own `BEGIN … COMMIT` is the transaction: Django prints it unless the
        // migration is `atomic = False`, Alembic as its `transaction_per_migration` says.
        Framework::Sqitch | Framework::Django | Framework::Alembic => Transaction::None,
        Framework::Goose | Framework::Dbmate | Framework::SqlMigrate | Framework::Plain => Transaction::AsConfigured,
    };
    if framework == Framework::Alembic {
        return alembic_sections(text, comments());
    }
    let markers: Vec<(usize, Marker)> = match framework {
        Framework::Goose | Framework::Dbmate | Framework::SqlMigrate => tokens
            .iter()
            .filter(|t| t.token == Token::SqlComment)
            .filter_map(|t| Some((t.start, marker(framework, text.get(t.start..t.end)?)?)))
            .collect(),
        _ => Vec::new(),
    };
    let no_transaction_anywhere = markers.iter().any(|(_, m)| matches!(m, Marker::NoTransaction));
    let starts: Vec<(usize, Direction, bool)> = markers
        .iter()
        .filter_map(|(at, m)| match m {
            Marker::Section { direction, transactional } => Some((*at, *direction, *transactional)),
            Marker::NoTransaction => None,
        })
        .collect();
    if starts.is_empty() {
        let transaction = match framework {
            // These runners wrap a file in a transaction unless told otherwise.
            Framework::Goose | Framework::Dbmate | Framework::SqlMigrate if no_transaction_anywhere => {
                Transaction::None
            }
            Framework::Goose | Framework::Dbmate | Framework::SqlMigrate => Transaction::Wrapped,
            _ => default_transaction,
        };
        return vec![Section {
            span: whole,
            direction: file_direction(framework, path),
            transaction,
            continues_session: false,
        }];
    }
    let mut sections = Vec::new();
    // Text before the first section marker is run with the up migration.
    let first = starts.first().map_or(text.len(), |s| s.0);
    if text[..first].trim() != "" && first > 0 {
        sections.push(Section {
            span: Span::new(0, first),
            direction: Direction::Up,
            transaction: Transaction::Wrapped,
            continues_session: false,
        });
    }
    for (i, (at, direction, transactional)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(text.len(), |next| next.0);
        let wrapped = *transactional && !(framework == Framework::Goose && no_transaction_anywhere);
        let transaction = match (wrapped, framework) {
            (true, _) => Transaction::Wrapped,
            // dbmate sends a section as one query even with `transaction:false`, which
            // PostgreSQL runs as one implicit transaction when it holds several statements.
            (false, Framework::Dbmate) => Transaction::ImplicitWhenMultiStatement,
            (false, _) => Transaction::None,
        };
        sections.push(Section {
            span: Span::new(*at, end),
            direction: *direction,
            transaction,
            continues_session: false,
        });
    }
    sections
}

/// Alembic's offline SQL: what precedes the first revision (`BEGIN`, `CREATE TABLE
/// alembic_version`), then a section per `-- Running upgrade` (or `downgrade`) comment. The
/// whole output runs as one script, so each section continues the session before it, and its
/// `BEGIN` and `COMMIT` are the transactions.
fn alembic_sections<'t>(text: &str, comments: impl Iterator<Item = (usize, &'t str)>) -> Vec<Section> {
    let starts: Vec<(usize, Direction)> = comments.filter_map(|(at, c)| Some((at, alembic_marker(c)?))).collect();
    let section = |start: usize, end: usize, direction: Direction| Section {
        span: Span::new(start, end),
        direction,
        transaction: Transaction::None,
        continues_session: start > 0,
    };
    let first = starts.first().map_or(text.len(), |s| s.0);
    let mut sections = Vec::with_capacity(starts.len() + 1);
    if first > 0 || starts.is_empty() {
        let direction = starts.first().map_or(Direction::Up, |s| s.1);
        sections.push(section(0, first, direction));
    }
    for (i, (at, direction)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(text.len(), |next| next.0);
        sections.push(section(*at, end, *direction));
    }
    sections
}

/// Settles the transaction of the sections whose runner decides it from their statements,
/// once they are parsed. Flyway runs a script outside a transaction when its parser finds a
/// statement that PostgreSQL refuses in a transaction block (and refuses a script that also
/// holds other statements, unless `flyway.mixed` is set; `flyway-mixed-transaction` reports it).
pub fn settle_transactions<'s>(
    framework: Framework,
    sections: &mut [Section],
    statements: impl IntoIterator<Item = &'s Statement>,
    pg_version: u32,
) {
    if framework != Framework::Flyway {
        return;
    }
    let outside = statements
        .into_iter()
        .any(|s| s.nested_in.is_none() && flyway_runs_outside_transaction(&s.node, pg_version).is_some());
    if outside {
        for section in sections {
            section.transaction = Transaction::None;
        }
    }
}

/// The statement that makes Flyway run a script outside a transaction. Flyway's PostgreSQL
/// parser recognises the statements PostgreSQL refuses in a transaction block by their first
/// words, and misses two: `REINDEX INDEX … CONCURRENTLY` (or `TABLE`) and `DETACH PARTITION …
/// CONCURRENTLY`, which then run in its transaction and fail.
pub fn flyway_runs_outside_transaction(
    node: &pg_query::protobuf::node::Node,
    pg_version: u32,
) -> Option<RefusedInTransaction> {
    refused_in_transaction(node, pg_version).filter(|refused| {
        !matches!(
            refused,
            RefusedInTransaction::ReindexConcurrently | RefusedInTransaction::DetachPartitionConcurrently
        )
    })
}

enum Marker {
    Section {
        direction: Direction,
        transactional: bool,
    },
    /// goose's file-wide `-- +goose NO TRANSACTION`.
    NoTransaction,
}

fn marker(framework: Framework, comment: &str) -> Option<Marker> {
    let body = comment.strip_prefix("--")?.trim();
    let lower = body.to_ascii_lowercase();
    match framework {
        Framework::Goose => {
            let rest = lower.strip_prefix("+goose")?.trim();
            match rest {
                "up" => Some(Marker::Section { direction: Direction::Up, transactional: true }),
                "down" => Some(Marker::Section { direction: Direction::Down, transactional: true }),
                "no transaction" => Some(Marker::NoTransaction),
                _ => None,
            }
        }
        Framework::Dbmate => {
            let rest = lower.strip_prefix("migrate:")?;
            let mut words = rest.split_whitespace();
            let direction = match words.next()? {
                "up" => Direction::Up,
                "down" => Direction::Down,
                _ => return None,
            };
            let transactional = !words.any(|w| w == "transaction:false");
            Some(Marker::Section { direction, transactional })
        }
        Framework::SqlMigrate => {
            let rest = lower.strip_prefix("+migrate")?.trim();
            let mut words = rest.split_whitespace();
            let direction = match words.next()? {
                "up" => Direction::Up,
                "down" => Direction::Down,
                _ => return None,
            };
            let transactional = !words.any(|w| w == "notransaction");
            Some(Marker::Section { direction, transactional })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comments(text: &str) -> Vec<&str> {
        text.lines().filter(|l| l.trim_start().starts_with("--")).collect()
    }

    #[test]
    fn detects_frameworks_by_path_and_markers() {
        assert_eq!(detect("db/000001_init.up.sql", &[]), Framework::GolangMigrate);
        assert_eq!(detect("migrations/2024-01-01-000000_users/up.sql", &[]), Framework::Diesel);
        assert_eq!(detect("prisma/migrations/20240101_init/migration.sql", &[]), Framework::Prisma);
        assert_eq!(detect("db/V2_1__add_users.sql", &[]), Framework::Flyway);
        assert_eq!(detect("db/R__views.sql", &[]), Framework::Flyway);
        assert_eq!(detect("schema/deploy/users.sql", &[]), Framework::Sqitch);
        assert_eq!(detect("m/001.sql", &comments("-- +goose Up\nSELECT 1;")), Framework::Goose);
        assert_eq!(detect("m/001.sql", &comments("-- migrate:up\nSELECT 1;")), Framework::Dbmate);
        assert_eq!(detect("m/001.sql", &comments("-- +migrate Up\nSELECT 1;")), Framework::SqlMigrate);
        assert_eq!(detect("m/0001_init.sql", &[]), Framework::Plain);
    }

    #[test]
    fn detects_morph_by_its_marker() {
        let text = "-- morph:nontransactional\nCREATE INDEX CONCURRENTLY i ON t (a);";
        assert_eq!(detect("postgres/000118_index.up.sql", &comments(text)), Framework::Morph);
        // Without the marker a morph file cannot be told from golang-migrate's.
        assert_eq!(detect("postgres/000119_add.up.sql", &[]), Framework::GolangMigrate);
        assert_eq!(detect("m/1.sql", &comments("-- morph:nontransactional is not set here")), Framework::Plain);
    }

    const DJANGO: &str = "BEGIN;\n--\n-- Add field status to order\n--\nALTER TABLE \"shop_order\" ADD COLUMN \"status\" varchar(20) DEFAULT 'new' NOT NULL;\nALTER TABLE \"shop_order\" ALTER COLUMN \"status\" DROP DEFAULT;\n--\n-- Create index shop_order_status_idx on field(s) status of model order\n--\nCREATE INDEX \"shop_order_status_idx\" ON \"shop_order\" (\"status\");\nCOMMIT;\n";

    #[test]
    fn detects_django_sqlmigrate_output() {
        assert_eq!(detect("sql/0042_order_status.sql", &comments(DJANGO)), Framework::Django);
        let not_atomic =
            "--\n-- Concurrently create index i on field(s) a of model t\n--\nCREATE INDEX CONCURRENTLY i ON t (a);\n";
        assert_eq!(detect("sql/0043.sql", &comments(not_atomic)), Framework::Django);
        let python =
            "--\n-- MIGRATION NOW PERFORMS OPERATION THAT CANNOT BE WRITTEN AS SQL:\n-- Raw Python operation\n--\n";
        assert_eq!(detect("sql/0044.sql", &comments(python)), Framework::Django);
        // A comment box of another kind is not Django's.
        assert_eq!(detect("sql/1.sql", &comments("--\n-- Users and their roles\n--\nSELECT 1;")), Framework::Plain);
        assert_eq!(detect("sql/1.sql", &comments("-- Add field notes later\nSELECT 1;")), Framework::Plain);
    }

    const ALEMBIC: &str = "BEGIN;\n\nCREATE TABLE alembic_version (\n    version_num VARCHAR(32) NOT NULL, \n    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n);\n\n-- Running upgrade  -> 1a2b3c\n\nCREATE TABLE orders (id bigint PRIMARY KEY, status text);\n\nINSERT INTO alembic_version (version_num) VALUES ('1a2b3c') RETURNING alembic_version.version_num;\n\n-- Running upgrade 1a2b3c -> 4d5e6f\n\nCREATE INDEX orders_status_idx ON orders (status);\n\nUPDATE alembic_version SET version_num='4d5e6f' WHERE alembic_version.version_num = '1a2b3c';\n\nCOMMIT;\n\n";

    #[test]
    fn detects_alembic_offline_sql() {
        assert_eq!(detect("upgrade.sql", &comments(ALEMBIC)), Framework::Alembic);
        assert_eq!(
            detect("down.sql", &comments("-- Running downgrade 4d5e6f -> 1a2b3c\nDROP TABLE t;")),
            Framework::Alembic
        );
        assert_eq!(detect("notes.sql", &comments("-- Running upgrade scripts by hand\nSELECT 1;")), Framework::Plain);
    }

    #[test]
    fn morph_and_django_sections() {
        let morph = "-- morph:nontransactional\nCREATE INDEX CONCURRENTLY i ON t (a);";
        assert_eq!(split(Framework::Morph, morph)[0].2, Transaction::None);
        assert_eq!(split(Framework::Morph, "ALTER TABLE t ADD COLUMN c int;")[0].2, Transaction::Wrapped);
        assert_eq!(
            split(Framework::Django, DJANGO),
            vec![(DJANGO.trim().to_owned(), Direction::Up, Transaction::None)]
        );
        assert_eq!(file_direction(Framework::Morph, "000001_a.down.sql"), Direction::Down);
    }

    #[test]
    fn alembic_sections_per_revision_in_one_session() {
        let tokens = crate::pg_ffi::scan(ALEMBIC).unwrap();
        let found = sections(Framework::Alembic, "upgrade.sql", ALEMBIC, &tokens, FileHints::default());
        let starts: Vec<&str> =
            found.iter().map(|s| ALEMBIC[s.span.start..s.span.end].lines().next().unwrap()).collect();
        assert_eq!(starts, ["BEGIN;", "-- Running upgrade  -> 1a2b3c", "-- Running upgrade 1a2b3c -> 4d5e6f"]);
        assert!(found.iter().all(|s| s.transaction == Transaction::None && s.direction == Direction::Up));
        assert_eq!(found.iter().map(|s| s.continues_session).collect::<Vec<_>>(), [false, true, true]);
        let down = "-- Running downgrade 4d5e6f -> 1a2b3c\nDROP INDEX orders_status_idx;\n";
        assert_eq!(split(Framework::Alembic, down)[0].1, Direction::Down);
    }

    fn rules(path: &str, text: &str) -> Vec<(usize, &'static str)> {
        let report = crate::lint_file(path, text.as_bytes(), &crate::Settings::default());
        report
            .diagnostics
            .iter()
            .map(|d| (report.line_index.position(&report.text, d.span.start).line, d.rule))
            .collect()
    }

    #[test]
    fn alembic_revisions_are_deploys_in_one_transaction() {
        // The index on the table of the revision before is built on a table that may hold rows
        // by then; the bookkeeping statements raise nothing.
        let found = rules("upgrade.sql", ALEMBIC);
        assert!(found.contains(&(16, "create-index-non-concurrently")), "{found:?}");
        assert!(found.iter().all(|(line, _)| *line == 16), "{found:?}");
        // The file's `BEGIN` is still open in the later revision.
        let open = ALEMBIC.replace("CREATE INDEX orders", "CREATE INDEX CONCURRENTLY orders");
        assert!(rules("upgrade.sql", &open).contains(&(16, "concurrently-in-transaction")));
        // Within one revision the table is new.
        let same = ALEMBIC.replace("-- Running upgrade 1a2b3c -> 4d5e6f\n", "\n");
        assert!(rules("upgrade.sql", &same).is_empty(), "{:?}", rules("upgrade.sql", &same));
    }

    #[test]
    fn django_follows_the_files_own_transaction() {
        let concurrently = DJANGO.replace("CREATE INDEX", "CREATE INDEX CONCURRENTLY");
        assert!(rules("sql/0042.sql", &concurrently).contains(&(10, "concurrently-in-transaction")));
        let not_atomic = concurrently.replace("BEGIN;\n", "").replace("COMMIT;\n", "");
        assert!(!rules("sql/0042.sql", &not_atomic).iter().any(|(_, r)| *r == "concurrently-in-transaction"));
    }

    #[test]
    fn flyway_runs_scripts_with_concurrent_builds_outside_a_transaction() {
        let report =
            crate::lint_file("db/V3__index.sql", b"CREATE INDEX CONCURRENTLY i ON t (a);", &crate::Settings::default());
        assert_eq!(report.sections[0].transaction, Transaction::None);
        assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
        let wrapped =
            crate::lint_file("db/V4__add.sql", b"ALTER TABLE t ADD COLUMN c int;", &crate::Settings::default());
        assert_eq!(wrapped.sections[0].transaction, Transaction::Wrapped);
    }

    #[test]
    fn down_files_by_name() {
        assert_eq!(file_direction(Framework::GolangMigrate, "1_a.down.sql"), Direction::Down);
        assert_eq!(file_direction(Framework::Diesel, "x/down.sql"), Direction::Down);
        assert_eq!(file_direction(Framework::Flyway, "U3__undo.sql"), Direction::Down);
        assert_eq!(file_direction(Framework::Sqitch, "revert/users.sql"), Direction::Down);
        assert_eq!(file_direction(Framework::Flyway, "V3__do.sql"), Direction::Up);
    }

    fn split(framework: Framework, text: &str) -> Vec<(String, Direction, Transaction)> {
        let tokens = crate::pg_ffi::scan(text).unwrap();
        sections(framework, "m/1.sql", text, &tokens, FileHints::default())
            .into_iter()
            .map(|s| (text[s.span.start..s.span.end].trim().to_owned(), s.direction, s.transaction))
            .collect()
    }

    #[test]
    fn goose_sections_and_no_transaction() {
        let text = "-- +goose Up\n-- +goose NO TRANSACTION\nCREATE INDEX CONCURRENTLY i ON t (a);\n-- +goose Down\nDROP INDEX i;\n";
        let found = split(Framework::Goose, text);
        assert_eq!(found.len(), 2);
        assert_eq!((found[0].1, found[0].2), (Direction::Up, Transaction::None));
        assert_eq!((found[1].1, found[1].2), (Direction::Down, Transaction::None));
    }

    #[test]
    fn dbmate_sections_and_transaction_flag() {
        let text =
            "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t (a)\n-- migrate:down\nDROP INDEX i;\n";
        let found = split(Framework::Dbmate, text);
        // dbmate sends the section as one query: several statements are one transaction.
        assert_eq!(found[0].2, Transaction::ImplicitWhenMultiStatement);
        assert_eq!((found[1].1, found[1].2), (Direction::Down, Transaction::Wrapped));
        assert!(found[0].0.ends_with("ON t (a)"));
    }
}
