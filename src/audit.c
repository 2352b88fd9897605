/*-------------------------------------------------------------------------
 *
 * audit.c
 *	  Audit levels: the writes that a stricter mode than a table's would
 *	  refuse are let through and reported.
 *
 * A table may have an audit level next to its mode (the trigger argument
 * 'audit=strict' or 'audit=lax'), or follow occ.default_audit.  Where that
 * level is stricter than the table's effective mode, the trigger checks
 * each row as the audit level would (occ_audit_row), and report.c raises
 * only what the table's own mode refuses; the rest comes here
 * (occ_audit_report):
 *
 *	- it is counted in the table's statistics (audited stale, audited
 *	  missing), for the table that was enabled;
 *	- the client gets a WARNING with the message, DETAIL, HINT, fields and
 *	  SQLSTATE of the error it stands for, unless occ.audit_client_messages
 *	  is off (on PostgreSQL 14 and later the WARNING goes to the client
 *	  only: the server log has its own line);
 *	- the server log gets one line, never sent to the client:
 *
 *		LOG:  occ audit: {"sqlstate": "23V01", "table": "public.accounts", ...}
 *
 *	  a JSON object with the same keys, in the same order, every time
 *	  (README, "Audit levels").  The key and the versions are in it only
 *	  where the role may see them, as in the error.
 *
 * A burst is bounded per statement, a statement being what the client
 * sent in one message (GetCurrentStatementStartTimestamp tells them
 * apart): its first OCC_AUDIT_REPORTS_PER_STATEMENT reports are sent and
 * logged in full, the rest only counted.  The first report past the bound
 * sends the client one WARNING saying so; the server log gets one summary
 * line ("occ audit summary: {...}") with the count, the tables and the
 * statement, when the transaction ends or, in a transaction block, when a
 * later statement reports first.  Nothing here outlives the transaction.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "audit.h"
#include "citus.h"
#include "stats.h"

/*
 * A warning to the client only, where PostgreSQL has that level (14 and
 * later); before that the server log gets the warning too.
 */
#ifdef WARNING_CLIENT_ONLY
#define AUDIT_CLIENT_WARNING	WARNING_CLIENT_ONLY
#else
#define AUDIT_CLIENT_WARNING	WARNING
#endif

OccMode		occ_row_mode = OCC_MODE_STRICT;

/* The row being checked at an audit level: set by occ_audit_row. */
static Oid	row_origin_relid = InvalidOid;
static OccMode row_audit = OCC_MODE_STRICT;

/*
 * The statement whose reports are being counted, and what its summary
 * line needs, kept in TopMemoryContext until the summary is logged.
 */
static bool callback_registered = false;
static TimestampTz statement_start = 0;
static int64 statement_reports = 0;
static int64 unlogged_stale = 0;
static int64 unlogged_missing = 0;
static List *statement_tables = NIL;	/* char *, each enabled table once */
static Oid	last_listed_relid = InvalidOid; /* the last one listed */
static char *statement_text = NULL;
static char *statement_role = NULL;
static char *statement_application = NULL;

/*
 * The trigger is about to check a row at audit level "audit", stricter
 * than the table's mode (occ_row_mode).  Returns the mode to check it as.
 */
OccMode
occ_audit_row(const OccProtectedTable *table, OccMode audit)
{
	row_origin_relid = table->origin_relid;
	row_audit = audit;
	return audit;
}

/* A relation's schema-qualified name, quoted where needed. */
static char *
qualified_relation_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/*
 * The table a report is about, schema-qualified: on Citus, the table whose
 * shard relid is, as clients name it (occ_citus_table_name); otherwise
 * relid itself.
 */
static char *
audited_table_name(Oid relid)
{
	const char *table = occ_citus_table_name(relid);

	if (table == NULL)
		return qualified_relation_name(relid);
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  table);
}

/* Append "key": value to a JSON object; NULL is null. */
static void
append_json_field(StringInfo buf, const char *key, const char *value)
{
	if (buf->len > 1)
		appendStringInfoString(buf, ", ");
	escape_json(buf, key);
	appendStringInfoString(buf, ": ");
	if (value == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, value);
}

static void
append_json_count(StringInfo buf, const char *key, int64 value)
{
	if (buf->len > 1)
		appendStringInfoString(buf, ", ");
	escape_json(buf, key);
	appendStringInfo(buf, ": " INT64_FORMAT, value);
}

/* The role the write runs as, or its OID if it has been dropped. */
static char *
current_role_name(void)
{
	char	   *name = GetUserNameFromId(GetUserId(), true);

	return name != NULL ? name : psprintf("%u", GetUserId());
}

/* Log a report in full: one line, "occ audit: " and a JSON object. */
static void
log_report(const OccReport *report, const char *table)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	append_json_field(&buf, "sqlstate",
					  unpack_sql_state(occ_report_sqlstate(report)));
	append_json_field(&buf, "table", table);
	append_json_field(&buf, "relation",
					  qualified_relation_name(RelationGetRelid(report->rel)));
	append_json_field(&buf, "operation",
					  report->is_append ? "append" :
					  report->is_delete ? "delete" : "update");
	append_json_field(&buf, "key",
					  report->is_append ? report->stream : report->key);
	append_json_field(&buf, "stated",
					  report->show_versions ? report->expected : NULL);
	append_json_field(&buf, "current",
					  report->show_versions ? report->current : NULL);
	append_json_field(&buf, "mode", occ_mode_name(report->mode));
	append_json_field(&buf, "audit", occ_mode_name(report->audit));
	append_json_field(&buf, "role", current_role_name());
	append_json_field(&buf, "application_name", application_name);
	append_json_field(&buf, "statement", debug_query_string);
	appendStringInfoChar(&buf, '}');

	ereport(LOG_SERVER_ONLY,
			(errmsg_internal("occ audit: %s", buf.data),
			 errhidestmt(true),
			 errhidecontext(true)));
	pfree(buf.data);
}

/*
 * Log the summary of the statement counted so far, if some of its reports
 * were not logged, and start afresh.  Runs at the end of a transaction,
 * aborted ones included: it reads no catalog.
 */
static void
finish_statement(void)
{
	if (unlogged_stale + unlogged_missing > 0)
	{
		StringInfoData buf;
		ListCell   *lc;

		initStringInfo(&buf);
		appendStringInfoChar(&buf, '{');
		append_json_count(&buf, "reports", statement_reports);
		append_json_count(&buf, "logged", OCC_AUDIT_REPORTS_PER_STATEMENT);
		append_json_count(&buf, "unlogged_stale", unlogged_stale);
		append_json_count(&buf, "unlogged_missing", unlogged_missing);
		appendStringInfoString(&buf, ", \"tables\": [");
		foreach(lc, statement_tables)
		{
			if (lc != list_head(statement_tables))
				appendStringInfoString(&buf, ", ");
			escape_json(&buf, lfirst(lc));
		}
		appendStringInfoChar(&buf, ']');
		append_json_field(&buf, "role", statement_role);
		append_json_field(&buf, "application_name", statement_application);
		append_json_field(&buf, "statement", statement_text);
		appendStringInfoChar(&buf, '}');

		ereport(LOG_SERVER_ONLY,
				(errmsg_internal("occ audit summary: %s", buf.data),
				 errhidestmt(true),
				 errhidecontext(true)));
		pfree(buf.data);
	}

	list_free_deep(statement_tables);
	statement_tables = NIL;
	if (statement_text != NULL)
		pfree(statement_text);
	if (statement_role != NULL)
		pfree(statement_role);
	if (statement_application != NULL)
		pfree(statement_application);
	statement_text = statement_role = statement_application = NULL;
	last_listed_relid = InvalidOid;
	statement_start = 0;
	statement_reports = unlogged_stale = unlogged_missing = 0;
}

static void
audit_xact_callback(XactEvent event, void *arg)
{
	(void) arg;
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			if (statement_start != 0)
				finish_statement();
			break;
		default:
			break;
	}
}

/* Copy a string into TopMemoryContext, NULL staying NULL. */
static char *
kept_string(const char *value)
{
	return value != NULL ? MemoryContextStrdup(TopMemoryContext, value) : NULL;
}

/*
 * Report a write that the row's mode lets through and its audit level
 * would refuse.  See the file header.
 */
void
occ_audit_report(OccReport *report)
{
	TimestampTz now = GetCurrentStatementStartTimestamp();
	char	   *table = NULL;

	report->audited = true;
	report->mode = occ_row_mode;
	report->audit = row_audit;

	occ_stats_count(row_origin_relid,
					report->refusal == OCC_REFUSAL_STALE ?
					OCC_STATS_AUDITED_STALE : OCC_STATS_AUDITED_MISSING);

	if (!callback_registered)
	{
		RegisterXactCallback(audit_xact_callback, NULL);
		callback_registered = true;
	}
	if (now != statement_start)
	{
		if (statement_start != 0)
			finish_statement();
		statement_start = now;
	}
	statement_reports++;

	/* the tables of the statement, for its summary; mostly one */
	if (row_origin_relid != last_listed_relid)
	{
		ListCell   *lc;
		bool		listed = false;

		table = audited_table_name(row_origin_relid);
		foreach(lc, statement_tables)
			if (strcmp(lfirst(lc), table) == 0)
				listed = true;
		if (!listed)
		{
			MemoryContext oldcxt = MemoryContextSwitchTo(TopMemoryContext);

			statement_tables = lappend(statement_tables, pstrdup(table));
			MemoryContextSwitchTo(oldcxt);
		}
		last_listed_relid = row_origin_relid;
	}

	if (statement_reports <= OCC_AUDIT_REPORTS_PER_STATEMENT)
	{
		if (table == NULL)
			table = audited_table_name(row_origin_relid);
		if (occ_audit_client_messages)
			occ_emit_report(report, AUDIT_CLIENT_WARNING);
		log_report(report, table);
		return;
	}

	if (report->refusal == OCC_REFUSAL_STALE)
		unlogged_stale++;
	else
		unlogged_missing++;
	if (statement_reports == OCC_AUDIT_REPORTS_PER_STATEMENT + 1)
	{
		statement_text = kept_string(debug_query_string);
		statement_role = kept_string(current_role_name());
		statement_application = kept_string(application_name);
		if (occ_audit_client_messages)
			ereport(AUDIT_CLIENT_WARNING,
					(errmsg("further audit reports of this statement are not sent"),
					 errdetail("Only the first %d reports of a statement are sent and logged in full; the server log gets their count.",
							   OCC_AUDIT_REPORTS_PER_STATEMENT)));
	}
}
