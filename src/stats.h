/*-------------------------------------------------------------------------
 *
 * stats.h
 *	  Conflict statistics per table: what occ's trigger decided, counted.
 *
 * The trigger counts each decision with occ_stats_count(), against the
 * table that was enabled (a partition's writes count for its partitioned
 * table).  A count is an increment of a backend-local counter, inline, for
 * as long as the trigger keeps counting for the same table; stats.c
 * publishes the counts to shared memory when the transaction ends, committed
 * or aborted (a refused write aborts it).  See stats.c for where the shared
 * counters live on each PostgreSQL version.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OCC_STATS_H
#define OCC_STATS_H

/* What is counted; the README defines each counter. */
typedef enum OccStatsCounter
{
	OCC_STATS_CHECKED,
	OCC_STATS_STATED,
	OCC_STATS_NOT_STATED,
	OCC_STATS_REFUSED_STALE,
	OCC_STATS_REFUSED_MISSING,
	OCC_STATS_AUDITED_STALE,
	OCC_STATS_AUDITED_MISSING,
	OCC_STATS_COUNTERS			/* how many there are */
} OccStatsCounter;

/* The table counted last in this transaction, and its local counters. */
extern Oid	occ_stats_current_relid;
extern uint64 *occ_stats_current_counts;

extern void occ_stats_init(void);
extern void occ_stats_count_other(Oid relid, OccStatsCounter counter);

/*
 * Count one decision for the enabled table relid.  Called for every row
 * the trigger checks: the common case, the same table as the last count,
 * is one comparison and one increment.
 */
static inline void
occ_stats_count(Oid relid, OccStatsCounter counter)
{
	if (likely(relid == occ_stats_current_relid))
		occ_stats_current_counts[counter]++;
	else
		occ_stats_count_other(relid, counter);
}

#endif							/* OCC_STATS_H */
