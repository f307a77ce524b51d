use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::names::RelationName;
use crate::rules::shared::{base_name, column_types, table_of};
use crate::violation::{Objects, Violation};

declare_rule! {
    /// ## What it does
    /// Flags columns declared `json`, in `CREATE TABLE`, `ADD COLUMN` and `ALTER COLUMN … TYPE`.
    ///
    /// ## Why restrict this?
    /// `json` keeps the text as written and has no equality operator: `DISTINCT`, `UNION`,
    /// `GROUP BY` and `=` over a row with a `json` column fail (`could not identify an equality
    /// operator for type json`), and every read parses the text again. `jsonb` stores the parsed
    /// value, compares, and can be indexed. Changing the type later rewrites the table.
    ///
    /// ## Example
    /// ```sql
    /// CREATE TABLE events (id bigint PRIMARY KEY, payload json);
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// CREATE TABLE events (id bigint PRIMARY KEY, payload jsonb);
    /// ```
    ///
    /// The rule is opt-in: enable it where documents need not keep their exact text.
    ///
    /// ## References
    /// - [JSON types](https://www.postgresql.org/docs/current/datatype-json.html)
    pub RULE = "prefer-jsonb", Warning, opt_in, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    for (column, ty) in column_types(cx.node()) {
        if base_name(ty) != Some("json") {
            continue;
        }
        let violation = JsonColumn { table: table_of(cx.node()), column: column.to_owned() };
        out.push(cx.report(&RULE, cx.span_at(ty.location), &violation));
    }
}

struct JsonColumn {
    table: Option<RelationName>,
    column: String,
}

impl Violation for JsonColumn {
    fn message(&self) -> String {
        format!(
            "`json` column `{}` has no equality, so `DISTINCT`, `UNION` and `GROUP BY` over its rows fail",
            self.column
        )
    }

    fn help(&self) -> Option<String> {
        Some("use `jsonb`".into())
    }

    fn objects(&self) -> Objects {
        Objects { relation: self.table.clone(), column: Some(self.column.clone()), ..Objects::default() }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::lines_with;
    use crate::settings::Settings;

    const ID: &str = "prefer-jsonb";

    fn lines(sql: &str) -> Vec<usize> {
        lines_with(sql, ID, &Settings { enabled: vec![ID.to_owned()], ..Settings::default() })
    }

    #[test]
    fn flags_json_columns() {
        assert_eq!(lines("CREATE TABLE t (a json, b jsonb);\nALTER TABLE t ADD COLUMN c pg_catalog.json;"), vec![1, 2]);
        assert!(lines("CREATE TABLE t (a jsonb);\nALTER TABLE t ALTER COLUMN a TYPE jsonb;").is_empty());
        assert!(lines_with("CREATE TABLE t (a json);", ID, &Settings::default()).is_empty(), "opt-in");
    }
}
