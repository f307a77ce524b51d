//! Turns a file's text into statements with exact spans, tokens and comments.
//!
//! The whole file is parsed in one call. Only when that fails is it split with the scanner
//! and each statement parsed on its own, so that one syntax error is pinned to its statement
//! and every other statement is still linted.

use crate::pg_ffi::{self, PgError, RawToken};
use crate::preprocess::{self, MetaCommand, Placeholder};
use crate::source::Span;
use pg_query::protobuf::{self as pg, node::Node as N, Token};

/// A statement's parse tree as linting reads it. Of data statements (`INSERT`, `UPDATE`,
/// `DELETE`) and of the queries of views and `CREATE TABLE AS`, the tree encoder keeps only
/// what rules and the lock model read, so the tree is not the statement and must never be
/// printed back as SQL: this type derefs to the node for reading and offers no way to take
/// the tree out. A fix edits the source text at token spans instead (`crate::fix`).
#[derive(Debug, PartialEq)]
pub struct LintTree(Box<pg::node::Node>);

impl LintTree {
    pub(crate) fn new(node: pg::node::Node) -> Self {
        Self(Box::new(node))
    }
}

impl std::ops::Deref for LintTree {
    type Target = pg::node::Node;

    fn deref(&self) -> &pg::node::Node {
        &self.0
    }
}

/// One parsed statement.
#[derive(Debug)]
pub struct Statement {
    /// From the first token to the last, without leading comments or the closing `;`.
    pub span: Span,
    /// Offset to add to the `location` fields of `node` to get a file offset.
    pub base: usize,
    /// Boxed inside, so that the file's list of statements stays small: a decoded node is
    /// several hundred bytes whatever its kind. Trimmed: see [`LintTree`].
    pub node: LintTree,
    /// Index range of the statement's tokens in `ParsedFile::tokens`, or in
    /// `ParsedFile::nested_tokens` for a statement nested in a `DO` block.
    pub tokens: std::ops::Range<usize>,
    /// For static SQL inside a `DO` block: the index (among the file's statements) of that
    /// `DO` statement, which comes just before this one and runs it in its transaction.
    pub nested_in: Option<usize>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// The token PostgreSQL complained about, or the statement where it names none.
    pub span: Span,
    pub statement: Span,
    pub message: String,
}

/// A top-level item of the file in source order.
#[derive(Debug)]
// Nearly every item is a statement, so boxing it would only add an allocation per statement.
#[allow(clippy::large_enum_variant)]
pub enum Item {
    Statement(Statement),
    SyntaxError(SyntaxError),
}

#[derive(Debug, Default)]
pub struct ParsedFile {
    pub items: Vec<Item>,
    /// Every token of the masked text, comments included, in order.
    pub tokens: Vec<RawToken>,
    /// The tokens of `DO` block bodies (see [`crate::plpgsql`]), which `tokens` holds as
    /// one string constant each, in order.
    pub nested_tokens: Vec<RawToken>,
    pub meta_commands: Vec<MetaCommand>,
}

impl ParsedFile {
    pub fn statements(&self) -> impl Iterator<Item = &Statement> {
        self.items.iter().filter_map(|item| match item {
            Item::Statement(s) => Some(s),
            Item::SyntaxError(_) => None,
        })
    }

    /// Every comment, those inside `DO` block bodies included.
    pub fn comments(&self) -> impl Iterator<Item = &RawToken> {
        self.tokens.iter().chain(&self.nested_tokens).filter(|t| is_comment(t.token))
    }

    /// The statement's tokens, comments included.
    pub fn statement_tokens(&self, stmt: &Statement) -> &[RawToken] {
        let all = if stmt.nested_in.is_some() { &self.nested_tokens } else { &self.tokens };
        all.get(stmt.tokens.clone()).unwrap_or_default()
    }
}

pub fn is_comment(token: Token) -> bool {
    matches!(token, Token::SqlComment | Token::CComment)
}

pub fn parse_file(text: &str) -> ParsedFile {
    parse_file_in_sections(text, &[], |_| vec![Span::new(0, text.len())])
}

/// Parses the file as the runs of text that `sections` picks from the token stream, each on
/// its own, so a framework's up and down parts never merge into one statement. The project's
/// own `placeholders` are masked with the rest of what the grammar must not see.
pub fn parse_file_in_sections(
    text: &str,
    placeholders: &[Placeholder],
    sections: impl FnOnce(&[RawToken]) -> Vec<Span>,
) -> ParsedFile {
    let masked = preprocess::mask_with(text, placeholders);
    let sql = masked.text.as_str();
    let mut items = Vec::new();

    // Most files parse as a whole: then one pass of the scanner gives both the tree and the
    // tokens. A file with an error is scanned first and parsed in batches below.
    let compact = sql.len() >= COMPACT_BYTES;
    let (whole_items, scanned) = match parse_and_scan_whole(sql, &masked.semicolons, compact) {
        Some((items, tokens)) => (Some(items), Ok(tokens)),
        None => (None, pg_ffi::scan(sql)),
    };
    // A scanner error (an unterminated quote or comment) swallows the rest of the file, so
    // what precedes it is linted and the error itself reported.
    let (tokens, lexical_end, lexical_error) = match scanned {
        Ok(tokens) => (tokens, sql.len(), None),
        Err(err) => {
            let at = err.offset.unwrap_or(0).min(sql.len());
            let at = floor_char_boundary(sql, at);
            let tokens = pg_ffi::scan(&sql[..at]).unwrap_or_default();
            (tokens, at, Some(err))
        }
    };
    // With a scanner error, the statement it interrupts starts after the last `;` before it.
    let (head_end, error_start) = match &lexical_error {
        None => (lexical_end, lexical_end),
        Some(_) => {
            let last_semicolon = tokens.iter().rposition(|t| t.token == Token::Ascii59);
            let head_end = last_semicolon.map_or(0, |i| tokens[i].end);
            let error_start =
                tokens.iter().find(|t| t.start >= head_end && !is_comment(t.token)).map_or(lexical_end, |t| t.start);
            (head_end, error_start)
        }
    };
    let tokens_in_head = tokens.partition_point(|t| t.end <= head_end);
    let head = &sql[..head_end];

    let sections: Vec<Span> = sections(&tokens[..tokens_in_head])
        .into_iter()
        .map(|s| Span::new(s.start.min(head.len()), s.end.min(head.len())))
        .filter(|s| s.start < s.end)
        .collect();
    let whole_items = whole_items.and_then(|items| statements_within(items, &sections));
    match whole_items {
        Some(whole_items) => items = whole_items,
        None => {
            for section in sections {
                parse_region(&mut items, &tokens[..tokens_in_head], head, section, compact);
            }
        }
    }

    if let Some(err) = lexical_error {
        let end = sql[lexical_end..].find(['\n', '\r']).map_or(sql.len(), |p| lexical_end + p);
        let span = Span::new(lexical_end, end.max(lexical_end));
        let statement = Span::new(error_start.min(lexical_end), span.end);
        let message = err.message.trim_end().to_owned();
        items.push(Item::SyntaxError(SyntaxError { span, statement, message }));
    }
    let mut nested_tokens = Vec::new();
    let items = crate::plpgsql::expand_do_blocks(items, &tokens, sql, &mut nested_tokens);
    ParsedFile { items, tokens, nested_tokens, meta_commands: masked.meta_commands }
}

/// The statements and tokens of a piece of a file, with file offsets.
struct Piece {
    items: Vec<Item>,
    tokens: Vec<RawToken>,
    span: Span,
}

impl Piece {
    /// Parses `span` of `sql` in one pass; `None` if it does not parse. Its statements are
    /// kept as [`push_statement`] keeps them (trimmed, and with `compact`, copied), here on
    /// the worker, so that a file's full-size trees are never all alive at once.
    fn parse(sql: &str, span: Span, compact: bool) -> Option<Self> {
        let (tree, mut tokens) =
            crate::with_deep_stack(|| pg_ffi::parse_and_scan_for_lint(&sql[span.start..span.end]).ok())?;
        for token in &mut tokens {
            token.start += span.start;
            token.end += span.start;
        }
        let mut items = Vec::with_capacity(tree.stmts.len());
        for raw in tree.stmts {
            push_statement(&mut items, &tokens, raw, span.start, span.end, compact);
        }
        Some(Self { items, tokens, span })
    }

    /// Whether the piece ends the file or its last token is the `;` it was cut after: then
    /// the cut lies between two statements.
    fn ends_at_its_cut(&self, len: usize) -> bool {
        self.span.end == len || self.tokens.last().is_some_and(|t| t.token == Token::Ascii59 && t.end == self.span.end)
    }
}

/// The statements and tokens of a file that parses as a whole, from one pass of the scanner.
///
/// A large file is cut into pieces of about [`BATCH_BYTES`] after a `;` that masking found
/// outside quotes and comments (`semicolons`), parsed on the caller's pool, and taken only
/// where a piece parses and ends with that `;` as a token of its own: then its cut lies
/// between two statements, where the grammar starts afresh, so the pieces give the
/// statements and tokens of the whole file. A cut that falls anywhere else (in a
/// `BEGIN ATOMIC` body, say) leaves its piece unfinished or ending in another token; that
/// piece is parsed again with the next, and a file that needs more than a few such merges
/// (one with a syntax error) takes the path of files with syntax errors.
fn parse_and_scan_whole(sql: &str, semicolons: &[usize], compact: bool) -> Option<(Vec<Item>, Vec<RawToken>)> {
    if sql.len() <= WHOLE_FILE_BYTES {
        let whole = Piece::parse(sql, Span::new(0, sql.len()), compact)?;
        return Some((whole.items, whole.tokens));
    }
    let mut cuts = Vec::new();
    let mut start = 0;
    while start < sql.len() {
        let end = piece_end(semicolons, start + BATCH_BYTES).unwrap_or(sql.len());
        cuts.push(Span::new(start, end));
        start = end;
    }
    let parsed: Vec<Option<Piece>> = if rayon::current_thread_index().is_some() {
        use rayon::prelude::*;
        cuts.par_iter().map(|&span| Piece::parse(sql, span, compact)).collect()
    } else {
        cuts.iter().map(|&span| Piece::parse(sql, span, compact)).collect()
    };
    // Taken in order from a cut known to lie between statements: a piece that does not end
    // with its cut's `;` is parsed again together with the next piece, a few times at most
    // (a syntax error would have every later piece merged).
    let mut merges_left = 4;
    let (mut items, mut tokens) = (Vec::new(), Vec::new());
    let mut start = 0;
    let mut parsed = parsed.into_iter();
    let mut i = 0;
    while i < cuts.len() {
        let mut piece = parsed.next().flatten();
        while !piece.as_ref().is_some_and(|p| p.ends_at_its_cut(sql.len())) {
            if merges_left == 0 || i + 1 == cuts.len() {
                return None;
            }
            merges_left -= 1;
            i += 1;
            parsed.next();
            piece = Piece::parse(sql, Span::new(start, cuts[i].end), compact);
        }
        let piece = piece?;
        // A piece's statements index its own tokens; in the file, those come after the
        // tokens of the pieces before it.
        let before = tokens.len();
        items.extend(piece.items.into_iter().map(|mut item| {
            if let Item::Statement(stmt) = &mut item {
                stmt.tokens = stmt.tokens.start + before..stmt.tokens.end + before;
            }
            item
        }));
        tokens.extend(piece.tokens);
        start = piece.span.end;
        i += 1;
    }
    Some((items, tokens))
}

/// The first cut candidate at or after `from`.
fn piece_end(semicolons: &[usize], from: usize) -> Option<usize> {
    semicolons.get(semicolons.partition_point(|&end| end < from)).copied()
}

/// The statements of a file parsed as a whole, if each lies within one of `sections`: then
/// parsing the sections one by one would give the same statements. A statement that runs
/// across a framework's section marker (an up part missing its last `;`) must be parsed
/// section by section instead.
fn statements_within(items: Vec<Item>, sections: &[Span]) -> Option<Vec<Item>> {
    let within = |span: Span| sections.iter().any(|s| s.start <= span.start && span.end <= s.end);
    items.iter().all(|item| matches!(item, Item::Statement(s) if within(s.span))).then_some(items)
}

/// Parses `region` of `head` in batches of whole statements: many small parse trees cost less
/// time and far less memory than one tree for a file of thousands of statements. A batch that
/// fails is parsed again statement by statement, so that a syntax error stays within its
/// statement and the others are still linted.
fn parse_region(items: &mut Vec<Item>, tokens: &[RawToken], head: &str, region: Span, compact: bool) {
    let first = tokens.partition_point(|t| t.start < region.start);
    let last = tokens.partition_point(|t| t.start < region.end);
    let region_tokens = &tokens[first..last];
    let spans: Vec<Span> = split_statements(region_tokens)
        .into_iter()
        .map(|chunk| Span::new(region_tokens[chunk.start].start, region_tokens[chunk.end - 1].end))
        .collect();
    let before = items.len();
    let batches: Vec<&[Span]> = batches(&spans).collect();
    // A large file would keep one worker busy while the others run out of files: its
    // batches are shared among the workers of the pool the caller runs on, if any.
    let failed = if region.len() >= PARALLEL_BYTES && rayon::current_thread_index().is_some() {
        use rayon::prelude::*;
        let parsed: Vec<(Vec<Item>, bool)> = batches
            .par_iter()
            .map(|batch| {
                crate::with_deep_stack(|| {
                    let mut batch_items = Vec::new();
                    let failed = parse_batch(&mut batch_items, tokens, head, batch, compact);
                    (batch_items, failed)
                })
            })
            .collect();
        let mut failed = false;
        for (batch_items, batch_failed) in parsed {
            items.extend(batch_items);
            failed |= batch_failed;
        }
        failed
    } else {
        let mut failed = false;
        for batch in batches {
            failed |= parse_batch(items, tokens, head, batch, compact);
        }
        failed
    };
    // The split follows psql's rules; should PostgreSQL accept the region as a whole where
    // a piece failed, the split was wrong and the whole parse is the truth.
    if failed {
        if let Some(whole) = head.get(region.start..region.end).and_then(|sql| pg_ffi::parse_for_lint(sql).ok()) {
            items.truncate(before);
            for raw in whole.stmts {
                push_statement(items, tokens, raw, region.start, region.end, compact);
            }
        }
    }
}

/// Parses one batch of statements into `items`: all at once, or when that fails, statement
/// by statement, so that a syntax error stays within its statement. True if one failed.
fn parse_batch(items: &mut Vec<Item>, tokens: &[RawToken], head: &str, batch: &[Span], compact: bool) -> bool {
    let span = Span::new(batch[0].start, batch[batch.len() - 1].end);
    if let Ok(tree) = pg_ffi::parse_for_lint(&head[span.start..span.end]) {
        for raw in tree.stmts {
            push_statement(items, tokens, raw, span.start, span.end, compact);
        }
        return false;
    }
    let mut failed = false;
    for &span in batch {
        match pg_ffi::parse_for_lint(&head[span.start..span.end]) {
            Ok(tree) => {
                for raw in tree.stmts {
                    push_statement(items, tokens, raw, span.start, span.end, compact);
                }
            }
            Err(err) => {
                failed = true;
                items.push(Item::SyntaxError(syntax_error(tokens, span, &err)));
            }
        }
    }
    failed
}

/// Up to this much SQL, a file is parsed in one call; a larger one in pieces that the
/// workers share (see [`parse_and_scan_whole`]).
const WHOLE_FILE_BYTES: usize = PARALLEL_BYTES;

/// A region of at least this much SQL has its batches parsed in parallel.
const PARALLEL_BYTES: usize = 256 * 1024;

/// From this size on, a file's statements are copied once decoded. `prost` grows a repeated
/// field by pushing, so a decoded list of one node has room for four, at 608 bytes a node; a
/// copy allocates every list at its length, which takes a third off the memory of a file of
/// DDL statements, for about 5% more work. A smaller file's trees are small anyway.
pub(crate) const COMPACT_BYTES: usize = 32 * 1024;

/// Up to this much SQL is parsed in one call: each call to libpg_query has a fixed cost
/// (a memory context, an error buffer, a protobuf arena) worth a short statement's parse,
/// while a batch's tree is held at full size only until its statements are trimmed.
const BATCH_BYTES: usize = 16 * 1024;

/// Consecutive runs of statement `spans` covering at most `BATCH_BYTES` of text each (a
/// longer statement is a batch of its own).
fn batches(spans: &[Span]) -> impl Iterator<Item = &[Span]> {
    let mut rest = spans;
    std::iter::from_fn(move || {
        let first = rest.first()?;
        let end = 1 + rest[1..].iter().take_while(|s| s.end - first.start <= BATCH_BYTES).count();
        let (batch, tail) = rest.split_at(end);
        rest = tail;
        Some(batch)
    })
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Adds a decoded statement to `items` (a data statement comes trimmed to what rules read,
/// see [`pg_ffi::parse_for_lint`]), and with `compact`, copied so that its lists take no
/// spare room.
pub(crate) fn push_statement(
    items: &mut Vec<Item>,
    tokens: &[RawToken],
    raw: pg::RawStmt,
    base: usize,
    limit: usize,
    compact: bool,
) {
    let Some(node) = raw.stmt.and_then(|n| n.node) else {
        return;
    };
    let node = LintTree::new(if compact { node.clone() } else { node });
    let start = base + usize::try_from(raw.stmt_location).unwrap_or(0);
    let end = match usize::try_from(raw.stmt_len) {
        Ok(0) | Err(_) => limit,
        Ok(len) => start + len,
    };
    let first = tokens.partition_point(|t| t.start < start);
    let last = tokens.partition_point(|t| t.start < end);
    let is_code = |i: &usize| !is_comment(tokens[*i].token) && tokens[*i].token != Token::Ascii59;
    let (Some(a), Some(b)) = ((first..last).find(is_code), (first..last).rev().find(is_code)) else {
        return;
    };
    items.push(Item::Statement(Statement {
        span: Span::new(tokens[a].start, tokens[b].end),
        base,
        node,
        tokens: a..b + 1,
        nested_in: None,
    }));
}

/// Splits the token stream at top-level semicolons, as psql does. Semicolons inside a
/// `BEGIN ATOMIC … END` function body belong to the body.
pub fn split_statements(tokens: &[RawToken]) -> Vec<std::ops::Range<usize>> {
    let mut chunks = Vec::new();
    let mut start: Option<usize> = None;
    let mut atomic_depth = 0usize;
    // `CREATE RULE … DO (a; b)` keeps its semicolons inside parentheses.
    let mut paren_depth = 0usize;
    let mut previous = Token::Nul;
    for (i, token) in tokens.iter().enumerate() {
        if is_comment(token.token) {
            continue;
        }
        match token.token {
            Token::Ascii59 if atomic_depth == 0 && paren_depth == 0 => {
                if let Some(s) = start.take() {
                    chunks.push(s..i);
                }
                previous = token.token;
                continue;
            }
            Token::Ascii40 => paren_depth += 1,
            Token::Ascii41 => paren_depth = paren_depth.saturating_sub(1),
            Token::Atomic if previous == Token::BeginP => atomic_depth += 1,
            Token::Case if atomic_depth > 0 => atomic_depth += 1,
            Token::EndP if atomic_depth > 0 => atomic_depth -= 1,
            _ => {}
        }
        start.get_or_insert(i);
        previous = token.token;
    }
    if let Some(s) = start {
        chunks.push(s..tokens.len());
    }
    // Drop trailing comment-only tails from each chunk.
    chunks
        .into_iter()
        .filter_map(|range| {
            let last = range.clone().rev().find(|&i| !is_comment(tokens[i].token))?;
            Some(range.start..last + 1)
        })
        .collect()
}

fn syntax_error(tokens: &[RawToken], statement: Span, err: &PgError) -> SyntaxError {
    let span = err
        .offset
        .map(|offset| statement.start + offset)
        .and_then(|at| tokens.iter().find(|t| t.start <= at && at < t.end.max(t.start + 1)))
        .map_or(statement, |t| Span::new(t.start, t.end));
    // PostgreSQL puts the cursor at the end for "syntax error at end of input".
    let span = if err.offset.is_some_and(|o| statement.start + o >= statement.end) {
        Span::empty(statement.end)
    } else {
        span
    };
    // Bison's parser stack holds 10,000 levels; beyond that PostgreSQL says "memory
    // exhausted", which is no help to a reader (the server says the same).
    let message = if err.message.starts_with("memory exhausted") || err.message.starts_with("stack depth limit") {
        format!("statement is nested too deeply for PostgreSQL's parser ({})", err.message)
    } else {
        err.message.clone()
    };
    SyntaxError { span, statement, message }
}

/// An expression as SQL, printed by PostgreSQL's own deparser. The expression must come from
/// a full parse (`pg_ffi::parse`), or from a part of a [`LintTree`] that keeps it whole.
pub fn expression_sql(expr: &pg::Node) -> Option<String> {
    let sql = select_of(expr.clone())?;
    sql.strip_prefix("SELECT ").map(str::to_owned)
}

/// A type name as SQL (schema and modifiers kept), printed by PostgreSQL's deparser.
pub fn type_sql(ty: &pg::TypeName) -> Option<String> {
    let null = pg::Node { node: Some(N::AConst(pg::AConst { isnull: true, ..Default::default() })) };
    let cast = pg::Node {
        node: Some(N::TypeCast(Box::new(pg::TypeCast {
            arg: Some(Box::new(null)),
            type_name: Some(ty.clone()),
            location: -1,
        }))),
    };
    let sql = select_of(cast)?;
    let ty = sql.strip_prefix("SELECT NULL::")?;
    Some(ty.strip_prefix("pg_catalog.").unwrap_or(ty).to_owned())
}

/// `SELECT <expr>`, deparsed.
fn select_of(expr: pg::Node) -> Option<String> {
    let target = pg::ResTarget { val: Some(Box::new(expr)), ..Default::default() };
    let select = N::SelectStmt(Box::new(pg::SelectStmt {
        target_list: vec![pg::Node { node: Some(N::ResTarget(Box::new(target))) }],
        // The deparser asserts on the protobuf's zero values of these enums.
        op: pg::SetOperation::SetopNone.into(),
        limit_option: pg::LimitOption::Default.into(),
        ..Default::default()
    }));
    select.deparse(pg_query::DeparseOptions::default()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The trimming of data statements that the tree encoder does as it writes the tree
    /// ([`pg_ffi::parse_for_lint`]), done over a whole decoded tree: the reference it is held to.
    fn drop_literal_values(node: &mut pg::node::Node) {
        use pg::node::Node as N;
        match node {
            N::InsertStmt(insert) => {
                insert.cols = Vec::new();
                let Some(N::SelectStmt(select)) = insert.select_stmt.as_deref_mut().and_then(|s| s.node.as_mut())
                else {
                    return;
                };
                select.target_list = Vec::new();
                select.where_clause = None;
                for row in &mut select.values_lists {
                    if let Some(N::List(values)) = &mut row.node {
                        values.items.retain(|value| !is_literal(value));
                        values.items.shrink_to_fit();
                    }
                }
            }
            N::UpdateStmt(update) => {
                update.target_list.retain(|target| match &target.node {
                    Some(N::ResTarget(target)) => !target.val.as_deref().is_some_and(is_literal),
                    _ => true,
                });
                update.target_list.shrink_to_fit();
                placeholder_condition(&mut update.where_clause);
            }
            N::DeleteStmt(delete) => placeholder_condition(&mut delete.where_clause),
            _ => {}
        }
    }

    /// Replaces a `WHERE` condition by `true`, keeping only that there is one.
    fn placeholder_condition(condition: &mut Option<Box<pg::Node>>) {
        if let Some(condition) = condition {
            **condition = pg::Node {
                node: Some(pg::node::Node::AConst(pg::AConst {
                    isnull: false,
                    location: -1,
                    val: Some(pg::a_const::Val::Boolval(pg::Boolean { boolval: true })),
                })),
            };
        }
    }

    /// A value computed from constants alone: `'x'`, `NULL`, `'2020-01-01'::date`,
    /// `to_timestamp('…', '…')`, `1 + 2`. Column references and subqueries are not constant.
    fn is_literal(node: &pg::Node) -> bool {
        use pg::node::Node as N;
        let all = |nodes: &[pg::Node]| nodes.iter().all(is_literal);
        let operand = |node: &Option<Box<pg::Node>>| node.as_deref().is_none_or(is_literal);
        match &node.node {
            Some(N::AConst(_)) => true,
            Some(N::TypeCast(cast)) => cast.arg.as_deref().is_some_and(is_literal),
            Some(N::FuncCall(call)) => call.agg_filter.is_none() && call.over.is_none() && all(&call.args),
            Some(N::AExpr(expr)) => operand(&expr.lexpr) && operand(&expr.rexpr),
            Some(N::BoolExpr(expr)) => all(&expr.args),
            Some(N::List(list)) => all(&list.items),
            _ => false,
        }
    }

    /// The reduction of the queries of views and `CREATE TABLE AS` to the relations they
    /// read, as the tree encoder does it: the reference it is held to.
    fn keep_tables_read(node: &mut pg::node::Node) {
        use pg::node::Node as N;
        fn query(node: &pg::Node) -> pg::Node {
            match &node.node {
                Some(N::SelectStmt(select)) => pg::Node { node: Some(N::SelectStmt(Box::new(select_tables(select)))) },
                _ => node.clone(),
            }
        }
        fn select_tables(select: &pg::SelectStmt) -> pg::SelectStmt {
            let with_clause = select.with_clause.as_ref().map(|with| pg::WithClause {
                ctes: with
                    .ctes
                    .iter()
                    .map(|cte| match &cte.node {
                        Some(N::CommonTableExpr(c)) => pg::Node {
                            node: Some(N::CommonTableExpr(Box::new(pg::CommonTableExpr {
                                ctequery: c.ctequery.as_deref().map(|q| Box::new(query(q))),
                                ..(**c).clone()
                            }))),
                        },
                        _ => cte.clone(),
                    })
                    .collect(),
                ..with.clone()
            });
            pg::SelectStmt {
                distinct_clause: Vec::new(),
                into_clause: None,
                target_list: Vec::new(),
                where_clause: None,
                group_clause: Vec::new(),
                having_clause: None,
                window_clause: Vec::new(),
                values_lists: Vec::new(),
                sort_clause: Vec::new(),
                limit_offset: None,
                limit_count: None,
                locking_clause: Vec::new(),
                larg: select.larg.as_deref().map(|s| Box::new(select_tables(s))),
                rarg: select.rarg.as_deref().map(|s| Box::new(select_tables(s))),
                from_clause: select.from_clause.iter().map(from_item).collect(),
                with_clause,
                ..select.clone()
            }
        }
        fn from_item(item: &pg::Node) -> pg::Node {
            let node = match &item.node {
                Some(N::JoinExpr(join)) => N::JoinExpr(Box::new(pg::JoinExpr {
                    quals: None,
                    larg: join.larg.as_deref().map(|n| Box::new(from_item(n))),
                    rarg: join.rarg.as_deref().map(|n| Box::new(from_item(n))),
                    ..(**join).clone()
                })),
                Some(N::RangeSubselect(sub)) => N::RangeSubselect(Box::new(pg::RangeSubselect {
                    subquery: sub.subquery.as_deref().map(|q| Box::new(query(q))),
                    ..(**sub).clone()
                })),
                _ => return item.clone(),
            };
            pg::Node { node: Some(node) }
        }
        match node {
            N::ViewStmt(view) => view.query = view.query.as_deref().map(|q| Box::new(query(q))),
            N::CreateTableAsStmt(create) => create.query = create.query.as_deref().map(|q| Box::new(query(q))),
            _ => {}
        }
    }

    /// Parses `sql` whole and trimmed; the trimmed tree must be the whole one with the
    /// reference trimming applied, statement by statement. Returns how many statements.
    fn assert_trimmed_alike(sql: &str, name: &str) -> usize {
        let (Ok(whole), Ok(trimmed)) = (pg_ffi::parse(sql), pg_ffi::parse_for_lint(sql)) else {
            assert!(pg_ffi::parse(sql).is_err() && pg_ffi::parse_for_lint(sql).is_err(), "{name}: one parse failed");
            return 0;
        };
        assert_eq!(whole.stmts.len(), trimmed.stmts.len(), "{name}");
        for (mut expected, actual) in whole.stmts.into_iter().zip(trimmed.stmts) {
            if let Some(node) = expected.stmt.as_mut().and_then(|n| n.node.as_mut()) {
                drop_literal_values(node);
                keep_tables_read(node);
            }
            assert!(expected == actual, "{name}: trimmed differently at {}", actual.stmt_location);
        }
        1
    }

    /// On a thread with a linter's stack: deep trees recurse deeply as they are compared
    /// and dropped in unoptimised builds.
    fn on_deep_stack(f: impl FnOnce() + Send) {
        std::thread::scope(|scope| {
            std::thread::Builder::new()
                .stack_size(crate::DEEP_STACK_SIZE)
                .spawn_scoped(scope, f)
                .expect("a thread")
                .join()
                .expect("the check passed");
        });
    }

    #[test]
    fn the_encoder_trims_data_statements_as_the_reference_does() {
        let sql = "INSERT INTO t (a, b) VALUES (1, 'x'), (now(), DEFAULT), (count(*) FILTER (WHERE true), 2), ('a'::text || 'b', -1);
            INSERT INTO t SELECT a, b FROM s WHERE s.c > 1;
            INSERT INTO t VALUES (1) ON CONFLICT (a) DO UPDATE SET b = 1 WHERE t.c = 2 RETURNING a;
            WITH x AS (INSERT INTO u VALUES (1) RETURNING *) INSERT INTO t SELECT * FROM x;
            INSERT INTO t DEFAULT VALUES;
            UPDATE t SET a = 1, b = c, d = lower('X'), (e, f) = (1, 2) FROM s WHERE t.id = s.id AND s.x IN (1, 2);
            UPDATE t SET a = DEFAULT;
            DELETE FROM t USING s WHERE t.id = s.id;
            DELETE FROM t;
            CREATE TABLE t (a int DEFAULT 1 CHECK (a > 0));
            CREATE VIEW v AS WITH c AS (SELECT * FROM s WHERE x > 1) SELECT a, count(*) FROM t JOIN c ON c.id = t.id
                LEFT JOIN LATERAL (SELECT b FROM u ORDER BY b LIMIT 1) l ON true, generate_series(1, 3) g
                WHERE a > 0 GROUP BY a HAVING count(*) > 1 UNION ALL SELECT 1, 2 ORDER BY 1 LIMIT 10;
            CREATE OR REPLACE VIEW w (a) AS VALUES (1), (2);
            CREATE MATERIALIZED VIEW m AS SELECT DISTINCT ON (a) a FROM t FOR UPDATE WITH NO DATA;
            CREATE TABLE n AS SELECT * FROM t WHERE false;";
        on_deep_stack(|| assert_eq!(assert_trimmed_alike(sql, "examples"), 1));
    }

    /// Over every corpus file that parses whole, when the corpus is beside the repository.
    #[test]
    fn the_encoder_trims_the_corpus_as_the_reference_does() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
        let mut files = Vec::new();
        let mut pending = vec![dir];
        while let Some(dir) = pending.pop() {
            for path in std::fs::read_dir(&dir).into_iter().flatten().flatten().map(|e| e.path()) {
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|e| e == "sql") {
                    files.push(path);
                }
            }
        }
        if files.is_empty() {
            // As `tests/support::skip`: under CI a missing corpus fails, and a skip is never hidden.
            let required = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
                || std::env::var_os("DDLINT_REQUIRE_TOOLS").is_some();
            assert!(!required, "cannot run under CI: ../shared/corpus is absent");
            let _ = std::io::Write::write_all(&mut std::io::stderr(), b"skipped: ../shared/corpus is absent\n");
            return;
        }
        on_deep_stack(|| {
            let compared: usize = files
                .iter()
                .filter_map(|path| Some((path, std::fs::read_to_string(path).ok()?)))
                .map(|(path, text)| assert_trimmed_alike(&text, &path.display().to_string()))
                .sum();
            assert!(compared > 1000, "only {compared} corpus files parsed");
        });
    }

    fn statement_texts(text: &str) -> Vec<&str> {
        parse_file(text).statements().map(|s| &text[s.span.start..s.span.end]).collect()
    }

    fn syntax_errors(parsed: &ParsedFile) -> Vec<&SyntaxError> {
        parsed
            .items
            .iter()
            .filter_map(|i| match i {
                Item::SyntaxError(e) => Some(e),
                Item::Statement(_) => None,
            })
            .collect()
    }

    #[test]
    fn spans_skip_comments_and_semicolons() {
        let text = "-- lead\nCREATE TABLE a (id int);\n\n/* x */ DROP TABLE b ;";
        assert_eq!(statement_texts(text), vec!["CREATE TABLE a (id int)", "DROP TABLE b"]);
    }

    /// A file that parses as a whole is taken whole, unless a statement runs across a
    /// section boundary (an up part missing its last `;`): each section is parsed on its own.
    #[test]
    fn a_statement_across_sections_is_parsed_section_by_section() {
        let text = "CREATE TABLE a (id int);\nSELECT 1\n-- +goose Down\n, 2;\nDROP TABLE a;\n";
        let marker = text.find("-- +goose").unwrap();
        let sections = |_: &[RawToken]| vec![Span::new(0, marker), Span::new(marker, text.len())];
        let parsed = parse_file_in_sections(text, &[], sections);
        let texts: Vec<&str> = parsed.statements().map(|s| &text[s.span.start..s.span.end]).collect();
        assert_eq!(texts, ["CREATE TABLE a (id int)", "SELECT 1", "DROP TABLE a"]);
        assert_eq!(syntax_errors(&parsed).len(), 1, "`, 2` alone is not a statement");

        let text = "CREATE TABLE a (id int);\n-- +goose Down\nDROP TABLE a;\n";
        let marker = text.find("-- +goose").unwrap();
        let parsed = parse_file_in_sections(text, &[], |_| vec![Span::new(0, marker), Span::new(marker, text.len())]);
        let texts: Vec<&str> = parsed.statements().map(|s| &text[s.span.start..s.span.end]).collect();
        assert_eq!(texts, ["CREATE TABLE a (id int)", "DROP TABLE a"]);
        assert_eq!(parsed.tokens, pg_ffi::scan(text).unwrap());
    }

    #[test]
    fn syntax_error_is_pinned_and_the_rest_still_parses() {
        let text = "CREATE TABLE a (id int);\nALTER TABLE a ADD COLUMN;\nDROP TABLE b;\n";
        let parsed = parse_file(text);
        let errors = syntax_errors(&parsed);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].span, Span::empty(errors[0].statement.end));
        assert_eq!(&text[errors[0].statement.start..errors[0].statement.end], "ALTER TABLE a ADD COLUMN");
        assert_eq!(statement_texts(text), vec!["CREATE TABLE a (id int)", "DROP TABLE b"]);
    }

    #[test]
    fn batches_stay_under_their_size_and_keep_every_statement() {
        // 1,000 statements of ~50 bytes take several batches; one statement past the limit
        // is a batch of its own.
        let mut text: String = (0..1000).map(|i| format!("ALTER TABLE t{i:04} ADD COLUMN c{i:04} int;\n")).collect();
        text.push_str(&format!("COMMENT ON TABLE t IS '{}';\n", "x".repeat(BATCH_BYTES)));
        text.push_str("DROP TABLE z;\n");
        let parsed = parse_file(&text);
        let spans: Vec<Span> = parsed.statements().map(|s| s.span).collect();
        assert_eq!(spans.len(), 1002);
        let grouped: Vec<&[Span]> = batches(&spans).collect();
        assert!(grouped.len() > 3, "{}", grouped.len());
        assert_eq!(grouped.concat(), spans);
        for batch in &grouped {
            let extent = batch[batch.len() - 1].end - batch[0].start;
            assert!(extent <= BATCH_BYTES || batch.len() == 1, "{} statements over {extent} bytes", batch.len());
        }
        assert!(grouped.iter().any(|b| b.len() == 1 && b[0].len() > BATCH_BYTES));
    }

    #[test]
    fn a_syntax_error_deep_in_a_batch_stays_within_its_statement() {
        let mut text: String = (0..600).map(|i| format!("CREATE INDEX i{i} ON t (c{i});\n")).collect();
        text.push_str("ALTER TABLE t ADD COLUMN;\n");
        text.extend((600..1200).map(|i| format!("CREATE INDEX i{i} ON t (c{i});\n")));
        let parsed = parse_file(&text);
        assert_eq!(parsed.statements().count(), 1200);
        let errors = syntax_errors(&parsed);
        assert_eq!(errors.len(), 1);
        assert_eq!(&text[errors[0].statement.start..errors[0].statement.end], "ALTER TABLE t ADD COLUMN");
        let Some(Item::SyntaxError(_)) = parsed.items.get(600) else { panic!("the error is not 601st") };
        let texts = statement_texts(&text);
        assert_eq!((texts[599], texts[600]), ("CREATE INDEX i599 ON t (c599)", "CREATE INDEX i600 ON t (c600)"));
    }

    #[test]
    fn a_large_file_parses_alike_on_a_thread_pool() {
        let mut text: String = (0..12_000).map(|i| format!("ALTER TABLE t{i} ADD COLUMN c int;\n")).collect();
        let middle = text[..text.len() / 2].rfind('\n').unwrap() + 1;
        text.insert_str(middle, "ALTER TABLE t ADD COLUMN;\n");
        assert!(text.len() >= PARALLEL_BYTES);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).stack_size(crate::DEEP_STACK_SIZE).build().unwrap();
        let (alone, shared) = (parse_file(&text), pool.install(|| parse_file(&text)));
        assert_eq!(alone.items.len(), 12_001);
        assert_eq!(shared.items.len(), alone.items.len());
        for (a, b) in alone.items.iter().zip(&shared.items) {
            match (a, b) {
                (Item::Statement(a), Item::Statement(b)) => assert!(a.span == b.span && a.node == b.node),
                (Item::SyntaxError(a), Item::SyntaxError(b)) => assert_eq!(a, b),
                _ => panic!("{a:?} against {b:?}"),
            }
        }
        assert_eq!(syntax_errors(&shared).len(), 1);
    }

    /// A large file that parses is parsed in pieces cut after a `;` outside quotes and
    /// comments; the pieces give the tokens of a scan and the statements of the psql-style
    /// split. A cut inside a `BEGIN ATOMIC` body is merged away or, past a few merges, the
    /// file parsed as one with a syntax error would be, alike; a syntax error stays pinned.
    #[test]
    fn a_large_file_is_parsed_in_pieces_cut_between_statements() {
        let reference = |text: &str| -> Vec<String> {
            let tokens = pg_ffi::scan(text).unwrap();
            split_statements(&tokens)
                .into_iter()
                .map(|r| text[tokens[r.start].start..tokens[r.end - 1].end].to_owned())
                .collect()
        };
        let statement = |i: usize| match i % 4 {
            0 => format!("ALTER TABLE t{i} ADD COLUMN c int;\n"),
            1 => format!("INSERT INTO t VALUES ('a;\nb', {i}); -- a comment;\n"),
            2 => format!(
                "CREATE FUNCTION f{i}() RETURNS int AS $$ BEGIN\nPERFORM 1;\nRETURN {i};\nEND $$ LANGUAGE plpgsql;\n"
            ),
            _ => format!("/* a;\ncomment */ CREATE INDEX i{i} ON t (c);\r\n"),
        };
        let text: String = (0..6_000).map(statement).collect();
        assert!(text.len() > WHOLE_FILE_BYTES);
        let (items, tokens) = parse_and_scan_whole(&text, &preprocess::mask(&text).semicolons, true).expect("pieces");
        assert_eq!(items.len(), 6_000);
        assert_eq!(tokens, pg_ffi::scan(&text).unwrap());
        let parsed = parse_file(&text);
        assert_eq!(parsed.tokens, tokens);
        assert_eq!(statement_texts(&text), reference(&text));
        assert!(syntax_errors(&parsed).is_empty());
        for stmt in parsed.statements() {
            let own = parsed.statement_tokens(stmt);
            assert_eq!((own[0].start, own[own.len() - 1].end), (stmt.span.start, stmt.span.end), "{stmt:?}");
        }

        let atomic = |i: usize| {
            format!("CREATE FUNCTION g{i}() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT {i}; END;\n")
        };
        let text: String = (0..5_000).map(atomic).collect();
        assert!(text.len() > WHOLE_FILE_BYTES);
        let parsed = parse_file(&text);
        assert_eq!(parsed.tokens, pg_ffi::scan(&text).unwrap());
        assert_eq!(statement_texts(&text), reference(&text));
        assert_eq!(parsed.statements().count(), 5_000);
        assert!(syntax_errors(&parsed).is_empty());

        let mut text: String = (0..12_000).map(|i| format!("ALTER TABLE t{i} ADD COLUMN c int;\n")).collect();
        let middle = text[..text.len() / 2].rfind('\n').unwrap() + 1;
        text.insert_str(middle, "ALTER TABLE t ADD COLUMN;\n");
        assert!(parse_and_scan_whole(&text, &preprocess::mask(&text).semicolons, false).is_none());
        let parsed = parse_file(&text);
        assert_eq!(parsed.statements().count(), 12_000);
        assert_eq!(syntax_errors(&parsed).len(), 1);
    }

    #[test]
    fn syntax_error_points_at_the_named_token() {
        let text = "SELECT 1;\nCREATE TABLE x (id int) foo;\n";
        let parsed = parse_file(text);
        let Some(Item::SyntaxError(err)) = parsed.items.get(1) else { panic!("no error: {:?}", parsed.items) };
        assert_eq!(&text[err.span.start..err.span.end], "foo");
        assert_eq!(err.message, "syntax error at or near \"foo\"");
    }

    #[test]
    fn unterminated_string_keeps_earlier_statements() {
        let text = "DROP TABLE a;\nINSERT INTO t VALUES ('oops\n;";
        let parsed = parse_file(text);
        assert_eq!(parsed.statements().count(), 1);
        assert_eq!(parsed.items.len(), 2);
        let Some(Item::SyntaxError(err)) = parsed.items.last() else { panic!("{:?}", parsed.items) };
        assert!(err.message.contains("unterminated"), "{}", err.message);
        assert_eq!(&text[err.span.start..err.span.end], "'oops");
        assert!(text[err.statement.start..].starts_with("INSERT"));
    }

    #[test]
    fn meta_commands_are_not_syntax_errors() {
        let parsed = parse_file("\\set ON_ERROR_STOP 1\nBEGIN;\n\\i other.sql\nDROP TABLE a;\nCOMMIT;\n");
        assert_eq!(parsed.statements().count(), 3);
        assert_eq!(parsed.meta_commands.len(), 2);
        assert!(parsed.items.iter().all(|i| matches!(i, Item::Statement(_))));
    }

    #[test]
    fn data_statements_keep_what_rules_read() {
        use pg::node::Node as N;
        let text = "INSERT INTO a (x, y) VALUES (1, 'two'), (now(), y + 1);\n\
                    INSERT INTO a SELECT x FROM b JOIN c USING (id) WHERE b.z = 1;\n\
                    UPDATE a SET x = 1, y = 'y'::text, z = old_z WHERE id = 5;\n\
                    UPDATE a SET x = 1;\n\
                    DELETE FROM a WHERE id IN (SELECT id FROM b);";
        let parsed = parse_file(text);
        let nodes: Vec<&N> = parsed.statements().map(|s| &*s.node).collect();
        let [N::InsertStmt(values), N::InsertStmt(query), N::UpdateStmt(set), N::UpdateStmt(all), N::DeleteStmt(delete)] =
            nodes.as_slice()
        else {
            panic!("{nodes:?}")
        };
        assert_eq!(values.relation.as_ref().map(|r| r.relname.as_str()), Some("a"));
        let Some(N::SelectStmt(rows)) = values.select_stmt.as_ref().and_then(|s| s.node.as_ref()) else { panic!() };
        // `now()` and `y + 1` are not constants; the literals are gone.
        let row_lengths: Vec<usize> = rows
            .values_lists
            .iter()
            .map(|row| match &row.node {
                Some(N::List(list)) => list.items.len(),
                _ => usize::MAX,
            })
            .collect();
        assert_eq!(row_lengths, [0, 1]);
        let Some(query) = query.select_stmt.as_ref().and_then(|s| s.node.as_ref()) else { panic!() };
        let mut read: Vec<String> = crate::lock_model::read_tables(query).iter().map(|t| t.name.clone()).collect();
        read.sort();
        assert_eq!(read, ["b", "c"]);
        let assigned: Vec<&str> = set
            .target_list
            .iter()
            .filter_map(|t| match &t.node {
                Some(N::ResTarget(t)) => Some(t.name.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(assigned, ["z"]);
        assert!(set.where_clause.is_some());
        assert!(all.where_clause.is_none());
        assert!(delete.where_clause.is_some());
    }

    #[test]
    fn decoded_lists_of_a_large_file_hold_no_spare_room() {
        use pg::node::Node as N;
        // Statements parsed one by one and statements of a `DO` block alike.
        let text = format!(
            "CREATE TABLE t (a int, b text);\nSELECT FROM FROM;\n\
             DO $$ BEGIN ALTER TABLE t ADD COLUMN c pg_catalog.int8; END $$;\n-- {}",
            "x".repeat(COMPACT_BYTES)
        );
        let parsed = parse_file(&text);
        let mut lists = Vec::new();
        for statement in parsed.statements() {
            match &*statement.node {
                N::CreateStmt(create) => {
                    lists.push((create.table_elts.len(), create.table_elts.capacity()));
                    for column in &create.table_elts {
                        let Some(N::ColumnDef(column)) = &column.node else { panic!() };
                        let names = &column.type_name.as_ref().unwrap().names;
                        lists.push((names.len(), names.capacity()));
                    }
                }
                N::AlterTableStmt(alter) => lists.push((alter.cmds.len(), alter.cmds.capacity())),
                _ => {}
            }
        }
        // `int` is `pg_catalog.int4`, `text` is one name; the `DO` block's `ALTER` has one command.
        assert_eq!(lists, [(2, 2), (2, 2), (1, 1), (1, 1)]);
    }

    #[test]
    fn rule_actions_keep_their_semicolons() {
        let text = "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2));\nDROP TABLE c;";
        assert_eq!(parse_file(text).statements().count(), 2);
    }

    #[test]
    fn atomic_bodies_keep_their_semicolons() {
        let text = "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\nSELECT x FROM;";
        let parsed = parse_file(text);
        assert_eq!(parsed.statements().count(), 1);
    }
}
