/*-------------------------------------------------------------------------
 *
 * where_clause.c
 *	  Does the statement that fired the trigger state the version in its
 *	  WHERE clause?
 *
 * ORMs state the version they read in the WHERE clause:
 *
 *		DELETE FROM t WHERE id = $1 AND lock_version = $2
 *
 * Such a statement writes only rows whose version is the one stated, and
 * under READ COMMITTED the executor checks the WHERE clause again against
 * the newest row version (EvalPlanQual) before the BEFORE ROW trigger sees
 * the row.  So once the trigger knows that the statement requires the
 * version to equal a value, it knows the row has that version: the write
 * stated its version, and a strict table accepts it.  A stale writer's
 * statement writes no row, and the ORM's own row count reports the
 * conflict.
 *
 * Only a proof counts.  The statement states a version when the quals the
 * executor evaluates on the scan of the very relation being written hold,
 * as a top-level AND term, an equality
 *
 *		version_column = value		(or value = version_column)
 *
 * where the operator is an equality of the column type's default btree
 * operator family (so it means equality of versions, also across integer
 * widths), the column is bare (no cast, no arithmetic), and the value reads
 * no column of any table, no executor parameter (which is how a join or a
 * sub-select passes values), no sub-plan and no volatile function: a
 * constant, a client's parameter, or a stable expression.  Anything else --
 * OR, IN, a cast of the column, a comparison with another column, an
 * INSERT ... ON CONFLICT, a MERGE, a scan occ does not know (a foreign or
 * custom scan) -- counts as not stated.  Deriving an equality the planner
 * also derived (version = x AND x = 3 puts version = 3 on the scan) is
 * sound: the rows written still have the version.
 *
 * Why the plan and not the query: the statement is planned before the
 * trigger's library is loaded for the first time in a session, and
 * nothing of occ runs earlier unless it is preloaded; but the plan is
 * there when the trigger fires.  Reading the quals of the scan also covers
 * what the query tree spreads out (an index condition, the scans of the
 * partitions of a partitioned table, each with its own column numbers, a
 * writable CTE, UPDATE ... FROM).
 *
 * Which plan: once the library is loaded, an ExecutorStart hook remembers
 * every statement that writes rows while its executor state exists (a
 * reset callback on the executor's memory forgets it, on success or
 * error).  The trigger finds the statement whose result relation owns the
 * FmgrInfo it is called through, which names the exact range table entry
 * being written, even when one statement writes a table twice (two parts
 * of a writable CTE).
 *
 * The statements that were already running when the library was loaded --
 * the first one of the session to fire an occ trigger -- were not seen
 * starting.  For the statement the client sent, the active portal holds
 * the plan: the trigger knows that its FmgrInfo belongs to the portal's
 * own executor when the executor's memory is a child of the portal's (a
 * statement run by a function, a trigger or a foreign-key action keeps its
 * executor elsewhere).  Not knowing which of the portal's result relations
 * fired, it requires every one that is this relation to state the
 * version.  A statement run inside a function that began before the
 * library was loaded is not seen at all (OCC_WHERE_UNSEEN); the README and
 * the 23V01 hint say to preload the library for that.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/stratnum.h"
#include "catalog/pg_trigger.h"
#include "executor/executor.h"
#include "lib/ilist.h"
#include "nodes/nodeFuncs.h"
#include "nodes/plannodes.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "tcop/pquery.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/rel.h"
#include "utils/typcache.h"

#include "citus.h"
#include "where_clause.h"

/* A statement that writes rows, while its executor state exists. */
typedef struct RunningStatement
{
	dlist_node	node;
	EState	   *estate;
	PlannedStmt *plannedstmt;
	MemoryContextCallback forget;
} RunningStatement;

/* innermost first */
static dlist_head running_statements = DLIST_STATIC_INIT(running_statements);

static ExecutorStart_hook_type prev_ExecutorStart = NULL;

/* What the analysis of one plan looks for. */
typedef struct VersionColumn
{
	int			rti;			/* the range table entry being written */
	AttrNumber	attnum;			/* its version column */
	Oid			opfamily;		/* the column type's default btree family */
} VersionColumn;

static void
forget_statement(void *arg)
{
	RunningStatement *statement = arg;

	dlist_delete(&statement->node);
}

/*
 * ExecutorStart hook: remember the statements that can write rows.
 */
static void
occ_executor_start(QueryDesc *queryDesc, int eflags)
{
	PlannedStmt *plannedstmt = queryDesc->plannedstmt;
	RunningStatement *statement;

	/* on Citus, refuse a write whose occ.if_match would not reach a shard */
	occ_citus_check_statement(plannedstmt);

	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);

	if (queryDesc->estate == NULL ||
		(plannedstmt->commandType == CMD_SELECT && !plannedstmt->hasModifyingCTE))
		return;

	statement = MemoryContextAlloc(queryDesc->estate->es_query_cxt,
								   sizeof(RunningStatement));
	statement->estate = queryDesc->estate;
	statement->plannedstmt = plannedstmt;
	statement->forget.func = forget_statement;
	statement->forget.arg = statement;
	MemoryContextRegisterResetCallback(queryDesc->estate->es_query_cxt,
									   &statement->forget);
	dlist_push_head(&running_statements, &statement->node);
}

/* Called once from _PG_init. */
void
occ_where_clause_init(void)
{
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = occ_executor_start;
}

/* Is flinfo one of the trigger functions of this result relation? */
static bool
calls_through(ResultRelInfo *rri, FmgrInfo *flinfo)
{
	int			i;

	if (rri->ri_TrigDesc == NULL || rri->ri_TrigFunctions == NULL)
		return false;
	for (i = 0; i < rri->ri_TrigDesc->numtriggers; i++)
		if (&rri->ri_TrigFunctions[i] == flinfo)
			return true;
	return false;
}

/*
 * The result relation of estate whose trigger is called through flinfo,
 * or NULL.  *routed is set if it is one that tuple routing opened for an
 * INSERT (the target of an ON CONFLICT DO UPDATE on a partition).
 */
static ResultRelInfo *
result_relation_of(EState *estate, FmgrInfo *flinfo, bool *routed)
{
	ListCell   *lc;

	*routed = false;
#if PG_VERSION_NUM >= 140000
	foreach(lc, estate->es_opened_result_relations)
	{
		ResultRelInfo *rri = lfirst(lc);

		if (calls_through(rri, flinfo))
			return rri;
	}
#else
	{
		int			i;

		for (i = 0; i < estate->es_num_result_relations; i++)
			if (calls_through(&estate->es_result_relations[i], flinfo))
				return &estate->es_result_relations[i];
	}
#endif
	foreach(lc, estate->es_tuple_routing_result_relations)
	{
		ResultRelInfo *rri = lfirst(lc);

		if (calls_through(rri, flinfo))
		{
			*routed = true;
			return rri;
		}
	}
	return NULL;
}

/*
 * Call visit on every node of a plan tree, parents first, until it returns
 * true.  The sub-plans of expressions and CTEs are trees of their own, in
 * PlannedStmt.subplans.
 */
static bool
walk_plan(Plan *plan, bool (*visit) (Plan *plan, void *context), void *context)
{
	List	   *children = NIL;
	ListCell   *lc;

	if (plan == NULL)
		return false;
	if (visit(plan, context))
		return true;

	switch (nodeTag(plan))
	{
		case T_Append:
			children = ((Append *) plan)->appendplans;
			break;
		case T_MergeAppend:
			children = ((MergeAppend *) plan)->mergeplans;
			break;
		case T_BitmapAnd:
			children = ((BitmapAnd *) plan)->bitmapplans;
			break;
		case T_BitmapOr:
			children = ((BitmapOr *) plan)->bitmapplans;
			break;
		case T_CustomScan:
			children = ((CustomScan *) plan)->custom_plans;
			break;
		case T_SubqueryScan:
			if (walk_plan(((SubqueryScan *) plan)->subplan, visit, context))
				return true;
			break;
#if PG_VERSION_NUM < 140000
		case T_ModifyTable:
			children = ((ModifyTable *) plan)->plans;
			break;
#endif
		default:
			break;
	}
	foreach(lc, children)
		if (walk_plan(lfirst(lc), visit, context))
			return true;
	return walk_plan(plan->lefttree, visit, context) ||
		walk_plan(plan->righttree, visit, context);
}

/* walk_plan over a whole statement */
static bool
walk_statement(PlannedStmt *plannedstmt,
			   bool (*visit) (Plan *plan, void *context), void *context)
{
	ListCell   *lc;

	if (walk_plan(plannedstmt->planTree, visit, context))
		return true;
	foreach(lc, plannedstmt->subplans)
		if (walk_plan(lfirst(lc), visit, context))
			return true;
	return false;
}

/* Does the expression use an executor parameter (a join's or a sub-select's)? */
static bool
uses_exec_param(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Param))
		return ((Param *) node)->paramkind != PARAM_EXTERN;
	return expression_tree_walker(node, uses_exec_param, context);
}

/*
 * Is the value the same for every row the statement reads: a constant, a
 * client's parameter, or a stable expression of them, reading no table?
 */
static bool
is_statement_value(Node *value)
{
	return !contain_var_clause(value) &&
		!contain_volatile_functions(value) &&
		!contain_subplans(value) &&
		!uses_exec_param(value, NULL);
}

/* Is the node the version column of the relation being written, bare? */
static bool
is_version_column(Node *node, const VersionColumn *column)
{
	Var		   *var;

	if (!IsA(node, Var))
		return false;
	var = (Var *) node;
	return (int) var->varno == column->rti && var->varattno == column->attnum &&
		var->varlevelsup == 0;
}

/* Is qual "version_column = value" or "value = version_column"? */
static bool
is_version_equality(Node *qual, const VersionColumn *column)
{
	OpExpr	   *op;
	Node	   *left;
	Node	   *right;
	Node	   *value;

	if (!IsA(qual, OpExpr))
		return false;
	op = (OpExpr *) qual;
	if (list_length(op->args) != 2)
		return false;
	left = linitial(op->args);
	right = lsecond(op->args);
	if (is_version_column(left, column))
		value = right;
	else if (is_version_column(right, column))
		value = left;
	else
		return false;

	return OidIsValid(column->opfamily) &&
		get_op_opfamily_strategy(op->opno, column->opfamily) == BTEqualStrategyNumber &&
		is_statement_value(value);
}

/*
 * The quals a scan of the relation being written evaluates on each row, in
 * their original form (index conditions as written, not on index columns);
 * false for a scan whose quals occ does not know.
 */
static bool
scan_quals(Plan *plan, List **quals)
{
	switch (nodeTag(plan))
	{
		case T_SeqScan:
		case T_SampleScan:
		case T_TidScan:
#if PG_VERSION_NUM >= 140000
		case T_TidRangeScan:
#endif
			*quals = plan->qual;
			return true;
		case T_IndexScan:
			*quals = list_concat_copy(plan->qual,
									  ((IndexScan *) plan)->indexqualorig);
			return true;
		case T_BitmapHeapScan:
			*quals = list_concat_copy(plan->qual,
									  ((BitmapHeapScan *) plan)->bitmapqualorig);
			return true;
		default:
			return false;
	}
}

/* Finding the scan of one range table entry. */
typedef struct ScanSearch
{
	int			rti;
	Plan	   *scan;
} ScanSearch;

static bool
find_scan(Plan *plan, void *context)
{
	ScanSearch *search = context;

	switch (nodeTag(plan))
	{
		case T_SeqScan:
		case T_SampleScan:
		case T_IndexScan:
		case T_IndexOnlyScan:
		case T_BitmapHeapScan:
		case T_TidScan:
#if PG_VERSION_NUM >= 140000
		case T_TidRangeScan:
#endif
		case T_ForeignScan:
		case T_CustomScan:
			if ((int) ((Scan *) plan)->scanrelid == search->rti)
			{
				search->scan = plan;
				return true;
			}
			break;
		default:
			break;
	}
	return false;
}

/*
 * Does the ModifyTable node, writing the range table entry of "column",
 * state its version in the WHERE clause?
 */
static bool
modify_table_states(ModifyTable *mt, const VersionColumn *column)
{
	ScanSearch	search = {column->rti, NULL};
	List	   *quals;
	ListCell   *lc;

	if (mt->operation != CMD_UPDATE && mt->operation != CMD_DELETE)
		return false;

	/* the scan of the entry being written, among the node's sub-plans */
#if PG_VERSION_NUM >= 140000
	walk_plan(outerPlan(&mt->plan), find_scan, &search);
#else
	foreach(lc, mt->plans)
		if (walk_plan(lfirst(lc), find_scan, &search))
			break;
#endif
	if (search.scan == NULL || !scan_quals(search.scan, &quals))
		return false;

	foreach(lc, quals)
		if (is_version_equality(lfirst(lc), column))
			return true;
	return false;
}

/*
 * The default btree operator family of the version column's type, from the
 * type cache (GetDefaultOpClass would scan pg_opclass every time).
 */
static Oid
version_opfamily(Relation rel, AttrNumber attnum)
{
	TypeCacheEntry *type;

	type = lookup_type_cache(TupleDescAttr(RelationGetDescr(rel), attnum - 1)->atttypid,
							 TYPECACHE_BTREE_OPFAMILY);
	return type->btree_opf;
}

/* Finding the ModifyTable node that writes one range table entry. */
typedef struct ModifyTableSearch
{
	int			rti;
	ModifyTable *mt;
} ModifyTableSearch;

static bool
find_modify_table(Plan *plan, void *context)
{
	ModifyTableSearch *search = context;

	if (IsA(plan, ModifyTable) &&
		list_member_int(((ModifyTable *) plan)->resultRelations, search->rti))
	{
		search->mt = (ModifyTable *) plan;
		return true;
	}
	return false;
}

/*
 * The exact answer, for a statement seen starting: the range table entry
 * of the result relation being written, and the node that writes it.
 */
static OccWhereClause
statement_states(PlannedStmt *plannedstmt, ResultRelInfo *rri, Relation rel,
				 AttrNumber attnum)
{
	ModifyTableSearch search = {(int) rri->ri_RangeTableIndex, NULL};
	VersionColumn column;

	if (search.rti == 0 || !walk_statement(plannedstmt, find_modify_table, &search))
		return OCC_WHERE_SILENT;

	column.rti = search.rti;
	column.attnum = attnum;
	column.opfamily = version_opfamily(rel, attnum);
	return modify_table_states(search.mt, &column) ? OCC_WHERE_STATES : OCC_WHERE_SILENT;
}

/*
 * Every ModifyTable node of a statement that may write the relation, for
 * the portal's statements: true if each of them states the version, and
 * at least one was found.
 */
typedef struct PortalSearch
{
	PlannedStmt *plannedstmt;
	Relation	rel;
	AttrNumber	attnum;
	int			found;
	bool		silent;
} PortalSearch;

static bool
check_modify_table(Plan *plan, void *context)
{
	PortalSearch *search = context;
	ModifyTable *mt;
	ListCell   *lc;

	if (!IsA(plan, ModifyTable))
		return false;
	mt = (ModifyTable *) plan;

	/*
	 * An INSERT ... ON CONFLICT DO UPDATE or a MERGE may update this
	 * relation through a partition of its target: no statement.
	 */
	if (mt->operation != CMD_UPDATE && mt->operation != CMD_DELETE &&
		mt->operation != CMD_INSERT)
	{
		search->silent = true;
		return true;
	}
	if (mt->operation == CMD_INSERT)
	{
		if (mt->onConflictAction == ONCONFLICT_UPDATE)
		{
			search->silent = true;
			return true;
		}
		return false;
	}

	foreach(lc, mt->resultRelations)
	{
		VersionColumn column;

		column.rti = lfirst_int(lc);
		if (rt_fetch(column.rti, search->plannedstmt->rtable)->relid !=
			RelationGetRelid(search->rel))
			continue;
		search->found++;
		column.attnum = search->attnum;
		column.opfamily = version_opfamily(search->rel, search->attnum);
		if (!modify_table_states(mt, &column))
		{
			search->silent = true;
			return true;
		}
	}
	return false;
}

static OccWhereClause
portal_states(Portal portal, Relation rel, AttrNumber attnum)
{
	PortalSearch search;
	ListCell   *lc;

	search.rel = rel;
	search.attnum = attnum;
	search.found = 0;
	search.silent = false;
	foreach(lc, portal->stmts)
	{
		PlannedStmt *plannedstmt = lfirst_node(PlannedStmt, lc);

		if (plannedstmt->commandType == CMD_UTILITY)
			continue;
		search.plannedstmt = plannedstmt;
		if (walk_statement(plannedstmt, check_modify_table, &search))
			break;
	}
	return search.found > 0 && !search.silent ? OCC_WHERE_STATES : OCC_WHERE_SILENT;
}

/*
 * The running statement, seen starting, one of whose result relations
 * (*rri) calls its trigger through flinfo; NULL if none.  *routed as for
 * result_relation_of.
 */
static RunningStatement *
running_statement_of(FmgrInfo *flinfo, ResultRelInfo **rri, bool *routed)
{
	dlist_iter	iter;

	dlist_foreach(iter, &running_statements)
	{
		RunningStatement *statement = dlist_container(RunningStatement, node, iter.cur);

		*rri = result_relation_of(statement->estate, flinfo, routed);
		if (*rri != NULL)
			return statement;
	}
	return NULL;
}

/* Is the plan node an INSERT ... ON CONFLICT? */
static bool
is_on_conflict(Plan *plan, void *context)
{
	return IsA(plan, ModifyTable) &&
		((ModifyTable *) plan)->onConflictAction != ONCONFLICT_NONE;
}

/*
 * Does the statement that called the BEFORE INSERT row trigger through
 * fcinfo insert every row the trigger returns, as it returns it?  True
 * only for a statement seen starting, with no INSERT ... ON CONFLICT in it
 * (a conflict skips a row after its BEFORE triggers ran), whose result
 * relation is not a foreign table (its wrapper may skip a row) and fires
 * no BEFORE INSERT row trigger after this one (which may skip the row or
 * change it).  The stream kind counts on without reading when it is
 * (stream.c).
 */
bool
occ_rows_inserted_as_returned(FunctionCallInfo fcinfo)
{
	FmgrInfo   *flinfo = fcinfo->flinfo;
	RunningStatement *statement;
	ResultRelInfo *rri;
	bool		routed;
	bool		later = false;
	int			i;

	statement = running_statement_of(flinfo, &rri, &routed);
	if (statement == NULL || rri->ri_FdwRoutine != NULL)
		return false;
	for (i = 0; i < rri->ri_TrigDesc->numtriggers; i++)
	{
		int16		tgtype = rri->ri_TrigDesc->triggers[i].tgtype;

		if (later && TRIGGER_FOR_ROW(tgtype) && TRIGGER_FOR_BEFORE(tgtype) &&
			TRIGGER_FOR_INSERT(tgtype))
			return false;
		if (&rri->ri_TrigFunctions[i] == flinfo)
			later = true;
	}
	return !walk_statement(statement->plannedstmt, is_on_conflict, NULL);
}

/*
 * Does the statement that called the trigger through fcinfo, writing a row
 * of rel, state the version (column attnum) in its WHERE clause?  Called
 * once per statement and relation: the trigger keeps the answer.
 */
OccWhereClause
occ_where_clause(FunctionCallInfo fcinfo, Relation rel, AttrNumber attnum)
{
	FmgrInfo   *flinfo = fcinfo->flinfo;
	RunningStatement *statement;
	ResultRelInfo *rri;
	bool		routed;

	statement = running_statement_of(flinfo, &rri, &routed);
	if (statement != NULL)
	{
		if (routed)
			return OCC_WHERE_SILENT;
		return statement_states(statement->plannedstmt, rri, rel, attnum);
	}

	/* a statement that began before the library was loaded */
	if (ActivePortal != NULL && ActivePortal->portalContext != NULL &&
		flinfo->fn_mcxt != NULL &&
		flinfo->fn_mcxt->parent == ActivePortal->portalContext)
		return portal_states(ActivePortal, rel, attnum);
	return OCC_WHERE_UNSEEN;
}
