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
fn precision_increases_are_free_when_the_file_says_the_type() {
    // The table is unknown; the file added the column earlier.
    let after = |sql: &str| {
        let e = effects_after(sql, 15);
        (names(&e.rewrites), names(&e.may_rewrite))
    };
    let none = (Vec::<String>::new(), Vec::<String>::new());
    for (old, new) in [
        ("timestamp(0)", "timestamp(3)"),
        ("timestamptz(0)", "timestamptz(6)"),
        ("time(1)", "time(3)"),
        ("interval(0)", "interval(3)"),
        ("interval DAY TO SECOND(0)", "interval DAY TO SECOND(3)"),
    ] {
        let sql = format!("ALTER TABLE t ADD COLUMN c {old}; ALTER TABLE t ALTER COLUMN c TYPE {new}");
        assert_eq!(after(&sql), none, "{old} -> {new}");
    }
    let down = after("ALTER TABLE t ADD COLUMN c timestamp(3); ALTER TABLE t ALTER COLUMN c TYPE timestamp(0)");
    assert_eq!(down.0, ["t"]);
    let fields =
        after("ALTER TABLE t ADD COLUMN c interval DAY TO SECOND(3); ALTER TABLE t ALTER COLUMN c TYPE interval(3)");
    assert_eq!(fields.0, ["t"]);
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
    assert_eq!(names(&e.rewrites), ["t", "u"]);
    assert_eq!(names(&e.scans), ["t"]);
}

fn lock_names(e: &StatementEffects) -> Vec<String> {
    e.locks.iter().map(|l| l.relation.to_string()).collect()
}

#[test]
fn truncate_locks_in_the_order_written() {
    assert_eq!(lock_names(&effects_after("TRUNCATE b, a, c, a", 15)), ["b", "a", "c"]);
    let setup = "CREATE TABLE p (a int) PARTITION BY RANGE (a); \
                 CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10); \
                 CREATE TABLE p2 PARTITION OF p FOR VALUES FROM (10) TO (20);";
    let e = effects_after(&format!("{setup} TRUNCATE p, t"), 15);
    assert_eq!(lock_names(&e), ["p", "p1", "p2", "t"]);
    assert_eq!(names(&e.rewrites), ["p1", "p2", "t"]);
    assert_eq!(lock_names(&effects_after(&format!("{setup} TRUNCATE ONLY p1, t"), 15)), ["p1", "t"]);
}

#[test]
fn truncate_cascade_adds_referencing_tables_round_by_round() {
    let setup = "CREATE TABLE u (id int PRIMARY KEY); \
                 CREATE TABLE o (id int PRIMARY KEY, u int REFERENCES u); \
                 CREATE TABLE refunds (o int REFERENCES o); \
                 CREATE TABLE reviews (u int REFERENCES u); \
                 CREATE TABLE unrelated (id int);";
    let e = effects_after(&format!("{setup} TRUNCATE u CASCADE"), 15);
    assert_eq!(lock_names(&e), ["u", "o", "reviews", "refunds"]);
    assert!(e.locks.iter().all(|l| l.mode == LockMode::AccessExclusive));
    assert_eq!(names(&e.rewrites), ["u", "o", "reviews", "refunds"]);
    // Without CASCADE only the named table; a referenced table is not locked either.
    assert_eq!(lock_names(&effects_after(&format!("{setup} TRUNCATE u"), 15)), ["u"]);
    assert_eq!(lock_names(&effects_after(&format!("{setup} TRUNCATE refunds CASCADE"), 15)), ["refunds"]);
}

#[test]
fn truncate_cascade_takes_partitions_but_not_inheritance_children() {
    // Partitions carry clones of their parent's foreign keys; inheritance children do not.
    let setup = "CREATE TABLE u (id int PRIMARY KEY); \
                 CREATE TABLE o (u int REFERENCES u); \
                 CREATE TABLE archived (x int) INHERITS (o); \
                 CREATE TABLE e (u int REFERENCES u, at int) PARTITION BY RANGE (at); \
                 CREATE TABLE e1 PARTITION OF e FOR VALUES FROM (0) TO (10);";
    let e = effects_after(&format!("{setup} TRUNCATE u CASCADE"), 15);
    assert_eq!(lock_names(&e), ["u", "o", "e", "e1"]);
    assert_eq!(names(&e.rewrites), ["u", "o", "e1"]);
    // Named, a parent takes its inheritance children with it unless ONLY.
    assert_eq!(lock_names(&effects_after(&format!("{setup} TRUNCATE o"), 15)), ["o", "archived"]);
}

#[test]
fn set_tablespace_copies_storage_without_a_scan() {
    let e = effects_after("ALTER TABLE t SET TABLESPACE ssd", 15);
    assert_eq!(locks("ALTER TABLE t SET TABLESPACE ssd"), [("t".to_owned(), LockMode::AccessExclusive)]);
    assert_eq!(names(&e.rewrites), ["t"]);
    assert!(e.scans.is_empty() && e.may_scan.is_empty());
    // Most relations live in `pg_default`, where moving them does nothing.
    let e = effects_after("ALTER TABLE t SET TABLESPACE pg_default", 15);
    assert!(e.rewrites.is_empty());
    assert_eq!(names(&e.may_rewrite), ["t"]);
    // An index moves on its own, without its table.
    let e = effects_after("CREATE TABLE t (a int); CREATE INDEX i ON t (a); ALTER INDEX i SET TABLESPACE ssd", 15);
    assert_eq!(lock_names(&e), ["i"]);
    assert_eq!(names(&e.rewrites), ["i"]);
    let e = effects_after("ALTER MATERIALIZED VIEW m SET TABLESPACE ssd", 15);
    assert_eq!(names(&e.rewrites), ["m"]);
}

#[test]
fn set_tablespace_of_partitioned_relations_copies_nothing() {
    let setup = "CREATE TABLE p (a int) PARTITION BY RANGE (a); CREATE INDEX p_a ON p (a);";
    let e = effects_after(&format!("{setup} ALTER TABLE p SET TABLESPACE ssd"), 15);
    assert_eq!(lock_names(&e), ["p"]);
    assert!(e.rewrites.is_empty() && e.may_rewrite.is_empty());
    let e = effects_after(&format!("{setup} ALTER INDEX p_a SET TABLESPACE ssd"), 15);
    assert_eq!(lock_names(&e), ["p_a"]);
    assert!(e.rewrites.is_empty() && e.may_rewrite.is_empty());
}

#[test]
fn options_written_off_are_off() {
    let mode = |sql: &str| locks(sql)[0].1;
    assert_eq!(mode("VACUUM (FULL) t"), LockMode::AccessExclusive);
    assert_eq!(mode("VACUUM (FULL true) t"), LockMode::AccessExclusive);
    assert_eq!(mode("VACUUM (FULL 1) t"), LockMode::AccessExclusive);
    assert_eq!(mode("VACUUM (FULL false) t"), LockMode::ShareUpdateExclusive);
    assert_eq!(mode("VACUUM (FULL OFF) t"), LockMode::ShareUpdateExclusive);
    assert_eq!(mode("VACUUM (FULL 0, ANALYZE) t"), LockMode::ShareUpdateExclusive);
    assert_eq!(mode("VACUUM (FULL 'False') t"), LockMode::ShareUpdateExclusive);
    assert_eq!(mode("VACUUM (FULL, FULL false) t"), LockMode::ShareUpdateExclusive);
    assert_eq!(mode("VACUUM (FULL false, FULL) t"), LockMode::AccessExclusive);
    let e = effects_after("VACUUM (FULL false) t", 15);
    assert!(e.rewrites.is_empty() && e.scans.is_empty());

    assert_eq!(mode("REINDEX (CONCURRENTLY) TABLE t"), LockMode::ShareUpdateExclusive);
    assert_eq!(mode("REINDEX (CONCURRENTLY false) TABLE t"), LockMode::Share);
    assert_eq!(mode("REINDEX (VERBOSE, CONCURRENTLY off) TABLE t"), LockMode::Share);
    assert_eq!(mode("REINDEX (CONCURRENTLY 0) INDEX i"), LockMode::AccessExclusive);
    assert_eq!(mode("REINDEX INDEX CONCURRENTLY i"), LockMode::ShareUpdateExclusive);
}

fn objects(e: &StatementEffects) -> Vec<(String, LockMode)> {
    e.objects
        .iter()
        .map(|l| match &l.object {
            LockedObject::Schema(name) => (format!("schema {name}"), l.mode),
            LockedObject::Type(name) => (format!("type {name}"), l.mode),
        })
        .collect()
}

#[test]
fn drop_schema_locks_the_schema_and_says_what_it_cannot_list() {
    let e = effects_after("CREATE TABLE s.t (a int); DROP SCHEMA s, r CASCADE", 15);
    assert_eq!(
        objects(&e),
        [("schema s".to_owned(), LockMode::AccessExclusive), ("schema r".to_owned(), LockMode::AccessExclusive)]
    );
    let whole: Vec<(&str, LockMode, bool)> =
        e.schema_contents.iter().map(|s| (s.schema.as_str(), s.mode, s.listed)).collect();
    // The catalog knows `s.t` but never saw `s` created, so it cannot say `s.t` is all of it.
    assert_eq!(whole, [("s", LockMode::AccessExclusive, false), ("r", LockMode::AccessExclusive, false)]);
    assert!(e.locks.is_empty());
    // A schema the catalog saw created is listed relation by relation.
    let e = effects_after(
        "CREATE SCHEMA s; CREATE TABLE s.t (a int); CREATE INDEX t_a ON s.t (a); DROP SCHEMA s CASCADE",
        15,
    );
    let whole: Vec<(&str, bool)> = e.schema_contents.iter().map(|s| (s.schema.as_str(), s.listed)).collect();
    assert_eq!(whole, [("s", true)]);
    let locked: Vec<(String, LockMode)> = e.locks.iter().map(|l| (l.relation.to_string(), l.mode)).collect();
    assert!(locked.contains(&("s.t".to_owned(), LockMode::AccessExclusive)), "{locked:?}");
    assert!(locked.contains(&("s.t_a".to_owned(), LockMode::AccessExclusive)), "{locked:?}");
    // Without CASCADE the schema must be empty.
    let e = effects_after("DROP SCHEMA IF EXISTS s", 15);
    assert_eq!(objects(&e), [("schema s".to_owned(), LockMode::AccessExclusive)]);
    assert!(e.schema_contents.is_empty() && e.locks.is_empty());
}

#[test]
fn dropped_schema_contents_lock_what_they_are_tied_to() {
    let sql = "CREATE TABLE u (id int PRIMARY KEY); \
               CREATE TABLE s.a (id int PRIMARY KEY, u int REFERENCES u); \
               CREATE INDEX a_u ON s.a (u); \
               CREATE TABLE ledger (a int REFERENCES s.a); \
               CREATE TABLE other (x int)";
    let tree = crate::pg_ffi::parse(sql).unwrap();
    let mut cat = Catalog::default();
    for raw in tree.stmts {
        cat.apply(&raw.stmt.unwrap().node.unwrap());
    }
    let contents = [RelationName::new(Some("s"), "a"), RelationName::new(Some("s"), "a_u")];
    let mut e = Effects::default();
    drop_schema_contents(&mut e, "s", Some(&contents), &cat);
    let e = e.finish();
    assert_eq!(lock_names(&e), ["s.a", "u", "ledger", "s.a_u"]);
    assert!(e.locks.iter().all(|l| l.mode == LockMode::AccessExclusive));
    assert!(e.schema_contents[0].listed);
}

#[test]
fn enum_labels_lock_the_type_only() {
    for sql in ["ALTER TYPE mood ADD VALUE 'calm'", "ALTER TYPE app.mood RENAME VALUE 'sad' TO 'blue'"] {
        let e = effects_after(&format!("CREATE TYPE mood AS ENUM ('sad'); CREATE TABLE t (m mood); {sql}"), 15);
        assert!(e.locks.is_empty(), "{sql}");
        assert_eq!(objects(&e).len(), 1, "{sql}");
        assert_eq!(e.objects[0].mode, LockMode::Exclusive, "{sql}");
    }
    let e = effects_after("ALTER TYPE app.mood ADD VALUE 'calm'", 15);
    assert_eq!(objects(&e), [("type app.mood".to_owned(), LockMode::Exclusive)]);
}

#[test]
fn domain_changes_check_the_columns_of_the_domain() {
    let setup = "CREATE DOMAIN positive AS int CHECK (VALUE > 0); \
                 CREATE TABLE t (p positive); CREATE TABLE u (a int);";
    for sql in [
        "ALTER DOMAIN positive ADD CONSTRAINT small CHECK (VALUE < 10)",
        "ALTER DOMAIN positive VALIDATE CONSTRAINT small",
        "ALTER DOMAIN positive SET NOT NULL",
        "ALTER DOMAIN positive ADD CONSTRAINT nn NOT NULL",
    ] {
        let e = effects_after(&format!("{setup} {sql}"), 17);
        assert_eq!(lock_names(&e), ["t"], "{sql}");
        assert_eq!(e.locks[0].mode, LockMode::Share, "{sql}");
        assert_eq!(names(&e.scans), ["t"], "{sql}");
    }
    for sql in [
        "ALTER DOMAIN positive ADD CONSTRAINT small CHECK (VALUE < 10) NOT VALID",
        "ALTER DOMAIN positive DROP NOT NULL",
        "ALTER DOMAIN positive DROP CONSTRAINT positive_check",
    ] {
        let e = effects_after(&format!("{setup} {sql}"), 17);
        assert!(e.locks.is_empty() && e.scans.is_empty(), "{sql}");
    }
    // FIXME: the server also locks (SHARE) and scans the materialized views with a column of
    // the domain, but the catalog keeps no column types for a view's query.
    let e = effects_after(
        &format!("{setup} CREATE MATERIALIZED VIEW mv AS SELECT p FROM t; ALTER DOMAIN positive SET NOT NULL"),
        17,
    );
    assert_eq!(lock_names(&e), ["t"]);
    // FIXME: the server also locks and scans the columns of a domain over this one (here
    // `s.v`), but the catalog keeps no domain's base type.
    let e = effects_after(
        &format!("{setup} CREATE DOMAIN tiny AS positive; CREATE TABLE s (v tiny); ALTER DOMAIN positive SET NOT NULL"),
        17,
    );
    assert_eq!(lock_names(&e), ["t"]);
}

#[test]
fn catalog_snapshots_are_isolated_both_ways() {
    let users = RelationName::new(None, "users");
    let mut catalog = Catalog::default();
    catalog.apply(&node("CREATE TABLE users (id int)"));
    let before = catalog.clone();
    catalog.apply(&node("ALTER TABLE users ADD COLUMN email text"));
    catalog.apply(&node("CREATE TABLE orders (id int)"));
    assert!(catalog.column(&users, "email").is_some());
    assert!(before.column(&users, "email").is_none());
    assert_eq!((before.len(), catalog.len()), (1, 2));

    let mut fork = before.clone();
    fork.apply(&node("DROP TABLE users"));
    assert!(fork.relation(&users).is_none());
    assert!(before.relation(&users).is_some() && catalog.relation(&users).is_some());
    assert!(before.is_new(&users), "the change set's ledger is copied with the snapshot");
    let mut settled = before.clone();
    settled.settle();
    assert!(!settled.is_new(&users) && before.is_new(&users));
}

#[test]
fn not_enforced_constraints_check_nothing() {
    let scans = |sql: &str| names(&effects_after(sql, 18).scans);
    assert!(scans("ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT ENFORCED").is_empty());
    assert!(scans("ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u (id) NOT ENFORCED").is_empty());
    assert!(scans("ALTER TABLE t ADD COLUMN b int DEFAULT 1 REFERENCES u (id) NOT ENFORCED").is_empty());
    assert_eq!(scans("ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)"), ["t"]);
}

#[test]
fn a_validated_not_null_constraint_proves_the_column() {
    let sql = "ALTER TABLE t ADD CONSTRAINT t_a_nn NOT NULL a NOT VALID; ALTER TABLE t VALIDATE CONSTRAINT t_a_nn; ALTER TABLE t ALTER COLUMN a SET NOT NULL";
    assert!(effects_after(sql, 18).scans.is_empty());
    let unvalidated =
        "ALTER TABLE t ADD CONSTRAINT t_a_nn NOT NULL a NOT VALID; ALTER TABLE t ALTER COLUMN a SET NOT NULL";
    assert!(!effects_after(unvalidated, 18).scans.is_empty() || !effects_after(unvalidated, 18).may_scan.is_empty());
}

#[test]
fn a_column_made_not_null_on_an_unknown_table_needs_no_scan_to_be_set_so() {
    let set = "ALTER TABLE t ALTER COLUMN c SET NOT NULL";
    let may_scan = |sql: &str| names(&effects_after(sql, 16).may_scan);
    let scans = |sql: &str| names(&effects_after(sql, 16).scans);
    assert_eq!(may_scan(set), ["t"]);
    for before in ["ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT 0", "ALTER TABLE t ADD COLUMN c int PRIMARY KEY"] {
        let sql = format!("{before};\n{set}");
        assert!(may_scan(&sql).is_empty() && scans(&sql).is_empty(), "{before}");
    }
    assert!(may_scan(&format!("{set};\n{set}")).is_empty());
    // Dropped again, or dropped with its column, it needs the check again.
    assert_eq!(may_scan(&format!("{set};\nALTER TABLE t ALTER COLUMN c DROP NOT NULL;\n{set}")), ["t"]);
    assert_eq!(
        may_scan(&format!("{set};\nALTER TABLE t DROP COLUMN c;\nALTER TABLE t ADD COLUMN c int;\n{set}")),
        ["t"]
    );
}
