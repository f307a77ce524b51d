//! Checks ddlint's lock model against real PostgreSQL servers.
//!
//! Each case of `verify/cases.toml` is a statement and the schema it runs against. The
//! expected outcome is the model's own prediction (`ddlint_core::explain`, with the setup
//! fed to its catalog); the suite runs the statement on every server and asserts that the
//! server did exactly that: the same relation locks (strongest mode per relation), the same
//! rewritten tables (`relfilenode` changed) and the same scanned tables (sequential scans
//! counted by the statistics system); the schema and type locks the model names; and, for
//! `ordered` cases, the order of the locks. See `verify/README.md`.

mod measure;

use ddlint_core::explain::{explain_source, StatementExplanation};
use ddlint_core::lock_model::{statement_effects, Catalog, LockedObject, StatementEffects};
use ddlint_core::Settings;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

pub use measure::{Cluster, Observation};

/// The catalogue file.
#[derive(Debug, Deserialize)]
pub struct Catalogue {
    /// Named schemas that cases build on.
    pub setups: BTreeMap<String, String>,
    #[serde(rename = "case")]
    pub cases: Vec<Case>,
}

/// How the statement is run.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Inside a transaction that is rolled back: locks, storage and scan counters are read
    /// from the same session before the rollback.
    #[default]
    Transaction,
    /// For statements that cannot run in a transaction block (`CONCURRENTLY`, `VACUUM`): a
    /// second session holds `blocker` so that the statement waits, the locks it holds or
    /// requests are read from a third session, then the blocker lets go.
    Blocked,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Case {
    pub name: String,
    /// Names from `[setups]`, run in order.
    #[serde(default = "default_setup")]
    pub setup: Vec<String>,
    /// More setup SQL, run after the named setups.
    #[serde(default)]
    pub extra: String,
    pub sql: String,
    #[serde(default)]
    pub method: Method,
    /// For `blocked`: SQL a second session runs in an open REPEATABLE READ transaction.
    #[serde(default)]
    pub blocker: String,
    /// For `blocked`: the statement takes its locks in the order the model lists them, so the
    /// one it waits for (the blocker's) must be the last the model names.
    #[serde(default)]
    pub ordered: bool,
    #[serde(default = "min_version")]
    pub min_version: u32,
    #[serde(default = "max_version")]
    pub max_version: u32,
}

fn default_setup() -> Vec<String> {
    vec!["base".to_owned()]
}

fn min_version() -> u32 {
    11
}

fn max_version() -> u32 {
    u32::MAX
}

impl Catalogue {
    pub fn parse(text: &str) -> Result<Self, String> {
        let catalogue: Catalogue = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut names = std::collections::HashSet::new();
        for case in &catalogue.cases {
            if !names.insert(case.name.as_str()) {
                return Err(format!("case `{}` is defined twice", case.name));
            }
            for setup in &case.setup {
                if !catalogue.setups.contains_key(setup) {
                    return Err(format!("case `{}` names unknown setup `{setup}`", case.name));
                }
            }
            if case.method == Method::Blocked && case.blocker.trim().is_empty() {
                return Err(format!("case `{}` is blocked but has no blocker", case.name));
            }
            if case.ordered && case.method != Method::Blocked {
                return Err(format!("case `{}` is ordered but not blocked", case.name));
            }
        }
        Ok(catalogue)
    }

    /// The setup SQL of a case.
    pub fn setup_sql(&self, case: &Case) -> String {
        let mut sql = String::new();
        for name in &case.setup {
            sql.push_str(&self.setups[name]);
            sql.push('\n');
        }
        sql.push_str(&case.extra);
        sql
    }
}

/// What the model predicts for a case: the explanation `ddlint explain` gives, and the locks on
/// schemas and types, which it does not show.
#[derive(Clone, Debug)]
pub struct Prediction {
    pub explanation: StatementExplanation,
    /// Strongest `pg_locks` mode per schema or type, keyed `schema NAME` or `type NAME`.
    pub objects: Vec<(String, &'static str)>,
    /// Schemas whose every relation is locked in the mode given, and whether the model names
    /// those relations and what they tie to elsewhere.
    pub schema_contents: Vec<(String, &'static str, bool)>,
}

impl Prediction {
    fn new(explanation: StatementExplanation, effects: &StatementEffects) -> Self {
        let objects = effects
            .objects
            .iter()
            .map(|l| {
                let key = match &l.object {
                    LockedObject::Schema(name) => format!("schema {name}"),
                    LockedObject::Type(name) => format!("type {}", name.name),
                };
                (key, l.mode.pg_locks_name())
            })
            .collect();
        let schema_contents =
            effects.schema_contents.iter().map(|s| (s.schema.clone(), s.mode.pg_locks_name(), s.listed)).collect();
        Self { explanation, objects, schema_contents }
    }

    /// The mode in which the model says the schema holding `relation` has all its relations
    /// locked.
    fn schema_mode(&self, server: &Observation, relation: &str) -> Option<&'static str> {
        let schema = server.schemas.get(relation)?;
        self.schema_contents.iter().find(|(s, _, _)| s == schema).map(|(_, mode, _)| *mode)
    }

    /// Whether the model leaves unnamed the relations elsewhere that a schema's contents tie
    /// to, locking them in `mode`.
    fn leaves_unnamed(&self, mode: &str) -> bool {
        self.schema_contents.iter().any(|(_, m, listed)| !listed && *m == mode)
    }
}

/// The model's prediction for a case on a version: the case's statement explained with the
/// setup fed to the catalog first.
pub fn predict(catalogue: &Catalogue, case: &Case, pg_version: u32) -> Result<Prediction, String> {
    let settings = Settings { pg_version, ..Settings::default() };
    let mut catalog = Catalog::default();
    explain_source("setup.sql", &catalogue.setup_sql(case), &settings, &mut catalog);
    let before = catalog.clone();
    let explained = explain_source("case.sql", &case.sql, &settings, &mut catalog);
    match explained.statements.as_slice() {
        [one] => Ok(Prediction::new(one.clone(), &effects(case, pg_version, &before)?)),
        other => Err(format!("case `{}` must be one statement, found {}", case.name, other.len())),
    }
}

/// The lock model's effects for the case's one statement.
fn effects(case: &Case, pg_version: u32, catalog: &Catalog) -> Result<StatementEffects, String> {
    let parsed = ddlint_core::parse::parse_file(&case.sql);
    let statements: Vec<_> = parsed.statements().collect();
    match statements.as_slice() {
        [one] => Ok(statement_effects(&one.node, pg_version, catalog)),
        other => Err(format!("case `{}` must be one statement, found {}", case.name, other.len())),
    }
}

/// One difference between the model and a server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub case: String,
    pub version: u32,
    /// `lock`, `rewrite`, `scan`, the same prefixed with `blind` (see [`compare_blind`]),
    /// or `error`.
    pub aspect: &'static str,
    pub relation: String,
    pub model: String,
    pub server: String,
}

/// Compares a prediction with what the server did.
pub fn compare(case: &str, version: u32, prediction: &Prediction, server: &Observation) -> Vec<Mismatch> {
    let model = &prediction.explanation;
    let mut out = Vec::new();
    let mismatch = |aspect, relation: &str, model: String, server: String| Mismatch {
        case: case.to_owned(),
        version,
        aspect,
        relation: relation.to_owned(),
        model,
        server,
    };
    // Relations the model names are compared whatever their kind; of the others, only
    // tables, views and materialized views, since the model does not know a table's
    // indexes, sequences or TOAST tables unless it names them.
    let named: Vec<&str> = model
        .locks
        .iter()
        .map(|l| l.relation.as_str())
        .chain(model.rewrites.iter().map(String::as_str))
        .chain(model.scans.iter().map(String::as_str))
        .chain(model.may_rewrite.iter().map(String::as_str))
        .chain(model.may_scan.iter().map(String::as_str))
        .collect();
    let compared = |relation: &str| named.contains(&relation) || server.is_table(relation);

    // A relation that did not exist before the statement (`DROP … IF EXISTS` on a missing
    // one) has no lock anyone could wait for, so the model's word on it is not compared.
    let mut relations: Vec<&str> =
        model.locks.iter().map(|l| l.relation.as_str()).filter(|r| server.existed(r)).collect();
    relations.extend(server.locks.keys().map(String::as_str).filter(|r| compared(r)));
    // Every relation of a schema the model says is locked whole, whatever its kind.
    relations
        .extend(server.existing.iter().map(String::as_str).filter(|r| prediction.schema_mode(server, r).is_some()));
    relations.sort_unstable();
    relations.dedup();
    for relation in relations {
        let predicted = model
            .locks
            .iter()
            .find(|l| l.relation == relation)
            .map(|l| l.mode)
            .or_else(|| prediction.schema_mode(server, relation));
        let observed = server.locks.get(relation).map(String::as_str);
        if predicted.is_none() && observed.is_some_and(|o| prediction.leaves_unnamed(o)) {
            continue;
        }
        if predicted != observed {
            out.push(mismatch(
                "lock",
                relation,
                predicted.unwrap_or("-").to_owned(),
                observed.unwrap_or("-").to_owned(),
            ));
        }
    }

    // A table the statement creates is locked by it until the commit; the model names it.
    for (relation, observed) in &server.created {
        let predicted = model.locks.iter().find(|l| &l.relation == relation).map_or("-", |l| l.mode);
        if predicted != observed {
            out.push(mismatch("lock (created)", relation, predicted.to_owned(), observed.clone()));
        }
    }

    let mut check = |aspect, sure: &[String], may: &[String], observed: &[String]| {
        let observed: Vec<&String> = observed.iter().filter(|r| compared(r)).collect();
        for relation in sure.iter().filter(|r| server.existed(r)) {
            if !observed.contains(&relation) {
                out.push(mismatch(aspect, relation, "yes".into(), "no".into()));
            }
        }
        for relation in observed {
            if !sure.contains(relation) && !may.contains(relation) {
                out.push(mismatch(aspect, relation, "no".into(), "yes".into()));
            }
        }
    };
    check("rewrite", &model.rewrites, &model.may_rewrite, &server.rewrites);
    check("scan", &model.scans, &model.may_scan, &server.scans);
    out.extend(compare_objects(case, version, "object", prediction, server));
    out
}

/// Compares the schema and type locks the model names with the server's. Those it does not
/// name are not compared: creating anything in a schema takes `ACCESS SHARE` on it, and
/// PostgreSQL 18 locks the types a new dependency points at, which the model leaves out.
fn compare_objects(
    case: &str,
    version: u32,
    aspect: &'static str,
    prediction: &Prediction,
    server: &Observation,
) -> Vec<Mismatch> {
    prediction
        .objects
        .iter()
        .filter(|(key, _)| server.object_existed(key))
        .filter_map(|(key, mode)| {
            let observed = server.objects.get(key).map_or("-", String::as_str);
            (observed != *mode).then(|| Mismatch {
                case: case.to_owned(),
                version,
                aspect,
                relation: key.clone(),
                model: (*mode).to_owned(),
                server: observed.to_owned(),
            })
        })
        .collect()
}

/// For an `ordered` case: the relation the statement waits for must be the last the model
/// names, since the statement took every other lock before it.
pub fn compare_order(case: &str, version: u32, prediction: &Prediction, server: &Observation) -> Vec<Mismatch> {
    let last = prediction.explanation.locks.last().map_or("-", |l| l.relation.as_str());
    if server.waiting.len() == 1 && server.waiting[0] == last {
        return Vec::new();
    }
    vec![Mismatch {
        case: case.to_owned(),
        version,
        aspect: "order",
        relation: String::new(),
        model: format!("waits for {last} last"),
        server: format!(
            "waits for {}",
            if server.waiting.is_empty() { "-".to_owned() } else { server.waiting.join(" ") }
        ),
    }]
}

/// Compares the prediction made without any catalog (what `ddlint check` sees for a lone
/// statement) with the server: it may know fewer relations, and say "may" more often, but
/// every lock mode it names and every definite rewrite or scan must hold.
pub fn compare_blind(case: &str, version: u32, prediction: &Prediction, server: &Observation) -> Vec<Mismatch> {
    let model = &prediction.explanation;
    let mut out = Vec::new();
    let mismatch = |aspect, relation: &str, model: String, server: String| Mismatch {
        case: case.to_owned(),
        version,
        aspect,
        relation: relation.to_owned(),
        model,
        server,
    };
    for lock in model.locks.iter().filter(|l| server.existed(&l.relation)) {
        let observed = server.locks.get(&lock.relation).map_or("-", String::as_str);
        if observed != lock.mode {
            out.push(mismatch("blind lock", &lock.relation, lock.mode.to_owned(), observed.to_owned()));
        }
    }
    let named = |r: &String| model.locks.iter().any(|l| &l.relation == r);
    for (aspect, sure, may, observed) in [
        ("blind rewrite", &model.rewrites, &model.may_rewrite, &server.rewrites),
        ("blind scan", &model.scans, &model.may_scan, &server.scans),
    ] {
        // Knowing no schema, the model takes every relation for an ordinary table; a
        // partitioned one has no storage to rewrite or scan.
        for relation in sure.iter().filter(|r| server.existed(r) && !server.partitioned.contains(r)) {
            if !observed.contains(relation) {
                out.push(mismatch(aspect, relation, "yes".into(), "no".into()));
            }
        }
        for relation in observed.iter().filter(|r| named(r)) {
            if !sure.contains(relation) && !may.contains(relation) {
                out.push(mismatch(aspect, relation, "no".into(), "yes".into()));
            }
        }
    }
    out.extend(compare_objects(case, version, "blind object", prediction, server));
    out
}

/// The model's prediction for a case's statement alone, with an empty catalog.
pub fn predict_blind(case: &Case, pg_version: u32) -> Result<Prediction, String> {
    let settings = Settings { pg_version, ..Settings::default() };
    let explained = explain_source("case.sql", &case.sql, &settings, &mut Catalog::default());
    match explained.statements.as_slice() {
        [one] => Ok(Prediction::new(one.clone(), &effects(case, pg_version, &Catalog::default())?)),
        other => Err(format!("case `{}` must be one statement, found {}", case.name, other.len())),
    }
}

/// The outcome of every case on one server.
#[derive(Debug, Default)]
pub struct VersionReport {
    pub version: u32,
    pub ran: usize,
    pub skipped: usize,
    pub failed_cases: usize,
    pub mismatches: Vec<Mismatch>,
    /// Cases where the model said "may" and what the server did, for the curious.
    pub resolved_mays: Vec<String>,
}

/// Runs every case the version supports on one cluster.
pub fn run_cluster(catalogue: &Catalogue, cluster: &Cluster, filter: Option<&str>) -> VersionReport {
    let mut report = VersionReport { version: cluster.version, ..VersionReport::default() };
    let mut sessions = match measure::Sessions::connect(cluster) {
        Ok(s) => s,
        Err(e) => {
            report.failed_cases = 1;
            report.mismatches.push(Mismatch {
                case: "(connect)".into(),
                version: cluster.version,
                aspect: "error",
                relation: String::new(),
                model: String::new(),
                server: e,
            });
            return report;
        }
    };
    for case in &catalogue.cases {
        if filter.is_some_and(|f| !case.name.contains(f)) {
            continue;
        }
        if !(case.min_version..=case.max_version).contains(&cluster.version) {
            report.skipped += 1;
            continue;
        }
        report.ran += 1;
        let result = predict(catalogue, case, cluster.version).and_then(|model| {
            let blind = predict_blind(case, cluster.version)?;
            let observed = sessions.observe(&catalogue.setup_sql(case), case)?;
            Ok((model, blind, observed))
        });
        let mismatches = match result {
            Ok((model, blind, observed)) => {
                let mays = [
                    ("rewrite", &model.explanation.may_rewrite, &observed.rewrites),
                    ("scan", &model.explanation.may_scan, &observed.scans),
                ];
                for (aspect, may, seen) in mays {
                    for relation in may {
                        let did = if seen.contains(relation) { "yes" } else { "no" };
                        report
                            .resolved_mays
                            .push(format!("{} on {}: may {aspect} {relation} -> {did}", case.name, cluster.version));
                    }
                }
                let mut found = compare(&case.name, cluster.version, &model, &observed);
                found.extend(compare_blind(&case.name, cluster.version, &blind, &observed));
                if case.ordered {
                    found.extend(compare_order(&case.name, cluster.version, &model, &observed));
                }
                found
            }
            Err(e) => vec![Mismatch {
                case: case.name.clone(),
                version: cluster.version,
                aspect: "error",
                relation: String::new(),
                model: String::new(),
                server: e,
            }],
        };
        if !mismatches.is_empty() {
            report.failed_cases += 1;
        }
        report.mismatches.extend(mismatches);
    }
    report
}

/// Parses `DDLINT_PG_CLUSTERS`: `14=host=/tmp/x port=54314,15=…`.
pub fn parse_clusters(spec: &str) -> Result<Vec<Cluster>, String> {
    spec.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            let (version, conninfo) =
                part.split_once('=').ok_or_else(|| format!("cluster `{part}` is not VERSION=CONNINFO"))?;
            let version = version.trim().parse().map_err(|_| format!("cluster `{part}` has no numeric version"))?;
            Ok(Cluster { version, conninfo: conninfo.trim().to_owned() })
        })
        .collect()
}

/// The table printed when the model and a server disagree.
pub fn render_mismatches(mismatches: &[Mismatch]) -> String {
    let header = ["case", "pg", "aspect", "relation", "model", "server"];
    let rows: Vec<[String; 6]> = mismatches
        .iter()
        .map(|m| {
            [
                m.case.clone(),
                m.version.to_string(),
                m.aspect.to_owned(),
                m.relation.clone(),
                m.model.clone(),
                m.server.replace('\n', " "),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(header.map(str::to_owned)).chain(rows) {
        let mut line = String::new();
        for (cell, w) in row.iter().zip(widths) {
            let _ = write!(line, "{cell:<w$}  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ddlint_core::explain::LockExplanation;

    const AE: &str = "AccessExclusiveLock";

    fn prediction(locks: &[&str], objects: &[&str], schema_contents: &[(&str, bool)]) -> Prediction {
        let locks =
            locks.iter().map(|r| LockExplanation { relation: (*r).to_owned(), mode: AE, blocks: Vec::new() }).collect();
        let explanation = StatementExplanation {
            line: 1,
            end_line: 1,
            sql: String::new(),
            locks,
            rewrites: Vec::new(),
            scans: Vec::new(),
            may_rewrite: Vec::new(),
            may_scan: Vec::new(),
        };
        Prediction {
            explanation,
            objects: objects.iter().map(|o| ((*o).to_owned(), AE)).collect(),
            schema_contents: schema_contents.iter().map(|(s, listed)| ((*s).to_owned(), AE, *listed)).collect(),
        }
    }

    /// A server that held `locked` (in `lv2` when the name says so) of `existing`.
    fn server(existing: &[&str], locked: &[&str], objects: &[&str]) -> Observation {
        let schema = |r: &str| if r.starts_with("s2_") { "lv2" } else { "lv" };
        Observation {
            locks: locked.iter().map(|r| ((*r).to_owned(), AE.to_owned())).collect(),
            tables: existing.iter().map(|r| (*r).to_owned()).collect(),
            existing: existing.iter().map(|r| (*r).to_owned()).collect(),
            schemas: existing.iter().map(|r| ((*r).to_owned(), schema(r).to_owned())).collect(),
            objects: objects.iter().map(|o| ((*o).to_owned(), AE.to_owned())).collect(),
            existing_objects: vec!["schema lv".to_owned(), "schema lv2".to_owned()],
            ..Observation::default()
        }
    }

    fn aspects(found: &[Mismatch]) -> Vec<(&str, &str)> {
        found.iter().map(|m| (m.aspect, m.relation.as_str())).collect()
    }

    #[test]
    fn a_schema_locked_whole_covers_its_relations_and_no_more() {
        let existing = ["s2_a", "s2_seq", "users", "other"];
        let model = prediction(&[], &["schema lv2"], &[("lv2", true)]);
        let all = server(&existing, &["s2_a", "s2_seq"], &["schema lv2"]);
        assert_eq!(aspects(&compare("c", 17, &model, &all)), []);
        // A relation of the schema that the server left alone is a mismatch, whatever its kind.
        let missed = server(&existing, &["s2_a"], &["schema lv2"]);
        assert_eq!(aspects(&compare("c", 17, &model, &missed)), [("lock", "s2_seq")]);
        // A table elsewhere counts against a listing model, not against one that lists nothing.
        let elsewhere = server(&existing, &["s2_a", "s2_seq", "users"], &["schema lv2"]);
        assert_eq!(aspects(&compare("c", 17, &model, &elsewhere)), [("lock", "users")]);
        let unlisted = prediction(&[], &["schema lv2"], &[("lv2", false)]);
        assert_eq!(aspects(&compare("c", 17, &unlisted, &elsewhere)), []);
    }

    #[test]
    fn named_objects_must_be_locked() {
        let model = prediction(&[], &["schema lv2", "schema nope"], &[]);
        let found = compare("c", 17, &model, &server(&[], &[], &[]));
        // `nope` did not exist, so no one could have waited for it.
        assert_eq!(aspects(&found), [("object", "schema lv2")]);
        assert_eq!(aspects(&compare_blind("c", 17, &model, &server(&[], &[], &[]))), [("blind object", "schema lv2")]);
        assert_eq!(aspects(&compare("c", 17, &model, &server(&[], &[], &["schema lv2"]))), []);
    }

    #[test]
    fn the_awaited_relation_is_the_last_the_model_names() {
        let model = prediction(&["users", "orders"], &[], &[]);
        let mut observed = server(&["users", "orders"], &["users", "orders"], &[]);
        observed.waiting = vec!["orders".to_owned()];
        assert_eq!(aspects(&compare_order("c", 17, &model, &observed)), []);
        observed.waiting = vec!["users".to_owned()];
        assert_eq!(aspects(&compare_order("c", 17, &model, &observed)), [("order", "")]);
        observed.waiting.clear();
        assert_eq!(aspects(&compare_order("c", 17, &model, &observed)), [("order", "")]);
    }
}
