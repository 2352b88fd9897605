/*-------------------------------------------------------------------------
 *
 * enable.c
 *	  occ.enable, occ.disable and occ.set_mode.
 *
 * Where the settings they write live, and the DDL they run, belong to
 * protection.c.
 *
 * The functions here change tables through ordinary DDL run with the
 * caller's privileges (no SECURITY DEFINER), with every identifier quoted.
 * Each one first checks that the caller owns the table, before it takes a
 * lock, so that nobody can block a table they could not alter anyway.  All
 * of it happens in the caller's transaction: an error leaves nothing
 * behind.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/catalog.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_trigger.h"
#include "commands/comment.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "citus.h"
#include "ddl.h"
#include "kind.h"
#include "protection.h"
#include "stream.h"
#include "settings.h"

PG_FUNCTION_INFO_V1(occ_enable);
PG_FUNCTION_INFO_V1(occ_disable);
PG_FUNCTION_INFO_V1(occ_set_mode);

/*
 * Raise an error if the argument is NULL.  Our SQL functions are not
 * STRICT, because a STRICT function would answer a NULL argument with a
 * silent NULL result, and nothing done.
 */
static void
require_argument(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"%s\" must not be null", name)));
}

/* Name of the schema occ is installed in: that of the function called. */
static char *
occ_schema_name(FunctionCallInfo fcinfo)
{
	return get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid));
}

/*
 * Check that the current user owns the relation, then lock it and check
 * that it is a table occ can protect.  Returns the open relation, with what
 * is known of its occ trigger in *info.
 */
static Relation
open_table_for_alter(FunctionCallInfo fcinfo, Oid relid, OccTableInfo *info)
{
	Relation	rel;
	char		relkind;

	relkind = get_rel_relkind(relid);
	if (relkind == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));

#if PG_VERSION_NUM >= 160000
	if (!object_ownercheck(RelationRelationId, relid, GetUserId()))
#else
	if (!pg_class_ownercheck(relid, GetUserId()))
#endif
		aclcheck_error(ACLCHECK_NOT_OWNER, get_relkind_objtype(relkind),
					   get_rel_name(relid));

	rel = relation_open(relid, AccessExclusiveLock);

	if (rel->rd_rel->relkind != RELKIND_RELATION &&
		rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", RelationGetRelationName(rel)),
				 errdetail("occ protects ordinary and partitioned tables only.")));

	if (IsSystemRelation(rel))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied: \"%s\" is a system catalog",
						RelationGetRelationName(rel))));

	occ_table_info(rel, occ_schema_name(fcinfo), info);

	return rel;
}

static void
refuse_clone(OccTableInfo *info)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("relation \"%s\" is protected through its partitioned table",
					info->name),
			 errhint("Change the settings of the partitioned table instead.")));
}

static OccMode
mode_argument(FunctionCallInfo fcinfo, int argno)
{
	OccMode		mode;
	char	   *name;

	if (PG_ARGISNULL(argno))
		return OCC_MODE_DEFAULT;

	name = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (!occ_mode_from_name(name, &mode) || mode == OCC_MODE_DEFAULT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid mode \"%s\"", name),
				 errhint("Valid modes are \"strict\", \"lax\" and \"none\", or NULL to follow occ.default_mode.")));
	return mode;
}

/*
 * An audit level argument: strict or lax, or NULL to follow
 * occ.default_audit.  "none" would audit nothing, and is no level to set.
 */
static OccMode
audit_argument(FunctionCallInfo fcinfo, int argno)
{
	OccMode		audit;
	char	   *name;

	if (PG_ARGISNULL(argno))
		return OCC_MODE_DEFAULT;

	name = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (!occ_mode_from_name(name, &audit) ||
		audit == OCC_MODE_DEFAULT || audit == OCC_MODE_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid audit level \"%s\"", name),
				 errhint("Valid audit levels are \"strict\" and \"lax\", or NULL to follow occ.default_audit.")));
	return audit;
}

/*
 * Refuse an audit level that is not stricter than the table's own mode: it
 * would report nothing.  A table that follows occ.default_mode may have
 * any level; it is audited only while the level is stricter than its
 * effective mode.  "audit_given" says whether the caller named the level,
 * or the table has it already (occ.enable of an enabled table).
 */
static void
require_stricter_audit(const char *relname, OccMode mode, OccMode audit,
					   bool audit_given)
{
	if (mode == OCC_MODE_DEFAULT || audit == OCC_MODE_DEFAULT || audit < mode)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("audit level \"%s\" of relation \"%s\" is not stricter than its mode \"%s\"",
					occ_mode_name(audit), relname, occ_mode_name(mode)),
			 errdetail("An audit level reports the writes that a stricter mode than the table's would refuse."),
			 !audit_given ?
			 errhint("Call occ.set_mode(), which sets the mode and the audit level together.") :
			 mode == OCC_MODE_STRICT ?
			 errhint("Strict mode already refuses every write an audit level reports: give no audit level, or NULL to follow occ.default_audit.") :
			 errhint("Choose a stricter audit level, or NULL to follow occ.default_audit.")));
}

/*
 * Refuse to enable a table whose own triggers certainly advance the version
 * column (a C trigger given the column, as contrib's moddatetime is): two
 * mechanisms would bump it twice, or fight over it.  Warn about triggers
 * whose source only appears to, as hand-written optimistic-locking
 * triggers do: that is a guess, which must not refuse.
 */
static void
refuse_other_writers(Relation rel, const char *column)
{
	TriggerDesc *trigdesc = rel->trigdesc;
	int			i;

	for (i = 0; trigdesc != NULL && i < trigdesc->numtriggers; i++)
	{
		Trigger    *trigger = &trigdesc->triggers[i];
		OccWriter	writes = occ_trigger_writes_column(trigger, column);

		if (writes == OCC_WRITER_POSSIBLE)
			occ_warn_possible_writer(rel, trigger, column);
		else if (writes == OCC_WRITER_CERTAIN)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("trigger \"%s\" of relation \"%s\" already sets column \"%s\"",
							trigger->tgname, RelationGetRelationName(rel), column),
					 errdetail("occ advances the version itself; two mechanisms must not advance one column."),
					 errhint("Drop trigger \"%s\" first, then call occ.enable() again.",
							 trigger->tgname)));
	}
}

/*
 * Refuse to enable a partitioned table that has a partition with an occ
 * trigger of its own (enabled on its own, or made by hand under any name):
 * the partitioned table's trigger would be cloned beside it, and the
 * partition would have two.  The partitions' other triggers are looked at
 * as the table's own are, for the version column (NULL for a content
 * kind, which has none).  The partitions are locked as CREATE TRIGGER
 * will lock them to clone the trigger.
 */
static void
refuse_protected_partitions(Relation rel, const char *schema,
							const char *column)
{
	List	   *relids;
	ListCell   *lc;

	if (rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		return;

	relids = find_all_inheritors(RelationGetRelid(rel), ShareRowExclusiveLock, NULL);
	foreach(lc, relids)
	{
		Relation	part;
		OccTableInfo part_info;

		if (lfirst_oid(lc) == RelationGetRelid(rel))
			continue;
		part = relation_open(lfirst_oid(lc), NoLock);
		occ_table_info(part, schema, &part_info);
		/* the partition's own triggers would run beside the clone */
		if (!part_info.enabled && column != NULL)
			refuse_other_writers(part, column);
		relation_close(part, NoLock);

		/*
		 * Partitions come after their own partitioned table, so the first
		 * one found is the one to disable, not a clone of its trigger.
		 */
		if (part_info.enabled)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("partition \"%s\" of relation \"%s\" already has an occ trigger",
							part_info.name, RelationGetRelationName(rel)),
					 errdetail("Enabling the partitioned table gives each of its partitions an occ trigger, and a table can have only one."),
					 errhint("Call occ.disable() for relation \"%s\" first: the partitioned table's occ trigger protects every partition.",
							 part_info.name)));
	}
}

/*
 * A column of rel whose name differs from "name" only by case, or NULL: a
 * name passed as the identifier was written in SQL, quoted or not, is not
 * the name it stands for.
 */
static char *
column_differing_by_case(Relation rel, const char *name)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(desc, i);

		if (!attr->attisdropped &&
			pg_strcasecmp(NameStr(attr->attname), name) == 0 &&
			strcmp(NameStr(attr->attname), name) != 0)
			return pstrdup(NameStr(attr->attname));
	}
	return NULL;
}

/*
 * Say which column occ.enable made the version column: a new column may be
 * a typo, or a name quoted as if it were SQL.
 */
static void
report_version_column(Oid relid, const char *relname, const char *column,
					  bool added, const char *case_twin)
{
	AttrNumber	attnum = get_attnum(relid, column);
	char	   *type = format_type_be(get_atttype(relid, attnum));

	if (!added)
		ereport(NOTICE,
				(errmsg("using existing column \"%s\" of type %s as the version column of relation \"%s\"",
						column, type, relname)));
	else
		ereport(NOTICE,
				(errmsg("added version column \"%s\" of type %s to relation \"%s\"",
						column, type, relname),
				 case_twin != NULL ?
				 errhint("Relation \"%s\" has a column \"%s\": column names are matched exactly, case included. To use that column, call occ.disable() with drop_column => true, then occ.enable() with '%s'.",
						 relname, case_twin, case_twin) :
				 strchr(column, '"') != NULL ?
				 errhint("The name contains a double quote: occ.enable() takes the column name as it is, not quoted as in SQL. To fix it, call occ.disable() with drop_column => true, then occ.enable() with the name without quotes.") : 0));
}

/*
 * A content kind's excluded columns, from occ.enable's "exclude" argument,
 * a one-dimensional array: each a column of the table, named once.
 * Returns the number of names, and the names in *names.
 */
static int
exclude_argument(FunctionCallInfo fcinfo, int argno, Relation rel, char ***names)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(argno);
	Datum	   *elems;
	bool	   *elem_nulls;
	int			n;
	int			i;
	int			j;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"%s\" must be a one-dimensional array", "exclude")));
	deconstruct_array(array, NAMEOID, NAMEDATALEN, false, TYPALIGN_CHAR,
					  &elems, &elem_nulls, &n);
	*names = palloc(sizeof(char *) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		AttrNumber	attnum;

		if (elem_nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument \"%s\" must not contain nulls", "exclude")));
		(*names)[i] = pstrdup(NameStr(*DatumGetName(elems[i])));
		attnum = get_attnum(RelationGetRelid(rel), (*names)[i]);
		if (attnum == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation \"%s\" does not exist",
							(*names)[i], RelationGetRelationName(rel))));
		if (attnum < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cannot exclude system column \"%s\"", (*names)[i]),
					 errdetail("A row's content hash counts none of its system columns.")));
		for (j = 0; j < i; j++)
			if (strcmp((*names)[j], (*names)[i]) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("column \"%s\" is excluded more than once", (*names)[i])));
	}
	return n;
}

/*
 * Refuse a content kind that would hash no column of the table: every row
 * would have the same version, and no write could be found stale.
 */
static void
require_counted_columns(Relation rel, const OccTableSettings *settings)
{
	if (occ_counted_columns(rel, settings) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 settings->nexclude > 0 ?
				 errmsg("cannot exclude every column of relation \"%s\"",
						RelationGetRelationName(rel)) :
				 errmsg("relation \"%s\" has no column to hash",
						RelationGetRelationName(rel)),
				 errdetail("A row's version is the hash of the columns that are not excluded; with none, no write could ever be found stale.")));
}

/* Do two lists of excluded columns name the same columns, in any order? */
static bool
same_exclusions(const OccTableSettings *a, const OccTableSettings *b)
{
	int			i;

	if (a->nexclude != b->nexclude)
		return false;
	for (i = 0; i < a->nexclude; i++)
		if (!occ_settings_exclude(b, a->exclude[i]))
			return false;
	return true;
}

/*
 * Refuse to enable an enabled table with other settings than it has: that
 * would stack a second trigger, or silently change what is checked.
 */
static void
refuse_other_settings(const OccTableInfo *info, const OccTableSettings *settings)
{
	const OccTableSettings *current = &info->settings;

	if (current->kind == settings->kind &&
		(current->kind->is_content ? same_exclusions(current, settings) :
		 strcmp(current->version_column, settings->version_column) == 0) &&
		(current->stream_column == NULL ||
		 strcmp(current->stream_column, settings->stream_column) == 0))
		return;

	if (current->kind->is_content)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("relation \"%s\" is already enabled with kind %s",
						info->name, current->kind->name),
				 current->kind == settings->kind ?
				 errdetail("It excludes other columns; see occ.tables.") : 0,
				 errhint("Call occ.disable() first to change the kind or the excluded columns.")));
	if (current->stream_column != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("relation \"%s\" is already enabled with stream column \"%s\" and version column \"%s\"",
						info->name, current->stream_column, current->version_column),
				 errhint("Call occ.disable() first to change the columns or kind.")));
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("relation \"%s\" is already enabled with %s version column \"%s\"",
					info->name, current->kind->name, current->version_column),
			 errhint("Call occ.disable() first to change the version column or kind.")));
}

/*
 * Can the table be a stream table with these columns?  The stream column
 * must exist, the version column too, without a default (occ assigns it:
 * a default would look like a version the writer gave), and a unique index
 * on exactly (stream, version) must read a stream's version.  A
 * partitioned table must keep each stream in one partition: its partition
 * key is the stream column alone.
 */
static void
check_stream_columns(Relation rel, const OccTableSettings *settings,
					 AttrNumber version_attnum)
{
	AttrNumber	stream_attnum = get_attnum(RelationGetRelid(rel),
										   settings->stream_column);

	if (stream_attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						settings->stream_column, RelationGetRelationName(rel))));
	if (stream_attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("system column \"%s\" cannot be a stream column",
						settings->stream_column)));
	if (version_attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						settings->version_column, RelationGetRelationName(rel)),
				 errhint("A stream table needs a version column of an integer type, and a unique index on its stream and version columns.")));
	if (stream_attnum == version_attnum)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the stream column and the version column must differ")));

	/*
	 * A system column, a type that cannot hold versions, an identity or a
	 * generated column: refused as for the other kinds, before anything
	 * reads the column's attribute (a system column has none) or looks for
	 * an index on it.
	 */
	occ_check_version_column(rel, version_attnum, settings->kind,
							 OCC_COLUMN_ADOPTED);
	if (TupleDescAttr(RelationGetDescr(rel), version_attnum - 1)->atthasdef)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("version column \"%s\" of relation \"%s\" has a default",
						settings->version_column, RelationGetRelationName(rel)),
				 errdetail("occ gives each event the next version of its stream; a default would look like a version the writer gave."),
				 errhint("Drop the default: ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT.",
						 quote_identifier(RelationGetRelationName(rel)),
						 quote_identifier(settings->version_column))));
	if (!OidIsValid(occ_stream_index(rel, stream_attnum, version_attnum)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("relation \"%s\" has no unique index on its stream and version columns",
						RelationGetRelationName(rel)),
				 errdetail("occ reads a stream's version from that index."),
				 errhint("Create one: CREATE UNIQUE INDEX ON %s (%s, %s), or make them the primary key.",
						 quote_identifier(RelationGetRelationName(rel)),
						 quote_identifier(settings->stream_column),
						 quote_identifier(settings->version_column))));
	if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
	{
		ListCell   *lc;

		/* the table and each of its partitions that is partitioned itself */
		foreach(lc, find_all_inheritors(RelationGetRelid(rel), AccessShareLock, NULL))
			if (get_rel_relkind(lfirst_oid(lc)) == RELKIND_PARTITIONED_TABLE &&
				!occ_stream_partitioned_by_stream(lfirst_oid(lc), settings->stream_column))
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("partitioned relation \"%s\" is not partitioned by its stream column alone",
								get_rel_name(lfirst_oid(lc))),
						 errdetail("Every event of a stream must be in one partition, where its version is read.")));
	}
}

/*
 * occ.enable(tbl regclass, version_column name, kind text, mode text,
 *			  exclude name[], stream_column name, audit text)
 *
 * On a table that is enabled already, a mode or audit level given replaces
 * the table's, and one left out (NULL) keeps it.
 */
Datum
occ_enable(PG_FUNCTION_ARGS)
{
	OccTableSettings settings;
	char	   *kind_name;
	bool		mode_given;
	bool		audit_given;
	Relation	rel;
	OccTableInfo	info;
	AttrNumber	attnum = InvalidAttrNumber;
	bool		needs_not_null = false;
	char	   *case_twin = NULL;

	require_argument(fcinfo, 0, "tbl");
	require_argument(fcinfo, 1, "version_column");
	require_argument(fcinfo, 2, "kind");

	settings.version_column = pstrdup(NameStr(*PG_GETARG_NAME(1)));
	if (settings.version_column[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("version column name must not be empty")));
	kind_name = text_to_cstring(PG_GETARG_TEXT_PP(2));
	settings.kind = occ_kind_by_name(kind_name);
	if (settings.kind == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid version kind \"%s\"", kind_name),
				 errhint("Valid kinds are %s.", occ_kind_names())));
	settings.mode = mode_argument(fcinfo, 3);
	mode_given = !PG_ARGISNULL(3);
	settings.audit = audit_argument(fcinfo, 6);
	audit_given = !PG_ARGISNULL(6);
	settings.nexclude = 0;
	settings.exclude = NULL;
	settings.stream_column = PG_ARGISNULL(5) ? NULL :
		pstrdup(NameStr(*PG_GETARG_NAME(5)));

	/* a stream table, and only a stream table, names its stream column */
	if (settings.kind->appends && settings.stream_column == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kind %s needs argument \"%s\"", settings.kind->name,
						"stream_column")));
	if (!settings.kind->appends && settings.stream_column != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kind %s has no stream column", settings.kind->name),
				 errhint("Leave out argument \"%s\", or use kind stream.",
						 "stream_column")));

	/*
	 * A content kind keeps its version in no column: any other column name
	 * than the default is a mistake, not something to ignore.
	 */
	if (settings.kind->is_content)
	{
		if (strcmp(settings.version_column, "version") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("kind %s has no version column", settings.kind->name),
					 errdetail("A row's version is a hash of its content."),
					 errhint("Leave out argument \"%s\".", "version_column")));
		settings.version_column = NULL;
	}
	else if (!PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kind %s does not exclude columns", settings.kind->name),
				 errdetail("Only a content hash (kind hash) counts the columns of a row."),
				 errhint("Leave out argument \"%s\".", "exclude")));

	rel = open_table_for_alter(fcinfo, PG_GETARG_OID(0), &info);
	if (info.enabled)
		require_stricter_audit(info.name,
							   mode_given ? settings.mode : info.settings.mode,
							   audit_given ? settings.audit : info.settings.audit,
							   audit_given);
	else
		require_stricter_audit(info.name, settings.mode, settings.audit, true);
	if (settings.kind->is_content && !PG_ARGISNULL(4))
		settings.nexclude = exclude_argument(fcinfo, 4, rel, &settings.exclude);
	if (settings.kind->is_content && !info.enabled)
		require_counted_columns(rel, &settings);
	if (!info.enabled && settings.kind->appends)
		check_stream_columns(rel, &settings,
							 get_attnum(RelationGetRelid(rel), settings.version_column));
	if (!info.enabled && !settings.kind->is_content)
	{
		attnum = get_attnum(RelationGetRelid(rel), settings.version_column);
		if (attnum != InvalidAttrNumber)
		{
			occ_check_version_column(rel, attnum, settings.kind, OCC_COLUMN_ADOPTED);
			needs_not_null = !TupleDescAttr(RelationGetDescr(rel), attnum - 1)->attnotnull;
		}
		else
			case_twin = column_differing_by_case(rel, settings.version_column);
		refuse_other_writers(rel, settings.version_column);
	}
	if (!info.enabled)
	{
		refuse_protected_partitions(rel, occ_schema_name(fcinfo),
									settings.version_column);
		/* on Citus: occ preloaded; no clock versions on copies of a row */
		occ_citus_check_enable(rel, settings.kind->name,
							   strcmp(settings.kind->name, "timestamp") == 0);
	}
	relation_close(rel, NoLock);

	if (info.enabled)
	{
		/* Already enabled: never stack a second trigger. */
		refuse_other_settings(&info, &settings);

		if ((mode_given && info.settings.mode != settings.mode) ||
			(audit_given && info.settings.audit != settings.audit))
		{
			if (info.trigger_is_clone)
				refuse_clone(&info);
			if (mode_given)
				info.settings.mode = settings.mode;
			if (audit_given)
				info.settings.audit = settings.audit;
			occ_replace_trigger(occ_schema_name(fcinfo), &info, &info.settings);
		}

		/*
		 * A trigger that does not fire for ordinary writes is no
		 * protection: enabling the table again means enabling it.
		 */
		if (info.trigger_enabled == TRIGGER_DISABLED ||
			info.trigger_enabled == TRIGGER_FIRES_ON_REPLICA)
		{
			if (info.trigger_is_clone)
				refuse_clone(&info);
			occ_execute_ddl(psprintf("ALTER TABLE %s ENABLE TRIGGER %s",
								 info.qualified_name,
								 quote_identifier(info.trigger_name)));
		}
		PG_RETURN_VOID();
	}

	if (settings.kind->is_content)
	{
		/* nothing to add: the content is the version */
		occ_create_trigger(occ_schema_name(fcinfo), &info, OCC_TRIGGER_NAME, &settings);
		PG_RETURN_VOID();
	}

	if (attnum == InvalidAttrNumber)
	{
		/*
		 * The default is a constant or a stable expression, so PostgreSQL
		 * stores it once in the catalog instead of rewriting the table.
		 */
		occ_execute_ddl(psprintf("ALTER TABLE %s ADD COLUMN %s %s",
							 info.qualified_name,
							 quote_identifier(settings.version_column),
							 settings.kind->new_column));
	}
	else if (needs_not_null)
	{
		/* Fails with PostgreSQL's own error if the column holds NULLs. */
		occ_execute_ddl(psprintf("ALTER TABLE %s ALTER COLUMN %s SET NOT NULL",
							 info.qualified_name,
							 quote_identifier(settings.version_column)));
	}

	occ_create_trigger(occ_schema_name(fcinfo), &info, OCC_TRIGGER_NAME, &settings);
	report_version_column(info.relid, info.name, settings.version_column,
						  attnum == InvalidAttrNumber, case_twin);
	PG_RETURN_VOID();
}

/*
 * Look up an enabled table whose settings are to change, or fail with
 * 55000 if it is not enabled.
 */
static void
lookup_enabled_table(FunctionCallInfo fcinfo, OccTableInfo *info)
{
	Relation	rel;

	require_argument(fcinfo, 0, "tbl");
	rel = open_table_for_alter(fcinfo, PG_GETARG_OID(0), info);
	relation_close(rel, NoLock);

	if (!info->enabled)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("relation \"%s\" is not enabled for occ", info->name),
				 errhint("Call occ.enable() first.")));
	if (info->trigger_is_clone)
		refuse_clone(info);
}

/*
 * occ.disable(tbl regclass, drop_column boolean)
 */
Datum
occ_disable(PG_FUNCTION_ARGS)
{
	OccTableInfo	info;

	require_argument(fcinfo, 1, "drop_column");
	lookup_enabled_table(fcinfo, &info);
	if (PG_GETARG_BOOL(1) && info.settings.version_column == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("relation \"%s\" has no version column to drop", info.name),
				 errdetail("Its versions are hashes of its content (kind %s).",
						   info.settings.kind->name),
				 errhint("Call occ.disable() without drop_column.")));

	occ_execute_ddl(psprintf("DROP TRIGGER %s ON %s",
						 quote_identifier(info.trigger_name),
						 info.qualified_name));
	if (PG_GETARG_BOOL(1))
		occ_execute_ddl(psprintf("ALTER TABLE %s DROP COLUMN %s",
							 info.qualified_name,
							 quote_identifier(info.settings.version_column)));
	PG_RETURN_VOID();
}

/*
 * occ.set_mode(tbl regclass, mode text, audit text)
 *
 * Sets both: an audit level left out (NULL) makes the table follow
 * occ.default_audit, so that a table audited as strict can be switched to
 * strict with occ.set_mode(tbl, 'strict').
 */
Datum
occ_set_mode(PG_FUNCTION_ARGS)
{
	OccTableInfo	info;
	OccMode		mode;
	OccMode		audit;

	mode = mode_argument(fcinfo, 1);
	audit = audit_argument(fcinfo, 2);
	lookup_enabled_table(fcinfo, &info);
	require_stricter_audit(info.name, mode, audit, true);

	if (info.settings.mode != mode || info.settings.audit != audit)
	{
		info.settings.mode = mode;
		info.settings.audit = audit;
		occ_replace_trigger(occ_schema_name(fcinfo), &info, &info.settings);
	}
	PG_RETURN_VOID();
}
