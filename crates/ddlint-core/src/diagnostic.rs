//! A diagnostic is a plain value: which rule, how severe, where, what it is about, and what
//! to do instead. Rules build it from a typed [`crate::violation::Violation`].

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
    /// The statement's safe form, where the rule has one and the framework can run it.
    pub fix: Option<crate::fix::Fix>,
    /// Why there is no fix, where the rule has fixes but not for this statement.
    pub no_fix: Option<String>,
    /// What the lock model predicts for the statement (locks, rewrites, scans), with the
    /// schema the history and the file's earlier statements built: the facts the finding
    /// stands on, for reporters to show rather than compute again.
    pub effects: Option<std::sync::Arc<crate::lock_model::StatementEffects>>,
    /// The schema objects the finding is about.
    pub objects: crate::violation::Objects,
    /// The phased change that makes the statement safe, where no rewrite of it can.
    pub phased: Option<crate::violation::PhasedChange>,
    /// The `ddlint plan` command that writes the phased change, where it can.
    pub plan: Option<String>,
}

impl Diagnostic {
    pub fn new(rule: &'static str, severity: Severity, span: Span, message: impl Into<String>) -> Self {
        Self {
            rule,
            severity,
            span,
            statement: None,
            message: message.into(),
            help: None,
            fix: None,
            no_fix: None,
            effects: None,
            objects: crate::violation::Objects::default(),
            phased: None,
            plan: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Attaches a rule's fix, or the reason it has none for this statement.
    pub fn with_fix(mut self, fix: Result<crate::fix::Fix, String>) -> Self {
        match fix {
            Ok(fix) => self.fix = Some(fix),
            Err(reason) => self.no_fix = Some(reason),
        }
        self
    }

    pub fn with_statement(mut self, statement: Span) -> Self {
        self.statement = Some(statement);
        self
    }
}
