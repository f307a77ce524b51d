/*
 * One scan for both the tree and the tokens.
 *
 * ddlint needs PostgreSQL's tokens of every file (comments for suppressions
 * and framework markers, token spans for findings) as well as its tree.
 * `pg_query_scan_tokens` and `pg_query_raw_parse` would scan each file twice,
 * and scanning is about as costly as the grammar itself. Here the grammar of
 * token_grammar.c, driven by the parser of token_parser.c, reads its tokens
 * through `ddlint_recording_core_yylex`, which writes down each token as
 * `pg_query_scan_tokens` would and passes it on, comments excepted. The
 * scanner does not depend on the grammar's state, so a parse that reaches the
 * end of its input has seen exactly the tokens a scan would give.
 */
#include "token_recorder.h"

#include "postgres.h"
#include "gramparse.h"
#include "parser/parser.h"
#include "parser/scansup.h"

#include <stdlib.h>

/* The parts of flex's scanner state that come before `yyleng`, as pg_query_scan.c reads them. */
struct yyguts_t
{
	void	   *yyextra_r;
	FILE	   *yyin_r,
			   *yyout_r;
	size_t		yy_buffer_stack_top;
	size_t		yy_buffer_stack_max;
	struct yy_buffer_state *yy_buffer_stack;
	char		yy_hold_char;
	size_t		yy_n_chars;
	size_t		yyleng_r;
};

/*
 * The tokens of the parse under way on this thread. A thread-local rather
 * than the scanner's state because an error longjmps out of the grammar, after
 * which only a static is sure to hold the buffer that needs freeing.
 */
static __thread struct
{
	PgQueryScanToken *data;
	int			len;
	int			cap;
}			recorded;

extern List *ddlint_raw_parser(const char *str, RawParseMode mode);
int			ddlint_recording_core_yylex(core_YYSTYPE *lvalp, YYLTYPE *llocp, core_yyscan_t yyscanner);

PgQueryError *
ddlint_take_error(MemoryContext context)
{
	ErrorData  *error_data;
	PgQueryError *error;

	MemoryContextSwitchTo(context);
	error_data = CopyErrorData();
	/* malloc'd, so that it outlives the memory context, as libpg_query's errors. */
	error = malloc(sizeof(PgQueryError));
	error->message = strdup(error_data->message);
	error->filename = strdup(error_data->filename);
	error->funcname = strdup(error_data->funcname);
	error->context = NULL;
	error->lineno = error_data->lineno;
	error->cursorpos = error_data->cursorpos;
	FlushErrorState();
	return error;
}

static void
record(int token, int start, int end)
{
	PgQueryScanToken *entry;

	if (recorded.len == recorded.cap)
	{
		int			cap = recorded.cap == 0 ? 256 : recorded.cap * 2;
		PgQueryScanToken *data = realloc(recorded.data, sizeof(PgQueryScanToken) * cap);

		if (data == NULL)
			elog(ERROR, "out of memory");
		recorded.data = data;
		recorded.cap = cap;
	}
	entry = &recorded.data[recorded.len++];
	entry->start = start;
	entry->end = end;
	entry->token = token;
	switch (token)
	{
#define PG_KEYWORD(a,b,c,d) case b: entry->keyword_kind = c + 1; break;
#include "parser/kwlist.h"
#undef PG_KEYWORD
		default:
			entry->keyword_kind = 0;
	}
}

/*
 * `core_yylex` for ddlint's grammar: records each token, comments included,
 * and hands the grammar every token but comments.
 */
int
ddlint_recording_core_yylex(core_YYSTYPE *lvalp, YYLTYPE *llocp, core_yyscan_t yyscanner)
{
	core_yy_extra_type *extra = &pg_yyget_extra(yyscanner)->core_yy_extra;

	extra->return_comments = true;
	for (;;)
	{
		int			token = core_yylex(lvalp, llocp, yyscanner);
		int			end;

		if (token == 0)
			return 0;
		/* As pg_query_scan_tokens finds where a token ends. */
		if (token == SCONST || token == USCONST || token == BCONST || token == XCONST ||
			token == IDENT || token == UIDENT || token == C_COMMENT)
			end = extra->yyllocend;
		else
			end = *llocp + (int) ((struct yyguts_t *) yyscanner)->yyleng_r;
		record(token, *llocp, end);
		if (token != SQL_COMMENT && token != C_COMMENT)
			return token;
	}
}

PgQueryInternalParsetreeAndError
ddlint_raw_parse_with_tokens(const char *input, PgQueryScanToken **tokens, int *n_tokens)
{
	PgQueryInternalParsetreeAndError result = {0};
	MemoryContext parse_context = CurrentMemoryContext;

	*tokens = NULL;
	*n_tokens = 0;
	recorded.data = NULL;
	recorded.len = 0;
	recorded.cap = 0;

	PG_TRY();
	{
		/* pg_query_raw_parse's defaults, which its callers here never change. */
		backslash_quote = BACKSLASH_QUOTE_SAFE_ENCODING;
		standard_conforming_strings = true;
		escape_string_warning = true;

		result.tree = ddlint_raw_parser(input, RAW_PARSE_DEFAULT);
		result.stderr_buffer = NULL;
		*tokens = recorded.data;
		*n_tokens = recorded.len;
		recorded.data = NULL;
	}
	PG_CATCH();
	{
		free(recorded.data);
		recorded.data = NULL;
		result.error = ddlint_take_error(parse_context);
	}
	PG_END_TRY();

	return result;
}
