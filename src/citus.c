/*-------------------------------------------------------------------------
 *
 * citus.c
 *	  What occ does differently when the database uses Citus.
 *
 * occ does not depend on Citus to build or to load: whether Citus is there
 * is decided at run time, by whether the extension "citus" exists in the
 * current database, and Citus's catalogs are read by name, through
 * PostgreSQL's own catalog functions.  Without Citus nothing here changes
 * what occ does.
 *
 * On Citus, a distributed, reference or Citus-local table is an empty
 * "shell" on the node a client is connected to; its rows live in shards,
 * ordinary tables named <table>_<shard id>, mostly on other nodes, where
 * the occ trigger that Citus copied to every shard runs.  Three things
 * follow:
 *
 * - Citus refuses DDL on triggers of its tables unless
 *	 citus.enable_unsafe_triggers is on, because an arbitrary trigger may
 *	 run SQL against other shards.  occ's trigger runs none, so occ turns
 *	 the setting on for its own DDL only, at a GUC nest level that ends with
 *	 that DDL (occ_citus_allow_triggers).
 *
 * - The trigger on a worker sees that worker's settings, not the client's.
 *	 Citus carries a setting to the workers only when it was set with SET
 *	 LOCAL inside a transaction block while citus.propagate_set_commands is
 *	 "local"; occ's utility hook turns that on for each SET LOCAL of
 *	 occ.if_match in a transaction block, so that Citus carries it.  A write
 *	 to a Citus table whose expected version would come from an
 *	 occ.if_match set any other way is refused before it runs
 *	 (occ_citus_check_statement), instead of reaching the shard unchecked.
 *	 The utility hook remembers which value of occ.if_match a carried SET
 *	 LOCAL established (by the setting's generation, which every change,
 *	 including the restore at the end of a transaction, advances).
 *
 *	 That refusal needs occ loaded in the client's session before the
 *	 write starts, which nothing on a Citus table's write path does by
 *	 itself (the shell table's trigger never fires): occ.enable on a Citus
 *	 table, and distributing a table occ protects, require occ in
 *	 shared_preload_libraries or session_preload_libraries.
 *
 * - A stale write's error is raised on the shard: occ names the
 *	 distributed table instead of the shard when Citus's metadata on that
 *	 node says which table the shard belongs to (occ_citus_table_name).
 *
 * - Citus's functions that make a table a Citus table refuse one that has
 *	 triggers, unless citus.enable_unsafe_triggers is on.  When occ's is the
 *	 table's only trigger, occ turns the setting on for that call
 *	 (occ_citus_executor_run), and checks the table as occ.enable would
 *	 have if the table had been a Citus table first.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parse_relation.h"
#include "parser/parsetree.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/varlena.h"

#include "citus.h"
#include "protection.h"
#include "settings.h"
#include "wrappers.h"

static ProcessUtility_hook_type prev_ProcessUtility = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;

/*
 * The generation of occ.if_match that a SET LOCAL propagated by Citus
 * established, or 0 (generations start at 1 once the setting is assigned).
 */
static uint64 propagated_generation = 0;

/* occ's DDL stays on this node (occ_citus_local_ddl) */
static bool local_ddl = false;

/* Does the current database have the extension citus? */
bool
occ_citus_installed(void)
{
	return OidIsValid(get_extension_oid("citus", true));
}

/*
 * Read the row of Citus's catalog pg_dist_partition for relid: whether it
 * is a Citus table, and if so its distribution method ('h' hash, 'n' none:
 * reference or Citus-local, 'a' append, 'r' range) and replication model
 * ('t' a reference table, copied to every node; 'c' shards replicated by
 * statement, replication factor above 1; 's' one placement per shard).
 */
bool
occ_citus_table(Oid relid, char *partmethod, char *repmodel)
{
	Oid			catalog;
	Relation	rel;
	TableScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;
	AttrNumber	relid_att,
				method_att,
				model_att;
	bool		found = false;

	catalog = get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE);
	if (!OidIsValid(catalog))
		return false;
	relid_att = get_attnum(catalog, "logicalrelid");
	method_att = get_attnum(catalog, "partmethod");
	model_att = get_attnum(catalog, "repmodel");
	if (relid_att == InvalidAttrNumber || method_att == InvalidAttrNumber ||
		model_att == InvalidAttrNumber)
		return false;

	rel = table_open(catalog, AccessShareLock);
	ScanKeyInit(&key, relid_att, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = table_beginscan_catalog(rel, 1, &key);
	tuple = heap_getnext(scan, ForwardScanDirection);
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		d;

		found = true;
		d = heap_getattr(tuple, method_att, RelationGetDescr(rel), &isnull);
		*partmethod = isnull ? '\0' : DatumGetChar(d);
		d = heap_getattr(tuple, model_att, RelationGetDescr(rel), &isnull);
		*repmodel = isnull ? '\0' : DatumGetChar(d);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * Refuse versions from a clock ("uses_clock") on a Citus table whose rows
 * have more than one copy, as its replication model ("repmodel", from
 * occ_citus_table) says: a reference table (a copy on every node) or shards
 * replicated by statement (citus.shard_replication_factor above 1).  Each
 * copy runs the trigger with its own node's clock, so the copies would get
 * different versions, and no stated version could match them all.
 */
static void
refuse_replicated_clock(const char *relname, char repmodel,
						const char *kind_name, bool uses_clock)
{
	if (uses_clock && (repmodel == 't' || repmodel == 'c'))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot use %s versions on relation \"%s\"",
						kind_name, relname),
				 errdetail(repmodel == 't' ?
						   "\"%s\" is a Citus reference table: each node keeps a copy, and each copy would take its version from its own node's clock." :
						   "The shards of \"%s\" have more than one placement: each placement would take its version from its own node's clock.",
						   relname),
				 errhint("Use kind integer (or hash) for this table.")));
}

/*
 * Is the library named in the list-valued setting "name" (as
 * shared_preload_libraries and session_preload_libraries are written:
 * "occ", "occ.so", "$libdir/occ")?
 */
static bool
library_listed(const char *name, const char *library)
{
	const char *value = GetConfigOption(name, true, false);
	char	   *raw;
	List	   *elements;
	ListCell   *lc;
	bool		found = false;

	if (value == NULL || value[0] == '\0')
		return false;
	raw = pstrdup(value);
	if (!SplitDirectoriesString(raw, ',', &elements))
		return false;
	foreach(lc, elements)
	{
		const char *element = lfirst(lc);
		const char *file = last_dir_separator(element);
		size_t		len;

		file = file != NULL ? file + 1 : element;
		len = strcspn(file, ".");
		if (len == strlen(library) && strncmp(file, library, len) == 0)
			found = true;
	}
	return found;
}

/*
 * Refuse to protect the Citus table "relname" unless occ is loaded in
 * every session as it starts.  Without that, a session that sets
 * occ.if_match and writes the table never loads occ on this node (the
 * trigger runs on the shards), so occ_citus_check_statement cannot refuse
 * the write, and the workers, which do not see the setting, let it pass
 * unchecked.  Only a superuser or the server's configuration can take a
 * preloaded library out of a session.
 */
static void
require_preloaded(const char *relname)
{
	if (library_listed("shared_preload_libraries", "occ") ||
		library_listed("session_preload_libraries", "occ"))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("occ must be loaded in every session to protect Citus table \"%s\"",
					relname),
			 errdetail("Rows of \"%s\" are written on other nodes, which do not see an occ.if_match set for the session; occ refuses such a write only in a session where it is loaded before the write starts.",
					   relname),
			 errhint("Add occ to session_preload_libraries on this node, for example with ALTER DATABASE ... SET session_preload_libraries = 'occ', and connect again.")));
}

/*
 * Checks of occ.enable on a table not yet enabled: on a Citus table, occ
 * must be loaded in every session, and a kind whose versions come from a
 * clock ("uses_clock") is refused where rows have copies.
 */
void
occ_citus_check_enable(Relation rel, const char *kind_name, bool uses_clock)
{
	char		partmethod;
	char		repmodel;

	if (!occ_citus_installed() ||
		!occ_citus_table(RelationGetRelid(rel), &partmethod, &repmodel))
		return;
	require_preloaded(RelationGetRelationName(rel));
	refuse_replicated_clock(RelationGetRelationName(rel), repmodel,
							kind_name, uses_clock);
}

/*
 * Is relid a Citus table, which occ.update or occ.delete ("function") must
 * write by stating the version in its statement (see wrappers.c)?  The
 * version a wrapper is given is handed to the trigger in this backend's
 * memory, and the trigger runs on the shard, in another backend, often on
 * another node, where it would find no version stated; so on a Citus table
 * the wrapper requires the version in the statement's WHERE clause, which
 * the shard's trigger sees.  A content hash is in no column and cannot be
 * required there: refuse the call.
 */
bool
occ_citus_wrapper_table(Oid relid, const char *relname, const char *function,
						bool has_version_column)
{
	char		partmethod;
	char		repmodel;

	if (!occ_citus_installed() || !occ_citus_table(relid, &partmethod, &repmodel))
		return false;
	if (!has_version_column)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s() cannot check versions on relation \"%s\"",
						function, relname),
				 errdetail("\"%s\" is a Citus table whose versions are hashes of its content: its rows are written in shards, where the version given to %s() is not seen, and a content hash is in no column that the statement could require.",
						   relname, function),
				 errhint("Write the row with an UPDATE or DELETE that states the hash you read, setting occ.if_match with SET LOCAL inside a transaction block.")));
	return true;
}

/*
 * Before occ runs its DDL (on its trigger, or the version column): with
 * Citus, turn on citus.enable_unsafe_triggers at a new GUC nest level, so
 * that Citus accepts DDL on the triggers of its tables and copies it to
 * the shards.  The hazards that setting guards against are those of
 * triggers that run SQL; occ's runs none.  Returns the nest level to give
 * to occ_citus_end_allow_triggers, or 0 if nothing was set.
 */
int
occ_citus_allow_triggers(void)
{
	int			nestlevel;

	if (!occ_citus_installed())
		return 0;
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("citus.enable_unsafe_triggers", "on",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	if (local_ddl)
		(void) set_config_option("citus.enable_ddl_propagation", "off",
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
								 true, 0, false);
	return nestlevel;
}

/*
 * While "local" is true, occ's DDL is not sent on to the other nodes: the
 * DDL guard's rebuild of a trigger after RENAME COLUMN (ddl.c).  Citus
 * runs an ALTER TABLE on the coordinator first and sends it to the workers
 * afterwards, so a rebuilt trigger sent on at once would reach the shards
 * before the rename and name a column they do not have yet.  Instead the
 * coordinator rebuilds only its own trigger, and the DDL guard on each
 * worker follows the rename for its shards when the rename reaches them.
 * Returns the previous state.
 */
bool
occ_citus_local_ddl(bool local)
{
	bool		previous = local_ddl;

	local_ddl = local;
	return previous;
}

/* Undo occ_citus_allow_triggers. */
void
occ_citus_end_allow_triggers(int nestlevel)
{
	if (nestlevel > 0)
		AtEOXact_GUC(true, nestlevel);
}

/* Is this the trigger function occ.check_version() of extension occ? */
static bool
is_occ_trigger_function(Oid funcid, Oid occ_extension)
{
	char	   *name = get_func_name(funcid);

	return name != NULL && strcmp(name, "check_version") == 0 &&
		getExtensionOfObject(ProcedureRelationId, funcid) == occ_extension;
}

/* The occ trigger of an open relation, or NULL. */
static Trigger *
occ_trigger_of(Relation rel, Oid occ_extension)
{
	int			i;

	for (i = 0; rel->trigdesc != NULL && i < rel->trigdesc->numtriggers; i++)
	{
		Trigger    *trigger = &rel->trigdesc->triggers[i];

		if (is_occ_trigger_function(trigger->tgfoid, occ_extension))
			return trigger;
	}
	return NULL;
}

/*
 * Does the relation have an occ trigger, and does it take occ.if_match for
 * the commands in "perms" (ACL_UPDATE and ACL_DELETE always; ACL_INSERT
 * for a stream table, whose trigger fires on INSERT)?
 */
static bool
takes_if_match(Oid relid, AclMode perms, Oid occ_extension)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	Trigger    *trigger = occ_trigger_of(rel, occ_extension);
	bool		result;

	result = trigger != NULL &&
		((perms & (ACL_UPDATE | ACL_DELETE)) != 0 ||
		 ((perms & ACL_INSERT) != 0 && TRIGGER_FOR_INSERT(trigger->tgtype)));
	relation_close(rel, AccessShareLock);
	return result;
}

/*
 * Called when a statement starts: refuse a write to a Citus table
 * protected by occ while occ.if_match holds a value that Citus does not
 * carry to the nodes where the shards are written (set by SET or
 * set_config(), or by SET LOCAL outside a transaction block, or restored
 * by ROLLBACK TO SAVEPOINT).  The trigger on those nodes would not see the value, and a
 * stale write would pass as one that states no version.
 */
void
occ_citus_check_statement(PlannedStmt *stmt)
{
	Oid			occ_extension;
	ListCell   *lc;

	if (occ_if_match == NULL || occ_if_match[0] == '\0' ||
		propagated_generation == occ_if_match_generation)
		return;
	if (stmt->commandType == CMD_SELECT && !stmt->hasModifyingCTE)
		return;
	if (!occ_citus_installed())
		return;
	occ_extension = get_extension_oid("occ", true);
	if (!OidIsValid(occ_extension))
		return;

	foreach(lc, stmt->rtable)
	{
		RangeTblEntry *rte = lfirst(lc);
		AclMode		perms;
		char		partmethod;
		char		repmodel;

		if (rte->rtekind != RTE_RELATION)
			continue;
		/* a wrapper's statement states its own version (wrappers.c) */
		if (occ_wrapper_statement != NULL &&
			occ_wrapper_statement->relid == rte->relid)
			continue;
#if PG_VERSION_NUM >= 160000
		if (rte->perminfoindex == 0)
			continue;
		perms = getRTEPermissionInfo(stmt->permInfos, rte)->requiredPerms;
#else
		perms = rte->requiredPerms;
#endif
		perms &= (ACL_INSERT | ACL_UPDATE | ACL_DELETE);
		if (perms == 0)
			continue;
		if (!occ_citus_table(rte->relid, &partmethod, &repmodel) ||
			!takes_if_match(rte->relid, perms, occ_extension))
			continue;
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("occ.if_match does not reach the shards of relation \"%s\"",
						get_rel_name(rte->relid)),
				 errdetail("Citus writes the rows of \"%s\" on other nodes, and sends them occ.if_match only when it was set with SET LOCAL inside a transaction block.",
						   get_rel_name(rte->relid)),
				 errhint("State the version in the statement (in the SET list or the WHERE clause), or use SET LOCAL occ.if_match inside a transaction block.")));
	}
}

/* Citus's functions that make a table a Citus table (in pg_catalog) */
static const char *const distributing_functions[] = {
	"create_distributed_table",
	"create_distributed_table_concurrently",
	"create_reference_table",
	"citus_add_local_table_to_metadata",
};

/*
 * If "expr" is a call of one of Citus's functions that make a table a
 * Citus table, with the table a regclass constant, the table; otherwise
 * InvalidOid.
 */
static Oid
table_distributed_by(Node *expr)
{
	FuncExpr   *call = (FuncExpr *) expr;
	Const	   *table;
	char	   *name;
	size_t		i;

	if (!IsA(call, FuncExpr) || call->args == NIL)
		return InvalidOid;
	table = linitial(call->args);
	if (!IsA(table, Const) || table->consttype != REGCLASSOID ||
		table->constisnull ||
		get_func_namespace(call->funcid) != PG_CATALOG_NAMESPACE)
		return InvalidOid;
	name = get_func_name(call->funcid);
	for (i = 0; name != NULL && i < lengthof(distributing_functions); i++)
	{
		if (strcmp(name, distributing_functions[i]) == 0 &&
			getExtensionOfObject(ProcedureRelationId, call->funcid) ==
			get_extension_oid("citus", true))
			return DatumGetObjectId(table->constvalue);
	}
	return InvalidOid;
}

/*
 * If the statement calls one of Citus's functions that make a table a
 * Citus table, and names the table by a constant (SELECT
 * create_distributed_table('accounts', 'id')), the table; otherwise
 * InvalidOid.  Only a call whose first argument is a regclass constant
 * costs a catalog lookup.  A table named any other way is left to Citus's
 * own checks.
 */
static Oid
table_being_distributed(PlannedStmt *stmt)
{
	Plan	   *plan = stmt->planTree;
	ListCell   *lc;
	Oid			relid = InvalidOid;

	if (stmt->commandType != CMD_SELECT || plan == NULL || plan->lefttree != NULL)
		return InvalidOid;
	if (IsA(plan, Result))
	{
		foreach(lc, plan->targetlist)
		{
			relid = table_distributed_by((Node *) ((TargetEntry *) lfirst(lc))->expr);
			if (OidIsValid(relid))
				break;
		}
	}
	else if (IsA(plan, FunctionScan))
	{
		foreach(lc, ((FunctionScan *) plan)->functions)
		{
			relid = table_distributed_by(((RangeTblFunction *) lfirst(lc))->funcexpr);
			if (OidIsValid(relid))
				break;
		}
	}
	return relid;
}

/*
 * Is relid protected by occ?  If so, set *relname, *uses_clock (its
 * versions come from a clock) and *only_trigger (occ's is the only
 * trigger a user made on it).
 */
static bool
protected_table(Oid relid, char **relname, bool *uses_clock, bool *only_trigger)
{
	Oid			occ_extension = get_extension_oid("occ", true);
	Relation	rel;
	Trigger    *occ_trigger;
	OccTableSettings settings;
	int			i;

	if (!OidIsValid(occ_extension))
		return false;
	rel = try_relation_open(relid, AccessShareLock);
	if (rel == NULL)
		return false;
	occ_trigger = occ_trigger_of(rel, occ_extension);
	if (occ_trigger != NULL)
	{
		occ_trigger_settings(rel, occ_trigger, &settings);
		*uses_clock = strcmp(settings.kind->name, "timestamp") == 0;
		*relname = pstrdup(RelationGetRelationName(rel));
		*only_trigger = true;
		for (i = 0; i < rel->trigdesc->numtriggers; i++)
		{
			Trigger    *trigger = &rel->trigdesc->triggers[i];

			if (trigger != occ_trigger && !trigger->tgisinternal)
				*only_trigger = false;
		}
	}
	relation_close(rel, AccessShareLock);
	return occ_trigger != NULL;
}

/*
 * ExecutorRun hook: a statement that makes a table occ protects a Citus
 * table (table_being_distributed) runs with citus.enable_unsafe_triggers
 * on, at a GUC nest level that ends with the statement, when occ's
 * trigger is the table's only one; Citus then copies the trigger to the
 * shards.  (With other triggers, Citus's refusal stands: whether those are
 * safe is not occ's to say.)  The checks occ.enable makes on a Citus table
 * are made here too: occ preloaded before, no clock versions on copies of
 * a row after, when Citus's metadata says what the table became.
 */
#if PG_VERSION_NUM >= 180000
static void
occ_citus_executor_run(QueryDesc *queryDesc, ScanDirection direction,
					   uint64 count)
#else
static void
occ_citus_executor_run(QueryDesc *queryDesc, ScanDirection direction,
					   uint64 count, bool execute_once)
#endif
{
	Oid			relid = table_being_distributed(queryDesc->plannedstmt);
	char	   *relname = NULL;
	bool		uses_clock = false;
	bool		only_trigger = false;
	bool		is_protected = false;
	int			nestlevel = 0;
	char		partmethod;
	char		repmodel;

	if (OidIsValid(relid))
		is_protected = protected_table(relid, &relname, &uses_clock, &only_trigger);
	if (is_protected)
	{
		require_preloaded(relname);
		if (only_trigger)
		{
			nestlevel = NewGUCNestLevel();
			(void) set_config_option("citus.enable_unsafe_triggers", "on",
									 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
									 true, 0, false);
		}
	}

#if PG_VERSION_NUM >= 180000
	if (prev_ExecutorRun)
		prev_ExecutorRun(queryDesc, direction, count);
	else
		standard_ExecutorRun(queryDesc, direction, count);
#else
	if (prev_ExecutorRun)
		prev_ExecutorRun(queryDesc, direction, count, execute_once);
	else
		standard_ExecutorRun(queryDesc, direction, count, execute_once);
#endif

	if (nestlevel > 0)
		AtEOXact_GUC(true, nestlevel);
	if (is_protected && uses_clock &&
		occ_citus_table(relid, &partmethod, &repmodel))
		refuse_replicated_clock(relname, repmodel, "timestamp", true);
}

/*
 * ProcessUtility hook: carry a SET LOCAL or RESET of occ.if_match inside a
 * transaction block to the workers, whatever citus.propagate_set_commands
 * says.  Citus sends such a statement to the nodes the transaction uses,
 * and to those it connects to later in the transaction, when that setting
 * is "local" as its utility hook sees the statement; Citus is always
 * loaded first, so its hook runs inside this one, and the setting is
 * turned on for this statement only, at a GUC nest level.  Then remember
 * the generation of the value the shards now hold.  A SET LOCAL outside a
 * transaction block, a session SET and set_config() are not carried (and
 * a write while they are in force is refused: occ_citus_check_statement).
 */
#if PG_VERSION_NUM >= 140000
static void
occ_process_utility(PlannedStmt *pstmt, const char *queryString,
					bool readOnlyTree, ProcessUtilityContext context,
					ParamListInfo params, QueryEnvironment *queryEnv,
					DestReceiver *dest, QueryCompletion *qc)
#else
static void
occ_process_utility(PlannedStmt *pstmt, const char *queryString,
					ProcessUtilityContext context,
					ParamListInfo params, QueryEnvironment *queryEnv,
					DestReceiver *dest, QueryCompletion *qc)
#endif
{
	Node	   *parsetree = pstmt->utilityStmt;
	bool		carried = false;
	int			nestlevel = 0;

	if (IsA(parsetree, VariableSetStmt) && IsTransactionBlock())
	{
		VariableSetStmt *stmt = (VariableSetStmt *) parsetree;

		if (stmt->name != NULL && strcmp(stmt->name, "occ.if_match") == 0 &&
			(stmt->kind == VAR_RESET ||
			 (stmt->is_local &&
			  (stmt->kind == VAR_SET_VALUE || stmt->kind == VAR_SET_DEFAULT))))
			carried = occ_citus_installed();
	}
	if (carried)
	{
		nestlevel = NewGUCNestLevel();
		(void) set_config_option("citus.propagate_set_commands", "local",
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
								 true, 0, false);
	}

#if PG_VERSION_NUM >= 140000
	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
							params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
#else
	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, context,
							params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, context,
								params, queryEnv, dest, qc);
#endif

	if (carried)
	{
		/* the SET LOCAL stays in force: only the citus setting is restored */
		AtEOXact_GUC(true, nestlevel);
		propagated_generation = occ_if_match_generation;
	}
}

/*
 * The name of the Citus table whose shard relid is, from this node's copy
 * of Citus's metadata (pg_dist_shard), or NULL if relid is no shard or the
 * metadata is not here.  Shards are named <table>_<shard id>, in the
 * table's schema.
 */
const char *
occ_citus_table_name(Oid relid)
{
	const char *relname = get_rel_name(relid);
	const char *p;
	Oid			catalog;
	AttrNumber	shardid_att,
				relid_att;
	Relation	shards;
	TableScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;
	int64		shardid;
	char	   *result = NULL;

	if (relname == NULL)
		return NULL;
	p = relname + strlen(relname);
	while (p > relname && isdigit((unsigned char) p[-1]))
		p--;
	if (p == relname + strlen(relname) || p - 1 <= relname || p[-1] != '_' ||
		strlen(p) > 19)
		return NULL;
	catalog = get_relname_relid("pg_dist_shard", PG_CATALOG_NAMESPACE);
	if (!OidIsValid(catalog) || !occ_citus_installed())
		return NULL;
	shardid_att = get_attnum(catalog, "shardid");
	relid_att = get_attnum(catalog, "logicalrelid");
	if (shardid_att == InvalidAttrNumber || relid_att == InvalidAttrNumber)
		return NULL;
	shardid = (int64) strtoll(p, NULL, 10);

	shards = table_open(catalog, AccessShareLock);
	ScanKeyInit(&key, shardid_att, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum(shardid));
	scan = table_beginscan_catalog(shards, 1, &key);
	tuple = heap_getnext(scan, ForwardScanDirection);
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		d = heap_getattr(tuple, relid_att, RelationGetDescr(shards), &isnull);
		Oid			table = isnull ? InvalidOid : DatumGetObjectId(d);
		char	   *name = OidIsValid(table) ? get_rel_name(table) : NULL;

		/* the shard's name must be the table's name and the shard id */
		if (name != NULL &&
			get_rel_namespace(table) == get_rel_namespace(relid) &&
			strlen(name) == (size_t) (p - 1 - relname) &&
			strncmp(name, relname, p - 1 - relname) == 0)
			result = name;
	}
	table_endscan(scan);
	table_close(shards, AccessShareLock);
	return result;
}

/* Called once from _PG_init. */
void
occ_citus_init(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = occ_process_utility;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = occ_citus_executor_run;
}
