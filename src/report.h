/*-------------------------------------------------------------------------
 *
 * report.h
 *	  The reports of refused writes: built first, then raised as an error
 *	  or emitted at a lower level.
 *
 * A report holds everything the message, DETAIL, HINT and error fields
 * need, decided when it is built (what the user may see included), so
 * that the same report can be raised as the error that refuses the write
 * or, for a write that is let through, emitted as a WARNING or LOG line.
 *
 * The occ_report_* functions are called by the trigger for the row it is
 * checking: they raise the refusal if the row's mode refuses it, and else
 * -- the row is checked at a stricter audit level -- report it (audit.c)
 * and return, and the write goes ahead.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OCC_REPORT_H
#define OCC_REPORT_H

#include "access/htup.h"
#include "utils/relcache.h"

#include "if_match.h"
#include "settings.h"

/*
 * PostgreSQL 18 replaced the trailing pg_attribute_noreturn() with a
 * leading pg_noreturn.
 */
#ifdef pg_noreturn
#define OCC_NORETURN pg_noreturn
#define OCC_NORETURN_AFTER
#else
#define OCC_NORETURN
#define OCC_NORETURN_AFTER pg_attribute_noreturn()
#endif

typedef enum OccRefusal
{
	OCC_REFUSAL_STALE,			/* 40V01: the stated version is not current */
	OCC_REFUSAL_MISSING			/* 23V01: a strict table, nothing stated */
} OccRefusal;

typedef struct OccReport
{
	OccRefusal	refusal;
	Relation	rel;
	AttrNumber	version_attnum;
	bool		is_delete;
	bool		is_append;		/* an event appended to a stream */
	OccStatedBy stated_by;		/* stale: where the stated version came from */
	bool		by_trigger;		/* missing: a trigger's statement wrote it */
	bool		where_unseen;	/* missing: its WHERE clause was not seen */
	char	   *key;			/* "(id)=(1)", or NULL if not to be shown */
	bool		show_versions;	/* may the user see the versions? */
	char	   *current;		/* stale: printed versions */
	char	   *expected;
	char	   *stream;			/* an append's stream, or NULL if not shown */

	/* a write let through and reported instead (see audit.c) */
	bool		audited;
	OccMode		mode;			/* the table's mode, which let it through */
	OccMode		audit;			/* the audit level, which would refuse it */
} OccReport;

extern void occ_build_stale_report(OccReport *report, Relation rel,
								   HeapTuple oldtuple, AttrNumber version_attnum,
								   bool is_delete, OccStatedBy stated_by,
								   const char *current, const char *expected);
extern void occ_build_missing_report(OccReport *report, Relation rel,
									 AttrNumber version_attnum, bool is_delete,
									 bool by_trigger, bool where_unseen);
extern void occ_emit_report(const OccReport *report, int elevel);

/*
 * Build and raise, or for a row checked at a stricter audit level than its
 * mode report and return.
 */
extern void occ_report_stale(Relation rel, HeapTuple oldtuple,
							 AttrNumber version_attnum, bool is_delete,
							 OccStatedBy stated_by, const char *current,
							 const char *expected);
extern void occ_report_missing(Relation rel, AttrNumber version_attnum,
							   bool is_delete, bool by_trigger,
							   bool where_unseen);
extern void occ_report_stream_stale(Relation rel, AttrNumber version_attnum,
									AttrNumber stream_attnum,
									const char *stream, int64 current,
									const char *expected,
									OccStatedBy stated_by);
extern void occ_report_stream_missing(Relation rel, AttrNumber version_attnum,
									  bool by_trigger);
extern int	occ_report_sqlstate(const OccReport *report);
OCC_NORETURN extern void occ_report_bad_if_match(const char *text,
												 OccStatedBy source,
												 const char *detail) OCC_NORETURN_AFTER;

#endif							/* OCC_REPORT_H */
