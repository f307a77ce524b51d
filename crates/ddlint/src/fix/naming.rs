//! Names and contents of the migrations fixes add, in each framework's conventions, numbered
//! to run right after the file they came from.

use ddlint_core::fix::NewMigration;
use ddlint_core::framework::Framework;
use std::path::{Path, PathBuf};

/// One file to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewFile {
    pub path: PathBuf,
    pub text: String,
}

/// The files of the `nth` (0-based) migration a fix adds after `source`. `siblings` are the
/// names in `source`'s directory (for diesel, in the directory of its migration folders).
pub fn new_files(
    source: &Path,
    framework: Framework,
    siblings: &[String],
    nth: usize,
    migration: &NewMigration,
) -> Result<Vec<NewFile>, String> {
    let dir = source.parent().unwrap_or(Path::new(""));
    let file = source.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let step = u64::try_from(nth).unwrap_or(u64::MAX).saturating_add(1);
    let slug = &migration.slug;
    match framework {
        Framework::Flyway => {
            let (version, _) = flyway_version(file).ok_or_else(|| format!("`{file}` has no Flyway version"))?;
            let mut new = version.clone();
            new.push(step);
            let between = siblings.iter().filter_map(|s| flyway_version(s)).any(|(v, _)| v > version && v <= new);
            if between {
                return Err(no_room(file));
            }
            let name = new.iter().map(u64::to_string).collect::<Vec<_>>().join("_");
            let script = dir.join(format!("V{name}__{slug}.sql"));
            let mut files = vec![NewFile { path: script.clone(), text: statements(&migration.up) }];
            // Flyway runs a script outside a transaction when it recognises a statement that
            // needs it, or when the script's own configuration says so; a `DO` block that
            // commits is not one it recognises.
            if !migration.transaction {
                let mut conf = script.into_os_string();
                conf.push(".conf");
                files.push(NewFile { path: conf.into(), text: "executeInTransaction=false\n".to_owned() });
            }
            Ok(files)
        }
        Framework::Diesel => {
            let folder = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let parent = dir.parent().unwrap_or(Path::new(""));
            let version = folder.split('_').next().unwrap_or_default();
            let new = next_version(version, step).ok_or_else(|| format!("`{folder}` has no diesel version"))?;
            if siblings.iter().any(|s| {
                let v = s.split('_').next().unwrap_or_default();
                v > version && v <= new.as_str()
            }) {
                return Err(no_room(folder));
            }
            let folder = parent.join(format!("{new}_{slug}"));
            let mut files = vec![
                NewFile { path: folder.join("up.sql"), text: statements(&migration.up) },
                NewFile { path: folder.join("down.sql"), text: statements(&migration.down) },
            ];
            if !migration.transaction {
                files.push(NewFile {
                    path: folder.join("metadata.toml"),
                    text: "run_in_transaction = false\n".to_owned(),
                });
            }
            Ok(files)
        }
        _ => {
            let version = leading_digits(file);
            let new = next_version(version, step).ok_or_else(|| format!("`{file}` does not start with a version"))?;
            let crowded = siblings.iter().any(|s| {
                let v = leading_digits(s);
                !v.is_empty() && numeric_cmp(v, version).is_gt() && numeric_cmp(v, &new).is_le()
            });
            if crowded {
                return Err(no_room(file));
            }
            let separator = &file[version.len()..]
                .chars()
                .next()
                .filter(|c| !c.is_ascii_alphanumeric())
                .map_or("_".to_owned(), String::from);
            let stem = format!("{new}{separator}{slug}");
            Ok(match framework {
                Framework::GolangMigrate => {
                    // popx wraps its files in a transaction unless they are named `.autocommit`.
                    let kind = if !migration.transaction && popx_dir(siblings) { ".autocommit" } else { "" };
                    let mut files = vec![NewFile {
                        path: dir.join(format!("{stem}{kind}.up.sql")),
                        text: statements(&migration.up),
                    }];
                    if !migration.down.is_empty() {
                        files.push(NewFile {
                            path: dir.join(format!("{stem}{kind}.down.sql")),
                            text: statements(&migration.down),
                        });
                    }
                    files
                }
                Framework::Goose => vec![NewFile { path: dir.join(format!("{stem}.sql")), text: goose(migration) }],
                Framework::Dbmate => vec![NewFile { path: dir.join(format!("{stem}.sql")), text: dbmate(migration) }],
                Framework::SqlMigrate => {
                    vec![NewFile { path: dir.join(format!("{stem}.sql")), text: sql_migrate(migration) }]
                }
                _ => vec![NewFile { path: dir.join(format!("{stem}.sql")), text: statements(&migration.up) }],
            })
        }
    }
}

/// Whether the directory's names show popx's conventions (a file named `.autocommit` or with
/// a dialect), which golang-migrate's never have.
fn popx_dir(siblings: &[String]) -> bool {
    siblings
        .iter()
        .any(|s| crate::dialect::popx(s).is_some_and(|p| p.autocommit || p.dialect != crate::dialect::Dialect::Neutral))
}

fn no_room(file: &str) -> String {
    format!("no version is free between `{file}` and the migration after it, to add the safe form's own migration")
}

/// The digits a file name starts with.
fn leading_digits(name: &str) -> &str {
    &name[..name.bytes().take_while(u8::is_ascii_digit).count()]
}

/// Compares digit strings as numbers.
fn numeric_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// `version` plus `step` in its last run of digits, keeping its width and whatever else it
/// holds (diesel's `2024-01-01-120000`): `None` when it has no digits or the run overflows.
fn next_version(version: &str, step: u64) -> Option<String> {
    let end = version.rfind(|c: char| c.is_ascii_digit())? + 1;
    let start = version[..end].rfind(|c: char| !c.is_ascii_digit()).map_or(0, |i| i + 1);
    let digits = &version[start..end];
    let width = digits.len();
    let value: u128 = digits.parse().ok()?;
    let next = (value + u128::from(step)).to_string();
    if next.len() > width && width > 1 && digits.starts_with('0') {
        return None;
    }
    Some(format!("{}{next:0>width$}{}", &version[..start], &version[end..]))
}

/// Flyway's `V1_2__x.sql`: the version as numbers, and the description.
fn flyway_version(name: &str) -> Option<(Vec<u64>, &str)> {
    let rest = name.strip_prefix('V')?;
    let (version, description) = rest.split_once("__")?;
    let parts = version.split(['.', '_']).map(|p| p.parse().ok()).collect::<Option<Vec<u64>>>()?;
    Some((parts, description))
}

fn statements(sql: &[String]) -> String {
    sql.iter().map(|s| format!("{s};\n")).collect()
}

/// The statements, each that holds a `;` of its own (a function body, a `DO` block) between
/// the runner's markers for a statement it must not split: `-- +goose StatementBegin`.
fn marked_statements(sql: &[String], tool: &str) -> String {
    sql.iter()
        .map(|s| {
            if s.contains(';') {
                format!("-- +{tool} StatementBegin\n{s};\n-- +{tool} StatementEnd\n")
            } else {
                format!("{s};\n")
            }
        })
        .collect()
}

fn goose(m: &NewMigration) -> String {
    let marker = if m.transaction { "" } else { "-- +goose NO TRANSACTION\n" };
    let (up, down) = (marked_statements(&m.up, "goose"), marked_statements(&m.down, "goose"));
    format!("{marker}-- +goose Up\n{up}\n-- +goose Down\n{down}")
}

fn dbmate(m: &NewMigration) -> String {
    let option = if m.transaction { "" } else { " transaction:false" };
    format!("-- migrate:up{option}\n{}\n-- migrate:down{option}\n{}", statements(&m.up), statements(&m.down))
}

fn sql_migrate(m: &NewMigration) -> String {
    let option = if m.transaction { "" } else { " notransaction" };
    let (up, down) = (marked_statements(&m.up, "migrate"), marked_statements(&m.down, "migrate"));
    format!("-- +migrate Up{option}\n{up}\n-- +migrate Down{option}\n{down}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap is a failed test.
mod tests {
    use super::*;

    fn migration(transaction: bool) -> NewMigration {
        NewMigration {
            slug: "concurrently_i".to_owned(),
            up: vec!["CREATE INDEX CONCURRENTLY i ON t (a)".to_owned()],
            down: vec!["DROP INDEX CONCURRENTLY IF EXISTS i".to_owned()],
            transaction,
        }
    }

    fn names(source: &str, framework: Framework, siblings: &[&str], nth: usize) -> Result<Vec<String>, String> {
        let siblings: Vec<String> = siblings.iter().map(|s| (*s).to_owned()).collect();
        let files = new_files(Path::new(source), framework, &siblings, nth, &migration(false))?;
        Ok(files.into_iter().map(|f| f.path.to_string_lossy().into_owned()).collect())
    }

    #[test]
    fn statements_with_semicolons_of_their_own_are_kept_whole() {
        let m = NewMigration {
            slug: "backfill".to_owned(),
            up: vec!["DO $x$ BEGIN PERFORM 1; END $x$".to_owned()],
            down: vec!["SELECT 1".to_owned()],
            transaction: false,
        };
        let goose = &new_files(Path::new("a/1_x.sql"), Framework::Goose, &[], 0, &m).unwrap()[0].text;
        assert_eq!(
            goose,
            "-- +goose NO TRANSACTION\n-- +goose Up\n-- +goose StatementBegin\nDO $x$ BEGIN PERFORM 1; END $x$;\n-- +goose StatementEnd\n\n-- +goose Down\nSELECT 1;\n"
        );
        let sql_migrate = &new_files(Path::new("a/1_x.sql"), Framework::SqlMigrate, &[], 0, &m).unwrap()[0].text;
        assert!(sql_migrate.contains("-- +migrate StatementBegin\nDO $x$"), "{sql_migrate}");
        let flyway = new_files(Path::new("sql/V1__x.sql"), Framework::Flyway, &[], 0, &m).unwrap();
        assert_eq!(flyway[1].text, "executeInTransaction=false\n");
    }

    #[test]
    fn versions_count_on_from_the_source() {
        assert_eq!(
            names("db/00042_add.sql", Framework::Goose, &["00042_add.sql"], 0).unwrap(),
            ["db/00043_concurrently_i.sql"]
        );
        assert_eq!(
            names("m/20240101120000_add.up.sql", Framework::GolangMigrate, &[], 1).unwrap(),
            ["m/20240101120002_concurrently_i.up.sql", "m/20240101120002_concurrently_i.down.sql"]
        );
        assert_eq!(
            names("sql/V2__add.sql", Framework::Flyway, &["V3__next.sql"], 0).unwrap(),
            ["sql/V2_1__concurrently_i.sql", "sql/V2_1__concurrently_i.sql.conf"]
        );
        assert_eq!(
            names("migrations/2024-01-01-120000_add/up.sql", Framework::Diesel, &[], 0).unwrap(),
            [
                "migrations/2024-01-01-120001_concurrently_i/up.sql",
                "migrations/2024-01-01-120001_concurrently_i/down.sql",
                "migrations/2024-01-01-120001_concurrently_i/metadata.toml"
            ]
        );
    }

    #[test]
    fn popx_migrations_that_run_outside_a_transaction_are_autocommit() {
        let siblings = ["20200101000000000000_a.up.sql", "20200102000000000000_b.autocommit.up.sql"];
        assert_eq!(
            names("m/20200101000000000000_a.up.sql", Framework::GolangMigrate, &siblings, 0).unwrap(),
            [
                "m/20200101000000000001_concurrently_i.autocommit.up.sql",
                "m/20200101000000000001_concurrently_i.autocommit.down.sql"
            ]
        );
    }

    #[test]
    fn a_taken_version_is_refused() {
        let err = names("db/00042_add.sql", Framework::Goose, &["00042_add.sql", "00043_next.sql"], 0).unwrap_err();
        assert!(err.contains("no version is free"), "{err}");
        assert!(names("sql/V2__add.sql", Framework::Flyway, &["V2_1__x.sql"], 0).is_err());
        assert!(names("db/add.sql", Framework::Plain, &[], 0).is_err());
        assert!(names("db/9_add.sql", Framework::Plain, &["10_x.sql"], 0).is_err());
    }

    #[test]
    fn each_framework_marks_its_transaction() {
        let m = migration(false);
        let goose = &new_files(Path::new("a/1_x.sql"), Framework::Goose, &[], 0, &m).unwrap()[0].text;
        assert_eq!(
            goose,
            "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY i ON t (a);\n\n-- +goose Down\nDROP INDEX CONCURRENTLY IF EXISTS i;\n"
        );
        let dbmate = &new_files(Path::new("a/1_x.sql"), Framework::Dbmate, &[], 0, &m).unwrap()[0].text;
        assert!(dbmate.starts_with("-- migrate:up transaction:false\n"), "{dbmate}");
        let transactional =
            &new_files(Path::new("a/1_x.sql"), Framework::SqlMigrate, &[], 0, &migration(true)).unwrap()[0].text;
        assert!(transactional.starts_with("-- +migrate Up\n"), "{transactional}");
    }

    #[test]
    fn versions_keep_their_width() {
        assert_eq!(next_version("0009", 1).as_deref(), Some("0010"));
        assert_eq!(next_version("9", 1).as_deref(), Some("10"));
        assert_eq!(next_version("099", 1).as_deref(), Some("100"));
        assert_eq!(next_version("0999", 1).as_deref(), Some("1000"));
        assert_eq!(next_version("", 1), None);
    }
}
