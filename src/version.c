/*-------------------------------------------------------------------------
 *
 * version.c
 *	  Version values: which column types hold them, how they are compared,
 *	  advanced, parsed and printed.
 *
 * Every supported type is an int64 underneath: smallint, integer and bigint
 * by value, timestamp and timestamptz as microseconds since 2000-01-01.  The
 * trigger therefore compares and advances plain int64 values and converts
 * back to the column's type only to store or print one.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <limits.h>

#include "catalog/pg_type_d.h"
#include "datatype/timestamp.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "occ.h"

#if PG_VERSION_NUM < 150000
/* strtoi64 appeared in PostgreSQL 15 */
#define strtoi64(str, endptr, base) ((int64) strtoll(str, endptr, base))
#endif

/*
 * Can a column of type typid hold versions of the given kind?
 */
bool
occ_type_fits_kind(Oid typid, OccKind kind)
{
	switch (kind)
	{
		case OCC_KIND_INTEGER:
			return typid == INT2OID || typid == INT4OID || typid == INT8OID;
		case OCC_KIND_TIMESTAMP:
			return typid == TIMESTAMPOID || typid == TIMESTAMPTZOID;
	}
	return false;
}

/* Largest value an integer version column of type typid can hold. */
static int64
integer_type_max(Oid typid)
{
	switch (typid)
	{
		case INT2OID:
			return PG_INT16_MAX;
		case INT4OID:
			return PG_INT32_MAX;
		default:
			return PG_INT64_MAX;
	}
}

/*
 * Parse an integer version.  Unlike int8in this does not throw, so that the
 * caller can report any unreadable version with one SQLSTATE.
 */
static bool
parse_integer(const char *text, int64 *result)
{
	char	   *end;

	if (*text == '\0' || isspace((unsigned char) *text))
		return false;
	errno = 0;
	*result = strtoi64(text, &end, 10);
	return errno == 0 && *end == '\0';
}

/*
 * Parse a timestamp version with the server's date/time input rules, the
 * same way timestamp_in and timestamptz_in do, but without throwing.
 */
static bool
parse_timestamp(const char *text, bool with_zone, int64 *result)
{
	char		workbuf[MAXDATELEN + MAXDATEFIELDS];
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf;
	int			dtype;
	struct pg_tm tt;
	fsec_t		fsec;
	int			tz;
	Timestamp	ts;
#if PG_VERSION_NUM >= 160000
	DateTimeErrorExtra extra;
#endif

	if (ParseDateTime(text, workbuf, sizeof(workbuf),
					  field, ftype, MAXDATEFIELDS, &nf) != 0)
		return false;
#if PG_VERSION_NUM >= 160000
	if (DecodeDateTime(field, ftype, nf, &dtype, &tt, &fsec, &tz, &extra) != 0)
		return false;
#else
	{
		/*
		 * Before PostgreSQL 16, DecodeDateTime raises an error of its own
		 * for an unknown time zone name instead of returning a code.  Turn
		 * it into the answer "cannot be read"; the caller raises an error
		 * at once, so nothing runs on after the caught one.
		 */
		MemoryContext cxt = CurrentMemoryContext;
		int			dterr = 0;

		PG_TRY();
		{
			dterr = DecodeDateTime(field, ftype, nf, &dtype, &tt, &fsec, &tz);
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(cxt);
			FlushErrorState();
			dterr = -1;
		}
		PG_END_TRY();
		if (dterr != 0)
			return false;
	}
#endif

	switch (dtype)
	{
		case DTK_DATE:
			if (tm2timestamp(&tt, fsec, with_zone ? &tz : NULL, &ts) != 0)
				return false;
			break;
		case DTK_EPOCH:
			ts = SetEpochTimestamp();
			break;
		case DTK_LATE:
			TIMESTAMP_NOEND(ts);
			break;
		case DTK_EARLY:
			TIMESTAMP_NOBEGIN(ts);
			break;
		default:
			return false;
	}
	*result = ts;
	return true;
}

/*
 * Parse the text form of a version for a column of type typid.  Returns
 * false if it cannot be read, and the caller must then raise an error (see
 * parse_timestamp for why it may not carry on).  The value is taken exactly as written, not
 * rounded to the column's precision: it must equal what the writer read.
 */
bool
occ_parse_version(const char *text, Oid typid, int64 *result)
{
	switch (typid)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
			/* a value the column cannot hold is unreadable, not stale */
			return parse_integer(text, result) &&
				*result >= -integer_type_max(typid) - 1 &&
				*result <= integer_type_max(typid);
		case TIMESTAMPOID:
			return parse_timestamp(text, false, result);
		case TIMESTAMPTZOID:
			return parse_timestamp(text, true, result);
	}
	return false;
}

/* Round a timestamp to the column's declared precision, as a cast would. */
static Timestamp
round_to_typmod(Timestamp ts, int32 typmod)
{
#if PG_VERSION_NUM >= 160000
	(void) AdjustTimestampForTypmod(&ts, typmod, NULL);
#else
	AdjustTimestampForTypmod(&ts, typmod);
#endif
	return ts;
}

/*
 * The version that follows "current" in a column of type typid.
 *
 * Integers advance by one and refuse to wrap.  Timestamps take the current
 * clock time, but never less than one unit of the column's precision after
 * the old value: two updates within one clock tick, a clock that steps
 * back, or a timestamp column whose local time repeats at the end of
 * daylight saving time would otherwise repeat a version.
 */
int64
occ_next_version(Relation rel, const char *column, Oid typid, int32 typmod,
				 int64 current)
{
	if (typid == INT2OID || typid == INT4OID || typid == INT8OID)
	{
		if (current >= integer_type_max(typid))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("version column \"%s\" of relation \"%s\" cannot advance past " INT64_FORMAT,
							column, RelationGetRelationName(rel), current),
					 errhint("Give the column a larger integer type, or reset the version of this row.")));
		return current + 1;
	}
	else
	{
		TimestampTz now = GetCurrentTimestamp();
		Timestamp	candidate;
		Timestamp	successor;
		int64		step = 1;

		if (typid == TIMESTAMPOID)
			candidate = DatumGetTimestamp(DirectFunctionCall1(timestamptz_timestamp,
															  TimestampTzGetDatum(now)));
		else
			candidate = now;

		if (typmod >= 0 && typmod < MAX_TIMESTAMP_PRECISION)
		{
			int			i;

			for (i = typmod; i < MAX_TIMESTAMP_PRECISION; i++)
				step *= 10;
			candidate = round_to_typmod(candidate, typmod);
		}

		if (TIMESTAMP_IS_NOBEGIN(current))
			return candidate;
		if (TIMESTAMP_IS_NOEND(current) || !IS_VALID_TIMESTAMP(current + step))
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("version column \"%s\" of relation \"%s\" cannot advance past its current value",
							column, RelationGetRelationName(rel)),
					 errhint("Reset the version of this row to a finite timestamp.")));

		successor = current + step;
		if (typmod >= 0 && typmod < MAX_TIMESTAMP_PRECISION)
			successor = round_to_typmod(successor, typmod);

		return Max(candidate, successor);
	}
}

/*
 * The text form of a version, as the column's output function prints it.
 */
char *
occ_version_out(int64 value, Oid typid)
{
	switch (typid)
	{
		case TIMESTAMPOID:
			return DatumGetCString(DirectFunctionCall1(timestamp_out,
													   TimestampGetDatum(value)));
		case TIMESTAMPTZOID:
			return DatumGetCString(DirectFunctionCall1(timestamptz_out,
													   TimestampTzGetDatum(value)));
		default:
			return psprintf(INT64_FORMAT, value);
	}
}
