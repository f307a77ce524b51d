/*
 * ddlint's C shared between files: parsing that also returns the scanner's tokens, and
 * errors as libpg_query reports them (token_recorder.c).
 */
#ifndef DDLINT_TOKEN_RECORDER_H
#define DDLINT_TOKEN_RECORDER_H

#include "pg_query.h"
#include "pg_query_internal.h"

/*
 * `pg_query_raw_parse` for ddlint's own instance of the grammar: on success,
 * also every token of `input` as `pg_query_scan_tokens` gives them, comments
 * included, in a malloc'd array of `*n_tokens` that the caller frees. On an
 * error, no tokens. Call inside a memory context, as `pg_query_raw_parse`.
 */
PgQueryInternalParsetreeAndError ddlint_raw_parse_with_tokens(const char *input,
															  PgQueryScanToken **tokens,
															  int *n_tokens);

/*
 * The error being handled, in a PG_CATCH block, as libpg_query reports errors: copied
 * into `context` and then to malloc'd memory that outlives it, with the error state
 * cleared.
 */
PgQueryError *ddlint_take_error(MemoryContext context);

#endif
