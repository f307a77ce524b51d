/*
 * PostgreSQL's grammar (libpg_query's copy of gram.c), compiled a second time
 * under ddlint's own names. This instance reads its tokens through
 * `ddlint_base_yylex` (token_parser.c), which records every token the scanner
 * produces, comments included, so that a file is scanned once for both its
 * tree and its tokens. libpg_query's own instance is untouched and serves
 * every other caller.
 */
#define base_yyparse ddlint_base_yyparse
#define base_yylex ddlint_base_yylex
#define parser_init ddlint_parser_init
#define SystemFuncName ddlint_SystemFuncName
#define SystemTypeName ddlint_SystemTypeName

#include "src_backend_parser_gram.c"
