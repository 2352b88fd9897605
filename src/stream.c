/*-------------------------------------------------------------------------
 *
 * stream.c
 *	  Stream tables (kind stream): the lock that serializes appends to one
 *	  stream, and the stream's current version.
 *
 * A stream table holds events, each row one event of one stream (the
 * stream column) with its version (the version column): a stream's events
 * carry versions 1, 2, 3, ... and its version is the number of its events.
 * occ's trigger assigns each INSERTed event the next version of its
 * stream, after checking the version the writer expected (trigger.c).
 *
 * Why no event is lost or numbered twice.  The first append of a
 * transaction to a stream takes a lock on that stream, held to the end of
 * the transaction, before it reads the stream's version: every append to
 * the stream that came before has then committed or rolled back, so the
 * version read is the newest.  It is read with SnapshotSelf, which sees
 * every committed row and every row of this transaction, those of the
 * running statement included (a statement appending several events, or
 * two parts of one writable WITH query).  Under REPEATABLE READ and
 * SERIALIZABLE the transaction's snapshot may not show the newest event:
 * an append whose snapshot is behind fails with a serialization failure
 * (40001) rather than number an event twice or check against a version
 * the writer never saw.
 *
 * The lock is an advisory lock of the table's database, in a lock space of
 * occ's own (pg_locks shows it with classid = the table's OID, objid = the
 * hash of the stream, objsubid = 20291), so that appends to other streams
 * never wait: only streams whose values hash alike share one.  A stream
 * column whose type has no hash function serializes every append to the
 * table.
 *
 * The version is read from the unique index on (stream, version) that
 * occ.enable requires, the last entry of the stream's range, for every
 * event: the event before it in the same statement may not have been
 * inserted (INSERT ... ON CONFLICT DO NOTHING skips a row after its
 * BEFORE triggers ran), and counting on from it would leave a gap.  The
 * read starts from the version this backend last read of the stream, so
 * that it costs a few index entries, not the whole stream.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/nbtree.h"
#include "access/relation.h"
#include "access/stratnum.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_am_d.h"
#include "catalog/partition.h"
#include "catalog/pg_index.h"
#include "catalog/pg_partitioned_table.h"
#include "common/hashfn.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "kind.h"
#include "stream.h"

/* occ's lock space among advisory locks (pg_locks.objsubid): "OC" */
#define OCC_STREAM_LOCK_SPACE	20291

/*
 * The unique index of rel on exactly (stream, version), in that order: a
 * btree, valid, immediately enforced, without expressions or predicate,
 * its version column in ascending order (a stream's version is read as the
 * last entry of its range).  InvalidOid if there is none.
 */
Oid
occ_stream_index(Relation rel, AttrNumber stream_attnum,
				 AttrNumber version_attnum)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	Oid			found = InvalidOid;

	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);
		Form_pg_index form = index->rd_index;

		if (form->indisunique && form->indimmediate && form->indisvalid &&
			form->indnkeyatts == 2 &&
			form->indkey.values[0] == stream_attnum &&
			form->indkey.values[1] == version_attnum &&
			(index->rd_indoption[1] & INDOPTION_DESC) == 0 &&
			index->rd_rel->relam == BTREE_AM_OID &&
			RelationGetIndexExpressions(index) == NIL &&
			RelationGetIndexPredicate(index) == NIL)
			found = RelationGetRelid(index);
		index_close(index, AccessShareLock);
		if (OidIsValid(found))
			break;
	}
	list_free(indexes);
	return found;
}

/*
 * Is the partitioned table relid partitioned by the column named
 * stream_column alone, so that each stream's events are in one of its
 * partitions?  Read from the catalog, without a lock: the trigger asks it
 * of the ancestors of the partition it fires on.
 */
bool
occ_stream_partitioned_by_stream(Oid relid, const char *stream_column)
{
	HeapTuple	tuple = SearchSysCache1(PARTRELID, ObjectIdGetDatum(relid));
	Form_pg_partitioned_table form;
	bool		result;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for partition key of relation %u", relid);
	form = (Form_pg_partitioned_table) GETSTRUCT(tuple);
	result = form->partnatts == 1 && form->partattrs.values[0] != 0 &&
		form->partattrs.values[0] == get_attnum(relid, stream_column);
	ReleaseSysCache(tuple);
	return result;
}

/*
 * What the trigger needs to append to the streams of rel, allocated in
 * cxt; origin_relid is the table that was enabled (rel, or the partitioned
 * table rel is a partition of), whose OID names the stream locks.
 */
OccStreamTable *
occ_stream_table(Relation rel, Oid origin_relid, const char *stream_column,
				 AttrNumber version_attnum, MemoryContext cxt)
{
	OccStreamTable *stream;
	AttrNumber	attnum = get_attnum(RelationGetRelid(rel), stream_column);
	Form_pg_attribute attr;
	Relation	index;
	Oid			opno;
	TypeCacheEntry *typentry;

	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("stream column \"%s\" of relation \"%s\" does not exist",
						stream_column, RelationGetRelationName(rel)),
				 errhint("Call occ.disable() and occ.enable() for the relation again.")));

	/*
	 * A stream's version is read in the partition the trigger fires on: so
	 * every partitioned table from the enabled one down must be partitioned
	 * by the stream alone (a partition attached later may not be).
	 */
	if (rel->rd_rel->relispartition)
	{
		ListCell   *lc;

		foreach(lc, get_partition_ancestors(RelationGetRelid(rel)))
		{
			if (!occ_stream_partitioned_by_stream(lfirst_oid(lc), stream_column))
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("partitioned relation \"%s\" is not partitioned by its stream column alone",
								get_rel_name(lfirst_oid(lc))),
						 errdetail("Every event of a stream of relation \"%s\" must be in one partition, where its version is read.",
								   get_rel_name(origin_relid))));
			if (lfirst_oid(lc) == origin_relid)
				break;
		}
	}

	stream = MemoryContextAllocZero(cxt, sizeof(OccStreamTable));
	stream->stream_attnum = attnum;
	attr = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
	stream->stream_typid = attr->atttypid;
	stream->stream_typlen = attr->attlen;
	stream->stream_typbyval = attr->attbyval;
	stream->lock_relid = origin_relid;

	stream->index_oid = occ_stream_index(rel, attnum, version_attnum);
	if (!OidIsValid(stream->index_oid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("relation \"%s\" has no unique index on its stream and version columns",
						RelationGetRelationName(rel)),
				 errdetail("occ reads a stream's version from that index."),
				 errhint("Create one: CREATE UNIQUE INDEX ON %s (%s, %s).",
						 quote_identifier(RelationGetRelationName(rel)),
						 quote_identifier(stream_column),
						 quote_identifier(get_attname(RelationGetRelid(rel),
													  version_attnum, false)))));

	/*
	 * The operators the index itself uses: equality of the stream, under
	 * the index's collation, and "at least" of the version, which bounds the
	 * read of a stream's last entry (version_seen).
	 */
	index = index_open(stream->index_oid, AccessShareLock);
	opno = get_opfamily_member(index->rd_opfamily[0], index->rd_opcintype[0],
							   index->rd_opcintype[0], BTEqualStrategyNumber);
	if (!OidIsValid(opno))
		elog(ERROR, "missing equality operator for the stream column of index %u",
			 stream->index_oid);
	fmgr_info_cxt(get_opcode(opno), &stream->equal, cxt);
	stream->stream_collation = index->rd_indcollation[0];
	stream->version_typid = index->rd_opcintype[1];
	opno = get_opfamily_member(index->rd_opfamily[1], index->rd_opcintype[1],
							   index->rd_opcintype[1],
							   BTGreaterEqualStrategyNumber);
	if (!OidIsValid(opno))
		elog(ERROR, "missing greater-or-equal operator for the version column of index %u",
			 stream->index_oid);
	fmgr_info_cxt(get_opcode(opno), &stream->version_at_least, cxt);
	index_close(index, AccessShareLock);

	typentry = lookup_type_cache(stream->stream_typid, TYPECACHE_HASH_PROC);
	stream->hashable = OidIsValid(typentry->hash_proc);
	if (stream->hashable)
		fmgr_info_cxt(typentry->hash_proc, &stream->hash, cxt);
	return stream;
}

/*
 * The hash of a stream, which names its lock and finds it among the
 * statement's streams: the type's hash function, under the index's
 * collation, so that streams equal under it hash alike; 0 for a type
 * without one.
 */
uint32
occ_stream_hash(const OccStreamTable *stream, Datum value)
{
	if (!stream->hashable)
		return 0;
	return DatumGetUInt32(FunctionCall1Coll(unconstify(FmgrInfo *, &stream->hash),
											stream->stream_collation, value));
}

/*
 * Take the lock of the stream, held to the end of the transaction.  Taken
 * for every event, not only a statement's first: a lock this transaction
 * holds already is found in the backend's own lock table, and one taken
 * in a subtransaction that rolled back is taken again.
 */
static void
lock_stream(const OccStreamTable *stream, uint32 hash)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, stream->lock_relid, hash,
						 OCC_STREAM_LOCK_SPACE);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

/* ----------------------------------------------------------------
 * The streams of the running statement
 * ----------------------------------------------------------------
 */

/*
 * The streams the running statement has appended to, by table: a
 * statement checks the version expected of a stream at its first event,
 * and occ.if_match may state the version of one stream only.  Every
 * partition, and every part of a WITH query, fires occ's trigger through a
 * call of its own, so the statement is known by its transaction and the
 * command id of its snapshot instead: all rows of one statement are
 * written under one snapshot, and the next statement takes another, with
 * a later command id.  (The transaction's current command id would not
 * do: reading occ.if_match before PostgreSQL 16 runs a subtransaction,
 * which moves it on in the middle of the statement.)
 */
typedef struct StatementStreamsKey
{
	Oid			lock_relid;
	uint32		hash;
} StatementStreamsKey;

typedef struct StatementStreams
{
	StatementStreamsKey key;
	List	   *streams;		/* of OccStatementStream, with this hash */
} StatementStreams;

/* How many streams of one table the running statement appends to */
typedef struct StatementTable
{
	Oid			lock_relid;
	int			streams;
} StatementTable;

static MemoryContext statement_streams_context = NULL;
static HTAB *statement_streams = NULL;
static List *statement_tables = NIL;	/* of StatementTable; rarely long */
static LocalTransactionId statement_lxid = InvalidLocalTransactionId;
static CommandId statement_cid = InvalidCommandId;

/*
 * The running statement's entry for the stream.  *first is set if the
 * statement had not appended to it yet, and then *others to the number of
 * other streams of the same table it appends to.
 */
OccStatementStream *
occ_stream_in_statement(const OccStreamTable *stream, Datum value,
						uint32 hash, bool *first, int *others)
{
#if PG_VERSION_NUM >= 170000
	LocalTransactionId lxid = MyProc->vxid.lxid;
#else
	LocalTransactionId lxid = MyProc->lxid;
#endif
	CommandId	cid = GetActiveSnapshot()->curcid;
	StatementStreamsKey key;
	StatementStreams *entry;
	StatementTable *table = NULL;
	OccStatementStream *found_stream;
	MemoryContext oldcxt;
	bool		found;
	ListCell   *lc;

	if (statement_streams_context == NULL)
		statement_streams_context = AllocSetContextCreate(TopMemoryContext,
														  "occ statement streams",
														  ALLOCSET_SMALL_SIZES);
	if (statement_streams == NULL || lxid != statement_lxid || cid != statement_cid)
	{
		HASHCTL		ctl;

		MemoryContextReset(statement_streams_context);
		ctl.keysize = sizeof(StatementStreamsKey);
		ctl.entrysize = sizeof(StatementStreams);
		ctl.hcxt = statement_streams_context;
		statement_streams = hash_create("occ statement streams", 16, &ctl,
										HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		statement_tables = NIL;
		statement_lxid = lxid;
		statement_cid = cid;
	}

	memset(&key, 0, sizeof(key));
	key.lock_relid = stream->lock_relid;
	key.hash = hash;
	entry = hash_search(statement_streams, &key, HASH_ENTER, &found);
	if (!found)
		entry->streams = NIL;
	foreach(lc, entry->streams)
	{
		found_stream = lfirst(lc);
		if (DatumGetBool(FunctionCall2Coll(unconstify(FmgrInfo *, &stream->equal),
										   stream->stream_collation,
										   found_stream->value, value)))
		{
			*first = false;
			return found_stream;
		}
	}

	oldcxt = MemoryContextSwitchTo(statement_streams_context);
	foreach(lc, statement_tables)
		if (((StatementTable *) lfirst(lc))->lock_relid == stream->lock_relid)
			table = lfirst(lc);
	if (table == NULL)
	{
		table = palloc0(sizeof(StatementTable));
		table->lock_relid = stream->lock_relid;
		statement_tables = lappend(statement_tables, table);
	}
	*others = table->streams++;
	found_stream = palloc0(sizeof(OccStatementStream));
	found_stream->value = datumCopy(value, stream->stream_typbyval,
									stream->stream_typlen);
	entry->streams = lappend(entry->streams, found_stream);
	MemoryContextSwitchTo(oldcxt);
	*first = true;
	return found_stream;
}

/*
 * Counting on without reading.  The events of one stream that a statement
 * appends one after the other, through one trigger call, each follow the
 * one before: a stream's version is read for every event only because the
 * one before may not have been inserted, or not as numbered, or another
 * statement run in between (by a function the row calls) may have
 * appended to the stream.  The trigger knows when the statement inserts
 * every row as the trigger returns it (occ_rows_inserted_as_returned);
 * and every event of a stream table goes through occ's trigger, which
 * counts here the times the backend's events move from one trigger call
 * to another.  An event whose stream's last event was numbered through the
 * same call, with no switch since, follows that event.
 */
static FmgrInfo *last_event_by = NULL;
static uint64 event_switches = 0;

/* Note that the trigger, called through flinfo, sees an event. */
void
occ_stream_event_by(FmgrInfo *flinfo)
{
	if (flinfo != last_event_by)
	{
		last_event_by = flinfo;
		event_switches++;
	}
}

/*
 * Did the call through flinfo number the stream's last event, with no
 * other call seeing an event since?
 */
bool
occ_stream_numbered_last(const OccStatementStream *entry, FmgrInfo *flinfo)
{
	return entry->numbered_by == flinfo &&
		entry->numbered_at_switch == event_switches;
}

/* ----------------------------------------------------------------
 * A stream's version
 * ----------------------------------------------------------------
 */

/*
 * The last version this backend read of recently appended streams, by
 * index and stream hash, in a small direct-mapped table: a hint that
 * bounds the read of a stream's last index entry to the entries from it
 * on.  Unbounded, that read costs as much as the stream is long: a btree
 * scan reads every entry of the leaf page that matches its keys before it
 * returns the first, and with only the stream given that is every event
 * of the stream on the page.  A wrong hint costs time, never a wrong
 * answer: one too low reads a few entries more, one too high (its events
 * rolled back or deleted, or another stream's in the same slot) finds
 * nothing, and the read is done again without it.
 */
#define VERSION_HINTS 256

typedef struct VersionHint
{
	Oid			index_oid;
	uint32		hash;
	int64		version;
} VersionHint;

static VersionHint version_hints[VERSION_HINTS];

static VersionHint *
version_hint(const OccStreamTable *stream, uint32 hash)
{
	return &version_hints[hash_combine(hash, stream->index_oid) % VERSION_HINTS];
}

/*
 * The stream's highest version that the snapshot sees and that is at least
 * at_least (when positive): false if there is none.
 */
static bool
read_last_version(const OccStreamTable *stream, Relation rel, Relation index,
				  TupleTableSlot *slot, AttrNumber version_attnum,
				  Oid version_typid, Datum value, Snapshot snapshot,
				  int64 at_least, int64 *version)
{
	ScanKeyData keys[2];
	int			nkeys = 1;
	IndexScanDesc scan;
	bool		found;

	ScanKeyEntryInitializeWithInfo(&keys[0], 0, 1, BTEqualStrategyNumber,
								   InvalidOid, stream->stream_collation,
								   unconstify(FmgrInfo *, &stream->equal),
								   value);
	if (at_least > 0)
		ScanKeyEntryInitializeWithInfo(&keys[nkeys++], 0, 2,
									   BTGreaterEqualStrategyNumber,
									   InvalidOid, InvalidOid,
									   unconstify(FmgrInfo *, &stream->version_at_least),
									   occ_counter_to_datum(at_least,
															stream->version_typid));
#if PG_VERSION_NUM >= 180000
	scan = index_beginscan(rel, index, snapshot, NULL, nkeys, 0);
#else
	scan = index_beginscan(rel, index, snapshot, nkeys, 0);
#endif
	index_rescan(scan, keys, nkeys, NULL, 0);
	found = index_getnext_slot(scan, BackwardScanDirection, slot);
	if (found)
	{
		bool		isnull;
		Datum		datum = slot_getattr(slot, version_attnum, &isnull);

		*version = isnull ? 0 : occ_counter_from_datum(datum, version_typid);
	}
	index_endscan(scan);
	ExecClearTuple(slot);
	return found;
}

/*
 * The stream's highest version that the snapshot sees; 0 if none.  Read
 * from the entries from at_least on first, if it is positive.
 */
static int64
version_seen(const OccStreamTable *stream, Relation rel,
			 AttrNumber version_attnum, Oid version_typid, Datum value,
			 Snapshot snapshot, int64 at_least)
{
	Relation	index = index_open(stream->index_oid, AccessShareLock);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	int64		version = 0;

	if (at_least <= 0 ||
		!read_last_version(stream, rel, index, slot, version_attnum,
						   version_typid, value, snapshot, at_least, &version))
		(void) read_last_version(stream, rel, index, slot, version_attnum,
								 version_typid, value, snapshot, 0, &version);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);
	return version;
}

/*
 * Lock the stream, then return its newest version: that of every
 * committed event and of every event of this transaction, the running
 * statement's included.  "first" says that this is the statement's first
 * event of the stream: then, under REPEATABLE READ and SERIALIZABLE, fail
 * with 40001 if the transaction's snapshot does not show the newest
 * committed version.
 */
int64
occ_stream_lock_and_read(const OccStreamTable *stream, Relation rel,
						 AttrNumber version_attnum, Oid version_typid,
						 Datum value, uint32 hash, bool first)
{
	VersionHint *hint = version_hint(stream, hash);
	int64		at_least = 0;
	int64		version;

	if (hint->index_oid == stream->index_oid && hint->hash == hash)
		at_least = hint->version;

	lock_stream(stream, hash);
	version = version_seen(stream, rel, version_attnum, version_typid, value,
						   SnapshotSelf, at_least);
	hint->index_oid = stream->index_oid;
	hint->hash = hash;
	hint->version = version;

	if (first && IsolationUsesXactSnapshot())
	{
		Snapshot	latest = RegisterSnapshot(GetLatestSnapshot());
		int64		committed = version_seen(stream, rel, version_attnum,
											 version_typid, value, latest,
											 version);
		int64		seen = version_seen(stream, rel, version_attnum,
										version_typid, value,
										GetActiveSnapshot(), version);

		UnregisterSnapshot(latest);
		if (committed != seen)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to a concurrent append to a stream of relation \"%s\"",
							RelationGetRelationName(rel)),
					 errdetail("Stream %s has events that this transaction's snapshot does not show.",
							   occ_stream_text(stream, value)),
					 errhint("The transaction might succeed if retried.")));
	}
	return version;
}

/*
 * The call through flinfo gave the stream's next event this version: it
 * is the stream's last, and the next read starts from it.
 */
void
occ_stream_numbered(const OccStreamTable *stream, uint32 hash,
					OccStatementStream *entry, FmgrInfo *flinfo, int64 version)
{
	VersionHint *hint = version_hint(stream, hash);

	entry->numbered_by = flinfo;
	entry->numbered_at_switch = event_switches;
	entry->numbered_version = version;
	hint->index_oid = stream->index_oid;
	hint->hash = hash;
	hint->version = version;
}

/* A stream, as its type's output function prints it, for messages. */
char *
occ_stream_text(const OccStreamTable *stream, Datum value)
{
	Oid			typoutput;
	bool		typisvarlena;

	getTypeOutputInfo(stream->stream_typid, &typoutput, &typisvarlena);
	return quote_literal_cstr(OidOutputFunctionCall(typoutput, value));
}

/* Refuse an UPDATE or DELETE of an event. */
void
occ_refuse_event_change(Relation rel, bool is_delete)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 is_delete ?
			 errmsg("cannot delete events of relation \"%s\"",
					RelationGetRelationName(rel)) :
			 errmsg("cannot update events of relation \"%s\"",
					RelationGetRelationName(rel)),
			 errdetail("Relation \"%s\" is a stream table: its events are appended, never changed.",
					   RelationGetRelationName(rel)),
			 errhint("To archive or remove events, call occ.set_mode() with mode none in the same transaction first, or TRUNCATE."),
			 errtable(rel)));
}
