/*-------------------------------------------------------------------------
 *
 * settings.c
 *	  The configuration parameters of occ, and the names of modes.
 *
 * occ.default_mode is the mode of every table whose own mode is "default".
 * Lowering it weakens checks for many tables at once, so it is PGC_SUSET:
 * superusers, or roles granted SET on it (PostgreSQL 15+), per cluster,
 * database or role.
 *
 * The library is loaded on first use, so when a session starts the setting
 * is a placeholder, which holds only one value.  A client that names
 * occ.default_mode in its startup packet (-c in PGOPTIONS) replaces the
 * value that the DBA configured for the cluster, database or role with its
 * own; when the library loads, PostgreSQL refuses the client's value if
 * the client may not set it, and the setting would be left at its built-in
 * default.  So when the placeholder held a value from the startup packet,
 * the values the DBA configured are read again, from the configuration
 * files and pg_db_role_setting, at their own priorities (see
 * occ_restore_configured_default_mode).  A value given on the postmaster's
 * command line cannot be read again; the README says to configure it in a
 * file or with ALTER DATABASE / ALTER ROLE.  SET before the library loads
 * needs nothing: it does not replace the configured value, and is refused
 * on its own when the library loads.
 *
 * occ.default_audit is the audit level of every table whose own audit
 * level is "default" (see audit.c).  Lowering it would let a user silence
 * the reports a DBA asked for, so it is privileged exactly like
 * occ.default_mode, and restored the same way: everything said above of
 * occ.default_mode holds for both (privileged_settings).
 *
 * occ.audit_client_messages only decides whether the session's own client
 * gets audit reports as warnings: the server log gets them regardless, so
 * anyone may set it, per role or database included.
 *
 * occ.error_style only changes which SQLSTATEs report the same refusals,
 * so anyone may set it; PostgREST deployments set it to "http".
 *
 * occ.if_match is the version a session expects for writes that do not
 * assign the version column.  Any user may set it, preferably with SET
 * LOCAL.  It deliberately has no check hook: a value set before the library
 * was loaded would be rejected with a mere warning when the placeholder is
 * converted, and then silently ignored.  Instead the value is parsed when a
 * write uses it, and a malformed value fails that write.  The assign hook
 * only bumps a generation counter so the trigger knows when to re-parse.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#if PG_VERSION_NUM < 150000
#include "catalog/indexing.h"	/* DbRoleSettingDatidRolidIndexId */
#endif
#include "catalog/pg_db_role_setting.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "settings.h"

#define DEFAULT_MODE_NAME	"occ.default_mode"
#define DEFAULT_AUDIT_NAME	"occ.default_audit"

/*
 * The privileged settings, which a client's startup packet must not
 * replace (see the file header).
 */
static const char *const privileged_settings[] = {
	DEFAULT_MODE_NAME,
	DEFAULT_AUDIT_NAME
};

int			occ_default_mode = OCC_MODE_LAX;
int			occ_default_audit = OCC_MODE_NONE;
bool		occ_audit_client_messages = true;
int			occ_error_style = OCC_ERROR_STYLE_SQLSTATE;
char	   *occ_if_match = NULL;

/* Incremented whenever occ.if_match changes, including SET LOCAL reverts. */
uint64		occ_if_match_generation = 0;

static const struct config_enum_entry default_mode_options[] = {
	{"strict", OCC_MODE_STRICT, false},
	{"lax", OCC_MODE_LAX, false},
	{"none", OCC_MODE_NONE, false},
	{NULL, 0, false}
};

static const struct config_enum_entry error_style_options[] = {
	{"sqlstate", OCC_ERROR_STYLE_SQLSTATE, false},
	{"http", OCC_ERROR_STYLE_HTTP, false},
	{NULL, 0, false}
};

static void
assign_if_match(const char *newval, void *extra)
{
	(void) newval;
	(void) extra;
	occ_if_match_generation++;
}

/* Set when the configured privileged settings must be read again. */
bool		occ_default_mode_to_restore = false;

/* Is this the name of one of the privileged settings? */
static bool
is_privileged_setting(const char *name)
{
	int			i;

	for (i = 0; i < (int) lengthof(privileged_settings); i++)
		if (pg_strcasecmp(name, privileged_settings[i]) == 0)
			return true;
	return false;
}

/*
 * Did a value from the client's startup packet replace the configured
 * value of the placeholder of a privileged setting?  Startup packet values
 * are the only ones that become a placeholder's reset value with a higher
 * priority than the configured ones.
 */
static bool
startup_packet_replaced(const char *name)
{
	struct config_generic *placeholder = NULL;

#if PG_VERSION_NUM >= 160000
	placeholder = find_option(name, false, true, DEBUG1);
#else
	struct config_generic **variables = get_guc_variables();
	int			n = GetNumConfigOptions();
	int			i;

	for (i = 0; i < n; i++)
		if (pg_strcasecmp(variables[i]->name, name) == 0)
			placeholder = variables[i];
#endif
	return placeholder != NULL && placeholder->reset_source == PGC_S_CLIENT;
}

/* Did the startup packet replace any privileged setting? */
static bool
startup_packet_replaced_privileged(void)
{
	int			i;

	for (i = 0; i < (int) lengthof(privileged_settings); i++)
		if (startup_packet_replaced(privileged_settings[i]))
			return true;
	return false;
}

/*
 * Apply the last value of each privileged setting found in the
 * configuration files, in the order the postmaster reads them, as the
 * postmaster applies it.
 */
static void
restore_from_configuration_files(void)
{
	ConfigVariable *head = NULL;
	ConfigVariable *tail = NULL;
	ConfigVariable *item;
	int			i;

	if (ConfigFileName == NULL ||
		!ParseConfigFile(ConfigFileName, true, NULL, 0, 0, DEBUG2, &head, &tail) ||
		!ParseConfigFile(PG_AUTOCONF_FILENAME, false, NULL, 0, 0, DEBUG2, &head, &tail))
	{
		FreeConfigVariables(head);
		return;
	}
	for (i = 0; i < (int) lengthof(privileged_settings); i++)
	{
		const char *value = NULL;

		for (item = head; item != NULL; item = item->next)
			if (pg_strcasecmp(item->name, privileged_settings[i]) == 0)
				value = item->value;
		if (value != NULL)
			(void) set_config_option(privileged_settings[i], value, PGC_SIGHUP,
									 PGC_S_FILE, GUC_ACTION_SET, true, WARNING,
									 false);
	}
	FreeConfigVariables(head);
}

/*
 * Apply the privileged settings from one pg_db_role_setting entry, as
 * ApplySetting applies all of its settings at session start.
 */
static void
restore_from_db_role_setting(Relation relsetting, Snapshot snapshot,
							 Oid databaseid, Oid roleid, GucSource source)
{
	ScanKeyData keys[2];
	SysScanDesc scan;
	HeapTuple	tuple;

	ScanKeyInit(&keys[0], Anum_pg_db_role_setting_setdatabase,
				BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(databaseid));
	ScanKeyInit(&keys[1], Anum_pg_db_role_setting_setrole,
				BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(roleid));
	scan = systable_beginscan(relsetting, DbRoleSettingDatidRolidIndexId, true,
							  snapshot, 2, keys);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		config;
		Datum	   *items;
		int			nitems;
		int			i;

		config = heap_getattr(tuple, Anum_pg_db_role_setting_setconfig,
							  RelationGetDescr(relsetting), &isnull);
		if (isnull)
			continue;
		deconstruct_array(DatumGetArrayTypeP(config), TEXTOID, -1, false,
						  TYPALIGN_INT, &items, NULL, &nitems);
		for (i = 0; i < nitems; i++)
		{
			char	   *name;
			char	   *value;

			ParseLongOption(TextDatumGetCString(items[i]), &name, &value);
			if (value != NULL && is_privileged_setting(name))
				(void) set_config_option(name, value, PGC_SUSET, source,
										 GUC_ACTION_SET, true, WARNING, false);
		}
	}
	systable_endscan(scan);
}

/*
 * Read the configured privileged settings again (see the file header).  Each
 * value is applied at its own priority, so the one that wins is the one
 * that would have won had the client not named the setting; a value the
 * client was allowed to set still wins over all of them.
 */
void
occ_restore_configured_default_mode(void)
{
	Relation	relsetting;
	Snapshot	snapshot;
	Oid			databaseid = MyDatabaseId;
	Oid			roleid = GetSessionUserId();

	occ_default_mode_to_restore = false;

	restore_from_configuration_files();

	relsetting = table_open(DbRoleSettingRelationId, AccessShareLock);
	snapshot = RegisterSnapshot(GetCatalogSnapshot(DbRoleSettingRelationId));
	restore_from_db_role_setting(relsetting, snapshot, databaseid, roleid,
								 PGC_S_DATABASE_USER);
	restore_from_db_role_setting(relsetting, snapshot, InvalidOid, roleid,
								 PGC_S_USER);
	restore_from_db_role_setting(relsetting, snapshot, databaseid, InvalidOid,
								 PGC_S_DATABASE);
	restore_from_db_role_setting(relsetting, snapshot, InvalidOid, InvalidOid,
								 PGC_S_GLOBAL);
	UnregisterSnapshot(snapshot);
	table_close(relsetting, AccessShareLock);
}

/*
 * Define occ's GUCs.  Called once from _PG_init.
 */
void
occ_define_settings(void)
{
	occ_default_mode_to_restore = startup_packet_replaced_privileged();

	DefineCustomEnumVariable(DEFAULT_MODE_NAME,
							 "Sets the check mode of tables that have no mode of their own.",
							 "strict refuses writes that state no version, lax checks only "
							 "writes that state one, none checks nothing.",
							 &occ_default_mode,
							 OCC_MODE_LAX,
							 default_mode_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("occ.if_match",
							   "Sets the row version that UPDATE and DELETE expect.",
							   "A plain version value, an entity tag such as \"3\", a comma-separated "
							   "list of entity tags, or * for any existing row. Empty means unset.",
							   &occ_if_match,
							   "",
							   PGC_USERSET,
							   0,
							   NULL, assign_if_match, NULL);

	DefineCustomEnumVariable("occ.error_style",
							 "Sets the SQLSTATEs of stale and unstated writes.",
							 "sqlstate raises 40V01 and 23V01; http raises PT412 and PT428, "
							 "which PostgREST answers with those HTTP statuses, and leaves "
							 "each updated row's entity tag in response.headers.",
							 &occ_error_style,
							 OCC_ERROR_STYLE_SQLSTATE,
							 error_style_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomEnumVariable(DEFAULT_AUDIT_NAME,
							 "Sets the audit level of tables that have no audit level of their own.",
							 "A table is audited at this level where it is stricter than the "
							 "table's mode: the writes that it would refuse are let through "
							 "and reported.",
							 &occ_default_audit,
							 OCC_MODE_NONE,
							 default_mode_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("occ.audit_client_messages",
							 "Sends audit reports to the client as warnings.",
							 "The server log gets each report whatever this says.",
							 &occ_audit_client_messages,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("occ");
#else
	EmitWarningsOnPlaceholders("occ");
#endif

	/* Loaded on first use, the library is normally inside a transaction. */
	if (occ_default_mode_to_restore && IsTransactionState())
		occ_restore_configured_default_mode();
}

/*
 * Names of modes, as they appear in trigger arguments, in the
 * arguments of occ.enable and occ.set_mode, and in occ.tables.
 */
const char *
occ_mode_name(OccMode mode)
{
	switch (mode)
	{
		case OCC_MODE_STRICT:
			return "strict";
		case OCC_MODE_LAX:
			return "lax";
		case OCC_MODE_NONE:
			return "none";
		case OCC_MODE_DEFAULT:
			return "default";
	}
	return NULL;				/* keep compiler quiet */
}

bool
occ_mode_from_name(const char *name, OccMode *mode)
{
	if (strcmp(name, "strict") == 0)
		*mode = OCC_MODE_STRICT;
	else if (strcmp(name, "lax") == 0)
		*mode = OCC_MODE_LAX;
	else if (strcmp(name, "none") == 0)
		*mode = OCC_MODE_NONE;
	else if (strcmp(name, "default") == 0)
		*mode = OCC_MODE_DEFAULT;
	else
		return false;
	return true;
}
