//! What a migration's file name says about the SQL dialect it is written for.
//!
//! Two shapes are read. ory/popx (hydra, kratos, keto) names files
//! `<version>_<name>[.<dialect>][.autocommit].(up|down).sql`, and runs a dialect's file
//! instead of the neutral file of the same version. Other projects keep one file per engine,
//! `001_init.sql.postgres` next to `001_init.sql.mysql`, which `--include` can add. A file
//! written for another engine is not PostgreSQL: it is neither linted nor replayed.

/// The engine a file is written for, by its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// No engine named: the file runs everywhere.
    Neutral,
    Postgres,
    /// MySQL, CockroachDB, SQLite and the like.
    Other,
}

/// The names popx (through pop's `CanonicalDialect`) and engine suffixes give PostgreSQL.
const POSTGRES: &[&str] = &["postgres", "postgresql", "pg"];
/// The other engines' names, so that an unrelated dotted word is not taken for one.
const OTHERS: &[&str] = &["mysql", "mariadb", "cockroach", "cockroachdb", "crdb", "sqlite", "sqlite3"];

fn classify(word: &str) -> Option<Dialect> {
    if POSTGRES.iter().any(|p| word.eq_ignore_ascii_case(p)) {
        Some(Dialect::Postgres)
    } else if OTHERS.iter().any(|o| word.eq_ignore_ascii_case(o)) {
        Some(Dialect::Other)
    } else {
        None
    }
}

/// A popx migration's name, parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Popx<'a> {
    pub version: &'a str,
    pub dialect: Dialect,
    pub autocommit: bool,
    pub down: bool,
}

/// Parses `<version>_<name>[.<dialect>][.autocommit].(up|down).sql`, as popx's own pattern
/// does: the name holds no dot, and the dialect must be one ddlint knows.
pub fn popx(file: &str) -> Option<Popx<'_>> {
    let (rest, down) = if let Some(rest) = file.strip_suffix(".up.sql") {
        (rest, false)
    } else {
        (file.strip_suffix(".down.sql")?, true)
    };
    let (rest, autocommit) = match rest.strip_suffix(".autocommit") {
        Some(rest) => (rest, true),
        None => (rest, false),
    };
    let (base, dialect) = match rest.split_once('.') {
        Some((base, word)) => (base, classify(word)?),
        None => (rest, Dialect::Neutral),
    };
    let (version, name) = base.split_once('_')?;
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) || name.is_empty() {
        return None;
    }
    Some(Popx { version, dialect, autocommit, down })
}

/// `001_init.sql.postgres` is `001_init.sql` written for PostgreSQL: the name without the
/// engine suffix, and the engine. `None` for any other name.
pub fn engine_suffix(file: &str) -> Option<(&str, Dialect)> {
    let (stem, word) = file.rsplit_once('.')?;
    let at = stem.len().checked_sub(4)?;
    if !stem.is_char_boundary(at) || !stem[at..].eq_ignore_ascii_case(".sql") || at == 0 {
        return None;
    }
    Some((stem, classify(word)?))
}

/// The dialect a file name names, in either shape.
pub fn of(file: &str) -> Dialect {
    if let Some((_, dialect)) = engine_suffix(file) {
        return dialect;
    }
    popx(file).map_or(Dialect::Neutral, |p| p.dialect)
}

/// The name to order a migration by: `001_init.sql.postgres` sorts as `001_init.sql`.
pub fn ordering_name(file: &str) -> &str {
    engine_suffix(file).map_or(file, |(stem, _)| stem)
}

/// Neutral popx files that a PostgreSQL file of the same version and direction, among the
/// same directory's `names`, replaces.
pub struct Replaced<'a> {
    postgres: Vec<(&'a str, bool)>,
}

impl<'a> Replaced<'a> {
    pub fn new(names: impl IntoIterator<Item = &'a str>) -> Self {
        let postgres = names
            .into_iter()
            .filter_map(popx)
            .filter(|p| p.dialect == Dialect::Postgres)
            .map(|p| (p.version, p.down))
            .collect();
        Self { postgres }
    }

    /// Whether `file` is a neutral popx file that a PostgreSQL one replaces.
    pub fn contains(&self, file: &str) -> bool {
        if self.postgres.is_empty() {
            return false;
        }
        popx(file).is_some_and(|p| p.dialect == Dialect::Neutral && self.postgres.contains(&(p.version, p.down)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_popx_names() {
        let cases = [
            (
                "20210410175418000000_networks.postgres.up.sql",
                Some(("20210410175418000000", Dialect::Postgres, false, false)),
            ),
            ("20210410175418000001_x.cockroach.up.sql", Some(("20210410175418000001", Dialect::Other, false, false))),
            ("20210410175418000002_x.autocommit.up.sql", Some(("20210410175418000002", Dialect::Neutral, true, false))),
            (
                "20210410175418000002_x.postgres.autocommit.up.sql",
                Some(("20210410175418000002", Dialect::Postgres, true, false)),
            ),
            ("20210410175418000003_x.down.sql", Some(("20210410175418000003", Dialect::Neutral, false, true))),
            ("20210410175418000003_x.sqlite3.down.sql", Some(("20210410175418000003", Dialect::Other, false, true))),
            ("1_x.mysql.up.sql", Some(("1", Dialect::Other, false, false))),
            // Not popx's shape: a dotted word that names no engine, no version, no direction.
            ("1_x.v2.up.sql", None),
            ("x.postgres.up.sql", None),
            ("1_x.postgres.sql", None),
            ("_x.up.sql", None),
        ];
        for (name, expected) in cases {
            let found = popx(name).map(|p| (p.version, p.dialect, p.autocommit, p.down));
            assert_eq!(found, expected, "{name}");
        }
    }

    #[test]
    fn reads_engine_suffixes() {
        assert_eq!(engine_suffix("001_init.sql.postgres"), Some(("001_init.sql", Dialect::Postgres)));
        assert_eq!(engine_suffix("001_init.sql.mysql"), Some(("001_init.sql", Dialect::Other)));
        assert_eq!(engine_suffix("001_init.up.sql.pg"), Some(("001_init.up.sql", Dialect::Postgres)));
        assert_eq!(engine_suffix("001_init.sql.bak"), None);
        assert_eq!(engine_suffix("001_init.sql"), None);
        assert_eq!(engine_suffix(".sql.postgres"), None);
        assert_eq!(ordering_name("10_b.sql.postgres"), "10_b.sql");
        assert_eq!(ordering_name("10_b.sql"), "10_b.sql");
        assert_eq!(of("1_a.sql.sqlite"), Dialect::Other);
        assert_eq!(of("1_a.mysql.up.sql"), Dialect::Other);
        assert_eq!(of("1_a.up.sql"), Dialect::Neutral);
        assert_eq!(of("notes.mysql"), Dialect::Neutral);
    }

    #[test]
    fn a_postgres_file_replaces_the_neutral_one_of_its_version_and_direction() {
        let names =
            ["1_a.up.sql", "1_a.down.sql", "1_a.postgres.up.sql", "1_a.mysql.up.sql", "2_b.up.sql", "2_b.mysql.up.sql"];
        let replaced = Replaced::new(names);
        let kept: Vec<&str> = names.into_iter().filter(|n| !replaced.contains(n)).collect();
        // The down file has no PostgreSQL version; `2_b` has only another engine's.
        assert_eq!(kept, ["1_a.down.sql", "1_a.postgres.up.sql", "1_a.mysql.up.sql", "2_b.up.sql", "2_b.mysql.up.sql"]);
    }
}
