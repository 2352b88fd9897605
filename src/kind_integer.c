/*-------------------------------------------------------------------------
 *
 * kind_integer.c
 *	  The integer kind: a counter in a smallint, integer or bigint column
 *	  that every UPDATE advances by one.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "kind.h"

bool
occ_integer_column_fits(Oid typid)
{
	return typid == INT2OID || typid == INT4OID || typid == INT8OID;
}

/*
 * The version read + 1, which ORMs assign along with WHERE version = read:
 * a stale writer that states the version it read can never produce it.
 */
static bool
integer_states_current(OccVersion assigned, OccVersion current)
{
	return current.counter < PG_INT64_MAX && assigned.counter == current.counter + 1;
}

/* Beyond the version read + 1: a jump the application chose. */
static bool
integer_proposes(OccVersion assigned, OccVersion current)
{
	return current.counter < PG_INT64_MAX && assigned.counter > current.counter + 1;
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

/* The next version is one more; a version never wraps. */
OccVersion
occ_integer_next(OccVersion current, const OccVersionColumn *column)
{
	OccVersion	next;

	if (current.counter >= integer_type_max(column->typid))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("version column \"%s\" of relation \"%s\" cannot advance past " INT64_FORMAT,
						column->name, column->relname, current.counter),
				 errhint("Give the column a larger integer type, or reset the version of this row.")));
	next.counter = current.counter + 1;
	return next;
}

char *
occ_integer_print(OccVersion version, Oid typid)
{
	(void) typid;
	return psprintf(INT64_FORMAT, version.counter);
}

char *
occ_integer_etag(OccVersion version, Oid typid)
{
	(void) typid;
	return psprintf("\"" INT64_FORMAT "\"", version.counter);
}

const OccKindOps occ_integer_kind = {
	.name = "integer",
	.is_counter = true,
	.column_types = "smallint, integer or bigint",
	.new_column = "pg_catalog.int8 NOT NULL DEFAULT 1",
	.column_fits = occ_integer_column_fits,
	.from_datum = occ_counter_from_version_datum,
	.to_datum = occ_counter_to_version_datum,
	.equal = occ_counter_equal,
	.states_current = integer_states_current,
	.proposes = integer_proposes,
	.next = occ_integer_next,
	.print = occ_integer_print,
	.etag = occ_integer_etag,
};
