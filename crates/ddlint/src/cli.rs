//! The command line, declared with clap's derive API.

use crate::report::Format;
use clap::{Args, Parser, Subcommand, ValueEnum};
use ddlint_core::framework::Framework;
use ddlint_core::settings::{MAX_PG_VERSION, MIN_PG_VERSION};
use ddlint_core::Severity;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "ddlint",
    version,
    about = "A linter for PostgreSQL schema migrations",
    long_about = "A linter for PostgreSQL schema migrations: catches locks, rewrites and breaking changes \
                  before they reach production.",
    propagate_version = true,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Lint migration files.
    Check(CheckArgs),
    /// List every rule with its default severity and whether it is on by default.
    Rules,
    /// Print the documentation of one rule.
    Rule {
        /// The rule's id (or a former id).
        id: String,
    },
    /// Show what each statement locks, in which mode, what that blocks, and whether it
    /// rewrites or scans the table. Files are explained in path order, each against the
    /// schema the earlier ones built.
    Explain(ExplainArgs),
    /// Write the phased version of a migration's changes that no single migration makes safe
    /// (renames, rewriting type changes, `NOT NULL` on a table with rows, whole-table
    /// backfills, drops): expand, backfill and contract migrations with their downs, in the
    /// framework's conventions, with `PLAN.md` and `plan.json`. The migration is read in its
    /// history, as `check` reads it.
    Plan(PlanArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "\
Exit status: 0 when every change that needs phases was planned (or none does), 1 when one \
could not be, 2 for usage, configuration or I/O errors.")]
pub struct PlanArgs {
    /// The migration file to plan.
    #[arg(value_name = "MIGRATION")]
    pub migration: PathBuf,

    /// Write the phase migrations, `PLAN.md` and `plan.json` into this directory, and leave
    /// the migration as it is. Without it, the phases go next to the migration, numbered to
    /// run right after it, the planned statements leave the migration, and the plan is
    /// written beside it as `<name>.plan.md` and `<name>.plan.json`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Rows per backfill batch; each batch commits on its own.
    #[arg(long, value_name = "ROWS", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub batch_size: u32,

    /// The value existing rows get in a column, as SQL: `--fill currency="'EUR'"`
    /// (repeatable). Adding a `NOT NULL` column needs one.
    #[arg(long, value_name = "COLUMN=SQL")]
    pub fill: Vec<String>,

    /// `lock_timeout` of every phase [default: `[fix] lock-timeout` in the config file, or 2s].
    #[arg(long, value_name = "DURATION")]
    pub lock_timeout: Option<String>,

    /// Print `PLAN.md` and the files it would write, and write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// PostgreSQL major version the migrations run on [default: 15, or the config file's].
    #[arg(
        long,
        value_name = "MAJOR",
        value_parser = clap::value_parser!(u32).range(i64::from(MIN_PG_VERSION)..=i64::from(MAX_PG_VERSION))
    )]
    pub pg_version: Option<u32>,

    /// The migration framework [default: recognised from the file].
    #[arg(long, value_name = "NAME", value_parser = framework_parser())]
    pub framework: Option<Framework>,

    /// A schema snapshot the history starts from, as for `check` (repeatable).
    #[arg(long, value_name = "FILE")]
    pub schema: Vec<PathBuf>,

    /// Read settings from this file instead of the nearest `ddlint.toml`.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,

    /// Ignore every `ddlint.toml`.
    #[arg(long)]
    pub no_config: bool,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Files, directories or quoted globs to explain; `-` reads standard input.
    #[arg(value_name = "PATHS")]
    pub paths: Vec<PathBuf>,

    /// PostgreSQL major version the migrations run on.
    #[arg(
        long,
        value_name = "MAJOR",
        default_value_t = ddlint_core::settings::DEFAULT_PG_VERSION,
        value_parser = clap::value_parser!(u32).range(i64::from(MIN_PG_VERSION)..=i64::from(MAX_PG_VERSION))
    )]
    pub pg_version: u32,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ExplainFormat::Human)]
    pub format: ExplainFormat,

    /// The name to report for standard input.
    #[arg(long, value_name = "NAME")]
    pub stdin_path: Option<String>,

    /// A schema snapshot the history starts from, as for `check` (repeatable).
    #[arg(long, value_name = "FILE")]
    pub schema: Vec<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    /// A compact table per file.
    Human,
    /// `[{"file", "statements": [{"line", "end_line", "sql", "locks", "rewrites", "scans", "may_rewrite", "may_scan"}]}]`
    Json,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Exit status: 0 when no finding reaches --fail-on, 1 when some do, \
2 for usage, configuration or I/O errors, for files that cannot be read, \
and for a directory or glob named here that holds no file to lint (unless --allow-no-files).")]
pub struct CheckArgs {
    /// Files, directories or quoted globs to lint; `-` reads standard input.
    /// Directories are searched recursively for `*.sql` files, skipping hidden entries.
    /// Defaults to the current directory.
    #[arg(value_name = "PATHS")]
    pub paths: Vec<PathBuf>,

    /// Output format [default: human, or `format` in the config file].
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// PostgreSQL major version the migrations run on [default: 15].
    #[arg(
        long,
        value_name = "MAJOR",
        value_parser = clap::value_parser!(u32).range(i64::from(MIN_PG_VERSION)..=i64::from(MAX_PG_VERSION))
    )]
    pub pg_version: Option<u32>,

    /// The migration runner wraps each file in a transaction.
    #[arg(long, overrides_with = "no_assume_in_transaction")]
    pub assume_in_transaction: bool,

    /// Each file runs outside a transaction (overrides the config file).
    #[arg(long, overrides_with = "assume_in_transaction")]
    pub no_assume_in_transaction: bool,

    /// The migration framework the files are written for [default: recognised from each file].
    #[arg(long, value_name = "NAME", value_parser = framework_parser())]
    pub framework: Option<Framework>,

    /// Lint the files added or modified since this git revision (compared from its merge
    /// base with HEAD, uncommitted and untracked files included) as one change set: objects
    /// they create are new, and only they are reported. The other files are history.
    #[arg(long, value_name = "REV", conflicts_with = "changed")]
    pub changed_since: Option<String>,

    /// A file of the change set (repeatable), for CI systems without git history; see
    /// `--changed-since`.
    #[arg(long, value_name = "PATH")]
    pub changed: Vec<PathBuf>,

    /// Lint each file alone, without replaying the earlier migrations of its directory.
    #[arg(long)]
    pub no_history: bool,

    /// A schema snapshot that every migration history starts from: `pg_dump --schema-only`
    /// output or a Rails `structure.sql` (repeatable), so that tables older than the
    /// migrations are known [default: `schema` in the config file].
    #[arg(long, value_name = "FILE")]
    pub schema: Vec<std::path::PathBuf>,

    /// The highest severity a finding in a down (revert) migration is reported at
    /// [default: warning].
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub down_severity: Option<SeverityLevel>,

    /// Lowest severity that makes the run fail with exit status 1 [default: warning].
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,

    /// Switch a rule on (repeatable, or a comma-separated list).
    #[arg(long, value_name = "RULE", value_delimiter = ',')]
    pub enable: Vec<String>,

    /// Switch a rule off (repeatable, or a comma-separated list).
    #[arg(long, value_name = "RULE", value_delimiter = ',')]
    pub disable: Vec<String>,

    /// Lint only discovered files matching this glob (repeatable; replaces `include` from the config).
    /// Files named explicitly on the command line are always linted.
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,

    /// Skip discovered files and directories matching this glob (repeatable; replaces `exclude` from the config).
    /// Files named explicitly on the command line are always linted.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,

    /// Pass when a directory or glob named on the command line holds no file to lint, instead of
    /// failing with exit status 2 (or `allow-no-files = true` in the config file).
    #[arg(long)]
    pub allow_no_files: bool,

    /// Read settings from this file instead of the nearest `ddlint.toml`.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,

    /// Ignore every `ddlint.toml`.
    #[arg(long)]
    pub no_config: bool,

    /// When to colour the human output.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,

    /// Print only the number of findings of each rule and the summary, not the findings
    /// (human format only; the JSON summary's `rules` has the same counts). The exit status
    /// is the same as without it.
    #[arg(long)]
    pub statistics: bool,

    /// The file name to report for standard input.
    #[arg(long, value_name = "NAME")]
    pub stdin_path: Option<String>,

    /// Apply the safe fixes in place: edits to the files, and new migrations where the safe
    /// form needs its own transaction. What remains is then reported.
    #[arg(long, help_heading = "Fixes")]
    pub fix: bool,

    /// Apply the unsafe fixes too (with `--fix` or `--diff`): each rule's page says what can
    /// change.
    #[arg(long, help_heading = "Fixes")]
    pub unsafe_fixes: bool,

    /// Print the fixes as a unified diff, new files included, and write nothing. Exit status 1
    /// when there is something to fix. It shows one round: a fix that must wait for another
    /// (both edit one statement) shows once that one is applied; `--fix` runs the rounds.
    #[arg(long, help_heading = "Fixes", conflicts_with = "fix")]
    pub diff: bool,
}

impl CheckArgs {
    /// The transaction assumption the flags ask for, if any.
    pub fn assume_in_transaction(&self) -> Option<bool> {
        if self.assume_in_transaction {
            Some(true)
        } else if self.no_assume_in_transaction {
            Some(false)
        } else {
            None
        }
    }
}

/// Accepts the frameworks' names and lists them in `--help`.
fn framework_parser() -> impl clap::builder::TypedValueParser<Value = Framework> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Framework::ALL.map(Framework::name))
        .try_map(|name| Framework::from_name(&name).ok_or("unknown framework"))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    /// Only errors fail the run.
    Error,
    /// Warnings and errors fail the run.
    Warning,
}

impl FailOn {
    pub fn threshold(self) -> Severity {
        match self {
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeverityLevel {
    Error,
    Warning,
    Note,
}

impl SeverityLevel {
    pub fn severity(self) -> Severity {
        match self {
            SeverityLevel::Error => Severity::Error,
            SeverityLevel::Warning => Severity::Warning,
            SeverityLevel::Note => Severity::Note,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// Colour when standard output is a terminal and `NO_COLOR` is not set.
    Auto,
    Always,
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
