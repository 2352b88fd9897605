/*-------------------------------------------------------------------------
 *
 * occ.c
 *	  Entry point of the occ extension.
 *
 * The library needs no background worker: it keeps all state in the system
 * catalogs (see protection.c) and is loaded on first use, like any function
 * library.  Only the conflict statistics live in shared memory (stats.c):
 * before PostgreSQL 17 they need the library in shared_preload_libraries,
 * nothing else does.  Once loaded, it watches the statements that write
 * rows start, to read their WHERE clauses (see where_clause.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "citus.h"
#include "settings.h"
#include "stats.h"
#include "where_clause.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	occ_define_settings();
	occ_where_clause_init();
	occ_stats_init();
	occ_citus_init();
}
