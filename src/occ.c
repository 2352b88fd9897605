/*-------------------------------------------------------------------------
 *
 * occ.c
 *	  Entry point of the occ extension.
 *
 * The library needs no shared memory and no background worker: it keeps
 * all state in the system catalogs (see protection.c) and is loaded on
 * first use, like any function library.  It does not need to be listed in
 * shared_preload_libraries.  Once loaded, it watches the statements that
 * write rows start, to read their WHERE clauses (see where_clause.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "citus.h"
#include "settings.h"
#include "where_clause.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	occ_define_settings();
	occ_where_clause_init();
	occ_citus_init();
}
