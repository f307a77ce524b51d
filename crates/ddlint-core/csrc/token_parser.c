/*
 * PostgreSQL's parser driver (libpg_query's copy of parser.c) under ddlint's
 * own names, feeding the grammar of token_grammar.c from the recording
 * scanner of token_recorder.c instead of from `core_yylex` directly.
 */
#define raw_parser ddlint_raw_parser
#define base_yyparse ddlint_base_yyparse
#define base_yylex ddlint_base_yylex
#define parser_init ddlint_parser_init
#define core_yylex ddlint_recording_core_yylex

#include "src_backend_parser_parser.c"
