/*-------------------------------------------------------------------------
 *
 * stats.c
 *	  Conflict statistics per table.
 *
 * STUB for the audit branch, so that it builds: counts nothing.  The
 * statistics branch (issue 13) owns the real one; the merge takes theirs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "stats.h"

void
occ_stats_count(Oid relid, OccStatsCounter counter)
{
	(void) relid;
	(void) counter;
}
