/*-------------------------------------------------------------------------
 *
 * kind_hash.c
 *	  The hash kind: a row's version is a 128-bit hash of its content, for
 *	  tables that cannot take a version column.
 *
 * No column holds the version and nothing advances: a write that changes
 * the content changes the hash.  content_hash.c computes it from a row;
 * here it is only compared, printed and read back.  The bytes are XXH3's
 * canonical form of the hash (big-endian), and it is written as their 32
 * lower-case hexadecimal digits, as xxhsum prints an XXH128 hash.  A stated
 * version is read in either case.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "kind.h"

#define HASH_DIGITS		(2 * (int) sizeof(((OccVersion *) NULL)->bytes))

static bool
hash_equal(OccVersion a, OccVersion b)
{
	return memcmp(a.bytes, b.bytes, sizeof(a.bytes)) == 0;
}

/* A content hash is only ever the one read: nothing else states it. */
static bool
hash_states_current(OccVersion assigned, OccVersion current)
{
	(void) assigned;
	(void) current;
	return false;
}

static bool
hash_proposes(OccVersion assigned, OccVersion current)
{
	(void) assigned;
	(void) current;
	return false;
}

/* Never called: the trigger advances no content version. */
static OccVersion
hash_next(OccVersion current, const OccVersionColumn *column)
{
	(void) column;
	elog(ERROR, "a content hash does not advance");
	return current;
}

static int
hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly 32 hexadecimal digits, nothing around them. */
static bool
hash_parse(const char *text, OccVersion *result)
{
	int			i;

	if (strlen(text) != HASH_DIGITS)
		return false;
	for (i = 0; i < HASH_DIGITS; i += 2)
	{
		int			high = hex_digit_value(text[i]);
		int			low = hex_digit_value(text[i + 1]);

		if (high < 0 || low < 0)
			return false;
		result->bytes[i / 2] = (uint8) (high << 4 | low);
	}
	return true;
}

static char *
hash_print(OccVersion version, Oid typid)
{
	static const char digits[] = "0123456789abcdef";
	char	   *text = palloc(HASH_DIGITS + 1);
	int			i;

	(void) typid;
	for (i = 0; i < HASH_DIGITS / 2; i++)
	{
		text[2 * i] = digits[version.bytes[i] >> 4];
		text[2 * i + 1] = digits[version.bytes[i] & 0x0F];
	}
	text[HASH_DIGITS] = '\0';
	return text;
}

static char *
hash_etag(OccVersion version, Oid typid)
{
	return psprintf("\"%s\"", hash_print(version, typid));
}

const OccKindOps occ_hash_kind = {
	.name = "hash",
	.is_counter = false,
	.is_content = true,
	.column_types = NULL,
	.new_column = NULL,
	.column_fits = NULL,
	.from_datum = NULL,
	.to_datum = NULL,
	.parse = hash_parse,
	.equal = hash_equal,
	.states_current = hash_states_current,
	.proposes = hash_proposes,
	.next = hash_next,
	.print = hash_print,
	.etag = hash_etag,
};
