//! The one list of rules.

use crate::rules::{self, RuleMeta};

static RULES: &[&RuleMeta] = &[
    &rules::add_column_not_null_without_default::RULE,
    &rules::add_foreign_key_validated::RULE,
    &rules::concurrently_in_transaction::RULE,
    &rules::create_index_non_concurrently::RULE,
    &rules::drop_index_non_concurrently::RULE,
    &rules::missing_lock_timeout::RULE,
    &rules::rename_column::RULE,
    &rules::rename_table::RULE,
    &rules::set_not_null::RULE,
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
