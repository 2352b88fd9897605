/*-------------------------------------------------------------------------
 *
 * http.c
 *	  What occ offers HTTP layers: entity tags for versions, the "http"
 *	  error style, and the ETag response header for PostgREST.
 *
 * An entity tag is the version's text in double quotes, in a form that
 * holds no spaces (RFC 9110 forbids them) and reads back exactly, whatever
 * the session's DateStyle or TimeZone; each kind writes its own (see
 * kind.h).  occ.if_match and the wrappers accept every tag occ.etag()
 * makes.
 *
 * PostgREST answers a database error whose SQLSTATE is PTxyz with HTTP
 * status xyz, and every class-40 error with 500.  With occ.error_style set
 * to "http", a stale write therefore raises PT412 (Precondition Failed) and
 * a write that states no version on a strict table PT428 (Precondition
 * Required); message, DETAIL, HINT and fields stay the same.  PostgREST
 * also sends the response headers a transaction leaves in the setting
 * response.headers, so in that style a statement that updates exactly one
 * row leaves the row's new entity tag there as ETag.  A statement that
 * updates several rows leaves none: no single tag describes them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "parser/parse_type.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "content_hash.h"
#include "http.h"
#include "kind.h"
#include "protection.h"

PG_FUNCTION_INFO_V1(occ_etag);

/*
 * What occ.etag(row) keeps in fn_extra: the protected table whose rows it
 * was last given, from protection.c's cache.
 */
typedef struct EtagRowCache
{
	Oid			typid;			/* the row type */
	OccProtectedTable *table;
	uint64		epoch;
} EtagRowCache;

/*
 * The table of kind hash whose rows have this row type, with its trigger
 * looked up in occ's schema (that of the function called); an error if
 * there is none.
 */
static OccProtectedTable *
hash_table_of_row_type(FunctionCallInfo fcinfo, Oid typid, uint64 *epoch)
{
	Oid			relid = typeidTypeRelid(typid);
	Oid			check_version;
	Relation	rel;
	OccProtectedTable *table = NULL;
	int			i;

	if (!OidIsValid(relid) || !get_rel_relkind(relid) ||
		(get_rel_relkind(relid) != RELKIND_RELATION &&
		 get_rel_relkind(relid) != RELKIND_PARTITIONED_TABLE))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("occ.etag() needs a row of a table, not a value of type %s",
						format_type_be(typid)),
				 errhint("Pass the whole row, as in SELECT occ.etag(t) FROM tbl t.")));

	check_version = occ_check_version_oid(get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid)));
	rel = relation_open(relid, AccessShareLock);
	for (i = 0; rel->trigdesc != NULL && i < rel->trigdesc->numtriggers; i++)
	{
		Trigger    *trigger = &rel->trigdesc->triggers[i];

		if (trigger->tgfoid == check_version)
		{
			table = occ_protected_table(rel, trigger, epoch);
			break;
		}
	}
	if (table == NULL || !table->settings.kind->is_content)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("relation \"%s\" is not protected with kind hash",
						RelationGetRelationName(rel)),
				 table == NULL ?
				 errhint("Call occ.enable() with kind => 'hash' first.") :
				 errhint("Its rows' entity tag is that of their version column: occ.etag(%s).",
						 quote_identifier(table->settings.version_column))));
	relation_close(rel, AccessShareLock);
	return table;
}

/*
 * The entity tag of a row of a table of kind hash, as its trigger computes
 * it: the same content gives the same tag whether the row is read from the
 * partitioned table or from a partition.
 */
static char *
row_etag(FunctionCallInfo fcinfo, HeapTupleHeader row)
{
	Oid			typid = HeapTupleHeaderGetTypeId(row);
	EtagRowCache *cache = fcinfo->flinfo->fn_extra;

	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(EtagRowCache));
		fcinfo->flinfo->fn_extra = cache;
	}
	if (cache->typid != typid || cache->table == NULL ||
		!occ_protected_table_current(cache->table, cache->epoch))
	{
		cache->table = NULL;
		cache->table = hash_table_of_row_type(fcinfo, typid, &cache->epoch);
		cache->typid = typid;
	}
	return cache->table->settings.kind->etag(occ_content_version_of_row(cache->table->content,
																		row),
											 InvalidOid);
}

/*
 * occ.etag(version anyelement) RETURNS text
 *
 * The tag of a version, or of a whole row of a table of kind hash.
 */
Datum
occ_etag(PG_FUNCTION_ARGS)
{
	Oid			typid = get_fn_expr_argtype(fcinfo->flinfo, 0);
	const OccKindOps *kind;

	if (type_is_rowtype(typid))
		PG_RETURN_TEXT_P(cstring_to_text(row_etag(fcinfo, PG_GETARG_HEAPTUPLEHEADER(0))));

	kind = occ_kind_of_type(typid);
	if (kind == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("versions of type %s have no entity tag",
						format_type_be(typid)),
				 errhint("Version columns have type %s; a row of a table of kind hash has a tag too.",
						 occ_kind_column_types())));

	PG_RETURN_TEXT_P(cstring_to_text(kind->etag(kind->from_datum(PG_GETARG_DATUM(0), typid),
												typid)));
}

/*
 * The ETag header set for the rows of one statement, so that the header is
 * set for the first row and taken back at the second, and each further row
 * costs a comparison: the statement is known by its executor's per-query
 * memory context and its start time (either alone could repeat: a context
 * can be allocated where a finished statement's was, and a query string
 * holding several statements starts them all at one time).  Should both
 * repeat, rows of two statements are counted together, and the header is
 * left out rather than wrong.
 */
static struct
{
	MemoryContext statement_cxt;
	TimestampTz statement_start;
	int			rows;
	char	   *headers_before; /* response.headers before the first row */
}			response_etag;

/*
 * The headers with one more, as response.headers holds them: a JSON array
 * of one-header objects.  An unset or unreadable value becomes an array of
 * the new header alone.
 */
static char *
headers_with(const char *current, const char *header)
{
	size_t		len = current ? strlen(current) : 0;

	while (len > 0 && isspace((unsigned char) current[len - 1]))
		len--;
	if (len >= 2 && current[0] == '[' && current[len - 1] == ']')
	{
		/* append to the array, or fill an empty one */
		const char *inner = current + 1;
		bool		empty = true;
		const char *p;

		for (p = inner; p < current + len - 1; p++)
			if (!isspace((unsigned char) *p))
				empty = false;
		return psprintf("[%.*s%s%s]", (int) (len - 2), inner,
						empty ? "" : ", ", header);
	}
	return psprintf("[%s]", header);
}

static void
set_response_headers(const char *value)
{
	(void) set_config_option("response.headers", value,
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_LOCAL,
							 true, 0, false);
}

/*
 * A row of the statement running in statement_cxt was updated to this
 * version: leave its entity tag in response.headers, for PostgREST to send
 * as ETag, if it is the statement's only row so far, and take it back if it
 * is the second.  Other headers already there are kept.
 */
void
occ_note_response_etag(MemoryContext statement_cxt, const OccKindOps *kind,
					   OccVersion version, Oid typid)
{
	TimestampTz statement_start = GetCurrentStatementStartTimestamp();
	const char *current;
	char	   *etag;
	char	   *header;

	if (response_etag.statement_cxt != statement_cxt ||
		response_etag.statement_start != statement_start)
	{
		response_etag.statement_cxt = statement_cxt;
		response_etag.statement_start = statement_start;
		response_etag.rows = 0;
		if (response_etag.headers_before != NULL)
			pfree(response_etag.headers_before);
		response_etag.headers_before = NULL;
	}

	if (++response_etag.rows > 2)
		return;

	if (response_etag.rows == 2)
	{
		set_response_headers(response_etag.headers_before);
		return;
	}

	current = GetConfigOption("response.headers", true, false);
	response_etag.headers_before = MemoryContextStrdup(TopMemoryContext,
													   current ? current : "");

	/* the tag's quotes are escaped inside the JSON string */
	etag = kind->etag(version, typid);
	header = psprintf("{\"ETag\": \"\\%.*s\\\"\"}", (int) strlen(etag) - 1, etag);
	set_response_headers(headers_with(current, header));
}
