/*-------------------------------------------------------------------------
 *
 * kind_timestamp.c
 *	  The timestamp kind: a timestamp or timestamptz column that every
 *	  UPDATE moves to the current time, and always forward.
 *
 * A version is the column's value, microseconds since 2000-01-01.  The
 * next one is the clock time, but never less than one unit of the
 * column's precision after the current one: two updates within one clock
 * tick, a clock that steps back, or a timestamp column whose local time
 * repeats at the end of daylight saving time would otherwise repeat a
 * version.
 *
 * An entity tag is the ISO 8601 form with a "T" and no spaces (RFC 9110
 * allows none), timestamptz in UTC written "+00:00", whatever the
 * session's DateStyle and TimeZone, so that it reads back exactly.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "datatype/timestamp.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "kind.h"

static bool
timestamp_column_fits(Oid typid)
{
	return typid == TIMESTAMPOID || typid == TIMESTAMPTZOID;
}

/* Only the version itself states it: nobody can compute the next time. */
static bool
timestamp_states_current(OccVersion assigned, OccVersion current)
{
	(void) assigned;
	(void) current;
	return false;
}

/*
 * A finite time later than the version: the time an ORM stamps on the row
 * it saves (updated_at).  Infinity is never proposed: no version could
 * follow it.
 */
static bool
timestamp_proposes(OccVersion assigned, OccVersion current)
{
	return !TIMESTAMP_NOT_FINITE(assigned.counter) && assigned.counter > current.counter;
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

static OccVersion
timestamp_next(OccVersion current, const OccVersionColumn *column)
{
	TimestampTz now = GetCurrentTimestamp();
	Timestamp	candidate;
	Timestamp	successor;
	int64		step = 1;
	OccVersion	next;

	if (column->typid == TIMESTAMPOID)
		candidate = DatumGetTimestamp(DirectFunctionCall1(timestamptz_timestamp,
														  TimestampTzGetDatum(now)));
	else
		candidate = now;

	if (column->typmod >= 0 && column->typmod < MAX_TIMESTAMP_PRECISION)
	{
		int			i;

		for (i = column->typmod; i < MAX_TIMESTAMP_PRECISION; i++)
			step *= 10;
		candidate = round_to_typmod(candidate, column->typmod);
	}

	if (TIMESTAMP_IS_NOBEGIN(current.counter))
	{
		next.counter = candidate;
		return next;
	}
	if (TIMESTAMP_IS_NOEND(current.counter) ||
		!IS_VALID_TIMESTAMP(current.counter + step))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("version column \"%s\" of relation \"%s\" cannot advance past its current value",
						column->name, column->relname),
				 errhint("Reset the version of this row to a finite timestamp.")));

	successor = current.counter + step;
	if (column->typmod >= 0 && column->typmod < MAX_TIMESTAMP_PRECISION)
		successor = round_to_typmod(successor, column->typmod);

	next.counter = Max(candidate, successor);
	return next;
}

static char *
timestamp_print(OccVersion version, Oid typid)
{
	if (typid == TIMESTAMPOID)
		return DatumGetCString(DirectFunctionCall1(timestamp_out,
												   TimestampGetDatum(version.counter)));
	return DatumGetCString(DirectFunctionCall1(timestamptz_out,
											   TimestampTzGetDatum(version.counter)));
}

static char *
timestamp_etag(OccVersion version, Oid typid)
{
	struct pg_tm tm;
	fsec_t		fsec;
	char		buf[MAXDATELEN + 1];

	if (TIMESTAMP_NOT_FINITE(version.counter))
		EncodeSpecialTimestamp(version.counter, buf);
	else if (timestamp2tm(version.counter, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	else
	{
		char	   *bc;

		/* UTC, stated as "+00:00": a valid zone, not a missing one */
		tm.tm_isdst = 0;
		EncodeDateTime(&tm, fsec, typid == TIMESTAMPTZOID, 0, NULL,
					   USE_XSD_DATES, buf);
		/* "... BC" reads back as well without the space */
		bc = strstr(buf, " BC");
		if (bc != NULL)
			memmove(bc, bc + 1, strlen(bc));
	}
	return psprintf("\"%s\"", buf);
}

const OccKindOps occ_timestamp_kind = {
	.name = "timestamp",
	.is_counter = true,
	.column_types = "timestamp or timestamp with time zone",
	.new_column = "pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()",
	.column_fits = timestamp_column_fits,
	.from_datum = occ_counter_from_version_datum,
	.to_datum = occ_counter_to_version_datum,
	.equal = occ_counter_equal,
	.states_current = timestamp_states_current,
	.proposes = timestamp_proposes,
	.next = timestamp_next,
	.print = timestamp_print,
	.etag = timestamp_etag,
};
