//! What a run is asked to do: the target PostgreSQL version, the transaction assumption,
//! which rules run at which severity, and the project's own templating placeholders.

use crate::diagnostic::Severity;
use crate::framework::Framework;
use crate::preprocess::Placeholder;
use crate::registry;
use std::collections::HashMap;

/// The oldest and newest PostgreSQL majors the lock model knows.
pub const MIN_PG_VERSION: u32 = 11;
pub const MAX_PG_VERSION: u32 = 18;
pub const DEFAULT_PG_VERSION: u32 = 15;
/// The `lock_timeout` fixes write unless the configuration names another.
pub const DEFAULT_FIX_LOCK_TIMEOUT: &str = "2s";
/// The longest `lock_timeout` that still counts as one, unless the configuration names
/// another: traffic queues behind a waiting statement for as long as its timeout.
pub const DEFAULT_MAX_LOCK_TIMEOUT: &str = "10s";

#[derive(Clone, Debug)]
pub struct Settings {
    /// PostgreSQL major version the migrations will run on.
    pub pg_version: u32,
    /// The runner wraps each file in a transaction (as most frameworks do).
    pub assume_in_transaction: bool,
    /// Rules switched on beyond their default.
    pub enabled: Vec<String>,
    /// Rules switched off. A rule both enabled and disabled is off.
    pub disabled: Vec<String>,
    /// Per-rule severity overrides.
    pub severities: HashMap<String, Severity>,
    /// The migration framework, or `None` to recognise it from each file.
    pub framework: Option<Framework>,
    /// The highest severity a finding in a down (revert) migration is reported at.
    pub down_severity_cap: Severity,
    /// Templating placeholders the project's migration runner substitutes, such as `{{*}}`,
    /// masked before parsing as Flyway's `${x}` is.
    pub placeholders: Vec<Placeholder>,
    /// The `lock_timeout` that fixes set, such as `2s`.
    pub fix_lock_timeout: String,
    /// A longer `lock_timeout` than this, in milliseconds, counts as none.
    pub max_lock_timeout_ms: u64,
    /// The `lock_timeout` every migration's session starts with, where the runner or the
    /// database role sets one (`5s`); `None` when sessions start without one.
    pub runner_lock_timeout: Option<String>,
    /// The same for `statement_timeout`.
    pub runner_statement_timeout: Option<String>,
    /// The runner wraps a whole upgrade in one transaction (`transaction = "per-upgrade"`),
    /// so every section runs inside it, whatever its framework would do alone.
    pub upgrade_in_one_transaction: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            pg_version: DEFAULT_PG_VERSION,
            assume_in_transaction: false,
            enabled: Vec::new(),
            disabled: Vec::new(),
            severities: HashMap::new(),
            framework: None,
            down_severity_cap: Severity::Warning,
            placeholders: Vec::new(),
            fix_lock_timeout: DEFAULT_FIX_LOCK_TIMEOUT.to_owned(),
            max_lock_timeout_ms: timeout_ms(DEFAULT_MAX_LOCK_TIMEOUT).unwrap_or(10_000),
            runner_lock_timeout: None,
            runner_statement_timeout: None,
            upgrade_in_one_transaction: false,
        }
    }
}

impl Settings {
    /// Whether the rule runs under these settings.
    pub fn is_enabled(&self, id: &str) -> bool {
        registry::find(id).is_some_and(|rule| self.runs(rule))
    }

    /// Whether `rule` runs under these settings: [`Settings::is_enabled`] without looking
    /// the rule up by name.
    pub fn runs(&self, rule: &crate::rules::RuleMeta) -> bool {
        let id = rule.id;
        if self.disabled.iter().any(|d| registry::canonical_id(d) == Some(id)) {
            return false;
        }
        rule.default_enabled || self.enabled.iter().any(|e| registry::canonical_id(e) == Some(id))
    }

    /// The severity a rule reports at under these settings.
    pub fn severity_of(&self, id: &str) -> Severity {
        let Some(rule) = registry::find(id) else {
            return Severity::Warning;
        };
        self.severities
            .iter()
            .find(|(key, _)| registry::canonical_id(key) == Some(rule.id))
            .map_or(rule.default_severity, |(_, severity)| *severity)
    }

    /// Checks every rule id the settings name and the version range.
    pub fn validate(&self) -> Result<(), String> {
        if !(MIN_PG_VERSION..=MAX_PG_VERSION).contains(&self.pg_version) {
            return Err(format!(
                "unsupported PostgreSQL version {}: ddlint knows {MIN_PG_VERSION} to {MAX_PG_VERSION}",
                self.pg_version
            ));
        }
        let named = self.enabled.iter().chain(&self.disabled).chain(self.severities.keys());
        for id in named {
            if registry::canonical_id(id).is_none() {
                return Err(format!("unknown rule `{id}` (see `ddlint rules`)"));
            }
        }
        Ok(())
    }
}
/// A timeout as PostgreSQL reads a setting in milliseconds (`lock_timeout`): a number with an
/// optional unit (`us`, `ms`, `s`, `min`, `h`, `d`; none is milliseconds), rounded down.
pub fn timeout_ms(value: &str) -> Option<u64> {
    let value = value.trim();
    let number = value.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let factor = match value[number.len()..].trim() {
        "" | "ms" => 1.0,
        "us" => 0.001,
        "s" => 1_000.0,
        "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => return None,
    };
    let number: f64 = number.trim().parse().ok()?;
    let ms = number * factor;
    // Whole milliseconds fit in a u64 far beyond any timeout PostgreSQL accepts.
    (ms.is_finite() && ms >= 0.0).then(|| ms.floor() as u64)
}

/// Milliseconds as a setting reads best: `5min`, `30s`, `1500ms`.
pub fn show_ms(ms: u64) -> String {
    match ms {
        0 => "0".to_owned(),
        ms if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        ms if ms % 60_000 == 0 => format!("{}min", ms / 60_000),
        ms if ms % 1_000 == 0 => format!("{}s", ms / 1_000),
        ms => format!("{ms}ms"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_read_as_postgresql_reads_them() {
        assert_eq!(timeout_ms("2s"), Some(2_000));
        assert_eq!(timeout_ms("5min"), Some(300_000));
        assert_eq!(timeout_ms("1500"), Some(1_500));
        assert_eq!(timeout_ms(" 1.5 s "), Some(1_500));
        assert_eq!(timeout_ms("250us"), Some(0));
        assert_eq!(timeout_ms("1 fortnight"), None);
        assert_eq!(show_ms(300_000), "5min");
        assert_eq!(show_ms(1_500), "1500ms");
        assert_eq!(show_ms(7_200_000), "2h");
    }
}
