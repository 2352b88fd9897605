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
#include "fmgr.h"
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
	Oid			version_typid;	/* the index's type of the version column */
	FmgrInfo	equal;			/* the index's equality for the stream */
	FmgrInfo	version_at_least;	/* the index's >= for the version */
	FmgrInfo	hash;			/* the type's hash function, if it has one */
	bool		hashable;
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

/*
 * A stream the running statement appends to, and the last event of it that
 * the statement numbered: the trigger call that did, and how many times
 * the backend's appends had moved from one trigger call to another then.
 */
typedef struct OccStatementStream
{
	Datum		value;
	FmgrInfo   *numbered_by;
	uint64		numbered_at_switch;
	int64		numbered_version;
} OccStatementStream;

extern OccStatementStream *occ_stream_in_statement(const OccStreamTable *stream,
												   Datum value, uint32 hash,
												   bool *first, int *others);
extern void occ_stream_event_by(FmgrInfo *flinfo);
extern bool occ_stream_numbered_last(const OccStatementStream *entry,
									 FmgrInfo *flinfo);
extern void occ_stream_numbered(const OccStreamTable *stream, uint32 hash,
								OccStatementStream *entry, FmgrInfo *flinfo,
								int64 version);
extern int64 occ_stream_lock_and_read(const OccStreamTable *stream,
									  Relation rel, AttrNumber version_attnum,
									  Oid version_typid, Datum value,
									  uint32 hash, bool first);
extern char *occ_stream_text(const OccStreamTable *stream, Datum value);
extern void occ_refuse_event_change(Relation rel, bool is_delete);

#endif							/* OCC_STREAM_H */
