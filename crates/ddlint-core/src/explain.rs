//! `ddlint explain`: what each statement of a migration locks, rewrites and scans.
//!
//! The explanation is the lock model's prediction for every statement, with the earlier
//! statements of the file (and, through [`explain_source`], of earlier files) fed to a
//! [`Catalog`] so that indexes, foreign keys and partitions created before are known.
//! Like the rest of the engine it does no I/O.

use crate::framework::FileHints;
use crate::lock_model::{statement_effects, Catalog, LockedObject};
use crate::locks::Operation;
use crate::names::RelationName;
use crate::parse::ParsedFile;
use crate::source::LineIndex;
use crate::PreparedFile;
use crate::Settings;
use serde::Serialize;

/// The explanation of one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileExplanation {
    pub file: String,
    pub statements: Vec<StatementExplanation>,
}

/// The explanation of one statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatementExplanation {
    /// 1-based line of the statement's first token.
    pub line: usize,
    /// 1-based line of its last token.
    pub end_line: usize,
    /// The statement as written, without the closing `;`.
    pub sql: String,
    pub locks: Vec<LockExplanation>,
    pub rewrites: Vec<String>,
    pub scans: Vec<String>,
    pub may_rewrite: Vec<String>,
    pub may_scan: Vec<String>,
}

/// One relation lock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LockExplanation {
    /// The relation's name as written, without its schema; `schema s` or `type t` for a
    /// schema or type, and `every relation in schema s` for the contents of a dropped schema
    /// the catalog cannot list.
    pub relation: String,
    /// The mode as `pg_locks.mode` names it: `AccessExclusiveLock`.
    pub mode: &'static str,
    /// The everyday operations that wait while the lock is held.
    pub blocks: Vec<Operation>,
}

/// Explains one file on its own.
pub fn explain_file(path: &str, bytes: &[u8], settings: &Settings) -> FileExplanation {
    let mut catalog = Catalog::default();
    explain_bytes(path, bytes, settings, &mut catalog)
}

/// Explains one file against a catalog of what ran before, and folds the file's up
/// statements into that catalog, so that consecutive migrations can be explained in order.
pub fn explain_bytes(path: &str, bytes: &[u8], settings: &Settings, catalog: &mut Catalog) -> FileExplanation {
    let prepared = crate::prepare(path, bytes, settings, FileHints::default());
    let explanation = explain_prepared(&prepared, settings, catalog);
    prepared.fold_into(catalog);
    prepared.discard();
    explanation
}

/// Explains a file's text; see [`explain_bytes`].
pub fn explain_source(path: &str, text: &str, settings: &Settings, catalog: &mut Catalog) -> FileExplanation {
    explain_bytes(path, text.as_bytes(), settings, catalog)
}

/// Explains a prepared file against `history`, the schema the migrations before it built.
/// Each statement is explained against the schema the file's earlier statements built too.
pub fn explain_prepared(prepared: &PreparedFile, settings: &Settings, history: &Catalog) -> FileExplanation {
    crate::with_deep_stack(|| explain_text(prepared.path(), prepared.text(), prepared.parsed(), settings, history))
}

fn explain_text(
    path: &str,
    text: &str,
    parsed: &ParsedFile,
    settings: &Settings,
    history: &Catalog,
) -> FileExplanation {
    let mut catalog = history.clone();
    let lines = LineIndex::new(text);
    let mut statements = Vec::new();
    for stmt in parsed.statements() {
        let effects = statement_effects(&stmt.node, settings.pg_version, &catalog);
        catalog.apply(&stmt.node);
        let names = |list: &[RelationName]| list.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
        statements.push(StatementExplanation {
            line: lines.line_of(stmt.span.start) + 1,
            end_line: lines.line_of(stmt.span.end.saturating_sub(1).max(stmt.span.start)) + 1,
            sql: text.get(stmt.span.start..stmt.span.end).unwrap_or("").to_owned(),
            locks: effects
                .locks
                .iter()
                .map(|l| (l.relation.name.clone(), l.mode))
                // Schemas and types, and the unnamed contents of a dropped schema.
                .chain(effects.objects.iter().map(|o| match &o.object {
                    LockedObject::Schema(name) => (format!("schema {name}"), o.mode),
                    LockedObject::Type(name) => (format!("type {}", name.name), o.mode),
                }))
                .chain(
                    effects
                        .schema_contents
                        .iter()
                        .filter(|c| !c.listed)
                        .map(|c| (format!("every relation in schema {}", c.schema), c.mode)),
                )
                .map(|(relation, mode)| LockExplanation { relation, mode: mode.pg_locks_name(), blocks: mode.blocks() })
                .collect(),
            rewrites: names(&effects.rewrites),
            scans: names(&effects.scans),
            may_rewrite: names(&effects.may_rewrite),
            may_scan: names(&effects.may_scan),
        });
    }
    FileExplanation { file: path.to_owned(), statements }
}

/// A compact plain-text table: one row per statement and locked relation.
///
/// ```text
/// m/003.sql
///   line  statement                          relation  lock                 blocks                       rewrite  scan
///   3     ALTER TABLE users ADD COLUMN a …   users     AccessExclusiveLock  select insert update delete  yes      yes
/// ```
pub fn render_table(files: &[FileExplanation]) -> String {
    const HEADER: [&str; 7] = ["line", "statement", "relation", "lock", "blocks", "rewrite", "scan"];
    let mut out = String::new();
    for file in files {
        let mut rows: Vec<[String; 7]> = Vec::new();
        for stmt in &file.statements {
            let sql = abbreviate(&stmt.sql, 48);
            let verdict = |sure: &[String], may: &[String], relation: &str| {
                if sure.iter().any(|r| r == relation) {
                    "yes"
                } else if may.iter().any(|r| r == relation) {
                    "may"
                } else {
                    "no"
                }
            };
            // Relations that are scanned without a lock of their own still get a row.
            let mut relations: Vec<(String, Option<&LockExplanation>)> =
                stmt.locks.iter().map(|l| (l.relation.clone(), Some(l))).collect();
            for r in stmt.rewrites.iter().chain(&stmt.scans).chain(&stmt.may_rewrite).chain(&stmt.may_scan) {
                if !relations.iter().any(|(name, _)| name == r) {
                    relations.push((r.clone(), None));
                }
            }
            if relations.is_empty() {
                rows.push([stmt.line.to_string(), sql, "-".into(), "-".into(), "-".into(), "-".into(), "-".into()]);
                continue;
            }
            for (i, (relation, lock)) in relations.iter().enumerate() {
                let (line, sql) =
                    if i == 0 { (stmt.line.to_string(), sql.clone()) } else { (String::new(), String::new()) };
                let blocks = match lock {
                    Some(l) if l.blocks.is_empty() => "nothing".to_owned(),
                    Some(l) => l.blocks.iter().map(|o| o.as_str()).collect::<Vec<_>>().join(" "),
                    None => "-".to_owned(),
                };
                rows.push([
                    line,
                    sql,
                    relation.clone(),
                    lock.map_or("-", |l| l.mode).to_owned(),
                    blocks,
                    verdict(&stmt.rewrites, &stmt.may_rewrite, relation).to_owned(),
                    verdict(&stmt.scans, &stmt.may_scan, relation).to_owned(),
                ]);
            }
        }
        out.push_str(&file.file);
        out.push('\n');
        if rows.is_empty() {
            out.push_str("  no statements\n");
            continue;
        }
        let mut widths = HEADER.map(|h| h.chars().count());
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let header = HEADER.map(str::to_owned);
        for row in std::iter::once(&header).chain(&rows) {
            let mut line = String::from(" ");
            for (cell, w) in row.iter().zip(widths) {
                line.push(' ');
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', w - cell.chars().count() + 1));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out
}

/// The statement on one line, whitespace collapsed, cut at `max` characters.
fn abbreviate(sql: &str, max: usize) -> String {
    let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let mut cut: String = flat.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape() {
        let sql = "CREATE TABLE users (id int);\n\nALTER TABLE users\n  ADD COLUMN a uuid DEFAULT gen_random_uuid();\n";
        let explanation = explain_file("m/003.sql", sql.as_bytes(), &Settings::default());
        let json = serde_json::to_value(&explanation).unwrap();
        assert_eq!(
            json["statements"][1],
            serde_json::json!({
                "line": 3,
                "end_line": 4,
                "sql": "ALTER TABLE users\n  ADD COLUMN a uuid DEFAULT gen_random_uuid()",
                "locks": [{"relation": "users", "mode": "AccessExclusiveLock", "blocks": ["select", "insert", "update", "delete", "ddl"]}],
                "rewrites": ["users"],
                "scans": ["users"],
                "may_rewrite": [],
                "may_scan": []
            })
        );
        assert_eq!(json["file"], "m/003.sql");
    }

    #[test]
    fn earlier_statements_feed_the_catalog() {
        let sql = "CREATE TABLE t (a int);\r\nCREATE INDEX i ON t (a);\r\nDROP INDEX i";
        let explanation = explain_file("x.sql", sql.as_bytes(), &Settings::default());
        let drop = &explanation.statements[2];
        assert_eq!(drop.line, 3);
        let relations: Vec<&str> = drop.locks.iter().map(|l| l.relation.as_str()).collect();
        assert_eq!(relations, ["i", "t"]);
    }

    #[test]
    fn schema_and_type_locks_are_explained() {
        let sql = "DROP SCHEMA s CASCADE;\nALTER TYPE mood ADD VALUE 'x';\n";
        let explanation = explain_file("x.sql", sql.as_bytes(), &Settings::default());
        let locks: Vec<Vec<(&str, &str)>> = explanation
            .statements
            .iter()
            .map(|s| s.locks.iter().map(|l| (l.relation.as_str(), l.mode)).collect())
            .collect();
        assert_eq!(
            locks,
            [
                vec![("schema s", "AccessExclusiveLock"), ("every relation in schema s", "AccessExclusiveLock")],
                vec![("type mood", "ExclusiveLock")],
            ]
        );
    }

    #[test]
    fn deep_expressions_are_explained() {
        // Deeper than the model judges a default, shallower than libpg_query's own limit.
        let deep = vec!["'a'"; 90].join(" || ");
        let sql = format!("SELECT {deep};\nALTER TABLE t ADD COLUMN c text DEFAULT {deep};\n");
        let explanation = explain_file("deep.sql", sql.as_bytes(), &Settings::default());
        assert_eq!(explanation.statements.len(), 2);
        assert_eq!(explanation.statements[1].may_rewrite, ["t"]);
    }

    #[test]
    fn table_rendering() {
        let sql = "CREATE INDEX i ON t (a);\nSELECT 1;\n";
        let table = render_table(&[explain_file("m/1.sql", sql.as_bytes(), &Settings::default())]);
        let expected = "m/1.sql
  line  statement                relation  lock       blocks                    rewrite  scan
  1     CREATE INDEX i ON t (a)  t         ShareLock  insert update delete ddl  no       yes
  2     SELECT 1                 -         -          -                         -        -
";
        assert_eq!(table, expected, "\n{table}");
    }
}
