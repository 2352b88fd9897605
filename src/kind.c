/*-------------------------------------------------------------------------
 *
 * kind.c
 *	  The registry of version kinds, and reading a stated version.
 *
 * A stated version -- occ.if_match, a wrapper's if_match -- is read with
 * the version column's own input function, so that it means exactly what
 * the same text would mean in a query: a timestamp under the session's
 * TimeZone, DateStyle and timezone_abbreviations.  It is not rounded to
 * the column's precision (typmod -1): it must equal the version that the
 * writer read.  A value the type cannot read is reported by the caller
 * with one SQLSTATE (22P02), whatever the input function would raise; on
 * PostgreSQL 16 and later the input function reports it softly, before
 * that a subtransaction catches the input function's data exception.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#if PG_VERSION_NUM >= 160000
#include "nodes/miscnodes.h"
#endif

#include "kind.h"

/* Every kind, by the name occ.enable and the trigger's arguments use. */
static const OccKindOps *const kinds[] = {
	&occ_integer_kind,
	&occ_timestamp_kind,
	&occ_hash_kind,
	&occ_stream_kind,
};

const OccKindOps *
occ_kind_by_name(const char *name)
{
	int			i;

	for (i = 0; i < (int) lengthof(kinds); i++)
		if (strcmp(kinds[i]->name, name) == 0)
			return kinds[i];
	return NULL;
}

/* The kind whose versions a column of this type holds, or NULL. */
const OccKindOps *
occ_kind_of_type(Oid typid)
{
	int			i;

	for (i = 0; i < (int) lengthof(kinds); i++)
		if (!kinds[i]->is_content && kinds[i]->column_fits(typid))
			return kinds[i];
	return NULL;
}

/* The column's value as a counter kind's version, and back. */
OccVersion
occ_counter_from_version_datum(Datum value, Oid typid)
{
	OccVersion	version;

	version.counter = occ_counter_from_datum(value, typid);
	return version;
}

Datum
occ_counter_to_version_datum(OccVersion version, Oid typid)
{
	return occ_counter_to_datum(version.counter, typid);
}

bool
occ_counter_equal(OccVersion a, OccVersion b)
{
	return a.counter == b.counter;
}

/*
 * The column types of every kind, for messages: "smallint, integer or
 * bigint; timestamp or timestamp with time zone".
 */
const char *
occ_kind_column_types(void)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < (int) lengthof(kinds); i++)
		if (!kinds[i]->is_content && !kinds[i]->appends)
			appendStringInfo(&buf, "%s%s", buf.len > 0 ? "; " : "",
							 kinds[i]->column_types);
	return buf.data;
}

/*
 * The names of every kind, for messages: "integer", "timestamp" and "hash".
 */
const char *
occ_kind_names(void)
{
	StringInfoData buf;
	int			n = lengthof(kinds);
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < n; i++)
		appendStringInfo(&buf, "%s\"%s\"",
						 i == 0 ? "" : i == n - 1 ? " and " : ", ",
						 kinds[i]->name);
	return buf.data;
}

/*
 * Call the type's input function on text; false if it raised a data
 * exception (class 22).  Any other error propagates.
 */
static bool
input_function_call(const char *text, Oid typid, Datum *result)
{
	Oid			typinput;
	Oid			typioparam;
	FmgrInfo	flinfo;
#if PG_VERSION_NUM >= 160000
	ErrorSaveContext escontext = {.type = T_ErrorSaveContext};
#else
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool ok = false;
#endif

	getTypeInputInfo(typid, &typinput, &typioparam);
	fmgr_info(typinput, &flinfo);

#if PG_VERSION_NUM >= 160000
	return InputFunctionCallSafe(&flinfo, (char *) text, typioparam, -1,
								 (Node *) &escontext, result);
#else
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		*result = InputFunctionCall(&flinfo, (char *) text, typioparam, -1);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		ok = true;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) != ERRCODE_DATA_EXCEPTION)
			ReThrowError(edata);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	return ok;
#endif
}

/*
 * Read the text of a stated version for a column of type typid, or of a
 * content kind (typid is then unused).  Returns false if it cannot be read
 * as a version of this kind, and the caller raises the error.
 */
bool
occ_parse_version(const char *text, Oid typid, const OccKindOps *kind,
				  OccVersion *result)
{
	Datum		value;

	if (kind->is_content)
		return kind->parse(text, result);
	if (!input_function_call(text, typid, &value))
		return false;
	*result = kind->from_datum(value, typid);
	return true;
}
