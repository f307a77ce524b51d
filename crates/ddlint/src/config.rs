//! `ddlint.toml`: finding it, reading it, and merging it with the command line.
//!
//! The command line wins over the file: a scalar flag replaces the file's value, a rule the
//! command line enables is enabled even if the file disables it, and `--include`/`--exclude`
//! replace the file's lists.

use crate::cli::{CheckArgs, FailOn, SeverityLevel};
use crate::discover::{Filter, GlobList};
use crate::report::Format;
use crate::suggest;
use ddlint_core::framework::Framework;
use ddlint_core::preprocess::Placeholder;
use ddlint_core::settings::{MAX_PG_VERSION, MIN_PG_VERSION};
use ddlint_core::{registry, Settings, Severity};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "ddlint.toml";

/// The contents of a `ddlint.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    pub pg_version: Option<u32>,
    pub assume_in_transaction: Option<bool>,
    /// How much the migration runner wraps in one transaction.
    pub transaction: Option<TransactionScope>,
    pub fail_on: Option<FailOn>,
    pub format: Option<Format>,
    /// A framework name, as `--framework` takes it.
    pub framework: Option<String>,
    /// Replay the earlier migrations of each file's directory (the default).
    pub history: Option<bool>,
    /// The highest severity a finding in a down migration is reported at.
    pub down_severity: Option<SeverityLevel>,
    /// A directory or glob named on the command line may hold no file to lint.
    pub allow_no_files: Option<bool>,
    /// The longest `lock_timeout` that counts as one: `10s`.
    pub max_lock_timeout: Option<String>,
    #[serde(default)]
    pub enable: Vec<String>,
    #[serde(default)]
    pub disable: Vec<String>,
    #[serde(default)]
    pub include: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Templating placeholders the migration runner substitutes, as patterns in which `*`
    /// stands for the name (`{{*}}`); each is checked as the file is read.
    #[serde(default)]
    pub placeholders: Vec<Placeholder>,
    /// Rule id to severity, or `off`.
    #[serde(default)]
    pub rules: BTreeMap<String, RuleLevel>,
    /// What the fixes write.
    #[serde(default)]
    pub fix: FixConfig,
    /// What the migration runner (or the database role) sets for every migration's session.
    #[serde(default)]
    pub runner: RunnerConfig,
    /// Schema snapshots every migration history starts from (`pg_dump --schema-only`,
    /// `structure.sql`), relative to the config file.
    #[serde(default)]
    pub schema: Vec<String>,
}

/// The `[fix]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FixConfig {
    /// The `lock_timeout` fixes set, as PostgreSQL reads it: `2s`, `500ms`, `1min`.
    pub lock_timeout: Option<String>,
}

/// The `[runner]` table: timeouts every migration's session starts with because the runner
/// sets them (a `SET` before each migration) or the database role does (`ALTER ROLE … SET`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RunnerConfig {
    /// The `lock_timeout` in force from the first statement: `5s`.
    pub lock_timeout: Option<String>,
    /// The `statement_timeout` in force from the first statement.
    pub statement_timeout: Option<String>,
}

/// Every key of [`Config`], as the file spells it, for suggesting one when a key is misspelt.
const KEYS: &[&str] = &[
    "pg-version",
    "assume-in-transaction",
    "transaction",
    "fail-on",
    "format",
    "framework",
    "history",
    "down-severity",
    "allow-no-files",
    "max-lock-timeout",
    "enable",
    "disable",
    "include",
    "exclude",
    "placeholders",
    "rules",
    "fix",
    "runner",
    "schema",
];

/// What the migration runner runs as one transaction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransactionScope {
    /// Each migration as its framework says (the default).
    #[default]
    PerMigration,
    /// Every migration of one run in a single transaction, as runners that wrap the whole
    /// upgrade do: each file is linted as if in a transaction, and what an earlier migration
    /// of the run created is new for the later ones, as in a change set.
    PerUpgrade,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleLevel {
    Error,
    Warning,
    Note,
    Off,
}

/// A config file and where it was found.
#[derive(Debug)]
pub struct Loaded {
    /// The path as shown in messages.
    pub shown: String,
    /// The directory its globs are relative to.
    pub dir: PathBuf,
    pub config: Config,
}

/// Everything `ddlint check` runs with, after merging the config file and the flags.
#[derive(Debug)]
pub struct Resolved {
    pub settings: Settings,
    pub fail_on: FailOn,
    pub format: Format,
    pub filter: Filter,
    /// Replay each file's migration history.
    pub history: bool,
    /// A directory or glob named on the command line may hold no file to lint.
    pub allow_no_files: bool,
    /// The files linted together are one upgrade in one transaction: what one creates stays
    /// new for the next, as in a change set.
    pub per_upgrade: bool,
    /// Schema snapshots every migration history starts from, as paths to read.
    pub schema: Vec<PathBuf>,
}

/// The nearest `ddlint.toml` in `start` or one of its ancestors.
pub fn find(start: &Path) -> Option<PathBuf> {
    start.ancestors().map(|dir| dir.join(FILE_NAME)).find(|candidate| candidate.is_file())
}

/// Reads and checks a config file. The error names the file.
pub fn load(path: &Path, cwd: &Path) -> Result<Loaded, String> {
    let shown = shown_path(path, cwd);
    let text = fs::read_to_string(path).map_err(|e| format!("{shown}: {}", crate::describe_io(&e)))?;
    let config = parse(&text).map_err(|e| format!("{shown}{e}"))?;
    let absolute = cwd.join(path);
    let dir = absolute.parent().map_or_else(|| cwd.to_path_buf(), Path::to_path_buf);
    Ok(Loaded { shown, dir, config })
}

/// Parses and validates a config file's text, without reading any file. Errors start with
/// `:line:column: ` or `: `, ready to follow the file name.
pub fn parse(text: &str) -> Result<Config, String> {
    let config: Config = toml::from_str(text).map_err(|e| {
        let message = e.message().trim_end().trim_end_matches('.');
        let message = suggest_key(message).unwrap_or_else(|| message.to_owned());
        match e.span() {
            Some(span) => {
                let (line, column) = line_column(text, span.start);
                format!(":{line}:{column}: {message}")
            }
            None => format!(": {message}"),
        }
    })?;
    if let Some(version) = config.pg_version {
        if !(MIN_PG_VERSION..=MAX_PG_VERSION).contains(&version) {
            return Err(format!(
                ": unsupported `pg-version` {version}: ddlint knows {MIN_PG_VERSION} to {MAX_PG_VERSION}"
            ));
        }
    }
    if config.transaction == Some(TransactionScope::PerUpgrade) && config.assume_in_transaction == Some(false) {
        return Err(": `transaction = \"per-upgrade\"` runs every migration in a transaction, which `assume-in-transaction = false` contradicts".to_owned());
    }
    if let Some(name) = &config.framework {
        if Framework::from_name(name).is_none() {
            let known: Vec<&str> = Framework::ALL.iter().map(|f| f.name()).collect();
            return Err(format!(": unknown `framework` `{name}`: ddlint knows {}", known.join(", ")));
        }
    }
    let named = config
        .enable
        .iter()
        .map(|id| (id, "enable"))
        .chain(config.disable.iter().map(|id| (id, "disable")))
        .chain(config.rules.keys().map(|id| (id, "[rules]")));
    for (id, key) in named {
        if registry::canonical_id(id).is_none() {
            return Err(format!(": unknown rule `{id}` in `{key}` {}", suggest::rule_hint(id)));
        }
    }
    Ok(config)
}

/// serde's `unknown field `pg_version`, expected one of …` becomes `unknown field `pg_version`
/// (did you mean `pg-version`?)` when one key is close; otherwise the list of every key stays.
fn suggest_key(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let key = &rest[..rest.find('`')?];
    let meant = suggest::nearest(key, KEYS.iter().copied())?;
    Some(format!("unknown field `{key}` (did you mean `{meant}`?)"))
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.as_bytes()[..offset].iter().filter(|b| **b == b'\n').count();
    let line_start = text.as_bytes()[..offset].iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let column = text.as_bytes()[line_start..offset].iter().filter(|b| (**b as i8) >= -0x40).count();
    (before + 1, column + 1)
}

fn shown_path(path: &Path, cwd: &Path) -> String {
    let path = path.strip_prefix(cwd).unwrap_or(path);
    path.to_string_lossy().into_owned()
}

/// Merges the config file (if any) with the flags into the run's settings.
pub fn resolve(args: &CheckArgs, loaded: Option<&Loaded>, cwd: &Path) -> Result<Resolved, String> {
    let default = Config::default();
    let config = loaded.map_or(&default, |l| &l.config);

    let mut enabled: Vec<String> = config.enable.clone();
    let mut disabled: Vec<String> = config.disable.clone();
    let mut severities = std::collections::HashMap::new();
    for (id, level) in &config.rules {
        let severity = match level {
            RuleLevel::Off => {
                disabled.push(id.clone());
                continue;
            }
            RuleLevel::Error => Severity::Error,
            RuleLevel::Warning => Severity::Warning,
            RuleLevel::Note => Severity::Note,
        };
        // Giving a rule a severity asks for it, so an opt-in rule is switched on too.
        enabled.push(id.clone());
        severities.insert(id.clone(), severity);
    }

    for id in args.enable.iter().chain(&args.disable) {
        if registry::canonical_id(id).is_none() {
            return Err(format!("unknown rule `{id}` {}", suggest::rule_hint(id)));
        }
    }
    for id in &args.enable {
        // The engine turns off a rule that is both enabled and disabled, so a rule the
        // command line enables is first taken out of the config file's disabled list.
        let canonical = registry::canonical_id(id);
        disabled.retain(|d| registry::canonical_id(d) != canonical);
        enabled.push(id.clone());
    }
    disabled.extend(args.disable.iter().cloned());

    let per_upgrade = config.transaction == Some(TransactionScope::PerUpgrade);
    let settings = Settings {
        pg_version: args.pg_version.or(config.pg_version).unwrap_or(ddlint_core::settings::DEFAULT_PG_VERSION),
        // A runner that wraps the whole upgrade wraps each of its files too; the flags still win.
        assume_in_transaction: args.assume_in_transaction().or(config.assume_in_transaction).unwrap_or(per_upgrade),
        enabled,
        disabled,
        severities,
        framework: args.framework.or_else(|| config.framework.as_deref().and_then(Framework::from_name)),
        down_severity_cap: args
            .down_severity
            .or(config.down_severity)
            .map_or(Settings::default().down_severity_cap, SeverityLevel::severity),
        placeholders: config.placeholders.clone(),
        upgrade_in_one_transaction: false,
        fix_lock_timeout: match &config.fix.lock_timeout {
            Some(value) => checked_timeout("[fix] lock-timeout", value)?,
            None => ddlint_core::settings::DEFAULT_FIX_LOCK_TIMEOUT.to_owned(),
        },
        max_lock_timeout_ms: match &config.max_lock_timeout {
            Some(value) => {
                ddlint_core::settings::timeout_ms(&checked_timeout("max-lock-timeout", value)?).unwrap_or_default()
            }
            None => Settings::default().max_lock_timeout_ms,
        },
        runner_lock_timeout: match &config.runner.lock_timeout {
            Some(value) => Some(checked_timeout("[runner] lock-timeout", value)?),
            None => None,
        },
        runner_statement_timeout: match &config.runner.statement_timeout {
            Some(value) => Some(checked_timeout("[runner] statement-timeout", value)?),
            None => None,
        },
    };
    // The upgrade's transaction wraps every file, unless the command line says files run
    // outside a transaction.
    let mut settings = settings;
    settings.upgrade_in_one_transaction = per_upgrade && settings.assume_in_transaction;
    settings.validate()?;

    let from_file = |globs: &[String]| -> Result<Option<GlobList>, String> {
        let Some(loaded) = loaded else {
            return Ok(None);
        };
        GlobList::new(globs, &loaded.dir).map_err(|e| format!("{}: {e}", loaded.shown))
    };
    let include =
        if args.include.is_empty() { from_file(&config.include)? } else { GlobList::new(&args.include, cwd)? };
    let exclude =
        if args.exclude.is_empty() { from_file(&config.exclude)? } else { GlobList::new(&args.exclude, cwd)? };

    Ok(Resolved {
        settings,
        fail_on: args.fail_on.or(config.fail_on).unwrap_or(FailOn::Warning),
        format: args.format.or(config.format).unwrap_or(Format::Human),
        filter: Filter { include, exclude },
        history: !args.no_history && config.history.unwrap_or(true),
        allow_no_files: args.allow_no_files || config.allow_no_files.unwrap_or(false),
        per_upgrade,
        schema: if args.schema.is_empty() {
            loaded.map(|l| config.schema.iter().map(|p| l.dir.join(p)).collect()).unwrap_or_default()
        } else {
            args.schema.clone()
        },
    })
}

/// A `lock_timeout` value as PostgreSQL reads it: a whole number with an optional unit; `key`
/// names it in the error.
fn checked_timeout(key: &str, value: &str) -> Result<String, String> {
    let digits = value.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &value[digits.len()..];
    let known = ["", "us", "ms", "s", "min", "h", "d"].contains(&unit);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || !known || digits.bytes().all(|b| b == b'0') {
        return Err(format!(
            "{key} = \"{value}\" is not a timeout PostgreSQL reads: write a whole number above 0 with a unit, such as \"2s\" or \"500ms\""
        ));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        parse(text).err().unwrap_or_default()
    }

    #[test]
    fn reads_every_key() {
        let config = parse(
            r#"
pg-version = 13
assume-in-transaction = true
transaction = "per-upgrade"
fail-on = "error"
format = "json"
framework = "goose"
enable = ["rename-column"]
disable = ["rename-table"]
include = ["migrations/**"]
exclude = ["legacy"]
history = false
down-severity = "note"
allow-no-files = true
max-lock-timeout = "30s"
placeholders = ["$%*%$", "{{*}}"]

[rules]
set-not-null = "error"
missing-lock-timeout = "off"

[fix]
lock-timeout = "500ms"

[runner]
lock-timeout = "3s"
statement-timeout = "1h"
"#,
        );
        let config = config.unwrap_or_default();
        assert_eq!(config.pg_version, Some(13));
        assert_eq!(config.assume_in_transaction, Some(true));
        assert_eq!(config.transaction, Some(TransactionScope::PerUpgrade));
        assert_eq!(config.fail_on, Some(FailOn::Error));
        assert_eq!(config.format, Some(Format::Json));
        assert_eq!(config.history, Some(false));
        assert_eq!(config.down_severity, Some(SeverityLevel::Note));
        assert_eq!(config.allow_no_files, Some(true));
        assert_eq!(config.max_lock_timeout.as_deref(), Some("30s"));
        assert_eq!(config.rules.get("missing-lock-timeout"), Some(&RuleLevel::Off));
        let patterns: Vec<String> = config.placeholders.iter().map(ToString::to_string).collect();
        assert_eq!(patterns, ["$%*%$", "{{*}}"]);
        assert_eq!(config.fix.lock_timeout.as_deref(), Some("500ms"));
        assert_eq!(config.runner.lock_timeout.as_deref(), Some("3s"));
        assert_eq!(config.runner.statement_timeout.as_deref(), Some("1h"));
    }

    #[test]
    fn fix_timeouts_must_be_ones_postgres_reads() {
        for good in ["2s", "500ms", "1min", "1500"] {
            assert_eq!(checked_timeout("[fix] lock-timeout", good).as_deref(), Ok(good));
        }
        for bad in ["", "0", "0s", "2 s", "2sec", "-1s", "1.5s", "2s'; DROP TABLE t; --"] {
            assert!(checked_timeout("max-lock-timeout", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rejects_bad_placeholder_patterns_with_a_position() {
        let cases = [
            ("placeholders = [\"{{*}}\", \"{{name}}\"]\n", ":1:16: placeholder pattern `{{name}}` has no `*`"),
            ("placeholders = [\"\"]\n", ":1:16: placeholder pattern is empty"),
            ("placeholders = [\"*%\"]\n", ":1:16: placeholder pattern `*%` needs text before the `*`"),
            ("placeholders = [\"%*%*\"]\n", ":1:16: placeholder pattern `%*%*` has more than one `*`"),
            ("placeholders = \"{{*}}\"\n", ":1:16: invalid type: string \"{{*}}\", expected a sequence"),
        ];
        for (text, expected) in cases {
            let message = error(text);
            assert!(message.starts_with(expected), "{text:?}: {message}");
        }
    }

    #[test]
    fn placeholders_reach_the_settings() {
        use clap::Parser;
        let Ok(crate::cli::Cli { command: crate::cli::Command::Check(args) }) =
            crate::cli::Cli::try_parse_from(["ddlint", "check"])
        else {
            panic!("`ddlint check` parses");
        };
        let config = parse("placeholders = [\"$%*%$\"]\n").unwrap_or_default();
        let loaded = Loaded { shown: FILE_NAME.to_owned(), dir: PathBuf::from("."), config };
        let resolved = resolve(&args, Some(&loaded), Path::new("."));
        let settings = resolved.map(|r| r.settings).unwrap_or_default();
        assert_eq!(settings.placeholders.len(), 1);
        let report = ddlint_core::lint_file("x.sql", b"SET lock_timeout = '1s';\nDROP INDEX $%prefix%$i;\n", &settings);
        let rules: Vec<&str> = report.diagnostics.iter().map(|d| d.rule).collect();
        assert_eq!(rules, ["drop-index-non-concurrently"]);
    }

    fn resolve_text(text: &str, flags: &[&str]) -> Result<Resolved, String> {
        use clap::Parser;
        let mut argv = vec!["ddlint", "check"];
        argv.extend_from_slice(flags);
        let Ok(crate::cli::Cli { command: crate::cli::Command::Check(args) }) = crate::cli::Cli::try_parse_from(argv)
        else {
            return Err("`ddlint check` does not parse".to_owned());
        };
        let config = parse(text)?;
        let loaded = Loaded { shown: FILE_NAME.to_owned(), dir: PathBuf::from("."), config };
        resolve(&args, Some(&loaded), Path::new("."))
    }

    #[test]
    fn a_per_upgrade_transaction_wraps_every_file_and_joins_the_run() {
        let upgrade = "transaction = \"per-upgrade\"\n";
        // `(assume_in_transaction, per_upgrade)`, or `None` for an error.
        let resolved = |text: &str, flags: &[&str]| {
            resolve_text(text, flags).ok().map(|r| (r.settings.assume_in_transaction, r.per_upgrade))
        };
        assert_eq!(resolved("", &[]), Some((false, false)));
        assert_eq!(resolved("transaction = \"per-migration\"\n", &[]), Some((false, false)));
        assert_eq!(resolved(upgrade, &[]), Some((true, true)));
        // The command line wins over the file, as everywhere.
        assert_eq!(resolved(upgrade, &["--no-assume-in-transaction"]), Some((false, true)));
        assert_eq!(resolved("transaction = \"per-upgrade\"\nassume-in-transaction = true\n", &[]), Some((true, true)));
        assert_eq!(resolved("transaction = \"per-upgrade\"\nassume-in-transaction = false\n", &[]), None);
        assert!(error("transaction = \"per-run\"\n").contains("unknown variant `per-run`"));
        assert!(error("transaction = \"per-upgrade\"\nassume-in-transaction = false\n").contains("contradicts"));
    }

    #[test]
    fn rejects_unknown_keys_with_a_position() {
        let message = error("pg-version = 14\nfoo = 1\n");
        assert!(message.starts_with(":2:1: unknown field `foo`"), "{message}");
    }

    #[test]
    fn suggests_the_key_meant() {
        let cases = [
            ("pg_version = 14\n", ":1:1: unknown field `pg_version` (did you mean `pg-version`?)"),
            ("format = \"json\"\nfail_on = \"error\"\n", ":2:1: unknown field `fail_on` (did you mean `fail-on`?)"),
            ("allow-no-file = true\n", ":1:1: unknown field `allow-no-file` (did you mean `allow-no-files`?)"),
            ("[rule]\nset-not-null = \"off\"\n", ":1:2: unknown field `rule` (did you mean `rules`?)"),
            ("placeholder = [\"{{*}}\"]\n", ":1:1: unknown field `placeholder` (did you mean `placeholders`?)"),
        ];
        for (text, expected) in cases {
            assert_eq!(error(text), expected, "{text:?}");
        }
        // Nothing close: serde's list of every key stays.
        let message = error("colour = true\n");
        assert!(message.starts_with(":1:1: unknown field `colour`, expected one of `pg-version`"), "{message}");
    }

    #[test]
    fn keys_are_the_ones_serde_knows() {
        // serde lists every field it accepts when it meets an unknown one.
        let message = error("no-such-key = 1\n");
        let Some((_, list)) = message.split_once("expected one of ") else {
            panic!("no list of keys: {message}");
        };
        let listed: Vec<&str> = list.split(", ").map(|key| key.trim_matches('`')).collect();
        assert_eq!(listed, KEYS);
    }

    #[test]
    fn rejects_unknown_rules() {
        assert_eq!(
            error("[rules]\nnot-a-rule = \"error\"\n"),
            ": unknown rule `not-a-rule` in `[rules]` (see `ddlint rules`)"
        );
        assert_eq!(error("enable = [\"nope\"]\n"), ": unknown rule `nope` in `enable` (see `ddlint rules`)");
        assert_eq!(
            error("[rules]\nset_not_null = \"error\"\n"),
            ": unknown rule `set_not_null` in `[rules]` (did you mean `set-not-null`?)"
        );
        assert_eq!(
            error("disable = [\"rename-colum\"]\n"),
            ": unknown rule `rename-colum` in `disable` (did you mean `rename-column`?)"
        );
    }

    #[test]
    fn rejects_bad_values() {
        assert!(error("[rules]\nset-not-null = \"fatal\"\n").contains("unknown variant `fatal`"));
        assert!(error("pg-version = 9\n").contains("unsupported `pg-version` 9"));
        assert!(error("framework = \"rails\"\n")
            .starts_with(": unknown `framework` `rails`: ddlint knows golang-migrate, goose"));
    }

    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column("ab\né€x", 3 + "é€".len()), (2, 3));
        assert_eq!(line_column("", 0), (1, 1));
    }
}
