/*-------------------------------------------------------------------------
 *
 * where_clause.h
 *	  Does the statement that fired the trigger state the version in its
 *	  WHERE clause?  Does it insert every row as the trigger returns it?
 *
 *-------------------------------------------------------------------------
 */
#ifndef OCC_WHERE_CLAUSE_H
#define OCC_WHERE_CLAUSE_H

#include "fmgr.h"
#include "utils/relcache.h"

typedef enum OccWhereClause
{
	/*
	 * The WHERE clause requires the version column to equal a value that
	 * does not come from the table: every row the statement writes has the
	 * version it states.
	 */
	OCC_WHERE_STATES,

	/* occ cannot show that it does */
	OCC_WHERE_SILENT,

	/*
	 * The statement began before occ was loaded in this session, and is not
	 * one the client sent: its plan was not seen.  Counts as SILENT; the
	 * only difference is the hint given when a strict table refuses it.
	 */
	OCC_WHERE_UNSEEN
} OccWhereClause;

extern void occ_where_clause_init(void);
extern OccWhereClause occ_where_clause(FunctionCallInfo fcinfo, Relation rel,
									   AttrNumber attnum);
extern bool occ_rows_inserted_as_returned(FunctionCallInfo fcinfo);

#endif							/* OCC_WHERE_CLAUSE_H */
