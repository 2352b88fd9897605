/*-------------------------------------------------------------------------
 *
 * wrappers.h
 *	  occ.update and occ.delete, as the trigger sees them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OCC_WRAPPERS_H
#define OCC_WRAPPERS_H

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
	struct OccWrapperStatement *outer;	/* the enclosing wrapper statement */
} OccWrapperStatement;

extern OccWrapperStatement *occ_wrapper_statement;	/* innermost, or NULL */

#endif							/* OCC_WRAPPERS_H */
