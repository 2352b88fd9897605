/*-------------------------------------------------------------------------
 *
 * if_match.h
 *	  Reading an expected version as a client states it: occ.if_match, or
 *	  the if_match argument of occ.update and occ.delete.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OCC_IF_MATCH_H
#define OCC_IF_MATCH_H

#include "nodes/pg_list.h"

/*
 * Where a write stated the version it expects, for the reports: in the
 * UPDATE's SET list, in the version column of an appended event, through
 * the setting occ.if_match, through the if_match argument of occ.update
 * or occ.delete, or through the expected argument of occ.append.
 */
typedef enum OccStatedBy
{
	OCC_STATED_IN_UPDATE,
	OCC_STATED_IN_INSERT,
	OCC_STATED_BY_SETTING,
	OCC_STATED_BY_ARGUMENT,
	OCC_STATED_BY_EXPECTED
} OccStatedBy;

/*
 * An if_match as parsed.  A plain value is one entry; an entity-tag list
 * keeps its strong tags' contents in "values" and only counts weak ones,
 * which never match.
 */
typedef enum OccIfMatchForm
{
	OCC_IF_MATCH_UNSET,			/* empty: the write states nothing */
	OCC_IF_MATCH_ANY,			/* "*": any existing row */
	OCC_IF_MATCH_VALUES			/* one plain value or a list of tags */
} OccIfMatchForm;

typedef struct OccIfMatch
{
	OccIfMatchForm form;
	List	   *values;			/* char * of each strong tag or plain value */
} OccIfMatch;

extern void occ_parse_if_match(const char *text, OccStatedBy source,
							   OccIfMatch *result);

#endif							/* OCC_IF_MATCH_H */
