//! What the model can tell from expressions and type names alone: the volatility of a
//! column default, and whether a column type change keeps the stored bytes.

use super::catalog::{Catalog, ColumnType, Volatility};
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

/// Built-in functions that are volatile: a default calling one is evaluated per row, so
/// `ADD COLUMN … DEFAULT` rewrites the table.
const VOLATILE_FUNCTIONS: &[&str] = &[
    "random",
    "random_normal",
    "gen_random_uuid",
    "uuidv4",
    "uuidv7",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "clock_timestamp",
    "timeofday",
    "nextval",
    "setval",
    "txid_current",
    "pg_current_xact_id",
    "gen_random_bytes",
];

/// Built-in functions that are immutable or stable: evaluated once for `ADD COLUMN … DEFAULT`.
const NON_VOLATILE_FUNCTIONS: &[&str] = &[
    "now",
    "statement_timestamp",
    "transaction_timestamp",
    "current_setting",
    "lower",
    "upper",
    "length",
    "coalesce",
    "nullif",
    "greatest",
    "least",
    "concat",
    "concat_ws",
    "to_char",
    "to_timestamp",
    "to_date",
    "make_date",
    "make_interval",
    "jsonb_build_object",
    "json_build_object",
    "jsonb_build_array",
    "json_build_array",
    "array_fill",
    "md5",
    "abs",
    "round",
    "trim",
    "btrim",
    "replace",
    "substr",
    "substring",
    "format",
    "date_trunc",
    "timezone",
];

/// The volatility of an expression, or `None` when it calls a function the model does not know.
pub fn volatility(expr: &pg::Node, catalog: &Catalog) -> Option<Volatility> {
    volatility_at(expr, catalog, 0)
}

/// Deeper expressions than this are not judged (and so unknown), which keeps the recursion
/// well inside the stack on machine-made SQL.
const MAX_DEPTH: usize = 64;

fn volatility_at(expr: &pg::Node, catalog: &Catalog, depth: usize) -> Option<Volatility> {
    if depth > MAX_DEPTH {
        return None;
    }
    let Some(node) = &expr.node else { return Some(Volatility::Immutable) };
    let all = |nodes: &[pg::Node]| -> Option<Volatility> {
        nodes.iter().try_fold(Volatility::Immutable, |acc, n| Some(max(acc, volatility_at(n, catalog, depth + 1)?)))
    };
    let one = |n: &Option<Box<pg::Node>>| {
        n.as_deref().map_or(Some(Volatility::Immutable), |n| volatility_at(n, catalog, depth + 1))
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
        N::FuncCall(call) => {
            let name = call.funcname.iter().rev().find_map(|n| match &n.node {
                Some(N::String(s)) => Some(s.sval.as_str()),
                _ => None,
            })?;
            let own = if VOLATILE_FUNCTIONS.contains(&name) {
                Volatility::Volatile
            } else if NON_VOLATILE_FUNCTIONS.contains(&name) {
                Volatility::Stable
            } else {
                catalog.function_volatility(name)?
            };
            Some(max(own, all(&call.args)?))
        }
        _ => None,
    }
}

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
    "regclass",
];

const SERIAL_TYPES: &[&str] = &["serial", "bigserial", "smallserial", "serial2", "serial4", "serial8"];

pub fn is_builtin(ty: &ColumnType) -> bool {
    BUILTIN_TYPES.contains(&ty.name.as_str())
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
