/*-------------------------------------------------------------------------
 *
 * if_match.c
 *	  Parsing the value of occ.if_match.
 *
 * The setting takes the forms an HTTP layer receives in an If-Match header
 * (RFC 9110, section 13.1.1) as well as the bare version a SQL client read:
 *
 *		''					unset: the write states no version
 *		'*'					any existing row; counts as stated
 *		'"3"'				a strong entity tag
 *		'"3", W/"4", "5"'	a list; matches if any strong tag matches
 *		'3'					a plain version value
 *
 * Weak tags are accepted syntactically but never match, since If-Match
 * uses the strong comparison.  Only the syntax is checked here; whether a
 * tag's content is a valid version depends on the table's column type and
 * is decided by the caller.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "if_match.h"
#include "report.h"

/* Optional white space of RFC 9110: spaces and horizontal tabs. */
static inline bool
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Characters allowed inside an entity tag's quotes (etagc). */
static inline bool
is_etagc(unsigned char c)
{
	return c == 0x21 || (c >= 0x23 && c <= 0x7E) || c >= 0x80;
}

/*
 * Parse a comma-separated list of entity tags starting at p.  The list may
 * contain empty elements, as every HTTP list may, but must hold at least
 * one tag.
 */
static void
parse_tag_list(const char *text, OccStatedBy source, const char *p,
			   OccIfMatch *result)
{
	int			ntags = 0;

	for (;;)
	{
		bool		weak = false;
		const char *start;

		while (is_ows(*p) || *p == ',')
			p++;
		if (*p == '\0')
			break;

		if (p[0] == 'W' && p[1] == '/')
		{
			weak = true;
			p += 2;
		}
		if (*p != '"')
			occ_report_bad_if_match(text, source,
									"An entity tag must be enclosed in double quotes.");
		start = ++p;
		while (is_etagc((unsigned char) *p))
			p++;
		if (*p != '"')
			occ_report_bad_if_match(text, source,
									"An entity tag must end with a double quote and contain no spaces or control characters.");
		if (!weak)
			result->values = lappend(result->values, pnstrdup(start, p - start));
		ntags++;
		p++;

		while (is_ows(*p))
			p++;
		if (*p != ',' && *p != '\0')
			occ_report_bad_if_match(text, source,
									"Entity tags in a list must be separated by commas.");
	}

	if (ntags == 0)
		occ_report_bad_if_match(text, source, "The list contains no entity tag.");
}

/*
 * Parse "text", the value of occ.if_match or of a wrapper's if_match
 * argument ("source", for the error), into *result.  Raises 22P02 on a
 * malformed value.  The values list is allocated in the current memory
 * context.
 */
void
occ_parse_if_match(const char *text, OccStatedBy source, OccIfMatch *result)
{
	const char *start = text;
	const char *end;

	result->form = OCC_IF_MATCH_UNSET;
	result->values = NIL;

	if (text == NULL)
		return;

	while (is_ows(*start))
		start++;
	end = start + strlen(start);
	while (end > start && is_ows(end[-1]))
		end--;

	if (start == end)
		return;

	if (end - start == 1 && *start == '*')
	{
		result->form = OCC_IF_MATCH_ANY;
		return;
	}

	result->form = OCC_IF_MATCH_VALUES;
	if (*start == '"' || (start[0] == 'W' && start[1] == '/'))
		parse_tag_list(text, source, start, result);
	else
		result->values = list_make1(pnstrdup(start, end - start));
}
