/*-------------------------------------------------------------------------
 *
 * settings.c
 *	  The configuration parameters of occ and the names of kinds and modes.
 *
 * occ.default_mode is the mode of every table whose own mode is "default".
 * Lowering it weakens checks for many tables at once, so it is PGC_SUSET:
 * superusers, or roles granted SET on it (PostgreSQL 15+), per cluster,
 * database or role.
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

#include "utils/guc.h"

#include "occ.h"

int			occ_default_mode = OCC_MODE_LAX;
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

/*
 * Define occ's GUCs.  Called once from _PG_init.
 */
void
occ_define_settings(void)
{
	DefineCustomEnumVariable("occ.default_mode",
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

#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("occ");
#else
	EmitWarningsOnPlaceholders("occ");
#endif
}

/*
 * Names of modes and kinds, as they appear in trigger arguments, in the
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

const char *
occ_kind_name(OccKind kind)
{
	switch (kind)
	{
		case OCC_KIND_INTEGER:
			return "integer";
		case OCC_KIND_TIMESTAMP:
			return "timestamp";
	}
	return NULL;				/* keep compiler quiet */
}

bool
occ_kind_from_name(const char *name, OccKind *kind)
{
	if (strcmp(name, "integer") == 0)
		*kind = OCC_KIND_INTEGER;
	else if (strcmp(name, "timestamp") == 0)
		*kind = OCC_KIND_TIMESTAMP;
	else
		return false;
	return true;
}
