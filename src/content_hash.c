/*-------------------------------------------------------------------------
 *
 * content_hash.c
 *	  The version of a row of a hash-kind table: a 128-bit hash of its
 *	  content.
 *
 * What is hashed.  Every column of the protected table in column order,
 * but dropped and excluded ones.  For each, a byte saying whether it is
 * NULL, then its value's canonical byte image:
 *
 *	- by default the bytes PostgreSQL stores, detoasted: a value stored
 *	  compressed, out of line or inline, with a short or a long header, is
 *	  the same content.  Values that compare equal but are stored
 *	  differently are different content (1.0 and 1.00, -0 and 0, 'Alice'
 *	  and 'alice' under a case-insensitive collation): a reader shown one
 *	  and a writer holding the other did not see the same row.  Variable-
 *	  length values are preceded by their length, so that no two rows
 *	  run together into the same bytes;
 *	- float4 and float8 NaNs, also those in the geometric types (made of
 *	  float8s), as the one NaN their input function makes: a NaN computed
 *	  by arithmetic may carry other bits, which a dump would not restore; a
 *	  name as its characters, without the bytes after its
 *	  terminator, which not every function that makes a name zeroes;
 *	- values whose stored bytes hold an OID, which pg_dump and pg_restore
 *	  do not keep, in a form that holds none: an enum as its label, a reg*
 *	  type as its name (printed with search_path = pg_catalog, pg_temp, so
 *	  that it is qualified whatever the session's search_path and temporary
 *	  objects), an aclitem as its text (role names), a composite value
 *	  field by field, an array of user-defined or such element types
 *	  element by element, and a range or multirange of a user-defined type
 *	  bound by bound.  Built-in types' OIDs are fixed, so arrays and ranges
 *	  of plain built-in types are hashed as stored;
 *	- an array hashed as stored without its null bitmap when no element is
 *	  NULL: an element assignment may leave one behind, which a dump would
 *	  not restore;
 *	- a tsquery item by item, as its send function writes it but in the
 *	  server's encoding: its stored operand strings are in the order the
 *	  query was built in (tsquery_and puts the right-hand operand's
 *	  first), which it does not print and a dump does not keep.
 *
 * Nothing depends on a session setting (TimeZone, DateStyle, extra_float_
 * digits, search_path, quote_all_identifiers), as text forms would.
 * hash_record_extended() would not do either: it hashes values that
 * compare equal alike, cannot hash json, and hashes enums by OID.
 *
 * The hash is seeded with the list of columns hashed, by name and type, so
 * that tags are per column list: two tables' rows share a tag only if they
 * have the same columns with the same content.  So adding, dropping or
 * renaming a counted column, or changing its type, changes every tag of
 * the table; excluding and renaming excluded columns does not.  The image
 * is the server's own, in its byte order: every server that reads the same
 * data files (a physical standby) and every server of the same byte order
 * and database encoding (a restored dump, a logical subscriber) computes
 * the same tags.
 *
 * A partition's rows are hashed in the column order of the table that was
 * enabled, by column name, so that a row's tag is the same whether it is
 * read through the partitioned table or the partition, whatever order the
 * partition's own columns are in.
 *
 * The hash is XXH3's 128-bit hash, from the xxHash library: fast on short
 * inputs, which rows mostly are, and with no known collisions in practice.
 * A row is gathered into a buffer and hashed at once; a row too large for
 * the buffer is streamed through XXH3's incremental interface, which gives
 * the same hash.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include <xxhash.h>

#include "access/htup_details.h"
#include "access/tupdesc.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "tsearch/ts_type.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/geo_decls.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rangetypes.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/typcache.h"
#if PG_VERSION_NUM >= 140000
#include "utils/multirangetypes.h"
#endif

#include "content_hash.h"

/* How a value of a type is turned into bytes to hash. */
typedef enum ValueForm
{
	FORM_STORED,				/* the stored bytes, detoasted */
	FORM_FLOAT4,				/* stored bytes, NaNs made one */
	FORM_FLOAT8,
	FORM_GEOMETRIC,				/* stored bytes, float8 NaNs made one */
	FORM_NAME,					/* the characters before the terminator */
	FORM_TSQUERY,				/* item by item, operands in order */
	FORM_ENUM,					/* the label */
	FORM_OBJECT_NAME,			/* a reg* type: the name of the object */
	FORM_PLAIN_ARRAY,			/* stored bytes, without a needless null
								 * bitmap */
	FORM_ARRAY,					/* dimensions, then element by element */
	FORM_COMPOSITE,				/* field by field */
	FORM_RANGE,					/* flags, then bound by bound */
	FORM_MULTIRANGE				/* range by range */
} ValueForm;

/* A type as it is hashed: the base type of a domain. */
typedef struct ValueType
{
	Oid			typid;
	int16		typlen;
	bool		typbyval;
	ValueForm	form;
} ValueType;

typedef struct HashedColumn
{
	AttrNumber	attnum;			/* in the relation the plan is for */
	ValueType	type;
} HashedColumn;

struct OccContentPlan
{
	uint64		seed;			/* the hash of the column list */
	AttrNumber	last_attnum;	/* the highest attnum hashed */
	int			ncolumns;
	HashedColumn columns[FLEXIBLE_ARRAY_MEMBER];
};

/* ----------------------------------------------------------------
 * The input of one hash
 * ----------------------------------------------------------------
 */

#define HASH_BUFFER_SIZE	1024

typedef struct HashInput
{
	uint64		seed;
	bool		streaming;		/* has stream_state taken part of it? */
	size_t		len;			/* bytes in buffer */
	char		buffer[HASH_BUFFER_SIZE];
} HashInput;

/*
 * XXH3's state for rows larger than the buffer, allocated by the library
 * once for the backend.  One hash is computed at a time: nothing that runs
 * while a row is hashed (an enum's label, a reg* output function) hashes
 * another, and a hash that an error interrupted is simply started again.
 */
static XXH3_state_t *stream_state = NULL;

static void
hash_input_init(HashInput *in, uint64 seed)
{
	in->seed = seed;
	in->streaming = false;
	in->len = 0;
}

static void
input_bytes(HashInput *in, const void *data, size_t len)
{
	if (likely(in->len + len <= HASH_BUFFER_SIZE))
	{
		memcpy(in->buffer + in->len, data, len);
		in->len += len;
		return;
	}

	if (!in->streaming)
	{
		if (stream_state == NULL)
		{
			stream_state = XXH3_createState();
			if (stream_state == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_OUT_OF_MEMORY),
						 errmsg("out of memory")));
		}
		(void) XXH3_128bits_reset_withSeed(stream_state, in->seed);
		in->streaming = true;
	}
	(void) XXH3_128bits_update(stream_state, in->buffer, in->len);
	in->len = 0;
	if (len > HASH_BUFFER_SIZE)
		(void) XXH3_128bits_update(stream_state, data, len);
	else
	{
		memcpy(in->buffer, data, len);
		in->len = len;
	}
}

static inline void
input_byte(HashInput *in, uint8 byte)
{
	input_bytes(in, &byte, 1);
}

/* Bytes whose number varies: preceded by it. */
static void
input_counted_bytes(HashInput *in, const void *data, uint32 len)
{
	input_bytes(in, &len, sizeof(len));
	input_bytes(in, data, len);
}

static OccVersion
hash_result(HashInput *in)
{
	XXH128_hash_t hash;
	XXH128_canonical_t canonical;
	OccVersion	version;

	if (in->streaming)
	{
		(void) XXH3_128bits_update(stream_state, in->buffer, in->len);
		hash = XXH3_128bits_digest(stream_state);
	}
	else
		hash = XXH3_128bits_withSeed(in->buffer, in->len, in->seed);

	StaticAssertStmt(sizeof(canonical.digest) == sizeof(version.bytes),
					 "a content hash fills a version");
	XXH128_canonicalFromHash(&canonical, hash);
	memcpy(version.bytes, canonical.digest, sizeof(version.bytes));
	return version;
}

/* ----------------------------------------------------------------
 * Types and their forms
 * ----------------------------------------------------------------
 */

/*
 * The reg* types: OIDs that stand for a named object; and aclitem, which
 * holds the OIDs of two roles and prints their names.
 */
static bool
names_an_object(Oid typid)
{
	switch (typid)
	{
		case ACLITEMOID:
		case REGPROCOID:
		case REGPROCEDUREOID:
		case REGOPEROID:
		case REGOPERATOROID:
		case REGCLASSOID:
		case REGTYPEOID:
		case REGCONFIGOID:
		case REGDICTIONARYOID:
		case REGNAMESPACEOID:
		case REGROLEOID:
		case REGCOLLATIONOID:
			return true;
		default:
			return false;
	}
}

static void describe_type(Oid typid, ValueType *type);

/*
 * May values of the type be hashed as stored, when a container of them
 * (an array, a range) is?  They must hold no OID of their own and need no
 * form of their own, and the container's stored bytes hold the type's
 * OID, which must be that of a built-in type.
 */
static bool
stored_bytes_are_stable(Oid typid)
{
	ValueType	type;

	if (typid >= FirstNormalObjectId)
		return false;
	describe_type(typid, &type);
	return type.form == FORM_STORED;
}

static ValueForm
value_form(Oid typid, TypeCacheEntry *typentry)
{
	Oid			element;

	if (typid == FLOAT4OID)
		return FORM_FLOAT4;
	if (typid == FLOAT8OID)
		return FORM_FLOAT8;
	if (typid == NAMEOID)
		return FORM_NAME;
	if (typid == TSQUERYOID)
		return FORM_TSQUERY;
	switch (typid)
	{
		case POINTOID:
		case LSEGOID:
		case PATHOID:
		case BOXOID:
		case POLYGONOID:
		case LINEOID:
		case CIRCLEOID:
			return FORM_GEOMETRIC;
		default:
			break;
	}
	if (names_an_object(typid))
		return FORM_OBJECT_NAME;

	switch (typentry->typtype)
	{
		case TYPTYPE_ENUM:
			return FORM_ENUM;
		case TYPTYPE_COMPOSITE:
			return FORM_COMPOSITE;
		case TYPTYPE_RANGE:
			typentry = lookup_type_cache(typid, TYPECACHE_RANGE_INFO);
			if (typid < FirstNormalObjectId &&
				stored_bytes_are_stable(typentry->rngelemtype->type_id))
				return FORM_STORED;
			return FORM_RANGE;
#if PG_VERSION_NUM >= 140000
		case TYPTYPE_MULTIRANGE:
			typentry = lookup_type_cache(typid, TYPECACHE_MULTIRANGE_INFO);
			if (typid < FirstNormalObjectId &&
				typentry->rngtype->type_id < FirstNormalObjectId &&
				stored_bytes_are_stable(typentry->rngtype->rngelemtype->type_id))
				return FORM_STORED;
			return FORM_MULTIRANGE;
#endif
		default:
			break;
	}

	element = get_element_type(typid);
	if (OidIsValid(element))
		return stored_bytes_are_stable(element) ? FORM_PLAIN_ARRAY : FORM_ARRAY;
	return FORM_STORED;
}

/* How values of typid are hashed: those of a domain as its base type's. */
static void
describe_type(Oid typid, ValueType *type)
{
	TypeCacheEntry *typentry;

	check_stack_depth();		/* a composite type may nest deeply */
	type->typid = getBaseType(typid);
	typentry = lookup_type_cache(type->typid, 0);
	type->typlen = typentry->typlen;
	type->typbyval = typentry->typbyval;
	type->form = value_form(type->typid, typentry);
}

/* ----------------------------------------------------------------
 * Hashing values
 * ----------------------------------------------------------------
 */

static void input_value(HashInput *in, const ValueType *type, Datum value);

static void
input_stored_bytes(HashInput *in, const ValueType *type, Datum value)
{
	if (type->typbyval)
	{
		char		image[sizeof(Datum)];

		store_att_byval(image, value, type->typlen);
		input_bytes(in, image, type->typlen);
	}
	else if (type->typlen > 0)
		input_bytes(in, DatumGetPointer(value), type->typlen);
	else if (type->typlen == -1)
	{
		struct varlena *stored = (struct varlena *) DatumGetPointer(value);
		struct varlena *plain = pg_detoast_datum_packed(stored);

		input_counted_bytes(in, VARDATA_ANY(plain), VARSIZE_ANY_EXHDR(plain));
		if (plain != stored)
			pfree(plain);
	}
	else
	{
		const char *cstring = DatumGetCString(value);

		input_counted_bytes(in, cstring, strlen(cstring));
	}
}

/* float8s, each NaN made the one float8in makes. */
static void
input_float8s(HashInput *in, const char *data, int count)
{
	int			i;

	for (i = 0; i < count; i++)
	{
		float8		f;

		memcpy(&f, data + i * sizeof(float8), sizeof(float8));
		if (isnan(f))
			f = get_float8_nan();
		input_bytes(in, &f, sizeof(f));
	}
}

/*
 * A value of a geometric type: its float8s, after the number of points and
 * whether it is closed for a path, after the number of points for a
 * polygon (whose bounding box is float8s too).
 */
static void
input_geometric(HashInput *in, const ValueType *type, Datum value)
{
	if (type->typid == PATHOID)
	{
		PATH	   *path = DatumGetPathP(value);

		input_bytes(in, &path->npts, sizeof(path->npts));
		input_bytes(in, &path->closed, sizeof(path->closed));
		input_float8s(in, (const char *) path->p,
					  path->npts * (int) (sizeof(Point) / sizeof(float8)));
	}
	else if (type->typid == POLYGONOID)
	{
		POLYGON    *polygon = DatumGetPolygonP(value);

		input_bytes(in, &polygon->npts, sizeof(polygon->npts));
		input_float8s(in, (const char *) &polygon->boundbox,
					  (int) (sizeof(BOX) / sizeof(float8)));
		input_float8s(in, (const char *) polygon->p,
					  polygon->npts * (int) (sizeof(Point) / sizeof(float8)));
	}
	else
		input_float8s(in, DatumGetPointer(value),
					  type->typlen / (int) sizeof(float8));
}

/*
 * A tsquery as its send function writes it, item by item in Polish
 * notation, but with its operands in the server's encoding (the send
 * function converts them to the client's).  The order in which its operand
 * strings are stored is left out: it is the order the query was built in,
 * which the query does not print and a dump does not keep.
 */
static void
input_tsquery(HashInput *in, Datum value)
{
	TSQuery		query = (TSQuery) PG_DETOAST_DATUM(value);
	QueryItem  *item = GETQUERY(query);
	int32		i;

	input_bytes(in, &query->size, sizeof(query->size));
	for (i = 0; i < query->size; i++, item++)
	{
		input_byte(in, (uint8) item->type);
		if (item->type == QI_VAL)
		{
			input_byte(in, item->qoperand.weight);
			input_byte(in, item->qoperand.prefix ? 1 : 0);
			input_counted_bytes(in, GETOPERAND(query) + item->qoperand.distance,
								item->qoperand.length);
		}
		else
		{
			input_byte(in, (uint8) item->qoperator.oper);
			if (item->qoperator.oper == OP_PHRASE)
				input_bytes(in, &item->qoperator.distance,
							sizeof(item->qoperator.distance));
		}
	}
}

static void
input_enum_label(HashInput *in, Datum value)
{
	HeapTuple	tuple = SearchSysCache1(ENUMOID, value);
	const char *label;

	if (!HeapTupleIsValid(tuple))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid internal value for enum: %u",
						DatumGetObjectId(value))));
	label = NameStr(((Form_pg_enum) GETSTRUCT(tuple))->enumlabel);
	input_counted_bytes(in, label, strlen(label));
	ReleaseSysCache(tuple);
}

/*
 * The name of the object a reg* value stands for, as its output function
 * prints it with pg_catalog first in the search path and the session's
 * temporary schema after it (not first, where it is searched when not
 * listed, so that a temporary object named like a built-in one does not
 * make the built-in one print qualified): schema-qualified unless built
 * in, whatever the session's search_path.  A dangling OID prints as a
 * number.  An aclitem the same way: it prints role names.
 */
static void
input_object_name(HashInput *in, Oid typid, Datum value)
{
	Oid			typoutput;
	bool		typisvarlena;
	int			nestlevel;
	char	   *name;

	getTypeOutputInfo(typid, &typoutput, &typisvarlena);
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	(void) set_config_option("quote_all_identifiers", "off",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	name = OidOutputFunctionCall(typoutput, value);
	AtEOXact_GUC(true, nestlevel);

	input_counted_bytes(in, name, strlen(name));
	pfree(name);
}

/*
 * An array of a type hashed as stored, as stored, but without its null
 * bitmap when no element is NULL.  Assigning to an element of an array
 * that held a NULL keeps the bitmap (array_set_element), but the input
 * function, COPY and the other array functions build none: the same
 * content restored from a dump or applied by a logical subscriber is
 * stored without it.  An array without a bitmap is hashed exactly as
 * stored.
 */
static void
input_plain_array(HashInput *in, Datum value)
{
	ArrayType  *array = DatumGetArrayTypeP(value);

	if (ARR_HASNULL(array) && !array_contains_nulls(array))
	{
		int			ndim = ARR_NDIM(array);
		Size		overhead = ARR_OVERHEAD_NONULLS(ndim);
		Size		nbytes = ARR_SIZE(array) - array->dataoffset;
		ArrayType  *plain = palloc0(overhead + nbytes);

		/* the header without a bitmap, then the same elements */
		SET_VARSIZE(plain, overhead + nbytes);
		plain->ndim = ndim;
		plain->dataoffset = 0;
		plain->elemtype = ARR_ELEMTYPE(array);
		memcpy(ARR_DIMS(plain), ARR_DIMS(array), ndim * sizeof(int));
		memcpy(ARR_LBOUND(plain), ARR_LBOUND(array), ndim * sizeof(int));
		memcpy((char *) plain + overhead,
			   (char *) array + array->dataoffset, nbytes);
		input_counted_bytes(in, VARDATA(plain), VARSIZE(plain) - VARHDRSZ);
		pfree(plain);
	}
	else
		input_counted_bytes(in, VARDATA(array), VARSIZE(array) - VARHDRSZ);

	if ((Pointer) array != DatumGetPointer(value))
		pfree(array);
}

static void
input_array(HashInput *in, Datum value)
{
	ArrayType  *array = DatumGetArrayTypeP(value);
	int			ndim = ARR_NDIM(array);
	ValueType	element;
	ArrayIterator iterator;
	Datum		item;
	bool		isnull;

	input_bytes(in, &ndim, sizeof(ndim));
	input_bytes(in, ARR_DIMS(array), ndim * sizeof(int));
	input_bytes(in, ARR_LBOUND(array), ndim * sizeof(int));

	describe_type(ARR_ELEMTYPE(array), &element);
	iterator = array_create_iterator(array, 0, NULL);
	while (array_iterate(iterator, &item, &isnull))
	{
		input_byte(in, isnull ? 0 : 1);
		if (!isnull)
			input_value(in, &element, item);
	}
	array_free_iterator(iterator);
}

static void
input_composite(HashInput *in, Datum value)
{
	HeapTupleHeader header = DatumGetHeapTupleHeader(value);
	TupleDesc	desc;
	HeapTupleData tuple;
	Datum	   *values;
	bool	   *nulls;
	int			i;

	desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(header),
								  HeapTupleHeaderGetTypMod(header));
	tuple.t_len = HeapTupleHeaderGetDatumLength(header);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = header;

	values = palloc(sizeof(Datum) * Max(desc->natts, 1));
	nulls = palloc(sizeof(bool) * Max(desc->natts, 1));
	heap_deform_tuple(&tuple, desc, values, nulls);

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(desc, i);
		ValueType	field;

		if (attr->attisdropped)
			continue;
		input_byte(in, nulls[i] ? 0 : 1);
		if (nulls[i])
			continue;
		describe_type(attr->atttypid, &field);
		input_value(in, &field, values[i]);
	}
	ReleaseTupleDesc(desc);
	pfree(values);
	pfree(nulls);
}

static void
input_range(HashInput *in, Datum value)
{
	RangeType  *range = DatumGetRangeTypeP(value);
	TypeCacheEntry *typentry;
	RangeBound	lower;
	RangeBound	upper;
	bool		empty;
	ValueType	subtype;

	typentry = lookup_type_cache(RangeTypeGetOid(range), TYPECACHE_RANGE_INFO);
	range_deserialize(typentry, range, &lower, &upper, &empty);
	input_byte(in, (uint8) range_get_flags(range));
	if (empty)
		return;
	describe_type(typentry->rngelemtype->type_id, &subtype);
	if (!lower.infinite)
		input_value(in, &subtype, lower.val);
	if (!upper.infinite)
		input_value(in, &subtype, upper.val);
}

#if PG_VERSION_NUM >= 140000
static void
input_multirange(HashInput *in, Datum value)
{
	MultirangeType *multirange = DatumGetMultirangeTypeP(value);
	TypeCacheEntry *typentry;
	int32		count;
	RangeType **ranges;
	int32		i;

	typentry = lookup_type_cache(MultirangeTypeGetOid(multirange),
								 TYPECACHE_MULTIRANGE_INFO);
	multirange_deserialize(typentry->rngtype, multirange, &count, &ranges);
	input_bytes(in, &count, sizeof(count));
	for (i = 0; i < count; i++)
		input_range(in, RangeTypePGetDatum(ranges[i]));
}
#endif

/* The canonical byte image of a value that is not NULL. */
static void
input_value(HashInput *in, const ValueType *type, Datum value)
{
	switch (type->form)
	{
		case FORM_STORED:
			input_stored_bytes(in, type, value);
			break;
		case FORM_FLOAT4:
			{
				float4		f = DatumGetFloat4(value);

				if (isnan(f))
					f = get_float4_nan();
				input_bytes(in, &f, sizeof(f));
			}
			break;
		case FORM_FLOAT8:
			{
				float8		f = DatumGetFloat8(value);

				if (isnan(f))
					f = get_float8_nan();
				input_bytes(in, &f, sizeof(f));
			}
			break;
		case FORM_NAME:
			{
				const char *name = NameStr(*DatumGetName(value));

				input_counted_bytes(in, name, strnlen(name, NAMEDATALEN));
			}
			break;
		case FORM_GEOMETRIC:
			input_geometric(in, type, value);
			break;
		case FORM_TSQUERY:
			input_tsquery(in, value);
			break;
		case FORM_ENUM:
			input_enum_label(in, value);
			break;
		case FORM_OBJECT_NAME:
			input_object_name(in, type->typid, value);
			break;
		case FORM_PLAIN_ARRAY:
			input_plain_array(in, value);
			break;
		case FORM_ARRAY:
			input_array(in, value);
			break;
		case FORM_COMPOSITE:
			input_composite(in, value);
			break;
		case FORM_RANGE:
			input_range(in, value);
			break;
		case FORM_MULTIRANGE:
#if PG_VERSION_NUM >= 140000
			input_multirange(in, value);
#endif
			break;
	}
}

/* ----------------------------------------------------------------
 * Rows
 * ----------------------------------------------------------------
 */

/*
 * The plan for the rows of rel, protected by the trigger of the table
 * origin_relid that was enabled (rel itself, or a partitioned table rel is
 * a partition of): that table's columns in its order, but dropped ones and
 * those named in exclude, found in rel by name.  The excluded names that
 * are no column are ignored (the DDL guard removes them when their column
 * is dropped).  Allocated in cxt.
 */
OccContentPlan *
occ_content_plan(Relation rel, Oid origin_relid, int nexclude,
				 char *const *exclude, MemoryContext cxt)
{
	HeapTuple	class_tuple;
	int			natts;
	OccContentPlan *plan;
	StringInfoData column_list;
	AttrNumber	attnum;
	int			nestlevel;

	class_tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(origin_relid));
	if (!HeapTupleIsValid(class_tuple))
		elog(ERROR, "cache lookup failed for relation %u", origin_relid);
	natts = ((Form_pg_class) GETSTRUCT(class_tuple))->relnatts;
	ReleaseSysCache(class_tuple);

	plan = MemoryContextAllocZero(cxt, offsetof(OccContentPlan, columns) +
								  sizeof(HashedColumn) * Max(natts, 1));
	initStringInfo(&column_list);

	/*
	 * The types' names go into the seed as format_type prints them, which
	 * quotes every identifier when quote_all_identifiers is on: turn it off,
	 * so that the seed does not depend on the session that built the plan.
	 */
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("quote_all_identifiers", "off",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);

	for (attnum = 1; attnum <= natts; attnum++)
	{
		HeapTuple	tuple;
		Form_pg_attribute attr;
		HashedColumn *column;
		bool		excluded = false;
		int			i;

		tuple = SearchSysCache2(ATTNUM, ObjectIdGetDatum(origin_relid),
								Int16GetDatum(attnum));
		if (!HeapTupleIsValid(tuple))
			elog(ERROR, "cache lookup failed for attribute %d of relation %u",
				 attnum, origin_relid);
		attr = (Form_pg_attribute) GETSTRUCT(tuple);
		for (i = 0; i < nexclude; i++)
			if (strcmp(NameStr(attr->attname), exclude[i]) == 0)
				excluded = true;
		if (attr->attisdropped || excluded)
		{
			ReleaseSysCache(tuple);
			continue;
		}

		column = &plan->columns[plan->ncolumns++];
		column->attnum = origin_relid == RelationGetRelid(rel) ? attnum :
			get_attnum(RelationGetRelid(rel), NameStr(attr->attname));
		if (column->attnum <= 0)
			elog(ERROR, "column \"%s\" of relation \"%s\" does not exist",
				 NameStr(attr->attname), RelationGetRelationName(rel));
		describe_type(attr->atttypid, &column->type);
		plan->last_attnum = Max(plan->last_attnum, column->attnum);

		/* the name and the declared type, NUL after each */
		appendStringInfoString(&column_list, NameStr(attr->attname));
		appendStringInfoChar(&column_list, '\0');
		appendStringInfoString(&column_list,
							   format_type_extended(attr->atttypid, -1,
													FORMAT_TYPE_FORCE_QUALIFY));
		appendStringInfoChar(&column_list, '\0');
		ReleaseSysCache(tuple);
	}
	AtEOXact_GUC(true, nestlevel);

	plan->seed = XXH3_64bits(column_list.data, column_list.len);
	pfree(column_list.data);
	return plan;
}

static OccVersion
hash_row(const OccContentPlan *plan, const Datum *values, const bool *isnull)
{
	HashInput	in;
	int			i;

	hash_input_init(&in, plan->seed);
	for (i = 0; i < plan->ncolumns; i++)
	{
		const HashedColumn *column = &plan->columns[i];
		int			n = column->attnum - 1;

		input_byte(&in, isnull[n] ? 0 : 1);
		if (!isnull[n])
			input_value(&in, &column->type, values[n]);
	}
	return hash_result(&in);
}

/* The version of the row in a slot of the plan's relation. */
OccVersion
occ_content_version(const OccContentPlan *plan, TupleTableSlot *slot)
{
	slot_getsomeattrs(slot, plan->last_attnum);
	return hash_row(plan, slot->tts_values, slot->tts_isnull);
}

/* The version of a row of the plan's relation, as a composite value. */
OccVersion
occ_content_version_of_row(const OccContentPlan *plan, HeapTupleHeader row)
{
	TupleDesc	desc;
	HeapTupleData tuple;
	Datum	   *values;
	bool	   *nulls;
	OccVersion	version;

	desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(row),
								  HeapTupleHeaderGetTypMod(row));
	tuple.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = row;

	values = palloc(sizeof(Datum) * Max(desc->natts, 1));
	nulls = palloc(sizeof(bool) * Max(desc->natts, 1));
	heap_deform_tuple(&tuple, desc, values, nulls);
	if (desc->natts < plan->last_attnum)
		elog(ERROR, "row has %d columns, expected at least %d",
			 desc->natts, plan->last_attnum);
	version = hash_row(plan, values, nulls);
	ReleaseTupleDesc(desc);
	pfree(values);
	pfree(nulls);
	return version;
}
