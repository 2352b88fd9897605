/*-------------------------------------------------------------------------
 *
 * ddl.h
 *	  The DDL guard, and other triggers that would set the version column.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OCC_DDL_H
#define OCC_DDL_H

#include "utils/relcache.h"
#include "utils/reltrigger.h"

/* Whether another trigger advances the version column too. */
typedef enum OccWriter
{
	OCC_WRITER_NO,
	OCC_WRITER_POSSIBLE,		/* its source appears to assign it */
	OCC_WRITER_CERTAIN			/* a C trigger given the column */
} OccWriter;

extern OccWriter occ_trigger_writes_column(Trigger *trigger, const char *column);
extern void occ_warn_possible_writer(Relation rel, Trigger *trigger,
									 const char *column);

#endif							/* OCC_DDL_H */
