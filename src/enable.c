/*-------------------------------------------------------------------------
 *
 * enable.c
 *	  occ.enable, occ.disable, occ.set_mode, and the decoding behind the
 *	  occ.tables view.
 *
 * Where the settings live.  A table's settings are the arguments of its
 * occ trigger, and nowhere else:
 *
 *	- pg_dump emits the trigger, arguments included, with the table it
 *	  belongs to, and pg_restore re-creates it as the table's owner: no
 *	  configuration table whose rows must be dumped separately, restored
 *	  with superuser rights, or kept in step with the tables it names;
 *	- pg_upgrade, physical replicas and crash recovery carry pg_trigger like
 *	  any catalog;
 *	- only the table's owner can drop or replace the trigger, which is the
 *	  same privilege occ.enable requires;
 *	- partition triggers are cloned from the partitioned table's trigger by
 *	  PostgreSQL itself, for partitions present, created or attached later;
 *	- the relcache hands the arguments to the trigger already decoded into
 *	  strings, so reading them costs nothing per row.
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
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "occ.h"

PG_FUNCTION_INFO_V1(occ_enable);
PG_FUNCTION_INFO_V1(occ_disable);
PG_FUNCTION_INFO_V1(occ_set_mode);
PG_FUNCTION_INFO_V1(occ_decode_trigger_settings);

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
 * The OID of occ.check_version() in occ's schema.
 *
 * It is looked up in the catalog directly rather than with LookupFuncName,
 * which checks USAGE on the schema: the DDL guard runs this for every
 * ALTER TABLE and CREATE TRIGGER in the database, as whichever role issued
 * it, and must not fail for roles that never use occ when USAGE on schema
 * occ has been revoked from them.  Finding out whether a table has an occ
 * trigger discloses nothing that pg_trigger does not already show.
 */
Oid
occ_check_version_oid(const char *schema)
{
	Oid			nspoid = get_namespace_oid(schema, false);
	Oid			funcoid;

	funcoid = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
							  CStringGetDatum("check_version"),
							  PointerGetDatum(buildoidvector(NULL, 0)),
							  ObjectIdGetDatum(nspoid));
	if (!OidIsValid(funcoid))
		elog(ERROR, "function %s.check_version() does not exist", schema);
	return funcoid;
}

/*
 * Describe an open relation and its occ trigger, if any, in *info.  The
 * trigger function is looked up in occ's schema, so that nothing depends
 * on search_path.  Everything is copied, so *info stays valid after the
 * relation is closed.
 */
void
occ_table_info(Relation rel, const char *schema, OccTableInfo *info)
{
	TriggerDesc *trigdesc = rel->trigdesc;
	int			i;

	info->relid = RelationGetRelid(rel);
	info->name = pstrdup(RelationGetRelationName(rel));
	info->qualified_name =
		quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
								   info->name);
	info->trigger_function = occ_check_version_oid(schema);
	info->enabled = false;

	for (i = 0; trigdesc != NULL && i < trigdesc->numtriggers; i++)
	{
		Trigger    *trigger = &trigdesc->triggers[i];

		if (trigger->tgfoid != info->trigger_function)
			continue;

		occ_trigger_settings(rel, trigger, &info->settings);
		info->settings.version_column = pstrdup(info->settings.version_column);
		info->enabled = true;
		info->trigger_name = pstrdup(trigger->tgname);
		info->trigger_is_clone = trigger->tgisclone;
		info->trigger_enabled = trigger->tgenabled;
		return;
	}
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

/*
 * Execute one DDL command through SPI, as the current user.
 */
void
occ_execute_ddl(const char *sql)
{
	SPI_connect();
	if (SPI_execute(sql, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "SPI_execute failed: %s", sql);
	SPI_finish();
}

/*
 * Create the occ trigger on the table.
 */
void
occ_create_trigger(const char *schema, OccTableInfo *info,
				   const char *trigger_name, const OccTableSettings *settings)
{
	occ_execute_ddl(psprintf("CREATE TRIGGER %s BEFORE UPDATE OR DELETE ON %s "
							 "FOR EACH ROW EXECUTE FUNCTION %s.check_version(%s, %s, %s)",
							 quote_identifier(trigger_name),
							 info->qualified_name,
							 quote_identifier(schema),
							 quote_literal_cstr(settings->version_column),
							 quote_literal_cstr(occ_kind_name(settings->kind)),
							 quote_literal_cstr(occ_mode_name(settings->mode))));
}

/*
 * What the user set on one occ trigger, beyond its definition: whether it
 * fires (pg_trigger.tgenabled) and its comment.
 */
typedef struct OccTriggerState
{
	char	   *qualified_name; /* of its table, quoted */
	char		enabled;
	char	   *comment;		/* NULL if none */
} OccTriggerState;

/*
 * The state of the table's occ trigger, and on a partitioned table of each
 * partition's clone (which may have been disabled or commented on its
 * own), parents before their partitions.  The partitions are locked as
 * DROP TRIGGER will lock them.
 */
static List *
save_trigger_states(OccTableInfo *info)
{
	List	   *relids;
	List	   *states = NIL;
	ListCell   *lc;

	if (get_rel_relkind(info->relid) == RELKIND_PARTITIONED_TABLE)
		relids = find_all_inheritors(info->relid, AccessExclusiveLock, NULL);
	else
		relids = list_make1_oid(info->relid);

	foreach(lc, relids)
	{
		Relation	rel = relation_open(lfirst_oid(lc), NoLock);
		TriggerDesc *trigdesc = rel->trigdesc;
		int			i;

		for (i = 0; trigdesc != NULL && i < trigdesc->numtriggers; i++)
		{
			Trigger    *trigger = &trigdesc->triggers[i];
			OccTriggerState *state;

			if (trigger->tgfoid != info->trigger_function ||
				strcmp(trigger->tgname, info->trigger_name) != 0)
				continue;
			state = palloc(sizeof(OccTriggerState));
			state->qualified_name =
				quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
										   RelationGetRelationName(rel));
			state->enabled = trigger->tgenabled;
			state->comment = GetComment(trigger->tgoid, TriggerRelationId, 0);
			states = lappend(states, state);
		}
		relation_close(rel, NoLock);
	}
	return states;
}

/*
 * Give re-created triggers the state saved by save_trigger_states, with
 * the same ordinary DDL a user would run (so that it is propagated where
 * DDL is, as Citus does).  A new trigger fires "on origin" and has no
 * comment.  ALTER TABLE ONLY sets one table's trigger; should a server
 * still recurse to the partitions, each partition is set afterwards, as
 * soon as any trigger of the tree was set to anything else.
 */
static void
restore_trigger_states(List *states, const char *trigger_name)
{
	bool		any_changed = false;
	ListCell   *lc;

	foreach(lc, states)
		if (((OccTriggerState *) lfirst(lc))->enabled != TRIGGER_FIRES_ON_ORIGIN)
			any_changed = true;

	foreach(lc, states)
	{
		OccTriggerState *state = lfirst(lc);
		const char *action;

		switch (state->enabled)
		{
			case TRIGGER_FIRES_ALWAYS:
				action = "ENABLE ALWAYS";
				break;
			case TRIGGER_FIRES_ON_REPLICA:
				action = "ENABLE REPLICA";
				break;
			case TRIGGER_DISABLED:
				action = "DISABLE";
				break;
			default:
				action = "ENABLE";
				break;
		}
		if (any_changed)
			occ_execute_ddl(psprintf("ALTER TABLE ONLY %s %s TRIGGER %s",
									 state->qualified_name, action,
									 quote_identifier(trigger_name)));
		if (state->comment != NULL)
			occ_execute_ddl(psprintf("COMMENT ON TRIGGER %s ON %s IS %s",
									 quote_identifier(trigger_name),
									 state->qualified_name,
									 quote_literal_cstr(state->comment)));
	}
}

/*
 * Give the table's trigger new settings.  The arguments of a trigger cannot
 * be altered, so it is dropped and created again, in one transaction and
 * under the AccessExclusiveLock the caller holds: no write can come in
 * between.  On a partitioned table PostgreSQL re-creates the partitions'
 * clones with it.  Whether each trigger fires (ENABLE REPLICA, ENABLE
 * ALWAYS, DISABLE) and its comment are carried over.
 */
void
occ_replace_trigger(const char *schema, OccTableInfo *info,
					const OccTableSettings *settings)
{
	List	   *states = save_trigger_states(info);

	occ_execute_ddl(psprintf("DROP TRIGGER %s ON %s",
							 quote_identifier(info->trigger_name),
							 info->qualified_name));
	occ_create_trigger(schema, info, info->trigger_name, settings);
	restore_trigger_states(states, info->trigger_name);
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
 * Check that an existing column can serve as the version column.  Returns
 * whether it still needs to be made NOT NULL.
 */
bool
occ_check_adopted_column(Relation rel, AttrNumber attnum, OccKind kind)
{
	Form_pg_attribute attr;

	if (attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_COLUMN_DEFINITION),
				 errmsg("system column \"%s\" cannot be a version column",
						get_attname(RelationGetRelid(rel), attnum, false))));

	attr = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
	if (!occ_type_fits_kind(attr->atttypid, kind))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation \"%s\" has type %s, which cannot hold %s versions",
						NameStr(attr->attname), RelationGetRelationName(rel),
						format_type_be(attr->atttypid), occ_kind_name(kind)),
				 errhint("Integer versions need smallint, integer or bigint; timestamp versions need timestamp or timestamp with time zone.")));
	if (attr->attidentity)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_COLUMN_DEFINITION),
				 errmsg("column \"%s\" of relation \"%s\" is an identity column",
						NameStr(attr->attname), RelationGetRelationName(rel)),
				 errdetail("A version column must be writable by UPDATE.")));
	if (attr->attgenerated)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_COLUMN_DEFINITION),
				 errmsg("column \"%s\" of relation \"%s\" is a generated column",
						NameStr(attr->attname), RelationGetRelationName(rel)),
				 errdetail("A version column must be writable by UPDATE.")));

	return !attr->attnotnull;
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
 * as the table's own are.  The partitions are locked as CREATE TRIGGER
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
		if (!part_info.enabled)
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
 * occ.enable(tbl regclass, version_column name, kind text, mode text)
 */
Datum
occ_enable(PG_FUNCTION_ARGS)
{
	OccTableSettings settings;
	char	   *kind_name;
	bool		mode_given;
	Relation	rel;
	OccTableInfo	info;
	AttrNumber	attnum = InvalidAttrNumber;
	bool		needs_not_null = false;

	require_argument(fcinfo, 0, "tbl");
	require_argument(fcinfo, 1, "version_column");
	require_argument(fcinfo, 2, "kind");

	settings.version_column = pstrdup(NameStr(*PG_GETARG_NAME(1)));
	if (settings.version_column[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("version column name must not be empty")));
	kind_name = text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (!occ_kind_from_name(kind_name, &settings.kind))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid version kind \"%s\"", kind_name),
				 errhint("Valid kinds are \"integer\" and \"timestamp\".")));
	settings.mode = mode_argument(fcinfo, 3);
	mode_given = !PG_ARGISNULL(3);

	rel = open_table_for_alter(fcinfo, PG_GETARG_OID(0), &info);
	if (!info.enabled)
	{
		attnum = get_attnum(RelationGetRelid(rel), settings.version_column);
		if (attnum != InvalidAttrNumber)
			needs_not_null = occ_check_adopted_column(rel, attnum, settings.kind);
		refuse_other_writers(rel, settings.version_column);
		refuse_protected_partitions(rel, occ_schema_name(fcinfo),
									settings.version_column);
	}
	relation_close(rel, NoLock);

	if (info.enabled)
	{
		/* Already enabled: never stack a second trigger. */
		if (strcmp(info.settings.version_column, settings.version_column) != 0 ||
			info.settings.kind != settings.kind)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("relation \"%s\" is already enabled with %s version column \"%s\"",
							info.name, occ_kind_name(info.settings.kind),
							info.settings.version_column),
					 errhint("Call occ.disable() first to change the version column or kind.")));

		if (mode_given && info.settings.mode != settings.mode)
		{
			if (info.trigger_is_clone)
				refuse_clone(&info);
			occ_replace_trigger(occ_schema_name(fcinfo), &info, &settings);
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

	if (attnum == InvalidAttrNumber)
	{
		/*
		 * The default is a constant or a stable expression, so PostgreSQL
		 * stores it once in the catalog instead of rewriting the table.
		 */
		occ_execute_ddl(psprintf("ALTER TABLE %s ADD COLUMN %s %s",
							 info.qualified_name,
							 quote_identifier(settings.version_column),
							 settings.kind == OCC_KIND_INTEGER ?
							 "pg_catalog.int8 NOT NULL DEFAULT 1" :
							 "pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()"));
	}
	else if (needs_not_null)
	{
		/* Fails with PostgreSQL's own error if the column holds NULLs. */
		occ_execute_ddl(psprintf("ALTER TABLE %s ALTER COLUMN %s SET NOT NULL",
							 info.qualified_name,
							 quote_identifier(settings.version_column)));
	}

	occ_create_trigger(occ_schema_name(fcinfo), &info, OCC_TRIGGER_NAME, &settings);
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
 * occ.set_mode(tbl regclass, mode text)
 */
Datum
occ_set_mode(PG_FUNCTION_ARGS)
{
	OccTableInfo	info;
	OccMode		mode;

	mode = mode_argument(fcinfo, 1);
	lookup_enabled_table(fcinfo, &info);

	if (info.settings.mode != mode)
	{
		info.settings.mode = mode;
		occ_replace_trigger(occ_schema_name(fcinfo), &info, &info.settings);
	}
	PG_RETURN_VOID();
}

/*
 * occ.trigger_settings(tgnargs int2, tgargs bytea)
 *		RETURNS (version_column name, kind text, mode text, effective_mode text)
 *
 * Decodes pg_trigger.tgargs of an occ trigger for the occ.tables view.
 * tgargs holds the arguments one after the other, each ending in a NUL.
 */
Datum
occ_decode_trigger_settings(PG_FUNCTION_ARGS)
{
	int			nargs = PG_GETARG_INT16(0);
	bytea	   *raw = PG_GETARG_BYTEA_PP(1);
	const char *p = VARDATA_ANY(raw);
	const char *end = p + VARSIZE_ANY_EXHDR(raw);
	char	   *args[3];
	OccTableSettings settings;
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	Name		column;
	int			i;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	for (i = 0; i < nargs && i < (int) lengthof(args); i++)
	{
		size_t		len = strnlen(p, end - p);

		/* each argument ends in a NUL, and is text in the database encoding */
		if (p + len >= end || !pg_verifymbstr(p, len, true))
			break;
		args[i] = pnstrdup(p, len);
		p += len + 1;
	}
	if (i != nargs || !occ_decode_trigger_args(nargs, args, &settings))
		PG_RETURN_NULL();

	/* a name longer than a column name can be is cut at a character boundary */
	column = palloc0(NAMEDATALEN);
	memcpy(NameStr(*column), settings.version_column,
		   pg_mbcliplen(settings.version_column, strlen(settings.version_column),
						NAMEDATALEN - 1));
	values[0] = NameGetDatum(column);
	values[1] = CStringGetTextDatum(occ_kind_name(settings.kind));
	if (settings.mode == OCC_MODE_DEFAULT)
		nulls[2] = true;
	else
		values[2] = CStringGetTextDatum(occ_mode_name(settings.mode));
	values[3] = CStringGetTextDatum(occ_mode_name(settings.mode == OCC_MODE_DEFAULT ?
												  occ_effective_default_mode() :
												  settings.mode));

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
