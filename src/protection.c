/*-------------------------------------------------------------------------
 *
 * protection.c
 *	  The occ trigger of a table: where a table's settings live, how they
 *	  are written and read, when a trigger protects its table, the DDL
 *	  that creates and replaces it, which columns can hold versions, and
 *	  the view occ.tables.
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
 * The arguments describe themselves, so that new per-table options need no
 * new position:
 *
 *		occ.check_version('format=1', 'column=version', 'kind=integer',
 *						  'mode=default')
 *
 * An audit level ('audit=strict' or 'audit=lax') is written only when the
 * table has one of its own, so that the triggers of tables that follow
 * occ.default_audit read as they did before audit levels existed.
 *
 * "format" comes first and says how to read the rest; every other argument
 * is key=value, each key at most once, and a key this version of occ does
 * not know makes the trigger invalid (a newer occ's trigger is refused, not
 * half understood).  The value is everything after the first "=", so a
 * column name may hold one.
 *
 * A trigger protects its table when it is defined the way occ.enable
 * defines it (BEFORE UPDATE OR DELETE FOR EACH ROW, no WHEN condition, no
 * column list), its arguments can be read, and it fires in ordinary
 * sessions.  The trigger, the DDL guard, the wrappers and the view ask the
 * functions here, and nothing else decides it.
 *
 * Cache.  The trigger and the wrappers need the decoded settings and the
 * version column's number and type on every write: occ_protected_table()
 * keeps them per table for the backend, in a memory context of their own.
 * An entry is marked invalid when its table's relcache entry is, and
 * invalid entries are removed -- those of dropped tables with them -- the
 * next time an entry has to be built.  Callers that keep a pointer to an
 * entry across calls (the trigger, for a statement) keep the cache epoch
 * with it and look the entry up again when the epoch has moved on.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tupmacs.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type_d.h"
#include "commands/comment.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "citus.h"
#include "protection.h"

PG_FUNCTION_INFO_V1(occ_protected_tables);

/* The format of the trigger's arguments that this code writes and reads. */
#define TRIGGER_ARGS_FORMAT		"format=1"

/*
 * The trigger type occ.enable creates: BEFORE UPDATE OR DELETE FOR EACH ROW,
 * and for a kind that appends (kind stream) BEFORE INSERT OR UPDATE OR
 * DELETE.
 */
#define OCC_TRIGGER_TYPE \
	(TRIGGER_TYPE_ROW | TRIGGER_TYPE_BEFORE | TRIGGER_TYPE_UPDATE | TRIGGER_TYPE_DELETE)
#define OCC_APPEND_TRIGGER_TYPE (OCC_TRIGGER_TYPE | TRIGGER_TYPE_INSERT)

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
 * Decode the arguments of an occ trigger into *settings, pointing into the
 * arguments.  Returns false if they are not arguments occ.enable could have
 * written.  "exclude" is the one key that may repeat: a content kind's
 * excluded columns, one per argument, so that a name may hold any
 * character.
 */
bool
occ_decode_trigger_args(int nargs, char **args, OccTableSettings *settings)
{
	bool		have_mode = false;
	bool		have_audit = false;
	int			i;
	int			j;

	settings->version_column = NULL;
	settings->kind = NULL;
	settings->mode = OCC_MODE_DEFAULT;
	settings->audit = OCC_MODE_DEFAULT;
	settings->nexclude = 0;
	settings->exclude = NULL;
	settings->stream_column = NULL;

	if (nargs < 1 || strcmp(args[0], TRIGGER_ARGS_FORMAT) != 0)
		return false;

	for (i = 1; i < nargs; i++)
	{
		char	   *value = strchr(args[i], '=');
		size_t		keylen;

		if (value == NULL)
			return false;
		keylen = value - args[i];
		value++;

		if (keylen == strlen("column") && strncmp(args[i], "column", keylen) == 0)
		{
			if (settings->version_column != NULL || value[0] == '\0')
				return false;
			settings->version_column = value;
		}
		else if (keylen == strlen("kind") && strncmp(args[i], "kind", keylen) == 0)
		{
			if (settings->kind != NULL ||
				(settings->kind = occ_kind_by_name(value)) == NULL)
				return false;
		}
		else if (keylen == strlen("mode") && strncmp(args[i], "mode", keylen) == 0)
		{
			if (have_mode || !occ_mode_from_name(value, &settings->mode))
				return false;
			have_mode = true;
		}
		else if (keylen == strlen("audit") && strncmp(args[i], "audit", keylen) == 0)
		{
			/* only a level of its own is written: see the file header */
			if (have_audit || !occ_mode_from_name(value, &settings->audit) ||
				settings->audit == OCC_MODE_DEFAULT ||
				settings->audit == OCC_MODE_NONE)
				return false;
			have_audit = true;
		}
		else if (keylen == strlen("stream") && strncmp(args[i], "stream", keylen) == 0)
		{
			if (settings->stream_column != NULL || value[0] == '\0')
				return false;
			settings->stream_column = value;
		}
		else if (keylen == strlen("exclude") && strncmp(args[i], "exclude", keylen) == 0)
		{
			if (value[0] == '\0')
				return false;
			for (j = 0; j < settings->nexclude; j++)
				if (strcmp(settings->exclude[j], value) == 0)
					return false;
			if (settings->exclude == NULL)
				settings->exclude = palloc(sizeof(char *) * nargs);
			settings->exclude[settings->nexclude++] = value;
		}
		else
			return false;		/* a key this version does not know */
	}

	if (settings->kind == NULL || !have_mode)
		return false;
	/* an audit level is stricter than the table's own mode (enable.c) */
	if (settings->audit != OCC_MODE_DEFAULT && settings->mode != OCC_MODE_DEFAULT &&
		settings->audit >= settings->mode)
		return false;
	/* a column for the kinds that keep their version in one, else none */
	if (settings->kind->is_content)
		return settings->version_column == NULL && settings->stream_column == NULL;
	if (settings->kind->appends != (settings->stream_column != NULL))
		return false;
	return settings->version_column != NULL && settings->nexclude == 0;
}

/*
 * The arguments for a trigger with these settings, as SQL literals for
 * CREATE TRIGGER.
 */
char *
occ_encode_trigger_args(const OccTableSettings *settings)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfoString(&buf, quote_literal_cstr(TRIGGER_ARGS_FORMAT));
	if (settings->version_column != NULL)
		appendStringInfo(&buf, ", %s",
						 quote_literal_cstr(psprintf("column=%s", settings->version_column)));
	appendStringInfo(&buf, ", %s, %s",
					 quote_literal_cstr(psprintf("kind=%s", settings->kind->name)),
					 quote_literal_cstr(psprintf("mode=%s", occ_mode_name(settings->mode))));
	if (settings->audit != OCC_MODE_DEFAULT)
		appendStringInfo(&buf, ", %s",
						 quote_literal_cstr(psprintf("audit=%s", occ_mode_name(settings->audit))));
	if (settings->stream_column != NULL)
		appendStringInfo(&buf, ", %s",
						 quote_literal_cstr(psprintf("stream=%s", settings->stream_column)));
	for (i = 0; i < settings->nexclude; i++)
		appendStringInfo(&buf, ", %s",
						 quote_literal_cstr(psprintf("exclude=%s", settings->exclude[i])));
	return buf.data;
}

/*
 * How many columns of rel a content kind with these settings hashes: those
 * neither dropped nor excluded.  None would make every row's version the
 * same, so that no write could be found stale: enabling, a hand-made
 * trigger and DDL that would leave none are refused.
 */
int
occ_counted_columns(Relation rel, const OccTableSettings *settings)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			counted = 0;
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(desc, i);

		if (!attr->attisdropped &&
			!occ_settings_exclude(settings, NameStr(attr->attname)))
			counted++;
	}
	return counted;
}

/* Is the column among the settings' excluded columns? */
bool
occ_settings_exclude(const OccTableSettings *settings, const char *column)
{
	int			i;

	for (i = 0; i < settings->nexclude; i++)
		if (strcmp(settings->exclude[i], column) == 0)
			return true;
	return false;
}

/*
 * Is a trigger with this type, WHEN condition and column list defined the
 * way occ.enable defines it, firing for every UPDATE and DELETE, and for a
 * kind that appends for every INSERT too?  Anything else would protect
 * only some writes.  "kind" is NULL before the arguments are read: then
 * either type will do.
 */
static bool
definition_is_well_formed(int16 tgtype, bool has_qual, int nattr,
						  const OccKindOps *kind)
{
	if (has_qual || nattr != 0)
		return false;
	if (kind == NULL)
		return tgtype == OCC_TRIGGER_TYPE || tgtype == OCC_APPEND_TRIGGER_TYPE;
	return tgtype == (kind->appends ? OCC_APPEND_TRIGGER_TYPE : OCC_TRIGGER_TYPE);
}

bool
occ_trigger_is_well_formed(const Trigger *trigger)
{
	return definition_is_well_formed(trigger->tgtype, trigger->tgqual != NULL,
									 trigger->tgnattr, NULL);
}

/* Refuse a trigger not defined the way occ.enable defines it. */
static void
refuse_definition(Relation rel, Trigger *trigger)
{
	ereport(ERROR,
			(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
			 errmsg("trigger \"%s\" on relation \"%s\" is not defined the way occ.enable() defines it",
					trigger->tgname, RelationGetRelationName(rel)),
			 errdetail("An occ trigger must fire BEFORE UPDATE OR DELETE FOR EACH ROW (for kind stream BEFORE INSERT OR UPDATE OR DELETE), with no WHEN condition and no column list."),
			 errhint("Drop the trigger and call occ.enable() again.")));
}

/*
 * The settings of the table that an occ trigger protects, or an error if
 * the trigger was not created the way occ.enable creates it.  The settings
 * point into the trigger's arguments.
 */
void
occ_trigger_settings(Relation rel, Trigger *trigger, OccTableSettings *settings)
{
	if (!occ_trigger_is_well_formed(trigger))
		refuse_definition(rel, trigger);
	if (!occ_decode_trigger_args(trigger->tgnargs, trigger->tgargs, settings))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger \"%s\" on relation \"%s\" has invalid arguments",
						trigger->tgname, RelationGetRelationName(rel)),
				 errhint("Drop the trigger and call occ.enable() again.")));
	/* the events it fires for depend on the kind */
	if (!definition_is_well_formed(trigger->tgtype, false, 0, settings->kind))
		refuse_definition(rel, trigger);
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
		if (info->settings.version_column != NULL)
			info->settings.version_column = pstrdup(info->settings.version_column);
		for (i = 0; i < info->settings.nexclude; i++)
			info->settings.exclude[i] = pstrdup(info->settings.exclude[i]);
		if (info->settings.stream_column != NULL)
			info->settings.stream_column = pstrdup(info->settings.stream_column);
		info->enabled = true;
		info->trigger_name = pstrdup(trigger->tgname);
		info->trigger_is_clone = trigger->tgisclone;
		info->trigger_enabled = trigger->tgenabled;
		return;
	}
}

/*
 * Can the column attnum of rel serve as a version column of this kind?
 * Raises an error if not; "use" says who asks, for the hint.  A column
 * whose type cannot hold the kind's versions is always 42804, whoever
 * finds it: occ.enable adopting a column, the DDL guard after an ALTER, the
 * trigger finding the column changed behind its back.
 */
void
occ_check_version_column(Relation rel, AttrNumber attnum,
						 const OccKindOps *kind, OccColumnUse use)
{
	Form_pg_attribute attr;

	if (attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_COLUMN_DEFINITION),
				 errmsg("system column \"%s\" cannot be a version column",
						get_attname(RelationGetRelid(rel), attnum, false))));

	attr = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
	if (!kind->column_fits(attr->atttypid))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation \"%s\" has type %s, which cannot hold %s versions",
						NameStr(attr->attname), RelationGetRelationName(rel),
						format_type_be(attr->atttypid), kind->name),
				 use == OCC_COLUMN_ADOPTED ?
				 errhint("Versions of kind %s need a column of type %s.",
						 kind->name, kind->column_types) :
				 use == OCC_COLUMN_ALTERED ?
				 errhint("Versions of kind %s need a column of type %s; call occ.disable() first to change it to another type.",
						 kind->name, kind->column_types) :
				 errhint("Call occ.disable() and occ.enable() for the relation again.")));
	if (attr->attidentity || attr->attgenerated)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_COLUMN_DEFINITION),
				 errmsg("column \"%s\" of relation \"%s\" is an identity or generated column",
						NameStr(attr->attname), RelationGetRelationName(rel)),
				 errdetail("A version column must be writable by UPDATE."),
				 use == OCC_COLUMN_ALTERED ?
				 errhint("Call occ.disable() first.") : 0));
}

/*
 * Execute one DDL command through SPI, as the current user.
 */
void
occ_execute_ddl(const char *sql)
{
	/* Citus accepts DDL on the triggers of its tables only when told to */
	int			nestlevel = occ_citus_allow_triggers();

	SPI_connect();
	if (SPI_execute(sql, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "SPI_execute failed: %s", sql);
	SPI_finish();
	occ_citus_end_allow_triggers(nestlevel);
}

/*
 * Create the occ trigger on the table.
 */
void
occ_create_trigger(const char *schema, OccTableInfo *info,
				   const char *trigger_name, const OccTableSettings *settings)
{
	occ_execute_ddl(psprintf("CREATE TRIGGER %s BEFORE %sUPDATE OR DELETE ON %s "
							 "FOR EACH ROW EXECUTE FUNCTION %s.check_version(%s)",
							 quote_identifier(trigger_name),
							 settings->kind->appends ? "INSERT OR " : "",
							 info->qualified_name,
							 quote_identifier(schema),
							 occ_encode_trigger_args(settings)));
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

/* ----------------------------------------------------------------
 * The cache of protected tables
 * ----------------------------------------------------------------
 */

static MemoryContext protected_tables_context = NULL;
static HTAB *protected_tables = NULL;
uint64		occ_protected_tables_epoch = 1;
static bool protected_tables_any_invalid = false;

static void
invalidate_protected_tables(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	OccProtectedTable *table;

	(void) arg;
	hash_seq_init(&status, protected_tables);
	while ((table = hash_seq_search(&status)) != NULL)
		if (relid == InvalidOid || table->relid == relid)
		{
			table->valid = false;
			protected_tables_any_invalid = true;
		}
}

/*
 * Remove the invalid entries, among them those of dropped tables, so that
 * the cache holds only tables in use.  Pointers kept across calls are now
 * stale: the epoch moves on.
 */
static void
remove_invalid_entries(void)
{
	HASH_SEQ_STATUS status;
	OccProtectedTable *table;

	hash_seq_init(&status, protected_tables);
	while ((table = hash_seq_search(&status)) != NULL)
		if (!table->valid)
		{
			if (table->content != NULL)
				pfree(table->content);
			if (table->stream != NULL)
				pfree(table->stream);
			(void) hash_search(protected_tables, &table->relid, HASH_REMOVE, NULL);
		}
	protected_tables_any_invalid = false;
	occ_protected_tables_epoch++;
}

/*
 * The table whose occ trigger this one is: rel's own, or, for a partition's
 * clone, that of the partitioned table that was enabled, found by
 * following pg_trigger.tgparentid up.  Nothing is locked: the catalog rows
 * are read as lsyscache reads them.
 */
Oid
occ_trigger_origin_relid(Relation rel, Trigger *trigger)
{
	Relation	pg_trigger;
	Oid			tgoid = trigger->tgoid;
	Oid			relid = RelationGetRelid(rel);

	if (!trigger->tgisclone)
		return relid;

	pg_trigger = table_open(TriggerRelationId, AccessShareLock);
	while (OidIsValid(tgoid))
	{
		ScanKeyData key;
		SysScanDesc scan;
		HeapTuple	tuple;
		Form_pg_trigger form;

		ScanKeyInit(&key, Anum_pg_trigger_oid, BTEqualStrategyNumber,
					F_OIDEQ, ObjectIdGetDatum(tgoid));
		scan = systable_beginscan(pg_trigger, TriggerOidIndexId, true,
								  NULL, 1, &key);
		tuple = systable_getnext(scan);
		if (!HeapTupleIsValid(tuple))
			elog(ERROR, "could not find tuple for trigger %u", tgoid);
		form = (Form_pg_trigger) GETSTRUCT(tuple);
		relid = form->tgrelid;
		tgoid = form->tgparentid;
		systable_endscan(scan);
	}
	table_close(pg_trigger, AccessShareLock);
	return relid;
}

/*
 * Fill a cache entry from the table's occ trigger and its version column,
 * or for a content kind its plan of what to hash.
 */
static void
build_entry(OccProtectedTable *table, Relation rel, Trigger *trigger)
{
	OccTableSettings settings;
	TupleDesc	desc = RelationGetDescr(rel);
	Form_pg_attribute attr;

	table->valid = false;
	table->tgoid = trigger->tgoid;
	table->origin_relid = occ_trigger_origin_relid(rel, trigger);
	if (table->content != NULL)
		pfree(table->content);
	table->content = NULL;
	if (table->stream != NULL)
		pfree(table->stream);
	table->stream = NULL;
	occ_trigger_settings(rel, trigger, &settings);
	table->is_partition = rel->rd_rel->relispartition;

	if (settings.kind->is_content)
	{
		table->content = occ_content_plan(rel, table->origin_relid,
										  settings.nexclude, settings.exclude,
										  protected_tables_context);
		table->settings = settings;
		table->settings.nexclude = 0;
		table->settings.exclude = NULL;
		table->attnum = InvalidAttrNumber;
		table->column.relname = NULL;
		table->column.name = NULL;
		table->column.typid = InvalidOid;
		table->column.typmod = -1;
		table->valid = true;
		return;
	}

	table->attnum = InvalidAttrNumber;
	if (strlen(settings.version_column) < NAMEDATALEN)
		table->attnum = get_attnum(RelationGetRelid(rel), settings.version_column);
	if (table->attnum == InvalidAttrNumber || table->attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("version column \"%s\" of relation \"%s\" does not exist",
						settings.version_column,
						RelationGetRelationName(rel)),
				 errhint("Call occ.disable() and occ.enable() for the relation again.")));
	occ_check_version_column(rel, table->attnum, settings.kind, OCC_COLUMN_IN_USE);

	if (settings.kind->appends)
		table->stream = occ_stream_table(rel, table->origin_relid,
										 settings.stream_column, table->attnum,
										 protected_tables_context);

	table->settings = settings;
	table->settings.stream_column = NULL;	/* not kept: see table->stream */
	namestrcpy(&table->column_name, settings.version_column);
	table->settings.version_column = NameStr(table->column_name);

	attr = TupleDescAttr(desc, table->attnum - 1);
	table->column.relname = NULL;	/* set by occ_protected_table */
	table->column.name = NameStr(table->column_name);
	table->column.typid = attr->atttypid;
	table->column.typmod = attr->atttypmod;
	table->typlen = attr->attlen;
	table->typalign = attr->attalign;

	table->walk_from = 0;
	table->walk_from_off = 0;
	while (table->walk_from < table->attnum - 1)
	{
		Form_pg_attribute att = TupleDescAttr(desc, table->walk_from);

		if (att->attlen <= 0)
			break;
		table->walk_from_off = att_align_nominal(table->walk_from_off, att->attalign) +
			att->attlen;
		table->walk_from++;
	}

	table->valid = true;
}

/*
 * The decoded settings of a table protected by this occ trigger, from the
 * cache or built.  *epoch receives the cache's epoch, for callers that keep
 * the pointer (see occ_protected_table_current).  The relation name in
 * table->column is the relation's own, valid while it is open.
 */
OccProtectedTable *
occ_protected_table(Relation rel, Trigger *trigger, uint64 *epoch)
{
	Oid			relid = RelationGetRelid(rel);
	OccProtectedTable *table;
	bool		found;

	if (protected_tables == NULL)
	{
		HASHCTL		ctl;

		protected_tables_context = AllocSetContextCreate(CacheMemoryContext,
														 "occ protected tables",
														 ALLOCSET_SMALL_SIZES);
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(OccProtectedTable);
		ctl.hcxt = protected_tables_context;
		protected_tables = hash_create("occ protected tables", 32, &ctl,
									   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(invalidate_protected_tables, (Datum) 0);
	}

	table = hash_search(protected_tables, &relid, HASH_FIND, NULL);
	if (table == NULL || !table->valid || table->tgoid != trigger->tgoid)
	{
		if (protected_tables_any_invalid)
			remove_invalid_entries();
		table = hash_search(protected_tables, &relid, HASH_ENTER, &found);
		if (!found)
		{
			table->valid = false;
			table->content = NULL;
			table->stream = NULL;
		}
		build_entry(table, rel, trigger);
	}
	table->column.relname = RelationGetRelationName(rel);
	*epoch = occ_protected_tables_epoch;
	return table;
}

/* ----------------------------------------------------------------
 * The view occ.tables
 * ----------------------------------------------------------------
 */

/*
 * The arguments of a pg_trigger row, which tgargs holds one after the
 * other, each ending in a NUL; false if they cannot be read as text in the
 * database encoding.
 */
static bool
split_tgargs(bytea *raw, int nargs, char ***args)
{
	const char *p = VARDATA_ANY(raw);
	const char *end = p + VARSIZE_ANY_EXHDR(raw);
	int			i;

	*args = palloc(sizeof(char *) * Max(nargs, 1));
	for (i = 0; i < nargs; i++)
	{
		size_t		len = strnlen(p, end - p);

		if (p + len >= end || !pg_verifymbstr(p, len, true))
			return false;
		(*args)[i] = pnstrdup(p, len);
		p += len + 1;
	}
	return true;
}

/*
 * A name from a trigger's arguments as a value of type name: one longer
 * than a column name can be is cut at a character boundary.
 */
static Name
clipped_name(const char *name)
{
	Name		result = palloc0(NAMEDATALEN);

	memcpy(NameStr(*result), name,
		   pg_mbcliplen(name, strlen(name), NAMEDATALEN - 1));
	return result;
}

/* A content kind's excluded columns, as a name[] in the order given. */
static Datum
excluded_columns(const OccTableSettings *settings)
{
	Datum	   *names = palloc(sizeof(Datum) * Max(settings->nexclude, 1));
	int			i;

	for (i = 0; i < settings->nexclude; i++)
		names[i] = NameGetDatum(clipped_name(settings->exclude[i]));
	return PointerGetDatum(construct_array(names, settings->nexclude, NAMEOID,
										   NAMEDATALEN, false, TYPALIGN_CHAR));
}

/*
 * occ.protected_tables() RETURNS SETOF (table_name regclass, schema_name
 * name, version_column name, kind text, mode text, effective_mode text,
 * audit text, effective_audit text, excluded_columns name[],
 * stream_column name)
 *
 * One row per table that an occ trigger protects: not a partition's clone
 * (its partitioned table is listed), well formed, enabled for ordinary
 * sessions, with arguments occ can read.  A content kind has no version
 * column (NULL) and a list of excluded columns, maybe empty; the other
 * kinds have no such list (NULL).  A stream kind has a stream column.
 * The audit level is NULL for a table that follows occ.default_audit; the
 * effective one is the level the table is audited at now, NULL where that
 * is not stricter than its effective mode (nothing is audited).
 */
Datum
occ_protected_tables(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			check_version = occ_check_version_oid(
		get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid)));
	TupleDesc	tupdesc;
	Tuplestorestate *tupstore;
	MemoryContext oldcxt;
	Relation	pg_trigger;
	SysScanDesc scan;
	HeapTuple	tuple;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	oldcxt = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	tupdesc = CreateTupleDescCopy(tupdesc);
	tupstore = tuplestore_begin_heap(true, false, work_mem);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = tupstore;
	rsinfo->setDesc = tupdesc;
	MemoryContextSwitchTo(oldcxt);

	pg_trigger = table_open(TriggerRelationId, AccessShareLock);
	scan = systable_beginscan(pg_trigger, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_trigger form = (Form_pg_trigger) GETSTRUCT(tuple);
		TupleDesc	trigger_desc = RelationGetDescr(pg_trigger);
		OccTableSettings settings;
		bool		isnull;
		Datum		attr;
		int			nattr;
		char	  **args;
		Datum		values[10];
		bool		nulls[10] = {false, false, false, false, false,
		false, false, false, false, false};
		char	   *nspname;
		OccMode		effective_mode;
		OccMode		effective_audit;

		if (form->tgfoid != check_version || OidIsValid(form->tgparentid) ||
			(form->tgenabled != TRIGGER_FIRES_ON_ORIGIN &&
			 form->tgenabled != TRIGGER_FIRES_ALWAYS))
			continue;

		attr = heap_getattr(tuple, Anum_pg_trigger_tgattr, trigger_desc, &isnull);
		nattr = isnull ? 0 : ((int2vector *) DatumGetPointer(attr))->dim1;
		(void) heap_getattr(tuple, Anum_pg_trigger_tgqual, trigger_desc, &isnull);
		if (!definition_is_well_formed(form->tgtype, !isnull, nattr, NULL))
			continue;

		attr = heap_getattr(tuple, Anum_pg_trigger_tgargs, trigger_desc, &isnull);
		if (isnull ||
			!split_tgargs(DatumGetByteaPP(attr), form->tgnargs, &args) ||
			!occ_decode_trigger_args(form->tgnargs, args, &settings) ||
			!definition_is_well_formed(form->tgtype, false, 0, settings.kind))
			continue;

		nspname = get_namespace_name(get_rel_namespace(form->tgrelid));
		if (nspname == NULL)
			continue;			/* its table is being dropped */
		values[0] = ObjectIdGetDatum(form->tgrelid);
		values[1] = DirectFunctionCall1(namein, CStringGetDatum(nspname));
		if (settings.version_column == NULL)
			nulls[2] = true;
		else
			values[2] = NameGetDatum(clipped_name(settings.version_column));
		values[3] = CStringGetTextDatum(settings.kind->name);
		if (settings.mode == OCC_MODE_DEFAULT)
			nulls[4] = true;
		else
			values[4] = CStringGetTextDatum(occ_mode_name(settings.mode));
		effective_mode = occ_table_mode(settings.mode);
		values[5] = CStringGetTextDatum(occ_mode_name(effective_mode));
		if (settings.audit == OCC_MODE_DEFAULT)
			nulls[6] = true;
		else
			values[6] = CStringGetTextDatum(occ_mode_name(settings.audit));
		effective_audit = occ_table_audit(settings.audit);
		if (effective_audit < effective_mode)
			values[7] = CStringGetTextDatum(occ_mode_name(effective_audit));
		else
			nulls[7] = true;
		if (settings.kind->is_content)
			values[8] = excluded_columns(&settings);
		else
			nulls[8] = true;
		if (settings.stream_column != NULL)
			values[9] = NameGetDatum(clipped_name(settings.stream_column));
		else
			nulls[9] = true;
		tuplestore_putvalues(tupstore, tupdesc, values, nulls);
	}
	systable_endscan(scan);
	table_close(pg_trigger, AccessShareLock);

	return (Datum) 0;
}
