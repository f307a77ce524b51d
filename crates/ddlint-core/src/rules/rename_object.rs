use crate::context::StatementCx;
use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::names::{string_value, RelationName};
use crate::violation::{Objects, Violation};
use pg_query::protobuf::{self as pg, node::Node as N, ObjectType};

declare_rule! {
    /// ## What it does
    /// Flags renames that `rename-column` and `rename-table` do not cover, of objects this
    /// migration did not create: a schema (`ALTER SCHEMA … RENAME`), a function or procedure,
    /// a type or domain, an enum value (`ALTER TYPE … RENAME VALUE`), and moving an object to
    /// another schema (`ALTER … SET SCHEMA`).
    ///
    /// ## Why is this bad?
    /// The release still running calls the function, casts to the type, compares with the
    /// enum value and names the schema as it knew them. From the moment the rename commits
    /// until every instance runs the new code, those queries fail (`function … does not
    /// exist`, `invalid input value for enum`).
    ///
    /// ## Example
    /// ```sql
    /// ALTER TYPE order_status RENAME VALUE 'canceled' TO 'cancelled';
    /// ```
    ///
    /// Use instead:
    /// ```sql
    /// ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'cancelled';
    /// ```
    ///
    /// Add the new name beside the old (a new enum value, a function under the new name that
    /// calls the old, a view in the new schema), move the code to it, and remove the old name
    /// in a later release.
    ///
    /// ## Locks
    /// Brief catalog locks; `SET SCHEMA` of a table takes `ACCESS EXCLUSIVE` on it.
    pub RULE = "rename-object", Warning, on, Some(check);
}

fn check(cx: &StatementCx<'_, '_>, out: &mut Vec<Diagnostic>) {
    let renamed = match cx.node() {
        N::RenameStmt(stmt) => {
            let kind = match stmt.rename_type() {
                ObjectType::ObjectSchema => Kind::Schema,
                ObjectType::ObjectFunction | ObjectType::ObjectProcedure | ObjectType::ObjectRoutine => Kind::Function,
                ObjectType::ObjectType => Kind::Type,
                ObjectType::ObjectDomain => Kind::Domain,
                _ => return,
            };
            let old = match kind {
                Kind::Schema => stmt.subname.clone(),
                _ => stmt.object.as_deref().and_then(object_name).unwrap_or_default(),
            };
            Renamed { kind, old, change: Change::RenamedTo(stmt.newname.clone()) }
        }
        N::AlterEnumStmt(stmt) if !stmt.old_val.is_empty() => Renamed {
            kind: Kind::EnumValue(stmt.type_name.iter().filter_map(string_value).collect::<Vec<_>>().join(".")),
            old: stmt.old_val.clone(),
            change: Change::RenamedTo(stmt.new_val.clone()),
        },
        N::AlterObjectSchemaStmt(stmt) => {
            let kind = match stmt.object_type() {
                ObjectType::ObjectTable => Kind::Table,
                ObjectType::ObjectView | ObjectType::ObjectMatview => Kind::View,
                ObjectType::ObjectSequence => Kind::Sequence,
                ObjectType::ObjectFunction | ObjectType::ObjectProcedure | ObjectType::ObjectRoutine => Kind::Function,
                ObjectType::ObjectType => Kind::Type,
                ObjectType::ObjectDomain => Kind::Domain,
                _ => return,
            };
            let old = match &stmt.relation {
                Some(rv) => RelationName::from_range_var(rv).to_string(),
                None => stmt.object.as_deref().and_then(object_name).unwrap_or_default(),
            };
            if let Some(rv) = &stmt.relation {
                if cx.is_new(&RelationName::from_range_var(rv)) {
                    return;
                }
            }
            Renamed { kind, old, change: Change::MovedTo(stmt.newschema.clone()) }
        }
        _ => return,
    };
    if renamed.old.is_empty() || created_earlier(cx, &renamed) {
        return;
    }
    // Triggers call their function by its OID, so its name is no one's to lose.
    let function = renamed.old.rsplit('.').next().unwrap_or_default();
    if matches!(renamed.kind, Kind::Function) && cx.with_catalog(|c| c.is_trigger_function(function)) {
        return;
    }
    out.push(cx.report(&RULE, cx.stmt.span, &renamed));
}

/// A name as a statement gives it: `app.total(int)` as `app.total`.
fn object_name(node: &pg::Node) -> Option<String> {
    let parts: Vec<&str> = match node.node.as_ref()? {
        N::List(list) => list.items.iter().filter_map(string_value).collect(),
        N::ObjectWithArgs(f) => f.objname.iter().filter_map(string_value).collect(),
        N::TypeName(t) => t.names.iter().filter_map(string_value).filter(|n| *n != "pg_catalog").collect(),
        N::String(s) => vec![s.sval.as_str()],
        _ => return None,
    };
    (!parts.is_empty()).then(|| parts.join("."))
}

/// Whether an earlier statement of the section creates what is renamed: nothing deployed uses
/// it yet.
fn created_earlier(cx: &StatementCx<'_, '_>, renamed: &Renamed) -> bool {
    let last = |name: &str| name.rsplit('.').next().unwrap_or(name).to_owned();
    let wanted = last(&renamed.old);
    let start = cx.file.section_start_of(cx.index);
    cx.file.statements[start..cx.index].iter().any(|s| match (&*s.node, &renamed.kind) {
        (N::CreateSchemaStmt(c), Kind::Schema) => c.schemaname == renamed.old,
        (N::CreateFunctionStmt(c), Kind::Function) => {
            c.funcname.iter().filter_map(string_value).next_back() == Some(&wanted)
        }
        (N::CreateEnumStmt(c), Kind::Type | Kind::EnumValue(_)) => {
            let name = c.type_name.iter().filter_map(string_value).next_back().map(str::to_owned);
            name == Some(match &renamed.kind {
                Kind::EnumValue(ty) => last(ty),
                _ => wanted.clone(),
            })
        }
        (N::CompositeTypeStmt(c), Kind::Type) => c.typevar.as_ref().is_some_and(|rv| rv.relname == wanted),
        (N::CreateDomainStmt(c), Kind::Domain) => {
            c.domainname.iter().filter_map(string_value).next_back() == Some(&wanted)
        }
        (N::ViewStmt(v), Kind::View) => v.view.as_ref().is_some_and(|rv| rv.relname == wanted),
        (N::CreateSeqStmt(c), Kind::Sequence) => c.sequence.as_ref().is_some_and(|rv| rv.relname == wanted),
        _ => false,
    })
}

enum Kind {
    Schema,
    Function,
    Type,
    Domain,
    /// A value of the enum type named.
    EnumValue(String),
    Table,
    View,
    Sequence,
}

enum Change {
    RenamedTo(String),
    /// Moved to the schema named.
    MovedTo(String),
}

struct Renamed {
    kind: Kind,
    old: String,
    change: Change,
}

impl Violation for Renamed {
    fn message(&self) -> String {
        let what = match &self.kind {
            Kind::Schema => format!("schema `{}`", self.old),
            Kind::Function => format!("function `{}`", self.old),
            Kind::Type => format!("type `{}`", self.old),
            Kind::Domain => format!("domain `{}`", self.old),
            Kind::EnumValue(ty) => format!("the value `{}` of `{ty}`", self.old),
            Kind::Table => format!("table `{}`", self.old),
            Kind::View => format!("view `{}`", self.old),
            Kind::Sequence => format!("sequence `{}`", self.old),
        };
        match &self.change {
            Change::RenamedTo(new) => {
                format!("renaming {what} to `{new}` breaks the application version that still uses the old name")
            }
            Change::MovedTo(schema) => format!(
                "moving {what} to schema `{schema}` breaks the application version that still finds it where it was"
            ),
        }
    }

    fn help(&self) -> Option<String> {
        Some(
            "add the new name beside the old one, move the code to it, and remove the old name in a later release"
                .into(),
        )
    }

    fn objects(&self) -> Objects {
        match self.kind {
            Kind::Table | Kind::View | Kind::Sequence => {
                let (schema, name) = match self.old.rsplit_once('.') {
                    Some((schema, name)) => (Some(schema), name),
                    None => (None, self.old.as_str()),
                };
                Objects::relation(&RelationName::new(schema, name))
            }
            _ => Objects::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{lines, messages};

    const ID: &str = "rename-object";

    #[test]
    fn flags_renames_the_running_release_feels() {
        let sql = "ALTER SCHEMA app RENAME TO core;
ALTER FUNCTION total(int) RENAME TO order_total;
ALTER TYPE mood RENAME TO feeling;
ALTER TYPE order_status RENAME VALUE 'canceled' TO 'cancelled';
ALTER TABLE orders SET SCHEMA archive;
ALTER FUNCTION app.total(int) SET SCHEMA core;
ALTER DOMAIN email RENAME TO address;";
        assert_eq!(lines(sql, ID), vec![1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(
            messages("ALTER TYPE order_status RENAME VALUE 'canceled' TO 'cancelled';", ID),
            vec!["renaming the value `canceled` of `order_status` to `cancelled` breaks the application version that still uses the old name"]
        );
        assert_eq!(
            messages("ALTER TABLE app.orders SET SCHEMA archive;", ID),
            vec!["moving table `app.orders` to schema `archive` breaks the application version that still finds it where it was"]
        );
    }

    #[test]
    fn what_this_migration_created_passes() {
        let sql = "CREATE SCHEMA staging;
ALTER SCHEMA staging RENAME TO stage;
CREATE TYPE mood AS ENUM ('ok');
ALTER TYPE mood RENAME VALUE 'ok' TO 'fine';
CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';
ALTER FUNCTION f() RENAME TO g;
CREATE TABLE t (a int);
ALTER TABLE t SET SCHEMA archive;";
        assert!(lines(sql, ID).is_empty(), "{:?}", lines(sql, ID));
        // A trigger function is called by its triggers, by OID.
        let history = "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE FUNCTION total() RETURNS int LANGUAGE sql AS 'SELECT 1';";
        let report = crate::rules::test_support::lint_after(
            history,
            "ALTER FUNCTION touch() RENAME TO touch_row;\nALTER FUNCTION total() RENAME TO sum_of;",
        );
        let flagged: Vec<&str> =
            report.diagnostics.iter().filter(|d| d.rule == ID).map(|d| d.message.as_str()).collect();
        assert_eq!(flagged.len(), 1, "{flagged:?}");
        assert!(flagged[0].contains("`total`"), "{flagged:?}");
        // Columns and tables are `rename-column`'s and `rename-table`'s.
        assert!(lines("ALTER TABLE t RENAME TO u;\nALTER TABLE t RENAME COLUMN a TO b;", ID).is_empty());
    }
}
