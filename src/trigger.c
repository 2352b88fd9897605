/*-------------------------------------------------------------------------
 *
 * trigger.c
 *	  The row trigger that checks and advances row versions.
 *
 * occ.enable creates, on each protected table,
 *
 *		CREATE TRIGGER occ_version BEFORE UPDATE OR DELETE ON tbl
 *			FOR EACH ROW EXECUTE FUNCTION occ.check_version('format=1', ...)
 *
 * (protection.c owns the trigger and its arguments).
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
 *			version the writer read (the kind decides what else states it:
 *			for integers, the read version + 1 of the ORM convention).  A
 *			value past any the row could have had is a proposal: the row
 *			takes it, and the write states nothing by it.  Otherwise
 *			occ.if_match, if set, states it.  A stated version that is not
 *			the row's current one fails with 40V01.  A write that states
 *			nothing that way fails with 23V01 on a strict table, unless its
 *			WHERE clause requires the version (where_clause.c): then the
 *			executor has already checked it.  Then the version advances, as
 *			the table's kind advances it, or takes the proposed value.
 *	DELETE	Checked against occ.if_match and the WHERE clause the same way.
 *
 * A table of kind hash has no version column (check_content_version): a
 * row's version is the hash of its content, computed only when a check
 * compares it; only occ.if_match and the wrappers state it, and nothing
 * advances.
 *
 * A table with an audit level stricter than its mode (audit.c) is checked
 * as that level's mode would check it; report.c raises only what the
 * table's own mode refuses (occ_row_mode) and reports the rest, and the
 * write goes ahead as the table's mode lets it.
 *
 * Whose rows are held to what (see row_writer()): occ.if_match applies to
 * the rows of the statement the client sent; statements run by triggers
 * are held to the strict requirement but not to the client's occ.if_match;
 * foreign-key actions to neither.  The rows of an occ.update or occ.delete
 * statement are checked against the version the wrapper states, wherever
 * it is called from.  Every row advances.
 *
 * Every decision is counted for occ.table_stats (stats.h), against the
 * table that was enabled, before a refusal is raised: in lax and strict
 * mode each write checked (not a foreign-key action's, not the DELETE half
 * of a row movement; for the stream kind, the events a statement appends
 * to one stream), whether it stated its version, and each refusal.  Mode
 * none counts nothing.
 *
 * The trigger runs no SQL.  The table's decoded settings and the version
 * column's number and type come from protection.c's cache; occ.if_match,
 * read as this column's versions, is kept for the statement (in fn_extra)
 * and read again only if the setting changes while the statement runs.
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
#include "catalog/partition.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/bitmapset.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgrprotos.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "audit.h"
#include "content_hash.h"
#include "http.h"
#include "if_match.h"
#include "kind.h"
#include "protection.h"
#include "report.h"
#include "stream.h"
#include "settings.h"
#include "stats.h"
#include "trigger.h"
#include "where_clause.h"
#include "wrappers.h"

PG_FUNCTION_INFO_V1(occ_check_version);

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
	OccProtectedTable *table;	/* protection.c's entry for the table */
	uint64		table_epoch;	/* the cache's epoch when it was looked up */

	/* occ.if_match as this table's versions; see if_match_for() */
	bool		if_match_read;
	uint64		if_match_generation;
	OccIfMatchForm if_match_form;
	int			if_match_nvalues;
	OccVersion *if_match_values;

	bool		moved_row_valid;	/* set by an UPDATE of a partition row */
	ItemPointerData moved_row;	/* that row */

	/* does the WHERE clause state the version?  see where_stated() */
	bool		where_clause_read;
	OccWhereClause where_clause;

	/* stream kind: is every event inserted as returned?  see append_event() */
	bool		inserted_as_returned_read;
	bool		inserted_as_returned;

} OccStatementState;


/*
 * The statement's state for the trigger being fired, with a current entry
 * for its table.  Only the first row of a statement, and a row after an
 * invalidation, look the entry up; the others find it in fn_extra.
 */
static OccStatementState *
statement_state(FunctionCallInfo fcinfo, TriggerData *trigdata)
{
	OccStatementState *state = fcinfo->flinfo->fn_extra;

	if (likely(state != NULL) &&
		occ_protected_table_current(state->table, state->table_epoch))
		return state;

	if (state == NULL)
	{
		state = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
									   sizeof(OccStatementState));
		fcinfo->flinfo->fn_extra = state;
	}
	state->table = occ_protected_table(trigdata->tg_relation, trigdata->tg_trigger,
									   &state->table_epoch);
	/* the column's type may have changed: read occ.if_match again */
	state->if_match_read = false;
	return state;
}

/*
 * One stated value of an if_match ("raw", from "source") as a version of
 * this table's column, or a 22P02 error if it is not one.
 */
static OccVersion
stated_version(const OccProtectedTable *table, const char *value,
			   const char *raw, OccStatedBy source)
{
	OccVersion	version;

	if (!occ_parse_version(value, table->column.typid, table->settings.kind,
						   &version))
		occ_report_bad_if_match(raw, source,
								table->settings.kind->is_content ?
								psprintf("\"%s\" is not a content hash: the versions of kind %s are 32 hexadecimal digits.",
										 value, table->settings.kind->name) :
								psprintf("\"%s\" is not a valid version for column \"%s\" of type %s.",
										 value, table->column.name,
										 format_type_be(table->column.typid)));
	return version;
}

/*
 * occ.if_match as this table's versions, read when the statement first
 * needs it, with the session's settings at that moment (a timestamp's
 * TimeZone, DateStyle and abbreviations), and again only if occ.if_match
 * itself changes while the statement runs.  The values live as long as
 * the statement.
 */
static void
if_match_for(OccStatementState *state, MemoryContext statement_cxt)
{
	OccIfMatch	parsed;
	ListCell   *lc;
	int			n = 0;

	if (state->if_match_read &&
		state->if_match_generation == occ_if_match_generation)
		return;

	state->if_match_read = false;
	occ_parse_if_match(occ_if_match, OCC_STATED_BY_SETTING, &parsed);

	if (state->if_match_values != NULL)
		pfree(state->if_match_values);
	state->if_match_values = NULL;
	if (parsed.values != NIL)
		state->if_match_values = MemoryContextAlloc(statement_cxt,
													sizeof(OccVersion) * list_length(parsed.values));
	foreach(lc, parsed.values)
		state->if_match_values[n++] = stated_version(state->table, lfirst(lc),
													 occ_if_match,
													 OCC_STATED_BY_SETTING);

	state->if_match_form = parsed.form;
	state->if_match_nvalues = n;
	state->if_match_generation = occ_if_match_generation;
	state->if_match_read = true;
}

/*
 * Does the statement require the version in its WHERE clause (see
 * where_clause.c)?  Asked only when the answer matters -- a write that
 * states its version in no other way, to a strict table -- and then once
 * per statement: the plan does not change while it runs.
 */
static OccWhereClause
where_stated(OccStatementState *state, FunctionCallInfo fcinfo, Relation rel)
{
	if (!state->where_clause_read)
	{
		state->where_clause = occ_where_clause(fcinfo, rel, state->table->attnum);
		state->where_clause_read = true;
	}
	return state->where_clause;
}

/*
 * Count a refusal that the row's own mode raises (stats.h); one that only
 * a stricter audit level makes is counted as audited, by audit.c.
 */
static inline void
count_refusal(const OccProtectedTable *table, OccRefusal refusal)
{
	if (occ_row_refuses(refusal))
		occ_stats_count(table->origin_relid,
						refusal == OCC_REFUSAL_STALE ?
						OCC_STATS_REFUSED_STALE : OCC_STATS_REFUSED_MISSING);
}

/* Count a checked write that stated its version (stats.h). */
static inline void
count_stated(const OccProtectedTable *table)
{
	occ_stats_count(table->origin_relid, OCC_STATS_CHECKED);
	occ_stats_count(table->origin_relid, OCC_STATS_STATED);
}

/*
 * A write that states its version neither in the SET list nor through
 * occ.if_match: it states it in its WHERE clause (a content kind's never)
 * or not at all.  Counted either way; strict mode refuses it if it states
 * nothing (raised if that is the table's mode, reported if it is only its
 * audit level).
 */
static void
check_where_clause(OccStatementState *state, FunctionCallInfo fcinfo,
				   OccMode mode, Relation rel, bool is_delete, bool by_trigger)
{
	const OccProtectedTable *table = state->table;
	OccWhereClause where = OCC_WHERE_SILENT;

	/* a content hash is in no column that a WHERE clause could require */
	if (!table->settings.kind->is_content)
		where = where_stated(state, fcinfo, rel);

	if (where == OCC_WHERE_STATES)
	{
		count_stated(table);
		return;
	}
	occ_stats_count(table->origin_relid, OCC_STATS_CHECKED);
	occ_stats_count(table->origin_relid, OCC_STATS_NOT_STATED);
	if (mode == OCC_MODE_STRICT)
	{
		count_refusal(table, OCC_REFUSAL_MISSING);
		occ_report_missing(rel, table->attnum, is_delete, by_trigger,
						   where == OCC_WHERE_UNSEEN);
	}
}

/*
 * The version of the row being written, as the checks that compare it ask
 * for it.  A counter kind's is read from the column before any check; a
 * content kind's is hashed only when a check compares it, so that a write
 * that states nothing costs no hash.
 */
typedef struct CurrentVersion
{
	bool		known;
	OccVersion	value;
	const OccProtectedTable *table; /* to hash the row: */
	TupleTableSlot *row;
} CurrentVersion;

static OccVersion
current_version(CurrentVersion *current)
{
	if (!current->known)
	{
		current->value = occ_content_version(current->table->content,
											 current->row);
		current->known = true;
	}
	return current->value;
}

/* A counter kind's version, read already, as the checks take it. */
static inline CurrentVersion *
known_version(CurrentVersion *current, OccVersion value)
{
	current->known = true;
	current->value = value;
	return current;
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
 * Does a row of rel belong to the statement of the wrapper call ws (see
 * OccWrapperStatement)?  It runs at the depth the wrapper runs at, whatever
 * that is, and writes the wrapper's table or one of its partitions.
 */
static bool
row_of_wrapper(const OccWrapperStatement *ws, Relation rel)
{
	return occ_trigger_depth() == ws->trigger_depth + 1 &&
		(RelationGetRelid(rel) == ws->relid ||
		 (rel->rd_rel->relispartition &&
		  list_member_oid(get_partition_ancestors(RelationGetRelid(rel)),
						  ws->relid)));
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
checked_for_wrapper(const OccProtectedTable *table, OccMode mode, Relation rel,
					HeapTuple oldtuple, CurrentVersion *current, bool is_delete)
{
	OccWrapperStatement *ws = occ_wrapper_statement;
	const OccKindOps *kind = table->settings.kind;
	OccIfMatch	parsed;
	ListCell   *lc;

	if (!row_of_wrapper(ws, rel))
		return false;

	occ_parse_if_match(ws->if_match, OCC_STATED_BY_ARGUMENT, &parsed);
	switch (parsed.form)
	{
		case OCC_IF_MATCH_UNSET:
			occ_stats_count(table->origin_relid, OCC_STATS_CHECKED);
			occ_stats_count(table->origin_relid, OCC_STATS_NOT_STATED);
			if (mode == OCC_MODE_STRICT)
			{
				count_refusal(table, OCC_REFUSAL_MISSING);
				occ_report_missing(rel, table->attnum, is_delete, false, false);
			}
			break;
		case OCC_IF_MATCH_ANY:
			count_stated(table);
			break;
		case OCC_IF_MATCH_VALUES:
			count_stated(table);
			foreach(lc, parsed.values)
				if (kind->equal(stated_version(table, lfirst(lc), ws->if_match,
											   OCC_STATED_BY_ARGUMENT),
								current_version(current)))
					return true;
			count_refusal(table, OCC_REFUSAL_STALE);
			occ_report_stale(rel, oldtuple, table->attnum, is_delete,
							 OCC_STATED_BY_ARGUMENT,
							 kind->print(current_version(current), table->column.typid),
							 ws->if_match);
	}
	return true;
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
 * Check a write that did not state its version in the SET list against
 * occ.if_match, and a write that states it nowhere else against its WHERE
 * clause (check_where_clause).  "current" is the row's version.  Every
 * write but a foreign-key action's is counted, in lax mode too.
 */
static void
check_if_match(OccStatementState *state, FunctionCallInfo fcinfo,
			   OccMode mode, Relation rel, HeapTuple oldtuple,
			   CurrentVersion *current, bool is_delete)
{
	const OccProtectedTable *table = state->table;
	int			i;

	switch (row_writer())
	{
		case ROW_WRITER_CLIENT:
			break;
		case ROW_WRITER_FOREIGN_KEY_ACTION:
			return;
		case ROW_WRITER_TRIGGER:
			check_where_clause(state, fcinfo, mode, rel, is_delete, true);
			return;
	}

	if_match_for(state, fcinfo->flinfo->fn_mcxt);

	switch (state->if_match_form)
	{
		case OCC_IF_MATCH_UNSET:
			check_where_clause(state, fcinfo, mode, rel, is_delete, false);
			return;
		case OCC_IF_MATCH_ANY:
			count_stated(table);
			return;
		case OCC_IF_MATCH_VALUES:
			count_stated(table);
			for (i = 0; i < state->if_match_nvalues; i++)
				if (table->settings.kind->equal(state->if_match_values[i],
												current_version(current)))
					return;
			count_refusal(table, OCC_REFUSAL_STALE);
			occ_report_stale(rel, oldtuple, table->attnum, is_delete,
							 OCC_STATED_BY_SETTING,
							 table->settings.kind->print(current_version(current),
														 table->column.typid),
							 occ_if_match);
	}
}

/* The column's value as a version: inline for the counter kinds. */
static inline OccVersion
version_of(const OccProtectedTable *table, Datum value)
{
	OccVersion	version;

	if (likely(table->settings.kind->is_counter))
		version.counter = occ_counter_from_datum(value, table->column.typid);
	else
		version = table->settings.kind->from_datum(value, table->column.typid);
	return version;
}

/*
 * Check an UPDATE that assigned the version column: the assigned value is
 * the version the writer read, or another value the kind takes as stating
 * it.  Returns false for those.  A value that nobody could have read, past
 * the current version, is a proposal: returns true, with the value in
 * *proposed, and the write has stated nothing.  Any other value is stale.
 */
static bool
check_assigned(const OccProtectedTable *table, Relation rel,
			   HeapTuple oldtuple, Datum value, bool isnull, OccVersion current,
			   OccVersion *proposed)
{
	const OccKindOps *kind = table->settings.kind;
	OccVersion	stated;

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("version column \"%s\" of relation \"%s\" cannot be set to null",
						table->column.name, RelationGetRelationName(rel)),
				 errtablecol(rel, table->attnum)));

	stated = version_of(table, value);
	if ((likely(kind->is_counter) ? stated.counter == current.counter :
		 kind->equal(stated, current)) ||
		kind->states_current(stated, current))
	{
		count_stated(table);
		return false;
	}
	if (kind->proposes(stated, current))
	{
		*proposed = stated;
		return true;
	}

	count_stated(table);
	count_refusal(table, OCC_REFUSAL_STALE);
	occ_report_stale(rel, oldtuple, table->attnum, false, OCC_STATED_IN_UPDATE,
					 kind->print(current, table->column.typid),
					 kind->print(stated, table->column.typid));
	return false;				/* audited: the version advances */
}

/*
 * Where the version starts in the tuple's data, or NULL if the tuple does
 * not hold it (a NULL, or a column added after the tuple was formed, whose
 * value lives in the catalog).  The same walk as the tuple deforming
 * code's, for one attribute, starting past the fixed-width columns before
 * it when the tuple has no NULLs.  Inlined: an UPDATE walks both of its
 * rows, and the two calls cost more than the walk itself.
 */
static pg_attribute_always_inline char *
version_pointer(const OccProtectedTable *table, HeapTuple tuple, TupleDesc desc)
{
	HeapTupleHeader header = tuple->t_data;
	bool		hasnulls = HeapTupleHasNulls(tuple);
	bits8	   *nullbits = header->t_bits;
	char	   *data = (char *) header + header->t_hoff;
	AttrNumber	attnum = table->attnum;
	uint32		off = 0;
	int			i = 0;

	if (attnum > HeapTupleHeaderGetNatts(header) ||
		(hasnulls && att_isnull(attnum - 1, nullbits)))
		return NULL;

	if (!hasnulls)
	{
		i = table->walk_from;
		off = table->walk_from_off;
	}
	for (; i < attnum - 1; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (hasnulls && att_isnull(i, nullbits))
			continue;
		off = att_align_pointer(off, att->attalign, att->attlen, data + off);
		off = att_addlength_pointer(off, att->attlen, data + off);
	}
	return data + att_align_nominal(off, table->typalign);
}

/*
 * The version column's value in a tuple, read where it lies if the tuple
 * holds it, else through heap_getattr (which knows the value of a column
 * added to the table after the tuple was written).
 */
static Datum
tuple_version(const OccProtectedTable *table, HeapTuple tuple, TupleDesc desc,
			  bool *isnull)
{
	char	   *field = version_pointer(table, tuple, desc);

	if (field == NULL)
		return heap_getattr(tuple, table->attnum, desc, isnull);
	*isnull = false;
	return fetch_att(field, true, table->typlen);
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
version_in_place(const OccProtectedTable *table, TriggerData *trigdata)
{
	TupleTableSlot *slot = trigdata->tg_newslot;

	if (slot == NULL ||
		!(TTS_IS_HEAPTUPLE(slot) || TTS_IS_BUFFERTUPLE(slot)) ||
		!TTS_SHOULDFREE(slot) ||
		((HeapTupleTableSlot *) slot)->tuple != trigdata->tg_newtuple)
		return NULL;
	return version_pointer(table, trigdata->tg_newtuple,
						   RelationGetDescr(trigdata->tg_relation));
}

/* Store the next version at the place version_in_place found. */
static void
store_version(const OccProtectedTable *table, TriggerData *trigdata,
			  char *field, Datum version)
{
	TupleTableSlot *slot = trigdata->tg_newslot;

	store_att_byval(field, version, table->typlen);
	if (slot->tts_nvalid >= table->attnum)
	{
		slot->tts_values[table->attnum - 1] = version;
		slot->tts_isnull[table->attnum - 1] = false;
	}
}

/*
 * The version after "current".  The two commonest cases are decided
 * inline, exactly as their kinds decide them (bigint: + 1; timestamptz at
 * full precision: the clock, but at least one microsecond later); the
 * kind's own operation does the rest, and reports versions that cannot
 * advance.
 */
static inline OccVersion
next_version(const OccProtectedTable *table, OccVersion current)
{
	OccVersion	next;

	if (table->column.typid == INT8OID && current.counter < PG_INT64_MAX)
		next.counter = current.counter + 1;
	else if (table->column.typid == TIMESTAMPTZOID && table->column.typmod < 0 &&
			 !TIMESTAMP_NOT_FINITE(current.counter) &&
			 IS_VALID_TIMESTAMP(current.counter + 1))
		next.counter = Max(GetCurrentTimestamp(), current.counter + 1);
	else
		next = table->settings.kind->next(current, &table->column);
	return next;
}

/*
 * The next version of a row whose UPDATE assigned the version column
 * (found in place at "field", or NULL).  The value is checked, unless the
 * row is already "checked" (mode none, or a wrapper's row).  A proposal is
 * the next version, in every mode; it states nothing, so the write must
 * state its version in another way.  Otherwise the version advances.  Out
 * of line: most UPDATEs do not assign the version.
 */
static pg_noinline OccVersion
assigned_next_version(OccStatementState *state, FunctionCallInfo fcinfo,
					  TriggerData *trigdata, char *field, OccMode mode,
					  bool checked, OccVersion current)
{
	const OccProtectedTable *table = state->table;
	Relation	rel = trigdata->tg_relation;
	Datum		assigned;
	bool		assigned_isnull = false;
	bool		proposal = false;
	OccVersion	proposed;

	if (field != NULL)
		assigned = fetch_att(field, true, table->typlen);
	else
		assigned = heap_getattr(trigdata->tg_newtuple, table->attnum,
								RelationGetDescr(rel), &assigned_isnull);
	if (!checked)
		proposal = check_assigned(table, rel, trigdata->tg_trigtuple, assigned,
								  assigned_isnull, current, &proposed);
	else if (!assigned_isnull)
	{
		proposed = version_of(table, assigned);
		proposal = table->settings.kind->proposes(proposed, current);
	}

	if (!proposal)
		return next_version(table, current);
	if (!checked)
	{
		CurrentVersion known;

		check_if_match(state, fcinfo, mode, rel, trigdata->tg_trigtuple,
					   known_version(&known, current), false);
	}
	return proposed;
}

/*
 * Is the trigger fired BEFORE ROW, for UPDATE, DELETE or (on a stream
 * table) INSERT?  Tested on the event's bits at once: it is asked for
 * every row.  Which events a table's trigger fires for is checked against
 * its kind when its settings are read (protection.c).
 */
static inline bool
fired_as_occ_trigger(TriggerEvent event)
{
	TriggerEvent op = event & TRIGGER_EVENT_OPMASK;

	return (event & (TRIGGER_EVENT_TIMINGMASK | TRIGGER_EVENT_ROW)) ==
		(TRIGGER_EVENT_BEFORE | TRIGGER_EVENT_ROW) &&
		(op == TRIGGER_EVENT_UPDATE || op == TRIGGER_EVENT_DELETE ||
		 op == TRIGGER_EVENT_INSERT);
}

/* Refuse a call that is not the one occ.enable's trigger makes; out of line. */
static pg_noinline void
refuse_trigger_protocol(FunctionCallInfo fcinfo)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

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
	ereport(ERROR,
			(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
			 errmsg("function \"%s\" must be fired for INSERT, UPDATE or DELETE",
					"occ.check_version")));
}

/*
 * The trigger for a table whose versions are hashes of its content (kind
 * hash): the same checks, but the row's version is hashed only if a check
 * compares it, and nothing advances.  The new row is returned as it is.
 */
static pg_noinline Datum
check_content_version(OccStatementState *state, FunctionCallInfo fcinfo,
					  TriggerData *trigdata, OccMode mode, bool moved_row_valid)
{
	const OccProtectedTable *table = state->table;
	Relation	rel = trigdata->tg_relation;
	HeapTuple	oldtuple = trigdata->tg_trigtuple;
	bool		is_delete = TRIGGER_FIRED_BY_DELETE(trigdata->tg_event);
	CurrentVersion current = {.known = false, .table = table,
	.row = trigdata->tg_trigslot};

	/* the DELETE half of a row movement whose UPDATE was just checked */
	if (is_delete && moved_row_valid &&
		ItemPointerEquals(&oldtuple->t_self, &state->moved_row))
		return PointerGetDatum(oldtuple);

	if (mode != OCC_MODE_NONE &&
		!(occ_wrapper_statement != NULL &&
		  checked_for_wrapper(table, mode, rel, oldtuple, &current, is_delete)))
		check_if_match(state, fcinfo, mode, rel, oldtuple, &current, is_delete);

	if (is_delete)
		return PointerGetDatum(oldtuple);

	if (table->is_partition)
	{
		state->moved_row = oldtuple->t_self;
		state->moved_row_valid = true;
	}

	/*
	 * The ETag of the new row, as this trigger sees it: a BEFORE trigger
	 * that fires after this one and changes a counted column makes it
	 * stale (see the README).
	 */
	if (occ_error_style == OCC_ERROR_STYLE_HTTP && occ_trigger_depth() <= 1)
		occ_note_response_etag(fcinfo->flinfo->fn_mcxt, table->settings.kind,
							   occ_content_version(table->content,
												   trigdata->tg_newslot),
							   InvalidOid);
	return PointerGetDatum(trigdata->tg_newtuple);
}

/*
 * Check the version of a stream, "current", before the statement's first
 * event of it, against the version the writer expects: the expected
 * argument of occ.append, occ.if_match, or the version the event was
 * given ("given", or -1), which states the version before it and wins.
 * occ.if_match and the expected argument state one stream's version: a
 * statement that appends to a second stream of the table ("others") while
 * one is set is refused, whatever the order of its rows.
 */
static void
check_stream_version(OccStatementState *state, FunctionCallInfo fcinfo,
					 OccMode mode, Relation rel, Datum value, int64 current,
					 int64 given, int others)
{
	const OccProtectedTable *table = state->table;
	const OccStreamTable *stream = table->stream;
	const char *raw = occ_if_match;
	OccStatedBy source = OCC_STATED_BY_SETTING;
	OccIfMatchForm form;
	int64	   *values;
	int			nvalues;
	int			i;

	if (occ_wrapper_statement != NULL && row_of_wrapper(occ_wrapper_statement, rel))
	{
		OccIfMatch	parsed;
		ListCell   *lc;

		raw = occ_wrapper_statement->if_match;
		source = OCC_STATED_BY_EXPECTED;
		occ_parse_if_match(raw, source, &parsed);
		form = parsed.form;
		nvalues = list_length(parsed.values);
		values = palloc(sizeof(int64) * Max(nvalues, 1));
		i = 0;
		foreach(lc, parsed.values)
			values[i++] = stated_version(table, lfirst(lc), raw, source).counter;
	}
	else if (row_writer() == ROW_WRITER_CLIENT)
	{
		if_match_for(state, fcinfo->flinfo->fn_mcxt);
		form = state->if_match_form;
		nvalues = state->if_match_nvalues;
		values = palloc(sizeof(int64) * Max(nvalues, 1));
		for (i = 0; i < nvalues; i++)
			values[i] = state->if_match_values[i].counter;
	}
	else
	{
		/* occ.if_match is the client's; a trigger's statement gives versions */
		form = OCC_IF_MATCH_UNSET;
		nvalues = 0;
		values = NULL;
	}

	if (form != OCC_IF_MATCH_UNSET && others > 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot append to more than one stream of relation \"%s\" with one expected version",
						RelationGetRelationName(rel)),
				 errdetail("%s states the version of one stream.",
						   source == OCC_STATED_BY_SETTING ? "occ.if_match" :
						   "Argument \"expected\""),
				 errhint("Append to each stream in a statement of its own, or give the events their versions.")));

	if (given >= 0)
	{
		count_stated(table);
		if (given - 1 != current)
		{
			count_refusal(table, OCC_REFUSAL_STALE);
			occ_report_stream_stale(rel, table->attnum, stream->stream_attnum,
									occ_stream_text(stream, value), current,
									psprintf(INT64_FORMAT, given),
									OCC_STATED_IN_INSERT);
		}
		return;
	}
	switch (form)
	{
		case OCC_IF_MATCH_UNSET:
			occ_stats_count(table->origin_relid, OCC_STATS_CHECKED);
			occ_stats_count(table->origin_relid, OCC_STATS_NOT_STATED);
			if (mode == OCC_MODE_STRICT)
			{
				count_refusal(table, OCC_REFUSAL_MISSING);
				occ_report_stream_missing(rel, table->attnum,
										  row_writer() != ROW_WRITER_CLIENT &&
										  source == OCC_STATED_BY_SETTING);
			}
			return;
		case OCC_IF_MATCH_ANY:
			count_stated(table);
			if (current == 0)
				break;
			return;
		case OCC_IF_MATCH_VALUES:
			count_stated(table);
			for (i = 0; i < nvalues; i++)
				if (values[i] == current)
					return;
			break;
	}
	count_refusal(table, OCC_REFUSAL_STALE);
	occ_report_stream_stale(rel, table->attnum, stream->stream_attnum,
							occ_stream_text(stream, value), current, raw,
							source);
}

/*
 * An event INSERTed into a stream table: give it the next version of its
 * stream, after checking, at the statement's first event of each stream,
 * the version the writer expects.  Every event locks its stream (held to
 * the end of the transaction) and reads its version again: an event
 * before it in the statement may have been skipped (ON CONFLICT DO
 * NOTHING, another BEFORE trigger), and counting on from it would leave a
 * gap.  An event given its version must follow the stream's last.  In
 * mode none nothing is checked, and a given version is kept without a
 * lock.
 */
static pg_noinline Datum
append_event(OccStatementState *state, FunctionCallInfo fcinfo,
			 TriggerData *trigdata, OccMode mode)
{
	const OccProtectedTable *table = state->table;
	const OccStreamTable *stream = table->stream;
	Relation	rel = trigdata->tg_relation;
	HeapTuple	row = trigdata->tg_trigtuple;
	TupleDesc	desc = RelationGetDescr(rel);
	Datum		value;
	Datum		given_datum;
	bool		isnull;
	bool		given_isnull;
	int64		given = -1;
	uint32		hash;
	OccStatementStream *in_statement;
	bool		first;
	bool		counted_on = false;
	int			others = 0;
	int64		current;
	OccVersion	version;
	Datum		version_datum;
	bool		version_isnull = false;
	int			replaced = table->attnum;
	bool		wrappers_row = occ_wrapper_statement != NULL &&
		row_of_wrapper(occ_wrapper_statement, rel);

	occ_stream_event_by(fcinfo->flinfo);
	value = heap_getattr(row, stream->stream_attnum, desc, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("stream column \"%s\" of relation \"%s\" cannot be null",
						NameStr(TupleDescAttr(desc, stream->stream_attnum - 1)->attname),
						RelationGetRelationName(rel)),
				 errtablecol(rel, stream->stream_attnum)));
	given_datum = heap_getattr(row, table->attnum, desc, &given_isnull);
	if (!given_isnull)
		given = occ_counter_from_datum(given_datum, table->column.typid);

	/* mode none keeps a given version: a load, an archive put back */
	if (mode == OCC_MODE_NONE && given >= 0)
	{
		if (wrappers_row)
			occ_wrapper_statement->appended_version = given;
		return PointerGetDatum(row);
	}

	hash = occ_stream_hash(stream, value);
	in_statement = occ_stream_in_statement(stream, value, hash, &first, &others);

	/*
	 * The event after one this call numbered, with nothing in between that
	 * could have skipped, changed or added an event, follows it: the stream
	 * is locked already, and nothing need be read (stream.c).
	 */
	if (!first && occ_stream_numbered_last(in_statement, fcinfo->flinfo))
	{
		if (!state->inserted_as_returned_read)
		{
			state->inserted_as_returned = occ_rows_inserted_as_returned(fcinfo);
			state->inserted_as_returned_read = true;
		}
		counted_on = state->inserted_as_returned;
	}
	if (counted_on)
		current = in_statement->numbered_version;
	else
		current = occ_stream_lock_and_read(stream, rel, table->attnum,
										   table->column.typid, value, hash,
										   first);
	if (mode != OCC_MODE_NONE)
	{
		if (first)
			check_stream_version(state, fcinfo, mode, rel, value, current, given,
								 others);
		else if (given >= 0 && given != current + 1)
		{
			count_refusal(table, OCC_REFUSAL_STALE);
			occ_report_stream_stale(rel, table->attnum, stream->stream_attnum,
									occ_stream_text(stream, value), current,
									psprintf(INT64_FORMAT, given),
									OCC_STATED_IN_INSERT);
		}
	}

	if (given >= 0)
	{
		occ_stream_numbered(stream, hash, in_statement, fcinfo->flinfo, given);
		if (wrappers_row)
			occ_wrapper_statement->appended_version = given;
		return PointerGetDatum(row);
	}

	/* the version after the stream's last; never past the column's type */
	version.counter = current;
	version = occ_integer_next(version, &table->column);
	occ_stream_numbered(stream, hash, in_statement, fcinfo->flinfo,
						version.counter);
	if (wrappers_row)
		occ_wrapper_statement->appended_version = version.counter;
	version_datum = occ_counter_to_datum(version.counter, table->column.typid);
	return PointerGetDatum(heap_modify_tuple_by_cols(row, desc, 1, &replaced,
													 &version_datum,
													 &version_isnull));
}

/*
 * occ.check_version() -- the trigger function.
 */
Datum
occ_check_version(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	OccStatementState *state;
	OccProtectedTable *table;
	Relation	rel;
	HeapTuple	oldtuple;
	OccMode		mode;
	Datum		value;
	bool		isnull;
	OccVersion	current;
	CurrentVersion known_current;	/* set only where a check needs it */
	bool		moved_row_valid;
	OccMode		audit;

	if (unlikely(!CALLED_AS_TRIGGER(fcinfo)) ||
		unlikely(!fired_as_occ_trigger(trigdata->tg_event)))
		refuse_trigger_protocol(fcinfo);

	state = statement_state(fcinfo, trigdata);
	table = state->table;

	/* the row-movement memo serves the very next call only */
	moved_row_valid = state->moved_row_valid;
	state->moved_row_valid = false;

	rel = trigdata->tg_relation;
	oldtuple = trigdata->tg_trigtuple;
	mode = occ_table_mode(table->settings.mode);

	/*
	 * A stricter audit level checks the row as that mode; report.c raises
	 * what the row's own mode refuses, and reports the rest (audit.c).
	 */
	occ_row_mode = mode;
	audit = occ_table_audit(table->settings.audit);
	if (unlikely(audit < mode))
		mode = occ_audit_row(table, audit);

	if (unlikely(table->settings.kind->is_content))
		return check_content_version(state, fcinfo, trigdata, mode,
									 moved_row_valid);
	if (unlikely(table->settings.kind->appends))
	{
		if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
			return append_event(state, fcinfo, trigdata, mode);
		occ_stream_event_by(fcinfo->flinfo);
		if (occ_row_mode != OCC_MODE_NONE)	/* not audited: no 40V01 or 23V01 */
			occ_refuse_event_change(rel, TRIGGER_FIRED_BY_DELETE(trigdata->tg_event));
		/* mode none: events may be changed and removed, and nothing counts */
		return PointerGetDatum(TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ?
							   trigdata->tg_trigtuple : trigdata->tg_newtuple);
	}

	value = tuple_version(table, oldtuple, RelationGetDescr(rel), &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("version column \"%s\" of relation \"%s\" is null in the row to be written",
						table->column.name, RelationGetRelationName(rel)),
				 errhint("Set the version of this row, and make the column NOT NULL."),
				 errtablecol(rel, table->attnum)));
	current = version_of(table, value);

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
			  checked_for_wrapper(table, mode, rel, oldtuple,
								  known_version(&known_current, current), true)))
			check_if_match(state, fcinfo, mode, rel, oldtuple,
						   known_version(&known_current, current), true);
		return PointerGetDatum(oldtuple);
	}
	else
	{
		HeapTuple	newtuple = trigdata->tg_newtuple;
		AttrNumber	attnum = table->attnum;
		char	   *field = version_in_place(table, trigdata);
		bool		checked;
		bool		assigned;
		OccVersion	next;
		Datum		next_datum;
		bool		next_isnull = false;
		int			replaced;

		/* nothing to check, or checked against a wrapper's if_match */
		checked = mode == OCC_MODE_NONE ||
			(occ_wrapper_statement != NULL &&
			 checked_for_wrapper(table, mode, rel, oldtuple,
								 known_version(&known_current, current), false));

		assigned = column_assigned(trigdata->tg_updatedcols,
								   attnum - FirstLowInvalidHeapAttributeNumber);

		/* the current counter, assigned where it lies, states it: inline */
		if (unlikely(assigned) &&
			!(likely(field != NULL) && likely(table->settings.kind->is_counter) &&
			  occ_counter_from_datum(fetch_att(field, true, table->typlen),
									 table->column.typid) == current.counter))
			next = assigned_next_version(state, fcinfo, trigdata, field, mode,
										 checked, current);
		else
		{
			if (!checked)
			{
				if (assigned)	/* the current version, assigned */
					count_stated(table);
				else
					check_if_match(state, fcinfo, mode, rel, oldtuple,
								   known_version(&known_current, current), false);
			}
			next = next_version(table, current);
		}

		if (table->is_partition)
		{
			state->moved_row = oldtuple->t_self;
			state->moved_row_valid = true;
		}

		/* the ETag describes a row of the client's own statement */
		if (occ_error_style == OCC_ERROR_STYLE_HTTP && occ_trigger_depth() <= 1)
			occ_note_response_etag(fcinfo->flinfo->fn_mcxt, table->settings.kind,
								   next, table->column.typid);

		next_datum = likely(table->settings.kind->is_counter) ?
			occ_counter_to_datum(next.counter, table->column.typid) :
			table->settings.kind->to_datum(next, table->column.typid);
		if (field != NULL)
		{
			store_version(table, trigdata, field, next_datum);
			return PointerGetDatum(newtuple);
		}
		replaced = attnum;
		return PointerGetDatum(heap_modify_tuple_by_cols(newtuple,
														 RelationGetDescr(rel),
														 1, &replaced,
														 &next_datum, &next_isnull));
	}
}
