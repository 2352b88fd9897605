/*-------------------------------------------------------------------------
 *
 * content_hash.h
 *	  The version of a row of a hash-kind table: a 128-bit hash of the
 *	  canonical byte image of its columns.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OCC_CONTENT_HASH_H
#define OCC_CONTENT_HASH_H

#include "access/htup.h"
#include "executor/tuptable.h"
#include "utils/relcache.h"

#include "kind.h"

/*
 * What to hash in the rows of one relation, and in which order: built once
 * per relation and kept with protection.c's entry for it.
 */
typedef struct OccContentPlan OccContentPlan;

extern OccContentPlan *occ_content_plan(Relation rel, Oid origin_relid,
										int nexclude, char *const *exclude,
										MemoryContext cxt);
extern OccVersion occ_content_version(const OccContentPlan *plan,
									  TupleTableSlot *slot);
extern OccVersion occ_content_version_of_row(const OccContentPlan *plan,
											 HeapTupleHeader row);

#endif							/* OCC_CONTENT_HASH_H */
