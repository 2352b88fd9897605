/*-------------------------------------------------------------------------
 *
 * append.c
 *	  occ.append and occ.stream_version: appending events to a stream, and
 *	  reading its version, for callers that do not write SQL.
 *
 * occ.append inserts the events as one statement, run as the caller (its
 * privileges, row-level security and triggers apply), and states the
 * expected version to occ's trigger for that statement's rows, as
 * occ.update does for its row: the session's occ.if_match does not apply
 * to them.  The trigger locks the stream, checks the version and numbers
 * the events; occ.append returns the version of the last one, which is
 * the stream's new version (read back if another trigger skipped an
 * event).
 *
 * Each event is a JSON object of column values, read by the columns'
 * input functions as jsonb_populate_recordset reads them.  The columns are
 * those named by any event; a column an event leaves out is NULL for it,
 * and the columns no event names take their defaults.  The stream and the
 * version columns are occ's to fill.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/pg_type_d.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "protection.h"
#include "wrappers.h"

PG_FUNCTION_INFO_V1(occ_append);
PG_FUNCTION_INFO_V1(occ_stream_version);

/* The schema-qualified, quoted name of a relation. */
static char *
qualified_name(Relation rel)
{
	return quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
									  RelationGetRelationName(rel));
}

/*
 * Open a stream table for a call of occ.append or occ.stream_version, and
 * describe its occ trigger in *info; an error if it is not one.
 */
static Relation
open_stream_table(FunctionCallInfo fcinfo, LOCKMODE lockmode, OccTableInfo *info)
{
	Oid			relid = PG_GETARG_OID(0);
	Relation	rel = try_relation_open(relid, lockmode);

	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	occ_table_info(rel, get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid)),
				   info);
	if (!info->enabled || !info->settings.kind->appends)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("relation \"%s\" is not a stream table", info->name),
				 errhint("Call occ.enable() with kind => 'stream' first.")));
	return rel;
}

/* The stream's value, read by the stream column's input function. */
static Datum
stream_argument(Relation rel, const OccTableInfo *info, const char *text,
				Oid *typid)
{
	AttrNumber	attnum = get_attnum(RelationGetRelid(rel), info->settings.stream_column);
	Form_pg_attribute attr;
	Oid			typinput;
	Oid			typioparam;

	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("stream column \"%s\" of relation \"%s\" does not exist",
						info->settings.stream_column, info->name)));
	attr = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
	*typid = attr->atttypid;
	getTypeInputInfo(attr->atttypid, &typinput, &typioparam);
	return OidInputFunctionCall(typinput, (char *) text, typioparam, attr->atttypmod);
}

/*
 * The columns the events name, in the order first named, each checked:
 * a column of the table, not the stream or the version column.
 */
static List *
event_columns(Relation rel, const OccTableInfo *info, Jsonb *events,
			  int *nevents)
{
	List	   *columns = NIL;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken token;
	int			level = 0;
	int			count = 0;

	if (!JB_ROOT_IS_ARRAY(events) || JB_ROOT_IS_SCALAR(events))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"events\" must be a JSON array of objects")));

	it = JsonbIteratorInit(&events->root);
	while ((token = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		switch (token)
		{
			case WJB_BEGIN_ARRAY:
			case WJB_BEGIN_OBJECT:
				if (level == 1 && token == WJB_BEGIN_OBJECT)
					count++;
				level++;
				break;
			case WJB_END_ARRAY:
			case WJB_END_OBJECT:
				level--;
				break;
			case WJB_ELEM:
				if (level == 1)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("argument \"events\" must be a JSON array of objects")));
				break;
			case WJB_KEY:
				if (level == 2)
				{
					char	   *name = pnstrdup(v.val.string.val, v.val.string.len);
					AttrNumber	attnum = get_attnum(RelationGetRelid(rel), name);

					if (attnum <= 0)
						ereport(ERROR,
								(errcode(ERRCODE_UNDEFINED_COLUMN),
								 errmsg("column \"%s\" of relation \"%s\" does not exist",
										name, info->name)));
					if (strcmp(name, info->settings.stream_column) == 0 ||
						strcmp(name, info->settings.version_column) == 0)
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("events cannot set column \"%s\"", name),
								 errdetail("occ.append fills the stream and version columns.")));
					if (!list_member(columns, makeString(name)))
						columns = lappend(columns, makeString(name));
				}
				break;
			default:
				break;
		}
	}
	if (count == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"events\" must hold at least one event")));
	*nevents = count;
	return columns;
}

/*
 * The stream's version: its highest event's version, 0 if it has none.
 * Run as the caller, inside SPI: with read_only, as the caller's snapshot
 * shows it; without, as a new one shows it, the caller's own statements
 * included.
 */
static int64
stream_version(Relation rel, const OccTableInfo *info, Datum value, Oid argtype,
			   bool read_only)
{
	char	   *sql;
	int64		version = 0;
	bool		isnull;

	sql = psprintf("SELECT %s FROM %s WHERE %s OPERATOR(pg_catalog.=) $1 ORDER BY 1 DESC LIMIT 1",
				   quote_identifier(info->settings.version_column), qualified_name(rel),
				   quote_identifier(info->settings.stream_column));
	if (SPI_execute_with_args(sql, 1, &argtype, &value, NULL, read_only, 1) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", sql);
	if (SPI_processed == 1)
	{
		Datum		datum = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
										  1, &isnull);

		if (!isnull)
			version = occ_counter_from_datum(datum, SPI_gettypeid(SPI_tuptable->tupdesc, 1));
	}
	return version;
}

/*
 * Kept statements.  An application appends the same few shapes of events
 * over and over, and preparing occ.append's statement costs more than
 * running it for a few events; so the statements are kept, one per table,
 * type of the stream argument and statement text (which names the table
 * and the events' columns).  plancache.c plans them again when the table
 * changes.  At most APPEND_MAX_PLANS are kept, and never dropped (a call
 * running one may call occ.append again, through a trigger): past that, a
 * statement is prepared for its call and freed after it.
 */
#define APPEND_MAX_PLANS	64

typedef struct AppendPlanKey
{
	Oid			relid;
	Oid			stream_type;
	uint32		text_hash;
} AppendPlanKey;

typedef struct AppendPlan
{
	AppendPlanKey key;			/* hash key; must be first */
	char	   *sql;			/* the statement's text, in append_plan_context */
	SPIPlanPtr	plan;			/* kept with SPI_keepplan */
} AppendPlan;

static MemoryContext append_plan_context = NULL;
static HTAB *append_plans = NULL;

/*
 * The prepared statement for sql, kept or not (*kept); called inside SPI.
 */
static SPIPlanPtr
append_plan(Oid relid, const char *sql, Oid *argtypes, bool *kept)
{
	AppendPlanKey key;
	AppendPlan *entry;
	SPIPlanPtr	plan;
	bool		found;

	if (append_plans == NULL)
	{
		HASHCTL		ctl;

		append_plan_context = AllocSetContextCreate(TopMemoryContext,
													"occ append plans",
													ALLOCSET_SMALL_SIZES);
		ctl.keysize = sizeof(AppendPlanKey);
		ctl.entrysize = sizeof(AppendPlan);
		ctl.hcxt = append_plan_context;
		append_plans = hash_create("occ append plans", APPEND_MAX_PLANS, &ctl,
								   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}

	memset(&key, 0, sizeof(key));
	key.relid = relid;
	key.stream_type = argtypes[0];
	key.text_hash = hash_bytes((const unsigned char *) sql, strlen(sql));
	entry = hash_search(append_plans, &key, HASH_FIND, NULL);
	if (entry != NULL && strcmp(entry->sql, sql) == 0)
	{
		*kept = true;
		return entry->plan;
	}

	plan = SPI_prepare(sql, 2, argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s",
			 sql, SPI_result_code_string(SPI_result));
	*kept = false;
	if (entry != NULL || hash_get_num_entries(append_plans) >= APPEND_MAX_PLANS)
		return plan;			/* another text with this hash, or no room */

	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	entry = hash_search(append_plans, &key, HASH_ENTER, &found);
	entry->sql = MemoryContextStrdup(append_plan_context, sql);
	entry->plan = plan;
	*kept = true;
	return plan;
}

/*
 * occ.append(tbl regclass, stream text, expected text, events jsonb)
 * RETURNS bigint
 */
Datum
occ_append(PG_FUNCTION_ARGS)
{
	OccTableInfo info;
	Relation	rel;
	Jsonb	   *events;
	List	   *columns;
	StringInfoData sql;
	StringInfoData selected;
	Oid			argtypes[2];
	Datum		values[2];
	SPIPlanPtr	plan;
	bool		kept;
	int64		version;
	int			nevents;
	int			ret;
	ListCell   *lc;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"%s\" must not be null",
						PG_ARGISNULL(0) ? "tbl" : PG_ARGISNULL(1) ? "stream" : "events")));

	rel = open_stream_table(fcinfo, RowExclusiveLock, &info);
	occ_check_trigger_fires(&info);
	values[0] = stream_argument(rel, &info, text_to_cstring(PG_GETARG_TEXT_PP(1)),
								&argtypes[0]);
	events = PG_GETARG_JSONB_P(3);
	values[1] = JsonbPGetDatum(events);
	argtypes[1] = JSONBOID;
	columns = event_columns(rel, &info, events, &nevents);

	/* INSERT INTO tbl (stream, a, b) SELECT $1, e.a, e.b FROM ... e */
	initStringInfo(&sql);
	initStringInfo(&selected);
	appendStringInfo(&sql, "INSERT INTO %s (%s", qualified_name(rel),
					 quote_identifier(info.settings.stream_column));
	foreach(lc, columns)
	{
		const char *column = quote_identifier(strVal(lfirst(lc)));

		appendStringInfo(&sql, ", %s", column);
		appendStringInfo(&selected, ", e.%s", column);
	}
	appendStringInfo(&sql, ") SELECT $1%s FROM pg_catalog.jsonb_populate_recordset(NULL::%s, $2) AS e",
					 selected.data, qualified_name(rel));

	SPI_connect();
	plan = append_plan(RelationGetRelid(rel), sql.data, argtypes, &kept);
	ret = occ_run_wrapper_statement(RelationGetRelid(rel), plan, values, NULL,
									PG_ARGISNULL(2) ? "" :
									text_to_cstring(PG_GETARG_TEXT_PP(2)),
									&version);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));

	/*
	 * The trigger numbered every event; if one was not inserted (another
	 * BEFORE trigger skipped it), the last one numbered may not be the
	 * stream's last: read it.
	 */
	if (SPI_processed != (uint64) nevents)
		version = stream_version(rel, &info, values[0], argtypes[0], false);
	if (!kept)
		SPI_freeplan(plan);
	SPI_finish();

	relation_close(rel, NoLock);
	PG_RETURN_INT64(version);
}

/*
 * occ.stream_version(tbl regclass, stream text) RETURNS bigint
 *
 * The stream's version as the caller's snapshot shows it: its highest
 * event's version, 0 if it has none.  Run as the caller.
 */
Datum
occ_stream_version(PG_FUNCTION_ARGS)
{
	OccTableInfo info;
	Relation	rel;
	Oid			argtype;
	Datum		value;
	int64		version;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"%s\" must not be null",
						PG_ARGISNULL(0) ? "tbl" : "stream")));

	rel = open_stream_table(fcinfo, AccessShareLock, &info);
	value = stream_argument(rel, &info, text_to_cstring(PG_GETARG_TEXT_PP(1)), &argtype);
	SPI_connect();
	version = stream_version(rel, &info, value, argtype, true);
	SPI_finish();

	relation_close(rel, NoLock);
	PG_RETURN_INT64(version);
}
