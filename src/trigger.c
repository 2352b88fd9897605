/*-------------------------------------------------------------------------
 *
 * trigger.c
 *	  The row trigger that checks and advances row versions.
 *
 * occ.enable creates, on each protected table,
 *
 *		CREATE TRIGGER occ_version BEFORE UPDATE OR DELETE ON tbl
 *			FOR EACH ROW EXECUTE FUNCTION occ.check_version(column, kind, mode)
 *
 * Why a BEFORE ROW trigger gives the guarantee: the executor locks the row
 * and, under READ COMMITTED, follows its update chain to the newest
 * committed version (EvalPlanQual) before it calls BEFORE ROW triggers.  So
 * tg_trigtuple is the row as it is now, under a lock held to the end of the
 * transaction: if another writer committed first, the version this trigger
 * compares against is that writer's, and no later writer can slip in
 * between the check and the write.  Under REPEATABLE READ and SERIALIZABLE
 * the executor itself raises a serialization failure (40001) first.
 *
 * What the trigger does, per row:
 *
 *	UPDATE	If the statement assigned the version column, its value is the
 *			version the writer read (for integers, the read version + 1 of
 *			the ORM convention is accepted too).  Otherwise occ.if_match, if
 *			set, states it.  A stated version that is not the row's current
 *			one fails with 40V01; a write that states nothing fails with
 *			23V01 on a strict table.  Then the version advances.
 *	DELETE	Checked against occ.if_match the same way.
 *
 * Rows written by other triggers (foreign-key cascades, audit triggers) are
 * not the writer's own: they are not held to occ.if_match or the strict
 * requirement, only to a version they assign themselves.  They still
 * advance.  The rows of an occ.update or occ.delete statement are checked
 * against the version the wrapper states, wherever it is called from.
 *
 * The trigger runs no SQL.  What does not change between writes -- the
 * decoded trigger arguments, the column's number and type, occ.if_match
 * converted to the column's type -- is cached for the backend, per
 * trigger, and dropped when the table's relcache entry is invalidated.
 *
 * The new version is stored into the executor's copy of the new row when
 * that is provably safe, rather than by forming a new tuple; see
 * version_in_place().
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/sysattr.h"
#include "access/tupmacs.h"
#include "access/xact.h"
#include "catalog/partition.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type_d.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/bitmapset.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "occ.h"

PG_FUNCTION_INFO_V1(occ_check_version);

/*
 * What one trigger needs to know about its table, kept for the backend
 * (see statement_state()).
 */
typedef struct OccTriggerCache
{
	Oid			tgoid;			/* hash key: the trigger */
	Oid			relid;			/* its table, for invalidation */
	bool		valid;			/* cleared when the table's relcache entry is */
	OccTableSettings settings;	/* version_column points into column_name */
	NameData	column_name;
	AttrNumber	attnum;			/* version column */
	Oid			typid;
	int32		typmod;
	int16		typlen;

	/*
	 * Where to start looking for the version in a tuple without NULLs: the
	 * columns before it that have a fixed width are at fixed offsets, so
	 * only the ones after the first variable-width column need walking.
	 */
	AttrNumber	walk_from;		/* first column (0-based) to walk over */
	uint32		walk_from_off;	/* its unaligned offset in the data */

	/* occ.if_match, converted to the column's type; see if_match_for() */
	bool		if_match_valid;
	uint64		if_match_generation;
	pg_tz	   *if_match_timezone;	/* TimeZone and DateOrder it was read */
	int			if_match_date_order;	/* with, for timestamp versions */
	OccIfMatchForm if_match_form;
	int			if_match_nvalues;
	int64	   *if_match_values;
} OccTriggerCache;

/*
 * What a trigger keeps for the statement that fires it, in fn_extra: the
 * FmgrInfo belongs to one result relation of one statement's executor
 * state, and fn_extra is allocated in its per-query memory context.
 *
 * A cross-partition UPDATE deletes the row from its old partition and
 * inserts it into the new one: after this trigger has checked the UPDATE,
 * the executor fires the old partition's BEFORE DELETE triggers for the
 * same row, through the same result relation and so through this same
 * FmgrInfo.  The UPDATE remembers the row it checked in moved_row, and the
 * very next call, if it is the DELETE of that row, is not checked again.
 * Any other statement -- another part of a writable CTE, a statement of
 * the next transaction -- fires through an FmgrInfo of its own, so the
 * memo can only ever match the DELETE half of the row movement it was
 * recorded for.
 */
typedef struct OccStatementState
{
	OccTriggerCache *cache;		/* the backend's entry for the trigger */
	bool		moved_row_valid;	/* set by an UPDATE of a partition row */
	ItemPointerData moved_row;	/* that row */
} OccStatementState;

/*
 * Decode the arguments of an occ trigger.  Returns false if they are not
 * the three arguments occ.enable writes.
 */
bool
occ_decode_trigger_args(int nargs, char **args, OccTableSettings *settings)
{
	if (nargs != 3)
		return false;
	settings->version_column = args[0];
	return args[0][0] != '\0' &&
		occ_kind_from_name(args[1], &settings->kind) &&
		occ_mode_from_name(args[2], &settings->mode);
}

/*
 * Is the trigger defined the way occ.enable defines it: BEFORE UPDATE OR
 * DELETE, FOR EACH ROW, firing for every such write (no WHEN condition, no
 * column list)?  Anything else would protect only some writes.
 */
bool
occ_trigger_is_well_formed(Trigger *trigger)
{
	return trigger->tgtype == (TRIGGER_TYPE_ROW | TRIGGER_TYPE_BEFORE |
							   TRIGGER_TYPE_UPDATE | TRIGGER_TYPE_DELETE) &&
		trigger->tgqual == NULL &&
		trigger->tgnattr == 0;
}

/*
 * The settings of the table that an occ trigger protects, or an error if
 * the trigger was not created the way occ.enable creates it.
 */
void
occ_trigger_settings(Relation rel, Trigger *trigger, OccTableSettings *settings)
{
	if (!occ_trigger_is_well_formed(trigger))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger \"%s\" on relation \"%s\" is not defined the way occ.enable() defines it",
						trigger->tgname, RelationGetRelationName(rel)),
				 errdetail("An occ trigger must fire BEFORE UPDATE OR DELETE FOR EACH ROW, with no WHEN condition and no column list."),
				 errhint("Drop the trigger and call occ.enable() again.")));
	if (!occ_decode_trigger_args(trigger->tgnargs, trigger->tgargs, settings))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger \"%s\" on relation \"%s\" has invalid arguments",
						trigger->tgname, RelationGetRelationName(rel)),
				 errhint("Drop the trigger and call occ.enable() again.")));
}

/*
 * The decoded settings of every occ trigger this backend has fired, by
 * trigger OID, so that a statement does not decode them again.  An entry
 * is rebuilt after its table's relcache entry was invalidated, which every
 * change of the table's columns or triggers causes.
 */
static HTAB *trigger_caches = NULL;

static void
invalidate_trigger_caches(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	OccTriggerCache *cache;

	(void) arg;
	hash_seq_init(&status, trigger_caches);
	while ((cache = hash_seq_search(&status)) != NULL)
		if (relid == InvalidOid || cache->relid == relid)
			cache->valid = false;
}

/*
 * Fill a cache entry for this trigger from its arguments and its table.
 */
static void
build_cache(OccTriggerCache *cache, TriggerData *trigdata)
{
	Trigger    *trigger = trigdata->tg_trigger;
	Relation	rel = trigdata->tg_relation;
	OccTableSettings settings;
	Form_pg_attribute attr;

	cache->valid = false;
	cache->relid = RelationGetRelid(rel);
	if (cache->if_match_values)
		pfree(cache->if_match_values);
	cache->if_match_values = NULL;
	cache->if_match_valid = false;

	occ_trigger_settings(rel, trigger, &settings);
	cache->attnum = InvalidAttrNumber;
	if (strlen(settings.version_column) < NAMEDATALEN)
		cache->attnum = get_attnum(RelationGetRelid(rel), settings.version_column);
	if (cache->attnum == InvalidAttrNumber || cache->attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("version column \"%s\" of relation \"%s\" does not exist",
						settings.version_column,
						RelationGetRelationName(rel)),
				 errhint("Call occ.disable() and occ.enable() for the relation again.")));
	cache->settings = settings;
	namestrcpy(&cache->column_name, settings.version_column);
	cache->settings.version_column = NameStr(cache->column_name);

	attr = TupleDescAttr(RelationGetDescr(rel), cache->attnum - 1);
	cache->typid = attr->atttypid;
	cache->typmod = attr->atttypmod;
	cache->typlen = attr->attlen;
	if (!occ_type_fits_kind(cache->typid, cache->settings.kind))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("version column \"%s\" of relation \"%s\" has type %s, which cannot hold %s versions",
						cache->settings.version_column,
						RelationGetRelationName(rel),
						format_type_be(cache->typid),
						occ_kind_name(cache->settings.kind)),
				 errhint("Call occ.disable() and occ.enable() for the relation again.")));

	cache->walk_from = 0;
	cache->walk_from_off = 0;
	while (cache->walk_from < cache->attnum - 1)
	{
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), cache->walk_from);

		if (att->attlen <= 0)
			break;
		cache->walk_from_off = att_align_nominal(cache->walk_from_off, att->attalign) +
			att->attlen;
		cache->walk_from++;
	}

	cache->valid = true;
}

/*
 * The statement's state for the trigger being fired, with a valid cache
 * entry, built if need be.  Only the first row of a statement looks the
 * entry up; the others find it in fn_extra and only check that no
 * invalidation has cleared it since.
 */
static OccStatementState *
statement_state(FunctionCallInfo fcinfo, TriggerData *trigdata)
{
	OccStatementState *state = fcinfo->flinfo->fn_extra;
	OccTriggerCache *cache;
	bool		found;

	if (state != NULL && state->cache->valid)
		return state;

	if (trigger_caches == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(OccTriggerCache);
		trigger_caches = hash_create("occ trigger settings", 32, &ctl,
									 HASH_ELEM | HASH_BLOBS);
		CacheRegisterRelcacheCallback(invalidate_trigger_caches, (Datum) 0);
	}

	cache = hash_search(trigger_caches, &trigdata->tg_trigger->tgoid, HASH_ENTER, &found);
	if (!found)
	{
		cache->valid = false;
		cache->if_match_values = NULL;
	}
	if (!cache->valid)
		build_cache(cache, trigdata);

	if (state == NULL)
	{
		state = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
									   sizeof(OccStatementState));
		fcinfo->flinfo->fn_extra = state;
	}
	state->cache = cache;
	return state;
}

/*
 * One stated value of an if_match ("raw", from "source") as a version of
 * this column, or a 22P02 error if it is not one.
 */
static int64
stated_version(OccTriggerCache *cache, const char *value, const char *raw,
			   OccStatedBy source)
{
	int64		version;

	if (!occ_parse_version(value, cache->typid, &version))
		occ_report_bad_if_match(raw, source,
								psprintf("\"%s\" is not a valid version for column \"%s\" of type %s.",
										 value, cache->settings.version_column,
										 format_type_be(cache->typid)));
	return version;
}

/*
 * occ.if_match as this column's values.  Parsed and converted again only
 * when the setting has changed since it was last read, or, for timestamp
 * versions, when TimeZone or DateStyle has, since they decide what a
 * timestamp literal means.  The values live as long as the cache entry.
 */
static void
if_match_for(OccTriggerCache *cache)
{
	OccIfMatch	parsed;
	ListCell   *lc;
	int			n = 0;

	if (cache->if_match_valid &&
		cache->if_match_generation == occ_if_match_generation &&
		(cache->settings.kind == OCC_KIND_INTEGER ||
		 (cache->if_match_timezone == session_timezone &&
		  cache->if_match_date_order == DateOrder)))
		return;

	cache->if_match_valid = false;
	if (cache->if_match_values)
		pfree(cache->if_match_values);
	cache->if_match_values = NULL;

	occ_parse_if_match(occ_if_match, OCC_STATED_BY_SETTING, &parsed);

	if (parsed.values != NIL)
		cache->if_match_values = MemoryContextAlloc(TopMemoryContext,
													sizeof(int64) * list_length(parsed.values));

	foreach(lc, parsed.values)
		cache->if_match_values[n++] = stated_version(cache, lfirst(lc), occ_if_match,
													 OCC_STATED_BY_SETTING);

	cache->if_match_form = parsed.form;
	cache->if_match_nvalues = n;
	cache->if_match_generation = occ_if_match_generation;
	cache->if_match_timezone = session_timezone;
	cache->if_match_date_order = DateOrder;
	cache->if_match_valid = true;
}

/*
 * pg_trigger_depth(), without going through SQL.  Inside occ's own trigger
 * it is at least 1: the rows of a statement that no trigger ran have depth
 * 1, rows written by a statement that a trigger ran have more.
 */
int
occ_trigger_depth(void)
{
	LOCAL_FCINFO(depth_fcinfo, 0);

	InitFunctionCallInfoData(*depth_fcinfo, NULL, 0, InvalidOid, NULL, NULL);
	return DatumGetInt32(pg_trigger_depth(depth_fcinfo));
}

/*
 * Who writes a row, as far as stating a version goes.
 *
 * The client's statement (or a function it called) writes its own rows:
 * occ.if_match was stated for them.  A foreign-key action writes rows that
 * the client never read and cannot state a version for; ri_triggers.c runs
 * its queries, and everything they fire, with SECURITY_NOFORCE_RLS set,
 * which nothing else in PostgreSQL sets.  Any other trigger runs statements
 * of its own: the client's occ.if_match was not meant for their rows (an
 * audit trigger updating a summary row), but they are held to the strict
 * requirement, so that a view's INSTEAD OF trigger, for one, cannot write
 * a strict table without stating a version.
 */
typedef enum RowWriter
{
	ROW_WRITER_CLIENT,
	ROW_WRITER_FOREIGN_KEY_ACTION,
	ROW_WRITER_TRIGGER
} RowWriter;

static RowWriter
row_writer(void)
{
	if (occ_trigger_depth() <= 1)
		return ROW_WRITER_CLIENT;
	if (InNoForceRLSOperation())
		return ROW_WRITER_FOREIGN_KEY_ACTION;
	return ROW_WRITER_TRIGGER;
}

/*
 * If the row belongs to the statement of the innermost occ.update or
 * occ.delete call (see OccWrapperStatement), check it against the
 * wrapper's if_match and return true; else return false.  The wrapper
 * states its version for its own rows, so neither occ.if_match nor an
 * assigned version column (a "touch" assigns it to itself) counts for
 * them, and the depth at which the wrapper runs does not matter.  Parsed
 * for each row: a wrapper writes one row.
 */
static bool
checked_for_wrapper(OccTriggerCache *cache, OccMode mode, Relation rel,
					HeapTuple oldtuple, int64 current, bool is_delete)
{
	OccWrapperStatement *ws = occ_wrapper_statement;
	OccIfMatch	parsed;
	ListCell   *lc;

	if (occ_trigger_depth() != ws->trigger_depth + 1 ||
		(RelationGetRelid(rel) != ws->relid &&
		 !(rel->rd_rel->relispartition &&
		   list_member_oid(get_partition_ancestors(RelationGetRelid(rel)),
						   ws->relid))))
		return false;

	occ_parse_if_match(ws->if_match, OCC_STATED_BY_ARGUMENT, &parsed);
	switch (parsed.form)
	{
		case OCC_IF_MATCH_UNSET:
			if (mode == OCC_MODE_STRICT)
				occ_report_missing(rel, cache->attnum, is_delete, false);
			break;
		case OCC_IF_MATCH_ANY:
			break;
		case OCC_IF_MATCH_VALUES:
			foreach(lc, parsed.values)
				if (stated_version(cache, lfirst(lc), ws->if_match,
								   OCC_STATED_BY_ARGUMENT) == current)
					return true;
			occ_report_stale(rel, oldtuple, cache->attnum, is_delete,
							 OCC_STATED_BY_ARGUMENT,
							 occ_version_out(current, cache->typid),
							 ws->if_match);
	}
	return true;
}

/*
 * The common case, decided without a call: occ.if_match is empty, and the
 * table does not require a stated version.
 */
static inline bool
nothing_stated_or_required(OccMode mode)
{
	return occ_if_match[0] == '\0' && mode != OCC_MODE_STRICT;
}

/*
 * bms_is_member, inline: did the statement assign this column?  Called for
 * every row.
 */
static inline bool
column_assigned(const Bitmapset *updatedcols, int member)
{
	int			word = member / BITS_PER_BITMAPWORD;

	return updatedcols != NULL && word < updatedcols->nwords &&
		(updatedcols->words[word] & ((bitmapword) 1 << (member % BITS_PER_BITMAPWORD))) != 0;
}

/*
 * Check a write that did not assign the version column against
 * occ.if_match.  "current" is the row's version.
 */
static void
check_if_match(OccTriggerCache *cache, OccMode mode, Relation rel,
			   HeapTuple oldtuple, int64 current, bool is_delete)
{
	int			i;

	switch (row_writer())
	{
		case ROW_WRITER_CLIENT:
			break;
		case ROW_WRITER_FOREIGN_KEY_ACTION:
			return;
		case ROW_WRITER_TRIGGER:
			if (mode == OCC_MODE_STRICT)
				occ_report_missing(rel, cache->attnum, is_delete, true);
			return;
	}

	if_match_for(cache);

	switch (cache->if_match_form)
	{
		case OCC_IF_MATCH_UNSET:
			if (mode == OCC_MODE_STRICT)
				occ_report_missing(rel, cache->attnum, is_delete, false);
			return;
		case OCC_IF_MATCH_ANY:
			return;
		case OCC_IF_MATCH_VALUES:
			for (i = 0; i < cache->if_match_nvalues; i++)
				if (cache->if_match_values[i] == current)
					return;
			occ_report_stale(rel, oldtuple, cache->attnum, is_delete,
							 OCC_STATED_BY_SETTING,
							 occ_version_out(current, cache->typid),
							 occ_if_match);
	}
}

/*
 * Check an UPDATE that assigned the version column: the assigned value is
 * the version the writer read, or for integers that version + 1.
 */
static void
check_assigned(OccTriggerCache *cache, Relation rel, HeapTuple oldtuple,
			   Datum value, bool isnull, int64 current)
{
	int64		stated;

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("version column \"%s\" of relation \"%s\" cannot be set to null",
						cache->settings.version_column, RelationGetRelationName(rel)),
				 errtablecol(rel, cache->attnum)));

	stated = occ_version_to_int64(value, cache->typid);
	if (stated == current)
		return;
	if (cache->settings.kind == OCC_KIND_INTEGER &&
		current < PG_INT64_MAX && stated == current + 1)
		return;

	occ_report_stale(rel, oldtuple, cache->attnum, false, OCC_STATED_IN_UPDATE,
					 occ_version_out(current, cache->typid),
					 occ_version_out(stated, cache->typid));
}

/*
 * Where the version starts in the tuple's data, or NULL if the tuple does
 * not hold it (a NULL, or a column added after the tuple was formed, whose
 * value lives in the catalog).  The same walk as the tuple deforming
 * code's, for one attribute, starting past the fixed-width columns before
 * it when the tuple has no NULLs.
 */
static char *
version_pointer(OccTriggerCache *cache, HeapTuple tuple, TupleDesc desc)
{
	HeapTupleHeader header = tuple->t_data;
	bool		hasnulls = HeapTupleHasNulls(tuple);
	bits8	   *nullbits = header->t_bits;
	char	   *data = (char *) header + header->t_hoff;
	AttrNumber	attnum = cache->attnum;
	uint32		off = 0;
	int			i = 0;

	if (attnum > HeapTupleHeaderGetNatts(header) ||
		(hasnulls && att_isnull(attnum - 1, nullbits)))
		return NULL;

	if (!hasnulls)
	{
		i = cache->walk_from;
		off = cache->walk_from_off;
	}
	for (; i < attnum - 1; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (hasnulls && att_isnull(i, nullbits))
			continue;
		off = att_align_pointer(off, att->attalign, att->attlen, data + off);
		off = att_addlength_pointer(off, att->attlen, data + off);
	}
	return data + att_align_nominal(off, TupleDescAttr(desc, attnum - 1)->attalign);
}

/*
 * The version in a tuple, read where it lies if the tuple holds it, else
 * through heap_getattr (which knows the value of a column added to the
 * table after the tuple was written).
 */
static Datum
tuple_version(OccTriggerCache *cache, HeapTuple tuple, TupleDesc desc, bool *isnull)
{
	char	   *field = version_pointer(cache, tuple, desc);

	if (field == NULL)
		return heap_getattr(tuple, cache->attnum, desc, isnull);
	*isnull = false;
	return fetch_att(field, true, cache->typlen);
}

/*
 * Where the version lies in the new row, if the next version may be stored
 * there without forming a new tuple; NULL if not, and the caller forms one.
 *
 * That is safe when the executor's new-row slot holds this very tuple as
 * its own materialized copy (a heap slot that must free it): nothing else
 * points into it, and the executor writes the slot's tuple.  Versions are
 * fixed-width, by-value types, so the value is overwritten where it lies
 * (and in the slot's deformed values, see store_version).  Forming a new
 * tuple instead copies the whole row, which the executor then stores and
 * copies once more: it was most of occ's cost per row.
 */
static char *
version_in_place(OccTriggerCache *cache, TriggerData *trigdata)
{
	TupleTableSlot *slot = trigdata->tg_newslot;

	if (slot == NULL ||
		!(TTS_IS_HEAPTUPLE(slot) || TTS_IS_BUFFERTUPLE(slot)) ||
		!TTS_SHOULDFREE(slot) ||
		((HeapTupleTableSlot *) slot)->tuple != trigdata->tg_newtuple)
		return NULL;
	return version_pointer(cache, trigdata->tg_newtuple,
						   RelationGetDescr(trigdata->tg_relation));
}

/* Store the next version at the place version_in_place found. */
static void
store_version(OccTriggerCache *cache, TriggerData *trigdata, char *field,
			  Datum version)
{
	TupleTableSlot *slot = trigdata->tg_newslot;

	store_att_byval(field, version, cache->typlen);
	if (slot->tts_nvalid >= cache->attnum)
	{
		slot->tts_values[cache->attnum - 1] = version;
		slot->tts_isnull[cache->attnum - 1] = false;
	}
}

/*
 * occ.check_version() -- the trigger function.
 */
Datum
occ_check_version(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	OccStatementState *state;
	OccTriggerCache *cache;
	Relation	rel;
	HeapTuple	oldtuple;
	OccMode		mode;
	Datum		value;
	bool		isnull;
	int64		current;
	bool		moved_row_valid;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" was not called by trigger manager",
						"occ.check_version")));
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" must be fired BEFORE ROW",
						"occ.check_version")));
	if (!TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) &&
		!TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" must be fired for UPDATE or DELETE",
						"occ.check_version")));

	state = statement_state(fcinfo, trigdata);
	cache = state->cache;

	/* the row-movement memo serves the very next call only */
	moved_row_valid = state->moved_row_valid;
	state->moved_row_valid = false;

	rel = trigdata->tg_relation;
	oldtuple = trigdata->tg_trigtuple;
	mode = cache->settings.mode;
	if (mode == OCC_MODE_DEFAULT)
		mode = occ_effective_default_mode();

	value = tuple_version(cache, oldtuple, RelationGetDescr(rel), &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("version column \"%s\" of relation \"%s\" is null in the row to be written",
						cache->settings.version_column, RelationGetRelationName(rel)),
				 errhint("Set the version of this row, and make the column NOT NULL."),
				 errtablecol(rel, cache->attnum)));
	current = occ_version_to_int64(value, cache->typid);

	if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
	{
		/*
		 * The DELETE half of a cross-partition UPDATE whose UPDATE half we
		 * have just checked is not checked again.
		 */
		if (moved_row_valid &&
			ItemPointerEquals(&oldtuple->t_self, &state->moved_row))
			return PointerGetDatum(oldtuple);

		if (mode != OCC_MODE_NONE &&
			!(occ_wrapper_statement != NULL &&
			  checked_for_wrapper(cache, mode, rel, oldtuple, current, true)) &&
			!nothing_stated_or_required(mode))
			check_if_match(cache, mode, rel, oldtuple, current, true);
		return PointerGetDatum(oldtuple);
	}
	else
	{
		HeapTuple	newtuple = trigdata->tg_newtuple;
		AttrNumber	attnum = cache->attnum;
		char	   *field = version_in_place(cache, trigdata);
		int64		next_version;
		Datum		next;
		bool		next_isnull = false;
		int			replaced;

		if (mode != OCC_MODE_NONE &&
			!(occ_wrapper_statement != NULL &&
			  checked_for_wrapper(cache, mode, rel, oldtuple, current, false)))
		{
			if (column_assigned(trigdata->tg_updatedcols,
								attnum - FirstLowInvalidHeapAttributeNumber))
			{
				Datum		stated;
				bool		stated_isnull = false;

				if (field != NULL)
					stated = fetch_att(field, true, cache->typlen);
				else
					stated = heap_getattr(newtuple, attnum, RelationGetDescr(rel),
										  &stated_isnull);
				check_assigned(cache, rel, oldtuple, stated, stated_isnull, current);
			}
			else if (!nothing_stated_or_required(mode))
				check_if_match(cache, mode, rel, oldtuple, current, false);
		}

		if (rel->rd_rel->relispartition)
		{
			state->moved_row = oldtuple->t_self;
			state->moved_row_valid = true;
		}

		/*
		 * The common cases advance inline: bigint, and timestamptz at full
		 * precision.  occ_next_version does the rest, and reports versions
		 * that cannot advance.
		 */
		if (cache->typid == INT8OID && current < PG_INT64_MAX)
			next_version = current + 1;
		else if (cache->typid == TIMESTAMPTZOID && cache->typmod < 0 &&
				 !TIMESTAMP_NOT_FINITE(current) && IS_VALID_TIMESTAMP(current + 1))
			next_version = Max(GetCurrentTimestamp(), current + 1);
		else
			next_version = occ_next_version(rel, cache->settings.version_column,
											cache->typid, cache->typmod, current);
		/* the ETag describes a row of the client's own statement */
		if (occ_error_style == OCC_ERROR_STYLE_HTTP && occ_trigger_depth() <= 1)
			occ_note_response_etag(fcinfo->flinfo->fn_mcxt, next_version,
								   cache->typid);
		next = occ_int64_to_version(next_version, cache->typid);
		if (field != NULL)
		{
			store_version(cache, trigdata, field, next);
			return PointerGetDatum(newtuple);
		}
		replaced = attnum;
		return PointerGetDatum(heap_modify_tuple_by_cols(newtuple,
														 RelationGetDescr(rel),
														 1, &replaced,
														 &next, &next_isnull));
	}
}
