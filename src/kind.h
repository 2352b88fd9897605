/*-------------------------------------------------------------------------
 *
 * kind.h
 *	  Kinds of versions: what a version is, and the operations on it.
 *
 * A kind says which column types can hold its versions, how a version is
 * read from a row and compared with a stated one, how it advances, and how
 * it is printed and written as an entity tag.  The trigger, the reports,
 * the wrappers and occ.etag use these operations and nothing else, so a
 * new kind is one new file (kind_<name>.c) and one line in kind.c.
 *
 * The integer and timestamp kinds keep a version in a column, as one int64
 * (timestamps count microseconds since 2000-01-01).  The hash kind keeps
 * none: a row's version is a 128-bit hash of its content, computed when a
 * check needs it (content_hash.c), and nothing advances.  A version is a
 * union so that both fit.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OCC_KIND_H
#define OCC_KIND_H

#include "catalog/pg_type_d.h"

typedef union OccVersion
{
	int64		counter;		/* integer and timestamp kinds */
	uint8		bytes[16];		/* room for a 128-bit version */
} OccVersion;

/* The column a version lives in, for the operations that need its type. */
typedef struct OccVersionColumn
{
	const char *relname;		/* for errors */
	const char *name;
	Oid			typid;
	int32		typmod;
} OccVersionColumn;

typedef struct OccKindOps
{
	/* the name in occ.enable's "kind" argument, the trigger and occ.tables */
	const char *name;

	/*
	 * Does OccVersion.counter hold the column's value, as
	 * occ_counter_from_datum reads it?  Then the trigger reads it inline.
	 */
	bool		is_counter;

	/*
	 * Is the version the content of the row rather than a column of it?
	 * Then the kind has no column types and no column operations (they are
	 * NULL), a stated version is read with parse, and nothing advances.
	 */
	bool		is_content;

	/*
	 * Are rows appended rather than changed?  Then the table is a stream
	 * store (kind stream): occ assigns each INSERTed row the next version of
	 * its stream, and refuses UPDATE and DELETE.
	 */
	bool		appends;

	/* the column types it can use, as a HINT lists them */
	const char *column_types;

	/* type and default of a version column that occ.enable adds */
	const char *new_column;

	/* can a column of this type hold versions of this kind? */
	bool		(*column_fits) (Oid typid);

	/* a column's value as a version, and back */
	OccVersion	(*from_datum) (Datum value, Oid typid);
	Datum		(*to_datum) (OccVersion version, Oid typid);

	/*
	 * A content kind's stated version, from its text; false if it is not
	 * one.  (A column's versions are read by the column type's input
	 * function.)
	 */
	bool		(*parse) (const char *text, OccVersion *result);

	/* do two versions of one column stand for the same row version? */
	bool		(*equal) (OccVersion a, OccVersion b);

	/*
	 * Is an assigned value that differs from the current version still a
	 * statement of it?  The integer kind accepts the version read + 1 that
	 * ORMs assign (SET version = read + 1 WHERE version = read).
	 */
	bool		(*states_current) (OccVersion assigned, OccVersion current);

	/*
	 * Is an assigned value one that nobody could have read, because it lies
	 * beyond the current version and every value it may take next?  Then
	 * it is not a statement but a proposal: the application chooses the
	 * next version (an ORM's updated_at, an application's version jump),
	 * and the row takes it.
	 */
	bool		(*proposes) (OccVersion assigned, OccVersion current);

	/* the version after "current"; an error if there is none */
	OccVersion	(*next) (OccVersion current, const OccVersionColumn *column);

	/* the version as the column's output function prints it */
	char	   *(*print) (OccVersion version, Oid typid);

	/* its strong entity tag, quotes included */
	char	   *(*etag) (OccVersion version, Oid typid);
} OccKindOps;

/* kind_integer.c, kind_timestamp.c, kind_hash.c, kind_stream.c */
extern const OccKindOps occ_integer_kind;
extern const OccKindOps occ_timestamp_kind;
extern const OccKindOps occ_hash_kind;
extern const OccKindOps occ_stream_kind;

/* kind_integer.c: shared with the stream kind, whose versions are counts */
extern bool occ_integer_column_fits(Oid typid);
extern OccVersion occ_integer_next(OccVersion current, const OccVersionColumn *column);
extern char *occ_integer_print(OccVersion version, Oid typid);
extern char *occ_integer_etag(OccVersion version, Oid typid);

/* kind.c */
extern const OccKindOps *occ_kind_by_name(const char *name);
extern const OccKindOps *occ_kind_of_type(Oid typid);
extern const char *occ_kind_column_types(void);
extern const char *occ_kind_names(void);
extern bool occ_parse_version(const char *text, Oid typid,
							  const OccKindOps *kind, OccVersion *result);

/*
 * The operations shared by the counter kinds, whose OccVersion.counter is
 * the column's value (kind.c).
 */
extern OccVersion occ_counter_from_version_datum(Datum value, Oid typid);
extern Datum occ_counter_to_version_datum(OccVersion version, Oid typid);
extern bool occ_counter_equal(OccVersion a, OccVersion b);

/*
 * The int64 under a value of every type the counter kinds use: smallint,
 * integer and bigint by value, timestamp and timestamptz as microseconds.
 * Inline, since the trigger converts twice per row.
 */
static inline int64
occ_counter_from_datum(Datum value, Oid typid)
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
occ_counter_to_datum(int64 value, Oid typid)
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

#endif							/* OCC_KIND_H */
