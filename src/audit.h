/*-------------------------------------------------------------------------
 *
 * audit.h
 *	  Audit levels: the writes a stricter mode would refuse, let through
 *	  and reported.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OCC_AUDIT_H
#define OCC_AUDIT_H

#include "protection.h"
#include "report.h"
#include "settings.h"

/*
 * Most reports of one statement that are sent to the client and logged in
 * full; the rest are counted, and logged in one summary line.
 */
#define OCC_AUDIT_REPORTS_PER_STATEMENT	10

/*
 * The mode in force for the row the trigger is checking, which the trigger
 * sets for every row before any check (a stricter audit level makes it
 * check the row as that mode instead).  Outside the trigger it is strict:
 * every refusal is raised.
 */
extern OccMode occ_row_mode;

extern OccMode occ_audit_row(const OccProtectedTable *table, OccMode audit);
extern void occ_audit_report(OccReport *report);

/*
 * Does the row's own mode refuse this?  A stale version is refused by
 * strict and lax, a version not stated by strict alone.
 */
static inline bool
occ_row_refuses(OccRefusal refusal)
{
	if (refusal == OCC_REFUSAL_STALE)
		return occ_row_mode != OCC_MODE_NONE;
	return occ_row_mode == OCC_MODE_STRICT;
}

#endif							/* OCC_AUDIT_H */
