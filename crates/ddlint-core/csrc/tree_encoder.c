/*
 * PostgreSQL's parse tree written straight into protobuf's wire format.
 *
 * libpg_query's own `pg_query_parse_protobuf` first builds the tree again as upb
 * messages in an arena, then has upb encode them; upb's encoder looks at every
 * one of the 270-odd members of the `Node` oneof for every node, which costs
 * more than PostgreSQL's grammar itself. This file writes the same bytes in one
 * walk: it reuses libpg_query's generated per-node field lists
 * (`pg_query_outfuncs_defs.c`) with WRITE_* macros that emit wire format, and
 * the field numbers the build script reads from `pg_query.proto`
 * (`pg_query_field_numbers.h`). Decoding the result gives the same
 * `pg_query::protobuf::ParseResult` as libpg_query's encoder; a test compares
 * the two over the corpus.
 */
#include "pg_query.h"
#include "pg_query_internal.h"

#include "postgres.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "nodes/value.h"
#include "utils/memutils.h"

#include <stdlib.h>
#include <string.h>

#include "pg_query_field_numbers.h"
#include "token_recorder.h"


/* The output: a growing malloc'd buffer, handed to the caller as it is. */
typedef struct WireBuffer
{
	char	   *data;
	size_t		len;
	size_t		cap;
	int			depth;			/* open length-delimited messages */
} WireBuffer;

enum
{
	WIRE_VARINT = 0,
	WIRE_FIXED64 = 1,
	WIRE_LENGTH = 2,
};

static void
grow(WireBuffer *out, size_t extra)
{
	size_t		cap = out->cap;
	char	   *data;

	while (cap < out->len + extra)
		cap *= 2;
	data = realloc(out->data, cap);
	if (data == NULL)
		elog(ERROR, "out of memory");
	out->data = data;
	out->cap = cap;
}

static inline void
reserve(WireBuffer *out, size_t extra)
{
	if (out->len + extra > out->cap)
		grow(out, extra);
}

static inline void
put_varint(WireBuffer *out, uint64 value)
{
	reserve(out, 10);
	while (value >= 0x80)
	{
		out->data[out->len++] = (char) ((value & 0x7f) | 0x80);
		value >>= 7;
	}
	out->data[out->len++] = (char) value;
}

static inline void
put_tag(WireBuffer *out, uint32 field, int wire_type)
{
	put_varint(out, ((uint64) field << 3) | (uint64) wire_type);
}

/* proto3 leaves zero scalars out, as upb does; a decoder reads them as zero. */
static inline void
put_unsigned(WireBuffer *out, uint32 field, uint64 value)
{
	if (value != 0)
	{
		put_tag(out, field, WIRE_VARINT);
		put_varint(out, value);
	}
}

/* Negative int32 and int64 values are sign-extended to ten bytes. */
static inline void
put_signed(WireBuffer *out, uint32 field, int64 value)
{
	put_unsigned(out, field, (uint64) value);
}

static inline void
put_double(WireBuffer *out, uint32 field, double value)
{
	uint64		bits;
	int			i;

	if (value == 0 && !signbit(value))
		return;
	memcpy(&bits, &value, sizeof bits);
	put_tag(out, field, WIRE_FIXED64);
	reserve(out, 8);
	for (i = 0; i < 8; i++)
		out->data[out->len++] = (char) (bits >> (8 * i));
}

static inline void
put_bytes(WireBuffer *out, uint32 field, const char *bytes, size_t len)
{
	if (len == 0)
		return;
	put_tag(out, field, WIRE_LENGTH);
	put_varint(out, len);
	reserve(out, len);
	memcpy(out->data + out->len, bytes, len);
	out->len += len;
}

static inline void
put_string(WireBuffer *out, uint32 field, const char *value)
{
	if (value != NULL)
		put_bytes(out, field, value, strlen(value));
}

/*
 * Opens an embedded message: its tag and one byte for its length, which
 * `end_message` fills in, moving the body along if the length needs more.
 * Returns where the body starts.
 */
static inline size_t
begin_message(WireBuffer *out, uint32 field)
{
	if (++out->depth > PG_QUERY_PROTOBUF_MAX_DEPTH)
		elog(ERROR, "parse tree is nested too deeply to serialize to protobuf");
	put_tag(out, field, WIRE_LENGTH);
	reserve(out, 1);
	out->len++;
	return out->len;
}

static void
end_message(WireBuffer *out, size_t body)
{
	size_t		len = out->len - body;
	size_t		extra = 0;
	size_t		rest;
	char	   *at;

	out->depth--;
	if (len < 0x80)
	{
		out->data[body - 1] = (char) len;
		return;
	}
	for (rest = len >> 7; rest != 0; rest >>= 7)
		extra++;
	reserve(out, extra);
	memmove(out->data + body + extra, out->data + body, len);
	out->len += extra;
	at = out->data + body - 1;
	for (rest = len; rest >= 0x80; rest >>= 7)
		*at++ = (char) ((rest & 0x7f) | 0x80);
	*at = (char) rest;
}

/* libpg_query's generated field lists, written with the macros below. */
#define OUT_TYPE(typename, typename_c) WireBuffer *

#define WRITE_INT_FIELD(msgtype, outname, outname_json, fldname) \
	put_signed(out, PB_##msgtype##_##outname, node->fldname);
#define WRITE_UINT_FIELD(msgtype, outname, outname_json, fldname) \
	put_unsigned(out, PB_##msgtype##_##outname, node->fldname);
#define WRITE_UINT64_FIELD(msgtype, outname, outname_json, fldname) \
	put_unsigned(out, PB_##msgtype##_##outname, node->fldname);
#define WRITE_LONG_FIELD(msgtype, outname, outname_json, fldname) \
	put_signed(out, PB_##msgtype##_##outname, node->fldname);
#define WRITE_FLOAT_FIELD(msgtype, outname, outname_json, fldname) \
	put_double(out, PB_##msgtype##_##outname, node->fldname);
#define WRITE_BOOL_FIELD(msgtype, outname, outname_json, fldname) \
	put_unsigned(out, PB_##msgtype##_##outname, node->fldname ? 1 : 0);
#define WRITE_ENUM_FIELD(msgtype, enumtype, outname, outname_json, fldname) \
	put_signed(out, PB_##msgtype##_##outname, _enumToInt##enumtype(node->fldname));

#define WRITE_CHAR_FIELD(msgtype, outname, outname_json, fldname) \
	if (node->fldname != 0) { \
		char		__c = node->fldname; \
		put_bytes(out, PB_##msgtype##_##outname, &__c, 1); \
	}

#define WRITE_STRING_FIELD(msgtype, outname, outname_json, fldname) \
	put_string(out, PB_##msgtype##_##outname, node->fldname);

#define WRITE_LIST_FIELD(msgtype, outname, outname_json, fldname) \
	put_node_list(out, PB_##msgtype##_##outname, node->fldname);

#define WRITE_BITMAPSET_FIELD(msgtype, outname, outname_json, fldname) \
	if (!bms_is_empty(node->fldname)) { \
		int			__x = -1; \
		while ((__x = bms_next_member(node->fldname, __x)) >= 0) { \
			put_tag(out, PB_##msgtype##_##outname, WIRE_VARINT); \
			put_varint(out, (uint64) __x); \
		} \
	}

#define WRITE_NODE_FIELD(msgtype, outname, outname_json, fldname) \
	{ \
		size_t		__body = begin_message(out, PB_##msgtype##_##outname); \
		_outNode(out, &node->fldname); \
		end_message(out, __body); \
	}

#define WRITE_NODE_PTR_FIELD(msgtype, outname, outname_json, fldname) \
	if (node->fldname != NULL) { \
		size_t		__body = begin_message(out, PB_##msgtype##_##outname); \
		_outNode(out, node->fldname); \
		end_message(out, __body); \
	}

#define WRITE_SPECIFIC_NODE_FIELD(msgtype, typename, typename_underscore, outname, outname_json, fldname) \
	{ \
		size_t		__body = begin_message(out, PB_##msgtype##_##outname); \
		_out##typename(out, &node->fldname); \
		end_message(out, __body); \
	}

/* Recurses without passing through _outNode, so it checks the stack itself. */
#define WRITE_SPECIFIC_NODE_PTR_FIELD(msgtype, typename, typename_underscore, outname, outname_json, fldname) \
	if (node->fldname != NULL) { \
		size_t		__body; \
		check_stack_depth(); \
		__body = begin_message(out, PB_##msgtype##_##outname); \
		_out##typename(out, node->fldname); \
		end_message(out, __body); \
	}

#define OUT_NODE(typename, typename_c, typename_underscore, typename_underscore_upcase, typename_cast, fldname) \
	{ \
		size_t		__body = begin_message(out, PB_Node_##fldname); \
		_out##typename_c(out, (const typename_cast *) obj); \
		end_message(out, __body); \
	}

static void _outNode(WireBuffer *out, const void *obj);

/* Each member of `list` as a `Node` message of the repeated field `field`. */
static void
put_node_list(WireBuffer *out, uint32 field, const List *list)
{
	const ListCell *lc;

	foreach(lc, list)
	{
		size_t		body = begin_message(out, field);

		_outNode(out, lfirst(lc));
		end_message(out, body);
	}
}

static void
_outList(WireBuffer *out, const List *node)
{
	put_node_list(out, PB_List_items, node);
}

static void
_outIntList(WireBuffer *out, const List *node)
{
	put_node_list(out, PB_IntList_items, node);
}

static void
_outOidList(WireBuffer *out, const List *node)
{
	put_node_list(out, PB_OidList_items, node);
}

static void
_outInteger(WireBuffer *out, const Integer *node)
{
	put_signed(out, PB_Integer_ival, node->ival);
}

static void
_outFloat(WireBuffer *out, const Float *node)
{
	put_string(out, PB_Float_fval, node->fval);
}

static void
_outBoolean(WireBuffer *out, const Boolean *node)
{
	put_unsigned(out, PB_Boolean_boolval, node->boolval ? 1 : 0);
}

static void
_outString(WireBuffer *out, const String *node)
{
	put_string(out, PB_String_sval, node->sval);
}

static void
_outBitString(WireBuffer *out, const BitString *node)
{
	put_string(out, PB_BitString_bsval, node->bsval);
}

static void
_outAConst(WireBuffer *out, const A_Const *node)
{
	if (!node->isnull)
	{
		size_t		body;

		switch (nodeTag(&node->val.node))
		{
			case T_Integer:
				body = begin_message(out, PB_A_Const_ival);
				_outInteger(out, &node->val.ival);
				break;
			case T_Float:
				body = begin_message(out, PB_A_Const_fval);
				_outFloat(out, &node->val.fval);
				break;
			case T_Boolean:
				body = begin_message(out, PB_A_Const_boolval);
				_outBoolean(out, &node->val.boolval);
				break;
			case T_String:
				body = begin_message(out, PB_A_Const_sval);
				_outString(out, &node->val.sval);
				break;
			case T_BitString:
				body = begin_message(out, PB_A_Const_bsval);
				_outBitString(out, &node->val.bsval);
				break;
			default:
				elog(ERROR, "unrecognized constant type: %d", (int) nodeTag(&node->val.node));
				return;
		}
		end_message(out, body);
	}
	put_unsigned(out, PB_A_Const_isnull, node->isnull ? 1 : 0);
	put_signed(out, PB_A_Const_location, node->location);
}

#include "pg_query_enum_defs.c"
#include "pg_query_outfuncs_defs.c"

static void
_outNode(WireBuffer *out, const void *obj)
{
	check_stack_depth();

	if (obj == NULL)
		return;					/* an empty Node, as libpg_query writes it */

	switch (nodeTag(obj))
	{
#include "pg_query_outfuncs_conds.c"

		default:
			elog(WARNING, "could not dump unrecognized node type: %d", (int) nodeTag(obj));
			return;
	}
}

/*
 * Trimming statements to what ddlint's rules and lock model read of them, for
 * `ddlint_parse_protobuf` with `trim_data`. Of data statements (`INSERT`,
 * `UPDATE`, `DELETE`): the target table, the tables a query reads, whether
 * there is a `WHERE`, and values computed from columns; column lists, literal
 * rows and values, an `INSERT` query's output columns and condition, and the
 * contents of a `WHERE` (which becomes the constant `true`) are left out. Of
 * the query of a view or `CREATE TABLE AS`: the relations it reads. Seed-data
 * files and generated views are made of such statements, and every node not
 * written is a node not decoded, allocated and freed. Trimmed statements are
 * shallow copies in the parse's memory context; the tree itself is unchanged.
 * The tests hold this to a reference written over decoded trees.
 */

/* A value computed from constants alone: 'x', NULL, '2020-01-01'::date, f('x'), 1 + 2. */
static bool
is_literal(const Node *node)
{
	const ListCell *lc;
	const List *all = NIL;

	if (node == NULL)
		return false;
	check_stack_depth();
	switch (nodeTag(node))
	{
		case T_A_Const:
			return true;
		case T_TypeCast:
			return is_literal(((const TypeCast *) node)->arg);
		case T_FuncCall:
			{
				const FuncCall *call = (const FuncCall *) node;

				if (call->agg_filter != NULL || call->over != NULL)
					return false;
				all = call->args;
				break;
			}
		case T_A_Expr:
			{
				const A_Expr *expr = (const A_Expr *) node;

				return (expr->lexpr == NULL || is_literal(expr->lexpr)) &&
					(expr->rexpr == NULL || is_literal(expr->rexpr));
			}
		case T_BoolExpr:
			all = ((const BoolExpr *) node)->args;
			break;
		case T_List:
			all = (const List *) node;
			break;
		default:
			return false;
	}
	foreach(lc, all)
	{
		if (!is_literal(lfirst(lc)))
			return false;
	}
	return true;
}

/* Stands in for a condition: that there is one is all rules read of it. */
static Node *
placeholder_condition(Node *condition)
{
	A_Const    *constant;

	if (condition == NULL)
		return NULL;
	constant = makeNode(A_Const);
	constant->val.boolval.type = T_Boolean;
	constant->val.boolval.boolval = true;
	constant->isnull = false;
	constant->location = -1;
	return (Node *) constant;
}

static Node *
trimmed_insert(const InsertStmt *insert)
{
	InsertStmt *copy = palloc(sizeof(InsertStmt));

	*copy = *insert;
	copy->cols = NIL;
	if (insert->selectStmt != NULL && IsA(insert->selectStmt, SelectStmt))
	{
		SelectStmt *select = palloc(sizeof(SelectStmt));
		const ListCell *row;

		*select = *(const SelectStmt *) insert->selectStmt;
		select->targetList = NIL;
		select->whereClause = NULL;
		select->valuesLists = NIL;
		foreach(row, ((const SelectStmt *) insert->selectStmt)->valuesLists)
		{
			Node	   *values = lfirst(row);

			if (values != NULL && IsA(values, List))
			{
				List	   *kept = NIL;
				const ListCell *value;

				foreach(value, (const List *) values)
				{
					if (!is_literal(lfirst(value)))
						kept = lappend(kept, lfirst(value));
				}
				/* An empty row is still a row: NIL would write no List at all. */
				values = kept != NIL ? (Node *) kept : (Node *) makeNode(List);
			}
			select->valuesLists = lappend(select->valuesLists, values);
		}
		copy->selectStmt = (Node *) select;
	}
	return (Node *) copy;
}

static Node *
trimmed_update(const UpdateStmt *update)
{
	UpdateStmt *copy = palloc(sizeof(UpdateStmt));
	const ListCell *lc;

	*copy = *update;
	copy->targetList = NIL;
	foreach(lc, update->targetList)
	{
		const Node *target = lfirst(lc);

		if (target == NULL || !IsA(target, ResTarget) || !is_literal(((const ResTarget *) target)->val))
			copy->targetList = lappend(copy->targetList, lfirst(lc));
	}
	copy->whereClause = placeholder_condition(update->whereClause);
	return (Node *) copy;
}

static Node *
trimmed_delete(const DeleteStmt *delete)
{
	DeleteStmt *copy = palloc(sizeof(DeleteStmt));

	*copy = *delete;
	copy->whereClause = placeholder_condition(delete->whereClause);
	return (Node *) copy;
}

static Node *tables_only_from(Node *item);

/*
 * A query reduced to the relations it reads, which is all that is read of the
 * query of a view or of `CREATE TABLE AS`: its CTEs, FROM list (joins and
 * subqueries in FROM) and set operations are kept, its output columns,
 * conditions, grouping, ordering and limits left out, as are join conditions.
 * Generated views are often the largest statements of a schema.
 */
static Node *
tables_only(Node *query)
{
	SelectStmt *copy;
	const ListCell *lc;

	if (query == NULL || !IsA(query, SelectStmt))
		return query;
	check_stack_depth();
	copy = palloc(sizeof(SelectStmt));
	*copy = *(const SelectStmt *) query;
	copy->distinctClause = NIL;
	copy->intoClause = NULL;
	copy->targetList = NIL;
	copy->whereClause = NULL;
	copy->groupClause = NIL;
	copy->havingClause = NULL;
	copy->windowClause = NIL;
	copy->valuesLists = NIL;
	copy->sortClause = NIL;
	copy->limitOffset = NULL;
	copy->limitCount = NULL;
	copy->lockingClause = NIL;
	copy->larg = (SelectStmt *) tables_only((Node *) copy->larg);
	copy->rarg = (SelectStmt *) tables_only((Node *) copy->rarg);
	copy->fromClause = NIL;
	foreach(lc, ((const SelectStmt *) query)->fromClause)
		copy->fromClause = lappend(copy->fromClause, tables_only_from(lfirst(lc)));
	if (copy->withClause != NULL)
	{
		WithClause *with = palloc(sizeof(WithClause));

		*with = *copy->withClause;
		with->ctes = NIL;
		foreach(lc, copy->withClause->ctes)
		{
			Node	   *cte = lfirst(lc);

			if (cte != NULL && IsA(cte, CommonTableExpr))
			{
				CommonTableExpr *kept = palloc(sizeof(CommonTableExpr));

				*kept = *(const CommonTableExpr *) cte;
				kept->ctequery = tables_only(kept->ctequery);
				cte = (Node *) kept;
			}
			with->ctes = lappend(with->ctes, cte);
		}
		copy->withClause = with;
	}
	return (Node *) copy;
}

/* An item of a FROM list, reduced as `tables_only` reduces a query. */
static Node *
tables_only_from(Node *item)
{
	if (item == NULL)
		return NULL;
	check_stack_depth();
	if (IsA(item, JoinExpr))
	{
		JoinExpr   *join = palloc(sizeof(JoinExpr));

		*join = *(const JoinExpr *) item;
		join->quals = NULL;
		join->larg = tables_only_from(join->larg);
		join->rarg = tables_only_from(join->rarg);
		return (Node *) join;
	}
	if (IsA(item, RangeSubselect))
	{
		RangeSubselect *subselect = palloc(sizeof(RangeSubselect));

		*subselect = *(const RangeSubselect *) item;
		subselect->subquery = tables_only(subselect->subquery);
		return (Node *) subselect;
	}
	return item;
}

/* `raw`, or a copy whose statement is trimmed as above. */
static const RawStmt *
trimmed_statement(const RawStmt *raw)
{
	RawStmt    *copy;
	Node	   *stmt = raw->stmt;

	if (stmt == NULL)
		return raw;
	switch (nodeTag(stmt))
	{
		case T_InsertStmt:
			stmt = trimmed_insert((const InsertStmt *) stmt);
			break;
		case T_UpdateStmt:
			stmt = trimmed_update((const UpdateStmt *) stmt);
			break;
		case T_DeleteStmt:
			stmt = trimmed_delete((const DeleteStmt *) stmt);
			break;
		case T_ViewStmt:
			{
				ViewStmt   *view = palloc(sizeof(ViewStmt));

				*view = *(const ViewStmt *) stmt;
				view->query = tables_only(view->query);
				stmt = (Node *) view;
				break;
			}
		case T_CreateTableAsStmt:
			{
				CreateTableAsStmt *create = palloc(sizeof(CreateTableAsStmt));

				*create = *(const CreateTableAsStmt *) stmt;
				create->query = tables_only(create->query);
				stmt = (Node *) create;
				break;
			}
		default:
			return raw;
	}
	copy = palloc(sizeof(RawStmt));
	*copy = *raw;
	copy->stmt = stmt;
	return copy;
}

/*
 * The buffer of the encoding under way on this thread. It is not a local of
 * `ddlint_parse_protobuf` because an error longjmps out of the encoder, after
 * which only a static is sure to hold the buffer that needs freeing.
 */
static __thread WireBuffer encoding;

/*
 * Writes the statements of `tree` as a `ParseResult` message into `encoding`,
 * with `trim_data`, data statements trimmed as above.
 */
static void
encode_parse_result(const List *tree, bool trim_data)
{
	WireBuffer	   *out = &encoding;

	out->cap = 4096;
	out->len = 0;
	out->depth = 0;
	out->data = malloc(out->cap);
	if (out->data == NULL)
		elog(ERROR, "out of memory");

	put_signed(out, PB_ParseResult_version, PG_VERSION_NUM);
	if (tree != NULL)
	{
		const ListCell *lc;

		foreach(lc, tree)
		{
			size_t		body = begin_message(out, PB_ParseResult_stmts);
			const RawStmt *raw = lfirst(lc);

			_outRawStmt(out, trim_data ? trimmed_statement(raw) : raw);
			end_message(out, body);
		}
	}
}

/*
 * Encodes a parse that `parse` ran in `ctx`, leaves the context and returns the
 * result as `pg_query_parse_protobuf` would.
 */
static PgQueryProtobufParseResult
encode_parse(MemoryContext ctx, PgQueryInternalParsetreeAndError parsed, bool trim_data)
{
	PgQueryProtobufParseResult result = {0};

	result.stderr_buffer = parsed.stderr_buffer;
	result.error = parsed.error;
	if (result.error != NULL)
	{
		pg_query_exit_memory_context(ctx);
		return result;
	}

	/* Deep trees can exhaust the stack or the depth limit while encoding. */
	PG_TRY();
	{
		encode_parse_result(parsed.tree, trim_data);
		result.parse_tree.data = encoding.data;
		result.parse_tree.len = encoding.len;
		encoding.data = NULL;
	}
	PG_CATCH();
	{
		free(encoding.data);
		encoding.data = NULL;
		result.error = ddlint_take_error(ctx);
	}
	PG_END_TRY();

	pg_query_exit_memory_context(ctx);
	return result;
}

/*
 * `pg_query_parse_protobuf` with this file's encoder: the same memory context,
 * error handling and result, freed with `pg_query_free_protobuf_parse_result`.
 * With `trim_data`, statements are trimmed to what ddlint reads, as above.
 */
PgQueryProtobufParseResult
ddlint_parse_protobuf(const char *input, int trim_data)
{
	MemoryContext ctx = pg_query_enter_memory_context();

	return encode_parse(ctx, pg_query_raw_parse(input, PG_QUERY_PARSE_DEFAULT), trim_data != 0);
}

/*
 * `ddlint_parse_protobuf`, and when it succeeds, also the tokens of `input` as
 * `pg_query_scan_tokens` gives them, from the same scan (token_recorder.c),
 * freed with `pg_query_free_scan_tokens_result`.
 */
PgQueryProtobufParseResult
ddlint_parse_protobuf_with_tokens(const char *input, int trim_data, PgQueryScanTokensResult *tokens)
{
	MemoryContext ctx = pg_query_enter_memory_context();
	PgQueryInternalParsetreeAndError parsed;
	PgQueryProtobufParseResult result;

	tokens->error = NULL;
	parsed = ddlint_raw_parse_with_tokens(input, &tokens->tokens, &tokens->n_tokens);
	result = encode_parse(ctx, parsed, trim_data != 0);
	if (result.error != NULL)
	{
		free(tokens->tokens);
		tokens->tokens = NULL;
		tokens->n_tokens = 0;
	}
	return result;
}
