use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::names::RelationName;
use crate::rules::shared::{base_name, column_types, table_of};
use crate::violation::{Objects, Violation};
use pg_query::protobuf::{self as pg, node::Node as N};

declare_rule! {
    /// ## What it does
    /// Flags columns declared `varchar(n)` (`character varying(n)`), in `CREATE TABLE`,
    /// `ADD COLUMN` and `ALTER COLUMN … TYPE`.
    ///
    /// ## Why restrict this?
    /// In PostgreSQL, `text` and `varchar` are stored the same way; the length is only a check.
    /// Written into the type, that check can only be changed with `ALTER COLUMN … TYPE`, which
    /// takes an `ACCESS EXCLUSIVE` lock, and shortening it rewrites the table. A `CHECK` constraint
    /// on a `text` column does the same job and can be replaced with `NOT VALID` and a separate
    /// validation, under locks that let reads and writes go on.
    ///
    /// ## Example
    /// ```sql
    /// CREATE TABLE users (email varchar(255) NOT NULL);
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// CREATE TABLE users (email text NOT NULL CHECK (char_length(email) <= 255));
    /// ```
    ///
    /// The rule is opt-in: enable it where length limits should live in constraints.
    ///
    /// ## References
    /// - [Character types](https://www.postgresql.org/docs/current/datatype-character.html)
    pub RULE = "prefer-text", Warning, opt_in, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    for (column, ty) in column_types(cx.node()) {
        if base_name(ty) != Some("varchar") {
            continue;
        }
        let Some(length) = ty.typmods.first().and_then(int_value) else { continue };
        let violation = LimitedVarchar { table: table_of(cx.node()), column: column.to_owned(), length };
        out.push(cx.report(&RULE, cx.span_at(ty.location), &violation));
    }
}

struct LimitedVarchar {
    table: Option<RelationName>,
    column: String,
    length: i32,
}

impl Violation for LimitedVarchar {
    fn message(&self) -> String {
        let Self { column, length, .. } = self;
        format!(
            "`varchar({length})` puts the length limit of `{column}` in its type, where changing it locks the table"
        )
    }

    fn help(&self) -> Option<String> {
        let Self { column, length, .. } = self;
        Some(format!("use `text` with `CHECK (char_length({column}) <= {length})`"))
    }

    fn objects(&self) -> Objects {
        Objects { relation: self.table.clone(), column: Some(self.column.clone()), ..Objects::default() }
    }
}

fn int_value(node: &pg::Node) -> Option<i32> {
    match &node.node {
        Some(N::AConst(pg::AConst { val: Some(pg::a_const::Val::Ival(i)), .. })) => Some(i.ival),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::lines_with;
    use crate::settings::Settings;

    const ID: &str = "prefer-text";

    fn lines(sql: &str) -> Vec<usize> {
        lines_with(sql, ID, &Settings { enabled: vec![ID.to_owned()], ..Settings::default() })
    }

    #[test]
    fn flags_varchar_with_a_length() {
        assert_eq!(
            lines("CREATE TABLE t (\n  a varchar(10),\n  b character varying(20),\n  c varchar\n);"),
            vec![2, 3]
        );
        assert_eq!(
            lines("ALTER TABLE t ADD COLUMN a varchar(10);\nALTER TABLE t ALTER COLUMN b TYPE varchar(5);"),
            vec![1, 2]
        );
    }

    #[test]
    fn text_and_plain_varchar_pass() {
        assert!(lines("CREATE TABLE t (a text, b varchar, c char(2));").is_empty());
        assert!(crate::rules::test_support::lines("CREATE TABLE t (a varchar(10));", ID).is_empty());
    }
}
