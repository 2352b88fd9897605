/*-------------------------------------------------------------------------
 *
 * occ.h
 *	  Shared declarations of the occ extension: optimistic concurrency
 *	  control enforced by a row trigger.
 *
 * A table is protected by one BEFORE UPDATE OR DELETE row trigger that
 * calls occ.check_version().  The trigger's arguments are the table's whole
 * configuration (see enable.c for why it lives there), so pg_dump,
 * pg_restore and pg_upgrade carry it with the table:
 *
 *		occ.check_version(version_column, kind, mode)
 *
 * kind is "integer" or "timestamp"; mode is "strict", "lax", "none" or
 * "default" (follow occ.default_mode).
 *
 * src/occ.c		module magic and _PG_init
 * src/settings.c	the GUCs occ.default_mode and occ.if_match
 * src/if_match.c	parsing occ.if_match (plain value or entity-tag list)
 * src/version.c	version values: reading, advancing, parsing, printing
 * src/trigger.c	the row trigger that checks and advances versions
 * src/report.c		the stale-write and missing-version errors
 * src/http.c		entity tags, the http error style, the ETag header
 * src/wrappers.c	occ.update and occ.delete for RPC-style callers
 * src/enable.c		occ.enable, occ.disable, occ.set_mode, occ.tables
 * src/ddl.c		the DDL guard, and triggers that would also set the version
 *
 *-------------------------------------------------------------------------
 */
#ifndef OCC_H
#define OCC_H

#include "access/htup.h"
#include "catalog/pg_type_d.h"
#include "nodes/pg_list.h"
#include "utils/relcache.h"
#include "utils/reltrigger.h"

/*
 * SQLSTATEs of occ.  Class 40 (transaction rollback) makes generic retry
 * logic in drivers and frameworks treat a stale write as transient; 23
 * (integrity constraint violation) says the statement itself is wrong.
 * The "V" subclass is outside the range PostgreSQL uses for its own codes.
 */
#define ERRCODE_OCC_STALE_VERSION		MAKE_SQLSTATE('4','0','V','0','1')
#define ERRCODE_OCC_VERSION_REQUIRED	MAKE_SQLSTATE('2','3','V','0','1')

/*
 * The same two errors in the "http" error style (occ.error_style): PostgREST
 * answers SQLSTATE PTxyz with HTTP status xyz, here 412 Precondition Failed
 * and 428 Precondition Required.
 */
#define ERRCODE_OCC_HTTP_PRECONDITION_FAILED	MAKE_SQLSTATE('P','T','4','1','2')
#define ERRCODE_OCC_HTTP_PRECONDITION_REQUIRED	MAKE_SQLSTATE('P','T','4','2','8')

/* How occ reports its errors: occ.error_style. */
typedef enum OccErrorStyle
{
	OCC_ERROR_STYLE_SQLSTATE,	/* 40V01, 23V01 */
	OCC_ERROR_STYLE_HTTP		/* PT412, PT428 */
} OccErrorStyle;

/* Name of the trigger that occ.enable creates. */
#define OCC_TRIGGER_NAME		"occ_version"

/* What a version column holds. */
typedef enum OccKind
{
	OCC_KIND_INTEGER,			/* smallint, integer or bigint: +1 */
	OCC_KIND_TIMESTAMP			/* timestamp or timestamptz: strictly later */
} OccKind;

/* How strictly writes to a table are checked. */
typedef enum OccMode
{
	OCC_MODE_STRICT,			/* every write must state a version */
	OCC_MODE_LAX,				/* stated versions are checked */
	OCC_MODE_NONE,				/* nothing is checked, versions advance */
	OCC_MODE_DEFAULT			/* per table only: follow occ.default_mode */
} OccMode;

/*
 * The settings of one protected table, as decoded from its trigger's
 * arguments.
 */
typedef struct OccTableSettings
{
	const char *version_column;
	OccKind		kind;
	OccMode		mode;
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
 * occ.if_match as parsed.  A plain value is one entry; an entity-tag list
 * keeps its strong tags' contents in "values" and only counts weak ones,
 * which never match.
 */
typedef enum OccIfMatchForm
{
	OCC_IF_MATCH_UNSET,			/* empty: the write states nothing */
	OCC_IF_MATCH_ANY,			/* "*": any existing row */
	OCC_IF_MATCH_VALUES			/* one plain value or a list of tags */
} OccIfMatchForm;

/*
 * Where a write stated the version it expects, for the reports: in the
 * UPDATE's SET list, through the setting occ.if_match, or through the
 * if_match argument of occ.update or occ.delete.
 */
typedef enum OccStatedBy
{
	OCC_STATED_IN_UPDATE,
	OCC_STATED_BY_SETTING,
	OCC_STATED_BY_ARGUMENT
} OccStatedBy;

typedef struct OccIfMatch
{
	OccIfMatchForm form;
	List	   *values;			/* char * of each strong tag or plain value */
} OccIfMatch;

/*
 * The statement an occ.update or occ.delete call is running, and the
 * version it states for it.  The wrapper pushes one while its statement
 * runs; the trigger checks the rows of that statement -- rows of the
 * wrapper's table or of a partition of it, written one trigger level below
 * the wrapper -- against if_match instead of occ.if_match or an assigned
 * version, wherever the wrapper was called from (see wrappers.c).
 */
typedef struct OccWrapperStatement
{
	Oid			relid;			/* the table the wrapper writes */
	int			trigger_depth;	/* occ_trigger_depth() when it ran */
	const char *if_match;		/* as occ.if_match reads it; "" for NULL */
	struct OccWrapperStatement *outer;	/* the enclosing wrapper statement */
} OccWrapperStatement;

/* settings.c */
extern int	occ_default_mode;
extern int	occ_error_style;
extern char *occ_if_match;
extern uint64 occ_if_match_generation;
extern void occ_define_settings(void);
extern OccMode occ_effective_default_mode(void);
extern const char *occ_mode_name(OccMode mode);
extern bool occ_mode_from_name(const char *name, OccMode *mode);
extern const char *occ_kind_name(OccKind kind);
extern bool occ_kind_from_name(const char *name, OccKind *kind);

/* enable.c */
extern Oid	occ_check_version_oid(const char *schema);
extern void occ_table_info(Relation rel, const char *schema, OccTableInfo *info);
extern void occ_execute_ddl(const char *sql);
extern bool occ_check_adopted_column(Relation rel, AttrNumber attnum,
									 OccKind kind);
extern void occ_create_trigger(const char *schema, OccTableInfo *info,
							   const char *trigger_name,
							   const OccTableSettings *settings);
extern void occ_replace_trigger(const char *schema, OccTableInfo *info,
								const OccTableSettings *settings);

/* ddl.c */

/* Whether another trigger advances the version column too. */
typedef enum OccWriter
{
	OCC_WRITER_NO,
	OCC_WRITER_POSSIBLE,		/* its source appears to assign it */
	OCC_WRITER_CERTAIN			/* a C trigger given the column */
} OccWriter;

extern OccWriter occ_trigger_writes_column(Trigger *trigger, const char *column);
extern void occ_warn_possible_writer(Relation rel, Trigger *trigger,
									 const char *column);

/* http.c */
extern char *occ_version_etag(int64 value, Oid typid);
extern void occ_note_response_etag(MemoryContext statement_cxt, int64 version,
								   Oid typid);

/* if_match.c */
extern void occ_parse_if_match(const char *text, OccStatedBy source,
							   OccIfMatch *result);

/* version.c */
extern bool occ_type_fits_kind(Oid typid, OccKind kind);
extern bool occ_parse_version(const char *text, Oid typid, int64 *result);
extern int64 occ_next_version(Relation rel, const char *column, Oid typid,
							  int32 typmod, int64 current);
extern char *occ_version_out(int64 value, Oid typid);

/*
 * A version as int64 and back.  Every supported type is an int64
 * underneath (timestamps count microseconds); inline, since the trigger
 * converts twice per row.
 */
static inline int64
occ_version_to_int64(Datum value, Oid typid)
{
	switch (typid)
	{
		case INT2OID:
			return DatumGetInt16(value);
		case INT4OID:
			return DatumGetInt32(value);
		default:				/* int8, timestamp, timestamptz */
			return DatumGetInt64(value);
	}
}

static inline Datum
occ_int64_to_version(int64 value, Oid typid)
{
	switch (typid)
	{
		case INT2OID:
			return Int16GetDatum((int16) value);
		case INT4OID:
			return Int32GetDatum((int32) value);
		default:				/* int8, timestamp, timestamptz */
			return Int64GetDatum(value);
	}
}

/* wrappers.c */
extern OccWrapperStatement *occ_wrapper_statement;	/* innermost, or NULL */

/* trigger.c */
extern int	occ_trigger_depth(void);
extern bool occ_decode_trigger_args(int nargs, char **args,
									OccTableSettings *settings);
extern bool occ_trigger_is_well_formed(Trigger *trigger);
extern void occ_trigger_settings(Relation rel, Trigger *trigger,
								 OccTableSettings *settings);

/*
 * report.c.  These never return.  PostgreSQL 18 replaced the trailing
 * pg_attribute_noreturn() with a leading pg_noreturn.
 */
#ifdef pg_noreturn
#define OCC_NORETURN pg_noreturn
#define OCC_NORETURN_AFTER
#else
#define OCC_NORETURN
#define OCC_NORETURN_AFTER pg_attribute_noreturn()
#endif

OCC_NORETURN extern void occ_report_stale(Relation rel, HeapTuple oldtuple,
										  AttrNumber version_attnum,
										  bool is_delete, OccStatedBy stated_by,
										  const char *current,
										  const char *expected) OCC_NORETURN_AFTER;
OCC_NORETURN extern void occ_report_missing(Relation rel,
											AttrNumber version_attnum,
											bool is_delete,
											bool by_trigger) OCC_NORETURN_AFTER;
OCC_NORETURN extern void occ_report_bad_if_match(const char *text,
												 OccStatedBy source,
												 const char *detail) OCC_NORETURN_AFTER;

#endif							/* OCC_H */
