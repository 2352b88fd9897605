/*-------------------------------------------------------------------------
 *
 * protection.h
 *	  The occ trigger of a table: its settings, how they are written into
 *	  the trigger's arguments and read back, when a trigger protects its
 *	  table, the DDL that creates and replaces it, which columns can hold
 *	  versions, and a cache of the decoded settings by table.
 *
 * Everything that needs to know "is this table protected, and how" -- the
 * SQL functions, the DDL guard, the trigger, the wrappers and the view
 * occ.tables -- asks protection.c, and none of them asks another.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OCC_PROTECTION_H
#define OCC_PROTECTION_H

#include "access/attnum.h"
#include "nodes/pg_list.h"
#include "utils/relcache.h"
#include "utils/reltrigger.h"

#include "content_hash.h"
#include "kind.h"
#include "stream.h"
#include "settings.h"

/* Name of the trigger that occ.enable creates. */
#define OCC_TRIGGER_NAME		"occ_version"

/*
 * The settings of one protected table, as its trigger's arguments hold
 * them.
 */
typedef struct OccTableSettings
{
	const char *version_column; /* NULL for a content kind */
	const OccKindOps *kind;
	OccMode		mode;			/* OCC_MODE_DEFAULT: follow occ.default_mode */
	OccMode		audit;			/* strict, lax, or OCC_MODE_DEFAULT: follow
								 * occ.default_audit */
	int			nexclude;		/* a content kind's columns that do not count */
	char	  **exclude;
	const char *stream_column;	/* a stream kind's stream, else NULL */
} OccTableSettings;

/*
 * A table as the SQL functions and the DDL guard see it: its name and its
 * occ trigger, if any.  Everything is copied out of the relcache.
 */
typedef struct OccTableInfo
{
	Oid			relid;
	char	   *qualified_name; /* schema-qualified, quoted */
	char	   *name;
	Oid			trigger_function;	/* OID of occ.check_version() */
	bool		enabled;		/* has an occ trigger */
	char	   *trigger_name;
	bool		trigger_is_clone;	/* inherited from a partitioned table */
	char		trigger_enabled;	/* pg_trigger.tgenabled */
	OccTableSettings settings;
} OccTableInfo;

/*
 * A protected table as the trigger and the wrappers use it on every write:
 * its settings and where its version column is, decoded once and kept
 * for the backend (see occ_protected_table).
 */
typedef struct OccProtectedTable
{
	Oid			relid;			/* hash key */
	bool		valid;			/* cleared when the table's relcache entry is */
	Oid			tgoid;			/* the trigger it was decoded from */
	Oid			origin_relid;	/* the table that was enabled: relid, or
								 * the partitioned table it belongs to */
	OccTableSettings settings;	/* version_column points into column_name;
								 * exclude is not kept */
	NameData	column_name;
	OccVersionColumn column;	/* for the kind's operations */
	AttrNumber	attnum;			/* InvalidAttrNumber for a content kind */
	OccContentPlan *content;	/* a content kind's plan, else NULL */
	OccStreamTable *stream;		/* a stream kind's stream, else NULL */
	int16		typlen;
	char		typalign;
	bool		is_partition;	/* rows may move to another partition */

	/*
	 * Where to start looking for the version in a tuple without NULLs: the
	 * columns before it that have a fixed width are at fixed offsets, so
	 * only the ones after the first variable-width column need walking.
	 */
	AttrNumber	walk_from;		/* first column (0-based) to walk over */
	uint32		walk_from_off;	/* its unaligned offset in the data */
} OccProtectedTable;

/* Where a column about to serve as a version column comes from. */
typedef enum OccColumnUse
{
	OCC_COLUMN_ADOPTED,			/* occ.enable adopts an existing column */
	OCC_COLUMN_ALTERED,			/* DDL changed an enabled table's column */
	OCC_COLUMN_IN_USE			/* the trigger finds it changed */
} OccColumnUse;

extern Oid	occ_check_version_oid(const char *schema);
extern bool occ_decode_trigger_args(int nargs, char **args,
									OccTableSettings *settings);
extern char *occ_encode_trigger_args(const OccTableSettings *settings);
extern bool occ_trigger_is_well_formed(const Trigger *trigger);
extern void occ_trigger_settings(Relation rel, Trigger *trigger,
								 OccTableSettings *settings);
extern void occ_table_info(Relation rel, const char *schema, OccTableInfo *info);
extern void occ_check_version_column(Relation rel, AttrNumber attnum,
									 const OccKindOps *kind, OccColumnUse use);
extern bool occ_settings_exclude(const OccTableSettings *settings,
								 const char *column);
extern int	occ_counted_columns(Relation rel, const OccTableSettings *settings);
extern Oid	occ_trigger_origin_relid(Relation rel, Trigger *trigger);
extern void occ_execute_ddl(const char *sql);
extern void occ_create_trigger(const char *schema, OccTableInfo *info,
							   const char *trigger_name,
							   const OccTableSettings *settings);
extern void occ_replace_trigger(const char *schema, OccTableInfo *info,
								const OccTableSettings *settings);
extern OccProtectedTable *occ_protected_table(Relation rel, Trigger *trigger,
											  uint64 *epoch);

/*
 * May a pointer obtained from occ_protected_table at this epoch still be
 * used?  Called for every row, hence inline.
 */
extern uint64 occ_protected_tables_epoch;

static inline bool
occ_protected_table_current(const OccProtectedTable *table, uint64 epoch)
{
	return epoch == occ_protected_tables_epoch && table->valid;
}

#endif							/* OCC_PROTECTION_H */
