//! Relation names as PostgreSQL resolves them.
//!
//! The parser has already folded unquoted identifiers to lower case and kept quoted ones
//! as written, so names compare byte for byte. An unqualified name is taken to live in
//! `public`, the schema of a default `search_path`.

use pg_query::protobuf as pg;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelationName {
    pub schema: Option<String>,
    pub name: String,
}

impl RelationName {
    pub fn new(schema: Option<&str>, name: &str) -> Self {
        Self { schema: schema.filter(|s| !s.is_empty()).map(str::to_owned), name: name.to_owned() }
    }

    pub fn from_range_var(rv: &pg::RangeVar) -> Self {
        Self::new(Some(&rv.schemaname), &rv.relname)
    }

    /// Builds a name from a list of `String` nodes such as `DropStmt` objects carry.
    pub fn from_name_list(parts: &[pg::Node]) -> Option<Self> {
        let strings: Vec<&str> = parts
            .iter()
            .filter_map(|n| match &n.node {
                Some(pg::node::Node::String(s)) => Some(s.sval.as_str()),
                _ => None,
            })
            .collect();
        match strings.as_slice() {
            [name] => Some(Self::new(None, name)),
            [.., schema, name] => Some(Self::new(Some(schema), name)),
            [] => None,
        }
    }

    /// The schema the name resolves to under the default `search_path`.
    pub fn resolved_schema(&self) -> &str {
        self.schema.as_deref().unwrap_or("public")
    }

    /// Whether two names denote the same relation.
    pub fn same_as(&self, other: &RelationName) -> bool {
        self.name == other.name && self.resolved_schema() == other.resolved_schema()
    }

    /// Whether `rv` denotes this relation: `same_as` without building a name for `rv`, for
    /// loops over many statements.
    pub fn is_named_by(&self, rv: &pg::RangeVar) -> bool {
        let schema = if rv.schemaname.is_empty() { "public" } else { rv.schemaname.as_str() };
        self.name == rv.relname && self.resolved_schema() == schema
    }

    /// A key under which `same_as` names collide.
    pub fn key(&self) -> (String, String) {
        (self.resolved_schema().to_owned(), self.name.clone())
    }
}

impl fmt::Display for RelationName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_is_the_default_schema() {
        let a = RelationName::new(Some("public"), "users");
        let b = RelationName::new(None, "users");
        assert!(a.same_as(&b));
        assert!(!a.same_as(&RelationName::new(Some("audit"), "users")));
        assert_eq!(a.key(), b.key());
    }

    #[test]
    fn is_named_by_agrees_with_same_as() {
        let rv = |schema: &str, name: &str| pg::RangeVar {
            schemaname: schema.to_owned(),
            relname: name.to_owned(),
            ..pg::RangeVar::default()
        };
        for (schema, name) in [("", "users"), ("public", "users"), ("audit", "users"), ("", "orders")] {
            for other in [RelationName::new(None, "users"), RelationName::new(Some("audit"), "users")] {
                let rv = rv(schema, name);
                assert_eq!(other.is_named_by(&rv), RelationName::from_range_var(&rv).same_as(&other));
            }
        }
    }
}
