/*-------------------------------------------------------------------------
 *
 * kind_stream.c
 *	  The stream kind: a table of events, each stream's events numbered
 *	  1, 2, 3, ... in an integer version column; a stream's version is the
 *	  number of its events.
 *
 * The version lives in a column like the integer kind's and is printed the
 * same way, but it is assigned on INSERT (stream.c) rather than advanced by
 * UPDATE: events are appended, never changed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "kind.h"

/* An event's version is the one it was given: nothing else states it. */
static bool
stream_states_current(OccVersion assigned, OccVersion current)
{
	(void) assigned;
	(void) current;
	return false;
}

static bool
stream_proposes(OccVersion assigned, OccVersion current)
{
	(void) assigned;
	(void) current;
	return false;
}

const OccKindOps occ_stream_kind = {
	.name = "stream",
	.is_counter = true,
	.is_content = false,
	.appends = true,
	.column_types = "smallint, integer or bigint",
	.new_column = NULL,
	.column_fits = occ_integer_column_fits,
	.from_datum = occ_counter_from_version_datum,
	.to_datum = occ_counter_to_version_datum,
	.parse = NULL,
	.equal = occ_counter_equal,
	.states_current = stream_states_current,
	.proposes = stream_proposes,
	.next = occ_integer_next,
	.print = occ_integer_print,
	.etag = occ_integer_etag,
};
