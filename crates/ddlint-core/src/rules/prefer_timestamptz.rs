use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::names::RelationName;
use crate::rules::shared::{base_name, column_types, table_of};
use crate::violation::{Objects, Violation};

declare_rule! {
    /// ## What it does
    /// Flags columns declared `timestamp` (`timestamp without time zone`), in `CREATE TABLE`,
    /// `ADD COLUMN` and `ALTER COLUMN … TYPE`.
    ///
    /// ## Why restrict this?
    /// A `timestamp` stores a wall-clock reading with no time zone, so the same value means
    /// different instants to clients in different zones, and comparisons across a daylight saving
    /// change go wrong. `timestamptz` stores an instant (in UTC) and converts to and from the
    /// session's time zone, at no extra cost. Converting a column later rewrites the table under
    /// an `ACCESS EXCLUSIVE` lock unless the session time zone is UTC.
    ///
    /// ## Example
    /// ```sql
    /// CREATE TABLE events (id bigint PRIMARY KEY, happened_at timestamp NOT NULL);
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// CREATE TABLE events (id bigint PRIMARY KEY, happened_at timestamptz NOT NULL);
    /// ```
    ///
    /// The rule is opt-in: enable it where every point in time should be stored as an instant.
    ///
    /// ## References
    /// - [Date/time types](https://www.postgresql.org/docs/current/datatype-datetime.html)
    /// - [Don't use timestamp without time zone](https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_timestamp_.28without_time_zone.29)
    pub RULE = "prefer-timestamptz", Warning, opt_in, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    for (column, ty) in column_types(cx.node()) {
        if base_name(ty) != Some("timestamp") {
            continue;
        }
        let violation = TimestampWithoutZone { table: table_of(cx.node()), column: column.to_owned() };
        out.push(cx.report(&RULE, cx.span_at(ty.location), &violation));
    }
}

struct TimestampWithoutZone {
    table: Option<RelationName>,
    column: String,
}

impl Violation for TimestampWithoutZone {
    fn message(&self) -> String {
        format!("`timestamp` column `{}` stores no time zone, so its values are ambiguous", self.column)
    }

    fn help(&self) -> Option<String> {
        Some("use `timestamptz`".into())
    }

    fn objects(&self) -> Objects {
        Objects { relation: self.table.clone(), column: Some(self.column.clone()), ..Objects::default() }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::lines_with;
    use crate::settings::Settings;

    const ID: &str = "prefer-timestamptz";

    fn lines(sql: &str) -> Vec<usize> {
        lines_with(sql, ID, &Settings { enabled: vec![ID.to_owned()], ..Settings::default() })
    }

    #[test]
    fn flags_timestamp_without_time_zone() {
        let sql = "CREATE TABLE t (\n  a timestamp,\n  b timestamp(3) without time zone,\n  c timestamptz\n);";
        assert_eq!(lines(sql), vec![2, 3]);
        assert_eq!(
            lines("ALTER TABLE t ADD COLUMN a timestamp;\nALTER TABLE t ALTER COLUMN b TYPE timestamp;"),
            vec![1, 2]
        );
    }

    #[test]
    fn timestamptz_and_other_types_pass() {
        assert!(lines("CREATE TABLE t (a timestamptz, b timestamp with time zone, c date, d time);").is_empty());
        assert!(crate::rules::test_support::lines("CREATE TABLE t (a timestamp);", ID).is_empty());
    }
}
