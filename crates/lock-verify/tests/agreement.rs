//! The rules agree with the lock model, over the verification catalogue, in both directions:
//! wherever the model says a statement rewrites or scans an existing table under a lock
//! stronger than `SHARE UPDATE EXCLUSIVE`, `ddlint check` reports the statement (by a rule
//! about the hazard itself, not only the missing `lock_timeout`); and no finding claims a
//! scan or a rewrite that the model denies.

use ddlint_core::framework::FileHints;
use ddlint_core::lock_model::catalog::RelKind;
use ddlint_core::lock_model::Catalog;
use ddlint_core::locks::LockMode;
use ddlint_core::{explain::explain_source, Settings};
use lock_verify::Catalogue;

fn catalogue() -> Catalogue {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../verify/cases.toml");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    Catalogue::parse(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Rules that speak of a whole transaction or of session settings, not of what one
/// statement does to a table: their findings do not report a scan or a rewrite.
const ABOUT_THE_SESSION: &[&str] = &[
    "missing-lock-timeout",
    "require-statement-timeout",
    "multiple-access-exclusive-locks",
    "statements-after-access-exclusive",
];

/// Whether a message claims a definite scan or rewrite: "scans `t`", "rewrites `t`", but not
/// "may scan" or "cannot rewrite".
fn claims(message: &str, verb: &str) -> bool {
    let words: Vec<&str> = message.split_whitespace().collect();
    words.iter().enumerate().any(|(i, w)| {
        let hedged = i > 0 && matches!(words[i - 1], "may" | "might" | "not" | "no" | "without" | "cannot");
        w.trim_matches(|c: char| !c.is_alphanumeric()) == format!("{verb}s") && !hedged
    })
}

#[test]
fn rules_report_what_the_model_says_and_claim_nothing_it_denies() {
    let catalogue = catalogue();
    let mut problems = Vec::new();
    let mut checked = 0;
    for case in &catalogue.cases {
        for version in case.min_version.max(14)..=case.max_version.min(18) {
            let settings = Settings { pg_version: version, ..Settings::default() };
            let mut history = Catalog::default();
            explain_source("setup.sql", &catalogue.setup_sql(case), &settings, &mut history);
            // The setup ran in an earlier deploy: its tables exist and hold rows.
            history.settle();
            let report = ddlint_core::prepare("case.sql", case.sql.as_bytes(), &settings, FileHints::default())
                .lint(&settings, &history);
            let parsed = ddlint_core::parse::parse_file(&case.sql);
            let Some(statement) = parsed.statements().next() else { continue };
            let effects = ddlint_core::lock_model::statement_effects(&statement.node, version, &history);
            checked += 1;

            // A hazard is a lock stronger than `SHARE UPDATE EXCLUSIVE` held over the scan or
            // rewrite of an existing table. A materialized view is only ever written by its
            // refresh, so only a lock that blocks its reads counts (`REFRESH … CONCURRENTLY`
            // holds `EXCLUSIVE`, which lets them go on); rewriting a sequence's one row is no
            // hazard.
            let strong = |table: &ddlint_core::names::RelationName| {
                effects.locks.iter().any(|l| {
                    l.relation.same_as(table)
                        && match history.kind(table) {
                            Some(RelKind::Table | RelKind::PartitionedTable) => l.mode > LockMode::ShareUpdateExclusive,
                            Some(RelKind::MaterializedView) => l.mode == LockMode::AccessExclusive,
                            _ => false,
                        }
                })
            };
            let hazard = effects.rewrites.iter().chain(&effects.scans).find(|t| strong(t));
            let reported = report.diagnostics.iter().any(|d| !ABOUT_THE_SESSION.contains(&d.rule));
            if let (Some(table), false) = (hazard, reported) {
                let what = if effects.rewrites.contains(table) { "rewrites" } else { "scans" };
                problems.push(format!(
                    "{} (PostgreSQL {version}): the model says it {what} `{table}`, and no rule reports it",
                    case.name
                ));
            }
            for d in &report.diagnostics {
                let denies_scan =
                    effects.scans.is_empty() && effects.may_scan.is_empty() && effects.rewrites.is_empty();
                let denies_rewrite = effects.rewrites.is_empty() && effects.may_rewrite.is_empty();
                if claims(&d.message, "scan") && denies_scan || claims(&d.message, "rewrite") && denies_rewrite {
                    problems.push(format!(
                        "{} (PostgreSQL {version}): `{}` says \"{}\", which the model denies",
                        case.name, d.rule, d.message
                    ));
                }
            }
        }
    }
    assert!(checked >= 500, "only {checked} case versions checked");
    assert!(problems.is_empty(), "{} disagreements:\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn claims_are_read_as_meant() {
    assert!(claims("adding a validated foreign key scans `orders` while holding", "scan"));
    assert!(!claims("this may scan `orders`", "scan"));
    assert!(claims("`ALTER TYPE` rewrites `t`, and", "rewrite"));
    assert!(!claims("renaming scanners", "scan"));
}
