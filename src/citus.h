/*-------------------------------------------------------------------------
 *
 * citus.h
 *	  What occ does differently when the database uses Citus (citus.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef OCC_CITUS_H
#define OCC_CITUS_H

#include "nodes/plannodes.h"
#include "utils/relcache.h"

extern bool occ_citus_installed(void);
extern bool occ_citus_table(Oid relid, char *partmethod, char *repmodel);
extern void occ_citus_check_enable(Relation rel, const char *kind_name,
								   bool uses_clock);
extern bool occ_citus_wrapper_table(Oid relid, const char *relname,
									const char *function,
									bool has_version_column);
extern int	occ_citus_allow_triggers(void);
extern void occ_citus_end_allow_triggers(int nestlevel);
extern bool occ_citus_local_ddl(bool local);
extern void occ_citus_check_statement(PlannedStmt *stmt);
extern const char *occ_citus_table_name(Oid relid);
extern void occ_citus_init(void);

#endif							/* OCC_CITUS_H */
