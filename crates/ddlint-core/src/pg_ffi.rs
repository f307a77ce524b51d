//! Direct calls into libpg_query for what the safe `pg_query` API does not offer: the error
//! cursor position, and parsing without the crate's extra tree walk, through ddlint's own
//! protobuf encoder of the tree (`csrc/tree_encoder.c`, several times faster than upb's).
//!
//! The symbols come from the static libpg_query that the `pg_query` crate links, and from
//! the encoder that `build.rs` compiles against the same headers.

use pg_query::protobuf;
use prost::Message;
use std::ffi::{c_char, c_int, CStr, CString};

#[repr(C)]
struct PgQueryError {
    message: *mut c_char,
    funcname: *mut c_char,
    filename: *mut c_char,
    lineno: c_int,
    cursorpos: c_int,
    context: *mut c_char,
}

#[repr(C)]
struct PgQueryProtobuf {
    len: usize,
    data: *mut c_char,
}

#[repr(C)]
struct PgQueryProtobufParseResult {
    parse_tree: PgQueryProtobuf,
    stderr_buffer: *mut c_char,
    error: *mut PgQueryError,
}

#[repr(C)]
struct PgQueryScanToken {
    start: c_int,
    end: c_int,
    token: c_int,
    keyword_kind: c_int,
}

#[repr(C)]
struct PgQueryScanTokensResult {
    tokens: *mut PgQueryScanToken,
    n_tokens: c_int,
    error: *mut PgQueryError,
}

extern "C" {
    /// `pg_query_parse_protobuf` with ddlint's own tree encoder (`csrc/tree_encoder.c`).
    fn ddlint_parse_protobuf(input: *const c_char, trim_data: c_int) -> PgQueryProtobufParseResult;
    /// `ddlint_parse_protobuf` that also fills `tokens` from the same scan when it succeeds
    /// (`csrc/token_recorder.c`).
    fn ddlint_parse_protobuf_with_tokens(
        input: *const c_char,
        trim_data: c_int,
        tokens: *mut PgQueryScanTokensResult,
    ) -> PgQueryProtobufParseResult;
    fn pg_query_free_protobuf_parse_result(result: PgQueryProtobufParseResult);
    fn pg_query_scan_tokens(input: *const c_char) -> PgQueryScanTokensResult;
    fn pg_query_free_scan_tokens_result(result: PgQueryScanTokensResult);
}

/// An error reported by PostgreSQL's scanner or parser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgError {
    pub message: String,
    /// Byte offset into the input where PostgreSQL placed its cursor, if it did.
    pub offset: Option<usize>,
}

/// One token from PostgreSQL's scanner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawToken {
    pub start: usize,
    pub end: usize,
    pub token: protobuf::Token,
    pub keyword_kind: protobuf::KeywordKind,
}

fn input(sql: &str) -> Result<CString, PgError> {
    CString::new(sql)
        .map_err(|e| PgError { message: "the text contains a NUL byte".to_owned(), offset: Some(e.nul_position()) })
}

/// Reads the error and converts PostgreSQL's 1-based character cursor into a byte offset.
///
/// # Safety
/// `error` must be a valid pointer returned by libpg_query.
unsafe fn read_error(error: *const PgQueryError, sql: &str) -> PgError {
    // SAFETY: libpg_query always sets `message` to a NUL-terminated string.
    let message = unsafe { CStr::from_ptr((*error).message) }.to_string_lossy().into_owned();
    // SAFETY: as above, `error` is valid.
    let cursor = unsafe { (*error).cursorpos };
    let offset = usize::try_from(cursor)
        .ok()
        .filter(|c| *c > 0)
        .map(|c| sql.char_indices().nth(c - 1).map_or(sql.len(), |(byte, _)| byte));
    PgError { message, offset }
}

/// Parses `sql` with PostgreSQL's grammar into the whole tree, as libpg_query gives it.
pub fn parse(sql: &str) -> Result<protobuf::ParseResult, PgError> {
    parse_with(sql, false)
}

/// Parses `sql` with PostgreSQL's grammar, with statements trimmed as the tree is encoded to
/// what ddlint's rules and lock model read of them. Of data statements (`INSERT`, `UPDATE`,
/// `DELETE`): the target table, the tables a query reads (`FROM`, joins, CTEs), whether there
/// is a `WHERE`, and values computed from columns (`SET new = old`); left out are column
/// lists, literal rows and values, an `INSERT` query's output columns and condition, and the
/// contents of a `WHERE`, which becomes the constant `true`. Of the query of a view or of
/// `CREATE TABLE AS`: the relations it reads (CTEs, `FROM`, set operations), without output
/// columns, conditions or join conditions. Seed-data migrations and generated views are made
/// of such statements, and each node of a decoded tree takes several hundred bytes, so they
/// would otherwise cost hundreds of megabytes and much of a run's time. A rule that needs
/// more of them must widen the trimming (`csrc/tree_encoder.c`, and the reference it is
/// tested against in `parse.rs`) first.
pub fn parse_for_lint(sql: &str) -> Result<protobuf::ParseResult, PgError> {
    parse_with(sql, true)
}

fn parse_with(sql: &str, trim_data: bool) -> Result<protobuf::ParseResult, PgError> {
    let c_sql = input(sql)?;
    // SAFETY: `c_sql` is a valid NUL-terminated string that outlives the call.
    let result = unsafe { ddlint_parse_protobuf(c_sql.as_ptr(), c_int::from(trim_data)) };
    // SAFETY: `result` comes from the call above and is read once.
    unsafe { take_parse_result(result, sql) }
}

/// [`parse_for_lint`] and [`scan`] at once: when `sql` parses, its tree and its tokens,
/// comments included, from a single pass of PostgreSQL's scanner. The grammar reads the
/// tokens as the scanner writes them down (`csrc/token_recorder.c`); a parse that fails
/// stops early and gives no tokens.
pub fn parse_and_scan_for_lint(sql: &str) -> Result<(protobuf::ParseResult, Vec<RawToken>), PgError> {
    let c_sql = input(sql)?;
    let mut tokens = PgQueryScanTokensResult { tokens: std::ptr::null_mut(), n_tokens: 0, error: std::ptr::null_mut() };
    // SAFETY: `c_sql` is a valid NUL-terminated string that outlives the call, and `tokens`
    // a valid place for the call to fill.
    let result = unsafe { ddlint_parse_protobuf_with_tokens(c_sql.as_ptr(), 1, &mut tokens) };
    // SAFETY: both results come from the call above and are read once each.
    let (tree, tokens) = unsafe { (take_parse_result(result, sql), take_tokens(tokens, sql)) };
    Ok((tree?, tokens?))
}

/// Decodes and frees a parse result.
///
/// # Safety
/// `result` must come from libpg_query or the tree encoder, and is freed here.
unsafe fn take_parse_result(result: PgQueryProtobufParseResult, sql: &str) -> Result<protobuf::ParseResult, PgError> {
    // SAFETY: the caller hands over a valid result; its buffers are read before it is freed.
    unsafe {
        let outcome = if result.error.is_null() {
            let data = std::slice::from_raw_parts(result.parse_tree.data as *const u8, result.parse_tree.len);
            protobuf::ParseResult::decode(data)
                .map_err(|e| PgError { message: format!("could not decode the parse tree: {e}"), offset: None })
        } else {
            Err(read_error(result.error, sql))
        };
        pg_query_free_protobuf_parse_result(result);
        outcome
    }
}

/// Copies and frees a token array.
///
/// # Safety
/// `result` must come from libpg_query or the token recorder, and is freed here.
unsafe fn take_tokens(result: PgQueryScanTokensResult, sql: &str) -> Result<Vec<RawToken>, PgError> {
    // SAFETY: the token array holds `n_tokens` elements while `result` lives.
    unsafe {
        let outcome = if result.error.is_null() {
            let count = usize::try_from(result.n_tokens).unwrap_or(0);
            let raw = if count == 0 || result.tokens.is_null() {
                &[][..]
            } else {
                std::slice::from_raw_parts(result.tokens, count)
            };
            Ok(raw
                .iter()
                .map(|t| RawToken {
                    start: usize::try_from(t.start).unwrap_or(0),
                    end: usize::try_from(t.end).unwrap_or(0),
                    token: protobuf::Token::try_from(t.token).unwrap_or(protobuf::Token::Nul),
                    keyword_kind: protobuf::KeywordKind::try_from(t.keyword_kind)
                        .unwrap_or(protobuf::KeywordKind::NoKeyword),
                })
                .collect())
        } else {
            Err(read_error(result.error, sql))
        };
        pg_query_free_scan_tokens_result(result);
        outcome
    }
}

/// Splits `sql` into PostgreSQL's tokens, comments included.
pub fn scan(sql: &str) -> Result<Vec<RawToken>, PgError> {
    let c_sql = input(sql)?;
    // SAFETY: `c_sql` is a valid NUL-terminated string that outlives the call.
    let result = unsafe { pg_query_scan_tokens(c_sql.as_ptr()) };
    // SAFETY: `result` comes from the call above and is read once.
    unsafe { take_tokens(result, sql) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_error_carries_byte_offset() {
        let err = parse("SELECT 'é', FROM t").unwrap_err();
        assert_eq!(err.message, "syntax error at or near \"FROM\"");
        assert_eq!(err.offset, Some("SELECT 'é', ".len()));
    }

    /// The tree encoder's edge cases beside the corpus-wide comparison: negative and
    /// extreme numbers, lengths that take several bytes, empty list members, nothing at all,
    /// and trees nested deeply and too deeply.
    #[test]
    fn the_tree_encoder_writes_what_libpg_query_writes() {
        let long_literal = format!("SELECT '{}'", "x".repeat(100_000));
        let many_columns =
            format!("CREATE TABLE t ({})", (0..2_000).map(|i| format!("c{i} int")).collect::<Vec<_>>().join(", "));
        // Deep enough for lengths of several bytes at every outer level, shallow enough for
        // libpg_query's encoder to stay within PostgreSQL's stack depth limit in normal builds.
        let nested = format!("SELECT {}1{}", "1 + (".repeat(100), ")".repeat(100));
        let too_deep = format!("SELECT {}1{}", "1 + (".repeat(3_000), ")".repeat(3_000));
        let inputs = [
            "",
            "-- nothing but a comment",
            "SELECT -2147483648, -1, 0, 2147483647, 1e300, -0.0, B'1010', X'FF', true, false, NULL",
            "SELECT DISTINCT a FROM t; SELECT DISTINCT ON (a) a, b FROM t ORDER BY a DESC NULLS LAST",
            "CREATE UNLOGGED TABLE s.t (a int GENERATED ALWAYS AS IDENTITY, b text COLLATE \"C\") PARTITION BY RANGE (a)",
            "CREATE TEMP TABLE t AS SELECT 1; ALTER TABLE t ALTER COLUMN a TYPE bigint USING a::bigint",
            "INSERT INTO t VALUES (1, 'a'), (2, $1) ON CONFLICT (a) DO UPDATE SET b = EXCLUDED.b RETURNING *",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END",
            "SELECT a[1:2], (x).y, ARRAY[1, 2], ROW(1, 2), CASE WHEN a THEN 1 ELSE 2 END FROM t",
            "SELECT 1 UNION SELECT 2 INTERSECT SELECT 3 EXCEPT SELECT 4",
            &long_literal,
            &many_columns,
            &nested,
            &too_deep,
        ];
        let compare = |sql: &str| match (parse(sql), pg_query::parse(sql, 0)) {
            (Ok(ours), Ok(reference)) => assert!(ours == reference.protobuf, "{:.80}: the trees differ", sql),
            (Err(ours), Err(pg_query::Error::Parse(message))) => assert_eq!(ours.message, message, "{:.80}", sql),
            // libpg_query's encoder takes more stack a level than ours, so PostgreSQL's stack
            // depth limit can stop it first (under a sanitizer, even at 100 levels).
            (Ok(_), Err(pg_query::Error::Parse(message))) if message.contains("too deeply to serialize") => {}
            (ours, reference) => panic!("{:.80}: ours {:?}, libpg_query's {:?}", sql, ours.err(), reference.err()),
        };
        // On a thread of its own size: libpg_query sizes its stack depth limit by the thread's
        // stack, and the deep trees need more than a test thread has to compare and drop.
        std::thread::scope(|scope| {
            std::thread::Builder::new()
                .stack_size(crate::DEEP_STACK_SIZE)
                .spawn_scoped(scope, || inputs.iter().for_each(|sql| compare(sql)))
                .expect("a thread for the comparison")
                .join()
                .expect("the trees are alike");
        });
    }

    /// The tree and tokens of one pass are those of a parse and a scan of their own, where
    /// the grammar's own lookahead (`NOT IN`, `NULLS FIRST`, `WITH TIME`, `UESCAPE`) meets
    /// comments, and at the end of the input.
    #[test]
    fn one_pass_gives_the_tree_of_a_parse_and_the_tokens_of_a_scan() {
        let inputs = [
            "",
            "-- only a comment",
            "/* a /* nested */ comment */",
            "SELECT 1 WHERE a NOT /* between */ IN (1, 2) AND b NOT -- here\n LIKE 'x'",
            "SELECT a FROM t ORDER BY a NULLS /* c */ FIRST; SELECT now() AT TIME ZONE 'UTC'",
            "CREATE TABLE t (a timestamp WITH -- c\n TIME ZONE, b time WITHOUT TIME ZONE)",
            "SELECT U&'d\\0061t\\+000061' UESCAPE /* c */ '\\', U&\"d!0061t\" UESCAPE '!' FROM t",
            "SELECT E'it''s \\n', $body$ ; $body$, B'01', X'ff', 1.5e3, $1 -- last",
            "SELECT 1 -- no newline at the end",
            "SELECT a NOT",
            "SELECT 1; SELECT FROM WHERE",
            "SELECT 'unterminated",
            "SELECT 1 /* unterminated",
        ];
        for sql in inputs {
            match (parse_and_scan_for_lint(sql), parse_for_lint(sql)) {
                (Ok((tree, tokens)), Ok(reference)) => {
                    assert_eq!(tree, reference, "{sql}: the trees differ");
                    assert_eq!(tokens, scan(sql).unwrap(), "{sql}: the tokens differ");
                }
                (Err(ours), Err(reference)) => assert_eq!(ours, reference, "{sql}"),
                (ours, reference) => panic!("{sql}: one pass {:?}, on its own {:?}", ours.err(), reference.err()),
            }
        }
        assert!(parse_and_scan_for_lint("SELECT 1; SELECT FROM WHERE").is_err());
    }

    #[test]
    fn scan_reports_comments_and_offsets() {
        let tokens = scan("SELECT 1; -- hi\n/* c */").unwrap();
        let kinds: Vec<_> = tokens.iter().map(|t| t.token).collect();
        assert!(kinds.contains(&protobuf::Token::SqlComment));
        assert!(kinds.contains(&protobuf::Token::CComment));
        assert_eq!(tokens[0].start, 0);
        assert_eq!(tokens[0].end, 6);
    }

    #[test]
    fn scan_error_points_at_unterminated_string() {
        let err = scan("SELECT 1;\nSELECT 'abc").unwrap_err();
        assert!(err.message.contains("unterminated"), "{}", err.message);
        assert_eq!(err.offset, Some(17));
    }
}
