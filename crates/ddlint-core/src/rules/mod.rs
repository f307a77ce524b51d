//! The rules. Each lives in its own file, declared with [`declare_rule!`] so that its doc
//! comment becomes its page in `rules/<id>.md`, and is listed once in `registry.rs`.

use crate::context::StatementCx;
use crate::diagnostic::{Diagnostic, Severity};

pub mod add_check_constraint_validated;
pub mod add_column_not_null_without_default;
pub mod add_column_volatile_default;
pub mod add_domain_constraint_validated;
pub mod add_exclusion_constraint;
pub mod add_foreign_key_validated;
pub mod add_generated_column;
pub mod add_unique_constraint;
pub mod alter_column_type;
pub mod attach_partition_without_check;
pub mod backfill_without_where;
pub mod cluster;
pub mod concurrently_in_transaction;
pub mod copy_and_swap;
pub mod create_index_non_concurrently;
pub mod detach_partition_non_concurrently;
pub mod disable_triggers;
pub mod drop_column;
pub mod drop_database_or_schema;
pub mod drop_index_non_concurrently;
pub mod drop_not_null_default;
pub mod drop_table;
pub mod engine;
pub mod enum_add_value_in_transaction;
pub mod expand_and_contract_in_one_change;
pub mod flyway_mixed_transaction;
pub mod foreign_key_without_index;
pub mod lock_table;
pub mod missing_lock_timeout;
pub mod multiple_access_exclusive_locks;
pub mod prefer_bigint;
pub mod prefer_jsonb;
pub mod prefer_text;
pub mod prefer_timestamptz;
pub mod refresh_materialized_view_non_concurrently;
pub mod refused_by_postgres;
pub mod reindex_non_concurrently;
pub mod rename_column;
pub mod rename_object;
pub mod rename_table;
pub mod require_if_not_exists;
pub mod require_statement_timeout;
pub mod set_not_null;
pub mod shared;
pub mod statements_after_access_exclusive;
pub mod table_rewrite;
pub mod truncate;
pub mod unclosed_transaction;
pub mod vacuum_full;
pub mod validate_in_same_transaction;

/// A rule's check over one statement (oxc's `run`).
pub type CheckFn = fn(&StatementCx<'_, '_>, &mut Vec<Diagnostic>);

/// A rule's check over a whole file, run once (oxc's `run_once`): for rules about a
/// transaction or the file as a whole, which walk the statements themselves and so keep what
/// they learn in their own locals rather than in state carried between statements.
pub type FileCheckFn = fn(&crate::context::FileContext<'_>, &mut Vec<Diagnostic>);

/// Everything the registry knows of a rule.
#[derive(Debug)]
pub struct RuleMeta {
    /// The kebab-case id, stable once shipped.
    pub id: &'static str,
    /// Ids this rule was once known by.
    pub aliases: &'static [&'static str],
    pub default_severity: Severity,
    /// Opt-in rules (policy, not hazard) are off until enabled.
    pub default_enabled: bool,
    /// The rule's documentation in Markdown, from its doc comment.
    pub docs: &'static str,
    /// The per-statement check; `None` for a rule that checks whole files, and for the
    /// diagnostics the engine raises itself, such as `syntax-error`.
    pub check: Option<CheckFn>,
    /// The per-file check, for a rule about transactions or the whole file.
    pub check_file: Option<FileCheckFn>,
    /// The least safe fix the rule writes, or `None` when it has none; its page's `## Fix`
    /// section says what the fix writes.
    pub fix: Option<crate::fix::Applicability>,
}

impl RuleMeta {
    /// The first sentence under `## What it does`, joined across lines.
    pub fn summary(&self) -> String {
        crate::docs::summary(self)
    }

    /// The SQL of the first fenced block after `heading` in the docs.
    pub fn doc_example(&self, heading: &str) -> Option<&'static str> {
        let after = self.docs.split(heading).nth(1)?;
        let start = after.find("```sql")? + "```sql".len();
        let rest = &after[start..];
        Some(rest[..rest.find("```")?].trim())
    }
}

/// Declares a rule: its doc comment, id, default severity and whether it is on by default.
///
/// ```text
/// declare_rule! {
///     /// ## What it does
///     /// …
///     pub RULE = "rename-column", Warning, on, Some(check);
///     // or, for a rule that checks whole files:
///     pub RULE = "multiple-access-exclusive-locks", Warning, on, None, file = check_file;
///     // or, for a rule with fixes, the least safe of them:
///     pub RULE = "create-index-non-concurrently", Warning, on, Some(check), fix = unsafe;
/// }
/// ```
#[macro_export]
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        pub $name:ident = $id:literal, $severity:ident, $default:ident, $check:expr $(, file = $file:expr)? $(, fix = $fix:ident)? $(, aliases = [$($alias:literal),*])?;
    ) => {
        $(#[doc = $doc])*
        pub static $name: $crate::rules::RuleMeta = $crate::rules::RuleMeta {
            id: $id,
            aliases: &[$($($alias),*)?],
            default_severity: $crate::diagnostic::Severity::$severity,
            default_enabled: $crate::declare_rule!(@enabled $default),
            docs: concat!($($doc, "\n"),*),
            check: $check,
            check_file: $crate::declare_rule!(@file $($file)?),
            fix: $crate::declare_rule!(@fix $($fix)?),
        };
    };
    (@file) => { None };
    (@file $file:expr) => { Some($file) };
    (@fix) => { None };
    (@fix safe) => { Some($crate::fix::Applicability::Safe) };
    (@fix unsafe) => { Some($crate::fix::Applicability::Unsafe) };
    (@enabled on) => { true };
    (@enabled opt_in) => { false };
}

#[cfg(test)]
pub(crate) mod test_support {
    use crate::settings::Settings;

    /// The 1-based lines at which `rule` fires on `sql`, with default settings.
    pub fn lines(sql: &str, rule: &str) -> Vec<usize> {
        lines_with(sql, rule, &Settings::default())
    }

    pub fn lines_with(sql: &str, rule: &str, settings: &Settings) -> Vec<usize> {
        rule_lines(&crate::lint_file("test.sql", sql.as_bytes(), settings), rule)
    }

    /// The 1-based lines of `rule`'s findings in `report`.
    pub fn rule_lines(report: &crate::FileReport, rule: &str) -> Vec<usize> {
        report
            .diagnostics
            .iter()
            .filter(|d| d.rule == rule)
            .map(|d| report.line_index.position(&report.text, d.span.start).line)
            .collect()
    }

    /// The report of `sql` linted after `history`, the migration before it.
    pub fn lint_after(history: &str, sql: &str) -> crate::FileReport {
        lint_after_with(history, sql, &Settings::default())
    }

    /// [`lint_after`], with `settings`.
    pub fn lint_after_with(history: &str, sql: &str, settings: &Settings) -> crate::FileReport {
        let mut catalog = crate::lock_model::Catalog::default();
        let hints = crate::framework::FileHints::default;
        crate::prepare("db/1_history.sql", history.as_bytes(), settings, hints()).fold_into(&mut catalog);
        catalog.settle();
        crate::prepare("db/2_change.sql", sql.as_bytes(), settings, hints()).lint(settings, &catalog)
    }

    /// The help lines of `rule`'s findings on `sql`, with `settings`.
    pub fn helps_with(sql: &str, rule: &str, settings: &Settings) -> Vec<String> {
        crate::lint_file("test.sql", sql.as_bytes(), settings)
            .diagnostics
            .into_iter()
            .filter(|d| d.rule == rule)
            .filter_map(|d| d.help)
            .collect()
    }

    /// The messages raised by `rule` on `sql`.
    pub fn messages(sql: &str, rule: &str) -> Vec<String> {
        crate::lint_file("test.sql", sql.as_bytes(), &Settings::default())
            .diagnostics
            .into_iter()
            .filter(|d| d.rule == rule)
            .map(|d| d.message)
            .collect()
    }
}
