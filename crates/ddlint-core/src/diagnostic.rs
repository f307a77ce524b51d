//! A diagnostic is a plain value: which rule, how severe, where, and what to do instead.

use crate::source::Span;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How serious a finding is. Ordered so that `Error > Warning > Note`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "note" => Some(Severity::Note),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The kebab-case id of the rule that raised it.
    pub rule: &'static str,
    pub severity: Severity,
    /// The offending part of the statement.
    pub span: Span,
    /// The whole statement the finding is about, where there is one.
    pub statement: Option<Span>,
    pub message: String,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(rule: &'static str, severity: Severity, span: Span, message: impl Into<String>) -> Self {
        Self { rule, severity, span, statement: None, message: message.into(), help: None }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_statement(mut self, statement: Span) -> Self {
        self.statement = Some(statement);
        self
    }
}
