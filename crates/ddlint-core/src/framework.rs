//! Migration frameworks: how ddlint recognises each one, how it splits a file into up and
//! down sections, and whether the runner wraps a section in a transaction.

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
    /// Numbered or timestamped `.sql` files run as they are.
    Plain,
}

impl Framework {
    pub const ALL: [Framework; 9] = [
        Framework::GolangMigrate,
        Framework::Goose,
        Framework::Dbmate,
        Framework::Flyway,
        Framework::Sqitch,
        Framework::Diesel,
        Framework::Prisma,
        Framework::SqlMigrate,
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
            Framework::Plain => "plain",
        }
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
}

/// What the caller knows beyond the file's path and text, such as diesel's `metadata.toml`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileHints {
    /// `run_in_transaction = false` (diesel) or an equivalent setting.
    pub no_transaction: bool,
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
        Framework::GolangMigrate => file.ends_with(".down.sql"),
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
    let default_transaction = match framework {
        Framework::GolangMigrate | Framework::Prisma => Transaction::ImplicitWhenMultiStatement,
        Framework::Diesel if hints.no_transaction => Transaction::None,
        Framework::Diesel | Framework::Flyway => Transaction::Wrapped,
        Framework::Sqitch => Transaction::None,
        Framework::Goose | Framework::Dbmate | Framework::SqlMigrate | Framework::Plain => Transaction::AsConfigured,
    };
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
        return vec![Section { span: whole, direction: file_direction(framework, path), transaction }];
    }
    let mut sections = Vec::new();
    // Text before the first section marker is run with the up migration.
    let first = starts.first().map_or(text.len(), |s| s.0);
    if text[..first].trim() != "" && first > 0 {
        sections.push(Section {
            span: Span::new(0, first),
            direction: Direction::Up,
            transaction: Transaction::Wrapped,
        });
    }
    for (i, (at, direction, transactional)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(text.len(), |next| next.0);
        let wrapped = *transactional && !(framework == Framework::Goose && no_transaction_anywhere);
        sections.push(Section {
            span: Span::new(*at, end),
            direction: *direction,
            transaction: if wrapped { Transaction::Wrapped } else { Transaction::None },
        });
    }
    sections
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
        assert_eq!(found[0].2, Transaction::None);
        assert_eq!((found[1].1, found[1].2), (Direction::Down, Transaction::Wrapped));
        assert!(found[0].0.ends_with("ON t (a)"));
    }
}
