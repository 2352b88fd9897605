/*-------------------------------------------------------------------------
 *
 * stats.c
 *	  Conflict statistics per table, in shared memory, for occ.table_stats.
 *
 * The trigger counts what it decides for each write (occ_stats_count in
 * stats.h): checked, stated, not stated, refused as stale, refused as
 * missing, and the audit level's would-be refusals.  A refused write aborts
 * its transaction, so the counts cannot live in a table; they live in
 * shared memory, as counters do in PostgreSQL's own statistics, and are
 * lost when the server stops (or crashes).
 *
 * Counting is cheap per row: the trigger increments a counter of its own
 * backend, in a small hash table keyed by the enabled table's OID, and
 * keeps a pointer to the counters of the table it counted last.  When the
 * transaction ends -- committed, aborted or prepared -- a transaction
 * callback adds the backend's counts to the shared counters and forgets
 * them; the next transaction starts over.  Nothing in that callback can
 * fail: it only takes a lightweight lock and adds.
 *
 * Where the shared counters live:
 *
 *	PostgreSQL 17 and newer: in a named dynamic shared memory segment
 *	(GetNamedDSMSegment), created by the first backend that counts or reads
 *	the statistics.  Nothing needs preloading.
 *
 *	PostgreSQL 13 to 16: in the main shared memory segment, which can only
 *	be enlarged while the server starts, so occ must be listed in
 *	shared_preload_libraries.  Without it nothing is counted (the local
 *	counts are dropped at transaction end), and reading the statistics is
 *	an error that says how to enable them.
 *
 * The shared table: OCC_STATS_SLOTS slots, open addressing with linear
 * probing on (database, table), at most OCC_STATS_MAX_TABLES of them used
 * so that probes stay short.  When it is full, the counts of a table that
 * has no slot yet are dropped, and the backend says so once in the server
 * log; occ.reset_table_stats() frees the slots of the database it runs in.
 * Each slot holds since when it counts (its creation: the first count
 * after the server started or after the last reset of the table).
 *
 * Locking: the slots are found, created and removed under one LWLock.
 * Adding to the counters of a slot takes it shared (the counters are
 * atomic, so many backends add at once); creating and removing slots
 * takes it exclusive; readers take it shared.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#if PG_VERSION_NUM >= 170000
#include "storage/dsm_registry.h"
#endif
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "stats.h"

PG_FUNCTION_INFO_V1(occ_table_stats_counters);
PG_FUNCTION_INFO_V1(occ_reset_table_stats);

/* How many tables the shared table counts, in how many slots. */
#define OCC_STATS_MAX_TABLES	8192
#define OCC_STATS_SLOTS			(2 * OCC_STATS_MAX_TABLES)

/* The name of the shared memory: a named DSM segment, or a shmem struct. */
#define OCC_STATS_SHMEM_NAME	"occ conflict statistics"

/* One table's shared counters; relid InvalidOid: a free slot. */
typedef struct OccStatsSlot
{
	Oid			dbid;
	Oid			relid;
	TimestampTz since;			/* when this slot began counting */
	pg_atomic_uint64 counts[OCC_STATS_COUNTERS];
} OccStatsSlot;

typedef struct OccStatsShared
{
#if PG_VERSION_NUM >= 170000
	int			tranche_id;
	LWLock		lock;
#endif
	int			nslots_used;
	OccStatsSlot slots[OCC_STATS_SLOTS];
} OccStatsShared;

/* A backend's counts of one table in this transaction. */
typedef struct OccStatsPending
{
	Oid			relid;			/* hash key */
	uint64		counts[OCC_STATS_COUNTERS];
} OccStatsPending;

/* The shared counters and their lock, once this backend can reach them. */
static OccStatsShared *stats = NULL;
static LWLock *stats_lock = NULL;

/* This transaction's counts, by table. */
static HTAB *pending = NULL;
static bool pending_any = false;

/*
 * The counters of the table counted last (see occ_stats_count).  Until the
 * first count of a transaction they point at a sink, never incremented
 * because no table has the OID InvalidOid.
 */
static uint64 no_counts[OCC_STATS_COUNTERS];
Oid			occ_stats_current_relid = InvalidOid;
uint64	   *occ_stats_current_counts = no_counts;

/* Said once per backend: the shared table is full. */
static bool full_reported = false;

#if PG_VERSION_NUM < 170000
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif
#endif

static void stats_xact_callback(XactEvent event, void *arg);


/* ----------------------------------------------------------------
 * Setting up the shared counters
 * ----------------------------------------------------------------
 */

/* Free slots, counters at zero. */
static void
init_shared(OccStatsShared *shared)
{
	int			i;
	int			c;

	shared->nslots_used = 0;
	for (i = 0; i < OCC_STATS_SLOTS; i++)
	{
		shared->slots[i].dbid = InvalidOid;
		shared->slots[i].relid = InvalidOid;
		shared->slots[i].since = 0;
		for (c = 0; c < OCC_STATS_COUNTERS; c++)
			pg_atomic_init_u64(&shared->slots[i].counts[c], 0);
	}
}

#if PG_VERSION_NUM >= 170000

/* The named segment's initialization, done once by the backend creating it. */
static void
init_segment(void *ptr)
{
	OccStatsShared *shared = ptr;

	shared->tranche_id = LWLockNewTrancheId();
	LWLockInitialize(&shared->lock, shared->tranche_id);
	init_shared(shared);
}

/*
 * Attach to the named segment, creating it if this backend is the first;
 * the mapping stays for the life of the backend.
 */
static bool
attach_shared(void)
{
	bool		found;

	if (stats != NULL)
		return true;
	stats = GetNamedDSMSegment(OCC_STATS_SHMEM_NAME, sizeof(OccStatsShared),
							   init_segment, &found);
	LWLockRegisterTranche(stats->tranche_id, "occ_stats");
	stats_lock = &stats->lock;
	return true;
}

#else							/* PG_VERSION_NUM < 170000 */

#if PG_VERSION_NUM >= 150000
static void
stats_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(OccStatsShared)));
	RequestNamedLWLockTranche("occ_stats", 1);
}
#endif

/* Create or find the shared counters, in the postmaster at startup. */
static void
stats_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	stats = ShmemInitStruct(OCC_STATS_SHMEM_NAME, sizeof(OccStatsShared), &found);
	if (!found)
		init_shared(stats);
	stats_lock = &(GetNamedLWLockTranche("occ_stats"))->lock;
	LWLockRelease(AddinShmemInitLock);
}

/* Only a preloaded library has them: see the file header. */
static bool
attach_shared(void)
{
	return stats != NULL;
}

#endif							/* PG_VERSION_NUM < 170000 */

/*
 * Called from _PG_init: before PostgreSQL 17, ask for shared memory if the
 * library is being preloaded; in every case, publish counts at the end of
 * each transaction.
 */
void
occ_stats_init(void)
{
#if PG_VERSION_NUM < 170000
	if (process_shared_preload_libraries_in_progress)
	{
#if PG_VERSION_NUM >= 150000
		prev_shmem_request_hook = shmem_request_hook;
		shmem_request_hook = stats_shmem_request;
#else
		RequestAddinShmemSpace(MAXALIGN(sizeof(OccStatsShared)));
		RequestNamedLWLockTranche("occ_stats", 1);
#endif
		prev_shmem_startup_hook = shmem_startup_hook;
		shmem_startup_hook = stats_shmem_startup;
	}
#endif
	RegisterXactCallback(stats_xact_callback, NULL);
}

/*
 * The shared counters, for the SQL functions: an error if this server
 * cannot have them.
 */
static void
require_shared(void)
{
	if (!attach_shared())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("occ conflict statistics are not available"),
				 errdetail("On PostgreSQL versions before 17, occ keeps its statistics in shared memory that is set aside only when the server starts with occ preloaded."),
				 errhint("Add occ to shared_preload_libraries and restart the server.")));
}


/* ----------------------------------------------------------------
 * The shared table
 * ----------------------------------------------------------------
 */

static inline uint32
home_slot(Oid dbid, Oid relid)
{
	return hash_combine(murmurhash32(dbid), murmurhash32(relid)) &
		(OCC_STATS_SLOTS - 1);
}

/*
 * The slot of a table, or NULL if it has none.  With "create", a free slot
 * is taken for it if the table is not full (the caller holds the lock
 * exclusive).
 */
static OccStatsSlot *
find_slot(Oid dbid, Oid relid, bool create)
{
	uint32		i = home_slot(dbid, relid);

	for (;;)
	{
		OccStatsSlot *slot = &stats->slots[i];

		if (slot->relid == relid && slot->dbid == dbid)
			return slot;
		if (slot->relid == InvalidOid)
		{
			if (!create || stats->nslots_used >= OCC_STATS_MAX_TABLES)
				return NULL;
			slot->dbid = dbid;
			slot->relid = relid;
			slot->since = GetCurrentTimestamp();
			stats->nslots_used++;
			return slot;
		}
		i = (i + 1) & (OCC_STATS_SLOTS - 1);
	}
}

/*
 * Remove the slots of this database's table relid, or of all its tables if
 * relid is InvalidOid: keep the others and place them again, so that no
 * probe sequence is broken.  Rare (a reset), so simple.  The caller holds
 * the lock exclusive, and gives the room to keep OCC_STATS_MAX_TABLES slots
 * in (allocated before it took the lock: nothing here may fail).
 */
static void
remove_slots(Oid dbid, Oid relid, OccStatsSlot *kept, uint64 *kept_counts)
{
	int			nkept = 0;
	int			i;
	int			c;

	for (i = 0; i < OCC_STATS_SLOTS; i++)
	{
		OccStatsSlot *slot = &stats->slots[i];

		if (slot->relid == InvalidOid)
			continue;
		if (slot->dbid == dbid && (relid == InvalidOid || slot->relid == relid))
			continue;
		kept[nkept].dbid = slot->dbid;
		kept[nkept].relid = slot->relid;
		kept[nkept].since = slot->since;
		for (c = 0; c < OCC_STATS_COUNTERS; c++)
			kept_counts[nkept * OCC_STATS_COUNTERS + c] =
				pg_atomic_read_u64(&slot->counts[c]);
		nkept++;
	}

	for (i = 0; i < OCC_STATS_SLOTS; i++)
	{
		stats->slots[i].relid = InvalidOid;
		stats->slots[i].dbid = InvalidOid;
		for (c = 0; c < OCC_STATS_COUNTERS; c++)
			pg_atomic_write_u64(&stats->slots[i].counts[c], 0);
	}
	stats->nslots_used = 0;

	for (i = 0; i < nkept; i++)
	{
		OccStatsSlot *slot = find_slot(kept[i].dbid, kept[i].relid, true);

		slot->since = kept[i].since;
		for (c = 0; c < OCC_STATS_COUNTERS; c++)
			pg_atomic_write_u64(&slot->counts[c],
								kept_counts[i * OCC_STATS_COUNTERS + c]);
	}
}


/* ----------------------------------------------------------------
 * Counting in the backend, publishing at transaction end
 * ----------------------------------------------------------------
 */

/*
 * occ_stats_count for a table other than the one counted last: find or
 * make its local counters, and make them the current ones.
 */
void
occ_stats_count_other(Oid relid, OccStatsCounter counter)
{
	OccStatsPending *entry;
	bool		found;

	Assert(OidIsValid(relid));

	/* attach now, while an error is still an ordinary one */
	(void) attach_shared();

	if (pending == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(OccStatsPending);
		ctl.hcxt = TopMemoryContext;
		pending = hash_create("occ conflict statistics of this transaction",
							  16, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	entry = hash_search(pending, &relid, HASH_ENTER, &found);
	if (!found)
		memset(entry->counts, 0, sizeof(entry->counts));
	pending_any = true;

	occ_stats_current_relid = relid;
	occ_stats_current_counts = entry->counts;
	entry->counts[counter]++;
}

/* Add one table's counts to its slot. */
static void
add_counts(OccStatsSlot *slot, const OccStatsPending *entry)
{
	int			c;

	for (c = 0; c < OCC_STATS_COUNTERS; c++)
		if (entry->counts[c] != 0)
			pg_atomic_fetch_add_u64(&slot->counts[c], (int64) entry->counts[c]);
}

/*
 * Add this transaction's counts to the shared counters, and forget them.
 * Runs while the transaction commits or aborts: it must not fail.  Tables
 * that have a slot are counted under the shared lock; the others, if any,
 * get one under the exclusive lock.
 */
static void
publish_counts(void)
{
	HASH_SEQ_STATUS seq;
	OccStatsPending *entry;
	bool		any_without_slot = false;

	if (stats != NULL)
	{
		LWLockAcquire(stats_lock, LW_SHARED);
		hash_seq_init(&seq, pending);
		while ((entry = hash_seq_search(&seq)) != NULL)
		{
			OccStatsSlot *slot = find_slot(MyDatabaseId, entry->relid, false);

			if (slot != NULL)
			{
				add_counts(slot, entry);
				(void) hash_search(pending, &entry->relid, HASH_REMOVE, NULL);
			}
			else
				any_without_slot = true;
		}
		LWLockRelease(stats_lock);
	}

	if (any_without_slot)
	{
		Oid			dropped = InvalidOid;

		LWLockAcquire(stats_lock, LW_EXCLUSIVE);
		hash_seq_init(&seq, pending);
		while ((entry = hash_seq_search(&seq)) != NULL)
		{
			OccStatsSlot *slot = find_slot(MyDatabaseId, entry->relid, true);

			if (slot != NULL)
				add_counts(slot, entry);
			else
				dropped = entry->relid;
		}
		LWLockRelease(stats_lock);

		if (OidIsValid(dropped) && !full_reported)
		{
			full_reported = true;
			ereport(LOG,
					(errmsg("occ conflict statistics are full: counts of relation %u are not kept",
							dropped),
					 errdetail("occ keeps the statistics of at most %d tables.",
							   OCC_STATS_MAX_TABLES),
					 errhint("Reset the statistics with occ.reset_table_stats() in the databases whose tables are no longer needed.")));
		}
	}

	/* what is left was published above, or cannot be */
	hash_seq_init(&seq, pending);
	while ((entry = hash_seq_search(&seq)) != NULL)
		(void) hash_search(pending, &entry->relid, HASH_REMOVE, NULL);
}

/*
 * At the end of every transaction, committed, aborted or prepared: publish
 * what it counted.  The next count starts from the slow path, which marks
 * the transaction as having counted something.
 */
static void
stats_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			break;
		default:
			return;
	}

	occ_stats_current_relid = InvalidOid;
	occ_stats_current_counts = no_counts;
	if (!pending_any)
		return;
	pending_any = false;
	publish_counts();
}


/* ----------------------------------------------------------------
 * SQL functions
 * ----------------------------------------------------------------
 */

/*
 * occ.table_stats_counters() -- the shared counters of this database's
 * tables, one row per table that has some: (table_name regclass,
 * stats_since timestamptz, and a bigint per counter, in the order of
 * OccStatsCounter).  The view occ.table_stats joins them to occ.tables.
 */
Datum
occ_table_stats_counters(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TupleDesc	tupdesc;
	Tuplestorestate *tupstore;
	MemoryContext oldcxt;
	OccStatsSlot *copy;
	uint64	   *copy_counts;
	int			ncopied = 0;
	int			i;
	int			c;

	require_shared();

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (tupdesc->natts != 2 + OCC_STATS_COUNTERS)
		elog(ERROR, "return type must have %d columns", 2 + OCC_STATS_COUNTERS);

	oldcxt = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	tupdesc = CreateTupleDescCopy(tupdesc);
	tupstore = tuplestore_begin_heap(true, false, work_mem);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = tupstore;
	rsinfo->setDesc = tupdesc;
	MemoryContextSwitchTo(oldcxt);

	/* copy under the lock, form the rows after it */
	copy = palloc(sizeof(OccStatsSlot) * OCC_STATS_MAX_TABLES);
	copy_counts = palloc(sizeof(uint64) * OCC_STATS_COUNTERS * OCC_STATS_MAX_TABLES);
	LWLockAcquire(stats_lock, LW_SHARED);
	for (i = 0; i < OCC_STATS_SLOTS; i++)
	{
		OccStatsSlot *slot = &stats->slots[i];

		if (slot->relid == InvalidOid || slot->dbid != MyDatabaseId)
			continue;
		copy[ncopied].relid = slot->relid;
		copy[ncopied].since = slot->since;
		for (c = 0; c < OCC_STATS_COUNTERS; c++)
			copy_counts[ncopied * OCC_STATS_COUNTERS + c] =
				pg_atomic_read_u64(&slot->counts[c]);
		ncopied++;
	}
	LWLockRelease(stats_lock);

	for (i = 0; i < ncopied; i++)
	{
		Datum		values[2 + OCC_STATS_COUNTERS];
		bool		nulls[2 + OCC_STATS_COUNTERS] = {0};

		values[0] = ObjectIdGetDatum(copy[i].relid);
		values[1] = TimestampTzGetDatum(copy[i].since);
		for (c = 0; c < OCC_STATS_COUNTERS; c++)
			values[2 + c] = Int64GetDatum((int64) copy_counts[i * OCC_STATS_COUNTERS + c]);
		tuplestore_putvalues(tupstore, tupdesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * occ.reset_table_stats(tbl regclass DEFAULT NULL) -- forget the counters
 * of one table of this database, or of all its tables (NULL), including
 * tables since dropped; they start again from the next write.  Who may
 * call it is decided by EXECUTE privilege (revoked from PUBLIC).
 */
Datum
occ_reset_table_stats(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_ARGISNULL(0) ? InvalidOid : PG_GETARG_OID(0);
	OccStatsSlot *kept;
	uint64	   *kept_counts;

	require_shared();

	kept = palloc(sizeof(OccStatsSlot) * OCC_STATS_MAX_TABLES);
	kept_counts = palloc(sizeof(uint64) * OCC_STATS_COUNTERS * OCC_STATS_MAX_TABLES);
	LWLockAcquire(stats_lock, LW_EXCLUSIVE);
	remove_slots(MyDatabaseId, relid, kept, kept_counts);
	LWLockRelease(stats_lock);
	pfree(kept);
	pfree(kept_counts);
	PG_RETURN_VOID();
}
