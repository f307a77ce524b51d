//! Reporters: each turns the run's findings into one output format. All are linear in the
//! size of their output and print files in path order, findings in position order.

mod fingerprint;
mod github;
mod gitlab;
mod human;
mod json;
mod junit;
mod location;
mod markdown;
mod sarif;
mod stats;
#[cfg(test)]
mod test_support;

use ddlint_core::FileReport;
use std::io::{self, Write};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// rustc-style text with source excerpts.
    Human,
    /// The versioned JSON schema described in the README.
    Json,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
    /// GitHub Actions workflow commands (annotations).
    Github,
    /// GitLab Code Quality report (Code Climate issues).
    Gitlab,
    /// JUnit XML, one test case per file, for CI test-report views.
    Junit,
    /// A Markdown report, for job summaries and pull request comments.
    Markdown,
}

/// Everything a reporter needs to know about the run.
#[derive(Default)]
pub struct Run<'a> {
    /// Sorted by path; findings within each sorted by position.
    pub files: &'a [FileReport],
    /// Colour the human output.
    pub color: bool,
    /// The PostgreSQL version the run targeted.
    pub pg_version: u32,
    /// `--assume-in-transaction`: how a file runs whose framework leaves that to the
    /// configuration (the human report's file headers say so).
    pub assume_in_transaction: bool,
    /// `--statistics`: the human report prints the table of findings by rule and the summary,
    /// not the findings themselves.
    pub statistics: bool,
    /// One-line notes about what the run left out (files the filter skipped, directories
    /// linted without their history), for people: the human report prints them above its
    /// summary, and the machine formats, whose output must stay one valid document, leave
    /// them out.
    pub notes: &'a [String],
    /// How many paths, each already reported as an error, were not linted: the human and
    /// Markdown summaries say so rather than read as a clean run. The machine formats report
    /// the files that were linted, as they always do.
    pub failed_paths: usize,
}

pub fn render(format: Format, run: &Run<'_>, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Human => human::render(run, out),
        Format::Json => json::render(run, out),
        Format::Sarif => sarif::render(run, out),
        Format::Github => github::render(run, out),
        Format::Gitlab => gitlab::render(run, out),
        Format::Junit => junit::render(run, out),
        Format::Markdown => markdown::render(run, out),
    }
}
