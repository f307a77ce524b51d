use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lock_model::{alter_cmds, constraint_of};
use crate::locks::LockMode;
use crate::names::RelationName;
use crate::source::Span;
use crate::violation::{Certainty, HeldLock, Objects, Violation};
use pg_query::protobuf::{self as pg, node::Node as N, AlterTableType as At, ConstrType, Token};
use std::collections::BTreeSet;

declare_rule! {
    /// ## What it does
    /// Flags `ALTER TABLE … ATTACH PARTITION` of a table that this migration did not create, unless
    /// an earlier statement of the file left a validated `CHECK` constraint on the partition that
    /// matches the partition bound.
    ///
    /// ## Why is this bad?
    /// PostgreSQL reads every row of the partition to prove that it fits the bound, and holds an
    /// `ACCESS EXCLUSIVE` lock on the partition for the whole scan (before PostgreSQL 12, on the
    /// partitioned table too, which blocks all its reads and writes). It skips the scan when a
    /// validated `CHECK` constraint already implies the bound, and such a constraint can be added
    /// as `NOT VALID` and validated under a lock that lets reads and writes go on.
    ///
    /// ## Example
    /// ```sql
    /// ALTER TABLE measurements ATTACH PARTITION measurements_2024
    ///     FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// SET lock_timeout = '2s';
    /// ALTER TABLE measurements_2024 ADD CONSTRAINT measurements_2024_bound
    ///     CHECK (taken_at >= '2024-01-01' AND taken_at < '2025-01-01') NOT VALID;
    /// ALTER TABLE measurements_2024 VALIDATE CONSTRAINT measurements_2024_bound;
    /// ALTER TABLE measurements ATTACH PARTITION measurements_2024
    ///     FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
    /// ALTER TABLE measurements_2024 DROP CONSTRAINT measurements_2024_bound;
    /// ```
    ///
    /// A constraint counts as matching when it names every value of the bound. Attaching a
    /// `DEFAULT` partition is not flagged.
    ///
    /// `CREATE TABLE … PARTITION OF` a table with a default partition is flagged too: PostgreSQL
    /// scans the default partition, under `ACCESS EXCLUSIVE`, to prove that none of its rows
    /// belongs to the new one, unless a validated `CHECK` on the default partition excludes
    /// the new range.
    ///
    /// ## Locks
    /// `ACCESS EXCLUSIVE` on the partition during the scan; on the partitioned table,
    /// `SHARE UPDATE EXCLUSIVE` from PostgreSQL 12 and `ACCESS EXCLUSIVE` before. A default
    /// partition of the partitioned table is scanned too, under `ACCESS EXCLUSIVE`.
    ///
    /// ## PostgreSQL versions
    /// Before 12 the partitioned table is locked against reads and writes during the scan.
    ///
    /// ## References
    /// - [Partition maintenance](https://www.postgresql.org/docs/current/ddl-partitioning.html#DDL-PARTITIONING-DECLARATIVE-MAINTENANCE)
    /// - [ALTER TABLE](https://www.postgresql.org/docs/current/sql-altertable.html)
    pub RULE = "attach-partition-without-check", Warning, on, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    if let N::CreateStmt(create) = cx.node() {
        return new_partition(cx, create, out);
    }
    let N::AlterTableStmt(stmt) = cx.node() else { return };
    let Some(rv) = &stmt.relation else { return };
    let parent = RelationName::from_range_var(rv);
    let cmds: Vec<&pg::AlterTableCmd> = alter_cmds(stmt).collect();
    let spans = cx.alter_cmd_spans(rv.location, cmds.len());
    for (i, cmd) in cmds.iter().enumerate() {
        if cmd.subtype() != At::AtAttachPartition {
            continue;
        }
        let Some(N::PartitionCmd(p)) = cmd.def.as_deref().and_then(|d| d.node.as_ref()) else { continue };
        let Some(partition) = p.name.as_ref().map(RelationName::from_range_var) else { continue };
        if cx.is_new(&partition) || p.bound.as_ref().is_none_or(|b| b.is_default) {
            continue;
        }
        let effects = cx.effects();
        let scanned = effects.scans.iter().chain(&effects.may_scan).any(|s| s.same_as(&partition));
        if !scanned {
            continue;
        }
        let span = spans.as_ref().map_or(cx.stmt.span, |s| s[i]);
        let bound = literals(cx, cx.index, span);
        if !bound.is_empty() && validated_checks(cx, &partition).iter().any(|check| bound.is_subset(check)) {
            continue;
        }
        let violation = AttachScan {
            lock: HeldLock::new(cx.lock_on(&partition).unwrap_or(LockMode::AccessExclusive), &partition),
            parent_lock: cx.lock_on(&parent).filter(|m| m.blocks_traffic()).map(|mode| HeldLock::new(mode, &parent)),
        };
        out.push(cx.report(&RULE, span, &violation));
    }
}

/// `ATTACH PARTITION` that scans the partition to check its bound.
struct AttachScan {
    /// The lock on the partition.
    lock: HeldLock,
    /// The lock on the parent, where it blocks traffic.
    parent_lock: Option<HeldLock>,
}

impl Violation for AttachScan {
    fn message(&self) -> String {
        let partition = &self.lock.relation;
        let parent = self.parent_lock.as_ref().map_or_else(String::new, |lock| format!(", and {lock}"));
        format!("`ATTACH PARTITION` scans `{partition}` to check its bound while holding {}{parent}", self.lock)
    }

    fn help(&self) -> Option<String> {
        Some(format!(
            "add a `CHECK` matching the bound to `{}` as `NOT VALID`, validate it, then attach",
            self.lock.relation
        ))
    }

    fn objects(&self) -> Objects {
        Objects::relation(&self.lock.relation)
    }
}

/// `CREATE TABLE … PARTITION OF` that scans the parent's default partition.
struct DefaultPartitionScan {
    created: RelationName,
    /// The lock on the default partition.
    lock: HeldLock,
    scan: Certainty,
}

impl Violation for DefaultPartitionScan {
    fn message(&self) -> String {
        let (created, default) = (&self.created, &self.lock.relation);
        let verb = self.scan.verb("scans", "may scan");
        format!("creating the partition `{created}` {verb} the default partition `{default}` to check that none of its rows belongs to it, while holding {}", self.lock)
    }

    fn help(&self) -> Option<String> {
        Some(format!(
            "add a `CHECK` to `{}` that excludes the new range, as `NOT VALID`, validate it, then create the partition",
            self.lock.relation
        ))
    }

    fn objects(&self) -> Objects {
        Objects::relation(&self.lock.relation)
    }
}

/// `CREATE TABLE … PARTITION OF parent`, which scans the parent's default partition.
fn new_partition(cx: &StatementCx<'_, '_>, create: &pg::CreateStmt, out: &mut Vec<Diagnostic>) {
    if create.partbound.is_none() {
        return;
    }
    let Some(created) = create.relation.as_ref().map(RelationName::from_range_var) else { return };
    let effects = cx.effects();
    let Some(default) = effects.scans.iter().chain(&effects.may_scan).find(|t| !t.same_as(&created) && !cx.is_new(t))
    else {
        return;
    };
    let scan = if effects.scans.contains(default) { Certainty::Certain } else { Certainty::Possible };
    let lock = HeldLock::new(cx.lock_on(default).unwrap_or(LockMode::AccessExclusive), default);
    out.push(cx.report(&RULE, cx.stmt.span, &DefaultPartitionScan { created, lock, scan }));
}

/// The literals of each `CHECK` constraint on the table that earlier statements of the file
/// added and validated, and did not drop.
fn validated_checks(cx: &StatementCx<'_, '_>, table: &RelationName) -> Vec<BTreeSet<String>> {
    // (name, validated, literals)
    let mut checks: Vec<(String, bool, BTreeSet<String>)> = Vec::new();
    for index in 0..cx.index {
        let N::AlterTableStmt(alter) = &*cx.file.statements[index].node else { continue };
        let Some(rv) = &alter.relation else { continue };
        if !RelationName::from_range_var(rv).same_as(table) {
            continue;
        }
        let cmds: Vec<&pg::AlterTableCmd> = alter_cmds(alter).collect();
        let spans = StatementCx::new(cx.file, index).alter_cmd_spans(rv.location, cmds.len());
        for (i, cmd) in cmds.iter().enumerate() {
            match cmd.subtype() {
                At::AtAddConstraint => {
                    let Some(c) = constraint_of(cmd).filter(|c| c.contype() == ConstrType::ConstrCheck) else {
                        continue;
                    };
                    let span = spans.as_ref().map_or(cx.file.statements[index].span, |s| s[i]);
                    checks.push((c.conname.clone(), !c.skip_validation, literals(cx, index, span)));
                }
                At::AtValidateConstraint => {
                    checks.iter_mut().filter(|(name, ..)| *name == cmd.name).for_each(|(_, valid, _)| *valid = true);
                }
                At::AtDropConstraint => checks.retain(|(name, ..)| *name != cmd.name),
                _ => {}
            }
        }
    }
    checks.into_iter().filter(|(_, valid, _)| *valid).map(|(.., literals)| literals).collect()
}

/// The constants written within `span` of statement `index`, as written.
fn literals(cx: &StatementCx<'_, '_>, index: usize, span: Span) -> BTreeSet<String> {
    let stmt = cx.file.statements[index];
    cx.file.parsed.tokens[stmt.tokens.clone()]
        .iter()
        .filter(|t| t.start >= span.start && t.end <= span.end)
        .filter(|t| matches!(t.token, Token::Sconst | Token::Iconst | Token::Fconst | Token::Xconst | Token::Bconst))
        .map(|t| cx.text(Span::new(t.start, t.end)).to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, lines_with, messages};
    use crate::settings::Settings;

    const ID: &str = "attach-partition-without-check";

    const ATTACH: &str = "ALTER TABLE m ATTACH PARTITION m1 FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');";
    const CHECK: &str = "ALTER TABLE m1 ADD CONSTRAINT b CHECK (at >= '2024-01-01' AND at < '2025-01-01')";

    #[test]
    fn flags_attach_without_a_matching_check() {
        assert_eq!(lines(&format!("SELECT 1;\n{ATTACH}"), ID), vec![2]);
        assert_eq!(
            messages(ATTACH, ID),
            vec!["`ATTACH PARTITION` scans `m1` to check its bound while holding an `ACCESS EXCLUSIVE` lock on `m1` that blocks reads and writes"]
        );
        let other = "ALTER TABLE m1 ADD CONSTRAINT b CHECK (at >= '2023-01-01');";
        assert_eq!(lines(&format!("{other}\n{ATTACH}"), ID), vec![2]);
    }

    #[test]
    fn a_validated_matching_check_passes() {
        assert!(lines(&format!("{CHECK};\n{ATTACH}"), ID).is_empty());
        assert!(lines(&format!("{CHECK} NOT VALID;\nALTER TABLE m1 VALIDATE CONSTRAINT b;\n{ATTACH}"), ID).is_empty());
        let list = "ALTER TABLE r1 ADD CHECK (region IN ('eu', 'us'));\n\
                    ALTER TABLE r ATTACH PARTITION r1 FOR VALUES IN ('eu', 'us');";
        assert!(lines(list, ID).is_empty());
    }

    #[test]
    fn unvalidated_or_dropped_checks_do_not_count() {
        assert_eq!(lines(&format!("{CHECK} NOT VALID;\n{ATTACH}"), ID), vec![2]);
        assert_eq!(lines(&format!("{CHECK};\nALTER TABLE m1 DROP CONSTRAINT b;\n{ATTACH}"), ID), vec![3]);
    }

    #[test]
    fn before_pg12_the_parent_is_locked_too() {
        let pg11 = Settings { pg_version: 11, ..Settings::default() };
        let report = crate::lint_file("t.sql", ATTACH.as_bytes(), &pg11);
        let message = report.diagnostics.iter().find(|d| d.rule == ID).map(|d| d.message.clone());
        assert_eq!(
            message.as_deref(),
            Some("`ATTACH PARTITION` scans `m1` to check its bound while holding an `ACCESS EXCLUSIVE` lock on `m1` that blocks reads and writes, and an `ACCESS EXCLUSIVE` lock on `m` that blocks reads and writes")
        );
        assert_eq!(lines_with(ATTACH, ID, &pg11), vec![1]);
    }

    #[test]
    fn new_and_default_partitions_pass() {
        assert!(lines(&format!("CREATE TABLE m1 (at date);\n{ATTACH}"), ID).is_empty());
        assert!(lines("ALTER TABLE m ATTACH PARTITION m_default DEFAULT;", ID).is_empty());
    }
}
