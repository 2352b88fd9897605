/*-------------------------------------------------------------------------
 *
 * stream.h
 *	  Stream tables (kind stream): where a stream's events are, the lock
 *	  that serializes appends to one stream, and its current version.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OCC_STREAM_H
#define OCC_STREAM_H

#include "access/attnum.h"
#include "utils/relcache.h"
#include "utils/reltrigger.h"

/* What the trigger needs to append to the streams of one relation. */
typedef struct OccStreamTable
{
	AttrNumber	stream_attnum;
	Oid			stream_typid;
	int16		stream_typlen;
	bool		stream_typbyval;
	Oid			stream_collation;
	Oid			index_oid;		/* unique index on (stream, version) */
	Oid			equal_proc;		/* the index's equality for the stream */
	Oid			hash_proc;		/* the type's hash function, or InvalidOid */
	Oid			lock_relid;		/* the enabled table: names the locks */
} OccStreamTable;

extern OccStreamTable *occ_stream_table(Relation rel, Oid origin_relid,
										const char *stream_column,
										AttrNumber version_attnum,
										MemoryContext cxt);
extern bool occ_stream_partitioned_by_stream(Oid relid, const char *stream_column);
extern Oid	occ_stream_index(Relation rel, AttrNumber stream_attnum,
							 AttrNumber version_attnum);
extern uint32 occ_stream_hash(const OccStreamTable *stream, Datum value);
extern bool occ_stream_first_in_statement(const OccStreamTable *stream,
										  Datum value, uint32 hash, int *others);
extern int64 occ_stream_lock_and_read(const OccStreamTable *stream,
									  Relation rel, AttrNumber version_attnum,
									  Oid version_typid, Datum value,
									  uint32 hash, bool first);
extern char *occ_stream_text(const OccStreamTable *stream, Datum value);
extern void occ_refuse_event_change(Relation rel, bool is_delete);

#endif							/* OCC_STREAM_H */
