/*-------------------------------------------------------------------------
 *
 * wrappers.c
 *	  occ.update and occ.delete: write the one row that a key names, under
 *	  the same check as any UPDATE or DELETE, for RPC-style callers.
 *
 *		occ.update(tbl regclass, key jsonb, if_match text, changes jsonb)
 *		occ.delete(tbl regclass, key jsonb, if_match text)
 *
 * Both return the row (as written, or as deleted) as jsonb, with the
 * columns the caller may read (all of them with SELECT on the table).  The
 * key must name exactly the columns of a valid, immediately enforced
 * primary key or unique index without predicate or expressions, so that it
 * identifies at most one row.  The wrapper states if_match to the table's
 * trigger for its own statement (occ_wrapper_statement), not through the
 * occ.if_match setting: the trigger checks the statement's rows against it
 * with the rules of occ.if_match, wherever the wrapper is called from --
 * also from a trigger, whose nested writes are otherwise not held to
 * occ.if_match -- and the session's occ.if_match never applies to them.
 * The version column cannot be among the changes, since assigning it
 * would state a version of its own; it advances as on every UPDATE.  With
 * no changes (a touch) the statement assigns the version column to
 * itself, which the trigger ignores for the wrapper's rows.  A wrapper
 * refuses to write where the table's occ trigger would not fire (disabled,
 * or not firing in the session's session_replication_role).
 *
 * On a Citus table the trigger runs on the shard, in another backend, where
 * occ_wrapper_statement is not seen: there the statement requires the
 * version in its WHERE clause instead, which the shard's trigger takes as
 * stated, and a write that finds no row is told apart by reading the row
 * again (see write_citus_row).
 *
 * The statement is ordinary SQL run through SPI with the caller's
 * privileges (row-level security and column privileges apply).  Names are
 * quoted, values are parameters converted by their column type's input
 * function (so a value that does not fit fails with that type's own
 * error), and key columns are compared with the equality operator of the
 * unique index's operator family, named with its schema.
 *
 * Kept statements.  Like ri_triggers.c, the wrappers keep one prepared
 * statement per shape of call -- the table's OID, UPDATE or DELETE, and
 * the key, changed and returned columns, which is all its text depends on
 * (see WrapperPlanKey) -- in a hash table of their own memory context,
 * "occ wrapper plans", at most WRAPPER_MAX_PLANS of them, so that repeated
 * calls do not parse and plan again.  A kept statement is checked with
 * SPI_plan_is_valid() after the table is locked with the lock the
 * statement takes, which processes the invalidations that arrived before
 * it; an invalid one is prepared again from the table's current names
 * (the plan cache would re-parse the old text, naming a table that may have
 * been renamed, or replaced by another of that name).  A statement that a
 * wrapper call is running -- an outer call, when a trigger fired by its
 * statement calls a wrapper again -- is never freed: it carries a use
 * count, and a nested call that finds it invalid prepares a statement of
 * its own for that call only.  Nothing is allocated for the session before
 * a statement has been prepared, so a failing call leaves nothing behind.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/stratnum.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type_d.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/ilist.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/pg_list.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "citus.h"
#include "if_match.h"
#include "kind.h"
#include "protection.h"
#include "report.h"
#include "trigger.h"
#include "wrappers.h"

PG_FUNCTION_INFO_V1(occ_update);
PG_FUNCTION_INFO_V1(occ_delete);

/* The innermost wrapper statement running, for the trigger; see occ.h. */
OccWrapperStatement *occ_wrapper_statement = NULL;

/* A column named in the key or the changes, with its value as text. */
typedef struct NamedValue
{
	AttrNumber	attnum;
	char	   *text;			/* NULL for JSON null */
} NamedValue;

/*
 * What the text of a kept statement depends on, the hash key of the kept
 * statements: the table, the kind of statement, its version column (which
 * a touch assigns), and the sets of key, changed and returned columns, as
 * bitmaps of attribute numbers (the statement names the columns in
 * attribute number order).  The returned columns are those the caller may
 * read, so callers with different column privileges get different
 * statements.  Not the names: those are read again whenever the statement
 * is prepared again.
 */
#define WRAPPER_COLUMN_WORDS	((MaxHeapAttributeNumber + 63) / 64)

typedef struct WrapperPlanKey
{
	Oid			relid;
	bool		is_delete;
	bool		states_version; /* requires the version: on Citus */
	AttrNumber	version_attnum;
	uint64		key_columns[WRAPPER_COLUMN_WORDS];
	uint64		changed_columns[WRAPPER_COLUMN_WORDS];
	uint64		returned_columns[WRAPPER_COLUMN_WORDS];
} WrapperPlanKey;

/* A kept statement. */
typedef struct WrapperPlanEntry
{
	WrapperPlanKey key;			/* hash key; must be first */
	SPIPlanPtr	plan;			/* kept with SPI_keepplan */
	int			use_count;		/* wrapper calls running it now */
	dlist_node	lru;			/* in wrapper_lru */
} WrapperPlanEntry;

/*
 * How many statements are kept.  Callers choose the columns they change
 * (an HTTP PATCH body does), so the shapes are not bounded by the
 * application's code, and each kept statement holds its parse trees and
 * plans, some 10 to 15 kB for a small table.  64 covers the shapes that an
 * application sends over and over (a few per table it writes through the
 * wrappers) and holds about a megabyte at most; the least recently used
 * statement is dropped first, and a dropped shape costs one planning when
 * it comes back.  Statements in use are never dropped, so a chain of nested
 * wrapper calls may exceed the bound by its depth, for as long as it runs.
 */
#define WRAPPER_MAX_PLANS	64

/*
 * The kept statements, most recently used first in wrapper_lru, and the
 * memory context that holds the hash table (the plans themselves live
 * under CacheMemoryContext, where SPI_keepplan puts them).  Created on
 * first use.
 */
static MemoryContext wrapper_plan_context = NULL;
static HTAB *wrapper_plans = NULL;
static dlist_head wrapper_lru = DLIST_STATIC_INIT(wrapper_lru);
static int	wrapper_nplans = 0;

/*
 * Make room for one more kept statement: drop the least recently used
 * statements that no call is running until fewer than WRAPPER_MAX_PLANS
 * are kept, or only statements in use are left.
 */
static void
evict_plans(void)
{
	dlist_node *node = dlist_is_empty(&wrapper_lru) ? NULL :
		dlist_tail_node(&wrapper_lru);

	while (node != NULL && wrapper_nplans >= WRAPPER_MAX_PLANS)
	{
		WrapperPlanEntry *entry = dlist_container(WrapperPlanEntry, lru, node);

		node = dlist_has_prev(&wrapper_lru, node) ?
			dlist_prev_node(&wrapper_lru, node) : NULL;
		if (entry->use_count > 0)
			continue;
		dlist_delete(&entry->lru);
		SPI_freeplan(entry->plan);
		(void) hash_search(wrapper_plans, &entry->key, HASH_REMOVE, NULL);
		wrapper_nplans--;
	}
}

/*
 * The text of a JSON value as the column's input function reads it: a
 * string without its quotes, other scalars as written, objects and arrays
 * as JSON text (for json and jsonb columns).  NULL for JSON null.
 */
static char *
json_value_text(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return NULL;
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out,
													   NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		case jbvBinary:
			return JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) v->type);
	}
	return NULL;				/* keep compiler quiet */
}

/*
 * Read a JSON object of column names and values into a list of
 * NamedValues, checking each name against the relation.  "what" names the
 * argument in errors.
 */
static List *
named_values(Relation rel, Jsonb *object, const char *what)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken token;
	List	   *result = NIL;

	if (!JB_ROOT_IS_OBJECT(object))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"%s\" must be a JSON object of column names and values",
						what)));

	it = JsonbIteratorInit(&object->root);
	while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *name;
		NamedValue *nv;

		if (token != WJB_KEY)
			continue;
		name = pnstrdup(v.val.string.val, v.val.string.len);
		nv = palloc(sizeof(NamedValue));
		nv->attnum = get_attnum(RelationGetRelid(rel), name);
		if (nv->attnum <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation \"%s\" does not exist",
							name, RelationGetRelationName(rel))));
		token = JsonbIteratorNext(&it, &v, true);
		Assert(token == WJB_VALUE);
		nv->text = json_value_text(&v);
		result = lappend(result, nv);
	}
	return result;
}

/*
 * The unique index whose key columns are exactly those named, preferring
 * the primary key; or an error.  Only a valid, ready, immediately enforced
 * index without a predicate or expressions makes a row unique by these
 * columns alone: an index left invalid by a failed CREATE UNIQUE INDEX
 * CONCURRENTLY may cover duplicates, and a deferred one may too until
 * commit.
 */
static Oid
unique_index_for(Relation rel, List *key)
{
	Oid			found = InvalidOid;
	ListCell   *lc;

	foreach(lc, RelationGetIndexList(rel))
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);
		Form_pg_index form = index->rd_index;
		bool		matches;

		matches = form->indisunique && form->indimmediate &&
			form->indisvalid && form->indisready && form->indislive &&
			form->indnkeyatts == list_length(key) &&
			heap_attisnull(index->rd_indextuple, Anum_pg_index_indexprs, NULL) &&
			heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL);
		if (matches)
		{
			ListCell   *kc;

			foreach(kc, key)
			{
				NamedValue *nv = lfirst(kc);
				int			i;
				bool		in_index = false;

				for (i = 0; i < form->indnkeyatts; i++)
					if (form->indkey.values[i] == nv->attnum)
						in_index = true;
				matches = matches && in_index;
			}
		}
		if (matches && (!OidIsValid(found) || form->indisprimary))
			found = RelationGetRelid(index);
		index_close(index, AccessShareLock);
	}

	if (!OidIsValid(found))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
				 errmsg("key does not identify one row of relation \"%s\"",
						RelationGetRelationName(rel)),
				 errdetail("A key must name exactly the columns of a primary key or unique constraint.")));
	return found;
}

/*
 * "schema.op" as OPERATOR() syntax wants it, for the equality operator that
 * the index uses for its column "attnum".
 */
static char *
key_equality_operator(Relation index, AttrNumber attnum)
{
	int			i;

	for (i = 0; i < index->rd_index->indnkeyatts; i++)
	{
		Oid			opno;
		HeapTuple	optup;
		Form_pg_operator op;
		char	   *result;

		if (index->rd_index->indkey.values[i] != attnum)
			continue;
		opno = get_opfamily_member(index->rd_opfamily[i],
								   index->rd_opcintype[i],
								   index->rd_opcintype[i],
								   BTEqualStrategyNumber);
		if (!OidIsValid(opno))
			elog(ERROR, "missing equality operator for index column %d", i + 1);
		optup = SearchSysCache1(OPEROID, ObjectIdGetDatum(opno));
		if (!HeapTupleIsValid(optup))
			elog(ERROR, "cache lookup failed for operator %u", opno);
		op = (Form_pg_operator) GETSTRUCT(optup);
		result = psprintf("OPERATOR(%s.%s)",
						  quote_identifier(get_namespace_name(op->oprnamespace)),
						  NameStr(op->oprname));
		ReleaseSysCache(optup);
		return result;
	}
	elog(ERROR, "column %d is not in the key", attnum);
	return NULL;				/* keep compiler quiet */
}

/* Is this column's bit set? */
static inline bool
column_bit(const uint64 *bits, AttrNumber attnum)
{
	return (bits[(attnum - 1) / 64] & (UINT64CONST(1) << ((attnum - 1) % 64))) != 0;
}

/* Set the bit of this column. */
static inline void
set_column_bit(uint64 *bits, AttrNumber attnum)
{
	bits[(attnum - 1) / 64] |= UINT64CONST(1) << ((attnum - 1) % 64);
}

/*
 * Prepare the statement of this shape (see WrapperPlanKey), with the
 * current names of the table and its columns.  Parameters are the changes,
 * then the key, each in attribute number order.
 */
static SPIPlanPtr
prepare_statement(Relation rel, const WrapperPlanKey *shape, List *key,
				  List *changes, Oid *argtypes)
{
	bool		is_delete = shape->is_delete;
	bool		returning = false;
	AttrNumber	attnum;
	Relation	index = index_open(unique_index_for(rel, key), AccessShareLock);
	StringInfoData sql;
	TupleDesc	tupdesc = RelationGetDescr(rel);
	const char *target;
	ListCell   *lc;
	int			n = 0;
	SPIPlanPtr	plan;

	/* an inheritance parent's key says nothing about its children's rows */
	target = psprintf("%s%s AS t",
					  rel->rd_rel->relkind == RELKIND_RELATION ? "ONLY " : "",
					  quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												 RelationGetRelationName(rel)));

	initStringInfo(&sql);
	if (is_delete)
		appendStringInfo(&sql, "DELETE FROM %s", target);
	else
	{
		appendStringInfo(&sql, "UPDATE %s SET ", target);
		foreach(lc, changes)
		{
			NamedValue *nv = lfirst(lc);

			appendStringInfo(&sql, "%s%s = $%d", n > 0 ? ", " : "",
							 quote_identifier(NameStr(TupleDescAttr(tupdesc, nv->attnum - 1)->attname)),
							 n + 1);
			argtypes[n++] = TupleDescAttr(tupdesc, nv->attnum - 1)->atttypid;
		}
		if (changes == NIL)
		{
			/*
			 * A touch, which only advances the version: assign the version
			 * column to itself.  The trigger checks the wrapper's rows
			 * against if_match, not against an assigned version, and the
			 * version is written anyway, so this needs no privilege but
			 * the one to update the version; a key column assigned to
			 * itself would also need that column's, and fails on identity
			 * columns GENERATED ALWAYS.
			 */
			const char *version = quote_identifier(NameStr(TupleDescAttr(tupdesc,
																		 shape->version_attnum - 1)->attname));

			appendStringInfo(&sql, "%s = t.%s", version, version);
		}
	}

	appendStringInfoString(&sql, " WHERE ");
	foreach(lc, key)
	{
		NamedValue *nv = lfirst(lc);

		appendStringInfo(&sql, "%st.%s %s $%d", foreach_current_index(lc) > 0 ? " AND " : "",
						 quote_identifier(NameStr(TupleDescAttr(tupdesc, nv->attnum - 1)->attname)),
						 key_equality_operator(index, nv->attnum), n + 1);
		argtypes[n++] = TupleDescAttr(tupdesc, nv->attnum - 1)->atttypid;
	}
	index_close(index, AccessShareLock);

	/*
	 * On Citus, the version the caller read, required in the WHERE clause,
	 * where the shard's trigger sees it stated (see write_citus_row).
	 */
	if (shape->states_version)
	{
		appendStringInfo(&sql, " AND t.%s OPERATOR(pg_catalog.=) $%d",
						 quote_identifier(NameStr(TupleDescAttr(tupdesc,
																shape->version_attnum - 1)->attname)),
						 n + 1);
		argtypes[n++] = TupleDescAttr(tupdesc, shape->version_attnum - 1)->atttypid;
	}

	/*
	 * The columns the caller may read, by name: a whole-row reference would
	 * need SELECT on every column.  The result is converted to jsonb in C
	 * (see row_to_jsonb), which also keeps the statement free of functions.
	 */
	for (attnum = 1; attnum <= tupdesc->natts; attnum++)
	{
		if (!column_bit(shape->returned_columns, attnum))
			continue;
		appendStringInfo(&sql, "%st.%s", returning ? ", " : " RETURNING ",
						 quote_identifier(NameStr(TupleDescAttr(tupdesc, attnum - 1)->attname)));
		returning = true;
	}

	plan = SPI_prepare(sql.data, n, argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s",
			 sql.data, SPI_result_code_string(SPI_result));
	return plan;
}

/* Set the bit of each column of a list of NamedValues. */
static void
column_bits(List *columns, uint64 *bits)
{
	ListCell   *lc;

	foreach(lc, columns)
		set_column_bit(bits, ((NamedValue *) lfirst(lc))->attnum);
}

/*
 * Set the bit of each column that the current user may read: every column
 * with SELECT on the table, else those with SELECT on the column, as the
 * executor checks a RETURNING list.
 */
static void
readable_columns(Relation rel, uint64 *bits)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	Oid			relid = RelationGetRelid(rel);
	Oid			userid = GetUserId();
	bool		all;
	AttrNumber	attnum;

	all = pg_class_aclcheck(relid, userid, ACL_SELECT) == ACLCHECK_OK;
	for (attnum = 1; attnum <= tupdesc->natts; attnum++)
	{
		if (TupleDescAttr(tupdesc, attnum - 1)->attisdropped)
			continue;
		if (all || pg_attribute_aclcheck(relid, attnum, userid, ACL_SELECT) == ACLCHECK_OK)
			set_column_bit(bits, attnum);
	}
}

/*
 * The kept statement for this shape of call, or NULL, with a statement
 * to run in *plan.  The caller counts its use of the entry while it runs
 * the statement.
 *
 * The table is locked, so the invalidations that arrived before this call
 * have been processed, and SPI_plan_is_valid tells whether anything the
 * statement depends on changed: its table, its columns, indexes, the
 * schema (renaming one invalidates every plan).  If so, the statement is
 * prepared again, and the old one freed, unless an outer wrapper call is
 * running it: then this call prepares a statement for itself alone, which
 * SPI_finish frees.  Any error leaves the kept statements as they were.
 */
static WrapperPlanEntry *
statement_plan(Relation rel, bool is_delete, bool states_version,
			   AttrNumber version_attnum, List *key, List *changes,
			   SPIPlanPtr *plan)
{
	WrapperPlanKey hashkey;
	WrapperPlanEntry *entry;
	Oid		   *argtypes;
	bool		found;

	if (wrapper_plans == NULL)
	{
		HASHCTL		ctl;

		wrapper_plan_context = AllocSetContextCreate(TopMemoryContext,
													 "occ wrapper plans",
													 ALLOCSET_DEFAULT_SIZES);
		ctl.keysize = sizeof(WrapperPlanKey);
		ctl.entrysize = sizeof(WrapperPlanEntry);
		ctl.hcxt = wrapper_plan_context;
		wrapper_plans = hash_create("occ wrapper plan table", WRAPPER_MAX_PLANS, &ctl,
									HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}

	memset(&hashkey, 0, sizeof(hashkey));	/* padding is hashed too */
	hashkey.relid = RelationGetRelid(rel);
	hashkey.is_delete = is_delete;
	hashkey.states_version = states_version;
	hashkey.version_attnum = version_attnum;
	column_bits(key, hashkey.key_columns);
	column_bits(changes, hashkey.changed_columns);
	readable_columns(rel, hashkey.returned_columns);

	entry = hash_search(wrapper_plans, &hashkey, HASH_FIND, NULL);
	if (entry != NULL && SPI_plan_is_valid(entry->plan))
	{
		dlist_move_head(&wrapper_lru, &entry->lru);
		*plan = entry->plan;
		return entry;
	}

	argtypes = palloc(sizeof(Oid) * (list_length(key) + list_length(changes) + 1));
	*plan = prepare_statement(rel, &hashkey, key, changes, argtypes);
	if (entry != NULL && entry->use_count > 0)
		return NULL;

	if (SPI_keepplan(*plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	if (entry != NULL)
	{
		SPI_freeplan(entry->plan);
		dlist_move_head(&wrapper_lru, &entry->lru);
	}
	else
	{
		evict_plans();
		entry = hash_search(wrapper_plans, &hashkey, HASH_ENTER, &found);
		Assert(!found);
		entry->use_count = 0;
		dlist_push_head(&wrapper_lru, &entry->lru);
		wrapper_nplans++;
	}
	entry->plan = *plan;
	return entry;
}

/* Order NamedValues by attribute number. */
static int
compare_attnums(const ListCell *a, const ListCell *b)
{
	AttrNumber	x = ((NamedValue *) lfirst(a))->attnum;
	AttrNumber	y = ((NamedValue *) lfirst(b))->attnum;

	return (x > y) - (x < y);
}

static List *
list_sort_attnums(List *columns)
{
	list_sort(columns, compare_attnums);
	return columns;
}

/*
 * Convert the values of the changes, then the key, to the parameters of the
 * statement, with each column type's input function.
 */
static void
statement_parameters(Relation rel, List *key, List *changes,
					 Datum *values, char *nulls)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	List	   *all = list_concat_copy(changes, key);
	ListCell   *lc;

	foreach(lc, all)
	{
		NamedValue *nv = lfirst(lc);
		Form_pg_attribute attr = TupleDescAttr(tupdesc, nv->attnum - 1);
		int			n = foreach_current_index(lc);
		Oid			typinput;
		Oid			typioparam;

		getTypeInputInfo(attr->atttypid, &typinput, &typioparam);
		values[n] = OidInputFunctionCall(typinput, nv->text, typioparam,
										 attr->atttypmod);
		nulls[n] = nv->text == NULL ? 'n' : ' ';
	}
}

/*
 * Run the statement, stating if_match for its rows to the trigger.  The
 * statement is pushed on occ_wrapper_statement for as long as it runs, and
 * the use of a kept statement is counted, so that no nested call frees it;
 * both are given back however the statement ends.
 */
static int
run_statement(Relation rel, WrapperPlanEntry *entry, SPIPlanPtr plan,
			  Datum *values, const char *nulls, const char *if_match)
{
	OccWrapperStatement statement;
	int			ret = 0;

	statement.relid = RelationGetRelid(rel);
	statement.trigger_depth = occ_trigger_depth();
	statement.if_match = if_match;
	statement.appended_version = 0;
	statement.outer = occ_wrapper_statement;

	if (entry != NULL)
		entry->use_count++;
	occ_wrapper_statement = &statement;
	PG_TRY();
	{
		ret = SPI_execute_plan(plan, values, nulls, false, 0);
	}
	PG_FINALLY();
	{
		occ_wrapper_statement = statement.outer;
		if (entry != NULL)
			entry->use_count--;
	}
	PG_END_TRY();

	return ret;
}

/*
 * Run a prepared statement of occ.append, stating if_match for its rows as
 * run_statement does; *appended_version receives the version the trigger
 * gave its last event.
 */
int
occ_run_wrapper_statement(Oid relid, SPIPlanPtr plan, Datum *values,
						  const char *nulls, const char *if_match,
						  int64 *appended_version)
{
	OccWrapperStatement statement;
	int			ret = 0;

	statement.relid = relid;
	statement.trigger_depth = occ_trigger_depth();
	statement.if_match = if_match;
	statement.appended_version = 0;
	statement.outer = occ_wrapper_statement;

	occ_wrapper_statement = &statement;
	PG_TRY();
	{
		ret = SPI_execute_plan(plan, values, nulls, false, 0);
	}
	PG_FINALLY();
	{
		occ_wrapper_statement = statement.outer;
	}
	PG_END_TRY();

	*appended_version = statement.appended_version;
	return ret;
}

/*
 * Does the table's occ trigger fire in this session?  As the trigger
 * manager decides it from pg_trigger.tgenabled and session_replication_role:
 * a wrapper must not write where no check would run.
 */
void
occ_check_trigger_fires(OccTableInfo *info)
{
	bool		replica = SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA;

	switch (info->trigger_enabled)
	{
		case TRIGGER_FIRES_ALWAYS:
			return;
		case TRIGGER_FIRES_ON_ORIGIN:
			if (!replica)
				return;
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("writes to relation \"%s\" are not checked in this session",
							info->name),
					 errdetail("Trigger \"%s\" does not fire while session_replication_role is \"replica\".",
							   info->trigger_name),
					 errhint("Set session_replication_role to \"origin\" to write through occ.update or occ.delete.")));
			break;
		case TRIGGER_FIRES_ON_REPLICA:
			if (replica)
				return;
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("writes to relation \"%s\" are not checked in this session",
							info->name),
					 errdetail("Trigger \"%s\" fires only while session_replication_role is \"replica\".",
							   info->trigger_name),
					 errhint("Enable it for every session with ALTER TABLE %s ENABLE ALWAYS TRIGGER %s.",
							 info->qualified_name, quote_identifier(info->trigger_name))));
			break;
		default:				/* TRIGGER_DISABLED */
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("writes to relation \"%s\" are not checked in this session",
							info->name),
					 errdetail("Trigger \"%s\" is disabled.", info->trigger_name),
					 errhint("Enable it with ALTER TABLE %s ENABLE TRIGGER %s.",
							 info->qualified_name, quote_identifier(info->trigger_name))));
	}
}

/*
 * The row a statement returned, as a jsonb object of its columns, built
 * in the current memory context.  to_jsonb is called by its OID on a
 * record of the returned columns, so that the statement itself calls no
 * function (Citus refuses a stable one in RETURNING) and names nothing.
 */
static Datum
row_to_jsonb(HeapTuple tuple, TupleDesc returned)
{
	TupleDesc	desc = CreateTupleDescCopy(returned);
	FmgrInfo	flinfo;
	LOCAL_FCINFO(to_jsonb_fcinfo, 1);
	Datum		result;

	desc->tdtypeid = RECORDOID;
	desc->tdtypmod = -1;
	desc = BlessTupleDesc(desc);

	/* to_jsonb(anyelement) learns its argument's type from the call's expression */
	fmgr_info(F_TO_JSONB, &flinfo);
	fmgr_info_set_expr((Node *) makeFuncExpr(F_TO_JSONB, JSONBOID,
											 list_make1(makeNullConst(RECORDOID, -1, InvalidOid)),
											 InvalidOid, InvalidOid,
											 COERCE_EXPLICIT_CALL),
					   &flinfo);
	InitFunctionCallInfoData(*to_jsonb_fcinfo, &flinfo, 1, InvalidOid, NULL, NULL);
	to_jsonb_fcinfo->args[0].value = heap_copy_tuple_as_datum(tuple, desc);
	to_jsonb_fcinfo->args[0].isnull = false;
	result = FunctionCallInvoke(to_jsonb_fcinfo);
	if (to_jsonb_fcinfo->isnull)
		elog(ERROR, "to_jsonb returned null");
	return result;
}

/*
 * Run the statement of a call, requiring the version in its WHERE clause
 * (the value after the parameters of the changes and the key) if
 * states_version; the number of rows written, the row written or deleted
 * in *result, built in caller_cxt.
 */
static uint64
execute_write(Relation rel, bool is_delete, bool states_version,
			  AttrNumber version_attnum, List *key, List *changes,
			  Datum *values, const char *nulls, const char *if_match,
			  Datum *result, MemoryContext caller_cxt)
{
	WrapperPlanEntry *entry;
	SPIPlanPtr	plan;
	int			ret;
	uint64		processed;

	entry = statement_plan(rel, is_delete, states_version, version_attnum,
						   key, changes, &plan);
	ret = run_statement(rel, entry, plan, values, nulls, if_match);
	if (ret != SPI_OK_UPDATE_RETURNING && ret != SPI_OK_DELETE_RETURNING &&
		ret != SPI_OK_UPDATE && ret != SPI_OK_DELETE)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	processed = SPI_processed;
	if (processed == 1)
	{
		MemoryContext spi_cxt = MemoryContextSwitchTo(caller_cxt);

		/* the statement returns nothing if the caller may read no column */
		if (SPI_tuptable != NULL && SPI_tuptable->tupdesc->natts > 0)
			*result = row_to_jsonb(SPI_tuptable->vals[0], SPI_tuptable->tupdesc);
		else
			*result = DirectFunctionCall1(jsonb_in, CStringGetDatum("{}"));
		MemoryContextSwitchTo(spi_cxt);
	}
	return processed;
}

/*
 * Read the row of the key again, on Citus after a write that required a
 * version wrote nothing: its version column, and the other columns the
 * caller may read (for the key in a report), as a tuple of the table with
 * nulls for the rest.  NULL if there is no such row.  The version column
 * needs SELECT, as the WHERE clause that required it did.
 */
static HeapTuple
read_row_again(Relation rel, AttrNumber version_attnum, List *key,
			   Datum *key_values, const char *key_nulls)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	Relation	index = index_open(unique_index_for(rel, key), AccessShareLock);
	uint64		readable[WRAPPER_COLUMN_WORDS];
	AttrNumber *attnums = palloc(sizeof(AttrNumber) * (tupdesc->natts + 1));
	Oid		   *argtypes = palloc(sizeof(Oid) * list_length(key));
	Datum	   *row_values = palloc0(sizeof(Datum) * tupdesc->natts);
	bool	   *row_nulls = palloc(sizeof(bool) * tupdesc->natts);
	StringInfoData sql;
	SPIPlanPtr	plan;
	AttrNumber	attnum;
	ListCell   *lc;
	int			ncolumns = 0;
	int			ret;
	int			i;

	memset(readable, 0, sizeof(readable));
	readable_columns(rel, readable);
	attnums[ncolumns++] = version_attnum;
	for (attnum = 1; attnum <= tupdesc->natts; attnum++)
		if (attnum != version_attnum && column_bit(readable, attnum))
			attnums[ncolumns++] = attnum;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (i = 0; i < ncolumns; i++)
		appendStringInfo(&sql, "%st.%s", i > 0 ? ", " : "",
						 quote_identifier(NameStr(TupleDescAttr(tupdesc, attnums[i] - 1)->attname)));
	appendStringInfo(&sql, " FROM %s%s AS t WHERE ",
					 rel->rd_rel->relkind == RELKIND_RELATION ? "ONLY " : "",
					 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												RelationGetRelationName(rel)));
	foreach(lc, key)
	{
		NamedValue *nv = lfirst(lc);
		int			n = foreach_current_index(lc);

		appendStringInfo(&sql, "%st.%s %s $%d", n > 0 ? " AND " : "",
						 quote_identifier(NameStr(TupleDescAttr(tupdesc, nv->attnum - 1)->attname)),
						 key_equality_operator(index, nv->attnum), n + 1);
		argtypes[n] = TupleDescAttr(tupdesc, nv->attnum - 1)->atttypid;
	}
	index_close(index, AccessShareLock);

	plan = SPI_prepare(sql.data, list_length(key), argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s",
			 sql.data, SPI_result_code_string(SPI_result));
	ret = SPI_execute_plan(plan, key_values, key_nulls, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		return NULL;

	for (i = 0; i < tupdesc->natts; i++)
		row_nulls[i] = true;
	for (i = 0; i < ncolumns; i++)
		row_values[attnums[i] - 1] = SPI_getbinval(SPI_tuptable->vals[0],
												   SPI_tuptable->tupdesc, i + 1,
												   &row_nulls[attnums[i] - 1]);
	return heap_form_tuple(tupdesc, row_values, row_nulls);
}

/*
 * Write the row of a call on a Citus table.  The trigger runs on the shard,
 * where the if_match handed to it in this backend's memory is not seen:
 * instead, the statement requires the version in its WHERE clause, which
 * the shard's trigger sees stated (the WHERE-clause rule).  A stale version
 * then writes nothing, and the row is read again to tell a stale version
 * (40V01, as the trigger reports it, but raised here, on the coordinator,
 * with the error's schema, table and column fields) from a missing row (0
 * rows, for the caller's error).  A list of entity tags is tried tag by
 * tag, each an atomic write of its own; "*" states the version read just
 * before, again if the row changed in between.  An unset if_match states
 * nothing, and the shard's trigger applies the table's mode.
 */
static uint64
write_citus_row(Relation rel, const OccTableInfo *info, bool is_delete,
				AttrNumber version_attnum, List *key, List *changes,
				Datum *values, const char *nulls, const char *if_match,
				Datum *result, MemoryContext caller_cxt)
{
	const OccKindOps *kind = info->settings.kind;
	Form_pg_attribute attr = TupleDescAttr(RelationGetDescr(rel), version_attnum - 1);
	int			nparams = list_length(key) + list_length(changes);
	int			nchanges = list_length(changes);
	Datum	   *stated_values = palloc(sizeof(Datum) * (nparams + 1));
	char	   *stated_nulls = palloc(nparams + 1);
	OccIfMatch	parsed;
	HeapTuple	row;
	bool		isnull;
	ListCell   *lc;
	uint64		processed;

	occ_parse_if_match(if_match, OCC_STATED_BY_ARGUMENT, &parsed);
	if (parsed.form == OCC_IF_MATCH_UNSET)
	{
		/*
		 * A touch assigns the version column to itself, which the shard's
		 * trigger would take as the current version stated: a strict table
		 * refuses it here, as its trigger does without Citus.
		 */
		if (!is_delete && changes == NIL &&
			occ_table_mode(info->settings.mode) == OCC_MODE_STRICT)
			occ_report_missing(rel, version_attnum, false, false, false);
		return execute_write(rel, is_delete, false, version_attnum, key, changes,
							 values, nulls, if_match, result, caller_cxt);
	}

	memcpy(stated_values, values, sizeof(Datum) * nparams);
	memcpy(stated_nulls, nulls, nparams);
	stated_nulls[nparams] = ' ';

	if (parsed.form == OCC_IF_MATCH_ANY)
	{
		for (;;)
		{
			CHECK_FOR_INTERRUPTS();
			row = read_row_again(rel, version_attnum, key, values + nchanges,
								 nulls + nchanges);
			if (row == NULL)
				return 0;
			stated_values[nparams] = heap_getattr(row, version_attnum,
												  RelationGetDescr(rel), &isnull);
			if (isnull)
				break;			/* no version to state: reported below */
			processed = execute_write(rel, is_delete, true, version_attnum, key,
									  changes, stated_values, stated_nulls,
									  if_match, result, caller_cxt);
			if (processed > 0)
				return processed;
		}
	}

	foreach(lc, parsed.values)
	{
		const char *value = lfirst(lc);
		OccVersion	version;

		if (!occ_parse_version(value, attr->atttypid, kind, &version))
			occ_report_bad_if_match(if_match, OCC_STATED_BY_ARGUMENT,
									psprintf("\"%s\" is not a valid version for column \"%s\" of type %s.",
											 value, NameStr(attr->attname),
											 format_type_be(attr->atttypid)));
		stated_values[nparams] = kind->to_datum(version, attr->atttypid);
		processed = execute_write(rel, is_delete, true, version_attnum, key,
								  changes, stated_values, stated_nulls,
								  if_match, result, caller_cxt);
		if (processed > 0)
			return processed;
	}

	/* nothing written: the row is gone, or its version is another */
	row = read_row_again(rel, version_attnum, key, values + nchanges,
						 nulls + nchanges);
	if (row == NULL)
		return 0;
	{
		Datum		current = heap_getattr(row, version_attnum,
										   RelationGetDescr(rel), &isnull);

		occ_report_stale(rel, row, version_attnum, is_delete,
						 OCC_STATED_BY_ARGUMENT,
						 isnull ? "NULL" :
						 kind->print(kind->from_datum(current, attr->atttypid),
									 attr->atttypid),
						 if_match);
	}
	return 0;					/* keep compiler quiet */
}

/*
 * The common body of occ.update and occ.delete.
 */
static Datum
write_one_row(FunctionCallInfo fcinfo, bool is_delete)
{
	const char *schema = get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid));
	Oid			relid;
	Relation	rel;
	OccTableInfo info;
	Jsonb	   *key_json;
	List	   *key;
	List	   *changes = NIL;
	Datum	   *values;
	char	   *nulls;
	const char *if_match;
	bool		citus;
	uint64		processed;
	AttrNumber	version_attnum;
	Datum		result = (Datum) 0;
	MemoryContext caller_cxt = CurrentMemoryContext;
	ListCell   *lc;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || (!is_delete && PG_ARGISNULL(3)))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"%s\" must not be null",
						PG_ARGISNULL(0) ? "tbl" : PG_ARGISNULL(1) ? "key" : "changes")));

	/*
	 * The lock the statement takes, taken now: it processes the
	 * invalidations that arrived before this call, so that the kept
	 * statement's validity can be judged (see statement_plan).
	 */
	relid = PG_GETARG_OID(0);
	rel = try_relation_open(relid, RowExclusiveLock);
	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));

	/* Without an occ trigger that fires there would be no check at all. */
	occ_table_info(rel, schema, &info);
	if (!info.enabled)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("relation \"%s\" is not enabled for occ", info.name),
				 errhint("Call occ.enable() first.")));
	occ_check_trigger_fires(&info);
	/* a content hash is in no column: InvalidAttrNumber */
	version_attnum = info.settings.version_column == NULL ? InvalidAttrNumber :
		get_attnum(relid, info.settings.version_column);
	if (info.settings.version_column != NULL && version_attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("version column \"%s\" of relation \"%s\" does not exist",
						info.settings.version_column, info.name),
				 errhint("Call occ.disable() and occ.enable() for the relation again.")));
	/* on Citus the trigger runs where the given version is not seen */
	citus = occ_citus_wrapper_table(relid, info.name,
									is_delete ? "occ.delete" : "occ.update",
									version_attnum != InvalidAttrNumber);

	key_json = PG_GETARG_JSONB_P(1);
	key = named_values(rel, key_json, "key");
	if (key == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"key\" must name at least one column")));
	if (!is_delete)
	{
		changes = named_values(rel, PG_GETARG_JSONB_P(3), "changes");
		if (changes == NIL && version_attnum == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("argument \"changes\" must name at least one column"),
					 errdetail("Relation \"%s\" has no version column to advance: its versions are hashes of its content.",
							   info.name)));
		foreach(lc, changes)
		{
			NamedValue *nv = lfirst(lc);

			if (version_attnum != InvalidAttrNumber &&
				strcmp(get_attname(relid, nv->attnum, false),
					   info.settings.version_column) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("changes cannot set version column \"%s\"",
								info.settings.version_column),
						 errhint("State the version you read in if_match; the version advances by itself.")));
		}
	}

	/* the statement names its columns in attribute number order */
	key = list_sort_attnums(key);
	changes = list_sort_attnums(changes);

	values = palloc(sizeof(Datum) * (list_length(key) + list_length(changes)));
	nulls = palloc(list_length(key) + list_length(changes));
	statement_parameters(rel, key, changes, values, nulls);

	if_match = PG_ARGISNULL(2) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(2));
	SPI_connect();
	if (citus)
		processed = write_citus_row(rel, &info, is_delete, version_attnum, key,
									changes, values, nulls, if_match, &result,
									caller_cxt);
	else
		processed = execute_write(rel, is_delete, false, version_attnum, key,
								  changes, values, nulls, if_match, &result,
								  caller_cxt);
	SPI_finish();
	MemoryContextSwitchTo(caller_cxt);

	/* a valid unique index admits one row; say so if it ever is not */
	if (processed > 1)
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("key %s matches more than one row of relation \"%s\"",
						JsonbToCString(NULL, &key_json->root, VARSIZE(key_json)),
						info.name)));
	if (processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("relation \"%s\" has no row with key %s",
						info.name, JsonbToCString(NULL, &key_json->root,
												  VARSIZE(key_json)))));

	relation_close(rel, NoLock);
	PG_RETURN_DATUM(result);
}

/*
 * occ.update(tbl regclass, key jsonb, if_match text, changes jsonb)
 */
Datum
occ_update(PG_FUNCTION_ARGS)
{
	return write_one_row(fcinfo, false);
}

/*
 * occ.delete(tbl regclass, key jsonb, if_match text)
 */
Datum
occ_delete(PG_FUNCTION_ARGS)
{
	return write_one_row(fcinfo, true);
}
