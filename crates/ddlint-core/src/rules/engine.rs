//! Diagnostics the engine raises itself, outside any statement check. They are rules so that
//! they have pages, ids to select and severities to configure like any other.

use crate::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports SQL that PostgreSQL's own parser rejects, at the token it names.
    ///
    /// ## Why is this bad?
    /// The migration will fail when it is deployed. The statements around the broken one are
    /// still parsed and linted, so one typo does not hide the other findings.
    ///
    /// ## Example
    /// ```sql
    /// ALTER TABLE users ADD COLUMN email text NOT NULL DEFAULT '' FOO;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// ALTER TABLE users ADD COLUMN email text;
    /// ```
    pub SYNTAX_ERROR = "syntax-error", Error, on, None;
}

declare_rule! {
    /// ## What it does
    /// Reports a file that cannot be linted at all: it is not valid UTF-8, holds NUL bytes,
    /// or looks like a binary file. A file over 16 MiB is reported too, rather than risk
    /// running out of memory on it.
    ///
    /// ## Why is this bad?
    /// PostgreSQL reads migrations as text in the database encoding, and a file the linter
    /// cannot read has not been checked. The run exits with status 2 so this is not missed.
    ///
    /// ## Example
    /// ```sql
    /// -- a file saved as UTF-16 or with stray binary bytes
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// -- the same migration saved as UTF-8
    /// ```
    pub UNREADABLE_FILE = "unreadable-file", Error, on, None;
}

declare_rule! {
    /// ## What it does
    /// Notes a psql meta-command such as `\set`, `\connect` or `\i`, which ddlint skips.
    ///
    /// ## Why is this bad?
    /// It is not bad in itself: psql runs these lines, not the server, so they are not SQL.
    /// The note says that the line was seen and deliberately left unlinted. A file included
    /// with `\i` is linted only when it is passed to ddlint too.
    ///
    /// ## Example
    /// ```sql
    /// \set ON_ERROR_STOP on
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// SET lock_timeout = '2s';
    /// ```
    pub PSQL_META_COMMAND = "psql-meta-command", Note, on, None;
}

declare_rule! {
    /// ## What it does
    /// Reports a `ddlint-ignore` directive that names a rule ddlint does not have.
    ///
    /// ## Why is this bad?
    /// A misspelt id suppresses nothing, so the finding it was meant to silence still fires,
    /// or the directive silently outlives the rule it named.
    ///
    /// ## Example
    /// ```sql
    /// -- ddlint-ignore rename-colum
    /// ALTER TABLE users RENAME COLUMN name TO full_name;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// -- ddlint-ignore rename-column -- the old name is no longer read
    /// ALTER TABLE users RENAME COLUMN name TO full_name;
    /// ```
    pub UNKNOWN_RULE = "unknown-rule", Warning, on, None;
}

declare_rule! {
    /// ## What it does
    /// Reports a `ddlint-ignore` directive that suppresses nothing.
    ///
    /// ## Why is this bad?
    /// Stale directives pile up after the statement they excused is changed, and later hide
    /// a real finding on the same line.
    ///
    /// ## Example
    /// ```sql
    /// -- ddlint-ignore rename-column
    /// ALTER TABLE users ADD COLUMN nickname text;
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// ALTER TABLE users ADD COLUMN nickname text;
    /// ```
    pub UNUSED_IGNORE = "unused-ignore", Warning, on, None;
}
