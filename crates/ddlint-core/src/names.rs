//! Relation names as PostgreSQL resolves them.
//!
//! The parser has already folded unquoted identifiers to lower case and kept quoted ones
//! as written, so names compare byte for byte. An unqualified name is taken to live in
//! `public`, the schema of a default `search_path`.

use pg_query::protobuf as pg;
use std::borrow::Cow;
use std::fmt;

/// PostgreSQL's limit on an identifier's length in bytes (`NAMEDATALEN - 1`).
pub const MAX_IDENTIFIER_BYTES: usize = 63;

/// `name` as SQL writes it: bare when PostgreSQL reads it back unchanged (lower case, no
/// keyword), double-quoted otherwise. Quoting a name that needs none is harmless, so any
/// keyword, even one the grammar would accept bare, is quoted.
pub fn quote_ident(name: &str) -> Cow<'_, str> {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if plain && !is_keyword(name) {
        Cow::Borrowed(name)
    } else {
        Cow::Owned(format!("\"{}\"", name.replace('"', "\"\"")))
    }
}

fn is_keyword(word: &str) -> bool {
    match crate::pg_ffi::scan(word) {
        Ok(tokens) => tokens.iter().any(|t| t.keyword_kind != pg::KeywordKind::NoKeyword),
        Err(_) => true,
    }
}

/// The name PostgreSQL gives a constraint or index the statement leaves unnamed
/// (`ChooseConstraintName`'s first choice: `makeObjectName` in `indexcmds.c`): the table,
/// the columns joined by `_`, and the label (`fkey`, `check`, `key`, `pkey`, `not_null`),
/// each part cut so that the whole fits in 63 bytes, the longer part first. The server adds
/// a number when the name is taken, which ddlint cannot see; callers name the object
/// explicitly with what this returns.
pub fn default_object_name(table: &str, columns: &[&str], label: &str) -> String {
    let name2 = columns.join("_");
    let overhead = label.len() + 1 + usize::from(!name2.is_empty());
    let available = MAX_IDENTIFIER_BYTES.saturating_sub(overhead);
    let (mut len1, mut len2) = (table.len(), name2.len());
    while len1 + len2 > available {
        if len1 > len2 {
            len1 -= 1;
        } else {
            len2 -= 1;
        }
    }
    let clip = |s: &str, mut len: usize| {
        while !s.is_char_boundary(len) {
            len -= 1;
        }
        s[..len].to_owned()
    };
    let mut name = clip(table, len1);
    if !name2.is_empty() {
        name.push('_');
        name.push_str(&clip(&name2, len2));
    }
    name.push('_');
    name.push_str(label);
    name
}

/// The text of a `String` node, as name lists and key lists hold them.
pub fn string_value(node: &pg::Node) -> Option<&str> {
    match &node.node {
        Some(pg::node::Node::String(s)) => Some(s.sval.as_str()),
        _ => None,
    }
}

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
        let strings: Vec<&str> = parts.iter().filter_map(string_value).collect();
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

    /// The name as SQL writes it, each part quoted where PostgreSQL needs it.
    pub fn to_sql(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{}.{}", quote_ident(schema), quote_ident(&self.name)),
            None => quote_ident(&self.name).into_owned(),
        }
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
    fn names_are_quoted_where_postgres_needs_it() {
        assert_eq!(quote_ident("users"), "users");
        assert_eq!(quote_ident("user_id2"), "user_id2");
        assert_eq!(quote_ident("Users"), "\"Users\"");
        assert_eq!(quote_ident("order"), "\"order\"");
        assert_eq!(quote_ident("user"), "\"user\"");
        assert_eq!(quote_ident("a b"), "\"a b\"");
        assert_eq!(quote_ident("say \"hi\""), r#""say ""hi""""#);
        assert_eq!(quote_ident("1st"), "\"1st\"");
        assert_eq!(RelationName::new(Some("Audit"), "select").to_sql(), "\"Audit\".\"select\"");
    }

    #[test]
    fn default_names_follow_postgres() {
        assert_eq!(default_object_name("orders", &["user_id"], "fkey"), "orders_user_id_fkey");
        assert_eq!(default_object_name("t", &["a", "b"], "key"), "t_a_b_key");
        assert_eq!(default_object_name("t", &[], "check"), "t_check");
        // PostgreSQL cuts the longer part first, so the whole name is 63 bytes.
        let long = default_object_name(&"x".repeat(40), &[&"y".repeat(40)], "fkey");
        assert_eq!(long.len(), MAX_IDENTIFIER_BYTES);
        assert_eq!(long, format!("{}_{}_fkey", "x".repeat(29), "y".repeat(28)));
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
