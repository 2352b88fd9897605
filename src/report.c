/*-------------------------------------------------------------------------
 *
 * report.c
 *	  The errors occ raises when a write is refused.
 *
 * A stale write is reported the way PostgreSQL reports a unique violation:
 * the message names the relation, the DETAIL shows the row's key only if
 * the current user may see those columns (BuildIndexValueDescription makes
 * that decision, honouring column privileges and row-level security), and
 * the schema, table and column fields are set so that clients can react
 * without parsing text.  For a partition the relation is the partition,
 * as in core's own reports.  The versions are values of a column too: they
 * are shown only to a user who may read that column, by the same rules.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/rls.h"

#include "occ.h"

/*
 * Describe the row's primary key (or replica identity key) as
 * "(id)=(1)", or return NULL if the table has neither or the current user
 * may not see all of its columns.
 */
static char *
describe_row_key(Relation rel, HeapTuple tuple)
{
	Oid			indexoid;
	Relation	index;
	Datum		values[INDEX_MAX_KEYS];
	bool		isnull[INDEX_MAX_KEYS];
	char	   *result;
	int			i;

#if PG_VERSION_NUM >= 180000
	indexoid = RelationGetPrimaryKeyIndex(rel, false);
#else
	indexoid = RelationGetPrimaryKeyIndex(rel);
#endif
	if (!OidIsValid(indexoid))
		indexoid = RelationGetReplicaIndex(rel);
	if (!OidIsValid(indexoid))
		return NULL;

	index = index_open(indexoid, AccessShareLock);
	for (i = 0; i < index->rd_index->indnkeyatts; i++)
	{
		AttrNumber	attnum = index->rd_index->indkey.values[i];

		if (attnum <= 0)		/* an expression: not a plain key */
		{
			index_close(index, AccessShareLock);
			return NULL;
		}
		values[i] = heap_getattr(tuple, attnum, RelationGetDescr(rel), &isnull[i]);
	}
	result = BuildIndexValueDescription(index, values, isnull);
	index_close(index, AccessShareLock);

	return result;
}

/*
 * May the current user see the values of this column of any row?  The
 * rules of ExecBuildSlotValueDescription and BuildIndexValueDescription:
 * not if row-level security applies to the user, else if the user may
 * SELECT the table or the column.
 */
static bool
user_may_see_column(Relation rel, AttrNumber attnum)
{
	Oid			relid = RelationGetRelid(rel);

	if (check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
		return false;
	return pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) == ACLCHECK_OK ||
		pg_attribute_aclcheck(relid, attnum, GetUserId(), ACL_SELECT) == ACLCHECK_OK;
}

/*
 * The DETAIL of a stale write.  The key and the versions are each shown
 * only to a user who may read them.
 */
static int
stale_detail(const char *key, bool show_versions, OccStatedBy stated_by,
			 const char *current, const char *expected)
{
	if (!show_versions)
	{
		if (key != NULL)
			return errdetail("Key %s does not have the version the write stated.", key);
		return errdetail("The row does not have the version the write stated.");
	}
	switch (stated_by)
	{
		case OCC_STATED_BY_SETTING:
			if (key != NULL)
				return errdetail("Key %s has version %s, but occ.if_match is %s.",
								 key, current, quote_literal_cstr(expected));
			return errdetail("The row has version %s, but occ.if_match is %s.",
							 current, quote_literal_cstr(expected));
		case OCC_STATED_BY_ARGUMENT:
			if (key != NULL)
				return errdetail("Key %s has version %s, but argument \"if_match\" is %s.",
								 key, current, quote_literal_cstr(expected));
			return errdetail("The row has version %s, but argument \"if_match\" is %s.",
							 current, quote_literal_cstr(expected));
		case OCC_STATED_IN_UPDATE:
			break;
	}
	if (key != NULL)
		return errdetail("Key %s has version %s, but the update stated version %s.",
						 key, current, expected);
	return errdetail("The row has version %s, but the update stated version %s.",
					 current, expected);
}

/*
 * Raise 40V01: the version stated for a write is not the row's current one.
 * "current" and "expected" are printed versions; "expected" is the value
 * assigned in the UPDATE, or the raw occ.if_match or if_match argument if
 * it came from there.
 */
void
occ_report_stale(Relation rel, HeapTuple oldtuple, AttrNumber version_attnum,
				 bool is_delete, OccStatedBy stated_by,
				 const char *current, const char *expected)
{
	char	   *key = describe_row_key(rel, oldtuple);
	bool		show_versions = user_may_see_column(rel, version_attnum);

	ereport(ERROR,
			(errcode(occ_error_style == OCC_ERROR_STYLE_HTTP ?
					 ERRCODE_OCC_HTTP_PRECONDITION_FAILED :
					 ERRCODE_OCC_STALE_VERSION),
			 is_delete ?
			 errmsg("version conflict on delete from relation \"%s\"",
					RelationGetRelationName(rel)) :
			 errmsg("version conflict on update of relation \"%s\"",
					RelationGetRelationName(rel)),
			 stale_detail(key, show_versions, stated_by, current, expected),
			 errhint("Read the row again and retry the write with its current version."),
			 errtablecol(rel, version_attnum)));
	pg_unreachable();
}

/*
 * Raise 23V01: a write to a strict table stated no version.  by_trigger
 * says that a statement run by a trigger wrote the row: occ.if_match is
 * not applied to such rows (see row_writer() in trigger.c), so the hint
 * names what such a statement can do instead.
 */
void
occ_report_missing(Relation rel, AttrNumber version_attnum, bool is_delete,
				   bool by_trigger)
{
	const char *relname = RelationGetRelationName(rel);
	const char *column = NameStr(TupleDescAttr(RelationGetDescr(rel),
											   version_attnum - 1)->attname);

	ereport(ERROR,
			(errcode(occ_error_style == OCC_ERROR_STYLE_HTTP ?
					 ERRCODE_OCC_HTTP_PRECONDITION_REQUIRED :
					 ERRCODE_OCC_VERSION_REQUIRED),
			 is_delete ?
			 errmsg("delete from relation \"%s\" does not state the version it expects",
					relname) :
			 errmsg("update of relation \"%s\" does not state the version it expects",
					relname),
			 by_trigger ?
			 errdetail("Relation \"%s\" is in strict mode, and a statement run by a trigger wrote the row; occ.if_match applies only to the rows of the statement the client sent.",
					   relname) :
			 errdetail("Relation \"%s\" is in strict mode: every write must state the version of the row it read.",
					   relname),
			 by_trigger ?
			 (is_delete ?
			  errhint("Delete the row through occ.delete() with the version it has, or with * to delete whatever the version.") :
			  errhint("Assign the version to column \"%s\" in the trigger's UPDATE, or update the row through occ.update().",
					  column)) :
			 (is_delete ?
			  errhint("Set occ.if_match to the version you read, or to * to delete whatever the version.") :
			  errhint("Assign the version you read to column \"%s\" in the UPDATE, or set occ.if_match.",
					  column)),
			 errtablecol(rel, version_attnum)));
	pg_unreachable();
}

/*
 * Raise 22P02: occ.if_match, or a wrapper's if_match argument, cannot be
 * read.
 */
void
occ_report_bad_if_match(const char *text, OccStatedBy source, const char *detail)
{
	if (source == OCC_STATED_BY_ARGUMENT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid value for argument \"%s\": \"%s\"",
						"if_match", text),
				 errdetail_internal("%s", detail)));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid value for parameter \"%s\": \"%s\"",
					"occ.if_match", text),
			 errdetail_internal("%s", detail)));
	pg_unreachable();
}
