//! What the model can tell from expressions and type names alone: the volatility of a
//! column default, and whether a column type change keeps the stored bytes.

use super::builtin_functions;
use super::catalog::{Catalog, ColumnType, Volatility};
use crate::names::string_value;
use pg_query::protobuf::{self as pg, node::Node as N};

/// A yes/no answer the model may not be able to give without the schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Certainty {
    No,
    Maybe,
    Yes,
}

impl Certainty {
    pub fn from_bool(yes: bool) -> Self {
        if yes {
            Certainty::Yes
        } else {
            Certainty::No
        }
    }
}

/// The volatility of an expression on PostgreSQL `pg_version`, or `None` when it calls a
/// function the model does not know.
pub fn volatility(expr: &pg::Node, catalog: &Catalog, pg_version: u32) -> Option<Volatility> {
    volatility_at(expr, catalog, pg_version, 0)
}

/// Deeper expressions than this are not judged (and so unknown), which keeps the recursion
/// well inside the stack on machine-made SQL.
const MAX_DEPTH: usize = 64;

fn volatility_at(expr: &pg::Node, catalog: &Catalog, pg_version: u32, depth: usize) -> Option<Volatility> {
    if depth > MAX_DEPTH {
        return None;
    }
    let Some(node) = &expr.node else { return Some(Volatility::Immutable) };
    let all = |nodes: &[pg::Node]| -> Option<Volatility> {
        nodes
            .iter()
            .try_fold(Volatility::Immutable, |acc, n| Some(max(acc, volatility_at(n, catalog, pg_version, depth + 1)?)))
    };
    let one = |n: &Option<Box<pg::Node>>| {
        n.as_deref().map_or(Some(Volatility::Immutable), |n| volatility_at(n, catalog, pg_version, depth + 1))
    };
    match node {
        N::AConst(_) | N::ParamRef(_) => Some(Volatility::Immutable),
        N::SqlvalueFunction(_) => Some(Volatility::Stable),
        N::TypeCast(c) => one(&c.arg),
        N::CollateClause(c) => one(&c.arg),
        N::AExpr(e) => Some(max(one(&e.lexpr)?, one(&e.rexpr)?)),
        N::BoolExpr(e) => all(&e.args),
        N::NullTest(t) => one(&t.arg),
        N::CoalesceExpr(e) => all(&e.args),
        N::MinMaxExpr(e) => all(&e.args),
        N::AArrayExpr(e) => all(&e.elements),
        N::RowExpr(e) => all(&e.args),
        N::CaseExpr(e) => {
            let whens = e.args.iter().try_fold(Volatility::Immutable, |acc, w| match &w.node {
                Some(N::CaseWhen(w)) => Some(max(acc, max(one(&w.expr)?, one(&w.result)?))),
                _ => None,
            })?;
            Some(max(whens, max(one(&e.arg)?, one(&e.defresult)?)))
        }
        N::FuncCall(call) => Some(max(function_volatility(&call.funcname, catalog, pg_version)?, all(&call.args)?)),
        _ => None,
    }
}

/// The volatility of the function a call names, its arguments aside.
///
/// PostgreSQL looks a name up in `pg_catalog` before the search path, so a built-in wins over
/// a function of the same name that the migrations created; a call qualified with another
/// schema never reaches a built-in.
fn function_volatility(funcname: &[pg::Node], catalog: &Catalog, pg_version: u32) -> Option<Volatility> {
    let mut parts = funcname.iter().rev().filter_map(string_value);
    let name = parts.next()?;
    let schema = parts.next();
    if schema.is_none_or(|s| s == "pg_catalog") {
        if let Some(builtin) = builtin_volatility(name, pg_version) {
            return builtin;
        }
    }
    if let Some(own) = catalog.function_volatility(name) {
        return Some(own);
    }
    EXTENSION_FUNCTIONS.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
}

/// The volatility of the function `name` in `pg_catalog` on `pg_version`: `None` when there is
/// none, `Some(None)` when its overloads differ in whether they are volatile (which one a call
/// picks depends on the argument types, which the model does not know).
///
/// Versions older than the table's first, which no server checks, are judged by the first.
fn builtin_volatility(name: &str, pg_version: u32) -> Option<Option<Volatility>> {
    let column = builtin_functions::VERSIONS.iter().rposition(|&v| v <= pg_version).unwrap_or(0);
    let index = builtin_functions::FUNCTIONS.binary_search_by(|(n, _)| (*n).cmp(name)).ok()?;
    match builtin_functions::FUNCTIONS[index].1[column] {
        b'i' => Some(Some(Volatility::Immutable)),
        b's' => Some(Some(Volatility::Stable)),
        b'v' => Some(Some(Volatility::Volatile)),
        b'?' => Some(None),
        _ => None,
    }
}

/// Functions of common extensions, which live outside `pg_catalog` and so outside the
/// generated table, but turn up in column defaults often enough to be worth knowing:
/// uuid-ossp's UUID generators and pgcrypto's random bytes. pgcrypto brings its own
/// `gen_random_uuid`, called with its schema where the extension lives in one of its own
/// (`extensions.gen_random_uuid()`).
const EXTENSION_FUNCTIONS: &[(&str, Volatility)] = &[
    ("uuid_generate_v1", Volatility::Volatile),
    ("uuid_generate_v1mc", Volatility::Volatile),
    ("uuid_generate_v3", Volatility::Immutable),
    ("uuid_generate_v4", Volatility::Volatile),
    ("uuid_generate_v5", Volatility::Immutable),
    ("gen_random_bytes", Volatility::Volatile),
    ("gen_random_uuid", Volatility::Volatile),
];

fn max(a: Volatility, b: Volatility) -> Volatility {
    let rank = |v| match v {
        Volatility::Immutable => 0,
        Volatility::Stable => 1,
        Volatility::Volatile => 2,
    };
    if rank(a) >= rank(b) {
        a
    } else {
        b
    }
}

/// Types built into PostgreSQL by their internal name: a column of one of these is never
/// a domain, so adding it without a default never rewrites.
const BUILTIN_TYPES: &[&str] = &[
    "bool",
    "int2",
    "int4",
    "int8",
    "float4",
    "float8",
    "numeric",
    "money",
    "text",
    "varchar",
    "bpchar",
    "char",
    "name",
    "bytea",
    "date",
    "time",
    "timetz",
    "timestamp",
    "timestamptz",
    "interval",
    "uuid",
    "json",
    "jsonb",
    "xml",
    "inet",
    "cidr",
    "macaddr",
    "macaddr8",
    "bit",
    "varbit",
    "tsvector",
    "tsquery",
    "oid",
    "point",
    "line",
    "lseg",
    "box",
    "path",
    "polygon",
    "circle",
    "int4range",
    "int8range",
    "numrange",
    "tsrange",
    "tstzrange",
    "daterange",
    "int4multirange",
    "int8multirange",
    "nummultirange",
    "tsmultirange",
    "tstzmultirange",
    "datemultirange",
    "jsonpath",
    "pg_lsn",
    "xid",
    "xid8",
    "cid",
    "tid",
    "txid_snapshot",
    "pg_snapshot",
    "regclass",
    "regproc",
    "regprocedure",
    "regoper",
    "regoperator",
    "regtype",
    "regrole",
    "regnamespace",
    "regconfig",
    "regdictionary",
    "regcollation",
];

const SERIAL_TYPES: &[&str] = &["serial", "bigserial", "smallserial", "serial2", "serial4", "serial8"];

/// Base types of widely used extensions (citext, hstore, ltree, PostGIS, pgvector, cube, seg,
/// isn): a column of one is never a domain, so adding it without a default never rewrites,
/// even when the history never saw the extension created.
const EXTENSION_TYPES: &[&str] = &[
    "citext",
    "hstore",
    "ltree",
    "lquery",
    "ltxtquery",
    "geometry",
    "geography",
    "raster",
    "box2d",
    "box3d",
    "vector",
    "halfvec",
    "sparsevec",
    "cube",
    "earth",
    "seg",
    "isbn",
    "isbn13",
    "issn",
    "issn13",
    "ismn",
    "ismn13",
    "ean13",
    "upc",
];

pub fn is_builtin(ty: &ColumnType) -> bool {
    BUILTIN_TYPES.contains(&ty.name.as_str())
}

/// Whether a type is certainly no domain: built in, or a common extension's base type.
pub fn is_base_type(ty: &ColumnType) -> bool {
    is_builtin(ty) || EXTENSION_TYPES.contains(&ty.name.as_str())
}

pub fn is_serial(ty: &ColumnType) -> bool {
    SERIAL_TYPES.contains(&ty.name.as_str())
}

/// Whether `ALTER COLUMN … TYPE new` rewrites a column of type `old`: binary-coercible
/// changes and typmod relaxations keep the stored bytes (PostgreSQL's
/// `ATColumnChangeRequiresRewrite`, with the length-coercion support functions of
/// varchar, numeric, bit varying and the datetime types).
pub fn type_change_rewrites(old: &ColumnType, new: &ColumnType, pg_version: u32) -> Certainty {
    if old.array != new.array {
        return Certainty::Yes;
    }
    if !is_builtin(old) || !is_builtin(new) {
        return Certainty::Maybe;
    }
    let (o, n) = (old.name.as_str(), new.name.as_str());
    if o == n {
        if old.typmods == new.typmods || new.typmods.is_empty() {
            return Certainty::No;
        }
        return match o {
            "varchar" | "varbit" => match (old.typmods.first(), new.typmods.first()) {
                (Some(a), Some(b)) => Certainty::from_bool(b < a),
                _ => Certainty::Yes,
            },
            "numeric" => match (old.typmods.as_slice(), new.typmods.as_slice()) {
                ([p0], [p1]) => Certainty::from_bool(p1 < p0),
                ([p0, s0], [p1, s1]) => Certainty::from_bool(!(s1 == s0 && p1 >= p0)),
                ([p0], [p1, 0]) => Certainty::from_bool(p1 < p0),
                _ => Certainty::Yes,
            },
            "timestamp" | "timestamptz" | "time" | "timetz" => match (old.typmods.first(), new.typmods.first()) {
                (Some(a), Some(b)) => Certainty::from_bool(b < a),
                _ => Certainty::Yes,
            },
            // `interval(3)` is written with its fields first (`DAY TO SECOND(3)`, or all of
            // them): the precision is last, and the fields must stay.
            "interval" => match (old.typmods.as_slice(), new.typmods.as_slice()) {
                ([.., a], [.., b]) if old.typmods.len() == new.typmods.len() => {
                    let same_fields = old.typmods[..old.typmods.len() - 1] == new.typmods[..new.typmods.len() - 1];
                    Certainty::from_bool(!same_fields || b < a)
                }
                _ => Certainty::Yes,
            },
            _ => Certainty::Maybe,
        };
    }
    match (o, n) {
        // Binary coercible with no length check.
        ("varchar", "text") => Certainty::No,
        ("text", "varchar") if new.typmods.is_empty() => Certainty::No,
        ("cidr", "inet") => Certainty::No,
        ("bit", "varbit") if new.typmods.is_empty() => Certainty::No,
        // The conversion depends on the session's TimeZone: none when it is UTC (PostgreSQL 12+).
        ("timestamp", "timestamptz") | ("timestamptz", "timestamp") if pg_version >= 12 => {
            if old.typmods == new.typmods || new.typmods.is_empty() {
                Certainty::Maybe
            } else {
                Certainty::Yes
            }
        }
        _ => Certainty::Yes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Volatility::{Immutable, Stable, Volatile};

    /// The volatility of the expression `expr` on `pg_version`, with the statements of `setup`
    /// fed to the catalog first.
    fn judge(setup: &str, expr: &str, pg_version: u32) -> Option<Volatility> {
        let mut catalog = Catalog::default();
        for stmt in crate::pg_ffi::parse(setup).unwrap().stmts {
            catalog.apply(&stmt.stmt.unwrap().node.unwrap());
        }
        let tree = crate::pg_ffi::parse(&format!("SELECT {expr}")).unwrap();
        let Some(N::SelectStmt(select)) = tree.stmts[0].stmt.as_ref().unwrap().node.as_ref() else { panic!("{expr}") };
        let Some(N::ResTarget(target)) = select.target_list[0].node.as_ref() else { panic!("{expr}") };
        volatility(target.val.as_deref().unwrap(), &catalog, pg_version)
    }

    /// Each case: an expression, then its volatility on PostgreSQL 14, 15, 16, 17 and 18.
    #[test]
    fn built_in_functions_by_version() {
        let cases: &[(&str, [Option<Volatility>; 5])] = &[
            ("tstzrange(now(), NULL)", [Some(Stable); 5]),
            ("pg_catalog.now()", [Some(Stable); 5]),
            ("lower('A') || md5('x')", [Some(Immutable); 5]),
            ("random()", [Some(Volatile); 5]),
            ("clock_timestamp()", [Some(Volatile); 5]),
            ("gen_random_uuid()", [Some(Volatile); 5]),
            ("nextval('s'::regclass)", [Some(Volatile); 5]),
            ("random_normal()", [None, None, Some(Volatile), Some(Volatile), Some(Volatile)]),
            ("uuidv7()", [None, None, None, None, Some(Volatile)]),
            // The current transaction's id does not change from row to row.
            ("txid_current()", [Some(Stable); 5]),
            // On 14, `timezone(text, timetz)` is volatile and the other overloads are not: which
            // one `AT TIME ZONE` calls depends on the operand's type.
            ("now() AT TIME ZONE 'UTC'", [None, Some(Stable), Some(Stable), Some(Stable), Some(Stable)]),
            // Schema-qualified to another schema: not the built-in.
            ("myschema.now()", [None; 5]),
            ("no_such_function()", [None; 5]),
            // A volatile argument makes the call volatile.
            ("lower(random()::text)", [Some(Volatile); 5]),
        ];
        for (expr, expected) in cases {
            for (version, expected) in (14..=18).zip(expected) {
                assert_eq!(judge("", expr, version), *expected, "{expr} on PostgreSQL {version}");
            }
        }
    }

    #[test]
    fn versions_outside_the_table_take_the_nearest_column() {
        assert_eq!(judge("", "uuidv7()", 11), None);
        assert_eq!(judge("", "random()", 11), Some(Volatile));
        assert_eq!(judge("", "uuidv7()", 19), Some(Volatile));
    }

    #[test]
    fn extension_functions_in_any_schema() {
        for expr in ["uuid_generate_v4()", "extensions.uuid_generate_v1mc()", "public.gen_random_bytes(16)"] {
            assert_eq!(judge("", expr, 17), Some(Volatile), "{expr}");
        }
        assert_eq!(judge("", "extensions.gen_random_uuid()", 17), Some(Volatile));
        assert_eq!(judge("", "uuid_generate_v5(uuid_ns_url(), 'x')", 17), None, "uuid_ns_url is not listed");
    }

    #[test]
    fn functions_the_migrations_created() {
        let stable = "CREATE FUNCTION region() RETURNS text LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN 'eu'; END $$";
        assert_eq!(judge(stable, "region()", 17), Some(Stable));
        assert_eq!(judge(stable, "myschema.region()", 17), Some(Stable));
        let volatile = "CREATE FUNCTION region() RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN 'eu'; END $$";
        assert_eq!(judge(volatile, "region()", 17), Some(Volatile));
        // `pg_catalog` comes first: an unqualified `now()` is still the built-in.
        let now = "CREATE FUNCTION now() RETURNS timestamptz LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$";
        assert_eq!(judge(now, "now()", 17), Some(Stable));
        assert_eq!(judge(now, "myschema.now()", 17), Some(Volatile));
    }

    #[test]
    fn the_generated_table_is_sorted_and_well_formed() {
        let functions = builtin_functions::FUNCTIONS;
        assert!(functions.windows(2).all(|w| w[0].0 < w[1].0), "FUNCTIONS must be sorted by name, without repeats");
        for (name, column) in functions {
            assert!(column.iter().all(|b| b"isv?-".contains(b)), "{name}: {column:?}");
            assert!(column.iter().any(|&b| b != b'-'), "{name} is in no version");
        }
        assert!(builtin_functions::VERSIONS.windows(2).all(|w| w[0] < w[1]));
    }
}
