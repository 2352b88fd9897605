/*-------------------------------------------------------------------------
 *
 * stats.h
 *	  Conflict statistics per table.
 *
 * STUB for the audit branch: the real stats.h and stats.c come from the
 * statistics branch (issue 13), which owns this interface; the merge takes
 * theirs.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OCC_STATS_H
#define OCC_STATS_H

typedef enum OccStatsCounter
{
	OCC_STATS_CHECKED,
	OCC_STATS_STATED,
	OCC_STATS_NOT_STATED,
	OCC_STATS_REFUSED_STALE,
	OCC_STATS_REFUSED_MISSING,
	OCC_STATS_AUDITED_STALE,
	OCC_STATS_AUDITED_MISSING,
	OCC_STATS_COUNTERS
} OccStatsCounter;

extern void occ_stats_count(Oid relid, OccStatsCounter counter);

#endif							/* OCC_STATS_H */
