use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lock_model::catalog::{column_type, Catalog};
use crate::lock_model::{alter_cmds, column_def_of, statement_effects};
use crate::locks::LockMode;
use crate::names::{string_value, RelationName};
use crate::violation::{HeldLock, Objects, Violation};
use pg_query::protobuf::{node::Node as N, AlterTableType, ConstrType};

declare_rule! {
    /// ## What it does
    /// Flags `ALTER DOMAIN … ADD CONSTRAINT` without `NOT VALID`, and `ALTER DOMAIN … SET NOT NULL`,
    /// unless the only tables that use the domain were created by this migration.
    ///
    /// ## Why is this bad?
    /// PostgreSQL checks every column of the domain's type, in every table that has one,
    /// before the statement ends. It holds a lock on each of those tables that blocks writes
    /// for the whole scan, and all of them stay locked until the transaction ends.
    ///
    /// ## Example
    /// ```sql
    /// ALTER DOMAIN email_address ADD CONSTRAINT email_address_has_at CHECK (VALUE LIKE '%@%');
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// ALTER DOMAIN email_address ADD CONSTRAINT email_address_has_at CHECK (VALUE LIKE '%@%') NOT VALID;
    /// ```
    ///
    /// and `ALTER DOMAIN email_address VALIDATE CONSTRAINT email_address_has_at;` in a later
    /// migration. `NOT VALID` makes the `ALTER DOMAIN` brief, and new values are checked at
    /// once. The validation still reads every column of the domain under locks that block
    /// writes, but in a short transaction of its own, at a time you choose.
    /// `NOT VALID` is only accepted for `CHECK` constraints: write a `NOT NULL` as
    /// `CHECK (VALUE IS NOT NULL)`. The `VALIDATE CONSTRAINT` is reported as a note, with the
    /// tables it scans, so that a reviewer can time it.
    ///
    /// ## Locks
    /// `SHARE` on every table with a column of the domain, held during the scan.
    ///
    /// ## References
    /// - [ALTER DOMAIN](https://www.postgresql.org/docs/current/sql-alterdomain.html)
    pub RULE = "add-domain-constraint-validated", Warning, on, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    let N::AlterDomainStmt(stmt) = cx.node() else { return };
    let change = match (stmt.subtype.as_str(), stmt.def.as_deref().and_then(|d| d.node.as_ref())) {
        ("C", Some(N::Constraint(c))) if !c.skip_validation && c.contype() == ConstrType::ConstrCheck => {
            DomainChange::AddCheck
        }
        ("C", Some(N::Constraint(c))) if !c.skip_validation => DomainChange::AddNotNull,
        ("O", _) => DomainChange::SetNotNull,
        ("V", _) => {
            validation(cx, out);
            return;
        }
        _ => return,
    };
    let names: Vec<&str> = stmt.type_name.iter().filter_map(string_value).collect();
    let Some(&domain) = names.last() else { return };
    let shown = names.join(".");

    // Tables the model knows to use the domain, and found to be scanned.
    let existing: Vec<&RelationName> = cx.effects().scans.iter().filter(|t| !cx.is_new(t)).collect();
    let scanned = if let Some(first) = existing.first() {
        Scanned::Tables {
            tables: existing.iter().map(|&t| t.clone()).collect(),
            lock: HeldLock::new(cx.lock_on(first).unwrap_or(LockMode::Share), first),
        }
    } else {
        if created_for_new_tables_only(cx, domain) {
            return;
        }
        Scanned::EveryColumn(probe_lock(cx.node(), domain, cx.pg_version()))
    };
    out.push(cx.report(&RULE, cx.stmt.span, &DomainScan { change, domain: shown, scanned }));
}

enum DomainChange {
    AddCheck,
    /// A validated `NOT NULL` constraint.
    AddNotNull,
    SetNotNull,
}

/// What the lock model says the change reads.
enum Scanned {
    /// The tables it knows to have columns of the domain, and the lock on the first.
    Tables { tables: Vec<RelationName>, lock: HeldLock },
    /// The history does not say which tables use the domain; the lock each gets, where known.
    EveryColumn(Option<LockMode>),
}

struct DomainScan {
    change: DomainChange,
    domain: String,
    scanned: Scanned,
}

impl Violation for DomainScan {
    fn message(&self) -> String {
        let what = match self.change {
            DomainChange::AddCheck => "adding a validated `CHECK` constraint to",
            DomainChange::AddNotNull => "adding a validated constraint to",
            DomainChange::SetNotNull => "`SET NOT NULL` on",
        };
        let domain = &self.domain;
        match &self.scanned {
            Scanned::Tables { tables, lock } => {
                format!("{what} domain `{domain}` scans {} while holding {lock}", quoted_list(tables))
            }
            Scanned::EveryColumn(Some(mode)) => format!(
                "{what} domain `{domain}` scans every column of that type while holding a `{}` lock on each table that uses it, which {}",
                mode.sql_name(),
                mode.blocks_phrase()
            ),
            Scanned::EveryColumn(None) => format!("{what} domain `{domain}` scans every column of that type"),
        }
    }

    fn help(&self) -> Option<String> {
        Some(match self.change {
            DomainChange::AddCheck => {
                "add the constraint with `NOT VALID`, then `VALIDATE CONSTRAINT` in a later transaction"
            }
            DomainChange::AddNotNull | DomainChange::SetNotNull => {
                "add `CHECK (VALUE IS NOT NULL) NOT VALID` instead, then `VALIDATE CONSTRAINT` in a later transaction"
            }
        }
        .into())
    }

    fn objects(&self) -> Objects {
        match &self.scanned {
            Scanned::Tables { tables, .. } => Objects { relation: tables.first().cloned(), ..Objects::default() },
            Scanned::EveryColumn(_) => Objects::default(),
        }
    }
}

/// `ALTER DOMAIN … VALIDATE CONSTRAINT` on tables that exist.
struct DomainValidation {
    tables: Vec<RelationName>,
    lock: HeldLock,
}

impl Violation for DomainValidation {
    fn message(&self) -> String {
        format!("validating the domain constraint scans {} while holding {}", quoted_list(&self.tables), self.lock)
    }

    fn help(&self) -> Option<String> {
        Some("run it in a transaction of its own when writes to those tables can wait for the scan".into())
    }

    fn objects(&self) -> Objects {
        Objects::relation(&self.lock.relation)
    }
}

fn quoted_list(tables: &[RelationName]) -> String {
    tables.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
}

/// `ALTER DOMAIN … VALIDATE CONSTRAINT`, the second step of the safe form, still reads every
/// column of the domain under locks that block writes. It is the recommended way, so it is a
/// note: the fact, for a reviewer to time it, without failing the run.
fn validation(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    let existing: Vec<&RelationName> = cx.effects().scans.iter().filter(|t| !cx.is_new(t)).collect();
    let Some(first) = existing.first() else { return };
    let violation = DomainValidation {
        tables: existing.iter().map(|&t| t.clone()).collect(),
        lock: HeldLock::new(cx.lock_on(first).unwrap_or(LockMode::Share), first),
    };
    let mut diagnostic = cx.report(&RULE, cx.stmt.span, &violation);
    diagnostic.severity = diagnostic.severity.min(crate::diagnostic::Severity::Note);
    out.push(diagnostic);
}

/// The domain was created earlier in the file, and no column of it was added to a table
/// the file did not create: only new, empty tables can use it.
fn created_for_new_tables_only(cx: &StatementCx<'_, '_>, domain: &str) -> bool {
    let earlier = &cx.file.statements[..cx.index];
    let created = earlier.iter().any(|s| {
        matches!(&*s.node, N::CreateDomainStmt(d)
            if d.domainname.last().is_some_and(|n| matches!(&n.node, Some(N::String(s)) if s.sval == domain)))
    });
    let added_to_existing = earlier.iter().enumerate().any(|(index, s)| {
        let N::AlterTableStmt(alter) = &*s.node else { return false };
        let Some(rv) = &alter.relation else { return false };
        !cx.file.is_new_relation(&RelationName::from_range_var(rv), index)
            && alter_cmds(alter).any(|cmd| {
                cmd.subtype() == AlterTableType::AtAddColumn
                    && column_def_of(cmd)
                        .and_then(|c| c.type_name.as_ref())
                        .is_some_and(|t| column_type(t).name == domain)
            })
    });
    created && !added_to_existing
}

/// The lock the statement takes on a table with a column of the domain, as the lock model
/// tells it for a table it is shown.
fn probe_lock(node: &N, domain: &str, pg_version: u32) -> Option<LockMode> {
    const PROBE: &str = "ddlint_probe";
    let sql = format!("CREATE TABLE {PROBE} (c \"{}\")", domain.replace('"', "\"\""));
    let tree = crate::pg_ffi::parse(&sql).ok()?;
    let mut catalog = Catalog::default();
    for raw in &tree.stmts {
        if let Some(node) = raw.stmt.as_ref().and_then(|s| s.node.as_ref()) {
            catalog.apply(node);
        }
    }
    let probe = RelationName::new(None, PROBE);
    statement_effects(node, pg_version, &catalog).locks.into_iter().find(|l| l.relation.same_as(&probe)).map(|l| l.mode)
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, messages};

    const ID: &str = "add-domain-constraint-validated";

    #[test]
    fn flags_validated_domain_constraints() {
        assert_eq!(lines("ALTER DOMAIN email ADD CONSTRAINT c CHECK (VALUE LIKE '%@%');", ID), vec![1]);
        assert_eq!(lines("SELECT 1;\nALTER DOMAIN email SET NOT NULL;", ID), vec![2]);
        assert_eq!(lines("ALTER DOMAIN email ADD CONSTRAINT nn NOT NULL;", ID), vec![1]);
        assert_eq!(
            messages("ALTER DOMAIN public.email ADD CHECK (VALUE <> '');", ID),
            vec![
                "adding a validated `CHECK` constraint to domain `public.email` scans every column of that type \
                 while holding a `SHARE` lock on each table that uses it, which blocks writes"
            ]
        );
    }

    #[test]
    fn not_valid_and_other_forms_pass() {
        assert!(lines("ALTER DOMAIN email ADD CONSTRAINT c CHECK (VALUE LIKE '%@%') NOT VALID;", ID).is_empty());
        assert!(lines("ALTER DOMAIN email DROP NOT NULL;", ID).is_empty());
        assert!(lines("ALTER DOMAIN email SET DEFAULT '';", ID).is_empty());
    }

    #[test]
    fn domains_used_only_by_new_tables_pass() {
        let sql = "CREATE DOMAIN email AS text;\nCREATE TABLE users (e email);\n\
                   ALTER DOMAIN email ADD CONSTRAINT c CHECK (VALUE LIKE '%@%');";
        assert!(lines(sql, ID).is_empty());
        let added = "CREATE DOMAIN email AS text;\nALTER TABLE users ADD COLUMN e email;\n\
                     ALTER DOMAIN email ADD CONSTRAINT c CHECK (VALUE LIKE '%@%');";
        assert_eq!(lines(added, ID), vec![3]);
    }
}
