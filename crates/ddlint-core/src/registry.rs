//! The one list of rules.

use crate::rules::{self, RuleMeta};

static RULES: &[&RuleMeta] = &[
    &rules::add_check_constraint_validated::RULE,
    &rules::add_column_not_null_without_default::RULE,
    &rules::add_column_volatile_default::RULE,
    &rules::add_domain_constraint_validated::RULE,
    &rules::add_exclusion_constraint::RULE,
    &rules::add_foreign_key_validated::RULE,
    &rules::add_generated_column::RULE,
    &rules::add_unique_constraint::RULE,
    &rules::alter_column_type::RULE,
    &rules::attach_partition_without_check::RULE,
    &rules::backfill_without_where::RULE,
    &rules::cluster::RULE,
    &rules::concurrently_in_transaction::RULE,
    &rules::copy_and_swap::RULE,
    &rules::create_index_non_concurrently::RULE,
    &rules::detach_partition_non_concurrently::RULE,
    &rules::disable_triggers::RULE,
    &rules::drop_column::RULE,
    &rules::drop_database_or_schema::RULE,
    &rules::drop_index_non_concurrently::RULE,
    &rules::drop_not_null_default::RULE,
    &rules::drop_table::RULE,
    &rules::enum_add_value_in_transaction::RULE,
    &rules::expand_and_contract_in_one_change::RULE,
    &rules::flyway_mixed_transaction::RULE,
    &rules::foreign_key_without_index::RULE,
    &rules::lock_table::RULE,
    &rules::missing_lock_timeout::RULE,
    &rules::multiple_access_exclusive_locks::RULE,
    &rules::prefer_bigint::RULE,
    &rules::prefer_jsonb::RULE,
    &rules::prefer_text::RULE,
    &rules::prefer_timestamptz::RULE,
    &rules::refresh_materialized_view_non_concurrently::RULE,
    &rules::refused_by_postgres::RULE,
    &rules::reindex_non_concurrently::RULE,
    &rules::rename_column::RULE,
    &rules::rename_object::RULE,
    &rules::rename_table::RULE,
    &rules::require_if_not_exists::RULE,
    &rules::require_statement_timeout::RULE,
    &rules::set_not_null::RULE,
    &rules::statements_after_access_exclusive::RULE,
    &rules::table_rewrite::RULE,
    &rules::truncate::RULE,
    &rules::unclosed_transaction::RULE,
    &rules::vacuum_full::RULE,
    &rules::validate_in_same_transaction::RULE,
    &rules::engine::SYNTAX_ERROR,
    &rules::engine::UNREADABLE_FILE,
    &rules::engine::PSQL_META_COMMAND,
    &rules::engine::UNKNOWN_RULE,
    &rules::engine::UNUSED_IGNORE,
];

/// Every rule, in id order.
pub fn all() -> Vec<&'static RuleMeta> {
    let mut rules = RULES.to_vec();
    rules.sort_by_key(|r| r.id);
    rules
}

/// The rule with this id or alias.
pub fn find(id: &str) -> Option<&'static RuleMeta> {
    RULES.iter().copied().find(|r| r.id == id || r.aliases.contains(&id))
}

/// The current id for an id or alias.
pub fn canonical_id(id: &str) -> Option<&'static str> {
    find(id).map(|r| r.id)
}
