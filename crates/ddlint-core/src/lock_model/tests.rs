use super::*;

fn node(sql: &str) -> N {
    let tree = crate::pg_ffi::parse(sql).unwrap();
    tree.stmts[0].stmt.as_ref().unwrap().node.clone().unwrap()
}

fn locks(sql: &str) -> Vec<(String, LockMode)> {
    statement_locks(&node(sql), 15).into_iter().map(|l| (l.relation.to_string(), l.mode)).collect()
}

/// The effects of the last statement of `sql`, with the earlier ones fed to the catalog.
fn effects_after(sql: &str, v: u32) -> StatementEffects {
    crate::with_deep_stack(|| effects_after_on_this_stack(sql, v))
}

fn effects_after_on_this_stack(sql: &str, v: u32) -> StatementEffects {
    let tree = crate::pg_ffi::parse(sql).unwrap();
    let nodes: Vec<N> = tree.stmts.into_iter().map(|s| s.stmt.unwrap().node.unwrap()).collect();
    let mut cat = Catalog::default();
    let (last, setup) = nodes.split_last().unwrap();
    for n in setup {
        cat.apply(n);
    }
    statement_effects(last, v, &cat)
}

fn names(list: &[RelationName]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}

#[test]
fn foreign_key_locks_both_tables() {
    assert_eq!(
        locks("ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id)"),
        vec![("orders".into(), LockMode::ShareRowExclusive), ("users".into(), LockMode::ShareRowExclusive)]
    );
}

#[test]
fn check_constraint_takes_access_exclusive_and_scans() {
    let e = effects_after("ALTER TABLE t ADD CONSTRAINT c CHECK (x > 0)", 15);
    assert_eq!(e.locks, vec![RelationLock { relation: RelationName::new(None, "t"), mode: LockMode::AccessExclusive }]);
    assert_eq!(names(&e.scans), ["t"]);
    assert!(e.rewrites.is_empty());
    let e = effects_after("ALTER TABLE t ADD CONSTRAINT c CHECK (x > 0) NOT VALID", 15);
    assert!(e.scans.is_empty() && e.may_scan.is_empty());
}

#[test]
fn strongest_subcommand_wins() {
    assert_eq!(
        locks("ALTER TABLE t VALIDATE CONSTRAINT c, ALTER COLUMN a SET NOT NULL"),
        vec![("t".into(), LockMode::AccessExclusive)]
    );
    assert_eq!(locks("ALTER TABLE t VALIDATE CONSTRAINT c"), vec![("t".into(), LockMode::ShareUpdateExclusive)]);
}

#[test]
fn index_builds() {
    assert_eq!(locks("CREATE INDEX i ON public.t (a)"), vec![("public.t".into(), LockMode::Share)]);
    assert_eq!(locks("CREATE INDEX CONCURRENTLY i ON t (a)"), vec![("t".into(), LockMode::ShareUpdateExclusive)]);
    assert_eq!(names(&effects_after("CREATE INDEX i ON t (a)", 15).scans), ["t"]);
}

#[test]
fn add_column_defaults() {
    // A constant default is stored in the catalog from PostgreSQL 11 on.
    let e = effects_after("ALTER TABLE t ADD COLUMN c int DEFAULT 0", 11);
    assert!(e.rewrites.is_empty() && e.scans.is_empty() && e.may_rewrite.is_empty());
    let e = effects_after("ALTER TABLE t ADD COLUMN c timestamptz DEFAULT now()", 15);
    assert!(e.rewrites.is_empty() && e.may_rewrite.is_empty());
    // A volatile one is evaluated per row.
    let e = effects_after("ALTER TABLE t ADD COLUMN c uuid DEFAULT gen_random_uuid()", 15);
    assert_eq!(names(&e.rewrites), ["t"]);
    assert_eq!(names(&e.scans), ["t"]);
    // An unknown function may be either, unless the catalog knows it.
    let e = effects_after("ALTER TABLE t ADD COLUMN c int DEFAULT f()", 15);
    assert_eq!(names(&e.may_rewrite), ["t"]);
    let e = effects_after(
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT 1'; ALTER TABLE t ADD COLUMN c int DEFAULT f()",
        15,
    );
    assert!(e.may_rewrite.is_empty() && e.rewrites.is_empty());
}

#[test]
fn column_type_changes() {
    let setup = "CREATE TABLE t (a varchar(10), b int, c text, d timestamp);";
    let rewrites = |alter: &str| {
        let e = effects_after(&format!("{setup} ALTER TABLE t {alter}"), 15);
        (names(&e.rewrites), names(&e.may_rewrite))
    };
    assert_eq!(rewrites("ALTER COLUMN a TYPE varchar(20)"), (vec![], vec![]));
    assert_eq!(rewrites("ALTER COLUMN a TYPE text"), (vec![], vec![]));
    assert_eq!(rewrites("ALTER COLUMN a TYPE varchar(5)"), (vec!["t".to_owned()], vec![]));
    assert_eq!(rewrites("ALTER COLUMN b TYPE bigint"), (vec!["t".to_owned()], vec![]));
    assert_eq!(rewrites("ALTER COLUMN d TYPE timestamptz"), (vec![], vec!["t".to_owned()]));
    // Without the catalog the old type is unknown.
    let e = effects_after("ALTER TABLE t ALTER COLUMN b TYPE bigint", 15);
    assert_eq!(names(&e.may_rewrite), ["t"]);
}

#[test]
fn set_not_null_proven_by_check() {
    let setup = "CREATE TABLE t (a int, CONSTRAINT a_nn CHECK (a IS NOT NULL));";
    let e = effects_after(&format!("{setup} ALTER TABLE t ALTER COLUMN a SET NOT NULL"), 12);
    assert!(e.scans.is_empty() && e.may_scan.is_empty());
    let e = effects_after(&format!("{setup} ALTER TABLE t ALTER COLUMN a SET NOT NULL"), 11);
    assert_eq!(names(&e.scans), ["t"]);
    let e = effects_after("ALTER TABLE t ALTER COLUMN a SET NOT NULL", 15);
    assert_eq!(names(&e.may_scan), ["t"]);
}

#[test]
fn drop_index_locks_its_table_when_known() {
    let e = effects_after("CREATE TABLE t (a int); CREATE INDEX i ON t (a); DROP INDEX i", 15);
    let got: Vec<_> = e.locks.iter().map(|l| (l.relation.to_string(), l.mode)).collect();
    assert_eq!(got, [("i".to_owned(), LockMode::AccessExclusive), ("t".to_owned(), LockMode::AccessExclusive)]);
}

#[test]
fn partitioned_index_visits_partitions_unless_only() {
    let setup =
        "CREATE TABLE p (a int) PARTITION BY RANGE (a); CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10);";
    let e = effects_after(&format!("{setup} CREATE INDEX i ON p (a)"), 15);
    assert_eq!(e.locks.len(), 2);
    assert_eq!(names(&e.scans), ["p1"]);
    let e = effects_after(&format!("{setup} CREATE INDEX i ON ONLY p (a)"), 15);
    assert_eq!(e.locks.len(), 1);
    assert!(e.scans.is_empty());
}

#[test]
fn drop_table_locks_referenced_tables() {
    let e = effects_after("CREATE TABLE u (id int PRIMARY KEY); CREATE TABLE o (u int REFERENCES u); DROP TABLE o", 15);
    let got: Vec<_> = e.locks.iter().map(|l| (l.relation.to_string(), l.mode)).collect();
    assert_eq!(got, [("o".to_owned(), LockMode::AccessExclusive), ("u".to_owned(), LockMode::AccessExclusive)]);
}

#[test]
fn hostile_input_stays_bounded() {
    // Deeper than the model judges, shallower than libpg_query's own limit.
    let chain = vec!["'a'"; 90].join(" || ");
    let e = effects_after(&format!("ALTER TABLE t ADD COLUMN c text DEFAULT {chain}"), 15);
    assert_eq!(names(&e.may_rewrite), ["t"]);
    let e = effects_after(
        "CREATE TABLE a (x int); CREATE TABLE b (x int); \
         ALTER TABLE a ATTACH PARTITION b FOR VALUES IN (1); ALTER TABLE b ATTACH PARTITION a FOR VALUES IN (1); \
         CREATE INDEX i ON a (x)",
        15,
    );
    assert_eq!(e.locks.len(), 2);
}

#[test]
fn grant_locks_from_18() {
    assert!(statement_locks(&node("GRANT SELECT ON t TO r"), 17).is_empty());
    assert_eq!(statement_locks(&node("GRANT SELECT ON t TO r"), 18)[0].mode, LockMode::AccessShare);
}

#[test]
fn detach_concurrently_ends_with_access_exclusive_on_the_partition() {
    let got = locks("ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY");
    assert_eq!(got, [("p".to_owned(), LockMode::ShareUpdateExclusive), ("p1".to_owned(), LockMode::AccessExclusive)]);
}

#[test]
fn truncate_rebuilds_indexes_with_a_scan() {
    let e = effects_after("CREATE TABLE t (id int PRIMARY KEY); CREATE TABLE u (id int); TRUNCATE t, u", 15);
    assert_eq!(names(&e.rewrites), ["u", "t"]);
    assert_eq!(names(&e.scans), ["t"]);
}
