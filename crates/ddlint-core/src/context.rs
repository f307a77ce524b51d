//! What a rule can see around a statement: the transaction it runs in, the statements
//! before it in that transaction, the tables the file created, and whether `lock_timeout`
//! is in force. All of it is computed in one pass over the file.

use crate::diagnostic::Diagnostic;
use crate::framework::{Direction, Framework, Section, Transaction};
use crate::lock_model::{Catalog, RelationLock, StatementEffects};
use crate::names::RelationName;
use crate::parse::{ParsedFile, Statement};
use crate::pg_ffi::RawToken;
use crate::rules::RuleMeta;
use crate::settings::Settings;
use crate::source::Span;
use crate::violation::Violation;
use pg_query::protobuf::{self as pg, node::Node as N, Token, TransactionStmtKind as Tx, VariableSetKind};
use std::collections::HashMap;

/// The session state in which one statement runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatementState {
    /// Inside a transaction block, explicit or assumed.
    pub in_transaction: bool,
    /// Inside a `BEGIN … COMMIT` written in the file.
    pub explicit_transaction: bool,
    /// Index of the first statement of the current transaction.
    pub transaction_start: usize,
    /// A non-zero `lock_timeout` no longer than the configured maximum is in force.
    pub lock_timeout: bool,
    /// The `lock_timeout` in force, in milliseconds, where it is longer than the maximum.
    pub lock_timeout_over_max: Option<u64>,
    /// A non-zero `statement_timeout` is in force.
    pub statement_timeout: bool,
    /// The runner opened the section's transaction (not a `BEGIN` in the file).
    pub runner_transaction: bool,
}

pub struct FileContext<'a> {
    pub text: &'a str,
    pub parsed: &'a ParsedFile,
    pub settings: &'a Settings,
    /// The framework the file was read as, when the caller knows it.
    pub framework: Option<Framework>,
    /// What the caller said of the file beyond its text (a Flyway script's configuration).
    pub hints: crate::framework::FileHints,
    pub statements: Vec<&'a Statement>,
    pub states: Vec<StatementState>,
    /// What the lock model predicts for each statement (locks, rewrites, scans), computed
    /// once per file with the schema the earlier statements built.
    pub effects: Vec<std::sync::Arc<StatementEffects>>,
    /// The first statement that takes a traffic-blocking lock on a table the file did not
    /// create while no `lock_timeout` is in force.
    pub first_unguarded_lock: Option<usize>,
    /// The same, for `statement_timeout`.
    pub first_unbounded_lock: Option<usize>,
    /// Tables created in this file, keyed by resolved name, with the creating statements.
    created_tables: HashMap<String, Vec<(RelationName, usize)>>,
    /// Indexes created in this file, with their table and the creating statement.
    created_indexes: HashMap<String, Vec<(RelationName, RelationName, usize)>>,
    /// Index of the first statement of each statement's section. Objects made in another
    /// section (the up part, seen from the down part) exist and may hold rows by the time
    /// this section runs, so only creations in the same section count as new.
    section_start: Vec<usize>,
    /// The sections the framework runs the file in, and the index of each statement's.
    sections: Vec<Section>,
    section_of: Vec<usize>,
    /// How many statements of each section are not nested in a `DO` block.
    top_level_per_section: Vec<usize>,
    /// The schema the earlier migrations built, with what the current change set created.
    history: &'a Catalog,
    /// The catalog of the statements before the given index, advanced as rules ask for later
    /// statements, so that a whole file costs one pass.
    catalog_cursor: std::cell::RefCell<(usize, Catalog)>,
    /// The `ALTER TABLE` statements of the file by the table they alter, built at the first
    /// question, so that rules asking at many statements walk the file once.
    alter_tables_by_table: std::cell::OnceCell<HashMap<(String, String), Vec<usize>>>,
    /// The file's line index, built for the first message that names lines.
    lines: std::cell::OnceCell<crate::source::LineIndex>,
    /// The statements that name each word (an identifier, a quoted one without its quotes,
    /// or a string's contents), in order, built at the first question.
    words: std::cell::OnceCell<HashMap<&'a str, Vec<usize>>>,
}

impl<'a> FileContext<'a> {
    /// Builds the context of a file run as one unit, as `--assume-in-transaction` says.
    pub fn new(text: &'a str, parsed: &'a ParsedFile, settings: &'a Settings) -> Self {
        let whole = Section {
            span: Span::new(0, text.len()),
            direction: Direction::Up,
            transaction: Transaction::AsConfigured,
            continues_session: false,
        };
        Self::with_sections(text, parsed, settings, None, &[whole], &EMPTY_HISTORY)
    }

    /// Builds the context of a file that its framework runs as separate sections (up and
    /// down, each with its own transaction), after the migrations that built `history`.
    /// Each section starts a fresh session, unless it continues the one before it.
    pub fn with_sections(
        text: &'a str,
        parsed: &'a ParsedFile,
        settings: &'a Settings,
        framework: Option<Framework>,
        sections: &[Section],
        history: &'a Catalog,
    ) -> Self {
        let statements: Vec<&Statement> = parsed.statements().collect();
        let section_of: Vec<usize> = statements
            .iter()
            .map(|s| sections.iter().rposition(|sec| sec.span.start <= s.span.start).unwrap_or(0))
            .collect();
        // Statements not nested in a `DO` block, per section: counted once, asked per statement.
        let mut top_level_per_section = vec![0; sections.len().max(1)];
        for (&section, stmt) in section_of.iter().zip(&statements) {
            if stmt.nested_in.is_none() {
                top_level_per_section[section] += 1;
            }
        }
        let mut states: Vec<StatementState> = Vec::with_capacity(statements.len());
        let mut created_tables = HashMap::new();
        let mut created_indexes = HashMap::new();
        let mut tracker = SessionTracker::new(false, settings);
        for (index, stmt) in statements.iter().enumerate() {
            let section = section_of[index];
            let continues = index > 0 && sections.get(section).is_some_and(|s| s.continues_session);
            if (index == 0 || section_of[index - 1] != section) && !continues {
                let in_section = top_level_per_section[section];
                let wrapped = settings.upgrade_in_one_transaction
                    || match sections.get(section).map_or(Transaction::AsConfigured, |s| s.transaction) {
                        Transaction::Wrapped => true,
                        Transaction::ImplicitWhenMultiStatement => in_section > 1,
                        Transaction::None => false,
                        Transaction::AsConfigured => settings.assume_in_transaction,
                    };
                tracker = SessionTracker::new(wrapped, settings);
                tracker.state.transaction_start = index;
            }
            let mut state = tracker.state;
            if let Some(outer) = stmt.nested_in.and_then(|o| states.get(o)) {
                // A `DO` block runs as one statement, so what it runs shares its transaction.
                state.in_transaction = true;
                state.transaction_start = outer.transaction_start;
            }
            states.push(state);
            // Transaction control inside a `DO` block is left out of the model.
            if stmt.nested_in.is_none() || !matches!(*stmt.node, N::TransactionStmt(_)) {
                tracker.apply(&stmt.node, index);
            }
            record_creations(&stmt.node, index, &mut created_tables, &mut created_indexes);
        }
        let mut section_start: Vec<usize> = Vec::with_capacity(section_of.len());
        for (i, section) in section_of.iter().enumerate() {
            let start = if i > 0 && section_of[i - 1] == *section { section_start[i - 1] } else { i };
            section_start.push(start);
        }
        let mut catalog = history.clone();
        let effects: Vec<std::sync::Arc<StatementEffects>> = statements
            .iter()
            .map(|s| {
                let effects = crate::lock_model::statement_effects(&s.node, settings.pg_version, &catalog);
                catalog.apply(&s.node);
                std::sync::Arc::new(effects)
            })
            .collect();
        let mut file = Self {
            text,
            parsed,
            settings,
            framework,
            hints: crate::framework::FileHints::default(),
            statements,
            states,
            effects,
            first_unguarded_lock: None,
            first_unbounded_lock: None,
            created_tables,
            created_indexes,
            section_start,
            sections: sections.to_vec(),
            section_of,
            top_level_per_section,
            history,
            catalog_cursor: std::cell::RefCell::new((0, history.clone())),
            alter_tables_by_table: std::cell::OnceCell::new(),
            lines: std::cell::OnceCell::new(),
            words: std::cell::OnceCell::new(),
        };
        file.first_unguarded_lock = (0..file.statements.len())
            .find(|&i| !file.states[i].lock_timeout && file.strongest_lock_on_existing(i).is_some());
        file.first_unbounded_lock = (0..file.statements.len())
            .find(|&i| !file.states[i].statement_timeout && file.strongest_lock_on_existing(i).is_some());
        file
    }

    /// The strongest traffic-blocking lock statement `index` takes on a table that the file
    /// did not create before it.
    pub fn strongest_lock_on_existing(&self, index: usize) -> Option<&RelationLock> {
        self.effects[index]
            .locks
            .iter()
            .filter(|l| l.mode.blocks_traffic() && !self.is_new_relation(&l.relation, index))
            .max_by_key(|l| l.mode)
    }

    /// Whether the table was created by a statement before `before` in this file, or by an
    /// earlier file of the same change set, so it is new, empty and unread by the running
    /// application.
    fn is_new_table(&self, name: &RelationName, before: usize) -> bool {
        if self.history.has_change_set() && self.history.is_new(name) {
            return true;
        }
        // Keyed by the bare name so that a lookup allocates nothing; the schema is compared here.
        self.created_tables.get(name.name.as_str()).is_some_and(|created| {
            created.iter().any(|(table, at)| table.same_as(name) && self.same_section(*at, before))
        })
    }

    /// The statements of the transaction whose first statement is `start`: the one place
    /// that says which statements share a transaction. The first belongs to it even outside a
    /// block, since a `DO` statement in autocommit runs the statements nested in it as one
    /// transaction.
    pub fn transaction_from(&self, start: usize) -> std::ops::Range<usize> {
        let same = |j: usize| j == start || self.states[j].in_transaction && self.states[j].transaction_start == start;
        start..start + (start..self.statements.len()).take_while(|&j| same(j)).count()
    }

    /// The first statement of each transaction block of the file (explicit, or the runner's),
    /// in order.
    pub fn transaction_starts(&self) -> Vec<usize> {
        let mut starts: Vec<usize> = Vec::new();
        for (index, state) in self.states.iter().enumerate() {
            let start = state.transaction_start.min(index);
            if state.in_transaction && starts.last() != Some(&start) {
                starts.push(start);
            }
        }
        starts
    }

    /// The indexes of the `ALTER TABLE` statements on `table` before `before`, in file order.
    pub fn alter_tables_before(&self, table: &RelationName, before: usize) -> &[usize] {
        let by_table = self.alter_tables_by_table.get_or_init(|| {
            let mut by_table: HashMap<(String, String), Vec<usize>> = HashMap::new();
            for (i, stmt) in self.statements.iter().enumerate() {
                let N::AlterTableStmt(alter) = &*stmt.node else { continue };
                let Some(rv) = &alter.relation else { continue };
                by_table.entry(RelationName::from_range_var(rv).key()).or_default().push(i);
            }
            by_table
        });
        let all = by_table.get(&table.key()).map_or(&[][..], Vec::as_slice);
        &all[..all.partition_point(|&i| i < before)]
    }

    /// The first statement in `among` whose tokens name `word`: as an identifier, a quoted
    /// identifier or a string literal (where a fix's moved object could be named).
    pub fn first_use_of(&self, word: &str, among: std::ops::Range<usize>) -> Option<usize> {
        let words = self.words.get_or_init(|| {
            let mut words: HashMap<&'a str, Vec<usize>> = HashMap::new();
            for (i, stmt) in self.statements.iter().enumerate() {
                let named = self
                    .parsed
                    .statement_tokens(stmt)
                    .iter()
                    .filter(|t| matches!(t.token, Token::Ident | Token::Sconst));
                for t in named {
                    let Some(text) = self.text.get(t.start..t.end) else { continue };
                    let word = text.trim_matches('"').trim_matches('\'');
                    let uses = words.entry(word).or_default();
                    if uses.last() != Some(&i) {
                        uses.push(i);
                    }
                }
            }
            words
        });
        let uses = words.get(word)?;
        uses.get(uses.partition_point(|&i| i < among.start)).copied().filter(|&i| i < among.end)
    }

    /// The 0-based line of a byte offset, from the file's line index (built once).
    pub fn line_index(&self) -> &crate::source::LineIndex {
        self.lines.get_or_init(|| crate::source::LineIndex::new(self.text))
    }

    /// The section statement `index` runs in.
    pub fn section_of(&self, index: usize) -> Option<&Section> {
        self.sections.get(*self.section_of.get(index)?)
    }

    /// The first statement of each section that takes a traffic-blocking lock on a table the
    /// file did not create while no `lock_timeout` is in force: each section is a session of
    /// its own (or a transaction of its own, where it continues one).
    pub fn unguarded_locks_by_section(&self) -> Vec<usize> {
        let mut found: Vec<usize> = Vec::new();
        for i in 0..self.statements.len() {
            let section = self.section_of.get(i);
            if found.last().is_some_and(|&f| self.section_of.get(f) == section) {
                continue;
            }
            if !self.states[i].lock_timeout && self.strongest_lock_on_existing(i).is_some() {
                found.push(i);
            }
        }
        found
    }

    /// The index just past the last statement of statement `index`'s section.
    pub fn section_end(&self, index: usize) -> usize {
        let Some(&section) = self.section_of.get(index) else { return self.statements.len() };
        index + self.section_of[index..].iter().take_while(|&&s| s == section).count()
    }

    /// How many statements of statement `index`'s section are not nested in a `DO` block.
    pub fn top_level_in_section(&self, index: usize) -> usize {
        let Some(&section) = self.section_of.get(index) else { return 0 };
        self.top_level_per_section.get(section).copied().unwrap_or(0)
    }

    /// The 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.text.get(..offset).map_or(0, |before| before.matches('\n').count()) + 1
    }

    /// Whether statement `index` is part of a down migration that removes `name`, which its
    /// own up migration created: the up part of the same file, or the up file that the
    /// history pairs with this down file. The release that runs after the rollback never
    /// used it; only the locks of removing it matter.
    pub fn undoes_creation(&self, name: &RelationName, index: usize) -> bool {
        if self.section_of(index).is_none_or(|s| s.direction != Direction::Down) {
            return false;
        }
        self.history.undoes_creation(name)
            || self.created_tables.get(name.name.as_str()).is_some_and(|created| {
                created.iter().any(|(table, at)| {
                    table.same_as(name)
                        && *at < index
                        && self.section_of(*at).is_some_and(|s| s.direction == Direction::Up)
                })
            })
    }

    /// Whether a `TRUNCATE` earlier in statement `index`'s transaction emptied `table`, and
    /// no statement since put rows back. Until the commit the truncation's `ACCESS
    /// EXCLUSIVE` lock keeps every other session out, so the table stays empty: adding a
    /// `NOT NULL` column or scanning it costs nothing. Outside a transaction the table may
    /// fill again between statements.
    pub fn emptied_in_transaction(&self, table: &RelationName, index: usize) -> bool {
        let Some(state) = self.states.get(index).filter(|s| s.in_transaction) else { return false };
        let names = |rv: &Option<pg::RangeVar>| rv.as_ref().is_some_and(|rv| table.is_named_by(rv));
        let mut emptied = false;
        for stmt in &self.statements[state.transaction_start.min(index)..index] {
            match &*stmt.node {
                N::TruncateStmt(s)
                    if s.relations
                        .iter()
                        .any(|r| matches!(&r.node, Some(N::RangeVar(rv)) if table.is_named_by(rv))) =>
                {
                    emptied = true;
                }
                N::InsertStmt(s) if names(&s.relation) => emptied = false,
                N::CopyStmt(s) if s.is_from && names(&s.relation) => emptied = false,
                _ => {}
            }
        }
        emptied
    }

    /// Whether the relation is new in this deploy, so empty and unread by the running
    /// release: a table created earlier in the same section of the file, or by an earlier
    /// file of the change set (the catalog's ledger), or an index on such a table. This is the
    /// one place that decides it.
    pub fn is_new_relation(&self, name: &RelationName, before: usize) -> bool {
        self.creates(name, before)
            || self.is_new_table(name, before)
            || self.created_index(name, before).is_some_and(|t| self.is_new_table(t, before))
            || self.history.has_change_set()
                && self.history.table_of_index(name).is_some_and(|t| self.history.is_new(&t))
    }

    /// Runs `f` with the schema that the statements before `index` built: what the lock model
    /// knew when it computed `effects[index]`.
    pub fn with_catalog_before<R>(&self, index: usize, f: impl FnOnce(&Catalog) -> R) -> R {
        let replay = |catalog: &mut Catalog, from: usize| {
            for stmt in self.statements.get(from..index).unwrap_or_default() {
                catalog.apply(&stmt.node);
            }
        };
        let Ok(mut cursor) = self.catalog_cursor.try_borrow_mut() else {
            // Only a nested call lands here; it pays for a catalog of its own.
            let mut catalog = self.history.clone();
            replay(&mut catalog, 0);
            return f(&catalog);
        };
        if cursor.0 > index {
            *cursor = (0, self.history.clone());
        }
        let (at, catalog) = &mut *cursor;
        replay(catalog, *at);
        *at = index;
        f(catalog)
    }

    /// The table of an index created earlier in this file.
    pub fn created_index(&self, name: &RelationName, before: usize) -> Option<&RelationName> {
        self.created_indexes
            .get(name.name.as_str())
            .and_then(|created| {
                created.iter().find(|(index, _, at)| index.same_as(name) && self.same_section(*at, before))
            })
            .map(|(_, table, _)| table)
    }

    /// Whether statement `index` itself creates the table `name` (and so holds its lock).
    fn creates(&self, name: &RelationName, index: usize) -> bool {
        self.created_tables
            .get(name.name.as_str())
            .is_some_and(|created| created.iter().any(|(table, at)| *at == index && table.same_as(name)))
    }

    /// Whether statement `at` comes before `before` in the same section.
    /// The first statement of statement `index`'s section.
    pub fn section_start_of(&self, index: usize) -> usize {
        self.section_start.get(index).copied().unwrap_or(0)
    }

    fn same_section(&self, at: usize, before: usize) -> bool {
        let start =
            self.section_start.get(before.min(self.section_start.len().saturating_sub(1))).copied().unwrap_or(0);
        start <= at && at < before
    }
}

fn record_creations(
    node: &N,
    index: usize,
    tables: &mut HashMap<String, Vec<(RelationName, usize)>>,
    indexes: &mut HashMap<String, Vec<(RelationName, RelationName, usize)>>,
) {
    match node {
        N::CreateStmt(stmt) => {
            if let Some(rv) = &stmt.relation {
                let table = RelationName::from_range_var(rv);
                tables.entry(table.name.clone()).or_default().push((table, index));
            }
        }
        N::CreateTableAsStmt(stmt) => {
            if let Some(rv) = stmt.into.as_ref().and_then(|i| i.rel.as_ref()) {
                let table = RelationName::from_range_var(rv);
                tables.entry(table.name.clone()).or_default().push((table, index));
            }
        }
        N::IndexStmt(stmt) => {
            if let (Some(rv), false) = (&stmt.relation, stmt.idxname.is_empty()) {
                let table = RelationName::from_range_var(rv);
                let name = RelationName::new(table.schema.as_deref(), &stmt.idxname);
                indexes.entry(name.name.clone()).or_default().push((name, table, index));
            }
        }
        _ => {}
    }
}

/// The history of a file linted on its own.
static EMPTY_HISTORY: std::sync::LazyLock<Catalog> = std::sync::LazyLock::new(Catalog::default);

/// The timeouts followed through the file, in the order of `SessionTracker`'s arrays.
const TIMEOUTS: [&str; 2] = ["lock_timeout", "statement_timeout"];

/// A timeout as a `SET` leaves it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Timeout {
    #[default]
    Off,
    On,
    /// Set, but longer than the maximum (for `lock_timeout`): in milliseconds.
    OverMax(u64),
}

/// Follows transaction control, `lock_timeout` and `statement_timeout` through the file.
struct SessionTracker {
    state: StatementState,
    /// Each timeout as set for the session (survives a commit).
    session: [Timeout; 2],
    /// The session's values when the current transaction began, which a rollback restores.
    at_transaction_start: [Timeout; 2],
    /// The longest `lock_timeout` that counts, in milliseconds.
    max_lock_timeout: u64,
    /// What each session starts with, which `RESET` returns to: the timeouts the runner or
    /// the database role sets, if the configuration says so.
    defaults: [Timeout; 2],
}

impl SessionTracker {
    fn new(in_transaction: bool, settings: &Settings) -> Self {
        let state = StatementState { in_transaction, runner_transaction: in_transaction, ..StatementState::default() };
        let mut tracker = Self {
            state,
            session: [Timeout::Off; 2],
            at_transaction_start: [Timeout::Off; 2],
            max_lock_timeout: settings.max_lock_timeout_ms,
            defaults: [Timeout::Off; 2],
        };
        let runner = [&settings.runner_lock_timeout, &settings.runner_statement_timeout];
        for (timeout, value) in runner.into_iter().enumerate() {
            if let Some(value) = value {
                let value = tracker.timeout_of(timeout, Some(value));
                tracker.defaults[timeout] = value;
                tracker.set(timeout, value, false);
            }
        }
        tracker.at_transaction_start = tracker.session;
        tracker
    }

    /// Puts `value` in force for `timeout`, and the state that statements see with it.
    fn force(&mut self, timeout: usize, value: Timeout) {
        let on = value == Timeout::On;
        match timeout {
            0 => {
                self.state.lock_timeout = on;
                self.state.lock_timeout_over_max = match value {
                    Timeout::OverMax(ms) => Some(ms),
                    _ => None,
                };
            }
            _ => self.state.statement_timeout = value != Timeout::Off,
        }
    }

    /// What setting `timeout` to `value` (as written) leaves; `None` (`RESET`, `DEFAULT`)
    /// returns to what the session started with.
    fn timeout_of(&self, timeout: usize, value: Option<&str>) -> Timeout {
        let Some(value) = value else { return self.defaults[timeout] };
        if is_zero_text(value) {
            return Timeout::Off;
        }
        match crate::settings::timeout_ms(value) {
            Some(ms) if timeout == 0 && ms > self.max_lock_timeout => Timeout::OverMax(ms),
            _ => Timeout::On,
        }
    }

    fn apply(&mut self, node: &N, index: usize) {
        match node {
            N::TransactionStmt(tx) => match tx.kind() {
                Tx::TransStmtBegin | Tx::TransStmtStart => {
                    if !self.state.in_transaction {
                        self.state.transaction_start = index + 1;
                    }
                    self.state.in_transaction = true;
                    self.state.explicit_transaction = true;
                    self.at_transaction_start = self.session;
                }
                Tx::TransStmtCommit | Tx::TransStmtRollback | Tx::TransStmtPrepare => {
                    if tx.kind() == Tx::TransStmtRollback {
                        self.session = self.at_transaction_start;
                    }
                    // A `SET LOCAL` ends with its transaction; a plain `SET` survives a
                    // commit. After a runner's transaction is committed by the file, the
                    // rest of the file runs in autocommit.
                    self.state.in_transaction = tx.chain;
                    self.state.explicit_transaction = tx.chain && self.state.explicit_transaction;
                    self.state.transaction_start = index + 1;
                    for timeout in 0..TIMEOUTS.len() {
                        self.force(timeout, self.session[timeout]);
                    }
                }
                _ => {}
            },
            N::VariableSetStmt(set) => {
                let value = match set.kind() {
                    VariableSetKind::VarSetValue => set_value(&set.args),
                    _ => None,
                };
                for (timeout, name) in TIMEOUTS.iter().enumerate() {
                    if set.name == *name || set.kind() == VariableSetKind::VarResetAll {
                        let value = self.timeout_of(timeout, value.as_deref());
                        self.set(timeout, value, set.is_local);
                    }
                }
            }
            N::SelectStmt(select) => {
                for (name, value, is_local) in set_config_calls(select) {
                    if let Some(timeout) = TIMEOUTS.iter().position(|t| *t == name) {
                        let value = self.timeout_of(timeout, Some(&value));
                        self.set(timeout, value, is_local);
                    }
                }
            }
            _ => {}
        }
        if !self.state.in_transaction {
            // Each autocommit statement is its own transaction.
            self.state.transaction_start = index + 1;
        }
    }

    fn set(&mut self, timeout: usize, value: Timeout, is_local: bool) {
        if is_local {
            // `SET LOCAL` outside a transaction block has no effect.
            if self.state.in_transaction {
                self.force(timeout, value);
            }
        } else {
            self.session[timeout] = value;
            self.force(timeout, value);
        }
    }
}

/// The value of `SET name = value` as text (`5000`, `'2s'`), when it is one constant.
fn set_value(args: &[pg::Node]) -> Option<String> {
    let [arg] = args else { return None };
    match &arg.node {
        Some(N::AConst(c)) => match &c.val {
            Some(pg::a_const::Val::Ival(i)) => Some(i.ival.to_string()),
            Some(pg::a_const::Val::Sval(s)) => Some(s.sval.clone()),
            Some(pg::a_const::Val::Fval(f)) => Some(f.fval.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn is_zero_text(value: &str) -> bool {
    let digits = value.trim().trim_end_matches(|c: char| c.is_ascii_alphabetic()).trim();
    digits.parse::<f64>().is_ok_and(|v| v == 0.0)
}

/// `SELECT set_config('name', 'value', is_local)` calls with constant arguments.
fn set_config_calls(select: &pg::SelectStmt) -> Vec<(String, String, bool)> {
    let mut calls = Vec::new();
    for target in &select.target_list {
        let Some(N::ResTarget(res)) = &target.node else { continue };
        let Some(N::FuncCall(call)) = res.val.as_deref().and_then(|v| v.node.as_ref()) else { continue };
        let is_set_config =
            call.funcname.last().is_some_and(|n| matches!(&n.node, Some(N::String(s)) if s.sval == "set_config"));
        let args: Vec<&pg::Node> = call.args.iter().collect();
        let (true, [name, value, local]) = (is_set_config, args.as_slice()) else { continue };
        let text = |n: &pg::Node| match &n.node {
            Some(N::AConst(pg::AConst { val: Some(pg::a_const::Val::Sval(s)), .. })) => Some(s.sval.clone()),
            _ => None,
        };
        let is_local = matches!(&local.node, Some(N::AConst(pg::AConst { val: Some(pg::a_const::Val::Boolval(b)), .. })) if b.boolval);
        if let (Some(name), Some(value)) = (text(name), text(value)) {
            calls.push((name, value, is_local));
        }
    }
    calls
}

/// Everything a rule sees while it checks one statement.
pub struct StatementCx<'f, 'a> {
    pub file: &'f FileContext<'a>,
    pub index: usize,
    pub stmt: &'a Statement,
    pub state: StatementState,
}

impl<'f, 'a> StatementCx<'f, 'a> {
    pub fn new(file: &'f FileContext<'a>, index: usize) -> Self {
        Self { file, index, stmt: file.statements[index], state: file.states[index] }
    }

    pub fn node(&self) -> &'a N {
        &self.stmt.node
    }

    pub fn settings(&self) -> &'a Settings {
        self.file.settings
    }

    pub fn pg_version(&self) -> u32 {
        self.file.settings.pg_version
    }

    /// Whether the relation is new in this deploy (see [`FileContext::is_new_relation`]): the
    /// one question rules ask, for tables and indexes alike.
    pub fn is_new(&self, name: &RelationName) -> bool {
        self.file.is_new_relation(name, self.index)
    }

    /// Whether this statement belongs to a down migration that removes what its own up
    /// migration created (see [`FileContext::undoes_creation`]).
    pub fn undoes_creation(&self, name: &RelationName) -> bool {
        self.file.undoes_creation(name, self.index)
    }

    /// Whether this statement belongs to a down migration that drops a column its own up
    /// migration added (see [`FileContext::undoes_creation`]). A column the same file added
    /// earlier is the rules' own concern: dropping it is no change from before the file.
    pub fn undoes_added_column(&self, table: &RelationName, column: &str) -> bool {
        self.undoes_creation(table)
            || self.file.section_of(self.index).is_some_and(|s| s.direction == Direction::Down)
                && self.file.history.undoes_added_column(table, column)
    }

    /// Whether `table` is empty for this statement because a `TRUNCATE` earlier in its
    /// transaction emptied it (see [`FileContext::emptied_in_transaction`]).
    pub fn emptied_in_transaction(&self, table: &RelationName) -> bool {
        self.file.emptied_in_transaction(table, self.index)
    }

    /// Whether the schema before this statement has `table` as a partitioned table.
    pub fn is_partitioned(&self, table: &RelationName) -> bool {
        self.with_catalog(|c| c.kind(table)) == Some(crate::lock_model::catalog::RelKind::PartitionedTable)
    }

    /// Statement `index` of the file parsed again in full. The lint tree keeps no values,
    /// column lists or conditions of data statements; SQL that prints or rebuilds a
    /// statement reads this instead.
    pub fn whole_tree(&self, index: usize) -> Option<N> {
        let stmt = self.file.statements.get(index)?;
        let text = self.file.text.get(stmt.span.start..stmt.span.end)?;
        crate::pg_ffi::parse(text).ok()?.stmts.into_iter().next()?.stmt?.node
    }

    /// The lock this statement takes on `relation`, from the lock model.
    pub fn lock_on(&self, relation: &RelationName) -> Option<crate::locks::LockMode> {
        self.effects().locks.iter().find(|l| l.relation.same_as(relation)).map(|l| l.mode)
    }

    /// The lock this statement holds on `table` while it runs `cmd`: the model's lock for the
    /// whole statement, or the subcommand's own level where the model names none.
    pub fn cmd_lock_on(&self, table: &RelationName, cmd: &pg::AlterTableCmd) -> crate::locks::LockMode {
        self.lock_on(table).unwrap_or_else(|| crate::lock_model::alter_table_cmd_lock(cmd, self.pg_version()))
    }

    /// What the lock model predicts for this statement.
    pub fn effects(&self) -> &StatementEffects {
        &self.file.effects[self.index]
    }

    /// Runs `f` with the schema the file's earlier statements built, as the lock model saw it
    /// for [`Self::effects`].
    pub fn with_catalog<R>(&self, f: impl FnOnce(&Catalog) -> R) -> R {
        self.file.with_catalog_before(self.index, f)
    }

    /// What the lock model predicts for one subcommand of this statement's `ALTER TABLE`
    /// run on its own, so that a rule can tell which subcommand rewrites or scans.
    pub fn alter_cmd_effects(&self, cmd: &pg::AlterTableCmd) -> StatementEffects {
        let N::AlterTableStmt(stmt) = self.node() else { return StatementEffects::default() };
        let single = N::AlterTableStmt(pg::AlterTableStmt {
            relation: stmt.relation.clone(),
            cmds: vec![pg::Node { node: Some(N::AlterTableCmd(Box::new(cmd.clone()))) }],
            objtype: stmt.objtype,
            missing_ok: stmt.missing_ok,
        });
        self.with_catalog(|catalog| crate::lock_model::statement_effects(&single, self.pg_version(), catalog))
    }

    /// The statements before this one in the same transaction.
    pub fn earlier_in_transaction(&self) -> &[&'a Statement] {
        let start = self.state.transaction_start.min(self.index);
        &self.file.statements[start..self.index]
    }

    /// The statement's tokens, comments included.
    pub fn tokens(&self) -> &'a [RawToken] {
        self.file.parsed.statement_tokens(self.stmt)
    }

    /// The source text of a span.
    pub fn text(&self, span: Span) -> &'a str {
        self.file.text.get(span.start..span.end).unwrap_or("")
    }

    /// The token at a node's `location`, or the whole statement when the node has none.
    pub fn span_at(&self, location: i32) -> Span {
        let Ok(location) = usize::try_from(location) else {
            return self.stmt.span;
        };
        let at = self.stmt.base + location;
        self.tokens().iter().find(|t| t.start == at).map_or(self.stmt.span, |t| Span::new(t.start, t.end))
    }

    /// The span from the token at `location` to the end of the enclosing parenthesised
    /// element or comma-separated item, for pointing at a whole column definition or constraint.
    pub fn item_span_at(&self, location: i32) -> Span {
        let Ok(location) = usize::try_from(location) else {
            return self.stmt.span;
        };
        let at = self.stmt.base + location;
        let tokens = self.tokens();
        let Some(first) = tokens.iter().position(|t| t.start == at) else {
            return self.stmt.span;
        };
        Span::new(tokens[first].start, item_end(&tokens[first..]).unwrap_or(self.stmt.span.end))
    }

    /// The span of the first run of tokens with these kinds, comments skipped.
    pub fn find_tokens(&self, kinds: &[Token]) -> Option<Span> {
        let code: Vec<&RawToken> = self.tokens().iter().filter(|t| !crate::parse::is_comment(t.token)).collect();
        code.windows(kinds.len())
            .find(|w| w.iter().zip(kinds).all(|(t, k)| t.token == *k))
            .map(|w| Span::new(w[0].start, w[w.len() - 1].end))
    }

    /// The first code token of one of these kinds.
    pub fn first_token(&self, kinds: &[Token]) -> Option<Span> {
        self.tokens().iter().find(|t| kinds.contains(&t.token)).map(|t| Span::new(t.start, t.end))
    }

    /// The statement's source text with `edits` applied (file offsets inside the statement,
    /// in order), so that a fix keeps the author's spelling, quoting and layout.
    pub fn rewritten(&self, edits: &[crate::fix::Edit]) -> String {
        let span = self.stmt.span;
        let relative: Vec<crate::fix::Edit> = edits
            .iter()
            .map(|e| crate::fix::Edit {
                span: Span::new(e.span.start - span.start, e.span.end - span.start),
                replacement: e.replacement.clone(),
            })
            .collect();
        crate::fix::apply_edits(self.text(span), &relative.iter().collect::<Vec<_>>())
    }

    /// Spans of the subcommands of an `ALTER TABLE`, in order, or `None` when the token
    /// stream does not split into exactly `expected` of them.
    pub fn alter_cmd_spans(&self, relation_location: i32, expected: usize) -> Option<Vec<Span>> {
        let at = self.stmt.base + usize::try_from(relation_location).ok()?;
        let tokens: Vec<&RawToken> = self.tokens().iter().filter(|t| !crate::parse::is_comment(t.token)).collect();
        let mut i = tokens.iter().position(|t| t.start == at)?;
        // Skip the qualified name (`a.b.c`) and an optional `*`.
        i += 1;
        while tokens.get(i).is_some_and(|t| t.token == Token::Ascii46) {
            i += 2;
        }
        if tokens.get(i).is_some_and(|t| t.token == Token::Ascii42) {
            i += 1;
        }
        let mut spans = Vec::new();
        let mut depth = 0usize;
        let mut start = i;
        for (j, token) in tokens.iter().enumerate().skip(i) {
            match token.token {
                Token::Ascii40 | Token::Ascii91 => depth += 1,
                Token::Ascii41 | Token::Ascii93 => depth = depth.saturating_sub(1),
                Token::Ascii44 if depth == 0 => {
                    spans.push(Span::new(tokens.get(start)?.start, tokens.get(j.checked_sub(1)?)?.end));
                    start = j + 1;
                }
                _ => {}
            }
        }
        spans.push(Span::new(tokens.get(start)?.start, tokens.last()?.end));
        (spans.len() == expected).then_some(spans)
    }

    /// Places a rule's proposed safe form (see [`crate::fix`]): the fix, or why the file's
    /// framework cannot run it.
    pub fn fix(&self, proposal: crate::fix::Proposal) -> Result<crate::fix::Fix, String> {
        crate::fix::placement::place(self, proposal)
    }

    /// The finding `violation` of `rule` at `span` in this statement, at the severity the
    /// settings give the rule; its message, help and objects all come from the violation.
    pub fn report(&self, rule: &RuleMeta, span: Span, violation: &impl Violation) -> Diagnostic {
        let mut diagnostic = Diagnostic::new(rule.id, self.settings().severity_of(rule.id), span, violation.message())
            .with_statement(self.stmt.span);
        diagnostic.help = violation.help();
        diagnostic.objects = violation.objects();
        diagnostic.phased = violation.phased();
        diagnostic.effects = Some(std::sync::Arc::clone(&self.file.effects[self.index]));
        diagnostic
    }
}

/// Offset where the item starting at `tokens[0]` ends: before a comma or closing paren
/// at its own depth, or at the end of the statement.
fn item_end(tokens: &[RawToken]) -> Option<usize> {
    let mut depth = 0usize;
    let mut end = None;
    for token in tokens {
        match token.token {
            Token::Ascii40 => depth += 1,
            Token::Ascii41 if depth == 0 => return end,
            Token::Ascii41 => depth -= 1,
            Token::Ascii44 if depth == 0 => return end,
            t if crate::parse::is_comment(t) => continue,
            _ => {}
        }
        end = Some(token.end);
    }
    end
}
