/*-------------------------------------------------------------------------
 *
 * wrappers.h
 *	  occ.update and occ.delete, as the trigger sees them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OCC_WRAPPERS_H
#define OCC_WRAPPERS_H

#include "executor/spi.h"

/*
 * The statement an occ.update or occ.delete call is running, and the
 * version it states for it.  The wrapper pushes one while its statement
 * runs; the trigger checks the rows of that statement -- rows of the
 * wrapper's table or of a partition of it, written one trigger level below
 * the wrapper -- against if_match instead of occ.if_match or an assigned
 * version, wherever the wrapper was called from (see wrappers.c).
 */
typedef struct OccWrapperStatement
{
	Oid			relid;			/* the table the wrapper writes */
	int			trigger_depth;	/* occ_trigger_depth() when it ran */
	const char *if_match;		/* as occ.if_match reads it; "" for NULL */
	int64		appended_version;	/* occ.append: its last event's version */
	struct OccWrapperStatement *outer;	/* the enclosing wrapper statement */
} OccWrapperStatement;

extern OccWrapperStatement *occ_wrapper_statement;	/* innermost, or NULL */

/* wrappers.c, for occ.append (append.c) */
struct OccTableInfo;
extern void occ_check_trigger_fires(struct OccTableInfo *info);
extern int	occ_run_wrapper_statement(Oid relid, SPIPlanPtr plan, Datum *values,
									  const char *nulls, const char *if_match,
									  int64 *appended_version);

#endif							/* OCC_WRAPPERS_H */
