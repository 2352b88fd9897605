/*-------------------------------------------------------------------------
 *
 * report.c
 *	  The reports of refused writes, and the errors occ raises.
 *
 * A report is built first (occ_build_*_report) and then emitted: raised as
 * the error that refuses a write, or, for a write that a laxer mode lets
 * through, emitted at a lower level with the same message, DETAIL, HINT
 * and fields.  A write is let through when the trigger checks it at an
 * audit level stricter than its table's mode (occ_row_refuses): then the
 * report goes to audit.c, and its DETAIL or HINT says that the write went
 * ahead, and why.
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

#include "audit.h"
#include "citus.h"
#include "errcodes.h"
#include "report.h"
#include "settings.h"

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
 * SELECT the table or the column.  A content hash (attnum is
 * InvalidAttrNumber) is computed from many columns: it is shown to a user
 * who may SELECT the whole table.
 */
static bool
user_may_see_column(Relation rel, AttrNumber attnum)
{
	Oid			relid = RelationGetRelid(rel);

	if (check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
		return false;
	return pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) == ACLCHECK_OK ||
		(attnum != InvalidAttrNumber &&
		 pg_attribute_aclcheck(relid, attnum, GetUserId(), ACL_SELECT) == ACLCHECK_OK);
}

/*
 * The error fields of a report: the version column's, or for a content
 * hash the table's alone.
 */
static int
report_fields(const OccReport *report)
{
	if (report->version_attnum == InvalidAttrNumber)
		return errtable(report->rel);
	return errtablecol(report->rel, report->version_attnum);
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
		case OCC_STATED_IN_INSERT:
		case OCC_STATED_BY_EXPECTED:
			break;
	}
	if (key != NULL)
		return errdetail("Key %s has version %s, but the update stated version %s.",
						 key, current, expected);
	return errdetail("The row has version %s, but the update stated version %s.",
					 current, expected);
}

/*
 * The DETAIL of a stale append: the stream and the versions, each shown
 * only to a user who may read them.
 */
static int
stream_stale_detail(const OccReport *report)
{
	const char *stream = report->stream != NULL ?
		psprintf("Stream %s", report->stream) : "The stream";
	const char *by;

	if (!report->show_versions)
	{
		if (report->stream != NULL)
			return errdetail("Stream %s does not have the version the append expected.",
							 report->stream);
		return errdetail("The stream does not have the version the append expected.");
	}
	switch (report->stated_by)
	{
		case OCC_STATED_BY_SETTING:
			by = psprintf("occ.if_match is %s", quote_literal_cstr(report->expected));
			break;
		case OCC_STATED_BY_EXPECTED:
			by = psprintf("argument \"expected\" is %s",
						  quote_literal_cstr(report->expected));
			break;
		default:
			by = psprintf("an event was given version %s", report->expected);
			break;
	}
	return errdetail_internal("%s has version %s, but %s.", stream, report->current, by);
}

/*
 * The relation a report names: on Citus, the distributed, reference or
 * Citus-local table whose shard rel is, as the client knows it, if this
 * node's metadata says so (citus.c); otherwise rel itself.
 */
static const char *
report_relation_name(Relation rel)
{
	const char *name = occ_citus_table_name(RelationGetRelid(rel));

	return name != NULL ? name : RelationGetRelationName(rel);
}

/*
 * The HINT of a stale write: retry it, or, for a write that went ahead,
 * why it did.
 */
static int
stale_hint(const OccReport *report)
{
	const char *relname = report_relation_name(report->rel);

	if (report->audited)
	{
		if (report->is_append)
			return errhint("The append went ahead: relation \"%s\" is in %s mode, audited as %s. Read the stream again and append with its current version.",
						   relname, occ_mode_name(report->mode),
						   occ_mode_name(report->audit));
		return errhint("The write went ahead: relation \"%s\" is in %s mode, audited as %s. Read the row again and state its current version when you write it.",
					   relname, occ_mode_name(report->mode),
					   occ_mode_name(report->audit));
	}
	if (report->is_append)
		return errhint("Read the stream again and append with its current version.");
	return errhint("Read the row again and retry the write with its current version.");
}

/*
 * Build the report of a stale write: the version stated for it is not the
 * row's current one.  "current" and "expected" are printed versions;
 * "expected" is the value assigned in the UPDATE, or the raw occ.if_match
 * or if_match argument if it came from there.  The report keeps the
 * relation open as the caller has it.
 */
void
occ_build_stale_report(OccReport *report, Relation rel, HeapTuple oldtuple,
					   AttrNumber version_attnum, bool is_delete,
					   OccStatedBy stated_by, const char *current,
					   const char *expected)
{
	memset(report, 0, sizeof(OccReport));
	report->refusal = OCC_REFUSAL_STALE;
	report->rel = rel;
	report->version_attnum = version_attnum;
	report->is_delete = is_delete;
	report->stated_by = stated_by;
	report->key = describe_row_key(rel, oldtuple);
	report->show_versions = user_may_see_column(rel, version_attnum);
	report->current = pstrdup(current);
	report->expected = pstrdup(expected);
}

/*
 * Build the report of a write to a strict table that stated no version.
 * by_trigger says that a statement run by a trigger wrote the row:
 * occ.if_match is not applied to such rows (see row_writer() in
 * trigger.c), so the hint names what such a statement can do instead.
 * where_unseen says that the statement began before occ was loaded in the
 * session, so that a version in its WHERE clause could not be seen (see
 * where_clause.c): the hint says how to load occ earlier.
 */
void
occ_build_missing_report(OccReport *report, Relation rel,
						 AttrNumber version_attnum, bool is_delete,
						 bool by_trigger, bool where_unseen)
{
	memset(report, 0, sizeof(OccReport));
	report->refusal = OCC_REFUSAL_MISSING;
	report->rel = rel;
	report->version_attnum = version_attnum;
	report->is_delete = is_delete;
	report->by_trigger = by_trigger;
	report->where_unseen = where_unseen;
}

/*
 * The SQLSTATE of a report, in the session's error style: for a write that
 * was let through, the one it would have been refused with.
 */
int
occ_report_sqlstate(const OccReport *report)
{
	bool		http = occ_error_style == OCC_ERROR_STYLE_HTTP;

	if (report->refusal == OCC_REFUSAL_STALE)
		return http ? ERRCODE_OCC_HTTP_PRECONDITION_FAILED : ERRCODE_OCC_STALE_VERSION;
	return http ? ERRCODE_OCC_HTTP_PRECONDITION_REQUIRED : ERRCODE_OCC_VERSION_REQUIRED;
}

static int
missing_detail(const OccReport *report)
{
	const char *relname = report_relation_name(report->rel);

	if (report->audited)
	{
		const char *what = report->is_append ? "an append" : "a write";
		const char *mode = occ_mode_name(report->mode);
		const char *audit = occ_mode_name(report->audit);

		if (report->by_trigger)
			return errdetail("Relation \"%s\" is in %s mode, audited as %s: %s mode would refuse %s that states no version, and %s mode let it through. A statement run by a trigger wrote the row; occ.if_match applies only to the rows of the statement the client sent.",
							 relname, mode, audit, audit, what, mode);
		return errdetail("Relation \"%s\" is in %s mode, audited as %s: %s mode would refuse %s that states no version, and %s mode let it through.",
						 relname, mode, audit, audit, what, mode);
	}
	if (report->is_append)
	{
		if (report->by_trigger)
			return errdetail("Relation \"%s\" is in strict mode, and a statement run by a trigger appended the event; occ.if_match applies only to the statement the client sent.",
							 relname);
		return errdetail("Relation \"%s\" is in strict mode: every append must state the version of the stream it expects.",
						 relname);
	}
	if (report->by_trigger)
		return errdetail("Relation \"%s\" is in strict mode, and a statement run by a trigger wrote the row; occ.if_match applies only to the rows of the statement the client sent.",
						 relname);
	return errdetail("Relation \"%s\" is in strict mode: every write must state the version of the row it read.",
					 relname);
}

static int
missing_hint(const OccReport *report)
{
	const char *column;

	if (report->is_append)
	{
		if (report->by_trigger)
			return errhint("Give the events their versions, or append through occ.append().");
		return errhint("Set occ.if_match to the stream's version (0 for a new stream, * for any existing one), give the events their versions, or append through occ.append().");
	}
	if (report->version_attnum == InvalidAttrNumber)
	{
		/* a content hash: only occ.if_match and the wrappers state it */
		if (report->by_trigger)
			return errhint("Write the row through occ.update() or occ.delete(), which state its entity tag.");
		if (report->is_delete)
			return errhint("Set occ.if_match to the entity tag of the row you read (occ.etag(row)), or to * to delete whatever its content.");
		return errhint("Set occ.if_match to the entity tag of the row you read (occ.etag(row)).");
	}

	column = NameStr(TupleDescAttr(RelationGetDescr(report->rel),
								   report->version_attnum - 1)->attname);
	if (report->where_unseen)
		return errhint("The statement began before occ was loaded in this session, so a version required by its WHERE clause could not be seen; set session_preload_libraries = 'occ' to load occ when sessions start.");
	if (report->by_trigger)
	{
		if (report->is_delete)
			return errhint("Require the version in the WHERE clause of the trigger's DELETE (\"%s\" = ...), or delete the row through occ.delete().",
						   column);
		return errhint("Require the version in the WHERE clause of the trigger's UPDATE (\"%s\" = ...), assign it to the column, or update the row through occ.update().",
					   column);
	}
	if (report->is_delete)
		return errhint("Require the version you read in the WHERE clause (\"%s\" = ...), or set occ.if_match to it, or to * to delete whatever the version.",
					   column);
	return errhint("Require the version you read in the WHERE clause (\"%s\" = ...), assign it to the column, or set occ.if_match.",
				   column);
}

/*
 * Emit a report at elevel: ERROR refuses the write and does not return;
 * a lower level reports a write that goes ahead.
 */
void
occ_emit_report(const OccReport *report, int elevel)
{
	const char *relname = report_relation_name(report->rel);

	if (report->refusal == OCC_REFUSAL_STALE)
		ereport(elevel,
				(errcode(occ_report_sqlstate(report)),
				 report->is_append ?
				 errmsg("version conflict on append to relation \"%s\"", relname) :
				 report->is_delete ?
				 errmsg("version conflict on delete from relation \"%s\"", relname) :
				 errmsg("version conflict on update of relation \"%s\"", relname),
				 report->is_append ?
				 stream_stale_detail(report) :
				 stale_detail(report->key, report->show_versions, report->stated_by,
							  report->current, report->expected),
				 stale_hint(report),
				 report_fields(report)));
	else
		ereport(elevel,
				(errcode(occ_report_sqlstate(report)),
				 report->is_append ?
				 errmsg("append to relation \"%s\" does not state the version it expects",
						relname) :
				 report->is_delete ?
				 errmsg("delete from relation \"%s\" does not state the version it expects",
						relname) :
				 errmsg("update of relation \"%s\" does not state the version it expects",
						relname),
				 missing_detail(report),
				 missing_hint(report),
				 report_fields(report)));
}

/*
 * Raise the report if the row's mode refuses the write; else the row is
 * checked at a stricter audit level, and the write is reported and goes
 * ahead.
 */
static void
raise_or_audit(OccReport *report)
{
	if (occ_row_refuses(report->refusal))
	{
		occ_emit_report(report, ERROR);
		pg_unreachable();
	}
	occ_audit_report(report);
}

/* Raise 40V01 (or PT412), or report and return. */
void
occ_report_stale(Relation rel, HeapTuple oldtuple, AttrNumber version_attnum,
				 bool is_delete, OccStatedBy stated_by,
				 const char *current, const char *expected)
{
	OccReport	report;

	occ_build_stale_report(&report, rel, oldtuple, version_attnum, is_delete,
						   stated_by, current, expected);
	raise_or_audit(&report);
}

/* Raise 23V01 (or PT428), or report and return. */
void
occ_report_missing(Relation rel, AttrNumber version_attnum, bool is_delete,
				   bool by_trigger, bool where_unseen)
{
	OccReport	report;

	occ_build_missing_report(&report, rel, version_attnum, is_delete, by_trigger,
							 where_unseen);
	raise_or_audit(&report);
}

/*
 * Raise 40V01 (or PT412) for an append to a stream whose version is not
 * the one expected, or report and return.  "stream" is the stream's value
 * printed, quoted; "expected" the raw occ.if_match or expected argument,
 * or for an event given its version that version, which does not follow
 * the stream's.  The stream and the versions are each shown only to a user
 * who may read them.
 */
void
occ_report_stream_stale(Relation rel, AttrNumber version_attnum,
						AttrNumber stream_attnum, const char *stream,
						int64 current, const char *expected,
						OccStatedBy stated_by)
{
	OccReport	report;

	memset(&report, 0, sizeof(OccReport));
	report.refusal = OCC_REFUSAL_STALE;
	report.rel = rel;
	report.version_attnum = version_attnum;
	report.is_append = true;
	report.stated_by = stated_by;
	report.stream = user_may_see_column(rel, stream_attnum) ? pstrdup(stream) : NULL;
	report.show_versions = user_may_see_column(rel, version_attnum);
	report.current = psprintf(INT64_FORMAT, current);
	report.expected = pstrdup(expected);
	raise_or_audit(&report);
}

/*
 * Raise 23V01 (or PT428): an append to a strict stream table stated
 * nothing; or report and return.
 */
void
occ_report_stream_missing(Relation rel, AttrNumber version_attnum, bool by_trigger)
{
	OccReport	report;

	memset(&report, 0, sizeof(OccReport));
	report.refusal = OCC_REFUSAL_MISSING;
	report.rel = rel;
	report.version_attnum = version_attnum;
	report.is_append = true;
	report.by_trigger = by_trigger;
	raise_or_audit(&report);
}

/*
 * Raise 22P02: occ.if_match, or a wrapper's if_match argument, cannot be
 * read.
 */
void
occ_report_bad_if_match(const char *text, OccStatedBy source, const char *detail)
{
	if (source == OCC_STATED_BY_ARGUMENT || source == OCC_STATED_BY_EXPECTED)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid value for argument \"%s\": \"%s\"",
						source == OCC_STATED_BY_EXPECTED ? "expected" : "if_match",
						text),
				 errdetail_internal("%s", detail)));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid value for parameter \"%s\": \"%s\"",
					"occ.if_match", text),
			 errdetail_internal("%s", detail)));
	pg_unreachable();
}
